//! vipd(8).

use std::io::{self, Write};

use super::{escape, from_markdown, keywords::TOP_LEVEL_KEYS};

pub fn write(command: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(command.clone())
        .section("8")
        .source(super::source())
        .manual("System Manager's Manual");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    commands(&command, out)?;
    writeln!(out, ".SH CONFIGURATION")?;
    writeln!(
        out,
        "{}",
        escape("YAML (.yaml, .yml), TOML (.toml) or keepalived.conf (.conf, or --format keepalived) files, later ones overriding earlier ones, then VIPD_ environment variables (VIPD_INSTANCES__VI_1__PRIORITY=90). Keywords and defaults are keepalived's; vipd convert turns a keepalived.conf into YAML, keeping what vipd does not do as comments. Every keyword: vipd.yaml(5). The top-level keys:")
    )?;
    for key in TOP_LEVEL_KEYS {
        writeln!(
            out,
            ".TP\n{}\n{}",
            from_markdown(key.key),
            from_markdown(key.meaning)
        )?;
    }
    writeln!(out, ".SH SIGNALS")?;
    writeln!(
        out,
        "{}",
        escape("SIGTERM, SIGINT, SIGQUIT: masters send priority 0 and remove their addresses, then vipd exits 0. SIGHUP: read the configuration again (vipd reload waits for the outcome). SIGUSR1, SIGUSR2: logged, nothing changes.")
    )?;
    writeln!(out, ".SH EXIT STATUS")?;
    writeln!(
        out,
        "{}",
        escape("vipd run exits 0 after a stop by signal, 1 when it cannot start. vipd check exits 0 when the files are valid, 1 when not; with --unit-condition, 0 when they configure an instance, 1 when they configure none (systemd skips the unit) and 255 when they are invalid (systemd fails it).")
    )?;
    writeln!(out, ".SH FILES")?;
    for (path, what) in [
        (
            "/etc/vipd/vipd.yaml",
            "the configuration (the packaged unit reads it)",
        ),
        ("/run/vipd/vipd.sock", "the control socket (control_socket)"),
        ("/lib/systemd/system/vipd.service", "the systemd unit"),
        (
            "/usr/share/doc/vipd/examples/",
            "example configurations (YAML, TOML, keepalived.conf) and a Grafana dashboard",
        ),
    ] {
        writeln!(out, ".TP\n{}\n{}", escape(path), escape(what))?;
    }
    writeln!(out, ".SH SEE ALSO")?;
    writeln!(
        out,
        "{}",
        escape("vipd.yaml(5), keepalived.conf(5), keepalived(8), systemd.service(5)")
    )?;
    man.render_version_section(out)
}

/// Every command with its options on this one page (clap_mangen would
/// point to a vipd-COMMAND(8) page per command, which vipd does not ship).
fn commands(command: &clap::Command, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SH COMMANDS")?;
    for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        let about = longer(sub.get_long_about(), sub.get_about());
        writeln!(
            out,
            ".TP\n\\fBvipd {}\\fR\n{}",
            escape(sub.get_name()),
            escape(&about)
        )?;
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let name = match (arg.get_long(), arg.get_value_names()) {
                (Some(long), Some(values)) if arg.get_action().takes_values() => {
                    format!("--{long} {}", values[0])
                }
                (Some(long), _) => format!("--{long}"),
                (None, Some(values)) => values[0].to_string(),
                (None, None) => id.to_uppercase(),
            };
            let help = longer(arg.get_long_help(), arg.get_help());
            writeln!(
                out,
                ".RS\n.TP\n\\fB{}\\fR\n{}\n.RE",
                escape(&name),
                escape(&help)
            )?;
        }
    }
    Ok(())
}

/// The long text where clap has one, else the short one.
fn longer(
    long: Option<&clap::builder::StyledStr>,
    short: Option<&clap::builder::StyledStr>,
) -> String {
    long.or(short)
        .map(|text| text.to_string())
        .unwrap_or_default()
}

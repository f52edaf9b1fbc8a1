//! vipd.yaml(5): every keyword, from the tables the README's come from.

use std::io::{self, Write};

use super::keywords::{Keyword, INSTANCE_KEYWORDS, TOP_LEVEL_KEYS};
use super::{escape, from_markdown};

/// The seed's host A, as the example section shows it.
const EXAMPLE: &str = include_str!("../../config/host-a.yaml");

fn section(out: &mut dyn Write, title: &str, keywords: &[Keyword]) -> io::Result<()> {
    writeln!(out, ".SH {title}")?;
    for keyword in keywords {
        writeln!(
            out,
            ".TP\n{}\n{}\n.br\ndefault: {}",
            from_markdown(keyword.key),
            from_markdown(keyword.meaning),
            from_markdown(keyword.default)
        )?;
    }
    Ok(())
}

pub fn write(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        ".TH VIPD.YAML 5 \"\" \"{}\" \"File Formats Manual\"",
        super::source()
    )?;
    writeln!(out, ".SH NAME\nvipd.yaml \\- configuration of vipd(8)")?;
    writeln!(out, ".SH SYNOPSIS\n/etc/vipd/vipd.yaml")?;
    writeln!(out, ".SH DESCRIPTION")?;
    writeln!(
        out,
        "{}",
        escape("vipd reads YAML (.yaml, .yml), TOML (.toml) or keepalived.conf (.conf) files; with several --config files, later ones override earlier ones key by key, then VIPD_ environment variables override them (VIPD_INSTANCES__VI_1__PRIORITY=90). Durations take seconds (1, 0.1) or units (100ms, 2s). vipd check validates files and names the file, line and key of every error.")
    )?;
    writeln!(
        out,
        ".PP\nThe file is a map of instances and the top-level keys below."
    )?;
    section(out, "TOP-LEVEL KEYS", TOP_LEVEL_KEYS)?;
    section(out, "INSTANCE KEYWORDS", INSTANCE_KEYWORDS)?;
    writeln!(out, ".SH ADDRESSES")?;
    writeln!(
        out,
        "{}",
        escape("virtual_ipaddress entries take keepalived's one-line form, ADDR[/PREFIX] [brd ADDR] [dev IFACE] [scope global|site|link|host|nowhere] [label LABEL] [no_track], or a map. No prefix means /32 (/128). virtual_routes: [blackhole|unreachable|prohibit] [src ADDR] [to] DEST[/LEN] [via|gw ADDR] [dev IFACE] [metric N] [table N|main|local] [proto N] [scope S] [no_track]. virtual_rules: [from PREFIX] [to PREFIX] table N [priority N] [no_track].")
    )?;
    writeln!(out, ".SH EXAMPLE\n.nf")?;
    for line in EXAMPLE.lines() {
        writeln!(out, "{}", escape(line))?;
    }
    writeln!(out, ".fi")?;
    writeln!(out, ".SH SEE ALSO")?;
    writeln!(out, "{}", escape("vipd(8), keepalived.conf(5)"))
}

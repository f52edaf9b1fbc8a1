//! keepalived.conf read as keepalived runs it: the corpus under
//! integration/keepalived. Each file says, in `! NAME: VALUE` lines:
//!
//! - `expect: valid|invalid`: vipd's verdict, which is keepalived 2.2.7's
//!   at run time (does it start and run the instances?), unless
//! - `keepalived: runs|refuses` says keepalived's differs, on purpose;
//! - `warns: LINE: TEXT`: vipd warns at that line, with that text;
//! - `refuses: LINE: TEXT`: vipd refuses at that line, with that text;
//! - `value: PATH = JSON`: the merged configuration has that value there
//!   (`null`: nothing);
//! - `keepalived-logs: TEXT`: keepalived's log says it, run on the file;
//! - `config-id: ID` where it has `@ID` lines.
//!
//! keepalived's side, run for real, is checked in netns_keepalived_conf.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

use vipd::config::{load_and_validate_with, Config, Format, LoadOptions};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/keepalived")
}

fn corpus(name: &str) -> PathBuf {
    corpus_dir().join(name)
}

/// Every top-level .conf of the corpus (included files live below).
fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

/// The value of a `! NAME: VALUE` header line.
fn header(file: &Path, name: &str) -> Option<String> {
    headers(file, name).into_iter().next()
}

/// The values of every `! NAME: VALUE` header line.
fn headers(file: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let prefix = format!("! {name}: ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
        .collect()
}

/// `[FILE:]LINE: TEXT` of a warns or refuses header: the file (`file`
/// itself, or one it includes, relative to it), the line and the text.
fn place_and_text<'v>(file: &Path, value: &'v str) -> (PathBuf, usize, &'v str) {
    let (place, text) = value.split_once(": ").expect("[FILE:]LINE: TEXT");
    let (path, line) = match place.rsplit_once(':') {
        Some((name, line)) => (file.parent().unwrap().join(name), line),
        None => (file.to_path_buf(), place),
    };
    (path, line.parse().expect("a line number"), text)
}

/// Whether one of `problems` is at `file`:`line` and says `text`.
fn said_at(problems: &[vipd::config::ConfigError], file: &Path, line: usize, text: &str) -> bool {
    problems.iter().any(|p| {
        p.file.as_deref() == Some(file) && p.line == Some(line) && p.to_string().contains(text)
    })
}

/// The value at a dotted path (numbers index lists) of `value`, null if
/// there is none.
fn at_path<'v>(value: &'v serde_json::Value, path: &str) -> &'v serde_json::Value {
    path.split('.')
        .fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) if v.is_array() => &v[i],
            _ => &v[key],
        })
}

fn options(id: &str) -> LoadOptions {
    LoadOptions {
        format: Format::Auto,
        config_id: id.to_string(),
    }
}

fn options_for(file: &Path) -> LoadOptions {
    options(&header(file, "config-id").unwrap_or_else(|| "corpus".into()))
}

fn vipd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vipd"))
}

fn config_of(files: &[PathBuf], id: &str) -> Config {
    match load_and_validate_with(files, &options(id)) {
        Ok((loaded, _)) => loaded.config,
        Err(errors) => panic!("{files:?} refused:\n{errors}"),
    }
}

#[test]
fn every_corpus_file_gets_its_expected_verdict() {
    let files = corpus_files();
    assert!(files.len() >= 20, "the corpus shrank: {files:?}");
    for file in files {
        let expected = header(&file, "expect")
            .unwrap_or_else(|| panic!("{} has no `! expect:` line", file.display()));
        let verdict = load_and_validate_with(std::slice::from_ref(&file), &options_for(&file));
        match (expected.as_str(), verdict) {
            ("valid", Ok((loaded, settings))) => {
                for warns in headers(&file, "warns") {
                    let (at, line, text) = place_and_text(&file, &warns);
                    assert!(
                        said_at(&settings.warnings, &at, line, text),
                        "{}:{line}: no warning with {text:?} in:\n{}",
                        at.display(),
                        settings
                            .warnings
                            .iter()
                            .map(|w| w.to_string())
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                }
                let config = serde_json::to_value(&loaded.config).unwrap();
                for value in headers(&file, "value") {
                    let (path, json) = value.split_once(" = ").expect("PATH = JSON");
                    let wanted: serde_json::Value = serde_json::from_str(json).unwrap();
                    assert_eq!(
                        at_path(&config, path),
                        &wanted,
                        "{}: {path}",
                        file.display()
                    );
                }
                assert!(
                    headers(&file, "refuses").is_empty(),
                    "{}: refuses: in a valid file",
                    file.display()
                );
            }
            ("invalid", Err(errors)) => {
                // Every error names a file and a line.
                for error in &errors.0 {
                    assert!(
                        error.file.is_some() && error.line.is_some(),
                        "{}: an error without file:line: {error}",
                        file.display()
                    );
                }
                let refuses = headers(&file, "refuses");
                assert!(
                    !refuses.is_empty(),
                    "{}: say where it is refused",
                    file.display()
                );
                for refused in refuses {
                    let (at, line, text) = place_and_text(&file, &refused);
                    assert!(
                        said_at(&errors.0, &at, line, text),
                        "{}:{line}: no error with {text:?} in:\n{errors}",
                        at.display()
                    );
                }
            }
            ("valid", Err(errors)) => panic!("{} refused:\n{errors}", file.display()),
            ("invalid", Ok(_)) => panic!("{} accepted but keepalived refuses it", file.display()),
            (other, _) => panic!("{}: expect: {other}?", file.display()),
        }
    }
}

/// The case: a 14-character password runs as keepalived runs it,
/// with the first 8 bytes and a warning at its line.
#[test]
fn a_long_password_runs_with_its_first_eight_bytes() {
    let file = corpus("auth_pass_long.conf");
    let (loaded, settings) = load_and_validate_with(std::slice::from_ref(&file), &options("x"))
        .unwrap_or_else(|e| panic!("refused:\n{e}"));
    let auth = loaded.config.instances["VI_1"]
        .authentication
        .as_ref()
        .unwrap();
    assert_eq!(auth.auth_pass, "12345678");
    let warning = settings
        .warnings
        .iter()
        .map(|w| w.to_string())
        .find(|w| w.contains("auth_pass"))
        .expect("a warning about auth_pass");
    assert!(
        warning.contains("auth_pass_long.conf:12: auth_pass: 12 bytes, truncated to the first 8"),
        "{warning}"
    );
    // vipd check says it on stderr and prints the truncated password.
    let output = vipd()
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("auth_pass_long.conf:12: auth_pass: 12 bytes"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("auth_pass: '12345678'"));
}

#[test]
fn an_include_loop_is_skipped_and_named() {
    let (loaded, settings) = load_and_validate_with(&[corpus("include_cycle.conf")], &options("x"))
        .unwrap_or_else(|e| panic!("refused:\n{e}"));
    assert_eq!(loaded.config.instances.len(), 1);
    let warnings: Vec<String> = settings.warnings.iter().map(|w| w.to_string()).collect();
    let warning = warnings
        .iter()
        .find(|w| w.contains("include loop: "))
        .expect("a warning about the loop");
    assert!(
        warning.contains("include/cycle_b.conf:1: include loop: ")
            && warning.contains("include_cycle.conf -> ")
            && warning.contains("include/cycle_b.conf -> "),
        "{warning}"
    );
}

#[test]
fn the_seed_hosts_read_as_the_seed_story() {
    for (file, priority, state, source) in [
        ("seed_a.conf", 100, "MASTER", "192.168.0.201"),
        ("seed_b.conf", 90, "BACKUP", "192.168.0.202"),
    ] {
        let (loaded, settings) = load_and_validate_with(&[corpus(file)], &options("x")).unwrap();
        let vi = &loaded.config.instances["VI_1"];
        assert_eq!(vi.interface, "ens33", "{file}");
        assert_eq!(vi.virtual_router_id, 51);
        assert_eq!(vi.priority, priority);
        assert_eq!(
            serde_json::to_value(vi.state).unwrap(),
            serde_json::json!(state)
        );
        assert_eq!(vi.version, 2);
        assert_eq!(vi.advert_int.0, std::time::Duration::from_secs(1));
        assert_eq!(vi.source_ip, Some(source.parse().unwrap()));
        let auth = vi.authentication.as_ref().unwrap();
        assert_eq!(auth.auth_pass, "1111");
        assert_eq!(vi.virtual_ipaddress.len(), 1);
        assert_eq!(vi.virtual_ipaddress[0].address, "192.168.0.203");
        let held = settings.instances[0].held_addresses();
        assert_eq!(held.len(), 1);
        assert_eq!(
            (held[0].address.to_string(), held[0].prefix_len),
            ("192.168.0.203".to_string(), 32)
        );
        // The e-mail settings and router_id are warnings, with their lines.
        let warnings: Vec<String> = settings.warnings.iter().map(|w| w.to_string()).collect();
        for (line, keyword) in [
            (6, "notification_email"),
            (10, "smtp_server"),
            (12, "router_id"),
        ] {
            let wanted = format!("{file}:{line}: {keyword}: ");
            assert!(
                warnings.iter().any(|w| w.contains(&wanted)),
                "{wanted} not in {warnings:#?}"
            );
        }
    }
}

#[test]
fn a_sequence_makes_fifty_instances() {
    let config = config_of(&[corpus("seq50.conf")], "x");
    assert_eq!(config.instances.len(), 50);
    for n in [1u8, 37, 50] {
        let vi = &config.instances[&format!("VI_{n}")];
        assert_eq!(vi.virtual_router_id, n);
        assert_eq!(vi.virtual_ipaddress[0].address, format!("192.168.0.{n}"));
    }
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let file = [corpus("conditional.conf")];
    let peers = |config: &Config| -> Vec<String> {
        config.instances["VI_1"]
            .unicast_peer
            .iter()
            .map(|p| p.address.to_string())
            .collect()
    };
    let a = config_of(&file, "node_a");
    assert_eq!(a.instances["VI_1"].priority, 150);
    assert_eq!(peers(&a), ["192.168.0.202"]);
    let b = config_of(&file, "node_b");
    assert_eq!(b.instances["VI_1"].priority, 100);
    assert_eq!(peers(&b), ["192.168.0.201"]);
    // Neither: no @ID line applies, every @^ID line does.
    let other = config_of(&file, "elsewhere");
    assert_eq!(other.instances["VI_1"].priority, 100);
    assert_eq!(peers(&other), ["192.168.0.201", "192.168.0.202"]);
    assert_eq!(other.instances["VI_1"].source_ip, None);
}

#[test]
fn parameters_and_includes_build_instances() {
    let variables = config_of(&[corpus("variables.conf")], "x");
    let names: Vec<&String> = variables.instances.keys().collect();
    assert_eq!(names, ["VI_10", "VI_11"]);
    assert_eq!(
        variables.instances["VI_11"].virtual_ipaddress[0].address,
        "192.168.0.11"
    );
    let listed = config_of(&[corpus("lists.conf")], "x");
    let priorities: Vec<(u8, u8)> = listed
        .instances
        .values()
        .map(|i| (i.virtual_router_id, i.priority))
        .collect();
    assert_eq!(priorities, [(21, 100), (22, 110), (23, 120)]);
    let chained = config_of(&[corpus("include_chain.conf")], "x");
    let names: Vec<&String> = chained.instances.keys().collect();
    assert_eq!(names, ["VI_1", "VI_2"]);
    assert!(chained.checks.contains_key("chk_true"));
}

#[test]
fn comments_escapes_and_braces() {
    let comments = config_of(&[corpus("comments.conf")], "x");
    let vi = &comments.instances["VI_1"];
    assert_eq!(vi.priority, 100);
    assert_eq!(vi.authentication.as_ref().unwrap().auth_pass, "a#b!c");
    assert_eq!(
        vi.notify_master.as_deref(),
        Some("/bin/echo # kept in quotes")
    );
    let braces = config_of(&[corpus("braces.conf")], "x");
    assert_eq!(braces.instances.len(), 2);
    assert_eq!(
        braces.instances["VI_1"]
            .authentication
            .as_ref()
            .unwrap()
            .auth_pass,
        "secret"
    );
    assert_eq!(
        braces.instances["VI_2"].virtual_ipaddress[0].address,
        "192.168.0.205"
    );
}

#[test]
fn global_defs_are_defaults_for_instances() {
    let config = config_of(&[corpus("global_defs.conf")], "x");
    let (vi1, vi2) = (&config.instances["VI_1"], &config.instances["VI_2"]);
    assert_eq!(vi1.version, 3, "vrrp_version");
    assert_eq!(vi2.version, 2, "the instance's own version wins");
    assert_eq!(vi1.garp_master_delay.0.as_secs(), 2);
    assert_eq!(vi1.garp_master_repeat, 3);
    assert_eq!(vi2.garp_master_repeat, 1, "the instance's own value wins");
    assert_eq!(vi1.garp_master_refresh.0.as_secs(), 60);
    assert_eq!(vi1.garp_master_refresh_repeat, 2);
    assert!(vi1.check_unicast_src == Some(true) && vi2.check_unicast_src == Some(true));
    assert_eq!(config.script_user.as_deref(), Some("nobody"));
    assert_eq!(
        config.notify_fifo.as_deref(),
        Some(Path::new("/run/vipd-test.fifo"))
    );
    let ipv6 = config_of(&[corpus("ipv6.conf")], "x");
    assert_eq!(ipv6.instances["VI_6"].version, 3, "IPv6 means VRRPv3");
}

#[test]
fn keyword_groups_map_onto_vipd_keys() {
    let unicast = config_of(&[corpus("unicast.conf")], "x");
    let vi = &unicast.instances["VI_1"];
    assert_eq!(vi.unicast_peer.len(), 2);
    assert_eq!(vi.unicast_peer[1].min_ttl, Some(254));
    assert_eq!(vi.unicast_ttl, Some(64));
    assert!(vi.check_unicast_src == Some(true) && vi.unicast_fault_no_peer);

    let vmac = config_of(&[corpus("vmac.conf")], "x");
    assert_eq!(
        serde_json::to_value(&vmac.instances["VI_1"].use_vmac).unwrap(),
        serde_json::json!(true)
    );
    assert_eq!(
        serde_json::to_value(&vmac.instances["VI_2"].use_vmac).unwrap(),
        serde_json::json!("vrrp_web")
    );
    assert!(vmac.instances["VI_2"].vmac_xmit_base);

    let group = config_of(&[corpus("sync_group.conf")], "x");
    let vg = &group.sync_groups["VG_1"];
    assert_eq!(vg.group, ["VI_OUTSIDE", "VI_INSIDE"]);
    assert_eq!(vg.notify_master.as_deref(), Some("/bin/true master"));
    assert_eq!(vg.track_script.len(), 1);

    let routes = config_of(&[corpus("addresses_routes.conf")], "x");
    let vi = &routes.instances["VI_1"];
    assert_eq!(vi.virtual_ipaddress[0].label.as_deref(), Some("ens33:vip"));
    assert_eq!(vi.virtual_ipaddress[1].dev.as_deref(), Some("eth1"));
    assert!(vi.virtual_ipaddress[2].no_track);
    assert_eq!(vi.virtual_ipaddress_excluded.len(), 2);
    assert_eq!(vi.virtual_routes.len(), 3);
    assert_eq!(vi.virtual_rules.len(), 2);

    let tracked = config_of(&[corpus("track_files.conf")], "x");
    assert_eq!(tracked.track_files["forwarding"].weight, 5);
    assert_eq!(tracked.track_files["forwarding_again"].weight, 1);

    let notify = config_of(&[corpus("notify.conf")], "x");
    let vi = &notify.instances["VI_1"];
    assert_eq!(vi.notify_fault.as_deref(), Some("/bin/echo 'at fault'"));
    assert_eq!(vi.notify.as_deref(), Some("/bin/true"));
}

#[test]
fn check_prints_yaml_on_stdout_and_warnings_on_stderr() {
    let output = vipd()
        .args(["check", "--config"])
        .arg(corpus("lvs.conf"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let printed: Config = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(printed.instances.len(), 1);
    assert!(!stdout.contains("virtual_server"), "{stdout}");
    assert!(
        stderr.contains("lvs.conf:11: virtual_server: LVS"),
        "{stderr}"
    );
}

/// `vipd convert` of every valid file, read back, is the same
/// configuration; what it leaves out is there as comments.
#[test]
fn converted_yaml_reads_back_as_the_same_configuration() {
    let scratch = std::env::temp_dir().join(format!("vipd-convert-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for file in corpus_files() {
        if header(&file, "expect").as_deref() != Some("valid") {
            continue;
        }
        let id = header(&file, "config-id").unwrap_or_else(|| "corpus".into());
        let output = vipd()
            .arg("convert")
            .arg(&file)
            .args(["--config-id", &id])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}: {output:?}", file.display());
        let yaml = String::from_utf8(output.stdout).unwrap();
        let converted = scratch
            .join(file.file_name().unwrap())
            .with_extension("yaml");
        std::fs::write(&converted, &yaml).unwrap();
        let from_conf = config_of(std::slice::from_ref(&file), &id);
        let from_yaml = config_of(&[converted], &id);
        assert_eq!(from_conf, from_yaml, "{}:\n{yaml}", file.display());
        let check = vipd()
            .arg("check")
            .arg("--config")
            .arg(
                scratch
                    .join(file.file_name().unwrap())
                    .with_extension("yaml"),
            )
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "vipd check refuses the YAML of {}: {check:?}",
            file.display()
        );
        if file.ends_with("lvs.conf") {
            assert!(
                yaml.contains("# ") && yaml.contains("virtual_server: LVS"),
                "{yaml}"
            );
            assert!(
                yaml.contains("#   virtual_server 192.168.0.203 80 {"),
                "{yaml}"
            );
            assert!(yaml.contains("#               connect_timeout 3"), "{yaml}");
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn convert_refuses_what_check_refuses() {
    let output = vipd()
        .arg("convert")
        .arg(corpus("missing_value.conf"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("missing_value.conf:8: priority: expected a value"),
        "{stderr}"
    );
}

/// The environment is set on a child `vipd check` only: tests share the
/// process environment, and one test's variable must not reach another.
#[test]
fn yaml_and_environment_layer_over_a_conf() {
    let scratch = std::env::temp_dir().join(format!("vipd-layers-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let override_yaml = scratch.join("override.yaml");
    std::fs::write(&override_yaml, "instances:\n  VI_1:\n    priority: 42\n").unwrap();
    let files = [corpus("seed_a.conf"), override_yaml.clone()];
    let config = config_of(&files, "x");
    assert_eq!(config.instances["VI_1"].priority, 42);
    assert_eq!(
        config.instances["VI_1"].interface, "ens33",
        "the rest stays"
    );

    let checked = vipd()
        .args(["check", "--config"])
        .arg(&files[0])
        .arg("--config")
        .arg(&files[1])
        .env("VIPD_INSTANCES__VI_1__PRIORITY", "43")
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
    let printed: Config = serde_yaml::from_slice(&checked.stdout).unwrap();
    assert_eq!(printed.instances["VI_1"].priority, 43);
    assert_eq!(printed.instances["VI_1"].virtual_router_id, 51);

    // An error in a YAML layer over a .conf still names the YAML.
    let bad = scratch.join("bad.yaml");
    std::fs::write(&bad, "instances:\n  VI_1:\n    priority: 0\n").unwrap();
    let errors = load_and_validate_with(&[corpus("seed_a.conf"), bad], &options("x"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        errors.contains("bad.yaml:3: instances.VI_1.priority"),
        "{errors}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn format_keepalived_reads_a_file_of_any_name() {
    let scratch = std::env::temp_dir().join(format!("vipd-format-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let named = scratch.join("keepalived.cfg");
    std::fs::copy(corpus("seed_a.conf"), &named).unwrap();
    let plain = vipd()
        .arg("check")
        .arg("--config")
        .arg(&named)
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("--format keepalived"));
    let forced = vipd()
        .args(["check", "--format", "keepalived", "--config"])
        .arg(&named)
        .output()
        .unwrap();
    assert!(forced.status.success(), "{forced:?}");
    let _ = std::fs::remove_dir_all(&scratch);
}

/// vipd's own formats run a long password as keepalived does too: the
/// first 8 bytes, with a warning at its line, rather than silently.
#[test]
fn a_long_password_in_yaml_warns_at_its_line() {
    let scratch = std::env::temp_dir().join(format!("vipd-password-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let yaml = scratch.join("long.yaml");
    std::fs::write(
        &yaml,
        "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    authentication:\n      auth_type: PASS\n      auth_pass: secretpassword\n    virtual_ipaddress: [192.0.2.203]\n",
    )
    .unwrap();
    let (_, settings) = load_and_validate_with(std::slice::from_ref(&yaml), &options("x"))
        .unwrap_or_else(|e| panic!("refused:\n{e}"));
    let warnings: Vec<String> = settings.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains(
            "long.yaml:7: instances.VI_1.authentication.auth_pass: 14 bytes: only the first 8 are sent"
        )),
        "{warnings:#?}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

//! Loading configuration as users write it: the shipped examples, layering,
//! environment overrides, and errors that say file, line, key and why.

use std::path::PathBuf;

use figment::Jail;
use vipd::config::{load_and_validate, ConfigErrors};
use vipd::proto::{Auth, AuthKey, Centiseconds, Version};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

fn errors_of(files: &[PathBuf]) -> ConfigErrors {
    match load_and_validate(files) {
        Ok(_) => panic!("expected errors for {files:?}"),
        Err(errors) => errors,
    }
}

#[test]
fn seed_examples_in_yaml_and_toml_are_the_same() {
    for host in ["host-a", "host-b"] {
        let (_, yaml) = load_and_validate(&[example(&format!("{host}.yaml"))]).unwrap();
        let (_, toml) = load_and_validate(&[example(&format!("{host}.toml"))]).unwrap();
        assert_eq!(yaml, toml, "{host}");
    }
    let (_, a) = load_and_validate(&[example("host-a.yaml")]).unwrap();
    let params = a.instances[0].params(a.instances[0].source_ip.unwrap());
    assert_eq!(a.instances[0].interface, "ens33");
    assert_eq!(params.vrid.get(), 51);
    assert_eq!(params.priority, 100);
    assert_eq!(params.version, Version::V2);
    assert_eq!(params.advert_interval, Centiseconds::from_secs(1));
    assert_eq!(params.auth, Auth::Pass(AuthKey::from_password("1111")));
    assert_eq!(params.virtual_addresses[0].prefix_len, 32);
    assert!(params.preempt);
    assert_eq!(
        params.announce.repeat, 5,
        "keepalived's garp_master_repeat default"
    );
}

#[test]
fn later_files_override_earlier_ones() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "override.toml",
            "[instances.VI_1]\npriority = 120\nadvert_int = \"2s\"\n",
        )?;
        let files = [
            example("host-b.yaml"),
            jail.directory().join("override.toml"),
        ];
        let (_, settings) = load_and_validate(&files).unwrap();
        let params = settings.instances[0].params(settings.instances[0].source_ip.unwrap());
        assert_eq!(params.priority, 120);
        assert_eq!(params.advert_interval, Centiseconds::from_secs(2));
        assert_eq!(
            params.vrid.get(),
            51,
            "untouched keys keep the first file's value"
        );
        Ok(())
    });
}

#[test]
fn environment_overrides_a_case_sensitive_instance() {
    Jail::expect_with(|jail| {
        jail.set_env("VIPD_INSTANCES__VI_1__PRIORITY", "42");
        let (_, settings) = load_and_validate(&[example("host-a.yaml")]).unwrap();
        assert_eq!(settings.instances.len(), 1);
        assert_eq!(
            settings.instances[0]
                .params(settings.instances[0].source_ip.unwrap())
                .priority,
            42
        );
        Ok(())
    });
    Jail::expect_with(|jail| {
        // vi_1 is another instance, not VI_1: it lacks everything required.
        jail.set_env("VIPD_INSTANCES__vi_1__PRIORITY", "42");
        let errors = errors_of(&[example("host-a.yaml")]);
        let text = errors.to_string();
        assert!(text.contains("instances.vi_1"), "{text}");
        assert!(text.contains("interface"), "{text}");
        Ok(())
    });
}

#[test]
fn a_bad_value_names_file_line_key_and_expectation() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "bad.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 300\n    virtual_ipaddress: [192.0.2.203]\n",
        )?;
        let file = jail.directory().join("bad.yaml");
        let errors = errors_of(std::slice::from_ref(&file));
        let error = &errors.0[0];
        assert_eq!(error.file.as_deref(), Some(file.as_path()));
        assert_eq!(error.line, Some(5));
        assert_eq!(error.key, "instances.VI_1.priority");
        assert!(error.message.contains("300"), "{error}");
        assert!(error
            .to_string()
            .starts_with(&format!("{}:5: instances.VI_1.priority: ", file.display())));
        Ok(())
    });
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "typo.toml",
            "[instances.VI_1]\ninterface = \"eth0\"\nvirtual_router_id = 51\nprioirty = 90\nvirtual_ipaddress = [\"192.0.2.203\"]\n",
        )?;
        let errors = errors_of(&[jail.directory().join("typo.toml")]);
        let text = errors.to_string();
        assert!(text.contains("prioirty"), "{text}");
        assert!(text.contains(":4:"), "line of the typo: {text}");
        Ok(())
    });
}

#[test]
fn syntax_errors_carry_the_parser_line() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "broken.yaml",
            "instances:\n  VI_1:\n    interface: [eth0\n    priority: 1\n",
        )?;
        let errors = errors_of(&[jail.directory().join("broken.yaml")]);
        assert!(errors.0[0].line.is_some(), "{errors}");
        assert!(errors.0[0].file.is_some(), "{errors}");
        Ok(())
    });
}

#[test]
fn semantic_errors_name_the_key_in_the_file_that_set_it() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "v6.yaml",
            "instances:\n  VI_6:\n    interface: eth0\n    virtual_router_id: 51\n    version: 2\n    virtual_ipaddress: [\"fe80::51\"]\n    authentication: { auth_type: AH }\n",
        )?;
        let file = jail.directory().join("v6.yaml");
        let errors = errors_of(std::slice::from_ref(&file));
        let version = errors
            .0
            .iter()
            .find(|e| e.key == "instances.VI_6.version")
            .expect("version error");
        assert_eq!(version.line, Some(5));
        assert_eq!(version.file.as_deref(), Some(file.as_path()));
        assert!(version.message.contains("version 3"), "{version}");
        Ok(())
    });
}

#[test]
fn duplicate_vrid_on_one_interface_is_refused() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "dup.yaml",
            "instances:\n  A:\n    interface: eth0\n    virtual_router_id: 9\n    virtual_ipaddress: [192.0.2.1]\n  B:\n    interface: eth0\n    virtual_router_id: 9\n    virtual_ipaddress: [192.0.2.2]\n",
        )?;
        let text = errors_of(&[jail.directory().join("dup.yaml")]).to_string();
        assert!(text.contains("already used by instance A"), "{text}");
        Ok(())
    });
}

#[test]
fn missing_and_unsupported_files_are_named() {
    let text = errors_of(&[PathBuf::from("/nonexistent/vipd.yaml")]).to_string();
    assert!(
        text.contains("/nonexistent/vipd.yaml: cannot read"),
        "{text}"
    );
    Jail::expect_with(|jail| {
        // keepalived.conf is read; an instance with nothing in it is
        // refused for what it lacks, at the .conf's line.
        jail.create_file("keepalived.conf", "\nvrrp_instance VI_1 {}\n")?;
        let text = errors_of(&[jail.directory().join("keepalived.conf")]).to_string();
        assert!(text.contains("keepalived.conf:2: instances.VI_1"), "{text}");
        jail.create_file("vipd.ini", "[x]\n")?;
        let text = errors_of(&[jail.directory().join("vipd.ini")]).to_string();
        assert!(text.contains("vipd.ini: unknown format"), "{text}");
        Ok(())
    });
}

#[test]
fn fractional_seconds_and_units_are_accepted_for_v3() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "fast.yaml",
            "instances:\n  F:\n    interface: eth0\n    virtual_router_id: 9\n    version: 3\n    advert_int: 0.1\n    preempt_delay: 250ms\n    virtual_ipaddress: [192.0.2.1/24]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("fast.yaml")]).unwrap();
        let params = settings.instances[0].params("192.0.2.9".parse().unwrap());
        assert_eq!(params.advert_interval, Centiseconds::new(10));
        assert_eq!(params.preempt_delay, std::time::Duration::from_millis(250));
        Ok(())
    });
}

const SEED_INSTANCE: &str =
    "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddress: [192.0.2.203]\n";

#[test]
fn checks_are_validated_with_their_keys() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "checks.yaml",
            &format!(
                "checks:\n  both: {{ exec: /bin/true, tcp: \"127.0.0.1:80\" }}\n  tls: {{ http: \"https://127.0.0.1/\" }}\n  heavy: {{ tcp: \"127.0.0.1:80\", weight: 300 }}\n{SEED_INSTANCE}    track_script: [missing]\n"
            ),
        )?;
        let text = errors_of(&[jail.directory().join("checks.yaml")]).to_string();
        assert!(
            text.contains("checks.both: expected exactly one of exec, tcp, http"),
            "{text}"
        );
        assert!(
            text.contains("checks.tls.http:") && text.contains("https"),
            "{text}"
        );
        assert!(
            text.contains("checks.heavy.weight: expected -253..253, got 300"),
            "{text}"
        );
        assert!(
            text.contains("instances.VI_1.track_script: no check named \"missing\""),
            "{text}"
        );
        Ok(())
    });
}

#[test]
fn tracked_checks_files_and_interfaces_carry_their_weights() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "tracked.yaml",
            &format!(
                "checks:\n  web: {{ tcp: \"127.0.0.1:80\", weight: -20 }}\ntrack_files:\n  maint: {{ file: /run/vipd-maint, weight: -5 }}\n{SEED_INSTANCE}    track_script: [web, {{ name: web, weight: -50 }}]\n    track_file: [maint]\n    track_interface: [eth1]\n"
            ),
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("tracked.yaml")]).unwrap();
        use vipd::config::health::Tracked;
        assert_eq!(
            settings.instances[0].trackers,
            vec![
                Tracked::Check {
                    name: "web".into(),
                    weight: -20
                },
                Tracked::Check {
                    name: "web".into(),
                    weight: -50
                },
                Tracked::File {
                    name: "maint".into(),
                    weight: -5
                },
                Tracked::Interface {
                    name: "eth1".into(),
                    weight: 0
                },
            ]
        );
        assert_eq!(
            settings.health.checks[0].timeout,
            std::time::Duration::from_secs(1),
            "timeout defaults to interval"
        );
        Ok(())
    });
}

#[test]
fn scripts_others_could_change_are_refused_when_root() {
    // The check applies only when vipd runs as root.
    if !vipd::lab::testing::root_or_skip("scripts_others_could_change_are_refused_when_root") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    Jail::expect_with(|jail| {
        let open_dir = jail.directory().join("open");
        std::fs::create_dir(&open_dir).unwrap();
        std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let script = open_dir.join("check.sh");
        std::fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        jail.create_file(
            "unsafe.yaml",
            &format!(
                "checks:\n  web: {{ exec: {} }}\n{SEED_INSTANCE}    notify: {}\n",
                script.display(),
                script.display()
            ),
        )?;
        let text = errors_of(&[jail.directory().join("unsafe.yaml")]).to_string();
        assert!(text.contains("checks.web.exec: refusing to run"), "{text}");
        assert!(
            text.contains("instances.VI_1.notify: refusing to run"),
            "{text}"
        );
        assert!(text.contains("writable by every user"), "{text}");
        Ok(())
    });
}

/// accept: false runs (nftables drops the traffic); the table is vipd's
/// own unless named, and a name nftables cannot take is refused.
#[test]
fn no_accept_mode_runs_and_the_table_name_is_checked() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "noaccept.yaml",
            &format!("{SEED_INSTANCE}    accept: false\n"),
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("noaccept.yaml")]).unwrap();
        assert!(settings.instances[0].drops_traffic());
        assert_eq!(settings.firewall.table, "vipd");
        assert_eq!(settings.firewall.priority, -1);
        jail.create_file(
            "badtable.yaml",
            &format!("nftables: {{ table: \"\" }}\n{SEED_INSTANCE}    accept: false\n"),
        )?;
        let text = errors_of(&[jail.directory().join("badtable.yaml")]).to_string();
        assert!(
            text.contains(
                "badtable.yaml:1: nftables.table: \"\": expected a table name nft can address"
            ),
            "{text}"
        );
        Ok(())
    });
}

/// Each instance breaks one of the core's rules; the line that breaks it
/// carries `# error: KEY`. Every rule must be reported exactly once, under
/// that key, at that line, and nothing else may be reported.
const ONE_BROKEN_RULE_EACH: &str = r#"instances:
  P0:
    interface: eth0
    virtual_router_id: 1
    priority: 0                                        # error: priority
    virtual_ipaddress: [192.0.2.1]
  V2I:
    interface: eth0
    virtual_router_id: 2
    advert_int: 0.5                                    # error: advert_int
    virtual_ipaddress: [192.0.2.2]
  V6:
    interface: eth0
    virtual_router_id: 3
    version: 2                                         # error: version
    virtual_ipaddress: ["2001:db8::1"]
  AUTH3:
    interface: eth0
    virtual_router_id: 4
    version: 3
    advert_int: 0.1
    authentication: { auth_type: PASS, auth_pass: x }  # error: authentication
    virtual_ipaddress: [192.0.2.4]
  MIX:
    interface: eth0
    virtual_router_id: 5
    virtual_ipaddress: [192.0.2.5, "2001:db8::5"]      # error: virtual_ipaddress
  SRC:
    interface: eth0
    virtual_router_id: 6
    source_ip: "2001:db8::6"                           # error: source_ip
    virtual_ipaddress: [192.0.2.6]
  PFX:
    interface: eth0
    virtual_router_id: 7
    virtual_ipaddress: [192.0.2.7/33]                  # error: virtual_ipaddress
  MC:
    interface: eth0
    virtual_router_id: 8
    virtual_ipaddress: [224.0.0.18]                    # error: virtual_ipaddress
  V3I:
    interface: eth0
    virtual_router_id: 9
    version: 3
    advert_int: 50                                     # error: advert_int
    virtual_ipaddress: [192.0.2.9]
  PD:
    interface: eth0
    virtual_router_id: 10
    preempt_delay: 2000                                # error: preempt_delay
    virtual_ipaddress: [192.0.2.10]
  AH:
    interface: eth0
    virtual_router_id: 11
    authentication: { auth_type: AH }                  # error: authentication
    virtual_ipaddress: [192.0.2.11]
  PEER6:
    interface: eth0
    virtual_router_id: 12
    virtual_ipaddress: [192.0.2.12]
    unicast_peer: ["2001:db8::12"]                     # error: unicast_peer
  TTL:
    interface: eth0
    virtual_router_id: 13
    virtual_ipaddress: [192.0.2.13]
    unicast_peer: ["192.0.2.1 min_ttl 200 max_ttl 100"] # error: unicast_peer
"#;

/// (line, key) of each `# error: KEY` marker.
fn marked_errors(text: &str) -> Vec<(usize, String)> {
    let mut instance = String::new();
    let mut marked = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("  ") && !line.starts_with("   ") {
            instance = line.trim().trim_end_matches(':').to_string();
        }
        if let Some((_, key)) = line.split_once("# error: ") {
            marked.push((i + 1, format!("instances.{instance}.{}", key.trim())));
        }
    }
    marked
}

const RUST_WORDS: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "i32",
    "i64",
    "usize",
    "struct ",
    "enum ",
    "untagged",
    "Option",
    "Some(",
    "sequence",
    "Centiseconds",
    "Duration",
];

fn assert_in_user_terms(text: &str) {
    for word in RUST_WORDS {
        assert!(
            !text.contains(word),
            "a Rust word ({word}) reached the user: {text}"
        );
    }
}

#[test]
fn each_core_rule_is_reported_once_with_its_key_and_line() {
    Jail::expect_with(|jail| {
        jail.create_file("rules.yaml", ONE_BROKEN_RULE_EACH)?;
        let file = jail.directory().join("rules.yaml");
        let errors = errors_of(std::slice::from_ref(&file));
        let mut got: Vec<(usize, String)> = errors
            .0
            .iter()
            .map(|e| {
                assert_eq!(e.file.as_deref(), Some(file.as_path()), "{e}");
                assert_in_user_terms(&e.message);
                (e.line.unwrap_or(0), e.key.clone())
            })
            .collect();
        got.sort();
        let mut expected = marked_errors(ONE_BROKEN_RULE_EACH);
        expected.sort();
        assert_eq!(got, expected, "\n{errors}");
        Ok(())
    });
}

#[test]
fn bad_values_are_described_as_ranges_and_choices() {
    let cases: &[(&str, &str)] = &[
        (
            "virtual_router_id: 300",
            "instances.VI_1.virtual_router_id: expected 1..255, got 300",
        ),
        (
            "virtual_router_id: 0",
            "instances.VI_1.virtual_router_id: expected 1..255, got 0",
        ),
        (
            "priority: -5",
            "instances.VI_1.priority: expected 1..255, got -5",
        ),
        (
            "priority: high",
            "instances.VI_1.priority: expected 1..255, got \"high\"",
        ),
        (
            "version: 4",
            "instances.VI_1.version: expected 2 or 3, got 4",
        ),
        (
            "state: MASTR",
            "instances.VI_1.state: expected one of MASTER, BACKUP, got \"MASTR\"",
        ),
        (
            "preempt: maybe",
            "instances.VI_1.preempt: expected true or false, got \"maybe\"",
        ),
        (
            "garp_master_repeat: -1",
            "instances.VI_1.garp_master_repeat: expected a whole number 0..4294967295, got -1",
        ),
        (
            "authentication: { auth_type: MD5 }",
            "instances.VI_1.authentication.auth_type: expected one of PASS, AH, got \"MD5\"",
        ),
        (
            "track_script: [{ name: web, wieght: 3 }]",
            "instances.VI_1.track_script",
        ),
        (
            "source_ip: 192.0.2.999",
            "instances.VI_1.source_ip: expected an IPv4 or IPv6 address",
        ),
        (
            "advert_int: soon",
            "instances.VI_1.advert_int: not a duration",
        ),
    ];
    for (line, expected) in cases {
        Jail::expect_with(|jail| {
            let mut base =
                "instances:\n  VI_1:\n    interface: eth0\n    virtual_ipaddress: [192.0.2.203]\n"
                    .to_string();
            if !line.starts_with("virtual_router_id") {
                base.push_str("    virtual_router_id: 51\n");
            }
            let line_number = base.lines().count() + 1;
            jail.create_file("bad.yaml", &format!("{base}    {line}\n"))?;
            let errors = errors_of(&[jail.directory().join("bad.yaml")]);
            let text = errors.to_string();
            assert!(text.contains(expected), "{line}: {text}");
            assert!(
                text.contains(&format!(":{line_number}: ")),
                "{line}: names line {line_number}: {text}"
            );
            // Judged without the file's path: the jail's random directory
            // name may hold a banned word (`/tmp/.tmpu8rscj` did).
            for error in &errors.0 {
                assert_in_user_terms(&format!("{}: {}", error.key, error.message));
            }
            Ok(())
        });
    }
}

#[test]
fn unicast_peers_in_keepalived_and_map_forms() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "unicast.yaml",
            &format!(
                "{SEED_INSTANCE}    unicast_peer: [192.0.2.202, \"198.51.100.2 min_ttl 254 max_ttl 254\", {{ address: 192.0.2.204 }}]\n    unicast_ttl: 64\n"
            ),
        )?;
        let (loaded, settings) =
            load_and_validate(&[jail.directory().join("unicast.yaml")]).unwrap();
        let params = settings.instances[0].params("192.0.2.201".parse().unwrap());
        let unicast = params.unicast.clone().expect("unicast");
        assert_eq!(unicast.peers.len(), 3);
        assert_eq!(
            (unicast.peers[1].min_ttl, unicast.peers[1].max_ttl),
            (254, 254)
        );
        assert!(
            unicast.checks_source(),
            "a TTL range turns on check_unicast_src"
        );
        assert_eq!(params.send_ttl(), Some(64));
        assert_eq!(
            params.advert_destinations(),
            unicast.peers.iter().map(|p| p.address).collect::<Vec<_>>()
        );
        // `vipd check` prints peers in keepalived's form, which reads back the same.
        let yaml = serde_yaml::to_string(&loaded.config).unwrap();
        assert!(
            yaml.contains("198.51.100.2 min_ttl 254 max_ttl 254"),
            "{yaml}"
        );
        Ok(())
    });
}

#[test]
fn unicast_keywords_without_peers_warn_and_stay_multicast() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "stray.yaml",
            &format!("{SEED_INSTANCE}    check_unicast_src: true\n"),
        )?;
        let file = jail.directory().join("stray.yaml");
        let (_, settings) = load_and_validate(std::slice::from_ref(&file)).unwrap();
        assert_eq!(
            settings.instances[0]
                .params("192.0.2.201".parse().unwrap())
                .unicast,
            None
        );
        let warning = settings.warnings[0].to_string();
        assert!(
            warning.starts_with(&format!(
                "{}:6: instances.VI_1.check_unicast_src: ",
                file.display()
            )),
            "{warning}"
        );
        Ok(())
    });
}

#[test]
fn unicast_fault_no_peer_keeps_unicast_with_no_peers() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "nopeer.yaml",
            &format!("{SEED_INSTANCE}    unicast_fault_no_peer: true\n"),
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("nopeer.yaml")]).unwrap();
        let params = settings.instances[0].params("192.0.2.201".parse().unwrap());
        assert_eq!(
            params.unicast.map(|u| u.peers.len()),
            Some(0),
            "FAULT at start"
        );
        Ok(())
    });
}

#[test]
fn addresses_on_other_devices_track_them_unless_no_track() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "devs.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddress: [\"192.0.2.203 dev eth1\", \"192.0.2.204 dev eth2 no_track\", 192.0.2.205 dev lo]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("devs.yaml")]).unwrap();
        use vipd::config::health::Tracked;
        let s = &settings.instances[0];
        assert_eq!(
            s.trackers,
            vec![
                Tracked::Interface {
                    name: "eth1".into(),
                    weight: 0
                },
                Tracked::Interface {
                    name: "lo".into(),
                    weight: 0
                },
            ],
            "keepalived tracks an address's device: down means FAULT"
        );
        assert_eq!(s.interfaces(), vec!["eth0", "eth1", "eth2", "lo"]);
        Ok(())
    });
}

#[test]
fn address_options_errors_name_the_key() {
    let cases = [
        (
            "virtual_ipaddress: [\"2001:db8::1 brd 192.0.2.255\"]",
            "virtual_ipaddress: 2001:db8::1: brd is for IPv4",
        ),
        (
            "virtual_ipaddress: [\"192.0.2.1 scope galaxy\"]",
            "expected one of global, site, link, host, nowhere",
        ),
        (
            "virtual_ipaddress: [\"192.0.2.1 peer 192.0.2.2\"]",
            "unknown option \"peer\"",
        ),
        (
            "virtual_ipaddress_excluded: [224.0.0.1]\n    virtual_ipaddress: [192.0.2.1]",
            "virtual_ipaddress_excluded: 224.0.0.1 is not usable",
        ),
    ];
    for (lines, expected) in cases {
        Jail::expect_with(|jail| {
            jail.create_file(
                "opts.yaml",
                &format!("instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    {lines}\n"),
            )?;
            let text = errors_of(&[jail.directory().join("opts.yaml")]).to_string();
            assert!(text.contains(expected), "{lines}: {text}");
            assert!(text.contains(":5: "), "{lines}: line 5: {text}");
            Ok(())
        });
    }
}

#[test]
fn vmac_needs_an_ethernet_interface_and_its_own_name() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "vmac.yaml",
            "instances:\n  LO:\n    interface: lo\n    virtual_router_id: 1\n    use_vmac: true\n    virtual_ipaddress: [192.0.2.1]\n  A:\n    interface: eth0\n    virtual_router_id: 9\n    use_vmac: shared\n    virtual_ipaddress: [192.0.2.2]\n  B:\n    interface: eth1\n    virtual_router_id: 9\n    use_vmac: shared\n    virtual_ipaddress: [192.0.2.3]\n",
        )?;
        let text = errors_of(&[jail.directory().join("vmac.yaml")]).to_string();
        assert!(
            text.contains(":5: instances.LO.use_vmac: a VMAC needs an Ethernet interface"),
            "{text}"
        );
        assert!(
            text.contains(":15: instances.B.use_vmac: VMAC shared is already instance A's"),
            "{text}"
        );
        Ok(())
    });
}

/// use_ipvlan: exclusive with use_vmac, an address for IPv4, of the
/// instance's family, a name no other instance's VMAC or ipvlan has.
#[test]
fn ipvlan_is_checked_with_its_keys_and_lines() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "ipvlan.yaml",
            "instances:\n  BOTH:\n    interface: eth0\n    virtual_router_id: 1\n    use_vmac: true\n    use_ipvlan: {address: 192.0.2.9/24}\n    virtual_ipaddress: [192.0.2.1]\n  NOADDR:\n    interface: eth0\n    virtual_router_id: 2\n    use_ipvlan: true\n    virtual_ipaddress: [192.0.2.2]\n  FAMILY:\n    interface: eth0\n    virtual_router_id: 3\n    use_ipvlan: {address: 2001:db8::9}\n    virtual_ipaddress: [192.0.2.3]\n  BAD:\n    interface: eth0\n    virtual_router_id: 4\n    use_ipvlan: {address: 192.0.2.300}\n    virtual_ipaddress: [192.0.2.4]\n",
        )?;
        let text = errors_of(&[jail.directory().join("ipvlan.yaml")]).to_string();
        assert!(
            text.contains(":6: instances.BOTH.use_ipvlan: cannot be used with use_vmac"),
            "{text}"
        );
        assert!(
            text.contains(
                ":11: instances.NOADDR.use_ipvlan: an IPv4 instance's ipvlan needs an address"
            ),
            "{text}"
        );
        assert!(
            text.contains("instances.FAMILY.use_ipvlan.address: 2001:db8::9 is IPv6 but the instance's addresses are IPv4"),
            "{text}"
        );
        assert!(
            text.contains(":21: instances.BAD.use_ipvlan.address: "),
            "{text}"
        );
        assert!(text.contains("192.0.2.300"), "{text}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file(
            "mode.yaml",
            "instances:\n  A:\n    interface: eth0\n    virtual_router_id: 4\n    use_ipvlan: {address: 192.0.2.9, mode: l3}\n    virtual_ipaddress: [192.0.2.4]\n",
        )?;
        let text = errors_of(&[jail.directory().join("mode.yaml")]).to_string();
        assert!(
            text.contains(":5: instances.A.use_ipvlan.mode: expected one of bridge, private, vepa, got \"l3\""),
            "{text}"
        );
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file(
            "names.yaml",
            "instances:\n  A:\n    interface: eth0\n    virtual_router_id: 9\n    use_vmac: shared\n    virtual_ipaddress: [192.0.2.2]\n  B:\n    interface: eth1\n    virtual_router_id: 9\n    use_ipvlan: {name: shared, address: 192.0.2.9/24}\n    virtual_ipaddress: [192.0.2.3]\n",
        )?;
        let text = errors_of(&[jail.directory().join("names.yaml")]).to_string();
        assert!(
            text.contains(":10: instances.B.use_ipvlan: ipvlan shared is already instance A's"),
            "{text}"
        );
        Ok(())
    });
}

/// A valid ipvlan: its address is the source, its name as a VMAC's.
#[test]
fn ipvlan_address_is_the_source_and_unnamed_ones_are_named_as_vmacs() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "ipvlan.yaml",
            "instances:\n  A:\n    interface: eth0\n    virtual_router_id: 9\n    use_ipvlan: {address: 192.0.2.9/24, mode: private, group: 3}\n    virtual_ipaddress: [192.0.2.2]\n  B:\n    interface: eth0\n    virtual_router_id: 10\n    use_ipvlan: true\n    virtual_ipaddress: [2001:db8::10]\n    version: 3\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("ipvlan.yaml")])
            .unwrap_or_else(|e| panic!("{e}"));
        let a = settings.instances.iter().find(|i| i.name == "A").unwrap();
        assert_eq!(a.source_ip, Some("192.0.2.9".parse().unwrap()));
        let vmac = a.vmac.as_ref().unwrap();
        assert_eq!(vmac.name, "vrrp.9");
        assert!(!vmac.xmit_base);
        let ipvlan = vmac.ipvlan().expect("an ipvlan");
        assert_eq!(ipvlan.mode, vipd::net::vmac::IpvlanMode::Private);
        assert_eq!(ipvlan.group, Some(3));
        assert_eq!(ipvlan.address.unwrap().prefix_len, 24);
        assert_eq!(a.advert_interface(), "vrrp.9");
        assert_eq!(a.address_interface(), "eth0", "the VIPs stay on the parent");
        let b = settings.instances.iter().find(|i| i.name == "B").unwrap();
        assert_eq!(b.source_ip, None, "IPv6: the ipvlan's link-local address");
        assert_eq!(b.vmac.as_ref().unwrap().name, "vrrp.10");
        assert!(b.vmac.as_ref().unwrap().ipvlan().unwrap().address.is_none());
        Ok(())
    });
    // TOML, a table or true.
    Jail::expect_with(|jail| {
        jail.create_file(
            "ipvlan.toml",
            "[instances.A]\ninterface = \"eth0\"\nvirtual_router_id = 9\nvirtual_ipaddress = [\"192.0.2.2\"]\n[instances.A.use_ipvlan]\nname = \"ipv9\"\naddress = \"192.0.2.9/24\"\nmode = \"vepa\"\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("ipvlan.toml")])
            .unwrap_or_else(|e| panic!("{e}"));
        let vmac = settings.instances[0].vmac.as_ref().unwrap();
        assert_eq!(vmac.name, "ipv9");
        assert_eq!(
            vmac.ipvlan().unwrap().mode,
            vipd::net::vmac::IpvlanMode::Vepa
        );
        Ok(())
    });
}

#[test]
fn sync_groups_name_real_instances_once_and_zero_member_weights() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "groups.yaml",
            "checks:\n  web: { tcp: \"127.0.0.1:80\", weight: -20 }\nsync_groups:\n  G1:\n    group: [A, B]\n  G2:\n    group: [B, NOPE]\ninstances:\n  A:\n    interface: eth0\n    virtual_router_id: 1\n    virtual_ipaddress: [192.0.2.1]\n    track_script: [web]\n  B:\n    interface: eth1\n    virtual_router_id: 2\n    virtual_ipaddress: [192.0.2.2]\n",
        )?;
        let text = errors_of(&[jail.directory().join("groups.yaml")]).to_string();
        assert!(
            text.contains(":7: sync_groups.G2.group: B is already in sync group G1"),
            "{text}"
        );
        assert!(
            text.contains(":7: sync_groups.G2.group: no instance named \"NOPE\""),
            "{text}"
        );
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file(
            "group.yaml",
            "checks:\n  web: { tcp: \"127.0.0.1:80\", weight: -20 }\nsync_groups:\n  G1:\n    group: [A, B]\n    track_interface: [eth9]\ninstances:\n  A:\n    interface: eth0\n    virtual_router_id: 1\n    virtual_ipaddress: [192.0.2.1]\n    track_script: [web]\n  B:\n    interface: eth1\n    virtual_router_id: 2\n    virtual_ipaddress: [192.0.2.2]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("group.yaml")]).unwrap();
        use vipd::config::health::Tracked;
        let a = &settings.instances[0];
        assert_eq!(
            a.trackers,
            vec![
                Tracked::Check {
                    name: "web".into(),
                    weight: 0
                },
                Tracked::Interface {
                    name: "eth9".into(),
                    weight: 0
                },
            ],
            "keepalived: a member's weights count as 0; group trackers apply to all"
        );
        assert!(a.params("192.0.2.9".parse().unwrap()).sync_member);
        assert_eq!(settings.sync_groups[0].members, vec!["A", "B"]);
        Ok(())
    });
}

/// vipd's own formats count unicast adverts only from the peers unless
/// told otherwise; a keepalived.conf keeps keepalived's default (off) and
/// says so. Either way, unicast without auth_hmac is named as open.
#[test]
fn unicast_checks_sources_by_default_except_in_a_keepalived_conf() {
    Jail::expect_with(|jail| {
        let unicast =
            "    unicast_src_ip 192.0.2.201\n    unicast_peer {\n        192.0.2.202\n    }\n";
        jail.create_file(
            "vipd.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    version: 3\n    source_ip: 192.0.2.201\n    unicast_peer: [192.0.2.202]\n    virtual_ipaddress: [192.0.2.203]\n",
        )?;
        jail.create_file(
            "keepalived.conf",
            &format!("vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{unicast}    virtual_ipaddress {{\n        192.0.2.203\n    }}\n}}\n"),
        )?;
        let open = "any host that can reach the peers can take the VIP";
        let (_, yaml) = load_and_validate(&[jail.directory().join("vipd.yaml")]).unwrap();
        let params = yaml.instances[0].params(yaml.instances[0].source_ip.unwrap());
        assert!(
            params.unicast.unwrap().check_source,
            "YAML: checked by default"
        );
        assert!(
            yaml.warnings.iter().any(|w| w.to_string().contains(open)),
            "{:?}",
            yaml.warnings
        );

        let (_, conf) = load_and_validate(&[jail.directory().join("keepalived.conf")]).unwrap();
        let params = conf.instances[0].params(conf.instances[0].source_ip.unwrap());
        assert!(
            !params.unicast.unwrap().check_source,
            "keepalived.conf: keepalived's default"
        );
        let warnings: Vec<String> = conf.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("check_unicast_src is off")),
            "{warnings:?}"
        );
        assert!(warnings.iter().any(|w| w.contains(open)), "{warnings:?}");
        Ok(())
    });
}

/// A key is never echoed, even when it is written where something else
/// was expected; keepalived.conf keys are taken byte for byte; strict
/// mode makes auth_hmac enforce, as keepalived 2.4 does.
#[test]
fn auth_hmac_keys_stay_secret_and_are_read_as_keepalived_reads_them() {
    Jail::expect_with(|jail| {
        let secret = "SuperSecretPassphraseThirtyTwo!!";
        jail.create_file(
            "string.yaml",
            &format!("instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    version: 3\n    virtual_ipaddress: [192.0.2.203]\n    auth_hmac:\n      keys: \"1 {secret}\"\n      active_key: 1\n"),
        )?;
        jail.create_file(
            "swapped.yaml",
            &format!("instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    version: 3\n    virtual_ipaddress: [192.0.2.203]\n    auth_hmac:\n      keys: [\"{secret} 1\", {{ id: \"{secret}\", key: x }}]\n      active_key: 1\n"),
        )?;
        for file in ["string.yaml", "swapped.yaml"] {
            let errors = errors_of(&[jail.directory().join(file)]).to_string();
            assert!(errors.contains("auth_hmac.keys"), "{file}: {errors}");
            assert!(
                !errors.contains("SuperSecret"),
                "{file} echoes the key: {errors}"
            );
        }
        // Two leading blanks inside quotes are part of the key (33 bytes).
        jail.create_file(
            "keepalived.conf",
            "global_defs {\n    vrrp_strict\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.203\n    }\n    auth_hmac {\n        key 1 \"  0123456789abcdef0123456789abcde\"\n        active_key 1\n        mode permissive\n    }\n}\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("keepalived.conf")]).unwrap();
        let hmac = settings.instances[0].auth_hmac().unwrap().clone();
        assert_eq!(
            hmac.mode,
            vipd::proto::HmacMode::Enforce,
            "strict mode enforces"
        );
        let warnings: Vec<String> = settings.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("strict mode requires auth_hmac mode enforce")),
            "{warnings:?}"
        );
        // Written in a file others may read (the jail's files are 644).
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("keys written here, in a file group or others may read")),
            "{warnings:?}"
        );
        let signed = |key: Vec<u8>| {
            let params = vipd::proto::HmacParams {
                keys: vec![vipd::proto::HmacKey::new(1, key).unwrap()],
                ..hmac.clone()
            };
            vipd::proto::auth_hmac::HmacState::default()
                .sign(
                    &params,
                    vipd::proto::UnixTime::default(),
                    "192.0.2.1".parse().unwrap(),
                    &[0x31; 12],
                )
                .unwrap()
        };
        let mut key = b"  ".to_vec();
        key.extend_from_slice(b"0123456789abcdef0123456789abcde");
        let from_conf = vipd::proto::auth_hmac::HmacState::default()
            .sign(
                &hmac,
                vipd::proto::UnixTime::default(),
                "192.0.2.1".parse().unwrap(),
                &[0x31; 12],
            )
            .unwrap();
        assert_eq!(
            from_conf,
            signed(key),
            "the key as keepalived reads it, blanks included"
        );
        Ok(())
    });
}

#[test]
fn the_quorum_fence_layers_on_a_host_file_and_fences_every_instance() {
    // In a jail: the environment test beside it sets VIPD_QUORUM__...
    Jail::expect_with(|_| {
        quorum_layered();
        Ok(())
    });
}

fn quorum_layered() {
    let (_, settings) =
        load_and_validate(&[example("host-a.yaml"), example("quorum.yaml")]).unwrap();
    let quorum = settings.quorum.as_ref().expect("quorum settings");
    assert_eq!(quorum.lease_ttl, std::time::Duration::from_secs(5));
    assert_eq!(quorum.endpoints.len(), 3);
    assert_eq!(
        settings.instances[0].fence_key.as_deref(),
        Some("/vipd/VI_1")
    );
    let params = settings.instances[0].params(settings.instances[0].source_ip.unwrap());
    assert!(params.fence.is_some());
    // Without the layer: unfenced, exactly as before.
    let (_, plain) = load_and_validate(&[example("host-a.yaml")]).unwrap();
    assert!(plain.quorum.is_none() && plain.instances[0].fence_key.is_none());
}

#[test]
fn quorum_errors_name_file_line_key_and_what_is_expected() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "quorum.yaml",
            "quorum:\n  etcd:\n    endpoints: [\"192.0.2.201:2379\"]\n    lease_ttl: 1s\n",
        )?;
        let file = jail.directory().join("quorum.yaml");
        let errors = errors_of(&[example("host-a.yaml"), file.clone()]);
        let text = errors.to_string();
        let endpoint = errors
            .0
            .iter()
            .find(|e| e.key == "quorum.etcd.endpoints")
            .expect(&text);
        assert_eq!(endpoint.file.as_deref(), Some(file.as_path()));
        assert_eq!(endpoint.line, Some(3), "{text}");
        assert!(text.contains("expected http://HOST:PORT"), "{text}");
        let ttl = errors
            .0
            .iter()
            .find(|e| e.key == "quorum.etcd.lease_ttl")
            .expect(&text);
        assert_eq!(ttl.line, Some(4), "{text}");
        assert!(
            ttl.message.contains("whole seconds from 2 to 300 s"),
            "{text}"
        );

        jail.create_file(
            "loss.yaml",
            "quorum:\n  etcd: { endpoints: [\"http://192.0.2.201:2379\"] }\n  on_quorum_loss: drop\n",
        )?;
        let text =
            errors_of(&[example("host-a.yaml"), jail.directory().join("loss.yaml")]).to_string();
        assert!(
            text.contains("expected one of release, keep, got \"drop\""),
            "{text}"
        );
        assert!(text.contains(":3:"), "{text}");
        Ok(())
    });
}

#[test]
fn an_instance_opts_out_and_a_sync_group_fences_as_one() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "two.yaml",
            "quorum:\n  etcd: { endpoints: [\"http://192.0.2.201:2379\"] }\ninstances:\n  VI_1: { interface: lo, virtual_router_id: 51, source_ip: 127.0.0.1, virtual_ipaddress: [192.0.2.203] }\n  VI_2: { interface: lo, virtual_router_id: 52, source_ip: 127.0.0.1, virtual_ipaddress: [192.0.2.204], quorum: false }\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("two.yaml")]).unwrap();
        let key = |name: &str| {
            let s = settings.instances.iter().find(|s| s.name == name).unwrap();
            s.fence_key.clone()
        };
        assert_eq!(key("VI_1").as_deref(), Some("/vipd/VI_1"));
        assert_eq!(key("VI_2"), None, "quorum: false");

        jail.create_file(
            "group.yaml",
            "sync_groups:\n  G:\n    group: [VI_1, VI_2]\n",
        )?;
        let text = errors_of(&[
            jail.directory().join("two.yaml"),
            jail.directory().join("group.yaml"),
        ])
        .to_string();
        assert!(text.contains("sync_groups.G.group"), "{text}");
        assert!(text.contains("a sync group fences as one"), "{text}");

        jail.create_file("together.yaml", "instances:\n  VI_2: { quorum: true }\n")?;
        let (_, grouped) = load_and_validate(&[
            jail.directory().join("two.yaml"),
            jail.directory().join("group.yaml"),
            jail.directory().join("together.yaml"),
        ])
        .unwrap();
        for s in &grouped.instances {
            assert_eq!(
                s.fence_key.as_deref(),
                Some("/vipd/G"),
                "{}: the group's key",
                s.name
            );
        }
        Ok(())
    });
}

#[test]
fn the_environment_sets_the_lease() {
    Jail::expect_with(|jail| {
        jail.set_env("VIPD_QUORUM__ETCD__LEASE_TTL", "5s");
        let (_, settings) =
            load_and_validate(&[example("host-a.yaml"), example("quorum.yaml")]).unwrap();
        assert_eq!(
            settings.quorum.unwrap().lease_ttl,
            std::time::Duration::from_secs(5)
        );
        Ok(())
    });
}

/// strict_mode in YAML: what it forbids is reset with keepalived's words
/// at the key's line, its defaults apply where nothing is written (no
/// accept below 255, no GARP on a lower priority), and unicast is refused
/// at the peers' line.
#[test]
fn strict_mode_in_yaml_resets_with_a_warning_and_refuses_unicast() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "strict.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    strict_mode: true\n    virtual_ipaddress: [192.0.2.203]\n    authentication: { auth_type: PASS, auth_pass: \"1111\" }\n    down_timer_adverts: 5\n  VI_2:\n    interface: eth0\n    virtual_router_id: 52\n    version: 3\n    strict_mode: true\n    accept: true\n    virtual_ipaddress: [192.0.2.204]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("strict.yaml")]).unwrap();
        let vi_1 = settings.instances[0].params(std::net::Ipv4Addr::UNSPECIFIED.into());
        assert_eq!(vi_1.auth, Auth::None);
        assert_eq!(vi_1.advert_rules.down_timer_adverts, 3);
        assert!(!vi_1.accept_mode, "strict: no accept below 255");
        assert_eq!(vi_1.announce.lower_prio_repeat, 0);
        assert!(vi_1.advert_rules.lower_prio_no_advert);
        let vi_2 = settings.instances[1].params(std::net::Ipv4Addr::UNSPECIFIED.into());
        assert!(vi_2.accept_mode, "VRRPv3 may accept, when asked");
        let warnings: Vec<String> = settings.warnings.iter().map(ToString::to_string).collect();
        for (line, said) in [
            (7, "Strict mode does not support authentication"),
            (8, "down_timer_adverts is incompatible with strict mode"),
        ] {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains(&format!("strict.yaml:{line}:")) && w.contains(said)),
                "{said}: {warnings:?}"
            );
        }

        jail.create_file(
            "unicast.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    strict_mode: true\n    virtual_ipaddress: [192.0.2.203]\n    unicast_peer: [192.0.2.202]\n",
        )?;
        let errors = errors_of(&[jail.directory().join("unicast.yaml")]).to_string();
        assert!(
            errors.contains("unicast.yaml:7") && errors.contains("not supported in strict mode"),
            "{errors}"
        );
        Ok(())
    });
}

/// mcast_dst_ip in YAML: a group of the instance's family is used for
/// sending and hearing; a unicast address is refused at its line; with
/// unicast peers it is ignored with keepalived's warning.
#[test]
fn mcast_dst_ip_in_yaml_names_the_group() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "group.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    mcast_dst_ip: 224.0.0.100\n    virtual_ipaddress: [192.0.2.203]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("group.yaml")]).unwrap();
        let group: std::net::IpAddr = "224.0.0.100".parse().unwrap();
        assert_eq!(settings.instances[0].multicast_group(), Some(group));
        assert_eq!(
            settings.instances[0]
                .params("192.0.2.201".parse().unwrap())
                .advert_destinations(),
            vec![group]
        );
        jail.create_file(
            "bad.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    mcast_dst_ip: 192.0.2.100\n    virtual_ipaddress: [192.0.2.203]\n",
        )?;
        let errors = errors_of(&[jail.directory().join("bad.yaml")]).to_string();
        assert!(
            errors.contains("bad.yaml:5") && errors.contains("not a multicast address"),
            "{errors}"
        );
        jail.create_file(
            "unicast.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    mcast_dst_ip: 224.0.0.100\n    unicast_peer: [192.0.2.202]\n    virtual_ipaddress: [192.0.2.203]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("unicast.yaml")]).unwrap();
        assert_eq!(settings.instances[0].multicast_group(), None);
        assert!(settings.warnings.iter().any(|w| w
            .to_string()
            .contains("multicast destination specified with unicast")));
        Ok(())
    });
}

/// garp_extra_if in YAML, as keepalived writes it or as a map: the first
/// address of each other interface, with `all`; none without it when no
/// other interface is a VMAC, said by a warning.
#[test]
fn garp_extra_if_in_yaml_chooses_the_other_interfaces() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "extra.yaml",
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    garp_extra_if: \"30 all\"\n    virtual_ipaddress: [192.0.2.203, \"198.51.100.203 dev eth1\", \"198.51.100.204 dev eth1\"]\n  VI_2:\n    interface: eth0\n    virtual_router_id: 52\n    garp_extra_if: { delay: 30 }\n    virtual_ipaddress: [192.0.2.204, \"198.51.100.205 dev eth1\"]\n",
        )?;
        let (_, settings) = load_and_validate(&[jail.directory().join("extra.yaml")]).unwrap();
        let vi_1 = settings.instances[0].params("192.0.2.201".parse().unwrap());
        let extra = vi_1.extra_announce.expect("VI_1 refreshes eth1");
        assert_eq!(extra.interval, std::time::Duration::from_secs(30));
        let addresses: Vec<String> = extra
            .addresses
            .iter()
            .map(|a| a.address.to_string())
            .collect();
        assert_eq!(addresses, ["198.51.100.203"]);
        let vi_2 = settings.instances[1].params("192.0.2.201".parse().unwrap());
        assert_eq!(vi_2.extra_announce, None, "eth1 is no VMAC, and no all");
        assert!(settings
            .warnings
            .iter()
            .any(|w| w.to_string().contains("VI_2") && w.to_string().contains("has no effect")));
        Ok(())
    });
}

/// A garp_group written wrongly names the file, the line and what it takes.
#[test]
fn a_bad_garp_group_says_what_it_takes() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "garp.yaml",
            "garp_interval: 0.1\ngarp_group:\n  - garp_interval: 0.2\n    interfaces: eth1\ninstances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddress: [192.0.2.203]\n",
        )?;
        let errors = errors_of(&[jail.directory().join("garp.yaml")]).to_string();
        assert!(
            errors.contains("garp.yaml:4") && errors.contains("a list of interface names"),
            "{errors}"
        );
        Ok(())
    });
}

/// VMACs and ipvlans that the kernel would refuse, or that would stand in
/// for an interface of the host: one named as an interface the file uses,
/// a macvlan and an ipvlan on one parent, an ipvlan whose address is a
/// VIP, and two ipvlans of one address.
#[test]
fn vmacs_and_ipvlans_that_cannot_be_made_are_refused() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "links.yaml",
            "instances:\n  \
               NAMED:\n    interface: eth0\n    virtual_router_id: 1\n    use_vmac: eth1\n    virtual_ipaddress: [192.0.2.1]\n  \
               ON_ETH1:\n    interface: eth1\n    virtual_router_id: 2\n    virtual_ipaddress: [198.51.100.2]\n  \
               MIXED:\n    interface: eth0\n    virtual_router_id: 3\n    use_ipvlan: {address: 192.0.2.9/24}\n    virtual_ipaddress: [192.0.2.3]\n  \
               AS_VIP:\n    interface: eth2\n    virtual_router_id: 4\n    use_ipvlan: {address: 203.0.113.4/24}\n    virtual_ipaddress: [203.0.113.4]\n",
        )?;
        let text = errors_of(&[jail.directory().join("links.yaml")]).to_string();
        for expected in [
            "instances.NAMED.use_vmac: VMAC eth1 is an interface this file uses",
            "instances.NAMED.use_vmac: instance NAMED's VMAC eth1 and instance MIXED's ipvlan vrrp.3 are both on eth0",
            "instances.AS_VIP.use_ipvlan.address: 203.0.113.4 is one of the instance's own virtual addresses",
        ] {
            assert!(text.contains(expected), "no {expected:?} in:\n{text}");
        }
        jail.create_file(
            "same.yaml",
            "instances:\n  \
               SAME_ADDRESS:\n    interface: eth3\n    virtual_router_id: 5\n    use_ipvlan: {name: ipv.5, address: 203.0.113.9/24}\n    virtual_ipaddress: [203.0.113.5]\n  \
               SAME_ADDRESS_TOO:\n    interface: eth3\n    virtual_router_id: 6\n    use_ipvlan: {name: ipv.6, address: 203.0.113.9/24}\n    virtual_ipaddress: [203.0.113.6]\n",
        )?;
        let text = errors_of(&[jail.directory().join("same.yaml")]).to_string();
        assert!(
            text.contains("instances.SAME_ADDRESS_TOO.use_ipvlan.address: 203.0.113.9 is already instance SAME_ADDRESS's ipvlan address on eth3"),
            "{text}"
        );
        Ok(())
    });
}

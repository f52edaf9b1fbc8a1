//! keepalived.conf in keepalived's own terms:
//!
//! - keepalived is the referee: `keepalived -t` (its config test), run in
//!   a namespace that has the corpus's interfaces, agrees with vipd on
//!   valid versus invalid for every file of integration/keepalived;
//! - the seed's keepalived.conf, with only the interface and addresses
//!   moved to the lab's, runs the seed's three steps under vipd on both
//!   hosts, and with keepalived on host B.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use support::*;
use vipd::config::{load_and_validate_with, Format, LoadOptions};
use vipd::lab::Lab;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/keepalived")
}

fn header(file: &Path, name: &str) -> Option<String> {
    let prefix = format!("! {name}: ");
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

#[test]
fn keepalived_config_test_agrees_with_vipd_on_every_corpus_file() {
    let test = "keepalived_config_test_agrees_with_vipd_on_every_corpus_file";
    let Some(lab) = lab_with_keepalived_or_skip(test, 1) else {
        return;
    };
    // keepalived -t refuses a file naming an interface that does not
    // exist: give it the corpus's ens33 and eth1 (no addresses needed).
    lab.add_second_lan().expect("eth1");
    let made = lab
        .exec(
            1,
            "ip",
            &[
                "link", "add", "ens33", "type", "veth", "peer", "name", "ens33p",
            ],
        )
        .expect("ip link add");
    assert!(made.status.success(), "{made:?}");
    for link in ["ens33", "ens33p"] {
        let up = lab.exec(1, "ip", &["link", "set", link, "up"]).unwrap();
        assert!(up.status.success(), "{up:?}");
    }

    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 20);
    let mut disagreements = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for file in &files {
        let id = header(file, "config-id").unwrap_or_else(|| "corpus".into());
        let expected = header(file, "expect").expect("an expect: line") == "valid";
        let path = file.to_string_lossy();
        let keepalived = lab
            .exec(
                1,
                "timeout",
                &["60", "keepalived", "-t", "-l", "-f", &path, "-i", &id],
            )
            .expect("run keepalived -t");
        let keepalived_says = keepalived.status.success();
        let options = LoadOptions {
            format: Format::Auto,
            config_id: id.clone(),
        };
        let vipd_says = load_and_validate_with(std::slice::from_ref(file), &options);
        if keepalived_says != expected || vipd_says.is_ok() != expected {
            disagreements.push(format!(
                "{}: expected {}, keepalived -t {} ({:?}: {}), vipd {}",
                file.display(),
                if expected { "valid" } else { "invalid" },
                if keepalived_says { "valid" } else { "invalid" },
                keepalived.status.code(),
                String::from_utf8_lossy(&keepalived.stderr).trim(),
                match &vipd_says {
                    Ok(_) => "valid".to_string(),
                    Err(errors) => format!("invalid: {errors}"),
                }
            ));
        }
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} files:\n{}",
        disagreements.len(),
        files.len(),
        disagreements.join("\n")
    );
    assert!(
        valid >= 15 && invalid >= 5,
        "{valid} valid, {invalid} invalid"
    );
}

/// The seed's file for `host` (a or b) with the interface and addresses
/// moved to the lab's, nothing else changed.
fn seed_conf(lab: &Lab, name: &str) -> PathBuf {
    let text = fs::read_to_string(corpus_dir().join(format!("seed_{name}.conf"))).unwrap();
    let moved = text
        .replace("ens33", "eth0")
        .replace("192.168.0.201", &lab.host(1).ipv4.to_string())
        .replace("192.168.0.202", &lab.host(2).ipv4.to_string())
        .replace("192.168.0.203", &Flavour::V2Ipv4.vip().to_string());
    assert_ne!(moved, text);
    let path = lab.dir.join(format!("seed_{name}.conf"));
    fs::write(&path, moved).unwrap();
    path
}

/// vipd on `host` with the seed's .conf, and a YAML layer over it for what
/// a lab needs (its own control socket).
fn start_vipd_on_conf(lab: &mut Lab, host: usize, conf: &Path, tag: &str) -> Daemon {
    let layer = lab.dir.join(format!("lab-h{host}.yaml"));
    fs::write(&layer, control_socket_line(lab, host)).unwrap();
    let layer = layer.to_string_lossy().to_string();
    start_vipd(lab, host, conf, tag, &["--config", &layer])
}

fn seed_story(test: &str, keepalived_on_b: bool) {
    let lab = if keepalived_on_b {
        lab_with_keepalived_or_skip(test, 2)
    } else {
        lab_or_skip(test, 2)
    };
    let Some(mut lab) = lab else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (conf_a, conf_b) = (seed_conf(&lab, "a"), seed_conf(&lab, "b"));
    let b = if keepalived_on_b {
        start_keepalived(&mut lab, 2, &conf_b, "1")
    } else {
        start_vipd_on_conf(&mut lab, 2, &conf_b, "1")
    };
    let a1 = start_vipd_on_conf(&mut lab, 1, &conf_a, "1");
    expect_only(&lab, vip, 1, "both started", &[&a1, &b]);
    // vipd logged what it leaves out of the seed's file, with its line.
    let a_log = a1.log_text();
    assert!(
        a_log.contains("seed_a.conf:10: smtp_server: vipd sends no e-mail"),
        "{a_log}"
    );

    let exit = stop(&mut lab, &a1, Signal::SIGTERM);
    assert_eq!(exit, Some(Some(0)), "A did not stop:\n{}", a1.log_text());
    expect_only(&lab, vip, 2, "A stopped", &[&a1, &b]);

    let a2 = start_vipd_on_conf(&mut lab, 1, &conf_a, "2");
    expect_only(&lab, vip, 1, "A started again", &[&a2, &b]);
    if keepalived_on_b {
        let b_log = b.log_text();
        for refusal in [
            "auth_mismatch",
            "bogus VRRP packet",
            "address_list_mismatch",
        ] {
            assert!(
                !b_log.contains(refusal),
                "B refused A ({refusal}):\n{b_log}"
            );
        }
    }
}

#[test]
fn the_seed_keepalived_conf_runs_under_vipd_on_both_hosts() {
    seed_story(
        "the_seed_keepalived_conf_runs_under_vipd_on_both_hosts",
        false,
    );
}

#[test]
fn the_seed_keepalived_conf_under_vipd_with_keepalived_on_b() {
    seed_story(
        "the_seed_keepalived_conf_under_vipd_with_keepalived_on_b",
        true,
    );
}

//! keepalived's virtual_routes and virtual_rules: present on the master
//! only, removed when it stops being master and when a crash left them,
//! and put back if someone deletes them meanwhile.

mod support;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const EXTRA: &str = "    virtual_routes:\n      - 198.51.100.0/24 via 192.0.2.1 src 192.0.2.203 table 100\n      - blackhole 203.0.113.0/24 table 100\n      - 198.51.100.77 dev lo table 198 proto 199\n    virtual_rules:\n      - from 192.0.2.203 table 100 priority 1000\n";

/// What a host's kernel shows of our routes and rules, one line each.
fn routing(lab: &Lab, host: usize) -> Vec<String> {
    let show = |args: &[&str]| {
        let out = lab.exec(host, "ip", args).expect("run ip");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let mut found = Vec::new();
    let table100 = show(&["route", "show", "table", "100"]);
    if table100.contains("198.51.100.0/24 via 192.0.2.1") && table100.contains("src 192.0.2.203") {
        found.push("route 198.51.100.0/24".to_string());
    }
    if table100.contains("blackhole 203.0.113.0/24") {
        found.push("blackhole 203.0.113.0/24".to_string());
    }
    let table198 = show(&["route", "show", "table", "198"]);
    if table198.contains("198.51.100.77 dev lo proto 199") {
        found.push("route 198.51.100.77".to_string());
    }
    if show(&["rule", "show"]).contains("1000:\tfrom 192.0.2.203 lookup 100") {
        found.push("rule 1000".to_string());
    }
    found
}

fn expect_routing(lab: &Lab, master: usize, step: &str, logs: &[&Daemon]) {
    let all = 4;
    let backup = 3 - master;
    wait_for(DEADLINE, || {
        routing(lab, master).len() == all && routing(lab, backup).is_empty()
    })
    .unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!(
            "{step}: expected all on host {master} and none on host {backup}: {:?} / {:?}\n{}",
            routing(lab, master),
            routing(lab, backup),
            logs.join("\n---\n")
        )
    });
}

#[test]
fn routes_and_rules_live_on_the_master_only() {
    let Some(mut lab) = lab_or_skip("routes_and_rules_live_on_the_master_only", 2) else {
        return;
    };
    let v2 = Flavour::V2Ipv4;
    let (a, b) = start_seed_pair_with(&mut lab, EXTRA);
    let a_config = lab.dir.join("vipd-h1.yaml");
    expect_routing(&lab, 1, "A master", &[&a, &b]);

    // Deleted behind vipd's back: put back, no transition.
    let deleted = lab
        .exec(1, "ip", &["route", "del", "203.0.113.0/24", "table", "100"])
        .unwrap();
    assert!(deleted.status.success());
    let deleted = lab
        .exec(1, "ip", &["rule", "del", "priority", "1000"])
        .unwrap();
    assert!(deleted.status.success());
    expect_routing(&lab, 1, "deleted by hand", &[&a, &b]);
    assert_eq!(a.transitions(), 2, "{}", a.log_text());

    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    expect_routing(&lab, 2, "A stopped", &[&a, &b]);

    let a2 = start_vipd(&mut lab, 1, &a_config, "2", &[]);
    expect_routing(&lab, 1, "A back", &[&a2, &b]);

    // A crash leaves them behind; the next start as backup removes them.
    assert_eq!(stop(&mut lab, &a2, Signal::SIGKILL), Some(None));
    wait_for(DEADLINE, || routing(&lab, 2).len() == 4).expect("B took over");
    assert_eq!(routing(&lab, 1).len(), 4, "left behind by the crash");
    let b_config_low = vipd_config_with(&lab, 1, v2, 50, "1111", EXTRA);
    let a3 = start_vipd(&mut lab, 1, &b_config_low, "3", &[]);
    expect_routing(&lab, 2, "A restarted below B", &[&a3, &b]);
}

//! The unit's system call filter (`SystemCallFilter=@system-service` in
//! config/vipd.service) against what vipd really calls: vipd runs under
//! strace through what a production host does (VRRP master with a VMAC,
//! a check script as another user, a TCP check, metrics, status, a
//! reload, a handover at stop) and every call it, its launcher and their
//! scripts made must be in the set systemd would allow. Without this, a
//! call outside it would fail with EPERM only on a systemd host.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::*;
use vipd::lab::{testing::proceed_or_skip, wait_for};

/// The unit's SystemCallFilter= groups and names.
fn unit_filter() -> Vec<String> {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/vipd.service"))
        .unwrap();
    unit.lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Every group systemd-analyze knows, with its members (names or groups).
fn groups() -> BTreeMap<String, Vec<String>> {
    let out = Command::new("systemd-analyze")
        .arg("syscall-filter")
        .output()
        .expect("systemd-analyze");
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with('@') {
            current = Some(line.trim().to_string());
            groups.entry(line.trim().to_string()).or_default();
        } else if let Some(group) = &current {
            let entry = line.trim();
            if !entry.is_empty() && !entry.starts_with('#') {
                groups.get_mut(group).unwrap().push(entry.to_string());
            }
        }
    }
    groups
}

fn expand(entry: &str, groups: &BTreeMap<String, Vec<String>>, into: &mut BTreeSet<String>) {
    match groups.get(entry) {
        Some(members) => {
            for member in members {
                expand(member, groups, into);
            }
        }
        None => {
            into.insert(entry.to_string());
        }
    }
}

/// The system call names in an `strace -f` log.
fn calls(trace: &str) -> BTreeSet<String> {
    trace
        .lines()
        .filter_map(|line| {
            let rest = line.split_once(' ')?.1.trim_start();
            let name = rest.split_once('(')?.0;
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                .then(|| name.to_string())
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn every_system_call_vipd_makes_is_in_the_units_filter() {
    let test = "every_system_call_vipd_makes_is_in_the_units_filter";
    if !proceed_or_skip(test, missing_tool(&["strace", "systemd-analyze"])) {
        return;
    }
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let a_ip = lab.host(1).ipv4;
    let metrics = format!("{a_ip}:9650");
    let extra = format!(
        "    use_vmac: true\n    track_script: [probe, port]\n    notify_master: \"/bin/true\"\n\
         script_user: nobody\nmetrics: {{ listen: \"{metrics}\" }}\nchecks:\n  probe: {{ exec: \"/bin/true\", interval: 1s }}\n  port: {{ tcp: \"{metrics}\", interval: 1s }}\n"
    );
    let a_config = vipd_config_with(&lab, 1, Flavour::V2Ipv4, 100, "1111", &extra);
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let trace = lab.dir.join("a.strace");
    let log = lab.dir.join("vipd-a-traced.log");
    let vipd = vipd_binary();
    let (trace_arg, vipd_arg, config_arg) = (
        trace.to_string_lossy().to_string(),
        vipd.to_string_lossy().to_string(),
        a_config.to_string_lossy().to_string(),
    );
    let strace = lab
        .spawn(
            1,
            std::path::Path::new("strace"),
            &[
                "-f",
                "-qq",
                "-o",
                &trace_arg,
                &vipd_arg,
                "run",
                "--config",
                &config_arg,
            ],
            &log,
        )
        .expect("start vipd under strace");
    let a = Daemon { pid: strace, log };
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    // A holds it on its VMAC (B has none).
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vrrp.51").contains(&vip) && lab.holders(vip).is_empty()
    })
    .unwrap_or_else(|| panic!("A is not master on its VMAC:\n{}", a.log_text()));

    // Through the metrics listener and the control socket, then a reload.
    wait_for(DEADLINE, || {
        get(&lab, 1, &metrics, "/metrics").is_some_and(|m| m.contains("vipd_instance_state"))
    })
    .unwrap_or_else(|| panic!("no metrics from A:\n{}", a.log_text()));
    let status = vipd_status(&lab, 1, true);
    assert!(status.status.success(), "{}", a.log_text());
    let snapshot: vipd::status::Snapshot = serde_json::from_slice(&status.stdout).unwrap();
    let out = reload(&lab, 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Stop vipd itself (strace passes no signal on), and let strace end.
    kill(Pid::from_raw(snapshot.pid as i32), Signal::SIGTERM).unwrap();
    let exited = lab.wait_exit(strace, DEADLINE);
    assert_eq!(exited, Some(Some(0)), "{}", a.log_text());
    expect_only(&lab, vip, 2, "B took over", &[&a, &b]);

    let made = calls(&std::fs::read_to_string(&trace).unwrap());
    assert!(
        made.contains("setsockopt") && made.contains("execve") && made.contains("setresuid"),
        "the trace misses what vipd surely calls: {made:?}"
    );
    let groups = groups();
    let mut allowed = BTreeSet::new();
    for entry in unit_filter() {
        assert!(
            !entry.starts_with('~'),
            "a deny list in the unit: this test reads allow lists"
        );
        expand(&entry, &groups, &mut allowed);
    }
    assert!(allowed.len() > 100, "systemd-analyze gave {allowed:?}");
    let outside: Vec<_> = made.difference(&allowed).collect();
    assert!(
        outside.is_empty(),
        "vipd makes system calls the unit's filter refuses: {outside:?}"
    );
}

//! Faults a hostile review of the robustness work found (2026-12), each
//! reproduced here as it was found: every test failed on the code
//! reviewed.

mod support;

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::*;
use vipd::lab::{wait_for, Lab};

const VIP: &str = "192.0.2.203";

/// vipd's config for `host`: VI_1 on `interface`, then `more`.
fn write_config(lab: &Lab, host: usize, priority: u8, interface: &str, more: &str) -> PathBuf {
    let text = format!(
        "{}instances:\n  VI_1:\n    interface: {interface}\n    virtual_router_id: 51\n    priority: {priority}\n    advert_int: 1\n    virtual_ipaddress: [{VIP}]\n{more}",
        control_socket_line(lab, host)
    );
    let path = lab.dir.join(format!("faults-h{host}.yaml"));
    fs::write(&path, text).unwrap();
    path
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {args:?}: {out:?}");
}

/// Finding 1. The same file on both hosts lists both in `unicast_peer`
/// (common with keepalived configs); no source_ip. `vipd check` accepts
/// it; a reload that adds it must not kill the daemon that holds VI_1's
/// VIP (it panicked in InstanceActor::new: "validated parameters:
/// PeerIsSelf", leaving the VIP on eth0 with nothing running).
#[test]
fn a_reload_adding_a_unicast_instance_that_lists_this_host_keeps_the_daemon_running() {
    let test = "a_reload_adding_a_unicast_instance_that_lists_this_host";
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    let vip: IpAddr = VIP.parse().unwrap();
    let config = write_config(&lab, 1, 100, "eth0", "");
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    wait_for(DEADLINE, || lab.has_address(1, vip)).expect("VI_1 master");
    let (one, two) = (lab.host(1).ipv4, lab.host(2).ipv4);
    write_config(
        &lab,
        1,
        100,
        "eth0",
        &format!("  VI_2:\n    interface: eth0\n    virtual_router_id: 52\n    priority: 100\n    advert_int: 1\n    unicast_peer: [\"{one}\", \"{two}\"]\n    virtual_ipaddress: [192.0.2.210]\n"),
    );
    let out = reload(&lab, 1);
    // Refused, or applied with VI_2 in FAULT saying why: either is fine.
    // Dying is not.
    assert!(
        lab.wait_exit(a.pid, Duration::from_secs(3)).is_none(),
        "vipd died on the reload: {out:?}\n{}",
        a.log_text()
    );
    assert!(lab.has_address(1, vip), "VI_1 let its VIP go");
    // The same file on both hosts: this host's own address is skipped as
    // a peer, and VI_2 runs (no peer answers here, so it leads).
    assert!(out.status.success(), "{out:?}");
    let vi_2: IpAddr = "192.0.2.210".parse().unwrap();
    wait_for(DEADLINE, || lab.has_address(1, vi_2))
        .unwrap_or_else(|| panic!("VI_2 never ran:\n{}", a.log_text()));
}

/// Finding 2. VI_1 is configured by an altname of eth0; the altname is
/// removed at runtime (udev and networkd manage altnames) while eth0 stays
/// up with the VIP on it. A's VI_1 goes FAULT and B takes over: the VIP
/// must then leave A (it stayed: AddressActor's Release does nothing once
/// the name means no link, though the link is still there).
#[test]
fn a_master_whose_altname_is_removed_does_not_keep_the_vip() {
    let Some(mut lab) = lab_or_skip("a_master_whose_altname_is_removed", 2) else {
        return;
    };
    let vip: IpAddr = VIP.parse().unwrap();
    let ns = lab.host(1).netns.clone();
    ip(&[
        "-n", &ns, "link", "property", "add", "dev", "eth0", "altname", "uplink0",
    ]);
    let a_config = write_config(&lab, 1, 100, "uplink0", "");
    let b_config = write_config(&lab, 2, 90, "eth0", "");
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_only(&lab, vip, 1, "both started", &[&a, &b]);
    ip(&[
        "-n", &ns, "link", "property", "del", "dev", "eth0", "altname", "uplink0",
    ]);
    wait_for(DEADLINE, || lab.has_address(2, vip)).expect("B takes over");
    assert!(
        wait_for(DEADLINE, || !lab.has_address(1, vip)).is_some(),
        "the VIP stays on A's eth0 while B holds it: two holders\n{}",
        a.log_text()
    );
}

/// Finding 3. VI_1 tracks a slow check (60 s, timeout 50 s); VI_2 tracks
/// /bin/true with weight 0. Seventy reloads of an unchanged configuration
/// must not make VI_2 FAULT: each reload started the slow check once
/// more without ending the run already under way, until the launcher's
/// 64 slots were full and VI_2's check was refused ("not started: 64
/// scripts already running"), which counts as a failure.
#[test]
fn reloads_do_not_pile_up_one_checks_runs_until_anothers_are_refused() {
    let Some(mut lab) = lab_or_skip("reloads_do_not_pile_up_one_checks_runs", 1) else {
        return;
    };
    let more = "    track_script: [slow]\n  VI_2:\n    interface: eth0\n    virtual_router_id: 52\n    priority: 100\n    advert_int: 1\n    virtual_ipaddress: [192.0.2.210]\n    track_script: [fast]\nscript_user: nobody\nchecks:\n  slow: { exec: \"/bin/sleep 60\", interval: 1s, timeout: 50s, weight: -10 }\n  fast: { exec: /bin/true, interval: 1s, timeout: 1s }\n";
    let config = write_config(&lab, 1, 100, "eth0", more);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let vi_2: IpAddr = "192.0.2.210".parse().unwrap();
    wait_for(DEADLINE, || lab.has_address(1, vi_2)).expect("VI_2 master");
    for i in 0..70 {
        let out = reload(&lab, 1);
        assert!(out.status.success(), "reload {i}: {out:?}");
    }
    // A refused run would fail VI_2's check within its interval: look for
    // a while, not once.
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        let snapshot = vipd::status::read(&control_socket(&lab, 1)).unwrap().0;
        let vi_2 = snapshot
            .instances
            .iter()
            .find(|i| i.name == "VI_2")
            .unwrap();
        assert_ne!(
            vi_2.state,
            "FAULT",
            "VI_2 FAULT: {:?}\n{}",
            vi_2.fault,
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Finding 6. A long altname (over 15 bytes, as predictable names with
/// a suffix can be) is a name like any other: tracking the interface by
/// it must not count it down while it is up (it did: the look-up sent it
/// as IFLA_IFNAME and the kernel answered ERANGE).
#[test]
fn an_interface_tracked_by_a_long_altname_counts_as_up() {
    let Some(mut lab) = lab_or_skip("an_interface_tracked_by_a_long_altname", 1) else {
        return;
    };
    let vip: IpAddr = VIP.parse().unwrap();
    let ns = lab.host(1).netns.clone();
    let long = "enp0s31f6-uplink-long";
    ip(&[
        "-n", &ns, "link", "property", "add", "dev", "eth0", "altname", long,
    ]);
    let config = write_config(
        &lab,
        1,
        100,
        long,
        &format!("    track_interface: [{long}]\n"),
    );
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    assert!(
        wait_for(DEADLINE, || lab.has_address(1, vip)).is_some(),
        "never master:\n{}",
        a.log_text()
    );
}

/// The processes whose parent is `pid`.
fn children(pid: nix::unistd::Pid) -> Vec<i32> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    text.split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Finding 5. The script launcher is killed (the OOM killer, an
/// operator): vipd cannot start another (it gave up the privileges that
/// takes), and without one no check runs. Before, every check failed
/// from then on and the daemon stayed up; now it stops as at SIGTERM (the
/// master hands over at once) and exits 1 saying why, for the service
/// manager to start it again.
#[test]
fn a_daemon_whose_script_launcher_dies_hands_over_and_exits_to_be_restarted() {
    let Some(mut lab) = lab_or_skip("a_daemon_whose_script_launcher_dies", 2) else {
        return;
    };
    let vip: IpAddr = VIP.parse().unwrap();
    let checks = "    track_script: [ok]\nchecks:\n  ok: { exec: /bin/true, interval: 1s }\n";
    let a_config = write_config(&lab, 1, 100, "eth0", checks);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b_config = write_config(&lab, 2, 90, "eth0", "");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_only(&lab, vip, 1, "A master", &[&a, &b]);
    let launcher = wait_for(DEADLINE, || !children(a.pid).is_empty())
        .map(|_| children(a.pid)[0])
        .expect("A's script launcher");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(launcher),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_eq!(
        lab.wait_exit(a.pid, DEADLINE),
        Some(Some(1)),
        "{}",
        a.log_text()
    );
    assert!(
        a.log_text().contains("the script launcher has gone"),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);
}

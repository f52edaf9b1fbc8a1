//! The seed's story end to end, on real sockets in network namespaces:
//! start both -> VIP on A; stop A -> VIP on B; start A -> VIP back on A.
//! Graceful (SIGTERM) and crash (SIGKILL) stops; v2, v3, IPv4, IPv6.

mod support;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::wait_for;

fn seed_story(test: &str, flavour: Flavour, crash: bool) {
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    let (a, b) = (1, 2);
    let vip = flavour.vip();
    let a_config = vipd_config(&lab, a, flavour, 100, "1111");
    let b_config = vipd_config(&lab, b, flavour, 90, "1111");
    let a1 = start_vipd(&mut lab, a, &a_config, "1", &["--log-format", "json"]);
    let b1 = start_vipd(&mut lab, b, &b_config, "1", &[]);
    expect_only(&lab, vip, a, "both started", &[&a1, &b1]);

    if crash {
        assert_eq!(
            stop(&mut lab, &a1, Signal::SIGKILL),
            Some(None),
            "killed by the signal"
        );
        wait_for(DEADLINE, || lab.has_address(b, vip))
            .unwrap_or_else(|| panic!("B never took over:\n{}", b1.log_text()));
        assert!(
            lab.has_address(a, vip),
            "a crash leaves the address on A's interface, as keepalived does"
        );
    } else {
        // SIGTERM: priority 0, addresses removed, exit 0 within a second.
        assert_eq!(
            lab.wait_exit(a1.pid, std::time::Duration::ZERO),
            None,
            "A still running"
        );
        lab.signal(a1.pid, Signal::SIGTERM);
        let exit = lab.wait_exit(a1.pid, std::time::Duration::from_secs(1));
        assert_eq!(
            exit,
            Some(Some(0)),
            "exit 0 within 1 s of SIGTERM:\n{}",
            a1.log_text()
        );
        expect_only(&lab, vip, b, "A stopped", &[&a1, &b1]);
    }

    let a2 = start_vipd(&mut lab, a, &a_config, "2", &[]);
    if crash {
        // Starting as backup, A first removes what the crash left behind.
        wait_for(DEADLINE, || !lab.has_address(a, vip))
            .unwrap_or_else(|| panic!("stale address not removed at start:\n{}", a2.log_text()));
    }
    expect_only(&lab, vip, a, "A started again", &[&a2, &b1]);
    assert!(b1.log_text().contains("(VI_1) Entering BACKUP STATE"));
    assert!(b1.log_text().contains("(VI_1) Entering MASTER STATE"));

    // A's first run logged JSON: one object per event, with the fields
    // a dashboard needs.
    let transitions: Vec<serde_json::Value> = a1
        .log_text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .filter(|event: &serde_json::Value| event.get("to").is_some())
        .collect();
    let master = transitions
        .iter()
        .find(|e| e["to"] == "MASTER")
        .expect("a MASTER event");
    for field in [
        "timestamp",
        "instance",
        "from",
        "reason",
        "priority",
        "master",
    ] {
        assert!(master.get(field).is_some(), "{field} missing from {master}");
    }
    assert_eq!(master["instance"], "VI_1");
    assert_eq!(master["priority"], 100);
}

#[test]
fn seed_story_v2_graceful() {
    seed_story("seed_story_v2_graceful", Flavour::V2Ipv4, false);
}

#[test]
fn seed_story_v2_crash() {
    seed_story("seed_story_v2_crash", Flavour::V2Ipv4, true);
}

#[test]
fn seed_story_v3_ipv4_graceful() {
    seed_story("seed_story_v3_ipv4_graceful", Flavour::V3Ipv4, false);
}

#[test]
fn seed_story_v3_ipv6_graceful() {
    seed_story("seed_story_v3_ipv6_graceful", Flavour::V3Ipv6, false);
}

#[test]
fn seed_story_v3_ipv6_crash() {
    seed_story("seed_story_v3_ipv6_crash", Flavour::V3Ipv6, true);
}

#[test]
fn missing_interface_is_a_clear_error() {
    let Some(mut lab) = lab_or_skip("missing_interface_is_a_clear_error", 1) else {
        return;
    };
    let config = lab.dir.join("missing.yaml");
    std::fs::write(
        &config,
        format!(
            "{}instances:\n  VI_1:\n    interface: nosuch0\n    virtual_router_id: 51\n    virtual_ipaddress: [192.0.2.203]\n",
            control_socket_line(&lab, 1)
        ),
    )
    .unwrap();
    let daemon = start_vipd(&mut lab, 1, &config, "missing", &[]);
    assert_eq!(lab.wait_exit(daemon.pid, DEADLINE), Some(Some(1)));
    assert!(
        daemon
            .log_text()
            .contains("interface nosuch0 (instance VI_1) does not exist"),
        "{}",
        daemon.log_text()
    );
}

/// keepalived 2.4's timer_expired_backup: A (150, nopreempt) is stopped
/// (SIGSTOP, as a paused VM) until B (99, nopreempt) takes over; when A
/// runs again it steps down instead of sending an advert that would take
/// the address back from B. (Without it, A's first advert preempts B:
/// the fsm test shows both.)
#[test]
fn a_master_woken_after_a_takeover_steps_down_with_timer_expired_backup() {
    let Some(mut lab) = lab_or_skip(
        "a_master_woken_after_a_takeover_steps_down_with_timer_expired_backup",
        2,
    ) else {
        return;
    };
    let (a, b) = (1, 2);
    let flavour = Flavour::V2Ipv4;
    let vip = flavour.vip();
    let a_config = vipd_config_with(
        &lab,
        a,
        flavour,
        150,
        "1111",
        "    preempt: false\n    timer_expired_backup: 100\n",
    );
    // nopreempt starts as BACKUP (keepalived's rule; vipd's too).
    let text = std::fs::read_to_string(&a_config)
        .unwrap()
        .replace("state: MASTER", "state: BACKUP");
    std::fs::write(&a_config, text).unwrap();
    let b_config = vipd_config_with(&lab, b, flavour, 99, "1111", "    preempt: false\n");
    let a1 = start_vipd(&mut lab, a, &a_config, "1", &[]);
    wait_for(DEADLINE, || lab.holders(vip) == vec![a])
        .unwrap_or_else(|| panic!("A never became master:\n{}", a1.log_text()));
    let b1 = start_vipd(&mut lab, b, &b_config, "1", &[]);
    expect_only(&lab, vip, a, "both started", &[&a1, &b1]);

    lab.signal(a1.pid, Signal::SIGSTOP);
    // A's address stays on its interface while it is stopped.
    wait_for(DEADLINE, || lab.has_address(b, vip))
        .unwrap_or_else(|| panic!("B never took over:\n{}", b1.log_text()));
    lab.signal(a1.pid, Signal::SIGCONT);
    expect_only(&lab, vip, b, "A woke up", &[&a1, &b1]);
    stays_on(
        &lab,
        vip,
        b,
        std::time::Duration::from_secs(5),
        "after A woke up",
    );
    let log = a1.log_text();
    assert!(
        log.contains("timer_expired_backup") && log.contains("(VI_1) Entering BACKUP STATE"),
        "A did not say why it stepped down:\n{log}"
    );
}

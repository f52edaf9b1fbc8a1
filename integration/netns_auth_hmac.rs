//! auth_hmac against a third host on the LAN, tried as an attacker would
//! (A priority 100, B 90, C with raw sockets): forged adverts of every
//! kind, a flood, and a genuine advert of A replayed after A stopped.
//! With auth_hmac nothing moves; without it the same forged adverts take
//! the VIP away from everyone, which is what the feature buys.

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

fn start_host(lab: &mut Lab, host: usize, priority: u8, hmac: bool) -> Daemon {
    let extra = if hmac {
        vipd_auth_hmac()
    } else {
        String::new()
    };
    let config = vipd_config_with(lab, host, Flavour::V3Ipv4, priority, "", &extra);
    start_vipd(lab, host, &config, "1", &[])
}

/// A (100) and B (90), with auth_hmac or not, settled with the VIP on
/// A, and one of A's adverts recorded by host 3.
fn settled_pair(test: &str, hmac: bool) -> Option<(Lab, Daemon, Daemon, Vec<u8>)> {
    let mut lab = lab_or_skip(test, 3)?;
    let a = start_host(&mut lab, 1, 100, hmac);
    let b = start_host(&mut lab, 2, 90, hmac);
    expect_only(&lab, Flavour::V3Ipv4.vip(), 1, "started", &[&a, &b]);
    let genuine = record_a(&lab);
    Some((lab, a, b, genuine))
}

/// Host 3 records one genuine advert of A off the wire.
fn record_a(lab: &Lab) -> Vec<u8> {
    raw::record(lab, 3, lab.host(1).ipv4, DEADLINE)
}

fn attack(
    lab: &Lab,
    packets: Vec<Vec<u8>>,
    every: Duration,
    long: Duration,
    expected: &[usize],
) -> Duration {
    let exposure = raw::attack(
        lab,
        3,
        Flavour::V3Ipv4.vip(),
        packets,
        every,
        long,
        expected,
    );
    println!("{exposure:?}");
    exposure.total()
}

#[test]
fn forged_flooded_and_replayed_adverts_move_nothing_with_auth_hmac() {
    let Some((mut lab, a, b, genuine)) = settled_pair(
        "forged_flooded_and_replayed_adverts_move_nothing_with_auth_hmac",
        true,
    ) else {
        return;
    };
    let vip = Flavour::V3Ipv4.vip();
    let (a_before, b_before) = (a.transitions(), b.transitions());

    let (a_ip, c_ip) = (raw::v4(lab.host(1).ipv4), raw::v4(lab.host(3).ipv4));
    let mut flipped = genuine.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let kinds = vec![
        raw::forged_v3(c_ip, 254, None), // no trailer: what VRRPv3 allows anyone
        raw::forged_v3(a_ip, 0, None),   // "A is leaving", without a trailer
        raw::forged_v3(c_ip, 254, Some(1)), // a trailer whose tag is made up
        raw::forged_v3(a_ip, 0, Some(1)), // the same, priority 0, as A
        raw::forged_v3(c_ip, 254, Some(9)), // a key id nobody has
        flipped,                         // A's own advert, one bit changed
        genuine.clone(),                 // A's own advert, again and again
    ];
    let wrong = attack(
        &lab,
        kinds,
        Duration::from_millis(20),
        Duration::from_secs(5),
        &[1],
    );
    assert_eq!(
        wrong,
        Duration::ZERO,
        "the VIP left A\n{}\n{}",
        a.log_text(),
        b.log_text()
    );

    // 100,000 forged adverts as fast as the attacker sends them.
    let took = raw::in_host(&lab, 3, move || {
        let socket = raw::sender();
        let packets = [
            raw::forged_v3(c_ip, 254, Some(1)),
            raw::forged_v3(c_ip, 254, None),
        ];
        let start = Instant::now();
        for i in 0..100_000 {
            raw::send(&socket, &packets[i % 2]);
            if i % 500 == 499 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        start.elapsed()
    });
    println!("100,000 forged adverts in {took:?}");
    // Longer than Master_Down_Interval (3.6 s) after the flood: a
    // takeover would have happened had adverts been lost.
    stays_on(&lab, vip, 1, Duration::from_secs(4), "after the flood");
    no_transitions_since(&[(&a, a_before), (&b, b_before)]);
    reported(
        &b,
        &[
            "hmac_missing",
            "hmac_bad",
            "hmac_unknown_key",
            "hmac_replay",
        ],
    );

    // A stops; B takes over; A's recorded advert, replayed, changes nothing.
    lab.signal(a.pid, Signal::SIGTERM);
    assert!(lab.wait_exit(a.pid, DEADLINE).is_some(), "A stopped");
    wait_for(DEADLINE, || lab.holders(vip) == vec![2])
        .unwrap_or_else(|| panic!("B never took over:\n{}", b.log_text()));
    let b_master = b.transitions();
    let wrong = attack(
        &lab,
        vec![genuine.clone()],
        Duration::from_millis(100),
        Duration::from_secs(5),
        &[2],
    );
    assert_eq!(
        wrong,
        Duration::ZERO,
        "a replay moved the VIP\n{}",
        b.log_text()
    );
    assert_eq!(
        b.transitions(),
        b_master,
        "B changed state:\n{}",
        b.log_text()
    );

    // A starts again (a new process, its sequence from the clock): B
    // accepts it, and the recording from A's first run is still refused.
    let a = start_host(&mut lab, 1, 100, true);
    expect_only(&lab, vip, 1, "A back", &[&a, &b]);
    let back = (a.transitions(), b.transitions());
    let wrong = attack(
        &lab,
        vec![genuine],
        Duration::from_millis(100),
        Duration::from_secs(5),
        &[1],
    );
    assert_eq!(
        wrong,
        Duration::ZERO,
        "a replay after A's restart moved the VIP\n{}",
        b.log_text()
    );
    assert_eq!((a.transitions(), b.transitions()), back);
}

#[test]
fn without_auth_hmac_the_same_forged_adverts_leave_nobody_holding_the_vip() {
    let Some((mut lab, a, b, genuine)) = settled_pair(
        "without_auth_hmac_the_same_forged_adverts_leave_nobody_holding_the_vip",
        false,
    ) else {
        return;
    };
    let vip = Flavour::V3Ipv4.vip();
    let c_ip = raw::v4(lab.host(3).ipv4);
    let wrong = attack(
        &lab,
        vec![raw::forged_v3(c_ip, 254, None)],
        Duration::from_millis(100),
        Duration::from_secs(5),
        &[1],
    );
    assert!(
        wrong > Duration::from_secs(1),
        "the forged master took the VIP for only {wrong:?}"
    );

    wait_for(DEADLINE, || lab.holders(vip) == vec![1])
        .unwrap_or_else(|| panic!("A never took the VIP back:\n{}", a.log_text()));
    lab.signal(a.pid, Signal::SIGTERM);
    assert!(lab.wait_exit(a.pid, DEADLINE).is_some(), "A stopped");
    wait_for(DEADLINE, || lab.holders(vip) == vec![2])
        .unwrap_or_else(|| panic!("B never took over:\n{}", b.log_text()));
    let wrong = attack(
        &lab,
        vec![genuine],
        Duration::from_millis(100),
        Duration::from_secs(5),
        &[2],
    );
    assert!(
        wrong > Duration::from_secs(1),
        "the replay moved the VIP for only {wrong:?}"
    );
}

/// keepalived 2.4.3 cannot be installed from Debian's packages: it is
/// built from source (../shared/tools/build-keepalived.sh) and named by
/// VIPD_KEEPALIVED_24. Without it this test says so in one line and
/// passes, even under CI (which has no source to build it from); the
/// captured adverts (hmac_vectors) keep CI honest about the wire format.
fn keepalived_24() -> Option<std::path::PathBuf> {
    match std::env::var_os("VIPD_KEEPALIVED_24") {
        Some(path) => Some(path.into()),
        None => {
            println!("skipped: keepalived 2.4 interop: set VIPD_KEEPALIVED_24 to a keepalived 2.4.3 binary (../shared/tools/build-keepalived.sh)");
            None
        }
    }
}

/// The seed's story with auth_hmac, keepalived 2.4.3 on host
/// `keepalived_host` and vipd on the other: the VIP on A (priority 100);
/// A stops, the VIP on B; A starts again, the VIP back on A. No advert of
/// either is refused.
fn story_with_keepalived_24(test: &str, keepalived_host: usize) {
    let Some(binary) = keepalived_24() else {
        return;
    };
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    let vip = Flavour::V3Ipv4.vip();
    let start = |lab: &mut Lab, host: usize, tag: &str| {
        let priority = if host == 1 { 100 } else { 90 };
        if host == keepalived_host {
            let config = keepalived_config_with(
                lab,
                host,
                Flavour::V3Ipv4,
                priority,
                &keepalived_auth_hmac(),
            );
            start_keepalived_24(lab, host, &binary, &config, tag)
        } else {
            let config =
                vipd_config_with(lab, host, Flavour::V3Ipv4, priority, "", &vipd_auth_hmac());
            start_vipd(lab, host, &config, tag, &[])
        }
    };
    let a = start(&mut lab, 1, "1");
    let b = start(&mut lab, 2, "1");
    expect_only(&lab, vip, 1, "started", &[&a, &b]);
    // Long enough for a refused advert to have shown: B stays backup.
    let steady = Instant::now() + Duration::from_secs(5);
    while Instant::now() < steady {
        assert_eq!(
            lab.holders(vip),
            vec![1],
            "\n{}\n{}",
            a.log_text(),
            b.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.signal(a.pid, Signal::SIGTERM);
    assert!(lab.wait_exit(a.pid, DEADLINE).is_some(), "A stopped");
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);
    let a = start(&mut lab, 1, "2");
    expect_only(&lab, vip, 1, "A back", &[&a, &b]);
    for log in [a.log_text(), b.log_text()] {
        for refused in [
            "hmac_",
            "authentication trailer",
            "invalid authentication",
            "replayed",
        ] {
            assert!(
                !log.contains(refused),
                "an advert was refused ({refused}):\n{log}"
            );
        }
    }
}

#[test]
fn keepalived_24_master_and_vipd_backup_with_auth_hmac() {
    story_with_keepalived_24("keepalived_24_master_and_vipd_backup_with_auth_hmac", 1);
}

#[test]
fn vipd_master_and_keepalived_24_backup_with_auth_hmac() {
    story_with_keepalived_24("vipd_master_and_keepalived_24_backup_with_auth_hmac", 2);
}

/// keepalived's rollout on a running pair, each step a `vipd reload` on
/// both hosts: no auth_hmac, receive-only, permissive, enforce, then a
/// new key made active, then the old one removed. The VIP never leaves A,
/// no instance is restarted, and at the end unsigned adverts are refused.
#[test]
fn rollout_and_key_rotation_by_reload_move_nothing() {
    let Some(mut lab) = lab_or_skip("rollout_and_key_rotation_by_reload_move_nothing", 3) else {
        return;
    };
    const KEY_2: &str = "2 hex:202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
    let vip = Flavour::V3Ipv4.vip();
    let write = |lab: &Lab, host: usize, hmac: &str| {
        let priority = if host == 1 { 100 } else { 90 };
        vipd_config_with(lab, host, Flavour::V3Ipv4, priority, "", hmac);
    };
    let a = start_host(&mut lab, 1, 100, false);
    let b = start_host(&mut lab, 2, 90, false);
    expect_only(&lab, vip, 1, "started", &[&a, &b]);
    let before = (a.transitions(), b.transitions());
    let steps = [
        format!("    auth_hmac: {{ keys: [\"{HMAC_KEY}\"], active_key: 1, mode: receive-only }}\n"),
        format!("    auth_hmac: {{ keys: [\"{HMAC_KEY}\"], active_key: 1, mode: permissive }}\n"),
        vipd_auth_hmac(),
        format!("    auth_hmac: {{ keys: [\"{HMAC_KEY}\", \"{KEY_2}\"], active_key: 1 }}\n"),
        format!("    auth_hmac: {{ keys: [\"{HMAC_KEY}\", \"{KEY_2}\"], active_key: 2 }}\n"),
        format!("    auth_hmac: {{ keys: [\"{KEY_2}\"], active_key: 2 }}\n"),
    ];
    for step in &steps {
        // B first, then A: at every moment one host is a step ahead.
        for host in [2, 1] {
            write(&lab, host, step);
            let out = reload(&lab, host);
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "host {host}, {step}: {out:?}");
            assert!(
                said.contains("updated in place: VI_1"),
                "host {host}, {step}: {said}"
            );
        }
        // Longer than Master_Down_Interval (3.6 s): a refused advert shows.
        let until = Instant::now() + Duration::from_secs(4);
        while Instant::now() < until {
            assert_eq!(
                lab.holders(vip),
                vec![1],
                "{step}\n{}\n{}",
                a.log_text(),
                b.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert_eq!(
        (a.transitions(), b.transitions()),
        before,
        "\n{}\n{}",
        a.log_text(),
        b.log_text()
    );
    for log in [a.log_text(), b.log_text()] {
        assert!(
            !log.contains("hmac_"),
            "an advert was refused during the rollout:\n{log}"
        );
    }
    // Enforcing now: an unsigned forged master changes nothing.
    let c_ip = raw::v4(lab.host(3).ipv4);
    let wrong = attack(
        &lab,
        vec![raw::forged_v3(c_ip, 254, None)],
        Duration::from_millis(100),
        Duration::from_secs(5),
        &[1],
    );
    assert_eq!(wrong, Duration::ZERO);
    assert!(b.log_text().contains("hmac_missing"), "{}", b.log_text());
}

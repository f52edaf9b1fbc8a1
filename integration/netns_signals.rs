//! Signals sent by habit must not end vipd without its graceful path: a
//! master killed by SIGHUP's default action leaves its VIP on the
//! interface while the backup takes it too (the VIP on two hosts).

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::wait_for;

#[test]
fn hup_usr1_usr2_and_pipe_to_the_master_change_nothing() {
    let Some(mut lab) = lab_or_skip("hup_usr1_usr2_and_pipe_to_the_master_change_nothing", 2)
    else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (a, b) = start_seed_pair(&mut lab, "1111");
    expect_only(&lab, vip, 1, "both started", &[&a, &b]);
    wait_for(DEADLINE, || b.log_text().contains("Entering BACKUP STATE"))
        .unwrap_or_else(|| panic!("B never reported BACKUP:\n{}", b.log_text()));
    let before = (a.transitions(), b.transitions());
    assert_eq!(before, (2, 1), "A: BACKUP then MASTER; B: BACKUP");

    for (signal, logged) in [
        (Signal::SIGHUP, Some("reload applied: 1 unchanged")),
        (Signal::SIGUSR1, Some("SIGUSR1: ignored")),
        (Signal::SIGUSR2, Some("SIGUSR2: ignored")),
        (Signal::SIGPIPE, None),
    ] {
        lab.signal(a.pid, signal);
        if let Some(line) = logged {
            wait_for(DEADLINE, || a.log_text().contains(line))
                .unwrap_or_else(|| panic!("{signal}: no {line:?} in A's log:\n{}", a.log_text()));
        }
        assert_eq!(
            lab.wait_exit(a.pid, Duration::ZERO),
            None,
            "{signal} ended vipd:\n{}",
            a.log_text()
        );
    }

    // Watch for longer than B's Master_Down_Interval (3.65 s): had A died
    // or gone quiet, B would have taken the VIP within it.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        assert_eq!(lab.holders(vip), vec![1], "the VIP moved or doubled");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(lab.wait_exit(a.pid, Duration::ZERO), None, "A still runs");
    assert_eq!(
        (a.transitions(), b.transitions()),
        before,
        "no transition on either host:\n--- A\n{}\n--- B\n{}",
        a.log_text(),
        b.log_text()
    );
}

#[test]
fn quit_stops_gracefully_like_term() {
    let Some(mut lab) = lab_or_skip("quit_stops_gracefully_like_term", 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (a, b) = start_seed_pair(&mut lab, "1111");
    expect_only(&lab, vip, 1, "both started", &[&a, &b]);
    lab.signal(a.pid, Signal::SIGQUIT);
    assert_eq!(
        lab.wait_exit(a.pid, DEADLINE),
        Some(Some(0)),
        "SIGQUIT: exit 0 after handing over:\n{}",
        a.log_text()
    );
    assert!(
        a.log_text().contains("SIGQUIT: stopping"),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 2, "A stopped with SIGQUIT", &[&a, &b]);
}

/// systemd's Type=notify: READY=1 once running, STOPPING=1 at SIGTERM,
/// read from a NOTIFY_SOCKET the test holds.
#[test]
fn tells_systemd_ready_and_stopping() {
    let Some(mut lab) = lab_or_skip("tells_systemd_ready_and_stopping", 1) else {
        return;
    };
    let socket_path = lab.dir.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();
    let config = vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111");
    let log = lab.dir.join("vipd-notify.log");
    let notify_env = format!("NOTIFY_SOCKET={}", socket_path.display());
    let vipd = vipd_binary();
    let args = [
        notify_env.as_str(),
        vipd.to_str().unwrap(),
        "run",
        "--config",
        config.to_str().unwrap(),
    ];
    let pid = lab
        .spawn(1, std::path::Path::new("env"), &args, &log)
        .unwrap();
    let mut buffer = [0u8; 256];
    let mut next = || {
        let n = socket.recv(&mut buffer).expect("a notification in time");
        String::from_utf8_lossy(&buffer[..n]).to_string()
    };
    assert_eq!(next(), "READY=1\n");
    lab.signal(pid, Signal::SIGTERM);
    assert_eq!(next(), "STOPPING=1\n");
    assert_eq!(lab.wait_exit(pid, DEADLINE), Some(Some(0)));
}

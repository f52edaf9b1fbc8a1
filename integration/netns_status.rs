//! `vipd status` during and after a failover, on both hosts: the right
//! state, master and reason; no daemon is one clear sentence and exit 1;
//! a client that is not vipd's user gets nothing.

mod support;

use std::process::Command;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};
use vipd::status::Snapshot;

fn snapshot(lab: &Lab, host: usize) -> Option<Snapshot> {
    let out = vipd_status(lab, host, true);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).expect("a JSON snapshot"))
}

/// Polls until host `host`'s first instance reports `state` with `master`.
fn expect_status(lab: &Lab, host: usize, state: &str, master: &str, logs: &[&Daemon]) -> Snapshot {
    let mut last = None;
    wait_for(DEADLINE, || {
        last = snapshot(lab, host);
        last.as_ref().is_some_and(|s| {
            s.instances[0].state == state && s.instances[0].master.as_deref() == Some(master)
        })
    })
    .unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!(
            "host {host}: expected {state} with master {master}, got {last:#?}\n{}",
            logs.join("\n---\n")
        )
    });
    last.unwrap()
}

#[test]
fn status_shows_state_master_and_reason_through_a_failover() {
    let Some(mut lab) = lab_or_skip("status_shows_state_master_and_reason_through_a_failover", 2)
    else {
        return;
    };
    let (a_ip, b_ip) = (lab.host(1).ipv4.to_string(), lab.host(2).ipv4.to_string());
    let (a, b) = start_seed_pair(&mut lab, "1111");
    expect_status(&lab, 1, "MASTER", &a_ip, &[&a, &b]);
    let backup = expect_status(&lab, 2, "BACKUP", &a_ip, &[&a, &b]);
    assert_eq!(backup.instances[0].effective_priority, 90);
    assert_eq!(backup.instances[0].transitions[0].reason, "startup");
    wait_for(DEADLINE, || {
        snapshot(&lab, 2).is_some_and(|s| s.instances[0].adverts_received >= 2)
    })
    .expect("B counts A's adverts");

    let table = String::from_utf8_lossy(&vipd_status(&lab, 1, false).stdout).to_string();
    assert!(table.contains("VI_1  MASTER  VRID 51 on eth0"), "{table}");
    assert!(
        table.contains(&format!("master          {a_ip}")),
        "{table}"
    );
    assert!(table.contains("192.0.2.203/32"), "{table}");

    // A stops: B is master, and says why; A's socket is gone.
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    let after = expect_status(&lab, 2, "MASTER", &b_ip, &[&a, &b]);
    let last = &after.instances[0].transitions[0];
    assert_eq!((last.from.as_str(), last.to.as_str()), ("BACKUP", "MASTER"));
    assert_eq!(last.reason, "master down timer expired");
    let gone = vipd_status(&lab, 1, false);
    assert_eq!(gone.status.code(), Some(1));
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(
        said.contains("no vipd is running: nothing listens on"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one sentence: {said}");

    // A is back: B defers to it and names the reason.
    let a_config = vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111");
    let a2 = start_vipd(&mut lab, 1, &a_config, "2", &[]);
    let again = expect_status(&lab, 2, "BACKUP", &a_ip, &[&a2, &b]);
    assert_eq!(
        again.instances[0].transitions[0].reason,
        format!("advert from {a_ip} with priority 100 wins")
    );
    assert!(
        again.instances[0].transitions.len() >= 3,
        "history kept, latest first"
    );
}

#[test]
fn the_control_socket_refuses_other_users() {
    let Some(mut lab) = lab_or_skip("the_control_socket_refuses_other_users", 1) else {
        return;
    };
    let config = vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111");
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    wait_for(DEADLINE, || snapshot(&lab, 1).is_some())
        .unwrap_or_else(|| panic!("no status:\n{}", a.log_text()));
    let socket = control_socket(&lab, 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only vipd's user may connect");
    // Even with the directory open to all, nobody gets no snapshot.
    std::fs::set_permissions(&lab.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(vipd_binary())
        .arg("status")
        .arg("--socket")
        .arg(&socket)
        .output()
        .expect("run setpriv");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("only vipd's own user (or root) may"),
        "{said}"
    );
}

/// The packaged /etc/vipd/vipd.yaml as shipped configures no instance:
/// vipd runs on it holding nothing and sending nothing (B alone becomes
/// master), answers status, and a reload that adds the instance starts
/// it (A, higher, takes the VIP); a reload back to no instance is refused.
#[test]
fn with_no_instance_vipd_holds_nothing_until_a_reload_adds_one() {
    let Some(mut lab) = lab_or_skip(
        "with_no_instance_vipd_holds_nothing_until_a_reload_adds_one",
        2,
    ) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let full = vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111");
    let config = lab.dir.join("vipd-h1-empty.yaml");
    std::fs::write(
        &config,
        format!("{}instances: {{}}\n", control_socket_line(&lab, 1)),
    )
    .unwrap();
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let idle = wait_for(DEADLINE, || snapshot(&lab, 1).is_some())
        .and_then(|_| snapshot(&lab, 1))
        .unwrap_or_else(|| panic!("no status:\n{}", a.log_text()));
    assert!(idle.instances.is_empty(), "{:?}", idle.instances);
    assert!(
        a.log_text().contains("no instance configured"),
        "{}",
        a.log_text()
    );

    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_only(&lab, vip, 2, "B alone is master", &[&a, &b]);

    std::fs::copy(&full, &config).unwrap();
    let out = reload(&lab, 1);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added: VI_1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    expect_only(&lab, vip, 1, "A, added by the reload, preempts", &[&a, &b]);

    // Back to no instance by reload: far likelier a typo than a wish to
    // drop every VIP, so refused, and A keeps running as it was.
    let transitions = a.transitions();
    std::fs::write(
        &config,
        format!("{}instances: {{}}\n", control_socket_line(&lab, 1)),
    )
    .unwrap();
    let out = reload(&lab, 1);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("no instance configured: a reload would stop every instance"),
        "{said}"
    );
    no_transitions_since(&[(&a, transitions)]);
    assert_eq!(lab.holders(vip), vec![1], "A let go of its VIP");

    assert_eq!(
        stop(&mut lab, &a, Signal::SIGTERM),
        Some(Some(0)),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 2, "A handed over at stop", &[&a, &b]);
}

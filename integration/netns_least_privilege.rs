//! vipd needs CAP_NET_ADMIN and CAP_NET_RAW, not root: run as nobody
//! with only those two (setpriv, ambient capabilities), it passes the
//! seed's steps.

mod support;

use std::path::Path;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::Lab;

/// Starts vipd on `host` as nobody with only the two capabilities.
fn start_unprivileged(lab: &mut Lab, host: usize, config: &Path, tag: &str) -> Daemon {
    let log = lab.dir.join(format!("vipd-h{host}-{tag}.log"));
    let vipd = vipd_binary();
    let args = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+net_admin,+net_raw",
        "--ambient-caps=-all,+net_admin,+net_raw",
        "--bounding-set=-all,+net_admin,+net_raw",
        "--",
        vipd.to_str().unwrap(),
        "run",
        "--config",
        config.to_str().unwrap(),
    ];
    let pid = lab
        .spawn(host, Path::new("setpriv"), &args, &log)
        .expect("start vipd through setpriv");
    Daemon { pid, log }
}

/// The effective capability set of a process, as /proc shows it.
fn effective_caps(pid: nix::unistd::Pid) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| v.trim().to_string())
}

#[test]
fn vipd_runs_as_nobody_with_net_admin_and_net_raw_only() {
    let Some(mut lab) = lab_or_skip("vipd_runs_as_nobody_with_net_admin_and_net_raw_only", 2)
    else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    // Nobody needs a directory of its own for the control socket.
    let own = lab.dir.join("nobody");
    std::fs::create_dir(&own).unwrap();
    nix::unistd::chown(&own, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let socket = format!("control_socket: {}\n", own.join("vipd.sock").display());
    let text = std::fs::read_to_string(vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("control_socket:"))
        .collect::<Vec<_>>()
        .join("\n");
    let a_config = lab.dir.join("unprivileged-a.yaml");
    std::fs::write(&a_config, format!("{socket}{text}\n")).unwrap();
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_unprivileged(&mut lab, 1, &a_config, "1");
    expect_only(
        &lab,
        vip,
        1,
        "A (nobody + 2 capabilities) master",
        &[&a, &b],
    );
    // CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13: nothing else.
    assert_eq!(effective_caps(a.pid).as_deref(), Some("0000000000003000"));
    let uid = std::fs::read_to_string(format!("/proc/{}/status", a.pid)).unwrap();
    assert!(uid.lines().any(|l| l.starts_with("Uid:\t65534")), "{uid}");

    assert_eq!(
        stop(&mut lab, &a, Signal::SIGTERM),
        Some(Some(0)),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);
    let a2 = start_unprivileged(&mut lab, 1, &a_config, "2");
    expect_only(&lab, vip, 1, "A back", &[&a2, &b]);
}

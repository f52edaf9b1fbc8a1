//! Interfaces change under a running daemon: an address moved, an
//! interface deleted and made again, an altname. vipd follows them by
//! netlink events at start, at reload and while it runs; an instance that
//! cannot run (no address to send from) is FAULT with the reason and comes
//! back by itself; nothing one instance meets stops another, or SIGTERM.

mod support;

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};
use vipd::status::{InstanceStatus, Snapshot};

const VI_2_VIP: &str = "198.51.100.210";

/// VRRPv3 at 0.1 s (as the reproduction): VI_1 on `interface`
/// for 192.0.2.203, and VI_2 on eth1 when `with_vi_2`.
fn write_config(
    lab: &Lab,
    host: usize,
    interface: &str,
    priority: u8,
    with_vi_2: bool,
    extra: &str,
) -> PathBuf {
    let mut text = format!(
        "{}instances:\n  VI_1:\n    interface: {interface}\n    virtual_router_id: 51\n    priority: {priority}\n    version: 3\n    advert_int: 0.1\n    virtual_ipaddress: [192.0.2.203]\n{extra}",
        control_socket_line(lab, host)
    );
    if with_vi_2 {
        text.push_str(&format!(
            "  VI_2:\n    interface: eth1\n    virtual_router_id: 52\n    priority: 100\n    version: 3\n    advert_int: 0.1\n    virtual_ipaddress: [{VI_2_VIP}]\n"
        ));
    }
    let path = lab.dir.join(format!("interfaces-h{host}.yaml"));
    fs::write(&path, text).unwrap();
    path
}

fn snapshot(lab: &Lab, host: usize) -> Option<Snapshot> {
    vipd::status::read(&control_socket(lab, host))
        .ok()
        .map(|(s, _)| s)
}

fn instance(lab: &Lab, host: usize, name: &str) -> Option<InstanceStatus> {
    snapshot(lab, host)?
        .instances
        .into_iter()
        .find(|i| i.name == name)
}

fn wait_until(what: &str, daemons: &[&Daemon], mut condition: impl FnMut() -> bool) {
    wait_for(DEADLINE, &mut condition).unwrap_or_else(|| {
        let logs: Vec<String> = daemons
            .iter()
            .map(|d| format!("--- {}\n{}", d.log.display(), d.log_text()))
            .collect();
        panic!("{what}: not within {DEADLINE:?}\n{}", logs.join("\n"))
    });
}

/// The reproduction: VI_1 on eth0 and VI_2 on eth1; eth0's
/// address moves (192.0.2.201 deleted, 192.0.2.5 added) and VI_1's
/// priority changes; SIGHUP. Before: VI_1's restart failed ~7,000 times,
/// VI_2 stopped advertising while it held its VIP, and SIGTERM was
/// ignored. Now VI_1 restarts from the new address, VI_2 never notices,
/// and SIGTERM stops the daemon with its addresses removed.
#[test]
fn a_reload_after_an_address_moved_restarts_from_the_new_one_and_starves_nothing() {
    let Some(mut lab) = lab_or_skip(
        "a_reload_after_an_address_moved_restarts_from_the_new_one",
        1,
    ) else {
        return;
    };
    lab.add_second_lan().unwrap();
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    let vi_2_vip: IpAddr = VI_2_VIP.parse().unwrap();
    let config = write_config(&lab, 1, "eth0", 100, true, "");
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    wait_until("both instances master", &[&a], || {
        ["VI_1", "VI_2"]
            .iter()
            .all(|n| instance(&lab, 1, n).is_some_and(|i| i.state == "MASTER"))
    });
    assert!(lab.has_address(1, vip));

    lab.ip_in(1, &["addr", "del", "192.0.2.201/24", "dev", "eth0"])
        .unwrap();
    lab.ip_in(1, &["addr", "add", "192.0.2.5/24", "dev", "eth0"])
        .unwrap();
    write_config(&lab, 1, "eth0", 110, true, "");
    let vi_2_before = instance(&lab, 1, "VI_2").unwrap();
    let reloaded_at = Instant::now();
    let out = reload(&lab, 1);
    assert!(out.status.success(), "{out:?}\n{}", a.log_text());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("restarted: VI_1"), "{said}");

    wait_until("VI_1 master again, from 192.0.2.5", &[&a], || {
        instance(&lab, 1, "VI_1").is_some_and(|i| {
            i.state == "MASTER" && i.master.as_deref() == Some("192.0.2.5") && i.adverts_sent > 20
        })
    });
    // VI_2 kept advertising at its interval all along: no transition, and
    // at least 80% of the adverts 0.1 s apart the elapsed time allows.
    let vi_2_after = instance(&lab, 1, "VI_2").unwrap();
    let elapsed = reloaded_at.elapsed().as_secs_f64();
    let sent = vi_2_after.adverts_sent - vi_2_before.adverts_sent;
    assert!(
        sent as f64 >= 0.8 * elapsed / 0.1 - 2.0,
        "VI_2 sent {sent} adverts in {elapsed:.1} s\n{}",
        a.log_text()
    );
    assert_eq!(vi_2_after.transitions_total, vi_2_before.transitions_total);
    assert!(lab.has_address(1, vip) && lab.addresses_on(1, "eth1").contains(&vi_2_vip));
    // No restart loop in the log.
    let lines = a.log_text().lines().count();
    assert!(lines < 100, "{lines} log lines:\n{}", a.log_text());

    lab.signal(a.pid, Signal::SIGTERM);
    assert_eq!(
        lab.wait_exit(a.pid, Duration::from_secs(5)),
        Some(Some(0)),
        "SIGTERM:\n{}",
        a.log_text()
    );
    assert!(!lab.has_address(1, vip), "VI_1's address left behind");
    assert!(
        !lab.addresses_on(1, "eth1").contains(&vi_2_vip),
        "VI_2's address left behind"
    );
}

/// While vipd runs, A's eth0 is deleted and made again (another index);
/// then its address moves; then it has no IPv4 address at all, and gets
/// one back. A follows each: the VIP comes back to A after the new eth0,
/// B sees A's adverts from the new address, and without an address A is
/// FAULT with the reason and B takes over.
#[test]
fn a_running_daemon_follows_its_interface_through_recreation_and_address_changes() {
    let Some(mut lab) = lab_or_skip("a_running_daemon_follows_its_interface", 2) else {
        return;
    };
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    let a_config = write_config(&lab, 1, "eth0", 100, false, "");
    let b_config = write_config(&lab, 2, "eth0", 90, false, "");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    expect_only(&lab, vip, 1, "both started", &[&a, &b]);

    // 1. eth0 deleted: A is FAULT (link gone), B takes over.
    lab.ip_in(1, &["link", "del", "eth0"]).unwrap();
    expect_only(&lab, vip, 2, "A's eth0 deleted", &[&a, &b]);
    wait_until("A FAULT", &[&a], || {
        instance(&lab, 1, "VI_1").is_some_and(|i| i.state == "FAULT")
    });
    // Made again: another index, the same name. A follows it and, with
    // the higher priority, takes the VIP back.
    lab.recreate_eth0(1).unwrap();
    expect_only(&lab, vip, 1, "A's eth0 made again", &[&a, &b]);

    // 2. The address moves: A stays master, B sees it from 192.0.2.5.
    // (Without promote_secondaries the kernel deletes the secondary with
    // the primary: no address at all, which step 3 covers.)
    let promote = lab
        .exec(
            1,
            "sysctl",
            &["-qw", "net.ipv4.conf.eth0.promote_secondaries=1"],
        )
        .unwrap();
    assert!(promote.status.success(), "{promote:?}");
    lab.ip_in(1, &["addr", "add", "192.0.2.5/24", "dev", "eth0"])
        .unwrap();
    lab.ip_in(1, &["addr", "del", "192.0.2.201/24", "dev", "eth0"])
        .unwrap();
    wait_until("B sees A's adverts from 192.0.2.5", &[&a, &b], || {
        instance(&lab, 2, "VI_1").is_some_and(|i| i.master.as_deref() == Some("192.0.2.5"))
    });
    assert_eq!(lab.holders(vip), vec![1]);

    // 3. No IPv4 address left: A cannot send; FAULT saying why.
    lab.ip_in(1, &["addr", "del", "192.0.2.5/24", "dev", "eth0"])
        .unwrap();
    expect_only(&lab, vip, 2, "A without an address", &[&a, &b]);
    wait_until("A FAULT with the reason", &[&a], || {
        instance(&lab, 1, "VI_1").is_some_and(|i| {
            i.state == "FAULT"
                && i.fault
                    .as_deref()
                    .is_some_and(|f| f.contains("no IPv4 address"))
        })
    });
    lab.ip_in(1, &["addr", "add", "192.0.2.201/24", "dev", "eth0"])
        .unwrap();
    expect_only(&lab, vip, 1, "A's address back", &[&a, &b]);
    assert_eq!(lab.wait_exit(a.pid, Duration::ZERO), None, "A still runs");
}

/// `interface: vzero`, an altname of eth0: before, vipd indexed its
/// address actors by the kernel's name and crashed looking up the
/// altname, at start and in a reload. Now it runs, and reloads.
#[test]
fn an_interface_named_by_its_altname_runs_and_reloads() {
    let Some(mut lab) = lab_or_skip("an_interface_named_by_its_altname_runs_and_reloads", 2) else {
        return;
    };
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    for host in [1, 2] {
        lab.ip_in(
            host,
            &["link", "property", "add", "dev", "eth0", "altname", "vzero"],
        )
        .unwrap();
    }
    let a_config = write_config(&lab, 1, "vzero", 100, false, "");
    let b_config = write_config(&lab, 2, "eth0", 90, false, "");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    expect_only(&lab, vip, 1, "A on its altname", &[&a, &b]);
    // A reload that restarts VI_1 on the altname, and one that moves B
    // from the name to the altname.
    write_config(&lab, 1, "vzero", 110, false, "");
    let out = reload(&lab, 1);
    assert!(out.status.success(), "{out:?}\n{}", a.log_text());
    write_config(&lab, 2, "vzero", 90, false, "");
    let out = reload(&lab, 2);
    assert!(out.status.success(), "{out:?}\n{}", b.log_text());
    expect_only(&lab, vip, 1, "after the reloads", &[&a, &b]);
    wait_until("B backup again, seeing A", &[&a, &b], || {
        instance(&lab, 2, "VI_1")
            .is_some_and(|i| i.state == "BACKUP" && i.master.as_deref() == Some("192.0.2.201"))
    });
    for daemon in [&a, &b] {
        assert_eq!(lab.wait_exit(daemon.pid, Duration::ZERO), None);
        assert!(
            !daemon.log_text().contains("panicked"),
            "{}",
            daemon.log_text()
        );
    }
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);
}

/// Descriptors a process has open now.
fn open_descriptors(pid: nix::unistd::Pid) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A reload that adds VI_2 on eth1 and one that removes it again leave
/// the daemon with the descriptors it had: the receiver on eth1 (with its
/// 8 MiB buffer) and its announcement sockets go with the last instance
/// there. Before, they stayed until vipd restarted.
#[test]
fn an_interface_no_instance_uses_any_more_is_let_go() {
    let Some(mut lab) = lab_or_skip("an_interface_no_instance_uses_any_more_is_let_go", 1) else {
        return;
    };
    lab.add_second_lan().unwrap();
    let config = write_config(&lab, 1, "eth0", 100, false, "");
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    wait_until("VI_1 master", &[&a], || {
        instance(&lab, 1, "VI_1").is_some_and(|i| i.state == "MASTER")
    });
    let alone = open_descriptors(a.pid);

    write_config(&lab, 1, "eth0", 100, true, "");
    assert!(reload(&lab, 1).status.success());
    wait_until("VI_2 master", &[&a], || {
        instance(&lab, 1, "VI_2").is_some_and(|i| i.state == "MASTER")
    });
    let with_vi_2 = open_descriptors(a.pid);
    assert!(with_vi_2 > alone, "{alone} then {with_vi_2}");

    write_config(&lab, 1, "eth0", 100, false, "");
    let out = reload(&lab, 1);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed: VI_2"),
        "{out:?}"
    );
    wait_until("back to the descriptors VI_1 alone had", &[&a], || {
        open_descriptors(a.pid) <= alone
    });
}

/// Sets the soft limit on open descriptors of process `pid`.
fn set_descriptor_limit(pid: nix::unistd::Pid, soft: u64) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads `new` and writes `old`, both valid for the call.
    let got = unsafe {
        libc::prlimit(
            pid.as_raw(),
            libc::RLIMIT_NOFILE,
            std::ptr::null(),
            &mut old,
        )
    };
    assert_eq!(got, 0, "read the limit");
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: old.rlim_max,
    };
    // SAFETY: as above.
    let set = unsafe {
        libc::prlimit(
            pid.as_raw(),
            libc::RLIMIT_NOFILE,
            &new,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "set the limit");
}

/// VI_2 must open a new socket (its address moved) while the daemon has
/// no descriptor to spare: it is FAULT saying why, tries again later and
/// later (a bounded number of log lines, never a restart loop), VI_1
/// goes on undisturbed, and once descriptors are to be had VI_2 runs
/// again by itself.
#[test]
fn an_instance_that_cannot_open_its_socket_is_fault_and_retries_until_it_can() {
    let Some(mut lab) = lab_or_skip("an_instance_that_cannot_open_its_socket", 2) else {
        return;
    };
    lab.add_second_lan().unwrap();
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    let a_config = write_config(&lab, 1, "eth0", 100, true, "");
    let b_config = write_config(&lab, 2, "eth0", 90, false, "");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    expect_only(&lab, vip, 1, "A master", &[&a, &b]);
    wait_until("VI_2 master", &[&a], || {
        instance(&lab, 1, "VI_2").is_some_and(|i| i.state == "MASTER")
    });

    // B may have been master for a moment before A started.
    let b_masters = b.log_text().matches("Entering MASTER").count();
    let promote = lab
        .exec(
            1,
            "sysctl",
            &["-qw", "net.ipv4.conf.eth1.promote_secondaries=1"],
        )
        .unwrap();
    assert!(promote.status.success(), "{promote:?}");
    set_descriptor_limit(a.pid, 3);
    lab.ip_in(1, &["addr", "add", "198.51.100.7/24", "dev", "eth1"])
        .unwrap();
    lab.ip_in(1, &["addr", "del", "198.51.100.201/24", "dev", "eth1"])
        .unwrap();
    wait_until("VI_2 cannot open its socket", &[&a], || {
        a.log_text()
            .contains("(VI_2) cannot run: cannot open a VRRP socket")
    });
    // Longer than B's Master_Down_Interval for VI_1.
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(3) {
        assert_eq!(lab.holders(vip), vec![1], "VI_1 moved:\n{}", a.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let tries = a.log_text().matches("(VI_2) cannot run").count();
    assert!(
        (2..=12).contains(&tries),
        "{tries} attempts logged in about 3 s:\n{}",
        a.log_text()
    );

    set_descriptor_limit(a.pid, 1024);
    wait_until("VI_2 runs again, from 198.51.100.7", &[&a], || {
        instance(&lab, 1, "VI_2")
            .is_some_and(|i| i.state == "MASTER" && i.master.as_deref() == Some("198.51.100.7"))
    });
    assert!(
        a.log_text().contains("(VI_2) can run again"),
        "{}",
        a.log_text()
    );
    assert_eq!(
        b.log_text().matches("Entering MASTER").count(),
        b_masters,
        "{}",
        b.log_text()
    );
}

/// A lab of one host, with keepalived installed if it is to run.
fn one_host_lab(test: &str, keepalived: bool) -> Option<Lab> {
    if keepalived {
        lab_with_keepalived_or_skip(test, 1)
    } else {
        lab_or_skip(test, 1)
    }
}

/// `conf` (a keepalived.conf) run on host 1 by keepalived or by vipd
/// (with a YAML layer for its control socket).
fn run_conf(lab: &mut Lab, keepalived: bool, conf: &std::path::Path) -> Daemon {
    if keepalived {
        return start_keepalived(lab, 1, conf, "1");
    }
    let layer = lab.dir.join("layer.yaml");
    fs::write(&layer, control_socket_line(lab, 1)).unwrap();
    start_vipd(lab, 1, conf, "1", &["--config", &layer.to_string_lossy()])
}

/// keepalived's `dont_track_primary`: the instance's link going down is
/// not FAULT. One keepalived.conf, run by vipd and by keepalived 2.2.7:
/// with the cable out, VI_2 (without it) is FAULT, VI_1 stays MASTER.
fn link_down_with_dont_track_primary(test: &str, keepalived: bool) {
    let Some(mut lab) = one_host_lab(test, keepalived) else {
        return;
    };
    let source = lab.host(1).ipv4;
    let instance = |name: &str, vrid: u8, vip: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    state MASTER\n    interface eth0\n    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n    mcast_src_ip {source}\n{extra}    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        )
    };
    let conf = lab.dir.join("dont-track.conf");
    fs::write(
        &conf,
        format!(
            "{}{}",
            instance("VI_1", 51, "192.0.2.203", "    dont_track_primary\n"),
            instance("VI_2", 52, "192.0.2.204", "")
        ),
    )
    .unwrap();
    let daemon = run_conf(&mut lab, keepalived, &conf);
    let (vip1, vip2): (IpAddr, IpAddr) = (
        "192.0.2.203".parse().unwrap(),
        "192.0.2.204".parse().unwrap(),
    );
    wait_until("both masters", &[&daemon], || {
        lab.has_address(1, vip1) && lab.has_address(1, vip2)
    });
    lab.set_cable(1, false).unwrap();
    wait_until("VI_2 in FAULT", &[&daemon], || {
        daemon.log_text().contains("(VI_2) Entering FAULT STATE")
    });
    let log = daemon.log_text();
    assert!(!log.contains("(VI_1) Entering FAULT"), "{log}");
    assert!(lab.has_address(1, vip1), "VI_1 keeps its address:\n{log}");
    lab.set_cable(1, true).unwrap();
}

#[test]
fn dont_track_primary_keeps_the_instance_out_of_fault() {
    link_down_with_dont_track_primary("dont_track_primary_keeps_the_instance_out_of_fault", false);
}

#[test]
fn keepalived_dont_track_primary_keeps_the_instance_out_of_fault() {
    link_down_with_dont_track_primary(
        "keepalived_dont_track_primary_keeps_the_instance_out_of_fault",
        true,
    );
}

/// keepalived's `interface_up_down_delays`: a cable out and back within
/// the down delay changes nothing; out for longer is FAULT, no sooner
/// than the delay. One keepalived.conf, run by vipd and keepalived 2.2.7.
fn link_bounce_within_its_delay(test: &str, keepalived: bool) {
    let Some(mut lab) = one_host_lab(test, keepalived) else {
        return;
    };
    let conf = lab.dir.join("delays.conf");
    fs::write(
        &conf,
        format!(
            "interface_up_down_delays {{\n    eth0 1.5\n}}\n\
             vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        192.0.2.203\n    }}\n}}\n",
            lab.host(1).ipv4
        ),
    )
    .unwrap();
    let daemon = run_conf(&mut lab, keepalived, &conf);
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    wait_until("master", &[&daemon], || lab.has_address(1, vip));
    let fault = || daemon.log_text().contains("(VI_1) Entering FAULT STATE");
    lab.set_cable(1, false).unwrap();
    lab.set_cable(1, true).unwrap();
    // Longer than the delay: a fault acted on would show by now.
    let faulted = wait_for(Duration::from_secs(4), fault);
    assert_eq!(
        faulted,
        None,
        "a bounce within 1.5 s:\n{}",
        daemon.log_text()
    );
    assert!(lab.has_address(1, vip));

    lab.set_cable(1, false).unwrap();
    let out = Instant::now();
    wait_until("FAULT after the delay", &[&daemon], fault);
    let after = out.elapsed();
    assert!(
        after >= Duration::from_millis(1400),
        "FAULT {after:?} after the cable went: before the 1.5 s delay\n{}",
        daemon.log_text()
    );
    lab.set_cable(1, true).unwrap();
}

#[test]
fn a_link_bounce_within_its_delay_changes_nothing() {
    link_bounce_within_its_delay("a_link_bounce_within_its_delay_changes_nothing", false);
}

#[test]
fn keepalived_link_bounce_within_its_delay_changes_nothing() {
    link_bounce_within_its_delay(
        "keepalived_link_bounce_within_its_delay_changes_nothing",
        true,
    );
}

/// `interface_up_down_delays` on a `track_interface` one (trk0, one end
/// of a veth pair): its bounce within the down delay changes nothing; down
/// for longer is FAULT, no sooner than the delay; up again is acted on
/// only after the up delay. One keepalived.conf, run by vipd and
/// keepalived 2.2.7 (keepalived_netlink.c update_interface_flags).
fn tracked_link_bounce_within_its_delay(test: &str, keepalived: bool) {
    let Some(mut lab) = one_host_lab(test, keepalived) else {
        return;
    };
    // A veth pair: the kernel here may have no dummy driver.
    lab.ip_in(
        1,
        &[
            "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
        ],
    )
    .unwrap();
    lab.ip_in(1, &["link", "set", "trk1", "up"]).unwrap();
    lab.ip_in(1, &["link", "set", "trk0", "up"]).unwrap();
    let conf = lab.dir.join("tracked-delays.conf");
    fs::write(
        &conf,
        format!(
            "interface_up_down_delays {{\n    trk0 1.5 1\n}}\n\
             vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    mcast_src_ip {}\n    track_interface {{\n        trk0\n    }}\n    virtual_ipaddress {{\n        192.0.2.203\n    }}\n}}\n",
            lab.host(1).ipv4
        ),
    )
    .unwrap();
    let daemon = run_conf(&mut lab, keepalived, &conf);
    let set_trk0 = |up: bool| {
        lab.ip_in(1, &["link", "set", "trk0", if up { "up" } else { "down" }])
            .unwrap()
    };
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    wait_until("master", &[&daemon], || lab.has_address(1, vip));
    let fault = || daemon.log_text().contains("(VI_1) Entering FAULT STATE");
    set_trk0(false);
    set_trk0(true);
    // Longer than the delay: a fault acted on would show by now.
    let faulted = wait_for(Duration::from_secs(4), fault);
    assert_eq!(
        faulted,
        None,
        "a bounce of trk0 within 1.5 s:\n{}",
        daemon.log_text()
    );
    assert!(lab.has_address(1, vip));

    set_trk0(false);
    let out = Instant::now();
    wait_until("FAULT after the delay", &[&daemon], fault);
    let after = out.elapsed();
    assert!(
        after >= Duration::from_millis(1400),
        "FAULT {after:?} after trk0 went down: before the 1.5 s delay\n{}",
        daemon.log_text()
    );
    assert!(
        !lab.has_address(1, vip),
        "FAULT keeps no address:\n{}",
        daemon.log_text()
    );
    set_trk0(true);
    let back = Instant::now();
    wait_until("master again after the up delay", &[&daemon], || {
        lab.has_address(1, vip)
    });
    let after = back.elapsed();
    assert!(
        after >= Duration::from_millis(900),
        "master again {after:?} after trk0 came up: before the 1 s up delay\n{}",
        daemon.log_text()
    );
}

#[test]
fn a_tracked_link_bounce_within_its_delay_changes_nothing() {
    tracked_link_bounce_within_its_delay(
        "a_tracked_link_bounce_within_its_delay_changes_nothing",
        false,
    );
}

#[test]
fn keepalived_tracked_link_bounce_within_its_delay_changes_nothing() {
    tracked_link_bounce_within_its_delay(
        "keepalived_tracked_link_bounce_within_its_delay_changes_nothing",
        true,
    );
}

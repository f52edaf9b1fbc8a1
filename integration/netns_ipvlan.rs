//! use_ipvlan: adverts leave from an l2 ipvlan (the parent's MAC, an
//! address of its own), as keepalived 2.2.7's use_ipvlan, whose VIPs stay
//! on the parent (measured here: keepalived adds them and sends their
//! GARPs on eth0); vipd and keepalived elect one master over ipvlans, the
//! VIP moves when the master stops, the ipvlan is deleted at stop, and
//! one left by a crash is replaced at the next start.
//!
//! The kernel must be built with CONFIG_IPVLAN: without it the tests that
//! need an ipvlan print one "skipped:" line (fail under CI=true), and the
//! last test checks that vipd then says what the kernel lacks. `.ci/run`
//! on such a kernel runs this file again in a VM whose kernel has ipvlan
//! (`.ci/ipvlan-vm`), and says so with IPVLAN_TESTS_IN_VM=1: the
//! first run then skips them, saying where they run.

mod support;

use std::net::IpAddr;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const IPVLAN: &str = "ipv.51";

/// The ipvlan's own address on host `host` (the adverts' source).
fn own_address(host: usize) -> IpAddr {
    format!("192.0.2.{}", 210 + host).parse().unwrap()
}

/// Whether this kernel makes ipvlans: tried on host 1's eth0.
fn kernel_has_ipvlan(lab: &Lab) -> bool {
    let made = lab
        .exec(
            1,
            "ip",
            &[
                "link", "add", "ipvprobe", "link", "eth0", "type", "ipvlan", "mode", "l2",
            ],
        )
        .is_ok_and(|o| o.status.success());
    if made {
        let _ = lab.exec(1, "ip", &["link", "del", "ipvprobe"]);
    }
    made
}

/// A lab of `hosts` whose kernel makes ipvlans, or `None` after one
/// "skipped:" line (a failure under CI=true).
fn ipvlan_lab_or_skip(test: &str, hosts: usize, keepalived: bool) -> Option<Lab> {
    let lab = if keepalived {
        lab_with_keepalived_or_skip(test, hosts)
    } else {
        lab_or_skip(test, hosts)
    }?;
    let missing = (!kernel_has_ipvlan(&lab))
        .then(|| "the kernel cannot make an ipvlan (CONFIG_IPVLAN is not set)".to_string());
    if let Some(missing) = &missing {
        if std::env::var("IPVLAN_TESTS_IN_VM").as_deref() == Ok("1") {
            println!(
                "skipped: {test}: {missing}; .ci/ipvlan-vm runs it in a VM whose kernel has ipvlan"
            );
            return None;
        }
    }
    vipd::lab::testing::proceed_or_skip(test, missing).then_some(lab)
}

fn vipd_config(lab: &Lab, host: usize, priority: u8) -> std::path::PathBuf {
    let state = if priority >= 100 { "MASTER" } else { "BACKUP" };
    let text = format!(
        "{}instances:\n  VI_1:\n    interface: eth0\n    state: {state}\n    virtual_router_id: 51\n    priority: {priority}\n    advert_int: 2\n    authentication: {{ auth_type: PASS, auth_pass: \"1111\" }}\n    use_ipvlan: {{ name: {IPVLAN}, address: {}/24, mode: bridge }}\n    virtual_ipaddress: [\"{}\"]\n",
        control_socket_line(lab, host),
        own_address(host),
        Flavour::V2Ipv4.vip(),
    );
    let path = lab.dir.join(format!("vipd-ipvlan-h{host}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn keepalived_config(lab: &Lab, host: usize, priority: u8) -> std::path::PathBuf {
    let state = if priority >= 100 { "MASTER" } else { "BACKUP" };
    let text = format!(
        "global_defs {{\n    router_id h{host}\n    script_user root\n}}\n\
         vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 2\n    use_ipvlan {IPVLAN} {}/24 bridge\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        {}\n    }}\n}}\n",
        own_address(host),
        Flavour::V2Ipv4.vip(),
    );
    let path = lab.dir.join(format!("keepalived-ipvlan-h{host}.conf"));
    std::fs::write(&path, text).unwrap();
    path
}

fn start_host(lab: &mut Lab, host: usize, keepalived: bool, tag: &str) -> Daemon {
    let priority = if host == 1 { 100 } else { 90 };
    if keepalived {
        let config = keepalived_config(lab, host, priority);
        start_keepalived(lab, host, &config, tag)
    } else {
        let config = vipd_config(lab, host, priority);
        start_vipd(lab, host, &config, tag, &[])
    }
}

/// `ip -d link show ipv.51` on `host`, if it exists.
fn link_details(lab: &Lab, host: usize) -> Option<String> {
    link_details_named(lab, host, IPVLAN)
}

/// `ip -d link show NAME` on `host`, if it exists.
fn link_details_named(lab: &Lab, host: usize, name: &str) -> Option<String> {
    let out = lab
        .exec(host, "ip", &["-d", "-o", "link", "show", name])
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// The ipvlan's interface index on `host`, if it exists.
fn ipvlan_index(lab: &Lab, host: usize) -> Option<String> {
    link_details(lab, host).and_then(|text| text.split(':').next().map(|i| i.trim().to_string()))
}

/// Waits until the VIP is on `host`'s eth0 and no other host holds it.
/// As keepalived does, the VIP goes on the parent: an ipvlan holds only
/// its own address (vrrp.c vrrp_complete_instance moves addresses to the
/// instance's link only for a VMAC).
fn expect_held_by(lab: &Lab, host: usize, others: &[usize], logs: &[&Daemon], step: &str) {
    let vip = Flavour::V2Ipv4.vip();
    wait_for(DEADLINE, || {
        lab.holders(vip) == vec![host]
            && std::iter::once(host)
                .chain(others.iter().copied())
                .all(|h| !lab.addresses_on(h, IPVLAN).contains(&vip))
    })
    .unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!(
            "{step}: VIP not on host {host}'s eth0 only:\n{}",
            logs.join("\n---\n")
        )
    });
}

/// A (priority 100) and B (90) over ipvlans, keepalived on
/// `keepalived_host`: each has its ipvlan (kind ipvlan, mode l2, its own
/// address on it), the VIP on A's eth0, A's adverts from its ipvlan's
/// address as host 3 hears them; then B's after A stops, and A's ipvlan
/// gone if vipd ran it.
fn ipvlan_story(test: &str, keepalived_host: usize, signal: Signal) {
    let Some(mut lab) = ipvlan_lab_or_skip(test, 3, true) else {
        return;
    };
    let a = start_host(&mut lab, 1, keepalived_host == 1, "1");
    let b = start_host(&mut lab, 2, keepalived_host == 2, "1");
    expect_held_by(&lab, 1, &[2], &[&a, &b], "A master");
    for host in [1, 2] {
        let details =
            link_details(&lab, host).unwrap_or_else(|| panic!("host {host} has no {IPVLAN}"));
        assert!(
            details.contains("ipvlan") && details.contains("mode l2"),
            "host {host}: {details}"
        );
        assert!(
            lab.addresses_on(host, IPVLAN).contains(&own_address(host)),
            "host {host}'s own address on its ipvlan"
        );
    }
    // The adverts leave from the ipvlan's address, not eth0's.
    let advert = support::raw::capture(&lab, 3, own_address(1), DEADLINE);
    assert!(
        advert.is_some(),
        "no advert from {} heard:\n{}",
        own_address(1),
        a.log_text()
    );
    // And B, whichever daemon it is, hears them as a backup does: it
    // never takes the VIP while A runs.
    let vip = Flavour::V2Ipv4.vip();
    let window = std::time::Instant::now();
    while window.elapsed() < std::time::Duration::from_secs(8) {
        assert_eq!(
            lab.holders(vip),
            vec![1],
            "the VIP left A:\n{}\n---\n{}",
            a.log_text(),
            b.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    assert!(stop(&mut lab, &a, signal).is_some(), "A stopped");
    if signal == Signal::SIGKILL {
        // A crash leaves the VIP on A's eth0: take it off, as the host's
        // next start would, so only B's can count below.
        let vip = format!("{}/32", Flavour::V2Ipv4.vip());
        let _ = lab.exec(1, "ip", &["addr", "del", &vip, "dev", "eth0"]);
    }
    expect_held_by(&lab, 2, &[1], &[&a, &b], "B master");
    if keepalived_host != 1 && signal == Signal::SIGTERM {
        assert_eq!(ipvlan_index(&lab, 1), None, "stopping removes the ipvlan");
    }
    let advert = support::raw::capture(&lab, 3, own_address(2), DEADLINE);
    assert!(
        advert.is_some(),
        "no advert from {} heard:\n{}",
        own_address(2),
        b.log_text()
    );
}

#[test]
fn vipd_master_keepalived_backup_over_ipvlans() {
    ipvlan_story(
        "vipd_master_keepalived_backup_over_ipvlans",
        2,
        Signal::SIGTERM,
    );
}

/// A crash: the backup takes over after Master_Down_Interval.
#[test]
fn vipd_master_killed_keepalived_takes_over_on_its_ipvlan() {
    ipvlan_story(
        "vipd_master_killed_keepalived_takes_over_on_its_ipvlan",
        2,
        Signal::SIGKILL,
    );
}

#[test]
fn keepalived_master_stops_vipd_takes_over_on_its_ipvlan() {
    ipvlan_story(
        "keepalived_master_stops_vipd_takes_over_on_its_ipvlan",
        1,
        Signal::SIGTERM,
    );
}

/// A crash leaves the ipvlan; the next start replaces it (another
/// index, one ipvlan), and a stop deletes it.
#[test]
fn a_leftover_ipvlan_is_replaced_and_removed_at_stop() {
    let test = "a_leftover_ipvlan_is_replaced_and_removed_at_stop";
    let Some(mut lab) = ipvlan_lab_or_skip(test, 1, false) else {
        return;
    };
    let config = vipd_config(&lab, 1, 100);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    expect_held_by(&lab, 1, &[], &[&a], "A master");
    assert_eq!(stop(&mut lab, &a, Signal::SIGKILL), Some(None));
    let left = ipvlan_index(&lab, 1).expect("SIGKILL leaves the ipvlan");
    let a2 = start_vipd(&mut lab, 1, &config, "2", &[]);
    wait_for(DEADLINE, || {
        ipvlan_index(&lab, 1).is_some_and(|i| i != left)
    })
    .unwrap_or_else(|| panic!("the leftover ipvlan was not replaced:\n{}", a2.log_text()));
    expect_held_by(&lab, 1, &[], &[&a2], "A master again");
    let ipvlans = lab
        .exec(1, "ip", &["-o", "link", "show", "type", "ipvlan"])
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    assert_eq!(ipvlans, 1, "one ipvlan, not two");
    assert_eq!(stop(&mut lab, &a2, Signal::SIGTERM), Some(Some(0)));
    assert_eq!(ipvlan_index(&lab, 1), None, "stopping removes the ipvlan");
}

/// On a kernel without CONFIG_IPVLAN, vipd does not start, and says why
/// in the kernel's terms. (With ipvlan support there is nothing to see.)
#[test]
fn a_kernel_without_ipvlan_is_named() {
    let test = "a_kernel_without_ipvlan_is_named";
    let Some(mut lab) = lab_or_skip(test, 1) else {
        return;
    };
    if kernel_has_ipvlan(&lab) {
        println!("skipped: {test}: this kernel makes ipvlans");
        return;
    }
    let config = vipd_config(&lab, 1, 100);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let exit = lab.wait_exit(a.pid, DEADLINE);
    assert!(
        matches!(exit, Some(Some(code)) if code != 0),
        "vipd ran on: {exit:?}\n{}",
        a.log_text()
    );
    let log = a.log_text();
    assert!(
        log.contains("cannot make ipvlan ipv.51 on eth0") && log.contains("CONFIG_IPVLAN"),
        "{log}"
    );
    assert!(
        !lab.addresses_on(1, "eth0").contains(&Flavour::V2Ipv4.vip()),
        "no VIP held"
    );
}

/// IPv6 without an address of its own: the ipvlan (named vrrp.VRID) sends
/// from its link-local address, as keepalived's (vrrp.c vrrp_send_adv:
/// `vrrp->ifp->sin6_addr`); vipd and keepalived elect one master and the
/// VIP moves when vipd stops, its ipvlan deleted.
#[test]
fn ipv6_ipvlans_without_an_address_elect_one_master() {
    let test = "ipv6_ipvlans_without_an_address_elect_one_master";
    let Some(mut lab) = ipvlan_lab_or_skip(test, 2, true) else {
        return;
    };
    let v6 = Flavour::V3Ipv6;
    let vip = v6.vip();
    let a_config = lab.dir.join("vipd-ipvlan6-h1.yaml");
    std::fs::write(
        &a_config,
        format!(
            "{}instances:\n  VI_1:\n    interface: eth0\n    state: MASTER\n    virtual_router_id: 51\n    priority: 100\n    version: 3\n    advert_int: 2\n    use_ipvlan: true\n    virtual_ipaddress: [\"fe80::51/64\", \"2001:db8::250/64\"]\n",
            control_socket_line(&lab, 1)
        ),
    )
    .unwrap();
    let b_config = lab.dir.join("keepalived-ipvlan6-h2.conf");
    std::fs::write(
        &b_config,
        "global_defs {\n    router_id h2\n    vrrp_version 3\n    script_user root\n}\n\
         vrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 90\n    advert_int 2\n    use_ipvlan\n    virtual_ipaddress {\n        fe80::51/64\n        2001:db8::250/64\n    }\n}\n",
    )
    .unwrap();
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b = start_keepalived(&mut lab, 2, &b_config, "1");
    let logs = |a: &Daemon, b: &Daemon| format!("{}\n---\n{}", a.log_text(), b.log_text());
    wait_for(DEADLINE, || lab.holders(vip) == vec![1])
        .unwrap_or_else(|| panic!("A never held {vip} alone:\n{}", logs(&a, &b)));
    let details = link_details_named(&lab, 1, "vrrp.51").expect("A's ipvlan vrrp.51");
    assert!(
        details.contains("ipvlan") && details.contains("mode l2"),
        "{details}"
    );
    // B hears A (from A's ipvlan's link-local address) and stays backup.
    let window = std::time::Instant::now();
    while window.elapsed() < std::time::Duration::from_secs(8) {
        assert_eq!(lab.holders(vip), vec![1], "{}", logs(&a, &b));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    assert_eq!(
        link_details_named(&lab, 1, "vrrp.51"),
        None,
        "stopping removes the ipvlan"
    );
    wait_for(DEADLINE, || lab.holders(vip) == vec![2])
        .unwrap_or_else(|| panic!("B did not take over:\n{}", logs(&a, &b)));
}

//! RFC 5798 Accept_Mode off (`accept: false`, keepalived's `no_accept`),
//! verified by traffic: a master that does not own its address drops
//! what is sent to it (nftables, a table of vipd's own), and answers it
//! with `accept: true`; the rule goes with the address when the master
//! becomes backup, and with the table at exit; a table left by a run
//! that was killed is deleted at the next start. keepalived 2.2.7, with
//! `nftables` in global_defs, drops the same packet on the same LAN.

mod support;

use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

fn ping(lab: &Lab, from: usize, address: IpAddr) -> bool {
    let family = if address.is_ipv6() { "-6" } else { "-4" };
    lab.exec(
        from,
        "ping",
        &[family, "-c", "1", "-W", "1", &address.to_string()],
    )
    .map(|out| out.status.success())
    .unwrap_or(false)
}

/// Whether host `host` answers pings to `address` within a few tries (a
/// first ping can go before the neighbour entry settles).
fn answers(lab: &Lab, host_from: usize, address: IpAddr) -> bool {
    (0..3).any(|_| ping(lab, host_from, address))
}

/// `nft list table FAMILY TABLE` in host `host`, or None if there is none.
fn table(lab: &Lab, host: usize, family: &str, name: &str) -> Option<String> {
    let out = lab
        .exec(host, "nft", &["list", "table", family, name])
        .expect("nft");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

fn yaml(lab: &Lab, host: usize, flavour: Flavour, priority: u8, accept: bool) -> PathBuf {
    let extra = format!("    accept: {accept}\n");
    let path = vipd_config_with(lab, host, flavour, priority, "1111", &extra);
    let renamed = lab.dir.join(format!("accept-h{host}-{accept}.yaml"));
    fs::rename(&path, &renamed).unwrap();
    renamed
}

fn no_accept_story(test: &str, flavour: Flavour) {
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    let vip = flavour.vip();
    let family = if vip.is_ipv6() { "ip6" } else { "ip" };

    // accept: true, the default: the master answers.
    let config = yaml(&lab, 1, flavour, 200, true);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    expect_only(&lab, vip, 1, "A master, accept on", &[&a]);
    assert!(
        answers(&lab, 2, vip),
        "accept on: A answers:\n{}",
        a.log_text()
    );
    assert_eq!(
        table(&lab, 1, family, "vipd"),
        None,
        "no rule without accept: false"
    );
    stop(&mut lab, &a, Signal::SIGTERM).expect("A stops");

    // accept: false: dropped, by a rule that names the address.
    let config = yaml(&lab, 1, flavour, 200, false);
    let a = start_vipd(&mut lab, 1, &config, "2", &[]);
    expect_only(&lab, vip, 1, "A master, accept off", &[&a]);
    let rules = table(&lab, 1, family, "vipd").expect("vipd's table");
    assert!(rules.contains(&vip.to_string()), "{rules}");
    assert!(
        !answers(&lab, 2, vip),
        "accept off: A drops it:\n{rules}\n{}",
        a.log_text()
    );
    // The master still reaches its peers from its own address.
    let peer = flavour_peer(&lab, flavour);
    let route = lab
        .exec(1, "ip", &["route", "get", &peer.to_string()])
        .unwrap();
    assert!(
        answers(&lab, 1, peer),
        "A's own traffic passes: {}",
        String::from_utf8_lossy(&route.stdout)
    );

    // B takes over (higher priority, accept on): A, backup, holds no
    // address and keeps no element; B answers.
    let config = yaml(&lab, 2, flavour, 250, true);
    let b = start_vipd(&mut lab, 2, &config, "1", &[]);
    expect_only(&lab, vip, 2, "B master", &[&a, &b]);
    wait_for(DEADLINE, || {
        table(&lab, 1, family, "vipd").is_some_and(|t| !t.contains(&vip.to_string()))
    })
    .unwrap_or_else(|| panic!("A kept the element: {:?}", table(&lab, 1, family, "vipd")));
    stop(&mut lab, &b, Signal::SIGTERM).expect("B stops");
    expect_only(&lab, vip, 1, "A master again", &[&a]);
    assert!(!answers(&lab, 2, vip), "accept off again: A drops it");

    // Something else deletes every table (`nft flush ruleset`, as
    // `systemctl reload nftables` does): vipd makes its own again within
    // its check period, with the address in it.
    let flushed = lab.exec(1, "nft", &["flush", "ruleset"]).unwrap();
    assert!(flushed.status.success(), "{flushed:?}");
    wait_for(DEADLINE, || {
        table(&lab, 1, family, "vipd").is_some_and(|t| t.contains(&vip.to_string()))
    })
    .unwrap_or_else(|| panic!("the table was not made again:\n{}", a.log_text()));
    assert!(!answers(&lab, 2, vip), "dropped again after the flush");
    assert!(
        a.log_text()
            .contains("was deleted by something else: made again"),
        "{}",
        a.log_text()
    );

    // At exit the table goes.
    stop(&mut lab, &a, Signal::SIGTERM).expect("A stops");
    assert_eq!(
        table(&lab, 1, family, "vipd"),
        None,
        "the table goes at exit"
    );

    // Killed: the table stays; the next start deletes it before anything.
    let config = yaml(&lab, 1, flavour, 200, false);
    let a = start_vipd(&mut lab, 1, &config, "3", &[]);
    expect_only(&lab, vip, 1, "A master, accept off", &[&a]);
    lab.signal(a.pid, Signal::SIGKILL);
    lab.wait_exit(a.pid, DEADLINE).expect("killed");
    assert!(
        table(&lab, 1, family, "vipd").is_some(),
        "a killed run leaves it"
    );
    assert!(lab.has_address(1, vip), "a killed run leaves its address");
    let config = yaml(&lab, 1, flavour, 200, true);
    let a = start_vipd(&mut lab, 1, &config, "4", &[]);
    // Backup first: the address the killed run left goes.
    wait_for(DEADLINE, || !lab.has_address(1, vip)).unwrap_or_else(|| {
        panic!(
            "the address left by the killed run stays:\n{}",
            a.log_text()
        )
    });
    expect_only(&lab, vip, 1, "A master, accept on", &[&a]);
    assert_eq!(table(&lab, 1, family, "vipd"), None, "cleaned at start");
    assert!(
        answers(&lab, 2, vip),
        "accept on after the crash: A answers"
    );
    stop(&mut lab, &a, Signal::SIGTERM);
}

/// Host 2's address of the flavour's family (IPv6: global, for ping).
fn flavour_peer(lab: &Lab, flavour: Flavour) -> IpAddr {
    match flavour {
        Flavour::V3Ipv6 => lab.host(2).ipv6,
        _ => lab.host(2).ipv4,
    }
}

#[test]
fn accept_false_drops_traffic_to_the_vip_on_the_master_ipv4() {
    no_accept_story(
        "accept_false_drops_traffic_to_the_vip_on_the_master_ipv4",
        Flavour::V3Ipv4,
    );
}

#[test]
fn accept_false_drops_traffic_to_the_vip_on_the_master_ipv6() {
    no_accept_story(
        "accept_false_drops_traffic_to_the_vip_on_the_master_ipv6",
        Flavour::V3Ipv6,
    );
}

/// The same keepalived.conf with `no_accept` run by keepalived and by
/// vipd: each master drops the ping, in the table global_defs names
/// (`nftables NAME`), else its own (keepalived 2.2.7 uses `keepalived`
/// with or without a bare `nftables`; vipd uses `vipd`, so that it never
/// deletes a table it did not make).
#[test]
fn no_accept_in_a_keepalived_conf_drops_as_keepalived_does() {
    let test = "no_accept_in_a_keepalived_conf_drops_as_keepalived_does";
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 2) else {
        return;
    };
    let vip = Flavour::V3Ipv4.vip();
    for (n, (global, keepalived_table, vipd_table)) in [
        ("", "keepalived", "vipd"),
        ("    nftables\n", "keepalived", "vipd"),
        (
            "    nftables vrrp_fw\n    nftables_priority -5\n",
            "vrrp_fw",
            "vrrp_fw",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let conf = lab.dir.join(format!("no-accept-{n}.conf"));
        fs::write(
            &conf,
            format!(
                "global_defs {{\n    router_id h1\n{global}}}\nvrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 200\n    version 3\n    advert_int 1\n    mcast_src_ip {}\n    no_accept\n    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n",
                lab.host(1).ipv4
            ),
        )
        .unwrap();
        for (vipd, table_name) in [(false, keepalived_table), (true, vipd_table)] {
            let tag = format!("{n}-{vipd}");
            let daemon = if vipd {
                let layer = lab.dir.join(format!("layer-{tag}.yaml"));
                fs::write(&layer, control_socket_line(&lab, 1)).unwrap();
                let layer = layer.to_string_lossy().to_string();
                start_vipd(&mut lab, 1, &conf, &tag, &["--config", &layer])
            } else {
                start_keepalived(&mut lab, 1, &conf, &tag)
            };
            let who = if vipd { "vipd" } else { "keepalived" };
            expect_only(&lab, vip, 1, &format!("{who} master"), &[&daemon]);
            let rules = table(&lab, 1, "ip", table_name)
                .unwrap_or_else(|| panic!("{who}: no table {table_name}:\n{}", daemon.log_text()));
            assert!(rules.contains(&vip.to_string()), "{who}: {rules}");
            if n == 2 {
                assert!(rules.contains("priority filter - 5"), "{who}: {rules}");
            }
            assert!(
                !answers(&lab, 2, vip),
                "{who} answered:\n{rules}\n{}",
                daemon.log_text()
            );
            stop(&mut lab, &daemon, Signal::SIGTERM).expect("stops");
            wait_for(DEADLINE, || lab.holders(vip).is_empty())
                .unwrap_or_else(|| panic!("{who} left {vip} behind"));
            assert_eq!(
                table(&lab, 1, "ip", table_name),
                None,
                "{who} left its table"
            );
        }
    }
}

//! A sync group of two instances on two interfaces: when one member's
//! interface goes down, both addresses move to the other host together,
//! and come back together; with vipd on both hosts and with keepalived's
//! vrrp_sync_group on the other.

mod support;

use std::net::IpAddr;

use support::*;
use vipd::lab::{wait_for, Lab};

const VIP1: &str = "192.0.2.203";
const VIP2: &str = "198.51.100.203";

fn vipd_group_config(lab: &Lab, host: usize, priority: u8) -> std::path::PathBuf {
    let notified = notify_file(lab, host);
    let text = format!(
        "{}sync_groups:\n  G1:\n    group: [VI_1, VI_2]\n    notify: \"/bin/sh -c 'echo \\\"$*\\\" >> {}' sh\"\ninstances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: {priority}\n    virtual_ipaddress: [{VIP1}]\n  VI_2:\n    interface: eth1\n    virtual_router_id: 52\n    priority: {priority}\n    virtual_ipaddress: [{VIP2}]\n",
        control_socket_line(lab, host),
        notified.display()
    );
    let path = lab.dir.join(format!("vipd-sync-h{host}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Where host `host`'s group notify script writes its arguments.
fn notify_file(lab: &Lab, host: usize) -> std::path::PathBuf {
    lab.dir.join(format!("group-notify-h{host}.txt"))
}

fn keepalived_group_config(lab: &Lab, host: usize, priority: u8) -> std::path::PathBuf {
    let text = format!(
        "global_defs {{\n    router_id h{host}\n}}\nvrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n\
         vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP1}\n    }}\n}}\n\
         vrrp_instance VI_2 {{\n    state BACKUP\n    interface eth1\n    virtual_router_id 52\n    priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        {VIP2}\n    }}\n}}\n"
    );
    let path = lab.dir.join(format!("keepalived-sync-h{host}.conf"));
    std::fs::write(&path, text).unwrap();
    path
}

fn holders(lab: &Lab) -> (Vec<usize>, Vec<usize>) {
    let on = |dev: &str, vip: &str| -> Vec<usize> {
        let vip: IpAddr = vip.parse().unwrap();
        (1..=2)
            .filter(|&h| lab.addresses_on(h, dev).contains(&vip))
            .collect()
    };
    (on("eth0", VIP1), on("eth1", VIP2))
}

fn expect_both_on(lab: &Lab, host: usize, step: &str, logs: &[&Daemon]) {
    wait_for(DEADLINE, || holders(lab) == (vec![host], vec![host])).unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!(
            "{step}: expected both addresses on host {host}, holders {:?}\n{}",
            holders(lab),
            logs.join("\n---\n")
        )
    });
}

fn group_moves_together(test: &str, b_is_keepalived: bool) {
    let lab = if b_is_keepalived {
        lab_with_keepalived_or_skip(test, 2)
    } else {
        lab_or_skip(test, 2)
    };
    let Some(mut lab) = lab else { return };
    lab.add_second_lan()
        .unwrap_or_else(|e| panic!("{test}: second LAN: {e}"));
    let a_config = vipd_group_config(&lab, 1, 100);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b = if b_is_keepalived {
        let config = keepalived_group_config(&lab, 2, 90);
        start_keepalived(&mut lab, 2, &config, "1")
    } else {
        let config = vipd_group_config(&lab, 2, 90);
        start_vipd(&mut lab, 2, &config, "1", &[])
    };
    expect_both_on(&lab, 1, "both started", &[&a, &b]);

    // VI_2's own interface goes down on A: VI_1 follows it into FAULT.
    lab.exec(1, "ip", &["link", "set", "eth1", "down"]).unwrap();
    wait_for(DEADLINE, || holders(&lab) == (vec![2], vec![2])).unwrap_or_else(|| {
        panic!(
            "VI_1 did not move with VI_2: {:?}\n{}\n{}",
            holders(&lab),
            a.log_text(),
            b.log_text()
        )
    });
    assert!(
        a.log_text()
            .contains("VRRP_Group(G1) Syncing instances to FAULT state"),
        "{}",
        a.log_text()
    );
    lab.exec(1, "ip", &["link", "set", "eth1", "up"]).unwrap();
    expect_both_on(&lab, 1, "eth1 back up", &[&a, &b]);
    // The group's own notify script: keepalived's GROUP name STATE 0.
    let notified = notify_file(&lab, 1);
    let text = || std::fs::read_to_string(&notified).unwrap_or_default();
    wait_for(DEADLINE, || {
        text().lines().filter(|l| l.contains("MASTER")).count() >= 2
    })
    .unwrap_or_else(|| panic!("group notify: {:?}", text()));
    let lines: Vec<String> = text().lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "GROUP G1 MASTER 0",
            "GROUP G1 FAULT 0",
            "GROUP G1 BACKUP 0",
            "GROUP G1 MASTER 0"
        ],
        "in order, one per group change"
    );
}

#[test]
fn a_sync_group_moves_together_between_vipd_hosts() {
    group_moves_together("a_sync_group_moves_together_between_vipd_hosts", false);
}

#[test]
fn a_sync_group_moves_together_with_keepalived() {
    group_moves_together("a_sync_group_moves_together_with_keepalived", true);
}

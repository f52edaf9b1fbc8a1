//! vipd and keepalived 2.2.7 in one VRRP group, each in both roles. At
//! every check the address is on exactly one host.

mod support;

use nix::sys::signal::Signal;
use support::*;

/// A runs `a_kind` at priority 100, B the other at 90: the seed's three
/// steps, with graceful stops.
fn mixed_story(test: &str, flavour: Flavour, vipd_is_master: bool) {
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 2) else {
        return;
    };
    let (a, b) = (1, 2);
    let vip = flavour.vip();
    let start_a = |lab: &mut vipd::lab::Lab, tag: &str| {
        if vipd_is_master {
            let config = vipd_config(lab, a, flavour, 100, "1111");
            start_vipd(lab, a, &config, tag, &[])
        } else {
            let config = keepalived_config(lab, a, flavour, 100);
            start_keepalived(lab, a, &config, tag)
        }
    };
    let b_daemon = if vipd_is_master {
        let config = keepalived_config(&lab, b, flavour, 90);
        start_keepalived(&mut lab, b, &config, "1")
    } else {
        let config = vipd_config(&lab, b, flavour, 90, "1111");
        start_vipd(&mut lab, b, &config, "1", &[])
    };
    let a1 = start_a(&mut lab, "1");
    expect_only(&lab, vip, a, "both started", &[&a1, &b_daemon]);

    let exit = stop(&mut lab, &a1, Signal::SIGTERM);
    assert!(exit.is_some(), "A did not stop:\n{}", a1.log_text());
    expect_only(&lab, vip, b, "A stopped", &[&a1, &b_daemon]);

    let a2 = start_a(&mut lab, "2");
    expect_only(&lab, vip, a, "A started again", &[&a2, &b_daemon]);
    // B saw A's adverts and never refused them.
    let b_log = b_daemon.log_text();
    for refusal in [
        "auth_mismatch",
        "auth_type_mismatch",
        "address_list_mismatch",
        "interval_mismatch",
        "bogus VRRP packet",
        "not present in MASTER advert",
    ] {
        assert!(
            !b_log.contains(refusal),
            "B refused A's adverts ({refusal}):\n{b_log}"
        );
    }
}

#[test]
fn vipd_master_keepalived_backup_v2_pass() {
    mixed_story(
        "vipd_master_keepalived_backup_v2_pass",
        Flavour::V2Ipv4,
        true,
    );
}

#[test]
fn keepalived_master_vipd_backup_v2_pass() {
    mixed_story(
        "keepalived_master_vipd_backup_v2_pass",
        Flavour::V2Ipv4,
        false,
    );
}

#[test]
fn vipd_master_keepalived_backup_v3() {
    mixed_story("vipd_master_keepalived_backup_v3", Flavour::V3Ipv4, true);
}

#[test]
fn keepalived_master_vipd_backup_v3() {
    mixed_story("keepalived_master_vipd_backup_v3", Flavour::V3Ipv4, false);
}

#[test]
fn vipd_master_keepalived_backup_v3_ipv6() {
    mixed_story(
        "vipd_master_keepalived_backup_v3_ipv6",
        Flavour::V3Ipv6,
        true,
    );
}

#[test]
fn keepalived_master_vipd_backup_v3_ipv6() {
    mixed_story(
        "keepalived_master_vipd_backup_v3_ipv6",
        Flavour::V3Ipv6,
        false,
    );
}

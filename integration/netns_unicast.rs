//! Unicast VRRP where multicast does not pass: the lab's bridge drops every
//! multicast VRRP packet, and the seed's story still holds with unicast
//! peers, between two vipd hosts and with keepalived on the other side.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

/// The peer's address of the flavour's family (IPv6: link-local, the
/// source VRRPv3 requires).
fn peer_address(lab: &Lab, peer: usize, flavour: Flavour) -> std::net::IpAddr {
    match flavour {
        Flavour::V3Ipv6 => lab.host(peer).link_local,
        _ => lab.host(peer).ipv4,
    }
}

fn peer_line(lab: &Lab, peer: usize, flavour: Flavour) -> String {
    format!(
        "    unicast_peer: [\"{}\"]\n",
        peer_address(lab, peer, flavour)
    )
}

fn keepalived_peer_block(lab: &Lab, peer: usize, flavour: Flavour) -> String {
    format!(
        "    unicast_peer {{\n        {}\n    }}\n",
        peer_address(lab, peer, flavour)
    )
}

/// Starts host `host` (1: A at 100, 2: B at 90) as vipd or keepalived
/// with the other host as its only unicast peer.
fn start_host(lab: &mut Lab, host: usize, keepalived: bool, flavour: Flavour, tag: &str) -> Daemon {
    let (peer, priority) = if host == 1 { (2, 100) } else { (1, 90) };
    if keepalived {
        let block = keepalived_peer_block(lab, peer, flavour);
        let config = keepalived_config_with(lab, host, flavour, priority, &block);
        start_keepalived(lab, host, &config, tag)
    } else {
        let line = peer_line(lab, peer, flavour);
        let config = vipd_config_with(lab, host, flavour, priority, "1111", &line);
        start_vipd(lab, host, &config, tag, &[])
    }
}

/// Start both -> VIP on A; stop A -> VIP on B; start A -> VIP on A, with
/// keepalived on `keepalived_host` if any.
fn seed_story_over_unicast(test: &str, keepalived_host: Option<usize>, flavour: Flavour) {
    let lab = match keepalived_host {
        Some(_) => lab_with_keepalived_or_skip(test, 2),
        None => lab_or_skip(test, 2),
    };
    let Some(mut lab) = lab else { return };
    lab.block_multicast_vrrp()
        .unwrap_or_else(|e| panic!("{test}: nftables on the lab bridge: {e}"));
    let vip = flavour.vip();
    let b = start_host(&mut lab, 2, keepalived_host == Some(2), flavour, "1");
    let a1 = start_host(&mut lab, 1, keepalived_host == Some(1), flavour, "1");
    expect_only(&lab, vip, 1, "both started", &[&a1, &b]);
    // Hold longer than B's Master_Down_Interval: had B not heard A, it
    // would have taken the VIP too.
    let moved = wait_for(Duration::from_secs(5), || lab.holders(vip) != vec![1]);
    assert_eq!(moved, None, "the VIP moved: {:?}", lab.holders(vip));

    assert_eq!(stop(&mut lab, &a1, Signal::SIGTERM), Some(Some(0)));
    expect_only(&lab, vip, 2, "A stopped", &[&a1, &b]);

    let a2 = start_host(&mut lab, 1, keepalived_host == Some(1), flavour, "2");
    expect_only(&lab, vip, 1, "A started again", &[&a2, &b]);
    assert_eq!(
        lab.blocked_multicast_vrrp(),
        0,
        "nothing was sent to the multicast group"
    );
}

#[test]
fn vipd_pair_over_unicast_with_multicast_blocked() {
    seed_story_over_unicast(
        "vipd_pair_over_unicast_with_multicast_blocked",
        None,
        Flavour::V2Ipv4,
    );
}

#[test]
fn vipd_pair_over_unicast_v3_ipv6() {
    seed_story_over_unicast("vipd_pair_over_unicast_v3_ipv6", None, Flavour::V3Ipv6);
}

/// VRRPv3 over IPv4 unicast: the checksum covers the real destination, as
/// keepalived computes it.
#[test]
fn vipd_and_keepalived_over_unicast_v3() {
    seed_story_over_unicast(
        "vipd_and_keepalived_over_unicast_v3",
        Some(2),
        Flavour::V3Ipv4,
    );
}

#[test]
fn vipd_master_keepalived_backup_over_unicast() {
    seed_story_over_unicast(
        "vipd_master_keepalived_backup_over_unicast",
        Some(2),
        Flavour::V2Ipv4,
    );
}

#[test]
fn keepalived_master_vipd_backup_over_unicast() {
    seed_story_over_unicast(
        "keepalived_master_vipd_backup_over_unicast",
        Some(1),
        Flavour::V2Ipv4,
    );
}

/// The control: with multicast blocked, a multicast pair cannot hear each
/// other and both take the VIP. So the block is real, and the unicast
/// stories above pass because of unicast.
#[test]
fn blocked_multicast_splits_a_multicast_pair() {
    let Some(mut lab) = lab_or_skip("blocked_multicast_splits_a_multicast_pair", 2) else {
        return;
    };
    lab.block_multicast_vrrp().unwrap();
    let vip = Flavour::V2Ipv4.vip();
    let (a, b) = start_seed_pair(&mut lab, "1111");
    wait_for(DEADLINE, || lab.holders(vip) == vec![1, 2]).unwrap_or_else(|| {
        panic!(
            "expected a split, holders {:?}\n{}\n{}",
            lab.holders(vip),
            a.log_text(),
            b.log_text()
        )
    });
    assert!(lab.blocked_multicast_vrrp() > 0, "the bridge counted drops");
}

/// A unicast instance counts and logs a multicast advert for its VRID
/// instead of acting on it, as keepalived does.
#[test]
fn a_unicast_instance_drops_multicast_adverts_and_says_so() {
    let Some(mut lab) = lab_or_skip("a_unicast_instance_drops_multicast_adverts_and_says_so", 3)
    else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let v2 = Flavour::V2Ipv4;
    let a_config = vipd_config_with(&lab, 1, v2, 100, "1111", &peer_line(&lab, 2, v2));
    let b_config = vipd_config_with(&lab, 2, v2, 90, "1111", &peer_line(&lab, 1, v2));
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_only(&lab, vip, 1, "unicast pair started", &[&a, &b]);
    // Host 3: a multicast instance with the same VRID and a higher priority.
    let c_config = vipd_config(&lab, 3, Flavour::V2Ipv4, 200, "1111");
    let c = start_vipd(&mut lab, 3, &c_config, "1", &[]);
    let phrase = "expected unicast packet but received multicast packet";
    wait_for(DEADLINE, || a.log_text().contains(phrase))
        .unwrap_or_else(|| panic!("A never reported C's multicast advert:\n{}", a.log_text()));
    assert_eq!(
        a.transitions(),
        2,
        "A: BACKUP, MASTER only:\n{}",
        a.log_text()
    );
    assert!(lab.has_address(1, vip), "A still holds the VIP");
    let _ = c;
}

/// Peers one router away arrive with TTL 254: a peer's min_ttl / max_ttl
/// pins that. A sending with unicast_ttl 254 stands in for the router.
#[test]
fn peer_ttl_ranges_accept_and_refuse_as_configured() {
    let Some(mut lab) = lab_or_skip("peer_ttl_ranges_accept_and_refuse_as_configured", 2) else {
        return;
    };
    let v2 = Flavour::V2Ipv4;
    let vip = v2.vip();
    let (a_ip, b_ip) = (lab.host(1).ipv4, lab.host(2).ipv4);
    let a_extra = format!("    unicast_peer: [{b_ip}]\n    unicast_ttl: 254\n");
    let a_config = vipd_config_with(&lab, 1, v2, 100, "1111", &a_extra);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    // B accepts only TTL 255 from A: A's adverts are refused, so B takes
    // the VIP too, and says why.
    let strict = format!("    unicast_peer: [\"{a_ip} min_ttl 255 max_ttl 255\"]\n");
    let b_config = vipd_config_with(&lab, 2, v2, 90, "1111", &strict);
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    wait_for(DEADLINE, || lab.holders(vip) == vec![1, 2])
        .unwrap_or_else(|| panic!("B heard A anyway:\n{}", b.log_text()));
    assert!(
        b.log_text()
            .contains("TTL outside the peer's min_ttl..max_ttl"),
        "{}",
        b.log_text()
    );
    assert_eq!(stop(&mut lab, &b, Signal::SIGTERM), Some(Some(0)));
    // B pinned to 254, as behind one router: A's adverts count again.
    let pinned = format!("    unicast_peer: [\"{a_ip} min_ttl 254 max_ttl 254\"]\n");
    let b_config = vipd_config_with(&lab, 2, v2, 90, "1111", &pinned);
    let b2 = start_vipd(&mut lab, 2, &b_config, "2", &[]);
    expect_only(&lab, vip, 1, "B accepts TTL 254", &[&a, &b2]);
    let moved = wait_for(Duration::from_secs(5), || lab.holders(vip) != vec![1]);
    assert_eq!(moved, None, "B took the VIP:\n{}", b2.log_text());
}

/// keepalived before 1.3.6 summed unicast VRRPv3 adverts with the
/// multicast group in the pseudo-header; `old_unicast_checksum` makes
/// keepalived 2.2.7 sum (and check) them so. vipd left at `auto` turns to
/// that form when it hears it, as keepalived does, after which the pair
/// agrees: A (vipd, 100) holds the VIP and B (keepalived, 90) stays
/// backup. With `always` on both, the story holds from the start.
#[test]
fn vipd_follows_keepalived_s_old_unicast_checksum() {
    let test = "vipd_follows_keepalived_s_old_unicast_checksum";
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 2) else {
        return;
    };
    lab.block_multicast_vrrp()
        .unwrap_or_else(|e| panic!("{test}: nftables on the lab bridge: {e}"));
    let flavour = Flavour::V3Ipv4;
    let vip = flavour.vip();
    let old = format!(
        "{}    old_unicast_checksum\n",
        keepalived_peer_block(&lab, 1, flavour)
    );
    let b_config = keepalived_config_with(&lab, 2, flavour, 90, &old);
    let b = start_keepalived(&mut lab, 2, &b_config, "1");
    let a_line = peer_line(&lab, 2, flavour);
    let a_config = vipd_config_with(&lab, 1, flavour, 100, "1111", &a_line);
    let a = start_vipd(&mut lab, 1, &a_config, "auto", &[]);
    // Until A hears B, each drops the other's adverts (keepalived's own
    // auto mode is alike): both may hold the VIP for a moment.
    let switched = || {
        a.log_text()
            .contains("Setting unicast VRRPv3 checksum to old version")
    };
    wait_for(Duration::from_secs(30), switched)
        .unwrap_or_else(|| panic!("A never turned to the old checksum:\n{}", a.log_text()));
    expect_only(
        &lab,
        vip,
        1,
        "A heard B's old checksum and B hears A",
        &[&a, &b],
    );
    let moved = wait_for(Duration::from_secs(5), || lab.holders(vip) != vec![1]);
    assert_eq!(moved, None, "the VIP moved: {:?}", lab.holders(vip));
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);

    // Configured on vipd too: A takes over from B, which hears it at once.
    let bad_before = b.log_text().matches("Invalid VRRPv3 checksum").count();
    let always = format!("{a_line}    old_unicast_checksum: always\n");
    let a_config = vipd_config_with(&lab, 1, flavour, 100, "1111", &always);
    let a2 = start_vipd(&mut lab, 1, &a_config, "always", &[]);
    expect_only(&lab, vip, 1, "A (always) preempts B", &[&a2, &b]);
    let moved = wait_for(Duration::from_secs(5), || lab.holders(vip) != vec![1]);
    assert_eq!(moved, None, "the VIP moved: {:?}", lab.holders(vip));
    assert_eq!(
        b.log_text().matches("Invalid VRRPv3 checksum").count(),
        bad_before,
        "keepalived refused none of A's adverts summed the old way:\n{}",
        b.log_text()
    );
}

//! What vipd puts on the wire, next to what keepalived puts there: adverts
//! carry IP precedence "internet control" (TOS / traffic class 0xc0), as
//! keepalived's and FRR's do, so QoS keeps them ahead of bulk traffic.

mod support;

use std::process::Command;

use support::*;
use vipd::lab::Lab;

/// Waits (bounded by `timeout`) for one VRRP packet from `source` arriving
/// on host `host`'s eth0 and returns tcpdump's verbose line for it.
fn first_advert_from(lab: &Lab, host: usize, source: std::net::IpAddr) -> String {
    let filter = if source.is_ipv6() {
        format!("ip6 proto 112 and src host {source}")
    } else {
        format!("ip proto 112 and src host {source}")
    };
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.host(host).netns])
        .args([
            "timeout", "30", "tcpdump", "-i", "eth0", "-c", "1", "-v", "-n",
        ])
        .arg(&filter)
        .output()
        .expect("run tcpdump");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        !text.trim().is_empty(),
        "no advert from {source} within 30 s: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn precedence(line: &str, ipv6: bool) -> Option<String> {
    let key = if ipv6 { "class " } else { "tos " };
    let at = line.find(key)? + key.len();
    Some(
        line[at..]
            .split(|c: char| c == ',' || c == ')' || c.is_whitespace())
            .next()?
            .to_string(),
    )
}

fn adverts_carry_internet_control(test: &str, flavour: Flavour) {
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 2) else {
        return;
    };
    if Command::new("tcpdump").arg("--version").output().is_err() {
        vipd::lab::testing::proceed_or_skip(test, Some("tcpdump is not installed".into()));
        return;
    }
    let ipv6 = flavour == Flavour::V3Ipv6;
    let vipd_config = vipd_config(&lab, 1, flavour, 100, "1111");
    let keepalived_config = keepalived_config(&lab, 2, flavour, 90);
    let source = |lab: &Lab, host: usize| match flavour {
        Flavour::V3Ipv6 => lab.host(host).link_local,
        _ => lab.host(host).ipv4,
    };
    let vipd = start_vipd(&mut lab, 1, &vipd_config, "1", &[]);
    // vipd becomes master and sends; capture one of its adverts on host 2.
    let ours = first_advert_from(&lab, 2, source(&lab, 1));
    // Then keepalived alone on host 2 (vipd's adverts would keep it quiet).
    assert!(stop(&mut lab, &vipd, nix::sys::signal::Signal::SIGTERM).is_some());
    let _keepalived = start_keepalived(&mut lab, 2, &keepalived_config, "1");
    let theirs = first_advert_from(&lab, 1, source(&lab, 2));
    assert_eq!(
        precedence(&ours, ipv6).as_deref(),
        Some("0xc0"),
        "vipd: {ours}"
    );
    assert_eq!(
        precedence(&ours, ipv6),
        precedence(&theirs, ipv6),
        "vipd: {ours}\nkeepalived: {theirs}"
    );
}

#[test]
fn ipv4_adverts_carry_internet_control_like_keepalived() {
    adverts_carry_internet_control(
        "ipv4_adverts_carry_internet_control_like_keepalived",
        Flavour::V2Ipv4,
    );
}

#[test]
fn ipv6_adverts_carry_internet_control_like_keepalived() {
    adverts_carry_internet_control(
        "ipv6_adverts_carry_internet_control_like_keepalived",
        Flavour::V3Ipv6,
    );
}

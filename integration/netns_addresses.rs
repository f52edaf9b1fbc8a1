//! keepalived's address options: addresses held on another device (`dev
//! lo`, as routed setups hold a VIP), excluded addresses of the other
//! family, brd / scope / label, and no_track.

mod support;

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const EXTRA: &str = "    virtual_ipaddress_excluded:\n      - 198.51.100.10/32 dev lo\n      - \"2001:db8::99/128\"\n      - { address: 203.0.113.7/24, brd: 203.0.113.255, scope: link, label: \"eth0:vip\" }\n";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn holders_on(lab: &Lab, dev: &str, address: IpAddr) -> Vec<usize> {
    (1..=lab.hosts.len())
        .filter(|&i| lab.addresses_on(i, dev).contains(&address))
        .collect()
}

fn expect_on(lab: &Lab, dev: &str, address: IpAddr, host: usize, step: &str, logs: &[&Daemon]) {
    wait_for(DEADLINE, || holders_on(lab, dev, address) == vec![host]).unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!(
            "{step}: expected {address} on {dev} of host {host} only, holders {:?}\n{}",
            holders_on(lab, dev, address),
            logs.join("\n---\n")
        )
    });
}

#[test]
fn excluded_and_other_device_addresses_move_with_the_master() {
    let Some(mut lab) = lab_or_skip(
        "excluded_and_other_device_addresses_move_with_the_master",
        2,
    ) else {
        return;
    };
    let v2 = Flavour::V2Ipv4;
    let (a, b) = start_seed_pair_with(&mut lab, EXTRA);
    let a_config = lab.dir.join("vipd-h1.yaml");
    let held = [
        ("eth0", v2.vip()),
        ("lo", ip("198.51.100.10")),
        ("eth0", ip("2001:db8::99")),
        ("eth0", ip("203.0.113.7")),
    ];
    for (dev, address) in held {
        expect_on(&lab, dev, address, 1, "A master", &[&a, &b]);
    }
    let shown = Command::new("ip")
        .args([
            "-n",
            &lab.host(1).netns,
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
        ])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    let line = shown
        .lines()
        .find(|l| l.contains("203.0.113.7/24"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(line.contains("brd 203.0.113.255"), "{line}");
    assert!(line.contains("scope link"), "{line}");
    assert!(line.contains("eth0:vip"), "{line}");

    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    for (dev, address) in held {
        expect_on(&lab, dev, address, 2, "A stopped", &[&a, &b]);
    }
    let a2 = start_vipd(&mut lab, 1, &a_config, "2", &[]);
    for (dev, address) in held {
        expect_on(&lab, dev, address, 1, "A back", &[&a2, &b]);
    }
}

#[test]
fn no_track_addresses_stay_deleted_tracked_ones_come_back() {
    let Some(mut lab) = lab_or_skip("no_track_addresses_stay_deleted_tracked_ones_come_back", 1)
    else {
        return;
    };
    let extra = "    virtual_ipaddress_excluded: [\"192.0.2.240 no_track\"]\n";
    let config = vipd_config_with(&lab, 1, Flavour::V2Ipv4, 100, "1111", extra);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let (tracked, untracked) = (Flavour::V2Ipv4.vip(), ip("192.0.2.240"));
    expect_only(&lab, tracked, 1, "master", &[&a]);
    expect_only(&lab, untracked, 1, "master", &[&a]);
    for address in [tracked, untracked] {
        let out = lab
            .exec(
                1,
                "ip",
                &["addr", "del", &format!("{address}/32"), "dev", "eth0"],
            )
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    expect_only(&lab, tracked, 1, "the tracked address is put back", &[&a]);
    wait_for(DEADLINE, || a.log_text().contains("(no_track) was removed"))
        .unwrap_or_else(|| panic!("{}", a.log_text()));
    // Longer than it took to put the tracked one back, many times over.
    let back = wait_for(Duration::from_secs(2), || lab.has_address(1, untracked));
    assert_eq!(back, None, "a no_track address was put back");
    assert_eq!(a.transitions(), 2, "no transition:\n{}", a.log_text());
}

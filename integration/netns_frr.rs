//! Interop with FRR's vrrpd (Debian's frr 8.4), VRRPv3 over IPv4 and
//! IPv6, in both roles. FRR needs its macvlan made by hand (mode bridge,
//! the virtual MAC, addrgenmode random, the VIP on it, protodown on at
//! creation) and never adds or removes the VIP: it holds the VIP while
//! its macvlan's protodown is off. So a host "holds" the VIP when vipd
//! has it on eth0, or when FRR's macvlan is up for traffic.

mod support;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const MACVLAN: &str = "vrrpfrr";

fn frr_missing() -> Option<String> {
    let has = |p: &str| Path::new(p).exists();
    (!has("/usr/lib/frr/zebra") || !has("/usr/lib/frr/vrrpd"))
        .then(|| "FRR (zebra, vrrpd) is not installed".to_string())
}

fn run(lab: &Lab, host: usize, args: &[&str]) {
    let out = lab.exec(host, args[0], &args[1..]).unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// FRR's macvlan for VRID 51 on host `host`, as FRR's docs say to make it.
fn make_macvlan(lab: &Lab, host: usize, flavour: Flavour) {
    let mac = if flavour == Flavour::V3Ipv6 {
        "00:00:5e:00:02:33"
    } else {
        "00:00:5e:00:01:33"
    };
    run(
        lab,
        host,
        &[
            "ip", "link", "add", MACVLAN, "link", "eth0", "type", "macvlan", "mode", "bridge",
        ],
    );
    run(lab, host, &["ip", "link", "set", MACVLAN, "address", mac]);
    run(
        lab,
        host,
        &["ip", "link", "set", MACVLAN, "protodown", "on"],
    );
    run(
        lab,
        host,
        &["ip", "link", "set", MACVLAN, "addrgenmode", "random"],
    );
    for vip in vips(flavour) {
        let vip = if vip.contains('/') {
            vip.to_string()
        } else {
            format!("{vip}/32")
        };
        run(
            lab,
            host,
            &["ip", "addr", "add", &vip, "dev", MACVLAN, "nodad"],
        );
    }
    run(lab, host, &["ip", "link", "set", MACVLAN, "up"]);
}

fn vips(flavour: Flavour) -> Vec<&'static str> {
    match flavour {
        Flavour::V3Ipv6 => vec!["fe80::51/64", "2001:db8::250/64"],
        _ => vec!["192.0.2.203"],
    }
}

struct Frr {
    /// Kept so the lab's log directory names both daemons.
    #[allow(dead_code)]
    zebra: Daemon,
    vrrpd: Daemon,
}

fn start_frr(lab: &mut Lab, host: usize, flavour: Flavour, priority: u8) -> Frr {
    make_macvlan(lab, host, flavour);
    let dir = lab.dir.join(format!("frr-h{host}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("zebra.conf"), format!("hostname h{host}\n")).unwrap();
    let family = if flavour == Flavour::V3Ipv6 {
        "ipv6"
    } else {
        "ip"
    };
    let mut vrrp = format!(
        "interface eth0\n vrrp 51 version 3\n vrrp 51 priority {priority}\n vrrp 51 advertisement-interval 1000\n"
    );
    for vip in vips(flavour) {
        let address = vip.split('/').next().unwrap();
        vrrp.push_str(&format!(" vrrp 51 {family} {address}\n"));
    }
    std::fs::write(dir.join("vrrpd.conf"), vrrp).unwrap();
    let start = |lab: &mut Lab, daemon: &str| {
        let args = vipd::lab::routed::frr_daemon_args(&dir, daemon);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = dir.join(format!("{daemon}.log"));
        let program = PathBuf::from(format!("/usr/lib/frr/{daemon}"));
        let pid = lab.spawn(host, &program, &args, &log).expect("start FRR");
        Daemon { pid, log }
    };
    let zebra = start(lab, "zebra");
    wait_for(DEADLINE, || dir.join("zserv.api").exists())
        .unwrap_or_else(|| panic!("zebra did not open its API socket:\n{}", zebra.log_text()));
    let vrrpd = start(lab, "vrrpd");
    Frr { zebra, vrrpd }
}

/// Host `host` forwards for the VIP: vipd has it on eth0, or FRR's
/// macvlan has protodown off.
fn holds(lab: &Lab, host: usize, vip: IpAddr) -> bool {
    if lab.has_address(host, vip) {
        return true;
    }
    let Ok(out) = lab.exec(host, "ip", &["-d", "link", "show", MACVLAN]) else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success() && !text.contains("protodown on")
}

fn holders(lab: &Lab, vip: IpAddr) -> Vec<usize> {
    (1..=2).filter(|&h| holds(lab, h, vip)).collect()
}

fn expect_only_frr(lab: &Lab, vip: IpAddr, host: usize, step: &str, logs: &[&Daemon]) {
    wait_for(DEADLINE, || holders(lab, vip) == vec![host]).unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!(
            "{step}: expected host {host} only, holders {:?}\n{}",
            holders(lab, vip),
            logs.join("\n---\n")
        )
    });
}

/// Configures FRR's virtual router on `host` through vtysh, as an
/// operator would.
fn vrrp_command(lab: &Lab, host: usize, command: &str) {
    let vty = lab.dir.join(format!("frr-h{host}"));
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.host(host).netns,
            "vtysh",
            "--vty_socket",
        ])
        .arg(&vty)
        .args([
            "-c",
            "configure terminal",
            "-c",
            "interface eth0",
            "-c",
            command,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A runs vipd (100) or FRR, B the other (90): the seed's three steps.
fn mixed_story(test: &str, flavour: Flavour, vipd_is_master: bool) {
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    if !vipd::lab::testing::proceed_or_skip(test, frr_missing()) {
        return;
    }
    let vip = flavour.vip();
    let (vipd_host, frr_host) = if vipd_is_master { (1, 2) } else { (2, 1) };
    let vipd_priority = if vipd_is_master { 100 } else { 90 };
    let frr_priority = if vipd_is_master { 90 } else { 100 };
    let config = vipd_config(&lab, vipd_host, flavour, vipd_priority, "");
    let vipd = start_vipd(&mut lab, vipd_host, &config, "1", &[]);
    let frr = start_frr(&mut lab, frr_host, flavour, frr_priority);
    expect_only_frr(&lab, vip, 1, "both started", &[&vipd, &frr.vrrpd]);

    // Stop A: B takes over.
    if vipd_is_master {
        assert_eq!(stop(&mut lab, &vipd, Signal::SIGTERM), Some(Some(0)));
        expect_only_frr(&lab, vip, 2, "vipd stopped", &[&vipd, &frr.vrrpd]);
        let again = start_vipd(&mut lab, vipd_host, &config, "2", &[]);
        expect_only_frr(&lab, vip, 1, "vipd back", &[&again, &frr.vrrpd]);
    } else {
        // Stopping FRR's vrrpd leaves protodown as it was; shut the
        // virtual router down through FRR instead, as an operator would.
        vrrp_command(&lab, frr_host, "vrrp 51 shutdown");
        expect_only_frr(&lab, vip, 2, "FRR shut down", &[&vipd, &frr.vrrpd]);
        vrrp_command(&lab, frr_host, "no vrrp 51 shutdown");
        expect_only_frr(&lab, vip, 1, "FRR back", &[&vipd, &frr.vrrpd]);
    }
    assert!(
        !vipd.log_text().contains("dropped VRRP packet"),
        "vipd refused some of FRR's adverts:\n{}",
        vipd.log_text()
    );
}

#[test]
fn vipd_master_frr_backup_v3_ipv4() {
    mixed_story("vipd_master_frr_backup_v3_ipv4", Flavour::V3Ipv4, true);
}

#[test]
fn frr_master_vipd_backup_v3_ipv4() {
    mixed_story("frr_master_vipd_backup_v3_ipv4", Flavour::V3Ipv4, false);
}

#[test]
fn vipd_master_frr_backup_v3_ipv6() {
    mixed_story("vipd_master_frr_backup_v3_ipv6", Flavour::V3Ipv6, true);
}

#[test]
fn frr_master_vipd_backup_v3_ipv6() {
    mixed_story("frr_master_vipd_backup_v3_ipv6", Flavour::V3Ipv6, false);
}

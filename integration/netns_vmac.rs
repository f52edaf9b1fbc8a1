//! use_vmac: the VIP lives on a macvlan with the virtual router MAC, so a
//! neighbour's ARP entry never changes across a failover; the VMAC is
//! removed at stop, and one left by a crash is replaced at the next start.

mod support;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const VMAC: &str = "00:00:5e:00:01:33"; // VRID 51

/// Pings the VIP from host 3 and returns the MAC its neighbour table holds.
fn neighbour_mac(lab: &Lab, vip: &str) -> Option<String> {
    let ping = lab.exec(3, "ping", &["-c", "1", "-W", "2", vip]).ok()?;
    if !ping.status.success() {
        return None;
    }
    let out = lab.exec(3, "ip", &["neigh", "show", vip]).ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut words = text.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_string)
}

/// Waits until host 3 reaches the VIP (a lost ping is tried again); when
/// `expected` is given, the MAC its entry holds must be that at every
/// successful ping.
fn expect_reachable(lab: &Lab, vip: &str, expected: Option<&str>, step: &str) {
    wait_for(DEADLINE, || match neighbour_mac(lab, vip) {
        Some(mac) => {
            if let Some(expected) = expected {
                assert_eq!(mac, expected, "{step}: host 3's entry for {vip}");
            }
            true
        }
        None => false,
    })
    .unwrap_or_else(|| panic!("{step}: host 3 cannot reach {vip}"));
}

/// Waits until the VIP is on host 1's VMAC and not host 2's.
fn expect_on_a_vmac_only(lab: &Lab, vip: std::net::IpAddr, logs: &[&Daemon]) {
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vrrp.51").contains(&vip)
            && lab.holders(vip).is_empty()
            && !lab.addresses_on(2, "vrrp.51").contains(&vip)
    })
    .unwrap_or_else(|| {
        let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
        panic!("VIP not on A's VMAC only:\n{}", logs.join("\n---\n"))
    });
}

/// A kernel setting as host `host` sees it (its own network namespace).
fn sysctl(lab: &Lab, host: usize, key: &str) -> String {
    let out = lab
        .exec(host, "cat", &[&format!("/proc/sys/{key}")])
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The VMAC's interface index on `host`, if it exists.
fn vmac_index(lab: &Lab, host: usize) -> Option<String> {
    let out = lab
        .exec(host, "ip", &["-o", "link", "show", "vrrp.51"])
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split(':').next().map(|i| i.trim().to_string())
}

fn start_host(lab: &mut Lab, host: usize, keepalived: bool, tag: &str) -> Daemon {
    let priority = if host == 1 { 100 } else { 90 };
    if keepalived {
        let config = keepalived_config_with(lab, host, Flavour::V2Ipv4, priority, "    use_vmac\n");
        start_keepalived(lab, host, &config, tag)
    } else {
        let config = vipd_config_with(
            lab,
            host,
            Flavour::V2Ipv4,
            priority,
            "1111",
            "    use_vmac: true\n",
        );
        start_vipd(lab, host, &config, tag, &[])
    }
}

/// A (priority 100) and B (90) with VMACs, keepalived on `keepalived_host`
/// if any: the VIP on A's VMAC, then B's after A stops; host 3's entry for
/// it is the virtual MAC throughout.
fn vmac_story(test: &str, keepalived_host: Option<usize>) -> Option<(Lab, Daemon, Daemon)> {
    let lab = match keepalived_host {
        Some(_) => lab_with_keepalived_or_skip(test, 3),
        None => lab_or_skip(test, 3),
    };
    let mut lab = lab?;
    let vip = Flavour::V2Ipv4.vip();
    let a = start_host(&mut lab, 1, keepalived_host == Some(1), "1");
    let b = start_host(&mut lab, 2, keepalived_host == Some(2), "1");
    expect_on_a_vmac_only(&lab, vip, &[&a, &b]);
    assert!(vmac_index(&lab, 2).is_some(), "the backup has its VMAC too");
    if keepalived_host != Some(1) {
        assert_eq!(sysctl(&lab, 1, "net/ipv4/conf/eth0/arp_ignore"), "1");
        assert_eq!(sysctl(&lab, 1, "net/ipv4/conf/vrrp.51/rp_filter"), "0");
        assert_eq!(sysctl(&lab, 1, "net/ipv6/conf/vrrp.51/disable_ipv6"), "1");
    }
    let vipd_holds = keepalived_host != Some(1);
    expect_reachable(
        &lab,
        &vip.to_string(),
        vipd_holds.then_some(VMAC),
        "A master",
    );

    lab.signal(a.pid, Signal::SIGTERM);
    assert!(lab.wait_exit(a.pid, DEADLINE).is_some(), "A stopped");
    assert_eq!(vmac_index(&lab, 1), None, "stopping removes the VMAC");
    if keepalived_host != Some(1) {
        assert_eq!(
            sysctl(&lab, 1, "net/ipv4/conf/eth0/arp_ignore"),
            "0",
            "the parent's settings are restored at exit"
        );
    }
    wait_for(DEADLINE, || {
        lab.addresses_on(2, "vrrp.51").contains(&vip) && lab.holders(vip).is_empty()
    })
    .unwrap_or_else(|| panic!("B did not take over:\n{}", b.log_text()));
    // Host 3's entry is not refreshed by hand: the MAC it knows just works.
    let vipd_holds = keepalived_host != Some(2);
    expect_reachable(
        &lab,
        &vip.to_string(),
        vipd_holds.then_some(VMAC),
        "B master",
    );
    // keepalived 2.2.7 as the master answers too, but its ARP request
    // for host 3 names the VIP with its parent's MAC (it leaves the
    // parent's arp_announce at 0), so host 3's entry may move off the
    // virtual MAC: measured here, and why vipd sets arp_announce=2.
    Some((lab, a, b))
}

#[test]
fn vipd_and_keepalived_vmacs_keep_the_vip_mac() {
    vmac_story("vipd_and_keepalived_vmacs_keep_the_vip_mac", Some(2));
}

#[test]
fn keepalived_master_vipd_backup_with_vmacs() {
    vmac_story("keepalived_master_vipd_backup_with_vmacs", Some(1));
}

#[test]
fn the_vip_keeps_its_mac_across_a_failover() {
    let Some((mut lab, _a, b)) = vmac_story("the_vip_keeps_its_mac_across_a_failover", None) else {
        return;
    };
    let b_config = lab.dir.join("vipd-h2.yaml");
    // A crash leaves the VMAC; the next start replaces it.
    assert_eq!(stop(&mut lab, &b, Signal::SIGKILL), Some(None));
    let left = vmac_index(&lab, 2).expect("SIGKILL leaves the VMAC");
    let b2 = start_vipd(&mut lab, 2, &b_config, "2", &[]);
    wait_for(DEADLINE, || vmac_index(&lab, 2).is_some_and(|i| i != left))
        .unwrap_or_else(|| panic!("the leftover VMAC was not replaced:\n{}", b2.log_text()));
    assert_eq!(
        lab.exec(2, "ip", &["-o", "link", "show", "type", "macvlan"])
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
            .unwrap_or(0),
        1,
        "one VMAC, not two"
    );
    assert_eq!(stop(&mut lab, &b2, Signal::SIGTERM), Some(Some(0)));
    assert_eq!(vmac_index(&lab, 2), None);
}

/// IPv6: the VMAC gets 00:00:5e:00:02:VRID and the parent's link-local
/// address to send adverts from; a neighbour's entry for the VIP is the
/// virtual MAC before and after a failover.
#[test]
fn ipv6_vip_keeps_its_mac_across_a_failover() {
    let Some(mut lab) = lab_or_skip("ipv6_vip_keeps_its_mac_across_a_failover", 3) else {
        return;
    };
    let v6 = Flavour::V3Ipv6;
    let vip = v6.vip();
    let a_config = vipd_config_with(&lab, 1, v6, 100, "", "    use_vmac: true\n");
    let b_config = vipd_config_with(&lab, 2, v6, 90, "", "    use_vmac: true\n");
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_on_a_vmac_only(&lab, vip, &[&a, &b]);
    expect_reachable(
        &lab,
        &vip.to_string(),
        Some("00:00:5e:00:02:33"),
        "A master",
    );
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    wait_for(DEADLINE, || lab.addresses_on(2, "vrrp.51").contains(&vip))
        .unwrap_or_else(|| panic!("B did not take over:\n{}", b.log_text()));
    expect_reachable(
        &lab,
        &vip.to_string(),
        Some("00:00:5e:00:02:33"),
        "B master",
    );
}

/// What host `host`'s vipd says of VI_1: state and the master it sees.
fn state_and_master(lab: &Lab, host: usize) -> Option<(String, Option<String>)> {
    let (snapshot, _) = vipd::status::read(&control_socket(lab, host)).ok()?;
    let i = snapshot.instances.into_iter().next()?;
    Some((i.state, i.master))
}

/// Two vipd with VMACs hear each other: B is BACKUP and sees A, not a
/// second master. A peer's adverts come from the same virtual MAC as our
/// own VMAC, so a private macvlan takes them for itself and the parent
/// never sees them: vipd received on the parent, and each host thought
/// itself the only one (with the same MAC on both, pings still worked).
#[test]
fn vipd_hosts_with_vmacs_hear_each_other() {
    let Some(mut lab) = lab_or_skip("vipd_hosts_with_vmacs_hear_each_other", 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let a = start_host(&mut lab, 1, false, "1");
    let b = start_host(&mut lab, 2, false, "1");
    expect_on_a_vmac_only(&lab, vip, &[&a, &b]);
    let backup = || Some(("BACKUP".to_string(), Some("192.0.2.201".to_string())));
    wait_for(DEADLINE, || state_and_master(&lab, 2) == backup())
        .unwrap_or_else(|| panic!("B never heard A:\n{}", b.log_text()));
    // And stays so, for longer than its Master_Down_Interval.
    let window = std::time::Instant::now();
    while window.elapsed() < std::time::Duration::from_secs(5) {
        assert_eq!(state_and_master(&lab, 2), backup(), "{}", b.log_text());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A's eth0 is deleted, taking its VMAC with it, and made again: vipd
/// makes the VMAC again on the new eth0, sets keepalived's settings on
/// the new parent, and A takes the VIP back on its VMAC.
#[test]
fn a_vmac_is_made_again_when_its_parent_is() {
    let Some(mut lab) = lab_or_skip("a_vmac_is_made_again_when_its_parent_is", 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let a = start_host(&mut lab, 1, false, "1");
    let b = start_host(&mut lab, 2, false, "1");
    expect_on_a_vmac_only(&lab, vip, &[&a, &b]);
    wait_for(DEADLINE, || {
        state_and_master(&lab, 2).is_some_and(|(state, _)| state == "BACKUP")
    })
    .unwrap_or_else(|| panic!("B never settled as backup:\n{}", b.log_text()));
    lab.recreate_eth0(1).unwrap();
    wait_for(DEADLINE, || {
        vmac_index(&lab, 1).is_some() && sysctl(&lab, 1, "net/ipv4/conf/eth0/arp_ignore") == "1"
    })
    .unwrap_or_else(|| panic!("no VMAC on the new eth0:\n{}", a.log_text()));
    let a_again = || Some(("BACKUP".to_string(), Some("192.0.2.201".to_string())));
    wait_for(DEADLINE, || state_and_master(&lab, 2) == a_again())
        .unwrap_or_else(|| panic!("A never led again:\n{}\n{}", a.log_text(), b.log_text()));
    expect_on_a_vmac_only(&lab, vip, &[&a, &b]);
    lab.signal(a.pid, Signal::SIGTERM);
    assert_eq!(lab.wait_exit(a.pid, DEADLINE), Some(Some(0)));
    assert_eq!(vmac_index(&lab, 1), None, "stopping removes the VMAC");
}

/// Unnamed VMACs of one VRID in both families are named as keepalived
/// names them: PREFIX.VRID and PREFIX6.VRID (vmac_prefix), and both run.
#[test]
fn unnamed_vmacs_of_one_vrid_are_named_apart() {
    let Some(mut lab) = lab_or_skip("unnamed_vmacs_of_one_vrid_are_named_apart", 1) else {
        return;
    };
    let instance = |name: &str, vip: &str, source: &str| {
        format!("  {name}:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 100\n    version: 3\n    source_ip: {source}\n    use_vmac: true\n    virtual_ipaddress: [\"{vip}\"]\n")
    };
    let text = format!(
        "{}vmac_prefix: vip\ninstances:\n{}{}",
        control_socket_line(&lab, 1),
        instance("V4", "192.0.2.203", &lab.host(1).ipv4.to_string()),
        instance("V6", "2001:db8::203", &lab.host(1).link_local.to_string()),
    );
    let config = lab.dir.join("vmac-names.yaml");
    std::fs::write(&config, text).unwrap();
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let links = |lab: &Lab| {
        let out = lab.exec(1, "ip", &["-o", "link", "show"]).unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    wait_for(DEADLINE, || {
        let text = links(&lab);
        text.contains(" vip.51@eth0:") && text.contains(" vip6.51@eth0:")
    })
    .unwrap_or_else(|| panic!("{}\n{}", links(&lab), a.log_text()));
}

/// keepalived.conf for host `host` of the address-VMAC story: VI_1 holds
/// an address on eth1 with use_vmac_addr, VI_2 one with its own
/// use_vmac; both VMACs are named by vmac_addr_prefix. vipd and
/// keepalived read the same file.
fn address_vmac_conf(lab: &Lab, host: usize, priority: u8) -> std::path::PathBuf {
    let source = lab.host(host).ipv4;
    let instance = |name: &str, vrid: u8, vips: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {priority}\n    advert_int 1\n    mcast_src_ip {source}\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n{extra}    virtual_ipaddress {{\n{vips}    }}\n}}\n"
        )
    };
    let text = format!(
        "global_defs {{\n    router_id h{host}\n    script_user root\n    vmac_addr_prefix vaddr\n}}\n{}{}",
        instance(
            "VI_1",
            51,
            "        192.0.2.250/24\n        198.51.100.250/24 dev eth1\n",
            "    use_vmac_addr\n"
        ),
        instance(
            "VI_2",
            52,
            "        192.0.2.251/24\n        198.51.100.251/24 dev eth1 use_vmac\n",
            ""
        ),
    );
    let path = lab.dir.join(format!("address-vmac-h{host}.conf"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Host `host`'s macvlans as `ip -d link` shows them: name@parent, MAC
/// and mode, sorted.
fn macvlans(lab: &Lab, host: usize) -> Vec<String> {
    let out = lab
        .exec(host, "ip", &["-d", "-o", "link", "show", "type", "macvlan"])
        .unwrap();
    let mut found: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let name = words.get(1)?.trim_end_matches(':');
            let after = |key: &str| {
                let i = words.iter().position(|w| *w == key)?;
                words.get(i + 1).copied()
            };
            let mac = after("link/ether")?;
            // "macvlan mode private" (the first "mode" is the link's).
            let i = words.iter().position(|w| *w == "macvlan")?;
            let mode = words
                .get(i + 2)
                .copied()
                .filter(|_| words.get(i + 1) == Some(&"mode"))?;
            Some(format!("{name} {mac} {mode}"))
        })
        .collect();
    found.sort();
    found
}

const ADDRESS_VMACS: [&str; 2] = [
    "vaddr.51@eth1 00:00:5e:00:01:33 private",
    "vaddr.52@eth1 00:00:5e:00:01:34 private",
];

/// use_vmac_addr and an address's use_vmac (keepalived's): each address
/// on eth1 is held on a macvlan of its own on eth1, named by
/// vmac_addr_prefix, with the virtual MAC, and a neighbour on that link
/// resolves the address to it; keepalived 2.2.7 with the same file makes
/// the same interfaces; vipd removes them at stop.
#[test]
fn addresses_on_another_interface_get_vmacs_as_keepalived_makes_them() {
    let test = "addresses_on_another_interface_get_vmacs_as_keepalived_makes_them";
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 3) else {
        return;
    };
    lab.add_second_lan().expect("eth1 on every host");
    let vip1: std::net::IpAddr = "198.51.100.250".parse().unwrap();
    let vip2: std::net::IpAddr = "198.51.100.251".parse().unwrap();
    // Host 3 learns from gratuitous ARP alone (no entry before), so its
    // entry before any ping says where A's GARPs came from.
    let accept = lab
        .exec(3, "sysctl", &["-w", "net.ipv4.conf.eth1.arp_accept=1"])
        .unwrap();
    assert!(accept.status.success(), "{accept:?}");
    let a_conf = address_vmac_conf(&lab, 1, 100);
    let b_conf = address_vmac_conf(&lab, 2, 90);
    let layer = lab.dir.join("lab-h1.yaml");
    std::fs::write(&layer, control_socket_line(&lab, 1)).unwrap();
    let layer = layer.to_string_lossy().to_string();
    let a = start_vipd(&mut lab, 1, &a_conf, "1", &["--config", &layer]);
    let b = start_keepalived(&mut lab, 2, &b_conf, "1");
    let logs = |daemons: &[&Daemon]| {
        daemons
            .iter()
            .map(|d| d.log_text())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };

    // vipd master: both addresses on its VMACs, and nowhere else.
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vaddr.51").contains(&vip1)
            && lab.addresses_on(1, "vaddr.52").contains(&vip2)
            && !lab.addresses_on(1, "eth1").contains(&vip1)
            && !lab.addresses_on(2, "vaddr.51").contains(&vip1)
    })
    .unwrap_or_else(|| panic!("the addresses are not on A's VMACs:\n{}", logs(&[&a, &b])));
    // The backup (keepalived) made the same interfaces as vipd did.
    wait_for(DEADLINE, || macvlans(&lab, 2) == ADDRESS_VMACS).unwrap_or_else(|| {
        panic!(
            "keepalived's macvlans: {:?}\n{}",
            macvlans(&lab, 2),
            b.log_text()
        )
    });
    assert_eq!(macvlans(&lab, 1), ADDRESS_VMACS, "vipd's macvlans");
    assert_eq!(sysctl(&lab, 1, "net/ipv4/conf/eth1/arp_ignore"), "1");
    assert_eq!(sysctl(&lab, 1, "net/ipv4/conf/vaddr.51/arp_ignore"), "1");
    // A's GARPs for the addresses leave from their VMACs: host 3's
    // entries, made by them, hold the virtual MACs.
    let learnt = |vip: &str| {
        let out = lab
            .exec(3, "ip", &["neigh", "show", vip, "dev", "eth1"])
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut words = text.split_whitespace();
        words.find(|w| *w == "lladdr")?;
        words.next().map(str::to_string)
    };
    for (vip, mac) in [
        ("198.51.100.250", "00:00:5e:00:01:33"),
        ("198.51.100.251", "00:00:5e:00:01:34"),
    ] {
        wait_for(DEADLINE, || learnt(vip).is_some())
            .unwrap_or_else(|| panic!("no GARP for {vip} reached host 3:\n{}", a.log_text()));
        assert_eq!(learnt(vip).as_deref(), Some(mac), "the GARP for {vip}");
    }
    // Host 3 on eth1's link resolves each address to its virtual MAC.
    expect_reachable(
        &lab,
        "198.51.100.250",
        Some("00:00:5e:00:01:33"),
        "A master, VI_1",
    );
    expect_reachable(
        &lab,
        "198.51.100.251",
        Some("00:00:5e:00:01:34"),
        "A master, VI_2",
    );

    // vipd stops: its VMACs go, keepalived takes over on its own.
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
    assert!(
        macvlans(&lab, 1).is_empty(),
        "stopping removes the VMACs: {:?}",
        macvlans(&lab, 1)
    );
    assert_eq!(
        sysctl(&lab, 1, "net/ipv4/conf/eth1/arp_ignore"),
        "0",
        "the parent's settings are restored at exit"
    );
    wait_for(DEADLINE, || {
        lab.addresses_on(2, "vaddr.51").contains(&vip1)
            && lab.addresses_on(2, "vaddr.52").contains(&vip2)
    })
    .unwrap_or_else(|| panic!("keepalived did not take over:\n{}", b.log_text()));
    assert_eq!(
        macvlans(&lab, 2),
        ADDRESS_VMACS,
        "keepalived's macvlans as master"
    );
    expect_reachable(&lab, "198.51.100.250", None, "B master");

    // vipd again, as master: the same interfaces on both hosts.
    let a2 = start_vipd(&mut lab, 1, &a_conf, "2", &["--config", &layer]);
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vaddr.51").contains(&vip1)
            && !lab.addresses_on(2, "vaddr.51").contains(&vip1)
    })
    .unwrap_or_else(|| panic!("A did not take back VI_1:\n{}", logs(&[&a2, &b])));
    assert_eq!(
        macvlans(&lab, 1),
        ADDRESS_VMACS,
        "vipd's macvlans, master again"
    );
    assert_eq!(
        macvlans(&lab, 2),
        ADDRESS_VMACS,
        "keepalived's macvlans, backup again"
    );
    expect_reachable(
        &lab,
        "198.51.100.250",
        Some("00:00:5e:00:01:33"),
        "A master again",
    );
    assert_eq!(stop(&mut lab, &a2, Signal::SIGTERM), Some(Some(0)));
    assert!(macvlans(&lab, 1).is_empty(), "{:?}", macvlans(&lab, 1));
}

/// use_vmac_addr in YAML, reloaded on and off: off, the address is on
/// eth1 itself; on, on its VMAC (named by vmac_addr_prefix) and not on
/// eth1; off again, the VMAC is gone. The change restarts the instance,
/// as keepalived's reload takes a changed use_vmac_addr for a new one.
#[test]
fn a_reload_turns_use_vmac_addr_on_and_off() {
    let Some(mut lab) = lab_or_skip("a_reload_turns_use_vmac_addr_on_and_off", 1) else {
        return;
    };
    lab.add_second_lan().expect("eth1");
    let vip: std::net::IpAddr = "198.51.100.250".parse().unwrap();
    let config = lab.dir.join("use-vmac-addr.yaml");
    let write = |lab: &Lab, on: bool| {
        let text = format!(
            "{}vmac_addr_prefix: vaddr\ninstances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 100\n    source_ip: {}\n    virtual_ipaddress:\n      - 192.0.2.250/24\n      - {{ address: 198.51.100.250/24, dev: eth1 }}\n{}",
            control_socket_line(lab, 1),
            lab.host(1).ipv4,
            if on { "    use_vmac_addr: true\n" } else { "" },
        );
        std::fs::write(&config, text).unwrap();
    };
    write(&lab, false);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    wait_for(DEADLINE, || lab.addresses_on(1, "eth1").contains(&vip))
        .unwrap_or_else(|| panic!("the address is not on eth1:\n{}", a.log_text()));
    assert!(macvlans(&lab, 1).is_empty());

    write(&lab, true);
    let out = reload(&lab, 1);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("restarted: VI_1"),
        "{out:?}\n{}",
        a.log_text()
    );
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vaddr.51").contains(&vip)
            && !lab.addresses_on(1, "eth1").contains(&vip)
    })
    .unwrap_or_else(|| panic!("the address is not on its VMAC:\n{}", a.log_text()));
    assert_eq!(
        macvlans(&lab, 1),
        ["vaddr.51@eth1 00:00:5e:00:01:33 private"]
    );

    write(&lab, false);
    let out = reload(&lab, 1);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("restarted: VI_1"),
        "{out:?}"
    );
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "eth1").contains(&vip) && macvlans(&lab, 1).is_empty()
    })
    .unwrap_or_else(|| {
        panic!(
            "the VMAC outlived the reload: {:?}\n{}",
            macvlans(&lab, 1),
            a.log_text()
        )
    });
    assert_eq!(stop(&mut lab, &a, Signal::SIGTERM), Some(Some(0)));
}

/// An interface of the VMAC's name that vipd did not leave (here one end
/// of a veth pair called vrrp.51, as a VLAN eth0.51 could be): vipd does
/// not start, says why, and the interface is still there. Before, a
/// "leftover" of that name was deleted whatever it was.
#[test]
fn an_interface_of_the_vmacs_name_is_never_deleted() {
    let test = "an_interface_of_the_vmacs_name_is_never_deleted";
    let Some(mut lab) = lab_or_skip(test, 1) else {
        return;
    };
    lab.ip_in(
        1,
        &[
            "link", "add", "vrrp.51", "type", "veth", "peer", "name", "other51",
        ],
    )
    .unwrap();
    let config = vipd_config_with(
        &lab,
        1,
        Flavour::V2Ipv4,
        100,
        "1111",
        "    use_vmac: true\n",
    );
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let exit = lab.wait_exit(a.pid, DEADLINE);
    assert!(
        matches!(exit, Some(Some(code)) if code != 0),
        "vipd started: {exit:?}\n{}",
        a.log_text()
    );
    let log = a.log_text();
    assert!(
        log.contains("vrrp.51 exists and is not a macvlan"),
        "no reason given:\n{log}"
    );
    let still = lab
        .exec(1, "ip", &["-d", "-o", "link", "show", "vrrp.51"])
        .unwrap();
    assert!(
        String::from_utf8_lossy(&still.stdout).contains("veth"),
        "vrrp.51 is gone or changed: {still:?}\n{log}"
    );
}

//! Things going wrong around a healthy pair: a peer with the wrong
//! password, someone deleting the VIP by hand, a third host flooding the
//! LAN with malformed and forged VRRP.

mod support;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use support::*;
use vipd::lab::{wait_for, Lab};
use vipd::proto::{AddressList, Advert, Auth, AuthKey, Centiseconds, Endpoints, Version, Vrid};

#[test]
fn wrong_auth_pass_is_refused_and_logged() {
    let Some(mut lab) = lab_or_skip("wrong_auth_pass_is_refused_and_logged", 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (a, b) = start_seed_pair(&mut lab, "2222");
    // B does not accept A's adverts, so it cannot see a master: it takes
    // the address too (keepalived does the same) and says why in its log.
    wait_for(DEADLINE, || lab.holders(vip) == vec![1, 2]).unwrap_or_else(|| {
        panic!(
            "holders {:?}\n{}\n{}",
            lab.holders(vip),
            a.log_text(),
            b.log_text()
        )
    });
    wait_for(DEADLINE, || {
        b.log_text().contains("auth_mismatch") && a.log_text().contains("auth_mismatch")
    })
    .unwrap_or_else(|| {
        panic!(
            "auth mismatch not logged:\n{}\n{}",
            a.log_text(),
            b.log_text()
        )
    });
    assert!(
        b.log_text()
            .contains("dropped VRRP packet from 192.0.2.201"),
        "{}",
        b.log_text()
    );
}

#[test]
fn a_vip_deleted_by_hand_on_the_master_comes_back() {
    let Some(mut lab) = lab_or_skip("a_vip_deleted_by_hand_on_the_master_comes_back", 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (a, b) = start_seed_pair(&mut lab, "1111");
    expect_only(&lab, vip, 1, "started", &[&a, &b]);

    let deleted = lab
        .exec(1, "ip", &["addr", "del", "192.0.2.203/32", "dev", "eth0"])
        .unwrap();
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let back = wait_for(DEADLINE, || lab.has_address(1, vip))
        .unwrap_or_else(|| panic!("not re-added:\n{}", a.log_text()));
    println!("re-added after {back:?}");
    assert!(
        a.log_text().contains("removed from eth0 behind our back"),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 1, "after the deletion", &[&a, &b]);
    assert_eq!(
        a.transitions(),
        2,
        "no state change: BACKUP then MASTER only\n{}",
        a.log_text()
    );
}

/// What the flood sends, in turns: every kind of bad packet for VRID 51,
/// some claiming to come from the real master.
fn junk(i: usize, rng: &mut u64, attacker: Ipv4Addr) -> Vec<u8> {
    let mut next = || {
        // xorshift: cheap junk, no dependency needed in the sender thread
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let master: Ipv4Addr = "192.0.2.201".parse().unwrap();
    let forged = |priority: u8, pass: &str| {
        Advert {
            version: Version::V2,
            vrid: Vrid::new(51).unwrap(),
            priority,
            interval: Centiseconds::from_secs(1),
            auth: Auth::Pass(AuthKey::from_password(pass)),
            addresses: AddressList::V4(vec!["192.0.2.203".parse().unwrap()]),
        }
        .encode(&Endpoints::multicast_from(master.into()))
        .unwrap()
    };
    match i % 6 {
        0 => {
            let mut bad = forged(255, "1111");
            bad[7] ^= 0x5a; // bad checksum
            raw::ip_packet(master, 255, &bad)
        }
        1 => raw::ip_packet(master, 64, &forged(255, "1111")), // TTL 64: from off-link
        2 => raw::ip_packet(master, 255, &forged(0, "wrong")), // wrong password, priority 0
        3 => raw::ip_packet(attacker, 255, &forged(255, "wrong")[..5]), // truncated
        4 => {
            let mut random: Vec<u8> = (0..(next() % 60) as usize).map(|_| next() as u8).collect();
            if random.len() > 1 {
                random[1] = 51;
            }
            raw::ip_packet(attacker, 255, &random)
        }
        _ => {
            let mut mismatched = forged(254, "1111");
            mismatched[8..12].copy_from_slice(&[192, 0, 2, 99]); // wrong address list...
            mismatched[6..8].copy_from_slice(&[0, 0]);
            let sum = vipd::proto::checksum::internet_checksum(&[&mismatched]);
            mismatched[6..8].copy_from_slice(&sum.to_be_bytes()); // ...with a valid checksum
            raw::ip_packet(attacker, 255, &mismatched)
        }
    }
}

/// Sends `count` packets from inside host `host`'s namespace; returns how
/// long it took.
fn flood(lab: &Lab, host: usize, count: usize) -> Duration {
    let std::net::IpAddr::V4(attacker) = lab.host(host).ipv4 else {
        unreachable!()
    };
    raw::in_host(lab, host, move || {
        let socket = raw::sender();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let start = Instant::now();
        for i in 0..count {
            raw::send(&socket, &junk(i, &mut rng, attacker));
            if i % 500 == 499 {
                // Bursts of 500, then a breath: tens of thousands per second
                // without simply overrunning our own send buffer.
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        start.elapsed()
    })
}

#[test]
fn a_junk_flood_causes_no_transition() {
    let Some(mut lab) = lab_or_skip("a_junk_flood_causes_no_transition", 3) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (a, b) = start_seed_pair(&mut lab, "1111");
    expect_only(&lab, vip, 1, "started", &[&a, &b]);
    let (a_before, b_before) = (a.transitions(), b.transitions());

    let took = flood(&lab, 3, 20_000);
    println!("20,000 junk packets in {took:?}");
    // Long enough after the flood for a takeover to have happened if
    // adverts had been lost: more than Master_Down_Interval (3.65 s).
    stays_on(
        &lab,
        vip,
        1,
        Duration::from_secs(5),
        "during or after the flood",
    );
    no_transitions_since(&[(&a, a_before), (&b, b_before)]);

    // Every kind was seen and dropped; the log names each reason once per
    // period instead of once per packet.
    let b_log = b.log_text();
    reported(
        &b,
        &[
            "bad_checksum",
            "bad_ttl",
            "auth_mismatch",
            "truncated",
            "address_list_mismatch",
        ],
    );
    let drop_lines = b_log
        .lines()
        .filter(|l| l.contains("dropped VRRP packet"))
        .inspect(|l| println!("B: {l}"))
        .count();
    assert!(
        drop_lines < 100,
        "{drop_lines} drop lines for 20,000 packets: not rate-limited"
    );
}

/// Adverts for a VRID not run here (another cluster on the LAN) are
/// counted always and logged only with log_unknown_vrids, as keepalived
/// logs them (vrrp_scheduler.c vrrp_dispatcher_read); a reload turns it on.
#[test]
fn adverts_for_other_vrids_are_counted_and_logged_only_when_asked() {
    let Some(mut lab) = lab_or_skip(
        "adverts_for_other_vrids_are_counted_and_logged_only_when_asked",
        2,
    ) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let config = vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111");
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    wait_for(DEADLINE, || lab.holders(vip) == vec![1])
        .unwrap_or_else(|| panic!("A never held {vip}:\n{}", a.log_text()));

    let std::net::IpAddr::V4(other) = lab.host(2).ipv4 else {
        unreachable!()
    };
    let send_other_vrid = |lab: &Lab| {
        let advert = Advert {
            version: Version::V2,
            vrid: Vrid::new(99).unwrap(),
            priority: 100,
            interval: Centiseconds::from_secs(1),
            auth: Auth::None,
            addresses: AddressList::V4(vec!["198.51.100.99".parse().unwrap()]),
        }
        .encode(&Endpoints::multicast_from(other.into()))
        .unwrap();
        let packet = raw::ip_packet(other, 255, &advert);
        raw::in_host(lab, 2, move || raw::send(&raw::sender(), &packet));
    };
    let unknown = |lab: &Lab| -> u64 {
        let out = vipd_status(lab, 1, true);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        json["receivers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["interface"] == "eth0" && r["family"] == "ipv4")
            .filter_map(|r| r["unknown_vrid"].as_u64())
            .sum()
    };

    for _ in 0..3 {
        send_other_vrid(&lab);
    }
    wait_for(DEADLINE, || unknown(&lab) >= 3).unwrap_or_else(|| {
        panic!(
            "VRID 99 not counted: {} of 3\n{}",
            unknown(&lab),
            String::from_utf8_lossy(&vipd_status(&lab, 1, true).stdout)
        )
    });
    assert!(
        !a.log_text().contains("unknown_vrid"),
        "logged without log_unknown_vrids:\n{}",
        a.log_text()
    );

    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("log_unknown_vrids: true\n{text}")).unwrap();
    let out = reload(&lab, 1);
    assert!(out.status.success(), "reload: {out:?}\n{}", a.log_text());
    // The reload's new setting reaches the receiver by message: send
    // until a line says so.
    wait_for(DEADLINE, || {
        send_other_vrid(&lab);
        a.log_text().contains("VRID 99 is not configured here")
    })
    .unwrap_or_else(|| panic!("no unknown_vrid line after the reload:\n{}", a.log_text()));
    assert_eq!(lab.holders(vip), vec![1], "the reload moved the VIP");
}

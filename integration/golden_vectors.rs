//! Golden vectors: adverts keepalived 2.2.7 put on the wire decode to the
//! fields its configuration describes, and encoding those fields gives the
//! same bytes back, checksum included.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use vipd::proto::{AddressList, Advert, Auth, AuthKey, Centiseconds, Endpoints, Version, Vrid};

#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    family: u8,
    src: IpAddr,
    dst: IpAddr,
    ttl_or_hop_limit: u8,
    vrrp_hex: String,
    what: String,
}

fn load() -> Vec<Vector> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/integration/vectors/keepalived-2.2.7.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: VectorFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    file.vectors
}

/// What each capture's `what` says, as fields. Captures come in pairs: the
/// running master's advert, then the priority-0 advert of its graceful stop.
fn expected(name: &str, priority: u8) -> Advert {
    let v4 = |a, b, c, d| Ipv4Addr::new(a, b, c, d);
    match name {
        "v2_pass_seed" => Advert {
            version: Version::V2,
            vrid: Vrid::new(51).unwrap(),
            priority,
            interval: Centiseconds::from_secs(1),
            auth: Auth::Pass(AuthKey::from_password("1111")),
            addresses: AddressList::V4(vec![v4(192, 0, 2, 203)]),
        },
        "v2_noauth_3vips" => Advert {
            version: Version::V2,
            vrid: Vrid::new(7).unwrap(),
            priority,
            interval: Centiseconds::from_secs(1),
            auth: Auth::None,
            addresses: AddressList::V4(vec![
                v4(192, 0, 2, 250),
                v4(192, 0, 2, 251),
                v4(198, 51, 100, 9),
            ]),
        },
        "v3_ipv4" => Advert {
            version: Version::V3,
            vrid: Vrid::new(51).unwrap(),
            priority,
            interval: Centiseconds::new(100),
            auth: Auth::None,
            addresses: AddressList::V4(vec![v4(192, 0, 2, 203)]),
        },
        "v3_ipv6" => Advert {
            version: Version::V3,
            vrid: Vrid::new(51).unwrap(),
            priority,
            interval: Centiseconds::new(100),
            auth: Auth::None,
            addresses: AddressList::V6(vec![
                "fe80::51".parse::<Ipv6Addr>().unwrap(),
                "2001:db8::250".parse::<Ipv6Addr>().unwrap(),
            ]),
        },
        other => panic!("no expectation written for vector {other}"),
    }
}

fn running_priority(name: &str) -> u8 {
    if name == "v2_noauth_3vips" {
        150
    } else {
        100
    }
}

#[test]
fn every_capture_decodes_to_its_described_fields() {
    let vectors = load();
    assert_eq!(vectors.len(), 8, "four configurations, two adverts each");
    for (i, vector) in vectors.iter().enumerate() {
        let priority = if i % 2 == 0 {
            running_priority(&vector.name)
        } else {
            0
        };
        let bytes = hex::decode(&vector.vrrp_hex).unwrap();
        let endpoints = Endpoints::new(vector.src, vector.dst);
        assert_eq!(vector.family == 6, vector.src.is_ipv6(), "{}", vector.name);
        let decoded = Advert::decode_received(&bytes, &endpoints, vector.ttl_or_hop_limit)
            .unwrap_or_else(|e| panic!("{} ({}): {e}", vector.name, vector.what));
        assert_eq!(
            decoded,
            expected(&vector.name, priority),
            "{}: {}",
            vector.name,
            vector.what
        );
    }
}

#[test]
fn encoding_the_described_fields_gives_keepalived_bytes() {
    for (i, vector) in load().iter().enumerate() {
        let priority = if i % 2 == 0 {
            running_priority(&vector.name)
        } else {
            0
        };
        let advert = expected(&vector.name, priority);
        let encoded = advert
            .encode(&Endpoints::new(vector.src, vector.dst))
            .unwrap();
        assert_eq!(
            hex::encode(&encoded),
            vector.vrrp_hex,
            "{}: {}",
            vector.name,
            vector.what
        );
    }
}

#[test]
fn captures_went_to_the_vrrp_group_with_ttl_255() {
    for vector in load() {
        assert_eq!(vector.ttl_or_hop_limit, 255, "{}", vector.name);
        assert_eq!(
            Endpoints::multicast_from(vector.src).destination,
            vector.dst,
            "{}",
            vector.name
        );
    }
}

#[test]
fn any_flipped_bit_is_caught() {
    // A single-bit error anywhere in a capture must not decode to the same
    // advert: the checksum (or a field check) catches it.
    for vector in load() {
        let bytes = hex::decode(&vector.vrrp_hex).unwrap();
        let endpoints = Endpoints::new(vector.src, vector.dst);
        let original = Advert::decode(&bytes, &endpoints).unwrap();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            if let Ok(advert) = Advert::decode(&flipped, &endpoints) {
                panic!(
                    "{}: bit {bit} flipped decoded as {advert:?} (was {original:?})",
                    vector.name
                );
            }
        }
    }
}

//! keepalived 2.4.3's `auth_hmac` adverts, captured on a lab bridge
//! (integration/vectors/hmac, from ../shared/vectors/hmac): every one
//! verifies with the keys of the hosts' own keepalived.conf as vipd reads
//! it, fails with another key or any changed byte, and vipd's encoder and
//! signer give the same bytes from the same fields and sequence number.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd::config::load_and_validate;
use vipd::proto::auth_hmac::{HmacState, Rejection, Trailer};
use vipd::proto::{Advert, Endpoints, HmacKey, HmacParams, Instance, UnixTime};

const SETUPS: &[(&str, bool)] = &[
    ("v3-ipv4-multicast", false),
    ("v3-ipv4-unicast", true),
    ("v2-ipv4-multicast", false),
    ("v3-ipv6-multicast", false),
    ("v3-ipv6-unicast", true),
];

fn dir(setup: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("integration/vectors/hmac")
        .join(setup)
}

/// One VRRP packet of a capture: when, from, to, TTL, IP payload.
struct Captured {
    at: UnixTime,
    source: IpAddr,
    destination: IpAddr,
    payload: Vec<u8>,
}

/// The VRRP packets of a classic pcap file of Ethernet frames.
fn capture(path: &Path) -> Vec<Captured> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian pcap, microseconds"
    );
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(u32_at(20), 1, "Ethernet");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let (secs, micros, len) = (u32_at(at), u32_at(at + 4), u32_at(at + 8) as usize);
        let frame = &bytes[at + 16..at + 16 + len];
        at += 16 + len;
        let time =
            UnixTime(Duration::from_secs(secs.into()) + Duration::from_micros(micros.into()));
        let ip = &frame[14..];
        match u16::from_be_bytes([frame[12], frame[13]]) {
            0x0800 if ip[9] == 112 => {
                let header = usize::from(ip[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                out.push(Captured {
                    at: time,
                    source: IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap())),
                    destination: IpAddr::V4(Ipv4Addr::from(
                        <[u8; 4]>::try_from(&ip[16..20]).unwrap(),
                    )),
                    payload: ip[header..total].to_vec(),
                });
            }
            0x86dd if ip[6] == 112 => {
                let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                out.push(Captured {
                    at: time,
                    source: IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap())),
                    destination: IpAddr::V6(Ipv6Addr::from(
                        <[u8; 16]>::try_from(&ip[24..40]).unwrap(),
                    )),
                    payload: ip[40..40 + len].to_vec(),
                });
            }
            _ => {}
        }
    }
    out
}

/// The auth_hmac settings keepalived ran with, as vipd reads the file.
fn hmac_of(setup: &str, host: &str) -> HmacParams {
    let (_, settings) = load_and_validate(&[dir(setup).join(format!("{host}.conf"))])
        .unwrap_or_else(|e| panic!("{setup}/{host}.conf: {e}"));
    let instance = &settings.instances[0];
    instance
        .params(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .auth_hmac
        .expect("auth_hmac read")
}

fn endpoints(c: &Captured) -> Endpoints {
    Endpoints::new(c.source, c.destination)
}

fn verify(
    state: &mut HmacState,
    hmac: &HmacParams,
    c: &Captured,
    unicast: bool,
) -> Result<(), String> {
    let (_, signed) =
        Advert::decode_signed(&c.payload, &endpoints(c)).map_err(|e| e.to_string())?;
    let signed = signed.ok_or("no trailer")?;
    state
        .verify(
            hmac,
            c.at,
            c.source,
            unicast.then_some(true),
            &signed.message,
            Some(&signed.trailer),
        )
        .map(drop)
        .map_err(|r| format!("{r:?}"))
}

#[test]
fn every_captured_advert_verifies_once_and_not_twice() {
    for &(setup, unicast) in SETUPS {
        let hmac = hmac_of(setup, "h1");
        assert_eq!(
            hmac,
            hmac_of(setup, "h2").clone_with_active(hmac.active_key),
            "{setup}: same keys"
        );
        let adverts = capture(&dir(setup).join("adverts.pcap"));
        assert!(adverts.len() >= 9, "{setup}: {} adverts", adverts.len());
        let mut receiver = HmacState::default();
        let mut key_ids = std::collections::BTreeSet::new();
        for (i, c) in adverts.iter().enumerate() {
            verify(&mut receiver, &hmac, c, unicast)
                .unwrap_or_else(|e| panic!("{setup} #{i}: {e}"));
            key_ids.insert(
                Trailer::parse(c.payload[c.payload.len() - 28..].try_into().unwrap()).key_id,
            );
        }
        assert_eq!(
            key_ids.into_iter().collect::<Vec<_>>(),
            vec![1, 7],
            "{setup}: both hosts signed"
        );
        // The priority-0 advert of h1's stop is among them.
        assert!(
            adverts.iter().any(|c| c.payload[2] == 0),
            "{setup}: a priority-0 advert"
        );
        // Each again, in the same order: every one is a replay now.
        for c in &adverts {
            assert_eq!(
                verify(&mut receiver, &hmac, c, unicast),
                Err("Replay".into()),
                "{setup}"
            );
        }
        // And to a receiver that never saw them, minutes later: stale.
        let mut late = HmacState::default();
        let mut later = adverts[0].clone_at(UnixTime(adverts[0].at.0 + Duration::from_secs(60)));
        assert_eq!(
            verify(&mut late, &hmac, &later, unicast),
            Err("Stale".into()),
            "{setup}"
        );
        later.at = adverts[0].at;
        assert!(verify(&mut late, &hmac, &later, unicast).is_ok());
    }
}

#[test]
fn another_key_or_any_changed_byte_fails() {
    for &(setup, unicast) in SETUPS {
        let hmac = hmac_of(setup, "h1");
        let wrong = HmacParams {
            keys: [1u8, 7]
                .iter()
                .map(|&id| HmacKey::new(id, vec![0x5a; 32]).unwrap())
                .collect(),
            ..hmac.clone()
        };
        let adverts = capture(&dir(setup).join("adverts.pcap"));
        for c in adverts.iter().take(3) {
            assert_eq!(
                verify(&mut HmacState::default(), &wrong, c, unicast),
                Err(format!("{:?}", Rejection::BadTag)),
                "{setup}"
            );
            for i in 0..c.payload.len() {
                let mut changed = c.clone_at(c.at);
                changed.payload[i] ^= 0x01;
                assert!(
                    verify(&mut HmacState::default(), &hmac, &changed, unicast).is_err(),
                    "{setup}: byte {i} changed and still accepted"
                );
            }
        }
    }
}

#[test]
fn vipd_signs_the_same_bytes_given_the_same_fields_and_sequence() {
    for &(setup, _) in SETUPS {
        let adverts = capture(&dir(setup).join("adverts.pcap"));
        let mut reproduced = 0;
        for c in &adverts {
            let (advert, signed) = Advert::decode_signed(&c.payload, &endpoints(c)).unwrap();
            let trailer = signed.unwrap().trailer;
            // The encoder, given the trailer: the same bytes, checksum included.
            let mut bytes = Vec::new();
            advert
                .encode_signed_into(&endpoints(c), Some(&trailer), &mut bytes)
                .unwrap();
            assert_eq!(bytes, c.payload, "{setup}: encoded");
            // The signer, from the same key and the sequence's instant.
            if trailer.sequence & 0xffff != 0 {
                continue; // a counter step: not reachable from one instant
            }
            let host = if trailer.key_id == 1 { "h1" } else { "h2" };
            let mut hmac = hmac_of(setup, host);
            hmac.active_key = trailer.key_id;
            let seconds = trailer.sequence >> 32;
            let subsec = (trailer.sequence >> 16) & 0xffff;
            let nanos = (subsec * 1_000_000_000).div_ceil(65536);
            let wall = UnixTime(Duration::new(seconds, nanos as u32));
            let (_, settings) =
                load_and_validate(&[dir(setup).join(format!("{host}.conf"))]).unwrap();
            let mut params = settings.instances[0].params(c.source);
            params.auth_hmac = Some(hmac);
            let mut core = Instance::new(params).unwrap();
            let signed = core.sign(wall, &advert).expect("signs");
            assert_eq!(signed, trailer, "{setup}: signed");
            reproduced += 1;
        }
        assert!(
            reproduced >= adverts.len() / 2,
            "{setup}: {reproduced} of {}",
            adverts.len()
        );
    }
}

impl Captured {
    fn clone_at(&self, at: UnixTime) -> Captured {
        Captured {
            at,
            source: self.source,
            destination: self.destination,
            payload: self.payload.clone(),
        }
    }
}

trait WithActive {
    fn clone_with_active(&self, id: u8) -> HmacParams;
}

impl WithActive for HmacParams {
    fn clone_with_active(&self, id: u8) -> HmacParams {
        HmacParams {
            active_key: id,
            ..self.clone()
        }
    }
}

//! Property tests: the codec never panics and round-trips; the state
//! machine never panics and keeps its invariants under any input sequence.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use vipd::proto::{
    Action, AddressList, Advert, Auth, AuthKey, Centiseconds, DecodeError, Endpoints, Event,
    FenceParams, Instance, InstanceParams, OnQuorumLoss, State, TrackerEffect, Version,
    VirtualAddress, Vrid,
};

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

fn endpoints() -> impl Strategy<Value = Endpoints> {
    prop_oneof![
        (ipv4(), ipv4()).prop_map(|(s, d)| Endpoints::new(s.into(), d.into())),
        (ipv6(), ipv6()).prop_map(|(s, d)| Endpoints::new(s.into(), d.into())),
        (ipv4(), ipv6()).prop_map(|(s, d)| Endpoints::new(s.into(), d.into())),
    ]
}

fn vrid() -> impl Strategy<Value = Vrid> {
    (1u8..=255).prop_map(|v| Vrid::new(v).unwrap())
}

/// Any advert that can be put on the wire, with endpoints of its family.
fn valid_advert() -> impl Strategy<Value = (Advert, Endpoints)> {
    let v2 = (
        vrid(),
        any::<u8>(),
        1u32..=255,
        prop_oneof![
            Just(Auth::None),
            any::<[u8; 8]>().prop_map(|k| Auth::Pass(AuthKey::from_bytes(&k)))
        ],
        prop::collection::vec(ipv4(), 1..=20),
        ipv4(),
    )
        .prop_map(|(vrid, priority, secs, auth, addrs, src)| {
            let advert = Advert {
                version: Version::V2,
                vrid,
                priority,
                interval: Centiseconds::from_secs(secs),
                auth,
                addresses: AddressList::V4(addrs),
            };
            (advert, Endpoints::multicast_from(src.into()))
        });
    let v3_v4 = (
        vrid(),
        any::<u8>(),
        1u32..=4095,
        prop::collection::vec(ipv4(), 1..=20),
        ipv4(),
        ipv4(),
    )
        .prop_map(|(vrid, priority, cs, addrs, src, dst)| {
            let advert = Advert {
                version: Version::V3,
                vrid,
                priority,
                interval: Centiseconds::new(cs),
                auth: Auth::None,
                addresses: AddressList::V4(addrs),
            };
            (advert, Endpoints::new(src.into(), dst.into()))
        });
    let v3_v6 = (
        vrid(),
        any::<u8>(),
        1u32..=4095,
        prop::collection::vec(ipv6(), 1..=10),
        ipv6(),
    )
        .prop_map(|(vrid, priority, cs, addrs, src)| {
            let advert = Advert {
                version: Version::V3,
                vrid,
                priority,
                interval: Centiseconds::new(cs),
                auth: Auth::None,
                addresses: AddressList::V6(addrs),
            };
            (advert, Endpoints::multicast_from(src.into()))
        });
    prop_oneof![v2, v3_v4, v3_v6]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), ep in endpoints(), ttl in any::<u8>()) {
        let _ = Advert::decode_received(&bytes, &ep, ttl);
    }

    #[test]
    fn decode_never_panics_on_plausible_headers(
        version in 0u8..5, count in any::<u8>(), rest in prop::collection::vec(any::<u8>(), 0..120), ep in endpoints(),
    ) {
        // Random bytes rarely get past the version nibble; start from a
        // header that does, so the length and address paths are exercised.
        let mut bytes = vec![(version << 4) | 1, 51, 100, count];
        bytes.extend(rest);
        let _ = Advert::decode(&bytes, &ep);
    }

    #[test]
    fn encode_then_decode_round_trips((advert, ep) in valid_advert()) {
        let bytes = advert.encode(&ep).unwrap();
        prop_assert_eq!(Advert::decode(&bytes, &ep), Ok(advert));
    }

    #[test]
    fn signed_adverts_round_trip_and_verify_once(
        (advert, ep) in valid_advert(), key in prop::collection::vec(any::<u8>(), 32..=64),
        secs in 0u64..(1 << 33), nanos in 0u32..1_000_000_000, flip in any::<prop::sample::Index>(),
    ) {
        use vipd::proto::auth_hmac::HmacState;
        use vipd::proto::{AntiReplay, HmacKey, HmacMode, HmacParams, UnixTime};
        let hmac = HmacParams {
            keys: vec![HmacKey::new(1, key).unwrap()],
            active_key: 1,
            mode: HmacMode::Enforce,
            anti_replay: AntiReplay::Time { window_secs: 5 },
        };
        let now = UnixTime(Duration::new(secs, nanos));
        let message = advert.encode(&ep).unwrap();
        let trailer = HmacState::default().sign(&hmac, now, ep.source, &message).unwrap();
        let mut bytes = Vec::new();
        advert.encode_signed_into(&ep, Some(&trailer), &mut bytes).unwrap();
        let (decoded, signed) = Advert::decode_signed(&bytes, &ep).unwrap();
        prop_assert_eq!(&decoded, &advert);
        let signed = signed.unwrap();
        prop_assert_eq!(signed.trailer, trailer);
        let mut receiver = HmacState::default();
        let verify = |r: &mut HmacState, message: &[u8]| {
            r.verify(&hmac, now, ep.source, None, message, Some(&signed.trailer))
        };
        prop_assert!(verify(&mut receiver, &signed.message).is_ok());
        prop_assert!(verify(&mut receiver, &signed.message).is_err(), "a replay");
        // Any changed byte outside the checksum field fails (a fresh receiver).
        let i = flip.index(bytes.len());
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        if let Ok((_, Some(s))) = Advert::decode_signed(&changed, &ep) {
            let fresh = HmacState::default().verify(&hmac, now, ep.source, None, &s.message, Some(&s.trailer));
            prop_assert!(fresh.is_err(), "byte {} changed and still verified", i);
        }
    }

    #[test]
    fn decode_signed_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), ep in endpoints()) {
        let _ = Advert::decode_signed(&bytes, &ep);
    }

    #[test]
    fn decode_encode_decode_is_stable(bytes in prop::collection::vec(any::<u8>(), 8..100), ep in endpoints()) {
        if let Ok(first) = Advert::decode(&bytes, &ep) {
            let again = first.encode(&ep).expect("a decoded advert re-encodes");
            prop_assert_eq!(Advert::decode(&again, &ep), Ok(first));
        }
    }
}

#[derive(Clone, Debug)]
enum Input {
    Advert {
        priority: u8,
        peer: u8,
        interval_cs: u32,
        auth_ok: bool,
    },
    Junk(DecodeError),
    Timeout,
    Tracker {
        name: u8,
        up: bool,
        weight: i32,
    },
    LinkDown,
    LinkUp,
    Shutdown,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => (any::<u8>(), 1u8..4, prop_oneof![Just(100u32), 1u32..500], prop::bool::weighted(0.9))
            .prop_map(|(priority, peer, interval_cs, auth_ok)| Input::Advert { priority, peer, interval_cs, auth_ok }),
        1 => Just(Input::Junk(DecodeError::BadTtl(64))),
        6 => Just(Input::Timeout),
        2 => (0u8..3, any::<bool>(), -60i32..60).prop_map(|(name, up, weight)| Input::Tracker { name, up, weight }),
        1 => Just(Input::LinkDown),
        1 => Just(Input::LinkUp),
        1 => Just(Input::Shutdown),
    ]
}

fn params(version: Version, priority: u8, preempt: bool) -> InstanceParams {
    let vips = vec![VirtualAddress::host("192.0.2.100".parse().unwrap())];
    let defaults = InstanceParams::with_defaults(
        "VI_P",
        Vrid::new(9).unwrap(),
        "192.0.2.10".parse().unwrap(),
        vips,
    );
    let auth = if version == Version::V2 {
        Auth::Pass(AuthKey::from_password("pw"))
    } else {
        Auth::None
    };
    InstanceParams {
        version,
        priority,
        preempt,
        preempt_delay: Duration::from_secs(if preempt { 2 } else { 0 }),
        auth,
        ..defaults
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Whatever happens, in whatever order: no panic, addresses are held
    /// exactly while master, timers match the state, time never runs back.
    #[test]
    fn state_machine_keeps_its_invariants(
        v3 in any::<bool>(), priority in 1u8..=255, preempt in any::<bool>(),
        steps in prop::collection::vec((input(), 0u64..3000), 1..200),
    ) {
        let version = if v3 { Version::V3 } else { Version::V2 };
        let mut instance = Instance::new(params(version, priority, preempt)).unwrap();
        let t0 = Instant::now();
        let mut now = t0;
        instance.handle_event(now, Event::Startup);
        let mut holds_vips = false;
        for (input, advance_ms) in steps {
            now += Duration::from_millis(advance_ms);
            match input {
                Input::Advert { priority, peer, interval_cs, auth_ok } => {
                    let base = params(version, 1, false);
                    let advert = Advert {
                        version,
                        vrid: base.vrid,
                        priority,
                        interval: if v3 { Centiseconds::new(interval_cs) } else { Centiseconds::new(100) },
                        auth: if auth_ok { base.auth } else { Auth::Pass(AuthKey::from_password("bad")) },
                        addresses: base.advertised_addresses(),
                    };
                    let source = IpAddr::V4(Ipv4Addr::new(192, 0, 2, peer * 5));
                    instance.handle_packet(now, source, Ok(advert));
                }
                Input::Junk(error) => {
                    instance.handle_packet(now, "192.0.2.99".parse().unwrap(), Err(error));
                }
                Input::Timeout => {
                    if let Some(due) = instance.poll_timeout() {
                        prop_assert!(due >= t0);
                        now = now.max(due);
                    }
                    instance.handle_timeout(now);
                    let next = instance.poll_timeout();
                    prop_assert!(next.is_none_or(|due| due > now), "handle_timeout left work due");
                }
                Input::Tracker { name, up, weight } => instance.handle_event(
                    now,
                    Event::Tracker { name: format!("t{name}"), effect: TrackerEffect::from_status(up, weight) },
                ),
                Input::LinkDown => instance.handle_event(now, Event::LinkDown),
                Input::LinkUp => instance.handle_event(now, Event::LinkUp),
                Input::Shutdown => instance.handle_event(now, Event::Shutdown),
            }
            while let Some(action) = instance.poll_action() {
                match action {
                    Action::AddVips { .. } => holds_vips = true,
                    Action::RemoveVips { .. } => holds_vips = false,
                    Action::SendAdvert(advert) => {
                        let ep = Endpoints::multicast_from(instance.params().primary_address);
                        prop_assert!(advert.encode(&ep).is_ok(), "core produced an unencodable advert");
                    }
                    _ => {}
                }
            }
            let state = instance.state();
            prop_assert_eq!(holds_vips, state == State::Master, "holds addresses iff master ({:?})", state);
            prop_assert!((1..=255).contains(&instance.priority()));
            match state {
                State::Master | State::Backup => prop_assert!(instance.poll_timeout().is_some(), "{:?} with no timer", state),
                State::Fault | State::Initialize => prop_assert!(instance.poll_timeout().is_none(), "{:?} with a timer", state),
            }
        }
    }
}

/// What the world tells a fenced instance, besides adverts and time.
#[derive(Clone, Debug)]
enum FenceInput {
    Advert { priority: u8 },
    Timeout,
    Quorum { lasts_ms: u64 },
    QuorumLost,
    Held { wait_ms: u64 },
    Lost,
    LinkDown,
    LinkUp,
}

fn fence_input() -> impl Strategy<Value = FenceInput> {
    prop_oneof![
        3 => any::<u8>().prop_map(|priority| FenceInput::Advert { priority }),
        4 => Just(FenceInput::Timeout),
        4 => (0u64..3000).prop_map(|lasts_ms| FenceInput::Quorum { lasts_ms }),
        1 => Just(FenceInput::QuorumLost),
        2 => prop_oneof![Just(0u64), 0u64..2000].prop_map(|wait_ms| FenceInput::Held { wait_ms }),
        1 => Just(FenceInput::Lost),
        1 => Just(FenceInput::LinkDown),
        1 => Just(FenceInput::LinkUp),
    ]
}

/// Drains the actions, following what is held and until when; checks
/// the fence's rules at `at`.
fn check_fence(
    instance: &mut Instance,
    at: Instant,
    holding: &mut Option<Option<Instant>>,
    usable_from: Instant,
    keep: bool,
) -> Result<(), TestCaseError> {
    while let Some(action) = instance.poll_action() {
        match action {
            Action::AddVips { valid_until, .. } | Action::ExtendVips { valid_until, .. } => {
                if matches!(action, Action::AddVips { .. }) {
                    prop_assert!(at >= usable_from, "added before the key was usable");
                }
                prop_assert!(
                    keep || valid_until.is_some(),
                    "no lease end with on_quorum_loss: release"
                );
                prop_assert!(
                    valid_until.is_none_or(|t| t > at),
                    "added or extended past the lease's end"
                );
                *holding = Some(valid_until);
            }
            Action::RemoveVips { .. } => *holding = None,
            Action::ReleaseFence => prop_assert!(holding.is_none(), "key let go while holding"),
            _ => {}
        }
    }
    if let Some(valid_until) = *holding {
        prop_assert_eq!(instance.state(), State::Master, "addresses off a master");
        prop_assert!(
            valid_until.is_none_or(|t| t > at),
            "held past the lease's end"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The quorum fence, whatever the order of events: addresses only on
    /// a master, never past the lease's end (unless kept), never before
    /// the key's usable time, and the key let go only once they are gone.
    #[test]
    fn the_fence_never_holds_past_the_lease_or_lets_go_while_holding(
        keep in any::<bool>(),
        priority in 1u8..=254,
        steps in prop::collection::vec((fence_input(), 0u64..1500), 1..200),
    ) {
        let on_quorum_loss = if keep { OnQuorumLoss::Keep } else { OnQuorumLoss::Release };
        let fenced = InstanceParams {
            fence: Some(FenceParams { on_quorum_loss }),
            ..params(Version::V3, priority, true)
        };
        let mut instance = Instance::new(fenced).unwrap();
        let mut now = Instant::now();
        instance.handle_event(now, Event::Startup);
        // What the instance asked for: held until then (None: for ever).
        let mut holding: Option<Option<Instant>> = None;
        let mut usable_from = now;
        for (input, advance_ms) in steps {
            let until = now + Duration::from_millis(advance_ms);
            // Timers fire on time, as the daemon's timerfd makes them.
            while let Some(due) = instance.poll_timeout().filter(|due| *due <= until) {
                now = due.max(now);
                instance.handle_timeout(now);
                check_fence(&mut instance, now, &mut holding, usable_from, keep)?;
            }
            now = until;
            match input {
                FenceInput::Advert { priority } => {
                    let base = params(Version::V3, 1, false);
                    let advert = Advert {
                        version: Version::V3,
                        vrid: base.vrid,
                        priority,
                        interval: Centiseconds::new(100),
                        auth: Auth::None,
                        addresses: base.advertised_addresses(),
                    };
                    instance.handle_packet(now, "192.0.2.20".parse().unwrap(), Ok(advert));
                }
                FenceInput::Timeout => instance.handle_timeout(now),
                FenceInput::Quorum { lasts_ms } => instance.handle_event(
                    now,
                    Event::Quorum { valid_until: now + Duration::from_millis(lasts_ms) },
                ),
                FenceInput::QuorumLost => instance.handle_event(now, Event::QuorumLost),
                FenceInput::Held { wait_ms } => {
                    usable_from = now + Duration::from_millis(wait_ms);
                    instance.handle_event(now, Event::FenceHeld { usable_from });
                }
                FenceInput::Lost => instance.handle_event(now, Event::FenceLost),
                FenceInput::LinkDown => instance.handle_event(now, Event::LinkDown),
                FenceInput::LinkUp => instance.handle_event(now, Event::LinkUp),
            }
            check_fence(&mut instance, now, &mut holding, usable_from, keep)?;
        }
    }
}

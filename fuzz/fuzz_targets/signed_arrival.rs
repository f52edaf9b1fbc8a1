//! Arbitrary bytes, decoded with their auth_hmac trailer and handed to
//! an instance that enforces auth_hmac, never panic, and never make it
//! leave BACKUP for a master it cannot verify.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use vipd::proto::{
    AntiReplay, Arrival, Event, HmacKey, HmacMode, HmacParams, Instance, InstanceParams, State,
    UnixTime, VirtualAddress, Vrid,
};
use vipd::proto::{Advert, Version};

#[path = "endpoints.rs"]
mod endpoints;

fuzz_target!(|data: &[u8]| {
    let Some((endpoints, ttl, message)) = endpoints::split(data) else {
        return;
    };
    let decoded = Advert::decode_signed(message, &endpoints);
    let ipv6 = endpoints.source.is_ipv6();
    let (own, vip) = if ipv6 {
        ("fe80::202", "2001:db8::250")
    } else {
        ("192.0.2.202", "192.0.2.203")
    };
    let params = InstanceParams {
        version: Version::V3,
        priority: 90,
        auth_hmac: Some(HmacParams {
            keys: vec![HmacKey::new(1, vec![7; 32]).unwrap()],
            active_key: 1,
            mode: HmacMode::Enforce,
            anti_replay: AntiReplay::Time { window_secs: 5 },
        }),
        ..InstanceParams::with_defaults(
            "VI_1",
            Vrid::new(51).unwrap(),
            own.parse().unwrap(),
            vec![VirtualAddress::host(vip.parse().unwrap())],
        )
    };
    let Ok(mut instance) = Instance::new(params) else {
        return;
    };
    let t0 = Instant::now();
    instance.handle_event(t0, Event::Startup);
    let arrival = Arrival {
        source: endpoints.source,
        destination: endpoints.destination,
        ttl,
    };
    let wall = UnixTime(Duration::from_secs(1_800_000_000));
    instance.handle_signed_arrival(t0, wall, arrival, decoded);
    // Nobody holds the key: no advert may have counted.
    assert_eq!(instance.stats().adverts_received, 0);
    assert_eq!(instance.state(), State::Backup);
});

//! Cost of the receive path and of one state-machine step.
//!
//! `cargo bench --bench proto`; criterion prints the time per operation.
//! These are the per-packet costs that decide whether a junk flood can
//! crowd real adverts out.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vipd::proto::{
    AddressList, Advert, Auth, AuthKey, Centiseconds, Endpoints, Event, Instance, InstanceParams,
    Version, VirtualAddress, Vrid,
};

fn seed_params(address: &str, priority: u8) -> InstanceParams {
    let vips = vec![VirtualAddress::host("192.0.2.203".parse().unwrap())];
    InstanceParams {
        priority,
        auth: Auth::Pass(AuthKey::from_password("1111")),
        ..InstanceParams::with_defaults(
            "VI_1",
            Vrid::new(51).unwrap(),
            address.parse().unwrap(),
            vips,
        )
    }
}

fn seed_advert(priority: u8) -> Advert {
    Advert {
        version: Version::V2,
        vrid: Vrid::new(51).unwrap(),
        priority,
        interval: Centiseconds::from_secs(1),
        auth: Auth::Pass(AuthKey::from_password("1111")),
        addresses: AddressList::V4(vec!["192.0.2.203".parse().unwrap()]),
    }
}

fn v3_ipv6_advert() -> (Advert, Endpoints) {
    let advert = Advert {
        version: Version::V3,
        vrid: Vrid::new(51).unwrap(),
        priority: 100,
        interval: Centiseconds::new(100),
        auth: Auth::None,
        addresses: AddressList::V6(vec![
            "fe80::51".parse().unwrap(),
            "2001:db8::250".parse().unwrap(),
        ]),
    };
    (
        advert,
        Endpoints::multicast_from("fe80::74ab:54ff:fed3:14da".parse().unwrap()),
    )
}

/// An instance started at `t0`, its startup actions drained.
fn started(params: InstanceParams, t0: Instant) -> Instance {
    let mut instance = Instance::new(params).unwrap();
    instance.handle_event(t0, Event::Startup);
    while instance.poll_action().is_some() {}
    instance
}

fn codec(c: &mut Criterion) {
    let v2_endpoints = Endpoints::multicast_from("192.0.2.201".parse().unwrap());
    let v2 = seed_advert(100);
    let v2_bytes = v2.encode(&v2_endpoints).unwrap();
    let (v3, v3_endpoints) = v3_ipv6_advert();
    let v3_bytes = v3.encode(&v3_endpoints).unwrap();
    let mut bad_checksum = v2_bytes.clone();
    bad_checksum[7] ^= 0xff;

    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode v2 seed", |b| {
        b.iter(|| Advert::decode_received(black_box(&v2_bytes), &v2_endpoints, 255))
    });
    group.bench_function("decode v3 ipv6", |b| {
        b.iter(|| Advert::decode_received(black_box(&v3_bytes), &v3_endpoints, 255))
    });
    group.bench_function("reject bad ttl", |b| {
        b.iter(|| Advert::decode_received(black_box(&v2_bytes), &v2_endpoints, 64))
    });
    group.bench_function("reject bad checksum", |b| {
        b.iter(|| Advert::decode_received(black_box(&bad_checksum), &v2_endpoints, 255))
    });
    let mut out = Vec::with_capacity(64);
    group.bench_function("encode v2 seed", |b| {
        b.iter(|| {
            out.clear();
            black_box(&v2).encode_into(&v2_endpoints, &mut out).unwrap();
        })
    });
    group.bench_function("encode v3 ipv6", |b| {
        b.iter(|| {
            out.clear();
            black_box(&v3).encode_into(&v3_endpoints, &mut out).unwrap();
        })
    });
    group.finish();
}

fn state_machine(c: &mut Criterion) {
    let master: IpAddr = "192.0.2.201".parse().unwrap();
    let endpoints = Endpoints::multicast_from(master);
    let bytes = seed_advert(100).encode(&endpoints).unwrap();
    let t0 = Instant::now();

    let mut group = c.benchmark_group("state machine");
    group.throughput(Throughput::Elements(1));
    // A backup hearing its master: the steady-state per-advert step.
    group.bench_function("backup handles master advert", |b| {
        let mut backup = started(seed_params("192.0.2.202", 90), t0);
        let mut now = t0;
        b.iter(|| {
            now += Duration::from_millis(1);
            backup.handle_packet(now, master, Ok(seed_advert(100)));
            while let Some(action) = backup.poll_action() {
                black_box(action);
            }
        })
    });
    group.bench_function("decode + backup step", |b| {
        let mut backup = started(seed_params("192.0.2.202", 90), t0);
        let mut now = t0;
        b.iter(|| {
            now += Duration::from_millis(1);
            let decoded = Advert::decode_received(black_box(&bytes), &endpoints, 255);
            backup.handle_packet(now, master, decoded);
            while let Some(action) = backup.poll_action() {
                black_box(action);
            }
        })
    });
    // A master's timer firing: build and emit one advert.
    group.bench_function("master advert timer", |b| {
        let mut instance = started(seed_params("192.0.2.201", 255), t0);
        let mut now = t0;
        b.iter(|| {
            now += Duration::from_secs(1);
            instance.handle_timeout(now);
            while let Some(action) = instance.poll_action() {
                black_box(action);
            }
        })
    });
    group.finish();
}

/// auth_hmac's cost per advert: what signing adds to a master's send and
/// verifying to a backup's receive (v3 IPv4, one address).
fn auth_hmac(c: &mut Criterion) {
    use vipd::proto::auth_hmac::HmacState;
    use vipd::proto::{AntiReplay, HmacKey, HmacMode, HmacParams, UnixTime};
    let hmac = HmacParams {
        keys: vec![HmacKey::new(1, (0u8..32).collect()).unwrap()],
        active_key: 1,
        mode: HmacMode::Enforce,
        anti_replay: AntiReplay::Time { window_secs: 5 },
    };
    let master: IpAddr = "192.0.2.201".parse().unwrap();
    let endpoints = Endpoints::multicast_from(master);
    let advert = Advert {
        version: Version::V3,
        auth: Auth::None,
        ..seed_advert(100)
    };
    let message = advert.encode(&endpoints).unwrap();
    let t0 = UnixTime(Duration::from_secs(1_800_000_000));
    let mut group = c.benchmark_group("auth_hmac");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| {
        let mut state = HmacState::default();
        b.iter(|| black_box(state.sign(&hmac, t0, master, black_box(&message))))
    });
    group.bench_function("verify", |b| {
        let mut sender = HmacState::default();
        let mut receiver = HmacState::default();
        b.iter_batched(
            || sender.sign(&hmac, t0, master, &message).unwrap(),
            |trailer| black_box(receiver.verify(&hmac, t0, master, None, &message, Some(&trailer))),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, codec, state_machine, auth_hmac);
criterion_main!(benches);

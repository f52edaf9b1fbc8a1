//! A VIP across subnets, announced over BGP: vipd and keepalived side by
//! side in one run, the same lab and timers (see `vipd::lab::routed`:
//! unicast VRRPv3 at 0.1 s across a router, BIRD on each host exporting
//! the VIP on lo over eBGP with BFD 100 ms x 3, a client probing the VIP
//! every 20 ms).
//!
//! `sudo cargo bench --bench routed` (keepalived and bird2 installed).
//! For each daemon and `ROUTED_TRIALS` trials (default 3) of each event,
//! it prints the outage the client sees (from the event, up to which the
//! old host answers, to the new host's first answer; probes every 20 ms,
//! so up to 20 ms late), split into VRRP takeover (the event until the
//! VIP is on the new host's lo, polled every few ms) and BGP convergence
//! (from there until the client is answered), then medians with
//! vipd/keepalived ratios. Events: A stopped gracefully (SIGTERM);
//! A started again (no gap, since B answers meanwhile: the time from A's
//! start until the client reaches A); A's link cut on the router's side;
//! A silenced with its link up. Each event falls at a random point of
//! the advert cycle (seeded, the same for both daemons).

#[path = "../integration/support/mod.rs"]
mod support;

use std::fs;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use support::*;
use vipd::lab::routed::{self, Client, NameService};
use vipd::lab::{wait_for, Lab};

const PROBE_EVERY: Duration = Duration::from_millis(20);
/// The lab's advert interval, for randomising where in it events fall.
const ADVERT_MS: u64 = 100;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keepalived,
    Vipd,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Event {
    Stop,
    Return,
    LinkCut,
    Silent,
}

impl Event {
    const ALL: [Event; 4] = [Event::Stop, Event::Return, Event::LinkCut, Event::Silent];

    fn describe(self) -> &'static str {
        match self {
            Event::Stop => "A stopped (SIGTERM)",
            Event::Return => "A started again",
            Event::LinkCut => "A's link cut",
            Event::Silent => "A silent, link up",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Measure {
    gap: Duration,
    vrrp: Duration,
    bgp: Duration,
}

struct Bench {
    lab: Lab,
    kind: Kind,
    client: Client,
    a: Option<Daemon>,
    runs: u32,
    _services: [NameService; 2],
}

impl Bench {
    fn new(kind: Kind) -> Bench {
        let mut lab = Lab::routed().expect("routed lab");
        lab.start_bird(None).expect("router's BIRD");
        lab.start_bird(Some(1)).expect("A's BIRD");
        lab.start_bird(Some(2)).expect("B's BIRD");
        let services = [
            NameService::start(&lab, 1, "A").expect("A's service"),
            NameService::start(&lab, 2, "B").expect("B's service"),
        ];
        let client = Client::start(&lab, PROBE_EVERY).expect("client");
        let mut bench = Bench {
            lab,
            kind,
            client,
            a: None,
            runs: 0,
            _services: services,
        };
        bench.start(2, 90);
        bench.a = Some(bench.start(1, 100));
        let since = Instant::now();
        bench.wait_answer(since, "A", "start");
        bench
    }

    fn start(&mut self, host: usize, priority: u8) -> Daemon {
        self.runs += 1;
        let tag = format!("run{}", self.runs);
        match self.kind {
            Kind::Vipd => {
                let socket = routed::host_file(&self.lab, host, &format!("{tag}.sock"));
                let path = routed::host_file(&self.lab, host, "vipd.yaml");
                fs::write(&path, routed::vipd_config(host, priority, &socket)).unwrap();
                start_vipd(&mut self.lab, host, &path, &tag, &[])
            }
            Kind::Keepalived => {
                let path = routed::host_file(&self.lab, host, "keepalived.conf");
                fs::write(&path, routed::keepalived_config(host, priority)).unwrap();
                start_keepalived(&mut self.lab, host, &path, &tag)
            }
        }
    }

    fn wait_answer(&self, since: Instant, name: &str, step: &str) -> Duration {
        self.client
            .wait_for_answer(since, name, Duration::from_secs(60), || false)
            .unwrap_or_else(|| panic!("{:?}: {step}: the client never reached {name}", self.kind))
    }

    /// Waits until the VIP is on host `host`'s lo; when that happened.
    fn vip_on(&self, host: usize) -> Instant {
        let vip = IpAddr::V4(routed::VIP);
        wait_for(DEADLINE, || {
            self.lab.loopback_addresses(host).contains(&vip)
        })
        .expect("the VIP moves");
        Instant::now()
    }

    fn measure(&self, changed: Instant, on_new: Instant, from: &str, to: &str) -> Measure {
        // `from` answered right up to the event; the outage starts there.
        self.wait_answer(changed, to, "after the event");
        // A few more probes, so the first answer by `to` is recorded.
        let seen = self.client.probes().len();
        wait_for(DEADLINE, || self.client.probes().len() > seen + 2).expect("probes");
        let probes = self.client.probes();
        assert!(
            probes
                .iter()
                .any(|p| p.at <= changed && p.answer.as_deref() == Some(from)),
            "{from} answered before the event"
        );
        let first_to = probes
            .iter()
            .filter(|p| p.at > changed && p.answer.as_deref() == Some(to))
            .map(|p| p.at)
            .min()
            .unwrap();
        Measure {
            // From the event, not from `from`'s last answer, which comes up
            // to one probe interval earlier at a random point.
            gap: first_to.saturating_duration_since(changed),
            vrrp: on_new.saturating_duration_since(changed),
            bgp: first_to.saturating_duration_since(on_new),
        }
    }

    fn trial(&mut self, event: Event, phase: Duration) -> Measure {
        // Each event at a random point of A's advert cycle: the step
        // before ends a fixed time after A's last transition, which would
        // otherwise put every event at the same phase (and a dead host's
        // gap, Master_Down after its last advert, always near the top).
        std::thread::sleep(phase);
        match event {
            Event::Stop => {
                let a = self.a.take().expect("A runs");
                let changed = Instant::now();
                self.lab.signal(a.pid, Signal::SIGTERM);
                let on_b = self.vip_on(2);
                let m = self.measure(changed, on_b, "A", "B");
                self.lab.wait_exit(a.pid, DEADLINE);
                m
            }
            Event::Return => {
                let changed = Instant::now();
                self.a = Some(self.start(1, 100));
                let on_a = self.vip_on(1);
                self.wait_answer(changed, "A", "A's return");
                // From A's start, not from B's last answer: B answers
                // until A takes over, so there is no gap to speak of.
                let first_a = self
                    .client
                    .probes()
                    .iter()
                    .filter(|p| p.at > changed && p.answer.as_deref() == Some("A"))
                    .map(|p| p.at)
                    .min()
                    .unwrap();
                Measure {
                    gap: first_a.saturating_duration_since(changed),
                    vrrp: on_a.saturating_duration_since(changed),
                    bgp: first_a.saturating_duration_since(on_a),
                }
            }
            Event::LinkCut | Event::Silent => {
                let changed = Instant::now();
                self.set(event, true);
                let on_b = self.vip_on(2);
                let m = self.measure(changed, on_b, "A", "B");
                let healed = Instant::now();
                self.set(event, false);
                self.wait_answer(healed, "A", "A back");
                m
            }
        }
    }

    fn set(&self, event: Event, broken: bool) {
        match event {
            Event::LinkCut => self.lab.set_cable(1, !broken).unwrap(),
            Event::Silent => self.lab.set_silenced(1, broken).unwrap(),
            _ => unreachable!(),
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let missing = vipd::lab::missing_prerequisite()
        .or_else(routed::bird_missing)
        .or_else(|| {
            std::process::Command::new("keepalived")
                .arg("--version")
                .output()
                .err()
                .map(|_| "keepalived is not installed".to_string())
        });
    if !vipd::lab::testing::proceed_or_skip("routed bench", missing) {
        return;
    }
    let trials: usize = std::env::var("ROUTED_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut results = Vec::new();
    for kind in [Kind::Keepalived, Kind::Vipd] {
        let mut bench = Bench::new(kind);
        let mut measured: Vec<(Event, Measure)> = Vec::new();
        let mut rng = ChaCha8Rng::seed_from_u64(0x7671_7064);
        for t in 0..trials {
            for event in Event::ALL {
                let phase = Duration::from_millis(rng.gen_range(0..ADVERT_MS));
                let m = bench.trial(event, phase);
                println!(
                    "{kind:?} trial {t}: {}: gap {:.0} ms (VRRP {:.0} ms + BGP {:.0} ms)",
                    event.describe(),
                    ms(m.gap),
                    ms(m.vrrp),
                    ms(m.bgp)
                );
                measured.push((event, m));
            }
        }
        results.push((kind, measured));
    }
    println!();
    println!("routed failover, VRRPv3 0.1 s unicast across a router, eBGP + BFD 100 ms x 3, probes every 20 ms, medians of {trials}");
    println!(
        "| event | keepalived gap (VRRP + BGP) ms | vipd gap (VRRP + BGP) ms | vipd/keepalived |"
    );
    println!("|---|---|---|---|");
    for event in Event::ALL {
        let of = |kind: Kind| {
            let ms_of = |f: fn(&Measure) -> Duration| {
                let values: Vec<Duration> = results
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .flat_map(|(_, m)| m.iter().filter(|(e, _)| *e == event).map(|(_, m)| f(m)))
                    .collect();
                ms(median(values))
            };
            (ms_of(|m| m.gap), ms_of(|m| m.vrrp), ms_of(|m| m.bgp))
        };
        let (k, v) = (of(Kind::Keepalived), of(Kind::Vipd));
        println!(
            "| {} | {:.0} ({:.0} + {:.0}) | {:.0} ({:.0} + {:.0}) | {:.2} |",
            event.describe(),
            k.0,
            k.1,
            k.2,
            v.0,
            v.1,
            v.2,
            v.0 / k.0
        );
    }
}

//! The protocol on a simulated LAN in virtual time: election, the seed's
//! failover story, graceful handover, split brain, loss, preemption.
//! Timings are asserted against the RFC formulas exactly (plus the
//! simulated link delay), which virtual time makes deterministic.

mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{Lan, LinkModel};
use vipd::proto::timers::{master_down_interval, skew_time};
use vipd::proto::{
    Auth, AuthKey, Centiseconds, Event, InstanceParams, Reason, State, TrackerEffect, Version,
    VirtualAddress, Vrid,
};

const SEEDS: [u64; 5] = [1, 2, 3, 42, 20261125];

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The seed's instance (VRID 51, PASS 1111, VIP .203) on documentation addresses.
fn v2(address: &str, priority: u8) -> InstanceParams {
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

fn v3(address: &str, priority: u8, interval_cs: u32) -> InstanceParams {
    let primary: IpAddr = address.parse().unwrap();
    let vips = if primary.is_ipv6() {
        vec![
            VirtualAddress::host("fe80::51".parse().unwrap()),
            VirtualAddress::host("2001:db8::250".parse().unwrap()),
        ]
    } else {
        vec![VirtualAddress::host("192.0.2.203".parse().unwrap())]
    };
    InstanceParams {
        version: Version::V3,
        auth: Auth::None,
        advert_interval: Centiseconds::new(interval_cs),
        virtual_addresses: vips,
        ..v2("192.0.2.1", priority)
    }
    .with_primary(primary)
}

trait WithPrimary {
    fn with_primary(self, primary: IpAddr) -> Self;
}

impl WithPrimary for InstanceParams {
    fn with_primary(mut self, primary: IpAddr) -> Self {
        self.primary_address = primary;
        self
    }
}

fn mdi(p: &InstanceParams) -> Duration {
    master_down_interval(
        p.version,
        p.priority,
        p.advert_interval,
        p.advert_rules.down_timer_adverts,
    )
}

/// Exactly one master, it is `expected`, it alone holds the addresses,
/// and every other live router is in BACKUP.
fn assert_sole_master(lan: &Lan, expected: usize) {
    assert_eq!(lan.masters(), vec![expected], "masters at {:?}", lan.now());
    assert_eq!(
        lan.vip_holders(),
        vec![expected],
        "address holders at {:?}",
        lan.now()
    );
    for i in 0..lan.routers.len() {
        if i != expected && lan.routers[i].instance.is_some() {
            assert_eq!(
                lan.state(i),
                Some(State::Backup),
                "router {i} at {:?}",
                lan.now()
            );
        }
    }
}

/// The seed pair, A (100) and B (90), started and settled with A master.
fn settled_pair(seed: u64) -> (Lan, usize, usize) {
    let mut lan = Lan::new(seed, LinkModel::CLEAN);
    let a = lan.add(v2("192.0.2.201", 100));
    let b = lan.add(v2("192.0.2.202", 90));
    lan.start(a);
    lan.start(b);
    lan.run_for(secs(10));
    assert_sole_master(&lan, a);
    (lan, a, b)
}

/// Runs until `router` is master; panics with the log if not by `within`.
fn until_master(lan: &mut Lan, router: usize, within: Duration) -> Duration {
    let deadline = lan.now() + within;
    lan.run_until(deadline, |lan| lan.state(router) == Some(State::Master))
        .unwrap_or_else(|| {
            panic!(
                "router {router} not master by {deadline:?}; log: {:#?}",
                lan.log
            )
        })
}

#[test]
fn startup_elects_the_highest_priority_whatever_the_start_order() {
    for seed in SEEDS {
        let mut lan = Lan::new(seed, LinkModel::CLEAN);
        let priorities = [50u8, 120, 90, 200, 10];
        for (i, p) in priorities.iter().enumerate() {
            lan.add(v2(&format!("192.0.2.{}", 10 + i), *p));
        }
        // Start in a seed-dependent order, a second apart.
        let mut order: Vec<usize> = (0..priorities.len()).collect();
        order.rotate_left((seed % 5) as usize);
        for i in order {
            lan.start(i);
            lan.run_for(secs(1));
        }
        lan.run_for(secs(10));
        assert_sole_master(&lan, 3);
        let settled = lan.now();
        lan.run_for(secs(60));
        assert!(
            lan.transitions_since(settled).is_empty(),
            "seed {seed}: flaps after settling"
        );
    }
}

#[test]
fn equal_priorities_elect_the_highest_address() {
    for seed in SEEDS {
        let mut lan = Lan::new(seed, LinkModel::CLEAN);
        for last in [7, 9, 8] {
            lan.add(v2(&format!("192.0.2.{last}"), 100));
        }
        (0..3).for_each(|i| lan.start(i));
        lan.run_for(secs(15));
        assert_sole_master(&lan, 1);
    }
}

#[test]
fn owner_is_master_from_its_first_advert() {
    let mut lan = Lan::new(1, LinkModel::CLEAN);
    let backup = lan.add(v2("192.0.2.202", 254));
    let owner = lan.add(v2("192.0.2.201", 255));
    lan.start(backup);
    lan.run_for(secs(1));
    lan.start(owner);
    assert_eq!(lan.state(owner), Some(State::Master), "no wait at all");
    lan.run_for(ms(10));
    assert_sole_master(&lan, owner);
}

/// The seed scenario: A (100) and B (90). Start both: A is master. Kill A:
/// B takes over exactly Master_Down_Interval after A's last advert. Start
/// A again: it preempts B after its own Master_Down_Interval.
fn seed_story(a_params: InstanceParams, b_params: InstanceParams) {
    for seed in SEEDS {
        let mut lan = Lan::new(seed, LinkModel::CLEAN);
        let a = lan.add(a_params.clone());
        let b = lan.add(b_params.clone());
        lan.start(a);
        lan.start(b);
        until_master(&mut lan, a, mdi(&a_params) + ms(10));
        lan.run_for(secs(5));
        assert_sole_master(&lan, a);

        lan.crash(a);
        let last_a_advert = lan.routers[a].last_advert_sent.unwrap();
        let took_over = until_master(&mut lan, b, secs(10));
        let expected = last_a_advert + mdi(&b_params);
        let link = LinkModel::CLEAN.latency + LinkModel::CLEAN.jitter;
        assert!(
            took_over >= expected && took_over <= expected + link,
            "seed {seed}: B master at {took_over:?}, expected {expected:?} (+link)"
        );
        assert_sole_master(&lan, b);

        lan.run_for(secs(3));
        let restarted = lan.now();
        lan.start(a);
        let back = until_master(&mut lan, a, secs(10));
        // A ignores B's lower-priority adverts and takes over after its own
        // Master_Down_Interval; B yields on A's first advert.
        assert_eq!(back - restarted, mdi(&a_params), "seed {seed}");
        lan.run_for(ms(10));
        assert_sole_master(&lan, a);
        let b_log: Vec<_> = lan
            .log
            .iter()
            .filter(|r| r.router == b)
            .map(|r| r.transition.to)
            .collect();
        assert_eq!(
            b_log,
            vec![State::Backup, State::Master, State::Backup],
            "seed {seed}"
        );
    }
}

#[test]
fn seed_story_v2() {
    seed_story(v2("192.0.2.201", 100), v2("192.0.2.202", 90));
}

#[test]
fn seed_story_v3_ipv4() {
    seed_story(v3("192.0.2.201", 100, 100), v3("192.0.2.202", 90, 100));
}

#[test]
fn seed_story_v3_ipv6_fast_adverts() {
    seed_story(v3("fe80::201", 100, 10), v3("fe80::202", 90, 10));
}

#[test]
fn graceful_stop_hands_over_after_skew_time_only() {
    for seed in SEEDS {
        let (mut lan, a, b) = settled_pair(seed);
        let stopped = lan.now();
        lan.stop(a);
        let took_over = until_master(&mut lan, b, secs(10));
        let skew = skew_time(Version::V2, 90, Centiseconds::from_secs(1));
        assert_eq!(
            skew,
            Duration::from_nanos(648_437_500),
            "(256 - 90) / 256 s"
        );
        let waited = took_over - stopped;
        assert!(
            waited >= skew && waited <= skew + LinkModel::CLEAN.latency + LinkModel::CLEAN.jitter,
            "seed {seed}: waited {waited:?}, skew {skew:?}"
        );
        assert_eq!(lan.masters(), vec![b]);
    }
}

#[test]
fn a_crashed_master_is_replaced_by_the_next_best_only() {
    for seed in SEEDS {
        let mut lan = Lan::new(seed, LinkModel::CLEAN);
        let a = lan.add(v2("192.0.2.201", 100));
        let b = lan.add(v2("192.0.2.202", 90));
        let c = lan.add(v2("192.0.2.203", 80));
        (0..3).for_each(|i| lan.start(i));
        lan.run_for(secs(10));
        assert_sole_master(&lan, a);
        lan.crash(a);
        lan.run_for(secs(10));
        assert_sole_master(&lan, b);
        assert!(
            !lan.log
                .iter()
                .any(|r| r.router == c && r.transition.to == State::Master),
            "seed {seed}: C's longer skew must let B's first advert reach it in time"
        );
    }
}

#[test]
fn split_brain_heals_on_the_first_advert_that_crosses() {
    for (seed, interval_cs) in SEEDS.iter().zip([100, 10, 100, 10, 100]) {
        let mut lan = Lan::new(*seed, LinkModel::CLEAN);
        let a = lan.add(v3("192.0.2.201", 100, interval_cs));
        let b = lan.add(v3("192.0.2.202", 90, interval_cs));
        lan.start(a);
        lan.start(b);
        lan.run_for(secs(10));
        assert_sole_master(&lan, a);

        lan.partition(&[1, 2]);
        lan.run_for(secs(10));
        assert_eq!(lan.masters(), vec![a, b], "both sides elect a master");

        lan.heal();
        let healed = lan.now();
        let one_master = lan
            .run_until(healed + secs(10), |lan| lan.masters().len() == 1)
            .expect("split brain never healed");
        // Whoever speaks first after the heal settles it: if it is B, A
        // answers at once (RFC 9568) instead of at its next Adver_Timer.
        let interval = Centiseconds::new(interval_cs).as_duration();
        let bound = interval + 2 * (LinkModel::CLEAN.latency + LinkModel::CLEAN.jitter);
        assert!(
            one_master - healed <= bound,
            "seed {seed}: healed after {:?}",
            one_master - healed
        );
        lan.run_for(ms(5));
        assert_sole_master(&lan, a);
    }
}

#[test]
fn one_percent_loss_at_fast_adverts_causes_no_takeover_in_ten_minutes() {
    for seed in SEEDS {
        let mut lan = Lan::new(seed, LinkModel::CLEAN);
        let a = lan.add(v3("192.0.2.201", 100, 10));
        lan.add(v3("192.0.2.202", 90, 10));
        lan.add(v3("192.0.2.203", 80, 10));
        (0..3).for_each(|i| lan.start(i));
        lan.run_for(secs(2));
        assert_sole_master(&lan, a);

        lan.set_link(LinkModel {
            loss: 0.01,
            latency: ms(1),
            jitter: ms(2),
        });
        let settled = lan.now();
        lan.run_for(secs(600));
        assert!(
            lan.transitions_since(settled).is_empty(),
            "seed {seed}: {:#?}",
            lan.transitions_since(settled)
        );
        assert_sole_master(&lan, a);
        assert!(
            lan.routers[a].adverts_sent > 5_900,
            "the master kept advertising"
        );
    }
}

#[test]
fn heavy_loss_takes_over_only_after_three_missed_adverts() {
    // The converse of the test above: loss is counted, not ignored. At 50%
    // loss three adverts in a row go missing often enough to flap.
    let mut lan = Lan::new(
        7,
        LinkModel {
            loss: 0.5,
            latency: ms(1),
            jitter: ms(1),
        },
    );
    lan.add(v3("192.0.2.201", 100, 10));
    lan.add(v3("192.0.2.202", 90, 10));
    lan.start(0);
    lan.start(1);
    lan.run_for(secs(60));
    let b_masters = lan
        .log
        .iter()
        .filter(|r| r.router == 1 && r.transition.to == State::Master)
        .count();
    assert!(b_masters > 0, "50% loss must cause takeovers");
    // ... and each one is undone: A wins back on its next advert.
    lan.set_link(LinkModel::CLEAN);
    lan.run_for(secs(2));
    assert_sole_master(&lan, 0);
}

#[test]
fn reordering_and_jitter_do_not_cause_flaps() {
    for seed in SEEDS {
        // Jitter of 50 ms at 0.1 s adverts reorders adverts from different routers.
        let mut lan = Lan::new(
            seed,
            LinkModel {
                loss: 0.0,
                latency: ms(1),
                jitter: ms(50),
            },
        );
        let a = lan.add(v3("192.0.2.201", 100, 10));
        lan.add(v3("192.0.2.202", 90, 10));
        lan.add(v3("192.0.2.203", 80, 10));
        (0..3).for_each(|i| lan.start(i));
        lan.run_for(secs(3));
        assert_sole_master(&lan, a);
        let settled = lan.now();
        lan.run_for(secs(120));
        assert!(lan.transitions_since(settled).is_empty(), "seed {seed}");
    }
}

#[test]
fn preempt_off_keeps_the_current_master() {
    let mut lan = Lan::new(3, LinkModel::CLEAN);
    let a = lan.add(InstanceParams {
        preempt: false,
        ..v2("192.0.2.201", 100)
    });
    let b = lan.add(v2("192.0.2.202", 90));
    lan.start(b);
    lan.run_for(secs(5));
    assert_sole_master(&lan, b);
    lan.start(a);
    lan.run_for(secs(60));
    assert_sole_master(&lan, b);
    // It is only preemption that is off: when B goes, A takes over.
    lan.stop(b);
    lan.run_for(secs(2));
    assert_eq!(lan.masters(), vec![a]);
}

#[test]
fn preempt_delay_is_honoured() {
    let delay = secs(30);
    let mut lan = Lan::new(4, LinkModel::CLEAN);
    let a_params = InstanceParams {
        preempt_delay: delay,
        ..v2("192.0.2.201", 100)
    };
    let a = lan.add(a_params.clone());
    let b = lan.add(v2("192.0.2.202", 90));
    lan.start(b);
    lan.run_for(secs(5));
    let a_started = lan.now();
    lan.start(a);
    let took_over = until_master(&mut lan, a, secs(60));
    let waited = took_over - a_started;
    // The delay starts at B's first advert (within one interval of A's
    // start), then A lets Master_Down_Interval run out.
    assert!(
        waited >= delay + mdi(&a_params),
        "took over after {waited:?}"
    );
    assert!(
        waited <= delay + secs(1) + mdi(&a_params) + ms(5),
        "took over after {waited:?}"
    );
    lan.run_for(ms(10));
    assert_sole_master(&lan, a);
}

#[test]
fn a_failing_tracker_moves_the_master_and_recovery_brings_it_back() {
    let (mut lan, a, b) = settled_pair(5);

    let sick = Event::Tracker {
        name: "web".into(),
        effect: TrackerEffect::from_status(false, -20),
    };
    lan.event(a, sick);
    until_master(&mut lan, b, secs(5));
    lan.run_for(ms(10));
    assert_sole_master(&lan, b);

    let healthy = Event::Tracker {
        name: "web".into(),
        effect: TrackerEffect::from_status(true, -20),
    };
    lan.event(a, healthy);
    until_master(&mut lan, a, secs(5));
    lan.run_for(ms(10));
    assert_sole_master(&lan, a);
}

#[test]
fn link_down_on_the_master_faults_it_and_the_backup_takes_over_at_skew_time() {
    let (mut lan, a, b) = settled_pair(6);
    let down = lan.now();
    lan.event(a, Event::LinkDown);
    assert_eq!(lan.state(a), Some(State::Fault));
    let took_over = until_master(&mut lan, b, secs(5));
    assert!(
        took_over - down <= ms(649),
        "priority 0 on fault: skew only, got {:?}",
        took_over - down
    );
    lan.event(a, Event::LinkUp);
    until_master(&mut lan, a, secs(5));
    let a_reasons: Vec<_> = lan
        .log
        .iter()
        .filter(|r| r.router == a)
        .map(|r| r.transition.reason.clone())
        .collect();
    assert!(a_reasons.contains(&Reason::FaultCleared));
}

#[test]
fn same_seed_same_history() {
    let run = |seed| {
        let mut lan = Lan::new(
            seed,
            LinkModel {
                loss: 0.2,
                latency: ms(1),
                jitter: ms(30),
            },
        );
        lan.add(v3("192.0.2.201", 100, 10));
        lan.add(v3("192.0.2.202", 90, 10));
        lan.add(v3("192.0.2.203", 90, 10));
        (0..3).for_each(|i| lan.start(i));
        lan.run_for(secs(30));
        lan.log
    };
    let first = run(11);
    assert!(
        first.len() > 3,
        "lossy enough to have a history worth comparing"
    );
    assert_eq!(first, run(11));
    assert_ne!(first, run(12));
}

/// Host `address` runs two instances (VRIDs 51 and 52) in one sync group.
fn sync_pair(lan: &mut Lan, address: &str, priority: u8) -> (usize, usize) {
    let first = lan.add(InstanceParams {
        sync_member: true,
        ..v2(address, priority)
    });
    let second = lan.add(InstanceParams {
        name: "VI_2".into(),
        vrid: Vrid::new(52).unwrap(),
        virtual_addresses: vec![VirtualAddress::host("192.0.2.204".parse().unwrap())],
        sync_member: true,
        ..v2(address, priority)
    });
    lan.sync_group(&[first, second]);
    (first, second)
}

#[test]
fn a_sync_group_faults_and_returns_as_one() {
    for seed in SEEDS {
        let mut lan = Lan::new(seed, LinkModel::CLEAN);
        let (a1, a2) = sync_pair(&mut lan, "192.0.2.201", 100);
        let (b1, b2) = sync_pair(&mut lan, "192.0.2.202", 90);
        for i in [b1, b2, a1, a2] {
            lan.start(i);
        }
        lan.run_until(secs(10), |l| l.masters() == vec![a1, a2])
            .unwrap_or_else(|| panic!("seed {seed}: A's pair never became master"));
        assert_eq!(
            (lan.group_state(0), lan.group_state(1)),
            (State::Master, State::Backup)
        );
        // Off the advert grid: an advert due in the very instant the link
        // goes down could arrive after the priority 0, by jitter, and hold
        // B back for a whole Master_Down_Interval.
        lan.run_for(ms(2500));

        // One member's link goes down: the whole group goes to FAULT and
        // the other host's group takes both addresses.
        let at = lan.now();
        lan.event(a2, Event::LinkDown);
        assert_eq!(
            lan.state(a1),
            Some(State::Fault),
            "seed {seed}: the group moved at once"
        );
        let took = lan
            .run_until(at + secs(10), |l| l.masters() == vec![b1, b2])
            .unwrap_or_else(|| panic!("seed {seed}: B's pair did not take over"));
        assert!(
            took - at < secs(1),
            "seed {seed}: priority 0 let B in after skew time, took {:?}: {:#?}",
            took - at,
            lan.transitions_since(at)
        );
        assert!(lan.transitions_since(at).iter().any(|r| r.router == a1
            && r.transition.reason == Reason::Fault(vipd::proto::FaultCause::SyncGroup)));

        // The link returns: both come back to A together (preempt).
        let at = lan.now();
        lan.event(a2, Event::LinkUp);
        lan.run_until(at + secs(10), |l| l.masters() == vec![a1, a2])
            .unwrap_or_else(|| panic!("seed {seed}: A's pair did not come back"));
        lan.run_for(secs(5));
        assert_eq!(
            lan.masters(),
            vec![a1, a2],
            "seed {seed}: stable afterwards"
        );
        assert_eq!(lan.vip_holders(), vec![a1, a2]);
    }
}

#[test]
fn a_sync_group_goes_master_only_when_every_member_would() {
    let mut lan = Lan::new(7, LinkModel::CLEAN);
    let (a1, a2) = sync_pair(&mut lan, "192.0.2.201", 100);
    let (b1, b2) = sync_pair(&mut lan, "192.0.2.202", 90);
    for i in [b1, b2, a1, a2] {
        lan.start(i);
    }
    lan.run_until(secs(10), |l| l.masters() == vec![a1, a2])
        .expect("A master");
    // A's second instance dies alone; B's first still hears A's first.
    lan.crash(a2);
    lan.run_for(secs(10));
    assert_eq!(
        lan.state(b2),
        Some(State::Backup),
        "B's member alone may not go master"
    );
    assert_eq!(lan.masters(), vec![a1]);
    // And B's first member, hearing its master leave, completes the wish.
    lan.stop(a1);
    lan.run_until(lan.now() + secs(10), |l| l.masters() == vec![b1, b2])
        .expect("B's pair together");
}

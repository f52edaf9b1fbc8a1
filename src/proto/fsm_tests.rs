//! State machine tests: one RFC rule each, with exact action sequences.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;
use crate::proto::packet::{AuthKey, Vrid};
use crate::proto::params::{AnnounceSchedule, VirtualAddress};

const SELF_ADDR: &str = "192.0.2.201";
const LOWER_PEER: &str = "192.0.2.100";
const HIGHER_PEER: &str = "192.0.2.250";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn params(priority: u8) -> InstanceParams {
    let vips = vec![VirtualAddress::host(ip("192.0.2.203"))];
    InstanceParams {
        priority,
        auth: Auth::Pass(AuthKey::from_password("1111")),
        ..InstanceParams::with_defaults("VI_1", Vrid::new(51).unwrap(), ip(SELF_ADDR), vips)
    }
}

fn v3_params(priority: u8, interval_cs: u32) -> InstanceParams {
    InstanceParams {
        version: Version::V3,
        auth: Auth::None,
        advert_interval: Centiseconds::new(interval_cs),
        ..params(priority)
    }
}

fn advert_from(instance: &Instance, priority: u8) -> Advert {
    let p = instance.params();
    Advert {
        version: p.version,
        vrid: p.vrid,
        priority,
        interval: p.advert_interval,
        auth: p.auth,
        addresses: p.advertised_addresses(),
    }
}

fn drain(instance: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| instance.poll_action()).collect()
}

fn sent_priorities(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert(advert) => Some(advert.priority),
            _ => None,
        })
        .collect()
}

fn transitions(actions: &[Action]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(t) => Some((t.from, t.to)),
            _ => None,
        })
        .collect()
}

/// Master_Down_Interval at 1 s adverts: 3 s + (256 - priority) / 256 s.
const MDI_V2_PRIO_100: Duration = Duration::from_nanos(3_609_375_000);
const MDI_V2_PRIO_90: Duration = Duration::from_nanos(3_648_437_500);
const SKEW_V2_PRIO_90: Duration = Duration::from_nanos(648_437_500);

fn after(t0: Instant, cs: u32) -> Instant {
    t0 + Centiseconds::new(cs).as_duration()
}

/// An instance started at `t0` that has become master (after its
/// Master_Down_Interval), with the actions drained.
fn master(p: InstanceParams, t0: Instant) -> (Instance, Instant) {
    master_from(Instance::new(p).unwrap(), t0)
}

/// `instance` started at `t0` and become master: it and when.
fn master_from(mut instance: Instance, t0: Instant) -> (Instance, Instant) {
    instance.handle_event(t0, Event::Startup);
    let due = instance.poll_timeout().unwrap();
    instance.handle_timeout(due);
    assert_eq!(instance.state(), State::Master);
    drain(&mut instance);
    (instance, due)
}

#[test]
fn startup_below_255_waits_master_down_interval_in_backup() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(100)).unwrap();
    assert_eq!(instance.poll_timeout(), None, "no timer before startup");
    instance.handle_event(t0, Event::Startup);
    let actions = drain(&mut instance);
    // Stale addresses from a crashed run are removed, then BACKUP.
    assert!(matches!(actions[0], Action::RemoveVips { .. }));
    assert_eq!(
        transitions(&actions),
        vec![(State::Initialize, State::Backup)]
    );
    assert_eq!(instance.poll_timeout(), Some(t0 + MDI_V2_PRIO_100));

    instance.handle_timeout(t0 + MDI_V2_PRIO_100 - Duration::from_nanos(1));
    assert_eq!(instance.state(), State::Backup);
    instance.handle_timeout(t0 + MDI_V2_PRIO_100);
    assert_eq!(instance.state(), State::Master);
    let actions = drain(&mut instance);
    assert!(matches!(&actions[0], Action::SendAdvert(a) if a.priority == 100));
    assert!(
        matches!(&actions[1], Action::AddVips { accept: true, addresses, valid_until: None } if addresses.len() == 1)
    );
    assert!(matches!(&actions[2], Action::Announce { count: 5, .. }));
    assert!(
        matches!(&actions[3], Action::Notify(t) if t.reason == Reason::MasterDown && t.priority == 100)
    );
    assert_eq!(actions.len(), 4);
}

#[test]
fn owner_becomes_master_at_once() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(255)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(State::Initialize, State::Master)]
    );
    assert_eq!(sent_priorities(&actions), vec![255]);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::RemoveVips { .. })));
}

#[test]
fn master_sends_an_advert_every_interval() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    assert_eq!(instance.poll_timeout(), Some(after(became, 100)));
    instance.handle_timeout(after(became, 100));
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![100]);
    assert_eq!(instance.poll_timeout(), Some(after(became, 200)));
}

#[test]
fn spurious_timeout_is_a_no_op() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let before = instance.poll_timeout();
    instance.handle_timeout(after(became, 50));
    instance.handle_timeout(after(became, 50));
    assert!(drain(&mut instance).is_empty());
    assert_eq!(instance.poll_timeout(), before);
}

#[test]
fn master_yields_to_higher_priority() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let now = after(became, 10);
    let advert = advert_from(&instance, 110);
    instance.handle_packet(now, ip(LOWER_PEER), Ok(advert));
    assert_eq!(instance.state(), State::Backup);
    let actions = drain(&mut instance);
    assert!(matches!(actions[0], Action::RemoveVips { .. }));
    assert!(
        matches!(&actions[1], Action::Notify(t) if matches!(t.reason, Reason::Preempted { priority: 110, .. }))
    );
    assert_eq!(sent_priorities(&actions), Vec::<u8>::new());
    assert_eq!(instance.poll_timeout(), Some(now + MDI_V2_PRIO_100));
    assert_eq!(
        instance.peer_master(),
        Some(PeerMaster {
            address: ip(LOWER_PEER),
            priority: 110
        })
    );
}

#[test]
fn equal_priority_tie_goes_to_the_higher_address() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let advert = advert_from(&instance, 100);
    instance.handle_packet(after(became, 1), ip(LOWER_PEER), Ok(advert.clone()));
    assert_eq!(
        instance.state(),
        State::Master,
        "lower address loses the tie"
    );
    instance.handle_packet(after(became, 2), ip(HIGHER_PEER), Ok(advert));
    assert_eq!(
        instance.state(),
        State::Backup,
        "higher address wins the tie"
    );
}

#[test]
fn master_answers_lower_priority_at_once_but_not_per_packet() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let lower = advert_from(&instance, 90);
    instance.handle_packet(after(became, 10), ip(HIGHER_PEER), Ok(lower.clone()));
    assert_eq!(
        sent_priorities(&drain(&mut instance)),
        vec![100],
        "RFC 9568 immediate answer"
    );
    assert_eq!(
        instance.poll_timeout(),
        Some(after(became, 110)),
        "Adver_Timer reset"
    );
    for cs in 11..60 {
        instance.handle_packet(after(became, cs), ip(HIGHER_PEER), Ok(lower.clone()));
    }
    assert!(
        drain(&mut instance).is_empty(),
        "a flood gets no more than one answer per interval"
    );
    instance.handle_packet(after(became, 111), ip(HIGHER_PEER), Ok(lower));
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![100]);
    assert_eq!(instance.state(), State::Master);
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let leaving = advert_from(&instance, 0);
    instance.handle_packet(after(became, 30), ip(HIGHER_PEER), Ok(leaving));
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![100]);
    assert_eq!(instance.poll_timeout(), Some(after(became, 130)));
    assert_eq!(instance.stats().priority_zero_received, 1);
}

#[test]
fn backup_waits_only_skew_time_after_priority_zero() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(90)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let leaving = advert_from(&instance, 0);
    instance.handle_packet(after(t0, 100), ip(HIGHER_PEER), Ok(leaving));
    assert_eq!(
        instance.poll_timeout(),
        Some(after(t0, 100) + SKEW_V2_PRIO_90)
    );
}

#[test]
fn backup_resets_master_down_on_each_advert_from_a_better_master() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(90)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let advert = advert_from(&instance, 100);
    for second in 1..20 {
        instance.handle_packet(after(t0, second * 100), ip(HIGHER_PEER), Ok(advert.clone()));
        instance.handle_timeout(after(t0, second * 100 + 50));
    }
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(
        instance.poll_timeout(),
        Some(after(t0, 1900) + MDI_V2_PRIO_90)
    );
    assert_eq!(instance.stats().adverts_received, 19);
}

#[test]
fn backup_with_preempt_ignores_lower_priority_master() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(100)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let lower = advert_from(&instance, 90);
    instance.handle_packet(after(t0, 100), ip(HIGHER_PEER), Ok(lower.clone()));
    instance.handle_packet(after(t0, 200), ip(HIGHER_PEER), Ok(lower));
    assert_eq!(
        instance.poll_timeout(),
        Some(t0 + MDI_V2_PRIO_100),
        "timer not reset by a lesser master"
    );
    instance.handle_timeout(t0 + MDI_V2_PRIO_100);
    assert_eq!(instance.state(), State::Master);
}

#[test]
fn backup_without_preempt_defers_to_lower_priority_master() {
    let t0 = Instant::now();
    let mut instance = Instance::new(InstanceParams {
        preempt: false,
        ..params(100)
    })
    .unwrap();
    instance.handle_event(t0, Event::Startup);
    let lower = advert_from(&instance, 90);
    for second in 1..10 {
        instance.handle_packet(after(t0, second * 100), ip(HIGHER_PEER), Ok(lower.clone()));
        instance.handle_timeout(after(t0, second * 100));
    }
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn preempt_delay_defers_until_it_has_run_from_the_first_lesser_advert() {
    let t0 = Instant::now();
    let p = InstanceParams {
        preempt_delay: Duration::from_secs(5),
        ..params(100)
    };
    let mut instance = Instance::new(p).unwrap();
    instance.handle_event(t0, Event::Startup);
    let lower = advert_from(&instance, 90);
    // First lesser advert at 1 s starts the 5 s delay; deferred until 6 s.
    let mut took_over_at = None;
    for cs in (100..1500).step_by(10) {
        let now = after(t0, cs);
        instance.handle_timeout(now);
        if instance.state() == State::Master {
            took_over_at = Some(cs);
            break;
        }
        if cs % 100 == 0 {
            instance.handle_packet(now, ip(HIGHER_PEER), Ok(lower.clone()));
        }
    }
    // Last deferred advert at 5 s (< 6 s); adverts from 6 s on are ignored,
    // so Master_Down fires at 5 s + 3.609 s, seen at the next 10 cs step.
    assert_eq!(took_over_at, Some(870));
}

#[test]
fn v3_backup_learns_master_interval() {
    let t0 = Instant::now();
    let mut instance = Instance::new(v3_params(90, 100)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let mut fast = advert_from(&instance, 100);
    fast.interval = Centiseconds::new(10);
    instance.handle_packet(after(t0, 5), ip(HIGHER_PEER), Ok(fast));
    assert_eq!(instance.master_adver_interval(), Centiseconds::new(10));
    // 3 * 100 ms + 166 * 100 ms / 256
    assert_eq!(
        instance.poll_timeout(),
        Some(after(t0, 5) + Duration::from_nanos(364_843_750))
    );
}

#[test]
fn v2_refuses_mismatched_interval_auth_and_addresses() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(90)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let good = advert_from(&instance, 100);
    let cases: Vec<(Advert, DropReason)> = vec![
        (
            Advert {
                interval: Centiseconds::from_secs(2),
                ..good.clone()
            },
            DropReason::IntervalMismatch,
        ),
        (
            Advert {
                auth: Auth::Pass(AuthKey::from_password("2222")),
                ..good.clone()
            },
            DropReason::AuthMismatch,
        ),
        (
            Advert {
                auth: Auth::None,
                ..good.clone()
            },
            DropReason::AuthTypeMismatch,
        ),
        (
            // AH is a type keepalived knows: a type mismatch.
            Advert {
                auth: Auth::Other {
                    kind: 2,
                    data: [0; 8],
                },
                ..good.clone()
            },
            DropReason::AuthTypeMismatch,
        ),
        (
            Advert {
                auth: Auth::Other {
                    kind: 7,
                    data: [0; 8],
                },
                ..good.clone()
            },
            DropReason::InvalidAuthType,
        ),
        (
            Advert {
                addresses: AddressList::V4(vec![Ipv4Addr::new(192, 0, 2, 99)]),
                ..good.clone()
            },
            DropReason::AddressListMismatch,
        ),
        (
            Advert {
                vrid: Vrid::new(52).unwrap(),
                ..good.clone()
            },
            DropReason::VridMismatch,
        ),
        (
            Advert {
                version: Version::V3,
                auth: Auth::None,
                ..good.clone()
            },
            DropReason::VersionMismatch,
        ),
    ];
    let deadline = instance.poll_timeout();
    for (advert, reason) in cases {
        let before = instance.stats().dropped.get(reason);
        let returned = instance.handle_packet(after(t0, 50), ip(HIGHER_PEER), Ok(advert));
        assert_eq!(returned, Some(reason));
        assert_eq!(
            instance.stats().dropped.get(reason),
            before + 1,
            "{reason:?}"
        );
    }
    instance.handle_packet(after(t0, 50), ip(SELF_ADDR), Ok(good));
    assert_eq!(instance.stats().dropped.get(DropReason::OwnAddress), 1);
    instance.handle_packet(after(t0, 50), ip(HIGHER_PEER), Err(DecodeError::BadTtl(64)));
    assert_eq!(instance.stats().dropped.get(DropReason::BadTtl), 1);
    assert_eq!(
        instance.poll_timeout(),
        deadline,
        "no dropped packet reset the timer"
    );
    assert_eq!(instance.stats().adverts_received, 0);
}

#[test]
fn shutdown_of_a_master_sends_priority_zero_and_releases() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    instance.handle_event(after(became, 10), Event::Shutdown);
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![0]);
    assert!(matches!(actions[1], Action::RemoveVips { .. }));
    assert_eq!(
        transitions(&actions),
        vec![(State::Master, State::Initialize)]
    );
    assert_eq!(instance.poll_timeout(), None);
    // Nothing brings a stopped instance back.
    instance.handle_event(after(became, 20), Event::Startup);
    instance.handle_packet(
        after(became, 20),
        ip(HIGHER_PEER),
        Ok(advert_from(&instance, 0)),
    );
    instance.handle_timeout(after(became, 1000));
    assert!(drain(&mut instance).is_empty());
}

#[test]
fn weight_zero_tracker_failure_faults_and_recovers_to_backup() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let failing = Event::Tracker {
        name: "web".into(),
        effect: TrackerEffect::from_status(false, 0),
    };
    instance.handle_event(after(became, 10), failing);
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![0], "backups told at once");
    assert_eq!(transitions(&actions), vec![(State::Master, State::Fault)]);
    assert!(
        matches!(&actions.last(), Some(Action::Notify(t)) if t.reason == Reason::Fault(FaultCause::Tracker("web".into())))
    );
    assert_eq!(instance.poll_timeout(), None, "FAULT runs no timers");

    let healthy = Event::Tracker {
        name: "web".into(),
        effect: TrackerEffect::from_status(true, 0),
    };
    instance.handle_event(after(became, 20), healthy);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(State::Fault, State::Backup)]
    );
    assert_eq!(
        instance.poll_timeout(),
        Some(after(became, 20) + MDI_V2_PRIO_100)
    );
}

#[test]
fn weighted_tracker_changes_advertised_priority() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let event = Event::Tracker {
        name: "web".into(),
        effect: TrackerEffect::from_status(false, -20),
    };
    instance.handle_event(after(became, 10), event);
    assert_eq!(
        drain(&mut instance),
        vec![Action::PriorityChanged { from: 100, to: 80 }]
    );
    instance.handle_timeout(after(became, 100));
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![80]);

    let owner_event = Event::Tracker {
        name: "web".into(),
        effect: TrackerEffect::Adjust(-50),
    };
    let mut owner = Instance::new(params(255)).unwrap();
    owner.handle_event(t0, owner_event);
    assert_eq!(owner.priority(), 255);
}

#[test]
fn link_down_at_startup_is_fault_until_link_up() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(100)).unwrap();
    instance.handle_event(t0, Event::LinkDown);
    instance.handle_event(t0, Event::Startup);
    let actions = drain(&mut instance);
    assert!(matches!(actions[0], Action::RemoveVips { .. }));
    assert_eq!(
        transitions(&actions),
        vec![(State::Initialize, State::Fault)]
    );
    instance.handle_packet(after(t0, 1), ip(HIGHER_PEER), Ok(advert_from(&instance, 0)));
    assert_eq!(
        instance.poll_timeout(),
        None,
        "adverts are not acted on in FAULT"
    );
    instance.handle_event(after(t0, 100), Event::LinkUp);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(State::Fault, State::Backup)]
    );
}

#[test]
fn an_instance_the_daemon_cannot_run_is_fault_with_the_reason_until_available() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(100)).unwrap();
    instance.handle_event(t0, Event::Unavailable("no IPv4 address on eth0".into()));
    instance.handle_event(t0, Event::Resume);
    let actions = drain(&mut instance);
    assert!(
        matches!(actions[0], Action::RemoveVips { .. }),
        "a restart that cannot run drops what the last run held: {actions:?}"
    );
    let reason = Reason::Fault(FaultCause::Unavailable("no IPv4 address on eth0".into()));
    assert!(
        matches!(actions.last(), Some(Action::Notify(t)) if t.to == State::Fault && t.reason == reason),
        "{actions:?}"
    );
    assert_eq!(reason.to_string(), "no IPv4 address on eth0");
    assert_eq!(instance.poll_timeout(), None, "no adverts, no master down");
    // A new reason replaces the old one without a transition.
    instance.handle_event(after(t0, 10), Event::Unavailable("socket".into()));
    assert!(transitions(&drain(&mut instance)).is_empty());
    assert_eq!(
        instance.fault_cause(),
        Some(FaultCause::Unavailable("socket".into()))
    );
    instance.handle_event(after(t0, 100), Event::Available);
    assert_eq!(
        transitions(&drain(&mut instance)),
        vec![(State::Fault, State::Backup)]
    );
    assert_eq!(instance.fault_cause(), None);
}

#[test]
fn a_master_that_becomes_unavailable_says_goodbye_and_lets_go() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(255)).unwrap();
    instance.handle_event(t0, Event::Startup);
    drain(&mut instance);
    instance.handle_event(after(t0, 10), Event::Unavailable("timer".into()));
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![0]);
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::RemoveVips { .. })));
    assert_eq!(transitions(&actions), vec![(State::Master, State::Fault)]);
}

#[test]
fn the_source_address_follows_the_interface_without_a_transition() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(100)).unwrap();
    instance.handle_event(t0, Event::Startup);
    drain(&mut instance);
    instance.handle_event(after(t0, 10), Event::SourceChanged(ip("192.0.2.5")));
    assert!(transitions(&drain(&mut instance)).is_empty());
    assert_eq!(instance.params().primary_address, ip("192.0.2.5"));
    // Its own adverts from the new address are now ignored as its own.
    instance.handle_event(after(t0, 20), Event::SourceChanged(ip("2001:db8::5")));
    assert_eq!(
        instance.params().primary_address,
        ip("192.0.2.5"),
        "another family's address is not ours to send from"
    );
}

#[test]
fn resume_takes_master_without_waiting() {
    let t0 = Instant::now();
    let mut instance = Instance::new(params(100)).unwrap();
    instance.handle_event(t0, Event::Resume);
    let actions = drain(&mut instance);
    assert_eq!(
        transitions(&actions),
        vec![(State::Initialize, State::Master)]
    );
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::RemoveVips { .. })),
        "no address moves"
    );
    assert_eq!(sent_priorities(&actions), vec![100]);
}

#[test]
fn announcements_follow_the_garp_schedule() {
    let t0 = Instant::now();
    let schedule = AnnounceSchedule {
        repeat: 3,
        delay: Duration::from_secs(5),
        refresh: Duration::from_secs(60),
        refresh_repeat: 2,
        ..AnnounceSchedule::default()
    };
    let (mut instance, became) = master(
        InstanceParams {
            announce: schedule,
            ..params(100)
        },
        t0,
    );
    let mut bursts = Vec::new();
    for cs in (0..=13_000).step_by(50) {
        instance.handle_timeout(after(became, cs));
        for action in drain(&mut instance) {
            if let Action::Announce { count, .. } = action {
                bursts.push((cs, count));
            }
        }
    }
    assert_eq!(bursts, vec![(500, 3), (6000, 2), (12000, 2)]);
}

#[test]
fn no_second_burst_when_delay_is_zero() {
    let t0 = Instant::now();
    let schedule = AnnounceSchedule {
        delay: Duration::ZERO,
        ..AnnounceSchedule::default()
    };
    let (instance, became) = master(
        InstanceParams {
            announce: schedule,
            ..params(100)
        },
        t0,
    );
    assert_eq!(
        instance.poll_timeout(),
        Some(after(became, 100)),
        "only the advert timer"
    );
}

#[test]
fn accept_flag_follows_accept_mode_unless_owner() {
    let t0 = Instant::now();
    let mut instance = Instance::new(InstanceParams {
        accept_mode: false,
        ..params(255)
    })
    .unwrap();
    instance.handle_event(t0, Event::Startup);
    assert!(drain(&mut instance)
        .iter()
        .any(|a| matches!(a, Action::AddVips { accept: true, .. })));
    let mut instance = Instance::new(InstanceParams {
        accept_mode: false,
        ..params(100)
    })
    .unwrap();
    instance.handle_event(t0, Event::Resume);
    assert!(drain(&mut instance)
        .iter()
        .any(|a| matches!(a, Action::AddVips { accept: false, .. })));
}

#[test]
fn unicast_without_peers_is_fault_and_with_peers_acts_on_unicast_only() {
    use crate::proto::{Arrival, DropReason, FaultCause, Unicast, UnicastPeer};
    let t0 = Instant::now();
    let lonely = InstanceParams {
        unicast: Some(Unicast::default()),
        ..params(100)
    };
    let mut instance = Instance::new(lonely).unwrap();
    instance.handle_event(t0, Event::Startup);
    assert_eq!(instance.state(), State::Fault);
    assert!(drain(&mut instance).iter().any(|a| matches!(
        a,
        Action::Notify(t) if t.reason == Reason::Fault(FaultCause::NoUnicastPeers)
    )));

    let peer = ip("192.0.2.202");
    let paired = InstanceParams {
        unicast: Some(Unicast {
            peers: vec![UnicastPeer::new(peer)],
            ..Unicast::default()
        }),
        ..params(90)
    };
    let (mut instance, at) = master(paired, t0);
    let better = advert_from(&instance, 100);
    assert_eq!(
        instance.handle_packet(at, peer, Ok(better.clone())),
        Some(DropReason::UnexpectedMulticast),
        "a multicast advert does not move a unicast instance"
    );
    assert_eq!(instance.state(), State::Master);
    let unicast = Arrival {
        source: peer,
        destination: ip(SELF_ADDR),
        ttl: 64,
    };
    assert_eq!(instance.handle_arrival(at, unicast, Ok(better)), None);
    assert_eq!(
        instance.state(),
        State::Backup,
        "the peer's better advert wins"
    );
    assert_eq!(
        instance
            .stats()
            .dropped
            .get(DropReason::UnexpectedMulticast),
        1
    );
}

/// auth_hmac: a signed advert whose sender's clock is past half the
/// window from ours is accepted and said (keepalived's early warning);
/// one within it is accepted silently; an unsigned one is refused.
#[test]
fn a_signed_advert_near_the_window_edge_is_accepted_and_said() {
    use crate::proto::auth_hmac::{AntiReplay, HmacKey, HmacMode, HmacParams, HmacState, UnixTime};
    let hmac = HmacParams {
        keys: vec![HmacKey::new(1, vec![9; 32]).unwrap()],
        active_key: 1,
        mode: HmacMode::Enforce,
        anti_replay: AntiReplay::Time { window_secs: 5 },
    };
    let t0 = Instant::now();
    let mut backup = Instance::new(InstanceParams {
        auth_hmac: Some(hmac.clone()),
        ..v3_params(90, 100)
    })
    .unwrap();
    backup.handle_event(t0, Event::Startup);
    drain(&mut backup);
    let master = ip(HIGHER_PEER);
    let endpoints = Endpoints::multicast_from(master);
    let mut sender = HmacState::default();
    let advert = advert_from(&backup, 100);
    let ours = UnixTime(Duration::from_secs(1_800_000_000));
    let signed_at = |sender: &mut HmacState, secs: u64| {
        let message = advert.encode(&endpoints).unwrap();
        let sent_at = UnixTime(Duration::from_secs(secs));
        let trailer = sender.sign(&hmac, sent_at, master, &message).unwrap();
        Ok((advert.clone(), Some(Signed { trailer, message })))
    };
    let arrival = Arrival::multicast(master);
    let skewed = |actions: &[Action]| {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::ClockSkew {
                    skew_secs,
                    window_secs,
                    ..
                } => Some((*skew_secs, *window_secs)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };

    let in_step = signed_at(&mut sender, 1_800_000_000);
    assert_eq!(
        backup.handle_signed_arrival(t0, ours, arrival, in_step),
        None
    );
    assert_eq!(skewed(&drain(&mut backup)), vec![]);
    let behind = signed_at(&mut sender, 1_800_000_003);
    assert_eq!(
        backup.handle_signed_arrival(t0, ours, arrival, behind),
        None
    );
    assert_eq!(skewed(&drain(&mut backup)), vec![(-3, 5)]);
    assert_eq!(backup.stats().hmac_skew_secs, Some(-3));
    let unsigned = Ok((advert.clone(), None));
    assert_eq!(
        backup.handle_signed_arrival(t0, ours, arrival, unsigned),
        Some(DropReason::HmacMissing)
    );
}

fn heard_lower(actions: &[Action]) -> Vec<(IpAddr, u8)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::MasterRxLowerPriority { source, priority } => Some((*source, *priority)),
            _ => None,
        })
        .collect()
}

/// keepalived's notify_master_rx_lower_pri: a master hearing a lower
/// priority says so (at most once per interval, with its answer).
#[test]
fn master_hearing_lower_priority_tells_the_daemon_once_per_interval() {
    let t0 = Instant::now();
    let (mut instance, became) = master(params(100), t0);
    let lower = advert_from(&instance, 90);
    instance.handle_packet(after(became, 10), ip(LOWER_PEER), Ok(lower.clone()));
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), vec![100]);
    assert_eq!(heard_lower(&actions), vec![(ip(LOWER_PEER), 90)]);
    instance.handle_packet(after(became, 50), ip(LOWER_PEER), Ok(lower.clone()));
    assert!(heard_lower(&drain(&mut instance)).is_empty());
    instance.handle_packet(after(became, 111), ip(LOWER_PEER), Ok(lower));
    assert_eq!(heard_lower(&drain(&mut instance)).len(), 1);
}

/// lower_prio_no_advert: the master does not answer a lower priority at
/// once (its Adver_Timer stays as it was), but still says it heard it.
#[test]
fn lower_prio_no_advert_leaves_the_lower_master_to_the_next_advert() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.advert_rules.lower_prio_no_advert = true;
    let (mut instance, became) = master(p, t0);
    let due = instance.poll_timeout();
    let lower = advert_from(&instance, 90);
    instance.handle_packet(after(became, 10), ip(LOWER_PEER), Ok(lower));
    let actions = drain(&mut instance);
    assert!(sent_priorities(&actions).is_empty(), "{actions:?}");
    assert_eq!(heard_lower(&actions).len(), 1);
    assert_eq!(instance.poll_timeout(), due, "Adver_Timer untouched");
    assert_eq!(instance.state(), State::Master);
}

/// higher_prio_send_advert: one advert of ours, then BACKUP; without it,
/// BACKUP in silence (RFC 5798 §6.4.3).
#[test]
fn higher_prio_send_advert_sends_one_advert_before_stepping_down() {
    for send in [false, true] {
        let t0 = Instant::now();
        let mut p = params(100);
        p.advert_rules.higher_prio_send_advert = send;
        let (mut instance, became) = master(p, t0);
        let higher = advert_from(&instance, 110);
        instance.handle_packet(after(became, 10), ip(HIGHER_PEER), Ok(higher));
        let actions = drain(&mut instance);
        let expected: Vec<u8> = if send { vec![100] } else { vec![] };
        assert_eq!(sent_priorities(&actions), expected, "send: {send}");
        assert!(
            matches!(actions.first(), Some(Action::SendAdvert(_))) == send,
            "the advert goes before the addresses are removed: {actions:?}"
        );
        assert_eq!(transitions(&actions), vec![(State::Master, State::Backup)]);
    }
}

/// down_timer_adverts: Master_Down_Interval counts that many adverts.
#[test]
fn down_timer_adverts_sets_how_many_adverts_a_backup_misses() {
    for (adverts, expected) in [
        (1, Duration::from_nanos(1_609_375_000)),
        (3, MDI_V2_PRIO_100),
        (10, Duration::from_nanos(10_609_375_000)),
    ] {
        let t0 = Instant::now();
        let mut p = params(100);
        p.advert_rules.down_timer_adverts = adverts;
        let mut instance = Instance::new(p).unwrap();
        instance.handle_event(t0, Event::Startup);
        assert_eq!(instance.poll_timeout(), Some(t0 + expected), "{adverts}");
    }
    let mut p = params(100);
    p.advert_rules.down_timer_adverts = 0;
    assert_eq!(
        Instance::new(p).unwrap_err().0,
        vec![crate::proto::ParamsError::DownTimerAdverts(0)]
    );
}

/// keepalived's no_virtual_ipaddress (2.2.8 and later): adverts carry no address, a
/// peer's empty adverts count, and the master holds nothing. An instance
/// with addresses drops an empty advert.
#[test]
fn an_instance_with_no_address_runs_on_empty_adverts() {
    let t0 = Instant::now();
    let mut p = params(90);
    p.virtual_addresses.clear();
    assert_eq!(
        Instance::new(p.clone()).unwrap_err().0,
        vec![crate::proto::ParamsError::NoVirtualAddresses]
    );
    p.no_virtual_ipaddress = true;
    let mut instance = Instance::new(p).unwrap();
    instance.handle_event(t0, Event::Startup);
    drain(&mut instance);
    let empty = advert_from(&instance, 100);
    assert!(empty.addresses.is_empty() && !empty.addresses.is_ipv6());
    instance.handle_packet(after(t0, 100), ip(HIGHER_PEER), Ok(empty.clone()));
    assert_eq!(
        instance.peer_master().map(|m| m.priority),
        Some(100),
        "the empty advert counts"
    );
    let due = instance.poll_timeout().unwrap();
    instance.handle_timeout(due);
    let actions = drain(&mut instance);
    assert_eq!(instance.state(), State::Master);
    assert!(
        matches!(&actions[0], Action::SendAdvert(a) if a.addresses.is_empty()),
        "{actions:?}"
    );

    let mut with_addresses = Instance::new(params(90)).unwrap();
    with_addresses.handle_event(t0, Event::Startup);
    with_addresses.handle_packet(after(t0, 100), ip(HIGHER_PEER), Ok(empty));
    assert_eq!(with_addresses.peer_master(), None);
    assert_eq!(
        with_addresses.stats().dropped.get(DropReason::NoAddresses),
        1
    );
}

/// skip_check_adv_addr: a backup checks the addresses of a master it has
/// not heard before, and not again while the same master goes on.
#[test]
fn skip_check_adv_addr_checks_only_a_new_masters_addresses() {
    for skip in [false, true] {
        let t0 = Instant::now();
        let mut p = params(90);
        p.advert_rules.skip_check_adv_addr = skip;
        let mut instance = Instance::new(p).unwrap();
        instance.handle_event(t0, Event::Startup);
        let good = advert_from(&instance, 100);
        let mut other = good.clone();
        other.addresses = AddressList::V4(vec!["192.0.2.99".parse().unwrap()]);
        // A new master with other addresses: dropped either way.
        instance.handle_packet(after(t0, 10), ip(HIGHER_PEER), Ok(other.clone()));
        assert_eq!(instance.peer_master(), None, "skip: {skip}");
        instance.handle_packet(after(t0, 20), ip(HIGHER_PEER), Ok(good));
        assert!(instance.peer_master().is_some());
        let dropped = instance
            .stats()
            .dropped
            .get(DropReason::AddressListMismatch);
        instance.handle_packet(after(t0, 30), ip(HIGHER_PEER), Ok(other.clone()));
        let now_dropped = instance
            .stats()
            .dropped
            .get(DropReason::AddressListMismatch);
        assert_eq!(now_dropped - dropped, u64::from(!skip), "skip: {skip}");
        // Another master than the known one is checked.
        instance.handle_packet(after(t0, 40), ip(LOWER_PEER), Ok(other));
        assert_eq!(
            instance
                .stats()
                .dropped
                .get(DropReason::AddressListMismatch),
            now_dropped + 1
        );
    }
}

/// keepalived 2.4's owner_ignore_adverts: an owner drops every advert,
/// even a rival owner's with a higher address, and stays master.
#[test]
fn an_owner_ignoring_adverts_stays_master_and_counts_them() {
    let t0 = Instant::now();
    let mut p = params(255);
    p.advert_rules.owner_ignore_adverts = true;
    let mut instance = Instance::new(p).unwrap();
    instance.handle_event(t0, Event::Startup);
    assert_eq!(instance.state(), State::Master);
    drain(&mut instance);
    let rival = advert_from(&instance, 255);
    instance.handle_packet(after(t0, 10), ip(HIGHER_PEER), Ok(rival));
    assert_eq!(instance.state(), State::Master);
    assert!(drain(&mut instance).is_empty());
    assert_eq!(
        instance
            .stats()
            .dropped
            .get(DropReason::OwnerIgnoresAdverts),
        1
    );
}

fn announced(actions: &[Action]) -> Vec<u32> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Announce { count, .. } => Some(*count),
            _ => None,
        })
        .collect()
}

/// garp_lower_prio_repeat / _delay (keepalived's defaults: 5 and 5 s): a
/// master hearing a lower priority announces its addresses again, at
/// once and after the delay; 0 turns it off.
#[test]
fn a_master_hearing_a_lower_priority_announces_again() {
    for (repeat, delay) in [(5, 500), (2, 0), (0, 500)] {
        let t0 = Instant::now();
        let mut p = params(100);
        p.announce = AnnounceSchedule {
            delay: Duration::ZERO,
            lower_prio_repeat: repeat,
            lower_prio_delay: Centiseconds::new(delay).as_duration(),
            ..AnnounceSchedule::default()
        };
        let (mut instance, became) = master(p, t0);
        let lower = advert_from(&instance, 90);
        instance.handle_packet(after(became, 10), ip(LOWER_PEER), Ok(lower));
        let expected: Vec<u32> = if repeat > 0 { vec![repeat] } else { vec![] };
        assert_eq!(announced(&drain(&mut instance)), expected, "{repeat}");
        let second = after(became, 10 + delay);
        instance.handle_timeout(second);
        let again = announced(&drain(&mut instance));
        let expected: Vec<u32> = if repeat > 0 && delay > 0 {
            vec![repeat]
        } else {
            vec![]
        };
        assert_eq!(again, expected, "{repeat} after {delay} cs");
    }
}

/// vrrp_startup_delay: a backup's Master_Down_Timer counts from the end
/// of the delay while it lasts, adverts or not; after it, from now.
#[test]
fn startup_delay_holds_a_backup_back_then_lets_go() {
    let t0 = Instant::now();
    let mut p = params(100);
    p.startup_delay = Duration::from_secs(10);
    let mut instance = Instance::new(p).unwrap();
    instance.handle_event(t0, Event::Startup);
    let delayed = t0 + Duration::from_secs(10);
    assert_eq!(instance.poll_timeout(), Some(delayed + MDI_V2_PRIO_100));
    let master = advert_from(&instance, 110);
    instance.handle_packet(after(t0, 300), ip(HIGHER_PEER), Ok(master.clone()));
    assert_eq!(instance.poll_timeout(), Some(delayed + MDI_V2_PRIO_100));
    let late = delayed + Duration::from_secs(1);
    instance.handle_packet(late, ip(HIGHER_PEER), Ok(master));
    assert_eq!(instance.poll_timeout(), Some(late + MDI_V2_PRIO_100));
}

/// keepalived's checksum compatibility (vrrp.c vrrp_check_packet): auto
/// turns to the old unicast form on a peer's accepted advert, never a
/// forged one's; never refuses it; v3_checksum_as_v2 takes the form
/// without pseudo-header and sends it.
#[test]
fn old_unicast_and_v2_style_checksums_as_keepalived_takes_them() {
    use crate::proto::{
        AdvertRules, Arrival, DropReason, Unicast, UnicastChecksum, UnicastPeer, V3Checksum,
    };
    let t0 = Instant::now();
    let peer = ip("192.0.2.202");
    let with = |rules: AdvertRules| InstanceParams {
        unicast: Some(Unicast {
            peers: vec![UnicastPeer::new(peer)],
            check_source: true,
            ..Unicast::default()
        }),
        advert_rules: rules,
        ..v3_params(90, 100)
    };
    let from = |source: IpAddr| Arrival {
        source,
        destination: ip(SELF_ADDR),
        ttl: 64,
    };
    let wall = UnixTime::default();

    let (mut auto, at) = master(with(AdvertRules::default()), t0);
    let lower = advert_from(&auto, 50);
    assert_eq!(auto.send_checksum(peer), V3Checksum::Rfc);
    // A stranger's advert summed the old way turns nothing.
    let stranger = ip("192.0.2.99");
    let forged = auto.handle_signed_arrival_summed(
        at,
        wall,
        from(stranger),
        Ok((lower.clone(), None)),
        V3Checksum::GroupDestination,
    );
    assert_eq!(forged, Some(DropReason::UnknownUnicastSource));
    assert_eq!(auto.send_checksum(peer), V3Checksum::Rfc);
    // The peer's does; after it, the RFC's form is refused, as keepalived
    // refuses it once it sums the old way.
    let heard = auto.handle_signed_arrival_summed(
        at,
        wall,
        from(peer),
        Ok((lower.clone(), None)),
        V3Checksum::GroupDestination,
    );
    assert_eq!(heard, None);
    assert_eq!(auto.send_checksum(peer), V3Checksum::GroupDestination);
    assert_eq!(
        auto.send_checksum(ip("224.0.0.18")),
        V3Checksum::Rfc,
        "to the group both forms are one"
    );
    let rfc = auto.handle_signed_arrival_summed(
        at,
        wall,
        from(peer),
        Ok((lower.clone(), None)),
        V3Checksum::Rfc,
    );
    assert_eq!(rfc, Some(DropReason::BadChecksum));

    let never = AdvertRules {
        old_unicast_checksum: UnicastChecksum::Never,
        ..AdvertRules::default()
    };
    let (mut never, at) = master(with(never), t0);
    let refused = never.handle_signed_arrival_summed(
        at,
        wall,
        from(peer),
        Ok((lower.clone(), None)),
        V3Checksum::GroupDestination,
    );
    assert_eq!(refused, Some(DropReason::BadChecksum));

    let as_v2 = AdvertRules {
        v3_checksum_as_v2: true,
        ..AdvertRules::default()
    };
    let (mut as_v2, at) = master(with(as_v2), t0);
    assert_eq!(as_v2.send_checksum(peer), V3Checksum::WithoutPseudoHeader);
    for form in [V3Checksum::WithoutPseudoHeader, V3Checksum::Rfc] {
        let taken = as_v2.handle_signed_arrival_summed(
            at,
            wall,
            from(peer),
            Ok((lower.clone(), None)),
            form,
        );
        assert_eq!(taken, None, "{form:?}");
    }
}

/// keepalived's strict mode as the state machine runs it.
fn strict(priority: u8) -> InstanceParams {
    let mut p = InstanceParams {
        strict: true,
        accept_mode: crate::proto::default_accept(true, priority),
        ..params(priority)
    };
    p.apply_strict();
    p
}

/// A strict instance has no authentication, and drops an advert that has
/// some (keepalived: "received a 1 auth, expecting 0"), counted as
/// strict_auth; one without counts.
#[test]
fn strict_mode_drops_and_counts_adverts_with_authentication() {
    let t0 = Instant::now();
    let mut instance = Instance::new(strict(100)).unwrap();
    instance.handle_event(t0, Event::Startup);
    drain(&mut instance);
    let mut with_pass = advert_from(&instance, 200);
    with_pass.auth = Auth::Pass(AuthKey::from_password("1111"));
    assert_eq!(
        instance.handle_packet(after(t0, 10), ip(HIGHER_PEER), Ok(with_pass)),
        Some(DropReason::StrictAuth)
    );
    assert_eq!(instance.stats().dropped.get(DropReason::StrictAuth), 1);
    assert_eq!(instance.peer_master(), None);
    let plain = advert_from(&instance, 200);
    assert_eq!(
        instance.handle_packet(after(t0, 20), ip(HIGHER_PEER), Ok(plain)),
        None
    );
    assert_eq!(instance.stats().adverts_received, 1);
}

/// Strict mode's master neither answers a lower priority at once nor
/// announces its addresses again (keepalived's strict defaults:
/// lower_prio_no_advert, garp_lower_prio_repeat 0), and, VRRPv2 and not
/// the owner, its addresses are added without Accept_Mode.
#[test]
fn a_strict_master_keeps_to_its_interval_and_does_not_accept() {
    let t0 = Instant::now();
    let mut instance = Instance::new(strict(100)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let due = instance.poll_timeout().unwrap();
    instance.handle_timeout(due);
    let actions = drain(&mut instance);
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::AddVips { accept: false, .. })));
    let lower = advert_from(&instance, 50);
    instance.handle_packet(due + Duration::from_millis(100), ip(LOWER_PEER), Ok(lower));
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), Vec::<u8>::new());
    assert_eq!(announced(&actions), Vec::<u32>::new());
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::MasterRxLowerPriority { .. })));
    assert_eq!(instance.state(), State::Master);
}

/// An owner in strict mode ignores adverts (keepalived 2.4) and accepts.
#[test]
fn a_strict_owner_ignores_adverts_and_accepts() {
    let t0 = Instant::now();
    let mut instance = Instance::new(strict(255)).unwrap();
    instance.handle_event(t0, Event::Startup);
    let actions = drain(&mut instance);
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::AddVips { accept: true, .. })));
    let rival = advert_from(&instance, 255);
    instance.handle_packet(after(t0, 10), ip(HIGHER_PEER), Ok(rival));
    assert_eq!(instance.state(), State::Master);
    assert_eq!(
        instance
            .stats()
            .dropped
            .get(DropReason::OwnerIgnoresAdverts),
        1
    );
}

/// The core refuses to run a strict instance whose settings were not reset.
#[test]
fn a_strict_instance_with_extensions_left_on_is_refused() {
    let mut p = params(100);
    p.strict = true;
    let refused = Instance::new(p).unwrap_err();
    assert!(refused
        .0
        .contains(&crate::proto::ParamsError::StrictUnreset(
            crate::proto::StrictReset::Auth
        )));
}

/// garp_extra_if 3 with adverts every second: the master announces the
/// extra addresses once, at the advert 3 s after it took its addresses
/// (keepalived checks at each advert), and every 3 s after that; on the
/// advert grid too.
#[test]
fn garp_extra_if_announces_the_extra_addresses_at_adverts() {
    let t0 = Instant::now();
    let extra = VirtualAddress::host(ip("198.51.100.203"));
    let params_with_extra = || {
        let mut p = params(255);
        p.extra_announce = Some(crate::proto::ExtraAnnounce {
            interval: Duration::from_secs(3),
            addresses: vec![extra],
        });
        p.excluded_addresses.push(extra);
        p
    };
    let mut instance = Instance::new(params_with_extra()).unwrap();
    instance.handle_event(t0, Event::Startup);
    drain(&mut instance);
    let mut extra_at = Vec::new();
    while let Some(due) = instance.poll_timeout() {
        if due > t0 + Duration::from_secs(10) {
            break;
        }
        instance.handle_timeout(due);
        for action in drain(&mut instance) {
            if let Action::Announce { addresses, count } = action {
                if addresses == vec![extra] {
                    assert_eq!(count, 1);
                    extra_at.push(due - t0);
                }
            }
        }
    }
    assert_eq!(
        extra_at,
        vec![
            Duration::from_secs(3),
            Duration::from_secs(6),
            Duration::from_secs(9)
        ],
        "{extra_at:?}"
    );

    // On a grid whose points fall 0.2 s before the whole seconds, each
    // advert woken late by a different amount: still every 3 s, at the
    // advert nearest each 3 s (the grid's adverts come up to a quarter
    // interval early), never slipping a whole advert.
    let mut instance = Instance::new(params_with_extra()).unwrap();
    instance.align_adverts_to(t0 + Duration::from_millis(800));
    instance.handle_event(t0, Event::Startup);
    drain(&mut instance);
    let mut extra_at = Vec::new();
    let mut late = [30u64, 1, 20, 2, 15, 3, 25, 1, 10, 2, 5]
        .into_iter()
        .cycle();
    while let Some(due) = instance.poll_timeout() {
        if due > t0 + Duration::from_secs(12) {
            break;
        }
        let woken = due + Duration::from_millis(late.next().unwrap());
        instance.handle_timeout(woken);
        for action in drain(&mut instance) {
            if matches!(&action, Action::Announce { addresses, .. } if addresses == &vec![extra]) {
                extra_at.push((due - t0).as_millis());
            }
        }
    }
    assert_eq!(extra_at, vec![2_800, 5_800, 8_800, 11_800], "{extra_at:?}");

    // garp_extra_if 5 with adverts every 4 s: keepalived announces at the
    // first advert 5 s or more after the last announcement, 8, 16, 24 s,
    // never at the advert a little before the time (4 s), grid or not,
    // however late each wake-up.
    for grid in [None, Some(t0 + Duration::from_millis(3_300))] {
        let mut p = params_with_extra();
        p.advert_interval = Centiseconds::from_secs(4);
        if let Some(extra) = p.extra_announce.as_mut() {
            extra.interval = Duration::from_secs(5);
        }
        let mut instance = Instance::new(p).unwrap();
        if let Some(origin) = grid {
            instance.align_adverts_to(origin);
        }
        instance.handle_event(t0, Event::Startup);
        drain(&mut instance);
        // The adverts after the first (at 0 s, taking the addresses) that
        // carried an announcement: the 2nd (8 s), the 4th, the 6th.
        let (mut adverts, mut extra_at) = (0, Vec::new());
        let mut late = [30u64, 1, 20, 2].into_iter().cycle();
        while let Some(due) = instance.poll_timeout() {
            if due > t0 + Duration::from_secs(26) {
                break;
            }
            instance.handle_timeout(due + Duration::from_millis(late.next().unwrap()));
            for action in drain(&mut instance) {
                match action {
                    Action::SendAdvert(_) => adverts += 1,
                    Action::Announce { addresses, .. } if addresses == vec![extra] => {
                        extra_at.push(adverts)
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(extra_at, vec![2, 4, 6], "grid {grid:?}: {extra_at:?}");
    }
}

/// interface_up_down_delays: a link that comes back within the down
/// delay is never acted on; one that stays down is FAULT once it has
/// passed; delays are cut below (down_timer_adverts - 1) intervals.
#[test]
fn a_link_that_bounces_within_its_delay_changes_nothing() {
    use crate::proto::LinkDelays;
    let t0 = Instant::now();
    let p = InstanceParams {
        link_delays: LinkDelays {
            down: Duration::from_secs(1),
            up: Duration::from_millis(500),
        },
        ..params(100)
    };
    let (mut instance, at) = master(p.clone(), t0);
    drain(&mut instance);
    instance.handle_event(at, Event::LinkDown);
    instance.handle_event(at + Duration::from_millis(400), Event::LinkUp);
    while let Some(due) = instance.poll_timeout() {
        if due > at + Duration::from_secs(3) {
            break;
        }
        instance.handle_timeout(due);
    }
    assert_eq!(instance.state(), State::Master, "a bounce is not a fault");

    let later = at + Duration::from_secs(5);
    instance.handle_event(later, Event::LinkDown);
    assert_eq!(instance.state(), State::Master, "not before the delay");
    instance.handle_timeout(later + Duration::from_millis(999));
    assert_eq!(instance.state(), State::Master);
    instance.handle_timeout(later + Duration::from_secs(1));
    assert_eq!(instance.state(), State::Fault);
    // Up again: out of FAULT only once the up delay has passed.
    let back = later + Duration::from_secs(2);
    instance.handle_event(back, Event::LinkUp);
    assert_eq!(instance.state(), State::Fault);
    instance.handle_timeout(back + Duration::from_millis(500));
    assert_ne!(instance.state(), State::Fault);

    let long = InstanceParams {
        link_delays: LinkDelays {
            down: Duration::from_secs(10),
            up: Duration::ZERO,
        },
        ..params(100)
    };
    // advert_int 1 s, down_timer_adverts 3: below 2 s.
    assert_eq!(
        long.effective_link_delays().down,
        Duration::from_secs(2) - Duration::from_secs(1) / 256
    );
}

/// keepalived 2.4's timer_expired_backup (vrrp.c
/// vrrp_thread_timeout_handler): a master that sent nothing for
/// 3 intervals + the skew of the highest other priority steps down
/// before it sends, or answers what it finds waiting; a late timer short
/// of that, or an instance without it, sends as usual.
#[test]
fn timer_expired_backup_steps_down_after_a_stall_before_anything_else() {
    let t0 = Instant::now();
    let nopreempt = |other: Option<u8>| InstanceParams {
        preempt: false,
        timer_expired_backup: other,
        ..params(150)
    };
    // 3 s + (256 - 200) / 256 s = 3.21875 s with other priority 200.
    let limit = Duration::from_millis(3_218) + Duration::from_micros(750);

    // Late, but not by enough: the advert goes out.
    let (mut instance, became) = master(nopreempt(Some(200)), t0);
    instance.handle_timeout(became + limit - Duration::from_millis(1));
    assert_eq!(instance.state(), State::Master);
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![150]);

    // Woken at the limit by the advert timer: backup, nothing sent.
    let (mut instance, became) = master(nopreempt(Some(200)), t0);
    instance.handle_timeout(became + limit);
    assert_eq!(instance.state(), State::Backup);
    let actions = drain(&mut instance);
    assert_eq!(sent_priorities(&actions), Vec::<u8>::new());
    assert!(matches!(actions[0], Action::RemoveVips { .. }));
    assert!(actions.iter().any(
        |a| matches!(a, Action::Notify(t) if matches!(t.reason, Reason::Overslept { silent } if silent == limit))
    ));

    // Woken by the lower-priority master's advert that took over meanwhile:
    // backup, no answer that would take the address back; it then
    // defers to that master (nopreempt).
    let (mut instance, became) = master(nopreempt(Some(200)), t0);
    let woken = became + Duration::from_secs(10);
    let advert = advert_from(&instance, 100);
    instance.handle_packet(woken, ip(LOWER_PEER), Ok(advert));
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(sent_priorities(&drain(&mut instance)), Vec::<u8>::new());
    assert_eq!(
        instance.peer_master().map(|m| m.priority),
        Some(100),
        "the lower master is deferred to"
    );

    // Without it, the same stall ends with an advert that preempts.
    let (mut instance, became) = master(nopreempt(None), t0);
    let advert = advert_from(&instance, 100);
    instance.handle_packet(became + Duration::from_secs(10), ip(LOWER_PEER), Ok(advert));
    assert_eq!(instance.state(), State::Master);
    assert_eq!(sent_priorities(&drain(&mut instance)), vec![150]);
}

/// Issue 24: instances given one grid origin send together whatever the
/// moment each became master, never later than one interval after the
/// last advert; timer_expired_backup still measures from the advert
/// actually sent, not from the (earlier) grid point.
#[test]
fn masters_on_one_grid_send_together_never_later_than_an_interval() {
    let origin = Instant::now();
    let interval = Duration::from_millis(20);
    let aligned_master = |became_after: Duration| {
        let mut instance = Instance::new(v3_params(255, 2)).unwrap();
        instance.align_adverts_to(origin);
        let became = origin + became_after;
        instance.handle_event(became, Event::Startup);
        assert_eq!(instance.state(), State::Master);
        drain(&mut instance);
        (instance, became)
    };
    let (mut a, a_became) = aligned_master(Duration::from_micros(100_300));
    let (mut b, b_became) = aligned_master(Duration::from_micros(103_700));
    let (next_a, next_b) = (a.poll_timeout().unwrap(), b.poll_timeout().unwrap());
    assert_eq!(next_a, next_b, "one wake-up sends both");
    assert!(next_a <= a_became + interval && next_b <= b_became + interval);
    assert!(next_b > b_became + interval * 3 / 4);
    // Advert after advert, woken a little late each time: still together,
    // one interval apart.
    let mut due = next_a;
    for _ in 0..5 {
        let woken = due + Duration::from_micros(250);
        a.handle_timeout(woken);
        b.handle_timeout(woken);
        assert_eq!(sent_priorities(&drain(&mut a)), vec![255]);
        assert_eq!(sent_priorities(&drain(&mut b)), vec![255]);
        assert_eq!(a.poll_timeout(), Some(due + interval));
        assert_eq!(b.poll_timeout(), a.poll_timeout());
        due += interval;
    }

    // Overslept: silent counts from the advert sent at `became`.
    let stalling_master = || {
        let mut instance = Instance::new(InstanceParams {
            preempt: false,
            timer_expired_backup: Some(200),
            ..v3_params(150, 100)
        })
        .unwrap();
        instance.align_adverts_to(origin);
        master_from(instance, origin + Duration::from_millis(1_700))
    };
    let (mut stalled, became) = stalling_master();
    // 3 s + 56/256 s from the advert sent when it became master; the grid
    // put the next one earlier than `became + 1 s`, which must not count.
    let limit = Duration::from_millis(3_218) + Duration::from_micros(750);
    stalled.handle_timeout(became + limit - Duration::from_millis(1));
    assert_eq!(stalled.state(), State::Master);
    // Woken again only at the limit (the advert just sent was at
    // limit - 1 ms, so this is a stall of its own only 1 ms long): master.
    // A fresh one woken first at the limit steps down.
    stalled.handle_timeout(became + limit);
    assert_eq!(stalled.state(), State::Master);
    let (mut fresh, became) = stalling_master();
    fresh.handle_timeout(became + limit);
    assert_eq!(fresh.state(), State::Backup);
}

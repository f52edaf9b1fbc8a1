//! The quorum fence in the state machine: a master holds its addresses
//! only with the key and a live lease, drops them at the lease's end by
//! its own clock, and lets the key go only after removing them.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::proto::fence::{FenceParams, OnQuorumLoss};
use crate::proto::packet::Vrid;
use crate::proto::params::VirtualAddress;

fn fenced(on_quorum_loss: OnQuorumLoss) -> Instance {
    let vip = VirtualAddress::host("192.0.2.203".parse().unwrap());
    let source: IpAddr = "192.0.2.201".parse().unwrap();
    let params = InstanceParams {
        priority: 100,
        fence: Some(FenceParams { on_quorum_loss }),
        ..InstanceParams::with_defaults("VI_1", Vrid::new(51).unwrap(), source, vec![vip])
    };
    Instance::new(params).unwrap()
}

fn drain(instance: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| instance.poll_action()).collect()
}

/// The actions, without adverts and notifications, as short names.
fn fence_actions(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::AddVips { .. } => Some("add"),
            Action::ExtendVips { .. } => Some("extend"),
            Action::RemoveVips { .. } => Some("remove"),
            Action::AcquireFence => Some("acquire"),
            Action::ReleaseFence => Some("release"),
            _ => None,
        })
        .collect()
}

const SECOND: Duration = Duration::from_secs(1);

/// Started, lease alive until `t0 + 10 s`, master by Master_Down: asked
/// for the key. Returns the instance and when it became master.
fn master_without_key(on_quorum_loss: OnQuorumLoss) -> (Instance, Instant) {
    let t0 = Instant::now();
    let mut instance = fenced(on_quorum_loss);
    instance.handle_event(t0, Event::Startup);
    instance.handle_event(
        t0,
        Event::Quorum {
            valid_until: t0 + 10 * SECOND,
        },
    );
    assert_eq!(instance.state(), State::Backup);
    let became = instance.poll_timeout().unwrap();
    instance.handle_timeout(became);
    assert_eq!(instance.state(), State::Master);
    let actions = drain(&mut instance);
    assert_eq!(
        fence_actions(&actions),
        ["remove", "acquire"],
        "{actions:?}"
    );
    (instance, became)
}

/// `master_without_key`, then given the key: holding its addresses.
fn master_holding(on_quorum_loss: OnQuorumLoss) -> (Instance, Instant) {
    let (mut instance, became) = master_without_key(on_quorum_loss);
    instance.handle_event(
        became,
        Event::FenceHeld {
            usable_from: became,
        },
    );
    assert_eq!(fence_actions(&drain(&mut instance)), ["add"]);
    (instance, became)
}

#[test]
fn a_fenced_instance_waits_in_fault_for_its_lease() {
    let t0 = Instant::now();
    let mut instance = fenced(OnQuorumLoss::Release);
    instance.handle_event(t0, Event::Startup);
    assert_eq!(instance.state(), State::Fault);
    assert_eq!(instance.fault_cause(), Some(FaultCause::QuorumLost));
    instance.handle_event(
        t0,
        Event::Quorum {
            valid_until: t0 + SECOND,
        },
    );
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn a_master_adds_its_addresses_only_once_it_holds_the_key() {
    let (mut instance, became) = master_without_key(OnQuorumLoss::Release);
    // Master by VRRP, adverts going out, no addresses.
    assert!(!instance.fence().unwrap().holding);
    let now = became + Duration::from_millis(5);
    instance.handle_event(now, Event::FenceHeld { usable_from: now });
    let actions = drain(&mut instance);
    assert_eq!(fence_actions(&actions), ["add"]);
    match &actions[0] {
        Action::AddVips { valid_until, .. } => {
            // The lease's end goes with them, for the kernel lifetime.
            assert_eq!(*valid_until, instance.fence().unwrap().quorum_until);
            assert!(valid_until.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(actions.iter().any(|a| matches!(a, Action::Announce { .. })));
    // A renewal extends them.
    instance.handle_event(
        now,
        Event::Quorum {
            valid_until: now + 20 * SECOND,
        },
    );
    let actions = drain(&mut instance);
    assert_eq!(
        actions,
        vec![Action::ExtendVips {
            addresses: instance.params().held_addresses(),
            valid_until: Some(now + 20 * SECOND),
        }]
    );
}

#[test]
fn a_key_taken_from_an_expired_holder_is_used_only_after_its_kernel_wait() {
    let (mut instance, became) = master_without_key(OnQuorumLoss::Release);
    let usable_from = became + SECOND;
    instance.handle_event(became, Event::FenceHeld { usable_from });
    assert!(fence_actions(&drain(&mut instance)).is_empty());
    assert!(
        instance.poll_timeout().unwrap() <= usable_from,
        "a timer for it"
    );
    instance.handle_timeout(usable_from - Duration::from_nanos(1));
    assert!(fence_actions(&drain(&mut instance)).is_empty());
    instance.handle_timeout(usable_from);
    assert_eq!(fence_actions(&drain(&mut instance)), ["add"]);
}

#[test]
fn the_lease_running_out_by_our_clock_drops_the_addresses_without_etcd() {
    let (mut instance, became) = master_holding(OnQuorumLoss::Release);
    let t0_lease_end = instance.fence().unwrap().quorum_until.unwrap();
    // Adverts keep the timer busy; the lease end comes among them.
    let mut now = became;
    while now < t0_lease_end {
        now = instance.poll_timeout().unwrap();
        instance.handle_timeout(now);
        let actions = drain(&mut instance);
        if now < t0_lease_end {
            assert!(fence_actions(&actions).is_empty(), "{actions:?}");
        } else {
            // Addresses first, the key after them; then FAULT.
            let fence = fence_actions(&actions);
            assert_eq!(fence.first(), Some(&"remove"));
            assert_eq!(fence.last(), Some(&"release"));
        }
    }
    assert_eq!(now, t0_lease_end, "dropped at the deadline, not later");
    assert_eq!(instance.state(), State::Fault);
    assert_eq!(instance.fault_cause(), Some(FaultCause::QuorumLost));
    // etcd answers again: a new lease, back to BACKUP.
    instance.handle_event(
        now,
        Event::Quorum {
            valid_until: now + 10 * SECOND,
        },
    );
    assert_eq!(instance.state(), State::Backup);
}

#[test]
fn a_preempted_master_lets_the_key_go_after_removing_its_addresses() {
    let (mut instance, became) = master_holding(OnQuorumLoss::Release);
    let better = Advert {
        version: Version::V2,
        vrid: Vrid::new(51).unwrap(),
        priority: 200,
        interval: Centiseconds::from_secs(1),
        auth: Auth::None,
        addresses: instance.params().advertised_addresses(),
    };
    instance.handle_packet(became, "192.0.2.250".parse().unwrap(), Ok(better));
    assert_eq!(instance.state(), State::Backup);
    assert_eq!(fence_actions(&drain(&mut instance)), ["remove", "release"]);
}

#[test]
fn a_lost_key_takes_the_addresses_until_it_is_held_again() {
    let (mut instance, became) = master_holding(OnQuorumLoss::Release);
    instance.handle_event(became, Event::FenceLost);
    assert_eq!(instance.state(), State::Master);
    // Asked for again: the daemon takes it once it is free.
    assert_eq!(fence_actions(&drain(&mut instance)), ["remove", "acquire"]);
    instance.handle_event(
        became,
        Event::FenceHeld {
            usable_from: became,
        },
    );
    assert_eq!(fence_actions(&drain(&mut instance)), ["add"]);
}

#[test]
fn a_key_granted_to_a_master_that_is_one_no_longer_goes_back() {
    let t0 = Instant::now();
    let mut instance = fenced(OnQuorumLoss::Release);
    instance.handle_event(t0, Event::Startup);
    instance.handle_event(
        t0,
        Event::Quorum {
            valid_until: t0 + SECOND,
        },
    );
    drain(&mut instance);
    instance.handle_event(t0, Event::FenceHeld { usable_from: t0 });
    assert_eq!(fence_actions(&drain(&mut instance)), ["release"]);
}

#[test]
fn keep_holds_the_addresses_through_a_quorum_loss_until_the_key_is_lost() {
    let (mut instance, became) = master_holding(OnQuorumLoss::Keep);
    instance.handle_event(became, Event::QuorumLost);
    assert_eq!(instance.state(), State::Master);
    let actions = drain(&mut instance);
    assert!(
        actions.contains(&Action::ExtendVips {
            addresses: instance.params().held_addresses(),
            valid_until: None,
        }),
        "kept for ever: {actions:?}"
    );
    // Back: asked for the key while still holding.
    instance.handle_event(
        became,
        Event::Quorum {
            valid_until: became + SECOND,
        },
    );
    assert_eq!(fence_actions(&drain(&mut instance)), ["acquire"]);
    // Another took it meanwhile: the addresses go.
    instance.handle_event(became, Event::FenceLost);
    assert_eq!(fence_actions(&drain(&mut instance)), ["remove", "acquire"]);
}

#[test]
fn an_unfenced_instance_is_untouched_by_fence_events() {
    let t0 = Instant::now();
    let vip = VirtualAddress::host("192.0.2.203".parse().unwrap());
    let params = InstanceParams::with_defaults(
        "VI_1",
        Vrid::new(51).unwrap(),
        "192.0.2.201".parse().unwrap(),
        vec![vip],
    );
    let mut instance = Instance::new(params).unwrap();
    instance.handle_event(t0, Event::Startup);
    instance.handle_event(t0, Event::QuorumLost);
    instance.handle_event(t0, Event::FenceLost);
    assert_eq!(instance.state(), State::Backup);
    assert!(instance.fence().is_none());
}

#[test]
fn a_restart_replays_the_fence_before_resuming_without_letting_the_key_go() {
    let t0 = Instant::now();
    let mut instance = fenced(OnQuorumLoss::Release);
    instance.handle_event(
        t0,
        Event::Quorum {
            valid_until: t0 + SECOND,
        },
    );
    instance.handle_event(t0, Event::FenceHeld { usable_from: t0 });
    instance.handle_event(t0, Event::Resume);
    assert_eq!(instance.state(), State::Master);
    // Resumed holding: no release, no gap.
    assert_eq!(fence_actions(&drain(&mut instance)), ["add"]);
}

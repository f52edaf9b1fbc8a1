//! Every instance's state changes as they happen, for the listeners that
//! act on them (the SNMP subagent's traps). A process-wide broadcast:
//! instances publish without knowing who listens, so neither their
//! constructor nor a reload has to carry a handle, and publishing costs
//! nothing while nobody subscribes. Bounded: a listener that falls
//! behind loses the oldest changes and is told how many.

use std::sync::OnceLock;
use std::time::Instant;

use tokio::sync::broadcast;

use crate::proto::{State, Transition};

/// Changes held for a slow listener before the oldest are lost: every
/// instance of a large configuration (keepalived's run into the
/// hundreds) changing state at once, several times, fits. Each holds a
/// name and a few words.
pub const CAPACITY: usize = 4096;

/// Why an instance went back to Initialize, when it stopped: keepalived
/// reports these in vrrpInstanceStateChange as shutdown(5) and deleted(6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The daemon stops (SIGTERM).
    Shutdown,
    /// A reload removed the instance.
    Deleted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The instance's name, or the sync group's if `group`.
    pub instance: String,
    /// A sync group changed state, not an instance.
    pub group: bool,
    pub from: State,
    pub to: State,
    /// Set when the change is the instance stopping.
    pub stop: Option<Stop>,
}

static FEED: OnceLock<broadcast::Sender<StateChange>> = OnceLock::new();

fn feed() -> &'static broadcast::Sender<StateChange> {
    FEED.get_or_init(|| broadcast::channel(CAPACITY).0)
}

/// Tells every listener that `instance` made transition `t`; never waits.
pub fn publish(instance: &str, t: &Transition, stop: Option<Stop>) {
    let feed = feed();
    if feed.receiver_count() == 0 {
        return;
    }
    let _ = feed.send(StateChange {
        instance: instance.to_string(),
        group: false,
        from: t.from,
        to: t.to,
        stop,
    });
}

/// Tells every listener that sync group `group` went from `from` to `to`
/// (`stop`: the daemon stops, which keepalived reports as the group's
/// state STOP: vrrp_notify.c notify_shutdown).
pub fn publish_group(group: &str, from: State, to: State, stop: Option<Stop>) {
    let feed = feed();
    if feed.receiver_count() == 0 {
        return;
    }
    let _ = feed.send(StateChange {
        instance: group.to_string(),
        group: true,
        from,
        to,
        stop,
    });
}

/// Changes from now on. Starts the uptime clock too: the subscriber (the
/// SNMP subagent) is made before any instance starts.
pub fn subscribe() -> broadcast::Receiver<StateChange> {
    let _ = uptime_centiseconds();
    feed().subscribe()
}

/// sysUpTime as the subagent serves it: centiseconds since the daemon
/// first asked (the subagent's making, or an instance's first change).
/// Monotonic, so a wall clock step moves neither traps' sysUpTime nor the
/// up-time objects stamped with it; TimeTicks wrap as SNMP's do.
pub fn uptime_centiseconds() -> u32 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = START.get_or_init(Instant::now);
    (start.elapsed().as_millis() / 10) as u32
}

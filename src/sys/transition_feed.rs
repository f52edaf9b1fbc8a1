//! Every instance's state changes as they happen, for the listeners that
//! act on them (the SNMP subagent's traps). A process-wide broadcast:
//! instances publish without knowing who listens, so neither their
//! constructor nor a reload has to carry a handle, and publishing costs
//! nothing while nobody subscribes. Bounded: a listener that falls
//! behind loses the oldest changes and is told how many.

use std::sync::OnceLock;

use tokio::sync::broadcast;

use crate::proto::{State, Transition};

/// Changes held for a slow listener before the oldest are lost.
const CAPACITY: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    pub instance: String,
    pub from: State,
    pub to: State,
}

static FEED: OnceLock<broadcast::Sender<StateChange>> = OnceLock::new();

fn feed() -> &'static broadcast::Sender<StateChange> {
    FEED.get_or_init(|| broadcast::channel(CAPACITY).0)
}

/// Tells every listener that `instance` made transition `t`; never waits.
pub fn publish(instance: &str, t: &Transition) {
    let feed = feed();
    if feed.receiver_count() == 0 {
        return;
    }
    let _ = feed.send(StateChange {
        instance: instance.to_string(),
        from: t.from,
        to: t.to,
    });
}

/// Changes from now on.
pub fn subscribe() -> broadcast::Receiver<StateChange> {
    feed().subscribe()
}

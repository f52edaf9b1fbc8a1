//! Events from outside the protocol that an instance reacts to.

use super::sync::SyncCommand;
use super::tracker::TrackerEffect;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Begin running (RFC 5798 §6.4.1 Startup).
    Startup,
    /// Begin running after a restart of our own while the addresses are
    /// still on the interface: resume as master without moving them.
    Resume,
    /// Stop (RFC 5798 Shutdown): a master says so with priority 0.
    Shutdown,
    LinkDown,
    LinkUp,
    /// The daemon cannot run the instance now (no source address, no
    /// socket, no timer): FAULT until `Available`. Replaces an earlier
    /// reason.
    Unavailable(String),
    /// What made it unavailable is mended.
    Available,
    /// The interface's address the instance sends from changed (the
    /// daemon follows the interface, as keepalived does when no source
    /// is configured). Another family's address is ignored.
    SourceChanged(std::net::IpAddr),
    /// A tracker's current effect, replacing any earlier one of that name.
    Tracker {
        name: String,
        effect: TrackerEffect,
    },
    /// The instance's sync group says so.
    Sync(SyncCommand),
    /// Quorum fence: our lease in etcd is alive until then, by our clock
    /// (`fence::lease_deadline` of the last keepalive etcd answered).
    Quorum {
        valid_until: std::time::Instant,
    },
    /// Quorum fence: the lease is gone (etcd said so, or it was given up).
    QuorumLost,
    /// Quorum fence: the key is ours; the addresses may be used from
    /// `usable_from` (a former holder's kernel may hold them till then).
    FenceHeld {
        usable_from: std::time::Instant,
    },
    /// Quorum fence: the key is not ours (another holds it, or it went).
    FenceLost,
}

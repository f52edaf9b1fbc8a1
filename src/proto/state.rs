//! Instance states, why an instance changes state, and the record of a change.

use std::fmt;
use std::net::IpAddr;

/// RFC 5798 §6.4 states, plus keepalived's FAULT: the instance cannot
/// serve (link down, or a weight-0 tracker failing) and neither holds
/// the addresses nor competes for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Initialize,
    Backup,
    Master,
    Fault,
}

impl State {
    /// keepalived's spelling, which log watchers and notify scripts match on.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultCause {
    LinkDown,
    /// The instance cannot run here now: no address to send from, or no
    /// socket or timer to be had. What the daemon saw, in its words.
    Unavailable(String),
    /// Unicast with no peers (keepalived's unicast_fault_no_peer).
    NoUnicastPeers,
    /// Another member of the instance's sync group is in FAULT.
    SyncGroup,
    Tracker(String),
    /// Quorum fence: no live lease in etcd (and on_quorum_loss: release).
    QuorumLost,
}

impl FaultCause {
    /// A short fixed name, for a metric label.
    pub const fn kind(&self) -> &'static str {
        match self {
            FaultCause::LinkDown => "link_down",
            FaultCause::Unavailable(_) => "unavailable",
            FaultCause::NoUnicastPeers => "no_unicast_peers",
            FaultCause::SyncGroup => "sync_group",
            FaultCause::Tracker(_) => "tracker",
            FaultCause::QuorumLost => "quorum_lost",
        }
    }
}

impl fmt::Display for FaultCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Reason::Fault(self.clone()).fmt(f)
    }
}

/// Why a transition happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup event: owner to Master, everyone else to Backup.
    Startup,
    /// Restarted while still holding the addresses: resume as master
    /// without moving them (vipd; not in the RFC).
    Resumed,
    /// Master_Down_Timer fired: no advert from a master we defer to.
    MasterDown,
    /// A master heard a better advert.
    Preempted {
        priority: u8,
        source: IpAddr,
    },
    Fault(FaultCause),
    FaultCleared,
    /// The instance's sync group moved it with the other members.
    SyncGroup,
    /// A master sent no advert for as long as another router would take
    /// to take over: it was not running (keepalived 2.4's
    /// timer_expired_backup).
    Overslept {
        silent: std::time::Duration,
    },
    Shutdown,
}

impl Reason {
    /// Where the behaviour is specified.
    pub const fn citation(&self) -> &'static str {
        match self {
            Reason::Startup => "RFC 5798 §6.4.1",
            Reason::Resumed => "vipd: actor restart keeps the addresses",
            Reason::MasterDown => "RFC 5798 §6.4.2",
            Reason::Preempted { .. } => "RFC 5798 §6.4.3",
            Reason::Fault(_) | Reason::FaultCleared => "keepalived FAULT state",
            Reason::SyncGroup => "keepalived vrrp_sync.c",
            Reason::Overslept { .. } => "keepalived 2.4 vrrp.c vrrp_thread_timeout_handler",
            Reason::Shutdown => "RFC 5798 §6.4.2/§6.4.3 Shutdown event",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Resumed => f.write_str("resumed while holding the addresses"),
            Reason::MasterDown => f.write_str("master down timer expired"),
            Reason::Preempted { priority, source } => {
                write!(f, "advert from {source} with priority {priority} wins")
            }
            Reason::Fault(FaultCause::LinkDown) => f.write_str("interface down"),
            Reason::Fault(FaultCause::Unavailable(why)) => f.write_str(why),
            Reason::Fault(FaultCause::NoUnicastPeers) => f.write_str("unicast without any peers"),
            Reason::Fault(FaultCause::SyncGroup) => f.write_str("a sync group member is in FAULT"),
            Reason::SyncGroup => f.write_str("sync group"),
            Reason::Overslept { silent } => write!(
                f,
                "no advert sent for {:.1} s: another router may have taken over (timer_expired_backup)",
                silent.as_secs_f64()
            ),
            Reason::Fault(FaultCause::Tracker(name)) => write!(f, "tracker {name} failed"),
            Reason::Fault(FaultCause::QuorumLost) => {
                f.write_str("quorum lost: no live lease in etcd")
            }
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::Shutdown => f.write_str("shutdown"),
        }
    }
}

/// One state change, as reported to logs and notify scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub reason: Reason,
    /// Effective priority at the time of the change.
    pub priority: u8,
}

//! What the core asks the world to do. Drained in order with
//! `Instance::poll_action`; the order is meaningful (advert before
//! announcements, notification last).

use std::time::Instant;

use super::packet::Advert;
use super::params::VirtualAddress;
use super::state::Transition;
use super::sync::SyncReport;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this advert to the group (TTL 255, from the primary address).
    SendAdvert(Advert),
    /// Add the addresses to the interface. `accept`: whether packets to
    /// them may be accepted (RFC 5798 Accept_Mode, or owner).
    /// `valid_until`: a fenced master's lease end, which the kernel must
    /// enforce too (an address lifetime), should the daemon stop running.
    AddVips {
        addresses: Vec<VirtualAddress>,
        accept: bool,
        valid_until: Option<Instant>,
    },
    /// The held addresses may stay until `valid_until` (None: for ever):
    /// the fence's lease was renewed.
    ExtendVips {
        addresses: Vec<VirtualAddress>,
        valid_until: Option<Instant>,
    },
    /// Remove the addresses from the interface (absent ones are fine).
    RemoveVips { addresses: Vec<VirtualAddress> },
    /// Quorum fence: take the key (when it is free) for this master.
    AcquireFence,
    /// Quorum fence: let the key go, once the addresses removed before
    /// this action are off the interface.
    ReleaseFence,
    /// Gratuitous ARP (IPv4) or unsolicited NA with override (IPv6),
    /// `count` times for each address.
    Announce {
        addresses: Vec<VirtualAddress>,
        count: u32,
    },
    /// The instance changed state.
    Notify(Transition),
    /// A master heard an advert of lower priority (another host took
    /// over while it could not hear us): keepalived's
    /// `notify_master_rx_lower_pri`. At most once per advert interval.
    MasterRxLowerPriority {
        source: std::net::IpAddr,
        priority: u8,
    },
    /// Effective priority changed (a tracker moved it).
    PriorityChanged { from: u8, to: u8 },
    /// For the instance's sync group: whether it would be master, and
    /// whether it has a fault of its own. Only sync group members emit it.
    SyncReport(SyncReport),
    /// auth_hmac: an advert from `source` verified, but its clock is
    /// `skew_secs` from ours, past half the `window_secs` it must stay
    /// within: the clocks need fixing before its adverts are refused.
    ClockSkew {
        source: std::net::IpAddr,
        skew_secs: i64,
        window_secs: u32,
    },
}

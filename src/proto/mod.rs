//! The VRRP protocol, sans-IO: packet codec and state machine.
//!
//! Nothing here touches a socket, reads a clock or spawns a task: time
//! comes in as the `now` argument of each `handle_*` call and work goes
//! out as [`Action`]s, so every behaviour is testable in virtual time.
#![forbid(unsafe_code)]

pub mod action;
pub mod arrival;
pub mod auth_hmac;
pub mod checksum;
pub mod event;
pub mod fence;
pub mod fsm;
pub mod interval;
pub mod pacing;
pub mod packet;
pub mod params;
pub mod process_quorum;
pub mod source;
pub mod state;
pub mod stats;
pub mod strict;
pub mod sync;
pub mod timers;
pub mod tracker;

pub use action::Action;
pub use arrival::Arrival;
pub use auth_hmac::{AntiReplay, HmacKey, HmacMode, HmacParams, Trailer, UnixTime};
pub use event::Event;
pub use fence::{FenceParams, OnQuorumLoss};
pub use fsm::{FenceView, Instance, PeerMaster};
pub use interval::Centiseconds;
pub use packet::{
    AddressList, Advert, Auth, AuthKey, DecodeError, EncodeError, Endpoints, Signed, V3Checksum,
    Version, Vrid,
};
pub use params::{
    AdvertRules, AnnounceSchedule, ExtraAnnounce, InstanceParams, InvalidParams, LinkDelays, Param,
    ParamsError, Unicast, UnicastChecksum, UnicastPeer, VirtualAddress, MAX_PREEMPT_DELAY,
};
pub use process_quorum::{CountCause, ProcessQuorum, QuorumParams};
pub use source::{choose_source, is_link_local, LocalAddress, SourceError};
pub use state::{FaultCause, Reason, State, Transition};
pub use stats::{DropReason, Stats};
pub use strict::{default_accept, StrictReset};
pub use sync::{GroupTransition, SyncCommand, SyncGroup, SyncReport};
pub use tracker::{check_weight, RiseFall, TrackerEffect, WeightOutOfRange};

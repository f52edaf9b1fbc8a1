//! The VRRP state machine for one virtual router (RFC 5798 §6.4 with
//! RFC 9568's clarifications; RFC 3768 for v2), sans-IO.
//!
//! Inputs carry the time they happen at: [`Instance::handle_packet`],
//! [`Instance::handle_timeout`], [`Instance::handle_event`]. Outputs are
//! drained with [`Instance::poll_action`]; [`Instance::poll_timeout`] says
//! when to call `handle_timeout` next. Every state change goes through
//! [`Instance::transition`].

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use super::action::Action;
use super::arrival::Arrival;
use super::auth_hmac::{HmacParams, HmacState, Trailer, UnixTime};
use super::event::Event;
use super::fence::{Fence, OnQuorumLoss};
use super::interval::Centiseconds;
use super::packet::{
    AddressList, Advert, Auth, DecodeError, Endpoints, Signed, V3Checksum, Version,
};
use super::params::{InstanceParams, InvalidParams, UnicastChecksum};
use super::state::{FaultCause, Reason, State, Transition};
use super::stats::{DropReason, Stats};
use super::sync::{SyncCommand, SyncReport};
use super::timers::{master_down_interval, next_advert, skew_time, Timer};
use super::tracker::{effective_priority, TrackerEffect};

/// VRRPv2 auth type 2, IP Authentication Header (RFC 2338; removed by RFC
/// 3768, still a type keepalived knows).
const AUTH_TYPE_AH: u8 = 2;

/// The master a backup currently defers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerMaster {
    pub address: IpAddr,
    pub priority: u8,
}

#[derive(Debug)]
pub struct Instance {
    params: InstanceParams,
    /// An advert summed the old unicast way was heard (and accepted):
    /// with `old_unicast_checksum` auto, this instance sums so too.
    old_checksum_heard: bool,
    advertised: AddressList,
    state: State,
    /// Effective priority: base plus tracker adjustments, clamped.
    priority: u8,
    /// RFC 5798 Master_Adver_Interval: ours, or (v3) learned from the master.
    master_adver_interval: Centiseconds,
    trackers: BTreeMap<String, TrackerEffect>,
    link_up: bool,
    /// Why the daemon cannot run this instance now, if it cannot.
    unavailable: Option<String>,
    adver_timer: Timer,
    master_down_timer: Timer,
    announce_timer: Timer,
    refresh_timer: Timer,
    /// garp_lower_prio_delay: the second burst after a lower priority.
    lower_prio_timer: Timer,
    /// The link as last reported, and the delay before acting on it
    /// (interface_up_down_delays).
    link_reported: bool,
    link_timer: Timer,
    /// garp_extra_if: the extra announcements are due at the first advert
    /// after this (keepalived checks at each advert, vrrp.c
    /// vrrp_state_master_tx).
    extra_due: Option<Instant>,
    /// When keepalived would have sent this master's latest advert: its
    /// first at taking the addresses, then one interval after another,
    /// without the advert grid's pull or the wake-ups' lateness, so
    /// that garp_extra_if keeps keepalived's spacing.
    advert_nominal: Option<Instant>,
    /// vrrp_startup_delay: until then, Master_Down_Timer counts from
    /// this instant, not from now.
    delayed_until: Option<Instant>,
    /// keepalived preempt_delay: until then a lower-priority master is
    /// deferred to. Set when the first such advert arrives.
    preempt_deadline: Option<Instant>,
    /// When a master last answered a lower-priority advert at once
    /// (RFC 9568), so forged adverts cannot make it send one per packet.
    last_immediate_answer: Option<Instant>,
    peer_master: Option<PeerMaster>,
    /// Held in FAULT by the sync group (another member's fault).
    sync_fault: bool,
    /// What the sync group was last told.
    sync_report: SyncReport,
    started: bool,
    stopped: bool,
    actions: VecDeque<Action>,
    stats: Stats,
    /// auth_hmac's sequences: what we last sent, what each sender last
    /// sent that we accepted.
    hmac: HmacState,
    /// Where `sign` encodes the advert it signs.
    sign_buffer: Vec<u8>,
    /// The quorum fence, if the instance is fenced.
    fence: Option<Fence>,
    fence_timer: Timer,
    /// A master's addresses are on the interface (asked for, at least).
    holding: bool,
    /// The origin of the grid adverts are due on (timers::next_advert),
    /// shared by the process's instances; None: exactly one interval.
    advert_grid: Option<Instant>,
    /// When Adver_Timer was last armed: the last advert sent, which the
    /// grid makes more than `deadline - interval` ago.
    adver_armed_at: Option<Instant>,
}

impl Instance {
    pub fn new(params: InstanceParams) -> Result<Instance, InvalidParams> {
        params.validate()?;
        Ok(Instance {
            advertised: params.advertised_addresses(),
            priority: params.priority,
            master_adver_interval: params.advert_interval,
            state: State::Initialize,
            trackers: BTreeMap::new(),
            link_up: true,
            unavailable: None,
            adver_timer: Timer::default(),
            master_down_timer: Timer::default(),
            announce_timer: Timer::default(),
            refresh_timer: Timer::default(),
            lower_prio_timer: Timer::default(),
            link_reported: true,
            link_timer: Timer::default(),
            extra_due: None,
            advert_nominal: None,
            delayed_until: None,
            preempt_deadline: None,
            last_immediate_answer: None,
            peer_master: None,
            sync_fault: false,
            sync_report: SyncReport::default(),
            started: false,
            stopped: false,
            actions: VecDeque::new(),
            stats: Stats::default(),
            hmac: HmacState::default(),
            sign_buffer: Vec::new(),
            fence: params.fence.map(Fence::new),
            fence_timer: Timer::default(),
            holding: false,
            advert_grid: None,
            adver_armed_at: None,
            old_checksum_heard: false,
            params,
        })
    }

    pub fn params(&self) -> &InstanceParams {
        &self.params
    }

    pub fn name(&self) -> &str {
        &self.params.name
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn priority(&self) -> u8 {
        self.priority
    }

    pub fn master_adver_interval(&self) -> Centiseconds {
        self.master_adver_interval
    }

    /// The master this instance defers to while in Backup.
    pub fn peer_master(&self) -> Option<PeerMaster> {
        self.peer_master
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Why the instance is (or would be, once started) in FAULT.
    pub fn fault_cause(&self) -> Option<FaultCause> {
        self.own_fault_cause()
            .or(self.sync_fault.then_some(FaultCause::SyncGroup))
    }

    /// Adverts fall due on a grid from `origin` (timers::next_advert):
    /// every instance of the process given the same origin sends with the
    /// others of its interval.
    pub fn align_adverts_to(&mut self, origin: Instant) {
        self.advert_grid = Some(origin);
    }

    /// Adver_Timer for the next advert after one sent at `now`.
    fn arm_adver_timer(&mut self, now: Instant) {
        let interval = self.params.advert_interval.as_duration();
        self.adver_timer
            .arm_at(next_advert(now, interval, self.advert_grid));
        self.adver_armed_at = Some(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next instant `handle_timeout` has work to do, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            &self.adver_timer,
            &self.master_down_timer,
            &self.announce_timer,
            &self.refresh_timer,
            &self.lower_prio_timer,
            &self.link_timer,
            &self.fence_timer,
        ]
        .into_iter()
        .filter_map(Timer::deadline)
        .min()
    }

    /// Runs every timer that is due; a call with nothing due does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        // The fence first: a master waking from a stop (SIGSTOP, a hung
        // host) past its lease must not send one more advert as if it
        // still held the addresses.
        if self.fence_timer.fire(now) {
            self.fence_moved(now);
        }
        self.step_down_if_overslept(now);
        if self.link_timer.fire(now) && self.link_reported != self.link_up {
            self.apply_link(now, self.link_reported);
        }
        if self.master_down_timer.fire(now) && self.state == State::Backup {
            if self.params.sync_member {
                // keepalived's wantstate: master only with the whole group.
                // Keep the timer running so the wish is renewed.
                self.arm_master_down(now);
                self.report_to_group(Some(true));
            } else {
                self.transition(now, State::Master, Reason::MasterDown);
            }
        }
        if self.adver_timer.fire(now) && self.state == State::Master {
            self.send_advert(self.priority);
            self.arm_adver_timer(now);
            self.extra_announce(now);
        }
        if self.announce_timer.fire(now) && self.state == State::Master && self.holding {
            self.announce(self.params.announce.repeat);
        }
        if self.refresh_timer.fire(now) && self.state == State::Master && self.holding {
            self.announce(self.params.announce.refresh_repeat);
            self.refresh_timer.arm(now, self.params.announce.refresh);
        }
        if self.lower_prio_timer.fire(now) && self.state == State::Master && self.holding {
            self.announce(self.params.announce.lower_prio_repeat);
        }
    }

    pub fn handle_event(&mut self, now: Instant, event: Event) {
        if self.stopped {
            return;
        }
        if event != Event::Shutdown {
            self.step_down_if_overslept(now);
        }
        match event {
            Event::Startup | Event::Resume if self.started => {}
            Event::Startup => {
                self.started = true;
                if !self.params.startup_delay.is_zero() {
                    self.delayed_until = Some(now + self.params.startup_delay);
                }
                if let Some(cause) = self.fault_cause() {
                    self.transition(now, State::Fault, Reason::Fault(cause));
                } else if self.params.is_owner() {
                    self.transition(now, State::Master, Reason::Startup);
                } else {
                    self.transition(now, State::Backup, Reason::Startup);
                }
            }
            Event::Resume => {
                self.started = true;
                match self.fault_cause() {
                    Some(cause) => self.transition(now, State::Fault, Reason::Fault(cause)),
                    None => self.transition(now, State::Master, Reason::Resumed),
                }
            }
            Event::Shutdown => {
                self.stopped = true;
                self.transition(now, State::Initialize, Reason::Shutdown);
            }
            Event::LinkDown if self.params.dont_track_primary => {}
            Event::LinkDown => self.link_event(now, false),
            Event::LinkUp => self.link_event(now, true),
            Event::Unavailable(why) => {
                self.unavailable = Some(why);
                self.reevaluate(now);
            }
            Event::Available => {
                self.unavailable = None;
                self.reevaluate(now);
            }
            Event::SourceChanged(address) => {
                if address.is_ipv6() == self.params.primary_address.is_ipv6() {
                    self.params.primary_address = address;
                }
            }
            Event::Tracker { name, effect } => {
                self.trackers.insert(name, effect);
                self.reevaluate(now);
            }
            Event::Sync(SyncCommand::GoMaster) => {
                if self.state == State::Backup && self.fault_cause().is_none() {
                    self.transition(now, State::Master, Reason::SyncGroup);
                }
            }
            Event::Sync(SyncCommand::GoBackup) => {
                if self.state == State::Master {
                    self.transition(now, State::Backup, Reason::SyncGroup);
                }
            }
            Event::Sync(SyncCommand::Fault(fault)) => {
                self.sync_fault = fault;
                self.reevaluate(now);
            }
            Event::Quorum { valid_until } => self.quorum(now, Some(valid_until)),
            Event::QuorumLost => self.quorum(now, None),
            Event::FenceHeld { usable_from } => {
                if let Some(fence) = &mut self.fence {
                    fence.key_held = true;
                    fence.asked = false;
                    fence.usable_from = (usable_from > now).then_some(usable_from);
                    if fence.kept && self.holding && fence.quorum(now) {
                        // Holding all along: no other holder to wait for.
                        fence.usable_from = None;
                        fence.kept = false;
                        self.actions.push_back(Action::ExtendVips {
                            addresses: self.params.held_addresses(),
                            valid_until: fence.quorum_until,
                        });
                    }
                    if self.started && self.state != State::Master {
                        // Taken for a master that is one no longer. (Before
                        // the start it is a restart's replay: kept.)
                        fence.key_held = false;
                        self.actions.push_back(Action::ReleaseFence);
                    }
                }
                self.fence_moved(now);
            }
            Event::FenceLost => {
                if let Some(fence) = &mut self.fence {
                    fence.key_held = false;
                    fence.kept = false;
                    // Asked for again (the daemon's answer to an ask for a
                    // key another holds is silence, not a loop).
                    fence.asked = false;
                }
                self.fence_moved(now);
            }
        }
        self.report_to_group(None);
    }

    /// Tells the sync group (if any) what changed: `wants_master` when
    /// given, and whether this instance has a fault of its own.
    fn report_to_group(&mut self, wants_master: Option<bool>) {
        if !self.params.sync_member {
            return;
        }
        let report = SyncReport {
            wants_master: wants_master.unwrap_or(self.sync_report.wants_master)
                && self.state == State::Backup,
            own_fault: self.started && !self.stopped && self.own_fault_cause().is_some(),
        };
        if report != self.sync_report {
            self.sync_report = report;
            self.actions.push_back(Action::SyncReport(report));
        }
    }

    /// A packet that arrived from `source` to the VRRP group with TTL 255,
    /// already decoded (or not). See [`Instance::handle_arrival`].
    pub fn handle_packet(
        &mut self,
        now: Instant,
        source: IpAddr,
        packet: Result<Advert, DecodeError>,
    ) -> Option<DropReason> {
        self.handle_arrival(now, Arrival::multicast(source), packet)
    }

    /// A packet that arrived as `arrival` says, already decoded (or not),
    /// without an `auth_hmac` trailer. See [`Instance::handle_signed_arrival`].
    pub fn handle_arrival(
        &mut self,
        now: Instant,
        arrival: Arrival,
        packet: Result<Advert, DecodeError>,
    ) -> Option<DropReason> {
        let packet = packet.map(|advert| (advert, None));
        self.handle_signed_arrival(now, UnixTime::default(), arrival, packet)
    }

    /// A packet that arrived as `arrival` says, already decoded (or not),
    /// with its `auth_hmac` trailer if it had one; `wall` is UTC now, for
    /// the trailer's freshness. Returns the reason it was dropped (and
    /// counted), if it was.
    /// How this instance sums a VRRPv3 IPv4 advert to `destination`
    /// (keepalived's vrrp.c v2.4.3 vrrp_build_vrrp).
    pub fn send_checksum(&self, destination: IpAddr) -> V3Checksum {
        let rules = &self.params.advert_rules;
        if rules.v3_checksum_as_v2 {
            V3Checksum::WithoutPseudoHeader
        } else if !destination.is_multicast() && self.sums_old_way() {
            V3Checksum::GroupDestination
        } else {
            V3Checksum::Rfc
        }
    }

    fn sums_old_way(&self) -> bool {
        match self.params.advert_rules.old_unicast_checksum {
            UnicastChecksum::Always => true,
            UnicastChecksum::Auto => self.old_checksum_heard,
            UnicastChecksum::Never => false,
        }
    }

    /// Whether an advert summed as `form` is accepted, as keepalived's
    /// vrrp_check_packet judges: the old unicast form only in old mode,
    /// where it is the only one (auto turns to old mode at the first such
    /// advert of a unicast instance); the form without pseudo-header with
    /// `v3_checksum_as_v2` (keepalived checks none then; vipd takes that
    /// form or the RFC's).
    /// Ok(true): accepted, and it turns an auto instance to the old way
    /// if the advert passes every other check too (one that fails them,
    /// a forged one, turns nothing).
    fn check_checksum(&self, form: V3Checksum, arrival: &Arrival) -> Result<bool, DropReason> {
        let unicast = !arrival.destination.is_multicast();
        let rules = self.params.advert_rules;
        let (accepted, turns_old) = match form {
            V3Checksum::WithoutPseudoHeader => (rules.v3_checksum_as_v2, false),
            V3Checksum::Rfc => (
                rules.v3_checksum_as_v2 || !unicast || !self.sums_old_way(),
                false,
            ),
            V3Checksum::GroupDestination if rules.v3_checksum_as_v2 => (false, false),
            V3Checksum::GroupDestination => match rules.old_unicast_checksum {
                UnicastChecksum::Always => (true, false),
                UnicastChecksum::Never => (false, false),
                UnicastChecksum::Auto if self.old_checksum_heard => (true, false),
                UnicastChecksum::Auto => {
                    let turns = unicast && self.params.unicast.is_some();
                    (turns, turns)
                }
            },
        };
        if accepted {
            Ok(turns_old)
        } else {
            Err(DropReason::BadChecksum)
        }
    }

    /// Whether this instance now sums unicast adverts the old way having
    /// heard one (for the actor to say so once).
    pub fn turned_to_old_checksum(&self) -> bool {
        self.old_checksum_heard
    }

    /// `handle_signed_arrival` for a packet whose checksum added up as
    /// `form` (Advert::decode_signed_any_checksum).
    pub fn handle_signed_arrival_summed(
        &mut self,
        now: Instant,
        wall: UnixTime,
        arrival: Arrival,
        packet: Result<(Advert, Option<Signed>), DecodeError>,
        form: V3Checksum,
    ) -> Option<DropReason> {
        let mut turns_old = false;
        if packet.is_ok() {
            match self.check_checksum(form, &arrival) {
                Ok(turns) => turns_old = turns,
                Err(reason) => {
                    self.stats.dropped.record(reason);
                    return Some(reason);
                }
            }
        }
        let dropped = self.handle_signed_arrival(now, wall, arrival, packet);
        if dropped.is_none() && turns_old {
            self.old_checksum_heard = true;
        }
        dropped
    }

    pub fn handle_signed_arrival(
        &mut self,
        now: Instant,
        wall: UnixTime,
        arrival: Arrival,
        packet: Result<(Advert, Option<Signed>), DecodeError>,
    ) -> Option<DropReason> {
        if !self.stopped {
            self.step_down_if_overslept(now);
        }
        let source = arrival.source;
        let checked = packet
            .map_err(|error| DropReason::from(&error))
            .and_then(|advert| arrival.check(&self.params).map(|()| advert))
            // The cheap checks first (keepalived authenticates before the
            // VRID and address checks): a packet from our own address, of
            // another VRID or family costs no digest and takes no replay
            // slot, whatever it carries.
            .and_then(|(advert, signed)| {
                self.check_advert(source, &advert)?;
                self.authenticate(wall, source, signed.as_ref())?;
                Ok(advert)
            });
        let advert = match checked {
            Ok(advert) => advert,
            Err(reason) => {
                self.stats.dropped.record(reason);
                return Some(reason);
            }
        };
        self.stats.adverts_received += 1;
        if advert.priority == 0 {
            self.stats.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.advert_in_backup(now, source, &advert),
            State::Master => self.advert_in_master(now, source, &advert),
            State::Initialize | State::Fault => {}
        }
        None
    }

    /// auth_hmac: the trailer, if this instance wants one.
    fn authenticate(
        &mut self,
        wall: UnixTime,
        source: IpAddr,
        signed: Option<&Signed>,
    ) -> Result<(), DropReason> {
        let Some(hmac) = &self.params.auth_hmac else {
            return match signed {
                Some(_) => Err(DropReason::HmacUnexpected),
                None => Ok(()),
            };
        };
        let unicast_peer = self
            .params
            .unicast
            .as_ref()
            .map(|unicast| unicast.peer(source).is_some());
        let (message, trailer) = match signed {
            Some(signed) => (signed.message.as_slice(), Some(&signed.trailer)),
            None => (&[][..], None),
        };
        let verified = self
            .hmac
            .verify(hmac, wall, source, unicast_peer, message, trailer)?;
        if let Some(skew) = verified.skew_secs {
            self.stats.hmac_skew_secs = Some(skew);
            if let (true, Some(window_secs)) =
                (verified.near_window_edge, hmac.anti_replay.window_secs())
            {
                self.actions.push_back(Action::ClockSkew {
                    source,
                    skew_secs: skew,
                    window_secs,
                });
            }
        }
        Ok(())
    }

    /// New auth_hmac settings (a reload): the sequences sent and
    /// accepted so far stay, so nothing a peer accepted becomes new again.
    /// Checked by the caller (`InstanceParams::validate`).
    pub fn set_auth_hmac(&mut self, hmac: Option<HmacParams>) {
        self.params.auth_hmac = hmac;
    }

    /// The `auth_hmac` trailer to send after `advert` from our address
    /// now (`wall`, UTC), if this instance signs. Asked by the daemon at
    /// the moment it sends, so the sequence is the clock's then.
    pub fn sign(&mut self, wall: UnixTime, advert: &Advert) -> Option<Trailer> {
        let hmac = self.params.auth_hmac.as_ref()?;
        if !hmac.signs() {
            return None;
        }
        let source = self.params.primary_address;
        // The tag reads the checksum as zero, so any destination will do.
        // One buffer for every advert: this runs at each send.
        self.sign_buffer.clear();
        advert
            .encode_into(&Endpoints::multicast_from(source), &mut self.sign_buffer)
            .ok()?;
        self.hmac.sign(hmac, wall, source, &self.sign_buffer)
    }

    /// RFC 5798 §7.1 receiver checks that need this instance's settings
    /// (how it arrived is `Arrival::check`; its bytes, `Advert::decode`).
    fn check_advert(&self, source: IpAddr, advert: &Advert) -> Result<(), DropReason> {
        if advert.version != self.params.version {
            return Err(DropReason::VersionMismatch);
        }
        if advert.vrid != self.params.vrid {
            return Err(DropReason::VridMismatch);
        }
        if source.is_ipv6() != self.params.primary_address.is_ipv6() {
            return Err(DropReason::AddressFamilyMismatch);
        }
        if source == self.params.primary_address {
            return Err(DropReason::OwnAddress);
        }
        if self.params.version == Version::V2 {
            // keepalived 2.2.7 vrrp.c vrrp_check_packet counts three ways,
            // which RFC 2787's statistics keep apart: a type no one
            // defines first (invalid_authtype: built with VRRP_AUTH, as
            // Debian's is, 2 (AH) is a known type), then a type other than
            // ours (authtype_mismatch), then a wrong password
            // (auth_failure).
            if matches!(advert.auth, Auth::Other { kind, .. } if kind != AUTH_TYPE_AH) {
                return Err(DropReason::InvalidAuthType);
            }
            // keepalived's strict instance has auth type 0 and drops an
            // advert with any other (vrrp.c vrrp_check_packet, "received a
            // 1 auth, expecting 0"); counted apart, as the likely cause is
            // a host configured without strict mode.
            if self.params.strict && advert.auth != Auth::None {
                return Err(DropReason::StrictAuth);
            }
            // RFC 3768 §7.1: auth type and data must match ours, and so
            // must the advert interval.
            match (&self.params.auth, &advert.auth) {
                (Auth::None, Auth::None) => {}
                (Auth::Pass(ours), Auth::Pass(theirs)) if ours == theirs => {}
                (Auth::Pass(_), Auth::Pass(_)) => return Err(DropReason::AuthMismatch),
                _ => return Err(DropReason::AuthTypeMismatch),
            }
            if advert.interval != self.params.advert_interval {
                return Err(DropReason::IntervalMismatch);
            }
        }
        let rules = &self.params.advert_rules;
        // keepalived 2.4 (vrrp.c vrrp_check_packet): an owner that ignores
        // adverts drops them before it counts them.
        if rules.owner_ignore_adverts && self.priority == 255 {
            return Err(DropReason::OwnerIgnoresAdverts);
        }
        // skip_check_adv_addr (vrrp.c vrrp_state_backup_rx): a backup
        // checks the addresses only of a master it has not heard before.
        let known_master =
            self.state == State::Backup && self.peer_master.is_some_and(|m| m.address == source);
        if rules.skip_check_adv_addr && known_master {
            return Ok(());
        }
        if advert.addresses.is_empty() && !self.advertised.is_empty() {
            return Err(DropReason::NoAddresses);
        }
        // RFC 5798 §7.1 MAY verify the address list; keepalived drops on a
        // mismatch, and so do we, so a VRID clash cannot move our addresses.
        if !self.advertised.matches(&advert.addresses) {
            return Err(DropReason::AddressListMismatch);
        }
        Ok(())
    }

    /// RFC 5798 §6.4.2, Backup state receiving an ADVERTISEMENT.
    fn advert_in_backup(&mut self, now: Instant, source: IpAddr, advert: &Advert) {
        if advert.priority == 0 {
            // The master is leaving: wait only Skew_Time.
            let skew = skew_time(
                self.params.version,
                self.priority,
                self.master_adver_interval,
            );
            self.arm_down_timer(now, skew);
            return;
        }
        let defer = !self.params.preempt
            || advert.priority >= self.priority
            || self.preempt_delay_running(now);
        if !defer {
            // A lower-priority master and we preempt: let Master_Down_Timer run out.
            return;
        }
        if self.params.version == Version::V3 {
            self.master_adver_interval = advert.interval;
        }
        self.arm_master_down(now);
        // A master we defer to is heard: no longer wishing to take over.
        self.report_to_group(Some(false));
        self.peer_master = Some(PeerMaster {
            address: source,
            priority: advert.priority,
        });
        if !self.params.preempt_delay.is_zero() {
            if advert.priority >= self.priority {
                self.preempt_deadline = None;
            } else if self.preempt_deadline.is_none() {
                self.preempt_deadline = Some(now + self.params.preempt_delay);
            }
        }
    }

    fn preempt_delay_running(&self, now: Instant) -> bool {
        !self.params.preempt_delay.is_zero()
            && self.preempt_deadline.is_none_or(|deadline| now < deadline)
    }

    /// RFC 5798 §6.4.3 (RFC 9568), Master state receiving an ADVERTISEMENT.
    fn advert_in_master(&mut self, now: Instant, source: IpAddr, advert: &Advert) {
        let interval = self.params.advert_interval.as_duration();
        if advert.priority == 0 {
            self.send_advert(self.priority);
            self.arm_adver_timer(now);
            return;
        }
        let they_win = advert.priority > self.priority
            || (advert.priority == self.priority && source > self.params.primary_address);
        if they_win {
            if self.params.advert_rules.higher_prio_send_advert {
                // keepalived's higher_prio_send_advert (vrrp.c
                // vrrp_state_master_rx): one advert of ours before we
                // step down, so hosts that only heard us hear it too.
                self.send_advert(self.priority);
            }
            if self.params.version == Version::V3 {
                self.master_adver_interval = advert.interval;
            }
            self.peer_master = Some(PeerMaster {
                address: source,
                priority: advert.priority,
            });
            self.transition(
                now,
                State::Backup,
                Reason::Preempted {
                    priority: advert.priority,
                    source,
                },
            );
            return;
        }
        // RFC 9568: a master hearing a lesser master answers at once, so
        // the other steps down now rather than at our next Adver_Timer,
        // unless lower_prio_no_advert; and keepalived tells
        // notify_master_rx_lower_pri (vrrp.c vrrp_state_master_rx: a cloud
        // address the other took over must be taken back). At most once
        // per advert interval, so forged adverts cannot make us send or
        // start a script per packet.
        if self
            .last_immediate_answer
            .is_none_or(|at| now >= at + interval)
        {
            self.last_immediate_answer = Some(now);
            if !self.params.advert_rules.lower_prio_no_advert {
                self.send_advert(self.priority);
                self.arm_adver_timer(now);
            }
            // garp_lower_prio_repeat / _delay: the lower master's GARPs
            // pointed the LAN at it; point it back, now and once more.
            if self.holding {
                let schedule = self.params.announce;
                self.announce(schedule.lower_prio_repeat);
                if schedule.lower_prio_repeat > 0 && !schedule.lower_prio_delay.is_zero() {
                    self.lower_prio_timer.arm(now, schedule.lower_prio_delay);
                }
            }
            self.actions.push_back(Action::MasterRxLowerPriority {
                source,
                priority: advert.priority,
            });
        }
    }

    fn arm_master_down(&mut self, now: Instant) {
        let interval = master_down_interval(
            self.params.version,
            self.priority,
            self.master_adver_interval,
            self.params.advert_rules.down_timer_adverts,
        );
        self.arm_down_timer(now, interval);
    }

    /// Master_Down_Timer runs `after` from now, or from the end of the
    /// startup delay while it lasts.
    fn arm_down_timer(&mut self, now: Instant, after: std::time::Duration) {
        let from = match self.delayed_until {
            Some(until) if now < until => until,
            Some(_) => {
                self.delayed_until = None;
                now
            }
            None => now,
        };
        self.master_down_timer.arm(from, after);
    }

    /// A fault of this instance's own, not one its sync group gave it.
    fn own_fault_cause(&self) -> Option<FaultCause> {
        if !self.link_up {
            return Some(FaultCause::LinkDown);
        }
        if let Some(why) = &self.unavailable {
            return Some(FaultCause::Unavailable(why.clone()));
        }
        if self.fence.as_ref().is_some_and(|fence| {
            fence.params.on_quorum_loss == OnQuorumLoss::Release && fence.quorum_until.is_none()
        }) {
            return Some(FaultCause::QuorumLost);
        }
        if self
            .params
            .unicast
            .as_ref()
            .is_some_and(|u| u.peers.is_empty())
        {
            return Some(FaultCause::NoUnicastPeers);
        }
        self.trackers
            .iter()
            .find(|(_, effect)| **effect == TrackerEffect::Fault)
            .map(|(name, _)| FaultCause::Tracker(name.clone()))
    }

    /// After a link or tracker change: new effective priority, and into or
    /// out of FAULT.
    /// The link went `up` or down. With a delay for that direction, the
    /// instance acts only if it is still so when the delay ends; undone
    /// before, nothing happens (keepalived_netlink.c, the interface's
    /// flags_change_thread). Before start-up, at once.
    fn link_event(&mut self, now: Instant, up: bool) {
        self.link_reported = up;
        if up == self.link_up {
            self.link_timer.disarm();
            return;
        }
        let delays = self.params.effective_link_delays();
        let delay = if up { delays.up } else { delays.down };
        if delay.is_zero() || !self.started {
            self.link_timer.disarm();
            self.apply_link(now, up);
        } else if self.link_timer.deadline().is_none() {
            self.link_timer.arm(now, delay);
        }
    }

    fn apply_link(&mut self, now: Instant, up: bool) {
        self.link_up = up;
        self.reevaluate(now);
    }

    fn reevaluate(&mut self, now: Instant) {
        let adjustments = self.trackers.values().filter_map(|effect| match effect {
            TrackerEffect::Adjust(weight) => Some(*weight),
            TrackerEffect::Neutral | TrackerEffect::Fault => None,
        });
        let priority = effective_priority(self.params.priority, adjustments);
        if priority != self.priority {
            self.actions.push_back(Action::PriorityChanged {
                from: self.priority,
                to: priority,
            });
            self.priority = priority;
        }
        if !self.started {
            return;
        }
        match (self.fault_cause(), self.state) {
            (Some(cause), State::Master | State::Backup) => {
                self.transition(now, State::Fault, Reason::Fault(cause));
            }
            (None, State::Fault) => {
                let to = if self.params.is_owner() {
                    State::Master
                } else {
                    State::Backup
                };
                self.transition(now, to, Reason::FaultCleared);
            }
            _ => {}
        }
    }

    /// The one place state changes. Leaving a state undoes what entering
    /// it did; entering does what the RFC section cited by `reason` says.
    fn transition(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        if from == to {
            return;
        }
        tracing::debug!(
            instance = %self.params.name, %from, %to, %reason, rfc = reason.citation(),
            "state transition"
        );

        match from {
            State::Master => {
                self.adver_timer.disarm();
                self.announce_timer.disarm();
                self.refresh_timer.disarm();
                self.lower_prio_timer.disarm();
                self.extra_due = None;
                self.advert_nominal = None;
                // Leaving without a better master taking over: tell the
                // backups now (priority 0) so they wait only Skew_Time.
                if matches!(to, State::Fault | State::Initialize) {
                    self.send_advert(0);
                }
                self.actions.push_back(Action::RemoveVips {
                    addresses: self.params.held_addresses(),
                });
                self.holding = false;
                if let Some(fence) = &mut self.fence {
                    // After the removal: the daemon lets the key go only
                    // once the kernel has taken the addresses away.
                    fence.key_held = false;
                    fence.asked = false;
                    fence.kept = false;
                    fence.usable_from = None;
                    self.actions.push_back(Action::ReleaseFence);
                }
                self.stats.released_master += 1;
            }
            State::Backup => {
                self.master_down_timer.disarm();
                self.preempt_deadline = None;
            }
            State::Initialize => {
                // Addresses left on the interface by an earlier run that
                // crashed (keepalived removes them at start too).
                if to != State::Master {
                    self.actions.push_back(Action::RemoveVips {
                        addresses: self.params.held_addresses(),
                    });
                }
            }
            State::Fault => {}
        }

        self.state = to;
        match to {
            State::Master => {
                self.peer_master = None;
                self.stats.became_master += 1;
                self.send_advert(self.priority);
                self.hold_if_fenced_in(now);
                self.arm_adver_timer(now);
            }
            State::Backup => {
                if from != State::Master {
                    // RFC 5798 §6.4.1: start from our own interval.
                    self.master_adver_interval = self.params.advert_interval;
                    self.peer_master = None;
                }
                self.arm_master_down(now);
            }
            State::Fault | State::Initialize => {
                self.peer_master = None;
            }
        }

        self.actions.push_back(Action::Notify(Transition {
            from,
            to,
            reason,
            priority: self.priority,
        }));
    }

    /// A master takes its addresses when the fence lets it (at once when
    /// unfenced), and asks for the key when it does not hold it.
    fn hold_if_fenced_in(&mut self, now: Instant) {
        if self.state != State::Master || self.holding {
            return;
        }
        let valid_until = match &mut self.fence {
            None => None,
            Some(fence) if fence.allows(now) => fence.valid_until(),
            Some(fence) => {
                if !fence.key_held && !fence.asked && fence.quorum(now) {
                    fence.asked = true;
                    self.actions.push_back(Action::AcquireFence);
                }
                return;
            }
        };
        self.holding = true;
        self.actions.push_back(Action::AddVips {
            addresses: self.params.held_addresses(),
            accept: !self.params.drops_traffic(),
            valid_until,
        });
        self.announce(self.params.announce.repeat);
        self.extra_due = self
            .params
            .extra_announce
            .as_ref()
            .map(|extra| now + extra.interval);
        self.advert_nominal = Some(now);
        let schedule = self.params.announce;
        if !schedule.delay.is_zero() && schedule.repeat > 0 {
            self.announce_timer.arm(now, schedule.delay);
        }
        if !schedule.refresh.is_zero() && schedule.refresh_repeat > 0 {
            self.refresh_timer.arm(now, schedule.refresh);
        }
    }

    /// The lease was renewed until `valid_until`, or (None) is gone.
    fn quorum(&mut self, now: Instant, valid_until: Option<Instant>) {
        let Some(fence) = &mut self.fence else { return };
        match valid_until {
            Some(until) => {
                fence.quorum_until = Some(until);
                if fence.kept {
                    // Kept through the outage: still held, now asked for
                    // again; whoever has the key settles it.
                    if !fence.asked {
                        fence.asked = true;
                        self.actions.push_back(Action::AcquireFence);
                    }
                } else if self.holding {
                    self.actions.push_back(Action::ExtendVips {
                        addresses: self.params.held_addresses(),
                        valid_until: Some(until),
                    });
                }
            }
            None => fence.quorum_until = Some(now),
        }
        self.fence_moved(now);
    }

    /// After anything the fence depends on changed or came due: the
    /// lease's end, the key, the wait for a former holder's kernel.
    fn fence_moved(&mut self, now: Instant) {
        let Some(fence) = &mut self.fence else { return };
        let mut lost_quorum = false;
        if fence.quorum_until.is_some_and(|until| now >= until) && !fence.kept {
            // The lease is gone, and every key under it.
            fence.key_held = false;
            fence.asked = false;
            if fence.params.on_quorum_loss == OnQuorumLoss::Keep && self.holding {
                fence.kept = true;
                self.actions.push_back(Action::ExtendVips {
                    addresses: self.params.held_addresses(),
                    valid_until: None,
                });
            } else {
                fence.quorum_until = None;
                lost_quorum = true;
            }
        }
        if self.holding && !fence.allows(now) {
            // The key went to another (or its lease with it): the
            // addresses go now, and the master asks for the key again.
            self.holding = false;
            self.announce_timer.disarm();
            self.refresh_timer.disarm();
            self.lower_prio_timer.disarm();
            self.actions.push_back(Action::RemoveVips {
                addresses: self.params.held_addresses(),
            });
        }
        if lost_quorum {
            self.reevaluate(now);
        }
        self.hold_if_fenced_in(now);
        match self.fence.as_ref().and_then(|fence| fence.deadline(now)) {
            Some(deadline) => self
                .fence_timer
                .arm(now, deadline.saturating_duration_since(now)),
            None => self.fence_timer.disarm(),
        }
        if !lost_quorum {
            // A lease that came back clears a quorum fault.
            self.reevaluate(now);
        }
    }

    /// The fence as `vipd status` shows it.
    pub fn fence(&self) -> Option<FenceView> {
        self.fence.as_ref().map(|fence| FenceView {
            quorum_until: fence.quorum_until,
            key_held: fence.key_held,
            holding: self.holding,
            kept: fence.kept,
            on_quorum_loss: fence.params.on_quorum_loss,
        })
    }

    /// keepalived 2.4's timer_expired_backup (vrrp.c
    /// vrrp_thread_timeout_handler): a master whose last advert is older
    /// than 3 advert intervals plus the skew of the highest other
    /// priority was not running; another may have taken over, so it
    /// steps down first, before any advert or packet it finds waiting.
    /// Every input calls this, as keepalived checks each time its loop
    /// wakes late, before it handles what woke it.
    fn step_down_if_overslept(&mut self, now: Instant) {
        let Some(other) = self.params.timer_expired_backup else {
            return;
        };
        if self.state != State::Master {
            return;
        }
        let (Some(_), Some(last_advert)) = (self.adver_timer.deadline(), self.adver_armed_at)
        else {
            return;
        };
        let interval = self.params.advert_interval;
        let limit = master_down_interval(self.params.version, other, interval, 3);
        let silent = now.saturating_duration_since(last_advert);
        if silent >= limit {
            self.transition(now, State::Backup, Reason::Overslept { silent });
        }
    }

    fn send_advert(&mut self, priority: u8) {
        self.stats.adverts_sent += 1;
        if priority == 0 {
            self.stats.priority_zero_sent += 1;
        }
        self.actions.push_back(Action::SendAdvert(Advert {
            version: self.params.version,
            vrid: self.params.vrid,
            priority,
            interval: self.params.advert_interval,
            auth: self.params.auth,
            addresses: self.advertised.clone(),
        }));
    }

    /// garp_extra_if, at an advert of a master that holds its addresses,
    /// once it is due. keepalived 2.2 checks at each advert whether
    /// garp_extra_if has passed since the last announcement, and counts
    /// the next from that advert; vipd does the same on the times
    /// keepalived's adverts would have had (`advert_nominal`): the grid
    /// sends up to a quarter interval early and the wake-up is late by a
    /// varying amount, and neither may move an announcement by a whole
    /// advert. (keepalived compares strictly, but its clock has always
    /// moved on a little by the advert that is exactly due; with virtual
    /// time, `>=` gives its result.)
    fn extra_announce(&mut self, now: Instant) {
        // Instances without garp_extra_if keep no schedule: nothing per advert.
        let Some(extra) = &self.params.extra_announce else {
            return;
        };
        if extra.interval.is_zero() || extra.addresses.is_empty() {
            return;
        }
        let interval = self.params.advert_interval.as_duration();
        // A stall that missed adverts does not leave the schedule behind.
        let caught_up = now.checked_sub(interval).unwrap_or(now);
        let nominal = self
            .advert_nominal
            .map_or(now, |last| (last + interval).max(caught_up));
        self.advert_nominal = Some(nominal);
        if !self.holding {
            return;
        }
        if self.extra_due.is_some_and(|due| nominal >= due) {
            self.extra_due = Some(nominal + extra.interval);
            self.actions.push_back(Action::Announce {
                addresses: extra.addresses.clone(),
                count: 1,
            });
        }
    }

    fn announce(&mut self, count: u32) {
        if count > 0 {
            self.actions.push_back(Action::Announce {
                addresses: self.params.held_addresses(),
                count,
            });
        }
    }
}

/// What an instance knows of its fence, for status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FenceView {
    pub quorum_until: Option<Instant>,
    pub key_held: bool,
    /// The addresses are held (asked for) now.
    pub holding: bool,
    /// Kept through a quorum loss (on_quorum_loss: keep).
    pub kept: bool,
    pub on_quorum_loss: OnQuorumLoss,
}

#[cfg(test)]
#[path = "fsm_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fsm_fence_tests.rs"]
mod fence_tests;

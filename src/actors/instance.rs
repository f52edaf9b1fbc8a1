//! One per VRRP instance: owns the protocol core, feeds it packets, link
//! changes and time, and carries out the actions it returns. No protocol
//! decision is made here.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;

use crate::log::phrases::{self, Notice};
use crate::net::sender_pool::shared_sender;
use crate::net::vrrp_socket::VrrpSender;
use crate::proto::V3Checksum;
use crate::proto::{
    Action, Advert, Arrival, DecodeError, Endpoints, Event, HmacParams, Instance, InstanceParams,
    Signed, State, Transition, UnixTime, VirtualAddress,
};
use crate::status::{
    epoch_seconds, AuthHmacStatus, InstanceFenceStatus, InstanceSetup, InstanceStatus,
    TransitionRecord,
};

use super::address::{AddressRouter, Announce, Claim, LinkState, Release};
use super::health::TrackerUpdate;
use super::quorum::{self, FenceUpdate, QuorumActor};
use super::routing::{ClaimRouting, ReleaseRouting, Routing};
use super::sync_group::{Command, MemberUpdate, Update};
use crate::sys::boundary::{guarded, guarded_start};
use crate::sys::drop_log::DropLog;
use crate::sys::notifier::{Notification, Notifier};
use crate::sys::retry::Retry;
use crate::sys::shared_timer::SharedTimer;

/// Something shutdown waits for.
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// An address removal under way: true once every address is gone.
type Removal = std::pin::Pin<Box<dyn std::future::Future<Output = bool>>>;

/// Tells instance actors apart at the quorum actor, across restarts and
/// reloads (a replaced instance keeps its name, not its number).
static FENCE_SUBSCRIBERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A packet for this instance's VRID, decoded or not.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Inbound {
    /// When the packet was read off the socket.
    pub at: Instant,
    pub arrival: Arrival,
    /// The advert and its auth_hmac trailer, if it had one.
    pub packet: Result<(Advert, Option<Signed>), DecodeError>,
    /// How its VRRPv3 IPv4 checksum added up.
    pub summed: V3Checksum,
}

/// UTC now, for auth_hmac's sequence numbers, read only by instances
/// that have auth_hmac (the clock is read per packet and per advert); a
/// clock before 1970 reads as 1970 (its adverts are then stale to every
/// peer, which says so).
fn utc_now(params: &InstanceParams) -> UnixTime {
    if params.auth_hmac.is_none() {
        return UnixTime::default();
    }
    UnixTime(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// The quorum fence of a fenced instance: the actor that holds the
/// keys, and this instance's key.
#[derive(Clone)]
pub struct Fencing {
    pub actor: Addr<QuorumActor>,
    pub key: String,
}

/// Where a sync group member reports, and its place in the group.
#[derive(Clone)]
pub struct GroupMembership {
    pub recipient: Recipient<MemberUpdate>,
    pub member: usize,
}

/// Stop: a master sends priority 0 and removes its addresses; the reply
/// comes when that is done.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// A reload removed or replaced this instance: stop as `Shutdown` does,
/// then stay inert (no timer, no socket, no handler acting) until the
/// last address to it is dropped and the actor ends. A supervised actor
/// that merely stopped would be restarted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire {
    /// The new configuration has no such instance (else it is replaced):
    /// its last notification is keepalived's DELETED, or FAULT.
    pub deleted: bool,
}

/// A reload changed only the notify settings.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetNotifier(pub Option<Notifier>);

/// A reload changed what an instance kept in place shows in SNMP's
/// vrrpInstanceTable (notify scripts, trackers): its settings now, and
/// its sync group.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetSetup {
    pub settings: Box<crate::config::InstanceSettings>,
    pub group: Option<String>,
}

/// A reload changed the auth_hmac settings (keys, active key, mode,
/// anti_replay): applied in place, no transition.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetAuthHmac(pub Option<HmacParams>);

/// The instance's state, for status and tests.
#[derive(Message)]
#[rtype(result = "Snapshot")]
pub struct Inspect;

#[derive(Clone, Debug, MessageResponse)]
pub struct Snapshot {
    pub name: String,
    pub state: State,
    pub priority: u8,
    pub stats: crate::proto::Stats,
    /// Times the supervisor restarted this actor.
    pub restarts: u32,
}

/// Fault injection for the supervision tests: the handler panics, as a
/// bug would. Test builds only.
#[cfg(feature = "__internal-test")]
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// Where an instance's adverts leave from: the link (its kernel name and
/// index, a VMAC's unless vmac_xmit_base) and the source address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub interface: String,
    pub ifindex: u32,
    pub source: IpAddr,
}

/// The interfaces changed under a running instance: where it sends from
/// now, or why it cannot send (no such link, no address to send from).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Rebind(pub Result<Binding, String>);

pub struct InstanceActor {
    params: InstanceParams,
    /// Where adverts go: the group or the unicast peers (the core's choice).
    destinations: Vec<IpAddr>,
    /// The configured interface, for status and logs.
    interface: String,
    binding: Result<Binding, String>,
    addresses: AddressRouter,
    routing: Option<Routing>,
    sync_group: Option<GroupMembership>,
    core: Instance,
    /// Shared with the instances that send from the same address alike.
    sender: Option<std::rc::Rc<VrrpSender>>,
    timer: Option<SharedTimer>,
    /// Opening the timer or socket again after a failure.
    reopen: Retry,
    /// What the core was last told stops the instance running, if anything.
    unavailable: Option<String>,
    /// Adverts that could not be sent, told by send() or, for an advert
    /// sent with others, by the outbox afterwards.
    send_failures: std::rc::Rc<SendFailures>,
    on_send_failure: crate::net::outbox::OnFailure,
    send_log: DropLog,
    /// Master when the actor last stopped: a restart after a panic resumes
    /// as master without moving the addresses.
    was_master: bool,
    link_up: bool,
    /// Trackers' current effects, replayed into a fresh core after a restart.
    trackers: BTreeMap<String, crate::proto::TrackerEffect>,
    notifier: Option<Notifier>,
    drops: DropLog,
    restarts: u32,
    /// When the current state was entered, and the latest transitions
    /// first: what `vipd status` shows.
    entered_at: SystemTime,
    history: VecDeque<TransitionRecord>,
    transitions_total: BTreeMap<String, u64>,
    announcements_sent: u64,
    /// RFC 6527's reason for the last move to master (0: never).
    new_master_reason: u8,
    retired: bool,
    /// Retired because a reload removed it (not replaced it).
    deleted: bool,
    /// `state MASTER` or `BACKUP` as configured, for SNMP.
    initial_state: &'static str,
    /// sysUpTime when it last left Initialize, for SNMP's up-time objects.
    running_since_cs: Option<u32>,
    setup: InstanceSetup,
    fencing: Option<Fencing>,
    fence_id: u64,
    /// Numbers Acquire and Release in the order they were decided.
    fence_seq: u64,
    /// The fence as last told, replayed into a fresh core after a restart
    /// (so a master still holding its addresses resumes holding them).
    fence_told: (Option<FenceUpdate>, Option<FenceUpdate>),
}

/// Transitions `vipd status` lists per instance.
const HISTORY: usize = 16;

/// An instance's adverts that could not be sent.
struct SendFailures {
    name: String,
    count: std::cell::Cell<u64>,
    log: std::cell::RefCell<DropLog>,
}

impl SendFailures {
    fn failed(&self, error: &dyn std::fmt::Display, destination: std::net::IpAddr) {
        self.count.set(self.count.get() + 1);
        // Once per ten seconds at most: a link that is gone fails every
        // advert until the interfaces say so.
        if let Some(more) = self.log.borrow_mut().should_log(Instant::now(), "send") {
            let name = self.name.as_str();
            tracing::warn!(instance = %name, %destination, %error, suppressed = more, "({name}) cannot send advert to {destination}: {error}{}", phrases::suppressed(more));
        }
    }
}

/// A protocol core for `params`, its adverts on the grid every instance
/// of the process shares (proto::timers::next_advert), so that adverts of
/// one interval go out together.
fn new_core(params: &InstanceParams) -> Result<Instance, crate::proto::InvalidParams> {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let mut core = Instance::new(params.clone())?;
    core.align_adverts_to(*ORIGIN.get_or_init(Instant::now));
    Ok(core)
}

impl InstanceActor {
    /// `params.primary_address` is `binding.source` (unspecified when
    /// the binding failed: the instance starts in FAULT with the reason).
    /// `params` were validated by the supervisor.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: InstanceParams,
        interface: String,
        binding: Result<Binding, String>,
        addresses: AddressRouter,
        routing: Option<Routing>,
        sync_group: Option<GroupMembership>,
        notifier: Option<Notifier>,
        fencing: Option<Fencing>,
    ) -> InstanceActor {
        let core = new_core(&params).expect("validated parameters");
        let send_failures = std::rc::Rc::new(SendFailures {
            name: params.name.clone(),
            count: std::cell::Cell::new(0),
            log: std::cell::RefCell::new(DropLog::new(Duration::from_secs(10))),
        });
        InstanceActor {
            destinations: params.advert_destinations(),
            params,
            interface,
            binding,
            addresses,
            routing,
            sync_group,
            core,
            sender: None,
            timer: None,
            reopen: Retry::default(),
            unavailable: None,
            send_failures: std::rc::Rc::clone(&send_failures),
            on_send_failure: std::rc::Rc::new(move |error, destination| {
                send_failures.failed(&error, destination)
            }),
            send_log: DropLog::new(Duration::from_secs(10)),
            was_master: false,
            link_up: true,
            trackers: BTreeMap::new(),
            notifier,
            drops: DropLog::new(Duration::from_secs(10)),
            restarts: 0,
            entered_at: SystemTime::now(),
            history: VecDeque::new(),
            transitions_total: BTreeMap::new(),
            announcements_sent: 0,
            new_master_reason: 0,
            retired: false,
            deleted: false,
            initial_state: "BACKUP",
            running_since_cs: None,
            setup: InstanceSetup::default(),
            fencing,
            fence_id: FENCE_SUBSCRIBERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fence_seq: 0,
            fence_told: (None, None),
        }
    }

    /// Trackers' effects known before the actor starts (process checks,
    /// counted before any instance starts, as keepalived counts them):
    /// the core starts with them, so an owner never claims its addresses
    /// for a moment before learning its process is gone.
    pub fn with_initial_state(mut self, master: bool) -> Self {
        self.initial_state = if master { "MASTER" } else { "BACKUP" };
        self
    }

    /// The configuration SNMP shows (vrrpInstanceTable).
    pub fn with_setup(mut self, setup: InstanceSetup) -> Self {
        self.setup = setup;
        self
    }

    pub fn with_trackers(mut self, known: BTreeMap<String, crate::proto::TrackerEffect>) -> Self {
        self.trackers.extend(known);
        self
    }

    fn name(&self) -> &str {
        &self.params.name
    }

    /// Carries out what the core asked for, then re-arms the one timer.
    fn run_actions(&mut self, ctx: &mut Context<Self>) {
        self.carry_out(ctx, None);
    }

    /// As `run_actions`; with `pending`, address removals and notify
    /// scripts become futures the caller can wait for (shutdown does).
    fn carry_out(&mut self, ctx: &mut Context<Self>, mut pending: Option<&mut Vec<Pending>>) {
        // A fenced instance's removals (true: done), which letting its
        // key go waits for.
        let mut removals: Vec<Removal> = Vec::new();
        while let Some(action) = self.core.poll_action() {
            let instance = self.name().to_string();
            match action {
                Action::SendAdvert(advert) => self.send(&advert),
                // Accept off: the address actor drops traffic to them
                // (nftables) before it adds them.
                Action::AddVips {
                    addresses,
                    accept,
                    valid_until,
                } => {
                    self.claim(&instance, addresses, valid_until, !accept);
                    // Routes after addresses: one may use a VIP as its source.
                    if let Some(routing) = &self.routing {
                        routing.actor.do_send(ClaimRouting {
                            instance: instance.clone(),
                            items: routing.items.clone(),
                        });
                    }
                }
                Action::ExtendVips {
                    addresses,
                    valid_until,
                } => self.claim(
                    &instance,
                    addresses,
                    valid_until,
                    self.params.drops_traffic(),
                ),
                Action::AcquireFence => {
                    if let Some(fencing) = &self.fencing {
                        self.fence_seq += 1;
                        fencing.actor.do_send(quorum::Acquire {
                            subscriber: self.fence_id,
                            seq: self.fence_seq,
                        });
                    }
                }
                Action::ReleaseFence => {
                    let Some(fencing) = &self.fencing else {
                        continue;
                    };
                    let (quorum, removed) = (fencing.actor.clone(), std::mem::take(&mut removals));
                    // Numbered now: an Acquire sent after this one (a new
                    // term as master) overtakes it, and the actor ignores it.
                    self.fence_seq += 1;
                    let (subscriber, seq) = (self.fence_id, self.fence_seq);
                    let released = async move {
                        // The key goes only once the kernel took the
                        // addresses away: the next holder may add them at
                        // once. A removal that failed says so, and the key
                        // then goes only after their lifetime.
                        let mut all_removed = true;
                        for done in removed {
                            all_removed &= done.await;
                        }
                        let release = quorum::Release {
                            subscriber,
                            seq,
                            removed: all_removed,
                        };
                        if quorum.send(release).await.is_err() {
                            tracing::error!(%instance, "({instance}) the quorum actor is gone: the key goes with the lease");
                        }
                    };
                    match pending.as_deref_mut() {
                        Some(pending) => pending.push(Box::pin(released)),
                        None => {
                            ctx.spawn(released.into_actor(self));
                        }
                    }
                }
                Action::RemoveVips { addresses } => {
                    if let Some(routing) = &self.routing {
                        let release = ReleaseRouting {
                            instance: instance.clone(),
                            items: routing.items.clone(),
                        };
                        match pending.as_deref_mut() {
                            Some(pending) => {
                                let released = routing.actor.send(release);
                                pending.push(Box::pin(async move {
                                    let _ = released.await;
                                }));
                            }
                            None => routing.actor.do_send(release),
                        }
                    }
                    for (actor, held) in self.addresses.split(addresses) {
                        let release = Release {
                            instance: instance.clone(),
                            addresses: held.into_iter().map(|h| h.vip).collect(),
                        };
                        let waited = pending.is_some() || self.fencing.is_some();
                        if !waited {
                            actor.do_send(release);
                            continue;
                        }
                        let removed = actor.send(release);
                        // A dead address actor removed nothing.
                        let removed: Removal =
                            Box::pin(async move { removed.await.unwrap_or(false) });
                        match pending.as_deref_mut() {
                            Some(pending) if self.fencing.is_none() => {
                                pending.push(Box::pin(async move {
                                    removed.await;
                                }))
                            }
                            _ => removals.push(removed),
                        }
                    }
                }
                Action::Announce { addresses, count } => {
                    self.announcements_sent += u64::from(count) * addresses.len() as u64;
                    for (actor, held) in self.addresses.split(addresses) {
                        actor.do_send(Announce {
                            instance: instance.clone(),
                            addresses: held.into_iter().map(|h| h.vip).collect(),
                            count,
                        });
                    }
                }
                Action::Notify(transition) => {
                    self.log_transition(&transition);
                    self.tell_group(Update::Entered(transition.to));
                    let done = pending.as_deref_mut().map(|pending| {
                        let (done, ran) = tokio::sync::oneshot::channel();
                        pending.push(Box::pin(async move {
                            let _ = ran.await;
                        }));
                        done
                    });
                    self.notify(&transition, done);
                }
                Action::PriorityChanged { from, to } => {
                    phrases::priority_changed(&instance, from, to);
                    let master = self.core.state() == State::Master;
                    self.notify_event(Notice::PriorityChanged { master }, to);
                }
                Action::MasterRxLowerPriority { source, priority } => {
                    let answered = !self.params.advert_rules.lower_prio_no_advert;
                    phrases::master_rx_lower_priority(
                        &instance,
                        source,
                        priority,
                        self.core.priority(),
                        answered,
                    );
                    self.notify_event(Notice::MasterRxLowerPriority, self.core.priority());
                }
                Action::SyncReport(report) => self.tell_group(Update::Report(report)),
                Action::ClockSkew {
                    source,
                    skew_secs,
                    window_secs,
                } => {
                    // At most one line per ten seconds: every advert of a
                    // skewed peer says it.
                    if let Some(more) = self.send_log.should_log(Instant::now(), "clock_skew") {
                        tracing::warn!(instance = %instance, %source, skew = skew_secs, window = window_secs, suppressed = more, "({instance}) auth_hmac clock skew {skew_secs} s from {source}, approaching the window of {window_secs} s: check the clocks (NTP){}", phrases::suppressed(more));
                    }
                }
            }
        }
        // Removals no key release waits for: shutdown still waits for them.
        match pending {
            Some(pending) => pending.extend(removals.into_iter().map(|removed| {
                Box::pin(async move {
                    removed.await;
                }) as Pending
            })),
            None => {
                for removed in removals {
                    ctx.spawn(
                        async move {
                            removed.await;
                        }
                        .into_actor(self),
                    );
                }
            }
        }
        self.rearm(ctx);
    }

    /// Asks each address actor to hold its share of `addresses`; a fenced
    /// instance's carry their lease's end (`valid_until`, None: for ever).
    fn claim(
        &self,
        instance: &str,
        addresses: Vec<VirtualAddress>,
        valid_until: Option<Instant>,
        guard: bool,
    ) {
        let fenced = self.fencing.is_some();
        for (actor, mut addresses) in self.addresses.split(addresses) {
            for held in addresses.iter_mut() {
                if fenced {
                    held.fence = Some(valid_until);
                }
                held.guard = guard;
            }
            actor.do_send(Claim {
                instance: instance.to_string(),
                addresses,
            });
        }
    }

    /// One copy per destination (the group, or each unicast peer), each
    /// encoded for its destination: the v3 checksum covers it.
    fn send(&mut self, advert: &Advert) {
        let Some(sender) = self.sender.clone() else {
            return;
        };
        // One trailer for every copy: the tag does not cover the
        // destination (keepalived does the same, vrrp_auth_hmac.c).
        let trailer = self.core.sign(utc_now(&self.params), advert);
        for &destination in &self.destinations {
            let endpoints = Endpoints::new(self.params.primary_address, destination)
                .with_v3_checksum(self.core.send_checksum(destination));
            let mut bytes = Vec::new();
            if let Err(error) = advert.encode_signed_into(&endpoints, trailer.as_ref(), &mut bytes)
            {
                self.send_failures.failed(&error, destination);
                continue;
            }
            // A priority-0 advert (a stop, a fault) goes at once, the
            // process may end before a batch would be sent, and is the
            // last: an advert of ours still waiting in the batch would
            // tell the backups we are back (RFC 9568 §6.4.3).
            if advert.priority == 0 {
                crate::net::outbox::withdraw(&self.on_send_failure);
                if let Err(error) = sender.send_to(&bytes, destination) {
                    self.send_failures.failed(&error, destination);
                }
                continue;
            }
            crate::net::outbox::post(&sender, destination, bytes, &self.on_send_failure);
        }
    }

    fn tell_group(&self, update: Update) {
        if let Some(group) = &self.sync_group {
            group.recipient.do_send(MemberUpdate {
                member: group.member,
                update,
            });
        }
    }

    /// The master as this instance sees it.
    fn master(&self, state: State) -> Option<IpAddr> {
        match state {
            State::Master => Some(self.params.primary_address),
            State::Backup => self.core.peer_master().map(|m| m.address),
            _ => None,
        }
    }

    fn log_transition(&mut self, t: &Transition) {
        phrases::entering_state(&self.params.name, t, self.master(t.to));
        let now = SystemTime::now();
        self.entered_at = now;
        self.history.push_front(TransitionRecord {
            at: epoch_seconds(now),
            from: t.from.to_string(),
            to: t.to.to_string(),
            reason: t.reason.to_string(),
        });
        self.history.truncate(HISTORY);
        *self.transitions_total.entry(t.to.to_string()).or_default() += 1;
        if t.to == State::Master {
            // RFC 6527 vrrpv3StatisticsNewMasterReason: priority(1) for
            // an owner's or a resumed start, masterNoResponse(3) when the
            // down timer fired; vipd never preempts otherwise (a backup
            // ignores a lower priority's advert and times out).
            self.new_master_reason = match t.reason {
                crate::proto::Reason::MasterDown => 3,
                _ => 1,
            };
        }
        if t.from == State::Initialize {
            self.running_since_cs = Some(crate::sys::transition_feed::uptime_centiseconds());
        }
        let stop = (t.reason == crate::proto::Reason::Shutdown).then_some(if self.deleted {
            crate::sys::transition_feed::Stop::Deleted
        } else {
            crate::sys::transition_feed::Stop::Shutdown
        });
        crate::sys::transition_feed::publish(&self.params.name, t, stop);
    }

    fn status(&self) -> InstanceStatus {
        let stats = self.core.stats();
        let state = self.core.state();
        InstanceStatus {
            name: self.params.name.clone(),
            interface: self.interface.clone(),
            vrid: self.params.vrid.get(),
            version: self.params.version.number(),
            state: state.to_string(),
            base_priority: self.params.priority,
            effective_priority: self.core.priority(),
            master: self.master(state).map(|m| m.to_string()),
            virtual_addresses: self
                .params
                .held_addresses()
                .iter()
                .map(|v| format!("{}/{}", v.address, v.prefix_len))
                .collect(),
            since: epoch_seconds(self.entered_at),
            adverts_sent: stats.adverts_sent,
            adverts_received: stats.adverts_received,
            priority_zero_received: stats.priority_zero_received,
            priority_zero_sent: stats.priority_zero_sent,
            drops: stats
                .dropped
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(reason, n)| (reason.as_str().to_string(), n))
                .collect(),
            transitions: self.history.iter().cloned().collect(),
            transitions_total: self.transitions_total.clone(),
            announcements_sent: self.announcements_sent,
            addresses_held: if state == State::Master
                && self.core.fence().is_none_or(|fence| fence.holding)
            {
                self.params.held_addresses().len()
            } else {
                0
            },
            fault: self.core.fault_cause().map(|c| c.to_string()),
            fault_kind: self.core.fault_cause().map(|c| c.kind().to_string()),
            send_errors: self.send_failures.count.get(),
            fence: self
                .fencing
                .as_ref()
                .zip(self.core.fence())
                .map(|(fencing, fence)| InstanceFenceStatus {
                    key: fencing.key.clone(),
                    key_held: fence.key_held,
                    waiting: state == State::Master && !fence.holding,
                    kept: fence.kept,
                }),
            auth_hmac: self.params.auth_hmac.as_ref().map(|h| AuthHmacStatus {
                mode: h.mode.as_str().to_string(),
                active_key: h.active_key,
                key_ids: h.key_ids(),
                anti_replay: h.anti_replay.as_str().to_string(),
                time_window_secs: h.anti_replay.window_secs(),
                clock_skew_secs: stats.hmac_skew_secs,
            }),
            ifindex: self.binding.as_ref().map_or(0, |b| b.ifindex),
            primary_address: Some(self.params.primary_address)
                .filter(|a| !a.is_unspecified())
                .map(|a| a.to_string()),
            advert_interval_cs: self.params.advert_interval.get(),
            preempt: self.params.preempt,
            preempt_delay_secs: self.params.preempt_delay.as_secs_f64(),
            accept: self.params.accept_mode,
            auth_type: match self.params.auth {
                crate::proto::Auth::None => 0,
                crate::proto::Auth::Pass(_) => 1,
                crate::proto::Auth::Other { kind, .. } => kind,
            },
            new_master_reason: self.new_master_reason,
            initial_state: self.initial_state.to_string(),
            running_since_cs: self.running_since_cs,
            setup: self.setup.clone(),
        }
    }

    /// Queues notify scripts; `done` fires when they have run.
    fn notify(&self, t: &Transition, done: Option<tokio::sync::oneshot::Sender<()>>) {
        let notice = if self.deleted && t.to == State::Initialize {
            Notice::Deleted {
                was_fault: t.from == State::Fault,
            }
        } else {
            Notice::Entered(t.to)
        };
        self.send_notice(notice, t.priority, done);
    }

    /// An event for the FIFO and its script, if the instance has them.
    fn notify_event(&self, notice: Notice, priority: u8) {
        self.send_notice(notice, priority, None);
    }

    fn send_notice(
        &self,
        notice: Notice,
        priority: u8,
        done: Option<tokio::sync::oneshot::Sender<()>>,
    ) {
        if let Some(notifier) = &self.notifier {
            let _ = notifier.send(Notification {
                notice,
                priority,
                done,
            });
        }
    }

    fn rearm(&mut self, ctx: &mut Context<Self>) {
        let Some(timer) = &self.timer else { return };
        if let Err(error) = timer.set(self.core.poll_timeout()) {
            // The broken queue has left the thread: opening makes a fresh
            // one. Until then the instance cannot keep time: FAULT.
            self.timer = None;
            self.failed(ctx, format!("its timer failed: {error}"));
            self.run_actions(ctx);
        }
    }

    /// Opens what the instance needs to run, its timer and its send
    /// socket, and tells the core whether it can run. A failure is FAULT
    /// with the reason, tried again later: never a restart, which would
    /// fail again at once, in a loop that starves every other actor.
    /// The caller runs the core's actions.
    fn open(&mut self, ctx: &mut Context<Self>) {
        let binding = match &self.binding {
            Ok(binding) => binding.clone(),
            // Waiting for the interfaces to change (a Rebind).
            Err(why) => {
                let why = why.clone();
                self.reopen.succeeded(ctx);
                return self.set_unavailable(Some(why));
            }
        };
        match self
            .open_timer(ctx)
            .and_then(|()| self.open_sender(&binding))
        {
            Ok(()) => {
                if self.reopen.attempts() > 0 {
                    let name = self.name();
                    tracing::info!(instance = %name, "({name}) can run again");
                }
                self.reopen.succeeded(ctx);
                self.set_unavailable(None);
            }
            Err(why) => self.failed(ctx, why),
        }
    }

    fn failed(&mut self, ctx: &mut Context<Self>, why: String) {
        let delay = self.reopen.schedule(ctx, |actor, ctx| {
            actor.open(ctx);
            actor.run_actions(ctx);
        });
        let name = self.name();
        tracing::error!(instance = %name, reason = %why, "({name}) cannot run: {why}; trying again in {delay:?}");
        self.set_unavailable(Some(why));
    }

    fn open_timer(&mut self, ctx: &mut Context<Self>) -> Result<(), String> {
        if self.timer.is_some() {
            return Ok(());
        }
        // Weak: the shared timer must not keep a stopped actor alive.
        let me = ctx.address().downgrade();
        let timer = SharedTimer::new(move || {
            if let Some(me) = me.upgrade() {
                me.do_send(Expired);
            }
        })
        .map_err(|error| format!("cannot create its timer: {error}"))?;
        self.timer = Some(timer);
        Ok(())
    }

    fn open_sender(&mut self, binding: &Binding) -> Result<(), String> {
        if self.sender.is_some() {
            return Ok(());
        }
        let unicast_ttl = match self.params.unicast {
            Some(_) => self.params.send_ttl(),
            None => None,
        };
        let sender = shared_sender(
            &binding.interface,
            binding.ifindex,
            binding.source,
            unicast_ttl,
        )
        .map_err(|error| {
            format!(
                "cannot open a VRRP socket from {} on {}: {error}",
                binding.source, binding.interface
            )
        })?;
        self.sender = Some(sender);
        Ok(())
    }

    /// Tells the core, once per change, whether the instance can run.
    fn set_unavailable(&mut self, why: Option<String>) {
        if self.unavailable == why {
            return;
        }
        self.unavailable = why.clone();
        let event = match why {
            Some(why) => Event::Unavailable(why),
            None => Event::Available,
        };
        self.core.handle_event(Instant::now(), event);
    }

    /// Where the instance now sends from (or why it cannot).
    fn rebind(&mut self, ctx: &mut Context<Self>, binding: Result<Binding, String>) {
        if binding == self.binding && self.unavailable.is_none() {
            return;
        }
        let name = self.name().to_string();
        match &binding {
            Ok(new) => {
                if self.binding.as_ref().map(|b| b.source).ok() != Some(new.source) {
                    self.params.primary_address = new.source;
                    // Unicast peers exclude this host's own address.
                    self.destinations = self.params.advert_destinations();
                    self.core
                        .handle_event(Instant::now(), Event::SourceChanged(new.source));
                }
                tracing::info!(instance = %name, source = %new.source, interface = %new.interface, "({name}) sends from {} on {} (index {})", new.source, new.interface, new.ifindex);
            }
            Err(why) => {
                tracing::warn!(instance = %name, reason = %why, "({name}) cannot run: {why}")
            }
        }
        if binding != self.binding {
            self.binding = binding;
            if let Err(why) = &self.binding {
                // A master that can no longer run says goodbye (priority
                // 0) through the socket it still has, then lets it go.
                self.set_unavailable(Some(why.clone()));
                self.run_actions(ctx);
            }
            self.sender = None;
        }
        self.open(ctx);
        self.run_actions(ctx);
    }
}

/// The instance's deadline fell due (or the shared timer woke everyone:
/// nothing due then, and the core does nothing).
#[derive(Message)]
#[rtype(result = "()")]
struct Expired;

impl Actor for InstanceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded_start(self, ctx, |actor, ctx| {
            let now = Instant::now();
            if !actor.link_up {
                actor.core.handle_event(now, Event::LinkDown);
            }
            for (name, effect) in &actor.trackers {
                actor.core.handle_event(
                    now,
                    Event::Tracker {
                        name: name.clone(),
                        effect: *effect,
                    },
                );
            }
            for told in [actor.fence_told.0, actor.fence_told.1]
                .into_iter()
                .flatten()
            {
                actor.core.handle_event(now, fence_event(told));
            }
            if let Some(fencing) = &actor.fencing {
                fencing.actor.do_send(quorum::Subscribe {
                    subscriber: actor.fence_id,
                    instance: actor.params.name.clone(),
                    key: fencing.key.clone(),
                    recipient: ctx.address().recipient(),
                });
            }
            // A fresh core: whatever stops it running is told anew.
            actor.unavailable = None;
            actor.open(ctx);
            let start = if actor.was_master {
                Event::Resume
            } else {
                Event::Startup
            };
            actor.core.handle_event(now, start);
            actor.run_actions(ctx);
            actor
                .addresses
                .own()
                .do_send(super::address::Watch(ctx.address().recipient()));
        });
    }
}

impl Supervised for InstanceActor {
    /// Fresh core, same configuration. If we were master we still hold the
    /// addresses: `started` resumes as master instead of moving them.
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        self.was_master = self.core.state() == State::Master;
        let name = self.name().to_string();
        tracing::warn!(instance = %name, was_master = self.was_master, "({name}) restarting");
        // The supervisor validated the parameters and a source change
        // keeps their family, so this cannot fail; were it to, a panic
        // here (outside any handler) would end the process: keep the old
        // core instead.
        match new_core(&self.params) {
            Ok(core) => self.core = core,
            Err(error) => {
                tracing::error!(instance = %name, %error, "({name}) keeps its state across the restart: {error}")
            }
        }
        self.timer = None;
        self.sender = None;
        self.restarts += 1;
    }
}

impl Handler<Expired> for InstanceActor {
    type Result = ();

    fn handle(&mut self, _: Expired, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "timeout", |actor, ctx| {
            actor.core.handle_timeout(Instant::now());
            actor.run_actions(ctx);
        });
    }
}

impl Handler<Inbound> for InstanceActor {
    type Result = ();

    fn handle(&mut self, inbound: Inbound, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "packet", |actor, ctx| {
            let now = inbound.at;
            let error = inbound.packet.as_ref().err().cloned();
            let source = inbound.arrival.source;
            let was_old = actor.core.turned_to_old_checksum();
            let dropped = actor.core.handle_signed_arrival_summed(
                now,
                utc_now(&actor.params),
                inbound.arrival,
                inbound.packet,
                inbound.summed,
            );
            if !was_old && actor.core.turned_to_old_checksum() {
                // keepalived's words (vrrp.c vrrp_check_packet).
                let name = actor.params.name.as_str();
                tracing::info!(instance = name, peer = %source, "({name}) Setting unicast VRRPv3 checksum to old version: {source} sums as keepalived before 1.3.6 did");
            }
            if let Some(reason) = dropped {
                let name = &actor.params.name;
                // A sum that adds up another way than this instance
                // takes says which (a mismatch of settings, not noise).
                let hint = match inbound.summed {
                    V3Checksum::GroupDestination => Some("bad checksum: summed as keepalived before 1.3.6 sums unicast adverts (the group in the pseudo-header); old_unicast_checksum auto or always takes it"),
                    V3Checksum::WithoutPseudoHeader => Some("bad checksum: summed without the pseudo-header, as VRRPv2 sums; v3_checksum_as_v2 takes it"),
                    V3Checksum::Rfc if reason == crate::proto::DropReason::BadChecksum => Some("bad checksum: summed the RFC's way, and this instance takes unicast adverts summed the old way (old_unicast_checksum)"),
                    V3Checksum::Rfc => None,
                };
                let detail: &dyn std::fmt::Display = match (&error, &hint) {
                    (Some(error), _) => error,
                    (None, Some(hint)) => hint,
                    (None, None) => &reason.description(),
                };
                actor
                    .drops
                    .dropped(now, name, reason.as_str(), source, detail);
            }
            actor.run_actions(ctx);
        });
    }
}

impl Handler<TrackerUpdate> for InstanceActor {
    type Result = ();

    fn handle(&mut self, update: TrackerUpdate, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "tracker", |actor, ctx| {
            actor.trackers.insert(update.name.clone(), update.effect);
            actor.core.handle_event(
                Instant::now(),
                Event::Tracker {
                    name: update.name,
                    effect: update.effect,
                },
            );
            actor.run_actions(ctx);
        });
    }
}

/// The core's event for what the quorum actor said.
fn fence_event(update: FenceUpdate) -> Event {
    match update {
        FenceUpdate::Quorum { valid_until } => Event::Quorum { valid_until },
        FenceUpdate::QuorumLost => Event::QuorumLost,
        FenceUpdate::Held { usable_from } => Event::FenceHeld { usable_from },
        FenceUpdate::Lost => Event::FenceLost,
    }
}

impl Handler<FenceUpdate> for InstanceActor {
    type Result = ();

    fn handle(&mut self, update: FenceUpdate, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "quorum", |actor, ctx| {
            match update {
                FenceUpdate::Quorum { .. } | FenceUpdate::QuorumLost => {
                    actor.fence_told.0 = Some(update);
                    if update == FenceUpdate::QuorumLost {
                        actor.fence_told.1 = None;
                    }
                }
                FenceUpdate::Held { .. } | FenceUpdate::Lost => actor.fence_told.1 = Some(update),
            }
            actor.core.handle_event(Instant::now(), fence_event(update));
            actor.run_actions(ctx);
        });
    }
}

impl Handler<Rebind> for InstanceActor {
    type Result = ();

    fn handle(&mut self, Rebind(binding): Rebind, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "rebind", |actor, ctx| actor.rebind(ctx, binding));
    }
}

impl Handler<LinkState> for InstanceActor {
    type Result = ();

    fn handle(&mut self, link: LinkState, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "link", |actor, ctx| {
            actor.link_up = link.up;
            let event = if link.up {
                Event::LinkUp
            } else {
                Event::LinkDown
            };
            actor.core.handle_event(Instant::now(), event);
            actor.run_actions(ctx);
        });
    }
}

impl Handler<Command> for InstanceActor {
    type Result = ();

    fn handle(&mut self, Command(command): Command, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "sync group", |actor, ctx| {
            actor
                .core
                .handle_event(Instant::now(), Event::Sync(command));
            actor.run_actions(ctx);
        });
    }
}

impl Handler<Shutdown> for InstanceActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        if self.retired {
            return Box::pin(async {}.into_actor(self));
        }
        self.core.handle_event(Instant::now(), Event::Shutdown);
        let mut pending = Vec::new();
        self.carry_out(ctx, Some(&mut pending));
        Box::pin(
            async move {
                // In action order: addresses removed, then notify ... STOP.
                for done in pending {
                    done.await;
                }
            }
            .into_actor(self),
        )
    }
}

impl Handler<Retire> for InstanceActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, retire: Retire, ctx: &mut Context<Self>) -> Self::Result {
        self.deleted = retire.deleted;
        let shutdown = <Self as Handler<Shutdown>>::handle(self, Shutdown, ctx);
        Box::pin(shutdown.map(|(), actor, ctx| {
            if let Some(fencing) = actor.fencing.take() {
                fencing.actor.do_send(quorum::Unsubscribe {
                    subscriber: actor.fence_id,
                });
            }
            actor.retired = true;
            actor.timer = None;
            actor.sender = None;
            actor.notifier = None;
            actor.routing = None;
            actor.sync_group = None;
            ctx.stop();
        }))
    }
}

/// A reload kept the instance: its state on the FIFO again
/// (fifo_write_vrrp_states_on_reload), unless it is master: keepalived
/// writes it only where a kept instance goes through its backup/fault
/// start again (vrrp_scheduler.c vrrp_init_state; a master is kept as
/// master without it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct WriteStateToFifo;

impl Handler<WriteStateToFifo> for InstanceActor {
    type Result = ();

    fn handle(&mut self, _: WriteStateToFifo, _ctx: &mut Context<Self>) {
        let state = self.core.state();
        if let (Some(notifier), false) = (&self.notifier, state == State::Master) {
            notifier.write_fifo(Notice::Entered(state), self.core.priority());
        }
    }
}

impl Handler<SetNotifier> for InstanceActor {
    type Result = ();

    fn handle(&mut self, SetNotifier(notifier): SetNotifier, _ctx: &mut Context<Self>) {
        self.notifier = notifier;
    }
}

impl Handler<SetSetup> for InstanceActor {
    type Result = ();

    fn handle(&mut self, update: SetSetup, _ctx: &mut Context<Self>) {
        self.setup = crate::snmp::setup::instance_setup(
            &update.settings,
            &self.params,
            update.group.as_deref(),
        );
    }
}

impl Handler<SetAuthHmac> for InstanceActor {
    type Result = ();

    fn handle(&mut self, SetAuthHmac(hmac): SetAuthHmac, _ctx: &mut Context<Self>) {
        self.params.auth_hmac = hmac.clone();
        self.core.set_auth_hmac(hmac);
    }
}

/// What `vipd status` shows of this instance.
#[derive(Message)]
#[rtype(result = "InstanceStatus")]
pub struct Status;

impl Handler<Status> for InstanceActor {
    type Result = MessageResult<Status>;

    fn handle(&mut self, _: Status, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}

impl Handler<Inspect> for InstanceActor {
    type Result = Snapshot;

    fn handle(&mut self, _: Inspect, _ctx: &mut Context<Self>) -> Snapshot {
        Snapshot {
            name: self.params.name.clone(),
            state: self.core.state(),
            priority: self.core.priority(),
            stats: self.core.stats().clone(),
            restarts: self.restarts,
        }
    }
}

#[cfg(feature = "__internal-test")]
impl Handler<InjectPanic> for InstanceActor {
    type Result = ();

    fn handle(&mut self, _: InjectPanic, ctx: &mut Context<Self>) {
        guarded(self, ctx, "injected fault", |_, _| panic!("injected fault"));
    }
}

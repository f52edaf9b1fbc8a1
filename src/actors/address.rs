//! One per interface: holds the virtual addresses instances claim, keeps
//! the kernel's address table in line with them, announces them, and
//! reports the link's state.
//!
//! The kernel's table is the truth: a claimed address that disappears
//! (someone ran `ip addr del`) is added back and the fact logged. What
//! the kernel says comes from the supervisor's one netlink subscription
//! (LinkChange), which also tells it when its interface is deleted and
//! made again under another index.

use std::collections::HashMap;
use std::net::IpAddr;

use actix::prelude::*;

use crate::log::phrases;
use crate::net::announce::Announcer;
use crate::net::netlink::{AddressOptions, Lifetime, LinkInfo, Netlink};
use crate::proto::pacing::{Pacer, Spacing};
use crate::proto::VirtualAddress;

use crate::sys::boundary::guarded;
use crate::sys::retry::Retry;

/// The link went up or down.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub struct LinkState {
    pub up: bool,
}

/// An address to hold, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub vip: VirtualAddress,
    pub options: AddressOptions,
    /// Put it back if someone deletes it (keepalived: unless no_track).
    pub track: bool,
    /// Quorum fence: added with a kernel lifetime that ends by
    /// `valid_until` (None: for ever), so the kernel drops it even if
    /// vipd cannot run; never added once that has passed.
    pub fence: Option<Option<std::time::Instant>>,
    /// Accept_Mode off: traffic to and from it is dropped (nftables)
    /// from before it is added until after it is removed.
    pub guard: bool,
}

/// A fenced address whose lease has less than a kernel lifetime left.
#[derive(Debug)]
pub struct LeaseOver;

impl Held {
    /// The kernel lifetime to add it with at `now`: None unfenced (the
    /// kernel's default, for ever). The lifetime starts when the kernel
    /// takes the request, a moment later, so it is counted from then.
    pub fn lifetime(&self, now: std::time::Instant) -> Result<Option<Lifetime>, LeaseOver> {
        match self.fence {
            None => Ok(None),
            Some(None) => Ok(Some(Lifetime::Forever)),
            Some(Some(valid_until)) => {
                let from = now + crate::proto::fence::KERNEL_REQUEST_GUARD;
                crate::proto::fence::kernel_lifetime_secs(from, valid_until)
                    .map(|secs| Some(Lifetime::Seconds(secs)))
                    .ok_or(LeaseOver)
            }
        }
    }
}

/// Add `addresses` for `instance`, and keep them there until released.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Claim {
    pub instance: String,
    pub addresses: Vec<Held>,
}

/// Remove `addresses`; the reply comes once the kernel has done it:
/// true when every one is gone (or was not there).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Release {
    pub instance: String,
    pub addresses: Vec<VirtualAddress>,
}

/// Gratuitous ARP / unsolicited NA, `count` times for each address.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Announce {
    pub instance: String,
    pub addresses: Vec<VirtualAddress>,
    pub count: u32,
}

/// Send link changes to `recipient` (and the current state at once).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Watch(pub Recipient<LinkState>);

/// An instance that a reload retired no longer wants link state.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unwatch(pub Recipient<LinkState>);

/// Which address actor holds each of an instance's addresses, and how:
/// its own interface's, unless the address is placed on another device.
#[derive(Clone)]
pub struct AddressRouter {
    own: Addr<AddressActor>,
    placed: HashMap<IpAddr, (Addr<AddressActor>, AddressOptions, bool)>,
}

impl AddressRouter {
    pub fn new(own: Addr<AddressActor>) -> AddressRouter {
        AddressRouter {
            own,
            placed: HashMap::new(),
        }
    }

    /// `address` is held by `actor`, added with `options`; `track`: put
    /// back if deleted.
    pub fn place(
        &mut self,
        address: IpAddr,
        actor: Addr<AddressActor>,
        options: AddressOptions,
        track: bool,
    ) {
        self.placed.insert(address, (actor, options, track));
    }

    /// The actor of the instance's own interface (link state comes from it).
    pub fn own(&self) -> &Addr<AddressActor> {
        &self.own
    }

    /// `addresses` grouped by the actor that holds them, in first-seen order.
    pub fn split(&self, addresses: Vec<VirtualAddress>) -> Vec<(Addr<AddressActor>, Vec<Held>)> {
        let mut groups: Vec<(Addr<AddressActor>, Vec<Held>)> = Vec::new();
        for vip in addresses {
            let (actor, held) = match self.placed.get(&vip.address) {
                Some((actor, options, track)) => (
                    actor,
                    Held {
                        vip,
                        options: options.clone(),
                        track: *track,
                        fence: None,
                        guard: false,
                    },
                ),
                None => (
                    &self.own,
                    Held {
                        vip,
                        options: AddressOptions::default(),
                        track: true,
                        fence: None,
                        guard: false,
                    },
                ),
            };
            match groups.iter_mut().find(|(a, _)| a == actor) {
                Some((_, list)) => list.push(held),
                None => groups.push((actor.clone(), vec![held])),
            }
        }
        groups
    }
}

pub struct AddressActor {
    /// The name the configuration gives (it may be an altname).
    interface: String,
    /// The kernel's link of that name now; None while there is none.
    link: Option<LinkInfo>,
    netlink: Netlink,
    announcer: Option<Announcer>,
    announcer_retry: Retry,
    /// Claimed addresses and the instance that claimed each.
    claimed: HashMap<IpAddr, (String, Held)>,
    /// The link each address was last added to: where it is removed
    /// from, even after the configured name came to mean another link or
    /// none (an altname removed leaves the link, and the VIP, in place).
    added_on: HashMap<IpAddr, u32>,
    watchers: Vec<Recipient<LinkState>>,
    /// A reload left no instance here: hold nothing, open nothing.
    retired: bool,
    /// Spacing of announcements on this interface (garp_interval).
    pacer: Pacer,
    /// The wake-up for the announcements waiting in `pacer`.
    pace_timer: Option<SpawnHandle>,
}

impl AddressActor {
    pub fn new(
        interface: String,
        link: Option<LinkInfo>,
        netlink: Netlink,
        spacing: Spacing,
    ) -> AddressActor {
        AddressActor {
            pacer: Pacer::new(spacing),
            pace_timer: None,
            interface,
            link,
            netlink,
            announcer: None,
            announcer_retry: Retry::default(),
            claimed: HashMap::new(),
            added_on: HashMap::new(),
            watchers: Vec::new(),
            retired: false,
        }
    }

    fn link_up(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.up)
    }

    fn add(&mut self, ctx: &mut Context<Self>, instance: String, held: Held) {
        // Without a link there is nowhere to add it; a relink adds every
        // claimed address to the link that comes.
        let Some(index) = self.link.as_ref().map(|l| l.index) else {
            return;
        };
        // Less than a second of lease left: what is there expires by
        // itself, and nothing is added.
        let Ok(lifetime) = held.lifetime(std::time::Instant::now()) else {
            return;
        };
        self.added_on.insert(held.vip.address, index);
        let netlink = self.netlink.clone();
        let interface = self.interface.clone();
        // In order with every other change of addresses (ctx.wait holds
        // the mailbox): a master that goes FAULT a moment after it won
        // must not have its removal overtake the add still under way,
        // which left the VIP behind.
        ctx.wait(
            async move {
                let vip = held.vip;
                let mut options = held.options.clone();
                if held.guard {
                    guard(&instance, vip).await;
                    // Its own traffic must not leave from an address whose
                    // packets the firewall drops.
                    options.not_preferred = vip.address.is_ipv6();
                }
                if let Err(error) = netlink.add_address(index, vip, &options, lifetime).await {
                    tracing::error!(%instance, %interface, address = %vip.address, %error, "({instance}) cannot add {}/{} to {interface}: {error}", vip.address, vip.prefix_len);
                }
                // Added after its lease's end (the request waited, or the
                // daemon did not run): taken away again at once.
                if let Some(Some(valid_until)) = held.fence {
                    if std::time::Instant::now() >= valid_until {
                        tracing::warn!(%instance, address = %vip.address, "({instance}) {} was added past its lease's end: removed", vip.address);
                        let _ = netlink.remove_address(index, vip).await;
                    }
                }
            }
            .into_actor(self),
        );
    }

    fn add_all_claimed(&mut self, ctx: &mut Context<Self>) {
        let claimed: Vec<_> = self.claimed.values().cloned().collect();
        for (instance, held) in claimed {
            self.add(ctx, instance, held);
        }
    }

    /// Removes `addresses` from the links they were added to (else the
    /// current one); returns when the kernel has done it.
    fn remove(
        &mut self,
        instance: String,
        addresses: Vec<VirtualAddress>,
        keep_guard: bool,
    ) -> impl std::future::Future<Output = bool> {
        let current = self.link.as_ref().map(|l| l.index);
        let placed: Vec<(u32, VirtualAddress)> = addresses
            .into_iter()
            .filter_map(|vip| {
                let index = self.added_on.remove(&vip.address).or(current)?;
                Some((index, vip))
            })
            .collect();
        let (netlink, interface) = (self.netlink.clone(), self.interface.clone());
        async move {
            let mut removed = true;
            for (index, vip) in placed {
                let gone = match netlink.remove_address(index, vip).await {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::error!(%instance, address = %vip.address, %error, "({instance}) cannot remove {} from {interface}: {error}", vip.address);
                        false
                    }
                };
                removed &= gone;
                // Once it is off the interface (one still there keeps
                // its rule). The firewall knows what it guards: asking
                // for any address is safe, and one guarded however this
                // actor forgot it is let go.
                if gone && !keep_guard {
                    unguard(&instance, vip.address).await;
                }
            }
            removed
        }
    }

    /// Announcements need a raw socket on the link; without one the
    /// addresses still move, so a failure is retried, not fatal.
    fn open_announcer(&mut self, ctx: &mut Context<Self>) {
        self.announcer = None;
        let Some(link) = &self.link else { return };
        // A loopback device (no MAC) has no neighbours to tell.
        if link.mac == [0; 6] {
            return;
        }
        match Announcer::open(&link.name, link.index, link.mac) {
            Ok(announcer) => {
                self.announcer = Some(announcer);
                self.announcer_retry.succeeded(ctx);
            }
            Err(error) => {
                let delay = self
                    .announcer_retry
                    .schedule(ctx, |actor, ctx| actor.open_announcer(ctx));
                tracing::error!(interface = %self.interface, %error, "cannot open announcement sockets on {}: {error}; trying again in {delay:?}", self.interface);
            }
        }
    }

    /// Someone deleted an address from the link: put back a tracked one.
    fn address_gone(&mut self, ctx: &mut Context<Self>, address: IpAddr) {
        match self.claimed.get(&address).cloned() {
            // A fenced address the kernel expired with its lease: gone
            // as it should be (an address still in its lease is put back).
            Some((instance, held)) if held.lifetime(std::time::Instant::now()).is_err() => {
                tracing::info!(%instance, %address, "({instance}) {address} expired with the quorum lease");
            }
            Some((instance, held)) if held.track => {
                phrases::address_removed_behind_our_back(&instance, address, &self.interface);
                self.add(ctx, instance, held);
            }
            // no_track: keepalived leaves it gone until the next
            // time the instance becomes master.
            Some((instance, held)) => {
                phrases::untracked_address_removed(&instance, address, &self.interface);
                self.claimed.remove(&address);
                if held.guard {
                    ctx.wait(
                        async move {
                            unguard(&instance, address).await;
                        }
                        .into_actor(self),
                    );
                }
            }
            None => {}
        }
    }

    /// The configured name now means `link` (or nothing).
    fn relink(&mut self, ctx: &mut Context<Self>, link: Option<LinkInfo>) {
        let was_up = self.link_up();
        let moved =
            self.link.as_ref().map(|l| (l.index, l.mac)) != link.as_ref().map(|l| (l.index, l.mac));
        self.link = link;
        if moved {
            // What was added to the link the name meant before stays
            // there unless taken off: the name moved, the link did not go.
            let stale: Vec<VirtualAddress> = self
                .claimed
                .values()
                .filter(|(_, held)| {
                    self.added_on.get(&held.vip.address).copied()
                        != self.link.as_ref().map(|l| l.index)
                })
                .map(|(_, held)| held.vip)
                .collect();
            if !stale.is_empty() {
                // Still claimed, added again to the new link: still guarded.
                let removal = self.remove("relink".into(), stale, true);
                ctx.wait(
                    async move {
                        removal.await;
                    }
                    .into_actor(self),
                );
            }
            if let Some(link) = &self.link {
                tracing::info!(interface = %self.interface, index = link.index, "interface {} is now link {} (index {})", self.interface, link.name, link.index);
            } else {
                tracing::warn!(interface = %self.interface, "interface {} is gone", self.interface);
            }
            self.open_announcer(ctx);
            self.add_all_claimed(ctx);
        }
        let up = self.link_up();
        if up != was_up {
            tracing::info!(interface = %self.interface, up, "link {} is {}", self.interface, if up { "up" } else { "down" });
            for watcher in &self.watchers {
                watcher.do_send(LinkState { up });
            }
        }
    }
}

impl Actor for AddressActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        ctx.set_mailbox_capacity(1024);
        self.open_announcer(ctx);
        // After a restart, put back anything that went missing meanwhile.
        self.add_all_claimed(ctx);
    }
}

impl Supervised for AddressActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // A retired actor is stopped, not restarted by a fault: nothing
        // to say (its last address may be a moment from being dropped).
        if self.retired {
            return;
        }
        tracing::warn!(interface = %self.interface, "address actor for {} restarting", self.interface);
    }
}

/// What the daemon's one netlink subscription saw, for this actor's
/// interface: the link the configured name means now, and addresses
/// deleted from it.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum LinkChange {
    Relink(Option<LinkInfo>),
    AddressGone(IpAddr),
}

/// Accept_Mode off: traffic to `vip` is dropped before it is added. If
/// the rule cannot be made the address is added all the same, as
/// keepalived adds it (vrrp.c vrrp_state_become_master): the VIP moves,
/// and the error says what is not enforced.
async fn guard(instance: &str, vip: VirtualAddress) {
    let result = match crate::net::firewall::started() {
        Some(firewall) => firewall.guard(vip.address).await,
        None => Err(crate::net::firewall::FirewallError::Gone),
    };
    if let Err(error) = result {
        tracing::error!(%instance, address = %vip.address, %error, "({instance}) cannot drop traffic to {} (accept: false): {error}; it is held and accepts traffic", vip.address);
    }
}

/// The address is no longer held: traffic to it need not be dropped.
async fn unguard(instance: &str, address: IpAddr) {
    if let Some(firewall) = crate::net::firewall::started() {
        if let Err(error) = firewall.unguard(address).await {
            tracing::error!(%instance, %address, %error, "({instance}) cannot stop dropping traffic to {address}: {error}");
        }
    }
}

impl Handler<LinkChange> for AddressActor {
    type Result = ();

    fn handle(&mut self, change: LinkChange, ctx: &mut Context<Self>) {
        if self.retired {
            return;
        }
        guarded(self, ctx, "link change", |actor, ctx| match change {
            LinkChange::Relink(link) => actor.relink(ctx, link),
            LinkChange::AddressGone(address) => actor.address_gone(ctx, address),
        });
    }
}

/// A reload left no instance on this interface: stop, and stay stopped
/// once the supervisor lets go of the actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RetireAddresses;

impl Handler<RetireAddresses> for AddressActor {
    type Result = ();

    fn handle(&mut self, _: RetireAddresses, ctx: &mut Context<Self>) {
        self.retired = true;
        self.announcer = None;
        self.watchers.clear();
        self.claimed.clear();
        ctx.stop();
    }
}

impl Handler<Claim> for AddressActor {
    type Result = ();

    fn handle(&mut self, claim: Claim, ctx: &mut Context<Self>) {
        guarded(self, ctx, "claim", |actor, ctx| {
            for held in claim.addresses {
                actor
                    .claimed
                    .insert(held.vip.address, (claim.instance.clone(), held.clone()));
                actor.add(ctx, claim.instance.clone(), held);
            }
        });
    }
}

impl Handler<Release> for AddressActor {
    type Result = ResponseActFuture<Self, bool>;

    /// The reply comes once the kernel has removed them: the removal
    /// holds the mailbox (in order with adds), and the reply's future
    /// runs only after it.
    fn handle(&mut self, release: Release, ctx: &mut Context<Self>) -> Self::Result {
        for vip in &release.addresses {
            self.claimed.remove(&vip.address);
        }
        // keepalived announces an address only while it is set
        // (vrrp_scheduler.c vrrp_arpna_send).
        let released: Vec<IpAddr> = release.addresses.iter().map(|v| v.address).collect();
        self.pacer.forget(&released);
        let (done, outcome) = tokio::sync::oneshot::channel();
        let removal = self.remove(release.instance, release.addresses, false);
        ctx.wait(
            async move {
                let _ = done.send(removal.await);
            }
            .into_actor(self),
        );
        Box::pin(async move { outcome.await.unwrap_or(false) }.into_actor(self))
    }
}

impl AddressActor {
    fn send_announcements(&self, instance: &str, addresses: &[IpAddr]) {
        let Some(announcer) = self.announcer.as_ref() else {
            return;
        };
        for &address in addresses {
            let sent = match address {
                IpAddr::V4(a) => announcer.garp(a),
                IpAddr::V6(a) => announcer.unsolicited_na(a),
            };
            if let Err(error) = sent {
                tracing::warn!(%instance, %address, %error, "({instance}) cannot announce {address}: {error}");
            }
        }
    }

    /// A wake-up when the next waiting announcement may leave: scheduled,
    /// never slept for, so nothing else on this thread waits.
    fn pace(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.pace_timer.take() {
            ctx.cancel_future(timer);
        }
        let Some(at) = self.pacer.next_due() else {
            return;
        };
        let after = at.saturating_duration_since(std::time::Instant::now());
        self.pace_timer = Some(ctx.run_later(after, |actor, ctx| {
            actor.pace_timer = None;
            guarded(actor, ctx, "paced announce", |actor, ctx| {
                let due = actor.pacer.due(std::time::Instant::now());
                let interface = actor.interface.clone();
                actor.send_announcements(&interface, &due);
                actor.pace(ctx);
            });
        }));
    }
}

impl Handler<Announce> for AddressActor {
    type Result = ();

    fn handle(&mut self, announce: Announce, ctx: &mut Context<Self>) {
        guarded(self, ctx, "announce", |actor, ctx| {
            if actor.announcer.is_none() {
                return;
            }
            let addresses: Vec<IpAddr> = announce.addresses.iter().map(|v| v.address).collect();
            let now = actor
                .pacer
                .ask(std::time::Instant::now(), &addresses, announce.count);
            actor.send_announcements(&announce.instance, &now);
            actor.pace(ctx);
        });
    }
}

/// A reload's spacing for this interface.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetSpacing(pub Spacing);

impl Handler<SetSpacing> for AddressActor {
    type Result = ();

    fn handle(&mut self, SetSpacing(spacing): SetSpacing, _ctx: &mut Context<Self>) {
        self.pacer.set_spacing(spacing);
    }
}

impl Handler<Watch> for AddressActor {
    type Result = ();

    fn handle(&mut self, Watch(recipient): Watch, _ctx: &mut Context<Self>) {
        recipient.do_send(LinkState { up: self.link_up() });
        self.watchers.push(recipient);
    }
}

impl Handler<Unwatch> for AddressActor {
    type Result = ();

    fn handle(&mut self, Unwatch(recipient): Unwatch, _ctx: &mut Context<Self>) {
        self.watchers.retain(|w| *w != recipient);
    }
}

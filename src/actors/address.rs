//! One per interface: holds the virtual addresses instances claim, keeps
//! the kernel's address table in line with them, announces them, and
//! reports the link's state.
//!
//! The kernel's table is the truth: a claimed address that disappears
//! (someone ran `ip addr del`) is added back and the fact logged.

use std::collections::HashMap;
use std::net::IpAddr;

use actix::prelude::*;

use crate::log::phrases;
use crate::net::announce::{Announcer, Mac};
use crate::net::netlink::{AddressOptions, NetEvent, Netlink};
use crate::proto::VirtualAddress;

use crate::sys::boundary::guarded;

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
}

/// Add `addresses` for `instance`, and keep them there until released.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Claim {
    pub instance: String,
    pub addresses: Vec<Held>,
}

/// Remove `addresses`; the reply comes once the kernel has done it.
#[derive(Message)]
#[rtype(result = "()")]
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
                    },
                ),
                None => (
                    &self.own,
                    Held {
                        vip,
                        options: AddressOptions::default(),
                        track: true,
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
    interface: String,
    index: u32,
    mac: Mac,
    netlink: Netlink,
    announcer: Option<Announcer>,
    /// Claimed addresses and the instance that claimed each.
    claimed: HashMap<IpAddr, (String, Held)>,
    watchers: Vec<Recipient<LinkState>>,
    link_up: bool,
}

impl AddressActor {
    pub fn new(
        interface: String,
        index: u32,
        mac: Mac,
        link_up: bool,
        netlink: Netlink,
    ) -> AddressActor {
        AddressActor {
            interface,
            index,
            mac,
            netlink,
            announcer: None,
            claimed: HashMap::new(),
            watchers: Vec::new(),
            link_up,
        }
    }

    fn add(&self, ctx: &mut Context<Self>, instance: String, held: Held) {
        let netlink = self.netlink.clone();
        let (index, interface) = (self.index, self.interface.clone());
        ctx.spawn(
            async move {
                let vip = held.vip;
                if let Err(error) = netlink.add_address(index, vip, &held.options).await {
                    tracing::error!(%instance, %interface, address = %vip.address, %error, "({instance}) cannot add {}/{} to {interface}: {error}", vip.address, vip.prefix_len);
                }
            }
            .into_actor(self),
        );
    }

    fn on_event(&mut self, ctx: &mut Context<Self>, event: NetEvent) {
        match event {
            NetEvent::Link { index, up } if index == self.index && up != self.link_up => {
                self.link_up = up;
                tracing::info!(interface = %self.interface, up, "link {} is {}", self.interface, if up { "up" } else { "down" });
                for watcher in &self.watchers {
                    watcher.do_send(LinkState { up });
                }
            }
            NetEvent::AddressRemoved { index, address } if index == self.index => {
                match self.claimed.get(&address).cloned() {
                    Some((instance, held)) if held.track => {
                        phrases::address_removed_behind_our_back(
                            &instance,
                            address,
                            &self.interface,
                        );
                        self.add(ctx, instance, held);
                    }
                    // no_track: keepalived leaves it gone until the next
                    // time the instance becomes master.
                    Some((instance, _)) => {
                        phrases::untracked_address_removed(&instance, address, &self.interface);
                        self.claimed.remove(&address);
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }
}

impl Actor for AddressActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        // Subscribe before anything else reads state, so no change is missed.
        match crate::net::netlink::subscribe() {
            Ok(events) => {
                ctx.add_stream(events);
            }
            Err(error) => {
                tracing::error!(interface = %self.interface, %error, "cannot watch {} for changes: {error}", self.interface);
                ctx.stop();
                return;
            }
        }
        // A loopback device (no MAC) has no neighbours to tell.
        let loopback = self.mac == [0; 6];
        match Announcer::open(&self.interface, self.index, self.mac) {
            _ if loopback => {}
            Ok(announcer) => self.announcer = Some(announcer),
            Err(error) => {
                tracing::error!(interface = %self.interface, %error, "cannot open announcement sockets on {}: {error}", self.interface);
                ctx.stop();
                return;
            }
        }
        // After a restart, put back anything that went missing meanwhile.
        let claimed: Vec<_> = self.claimed.values().cloned().collect();
        for (instance, held) in claimed {
            self.add(ctx, instance, held);
        }
    }
}

impl Supervised for AddressActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!(interface = %self.interface, "address actor for {} restarting", self.interface);
    }
}

impl StreamHandler<NetEvent> for AddressActor {
    fn handle(&mut self, event: NetEvent, ctx: &mut Context<Self>) {
        guarded(self, ctx, "netlink event", |actor, ctx| {
            actor.on_event(ctx, event)
        });
    }

    /// The subscription ended: the netlink socket failed. Stop, so the
    /// supervisor restarts us with a fresh one.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        tracing::error!(interface = %self.interface, "netlink event stream for {} ended; restarting", self.interface);
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
    type Result = ResponseFuture<()>;

    fn handle(&mut self, release: Release, _ctx: &mut Context<Self>) -> ResponseFuture<()> {
        for vip in &release.addresses {
            self.claimed.remove(&vip.address);
        }
        let netlink = self.netlink.clone();
        let (index, interface) = (self.index, self.interface.clone());
        Box::pin(async move {
            for vip in release.addresses {
                if let Err(error) = netlink.remove_address(index, vip).await {
                    let instance = &release.instance;
                    tracing::error!(%instance, address = %vip.address, %error, "({instance}) cannot remove {} from {interface}: {error}", vip.address);
                }
            }
        })
    }
}

impl Handler<Announce> for AddressActor {
    type Result = ();

    fn handle(&mut self, announce: Announce, ctx: &mut Context<Self>) {
        guarded(self, ctx, "announce", |actor, _ctx| {
            let Some(announcer) = actor.announcer.as_ref() else {
                return;
            };
            for _ in 0..announce.count {
                for vip in &announce.addresses {
                    let sent = match vip.address {
                        IpAddr::V4(a) => announcer.garp(a),
                        IpAddr::V6(a) => announcer.unsolicited_na(a),
                    };
                    if let Err(error) = sent {
                        let instance = &announce.instance;
                        tracing::warn!(%instance, address = %vip.address, %error, "({instance}) cannot announce {}: {error}", vip.address);
                    }
                }
            }
        });
    }
}

impl Handler<Watch> for AddressActor {
    type Result = ();

    fn handle(&mut self, Watch(recipient): Watch, _ctx: &mut Context<Self>) {
        recipient.do_send(LinkState { up: self.link_up });
        self.watchers.push(recipient);
    }
}

impl Handler<Unwatch> for AddressActor {
    type Result = ();

    fn handle(&mut self, Unwatch(recipient): Unwatch, _ctx: &mut Context<Self>) {
        self.watchers.retain(|w| *w != recipient);
    }
}

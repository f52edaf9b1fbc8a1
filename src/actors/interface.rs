//! One per interface and address family: reads every VRRP packet that
//! arrives, decodes it, and hands it to the instance with its VRID.
//!
//! The receive path is kept cheap so a junk flood cannot hide a real
//! advert: packets are read in batches straight from a large socket
//! buffer, decoding a bad one costs tens of nanoseconds, nothing is logged
//! per packet, and every drop is counted.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::Stream;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::net::vrrp_socket::{Batch, Received, VrrpReceiver};
use crate::proto::{Advert, Arrival, Endpoints};

use super::instance::Inbound;
use crate::net::netlink::LinkInfo;
use crate::sys::boundary::guarded;
use crate::sys::drop_log::DropLog;
use crate::sys::retry::Retry;

/// Packets read in one go before yielding to other actors.
const BATCH: usize = 256;

/// Packets this interface could not give to any instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unrouted {
    /// Too short to carry a VRID.
    pub truncated: u64,
    /// For a VRID no instance here uses.
    pub unknown_vrid: u64,
}

pub struct InterfaceActor {
    /// The name the configuration gives (it may be an altname).
    interface: String,
    /// The kernel's link of that name now; None while there is none.
    link: Option<LinkInfo>,
    ipv6: bool,
    routes: HashMap<u8, Recipient<Inbound>>,
    /// The multicast groups the instances here hear adverts on.
    groups: Vec<IpAddr>,
    /// Shared with status and metrics (control::Sources::receiver).
    unrouted: super::control::UnroutedCounter,
    drops: DropLog,
    /// The packets of the socket open now.
    stream: Option<SpawnHandle>,
    reopen: Retry,
    /// A reload left no instance here: receive nothing.
    retired: bool,
    /// Log adverts for VRIDs not run here (keepalived's
    /// log_unknown_vrids; vrrp_scheduler.c vrrp_dispatcher_read logs
    /// each, vipd at most one line per 10 s): counted either way.
    log_unknown_vrids: bool,
}

impl InterfaceActor {
    pub fn new(
        interface: String,
        link: Option<LinkInfo>,
        ipv6: bool,
        routes: HashMap<u8, Recipient<Inbound>>,
        groups: Vec<IpAddr>,
    ) -> InterfaceActor {
        InterfaceActor {
            interface,
            link,
            ipv6,
            routes,
            groups,
            unrouted: Default::default(),
            drops: DropLog::new(Duration::from_secs(10)),
            stream: None,
            reopen: Retry::default(),
            retired: false,
            log_unknown_vrids: false,
        }
    }

    pub fn logging_unknown_vrids(mut self, on: bool) -> InterfaceActor {
        self.log_unknown_vrids = on;
        self
    }

    /// Counts into `counter`, which status and metrics read.
    pub fn counting_into(mut self, counter: super::control::UnroutedCounter) -> InterfaceActor {
        self.unrouted = counter;
        self
    }

    fn count(&self, count: impl FnOnce(&mut Unrouted)) {
        let mut unrouted = self.unrouted.get();
        count(&mut unrouted);
        self.unrouted.set(unrouted);
    }

    /// Opens a socket on the link the name means now, replacing the one
    /// open; a failure is tried again later, never by a restart.
    fn open(&mut self, ctx: &mut Context<Self>) {
        if let Some(stream) = self.stream.take() {
            ctx.cancel_future(stream);
        }
        let Some(link) = &self.link else { return };
        let opened =
            VrrpReceiver::open(&link.name, link.index, self.ipv6, &self.groups).and_then(packets);
        match opened {
            Ok(stream) => {
                self.stream = Some(ctx.add_stream(stream));
                self.reopen.succeeded(ctx);
            }
            Err(error) => {
                let delay = self.reopen.schedule(ctx, |actor, ctx| actor.open(ctx));
                let family = if self.ipv6 { "IPv6" } else { "IPv4" };
                tracing::error!(interface = %self.interface, %error, "cannot receive {family} VRRP on {}: {error}; trying again in {delay:?}", self.interface);
            }
        }
    }

    fn route(&mut self, packet: Received) {
        let Some(&vrid) = packet.payload.get(1) else {
            self.count(|u| u.truncated += 1);
            self.drops.dropped(
                Instant::now(),
                &self.interface,
                "truncated",
                packet.source,
                &"too short for a VRRP header",
            );
            return;
        };
        let Some(instance) = self.routes.get(&vrid) else {
            self.count(|u| u.unknown_vrid += 1);
            if !self.log_unknown_vrids {
                return;
            }
            self.drops.dropped(
                Instant::now(),
                &self.interface,
                "unknown_vrid",
                packet.source,
                &format_args!("VRID {vrid} is not configured here"),
            );
            return;
        };
        let endpoints = Endpoints::new(packet.source, packet.destination);
        // The TTL is the instance's to judge: unicast adverts may cross routers.
        let (decoded, summed) = Advert::decode_signed_any_checksum(&packet.payload, &endpoints);
        instance.do_send(Inbound {
            summed,
            at: packet.at,
            arrival: Arrival {
                source: packet.source,
                destination: packet.destination,
                ttl: packet.ttl,
            },
            packet: decoded,
        });
    }
}

/// Batches of packets as they become readable; an error ends the stream.
fn packets(receiver: VrrpReceiver) -> io::Result<impl Stream<Item = Vec<Received>>> {
    // SAFETY: the descriptor belongs to the receiver's socket, which the
    // AsyncFd owns: it stays open and the same until the AsyncFd is dropped.
    let fd = unsafe { AsyncFd::register_with_interest(receiver, Interest::READABLE) }?;
    Ok(futures::stream::unfold(Some(fd), |fd| async move {
        let fd = fd?;
        loop {
            let mut guard = match fd.readable().await {
                Ok(guard) => guard,
                Err(error) => {
                    tracing::error!(%error, "waiting for VRRP packets failed");
                    return None;
                }
            };
            let mut batch = Vec::new();
            while batch.len() < BATCH {
                let room = BATCH - batch.len();
                match guard.get_inner().recv_batch(&mut batch, room) {
                    // Found empty: no need for one more call to see EAGAIN.
                    // Readiness is edge-triggered, so a packet that arrives
                    // after this read makes the socket readable again.
                    Ok(Batch { drained: true, .. }) => {
                        guard.clear_ready();
                        break;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(%error, "receiving VRRP packets failed");
                        return None;
                    }
                }
            }
            if !batch.is_empty() {
                return Some((batch, Some(fd)));
            }
        }
    }))
}

impl Actor for InterfaceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if !self.retired {
            self.stream = None;
            self.open(ctx);
        }
    }
}

impl Supervised for InterfaceActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // A retired actor is stopped, not restarted by a fault: nothing
        // to say (its last address may be a moment from being dropped).
        if self.retired {
            return;
        }
        tracing::warn!(interface = %self.interface, "receiver for {} restarting", self.interface);
    }
}

impl StreamHandler<Vec<Received>> for InterfaceActor {
    fn handle(&mut self, batch: Vec<Received>, ctx: &mut Context<Self>) {
        guarded(self, ctx, "packets", |actor, _ctx| {
            for packet in batch {
                actor.route(packet);
            }
        });
    }

    /// The socket failed: open another, later (never a restart, which
    /// would fail at once again on a link that is gone).
    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.stream = None;
        if self.retired {
            return;
        }
        let delay = self.reopen.schedule(ctx, |actor, ctx| actor.open(ctx));
        tracing::error!(interface = %self.interface, "VRRP receive stream on {} ended; opening another in {delay:?}", self.interface);
    }
}

/// A reload's new VRID table for this interface and family, the
/// multicast groups its instances hear adverts on, and whether adverts
/// for other VRIDs are logged.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRoutes {
    pub routes: HashMap<u8, Recipient<Inbound>>,
    pub groups: Vec<IpAddr>,
    pub log_unknown_vrids: bool,
}

impl Handler<SetRoutes> for InterfaceActor {
    type Result = ();

    fn handle(&mut self, new: SetRoutes, ctx: &mut Context<Self>) {
        let SetRoutes {
            routes,
            groups,
            log_unknown_vrids,
        } = new;
        self.routes = routes;
        self.log_unknown_vrids = log_unknown_vrids;
        if groups != self.groups {
            // A socket that joins the new groups; an advert arriving
            // while it replaces the old one may be missed, once, at a
            // reload that changed a group.
            self.groups = groups;
            if !self.retired {
                self.open(ctx);
            }
        }
    }
}

/// The configured name now means this link (or none): a socket on the
/// new link, if it is another.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Relink(pub Option<LinkInfo>);

impl Handler<Relink> for InterfaceActor {
    type Result = ();

    fn handle(&mut self, Relink(link): Relink, ctx: &mut Context<Self>) {
        let same = |l: &LinkInfo| (l.index, l.name.clone());
        if self.retired || self.link.as_ref().map(same) == link.as_ref().map(same) {
            return;
        }
        self.link = link;
        self.open(ctx);
    }
}

/// No instance receives here any more: close the socket (and its 8 MiB
/// buffer) and stay closed once the supervisor lets go of the actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RetireReceiver;

impl Handler<RetireReceiver> for InterfaceActor {
    type Result = ();

    fn handle(&mut self, _: RetireReceiver, ctx: &mut Context<Self>) {
        self.retired = true;
        self.routes.clear();
        if let Some(stream) = self.stream.take() {
            ctx.cancel_future(stream);
        }
        ctx.stop();
    }
}

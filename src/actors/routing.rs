//! One per daemon: the routes and policy rules masters hold (keepalived's
//! virtual_routes and virtual_rules). Added when an instance becomes
//! master, removed when it stops being one (and at start, when a crash
//! left them), and put back if someone deletes them meanwhile, as the
//! address actor does for addresses.

use std::time::Duration;

use actix::prelude::*;

use crate::log::phrases;
use crate::net::netlink::Netlink;
use crate::net::routes::{self, Routed, RoutingEvent};
use crate::sys::boundary::guarded;

/// A route that names a virtual address as its source, or a gateway
/// reached through one, can be refused until the address is in place:
/// try again this often, this many times.
const RETRY_EVERY: Duration = Duration::from_millis(50);
const ATTEMPTS: u32 = 40;

/// Hold `items` for `instance` until released.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ClaimRouting {
    pub instance: String,
    pub items: Vec<Routed>,
}

/// Remove `items`; the reply comes once the kernel has done it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReleaseRouting {
    pub instance: String,
    pub items: Vec<Routed>,
}

/// An instance's routes and rules, and the actor that holds them.
#[derive(Clone)]
pub struct Routing {
    pub actor: Addr<RoutingActor>,
    pub items: Vec<Routed>,
}

pub struct RoutingActor {
    netlink: Netlink,
    claimed: Vec<(String, Routed)>,
}

impl RoutingActor {
    pub fn new(netlink: Netlink) -> RoutingActor {
        RoutingActor {
            netlink,
            claimed: Vec::new(),
        }
    }

    fn add(&self, ctx: &mut Context<Self>, instance: String, item: Routed) {
        self.try_add(ctx, instance, item, 1);
    }

    /// One attempt; a failed one is retried later, but only while the
    /// item is still claimed: a release in between must win.
    fn try_add(&self, ctx: &mut Context<Self>, instance: String, item: Routed, attempt: u32) {
        let netlink = self.netlink.clone();
        let attempted = item.clone();
        ctx.spawn(
            async move {
                match &attempted {
                    Routed::Route(route) => netlink.add_route(route).await,
                    Routed::Rule(rule) => netlink.add_rule(rule).await,
                }
            }
            .into_actor(self)
            .map(move |added, _actor, ctx| {
                let Err(error) = added else { return };
                if attempt >= ATTEMPTS {
                    phrases::routing_failed(&instance, "add", &item.to_string(), &error);
                    return;
                }
                ctx.run_later(RETRY_EVERY, move |actor, ctx| {
                    if actor.claimed.contains(&(instance.clone(), item.clone())) {
                        actor.try_add(ctx, instance, item, attempt + 1);
                    }
                });
            }),
        );
    }

    fn on_event(&mut self, ctx: &mut Context<Self>, event: RoutingEvent) {
        let removed: Vec<(String, Routed)> = self
            .claimed
            .iter()
            .filter(|(_, held)| match (held, &event) {
                (Routed::Route(r), RoutingEvent::RouteRemoved(m)) => r.track && r.matches(m),
                (Routed::Rule(r), RoutingEvent::RuleRemoved(m)) => r.track && r.matches(m),
                _ => false,
            })
            .cloned()
            .collect();
        for (instance, held) in removed {
            phrases::routing_removed_behind_our_back(&instance, &held.to_string());
            self.add(ctx, instance, held);
        }
    }
}

impl Actor for RoutingActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match routes::subscribe() {
            Ok(events) => {
                ctx.add_stream(events);
            }
            Err(error) => {
                tracing::error!(%error, "cannot watch routes and rules: {error}");
                ctx.stop();
                return;
            }
        }
        // After a restart, put back anything that went missing meanwhile.
        for (instance, held) in self.claimed.clone() {
            self.add(ctx, instance, held);
        }
    }
}

impl Supervised for RoutingActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!("routing actor restarting");
    }
}

impl StreamHandler<RoutingEvent> for RoutingActor {
    fn handle(&mut self, event: RoutingEvent, ctx: &mut Context<Self>) {
        guarded(self, ctx, "routing event", |actor, ctx| {
            actor.on_event(ctx, event)
        });
    }

    /// The subscription ended: the netlink socket failed. Restart.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        tracing::error!("netlink stream of route and rule changes ended; restarting");
        ctx.stop();
    }
}

impl Handler<ClaimRouting> for RoutingActor {
    type Result = ();

    fn handle(&mut self, claim: ClaimRouting, ctx: &mut Context<Self>) {
        guarded(self, ctx, "claim routing", |actor, ctx| {
            for item in claim.items {
                let entry = (claim.instance.clone(), item.clone());
                if !actor.claimed.contains(&entry) {
                    actor.claimed.push(entry);
                }
                actor.add(ctx, claim.instance.clone(), item);
            }
        });
    }
}

impl Handler<ReleaseRouting> for RoutingActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, release: ReleaseRouting, _ctx: &mut Context<Self>) -> ResponseFuture<()> {
        self.claimed.retain(|(instance, item)| {
            !(instance == &release.instance && release.items.contains(item))
        });
        let netlink = self.netlink.clone();
        Box::pin(async move {
            for item in &release.items {
                let removed = match item {
                    Routed::Route(route) => netlink.remove_route(route).await,
                    Routed::Rule(rule) => netlink.remove_rule(rule).await,
                };
                if let Err(error) = removed {
                    phrases::routing_failed(&release.instance, "remove", &item.to_string(), &error);
                }
            }
        })
    }
}

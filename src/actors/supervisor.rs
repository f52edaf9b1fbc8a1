//! Starting the daemon: look up interfaces and source addresses, start the
//! actors under actix Supervisors, and stop cleanly on SIGTERM / SIGINT.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use actix::{Addr, Recipient, Supervisor};
use thiserror::Error;

use crate::config::{InstanceSettings, Settings};
use crate::net::netlink::{InterfaceAddress, LinkInfo, Netlink, NetlinkError};
use crate::proto::{choose_source, LocalAddress, SourceError};

use super::address::{AddressActor, AddressRouter};
use super::health::{HealthActor, Subscriber, Subscriptions};
use super::instance::{Inbound, InstanceActor, Shutdown};
use super::interface::InterfaceActor;
use super::routing::{Routing, RoutingActor};
use crate::sys::notifier;
use crate::sys::signals::{self, Request, Signals};

/// How long masters get to say goodbye (priority 0) and drop their
/// addresses before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(900);

#[derive(Debug, Error)]
pub enum StartError {
    #[error("interface {interface} (instance {instance}) does not exist")]
    NoSuchInterface { instance: String, interface: String },
    #[error("instance {instance} on {interface}: {source}")]
    Source {
        instance: String,
        interface: String,
        source: SourceError,
    },
    #[error("cannot handle signals: {0}")]
    Signals(#[from] std::io::Error),
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// Runs until SIGTERM or SIGINT; then masters hand over and it returns.
pub fn run(settings: Settings) -> Result<(), StartError> {
    // The kernel may delay a timer wake-up by the process's timer slack
    // (50 us by default) to batch wake-ups; every such delay lands on the
    // takeover time, so ask for none.
    if let Err(error) = nix::sys::prctl::set_timerslack(1) {
        tracing::debug!(%error, "cannot reduce timer slack");
    }
    signals::ignore_habitual_signals_during_start();
    actix::System::new().block_on(start_and_wait(settings))
}

async fn start_and_wait(settings: Settings) -> Result<(), StartError> {
    let mut signals = Signals::listen()?;
    let instances = start(settings).await?;
    tracing::info!(instances = instances.len(), "vipd running");

    loop {
        match signals.next().await {
            Request::Stop(name) => {
                tracing::info!(signal = name, "{name}: stopping");
                break;
            }
            Request::Reload => {
                tracing::warn!(
                    signal = "SIGHUP",
                    "SIGHUP: reload not supported yet; the running configuration is unchanged"
                );
            }
            Request::Nothing(name) => {
                tracing::info!(signal = name, "{name}: ignored; nothing changes");
            }
        }
    }
    let goodbyes = futures::future::join_all(instances.iter().map(|i| i.send(Shutdown)));
    if tokio::time::timeout(SHUTDOWN_GRACE, goodbyes)
        .await
        .is_err()
    {
        tracing::warn!("some instances did not finish stopping in {SHUTDOWN_GRACE:?}");
    }
    tracing::info!("vipd stopped");
    Ok(())
}

/// Starts every actor; returns the instances so they can be stopped.
pub async fn start(settings: Settings) -> Result<Vec<Addr<InstanceActor>>, StartError> {
    let Settings {
        instances: settings,
        health,
        warnings: _, // logged before start
    } = settings;
    let netlink = Netlink::connect()?;
    let mut links: BTreeMap<String, (LinkInfo, Vec<InterfaceAddress>)> = BTreeMap::new();
    for s in &settings {
        for interface in s.interfaces() {
            if links.contains_key(&interface) {
                continue;
            }
            let link = match netlink.link(&interface).await {
                Err(NetlinkError::NoSuchInterface(_)) => {
                    return Err(StartError::NoSuchInterface {
                        instance: s.name.clone(),
                        interface,
                    })
                }
                other => other?,
            };
            let addresses = netlink.addresses(link.index).await?;
            links.insert(interface, (link, addresses));
        }
    }

    let mut address_actors: HashMap<String, Addr<AddressActor>> = HashMap::new();
    for (name, (link, _)) in &links {
        let (name, link, netlink) = (name.clone(), link.clone(), netlink.clone());
        let actor = Supervisor::start(move |_| {
            AddressActor::new(name, link.index, link.mac, link.up, netlink)
        });
        address_actors.insert(link.name.clone(), actor);
    }

    let routing_actor = settings.iter().any(|s| !s.routing.is_empty()).then(|| {
        let netlink = netlink.clone();
        Supervisor::start(move |_| RoutingActor::new(netlink))
    });

    let mut instances = Vec::new();
    let mut routes: BTreeMap<(String, bool), HashMap<u8, Recipient<Inbound>>> = BTreeMap::new();
    let mut subscriptions = Subscriptions::default();
    for s in settings {
        let (link, addresses) = &links[&s.interface];
        let primary = source_address(&s, addresses)?;
        let params = s.params(primary);
        let mut router = AddressRouter::new(address_actors[&link.name].clone());
        for vip in params.held_addresses() {
            let placement = s.placement(vip.address);
            let actor = address_actors[s.interface_of(&placement)].clone();
            router.place(vip.address, actor, placement.options, placement.track);
        }
        let (interface, index) = (s.interface.clone(), link.index);
        let notifier =
            (!s.notify.is_empty()).then(|| notifier::spawn(s.name.clone(), s.notify.clone()));
        let routing = routing_actor
            .as_ref()
            .filter(|_| !s.routing.is_empty())
            .map(|actor| Routing {
                actor: actor.clone(),
                items: s.routing.clone(),
            });
        let actor = Supervisor::start(move |_| {
            InstanceActor::new(params, interface, index, router, routing, notifier)
        });
        for tracked in &s.trackers {
            subscriptions.add(
                tracked.kind(),
                tracked.name(),
                Subscriber {
                    instance: actor.clone().recipient(),
                    weight: tracked.weight(),
                },
            );
        }
        routes
            .entry((s.interface.clone(), s.is_ipv6()))
            .or_default()
            .insert(s.vrid().get(), actor.clone().recipient());
        instances.push(actor);
    }

    for ((interface, ipv6), routes) in routes {
        let index = links[&interface].0.index;
        Supervisor::start(move |_| InterfaceActor::new(interface, index, ipv6, routes));
    }
    let health = HealthActor::new(health.checks, health.files, subscriptions, netlink);
    if health.is_needed() {
        Supervisor::start(move |_| health);
    }
    Ok(instances)
}

/// The instance's advert source: the rule is the core's, the addresses
/// the kernel's.
fn source_address(
    s: &InstanceSettings,
    addresses: &[InterfaceAddress],
) -> Result<IpAddr, StartError> {
    let local: Vec<LocalAddress> = addresses
        .iter()
        .map(|a| LocalAddress {
            address: a.address,
            secondary: a.secondary,
        })
        .collect();
    choose_source(s.source_ip, s.is_ipv6(), &s.held_addresses(), &local).map_err(|source| {
        StartError::Source {
            instance: s.name.clone(),
            interface: s.interface.clone(),
            source,
        }
    })
}

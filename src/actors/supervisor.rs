//! Starting the daemon: look up interfaces and source addresses, start the
//! actors under actix Supervisors, and stop cleanly on SIGTERM / SIGINT.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use actix::{Addr, Recipient, Supervisor};
use thiserror::Error;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::health::Tracked;
use crate::config::{InstanceSettings, Settings};
use crate::net::netlink::{InterfaceAddress, LinkInfo, Netlink, NetlinkError};
use crate::net::vrrp_socket::is_link_local;

use super::address::AddressActor;
use super::health::{HealthActor, Subscriber, Subscriptions};
use super::instance::{Inbound, InstanceActor, Shutdown};
use super::interface::InterfaceActor;
use super::notifier;

/// How long masters get to say goodbye (priority 0) and drop their
/// addresses before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(900);

#[derive(Debug, Error)]
pub enum StartError {
    #[error("interface {interface} (instance {instance}) does not exist")]
    NoSuchInterface { instance: String, interface: String },
    #[error("instance {instance}: {interface} has no {family} address to send adverts from; set source_ip")]
    NoSourceAddress {
        instance: String,
        interface: String,
        family: &'static str,
    },
    #[error("instance {instance}: source_ip {source_ip} is not an address of {interface}")]
    SourceNotOnInterface {
        instance: String,
        interface: String,
        source_ip: IpAddr,
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
    actix::System::new().block_on(start_and_wait(settings))
}

async fn start_and_wait(settings: Settings) -> Result<(), StartError> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let instances = start(settings).await?;
    tracing::info!(instances = instances.len(), "vipd running");

    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
        _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
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
    } = settings;
    let netlink = Netlink::connect()?;
    let mut links: BTreeMap<String, (LinkInfo, Vec<InterfaceAddress>)> = BTreeMap::new();
    for s in &settings {
        if links.contains_key(&s.interface) {
            continue;
        }
        let link = match netlink.link(&s.interface).await {
            Err(NetlinkError::NoSuchInterface(_)) => {
                return Err(StartError::NoSuchInterface {
                    instance: s.name.clone(),
                    interface: s.interface.clone(),
                })
            }
            other => other?,
        };
        let addresses = netlink.addresses(link.index).await?;
        links.insert(s.interface.clone(), (link, addresses));
    }

    let mut address_actors: HashMap<String, Addr<AddressActor>> = HashMap::new();
    for (name, (link, _)) in &links {
        let (name, link, netlink) = (name.clone(), link.clone(), netlink.clone());
        let actor = Supervisor::start(move |_| {
            AddressActor::new(name, link.index, link.mac, link.up, netlink)
        });
        address_actors.insert(link.name.clone(), actor);
    }

    let mut instances = Vec::new();
    let mut routes: BTreeMap<(String, bool), HashMap<u8, Recipient<Inbound>>> = BTreeMap::new();
    let mut subscriptions = Subscriptions::default();
    for s in settings {
        let (link, addresses) = &links[&s.interface];
        let primary = source_address(&s, addresses)?;
        let params = s.params(primary);
        let address_actor = address_actors[&link.name].clone();
        let (interface, index) = (s.interface.clone(), link.index);
        let notifier =
            (!s.notify.is_empty()).then(|| notifier::spawn(s.name.clone(), s.notify.clone()));
        let actor = Supervisor::start(move |_| {
            InstanceActor::new(params, interface, index, address_actor, notifier)
        });
        for tracked in &s.trackers {
            let (table, name, weight) = match tracked {
                Tracked::Check { name, weight } => (&mut subscriptions.checks, name, *weight),
                Tracked::Interface { name, weight } => {
                    (&mut subscriptions.interfaces, name, *weight)
                }
                Tracked::File { name, weight } => (&mut subscriptions.files, name, *weight),
            };
            table.entry(name.clone()).or_default().push(Subscriber {
                instance: actor.clone().recipient(),
                weight,
            });
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

/// The configured source_ip, or the interface's own address of the
/// virtual addresses' family: IPv4, its primary (not a virtual address);
/// IPv6, its link-local address (RFC 5798 §5.1.2.2).
fn source_address(
    s: &InstanceSettings,
    addresses: &[InterfaceAddress],
) -> Result<IpAddr, StartError> {
    if let Some(source) = s.source_ip {
        return if addresses.iter().any(|a| a.address == source) {
            Ok(source)
        } else {
            Err(StartError::SourceNotOnInterface {
                instance: s.name.clone(),
                interface: s.interface.clone(),
                source_ip: source,
            })
        };
    }
    let is_vip = |a: &IpAddr| s.virtual_addresses().iter().any(|v| v.address == *a);
    let candidates = addresses
        .iter()
        .filter(|a| a.address.is_ipv6() == s.is_ipv6() && !is_vip(&a.address));
    let chosen = if s.is_ipv6() {
        candidates
            .filter(|a| matches!(a.address, IpAddr::V6(v6) if is_link_local(v6)))
            .map(|a| a.address)
            .next()
    } else {
        let candidates: Vec<_> = candidates.collect();
        candidates
            .iter()
            .find(|a| !a.secondary)
            .or(candidates.first())
            .map(|a| a.address)
    };
    chosen.ok_or_else(|| StartError::NoSourceAddress {
        instance: s.name.clone(),
        interface: s.interface.clone(),
        family: if s.is_ipv6() {
            "IPv6 link-local"
        } else {
            "IPv4"
        },
    })
}

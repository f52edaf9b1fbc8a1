//! Starting the daemon: look up interfaces and source addresses, start the
//! actors under actix Supervisors, and stop cleanly on SIGTERM / SIGINT.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use actix::{Addr, Recipient, Supervisor};
use thiserror::Error;

use crate::config::{InstanceSettings, Settings};
use crate::net::netlink::{InterfaceAddress, LinkInfo, Netlink, NetlinkError};
use crate::net::vmac::{parent_sysctls, Sysctl};
use crate::proto::packet::virtual_mac;
use crate::proto::{choose_source, LocalAddress, SourceError};

use super::address::{AddressActor, AddressRouter};
use super::control::{ControlActor, Sources};
use super::health::{HealthActor, Subscriber, Subscriptions};
use super::instance::{GroupMembership, Inbound, InstanceActor, Shutdown};
use super::interface::InterfaceActor;
use super::metrics::MetricsActor;
use super::routing::{Routing, RoutingActor};
use super::sync_group::{Members, SyncGroupActor};
use crate::log::phrases::Subject;
use crate::sys::control_socket;
use crate::sys::notifier;
use crate::sys::signals::{self, Request, Signals};
use std::path::PathBuf;

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
    #[error("instance {instance}: cannot make VMAC {name} on {interface}: {source}")]
    Vmac {
        instance: String,
        name: String,
        interface: String,
        source: Box<NetlinkError>,
    },
    #[error("control socket {}: {source}", path.display())]
    ControlSocket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("metrics endpoint {listen}: {source}")]
    Metrics {
        listen: std::net::SocketAddr,
        source: std::io::Error,
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
    let socket = settings.control_socket.clone();
    let Running {
        instances,
        made,
        netlink,
    } = match start(settings).await {
        Ok(running) => running,
        // Ours was bound (unless binding it failed): do not leave it.
        Err(error) => {
            if !matches!(error, StartError::ControlSocket { .. }) {
                let _ = std::fs::remove_file(&socket);
            }
            return Err(error);
        }
    };
    tracing::info!(instances = instances.len(), "vipd running");
    tell_service_manager(sd_notify::NotifyState::Ready);

    loop {
        match signals.next().await {
            Request::Stop(name) => {
                tracing::info!(signal = name, "{name}: stopping");
                tell_service_manager(sd_notify::NotifyState::Stopping);
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
    made.undo(&netlink).await;
    tracing::info!("vipd stopped");
    Ok(())
}

/// systemd's Type=notify: READY once every actor runs, STOPPING when the
/// graceful stop begins. Without NOTIFY_SOCKET (not under systemd) this
/// does nothing.
fn tell_service_manager(state: sd_notify::NotifyState) {
    if let Err(error) = sd_notify::notify(&[state]) {
        tracing::warn!(%error, "cannot tell the service manager: {error}");
    }
}

/// What vipd made outside its actors and must undo at exit: VMACs, and
/// the kernel settings it changed on their parents.
#[derive(Default)]
pub struct Made {
    control_socket: Option<PathBuf>,
    vmacs: Vec<String>,
    /// VMAC parents whose settings were changed, and their old settings.
    parents: Vec<String>,
    restore: Vec<Sysctl>,
}

impl Made {
    pub async fn undo(&self, netlink: &Netlink) {
        if let Some(path) = &self.control_socket {
            let _ = std::fs::remove_file(path);
        }
        for name in &self.vmacs {
            if let Err(error) = netlink.delete_link(name).await {
                tracing::warn!(vmac = %name, %error, "cannot remove VMAC {name}: {error}");
            }
        }
        for setting in &self.restore {
            if let Err(error) = setting.apply() {
                let path = setting.path.display();
                tracing::warn!(%path, %error, "cannot restore {path}: {error}");
            }
        }
    }
}

/// A running daemon: its instances, and what to undo when it stops.
pub struct Running {
    pub instances: Vec<Addr<InstanceActor>>,
    pub made: Made,
    pub netlink: Netlink,
}

/// Makes each instance's VMAC (a leftover of the same name is replaced),
/// setting keepalived's kernel settings on it and its parent.
async fn make_vmacs(settings: &[InstanceSettings], netlink: &Netlink) -> Result<Made, StartError> {
    let mut made = Made::default();
    for s in settings {
        let Some(vmac) = &s.vmac else { continue };
        let failed = |source: NetlinkError| StartError::Vmac {
            source: Box::new(source),
            instance: s.name.clone(),
            name: vmac.name.clone(),
            interface: s.interface.clone(),
        };
        let parent = match netlink.link(&s.interface).await {
            Err(NetlinkError::NoSuchInterface(_)) => {
                return Err(StartError::NoSuchInterface {
                    instance: s.name.clone(),
                    interface: s.interface.clone(),
                })
            }
            other => other?,
        };
        if !made.parents.contains(&s.interface) {
            made.parents.push(s.interface.clone());
            for setting in parent_sysctls(&s.interface) {
                let old = setting
                    .apply()
                    .map_err(|e| failed(NetlinkError::Sysctl(e)))?;
                made.restore.push(old);
            }
        }
        // IPv6 adverts leave the VMAC from the parent's link-local address.
        let link_local = if s.is_ipv6() && !vmac.xmit_base {
            let addresses = netlink.addresses(parent.index).await?;
            match source_address(s, &addresses)? {
                IpAddr::V6(v6) => Some(v6),
                IpAddr::V4(_) => None,
            }
        } else {
            None
        };
        let mac = virtual_mac(s.vrid(), s.is_ipv6());
        netlink
            .create_vmac(parent.index, &vmac.name, mac, s.is_ipv6(), link_local)
            .await
            .map_err(failed)?;
        made.vmacs.push(vmac.name.clone());
    }
    Ok(made)
}

/// Starts every actor; returns them and what to undo at exit.
pub async fn start(settings: Settings) -> Result<Running, StartError> {
    let Settings {
        instances: settings,
        health,
        warnings: _, // logged before start
        sync_groups,
        control_socket,
        metrics,
    } = settings;
    let netlink = Netlink::connect()?;
    // First, so a second vipd with the same socket stops before it
    // touches anything.
    let control =
        control_socket::bind(&control_socket).map_err(|source| StartError::ControlSocket {
            path: control_socket.clone(),
            source,
        })?;
    let mut made = make_vmacs(&settings, &netlink).await?;
    made.control_socket = Some(control_socket);
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

    // Groups first, so members know where to report; members second.
    let mut memberships: HashMap<String, GroupMembership> = HashMap::new();
    let mut groups = Vec::new();
    for group in &sync_groups {
        let notifier = (!group.notify.is_empty())
            .then(|| notifier::spawn(Subject::Group(group.name.clone()), group.notify.clone()));
        let (name, size) = (group.name.clone(), group.members.len());
        let actor = Supervisor::start(move |_| SyncGroupActor::new(name, size, notifier));
        for (member, instance) in group.members.iter().enumerate() {
            memberships.insert(
                instance.clone(),
                GroupMembership {
                    recipient: actor.clone().recipient(),
                    member,
                },
            );
        }
        groups.push((actor, group.members.clone()));
    }

    let mut instances = Vec::new();
    let mut by_name: HashMap<String, Addr<InstanceActor>> = HashMap::new();
    let mut routes: BTreeMap<(String, bool), HashMap<u8, Recipient<Inbound>>> = BTreeMap::new();
    let mut subscriptions = Subscriptions::default();
    for s in settings {
        let (link, addresses) = &links[&s.interface];
        let primary = source_address(&s, addresses)?;
        let params = s.params(primary);
        let own = s.vmac.as_ref().map_or(&link.name, |v| &v.name);
        let mut router = AddressRouter::new(address_actors[own].clone());
        for vip in params.held_addresses() {
            let placement = s.placement(vip.address);
            let actor = address_actors[s.interface_of(&placement)].clone();
            router.place(vip.address, actor, placement.options, placement.track);
        }
        // Adverts leave through the VMAC, so switches learn its MAC where
        // the master is, unless vmac_xmit_base.
        let sender = match &s.vmac {
            Some(vmac) if !vmac.xmit_base => &links[&vmac.name].0,
            _ => link,
        };
        let (interface, index) = (sender.name.clone(), sender.index);
        let notifier = (!s.notify.is_empty())
            .then(|| notifier::spawn(Subject::Instance(s.name.clone()), s.notify.clone()));
        let routing = routing_actor
            .as_ref()
            .filter(|_| !s.routing.is_empty())
            .map(|actor| Routing {
                actor: actor.clone(),
                items: s.routing.clone(),
            });
        let membership = memberships.get(&s.name).cloned();
        let actor = Supervisor::start(move |_| {
            InstanceActor::new(
                params, interface, index, router, routing, membership, notifier,
            )
        });
        by_name.insert(s.name.clone(), actor.clone());
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

    for (group, members) in groups {
        let members = members
            .iter()
            .map(|name| by_name[name].clone().recipient())
            .collect();
        group.do_send(Members(members));
    }

    for ((interface, ipv6), routes) in routes {
        let index = links[&interface].0.index;
        Supervisor::start(move |_| InterfaceActor::new(interface, index, ipv6, routes));
    }
    let health = HealthActor::new(health.checks, health.files, subscriptions, netlink.clone());
    let health = health
        .is_needed()
        .then(|| Supervisor::start(move |_| health));
    let sources = Sources {
        instances: instances.clone(),
        health,
    };
    if let Some(listen) = metrics {
        let metrics = std::net::TcpListener::bind(listen)
            .and_then(|listener| MetricsActor::new(listener, sources.clone()))
            .map_err(|source| StartError::Metrics { listen, source })?;
        Supervisor::start(move |_| metrics);
    }
    let control =
        ControlActor::new(control, sources).map_err(|source| StartError::ControlSocket {
            path: made.control_socket.clone().unwrap_or_default(),
            source,
        })?;
    Supervisor::start(move |_| control);
    Ok(Running {
        instances,
        made,
        netlink,
    })
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

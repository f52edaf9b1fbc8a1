//! Starting the daemon: look up interfaces and source addresses, start the
//! actors under actix Supervisors, and stop cleanly on SIGTERM / SIGINT.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use actix::{Addr, Recipient, Supervisor};
use thiserror::Error;

use crate::config::health::HealthSettings;
use crate::config::validate::SyncGroupSettings;
use crate::config::{ConfigErrors, InstanceSettings, Settings};
use crate::net::netlink::{InterfaceAddress, LinkInfo, Netlink, NetlinkError};
use crate::net::vmac::{parent_sysctls, Sysctl};
use crate::proto::packet::virtual_mac;
use crate::proto::TrackerEffect;
use crate::proto::{choose_source, LocalAddress, SourceError};
use crate::status::{epoch_seconds, ReloadStatus};

use super::address::{AddressActor, AddressRouter, Unwatch};
use super::control::{ControlActor, Parts, Sources};
use super::health::{HealthActor, Reconfigure, Subscriber, Subscriptions, TrackerUpdate};
use super::instance::{GroupMembership, Inbound, InstanceActor, Retire, SetNotifier, Shutdown};
use super::interface::{InterfaceActor, SetRoutes};
use super::metrics::MetricsActor;
use super::routing::{Routing, RoutingActor};
use super::sync_group::{Members, SyncGroupActor};
use crate::log::phrases::Subject;
use crate::sys::control_socket;
use crate::sys::notifier::Notifiers;
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

/// Reads the configuration again, every layer, as at start: what a
/// reload (SIGHUP) applies, or the errors it is refused for.
pub type Reread = Box<dyn Fn() -> Result<Settings, ConfigErrors>>;

/// Runs until SIGTERM or SIGINT; then masters hand over and it returns.
/// SIGHUP applies `reread`'s configuration without restarting.
pub fn run(settings: Settings, reread: Reread) -> Result<(), StartError> {
    // The kernel may delay a timer wake-up by the process's timer slack
    // (50 us by default) to batch wake-ups; every such delay lands on the
    // takeover time, so ask for none.
    if let Err(error) = nix::sys::prctl::set_timerslack(1) {
        tracing::debug!(%error, "cannot reduce timer slack");
    }
    signals::ignore_habitual_signals_during_start();
    actix::System::new().block_on(start_and_wait(settings, reread))
}

async fn start_and_wait(settings: Settings, reread: Reread) -> Result<(), StartError> {
    let mut signals = Signals::listen()?;
    let socket = settings.control_socket.clone();
    let mut running = match start(settings).await {
        Ok(running) => running,
        // Ours was bound (unless binding it failed): do not leave it.
        Err(error) => {
            if !matches!(error, StartError::ControlSocket { .. }) {
                let _ = std::fs::remove_file(&socket);
            }
            return Err(error);
        }
    };
    tracing::info!(instances = running.instances.len(), "vipd running");
    tell_service_manager(&[sd_notify::NotifyState::Ready]);
    let mut reloads = 0;

    loop {
        match signals.next().await {
            Request::Stop(name) => {
                tracing::info!(signal = name, "{name}: stopping");
                tell_service_manager(&[sd_notify::NotifyState::Stopping]);
                break;
            }
            Request::Reload => {
                reloads += 1;
                tracing::info!(signal = "SIGHUP", "SIGHUP: reloading the configuration");
                let monotonic = sd_notify::NotifyState::monotonic_usec_now();
                let mut reloading = vec![sd_notify::NotifyState::Reloading];
                reloading.extend(monotonic.ok());
                tell_service_manager(&reloading);
                let outcome = match reread() {
                    Err(errors) => Err(ReloadError::Refused(format!(
                        "the new configuration has errors:\n{errors}"
                    ))),
                    Ok(new) => {
                        for warning in &new.warnings {
                            tracing::warn!(warning = %warning, "configuration: {warning}");
                        }
                        running.reload(new).await
                    }
                };
                let (applied, summary) = match outcome {
                    Ok(summary) => {
                        tracing::info!("reload applied: {summary}");
                        (true, summary)
                    }
                    Err(ReloadError::Refused(why)) => {
                        tracing::error!(
                            "reload refused, the running configuration is unchanged: {why}"
                        );
                        (false, why)
                    }
                    Err(ReloadError::Partial(why)) => {
                        tracing::error!("reload partly applied: {why}");
                        (false, format!("partly applied: {why}"))
                    }
                };
                running.sources.set_reload(ReloadStatus {
                    at: epoch_seconds(std::time::SystemTime::now()),
                    sequence: reloads,
                    applied,
                    summary,
                });
                tell_service_manager(&[sd_notify::NotifyState::Ready]);
            }
            Request::Nothing(name) => {
                tracing::info!(signal = name, "{name}: ignored; nothing changes");
            }
        }
    }
    let Running {
        instances,
        made,
        netlink,
        ..
    } = running;
    let goodbyes = futures::future::join_all(instances.values().map(|i| i.actor.send(Shutdown)));
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
fn tell_service_manager(states: &[sd_notify::NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
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

/// One running instance: the settings it was started with, its actor.
pub struct RunningInstance {
    pub settings: InstanceSettings,
    pub actor: Addr<InstanceActor>,
}

/// A running daemon: its actors, what they were started from (a reload
/// compares against it), and what to undo when it stops.
pub struct Running {
    pub instances: BTreeMap<String, RunningInstance>,
    pub made: Made,
    pub netlink: Netlink,
    links: BTreeMap<String, (LinkInfo, Vec<InterfaceAddress>)>,
    address_actors: HashMap<String, Addr<AddressActor>>,
    routing_actor: Option<Addr<RoutingActor>>,
    interface_actors: BTreeMap<(String, bool), Addr<InterfaceActor>>,
    health: Option<Addr<HealthActor>>,
    health_settings: HealthSettings,
    sync_groups: Vec<SyncGroupSettings>,
    group_actors: Vec<(Addr<SyncGroupActor>, Vec<String>)>,
    memberships: HashMap<String, GroupMembership>,
    control_socket: PathBuf,
    metrics: Option<std::net::SocketAddr>,
    pub sources: Sources,
    /// Notify queues by instance or group name; a reload reuses them.
    notifiers: Notifiers,
}

/// Makes each instance's VMAC (a leftover of the same name is replaced),
/// setting keepalived's kernel settings on it and its parent.
async fn make_vmacs(
    settings: &[InstanceSettings],
    netlink: &Netlink,
    made: &mut Made,
) -> Result<(), StartError> {
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
    Ok(())
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
    let mut made = Made::default();
    make_vmacs(&settings, &netlink, &mut made).await?;
    made.control_socket = Some(control_socket.clone());
    let mut running = Running {
        instances: BTreeMap::new(),
        made,
        netlink,
        links: BTreeMap::new(),
        address_actors: HashMap::new(),
        routing_actor: None,
        interface_actors: BTreeMap::new(),
        health: None,
        health_settings: health,
        sync_groups: Vec::new(),
        group_actors: Vec::new(),
        memberships: HashMap::new(),
        control_socket,
        metrics,
        sources: Sources::default(),
        notifiers: Notifiers::default(),
    };
    running.find_links(&settings).await?;

    // Groups first, so members know where to report; members second.
    for group in &sync_groups {
        let notifier = (!group.notify.is_empty()).then(|| {
            running
                .notifiers
                .for_subject(Subject::Group(group.name.clone()), group.notify.clone())
        });
        let (name, size) = (group.name.clone(), group.members.len());
        let actor = Supervisor::start(move |_| SyncGroupActor::new(name, size, notifier));
        for (member, instance) in group.members.iter().enumerate() {
            running.memberships.insert(
                instance.clone(),
                GroupMembership {
                    recipient: actor.clone().recipient(),
                    member,
                },
            );
        }
        running.group_actors.push((actor, group.members.clone()));
    }
    running.sync_groups = sync_groups;

    for s in settings {
        running.start_instance(s)?;
    }
    running.wire();
    let sources = running.sources.clone();
    if let Some(listen) = metrics {
        let metrics = std::net::TcpListener::bind(listen)
            .and_then(|listener| MetricsActor::new(listener, sources.clone()))
            .map_err(|source| StartError::Metrics { listen, source })?;
        Supervisor::start(move |_| metrics);
    }
    let control =
        ControlActor::new(control, sources).map_err(|source| StartError::ControlSocket {
            path: running.control_socket.clone(),
            source,
        })?;
    Supervisor::start(move |_| control);
    Ok(running)
}

impl Running {
    /// Looks up the interfaces `settings` use that are not known yet, and
    /// starts an address actor for each.
    async fn find_links(&mut self, settings: &[InstanceSettings]) -> Result<(), StartError> {
        for s in settings {
            for interface in s.interfaces() {
                if self.links.contains_key(&interface) {
                    continue;
                }
                let link = match self.netlink.link(&interface).await {
                    Err(NetlinkError::NoSuchInterface(_)) => {
                        return Err(StartError::NoSuchInterface {
                            instance: s.name.clone(),
                            interface,
                        })
                    }
                    other => other?,
                };
                let addresses = self.netlink.addresses(link.index).await?;
                let (name, l, netlink) = (link.name.clone(), link.clone(), self.netlink.clone());
                let actor = Supervisor::start(move |_| {
                    AddressActor::new(name, l.index, l.mac, l.up, netlink)
                });
                self.address_actors.insert(link.name.clone(), actor);
                self.links.insert(interface, (link, addresses));
            }
        }
        Ok(())
    }

    /// Starts one instance's actor (its links must be known).
    fn start_instance(&mut self, s: InstanceSettings) -> Result<(), StartError> {
        let (link, addresses) = &self.links[&s.interface];
        let primary = source_address(&s, addresses)?;
        let params = s.params(primary);
        let own = s.vmac.as_ref().map_or(&link.name, |v| &v.name);
        let mut router = AddressRouter::new(self.address_actors[own].clone());
        for vip in params.held_addresses() {
            let placement = s.placement(vip.address);
            let actor = self.address_actors[s.interface_of(&placement)].clone();
            router.place(vip.address, actor, placement.options, placement.track);
        }
        // Adverts leave through the VMAC, so switches learn its MAC where
        // the master is, unless vmac_xmit_base.
        let sender = match &s.vmac {
            Some(vmac) if !vmac.xmit_base => &self.links[&vmac.name].0,
            _ => link,
        };
        let (interface, index) = (sender.name.clone(), sender.index);
        let notifier = (!s.notify.is_empty()).then(|| {
            self.notifiers
                .for_subject(Subject::Instance(s.name.clone()), s.notify.clone())
        });
        if !s.routing.is_empty() && self.routing_actor.is_none() {
            let netlink = self.netlink.clone();
            self.routing_actor = Some(Supervisor::start(move |_| RoutingActor::new(netlink)));
        }
        let routing = self
            .routing_actor
            .as_ref()
            .filter(|_| !s.routing.is_empty())
            .map(|actor| Routing {
                actor: actor.clone(),
                items: s.routing.clone(),
            });
        let membership = self.memberships.get(&s.name).cloned();
        let actor = Supervisor::start(move |_| {
            InstanceActor::new(
                params, interface, index, router, routing, membership, notifier,
            )
        });
        self.instances
            .insert(s.name.clone(), RunningInstance { settings: s, actor });
        Ok(())
    }

    /// Points everything that reaches instances at the current ones.
    fn wire(&mut self) {
        self.wire_health();
        self.wire_reach();
    }

    /// Health's checks, files and subscriptions. A reload calls this once,
    /// at the end: each call runs every check at once.
    fn wire_health(&mut self) {
        let mut subscriptions = Subscriptions::default();
        for RunningInstance { settings: s, actor } in self.instances.values() {
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
        }
        let (checks, files) = (
            self.health_settings.checks.clone(),
            self.health_settings.files.clone(),
        );
        match &self.health {
            Some(health) => health.do_send(Reconfigure {
                checks,
                files,
                subscriptions,
            }),
            None => {
                let health = HealthActor::new(checks, files, subscriptions, self.netlink.clone());
                self.health = health
                    .is_needed()
                    .then(|| Supervisor::start(move |_| health));
            }
        }
    }

    /// The receivers' VRID tables, sync groups' members, and what status
    /// and metrics read. (Health may still reach a retired instance for a
    /// moment; it ignores what it is told.)
    fn wire_reach(&mut self) {
        let mut routes: BTreeMap<(String, bool), HashMap<u8, Recipient<Inbound>>> = self
            .interface_actors
            .keys()
            .map(|key| (key.clone(), HashMap::new()))
            .collect();
        for RunningInstance { settings: s, actor } in self.instances.values() {
            routes
                .entry((s.interface.clone(), s.is_ipv6()))
                .or_default()
                .insert(s.vrid().get(), actor.clone().recipient());
        }
        for ((interface, ipv6), routes) in routes {
            match self.interface_actors.get(&(interface.clone(), ipv6)) {
                // A receiver no instance uses any more keeps running
                // with an empty table: its drops still count.
                Some(actor) => actor.do_send(SetRoutes(routes)),
                None => {
                    let index = self.links[&interface].0.index;
                    let key = (interface.clone(), ipv6);
                    let actor = Supervisor::start(move |_| {
                        InterfaceActor::new(interface, index, ipv6, routes)
                    });
                    self.interface_actors.insert(key, actor);
                }
            }
        }
        for (group, members) in &self.group_actors {
            // A member's place is its index: while a reload replaces one,
            // the group keeps the old list (a retired member ignores it).
            let members: Option<Vec<_>> = members
                .iter()
                .map(|name| {
                    self.instances
                        .get(name)
                        .map(|i| i.actor.clone().recipient())
                })
                .collect();
            if let Some(members) = members {
                group.do_send(Members(members));
            }
        }
        let reload = self.sources.reload();
        self.sources.replace(Parts {
            instances: self.instances.values().map(|i| i.actor.clone()).collect(),
            health: self.health.clone(),
            reload,
        });
    }

    /// Applies a new configuration in place (SIGHUP). An instance whose
    /// settings did not change keeps running untouched: no transition, no
    /// gap in its adverts. One whose notify settings or trackers changed
    /// keeps running with the new ones. Any other change replaces the
    /// instance: it stops as at exit (a master sends priority 0 and
    /// removes its addresses), then starts anew. Removed instances stop
    /// the same way; added ones start. What cannot change without a
    /// restart (the control socket, the metrics endpoint, sync groups)
    /// refuses the whole reload, and the old configuration keeps running.
    pub async fn reload(&mut self, new: Settings) -> Result<String, ReloadError> {
        let Settings {
            instances: wanted,
            health,
            warnings: _,
            sync_groups,
            control_socket,
            metrics,
        } = new;
        if control_socket != self.control_socket {
            return Err(ReloadError::Refused(format!(
                "control_socket changed ({} to {}): restart vipd to apply it",
                self.control_socket.display(),
                control_socket.display()
            )));
        }
        if metrics != self.metrics {
            return Err(ReloadError::Refused(
                "metrics.listen changed: restart vipd to apply it".into(),
            ));
        }
        if sync_groups != self.sync_groups {
            return Err(ReloadError::Refused(
                "sync groups changed: restart vipd to apply them".into(),
            ));
        }
        let mut plan = ReloadPlan::default();
        let wanted_names: Vec<&str> = wanted.iter().map(|s| s.name.as_str()).collect();
        for name in self.instances.keys() {
            if !wanted_names.contains(&name.as_str()) {
                plan.removed.push(name.clone());
            }
        }
        for s in wanted {
            match self.instances.get(&s.name) {
                None => plan.added.push(s),
                Some(old) if old.settings == s => plan.unchanged += 1,
                Some(old) if same_but_health(&old.settings, &s) => plan.adjusted.push(s),
                Some(_) => plan.replaced.push(s),
            }
        }
        // New interfaces first: a missing one refuses the reload before
        // anything stops.
        let starting: Vec<InstanceSettings> =
            plan.added.iter().chain(&plan.replaced).cloned().collect();
        let refused = |e: StartError| ReloadError::Refused(e.to_string());
        self.find_links(&starting).await.map_err(refused)?;
        for s in &starting {
            let (_, addresses) = &self.links[&s.interface];
            source_address(s, addresses).map_err(refused)?;
        }

        // Stop what goes, and what is replaced, before starting anything
        // that may use the same VRID or VMAC.
        let leaving: Vec<String> = plan
            .removed
            .iter()
            .cloned()
            .chain(plan.replaced.iter().map(|s| s.name.clone()))
            .collect();
        let mut retiring = Vec::new();
        for name in &leaving {
            if let Some(old) = self.instances.remove(name) {
                for address in self.address_actors.values() {
                    address.do_send(Unwatch(old.actor.clone().recipient()));
                }
                retiring.push((old.settings, old.actor.send(Retire)));
            }
        }
        // The receivers, groups and status stop reaching them now.
        self.wire_reach();
        let (settings, replies): (Vec<_>, Vec<_>) = retiring.into_iter().unzip();
        if tokio::time::timeout(SHUTDOWN_GRACE, futures::future::join_all(replies))
            .await
            .is_err()
        {
            tracing::warn!("some instances did not finish stopping in {SHUTDOWN_GRACE:?}");
        }
        for s in &settings {
            if let Some(vmac) = &s.vmac {
                if let Err(error) = self.netlink.delete_link(&vmac.name).await {
                    tracing::warn!(vmac = %vmac.name, %error, "cannot remove VMAC {}: {error}", vmac.name);
                }
                self.made.vmacs.retain(|v| *v != vmac.name);
            }
        }

        for s in &plan.adjusted {
            let running = self
                .instances
                .get_mut(&s.name)
                .expect("adjusted instances run");
            if running.settings.notify != s.notify {
                let notifier = (!s.notify.is_empty()).then(|| {
                    self.notifiers
                        .for_subject(Subject::Instance(s.name.clone()), s.notify.clone())
                });
                running.actor.do_send(SetNotifier(notifier));
            }
            // A tracker no longer tracked stops counting.
            for old in &running.settings.trackers {
                let still = s
                    .trackers
                    .iter()
                    .any(|t| t.kind() == old.kind() && t.name() == old.name());
                if !still {
                    running.actor.do_send(TrackerUpdate {
                        name: old.key(),
                        effect: TrackerEffect::Neutral,
                    });
                }
            }
            running.settings = s.clone();
        }
        // Past the point of no return: an instance that cannot start now
        // is reported, and the others still start.
        let mut failed = Vec::new();
        for s in starting {
            let name = s.name.clone();
            if let Err(error) = self.start_fresh(s).await {
                tracing::error!(instance = %name, %error, "({name}) cannot start after the reload: {error}");
                failed.push(format!("{name}: {error}"));
            }
        }
        self.health_settings = health;
        self.wire();
        if failed.is_empty() {
            Ok(plan.summary())
        } else {
            Err(ReloadError::Partial(format!(
                "{}; but these did not start: {}",
                plan.summary(),
                failed.join("; ")
            )))
        }
    }

    /// An instance that was not running: its VMAC, its links, its actor.
    async fn start_fresh(&mut self, s: InstanceSettings) -> Result<(), StartError> {
        make_vmacs(std::slice::from_ref(&s), &self.netlink, &mut self.made).await?;
        if let Some(vmac) = &s.vmac {
            // The new VMAC is a link of its own, looked up afresh.
            self.links.remove(&vmac.name);
        }
        self.find_links(std::slice::from_ref(&s)).await?;
        self.start_instance(s)
    }
}

/// Why a reload did not apply as asked.
#[derive(Debug, Error)]
pub enum ReloadError {
    /// Nothing changed: the old configuration keeps running.
    #[error("{0}")]
    Refused(String),
    /// Some of it applied: what changed, and what could not start.
    #[error("{0}")]
    Partial(String),
}

/// What a reload does to each instance.
#[derive(Default)]
struct ReloadPlan {
    unchanged: usize,
    /// Notify settings or trackers changed: updated in place.
    adjusted: Vec<InstanceSettings>,
    /// Anything else changed: stopped and started again.
    replaced: Vec<InstanceSettings>,
    added: Vec<InstanceSettings>,
    removed: Vec<String>,
}

impl ReloadPlan {
    fn summary(&self) -> String {
        let names = |list: &[InstanceSettings]| {
            list.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = vec![format!("{} unchanged", self.unchanged)];
        for (what, list) in [
            ("updated in place", names(&self.adjusted)),
            ("restarted", names(&self.replaced)),
            ("added", names(&self.added)),
            ("removed", self.removed.join(", ")),
        ] {
            if !list.is_empty() {
                parts.push(format!("{what}: {list}"));
            }
        }
        parts.join("; ")
    }
}

/// The same instance but for what can change while it runs: its notify
/// settings and its trackers.
fn same_but_health(old: &InstanceSettings, new: &InstanceSettings) -> bool {
    let mut old = old.clone();
    old.notify = new.notify.clone();
    old.trackers = new.trackers.clone();
    old == *new
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

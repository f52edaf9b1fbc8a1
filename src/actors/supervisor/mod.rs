//! Starting the daemon: look up interfaces and source addresses, start the
//! actors under actix Supervisors, follow the interfaces while it runs,
//! apply reloads, and stop cleanly on SIGTERM / SIGINT.
//!
//! Nothing here may make the thread that sends adverts wait: a reload's
//! files are read and checked on a thread of their own (reload.rs), and
//! the kernel's links and addresses come from one netlink subscription
//! (follow.rs) read between other work.

mod follow;
mod reload;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Recipient, Supervisor};
use thiserror::Error;

use crate::config::health::HealthSettings;
use crate::config::validate::SyncGroupSettings;
use crate::config::{ConfigErrors, InstanceSettings, Settings};
use crate::log::phrases::Subject;
use crate::net::firewall::FirewallSettings;
use crate::net::interfaces::Link;
use crate::net::netlink::{InterfaceAddress, LinkInfo, Netlink, NetlinkError};
use crate::net::vmac::{parent_sysctls, Sysctl};
use crate::proto::packet::virtual_mac;
use crate::proto::{choose_source, LocalAddress, SourceError};
use crate::status::{epoch_seconds, ReloadStatus};
use crate::sys::control_socket;
use crate::sys::notifier::Notifiers;
use crate::sys::signals::{Request, Signals};

use super::address::AddressActor;
use super::address::AddressRouter;
use super::control::{ControlActor, Parts, Sources};
use super::health::{HealthActor, Reconfigure, Subscriber, Subscriptions};
use super::instance::{Binding, Fencing, GroupMembership, Inbound, InstanceActor, Shutdown};
use super::interface::{InterfaceActor, SetRoutes};
use super::metrics::MetricsActor;
use super::quorum::{self, QuorumActor};
use super::routing::{Routing, RoutingActor};
use super::snmp::{CloseSession, SnmpActor};
use super::sync_group::{Members, SyncGroupActor};
use crate::config::quorum::QuorumSettings;

pub use follow::Followed;
pub use reload::ReloadError;

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
    #[error("instance {instance}: cannot make {what} {name} on {interface}: {source}")]
    Vmac {
        instance: String,
        /// "VMAC" or "ipvlan".
        what: &'static str,
        name: String,
        interface: String,
        source: Box<NetlinkError>,
    },
    #[error("instance {instance}: {problems}")]
    Params {
        instance: String,
        problems: crate::proto::InvalidParams,
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
    #[error("the script launcher has gone ({0}): vipd stopped, masters handing over, so that the service manager starts it again with a new one (it cannot start one itself, having given up the privileges that takes)")]
    LauncherGone(String),
    /// The runtime dropped the main task before it ended (it should not:
    /// block_on waits for it).
    #[error("the daemon's main task was cancelled")]
    Cancelled,
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// Why an instance cannot send from where its configuration says, now.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BindError {
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("{interface}: {source}")]
    Source {
        interface: String,
        source: SourceError,
    },
}

impl BindError {
    fn for_instance(self, instance: &str) -> StartError {
        let instance = instance.to_string();
        match self {
            BindError::NoSuchInterface(interface) => StartError::NoSuchInterface {
                instance,
                interface,
            },
            BindError::Source { interface, source } => StartError::Source {
                instance,
                interface,
                source,
            },
        }
    }
}

/// Reads the configuration again, every layer, as at start: what a
/// reload (SIGHUP) applies, or the errors it is refused for. Called on a
/// thread of its own: it reads files and looks users up.
pub type Reread = Arc<dyn Fn() -> Result<Settings, ConfigErrors> + Send + Sync>;

/// Runs until SIGTERM or SIGINT; then masters hand over and it returns.
/// SIGHUP applies `reread`'s configuration without restarting.
pub fn run(settings: Settings, reread: Reread) -> Result<(), StartError> {
    // The kernel may delay a timer wake-up by the process's timer slack
    // (50 us by default) to batch wake-ups; every such delay lands on the
    // takeover time, so ask for none.
    if let Err(error) = nix::sys::prctl::set_timerslack(1) {
        tracing::debug!(%error, "cannot reduce timer slack");
    }
    raise_descriptor_limit();
    crate::sys::signals::ignore_habitual_signals_during_start();
    let system = actix::System::new();
    // Its own task, not block_on's future: the runtime polls that future
    // on every wake-up of the thread (each advert), and this one's select
    // over signals, reloads and links needs polling only when one of them
    // wakes it.
    let outcome = system.block_on(async {
        match actix::spawn(start_and_wait(settings, reread)).await {
            Ok(outcome) => outcome,
            Err(join) => match join.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(StartError::Cancelled),
            },
        }
    });
    // Dropping the runtime waits for its blocking threads, and one may
    // be stuck on a hung mount (a tracked file): the process is ending
    // anyway, so the stop must not wait for it.
    std::mem::forget(system);
    outcome
}

/// Sockets, timers and netlink take a descriptor each, per interface and
/// instance: the soft limit (often 1024) goes up to the hard one, as
/// systemd's own services get. Listeners keep their own bounds.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the one struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                tracing::debug!("cannot raise the limit on open files");
            }
        }
    }
}

/// What woke the daemon's main loop.
enum Step {
    Signal(Request),
    LauncherGone(String),
    /// Boxed: settings are large beside the other steps.
    Reread(Box<Result<Settings, ConfigErrors>>),
    Interfaces(Vec<crate::net::netlink::NetEvent>),
    VmacRetryDue,
}

async fn start_and_wait(settings: Settings, reread: Reread) -> Result<(), StartError> {
    let mut signals = Signals::listen()?;
    let socket = settings.control_socket.clone();
    let mut running = match start(settings).await {
        Ok(running) => running,
        // Ours was bound (unless binding it failed): do not leave it.
        Err(error) => {
            tracing::error!(%error, "vipd cannot start: {error}");
            if !matches!(error, StartError::ControlSocket { .. }) {
                let _ = std::fs::remove_file(&socket);
            }
            return Err(error);
        }
    };
    tracing::info!(instances = running.instances.len(), "vipd running");
    tell_service_manager(&[sd_notify::NotifyState::Ready]);
    let mut reloads = reload::Reloads::default();
    let launcher_gone = crate::sys::launcher::gone();
    tokio::pin!(launcher_gone);
    let mut outcome = Ok(());

    loop {
        let vmac_retry = running.next_vmac_retry();
        let step = tokio::select! {
            request = signals.next() => Step::Signal(request),
            why = &mut launcher_gone => Step::LauncherGone(why),
            read = reloads.read() => Step::Reread(Box::new(read)),
            events = running.interfaces.next() => Step::Interfaces(events),
            () = sleep_until_some(vmac_retry) => Step::VmacRetryDue,
        };
        match step {
            Step::Signal(Request::Stop(name)) => {
                tracing::info!(signal = name, "{name}: stopping");
                tell_service_manager(&[sd_notify::NotifyState::Stopping]);
                break;
            }
            // Without it no check runs and no notify script: a daemon
            // that went on would hold VIPs for services it cannot watch.
            Step::LauncherGone(why) => {
                let error = StartError::LauncherGone(why);
                tracing::error!(%error, "{error}");
                tell_service_manager(&[sd_notify::NotifyState::Stopping]);
                outcome = Err(error);
                break;
            }
            Step::Signal(Request::Reload) => {
                tracing::info!(signal = "SIGHUP", "SIGHUP: reloading the configuration");
                let monotonic = sd_notify::NotifyState::monotonic_usec_now();
                let mut reloading = vec![sd_notify::NotifyState::Reloading];
                reloading.extend(monotonic.ok());
                tell_service_manager(&reloading);
                if let Err(refused) = reloads.ask(&reread) {
                    running.report_reload(reloads.sequence(), Err(refused));
                    tell_service_manager(&[sd_notify::NotifyState::Ready]);
                }
            }
            Step::Signal(Request::Nothing(name)) => {
                tracing::info!(signal = name, "{name}: ignored; nothing changes");
            }
            Step::Reread(read) => {
                let outcome = match *read {
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
                running.report_reload(reloads.sequence(), outcome);
                if let Err(refused) = reloads.again(&reread) {
                    running.report_reload(reloads.sequence(), Err(refused));
                }
                if !reloads.pending() {
                    tell_service_manager(&[sd_notify::NotifyState::Ready]);
                }
            }
            Step::Interfaces(events) => {
                running.follow(&events);
                running.restore_vmacs().await;
            }
            Step::VmacRetryDue => running.restore_vmacs().await,
        }
    }
    let Running {
        instances,
        made,
        netlink,
        quorum,
        fifo_script,
        notifiers,
        snmp_actor,
        sync_groups,
        ..
    } = running;
    let goodbyes = futures::future::join_all(instances.values().map(|i| i.actor.send(Shutdown)));
    if tokio::time::timeout(SHUTDOWN_GRACE, goodbyes)
        .await
        .is_err()
    {
        tracing::warn!("some instances did not finish stopping in {SHUTDOWN_GRACE:?}");
    }
    // keepalived's vrrp_notify.c notify_shutdown: the groups after their
    // instances, each as stopped (vrrpSyncGroupStateChange shutdown(5)).
    for group in &sync_groups {
        crate::sys::transition_feed::publish_group(
            &group.name,
            crate::proto::State::Initialize,
            crate::proto::State::Initialize,
            Some(crate::sys::transition_feed::Stop::Shutdown),
        );
    }
    // After the instances, so their shutdown traps go out first.
    if let Some(snmp) = snmp_actor {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, snmp.send(CloseSession)).await;
    }
    // After the instances: their keys were let go as their addresses
    // went; the lease goes last.
    if let Some((_, actor, arbiter)) = quorum {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, actor.send(quorum::Stop)).await;
        arbiter.stop();
    }
    made.undo(&netlink).await;
    // The FIFO's reader last, once every STOP line is in the FIFO; the
    // launcher ends its process group with the daemon.
    if let Some((_, Some(task))) = fifo_script {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, notifiers.fifos_flushed()).await;
        task.abort();
    }
    tracing::info!("vipd stopped");
    outcome
}

/// Sleeps until the instant if there is one, else for ever.
async fn sleep_until_some(instant: Option<tokio::time::Instant>) {
    match instant {
        Some(instant) => tokio::time::sleep_until(instant).await,
        None => std::future::pending().await,
    }
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
    control_socket: Option<control_socket::Bound>,
    vmacs: Vec<String>,
    /// VMAC parents whose settings were changed (by name, and the index of
    /// the link that has that name now), and their old settings.
    parents: Vec<(String, u32)>,
    restore: Vec<Sysctl>,
}

impl Made {
    pub async fn undo(&self, netlink: &Netlink) {
        if let Some(bound) = &self.control_socket {
            bound.remove();
        }
        // Every address is released by now: the drop rules go too.
        if let Some(firewall) = crate::net::firewall::started() {
            match tokio::time::timeout(SHUTDOWN_GRACE, firewall.remove()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot remove vipd's nftables table: {error}")
                }
                Err(_) => tracing::warn!(
                    "vipd's nftables table was not removed within {SHUTDOWN_GRACE:?}: the next start deletes it"
                ),
            }
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

/// One running instance: the settings it was started with, its actor,
/// and where it was last told to send from.
pub struct RunningInstance {
    pub settings: InstanceSettings,
    pub actor: Addr<InstanceActor>,
    binding: Result<Binding, String>,
}

/// An actor for one configured interface name, and the link it was last
/// told that name means.
struct Linked<A: actix::Actor> {
    actor: Addr<A>,
    link: Option<LinkInfo>,
}

/// A running daemon: its actors, what they were started from (a reload
/// compares against it), and what to undo when it stops.
pub struct Running {
    pub instances: BTreeMap<String, RunningInstance>,
    /// Announcement spacing per interface, as configured now.
    garp: crate::config::GarpSettings,
    /// Receivers log adverts for VRIDs not run here (keepalived's
    /// log_unknown_vrids), as configured now.
    log_unknown_vrids: bool,
    pub made: Made,
    pub netlink: Netlink,
    /// The kernel's links and addresses, followed.
    interfaces: Followed,
    /// Every address an instance may hold: never a source address.
    virtual_addresses: std::collections::HashSet<IpAddr>,
    /// By the interface name the configuration gives (a name or an altname).
    address_actors: HashMap<String, Linked<AddressActor>>,
    routing_actor: Option<Addr<RoutingActor>>,
    /// By configured interface name and family (true: IPv6).
    interface_actors: BTreeMap<(String, bool), Linked<InterfaceActor>>,
    health: Option<Addr<HealthActor>>,
    health_settings: HealthSettings,
    /// The process watcher start-up made, until the health actor takes it.
    processes: Option<crate::sys::processes::Watch>,
    /// Its counts, for instances that start later (a reload's).
    process_counts: Option<std::sync::Arc<crate::sys::processes::Shared>>,
    sync_groups: Vec<SyncGroupSettings>,
    group_actors: Vec<(Addr<SyncGroupActor>, Vec<String>)>,
    memberships: HashMap<String, GroupMembership>,
    control_socket: PathBuf,
    metrics: Option<std::net::SocketAddr>,
    /// The SNMP subagent's settings (fixed at start).
    snmp: Option<crate::snmp::SnmpSettings>,
    /// The SNMP subagent, told to close its session at shutdown.
    snmp_actor: Option<Addr<SnmpActor>>,
    pub sources: Sources,
    /// Notify queues by instance or group name; a reload reuses them.
    notifiers: Notifiers,
    /// VMACs that could not be made again, by instance.
    vmac_retries: HashMap<String, follow::VmacRetry>,
    /// The quorum fence's settings and actor (on an arbiter of its own).
    quorum: Option<(QuorumSettings, Addr<QuorumActor>, actix::Arbiter)>,
    /// The nftables table accept: false instances use (fixed at start).
    firewall: FirewallSettings,
    /// notify_fifo_script and the task that keeps it running.
    fifo_script: Option<(
        crate::sys::fifo_script::FifoScript,
        Option<tokio::task::JoinHandle<()>>,
    )>,
}

/// Makes each instance's VMACs (a leftover of the same name is replaced),
/// setting keepalived's kernel settings on them and their parents.
async fn make_vmacs(
    settings: &[InstanceSettings],
    netlink: &Netlink,
    made: &mut Made,
) -> Result<(), StartError> {
    for s in settings {
        make_instance_vmacs(s, netlink, made, |_| true).await?;
    }
    Ok(())
}

/// One VMAC to make: its name, parent, family, and whether adverts leave
/// from it (they need the parent's link-local address on it for IPv6).
struct VmacPlan<'a> {
    name: &'a str,
    parent: &'a str,
    ipv6: bool,
    /// keepalived sets the parent's ARP settings for every VMAC of an
    /// IPv4 instance, and for an address VMAC only when it is IPv4
    /// (vrrp_vmac.c netlink_link_add_vmac, set_interface_parameters).
    parent_settings: bool,
    sends_adverts: bool,
    /// The instance's own link is an ipvlan (use_ipvlan), not a macvlan.
    ipvlan: Option<&'a crate::net::vmac::IpvlanSettings>,
}

/// Makes those of `s`'s VMACs that `wanted` names: its own, then those
/// for its addresses (keepalived's use_vmac_addr, vrrp.c
/// vrrp_complete_instance), each with the virtual MAC of its family.
async fn make_instance_vmacs(
    s: &InstanceSettings,
    netlink: &Netlink,
    made: &mut Made,
    wanted: impl Fn(&str) -> bool,
) -> Result<(), StartError> {
    let own = s.vmac.as_ref().map(|vmac| VmacPlan {
        name: &vmac.name,
        parent: &s.interface,
        ipv6: s.is_ipv6(),
        parent_settings: true,
        sends_adverts: !vmac.xmit_base,
        ipvlan: vmac.ipvlan(),
    });
    let for_addresses = s.address_vmacs.iter().map(|vmac| VmacPlan {
        name: &vmac.name,
        parent: &vmac.parent,
        ipv6: vmac.ipv6,
        parent_settings: !vmac.ipv6,
        sends_adverts: false,
        ipvlan: None,
    });
    for plan in own.into_iter().chain(for_addresses) {
        if !wanted(plan.name) {
            continue;
        }
        let failed = |source: NetlinkError| StartError::Vmac {
            source: Box::new(source),
            what: if plan.ipvlan.is_some() {
                "ipvlan"
            } else {
                "VMAC"
            },
            instance: s.name.clone(),
            name: plan.name.to_string(),
            interface: plan.parent.to_string(),
        };
        let parent = match netlink.link(plan.parent).await {
            Err(NetlinkError::NoSuchInterface(_)) => {
                return Err(StartError::NoSuchInterface {
                    instance: s.name.clone(),
                    interface: plan.parent.to_string(),
                })
            }
            other => other?,
        };
        // An ipvlan shares the parent's MAC: keepalived changes no
        // setting on the parent for it (vrrp_vmac.c
        // netlink_link_add_ipvlan), and no virtual MAC is involved.
        if let Some(ipvlan) = plan.ipvlan {
            netlink
                .create_ipvlan(parent.index, plan.name, ipvlan, s.is_ipv6())
                .await
                .map_err(failed)?;
            if !made.vmacs.iter().any(|v| v == plan.name) {
                made.vmacs.push(plan.name.to_string());
            }
            continue;
        }
        // A parent deleted and made again has the kernel's defaults: set
        // keepalived's settings again, but restore at exit what the first
        // one had.
        let seen_name = made.parents.iter().any(|(name, _)| name == plan.parent);
        let seen_link = made.parents.iter().any(|(_, index)| *index == parent.index);
        if plan.parent_settings && !seen_link {
            for setting in parent_sysctls(&parent.name) {
                let old = setting
                    .apply()
                    .map_err(|e| failed(NetlinkError::Sysctl(e)))?;
                if !seen_name {
                    made.restore.push(old);
                }
            }
            made.parents.retain(|(name, _)| name != plan.parent);
            made.parents.push((plan.parent.to_string(), parent.index));
        }
        // IPv6 adverts leave the VMAC from the parent's link-local address.
        let link_local = if plan.ipv6 && plan.sends_adverts {
            let addresses = netlink.addresses(parent.index).await?;
            match source_address(s, &addresses) {
                Ok(IpAddr::V6(v6)) => Some(v6),
                Ok(IpAddr::V4(_)) => None,
                Err(source) => {
                    return Err(BindError::Source {
                        interface: s.interface.clone(),
                        source,
                    }
                    .for_instance(&s.name))
                }
            }
        } else {
            None
        };
        let mac = virtual_mac(s.vrid(), plan.ipv6);
        netlink
            .create_vmac(parent.index, plan.name, mac, plan.ipv6, link_local)
            .await
            .map_err(failed)?;
        if !made.vmacs.iter().any(|v| v == plan.name) {
            made.vmacs.push(plan.name.to_string());
        }
    }
    Ok(())
}

/// Deletes the nftables table a run that crashed left (its drop rules
/// would outlive it), whether or not an instance drops traffic now.
async fn clean_firewall(settings: &[InstanceSettings], firewall: FirewallSettings) {
    let table = firewall.table.clone();
    if let Err(error) = crate::net::firewall::configure(firewall).clean().await {
        let needed = settings.iter().any(InstanceSettings::drops_traffic);
        if needed {
            tracing::error!(%error, "cannot set up the nftables table {table}: {error}; accept: false instances cannot drop traffic to their addresses");
        } else {
            tracing::debug!(%error, "cannot clean the nftables table {table}: {error}");
        }
    }
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
        snmp,
        quorum,
        firewall,
        startup_delay,
        delay_after_boot,
        garp,
        fifo_states_on_reload: _, // a reload reads its own
        fifo_script,
        log_unknown_vrids,
    } = settings;
    let startup_delay = if delay_after_boot.is_zero() {
        startup_delay
    } else {
        let uptime = crate::sys::uptime::read()
            .map_err(|error| {
                tracing::warn!(%error, "cannot read /proc/uptime: delay_after_boot ignored, as keepalived ignores it: {error}");
            })
            .ok();
        let delay = crate::sys::uptime::startup_delay(startup_delay, delay_after_boot, uptime);
        if let Some(uptime) = uptime {
            tracing::info!(
                "up {:.1} s since boot: delay_after_boot ({delay_after_boot:?}) leaves a startup delay of {delay:?}",
                uptime.as_secs_f64()
            );
        }
        delay
    };
    let netlink = Netlink::connect()?;
    // First, so a second vipd with the same socket stops before it
    // touches anything.
    let (bound, listener) =
        control_socket::bind(&control_socket).map_err(|source| StartError::ControlSocket {
            path: control_socket.clone(),
            source,
        })?;
    let mut made = Made {
        control_socket: Some(bound),
        ..Made::default()
    };
    // A start that fails from here on takes away what it made (VMACs,
    // ipvlans, the parents' settings) before it returns.
    if let Err(error) = make_vmacs(&settings, &netlink, &mut made).await {
        made.undo(&netlink).await;
        return Err(error);
    }
    clean_firewall(&settings, firewall.clone()).await;
    // Subscribed before the first look, so no change falls between.
    let interfaces = match Followed::start(netlink.clone()).await {
        Ok(interfaces) => interfaces,
        Err(error) => {
            made.undo(&netlink).await;
            return Err(error.into());
        }
    };
    let mut running = Running {
        instances: BTreeMap::new(),
        garp,
        log_unknown_vrids,
        made,
        netlink,
        interfaces,
        virtual_addresses: Default::default(),
        address_actors: HashMap::new(),
        routing_actor: None,
        interface_actors: BTreeMap::new(),
        health: None,
        processes: None,
        process_counts: None,
        health_settings: health,
        sync_groups: Vec::new(),
        group_actors: Vec::new(),
        memberships: HashMap::new(),
        control_socket,
        metrics,
        snmp: snmp.clone(),
        snmp_actor: None,
        sources: Sources::default(),
        notifiers: Notifiers::default(),
        vmac_retries: HashMap::new(),
        firewall,
        // Started once every instance is (its lines wait in the FIFO).
        fifo_script: fifo_script.map(|reader| (reader, None)),
        quorum: quorum.map(|settings| {
            // Its own thread: etcd's gRPC work never delays an advert.
            let arbiter = actix::Arbiter::new();
            let for_actor = settings.clone();
            let actor = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                QuorumActor::new(for_actor)
            });
            (settings, actor, arbiter)
        }),
    };
    let started = running
        .start_actors(
            settings,
            sync_groups,
            startup_delay,
            snmp,
            metrics,
            listener,
        )
        .await;
    if let Err(error) = started {
        running.made.undo(&running.netlink).await;
        return Err(error);
    }
    Ok(running)
}

impl Running {
    /// The rest of `start`: every actor, in order.
    async fn start_actors(
        &mut self,
        settings: Vec<InstanceSettings>,
        sync_groups: Vec<SyncGroupSettings>,
        startup_delay: std::time::Duration,
        snmp: Option<crate::snmp::SnmpSettings>,
        metrics: Option<std::net::SocketAddr>,
        listener: std::os::unix::net::UnixListener,
    ) -> Result<(), StartError> {
        let running = self;
        if let Some(snmp) = snmp {
            // Before any instance, so that their first states have traps.
            // Connects on its own, retrying: snmpd need not be running yet.
            let actor = SnmpActor::new(snmp, running.sources.clone());
            running.snmp_actor = Some(Supervisor::start(move |_| actor));
        }
        if let Some((reader, _)) = &running.fifo_script {
            running.notifiers.reader_runs(reader.fifo.clone());
            if let Err(why) =
                crate::sys::fifo_script::make_fifo(&reader.fifo, reader.run_as.as_ref()).await
            {
                let fifo = reader.fifo.display();
                tracing::error!(%fifo, "notify fifo {fifo}: {why}");
            }
        }
        for s in &settings {
            running.startable(s)?;
        }
        running.start_address_actors(&settings)?;

        // Groups first, so members know where to report; members second.
        for group in &sync_groups {
            let notifier = (!group.notify.is_empty()).then(|| {
                running
                    .notifiers
                    .for_subject(Subject::Group(group.name.clone()), group.notify.clone())
            });
            let status = crate::snmp::setup::group_status(group);
            let actor =
                Supervisor::start(move |_| SyncGroupActor::new(status.clone(), notifier.clone()));
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

        running.count_processes().await;
        for s in settings {
            running.start_instance(s, startup_delay)?;
        }
        running.wire();
        if let Some((reader, task)) = &mut running.fifo_script {
            *task = Some(crate::sys::fifo_script::start(reader.clone()));
        }
        let sources = running.sources.clone();
        if let Some(listen) = metrics {
            let metrics = std::net::TcpListener::bind(listen)
                .and_then(|listener| MetricsActor::new(listener, sources.clone()))
                .map_err(|source| StartError::Metrics { listen, source })?;
            Supervisor::start(move |_| metrics);
        }
        let control =
            ControlActor::new(listener, sources).map_err(|source| StartError::ControlSocket {
                path: running.control_socket.clone(),
                source,
            })?;
        Supervisor::start(move |_| control);
        Ok(())
    }
}

impl Running {
    /// Starts an address actor for each interface name `settings` use
    /// that has none yet; each name must mean a link now.
    fn start_address_actors(&mut self, settings: &[InstanceSettings]) -> Result<(), StartError> {
        for s in settings {
            for interface in s.interfaces() {
                if self.address_actors.contains_key(&interface) {
                    continue;
                }
                let link = self
                    .interfaces
                    .table()
                    .resolve(&interface)
                    .map(|l| l.info.clone());
                // A VMAC not made (yet) comes with restore_vmacs; any
                // other name must mean a link.
                let vmac_parent = s.vmac_parent(&interface);
                if link.is_none() && vmac_parent.is_none() {
                    return Err(StartError::NoSuchInterface {
                        instance: s.name.clone(),
                        interface,
                    });
                }
                // keepalived spaces a VMAC's announcements as its
                // parent's (vrrp_if.c set_default_garp_delay, IF_BASE_IFP).
                let spacing = self.garp.for_interface(vmac_parent.unwrap_or(&interface));
                let (name, l, netlink) = (interface.clone(), link.clone(), self.netlink.clone());
                let actor =
                    Supervisor::start(move |_| AddressActor::new(name, l, netlink, spacing));
                self.address_actors
                    .insert(interface, Linked { actor, link });
            }
        }
        Ok(())
    }

    /// Whether `s` can start now: its interfaces exist (but a VMAC, made
    /// later), and the core accepts its parameters with the source the
    /// interface gives (without one it starts in FAULT). Checked for
    /// every instance before any starts, at start and in a reload, so a
    /// refusal leaves nothing half made.
    fn startable(&self, s: &InstanceSettings) -> Result<(), StartError> {
        let table = self.interfaces.table();
        for interface in s.interfaces() {
            let is_vmac = s.vmac_parent(&interface).is_some();
            if !is_vmac && table.resolve(&interface).is_none() {
                return Err(BindError::NoSuchInterface(interface).for_instance(&s.name));
            }
        }
        for vmac in &s.address_vmacs {
            if table.resolve(&vmac.parent).is_none() {
                return Err(BindError::NoSuchInterface(vmac.parent.clone()).for_instance(&s.name));
            }
        }
        if let Some(parent) = table.resolve(&s.interface) {
            if let Ok(source) = source_address(s, &parent.addresses) {
                checked_params(s, source)?;
            }
        }
        Ok(())
    }

    /// The address actor of a configured interface name (started by
    /// `start_address_actors`).
    fn address_actor(&self, instance: &str, name: &str) -> Result<Addr<AddressActor>, StartError> {
        self.address_actors
            .get(name)
            .map(|linked| linked.actor.clone())
            .ok_or_else(|| StartError::NoSuchInterface {
                instance: instance.to_string(),
                interface: name.to_string(),
            })
    }

    /// Where `s` sends from now: its link (a VMAC's, unless
    /// vmac_xmit_base) and its source address, by the kernel's table.
    fn binding(&self, s: &InstanceSettings) -> Result<Binding, BindError> {
        let table = self.interfaces.table();
        let resolve = |name: &str| -> Result<&Link, BindError> {
            table
                .resolve(name)
                .ok_or_else(|| BindError::NoSuchInterface(name.to_string()))
        };
        let parent = resolve(&s.interface)?;
        // An ipvlan's adverts leave from its own address (or, for IPv6,
        // its link-local one), which is on the ipvlan, not the parent
        // (vrrp.c vrrp_complete_instance, vrrp_send_adv).
        // A source configured apart from it may be the parent's: keepalived
        // builds the IP header itself and sends any source it is given.
        let ipvlan = s.vmac.as_ref().filter(|v| v.ipvlan().is_some());
        let (source_interface, addresses) = match ipvlan {
            Some(v) => {
                let mut addresses = resolve(&v.name)?.addresses.clone();
                if s.source_ip.is_some() {
                    addresses.extend(parent.addresses.iter().cloned());
                }
                (v.name.as_str(), std::borrow::Cow::Owned(addresses))
            }
            None => (
                s.interface.as_str(),
                std::borrow::Cow::Borrowed(&parent.addresses),
            ),
        };
        let source = source_address(s, &addresses).map_err(|source| BindError::Source {
            interface: source_interface.to_string(),
            source,
        })?;
        // Adverts leave through the VMAC, so switches learn its MAC where
        // the master is, unless vmac_xmit_base.
        let sender = resolve(s.advert_interface())?;
        Ok(Binding {
            interface: sender.info.name.clone(),
            ifindex: sender.info.index,
            source,
        })
    }

    /// Starts one instance's actor (its address actors must run), with
    /// vrrp_startup_delay at the daemon's start (zero in a reload).
    fn start_instance(
        &mut self,
        s: InstanceSettings,
        startup_delay: std::time::Duration,
    ) -> Result<(), StartError> {
        // A missing interface is a mistake to say at once; an interface
        // without an address yet (DHCP at boot) is FAULT until it has one,
        // as it would be had the address gone while vipd ran.
        let binding = match self.binding(&s) {
            Ok(binding) => Ok(binding),
            Err(BindError::NoSuchInterface(missing))
                if s.vmac.as_ref().is_none_or(|v| v.name != missing) =>
            {
                return Err(BindError::NoSuchInterface(missing).for_instance(&s.name))
            }
            Err(error) => {
                let name = &s.name;
                tracing::warn!(instance = %name, %error, "({name}) starts in FAULT: {error}");
                Err(error.to_string())
            }
        };
        let source = match &binding {
            Ok(binding) => binding.source,
            Err(_) if s.is_ipv6() => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            Err(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        };
        let mut params = checked_params(&s, source)?;
        params.startup_delay = startup_delay;
        let peers = params.unicast.as_ref().map_or(&[][..], |u| &u.peers[..]);
        if peers.iter().any(|p| p.address == source) {
            let name = &s.name;
            tracing::info!(instance = %name, %source, "({name}) unicast peer {source} is this host: adverts go to the others");
        }
        let own = s.address_interface();
        let mut router = AddressRouter::new(self.address_actor(&s.name, own)?);
        for vip in params.held_addresses() {
            let placement = s.placement(vip.address);
            let actor = self.address_actor(&s.name, s.interface_of(&placement))?;
            router.place(vip.address, actor, placement.options, placement.track);
        }
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
        let fencing = self
            .quorum
            .as_ref()
            .zip(s.fence_key.clone())
            .map(|((_, actor, _), key)| Fencing {
                actor: actor.clone(),
                key,
            });
        let (interface, started_with) = (s.interface.clone(), binding.clone());
        let known = self.known_process_effects(&s.trackers);
        let configured_master = s.configured_master;
        let group = self
            .sync_groups
            .iter()
            .find(|g| g.members.contains(&s.name))
            .map(|g| g.name.as_str());
        let setup = crate::snmp::setup::instance_setup(&s, &params, group);
        let actor = Supervisor::start(move |_| {
            InstanceActor::new(
                params,
                interface,
                started_with,
                router,
                routing,
                membership,
                notifier,
                fencing,
            )
            .with_trackers(known.clone())
            .with_initial_state(configured_master)
            .with_setup(setup.clone())
        });
        self.instances.insert(
            s.name.clone(),
            RunningInstance {
                settings: s,
                actor,
                binding,
            },
        );
        Ok(())
    }

    /// Process checks are counted before any instance starts (as
    /// keepalived counts them), so each starts knowing its processes: an
    /// owner whose process is gone never claims its addresses first. The
    /// first count takes a /proc scan, on the watcher's thread; this
    /// waits for it at most PROCESS_COUNT_WAIT.
    async fn count_processes(&mut self) {
        const PROCESS_COUNT_WAIT: Duration = Duration::from_secs(5);
        let trackers = super::health::process_trackers(&self.health_settings.checks);
        if trackers.is_empty() {
            return;
        }
        match crate::sys::processes::Watch::start(trackers) {
            Ok(watch) => {
                if tokio::time::timeout(PROCESS_COUNT_WAIT, watch.counted())
                    .await
                    .is_err()
                {
                    tracing::warn!("track_process: the first count of processes took longer than {PROCESS_COUNT_WAIT:?}; instances start without it");
                }
                self.process_counts = Some(watch.shared());
                self.processes = Some(watch);
            }
            // The health actor tries again, and counts them down meanwhile.
            Err(error) => tracing::error!(%error, "cannot start the process watcher: {error}"),
        }
    }

    /// The known effects of process checks on an instance's trackers, at
    /// start-up (a reload's new instances hear them from the health
    /// actor, which may have a watcher of its own by then).
    fn known_process_effects(
        &self,
        trackers: &[crate::config::health::Tracked],
    ) -> BTreeMap<String, crate::proto::TrackerEffect> {
        let counts = self
            .process_counts
            .as_ref()
            .filter(|_| self.health.is_none());
        let Some(statuses) = counts.map(|s| s.statuses()) else {
            return BTreeMap::new();
        };
        trackers
            .iter()
            .filter(|t| t.kind() == crate::config::health::TrackerKind::Script)
            .filter_map(|t| {
                let status = statuses.get(t.name())?;
                Some((
                    t.key(),
                    crate::proto::TrackerEffect::from_status(status.up, t.weight()),
                ))
            })
            .collect()
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
        for RunningInstance {
            settings: s, actor, ..
        } in self.instances.values()
        {
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
        let link_delays = self.health_settings.link_delays.clone();
        match &self.health {
            Some(health) => health.do_send(Reconfigure {
                checks,
                files,
                subscriptions,
                link_delays,
            }),
            None => {
                let health = HealthActor::new(
                    checks,
                    files,
                    subscriptions,
                    &link_delays,
                    self.netlink.clone(),
                )
                .with_processes(self.processes.take());
                self.health = health
                    .is_needed()
                    .then(|| Supervisor::start(move |_| health));
            }
        }
    }

    /// The receivers' VRID tables, sync groups' members, and what status
    /// and metrics read. A receiver no instance uses any more is closed,
    /// as is an address actor no instance uses. (Health may still reach a
    /// retired instance for a moment; it ignores what it is told.)
    fn wire_reach(&mut self) {
        type Reach = (HashMap<u8, Recipient<Inbound>>, Vec<IpAddr>);
        let mut routes: BTreeMap<(String, bool), Reach> = BTreeMap::new();
        for RunningInstance {
            settings: s, actor, ..
        } in self.instances.values()
        {
            let (vrids, groups) = routes
                .entry((s.advert_interface().to_string(), s.is_ipv6()))
                .or_default();
            vrids.insert(s.vrid().get(), actor.clone().recipient());
            if let Some(group) = s.multicast_group() {
                if !groups.contains(&group) {
                    groups.push(group);
                }
            }
        }
        let sources = self.sources.clone();
        self.interface_actors.retain(|key, linked| {
            let used = routes.contains_key(key);
            if !used {
                tracing::info!(interface = %key.0, "no instance receives on {} any more: closing its receiver", key.0);
                linked.actor.do_send(super::interface::RetireReceiver);
                // Its counts go with it: status and metrics show receivers
                // that run, not every interface a reload ever named.
                sources.forget_receiver(&key.0, key.1);
            }
            used
        });
        for ((interface, ipv6), (routes, mut groups)) in routes {
            groups.sort();
            let key = (interface.clone(), ipv6);
            match self.interface_actors.get(&key) {
                Some(linked) => linked.actor.do_send(SetRoutes {
                    routes,
                    groups,
                    log_unknown_vrids: self.log_unknown_vrids,
                }),
                None => {
                    let link = self
                        .interfaces
                        .table()
                        .resolve(&interface)
                        .map(|l| l.info.clone());
                    let started_with = link.clone();
                    let log_unknown_vrids = self.log_unknown_vrids;
                    let counter = self.sources.receiver(&interface, ipv6);
                    let actor = Supervisor::start(move |_| {
                        InterfaceActor::new(interface, started_with, ipv6, routes, groups)
                            .logging_unknown_vrids(log_unknown_vrids)
                            .counting_into(counter)
                    });
                    self.interface_actors.insert(key, Linked { actor, link });
                }
            }
        }
        let used: Vec<String> = self
            .instances
            .values()
            .flat_map(|i| i.settings.interfaces())
            .collect();
        self.address_actors.retain(|name, linked| {
            let keep = used.contains(name);
            if !keep {
                linked.actor.do_send(super::address::RetireAddresses);
            }
            keep
        });
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
        self.virtual_addresses = self
            .instances
            .values()
            .flat_map(|i| i.settings.held_addresses())
            .map(|v| v.address)
            .collect();
        let reload = self.sources.reload();
        self.sources.replace(Parts {
            instances: self.instances.values().map(|i| i.actor.clone()).collect(),
            sync_groups: self.group_actors.iter().map(|(g, _)| g.clone()).collect(),
            health: self.health.clone(),
            quorum: self.quorum.as_ref().map(|(_, actor, _)| actor.clone()),
            reload,
        });
    }

    /// Logs how a reload went and keeps it for status and `vipd reload`.
    fn report_reload(&self, sequence: u64, outcome: Result<String, ReloadError>) {
        let (applied, summary) = match outcome {
            Ok(summary) => {
                tracing::info!("reload applied: {summary}");
                (true, summary)
            }
            Err(ReloadError::Refused(why)) => {
                tracing::error!("reload refused, the running configuration is unchanged: {why}");
                (false, why)
            }
            Err(ReloadError::Partial(why)) => {
                tracing::error!("reload partly applied: {why}");
                (false, format!("partly applied: {why}"))
            }
        };
        self.sources.set_reload(ReloadStatus {
            at: epoch_seconds(std::time::SystemTime::now()),
            sequence,
            applied,
            summary,
        });
    }
}

/// The core's parameters with the source address the kernel gave: what
/// config could not check with its placeholder address is checked here,
/// before an actor exists (an actor cannot refuse to start).
fn checked_params(
    s: &InstanceSettings,
    source: IpAddr,
) -> Result<crate::proto::InstanceParams, StartError> {
    let params = s.params(source);
    params.validate().map_err(|problems| StartError::Params {
        instance: s.name.clone(),
        problems,
    })?;
    Ok(params)
}

/// The instance's advert source: the rule is the core's, the addresses
/// the kernel's.
fn source_address(
    s: &InstanceSettings,
    addresses: &[InterfaceAddress],
) -> Result<IpAddr, SourceError> {
    let local: Vec<LocalAddress> = addresses
        .iter()
        .map(|a| LocalAddress {
            address: a.address,
            secondary: a.secondary,
        })
        .collect();
    choose_source(s.source_ip, s.is_ipv6(), &s.held_addresses(), &local)
}

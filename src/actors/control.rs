//! The control socket: each connection gets one JSON snapshot of the
//! daemon and is closed (ntpd-rs's observer socket is the model). Read
//! only; nothing a client sends is read.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;

use crate::sys::accept::{connections, Counters, Slot};
use std::collections::BTreeMap;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use crate::status::{
    epoch_seconds, ListenerStatus, ReceiverStatus, ReloadStatus, Snapshot, SnmpStatus,
};
use crate::sys::control_socket::may_read;

use super::health::{self, HealthActor};
use super::instance::{self, InstanceActor};
use super::sync_group::{self, SyncGroupActor};

/// A client that does not take its snapshot within this is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// More than any snapshot of a real configuration; a cap all the same.
const MAX_SNAPSHOT: usize = 4 << 20;
/// Clients served at once; `vipd status` takes one for milliseconds.
const CONCURRENT_CLIENTS: usize = 8;

/// The actors a snapshot is gathered from, and the last reload's outcome.
#[derive(Clone, Default)]
pub struct Parts {
    pub instances: Vec<Addr<InstanceActor>>,
    pub sync_groups: Vec<Addr<SyncGroupActor>>,
    pub health: Option<Addr<HealthActor>>,
    pub quorum: Option<Addr<super::quorum::QuorumActor>>,
    pub reload: Option<ReloadStatus>,
}

/// Shared by the control and metrics actors and the supervisor, which
/// replaces the parts on a reload: every actor runs on the one actix
/// thread, so a `RefCell` is enough.
#[derive(Clone, Default)]
pub struct Sources(
    Rc<RefCell<Parts>>,
    Rc<RefCell<BTreeMap<String, Counters>>>,
    SnmpCounters,
    Rc<RefCell<BTreeMap<(String, bool), UnroutedCounter>>>,
);

/// A receiver's packets that reached no instance, as its actor counts
/// them (by interface name and family, true: IPv6).
pub type UnroutedCounter = Rc<std::cell::Cell<super::interface::Unrouted>>;

/// The SNMP subagent's session, as its actor keeps it (none without `snmp`).
pub type SnmpCounters = Rc<RefCell<Option<SnmpStatus>>>;

impl Sources {
    pub fn new(parts: Parts) -> Sources {
        Sources(
            Rc::new(RefCell::new(parts)),
            Rc::default(),
            Rc::default(),
            Rc::default(),
        )
    }

    /// Where the SNMP actor keeps its counters, shown in every snapshot.
    pub fn snmp(&self) -> SnmpCounters {
        Rc::clone(&self.2)
    }

    pub fn replace(&self, parts: Parts) {
        *self.0.borrow_mut() = parts;
    }

    pub fn reload(&self) -> Option<ReloadStatus> {
        self.0.borrow().reload.clone()
    }

    pub fn set_reload(&self, reload: ReloadStatus) {
        self.0.borrow_mut().reload = Some(reload);
    }

    /// The counters of the listener called `name`, shown in every snapshot.
    pub fn listener(&self, name: &str) -> Counters {
        Rc::clone(self.1.borrow_mut().entry(name.to_string()).or_default())
    }

    /// The counter of the receiver on `interface` for that family, shown
    /// in every snapshot; one per pair however often a reload remakes
    /// the receiver.
    pub fn receiver(&self, interface: &str, ipv6: bool) -> UnroutedCounter {
        Rc::clone(
            self.3
                .borrow_mut()
                .entry((interface.to_string(), ipv6))
                .or_default(),
        )
    }

    /// The receiver on `interface` for that family is gone.
    pub fn forget_receiver(&self, interface: &str, ipv6: bool) {
        self.3.borrow_mut().remove(&(interface.to_string(), ipv6));
    }

    fn receivers(&self) -> Vec<ReceiverStatus> {
        self.3
            .borrow()
            .iter()
            .map(|((interface, ipv6), counter)| {
                let unrouted = counter.get();
                ReceiverStatus {
                    interface: interface.clone(),
                    family: if *ipv6 { "ipv6" } else { "ipv4" }.to_string(),
                    truncated: unrouted.truncated,
                    unknown_vrid: unrouted.unknown_vrid,
                }
            })
            .collect()
    }

    fn current(&self) -> Parts {
        self.0.borrow().clone()
    }

    fn listeners(&self) -> BTreeMap<String, ListenerStatus> {
        self.1
            .borrow()
            .iter()
            .map(|(name, counters)| (name.clone(), counters.borrow().clone()))
            .collect()
    }
}

pub struct ControlActor {
    listener: Rc<UnixListener>,
    sources: Sources,
}

impl ControlActor {
    /// `listener` must be non-blocking (as `control_socket::bind` leaves it).
    pub fn new(
        listener: std::os::unix::net::UnixListener,
        sources: Sources,
    ) -> std::io::Result<ControlActor> {
        Ok(ControlActor {
            listener: Rc::new(UnixListener::from_std(listener)?),
            sources,
        })
    }
}

/// Gathers the snapshot from the actors that own each part.
pub async fn gather(sources: Sources) -> Snapshot {
    let Parts {
        instances,
        sync_groups,
        health,
        quorum,
        reload,
    } = sources.current();
    let listeners = sources.listeners();
    let statuses =
        futures::future::join_all(instances.iter().map(|i| i.send(instance::Status))).await;
    let groups =
        futures::future::join_all(sync_groups.iter().map(|g| g.send(sync_group::Status))).await;
    let checks = match health {
        Some(health) => health.send(health::Status).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let quorum = match quorum {
        Some(quorum) => quorum.send(super::quorum::Status).await.ok(),
        None => None,
    };
    Snapshot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        taken_at: epoch_seconds(SystemTime::now()),
        instances: statuses.into_iter().filter_map(Result::ok).collect(),
        checks,
        reload,
        listeners,
        receivers: sources.receivers(),
        quorum,
        snmp: sources.2.borrow().clone(),
        sync_groups: groups.into_iter().filter_map(Result::ok).collect(),
        truncated: false,
    }
}

async fn serve(mut stream: UnixStream, sources: Sources) {
    let uid = match stream.peer_cred() {
        Ok(cred) => cred.uid(),
        Err(error) => {
            tracing::debug!(%error, "control socket: no peer credentials");
            return;
        }
    };
    if !may_read(uid) {
        tracing::warn!(uid, "control socket: refused a client with uid {uid}");
        return;
    }
    let snapshot = gather(sources).await;
    let bytes = crate::status::encode_capped(&snapshot, MAX_SNAPSHOT);
    let written = tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        tracing::debug!("control socket: a client did not take its snapshot");
    }
}

impl Actor for ControlActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let counters = self.sources.listener("control");
        ctx.add_stream(connections(
            "control socket",
            Rc::clone(&self.listener),
            CONCURRENT_CLIENTS,
            counters,
        ));
    }
}

impl Supervised for ControlActor {}

impl StreamHandler<(UnixStream, Slot)> for ControlActor {
    fn handle(&mut self, (stream, slot): (UnixStream, Slot), ctx: &mut Context<Self>) {
        let sources = self.sources.clone();
        ctx.spawn(
            async move {
                serve(stream, sources).await;
                drop(slot);
            }
            .into_actor(self),
        );
    }

    /// `connections` never ends; were it to, a restart listens again.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

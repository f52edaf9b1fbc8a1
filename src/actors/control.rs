//! The control socket: each connection gets one JSON snapshot of the
//! daemon and is closed (ntpd-rs's observer socket is the model). Read
//! only; nothing a client sends is read.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;

use crate::sys::accept::connections;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};

use crate::status::{epoch_seconds, ReloadStatus, Snapshot};
use crate::sys::control_socket::may_read;

use super::health::{self, HealthActor};
use super::instance::{self, InstanceActor};

/// A client that does not take its snapshot within this is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// More than any snapshot of a real configuration; a cap all the same.
const MAX_SNAPSHOT: usize = 4 << 20;

/// The actors a snapshot is gathered from, and the last reload's outcome.
#[derive(Clone, Default)]
pub struct Parts {
    pub instances: Vec<Addr<InstanceActor>>,
    pub health: Option<Addr<HealthActor>>,
    pub reload: Option<ReloadStatus>,
}

/// Shared by the control and metrics actors and the supervisor, which
/// replaces the parts on a reload: every actor runs on the one actix
/// thread, so a `RefCell` is enough.
#[derive(Clone, Default)]
pub struct Sources(Rc<RefCell<Parts>>);

impl Sources {
    pub fn new(parts: Parts) -> Sources {
        Sources(Rc::new(RefCell::new(parts)))
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

    fn current(&self) -> Parts {
        self.0.borrow().clone()
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
        health,
        reload,
    } = sources.current();
    let statuses =
        futures::future::join_all(instances.iter().map(|i| i.send(instance::Status))).await;
    let checks = match health {
        Some(health) => health.send(health::Status).await.unwrap_or_default(),
        None => Vec::new(),
    };
    Snapshot {
        version: env!("CARGO_PKG_VERSION").to_string(),
        pid: std::process::id(),
        taken_at: epoch_seconds(SystemTime::now()),
        instances: statuses.into_iter().filter_map(Result::ok).collect(),
        checks,
        reload,
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
    let Ok(mut bytes) = serde_json::to_vec(&snapshot) else {
        return;
    };
    bytes.truncate(MAX_SNAPSHOT);
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
        ctx.add_stream(connections(Rc::clone(&self.listener)));
    }
}

impl Supervised for ControlActor {}

impl StreamHandler<std::io::Result<UnixStream>> for ControlActor {
    fn handle(&mut self, client: std::io::Result<UnixStream>, ctx: &mut Context<Self>) {
        match client {
            Ok(stream) => {
                ctx.spawn(serve(stream, self.sources.clone()).into_actor(self));
            }
            Err(error) => tracing::warn!(%error, "control socket: accept failed: {error}"),
        }
    }
}

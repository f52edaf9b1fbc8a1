//! The quorum fence's one actor: owns the etcd client, the daemon's
//! lease and its keepalives, the watch on the keys, and takes and lets
//! go of each instance's key. Instances hear "lease alive until T",
//! "key held (usable from T)", "key lost" as events; the rule they apply
//! is the core's (proto/fence.rs).
//!
//! Runs on an arbiter of its own: gRPC, TLS and protobuf work never
//! delays an advert, and every etcd call is a future with a deadline, so
//! nothing here waits either. One lease for the daemon: every key it
//! holds lives and dies with it, and a graceful stop revokes it.
//!
//! Keys hold the holder's name while held; a holder that lets its key go
//! on purpose (after removing its addresses) writes it empty, without a
//! lease, so the next holder knows it may use the addresses at once. A
//! key that *vanished* (its lease ran out) makes the next holder wait
//! for the former holder's kernel (proto::fence::KERNEL_EXPIRY_SLACK).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use actix::prelude::*;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, Identity,
    LeaseKeepAliveResponse, LeaseKeeper, PutOptions, TlsOptions, Txn, TxnOp, TxnOpResponse,
    WatchOptions, WatchRequestSender, WatchResponse,
};
use futures::StreamExt;

use crate::config::quorum::QuorumSettings;
use crate::proto::fence::{self, keepalive_interval, lease_deadline};
use crate::status::{QuorumKeyStatus, QuorumStatus};
use crate::sys::boundary::guarded;
use crate::sys::retry::{Backoff, Retry};

/// What an instance hears of its fence.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
#[rtype(result = "()")]
pub enum FenceUpdate {
    /// The daemon's lease is alive until then (by our clock).
    Quorum {
        valid_until: Instant,
    },
    QuorumLost,
    /// The instance's key is ours; addresses usable from then.
    Held {
        usable_from: Instant,
    },
    /// The key is another's, or gone.
    Lost,
}

/// An instance actor (`subscriber`: its number, unique in the process)
/// fenced by `key`, and where to tell it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub subscriber: u64,
    pub instance: String,
    pub key: String,
    pub recipient: Recipient<FenceUpdate>,
}

/// The instance actor is retired (a reload removed or replaced it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub subscriber: u64,
}

/// The instance is master and wants its key. `seq` orders it with the
/// subscriber's Releases: an older one that arrives late is ignored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Acquire {
    pub subscriber: u64,
    pub seq: u64,
}

/// The instance no longer wants its key; `removed`: its addresses are
/// gone (else the key goes only once their kernel lifetime is over). The
/// reply comes once etcd has it free, or after a second.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release {
    pub subscriber: u64,
    pub seq: u64,
    pub removed: bool,
}

/// Graceful stop: revoke the lease (at most 0.8 s), unless a key is still
/// held (see the handler).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

#[derive(Message)]
#[rtype(result = "QuorumStatus")]
pub struct Status;

/// The longest any one etcd call may take; shorter with a short lease
/// (a quarter of it), so a dead member is left while the lease lasts.
const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a graceful stop waits for etcd, at most.
const STOP_GRACE: Duration = Duration::from_millis(800);
/// Keys followed from the watch, at most (a shared prefix may hold more).
const MAX_FOLLOWED_KEYS: usize = 4096;

struct Lease {
    id: i64,
    /// None while a keepalive is being sent (it is moved into the send)
    /// or the stream is being opened again.
    keeper: Option<LeaseKeeper>,
    sending: bool,
    reopening: bool,
    /// Send times of keepalives not yet answered, oldest first.
    in_flight: VecDeque<Instant>,
    valid_until: Instant,
    last_ack: Option<Instant>,
    /// Bumped when the keepalive stream is opened again.
    stream: u64,
}

struct Subscriber {
    instance: String,
    key: String,
    recipient: Recipient<FenceUpdate>,
    /// The last Acquire or Release taken from it.
    last_seq: u64,
    /// Told it holds the key, and not told otherwise since.
    told_held: bool,
}

/// How a key is let go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LetGo {
    /// Written empty without a lease: the next holder uses it at once
    /// (our addresses are gone).
    Free,
    /// Deleted: the next holder waits for a kernel, as after an expiry
    /// (ours may still hold an address, or a former holder's may).
    Delete,
}

/// Who holds a key, as the watch last said.
#[derive(Clone, Debug)]
struct Holder {
    name: String,
    lease: i64,
}

pub struct QuorumActor {
    settings: QuorumSettings,
    request_timeout: Duration,
    /// One member at a time: on any failure the next one is tried at
    /// once (a balanced channel kept sending to a partitioned member
    /// until its requests timed out, one by one).
    client: Option<Client>,
    endpoint: usize,
    /// Bumped with each client: a failure of an older one is old news.
    client_gen: u64,
    connecting: bool,
    /// Members tried since the last answer: after a full round, wait.
    failovers: usize,
    /// Bumped with each lease: what an older one's calls return is stale.
    session: u64,
    lease: Option<Lease>,
    granting: bool,
    subscribers: BTreeMap<u64, Subscriber>,
    /// Per key, the subscribers that want it (a sync group's share one).
    wanted: BTreeMap<String, BTreeSet<u64>>,
    held: BTreeSet<String>,
    /// When each held key's addresses may be used (a former holder's
    /// kernel may hold them till then).
    usable: HashMap<String, Instant>,
    ticks: u64,
    acquiring: BTreeSet<String>,
    holders: BTreeMap<String, Holder>,
    /// When each key was seen to vanish (its holder's lease ran out).
    vanished: HashMap<String, Instant>,
    /// Kept open: dropping it ends the watch.
    watcher: Option<WatchRequestSender>,
    watch_stream: u64,
    reconnect: Retry,
    errors_total: u64,
    last_error: Option<String>,
    logged_error_at: Option<Instant>,
    stopping: bool,
}

impl QuorumActor {
    pub fn new(settings: QuorumSettings) -> QuorumActor {
        QuorumActor {
            request_timeout: MAX_REQUEST_TIMEOUT.min(settings.lease_ttl / 4),
            settings,
            client: None,
            endpoint: 0,
            client_gen: 0,
            connecting: false,
            failovers: 0,
            session: 0,
            lease: None,
            granting: false,
            subscribers: BTreeMap::new(),
            wanted: BTreeMap::new(),
            held: BTreeSet::new(),
            usable: HashMap::new(),
            ticks: 0,
            acquiring: BTreeSet::new(),
            holders: BTreeMap::new(),
            vanished: HashMap::new(),
            watcher: None,
            watch_stream: 0,
            reconnect: Retry::new(Backoff::new(
                Duration::from_millis(100),
                Duration::from_secs(1),
            )),
            errors_total: 0,
            last_error: None,
            logged_error_at: None,
            stopping: false,
        }
    }

    fn ttl_secs(&self) -> i64 {
        self.settings.lease_ttl.as_secs() as i64
    }

    /// Counts every failure; logs at most one line per ten seconds.
    fn failed(&mut self, what: &str, error: impl std::fmt::Display) {
        self.errors_total += 1;
        let message = format!("{what}: {error}");
        let now = Instant::now();
        if self
            .logged_error_at
            .is_none_or(|at| now >= at + Duration::from_secs(10))
        {
            self.logged_error_at = Some(now);
            tracing::warn!(error = %message, errors = self.errors_total, "quorum (etcd): {message}");
        }
        self.last_error = Some(message);
    }

    /// etcd answered: the member in use is good.
    fn answered(&mut self, ctx: &mut Context<Self>) {
        self.failovers = 0;
        self.reconnect.succeeded(ctx);
    }

    fn options(&self) -> ConnectOptions {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(self.request_timeout)
            .with_timeout(self.request_timeout)
            .with_keep_alive(self.request_timeout, self.request_timeout)
            .with_keep_alive_while_idle(true)
            // A member cut off from the others must not answer for the
            // cluster (gRPC metadata hasleader=true).
            .with_require_leader(true);
        if let Some(tls) = &self.settings.tls {
            let mut options_tls = TlsOptions::new().ca_certificate(Certificate::from_pem(&tls.ca));
            if let Some((cert, key)) = &tls.identity {
                options_tls = options_tls.identity(Identity::from_pem(cert, key));
            }
            if let Some(domain) = &tls.domain {
                options_tls = options_tls.domain_name(domain.clone());
            }
            options = options.with_tls(options_tls);
        }
        options
    }

    fn connect(&mut self, ctx: &mut Context<Self>) {
        if self.stopping || self.connecting || self.client.is_some() {
            return;
        }
        self.connecting = true;
        let endpoint = self.endpoint_in_use().to_string();
        let (options, gen, timeout) = (self.options(), self.client_gen, self.request_timeout);
        ctx.spawn(
            async move {
                tokio::time::timeout(timeout * 2, Client::connect([endpoint], Some(options))).await
            }
            .into_actor(self)
            .map(move |connected, actor, ctx| {
                actor.connecting = false;
                if actor.client_gen != gen || actor.stopping {
                    return;
                }
                match connected {
                    Ok(Ok(client)) => {
                        actor.client = Some(client);
                        if actor.lease.is_some() {
                            actor.reopen_keepalive(ctx);
                        } else {
                            actor.grant(ctx);
                        }
                        actor.watch(ctx);
                    }
                    Ok(Err(error)) => actor.fail_over(ctx, gen, "connect", error),
                    Err(_) => actor.fail_over(ctx, gen, "connect", "no connection in time"),
                }
            }),
        );
    }

    /// The member in use failed (`gen`'s client): on to the next one, at
    /// once; after every member failed in a row, with a growing delay.
    fn fail_over(
        &mut self,
        ctx: &mut Context<Self>,
        gen: u64,
        what: &str,
        error: impl std::fmt::Display,
    ) {
        if gen != self.client_gen {
            return; // an older client's failure: already moved on
        }
        let endpoint = self.endpoint_in_use().to_string();
        self.failed(what, format_args!("{error} ({endpoint})"));
        self.client_gen += 1;
        self.client = None;
        self.endpoint = (self.endpoint + 1) % self.settings.endpoints.len();
        self.watcher = None;
        self.watch_stream += 1;
        self.granting = false;
        self.acquiring.clear();
        if let Some(lease) = &mut self.lease {
            lease.stream += 1;
            lease.keeper = None;
            lease.sending = false;
            lease.reopening = false;
            lease.in_flight.clear();
        }
        self.failovers += 1;
        if self.failovers < self.settings.endpoints.len() {
            self.connect(ctx);
        } else {
            self.reconnect
                .schedule(ctx, |actor, ctx| actor.connect(ctx));
        }
    }

    /// A new lease, and the keepalive stream for it.
    fn grant(&mut self, ctx: &mut Context<Self>) {
        let Some(client) = self.client.clone() else {
            return;
        };
        if self.granting || self.lease.is_some() || self.stopping {
            return;
        }
        self.granting = true;
        let (ttl, gen, timeout) = (self.ttl_secs(), self.client_gen, self.request_timeout);
        let sent = Instant::now();
        ctx.spawn(
            async move {
                let mut client = client;
                let granted = client.lease_grant(ttl, None).await?;
                let (keeper, stream) = client.lease_keep_alive(granted.id()).await?;
                Ok::<_, etcd_client::Error>((granted.id(), granted.ttl(), keeper, stream))
            }
            .into_actor(self)
            .map(move |granted, actor, ctx| {
                if actor.client_gen != gen {
                    return;
                }
                actor.granting = false;
                match granted {
                    Ok((id, ttl, keeper, stream)) if ttl > 0 => {
                        actor.answered(ctx);
                        actor.session += 1;
                        let valid_until = lease_deadline(sent, Duration::from_secs(ttl as u64));
                        actor.lease = Some(Lease {
                            id,
                            keeper: Some(keeper),
                            sending: false,
                            reopening: false,
                            in_flight: VecDeque::new(),
                            valid_until,
                            last_ack: Some(Instant::now()),
                            stream: 0,
                        });
                        tracing::info!(lease = %format!("{id:x}"), ttl, "quorum (etcd): lease {id:x} granted, {ttl} s");
                        actor.follow_keepalives(ctx, stream);
                        actor.broadcast(FenceUpdate::Quorum { valid_until });
                        actor.take_wanted_keys(ctx, false);
                    }
                    Ok((id, ttl, ..)) => {
                        actor.fail_over(ctx, gen, "lease grant", format_args!("lease {id:x} granted with TTL {ttl}"));
                    }
                    Err(error) => actor.fail_over(ctx, gen, "lease grant", error),
                }
            })
            .timeout(timeout * 2)
            .map(move |timed, actor, ctx| {
                if timed.is_err() && actor.client_gen == gen {
                    actor.granting = false;
                    actor.fail_over(ctx, gen, "lease grant", "no answer in time");
                }
            }),
        );
    }

    /// Keepalive answers, then one `None` when the stream ends.
    fn follow_keepalives(
        &mut self,
        ctx: &mut Context<Self>,
        stream: etcd_client::LeaseKeepAliveStream,
    ) {
        let Some(lease) = &self.lease else { return };
        let (session, stream_id, gen) = (self.session, lease.stream, self.client_gen);
        ctx.add_stream(
            stream
                .map(Some)
                .chain(futures::stream::once(async { None }))
                .map(move |reply| KeepAliveReply {
                    session,
                    stream: stream_id,
                    gen,
                    reply,
                }),
        );
    }

    /// Every keepalive interval: give the lease up once our deadline
    /// passed unrenewed (the instances already dropped it), leave a
    /// member that stopped answering, renew, and ask again for keys
    /// masters wait for.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        if self
            .lease
            .as_ref()
            .is_some_and(|lease| now >= lease.valid_until)
        {
            self.lose_lease(ctx, "no keepalive answered in time");
        }
        if self.client.is_none() {
            return; // connecting, or waiting to
        }
        if self.lease.is_none() {
            self.grant(ctx);
            return;
        }
        let gen = self.client_gen;
        // Unanswered for a keepalive interval: that member is gone.
        let patience = keepalive_interval(self.settings.lease_ttl);
        let stalled = self
            .lease
            .as_ref()
            .and_then(|l| l.in_flight.front())
            .is_some_and(|sent| now.saturating_duration_since(*sent) >= patience);
        if stalled {
            self.fail_over(ctx, gen, "keepalive", "no answer in time");
            return;
        }
        // A master waiting for a key another holds hears of its release
        // from the watch; asked again once per TTL anyway (each ask is a
        // write in etcd), and at every tick while the watch is down.
        self.ticks += 1;
        let ask_all = self.watcher.is_none() || self.ticks.is_multiple_of(6);
        self.take_wanted_keys(ctx, ask_all);
        let Some(lease) = &mut self.lease else { return };
        if lease.reopening || lease.sending {
            return;
        }
        let Some(mut keeper) = lease.keeper.take() else {
            self.reopen_keepalive(ctx);
            return;
        };
        lease.sending = true;
        lease.in_flight.push_back(now);
        let (session, stream, timeout) = (self.session, lease.stream, self.request_timeout);
        ctx.spawn(
            async move {
                let sent = tokio::time::timeout(timeout, keeper.keep_alive()).await;
                (keeper, sent)
            }
            .into_actor(self)
            .map(move |(keeper, sent), actor, ctx| {
                let Some(lease) = actor.lease_of(session, stream) else {
                    return;
                };
                lease.sending = false;
                match sent {
                    Ok(Ok(())) => lease.keeper = Some(keeper),
                    Ok(Err(error)) => actor.fail_over(ctx, gen, "keepalive", error),
                    Err(_) => actor.fail_over(ctx, gen, "keepalive", "not sent in time"),
                }
            }),
        );
    }

    /// The lease, if it is still `session`'s and its keepalive stream
    /// still `stream`: what a call made for an older one returns is stale.
    fn lease_of(&mut self, session: u64, stream: u64) -> Option<&mut Lease> {
        self.lease
            .as_mut()
            .filter(|lease| self.session == session && lease.stream == stream)
    }

    /// A new keepalive stream for the same lease (a new member, say).
    fn reopen_keepalive(&mut self, ctx: &mut Context<Self>) {
        let (Some(client), Some(lease)) = (self.client.clone(), &mut self.lease) else {
            return;
        };
        if lease.reopening {
            return;
        }
        lease.reopening = true;
        lease.keeper = None;
        lease.sending = false;
        lease.in_flight.clear();
        lease.stream += 1;
        let (id, session, stream, gen, timeout) = (
            lease.id,
            self.session,
            lease.stream,
            self.client_gen,
            self.request_timeout,
        );
        ctx.spawn(
            async move {
                let mut client = client;
                tokio::time::timeout(timeout, client.lease_keep_alive(id)).await
            }
            .into_actor(self)
            .map(move |opened, actor, ctx| {
                let Some(lease) = actor.lease_of(session, stream) else {
                    return;
                };
                lease.reopening = false;
                match opened {
                    Ok(Ok((keeper, replies))) => {
                        lease.keeper = Some(keeper);
                        actor.follow_keepalives(ctx, replies);
                        // Renewed at once on the new member, not at the
                        // next tick: the deadline has been running.
                        actor.tick(ctx);
                    }
                    Ok(Err(error)) => actor.fail_over(ctx, gen, "keepalive stream", error),
                    Err(_) => actor.fail_over(ctx, gen, "keepalive stream", "not opened in time"),
                }
            }),
        );
    }

    /// The lease is gone or given up: every instance hears so, and a new
    /// one is asked for. Its keys vanish with it at etcd.
    fn lose_lease(&mut self, ctx: &mut Context<Self>, why: &str) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        self.session += 1;
        tracing::warn!(lease = %format!("{:x}", lease.id), "quorum (etcd): lease {:x} lost: {why}", lease.id);
        self.held.clear();
        self.usable.clear();
        self.acquiring.clear();
        for subscriber in self.subscribers.values_mut() {
            subscriber.told_held = false;
        }
        self.broadcast(FenceUpdate::QuorumLost);
        if let Some(client) = self.client.clone() {
            // Best effort: frees its keys now rather than at its TTL.
            let timeout = self.request_timeout;
            ctx.spawn(
                async move {
                    let mut client = client;
                    let _ = tokio::time::timeout(timeout, client.lease_revoke(lease.id)).await;
                }
                .into_actor(self),
            );
        }
        self.grant(ctx);
    }

    fn broadcast(&self, update: FenceUpdate) {
        for subscriber in self.subscribers.values() {
            subscriber.recipient.do_send(update);
        }
    }

    fn tell_key(&mut self, key: &str, update: FenceUpdate) {
        let held = matches!(update, FenceUpdate::Held { .. });
        for subscriber in self.subscribers.values_mut().filter(|s| s.key == key) {
            subscriber.told_held = held;
            subscriber.recipient.do_send(update);
        }
    }

    /// A key we do not hold: whoever was told it holds it hears it lost.
    fn tell_lost(&mut self, key: &str) {
        for subscriber in self
            .subscribers
            .values_mut()
            .filter(|s| s.key == key && s.told_held)
        {
            subscriber.told_held = false;
            subscriber.recipient.do_send(FenceUpdate::Lost);
        }
    }

    /// When a key taken now may be used (`released`: let go on purpose,
    /// not vanished): the core's rule, with what the watch saw.
    fn usable_from(&self, key: &str, released: bool) -> Instant {
        let vanished = (!released).then(|| self.vanished.get(key).copied());
        fence::usable_from(Instant::now(), vanished, self.usable.get(key).copied())
    }

    /// The member the client talks to (or will, once connected).
    fn endpoint_in_use(&self) -> &str {
        &self.settings.endpoints[self.endpoint % self.settings.endpoints.len()]
    }

    /// Asks for every key a master waits for: all of them (each tick: a
    /// watch may have missed the key's release), or only those the watch
    /// says are free.
    fn take_wanted_keys(&mut self, ctx: &mut Context<Self>, even_if_held_by_another: bool) {
        let keys: Vec<String> = self
            .wanted
            .iter()
            .filter(|(key, who)| !who.is_empty() && !self.held.contains(*key))
            .filter(|(key, _)| {
                even_if_held_by_another || self.holders.get(*key).is_none_or(|h| h.name.is_empty())
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in keys {
            self.acquire(ctx, key);
        }
    }

    /// Takes `key` if it is free: absent (its holder's lease ran out),
    /// or released. Held by another: asked again when it changes.
    fn acquire(&mut self, ctx: &mut Context<Self>, key: String) {
        let (Some(client), Some(lease)) = (self.client.clone(), &self.lease) else {
            return;
        };
        if self.held.contains(&key) || !self.acquiring.insert(key.clone()) {
            return;
        }
        let (lease_id, session, gen, timeout) = (
            lease.id,
            self.session,
            self.client_gen,
            self.request_timeout,
        );
        let (holder, owned) = (self.settings.holder.clone(), key.clone());
        ctx.spawn(
            async move { take_key(client, owned, holder, lease_id, timeout).await }
                .into_actor(self)
                .map(move |taken, actor, ctx| {
                    if actor.session != session || actor.client_gen != gen {
                        return;
                    }
                    actor.acquiring.remove(&key);
                    let usable_from = match taken {
                        // Ours already: a reply lost before; the wait is
                        // the one the first take began.
                        Ok(Taken::Absent | Taken::Ours) => actor.usable_from(&key, false),
                        Ok(Taken::Released) => actor.usable_from(&key, true),
                        Ok(Taken::Busy(holder)) => {
                            tracing::debug!(%key, %holder, "quorum (etcd): {key} is {holder}'s");
                            // A holder kept through a quorum loss learns
                            // another has it now.
                            actor.tell_lost(&key);
                            return;
                        }
                        Err(TakeError::Etcd(error)) if !member_failed(&error) => {
                            return actor.failed("take key", error)
                        }
                        Err(error) => return actor.fail_over(ctx, gen, "take key", error),
                    };
                    actor.held.insert(key.clone());
                    actor.usable.insert(key.clone(), usable_from);
                    if actor.wanted.get(&key).is_some_and(|w| !w.is_empty()) {
                        let wait = usable_from.saturating_duration_since(Instant::now());
                        tracing::info!(%key, wait_ms = wait.as_millis() as u64, "quorum (etcd): took {key}; addresses usable in {} ms", wait.as_millis());
                        actor.tell_key(&key, FenceUpdate::Held { usable_from });
                    } else {
                        actor.let_go(ctx, key, LetGo::Delete);
                    }
                }),
        );
    }

    /// Lets `key` go (`how`), if we hold it: only while our lease is the
    /// key's (a compare in the transaction).
    fn let_go(
        &mut self,
        ctx: &mut Context<Self>,
        key: String,
        how: LetGo,
    ) -> Option<tokio::sync::oneshot::Receiver<()>> {
        if !self.held.remove(&key) {
            return None;
        }
        let usable = self.usable.remove(&key);
        // Still inside our own wait for a former holder's kernel: the
        // next holder must wait as we would have.
        let how = if usable.is_some_and(|at| at > Instant::now()) {
            LetGo::Delete
        } else {
            how
        };
        let (Some(client), Some(lease)) = (self.client.clone(), &self.lease) else {
            return None;
        };
        let (lease_id, gen, timeout) = (lease.id, self.client_gen, self.request_timeout);
        let (done, finished) = tokio::sync::oneshot::channel();
        ctx.spawn(
            async move {
                let mut client = client;
                let change = match how {
                    LetGo::Free => TxnOp::put(key.clone(), "", None),
                    LetGo::Delete => TxnOp::delete(key.clone(), None),
                };
                let txn = Txn::new()
                    .when([Compare::lease(key.clone(), CompareOp::Equal, lease_id)])
                    .and_then([change]);
                let result = tokio::time::timeout(timeout, client.txn(txn)).await;
                let _ = done.send(());
                (key, result)
            }
            .into_actor(self)
            .map(move |(key, result), actor, ctx| match result {
                Ok(Ok(_)) => tracing::info!(%key, "quorum (etcd): let {key} go"),
                // It goes with the lease, then: the next holder waits.
                Ok(Err(error)) if !member_failed(&error) => actor.failed("let key go", error),
                Ok(Err(error)) => actor.fail_over(ctx, gen, "let key go", error),
                Err(_) => actor.fail_over(ctx, gen, "let key go", "no answer in time"),
            }),
        );
        Some(finished)
    }

    /// No subscriber wants `key` any more. `removed`: their addresses are
    /// gone; else it goes once the kernel lifetimes they were given are
    /// over (the lease's end as last told, and the kernel's slack).
    fn nobody_wants(
        &mut self,
        ctx: &mut Context<Self>,
        key: String,
        removed: bool,
    ) -> Option<tokio::sync::oneshot::Receiver<()>> {
        if removed {
            return self.let_go(ctx, key, LetGo::Free);
        }
        let lease = self.lease.as_ref()?;
        if !self.held.contains(&key) {
            return None;
        }
        let after = fence::unconfirmed_release_delay(Instant::now(), lease.valid_until);
        tracing::warn!(%key, "quorum (etcd): addresses of {key} not confirmed removed: the key goes in {after:?}, once their lifetime is over");
        ctx.run_later(after, move |actor, ctx| {
            if actor.wanted.get(&key).is_none_or(|w| w.is_empty()) {
                actor.let_go(ctx, key, LetGo::Free);
            }
        });
        None
    }

    /// Follows every key under the prefix: who holds it, and when one
    /// another held vanishes or is let go (then a master waiting takes it).
    fn watch(&mut self, ctx: &mut Context<Self>) {
        let Some(client) = self.client.clone() else {
            return;
        };
        self.watch_stream += 1;
        let (stream_id, gen, timeout) = (self.watch_stream, self.client_gen, self.request_timeout);
        let prefix = format!("{}/", self.settings.prefix);
        ctx.spawn(
            async move {
                let mut client = client;
                let options = GetOptions::new()
                    .with_prefix()
                    .with_limit(MAX_FOLLOWED_KEYS as i64);
                let current = client.get(prefix.clone(), Some(options)).await?;
                let revision = current.header().map_or(0, |h| h.revision());
                let holders: Vec<(String, Holder)> = current
                    .kvs()
                    .iter()
                    .map(|kv| {
                        let holder = Holder {
                            name: String::from_utf8_lossy(kv.value()).into_owned(),
                            lease: kv.lease(),
                        };
                        (String::from_utf8_lossy(kv.key()).into_owned(), holder)
                    })
                    .collect();
                let options = WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(revision + 1);
                let (watcher, stream) = client.watch(prefix, Some(options)).await?.split();
                Ok::<_, etcd_client::Error>((holders, watcher, stream))
            }
            .into_actor(self)
            .timeout(timeout * 2)
            .map(move |watched, actor, ctx| {
                if actor.watch_stream != stream_id || actor.client_gen != gen {
                    return;
                }
                match watched {
                    Ok(Ok((holders, watcher, stream))) => {
                        // What vanished while we did not watch is unknown:
                        // a key found absent waits the full slack.
                        actor.vanished.clear();
                        actor.holders = holders.into_iter().collect();
                        actor.watcher = Some(watcher);
                        ctx.add_stream(
                            stream
                                .map(Some)
                                .chain(futures::stream::once(async { None }))
                                .map(move |reply| WatchReply {
                                    stream: stream_id,
                                    gen,
                                    reply,
                                }),
                        );
                        actor.take_wanted_keys(ctx, false);
                    }
                    Ok(Err(error)) => actor.fail_over(ctx, gen, "watch", error),
                    Err(()) => actor.fail_over(ctx, gen, "watch", "not started in time"),
                }
            }),
        );
    }

    fn on_watch(&mut self, ctx: &mut Context<Self>, response: WatchResponse) {
        let now = Instant::now();
        let ours = self.lease.as_ref().map(|l| l.id);
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            let key = String::from_utf8_lossy(kv.key()).into_owned();
            match event.event_type() {
                EventType::Put => {
                    let holder = Holder {
                        name: String::from_utf8_lossy(kv.value()).into_owned(),
                        lease: kv.lease(),
                    };
                    if self.held.contains(&key) && Some(holder.lease) != ours {
                        // Not ours any more (it cannot be, while our lease
                        // lives; say so rather than trust it).
                        self.held.remove(&key);
                        self.usable.remove(&key);
                        self.tell_lost(&key);
                    }
                    // Another took it (or let it go): a vanishing before
                    // that is history. Our own take leaves it: the wait it
                    // began may still be running when this event comes
                    // ahead of the transaction's reply.
                    if Some(holder.lease) != ours {
                        self.vanished.remove(&key);
                    }
                    if self.holders.len() < MAX_FOLLOWED_KEYS || self.holders.contains_key(&key) {
                        self.holders.insert(key, holder);
                    }
                }
                EventType::Delete => {
                    tracing::info!(%key, "quorum (etcd): {key} vanished (its holder's lease ran out, or it was deleted)");
                    self.holders.remove(&key);
                    if self.vanished.len() < MAX_FOLLOWED_KEYS || self.vanished.contains_key(&key) {
                        self.vanished.insert(key.clone(), now);
                    }
                    if self.held.remove(&key) {
                        self.usable.remove(&key);
                        self.tell_lost(&key);
                    }
                }
            }
        }
        self.take_wanted_keys(ctx, false);
    }

    fn status(&self) -> QuorumStatus {
        let now = Instant::now();
        let lease = self.lease.as_ref();
        let keys = self
            .subscribers
            .values()
            .map(|s| s.key.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|key| QuorumKeyStatus {
                instances: self
                    .subscribers
                    .values()
                    .filter(|s| s.key == key)
                    .map(|s| s.instance.clone())
                    .collect(),
                holder: self
                    .holders
                    .get(&key)
                    .map(|h| h.name.clone())
                    .filter(|name| !name.is_empty()),
                held: self.held.contains(&key),
                wanted: self.wanted.get(&key).is_some_and(|w| !w.is_empty()),
                key,
            })
            .collect();
        QuorumStatus {
            endpoints: self.settings.endpoints.clone(),
            endpoint_in_use: self
                .client
                .as_ref()
                .map(|_| self.endpoint_in_use().to_string()),
            holder_name: self.settings.holder.clone(),
            lease_id: lease.map(|l| format!("{:x}", l.id)),
            lease_ttl_seconds: self.settings.lease_ttl.as_secs(),
            lease_valid_seconds: lease
                .map(|l| l.valid_until.saturating_duration_since(now).as_secs_f64()),
            last_keepalive_age_seconds: lease
                .and_then(|l| l.last_ack)
                .map(|at| now.saturating_duration_since(at).as_secs_f64()),
            errors_total: self.errors_total,
            last_error: self.last_error.clone(),
            on_quorum_loss: self.settings.on_quorum_loss.as_str().to_string(),
            keys,
        }
    }
}

/// Why a take failed.
#[derive(Debug)]
enum TakeError {
    Timeout,
    Etcd(etcd_client::Error),
}

impl std::fmt::Display for TakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TakeError::Timeout => f.write_str("no answer in time"),
            TakeError::Etcd(error) => error.fmt(f),
        }
    }
}

/// Whether an error says the member (or the way to it) failed, so the
/// next one should be tried: not a refusal about the request itself
/// (no space, no permission), which another member would repeat.
fn member_failed(error: &etcd_client::Error) -> bool {
    use etcd_client::Error;
    use tonic::Code;
    match error {
        Error::GRpcStatus(status) => matches!(
            status.code(),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Cancelled
                | Code::Unknown
                | Code::Internal
        ),
        Error::TransportError(_) | Error::IoError(_) => true,
        Error::LeaseKeepAliveError(_) | Error::WatchError(_) => true,
        _ => false,
    }
}

/// How a take went.
enum Taken {
    /// It was absent: its last holder's lease ran out (or none was).
    Absent,
    /// It was let go on purpose.
    Released,
    /// Already ours (asked again on the same lease).
    Ours,
    /// Another holds it.
    Busy(String),
}

/// One transaction when the key is absent; a second when it was let go
/// (only if nobody took it in between).
async fn take_key(
    mut client: Client,
    key: String,
    holder: String,
    lease: i64,
    timeout: Duration,
) -> Result<Taken, TakeError> {
    let put = || {
        TxnOp::put(
            key.clone(),
            holder.clone(),
            Some(PutOptions::new().with_lease(lease)),
        )
    };
    let txn = Txn::new()
        .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
        .and_then([put()])
        .or_else([TxnOp::get(key.clone(), None)]);
    let reply = tokio::time::timeout(timeout, client.txn(txn))
        .await
        .map_err(|_| TakeError::Timeout)?
        .map_err(TakeError::Etcd)?;
    if reply.succeeded() {
        return Ok(Taken::Absent);
    }
    let current = reply.op_responses().into_iter().find_map(|op| match op {
        TxnOpResponse::Get(get) => get
            .kvs()
            .first()
            .map(|kv| (kv.lease(), kv.value().to_vec(), kv.mod_revision())),
        _ => None,
    });
    let Some((their_lease, value, revision)) = current else {
        // Deleted between the compare and the get: asked again later.
        return Ok(Taken::Busy("nobody, a moment ago".into()));
    };
    if their_lease == lease {
        return Ok(Taken::Ours);
    }
    if !value.is_empty() {
        return Ok(Taken::Busy(String::from_utf8_lossy(&value).into_owned()));
    }
    let txn = Txn::new()
        .when([Compare::mod_revision(
            key.clone(),
            CompareOp::Equal,
            revision,
        )])
        .and_then([put()]);
    let reply = tokio::time::timeout(timeout, client.txn(txn))
        .await
        .map_err(|_| TakeError::Timeout)?
        .map_err(TakeError::Etcd)?;
    Ok(if reply.succeeded() {
        Taken::Released
    } else {
        Taken::Busy("another".into())
    })
}

#[derive(Message)]
#[rtype(result = "()")]
struct KeepAliveReply {
    session: u64,
    stream: u64,
    gen: u64,
    /// None: the stream ended.
    reply: Option<Result<LeaseKeepAliveResponse, etcd_client::Error>>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct WatchReply {
    stream: u64,
    gen: u64,
    /// None: the stream ended.
    reply: Option<Result<WatchResponse, etcd_client::Error>>,
}

impl Actor for QuorumActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        self.connect(ctx);
        ctx.run_interval(keepalive_interval(self.settings.lease_ttl), |actor, ctx| {
            actor.tick(ctx);
        });
    }
}

impl Supervised for QuorumActor {
    /// After a panic: what was under way is gone with the old context's
    /// futures and streams, so nothing may wait for it. The lease and
    /// the keys stay (a new client renews them), as after a fail-over.
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!("quorum (etcd): restarting");
        self.client_gen += 1;
        self.client = None;
        self.connecting = false;
        self.granting = false;
        self.acquiring.clear();
        self.watcher = None;
        self.watch_stream += 1;
        if let Some(lease) = &mut self.lease {
            lease.stream += 1;
            lease.keeper = None;
            lease.sending = false;
            lease.reopening = false;
            lease.in_flight.clear();
        }
    }
}

impl StreamHandler<KeepAliveReply> for QuorumActor {
    fn handle(&mut self, message: KeepAliveReply, ctx: &mut Context<Self>) {
        let Some(lease) = &mut self.lease else { return };
        if message.session != self.session || message.stream != lease.stream {
            return;
        }
        match message.reply {
            Some(Ok(response)) => {
                let Some(sent) = lease.in_flight.pop_front() else {
                    return;
                };
                if response.ttl() <= 0 {
                    self.lose_lease(ctx, "etcd says it expired");
                    return;
                }
                let valid_until = lease_deadline(sent, Duration::from_secs(response.ttl() as u64));
                if valid_until > lease.valid_until {
                    lease.valid_until = valid_until;
                }
                lease.last_ack = Some(Instant::now());
                let valid_until = lease.valid_until;
                self.answered(ctx);
                if valid_until > Instant::now() {
                    self.broadcast(FenceUpdate::Quorum { valid_until });
                }
            }
            Some(Err(error)) => self.fail_over(ctx, message.gen, "keepalive", error),
            None if !self.stopping => {
                self.fail_over(ctx, message.gen, "keepalive", "the stream ended")
            }
            None => {}
        }
    }

    /// Each stream says its own end (`None`): nothing to do here.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl StreamHandler<WatchReply> for QuorumActor {
    fn handle(&mut self, message: WatchReply, ctx: &mut Context<Self>) {
        if message.stream != self.watch_stream || self.stopping {
            return;
        }
        match message.reply {
            Some(Ok(response)) if response.canceled() => {
                // Compacted past our revision, say: start over from now.
                self.failed(
                    "watch",
                    format_args!("cancelled by etcd: {}", response.cancel_reason()),
                );
                ctx.run_later(Duration::from_millis(500), |actor, ctx| actor.watch(ctx));
            }
            Some(Ok(response)) => self.on_watch(ctx, response),
            Some(Err(error)) => self.fail_over(ctx, message.gen, "watch", error),
            None => self.fail_over(ctx, message.gen, "watch", "the stream ended"),
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Subscribe> for QuorumActor {
    type Result = ();

    fn handle(&mut self, subscribe: Subscribe, ctx: &mut Context<Self>) {
        guarded(self, ctx, "subscribe", |actor, _ctx| {
            if let Some(lease) = &actor.lease {
                if lease.valid_until > Instant::now() {
                    subscribe.recipient.do_send(FenceUpdate::Quorum {
                        valid_until: lease.valid_until,
                    });
                }
            }
            actor.subscribers.insert(
                subscribe.subscriber,
                Subscriber {
                    instance: subscribe.instance,
                    key: subscribe.key,
                    recipient: subscribe.recipient,
                    last_seq: 0,
                    told_held: false,
                },
            );
        });
    }
}

impl QuorumActor {
    /// The subscriber, if this Acquire or Release is newer than the last
    /// it sent (one that comes late is stale and changes nothing).
    fn newer(&mut self, subscriber: u64, seq: u64) -> Option<&mut Subscriber> {
        let subscriber = self.subscribers.get_mut(&subscriber)?;
        if seq <= subscriber.last_seq {
            return None;
        }
        subscriber.last_seq = seq;
        Some(subscriber)
    }
}

impl Handler<Unsubscribe> for QuorumActor {
    type Result = ();

    /// By number: the instance that replaced it (same name) stays.
    fn handle(&mut self, unsubscribe: Unsubscribe, ctx: &mut Context<Self>) {
        guarded(self, ctx, "unsubscribe", |actor, ctx| {
            let Some(subscriber) = actor.subscribers.remove(&unsubscribe.subscriber) else {
                return;
            };
            if let Some(wanting) = actor.wanted.get_mut(&subscriber.key) {
                // Still wanted at its retirement: its Release never came,
                // so its addresses are not known to be gone.
                if wanting.remove(&unsubscribe.subscriber) && wanting.is_empty() {
                    actor.nobody_wants(ctx, subscriber.key, false);
                }
            }
        });
    }
}

impl Handler<Acquire> for QuorumActor {
    type Result = ();

    fn handle(&mut self, acquire: Acquire, ctx: &mut Context<Self>) {
        guarded(self, ctx, "acquire", |actor, ctx| {
            let Some(subscriber) = actor.newer(acquire.subscriber, acquire.seq) else {
                return;
            };
            let key = subscriber.key.clone();
            actor
                .wanted
                .entry(key.clone())
                .or_default()
                .insert(acquire.subscriber);
            if actor.held.contains(&key) {
                let usable_from = actor.usable_from(&key, true);
                if let Some(subscriber) = actor.subscribers.get_mut(&acquire.subscriber) {
                    subscriber.told_held = true;
                    subscriber
                        .recipient
                        .do_send(FenceUpdate::Held { usable_from });
                }
            } else {
                actor.acquire(ctx, key);
            }
        });
    }
}

impl Handler<Release> for QuorumActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, release: Release, ctx: &mut Context<Self>) -> Self::Result {
        let finished = guarded(self, ctx, "release", |actor, ctx| {
            // Overtaken by a later Acquire (master again): stays wanted.
            let subscriber = actor.newer(release.subscriber, release.seq)?;
            subscriber.told_held = false;
            let key = subscriber.key.clone();
            let wanting = actor.wanted.entry(key.clone()).or_default();
            wanting.remove(&release.subscriber);
            if wanting.is_empty() {
                actor.wanted.remove(&key);
                actor.nobody_wants(ctx, key, release.removed)
            } else {
                None
            }
        })
        .flatten();
        Box::pin(async move {
            if let Some(finished) = finished {
                let _ = tokio::time::timeout(STOP_GRACE, finished).await;
            }
        })
    }
}

impl Handler<Stop> for QuorumActor {
    type Result = ResponseFuture<()>;

    /// Revokes the lease, unless a key is still held: its instance did not
    /// confirm its addresses gone, and the lease must then run out (after
    /// their lifetime) rather than free the key now.
    fn handle(&mut self, _: Stop, _ctx: &mut Context<Self>) -> Self::Result {
        self.stopping = true;
        let unconfirmed: Vec<String> = self.held.iter().cloned().collect();
        let lease = self.lease.take().map(|lease| lease.id);
        self.session += 1;
        let revoke = match (self.client.clone(), lease) {
            (Some(client), Some(id)) if unconfirmed.is_empty() => Some((client, id)),
            (_, Some(id)) => {
                tracing::warn!(lease = %format!("{id:x}"), keys = ?unconfirmed, "quorum (etcd): lease {id:x} left to expire: {} still held", unconfirmed.join(", "));
                None
            }
            _ => None,
        };
        Box::pin(async move {
            if let Some((mut client, id)) = revoke {
                match tokio::time::timeout(STOP_GRACE, client.lease_revoke(id)).await {
                    Ok(Ok(_)) => {
                        tracing::info!(lease = %format!("{id:x}"), "quorum (etcd): lease {id:x} revoked")
                    }
                    _ => {
                        tracing::warn!(lease = %format!("{id:x}"), "quorum (etcd): lease {id:x} not revoked: it expires by itself")
                    }
                }
            }
        })
    }
}

impl Handler<Status> for QuorumActor {
    type Result = MessageResult<Status>;

    fn handle(&mut self, _: Status, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}

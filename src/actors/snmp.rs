//! The SNMP subagent: one AgentX session with the master agent (net-snmp's
//! snmpd), opened, registered for the enabled MIBs, and answered from a
//! fresh snapshot per request; traps go out as Notify PDUs on state
//! changes. Off unless `snmp` is set.
//!
//! It runs on the daemon's arbiter, as the control and metrics actors do,
//! and never holds it: every read and write is async, bounded in size
//! (a packet over 64 KiB drops the session) and in time. A master agent
//! that is not there, or goes away, is retried with a backoff from 1 s to
//! 10 s, logged once per outage and counted in the status snapshot; vipd
//! runs on without it.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::broadcast::Receiver;

use crate::snmp::answer::{answer, needs_view};
use crate::snmp::mib::{self, Host, View};
use crate::snmp::oid::Oid;
use crate::snmp::pdu::{self, DecodeError, Header, Packet, Pdu, Value, VarBind};
use crate::snmp::{MasterAddress, SnmpSettings};
use crate::status::SnmpStatus;
use crate::sys::retry::Backoff;
use crate::sys::transition_feed::{self, uptime_centiseconds, StateChange};

use super::control::{gather, SnmpCounters, Sources};

/// Connecting, and each answer the master owes us while opening.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A write the master does not take in this long drops the session.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// The rest of a packet whose start has arrived.
const PARTIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// The session timeout asked for in Open, in seconds: how long the
/// master waits for an answer before it gives up on one request.
const SESSION_TIMEOUT: u8 = 5;
/// RFC 2741's default registration priority.
const PRIORITY: u8 = 127;
/// How long one view answers requests. snmpd turns a walk into one
/// GetNext per object (and a GetBulk into one per repetition): made
/// afresh for each, a walk of 100 instances' 1,800 objects cost about
/// 15 ms of the advert thread per object in a debug build. Reused for a
/// second, and dropped at once when any instance changes state, the walk
/// is consistent and a state read is never stale; counters and
/// priorities are at most this old.
const VIEW_MAX_AGE: Duration = Duration::from_secs(1);
/// A registered session that ends sooner than this is a master that
/// accepts and drops: the delay keeps growing. One that lasted resets it,
/// so a restarted snmpd is served again within a second or two.
const STABLE_SESSION: Duration = Duration::from_secs(1);
/// Reconnection delays: at most 10 s without the VRRP MIBs after snmpd
/// comes back.
const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
/// How often subtrees the master refused (another subagent held them)
/// are asked for again while the session lasts.
const REREGISTER: Duration = if cfg!(test) {
    Duration::from_millis(500)
} else {
    Duration::from_secs(60)
};

/// Why a session ended.
#[derive(Debug, Error)]
enum SessionError {
    #[error("cannot connect: {0}{hint}", hint = connect_hint(.0))]
    Connect(std::io::Error),
    #[error("connecting timed out")]
    ConnectTimeout,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it closed the connection")]
    Eof,
    #[error("it sent a bad packet: {0}")]
    Protocol(#[from] DecodeError),
    #[error("it did not answer in {0:?}")]
    Timeout(Duration),
    #[error("writing to it timed out after {0:?}")]
    WriteTimeout(Duration),
    #[error("it refused the session (AgentX error {0})")]
    OpenRefused(u16),
    #[error("it closed the session (reason {0})")]
    Closed(u8),
    #[error("vipd closed the session as it stops")]
    Stopping,
}

/// What to do about a connect that failed for lack of rights: vipd keeps
/// only CAP_NET_ADMIN and CAP_NET_RAW (not CAP_DAC_OVERRIDE), even as
/// root, and snmpd makes its socket root's, 0600, unless told otherwise.
fn connect_hint(error: &std::io::Error) -> String {
    if error.kind() != std::io::ErrorKind::PermissionDenied {
        return String::new();
    }
    let group = nix::unistd::Group::from_gid(nix::unistd::getegid())
        .ok()
        .flatten()
        .map_or_else(|| nix::unistd::getegid().to_string(), |g| g.name);
    format!(
        " (vipd runs without CAP_DAC_OVERRIDE, so snmpd's socket must let its group in: \
         set \"agentXPerms 0660 0755 root {group}\" in snmpd.conf and restart snmpd)"
    )
}

trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// One connection: the stream and what has been read of the next packet.
struct Connection {
    stream: Box<dyn Io>,
    buffer: Vec<u8>,
    session_id: u32,
    next_packet_id: u32,
}

impl Connection {
    async fn open(master: &MasterAddress) -> Result<Connection, SessionError> {
        let connect = async {
            Ok::<Box<dyn Io>, std::io::Error>(match master {
                MasterAddress::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
                MasterAddress::Tcp { host, port } => {
                    Box::new(tokio::net::TcpStream::connect((host.as_str(), *port)).await?)
                }
            })
        };
        let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, connect)
            .await
            .map_err(|_| SessionError::ConnectTimeout)?
            .map_err(SessionError::Connect)?;
        Ok(Connection {
            stream,
            buffer: Vec::new(),
            session_id: 0,
            next_packet_id: 1,
        })
    }

    fn header(&mut self) -> Header {
        let packet_id = self.next_packet_id;
        self.next_packet_id = self.next_packet_id.wrapping_add(1).max(1);
        Header {
            flags: 0,
            session_id: self.session_id,
            transaction_id: 0,
            packet_id,
        }
    }

    async fn send(&mut self, packet: &Packet) -> Result<(), SessionError> {
        let bytes = pdu::encode(packet);
        tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(&bytes))
            .await
            .map_err(|_| SessionError::WriteTimeout(WRITE_TIMEOUT))??;
        Ok(())
    }

    /// The next whole packet. Cancel-safe: what was read stays in the
    /// buffer, and the only await is a read that either happens or not.
    async fn receive(&mut self) -> Result<Packet, SessionError> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(length) = pdu::frame_len(&self.buffer)? {
                if self.buffer.len() >= length {
                    let packet = pdu::decode(&self.buffer[..length]);
                    self.buffer.drain(..length);
                    return Ok(packet?);
                }
            }
            let read = self.stream.read(&mut chunk);
            let n = if self.buffer.is_empty() {
                read.await?
            } else {
                tokio::time::timeout(PARTIAL_TIMEOUT, read)
                    .await
                    .map_err(|_| SessionError::Timeout(PARTIAL_TIMEOUT))??
            };
            if n == 0 {
                return Err(SessionError::Eof);
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `pdu` and waits for its Response: (error, session id).
    async fn call(&mut self, pdu: Pdu) -> Result<(u16, u32), SessionError> {
        let header = self.header();
        self.send(&Packet {
            header,
            context: None,
            pdu,
        })
        .await?;
        let wait = async {
            loop {
                let packet = self.receive().await?;
                match packet.pdu {
                    Pdu::Response { error, .. } if packet.header.packet_id == header.packet_id => {
                        return Ok((error, packet.header.session_id))
                    }
                    Pdu::Close { reason } => return Err(SessionError::Closed(reason)),
                    _ => continue,
                }
            }
        };
        tokio::time::timeout(HANDSHAKE_TIMEOUT, wait)
            .await
            .map_err(|_| SessionError::Timeout(HANDSHAKE_TIMEOUT))?
    }
}

/// Ends the session as vipd stops: the traps still queued (the
/// instances' shutdown) go out, then a Close PDU (reason shutdown), so
/// snmpd unregisters at once rather than on EOF. Answered once that is
/// done, or after WRITE_TIMEOUT.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSession;

pub struct SnmpActor {
    settings: SnmpSettings,
    sources: Sources,
    /// Set by CloseSession; read by the session task.
    close: tokio::sync::watch::Sender<bool>,
    /// Set by the session task once closed.
    closed: tokio::sync::watch::Sender<bool>,
    /// Subscribed when the actor is made, before any instance starts, so
    /// their first transitions are queued; a restart subscribes anew.
    changes: Option<Receiver<StateChange>>,
}

impl SnmpActor {
    pub fn new(settings: SnmpSettings, sources: Sources) -> SnmpActor {
        SnmpActor {
            settings,
            sources,
            close: tokio::sync::watch::channel(false).0,
            closed: tokio::sync::watch::channel(false).0,
            changes: Some(transition_feed::subscribe()),
        }
    }
}

impl Actor for SnmpActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let counters = self.sources.snmp();
        // A restarted actor keeps counting where the last one stopped.
        let kept = counters.borrow_mut().take().unwrap_or_default();
        *counters.borrow_mut() = Some(SnmpStatus {
            master: self.settings.master.to_string(),
            connected: false,
            ..kept
        });
        let changes = self
            .changes
            .take()
            .unwrap_or_else(transition_feed::subscribe);
        let close = self.close.subscribe();
        let closed = self.closed.clone();
        let (settings, sources) = (self.settings.clone(), self.sources.clone());
        ctx.spawn(
            async move {
                run(settings, sources, counters, changes, close).await;
                closed.send_replace(true);
            }
            .into_actor(self),
        );
    }
}

impl Handler<CloseSession> for SnmpActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: CloseSession, _: &mut Context<Self>) -> Self::Result {
        self.close.send_replace(true);
        let mut closed = self.closed.subscribe();
        Box::pin(async move {
            let _ = tokio::time::timeout(WRITE_TIMEOUT, closed.wait_for(|c| *c)).await;
        })
    }
}

impl Supervised for SnmpActor {}

fn count(counters: &SnmpCounters, f: impl FnOnce(&mut SnmpStatus)) {
    if let Some(status) = counters.borrow_mut().as_mut() {
        f(status);
    }
}

/// Sessions, one after another, for as long as vipd runs.
async fn run(
    settings: SnmpSettings,
    sources: Sources,
    counters: SnmpCounters,
    mut changes: Receiver<StateChange>,
    mut close: tokio::sync::watch::Receiver<bool>,
) {
    let host = Host {
        router_id: settings.router_id.clone().unwrap_or_else(|| {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default()
        }),
    };
    let _ = uptime_centiseconds(); // sysUpTime counts from here
    let mut backoff = BACKOFF;
    // Logged once per outage: the first failure says what and where.
    let mut in_outage = false;
    // A refused subtree is logged the first time only; its retries are not.
    let mut told_refused = BTreeSet::new();
    // The feed closes only as the process ends; after that, waiting on
    // it would return at once, forever.
    let mut feed_open = true;
    let master = settings.master.clone();
    loop {
        let mut registered = false;
        let began = Instant::now();
        let ended = session(
            &settings,
            &sources,
            &counters,
            &host,
            &mut changes,
            &mut Progress {
                registered: &mut registered,
                told_refused: &mut told_refused,
                feed_open: &mut feed_open,
                close: &mut close,
            },
        )
        .await;
        if *close.borrow() {
            count(&counters, |s| {
                s.connected = false;
                s.refused.clear();
            });
            return;
        }
        count(&counters, |s| {
            s.connected = false;
            s.refused.clear();
        });
        after_session(&mut backoff, registered, began.elapsed());
        let why = ended.to_string();
        if matches!(
            ended,
            SessionError::Connect(_) | SessionError::ConnectTimeout
        ) {
            count(&counters, |s| s.connect_failures += 1);
        }
        if matches!(ended, SessionError::Protocol(_)) {
            count(&counters, |s| s.protocol_errors += 1);
        }
        count(&counters, |s| s.last_error = Some(why.clone()));
        // A session that ran and ended starts an outage; failures within
        // one are counted, not logged again.
        if registered || !in_outage {
            count(&counters, |s| s.outages += 1);
            tracing::warn!(%master, error = %why, "snmp: AgentX master {master}: {why}; vipd runs on and tries again every 1 to 10 s");
        }
        in_outage = true;
        let delay = backoff.next_delay();
        // Changes while there is no session have no trap: count them.
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                Ok(_) = close.wait_for(|c| *c) => return,
                change = changes.recv(), if feed_open => match change {
                    Ok(_) if settings.mibs.traps => count(&counters, |s| s.traps_lost += 1),
                    Err(RecvError::Lagged(n)) if settings.mibs.traps => {
                        count(&counters, |s| s.traps_lost += n)
                    }
                    Err(RecvError::Closed) => feed_open = false,
                    _ => {}
                },
            }
        }
    }
}

/// The reconnection delay after a session: back to its first step once a
/// registered session lasted STABLE_SESSION, so a restarted snmpd is
/// served again at once; a master that accepts and drops at once is
/// retried ever more slowly (up to the cap), and its two lines per
/// session (registered, lost) stay rare.
fn after_session(backoff: &mut Backoff, registered: bool, lasted: Duration) {
    if registered && lasted >= STABLE_SESSION {
        backoff.reset();
    }
}

/// What a session tells the loop that runs sessions.
struct Progress<'a> {
    registered: &'a mut bool,
    told_refused: &'a mut BTreeSet<Oid>,
    feed_open: &'a mut bool,
    /// Set when vipd stops: the session closes.
    close: &'a mut tokio::sync::watch::Receiver<bool>,
}

enum Event {
    Packet(Result<Packet, SessionError>),
    Change(Result<StateChange, RecvError>),
    Reregister,
    Close,
}

/// Opens, registers, then answers until the session ends; returns why.
async fn session(
    settings: &SnmpSettings,
    sources: &Sources,
    counters: &SnmpCounters,
    host: &Host,
    changes: &mut Receiver<StateChange>,
    progress: &mut Progress<'_>,
) -> SessionError {
    let master = &settings.master;
    let mut conn = match Connection::open(master).await {
        Ok(conn) => conn,
        Err(error) => return error,
    };
    // Open (§6.2.1): keepalived's enterprise OID names the subagent.
    let open = Pdu::Open {
        timeout: SESSION_TIMEOUT,
        id: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5]),
        description: format!("vipd {} VRRP", env!("CARGO_PKG_VERSION")).into_bytes(),
    };
    match conn.call(open).await {
        Ok((0, session_id)) => conn.session_id = session_id,
        Ok((error, _)) => return SessionError::OpenRefused(error),
        Err(error) => return error,
    }
    let mut served = Vec::new();
    // Refused subtrees, asked for again every REREGISTER: at most one
    // per MIB subtree, so bounded.
    let mut refused: Vec<Oid> = Vec::new();
    for subtree in mib::subtrees(settings.mibs) {
        let register = Pdu::Register {
            timeout: 0,
            priority: PRIORITY,
            subtree: subtree.clone(),
        };
        match conn.call(register).await {
            Ok((0, _)) => served.push(subtree.to_string()),
            // duplicateRegistration (263): another subagent (keepalived?)
            // has it. The others are still served.
            Ok((error, _)) => {
                if progress.told_refused.insert(subtree.clone()) {
                    tracing::warn!(%master, %subtree, error, "snmp: the AgentX master refused to register {subtree} (AgentX error {error}; 263: another subagent, keepalived perhaps, serves it); vipd asks again every {}s", REREGISTER.as_secs());
                }
                refused.push(subtree);
            }
            Err(error) => return error,
        }
    }
    *progress.registered = true;
    count(counters, |s| {
        s.connected = true;
        s.sessions += 1;
        s.refused = refused.iter().map(Oid::to_string).collect();
    });
    tracing::info!(%master, session = conn.session_id, "snmp: registered with the AgentX master {master}: {}", served.join(" "));
    // Registers sent again and not yet answered, by packet id.
    let mut asked: Vec<(u32, Oid)> = Vec::new();
    let mut reregister =
        tokio::time::interval_at(tokio::time::Instant::now() + REREGISTER, REREGISTER);
    reregister.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Changes made while this session was being opened are still
    // queued: their traps go out now (those of an outage were counted
    // lost while waiting). So the instances' first states, at start, have
    // traps, as keepalived's do.
    // The view last made, reused for requests within VIEW_MAX_AGE and
    // until a state changes.
    let mut cached: Option<(Instant, Rc<View>)> = None;
    loop {
        let feed_open = *progress.feed_open;
        let event = tokio::select! {
            packet = conn.receive() => Event::Packet(packet),
            change = changes.recv(), if feed_open => Event::Change(change),
            _ = reregister.tick(), if !refused.is_empty() => Event::Reregister,
            Ok(_) = progress.close.wait_for(|c| *c) => Event::Close,
        };
        match event {
            Event::Packet(Err(error)) => return error,
            Event::Packet(Ok(packet)) => match packet.pdu {
                Pdu::Close { reason } => return SessionError::Closed(reason),
                // The master's answers to our Registers and Notify PDUs.
                Pdu::Response { error, .. } => {
                    let id = packet.header.packet_id;
                    if let Some(at) = asked.iter().position(|(asked, _)| *asked == id) {
                        let (_, subtree) = asked.swap_remove(at);
                        if error == 0 {
                            tracing::info!(%master, %subtree, "snmp: registered {subtree} with the AgentX master {master}, refused before");
                            refused.retain(|s| *s != subtree);
                            progress.told_refused.remove(&subtree);
                            count(counters, |s| {
                                s.refused = refused.iter().map(Oid::to_string).collect();
                            });
                        }
                    } else if error != 0 {
                        tracing::debug!(error, "snmp: the AgentX master refused a notification");
                    }
                }
                _ => {
                    let view = if needs_view(&packet.pdu) {
                        match &cached {
                            Some((made, view)) if made.elapsed() < VIEW_MAX_AGE => Rc::clone(view),
                            _ => {
                                let snapshot = gather(sources.clone()).await;
                                let view = Rc::new(View::new(settings.mibs, &snapshot, host));
                                cached = Some((Instant::now(), Rc::clone(&view)));
                                view
                            }
                        }
                    } else {
                        Rc::new(View::default())
                    };
                    count(counters, |s| s.requests += 1);
                    if let Some(response) = answer(&packet, &view) {
                        if let Err(error) = conn.send(&response).await {
                            return error;
                        }
                    }
                }
            },
            // Without waiting for the answers: requests keep being
            // answered meanwhile, and the Response names its packet.
            Event::Reregister => {
                // Answers still owed from the last round are forgotten.
                asked.clear();
                for subtree in &refused {
                    let header = conn.header();
                    let register = Packet {
                        header,
                        context: None,
                        pdu: Pdu::Register {
                            timeout: 0,
                            priority: PRIORITY,
                            subtree: subtree.clone(),
                        },
                    };
                    if let Err(error) = conn.send(&register).await {
                        return error;
                    }
                    asked.push((header.packet_id, subtree.clone()));
                }
            }
            Event::Change(Err(RecvError::Closed)) => *progress.feed_open = false,
            // A state changed: the next request sees it. Without traps
            // that is all a change needs.
            Event::Change(_) if !settings.mibs.traps => cached = None,
            Event::Change(Err(RecvError::Lagged(n))) => {
                cached = None;
                count(counters, |s| s.traps_lost += n);
            }
            Event::Change(Ok(first)) => {
                cached = None;
                let batch = queued(first, changes, counters, progress);
                if let Err(error) =
                    send_traps(&mut conn, settings, sources, counters, host, &batch).await
                {
                    return error;
                }
            }
            Event::Close => {
                // The instances' last changes (shutdown) first: they
                // were published before the daemon asked to close.
                if settings.mibs.traps {
                    if let Ok(first) = changes.try_recv() {
                        let batch = queued(first, changes, counters, progress);
                        if let Err(error) =
                            send_traps(&mut conn, settings, sources, counters, host, &batch).await
                        {
                            return error;
                        }
                    }
                }
                let header = conn.header();
                let close = Packet {
                    header,
                    context: None,
                    pdu: Pdu::Close {
                        reason: pdu::close::SHUTDOWN,
                    },
                };
                if let Err(error) = conn.send(&close).await {
                    return error;
                }
                tracing::info!(%master, "snmp: closed the session with the AgentX master {master}");
                return SessionError::Stopping;
            }
        }
    }
}

/// `first` and every change already queued behind it: a burst of N
/// changes is served from one gather, not N.
fn queued(
    first: StateChange,
    changes: &mut Receiver<StateChange>,
    counters: &SnmpCounters,
    progress: &mut Progress<'_>,
) -> Vec<StateChange> {
    let mut batch = vec![first];
    while batch.len() < transition_feed::CAPACITY {
        match changes.try_recv() {
            Ok(change) => batch.push(change),
            Err(TryRecvError::Lagged(n)) => count(counters, |s| s.traps_lost += n),
            Err(TryRecvError::Closed) => {
                *progress.feed_open = false;
                break;
            }
            Err(TryRecvError::Empty) => break,
        }
    }
    batch
}

/// The traps of `batch`, from one snapshot.
async fn send_traps(
    conn: &mut Connection,
    settings: &SnmpSettings,
    sources: &Sources,
    counters: &SnmpCounters,
    host: &Host,
    batch: &[StateChange],
) -> Result<(), SessionError> {
    let snapshot = gather(sources.clone()).await;
    for change in batch {
        for varbinds in mib::traps(settings.mibs, &snapshot, change, host) {
            let mut all = vec![VarBind {
                name: Oid::new(mib::SYS_UPTIME),
                value: Value::TimeTicks(uptime_centiseconds()),
            }];
            all.extend(varbinds);
            let header = conn.header();
            let notify = Packet {
                header,
                context: None,
                pdu: Pdu::Notify { varbinds: all },
            };
            if let Err(error) = conn.send(&notify).await {
                count(counters, |s| s.traps_lost += 1);
                return Err(error);
            }
            count(counters, |s| s.traps_sent += 1);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::pdu::SearchRange;
    use crate::snmp::Mibs;
    use tokio::net::{UnixListener, UnixStream};

    const WAIT: Duration = Duration::from_secs(20);

    /// One packet as the master reads it.
    async fn read_packet(stream: &mut UnixStream) -> Packet {
        let mut bytes = vec![0u8; pdu::HEADER_LEN];
        stream.read_exact(&mut bytes).await.unwrap();
        let total = pdu::frame_len(&bytes).unwrap().unwrap();
        bytes.resize(total, 0);
        stream
            .read_exact(&mut bytes[pdu::HEADER_LEN..])
            .await
            .unwrap();
        pdu::decode(&bytes).unwrap()
    }

    async fn respond(stream: &mut UnixStream, to: &Packet, session_id: u32) {
        let response = Packet {
            header: Header {
                session_id,
                ..to.header
            },
            context: None,
            pdu: Pdu::Response {
                sys_uptime: 0,
                error: 0,
                index: 0,
                varbinds: Vec::new(),
            },
        };
        stream.write_all(&pdu::encode(&response)).await.unwrap();
    }

    /// Accepts the subagent and answers its Open and Registers.
    async fn session(listener: &UnixListener, registers: usize) -> UnixStream {
        let (mut stream, _) = tokio::time::timeout(WAIT, listener.accept())
            .await
            .expect("the subagent connects")
            .unwrap();
        let open = read_packet(&mut stream).await;
        assert!(matches!(open.pdu, Pdu::Open { .. }), "{open:?}");
        respond(&mut stream, &open, 9).await;
        for _ in 0..registers {
            let register = read_packet(&mut stream).await;
            assert!(matches!(register.pdu, Pdu::Register { .. }), "{register:?}");
            assert_eq!(register.header.session_id, 9);
            respond(&mut stream, &register, 9).await;
        }
        stream
    }

    /// A master agent of our own on a unix socket: the subagent opens,
    /// registers KEEPALIVED-MIB's two subtrees, sends the trap of a change
    /// made before the session opened, and answers a Get; a
    /// header announcing more than 64 KiB drops the session (counted),
    /// and the subagent comes back with a new one after its backoff.
    #[test]
    fn an_oversized_packet_drops_the_session_and_it_reconnects() {
        /// Removes the socket's directory however the test ends.
        struct Scratch(std::path::PathBuf);
        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let dir = std::env::temp_dir().join(format!("vipd-snmp-actor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _scratch = Scratch(dir.clone());
        let path = dir.join("master");
        let _ = std::fs::remove_file(&path);
        let system = actix::System::new();
        system.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            let sources = Sources::default();
            let counters = sources.snmp();
            let settings = SnmpSettings {
                master: MasterAddress::Unix(path.clone()),
                mibs: Mibs {
                    vrrp: true,
                    traps: true,
                    ..Mibs::default()
                },
                router_id: None,
            };
            let _actor = SnmpActor::new(settings, sources).start();
            // A change before the session: its trap is queued, and sent
            // once the session is open (an instance's first state at start).
            transition_feed::publish(
                "SNMP_TEST_VI",
                &crate::proto::Transition {
                    from: crate::proto::State::Initialize,
                    to: crate::proto::State::Backup,
                    reason: crate::proto::Reason::Startup,
                    priority: 100,
                },
                None,
            );
            let mut master = session(&listener, 2).await;
            // Other tests' instances publish on the same feed: look for ours.
            let notify = tokio::time::timeout(WAIT, async {
                loop {
                    let packet = read_packet(&mut master).await;
                    if let Pdu::Notify { varbinds } = &packet.pdu {
                        if varbinds
                            .iter()
                            .any(|v| v.value == Value::OctetString(b"SNMP_TEST_VI".to_vec()))
                        {
                            return varbinds.clone();
                        }
                    }
                }
            })
            .await
            .expect("the queued change's trap");
            assert_eq!(notify[0].name, Oid::new(mib::SYS_UPTIME));
            assert_eq!(
                notify[1].value,
                Value::ObjectId(Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 10, 0, 2]))
            );
            assert!(notify.contains(&VarBind {
                name: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1, 4]),
                value: Value::Integer(1), // backup
            }));

            let get = Packet {
                header: Header {
                    session_id: 9,
                    transaction_id: 1,
                    packet_id: 77,
                    flags: 0,
                },
                context: None,
                pdu: Pdu::Get {
                    ranges: vec![SearchRange {
                        start: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 1, 1, 0]),
                        include: false,
                        end: Oid::default(),
                    }],
                },
            };
            master.write_all(&pdu::encode(&get)).await.unwrap();
            let answer = tokio::time::timeout(WAIT, async {
                loop {
                    let packet = read_packet(&mut master).await;
                    if !matches!(packet.pdu, Pdu::Notify { .. }) {
                        return packet;
                    }
                }
            })
            .await
            .unwrap();
            assert_eq!(answer.header.packet_id, 77);
            let Pdu::Response { varbinds, .. } = answer.pdu else {
                panic!("{answer:?}")
            };
            assert!(
                matches!(&varbinds[0].value, Value::OctetString(v) if v.starts_with(b"vipd ")),
                "{varbinds:?}"
            );
            let status = counters.borrow().clone().unwrap();
            assert!(status.connected && status.sessions == 1 && status.requests == 1);

            // A header that announces 64 KiB and 4 bytes of payload.
            let mut oversized = vec![1, 5, 0x10, 0];
            oversized.extend_from_slice(&[0; 12]);
            oversized.extend_from_slice(&((pdu::MAX_PAYLOAD as u32) + 4).to_be_bytes());
            master.write_all(&oversized).await.unwrap();
            let _again = session(&listener, 2).await;
            // The subagent counts the session once it has read the last
            // answer: poll for it.
            let deadline = tokio::time::Instant::now() + WAIT;
            while counters.borrow().as_ref().is_none_or(|s| s.sessions < 2)
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let status = counters.borrow().clone().unwrap();
            assert_eq!(status.protocol_errors, 1, "{status:?}");
            assert_eq!(status.outages, 1, "{status:?}");
            assert_eq!(status.sessions, 2, "{status:?}");
            assert!(status.connected);
            System::current().stop();
        });
    }

    /// A connect refused for lack of rights says why and what to set in
    /// snmpd.conf; other failures say only what happened.
    #[test]
    fn permission_denied_says_how_to_fix_it() {
        let denied = SessionError::Connect(std::io::ErrorKind::PermissionDenied.into());
        let text = denied.to_string();
        assert!(
            text.starts_with("cannot connect: permission denied"),
            "{text}"
        );
        assert!(text.contains("agentXPerms 0660 0755 root "), "{text}");
        assert!(text.contains("CAP_DAC_OVERRIDE"), "{text}");
        let missing = SessionError::Connect(std::io::ErrorKind::NotFound.into());
        assert!(!missing.to_string().contains("agentXPerms"));
        assert!(SessionError::WriteTimeout(WRITE_TIMEOUT)
            .to_string()
            .contains("writing to it timed out"));
    }

    /// The delay never passes 10 s, goes back to 1 s after a registered
    /// session that lasted, and keeps growing after one that died at once.
    #[test]
    fn reconnect_delay_resets_after_a_lasting_session_and_stays_under_ten_seconds() {
        let mut backoff = BACKOFF;
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(
            delays.iter().all(|d| *d <= Duration::from_secs(10)),
            "{delays:?}"
        );
        assert_eq!(delays.last(), Some(&Duration::from_secs(10)));
        after_session(&mut backoff, true, Duration::from_millis(200));
        assert_eq!(backoff.next_delay(), Duration::from_secs(10));
        after_session(&mut backoff, false, Duration::from_secs(5));
        assert_eq!(backoff.next_delay(), Duration::from_secs(10));
        after_session(&mut backoff, true, Duration::from_secs(2));
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }

    /// A directory of the test's own, removed when the guard drops.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(name: &str) -> (Scratch, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("vipd-snmp-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        (Scratch(dir.clone()), dir)
    }

    /// A subtree the master refused (duplicateRegistration, 263) is shown
    /// as not registered, asked for again while the session lasts, and
    /// served once the master takes it.
    #[test]
    fn a_refused_subtree_is_registered_again() {
        let (_scratch, dir) = scratch("refused");
        let path = dir.join("master");
        let system = actix::System::new();
        system.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            let sources = Sources::default();
            let counters = sources.snmp();
            let settings = SnmpSettings {
                master: MasterAddress::Unix(path.clone()),
                mibs: Mibs {
                    rfcv2: true,
                    ..Mibs::default()
                },
                router_id: None,
            };
            let _actor = SnmpActor::new(settings, sources).start();
            let (mut master, _) = tokio::time::timeout(WAIT, listener.accept())
                .await
                .unwrap()
                .unwrap();
            let open = read_packet(&mut master).await;
            respond(&mut master, &open, 9).await;
            let refuse = |to: &Packet| Packet {
                header: Header {
                    session_id: 9,
                    ..to.header
                },
                context: None,
                pdu: Pdu::Response {
                    sys_uptime: 0,
                    error: 263,
                    index: 0,
                    varbinds: Vec::new(),
                },
            };
            let first = read_packet(&mut master).await;
            assert!(matches!(first.pdu, Pdu::Register { .. }), "{first:?}");
            master
                .write_all(&pdu::encode(&refuse(&first)))
                .await
                .unwrap();
            // Shown as not registered.
            let deadline = tokio::time::Instant::now() + WAIT;
            while counters
                .borrow()
                .as_ref()
                .is_none_or(|s| s.refused != [".1.3.6.1.2.1.68"])
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never shown refused"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Asked again, refused again, asked again: accepted.
            let second = tokio::time::timeout(WAIT, read_packet(&mut master))
                .await
                .expect("registered again");
            assert!(matches!(second.pdu, Pdu::Register { .. }), "{second:?}");
            master
                .write_all(&pdu::encode(&refuse(&second)))
                .await
                .unwrap();
            let third = tokio::time::timeout(WAIT, read_packet(&mut master))
                .await
                .expect("registered again");
            assert!(matches!(third.pdu, Pdu::Register { .. }), "{third:?}");
            respond(&mut master, &third, 9).await;
            let deadline = tokio::time::Instant::now() + WAIT;
            while counters
                .borrow()
                .as_ref()
                .is_none_or(|s| !s.refused.is_empty())
            {
                assert!(tokio::time::Instant::now() < deadline, "never registered");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let status = counters.borrow().clone().unwrap();
            assert!(status.connected && status.sessions == 1, "{status:?}");
            System::current().stop();
        });
    }

    /// At stop, the traps still queued go out first, then a Close PDU
    /// with reason shutdown; CloseSession is answered once it is sent.
    #[test]
    fn closing_sends_queued_traps_then_close() {
        let (_scratch, dir) = scratch("close");
        let path = dir.join("master");
        let system = actix::System::new();
        system.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            let sources = Sources::default();
            let settings = SnmpSettings {
                master: MasterAddress::Unix(path.clone()),
                mibs: Mibs {
                    vrrp: true,
                    traps: true,
                    ..Mibs::default()
                },
                router_id: Some("closing".into()),
            };
            let actor = SnmpActor::new(settings, sources).start();
            let mut master = session(&listener, 2).await;
            transition_feed::publish(
                "SNMP_CLOSE_VI",
                &crate::proto::Transition {
                    from: crate::proto::State::Master,
                    to: crate::proto::State::Initialize,
                    reason: crate::proto::Reason::Shutdown,
                    priority: 100,
                },
                Some(transition_feed::Stop::Shutdown),
            );
            let closing = actor.send(CloseSession);
            let read = async {
                let mut ours = None;
                loop {
                    let packet = read_packet(&mut master).await;
                    match packet.pdu {
                        Pdu::Notify { varbinds }
                            if varbinds.iter().any(|v| {
                                v.value == Value::OctetString(b"SNMP_CLOSE_VI".to_vec())
                            }) =>
                        {
                            ours = Some(varbinds);
                        }
                        Pdu::Close { reason } => return (ours, reason),
                        _ => {}
                    }
                }
            };
            let ((trap, reason), answered) =
                tokio::time::timeout(WAIT, futures::future::join(read, closing))
                    .await
                    .expect("a Close PDU");
            assert!(answered.is_ok());
            assert_eq!(reason, pdu::close::SHUTDOWN);
            let trap = trap.expect("the shutdown trap before Close");
            assert!(trap.contains(&VarBind {
                name: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1, 4]),
                value: Value::Integer(5), // shutdown
            }));
            assert!(trap.contains(&VarBind {
                name: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 1, 2, 0]),
                value: Value::OctetString(b"closing".to_vec()),
            }));
            System::current().stop();
        });
    }
}

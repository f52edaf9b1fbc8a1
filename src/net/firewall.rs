//! RFC 5798 Accept_Mode off (keepalived's `no_accept`, `accept: false`):
//! a master that does not own its addresses must not accept packets sent
//! to them. The kernel accepts traffic to any local address, so, as
//! keepalived does (keepalived/vrrp/vrrp_nftables.c), vipd drops it with
//! nftables: a table of its own per family (`ip vipd`, `ip6 vipd`), a set
//! `vips` of the addresses held without accept, and two base chains at
//! priority -1 before the usual filter chains: `in` drops packets to a
//! member, `out` drops packets from one (the master does not speak from
//! an address it must not listen on). IPv6 neighbour solicitations and
//! advertisements pass, or the address could not be resolved at all.
//!
//! An address joins the set before it is added to the interface and
//! leaves it after it is removed, so it is never held unguarded. At start
//! the table left by a run that crashed is deleted; at exit, the table
//! (unless an address is still guarded). What the sets must hold is
//! kept here, not trusted to the kernel: a table something else deleted
//! (`nft flush ruleset`) is made again at the next change, or within
//! VERIFY_EVERY.
//!
//! Why netlink by hand and not the `nft` program or a library: `nft` is a
//! process start per takeover, and started by a daemon that dropped to
//! `user:` it would have no CAP_NET_ADMIN; the nftables crates either
//! start `nft` (`nftables`, the JSON interface) or are GPL-3 (`rustables`).
//! keepalived builds the same messages itself ("constructing the netlink
//! packets directly works just as well", vrrp_nftables.c): five message
//! kinds, written below with the kernel's numbers
//! (linux/netfilter/nf_tables.h, nfnetlink.h).
//!
//! The messages go out on a thread of their own (a netlink round trip
//! waits for the kernel), fed by a bounded queue: a full queue refuses
//! the request at once, counted and logged once.

use std::collections::HashSet;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::oneshot;

/// Requests waiting for the firewall thread; one more is refused.
pub const QUEUE_BOUND: usize = 256;
/// How long the kernel may take to answer one batch.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often, while addresses are guarded, the table is checked (and
/// made again if something deleted it).
const VERIFY_EVERY: Duration = Duration::from_secs(10);

/// The table's name and its chains' priority (keepalived's `nftables
/// NAME` and `nftables_priority`, whose defaults are `keepalived` and -1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirewallSettings {
    pub table: String,
    pub priority: i32,
}

impl Default for FirewallSettings {
    fn default() -> Self {
        FirewallSettings {
            table: "vipd".into(),
            priority: -1,
        }
    }
}

/// A name `nft` can address without quoting (its identifier: a letter or
/// `_`, then letters, digits, `_` or `.`), within NFT_TABLE_MAXNAMELEN.
/// The kernel takes more, but a table nft cannot name an operator cannot
/// list or delete.
pub fn valid_table_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 255
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("cannot open a netfilter netlink socket: {0}")]
    Socket(io::Error),
    #[error("nftables refused it: {0}")]
    Kernel(io::Error),
    #[error("the kernel did not answer within {0:?}")]
    Timeout(Duration),
    #[error("{QUEUE_BOUND} firewall changes already wait; this one is refused")]
    QueueFull,
    #[error("the firewall thread is gone")]
    Gone,
}

enum Request {
    /// Delete what a crashed run left; answer when done.
    Clean(oneshot::Sender<Result<(), FirewallError>>),
    /// Drop traffic to and from the address (set up the table first).
    Guard(IpAddr, oneshot::Sender<Result<(), FirewallError>>),
    /// Stop dropping it (if it was dropped).
    Unguard(IpAddr, oneshot::Sender<Result<(), FirewallError>>),
    /// Delete the tables (at exit).
    Remove(oneshot::Sender<Result<(), FirewallError>>),
}

/// The handle every address actor uses; cheap to clone.
#[derive(Clone)]
pub struct Firewall {
    tx: SyncSender<Request>,
    refused: Arc<AtomicU64>,
    full_logged: Arc<AtomicBool>,
}

static FIREWALL: OnceLock<Firewall> = OnceLock::new();

/// The daemon's firewall, if `configure` started it.
pub fn started() -> Option<&'static Firewall> {
    FIREWALL.get()
}

/// Starts the daemon's firewall with `settings` (once, at start; later
/// calls keep the first settings).
pub fn configure(settings: FirewallSettings) -> &'static Firewall {
    FIREWALL.get_or_init(|| Firewall::start(settings))
}

impl Firewall {
    fn start(settings: FirewallSettings) -> Firewall {
        let (tx, rx) = sync_channel::<Request>(QUEUE_BOUND);
        let spawned = std::thread::Builder::new()
            .name("vipd-firewall".into())
            .spawn(move || {
                let mut tables = Tables::new(settings);
                loop {
                    let request = match rx.recv_timeout(VERIFY_EVERY) {
                        Ok(request) => request,
                        Err(RecvTimeoutError::Timeout) => {
                            tables.verify();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    };
                    match request {
                        Request::Clean(done) => {
                            let _ = done.send(tables.clean());
                        }
                        Request::Guard(address, done) => {
                            let _ = done.send(tables.guard(address));
                        }
                        Request::Unguard(address, done) => {
                            let _ = done.send(tables.unguard(address));
                        }
                        Request::Remove(done) => {
                            let _ = done.send(tables.remove());
                        }
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the firewall thread: {error}");
        }
        Firewall {
            tx,
            refused: Arc::default(),
            full_logged: Arc::default(),
        }
    }

    fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), FirewallError>>) -> Request,
    ) -> impl std::future::Future<Output = Result<(), FirewallError>> {
        let (done, answer) = oneshot::channel();
        let sent = match self.tx.try_send(make(done)) {
            Ok(()) => {
                self.full_logged.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(TrySendError::Full(_)) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                if !self.full_logged.swap(true, Ordering::Relaxed) {
                    tracing::error!("{QUEUE_BOUND} firewall changes already wait for the kernel; refusing more until there is room");
                }
                Err(FirewallError::QueueFull)
            }
            Err(TrySendError::Disconnected(_)) => Err(FirewallError::Gone),
        };
        async move {
            sent?;
            answer.await.unwrap_or(Err(FirewallError::Gone))
        }
    }

    /// Deletes the tables a run that crashed left behind.
    pub fn clean(&self) -> impl std::future::Future<Output = Result<(), FirewallError>> {
        self.ask(Request::Clean)
    }

    /// Traffic to and from `address` is dropped from when this returns.
    pub fn guard(
        &self,
        address: IpAddr,
    ) -> impl std::future::Future<Output = Result<(), FirewallError>> {
        self.ask(move |done| Request::Guard(address, done))
    }

    /// `address` is no longer dropped (it was not: nothing changes).
    pub fn unguard(
        &self,
        address: IpAddr,
    ) -> impl std::future::Future<Output = Result<(), FirewallError>> {
        self.ask(move |done| Request::Unguard(address, done))
    }

    /// Deletes the tables (at exit, once every address is released).
    pub fn remove(&self) -> impl std::future::Future<Output = Result<(), FirewallError>> {
        self.ask(Request::Remove)
    }

    /// Requests refused because the queue was full.
    pub fn refused_total(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// The firewall thread's state: which family's table exists, and which
/// addresses its set holds (so a removal never names an absent element,
/// which would fail the batch).
struct Tables {
    settings: FirewallSettings,
    socket: Option<Socket>,
    made: [bool; 2],
    /// What the sets must hold: every address guarded and not unguarded.
    guarded: HashSet<IpAddr>,
    seq: u32,
    verify_failed_logged: bool,
}

/// nfgenmsg families.
const NFPROTO_IPV4: u8 = 2;
const NFPROTO_IPV6: u8 = 10;

fn family_index(ipv6: bool) -> usize {
    usize::from(ipv6)
}

impl Tables {
    fn new(settings: FirewallSettings) -> Tables {
        Tables {
            settings,
            socket: None,
            made: [false; 2],
            guarded: HashSet::new(),
            seq: 0,
            verify_failed_logged: false,
        }
    }

    fn socket(&mut self) -> Result<&Socket, FirewallError> {
        if self.socket.is_none() {
            let socket = Socket::new(
                Domain::from(libc::AF_NETLINK),
                Type::RAW,
                Some(Protocol::from(libc::NETLINK_NETFILTER)),
            )
            .map_err(FirewallError::Socket)?;
            socket
                .set_read_timeout(Some(ANSWER_TIMEOUT))
                .map_err(FirewallError::Socket)?;
            self.socket = Some(socket);
        }
        Ok(self.socket.as_ref().expect("opened above"))
    }

    /// Deletes both families' tables, if there are any.
    fn clean(&mut self) -> Result<(), FirewallError> {
        for ipv6 in [false, true] {
            let mut batch = Batch::new(self.next_seq());
            // Made (if absent) and deleted in one transaction: whether or
            // not a crashed run left it, it is gone after.
            batch.table(NFT_MSG_NEWTABLE, family(ipv6), &self.settings.table);
            batch.table(NFT_MSG_DELTABLE, family(ipv6), &self.settings.table);
            self.send(batch)?;
            self.made[family_index(ipv6)] = false;
        }
        self.guarded.clear();
        Ok(())
    }

    /// At exit: the tables go, unless an address is still guarded (its
    /// release did not finish): then they stay, and the next start
    /// deletes them.
    fn remove(&mut self) -> Result<(), FirewallError> {
        if let Some(address) = self.guarded.iter().next() {
            tracing::warn!(%address, "{address} is still guarded: vipd's nftables table {} stays (the next start deletes it)", self.settings.table);
            return Ok(());
        }
        // Never made (no accept: false master this run): nothing to
        // delete, and no error to say on a kernel without nf_tables.
        if self.made == [false; 2] {
            return Ok(());
        }
        self.clean()
    }

    /// `guarded` is what the set must hold; the kernel is not trusted to
    /// still have it (`nft flush ruleset`, firewalld, `systemctl reload
    /// nftables` delete every table): an element is always sent, and a
    /// table found missing is made again with every guarded address.
    fn guard(&mut self, address: IpAddr) -> Result<(), FirewallError> {
        self.guarded.insert(address);
        let ipv6 = address.is_ipv6();
        if !self.made[family_index(ipv6)] {
            return self.rebuild(ipv6);
        }
        let mut batch = Batch::new(self.next_seq());
        batch.element(NFT_MSG_NEWSETELEM, &self.settings.table, address);
        match self.send(batch) {
            Err(FirewallError::Kernel(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
                tracing::warn!(table = %self.settings.table, "vipd's nftables table {} was deleted by something else: made again", self.settings.table);
                self.rebuild(ipv6)
            }
            result => result,
        }
    }

    /// Stops dropping `address`; one not in the set (or no set) is fine.
    fn unguard(&mut self, address: IpAddr) -> Result<(), FirewallError> {
        self.guarded.remove(&address);
        let ipv6 = address.is_ipv6();
        if !self.made[family_index(ipv6)] {
            return Ok(());
        }
        let mut batch = Batch::new(self.next_seq());
        batch.element(NFT_MSG_DELSETELEM, &self.settings.table, address);
        match self.send(batch) {
            Err(FirewallError::Kernel(e)) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
            result => result,
        }
    }

    /// The family's table from scratch, holding every guarded address of
    /// the family, in one transaction.
    fn rebuild(&mut self, ipv6: bool) -> Result<(), FirewallError> {
        let mut batch = self.setup(ipv6);
        for address in self.guarded.iter().filter(|a| a.is_ipv6() == ipv6) {
            batch.element(NFT_MSG_NEWSETELEM, &self.settings.table, *address);
        }
        self.made[family_index(ipv6)] = false;
        self.send(batch)?;
        self.made[family_index(ipv6)] = true;
        Ok(())
    }

    /// Every VERIFY_EVERY while addresses are guarded: each is sent again
    /// (adding one present changes nothing), so a table deleted by
    /// something else is back within that time, not at the next takeover.
    fn verify(&mut self) {
        for ipv6 in [false, true] {
            let Some(address) = self.guarded.iter().find(|a| a.is_ipv6() == ipv6).copied() else {
                continue;
            };
            if let Err(error) = self.guard(address) {
                if !self.verify_failed_logged {
                    self.verify_failed_logged = true;
                    tracing::error!(%error, "cannot check vipd's nftables table {}: {error}", self.settings.table);
                }
                return;
            }
        }
        self.verify_failed_logged = false;
    }

    /// The table, its set and chains, from scratch (a crashed run's table
    /// is deleted first, in the same transaction).
    fn setup(&mut self, ipv6: bool) -> Batch {
        let (table, priority) = (self.settings.table.clone(), self.settings.priority);
        let family = family(ipv6);
        let mut batch = Batch::new(self.next_seq());
        batch.table(NFT_MSG_NEWTABLE, family, &table);
        batch.table(NFT_MSG_DELTABLE, family, &table);
        batch.table(NFT_MSG_NEWTABLE, family, &table);
        batch.set(family, &table, ipv6);
        for (chain, hook, field) in [
            ("in", NF_INET_LOCAL_IN, Field::Destination),
            ("out", NF_INET_LOCAL_OUT, Field::Source),
        ] {
            batch.chain(family, &table, chain, hook, priority);
            if ipv6 {
                batch.rule(family, &table, chain, &neighbour_discovery_passes());
            }
            batch.rule(family, &table, chain, &drop_if_in_set(ipv6, field));
        }
        batch
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1000);
        self.seq
    }

    /// Sends the batch and reads the kernel's answer to each message in it.
    fn send(&mut self, batch: Batch) -> Result<(), FirewallError> {
        let (bytes, expected) = batch.finish();
        let result = self.exchange(&bytes, expected);
        if result.is_err() {
            // A socket left with unread answers would mix them with the
            // next batch's: start again with a fresh one.
            self.socket = None;
        }
        result
    }

    fn exchange(&mut self, bytes: &[u8], expected: usize) -> Result<(), FirewallError> {
        let socket = self.socket()?;
        socket.send(bytes).map_err(FirewallError::Kernel)?;
        let mut acks = 0;
        let mut buffer = vec![std::mem::MaybeUninit::<u8>::uninit(); 64 * 1024];
        while acks < expected {
            let n = match socket.recv(&mut buffer) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(FirewallError::Timeout(ANSWER_TIMEOUT))
                }
                Err(e) => return Err(FirewallError::Kernel(e)),
            };
            // SAFETY: recv initialised the first n bytes.
            let received: Vec<u8> = buffer[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            for answer in answers(&received) {
                match answer {
                    0 => acks += 1,
                    errno => {
                        return Err(FirewallError::Kernel(io::Error::from_raw_os_error(errno)))
                    }
                }
            }
        }
        Ok(())
    }
}

fn family(ipv6: bool) -> u8 {
    if ipv6 {
        NFPROTO_IPV6
    } else {
        NFPROTO_IPV4
    }
}

/// The error code of each NLMSG_ERROR in `received` (0: an ack).
fn answers(received: &[u8]) -> Vec<i32> {
    let mut codes = Vec::new();
    let mut at = 0;
    while at + 16 <= received.len() {
        let len = u32::from_ne_bytes(received[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind = u16::from_ne_bytes(received[at + 4..at + 6].try_into().expect("2 bytes"));
        if len < 16 || at + len > received.len() {
            break;
        }
        if kind == NLMSG_ERROR && len >= 20 {
            let code = i32::from_ne_bytes(received[at + 16..at + 20].try_into().expect("4 bytes"));
            codes.push(-code);
        }
        at += (len + 3) & !3;
    }
    codes
}

// linux/netlink.h, linux/netfilter/nfnetlink.h, nf_tables.h, netfilter.h.
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NF_INET_LOCAL_IN: u32 = 1;
const NF_INET_LOCAL_OUT: u32 = 3;
const NF_ACCEPT: u32 = 1;
const NF_DROP: u32 = 0;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFT_META_L4PROTO: u32 = 16;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_GTE: u32 = 5;
const NFT_CMP_LTE: u32 = 3;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
/// nft's data types for the set's keys, so `nft list` shows addresses.
const NFT_TYPE_IPADDR: u32 = 7;
const NFT_TYPE_IP6ADDR: u32 = 8;
const SET_NAME: &str = "vips";
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;

/// Netlink attributes, written into a buffer.
#[derive(Default)]
struct Attributes(Vec<u8>);

impl Attributes {
    fn bytes(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = 4 + value.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(value);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }

    fn string(&mut self, kind: u16, value: &str) -> &mut Self {
        let mut text = value.as_bytes().to_vec();
        text.push(0);
        self.bytes(kind, &text)
    }

    /// nftables' numbers are big-endian.
    fn u32(&mut self, kind: u16, value: u32) -> &mut Self {
        self.bytes(kind, &value.to_be_bytes())
    }

    fn nested(&mut self, kind: u16, inner: &Attributes) -> &mut Self {
        self.bytes(kind | NLA_F_NESTED, &inner.0)
    }
}

fn attributes(build: impl FnOnce(&mut Attributes)) -> Attributes {
    let mut a = Attributes::default();
    build(&mut a);
    a
}

/// One expression of a rule: its name and its attributes.
fn expression(name: &str, data: Attributes) -> Attributes {
    attributes(|a| {
        a.string(NFTA_EXPR_NAME, name).nested(NFTA_EXPR_DATA, &data);
    })
}

fn verdict(code: u32) -> Attributes {
    expression(
        "immediate",
        attributes(|a| {
            a.u32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT).nested(
                NFTA_IMMEDIATE_DATA,
                &attributes(|d| {
                    d.nested(
                        NFTA_DATA_VERDICT,
                        &attributes(|v| {
                            v.u32(NFTA_VERDICT_CODE, code);
                        }),
                    );
                }),
            );
        }),
    )
}

fn compare(op: u32, value: &[u8]) -> Attributes {
    expression(
        "cmp",
        attributes(|a| {
            a.u32(NFTA_CMP_SREG, NFT_REG_1).u32(NFTA_CMP_OP, op).nested(
                NFTA_CMP_DATA,
                &attributes(|d| {
                    d.bytes(NFTA_DATA_VALUE, value);
                }),
            );
        }),
    )
}

fn payload(base: u32, offset: u32, len: u32) -> Attributes {
    expression(
        "payload",
        attributes(|a| {
            a.u32(NFTA_PAYLOAD_DREG, NFT_REG_1)
                .u32(NFTA_PAYLOAD_BASE, base)
                .u32(NFTA_PAYLOAD_OFFSET, offset)
                .u32(NFTA_PAYLOAD_LEN, len);
        }),
    )
}

#[derive(Clone, Copy)]
enum Field {
    Source,
    Destination,
}

/// `ip daddr @vips drop` (or saddr, or ip6).
fn drop_if_in_set(ipv6: bool, field: Field) -> Vec<Attributes> {
    // Offsets in the IPv4 / IPv6 header.
    let (offset, len) = match (ipv6, field) {
        (false, Field::Source) => (12, 4),
        (false, Field::Destination) => (16, 4),
        (true, Field::Source) => (8, 16),
        (true, Field::Destination) => (24, 16),
    };
    vec![
        payload(NFT_PAYLOAD_NETWORK_HEADER, offset, len),
        expression(
            "lookup",
            attributes(|a| {
                a.string(NFTA_LOOKUP_SET, SET_NAME)
                    .u32(NFTA_LOOKUP_SREG, NFT_REG_1);
            }),
        ),
        verdict(NF_DROP),
    ]
}

/// `meta l4proto ipv6-icmp icmpv6 type 135-136 accept`: neighbour
/// discovery for the addresses goes on (keepalived's neighbor-discovery set).
fn neighbour_discovery_passes() -> Vec<Attributes> {
    vec![
        expression(
            "meta",
            attributes(|a| {
                a.u32(NFTA_META_KEY, NFT_META_L4PROTO)
                    .u32(NFTA_META_DREG, NFT_REG_1);
            }),
        ),
        compare(NFT_CMP_EQ, &[IPPROTO_ICMPV6]),
        payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1),
        compare(NFT_CMP_GTE, &[ND_NEIGHBOR_SOLICIT]),
        compare(NFT_CMP_LTE, &[ND_NEIGHBOR_ADVERT]),
        verdict(NF_ACCEPT),
    ]
}

/// An nftables transaction: BATCH_BEGIN, the messages, BATCH_END.
struct Batch {
    bytes: Vec<u8>,
    seq: u32,
    messages: usize,
}

impl Batch {
    fn new(seq: u32) -> Batch {
        let mut batch = Batch {
            bytes: Vec::new(),
            seq,
            messages: 0,
        };
        batch.header(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, &[]);
        batch
    }

    fn header(&mut self, kind: u16, flags: u16, family: u8, body: &[u8]) {
        let len = 16 + 4 + body.len();
        self.bytes.extend_from_slice(&(len as u32).to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(&flags.to_ne_bytes());
        self.bytes.extend_from_slice(&self.seq.to_ne_bytes());
        self.bytes.extend_from_slice(&0u32.to_ne_bytes());
        // nfgenmsg: family, version 0, resource id (the subsystem, for a
        // batch's begin and end).
        self.bytes.push(family);
        self.bytes.push(0);
        let res_id = if matches!(kind, NFNL_MSG_BATCH_BEGIN | NFNL_MSG_BATCH_END) {
            NFNL_SUBSYS_NFTABLES
        } else {
            0
        };
        self.bytes.extend_from_slice(&res_id.to_be_bytes());
        self.bytes.extend_from_slice(body);
        self.seq = self.seq.wrapping_add(1);
    }

    fn message(&mut self, kind: u16, extra_flags: u16, family: u8, body: &Attributes) {
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | kind;
        self.header(
            kind,
            NLM_F_REQUEST | NLM_F_ACK | extra_flags,
            family,
            &body.0,
        );
        self.messages += 1;
    }

    fn table(&mut self, kind: u16, family: u8, name: &str) {
        let flags = if kind == NFT_MSG_NEWTABLE {
            NLM_F_CREATE
        } else {
            0
        };
        self.message(
            kind,
            flags,
            family,
            &attributes(|a| {
                a.string(NFTA_TABLE_NAME, name);
            }),
        );
    }

    fn chain(&mut self, family: u8, table: &str, name: &str, hook: u32, priority: i32) {
        let body = attributes(|a| {
            a.string(NFTA_CHAIN_TABLE, table)
                .string(NFTA_CHAIN_NAME, name)
                .nested(
                    NFTA_CHAIN_HOOK,
                    &attributes(|h| {
                        h.u32(NFTA_HOOK_HOOKNUM, hook)
                            .u32(NFTA_HOOK_PRIORITY, priority as u32);
                    }),
                )
                .u32(NFTA_CHAIN_POLICY, NF_ACCEPT)
                .string(NFTA_CHAIN_TYPE, "filter");
        });
        self.message(NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, &body);
    }

    fn set(&mut self, family: u8, table: &str, ipv6: bool) {
        let (key_type, key_len) = if ipv6 {
            (NFT_TYPE_IP6ADDR, 16)
        } else {
            (NFT_TYPE_IPADDR, 4)
        };
        let body = attributes(|a| {
            a.string(NFTA_SET_TABLE, table)
                .string(NFTA_SET_NAME, SET_NAME)
                .u32(NFTA_SET_KEY_TYPE, key_type)
                .u32(NFTA_SET_KEY_LEN, key_len)
                .u32(NFTA_SET_ID, 1);
        });
        self.message(NFT_MSG_NEWSET, NLM_F_CREATE, family, &body);
    }

    fn rule(&mut self, family: u8, table: &str, chain: &str, expressions: &[Attributes]) {
        let list = attributes(|l| {
            for e in expressions {
                l.nested(NFTA_LIST_ELEM, e);
            }
        });
        let body = attributes(|a| {
            a.string(NFTA_RULE_TABLE, table)
                .string(NFTA_RULE_CHAIN, chain)
                .nested(NFTA_RULE_EXPRESSIONS, &list);
        });
        self.message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, family, &body);
    }

    fn element(&mut self, kind: u16, table: &str, address: IpAddr) {
        let key = match address {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let element = attributes(|e| {
            e.nested(
                NFTA_SET_ELEM_KEY,
                &attributes(|k| {
                    k.bytes(NFTA_DATA_VALUE, &key);
                }),
            );
        });
        let body = attributes(|a| {
            a.string(NFTA_SET_ELEM_LIST_TABLE, table)
                .string(NFTA_SET_ELEM_LIST_SET, SET_NAME)
                .nested(
                    NFTA_SET_ELEM_LIST_ELEMENTS,
                    &attributes(|l| {
                        l.nested(NFTA_LIST_ELEM, &element);
                    }),
                );
        });
        let flags = if kind == NFT_MSG_NEWSETELEM {
            NLM_F_CREATE
        } else {
            0
        };
        self.message(kind, flags, family(address.is_ipv6()), &body);
    }

    /// The bytes to send and how many answers (acks) they ask for.
    fn finish(mut self) -> (Vec<u8>, usize) {
        self.header(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, &[]);
        (self.bytes, self.messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attributes are padded to four bytes and nested ones flagged.
    #[test]
    fn attributes_are_aligned_and_nested_ones_flagged() {
        let inner = attributes(|a| {
            a.string(1, "in");
        });
        assert_eq!(inner.0, [7, 0, 1, 0, b'i', b'n', 0, 0]);
        let outer = attributes(|a| {
            a.nested(4, &inner).u32(2, 1);
        });
        assert_eq!(&outer.0[..4], &[12, 0, 4, 0x80]);
        assert_eq!(&outer.0[12..], &[8, 0, 2, 0, 0, 0, 0, 1]);
    }

    /// A batch is begin, messages, end; each message asks for an ack.
    #[test]
    fn a_batch_counts_the_answers_it_asks_for() {
        let mut batch = Batch::new(7);
        batch.table(NFT_MSG_NEWTABLE, NFPROTO_IPV4, "vipd");
        batch.element(NFT_MSG_NEWSETELEM, "vipd", "192.0.2.203".parse().unwrap());
        let (bytes, answers_expected) = batch.finish();
        assert_eq!(answers_expected, 2);
        let first_kind = u16::from_ne_bytes([bytes[4], bytes[5]]);
        assert_eq!(first_kind, NFNL_MSG_BATCH_BEGIN);
        let second = u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes([bytes[second + 4], bytes[second + 5]]);
        assert_eq!(kind, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE);
    }

    #[test]
    fn table_names_are_those_nft_can_address() {
        for good in ["vipd", "keepalived", "_x", "vrrp_fw.2"] {
            assert!(valid_table_name(good), "{good}");
        }
        let long = "x".repeat(256);
        for bad in ["", "my table!", "2fw", "fw-1", "\"q\"", long.as_str()] {
            assert!(!valid_table_name(bad), "{bad}");
        }
    }

    #[test]
    fn answers_read_acks_and_errors() {
        let mut received = Vec::new();
        for code in [0i32, -2] {
            received.extend_from_slice(&36u32.to_ne_bytes());
            received.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            received.extend_from_slice(&[0; 10]);
            received.extend_from_slice(&code.to_ne_bytes());
            received.extend_from_slice(&[0; 16]);
        }
        assert_eq!(answers(&received), vec![0, 2]);
    }
}

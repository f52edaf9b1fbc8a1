//! Adverts that fall due together leave together: one sendmmsg per send
//! socket instead of one sendto per advert.
//!
//! The master's adverts fall due on a shared grid (proto::timers::
//! next_advert), so one expiry of the thread's shared timer wakes many
//! instances at once. While it does, the timer opens a batch here: each
//! of those instances posts its advert instead of sending it, and a task
//! spawned after they were woken (the runtime runs its tasks in the order they were
//! woken) sends the lot, within the same round of the runtime. Outside a
//! batch a post sends at once. A priority-0 advert (a stop, a fault) is
//! never held, and first withdraws what its instance posted: nothing may
//! follow it on the wire. A failure is reported to the instance that
//! posted it.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::vrrp_socket::VrrpSender;

/// Adverts held at most: a batch larger than this is sent at once, so the
/// queue never grows past it whatever a tick brings. It holds one advert
/// per master instance and destination, so only 4,096 of those due in
/// one instant reach it.
const LIMIT: usize = 4096;

/// Batches sent early for reaching LIMIT, over the process's life.
static CUT_SHORT: AtomicU64 = AtomicU64::new(0);

/// Told of a posted advert that could not be sent, and where to.
pub type OnFailure = Rc<dyn Fn(io::Error, IpAddr)>;

struct Posted {
    sender: Rc<VrrpSender>,
    destination: IpAddr,
    bytes: Vec<u8>,
    on_failure: OnFailure,
}

#[derive(Default)]
struct Outbox {
    /// A batch is open and a flush is queued to close it.
    open: Cell<bool>,
    posted: RefCell<Vec<Posted>>,
}

thread_local! {
    static OUTBOX: Outbox = Outbox::default();
}

/// Opens a batch until the tasks woken so far have run: what they post
/// leaves in one go. Called by the shared timer right after it woke the
/// owners of what fell due; must run inside the runtime.
pub fn batch_the_woken() {
    OUTBOX.with(|outbox| {
        if outbox.open.replace(true) {
            return;
        }
        // Queued behind the tasks woken so far, so it runs after them.
        // The guard sends the batch when the task ends, or when the task
        // is dropped unrun (a runtime shutting down): the batch is never
        // left open, holding every later advert.
        let flush = FlushOnDrop;
        actix::spawn(async move { drop(flush) });
    });
}

struct FlushOnDrop;

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        flush();
    }
}

/// Takes back what was posted with `on_failure` (one instance's) and not
/// yet sent: a priority-0 advert must be the instance's last.
pub fn withdraw(on_failure: &OnFailure) {
    OUTBOX.with(|outbox| {
        outbox
            .posted
            .borrow_mut()
            .retain(|posted| !Rc::ptr_eq(&posted.on_failure, on_failure));
    });
}

/// Sends `bytes` to `destination`, now or with the batch open.
pub fn post(sender: &Rc<VrrpSender>, destination: IpAddr, bytes: Vec<u8>, on_failure: &OnFailure) {
    if !OUTBOX.with(|outbox| outbox.open.get()) {
        if let Err(error) = sender.send_to(&bytes, destination) {
            on_failure(error, destination);
        }
        return;
    }
    let full = OUTBOX.with(|outbox| {
        let mut posted = outbox.posted.borrow_mut();
        posted.push(Posted {
            sender: Rc::clone(sender),
            destination,
            bytes,
            on_failure: Rc::clone(on_failure),
        });
        (posted.len() >= LIMIT).then(|| std::mem::take(&mut *posted))
    });
    if let Some(full) = full {
        // Counted for the log's sake only: no metric carries it, as only
        // 4,096 masters due in one instant can reach it.
        if CUT_SHORT.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(
                limit = LIMIT,
                "{LIMIT} adverts fell due at once: sent in batches of {LIMIT}, as they come (logged once)"
            );
        }
        send(full);
    }
}

/// Closes the batch and sends what it holds.
fn flush() {
    // try_with: at thread exit the outbox may be gone already.
    let posted = OUTBOX
        .try_with(|outbox| {
            outbox.open.set(false);
            std::mem::take(&mut *outbox.posted.borrow_mut())
        })
        .unwrap_or_default();
    send(posted);
}

/// One sendmmsg run per socket, in the order posted.
fn send(mut posted: Vec<Posted>) {
    // Stable: each socket's adverts keep their order.
    posted.sort_by_key(|p| Rc::as_ptr(&p.sender));
    for run in posted.chunk_by(|a, b| Rc::ptr_eq(&a.sender, &b.sender)) {
        let packets: Vec<(&[u8], IpAddr)> = run
            .iter()
            .map(|p| (p.bytes.as_slice(), p.destination))
            .collect();
        run[0].sender.send_all(&packets, |i, error| {
            (run[i].on_failure)(error, run[i].destination)
        });
    }
}

//! Connections as a stream, for actors that serve a listener (control
//! socket, metrics), with bounds: a listener shared so a restarted actor
//! listens on the same socket again; at most `limit` connections served
//! at once (the rest wait in the kernel's backlog); and accept errors met
//! with a pause that doubles, logged once until accepting works again.
//!
//! Why: with `ulimit -n 256`, 400 idle connections to the metrics
//! endpoint used every descriptor, and the accept loop then failed with
//! EMFILE as fast as it could, at 100% CPU, writing 1.35 M log lines in 4
//! s, while script starts, netlink and reloads starved (found by review,
//! 2026-12).

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::status::ListenerStatus;
use crate::sys::retry::Backoff;

pub trait Acceptor: 'static {
    type Connection;
    fn accept_one(&self) -> impl Future<Output = io::Result<Self::Connection>>;
}

impl Acceptor for TcpListener {
    type Connection = TcpStream;
    async fn accept_one(&self) -> io::Result<TcpStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

impl Acceptor for UnixListener {
    type Connection = UnixStream;
    async fn accept_one(&self) -> io::Result<UnixStream> {
        self.accept().await.map(|(stream, _)| stream)
    }
}

/// One listener's counters, shared with status and metrics.
pub type Counters = Rc<RefCell<ListenerStatus>>;

/// Held while a connection is served; dropping it makes room for the
/// next one.
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    counters: Counters,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counters = self.counters.borrow_mut();
        counters.open = counters.open.saturating_sub(1);
    }
}

/// A descriptor kept in hand for when the process runs out of them: it
/// is given up to accept the connection waiting and close it at once,
/// so the client is told instead of left hanging, and taken back (the
/// libev / nginx way).
struct Reserve(Option<OwnedFd>);

impl Reserve {
    fn open() -> Reserve {
        Reserve(std::fs::File::open("/dev/null").ok().map(OwnedFd::from))
    }
}

struct State<A> {
    listener: Rc<A>,
    slots: Arc<Semaphore>,
    limit: usize,
    counters: Counters,
    reserve: Reserve,
    pause: Backoff,
    /// Errors since accepting last worked; only the first is logged.
    failing: u64,
    name: &'static str,
}

/// Every accepted connection, with its slot, at most `limit` at once.
/// Never ends; never spins.
pub fn connections<A: Acceptor>(
    name: &'static str,
    listener: Rc<A>,
    limit: usize,
    counters: Counters,
) -> impl Stream<Item = (A::Connection, Slot)> {
    let state = State {
        listener,
        slots: Arc::new(Semaphore::new(limit)),
        limit,
        counters,
        reserve: Reserve::open(),
        pause: Backoff::new(Duration::from_millis(10), Duration::from_secs(1)),
        failing: 0,
        name,
    };
    futures::stream::unfold(state, |mut state| async move {
        let connection = state.next().await;
        Some((connection, state))
    })
}

impl<A: Acceptor> State<A> {
    async fn next(&mut self) -> (A::Connection, Slot) {
        loop {
            let permit = match Arc::clone(&self.slots).try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    self.counters.borrow_mut().limit_reached += 1;
                    tracing::debug!(
                        listener = self.name,
                        limit = self.limit,
                        "{}: {} connections being served; the next waits",
                        self.name,
                        self.limit
                    );
                    // Never closed, so never an error.
                    match Arc::clone(&self.slots).acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => continue,
                    }
                }
            };
            match self.listener.accept_one().await {
                Ok(connection) => {
                    if self.failing > 0 {
                        tracing::info!(
                            listener = self.name,
                            failures = self.failing,
                            "{}: accepting connections again after {} failures",
                            self.name,
                            self.failing
                        );
                        self.failing = 0;
                        self.pause.reset();
                    }
                    let mut counters = self.counters.borrow_mut();
                    counters.accepted += 1;
                    counters.open += 1;
                    drop(counters);
                    let slot = Slot {
                        _permit: permit,
                        counters: Rc::clone(&self.counters),
                    };
                    return (connection, slot);
                }
                Err(error) => {
                    drop(permit);
                    self.failed(error).await;
                }
            }
        }
    }

    async fn failed(&mut self, error: io::Error) {
        self.counters.borrow_mut().accept_errors += 1;
        self.failing += 1;
        let out_of_descriptors = matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
        if self.failing == 1 {
            tracing::warn!(listener = self.name, %error, "{}: accept failed: {error}; pausing accepts (logged once until it works again)", self.name);
        }
        if out_of_descriptors {
            // Room for one: take the connection that waits, and close it.
            self.reserve.0 = None;
            if let Ok(Ok(refused)) =
                tokio::time::timeout(Duration::ZERO, self.listener.accept_one()).await
            {
                drop(refused);
            }
            self.reserve = Reserve::open();
        }
        tokio::time::sleep(self.pause.next_delay()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// No more than `limit` connections served at once; the next is
    /// accepted as soon as one is done.
    #[tokio::test(flavor = "current_thread")]
    async fn at_most_limit_connections_are_served_at_once() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let listener = Rc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
                let address = listener.local_addr().unwrap();
                let counters = Counters::default();
                let mut stream = Box::pin(connections("test", listener, 2, counters.clone()));
                let clients: Vec<_> = (0..3)
                    .map(|_| std::net::TcpStream::connect(address).unwrap())
                    .collect();
                let (_first, slot1) = stream.next().await.unwrap();
                let (_second, _slot2) = stream.next().await.unwrap();
                let third = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
                assert!(third.is_err(), "a third served while two are open");
                assert_eq!(counters.borrow().open, 2);
                assert_eq!(counters.borrow().limit_reached, 1);
                drop(slot1);
                let third = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
                assert!(third.is_ok(), "the third waits for a slot, then is served");
                assert_eq!(counters.borrow().accepted, 3);
                drop(clients);
            })
            .await;
    }
}

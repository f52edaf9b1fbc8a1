//! Who holds the VIP, as the kernel says it: one thread per host, entered
//! into the host's namespace, subscribed to rtnetlink address events
//! (vipd's own `net::netlink::subscribe`), stamping each add or delete of
//! the VIP on eth0 when it arrives. Events, not polls: a holder for 5 ms
//! is seen, and each change has its own time.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::lab::{in_namespace, Lab};
use crate::net::netlink::{self, NetEvent};

/// Observations waiting for the run's loop, which drains them every few
/// milliseconds; a full queue makes a watcher wait (its stamps are
/// already taken), it does not lose events.
const QUEUE: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// The VIP appeared on (`holds`) or left host `host`'s eth0 at `at`.
    Holds {
        at: Instant,
        host: usize,
        holds: bool,
    },
    /// A watcher stopped seeing events: the run cannot be judged after.
    Lost { host: usize, why: String },
}

pub struct AddressMonitor {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Option<()>>>,
    observed: Receiver<Observed>,
}

impl AddressMonitor {
    /// Watches `address` on `device` of every host of `lab`; returns once
    /// every watcher is subscribed, so no later change is missed.
    pub fn start(lab: &Lab, address: IpAddr, device: &'static str) -> io::Result<AddressMonitor> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, observed) = mpsc::sync_channel(QUEUE);
        let mut monitor = AddressMonitor {
            stop: Arc::clone(&stop),
            threads: Vec::new(),
            observed,
        };
        for (i, host) in lab.hosts.iter().enumerate() {
            let (ready_tx, ready) = mpsc::channel();
            let (tx, stop) = (tx.clone(), Arc::clone(&stop));
            let thread = in_namespace(&host.netns, move || {
                watch(i + 1, address, device, tx, ready_tx, stop)
            })?;
            monitor.threads.push(thread);
            // Generous: two shared cores may be busy building.
            match ready.recv_timeout(Duration::from_secs(10)) {
                Ok(Ok(())) => {}
                Ok(Err(why)) => return Err(io::Error::other(format!("h{}: {why}", i + 1))),
                Err(_) => {
                    return Err(io::Error::other(format!(
                        "h{}: the address watcher did not subscribe within 10 s",
                        i + 1
                    )))
                }
            }
        }
        Ok(monitor)
    }

    pub fn observed(&self) -> &Receiver<Observed> {
        &self.observed
    }
}

impl Drop for AddressMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unblock a watcher waiting on a full queue.
        while self.observed.try_recv().is_ok() {}
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn watch(
    host: usize,
    address: IpAddr,
    device: &str,
    tx: SyncSender<Observed>,
    ready: mpsc::Sender<Result<(), String>>,
    stop: Arc<AtomicBool>,
) {
    let index = match nix::net::if_::if_nametoindex(device) {
        Ok(index) => index,
        Err(e) => {
            let _ = ready.send(Err(format!("no {device}: {e}")));
            return;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(format!("runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let events = match netlink::subscribe() {
            Ok(events) => events,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        futures::pin_mut!(events);
        while !stop.load(Ordering::SeqCst) {
            // Wake up now and then to see whether to stop.
            let event = match tokio::time::timeout(Duration::from_millis(100), events.next()).await
            {
                Err(_) => continue,
                Ok(Some(event)) => event,
                Ok(None) => {
                    let why = "the rtnetlink event stream ended".to_string();
                    let _ = tx.send(Observed::Lost { host, why });
                    return;
                }
            };
            let at = Instant::now();
            let holds = match event {
                NetEvent::AddressAdded {
                    index: i,
                    address: a,
                } if i == index && a.address == address => true,
                NetEvent::AddressRemoved {
                    index: i,
                    address: a,
                } if i == index && a.address == address => false,
                _ => continue,
            };
            if tx.send(Observed::Holds { at, host, holds }).is_err() {
                return;
            }
        }
    });
}

/// Who held an address over a stretch of time, folded from samples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    /// Time with two holders or more.
    pub two_holders: Duration,
    /// Time with none, from the first holder on.
    pub no_holder: Duration,
    /// Each overlap (from, to, since `start`) and who held.
    pub overlaps: Vec<(Duration, Duration, std::collections::BTreeSet<usize>)>,
    /// Each stretch with no holder (from, to, since `start`).
    pub gaps: Vec<(Duration, Duration)>,
}

impl Holding {
    /// Folds `events` (at, host, holds), in time order, over
    /// `start..end`; the address is held by nobody at `start`.
    pub fn fold(events: &[(Instant, usize, bool)], start: Instant, end: Instant) -> Holding {
        let mut verdict = Holding::default();
        let mut holders = std::collections::BTreeSet::new();
        let (mut since, mut anyone_yet) = (start, false);
        let close = (end, None);
        let timed = events
            .iter()
            .map(|&(at, host, holds)| (at, Some((host, holds))));
        for (at, change) in timed.chain(std::iter::once(close)) {
            let at = at.clamp(since, end.max(since));
            let span = at - since;
            if holders.len() >= 2 {
                verdict.two_holders += span;
                verdict
                    .overlaps
                    .push((since - start, at - start, holders.clone()));
            } else if holders.is_empty() && anyone_yet && !span.is_zero() {
                verdict.no_holder += span;
                verdict.gaps.push((since - start, at - start));
            }
            since = at;
            match change {
                Some((host, true)) => {
                    holders.insert(host);
                    anyone_yet = true;
                }
                Some((host, false)) => {
                    holders.remove(&host);
                }
                None => break,
            }
        }
        verdict
    }
}

impl AddressMonitor {
    /// Every holder change seen so far, in time order (a watcher that
    /// stopped is an error: the rest cannot be judged).
    pub fn drain(&self) -> Result<Vec<(Instant, usize, bool)>, String> {
        let mut events = Vec::new();
        while let Ok(observed) = self.observed.try_recv() {
            match observed {
                Observed::Holds { at, host, holds } => events.push((at, host, holds)),
                Observed::Lost { host, why } => {
                    return Err(format!("the sampler on h{host} stopped: {why}"))
                }
            }
        }
        events.sort_by_key(|(at, ..)| *at);
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_is_folded_from_the_samples() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let events = [
            (ms(10), 1, true),
            (ms(20), 2, true),
            (ms(25), 1, false),
            (ms(40), 2, false),
        ];
        let verdict = Holding::fold(&events, t0, ms(50));
        assert_eq!(verdict.two_holders, Duration::from_millis(5));
        assert_eq!(verdict.no_holder, Duration::from_millis(10));
        assert_eq!(
            verdict.gaps,
            vec![(Duration::from_millis(40), Duration::from_millis(50))]
        );
    }
}

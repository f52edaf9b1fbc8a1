//! One precise timer per thread for every instance's next deadline.
//!
//! Why a timerfd at all: tokio's timers round every deadline up to the
//! next whole millisecond, which showed up as ~1 ms of extra takeover
//! delay in the failover bench; a timerfd (a kernel hrtimer) fires within
//! microseconds.
//!
//! Why one per thread rather than one per instance: a backup's
//! Master_Down deadline moves later with every advert it receives, and
//! with a timerfd each that move was a `timerfd_settime` call, and each
//! expiry its own wake-up and `read`. Profiled at 255 instances × 20 ms
//! (issue 12), those calls and wake-ups were most of the backup's CPU. Here
//! the deadlines sit in an ordered set and the one timerfd is armed for
//! the earliest; with many deadlines, one that moves *later* costs no
//! kernel call (the timerfd fires at the old time, finds nothing due, and
//! is re-armed for what is now first), and deadlines that fall due
//! together are handled in one wake-up. This is the shape of keepalived's own scheduler
//! (lib/scheduler.c: one timerfd for the thread, a tree of timers).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

type Wake = Rc<dyn Fn()>;

/// From this many deadlines on, one that moves later leaves the timerfd
/// as it is. A wake-up for nothing costs tens of microseconds here, a
/// re-arm one or two; moves come N times per advert interval, early
/// wake-ups about once per Master_Down interval whatever N is, so laziness
/// pays from about ten instances (and made N = 1 cost more, measured).
const LAZY_FROM: usize = 8;

struct Queue {
    fd: AsyncFd<Fd>,
    deadlines: RefCell<Deadlines>,
}

#[derive(Default)]
struct Deadlines {
    by_time: BTreeSet<(Instant, u64)>,
    current: HashMap<u64, Instant>,
    wakers: HashMap<u64, Wake>,
    /// What the timerfd is set to fire at; never later than the first
    /// deadline, possibly earlier (a deadline that moved later).
    armed: Option<Instant>,
    next_id: u64,
    /// The timerfd failed: every `set` reports it, so owners restart and
    /// a fresh queue is made.
    broken: bool,
}

thread_local! {
    /// The queue of this thread's runtime; weak so that a runtime that
    /// ends takes its queue (and timerfd registration) with it.
    static QUEUE: RefCell<Weak<Queue>> = const { RefCell::new(Weak::new()) };
}

/// One owner's deadline in the thread's queue: set, moved or cleared at
/// will; `on_expiry` runs when it falls due. Dropping it removes it.
pub struct SharedTimer {
    queue: Rc<Queue>,
    id: u64,
}

impl SharedTimer {
    /// Must be called inside the runtime (an actor's `started`).
    /// `on_expiry` may also run spuriously (after a timerfd failure):
    /// owners treat a wake-up with nothing due as harmless.
    pub fn new(on_expiry: impl Fn() + 'static) -> io::Result<SharedTimer> {
        let queue = Queue::for_this_thread()?;
        let id = {
            let mut deadlines = queue.deadlines.borrow_mut();
            let id = deadlines.next_id;
            deadlines.next_id += 1;
            deadlines.wakers.insert(id, Rc::new(on_expiry));
            id
        };
        Ok(SharedTimer { queue, id })
    }

    /// Fire once at `at` (replacing any earlier setting), or never.
    pub fn set(&self, at: Option<Instant>) -> io::Result<()> {
        let mut deadlines = self.queue.deadlines.borrow_mut();
        if deadlines.broken {
            return Err(io::Error::other("the shared timer failed"));
        }
        if deadlines.current.get(&self.id) == at.as_ref() {
            return Ok(());
        }
        if let Some(old) = deadlines.current.remove(&self.id) {
            deadlines.by_time.remove(&(old, self.id));
        }
        if let Some(at) = at {
            deadlines.by_time.insert((at, self.id));
            deadlines.current.insert(self.id, at);
            if deadlines.armed.is_none_or(|armed| at < armed) {
                return self.queue.arm(&mut deadlines, Some(at));
            }
        }
        // The first deadline moved later or went. With many deadlines
        // the timerfd is left to fire early (once, whatever the number of
        // moves); with few, a spurious wake-up would cost more than the
        // re-arm it saves.
        let first = deadlines.by_time.first().map(|&(first, _)| first);
        if deadlines.by_time.len() < LAZY_FROM && first != deadlines.armed {
            return self.queue.arm(&mut deadlines, first);
        }
        Ok(())
    }
}

impl Drop for SharedTimer {
    fn drop(&mut self) {
        let mut deadlines = self.queue.deadlines.borrow_mut();
        if let Some(old) = deadlines.current.remove(&self.id) {
            deadlines.by_time.remove(&(old, self.id));
        }
        deadlines.wakers.remove(&self.id);
    }
}

impl Queue {
    fn for_this_thread() -> io::Result<Rc<Queue>> {
        QUEUE.with(|slot| {
            if let Some(queue) = slot.borrow().upgrade() {
                return Ok(queue);
            }
            // CLOCK_MONOTONIC is the clock std's Instant reads on Linux.
            let fd = TimerFd::new(
                ClockId::CLOCK_MONOTONIC,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            // SAFETY: the descriptor belongs to the TimerFd inside `Fd`,
            // which the AsyncFd owns: it stays open and the same while
            // registered.
            let fd = unsafe { AsyncFd::register_with_interest(Fd(fd), Interest::READABLE) }?;
            let queue = Rc::new(Queue {
                fd,
                deadlines: RefCell::new(Deadlines::default()),
            });
            *slot.borrow_mut() = Rc::downgrade(&queue);
            // The task keeps the queue alive as long as the runtime runs.
            actix::spawn(Rc::clone(&queue).drive());
            Ok(queue)
        })
    }

    /// Sets the timerfd to fire at `at` (or never). A failure breaks the
    /// queue for good: every later `set` fails, so owners restart, and
    /// the thread gets a fresh queue.
    fn arm(&self, deadlines: &mut Deadlines, at: Option<Instant>) -> io::Result<()> {
        let set = match at {
            Some(at) => {
                // Zero would disarm a timerfd: fire "at once" instead.
                let after = at
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_nanos(1));
                self.fd.get_ref().0.set(
                    Expiration::OneShot(TimeSpec::from_duration(after)),
                    TimerSetTimeFlags::empty(),
                )
            }
            None => self.fd.get_ref().0.unset(),
        };
        match set {
            Ok(()) => {
                deadlines.armed = at;
                Ok(())
            }
            Err(error) => {
                Self::break_down(deadlines);
                Err(error.into())
            }
        }
    }

    fn break_down(deadlines: &mut Deadlines) {
        deadlines.broken = true;
        QUEUE.with(|slot| *slot.borrow_mut() = Weak::new());
    }

    /// Removes what is due at `now` and arms the timerfd for what is next;
    /// returns the owners to wake.
    fn expire(&self, now: Instant) -> Vec<Wake> {
        let mut deadlines = self.deadlines.borrow_mut();
        let mut due = Vec::new();
        while let Some(&(at, id)) = deadlines.by_time.first() {
            if at > now {
                break;
            }
            deadlines.by_time.pop_first();
            deadlines.current.remove(&id);
            if let Some(wake) = deadlines.wakers.get(&id) {
                due.push(Rc::clone(wake));
            }
        }
        match deadlines.by_time.first() {
            Some(&(next, _)) => {
                if let Err(error) = self.arm(&mut deadlines, Some(next)) {
                    return Self::fail(&mut deadlines, &error);
                }
            }
            // A one-shot timerfd that fired is disarmed already.
            None => deadlines.armed = None,
        }
        due
    }

    /// The timer is broken: every owner is woken, finds `set` failing and
    /// restarts onto a fresh queue.
    fn fail(deadlines: &mut Deadlines, error: &dyn std::fmt::Display) -> Vec<Wake> {
        tracing::error!(%error, "the shared timer failed: {error}");
        Self::break_down(deadlines);
        deadlines.wakers.values().cloned().collect()
    }

    async fn drive(self: Rc<Queue>) {
        loop {
            let due = match self.fd.readable().await {
                Ok(mut guard) => {
                    let mut count = [0u8; 8];
                    match nix::unistd::read(guard.get_inner().0.as_fd(), &mut count) {
                        // Read, a timerfd is unreadable until it next fires
                        // (a new edge): no second read to see EAGAIN.
                        Ok(_) => {
                            guard.clear_ready();
                            self.expire(Instant::now())
                        }
                        Err(Errno::EAGAIN) => {
                            guard.clear_ready();
                            continue;
                        }
                        Err(error) => Self::fail(&mut self.deadlines.borrow_mut(), &error),
                    }
                }
                Err(error) => Self::fail(&mut self.deadlines.borrow_mut(), &error),
            };
            // Outside the borrow: an owner may set its next deadline at once.
            due.iter().for_each(|wake| wake());
            // Several at once (masters' adverts on their grid): the owners
            // just woken run after this, and what they send leaves in one
            // sendmmsg per socket once they all have.
            if due.len() > 1 {
                crate::net::outbox::batch_the_woken();
            }
            if self.deadlines.borrow().broken {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;

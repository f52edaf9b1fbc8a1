//! A one-shot timer with sub-millisecond precision for the protocol's
//! deadlines. tokio's timers round every deadline up to the next whole
//! millisecond, which showed up as ~1 ms of extra takeover delay in the
//! failover bench; a timerfd (a kernel hrtimer) fires within microseconds.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use futures::Stream;
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

/// Shared between the actor (which arms it) and the stream it registers
/// (which yields once per expiry).
#[derive(Clone)]
pub struct PreciseTimer(Rc<AsyncFd<Fd>>);

impl PreciseTimer {
    /// Must be called inside the runtime (an actor's `started`).
    pub fn new() -> io::Result<PreciseTimer> {
        // CLOCK_MONOTONIC is the clock std's Instant reads on Linux.
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the descriptor belongs to the TimerFd inside `Fd`, which
        // the AsyncFd owns: it stays open and the same while registered.
        let registered = unsafe { AsyncFd::register_with_interest(Fd(fd), Interest::READABLE) }?;
        Ok(PreciseTimer(Rc::new(registered)))
    }

    /// Fires once, `after` from now (replacing any earlier arming).
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        // Zero would disarm a timerfd: fire "at once" instead.
        let after = after.max(Duration::from_nanos(1));
        self.0.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(after)),
            TimerSetTimeFlags::empty(),
        )?;
        Ok(())
    }

    pub fn disarm(&self) -> io::Result<()> {
        self.0.get_ref().0.unset()?;
        Ok(())
    }

    /// One item per expiry. An expiry that raced with a re-arm may still
    /// be delivered: callers treat a spurious wake-up as harmless.
    pub fn expiries(&self) -> impl Stream<Item = ()> {
        futures::stream::unfold(Rc::clone(&self.0), |fd| async move {
            loop {
                let mut guard = fd.readable().await.ok()?;
                let mut count = [0u8; 8];
                match nix::unistd::read(guard.get_inner().0.as_fd(), &mut count) {
                    Ok(_) => return Some(((), Rc::clone(&fd))),
                    Err(Errno::EAGAIN) => guard.clear_ready(),
                    Err(error) => {
                        tracing::error!(%error, "timer failed");
                        return None;
                    }
                }
            }
        })
    }
}

//! Retrying what failed in an actor, later and later, without ever
//! restarting the actor for it.
//!
//! Why not let the Supervisor restart an actor whose socket or timer
//! cannot be opened: actix restarts a stopped actor at once, and an actor
//! that fails again in `started()` is restarted in a loop that never
//! yields, freezing every actor on the thread (the daemon stopped sending
//! adverts and ignored SIGTERM; found by review, 2026-12). So what fails
//! is tried again from a timer, with a delay that doubles up to a cap,
//! and the caller logs once per attempt: a bounded number of lines.

use std::time::Duration;

use actix::{Actor, AsyncContext, Context, SpawnHandle};

/// Delays that double from `first` to `cap`.
#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    next: Duration,
    attempts: u32,
}

impl Backoff {
    pub const fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff {
            first,
            cap,
            next: first,
            attempts: 0,
        }
    }

    /// The delay before the next attempt; the one after is longer.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.cap);
        self.attempts = self.attempts.saturating_add(1);
        delay
    }

    /// Attempts that failed since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn reset(&mut self) {
        self.next = self.first;
        self.attempts = 0;
    }
}

/// What an actor retries: at most one attempt pending at a time.
pub struct Retry {
    backoff: Backoff,
    pending: Option<SpawnHandle>,
}

/// From a tenth of a second (a socket that failed for a moment) to ten
/// seconds (something an operator must mend; the log line every ten
/// seconds says so).
pub const DEFAULT_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

impl Default for Retry {
    fn default() -> Retry {
        Retry::new(DEFAULT_BACKOFF)
    }
}

impl Retry {
    pub fn new(backoff: Backoff) -> Retry {
        Retry {
            backoff,
            pending: None,
        }
    }

    /// Runs `attempt` after the next delay, replacing any attempt still
    /// pending; returns the delay, for the caller's one log line.
    pub fn schedule<A>(
        &mut self,
        ctx: &mut Context<A>,
        attempt: impl FnOnce(&mut A, &mut Context<A>) + 'static,
    ) -> Duration
    where
        A: Actor<Context = Context<A>>,
    {
        if let Some(pending) = self.pending.take() {
            ctx.cancel_future(pending);
        }
        let delay = self.backoff.next_delay();
        self.pending = Some(ctx.run_later(delay, attempt));
        delay
    }

    /// It worked: nothing pending, and the next failure starts short.
    pub fn succeeded<A>(&mut self, ctx: &mut Context<A>)
    where
        A: Actor<Context = Context<A>>,
    {
        if let Some(pending) = self.pending.take() {
            ctx.cancel_future(pending);
        }
        self.backoff.reset();
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.backoff.attempts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_start_over_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<u64> = (0..6)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.attempts(), 6);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }
}

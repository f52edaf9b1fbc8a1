//! keepalived's track_process quorum: a tracked process is "up" while the
//! number of matching processes is within quorum..=quorum_max, with
//! keepalived's delays (keepalived/core/track_process.c v2.2.7,
//! check_process, check_process_fork, check_process_termination,
//! remove_process_from_track):
//!
//! - a count that rises because a tracked process forked waits
//!   `fork_delay` before the new status counts; one that falls because a
//!   process exited waits `terminate_delay`; when the timer ends, the
//!   status is whatever the count says then;
//! - a crossing back while the other timer runs cancels it, and the
//!   status is set at once (it is then usually unchanged);
//! - a process found by exec, by a changed name or by a scan counts at
//!   once, as does one that exec'd into something else.
//!
//! Time comes in as an argument (a Duration since any fixed origin).

use std::time::Duration;

/// Why the count changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountCause {
    /// A tracked process forked: waits `fork_delay`.
    Fork,
    /// A tracked process ended: waits `terminate_delay`.
    Exit,
    /// Found by exec or a scan, or lost by an exec or rename: at once.
    Seen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuorumParams {
    pub quorum: u32,
    pub quorum_max: u32,
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
}

impl Default for QuorumParams {
    /// keepalived's alloc_vrrp_process: at least one, no maximum.
    fn default() -> QuorumParams {
        QuorumParams {
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Fork(Duration),
    Terminate(Duration),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessQuorum {
    params: QuorumParams,
    count: u32,
    up: bool,
    pending: Option<Pending>,
}

impl ProcessQuorum {
    /// Starts from a first count (a scan), with no delay, as keepalived's
    /// initialise_process_tracking_priorities does.
    pub fn new(params: QuorumParams, count: u32) -> ProcessQuorum {
        let mut quorum = ProcessQuorum {
            params,
            count,
            up: false,
            pending: None,
        };
        quorum.up = quorum.in_range();
        quorum
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    fn in_range(&self) -> bool {
        (self.params.quorum..=self.params.quorum_max).contains(&self.count)
    }

    /// When `on_timer` must be called, if a delay runs.
    pub fn deadline(&self) -> Option<Duration> {
        match self.pending {
            Some(Pending::Fork(at) | Pending::Terminate(at)) => Some(at),
            None => None,
        }
    }

    /// The count is now `count`, for `cause`; returns the new status if
    /// it changed.
    pub fn on_count(&mut self, count: u32, cause: CountCause, now: Duration) -> Option<bool> {
        if count == self.count {
            return None;
        }
        let (before, rising) = (self.in_range(), count > self.count);
        self.count = count;
        if self.in_range() == before {
            return None;
        }
        // keepalived arms or cancels a timer only where the count crosses
        // an edge of the range; a crossing the other way cancels the
        // other's timer and sets the status at once.
        let cancelled = match (self.pending, rising) {
            (Some(Pending::Terminate(_)), true) | (Some(Pending::Fork(_)), false) => {
                self.pending = None;
                true
            }
            _ => false,
        };
        if !cancelled {
            let pending = match cause {
                CountCause::Fork => Some(Pending::Fork(now + self.params.fork_delay)),
                CountCause::Exit => Some(Pending::Terminate(now + self.params.terminate_delay)),
                CountCause::Seen => None,
            };
            if let Some(pending) = pending.filter(|_| !self.delay_of(cause).is_zero()) {
                self.pending = Some(pending);
                return None;
            }
        }
        self.settle()
    }

    fn delay_of(&self, cause: CountCause) -> Duration {
        match cause {
            CountCause::Fork => self.params.fork_delay,
            CountCause::Exit => self.params.terminate_delay,
            CountCause::Seen => Duration::ZERO,
        }
    }

    /// A delay's timer ended (or `now` passed its deadline): the status
    /// is what the count says.
    pub fn on_timer(&mut self, now: Duration) -> Option<bool> {
        match self.deadline() {
            Some(at) if at <= now => {
                self.pending = None;
                self.settle()
            }
            _ => None,
        }
    }

    fn settle(&mut self) -> Option<bool> {
        let up = self.in_range();
        (up != self.up).then(|| {
            self.up = up;
            up
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn params(quorum: u32, quorum_max: u32, fork: u64, terminate: u64) -> QuorumParams {
        QuorumParams {
            quorum,
            quorum_max,
            fork_delay: Duration::from_secs(fork),
            terminate_delay: Duration::from_secs(terminate),
        }
    }

    #[test]
    fn without_delays_the_count_decides_at_once() {
        let mut q = ProcessQuorum::new(QuorumParams::default(), 0);
        assert!(!q.is_up());
        assert_eq!(q.on_count(1, CountCause::Seen, S), Some(true));
        assert_eq!(q.on_count(2, CountCause::Fork, S), None);
        assert_eq!(q.on_count(1, CountCause::Exit, S), None);
        assert_eq!(q.on_count(0, CountCause::Exit, S), Some(false));
    }

    #[test]
    fn quorum_max_makes_too_many_down() {
        let mut q = ProcessQuorum::new(params(2, 3, 0, 0), 2);
        assert!(q.is_up());
        assert_eq!(q.on_count(4, CountCause::Seen, S), Some(false));
        assert_eq!(q.on_count(3, CountCause::Exit, S), Some(true));
        assert_eq!(q.on_count(1, CountCause::Exit, S), Some(false));
    }

    #[test]
    fn an_exit_waits_terminate_delay_and_a_return_cancels_it() {
        let mut q = ProcessQuorum::new(params(1, u32::MAX, 0, 5), 1);
        assert_eq!(q.on_count(0, CountCause::Exit, S), None);
        assert_eq!(q.deadline(), Some(6 * S));
        assert_eq!(q.on_timer(5 * S), None, "not yet");
        // Restarted within the delay: never down.
        assert_eq!(q.on_count(1, CountCause::Seen, 3 * S), None);
        assert_eq!(q.deadline(), None);
        assert!(q.is_up());
        // Gone for good: down when the delay ends.
        assert_eq!(q.on_count(0, CountCause::Exit, 10 * S), None);
        assert_eq!(q.on_timer(15 * S), Some(false));
    }

    #[test]
    fn a_fork_waits_fork_delay_but_an_exec_does_not() {
        let mut q = ProcessQuorum::new(params(2, u32::MAX, 3, 0), 1);
        assert_eq!(q.on_count(2, CountCause::Fork, S), None);
        assert_eq!(q.on_timer(4 * S), Some(true));
        let mut q = ProcessQuorum::new(params(2, u32::MAX, 3, 0), 1);
        assert_eq!(q.on_count(2, CountCause::Seen, S), Some(true));
    }

    #[test]
    fn the_timer_reads_the_count_when_it_ends() {
        let mut q = ProcessQuorum::new(params(1, u32::MAX, 0, 5), 1);
        assert_eq!(q.on_count(0, CountCause::Exit, S), None);
        // Back by a fork within the delay: the rise cancels the timer.
        assert_eq!(q.on_count(1, CountCause::Fork, 2 * S), None);
        assert_eq!(q.on_timer(6 * S), None);
        assert!(q.is_up());
    }
}

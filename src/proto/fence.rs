//! The quorum fence: a master holds its addresses only while it holds a
//! key in a quorum store (etcd) under a lease that is alive by its own
//! clock. VRRP still elects; the fence makes a second holder impossible.
//!
//! The core knows three facts, each told by the daemon as an event:
//! until when its lease is alive (`Event::Quorum`), whether the key is
//! its own (`Event::FenceHeld` / `Event::FenceLost`), and from when the
//! addresses may be used (a key taken after its last holder's lease ran
//! out waits for that holder's kernel to expire them). It reads no clock:
//! the deadlines are instants it compares with the `now` it is given.
//!
//! The timing, and why it is safe:
//!
//! - etcd expires a lease no sooner than TTL after the leader received
//!   the keepalive that renewed it, which is after we *sent* it. So by
//!   our monotonic clock the lease is alive at least until
//!   `sent + TTL`; we hold the addresses until `sent + TTL - margin`
//!   ([`lease_deadline`]), whether or not etcd answers again.
//! - A process that cannot run (SIGSTOP, a hung host) cannot remove
//!   anything, so every fenced address is added with a kernel lifetime
//!   ([`kernel_lifetime_secs`]) that ends by our deadline; the kernel
//!   deletes it within a second after that (its address expiry runs at
//!   most once a second: net/ipv4/devinet.c check_lifetime,
//!   ADDRCONF_TIMER_FUZZ_MAX; measured here: 1.03 to 1.82 s for a 1 s
//!   lifetime). A host that takes a key whose holder's lease *ran out*
//!   therefore waits [`KERNEL_EXPIRY_SLACK`] after the key vanished
//!   before adding the addresses; a key *released* by a graceful holder
//!   (which removed its addresses first) is used at once.

use std::time::{Duration, Instant};

/// What a master does when its lease can no longer be renewed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnQuorumLoss {
    /// Drop the addresses and go to FAULT until etcd answers again:
    /// with no quorum anywhere, nobody holds the VIP.
    #[default]
    Release,
    /// Keep the addresses (and stay master) while VRRP says so: available
    /// through an etcd outage, but two holders are possible again.
    Keep,
}

impl OnQuorumLoss {
    pub const fn as_str(self) -> &'static str {
        match self {
            OnQuorumLoss::Release => "release",
            OnQuorumLoss::Keep => "keep",
        }
    }
}

/// An instance's fence settings: present only when it is fenced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FenceParams {
    pub on_quorum_loss: OnQuorumLoss,
}

/// How long after an address's kernel lifetime ends the kernel may still
/// hold it (its expiry work runs at most once a second).
pub const KERNEL_EXPIRY_SLACK: Duration = Duration::from_millis(1_100);

/// How long a request to add an address may take to reach the kernel:
/// the kernel lifetime is counted from that much later than now.
pub const KERNEL_REQUEST_GUARD: Duration = Duration::from_millis(100);

/// The smallest lease etcd grants with its default timing (it raises a
/// shorter one to 1.5 × the election timeout, rounded up: 2 s).
pub const MIN_LEASE_TTL: Duration = Duration::from_secs(2);

/// How often a lease of `ttl` is renewed: six times per TTL. A keepalive
/// unanswered for that long means its etcd member is gone, and the next
/// one goes to another member: renewed again well before the deadline
/// (`lease_deadline`), so a member lost costs nothing.
pub fn keepalive_interval(ttl: Duration) -> Duration {
    ttl / 6
}

/// What is kept back from a lease of `ttl`: the addresses go a quarter
/// of the TTL before etcd could let anyone else have the key.
pub fn lease_margin(ttl: Duration) -> Duration {
    ttl / 4
}

/// Until when a lease of `ttl` is ours, by our clock, given that the
/// keepalive etcd answered with `ttl` was sent at `sent`.
pub fn lease_deadline(sent: Instant, ttl: Duration) -> Instant {
    sent + ttl - lease_margin(ttl)
}

/// The kernel lifetime (whole seconds, as the kernel takes it) for an
/// address held until `valid_until`, added at `now`: the most that ends
/// by the deadline, or None when not even one second is left (the
/// address is then left to expire, or not added).
pub fn kernel_lifetime_secs(now: Instant, valid_until: Instant) -> Option<u32> {
    let left = valid_until.checked_duration_since(now)?.as_secs();
    (left >= 1).then(|| u32::try_from(left).unwrap_or(u32::MAX))
}

/// When a key taken at `now` may be used. `vanished`: None when it was
/// let go on purpose (its holder removed the addresses first); else when
/// it was seen to vanish (its holder's lease ran out), if seen: the
/// former holder's kernel may keep the addresses until
/// [`KERNEL_EXPIRY_SLACK`] after that, or after now when unseen.
/// `earlier`: a wait already begun for this key, which nothing shortens.
pub fn usable_from(
    now: Instant,
    vanished: Option<Option<Instant>>,
    earlier: Option<Instant>,
) -> Instant {
    let waited = match vanished {
        None => now,
        Some(seen) => seen.unwrap_or(now) + KERNEL_EXPIRY_SLACK,
    };
    waited.max(now).max(earlier.unwrap_or(now))
}

/// How long a key whose addresses were not confirmed removed stays held
/// after `now`: until the kernel lifetimes given under the lease (ending
/// by `valid_until`, its end as last told) are surely over.
pub fn unconfirmed_release_delay(now: Instant, valid_until: Instant) -> Duration {
    valid_until.saturating_duration_since(now) + KERNEL_EXPIRY_SLACK
}

/// The fence as one instance sees it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fence {
    pub params: FenceParams,
    /// Our lease is alive until then (by our clock); None: no lease.
    pub quorum_until: Option<Instant>,
    /// The key is ours (under the lease `quorum_until` is about).
    pub key_held: bool,
    /// The addresses may be used from then (a key taken from a holder
    /// whose lease ran out waits for its kernel).
    pub usable_from: Option<Instant>,
    /// The master asked for the key and has not been told it holds it.
    pub asked: bool,
    /// on_quorum_loss: keep: the lease ran out and the addresses stayed.
    pub kept: bool,
}

impl Fence {
    pub fn new(params: FenceParams) -> Fence {
        Fence {
            params,
            ..Fence::default()
        }
    }

    /// Whether the lease is alive at `now`.
    pub fn quorum(&self, now: Instant) -> bool {
        self.quorum_until.is_some_and(|until| now < until)
    }

    /// Whether a master may hold its addresses at `now`.
    pub fn allows(&self, now: Instant) -> bool {
        (self.kept || (self.key_held && self.quorum(now)))
            && self.usable_from.is_none_or(|from| now >= from)
    }

    /// How long the addresses may stay: the lease's end, or for ever
    /// once kept through a quorum loss.
    pub fn valid_until(&self) -> Option<Instant> {
        if self.kept {
            None
        } else {
            self.quorum_until
        }
    }

    /// The next instant the fence changes by itself.
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        let expiry = self.quorum_until.filter(|_| !self.kept);
        let usable = self.usable_from.filter(|from| *from > now);
        expiry.into_iter().chain(usable).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_keeps_a_quarter_of_the_ttl_back_from_the_send_time() {
        let sent = Instant::now();
        let deadline = lease_deadline(sent, Duration::from_secs(2));
        assert_eq!(deadline - sent, Duration::from_millis(1_500));
        assert_eq!(
            keepalive_interval(Duration::from_secs(3)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn the_kernel_lifetime_ends_by_the_deadline_in_whole_seconds() {
        let now = Instant::now();
        let cases = [(1_499, Some(1)), (2_999, Some(2)), (999, None), (0, None)];
        for (left_ms, expected) in cases {
            let until = now + Duration::from_millis(left_ms);
            assert_eq!(
                kernel_lifetime_secs(now, until),
                expected,
                "{left_ms} ms left"
            );
        }
        // A deadline already past: nothing to add.
        assert_eq!(
            kernel_lifetime_secs(now + Duration::from_secs(1), now),
            None
        );
    }

    #[test]
    fn a_key_is_used_after_its_former_holder_s_kernel_unless_it_was_let_go() {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(usable_from(now, None, None), now, "let go: at once");
        assert_eq!(
            usable_from(now, Some(None), None),
            now + KERNEL_EXPIRY_SLACK,
            "unseen"
        );
        let seen = now - second;
        assert_eq!(
            usable_from(now, Some(Some(seen)), None),
            seen + KERNEL_EXPIRY_SLACK
        );
        assert_eq!(
            usable_from(now, Some(Some(now - 2 * second)), None),
            now,
            "long ago"
        );
        let begun = now + second;
        assert_eq!(
            usable_from(now, None, Some(begun)),
            begun,
            "a wait begun stays"
        );
    }

    #[test]
    fn a_fence_allows_only_with_the_key_a_live_lease_and_after_usable_from() {
        let now = Instant::now();
        let mut fence = Fence::new(FenceParams::default());
        assert!(!fence.allows(now));
        fence.quorum_until = Some(now + Duration::from_secs(1));
        assert!(!fence.allows(now), "a lease without the key");
        fence.key_held = true;
        assert!(fence.allows(now));
        assert!(
            !fence.allows(now + Duration::from_secs(1)),
            "the lease ran out"
        );
        fence.usable_from = Some(now + Duration::from_millis(500));
        assert!(!fence.allows(now));
        assert!(fence.allows(now + Duration::from_millis(500)));
        assert_eq!(fence.deadline(now), Some(now + Duration::from_millis(500)));
    }
}

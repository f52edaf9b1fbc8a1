//! Spacing of gratuitous ARPs and unsolicited NAs on one interface, as
//! keepalived spaces them (`vrrp_garp_interval`, `vrrp_gna_interval`,
//! `garp_group`; keepalived/vrrp/vrrp_arp.c send_gratuitous_arp,
//! vrrp_ndisc.c, vrrp_scheduler.c vrrp_arpna_send):
//!
//! - on an interface, two announcements of one family are at least the
//!   interval apart, whichever instance asks;
//! - one asked for sooner waits, once: an address already waiting is not
//!   queued again (keepalived's `garp_gna_pending` flag), so a burst of
//!   `garp_master_repeat` announcements within one interval sends the
//!   first at once and one more when the interval has passed;
//! - waiting announcements go out in the order asked, one per interval.
//!
//! Sans-IO: the caller says when it is (`now`), sends what
//! [`Pacer::due`] returns, and calls again at [`Pacer::next_due`]. Nobody
//! sleeps: the sender schedules a wake-up.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The most announcements waiting at once: far more than an interface's
/// addresses (an advert counts 255), so only a bug reaches it; past it
/// the oldest is dropped rather than memory growing.
pub const MAX_WAITING: usize = 4096;

/// The spacing on one interface, per family (zero: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spacing {
    pub garp_interval: Duration,
    pub gna_interval: Duration,
}

impl Spacing {
    fn of(&self, address: IpAddr) -> Duration {
        if address.is_ipv6() {
            self.gna_interval
        } else {
            self.garp_interval
        }
    }
}

#[derive(Debug, Default)]
pub struct Pacer {
    spacing: Spacing,
    /// When the next ARP / NA may leave (keepalived's garp_next_time,
    /// gna_next_time).
    next_v4: Option<Instant>,
    next_v6: Option<Instant>,
    waiting: VecDeque<IpAddr>,
    /// Dropped at MAX_WAITING.
    pub overflowed: u64,
}

impl Pacer {
    pub fn new(spacing: Spacing) -> Pacer {
        Pacer {
            spacing,
            ..Pacer::default()
        }
    }

    /// New spacing (a reload); what waits keeps its place.
    pub fn set_spacing(&mut self, spacing: Spacing) {
        self.spacing = spacing;
    }

    fn next_mut(&mut self, address: IpAddr) -> &mut Option<Instant> {
        if address.is_ipv6() {
            &mut self.next_v6
        } else {
            &mut self.next_v4
        }
    }

    /// Whether an announcement for `address` may leave at `now`; if it
    /// may, the next of its family waits an interval from now.
    fn take_slot(&mut self, now: Instant, address: IpAddr) -> bool {
        let interval = self.spacing.of(address);
        let next = self.next_mut(address);
        if next.is_some_and(|at| now < at) {
            return false;
        }
        *next = (!interval.is_zero()).then(|| now + interval);
        true
    }

    /// Announcements asked for now, `count` times each address in turn
    /// (as keepalived's vrrp_send_link_update loops): those that may
    /// leave now are returned, in order; the others wait.
    pub fn ask(&mut self, now: Instant, addresses: &[IpAddr], count: u32) -> Vec<IpAddr> {
        let mut now_sent = Vec::new();
        let before = self.waiting.len();
        for _ in 0..count {
            for &address in addresses {
                if self.waiting.contains(&address) {
                    continue;
                }
                if self.take_slot(now, address) {
                    now_sent.push(address);
                } else {
                    if self.waiting.len() >= MAX_WAITING {
                        self.waiting.pop_front();
                        self.overflowed += 1;
                    }
                    self.waiting.push_back(address);
                }
            }
        }
        // keepalived sends what waits in its address list's order
        // (vrrp_scheduler.c vrrp_arpna_send), not in the order each
        // address came to wait.
        let start = before.min(self.waiting.len());
        self.waiting
            .make_contiguous()
            .get_mut(start..)
            .unwrap_or_default()
            .sort_by_key(|a| addresses.iter().position(|x| x == a));
        now_sent
    }

    /// The waiting announcements whose family's interval has passed at
    /// `now`: at most one per family (each takes the next slot).
    pub fn due(&mut self, now: Instant) -> Vec<IpAddr> {
        let mut sent = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            let address = self.waiting[i];
            if self.take_slot(now, address) {
                self.waiting.remove(i);
                sent.push(address);
            } else {
                i += 1;
            }
        }
        sent
    }

    /// Forget what waits for `addresses` (released: keepalived sends for
    /// an address only while it is set).
    pub fn forget(&mut self, addresses: &[IpAddr]) {
        self.waiting.retain(|a| !addresses.contains(a));
    }

    /// When to call [`Pacer::due`] next, if anything waits.
    pub fn next_due(&self) -> Option<Instant> {
        let v4 = self.waiting.iter().any(|a| a.is_ipv4());
        let v6 = self.waiting.iter().any(|a| a.is_ipv6());
        [v4.then_some(self.next_v4), v6.then_some(self.next_v6)]
            .into_iter()
            .flatten()
            .flatten()
            .min()
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_spacing_every_announcement_leaves_at_once() {
        let mut pacer = Pacer::new(Spacing::default());
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert_eq!(pacer.ask(t0, &[a], 5), vec![a; 5]);
        assert_eq!(pacer.next_due(), None);
    }

    /// keepalived: five asked at once within one interval are the first
    /// now and one more an interval later, not five.
    #[test]
    fn a_burst_is_one_now_and_one_when_the_interval_has_passed() {
        let mut pacer = Pacer::new(Spacing {
            garp_interval: ms(100),
            gna_interval: Duration::ZERO,
        });
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert_eq!(pacer.ask(t0, &[a], 5), vec![a]);
        assert_eq!(pacer.next_due(), Some(t0 + ms(100)));
        assert_eq!(pacer.due(t0 + ms(99)), Vec::<IpAddr>::new());
        assert_eq!(pacer.due(t0 + ms(100)), vec![a]);
        assert_eq!(pacer.next_due(), None);
    }

    #[test]
    fn addresses_leave_one_per_interval_in_the_order_asked() {
        let mut pacer = Pacer::new(Spacing {
            garp_interval: ms(50),
            gna_interval: Duration::ZERO,
        });
        let t0 = Instant::now();
        let (a, b, c) = (ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3"));
        assert_eq!(pacer.ask(t0, &[a, b, c], 1), vec![a]);
        let mut at = t0;
        let mut sent = Vec::new();
        while let Some(next) = pacer.next_due() {
            assert!(next >= at + ms(50));
            at = next;
            sent.extend(pacer.due(at));
        }
        assert_eq!(sent, vec![b, c]);
        assert_eq!(at, t0 + ms(100));
    }

    /// keepalived: with two addresses and repeats, the first now, then
    /// what waits in the list's order (the first again, then the second).
    #[test]
    fn what_waits_leaves_in_the_list_s_order() {
        let mut pacer = Pacer::new(Spacing {
            garp_interval: ms(200),
            gna_interval: Duration::ZERO,
        });
        let t0 = Instant::now();
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        assert_eq!(pacer.ask(t0, &[a, b], 5), vec![a]);
        assert_eq!(pacer.due(t0 + ms(200)), vec![a]);
        assert_eq!(pacer.due(t0 + ms(400)), vec![b]);
        assert_eq!(pacer.next_due(), None);
    }

    #[test]
    fn families_are_spaced_apart_from_each_other() {
        let mut pacer = Pacer::new(Spacing {
            garp_interval: ms(100),
            gna_interval: ms(10),
        });
        let t0 = Instant::now();
        let (v4, v6) = (ip("192.0.2.1"), ip("2001:db8::1"));
        assert_eq!(pacer.ask(t0, &[v4, v6], 2), vec![v4, v6]);
        assert_eq!(pacer.next_due(), Some(t0 + ms(10)));
        assert_eq!(pacer.due(t0 + ms(10)), vec![v6]);
        assert_eq!(pacer.next_due(), Some(t0 + ms(100)));
        assert_eq!(pacer.due(t0 + ms(100)), vec![v4]);
    }

    #[test]
    fn released_addresses_stop_waiting_and_the_queue_is_bounded() {
        let mut pacer = Pacer::new(Spacing {
            garp_interval: ms(100),
            gna_interval: Duration::ZERO,
        });
        let t0 = Instant::now();
        let many: Vec<IpAddr> = (0..MAX_WAITING as u32 + 10)
            .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(0xc000_0000 + i)))
            .collect();
        pacer.ask(t0, &many, 1);
        assert_eq!(pacer.waiting(), MAX_WAITING);
        assert_eq!(pacer.overflowed, 9);
        pacer.forget(&many);
        assert_eq!(pacer.waiting(), 0);
        assert_eq!(pacer.next_due(), None);
    }
}

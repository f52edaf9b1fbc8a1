//! Timers as data, and the RFC's timing formulas.
//!
//! A timer is a deadline the owner compares with the `now` it is given;
//! nothing here waits or reads a clock.

use std::time::{Duration, Instant};

use super::interval::Centiseconds;
use super::packet::Version;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timer(Option<Instant>);

impl Timer {
    pub fn arm(&mut self, now: Instant, after: Duration) {
        self.0 = Some(now + after);
    }

    pub fn arm_at(&mut self, at: Instant) {
        self.0 = Some(at);
    }

    pub fn disarm(&mut self) {
        self.0 = None;
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.0
    }

    /// True once, when the deadline has passed; the timer is then disarmed.
    pub fn fire(&mut self, now: Instant) -> bool {
        match self.0 {
            Some(deadline) if deadline <= now => {
                self.0 = None;
                true
            }
            _ => false,
        }
    }
}

/// When a master's next advert is due: `Advertisement_Interval` after
/// `now`, or, given a grid origin its process's instances share, the last
/// point at or before that of a grid a quarter interval apart: 3/4 to 1
/// interval after `now`, never later.
///
/// Why: instances become master at scattered moments, so their adverts
/// fell due at scattered moments too, and a master with 255 instances woke
/// some 50 times per interval to send five adverts each (issue 24's
/// profile). On the grid, instances with one interval fall due together,
/// in at most four groups, and go out from one wake-up each (as the floor
/// sends all of them); their backups receive them in bursts and wake as
/// seldom. An advert a little early only restarts a backup's
/// Master_Down_Timer sooner, as RFC 9568 §6.4.3 has any advert do.
pub fn next_advert(now: Instant, interval: Duration, grid_origin: Option<Instant>) -> Instant {
    let due = now + interval;
    let Some(origin) = grid_origin else {
        return due;
    };
    let step = (interval / 4).as_nanos();
    let Some(since) = due.checked_duration_since(origin) else {
        return due;
    };
    if step == 0 {
        return due;
    }
    let back = since.as_nanos() % step;
    // Under a quarter interval, so it fits a u64 of nanoseconds.
    due - Duration::from_nanos(u64::try_from(back).unwrap_or(0))
}

/// Skew_Time: how much longer a lower-priority backup waits, so the best
/// backup takes over first.
///
/// - v2 (RFC 3768 §6.1): `(256 - Priority) / 256` seconds, whatever the
///   advert interval;
/// - v3 (RFC 5798 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`
///   centiseconds.
///
/// Evaluated exactly, in integer nanoseconds, not truncated to whole
/// centiseconds: at 0.1 s adverts truncation gives priorities 90 and 100
/// the same 6 cs skew, so both backups time out together at startup and
/// the lower one flaps to master (the simulated LAN caught this).
/// `10 ms / 256` is a whole number of half-nanoseconds, so the result is
/// at most half a nanosecond short.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Centiseconds) -> Duration {
    const NANOS_PER_CENTISECOND: u64 = 10_000_000;
    let interval_cs = match version {
        Version::V2 => 100,
        Version::V3 => u64::from(master_adver_interval.get()),
    };
    Duration::from_nanos((256 - u64::from(priority)) * interval_cs * NANOS_PER_CENTISECOND / 256)
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time`, or
/// keepalived's `down_timer_adverts` in place of the 3 (vrrp.h
/// `VRRP_MS_DOWN_TIMER`).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Centiseconds,
    down_timer_adverts: u8,
) -> Duration {
    (master_adver_interval * u32::from(down_timer_adverts)).as_duration()
        + skew_time(version, priority, master_adver_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adverts_fall_on_a_quarter_interval_grid_at_most_one_interval_apart() {
        let origin = Instant::now();
        let interval = Duration::from_millis(20);
        // Without a grid: exactly one interval.
        let now = origin + Duration::from_micros(12_345);
        assert_eq!(next_advert(now, interval, None), now + interval);
        // On it: the last 5 ms point at or before now + 20 ms.
        let next = next_advert(now, interval, Some(origin));
        assert_eq!(next, origin + Duration::from_millis(30));
        assert!(next <= now + interval && next > now + interval * 3 / 4);
        // Two instances whose deadlines were apart land on one point,
        // and stay on it advert after advert (woken a little late).
        let a = next_advert(
            origin + Duration::from_micros(10_100),
            interval,
            Some(origin),
        );
        let b = next_advert(
            origin + Duration::from_micros(13_900),
            interval,
            Some(origin),
        );
        assert_eq!(a, b);
        let late = Duration::from_micros(300);
        assert_eq!(
            next_advert(a + late, interval, Some(origin)),
            a + interval,
            "a deadline on the grid moves by exactly one interval"
        );
        // Already on a point: a whole interval, not less.
        let on = origin + Duration::from_millis(40);
        assert_eq!(next_advert(on, interval, Some(origin)), on + interval);
        // A grid that starts later than the deadline is ignored.
        assert_eq!(
            next_advert(origin, interval, Some(origin + Duration::from_secs(1))),
            origin + interval
        );
    }

    #[test]
    fn timer_fires_once_at_deadline() {
        let t0 = Instant::now();
        let mut timer = Timer::default();
        assert!(!timer.fire(t0));
        timer.arm(t0, Duration::from_millis(10));
        assert!(!timer.fire(t0 + Duration::from_millis(9)));
        assert!(timer.fire(t0 + Duration::from_millis(10)));
        assert!(!timer.fire(t0 + Duration::from_millis(20)));
        assert_eq!(timer.deadline(), None);
    }

    #[test]
    fn v2_skew_is_a_fraction_of_a_second_regardless_of_interval() {
        // (256-100)/256 s = 0.609375 s; (256-90)/256 s = 0.6484375 s.
        assert_eq!(
            skew_time(Version::V2, 100, Centiseconds::from_secs(1)),
            Duration::from_micros(609_375)
        );
        assert_eq!(
            skew_time(Version::V2, 90, Centiseconds::from_secs(5)),
            Duration::from_nanos(648_437_500)
        );
        assert_eq!(
            skew_time(Version::V2, 255, Centiseconds::from_secs(1)),
            Duration::from_nanos(3_906_250)
        );
        assert_eq!(
            master_down_interval(Version::V2, 90, Centiseconds::from_secs(1), 3),
            Duration::from_nanos(3_648_437_500)
        );
    }

    #[test]
    fn v3_skew_scales_with_master_interval() {
        assert_eq!(
            skew_time(Version::V3, 90, Centiseconds::new(100)),
            Duration::from_nanos(648_437_500)
        );
        // 0.1 s adverts: 166 * 100 ms / 256 = 64.84375 ms.
        assert_eq!(
            skew_time(Version::V3, 90, Centiseconds::new(10)),
            Duration::from_nanos(64_843_750)
        );
        assert_eq!(
            master_down_interval(Version::V3, 90, Centiseconds::new(10), 3),
            Duration::from_nanos(364_843_750)
        );
        let slowest = master_down_interval(Version::V3, 1, Centiseconds::new(4095), 100);
        assert_eq!(
            slowest,
            Duration::from_millis(100 * 40_950) + Duration::from_nanos(255 * 40_950_000_000 / 256)
        );
        assert_eq!(
            master_down_interval(Version::V2, 90, Centiseconds::from_secs(1), 1),
            Duration::from_nanos(1_648_437_500)
        );
    }

    #[test]
    fn distinct_priorities_always_have_distinct_skews() {
        for interval in [1, 10, 100, 4095] {
            for priority in 1..255u8 {
                let lower = skew_time(Version::V3, priority, Centiseconds::new(interval));
                let higher = skew_time(Version::V3, priority + 1, Centiseconds::new(interval));
                assert!(higher < lower, "priority {priority} at {interval} cs");
            }
        }
    }
}

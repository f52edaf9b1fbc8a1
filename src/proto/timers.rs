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

/// Skew_Time: how much longer a lower-priority backup waits, so the best
/// backup takes over first.
///
/// - v2 (RFC 3768 §6.1): `(256 - Priority) / 256` seconds, whatever the
///   advert interval;
/// - v3 (RFC 5798 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`
///   centiseconds.
///
/// Both in integer centiseconds, truncated as RFC 5798's arithmetic is
/// (at most 10 ms short; never truncated to whole seconds).
pub fn skew_time(
    version: Version,
    priority: u8,
    master_adver_interval: Centiseconds,
) -> Centiseconds {
    let scale = match version {
        Version::V2 => 100,
        Version::V3 => master_adver_interval.get(),
    };
    Centiseconds::new((256 - u32::from(priority)) * scale / 256)
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time`.
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Centiseconds,
) -> Centiseconds {
    master_adver_interval * 3 + skew_time(version, priority, master_adver_interval)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // (256-100)/256 s = 0.609 s -> 60 cs; (256-90)/256 s = 0.648 s -> 64 cs.
        assert_eq!(
            skew_time(Version::V2, 100, Centiseconds::from_secs(1)),
            Centiseconds::new(60)
        );
        assert_eq!(
            skew_time(Version::V2, 90, Centiseconds::from_secs(5)),
            Centiseconds::new(64)
        );
        assert_eq!(
            skew_time(Version::V2, 255, Centiseconds::from_secs(1)),
            Centiseconds::new(0)
        );
        assert_eq!(
            master_down_interval(Version::V2, 90, Centiseconds::from_secs(1)),
            Centiseconds::new(364)
        );
    }

    #[test]
    fn v3_skew_scales_with_master_interval() {
        assert_eq!(
            skew_time(Version::V3, 90, Centiseconds::new(100)),
            Centiseconds::new(64)
        );
        // 0.1 s adverts: (166 * 10) / 256 = 6.48 -> 6 cs, not 0.
        assert_eq!(
            skew_time(Version::V3, 90, Centiseconds::new(10)),
            Centiseconds::new(6)
        );
        assert_eq!(
            master_down_interval(Version::V3, 90, Centiseconds::new(10)),
            Centiseconds::new(36)
        );
        assert_eq!(
            master_down_interval(Version::V3, 1, Centiseconds::new(4095)),
            Centiseconds::new(3 * 4095 + 255 * 4095 / 256)
        );
    }
}

//! Time intervals in centiseconds, the unit RFC 5798 counts in.
//!
//! Keeping intervals as integers in this one unit makes Skew_Time and
//! Master_Down_Interval exact integer arithmetic (RFC 5798 §6.1) instead of
//! floating seconds, and keeps VRRPv2's whole seconds and VRRPv3's 12-bit
//! centisecond field in one type.

use std::fmt;
use std::ops::{Add, Mul};
use std::time::Duration;

/// A non-negative interval counted in hundredths of a second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centiseconds(u32);

impl Centiseconds {
    pub const ZERO: Centiseconds = Centiseconds(0);

    pub const fn new(centiseconds: u32) -> Self {
        Centiseconds(centiseconds)
    }

    pub const fn from_secs(seconds: u32) -> Self {
        Centiseconds(seconds.saturating_mul(100))
    }

    pub const fn get(self) -> u32 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `Some(seconds)` when this is a whole number of seconds (VRRPv2's unit).
    pub const fn as_whole_secs(self) -> Option<u32> {
        if self.0.is_multiple_of(100) {
            Some(self.0 / 100)
        } else {
            None
        }
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }

    /// The interval, if `duration` is a whole number of centiseconds.
    pub fn from_duration_exact(duration: Duration) -> Option<Self> {
        let nanos = duration.as_nanos();
        if !nanos.is_multiple_of(10_000_000) {
            return None;
        }
        u32::try_from(nanos / 10_000_000).ok().map(Centiseconds)
    }
}

impl Add for Centiseconds {
    type Output = Centiseconds;
    fn add(self, rhs: Centiseconds) -> Centiseconds {
        Centiseconds(self.0.saturating_add(rhs.0))
    }
}

impl Mul<u32> for Centiseconds {
    type Output = Centiseconds;
    fn mul(self, rhs: u32) -> Centiseconds {
        Centiseconds(self.0.saturating_mul(rhs))
    }
}

impl fmt::Display for Centiseconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_only_when_exact() {
        assert_eq!(Centiseconds::new(300).as_whole_secs(), Some(3));
        assert_eq!(Centiseconds::new(10).as_whole_secs(), None);
    }

    #[test]
    fn duration_conversion_is_exact_or_refused() {
        assert_eq!(
            Centiseconds::from_duration_exact(Duration::from_millis(100)),
            Some(Centiseconds::new(10))
        );
        assert_eq!(
            Centiseconds::from_duration_exact(Duration::from_millis(105)),
            None
        );
        assert_eq!(
            Centiseconds::new(64).as_duration(),
            Duration::from_millis(640)
        );
    }

    #[test]
    fn displays_as_seconds() {
        assert_eq!(Centiseconds::new(364).to_string(), "3.64s");
        assert_eq!(Centiseconds::new(5).to_string(), "0.05s");
    }
}

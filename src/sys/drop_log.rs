//! Logging dropped packets without letting a flood of them cost anything:
//! every drop is counted by the caller, but each reason is logged at most
//! once per period, with how many were suppressed in between.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::log::phrases;

pub struct DropLog {
    period: Duration,
    /// Per reason: when it was last logged, and drops since then.
    last: HashMap<&'static str, (Instant, u64)>,
}

impl DropLog {
    pub fn new(period: Duration) -> DropLog {
        DropLog {
            period,
            last: HashMap::new(),
        }
    }

    /// Whether a drop for `reason` at `now` is logged: `Some(suppressed)`,
    /// the number not logged since the last line, or `None` to stay quiet.
    pub fn should_log(&mut self, now: Instant, reason: &'static str) -> Option<u64> {
        match self.last.get_mut(reason) {
            Some((logged, suppressed)) if now.saturating_duration_since(*logged) <= self.period => {
                *suppressed += 1;
                None
            }
            Some(entry) => {
                let suppressed = entry.1;
                *entry = (now, 0);
                Some(suppressed)
            }
            None => {
                self.last.insert(reason, (now, 0));
                Some(0)
            }
        }
    }

    /// Records a drop and logs it if this reason's period allows.
    pub fn dropped(
        &mut self,
        now: Instant,
        scope: &str,
        reason: &'static str,
        source: IpAddr,
        detail: &dyn Display,
    ) {
        if let Some(suppressed) = self.should_log(now, reason) {
            phrases::packet_dropped(scope, reason, source, suppressed, detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_is_logged_once_per_period_with_the_count_between() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut log = DropLog::new(Duration::from_secs(10));
        assert_eq!(log.should_log(at(0), "bad_ttl"), Some(0), "first is logged");
        for ms in 1..=500 {
            assert_eq!(log.should_log(at(ms), "bad_ttl"), None);
        }
        assert_eq!(
            log.should_log(at(600), "auth_mismatch"),
            Some(0),
            "reasons are limited separately"
        );
        assert_eq!(
            log.should_log(at(10_000), "bad_ttl"),
            None,
            "period not over"
        );
        assert_eq!(
            log.should_log(at(10_001), "bad_ttl"),
            Some(501),
            "the next line says how many were not logged"
        );
        assert_eq!(log.should_log(at(10_002), "bad_ttl"), None);
    }
}

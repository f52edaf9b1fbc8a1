//! Logging dropped packets without letting a flood of them cost anything:
//! every drop is counted by the caller, but each reason is logged at most
//! once per period, with how many were suppressed in between.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

pub struct DropLog {
    period: Duration,
    last: HashMap<&'static str, (Instant, u64)>,
}

impl DropLog {
    pub fn new(period: Duration) -> DropLog {
        DropLog {
            period,
            last: HashMap::new(),
        }
    }

    /// Records a drop; logs it if this reason was not logged in the last period.
    pub fn dropped(
        &mut self,
        now: Instant,
        scope: &str,
        reason: &'static str,
        source: IpAddr,
        detail: &dyn std::fmt::Display,
    ) {
        let entry = self
            .last
            .entry(reason)
            .or_insert((now - self.period - Duration::from_nanos(1), 0));
        if now.duration_since(entry.0) > self.period {
            let suppressed = entry.1;
            *entry = (now, 0);
            tracing::warn!(%scope, reason, %source, suppressed, "({scope}) dropped VRRP packet from {source}: {detail} ({suppressed} more like it not logged)");
        } else {
            entry.1 += 1;
        }
    }
}

//! How tracked things (checks, interfaces, files) move an instance's
//! priority, with keepalived's weight semantics, and the clamp that keeps
//! the result a valid non-owner priority.

/// What one tracker currently does to the instances that track it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TrackerEffect {
    /// Contributes nothing.
    #[default]
    Neutral,
    /// Adds this (possibly negative) amount to the base priority.
    Adjust(i32),
    /// Holds the instance in FAULT.
    Fault,
}

/// keepalived's tracking weights span -253..=253.
pub const MAX_WEIGHT: i32 = 253;

/// A tracking weight outside keepalived's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected -253..253, got {0}")]
pub struct WeightOutOfRange(pub i32);

/// The one check of a tracking weight, wherever one is configured.
pub fn check_weight(weight: i32) -> Result<i32, WeightOutOfRange> {
    if (-MAX_WEIGHT..=MAX_WEIGHT).contains(&weight) {
        Ok(weight)
    } else {
        Err(WeightOutOfRange(weight))
    }
}

impl TrackerEffect {
    /// A check or interface that is `up` or not, tracked with `weight`
    /// (keepalived's vrrp_script / track_interface): a positive weight is
    /// added while up, a negative one while down, and weight 0 means
    /// FAULT while down.
    pub fn from_status(up: bool, weight: i32) -> TrackerEffect {
        match (up, weight) {
            (false, 0) => TrackerEffect::Fault,
            (true, w) if w > 0 => TrackerEffect::Adjust(w),
            (false, w) if w < 0 => TrackerEffect::Adjust(w),
            _ => TrackerEffect::Neutral,
        }
    }

    /// keepalived's track_file: the file's integer times the weight; with
    /// weight 0, a non-zero value means FAULT. A product below -253 means
    /// FAULT too (keepalived treats it as the tracked thing being down).
    pub fn from_file_value(value: i64, weight: i32) -> TrackerEffect {
        if weight == 0 {
            return if value == 0 {
                TrackerEffect::Neutral
            } else {
                TrackerEffect::Fault
            };
        }
        let product = value.saturating_mul(i64::from(weight));
        if product < -i64::from(MAX_WEIGHT) {
            TrackerEffect::Fault
        } else {
            TrackerEffect::Adjust(product.min(i64::from(MAX_WEIGHT)) as i32)
        }
    }
}

/// keepalived's rise/fall: a check changes state only after `fall`
/// failures in a row (when up) or `rise` successes in a row (when down).
/// It starts up, as keepalived's scripts do without `init_fail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    up: bool,
    streak: u32,
}

impl RiseFall {
    pub fn new(rise: u32, fall: u32) -> RiseFall {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            up: true,
            streak: 0,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Records one result; returns the new state if it changed.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if self.up { self.fall } else { self.rise };
        if self.streak < needed {
            return None;
        }
        self.up = success;
        self.streak = 0;
        Some(self.up)
    }
}

/// Effective priority (RFC 5798 "Priority" as the instance advertises it):
/// an owner's 255 never changes; anything else is base + adjustments,
/// clamped to 1..=254 so trackers can neither make a non-owner claim
/// ownership nor make it advertise "leaving" (0).
pub fn effective_priority(base: u8, adjustments: impl IntoIterator<Item = i32>) -> u8 {
    if base == 255 {
        return 255;
    }
    let sum: i64 = adjustments.into_iter().map(i64::from).sum();
    (i64::from(base) + sum).clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_weight_semantics() {
        assert_eq!(TrackerEffect::from_status(true, 0), TrackerEffect::Neutral);
        assert_eq!(TrackerEffect::from_status(false, 0), TrackerEffect::Fault);
        assert_eq!(
            TrackerEffect::from_status(true, 20),
            TrackerEffect::Adjust(20)
        );
        assert_eq!(
            TrackerEffect::from_status(false, 20),
            TrackerEffect::Neutral
        );
        assert_eq!(
            TrackerEffect::from_status(true, -20),
            TrackerEffect::Neutral
        );
        assert_eq!(
            TrackerEffect::from_status(false, -20),
            TrackerEffect::Adjust(-20)
        );
    }

    #[test]
    fn file_values_scale_by_weight() {
        assert_eq!(
            TrackerEffect::from_file_value(3, -10),
            TrackerEffect::Adjust(-30)
        );
        assert_eq!(TrackerEffect::from_file_value(0, 0), TrackerEffect::Neutral);
        assert_eq!(TrackerEffect::from_file_value(1, 0), TrackerEffect::Fault);
        assert_eq!(
            TrackerEffect::from_file_value(-300, 1),
            TrackerEffect::Fault
        );
        assert_eq!(
            TrackerEffect::from_file_value(1000, 1),
            TrackerEffect::Adjust(253)
        );
    }

    #[test]
    fn rise_and_fall_need_results_in_a_row() {
        let mut check = RiseFall::new(2, 3);
        assert!(check.is_up());
        assert_eq!(check.record(false), None);
        assert_eq!(check.record(false), None);
        assert_eq!(
            check.record(true),
            None,
            "a success resets the failure streak"
        );
        assert_eq!(check.record(false), None);
        assert_eq!(check.record(false), None);
        assert_eq!(check.record(false), Some(false), "third failure in a row");
        assert_eq!(check.record(true), None);
        assert_eq!(check.record(true), Some(true), "second success in a row");
        let mut once = RiseFall::new(1, 1);
        assert_eq!(once.record(false), Some(false));
        assert_eq!(once.record(false), None);
        assert_eq!(once.record(true), Some(true));
    }

    #[test]
    fn effective_priority_is_clamped_and_owner_is_fixed() {
        assert_eq!(effective_priority(100, [-20, 5]), 85);
        assert_eq!(effective_priority(100, [-253]), 1);
        assert_eq!(effective_priority(100, [253]), 254);
        assert_eq!(effective_priority(255, [-253]), 255);
        assert_eq!(effective_priority(1, []), 1);
    }
}

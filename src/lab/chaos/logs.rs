//! The daemons' log lines around a moment, for the report of a violation.
//! vipd stamps lines in RFC 3339 UTC with microseconds (tracing's default);
//! keepalived with `-l` in local time to the second ("Sun Dec  6 04:34:01
//! 2026: ..."), so its lines are matched to the whole second.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last `lines` lines of the log at `path`.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The local time's offset from UTC in seconds, as `date +%z` says it
/// (keepalived's stamps are local); 0 if it cannot be asked.
pub fn local_offset() -> i64 {
    let Ok(out) = Command::new("date").arg("+%z").output() else {
        return 0;
    };
    parse_offset(String::from_utf8_lossy(&out.stdout).trim()).unwrap_or(0)
}

fn parse_offset(text: &str) -> Option<i64> {
    let (sign, digits) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    if digits.len() != 4 {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
}

/// When a log line was written, and how precisely its stamp says so.
fn stamp(line: &str, local_offset: i64) -> Option<(SystemTime, Duration)> {
    let first = line.split_whitespace().next()?;
    if let Ok(at) = humantime::parse_rfc3339_weak(first.trim_end_matches('Z')) {
        return Some((at, Duration::ZERO));
    }
    keepalived_stamp(line, local_offset).map(|at| (at, Duration::from_secs(1)))
}

/// "Sun Dec  6 04:34:01 2026: ..." in local time.
fn keepalived_stamp(line: &str, local_offset: i64) -> Option<SystemTime> {
    let mut words = line.split_whitespace();
    let _weekday = words.next()?;
    let month = match words.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let day: i64 = words.next()?.parse().ok()?;
    let mut clock = words.next()?.split(':');
    let hour: i64 = clock.next()?.parse().ok()?;
    let minute: i64 = clock.next()?.parse().ok()?;
    let second: i64 = clock.next()?.parse().ok()?;
    let year: i64 = words.next()?.strip_suffix(':')?.parse().ok()?;
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let utc = u64::try_from(local - local_offset).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(utc))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The lines of `text` written within `[from, to]`, at most `limit` of
/// them (then a line saying how many more). Unstamped lines go with the
/// stamped line before them.
pub fn excerpt(
    text: &str,
    from: SystemTime,
    to: SystemTime,
    local_offset: i64,
    limit: usize,
) -> Vec<String> {
    let mut inside = false;
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some((at, precision)) = stamp(line, local_offset) {
            inside = at + precision >= from && at <= to;
        }
        if inside {
            found.push(line.to_string());
        }
    }
    if found.len() > limit {
        let more = found.len() - limit;
        found.truncate(limit);
        found.push(format!("... {more} more lines"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> SystemTime {
        humantime::parse_rfc3339_weak(text).unwrap()
    }

    #[test]
    fn both_daemons_stamps_are_read() {
        let vipd = "2026-12-06T04:34:01.250000Z  INFO (VI_1) Entering MASTER STATE";
        assert_eq!(
            stamp(vipd, 0),
            Some((utc("2026-12-06T04:34:01.25"), Duration::ZERO))
        );
        let keepalived = "Sun Dec  6 04:34:01 2026: (VI_1) Entering MASTER STATE";
        assert_eq!(
            stamp(keepalived, 0),
            Some((utc("2026-12-06T04:34:01"), Duration::from_secs(1)))
        );
        // Local time one hour ahead of UTC.
        assert_eq!(
            stamp(keepalived, 3600).map(|s| s.0),
            Some(utc("2026-12-06T03:34:01"))
        );
        assert_eq!(stamp("(VI_1) no stamp here", 0), None);
        assert_eq!(parse_offset("+0530"), Some(19_800));
        assert_eq!(parse_offset("-0100"), Some(-3600));
        assert_eq!(parse_offset("UTC"), None);
    }

    #[test]
    fn an_excerpt_holds_the_lines_of_its_window_and_no_more_than_asked() {
        let text = "2026-12-06T04:34:01.000000Z  INFO one\n\
                    2026-12-06T04:34:02.000000Z  INFO two\n\
                    continued\n\
                    2026-12-06T04:34:03.000000Z  INFO three\n\
                    2026-12-06T04:34:04.000000Z  INFO four\n";
        let from = utc("2026-12-06T04:34:01.5");
        let to = utc("2026-12-06T04:34:03.5");
        assert_eq!(
            excerpt(text, from, to, 0, 10),
            vec![
                "2026-12-06T04:34:02.000000Z  INFO two",
                "continued",
                "2026-12-06T04:34:03.000000Z  INFO three"
            ]
        );
        assert_eq!(excerpt(text, from, to, 0, 1).len(), 2);
        assert_eq!(excerpt(text, from, to, 0, 1)[1], "... 2 more lines");
        // keepalived's whole seconds: 04:34:01 may be 01.5.
        let k = "Sun Dec  6 04:34:01 2026: (VI_1) Entering BACKUP STATE\n";
        assert_eq!(excerpt(k, from, to, 0, 10).len(), 1);
    }
}

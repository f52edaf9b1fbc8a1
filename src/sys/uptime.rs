//! How long the system has been up, for keepalived 2.4's
//! `vrrp_delay_after_boot` (global_parser.c
//! vrrp_delay_after_boot_handler): the delay counts from boot, so the
//! daemon waits only what is left of it. Read once, at the daemon's start;
//! the core is told the resulting delay and reads no clock.

use std::io;
use std::time::Duration;

/// The first number of /proc/uptime: seconds since boot, fractional.
pub fn parse(text: &str) -> Option<Duration> {
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

pub fn read() -> io::Result<Duration> {
    let text = std::fs::read_to_string("/proc/uptime")?;
    parse(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/uptime does not start with seconds: {text:?}"),
        )
    })
}

/// The delay a backup waits after the daemon starts: `startup_delay`,
/// or what is left of `after_boot` since boot if that is longer, as
/// keepalived takes the larger of the two. `uptime` None (unreadable):
/// `after_boot` is ignored, as keepalived ignores it.
pub fn startup_delay(
    startup_delay: Duration,
    after_boot: Duration,
    uptime: Option<Duration>,
) -> Duration {
    let left = uptime.map_or(Duration::ZERO, |up| after_boot.saturating_sub(up));
    startup_delay.max(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn reads_proc_uptime() {
        assert_eq!(
            parse("350735.47 234388.90\n"),
            Some(Duration::from_millis(350_735_470))
        );
        assert_eq!(parse(""), None);
        assert_eq!(parse("-3 1"), None);
        assert_eq!(parse("x 1"), None);
    }

    #[test]
    fn only_what_is_left_since_boot_counts_and_the_longer_delay_wins() {
        assert_eq!(startup_delay(S(0), S(300), Some(S(100))), S(200));
        assert_eq!(
            startup_delay(S(0), S(300), Some(S(400))),
            S(0),
            "booted long ago"
        );
        assert_eq!(startup_delay(S(250), S(300), Some(S(100))), S(250));
        assert_eq!(
            startup_delay(S(5), S(300), None),
            S(5),
            "no uptime: ignored"
        );
    }
}

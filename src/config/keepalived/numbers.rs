//! Numbers as keepalived 2.2.7 reads them (lib/parser.c `read_int_func`,
//! `read_unsigned_func`, `read_decimal_unsigned_long_func`), so that the
//! mapping accepts exactly what keepalived accepts and knows when keepalived
//! falls back.
//!
//! A handler reads with `lenient` (keepalived's `ignore_error`) or not: a
//! lenient read still takes a number followed by other characters if the
//! number is in range ("WARNING - invalid number"), a strict one does not.

/// A number keepalived takes, or why it does not, in its own terms.
pub type Read<T> = Result<T, String>;

/// C's strtoul/strtol on a word: the value of the leading digits (after
/// blanks and a sign), and whether anything follows them. `None` when the
/// value overflows.
fn leading(word: &str, signed: bool) -> Option<(i128, bool, bool)> {
    let text = word.trim_start();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let value: i128 = if end == 0 {
        0
    } else {
        digits[..end]
            .parse()
            .ok()
            .filter(|v: &i128| *v <= u64::MAX as i128)?
    };
    // strtoul with no digits leaves the end at the start of the word.
    let rest = if end == 0 {
        !text.is_empty()
    } else {
        end < digits.len()
    };
    let value = if negative && signed { -value } else { value };
    Some((value, rest, negative))
}

/// `read_unsigned`: a whole number in `min..=max`.
pub fn unsigned(word: &str, min: u64, max: u64, lenient: bool) -> Read<u64> {
    let Some((value, rest, negative)) = leading(word, false) else {
        return Err(format!("{word:?} is outside the unsigned integer range"));
    };
    let in_range = value >= min as i128 && value <= max as i128;
    if negative {
        Err(format!("{word:?} is negative"))
    } else if rest {
        if lenient && in_range {
            Ok(value as u64)
        } else {
            Err(format!("{word:?} is not a number"))
        }
    } else if in_range {
        Ok(value as u64)
    } else {
        Err(format!("{word:?} is outside {min}..{max}"))
    }
}

/// `read_int`: a whole number, possibly negative, in `min..=max`.
pub fn int(word: &str, min: i64, max: i64, lenient: bool) -> Read<i64> {
    let Some((value, rest, _)) = leading(word, true) else {
        return Err(format!("{word:?} is outside the integer range"));
    };
    let in_range = value >= min as i128 && value <= max as i128;
    if rest {
        if lenient && in_range {
            Ok(value as i64)
        } else {
            Err(format!("{word:?} is not a number"))
        }
    } else if in_range {
        Ok(value as i64)
    } else {
        Err(format!("{word:?} is outside {min}..{max}"))
    }
}

/// Whether a word has more than its leading number: keepalived takes the
/// number in a lenient read, and says "invalid number".
pub fn has_junk(word: &str) -> bool {
    leading(word, true).is_none_or(|(_, rest, _)| rest)
}

/// What strtol makes of a word when keepalived keeps it although it is out
/// of range (a vrrp_script weight): the leading number, 0 if none.
pub fn strtol_value(word: &str) -> i64 {
    leading(word, true)
        .map(|(v, _, _)| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
        .unwrap_or(0)
}

/// keepalived's timer resolution: microseconds (lib/timer.h TIMER_HZ).
pub const MICROS: u64 = 1_000_000;

/// `read_decimal_unsigned` with six decimal places: seconds, possibly
/// fractional, as microseconds in `min..=max` (also microseconds). More
/// places than six are rounded at the sixth, as keepalived rounds them.
pub fn seconds(word: &str, min: u64, max: u64) -> Read<u64> {
    if word.starts_with('-') {
        return Err(format!("{word:?} is negative"));
    }
    let text = word
        .trim_start()
        .strip_prefix('+')
        .unwrap_or(word.trim_start());
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || (whole.is_empty() && fraction.is_empty()) {
        return Err(format!("{word:?} is not a number"));
    }
    let round_up = fraction.len() > 6 && fraction.as_bytes()[6] >= b'5';
    let mut places: String = fraction.chars().take(6).collect();
    while places.len() < 6 {
        places.push('0');
    }
    let value = format!("{whole}{places}")
        .parse::<u64>()
        .ok()
        .and_then(|v| v.checked_add(round_up as u64));
    match value {
        Some(v) if v >= min && v <= max => Ok(v),
        Some(_) => Err(format!(
            "{word:?} is outside {}..{} s",
            show_seconds(min),
            show_seconds(max)
        )),
        None => Err(format!("{word:?} is too large")),
    }
}

/// Microseconds as seconds, without trailing zeros: `1`, `0.5`, `40.95`.
pub fn show_seconds(micros: u64) -> String {
    let whole = micros / MICROS;
    let fraction = micros % MICROS;
    if fraction == 0 {
        whole.to_string()
    } else {
        let places = format!("{fraction:06}");
        format!("{whole}.{}", places.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_reads_as_strtoul_does() {
        assert_eq!(unsigned("120", 1, 255, false), Ok(120));
        assert_eq!(unsigned("+7", 1, 255, false), Ok(7));
        assert!(unsigned("0", 1, 255, false).is_err());
        assert!(unsigned("256", 1, 255, false).is_err());
        assert!(unsigned("-1", 0, 255, true).is_err());
        assert!(unsigned("abc", 1, 255, true).is_err());
        assert!(unsigned("12x", 1, 255, false).is_err());
        assert_eq!(unsigned("12x", 1, 255, true), Ok(12));
        assert!(unsigned("99999999999999999999999", 0, u64::MAX, true).is_err());
    }

    #[test]
    fn int_takes_a_sign() {
        assert_eq!(int("-20", -253, 253, false), Ok(-20));
        assert!(int("300", -253, 253, true).is_err());
        assert_eq!(strtol_value("300"), 300);
        assert_eq!(strtol_value("abc"), 0);
    }

    #[test]
    fn seconds_have_six_places_and_round_beyond() {
        assert_eq!(seconds("1", 10_000, 255 * MICROS), Ok(MICROS));
        assert_eq!(seconds("0.5", 10_000, 255 * MICROS), Ok(500_000));
        assert_eq!(seconds("0.0000005", 0, MICROS), Ok(1));
        assert!(seconds("0.005", 10_000, 255 * MICROS).is_err());
        assert!(seconds("300", 10_000, 255 * MICROS).is_err());
        assert!(seconds("1s", 10_000, 255 * MICROS).is_err());
        assert!(seconds("-1", 0, MICROS).is_err());
        assert!(seconds(".", 0, MICROS).is_err());
        assert_eq!(show_seconds(40_950_000), "40.95");
        assert_eq!(show_seconds(2 * MICROS), "2");
    }
}

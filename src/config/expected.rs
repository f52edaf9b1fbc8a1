//! Reading errors in the user's terms. serde and figment describe what
//! they wanted as Rust types ("invalid value: unsigned int 300, expected
//! u8"); a user reads ranges and lists of choices ("expected 1..255, got
//! 300"). This is the one place that translates.

use figment::error::{Actual, Kind};

/// What a key accepts, for keys whose range is narrower than their type's.
/// Matched on the last component of the key's path.
fn expectation_of_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "virtual_router_id" | "priority" => "1..255",
        "version" => "2 or 3",
        "weight" => "-253..253",
        "rise" | "fall" => "a whole number 1..4294967295",
        "status" => "an HTTP status 100..599",
        "state" => "MASTER or BACKUP",
        "auth_type" => "PASS",
        "preempt" | "accept" => "true or false",
        "source_ip" | "address" => "an IPv4 or IPv6 address",
        "mcast_dst_ip" => "a multicast address, e.g. 224.0.0.100 or ff02::100",
        "garp_group" => {
            "a list of { garp_interval: SECONDS, gna_interval: SECONDS, interfaces: [NAME, ...] }"
        }
        "interfaces" => "a list of interface names, e.g. [eth0, eth1]",
        "unicast_ttl" => "1..255",
        "down_timer_adverts" => "1..100",
        "no_virtual_ipaddress"
        | "lower_prio_no_advert"
        | "higher_prio_send_advert"
        | "skip_check_adv_addr"
        | "owner_ignore_adverts"
        | "v3_checksum_as_v2"
        | "dont_track_primary"
        | "notify_priority_changes"
        | "strict_mode" => "true or false",
        "old_unicast_checksum" => "auto, never or always",
        "listen" => "ADDRESS:PORT, e.g. 127.0.0.1:9650",
        "min_ttl" | "max_ttl" => "0..255",
        "unicast_peer" => {
            "a list of peers, each ADDRESS, \"ADDRESS min_ttl N max_ttl N\" or { address: ADDRESS, min_ttl: N, max_ttl: N }"
        }
        "check_unicast_src" | "unicast_fault_no_peer" => "true or false",
        "keys" => "a list of key lines, each \"ID file:PATH\", \"ID hex:DIGITS\" or \"ID TEXT\" (e.g. [\"1 file:/etc/vipd/vrrp51.key\"])",
        "active_key" => "a key id 1..255, one of keys",
        "time_window" => "whole seconds 1..300 (5 or 5s)",
        "anti_replay" => "time or monotonic",
        "lease_ttl" => "whole seconds 2..300 (2 or 2s)",
        "endpoints" => "a list of URLs, e.g. [\"http://192.0.2.201:2379\"]",
        "quorum" => "{ etcd: { endpoints: [...] } } at the top level, or true or false under an instance",
        "virtual_ipaddress" => "a list of addresses, e.g. [192.0.2.203, 192.0.2.204/24]",
        "track_script" | "track_interface" | "track_file" => {
            "a list of names, each NAME or { name: NAME, weight: -253..253 }"
        }
        "authentication" => "{ auth_type: PASS, auth_pass: PASSWORD }",
        _ => return None,
    })
}

/// serde's words for what a type wants, as a user would say them.
fn expectation_of_type(serde_expected: &str) -> String {
    let words = match serde_expected {
        "u8" => "a whole number 0..255",
        "u16" => "a whole number 0..65535",
        "u32" => "a whole number 0..4294967295",
        "u64" | "usize" => "a whole number 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "true or false",
        "a string" | "a borrowed string" | "string" | "a character" => "text",
        "a sequence" => "a list",
        "IP address" => "an IPv4 or IPv6 address",
        "path string" | "a path" => "a file path",
        other if other.starts_with("struct ") || other.starts_with("a map") || other == "map" => {
            "a map of keys"
        }
        other if other.starts_with("enum ") || other.starts_with("variant ") => {
            "one of the choices"
        }
        // Our own visitors already speak the user's language.
        other => return other.to_string(),
    };
    words.to_string()
}

/// The value the user wrote, as they wrote it.
fn written(actual: &Actual) -> String {
    match actual {
        Actual::Bool(v) => v.to_string(),
        Actual::Unsigned(v) => v.to_string(),
        Actual::Signed(v) => v.to_string(),
        Actual::Float(v) => v.to_string(),
        Actual::Char(v) => format!("{v:?}"),
        Actual::Str(v) => format!("{v:?}"),
        Actual::Seq => "a list".into(),
        Actual::Map => "a map".into(),
        Actual::Unit | Actual::Option => "nothing".into(),
        Actual::Bytes(_) => "bytes".into(),
        _ => "a value of another kind".into(),
    }
}

/// Choices as a user reads them: aliases that differ only in case shown once.
fn choices(names: &[&str]) -> String {
    let mut shown: Vec<&str> = Vec::new();
    for name in names {
        if !shown.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            shown.push(name);
        }
    }
    shown.join(", ")
}

/// A reading error's message, for the value at `path`.
pub fn describe(kind: &Kind, path: &[String]) -> String {
    let key = path.last().map(String::as_str).unwrap_or("");
    let under = |parent: &str| path.len() >= 2 && path[path.len() - 2] == parent;
    let expected = |serde_expected: &str| {
        let of_key = match key {
            // nftables' chain priority is not an instance's priority.
            "priority" if under("nftables") => {
                Some("a whole number (the chain priority; -1 by default)")
            }
            "table" if under("nftables") => {
                Some("a table name: a letter or _, then letters, digits, _ or .")
            }
            _ => expectation_of_key(key),
        };
        of_key
            .map(str::to_string)
            .unwrap_or_else(|| expectation_of_type(serde_expected))
    };
    // A value under auth_hmac's keys may be a key: never echoed.
    let secret = path.iter().any(|p| p == "auth_hmac") && path.iter().any(|p| p == "keys");
    let written = |actual: &Actual| {
        if secret {
            "a value not shown (it may hold a key)".to_string()
        } else {
            written(actual)
        }
    };
    match kind {
        Kind::InvalidType(actual, wanted) | Kind::InvalidValue(actual, wanted) => {
            format!("expected {}, got {}", expected(wanted), written(actual))
        }
        Kind::InvalidLength(length, wanted) => {
            format!("expected {}, got {length} items", expected(wanted))
        }
        Kind::UnknownVariant(got, names) => {
            format!("expected one of {}, got {got:?}", choices(names))
        }
        Kind::UnknownField(field, &[]) => {
            format!("unknown key {field:?}: nothing may be set here")
        }
        Kind::UnknownField(field, names) => {
            format!("unknown key {field:?}; expected one of {}", choices(names))
        }
        Kind::MissingField(field) => match expectation_of_key(field) {
            Some(wanted) => format!("missing key {field:?} ({wanted})"),
            None => format!("missing key {field:?}"),
        },
        Kind::DuplicateField(field) => format!("key {field:?} is set twice"),
        Kind::ISizeOutOfRange(v) => format!("{v} is out of range"),
        Kind::USizeOutOfRange(v) => format!("{v} is out of range"),
        Kind::Unsupported(actual) => format!("{} cannot be used here", written(actual)),
        Kind::UnsupportedKey(actual, _) => {
            format!("{} cannot be used as a key name", written(actual))
        }
        Kind::Message(message) => match expectation_of_key(key) {
            Some(wanted) => format!("expected {wanted} ({message})"),
            None => message.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(key: &str) -> Vec<String> {
        vec!["instances".into(), "VI_1".into(), key.into()]
    }

    #[test]
    fn bounded_keys_say_their_range() {
        let kind = Kind::InvalidValue(Actual::Unsigned(300), "u8".into());
        assert_eq!(
            describe(&kind, &path("virtual_router_id")),
            "expected 1..255, got 300"
        );
        assert_eq!(
            describe(&kind, &path("garp_master_repeat")),
            "expected a whole number 0..255, got 300"
        );
        let text = Kind::InvalidType(Actual::Str("high".into()), "u8".into());
        assert_eq!(
            describe(&text, &path("priority")),
            "expected 1..255, got \"high\""
        );
        assert_eq!(
            describe(&kind, &path("down_timer_adverts")),
            "expected 1..100, got 300"
        );
        // nftables' priority is a chain's, not an instance's.
        let chain = vec!["nftables".to_string(), "priority".to_string()];
        let words = Kind::InvalidType(Actual::Str("abc".into()), "i32".into());
        assert_eq!(
            describe(&words, &chain),
            "expected a whole number (the chain priority; -1 by default), got \"abc\""
        );
    }

    #[test]
    fn enums_list_their_choices_once() {
        let kind = Kind::UnknownVariant("MASTR".into(), &["MASTER", "master", "BACKUP", "backup"]);
        assert_eq!(
            describe(&kind, &path("state")),
            "expected one of MASTER, BACKUP, got \"MASTR\""
        );
    }

    #[test]
    fn no_rust_type_names() {
        for wanted in [
            "u8",
            "u16",
            "u32",
            "i32",
            "a boolean",
            "a sequence",
            "struct InstanceConfig",
            "enum AuthType",
        ] {
            let text = describe(
                &Kind::InvalidType(Actual::Map, wanted.into()),
                &path("garp_master_delay_unknown"),
            );
            for word in ["u8", "u16", "u32", "i32", "struct", "enum", "sequence"] {
                assert!(!text.contains(word), "{wanted}: {text}");
            }
        }
    }
}

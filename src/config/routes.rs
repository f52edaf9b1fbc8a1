//! keepalived's virtual_routes and virtual_rules lines, read into what the
//! routing actor adds (keepalived.conf(5); vrrp_iproute.c, vrrp_iprule.c):
//!
//! - route: `[blackhole|unreachable|prohibit] [src ADDR] [to] DEST[/LEN]
//!   [via|gw ADDR] [dev IFACE] [metric N] [table N] [proto N] [scope S] [no_track]`
//! - rule: `[from PREFIX] [to PREFIX] [table N] [priority N] [no_track]`

use std::net::IpAddr;

use crate::net::routes::{RouteKind, RouteSpec, RuleSpec, MAIN_TABLE};

/// The word after `option` in a keepalived line: `dev eth0` gives `eth0`.
pub(crate) fn value_after<'a>(
    words: &mut impl Iterator<Item = &'a str>,
    option: &str,
) -> Result<&'a str, String> {
    words
        .next()
        .ok_or(format!("{option}: expected a value after it"))
}

/// `ADDR` or `ADDR/LEN` read, the length not yet checked against the family.
pub(crate) fn address_and_length(text: &str) -> Result<(IpAddr, Option<u8>), String> {
    let (address, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{text:?}: expected ADDRESS or ADDRESS/LENGTH"))?;
    let len = len
        .map(|l| l.parse::<u8>())
        .transpose()
        .map_err(|_| format!("{text:?}: expected a prefix length after the /"))?;
    Ok((address, len))
}

/// `ADDR` or `ADDR/LEN`; no length means a host prefix.
fn prefix(text: &str) -> Result<(IpAddr, u8), String> {
    let (address, len) = address_and_length(text)?;
    let max = if address.is_ipv6() { 128 } else { 32 };
    match len {
        None => Ok((address, max)),
        Some(len) if len <= max => Ok((address, len)),
        Some(_) => Err(format!("{text:?}: expected a prefix length 0..{max}")),
    }
}

fn address(option: &str, text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("{option}: expected an IPv4 or IPv6 address, got {text:?}"))
}

fn number<T: std::str::FromStr>(option: &str, text: &str, range: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{option}: expected {range}, got {text:?}"))
}

/// Table by number or by the names iproute2 knows.
fn table(text: &str) -> Result<u32, String> {
    match text {
        "main" => Ok(MAIN_TABLE),
        "local" => Ok(255),
        "default" => Ok(253),
        _ => number::<u32>("table", text, "1..4294967295, main, local or default").and_then(|t| {
            if t == 0 {
                Err("table: expected 1..4294967295, got 0".into())
            } else {
                Ok(t)
            }
        }),
    }
}

fn scope(text: &str) -> Result<u8, String> {
    match text {
        "global" | "universe" => Ok(0),
        "site" => Ok(200),
        "link" => Ok(253),
        "host" => Ok(254),
        "nowhere" => Ok(255),
        other => Err(format!(
            "scope {other:?}: expected one of global, site, link, host, nowhere"
        )),
    }
}

pub fn parse_route(line: &str) -> Result<RouteSpec, String> {
    let mut words = line.split_whitespace().peekable();
    let kind = match words.peek().copied() {
        Some("blackhole") => RouteKind::Blackhole,
        Some("unreachable") => RouteKind::Unreachable,
        Some("prohibit") => RouteKind::Prohibit,
        _ => RouteKind::Unicast,
    };
    if kind != RouteKind::Unicast {
        words.next();
    }
    let mut destination = None;
    let mut route = RouteSpec {
        kind,
        destination: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        prefix_len: 0,
        gateway: None,
        dev: None,
        source: None,
        metric: None,
        table: MAIN_TABLE,
        protocol: None,
        scope: None,
        track: true,
    };
    while let Some(word) = words.next() {
        let mut value = || value_after(&mut words, word);
        match word {
            "src" => route.source = Some(address("src", value()?)?),
            "to" => destination = Some(prefix(value()?)?),
            "via" | "gw" => route.gateway = Some(address(word, value()?)?),
            "dev" | "oif" => route.dev = Some(value()?.to_string()),
            "metric" | "preference" | "priority" => {
                route.metric = Some(number(word, value()?, "0..4294967295")?)
            }
            "table" => route.table = table(value()?)?,
            "proto" | "protocol" => route.protocol = Some(number(word, value()?, "0..255")?),
            "scope" => route.scope = Some(scope(value()?)?),
            "no_track" => route.track = false,
            other if destination.is_none() && !other.chars().all(char::is_alphabetic) => {
                destination = Some(prefix(other)?)
            }
            other => {
                return Err(format!(
                    "unknown option {other:?}: expected src, to, via, dev, metric, table, proto, scope or no_track"
                ))
            }
        }
    }
    let (dest, len) = destination.ok_or("expected a destination, e.g. 198.51.100.0/24")?;
    (route.destination, route.prefix_len) = (dest, len);
    for (what, other) in [("via", route.gateway), ("src", route.source)] {
        if other.is_some_and(|o| o.is_ipv6() != dest.is_ipv6()) {
            return Err(format!("{what}: not of the destination's family"));
        }
    }
    if kind != RouteKind::Unicast && (route.gateway.is_some() || route.dev.is_some()) {
        return Err("a blackhole, unreachable or prohibit route has no via or dev".into());
    }
    Ok(route)
}

pub fn parse_rule(line: &str) -> Result<RuleSpec, String> {
    let mut words = line.split_whitespace();
    let mut rule = RuleSpec {
        ipv6: false,
        from: None,
        to: None,
        table: MAIN_TABLE,
        priority: None,
        track: true,
    };
    let mut table_given = false;
    while let Some(word) = words.next() {
        let mut value = || value_after(&mut words, word);
        match word {
            "from" => rule.from = Some(prefix(value()?)?),
            "to" => rule.to = Some(prefix(value()?)?),
            "table" | "lookup" => {
                rule.table = table(value()?)?;
                table_given = true;
            }
            "priority" | "preference" | "pref" => {
                rule.priority = Some(number(word, value()?, "0..4294967295")?)
            }
            "no_track" => rule.track = false,
            other => {
                return Err(format!(
                    "unknown option {other:?}: expected from, to, table, priority or no_track"
                ))
            }
        }
    }
    let families: Vec<bool> = [rule.from, rule.to]
        .iter()
        .flatten()
        .map(|(a, _)| a.is_ipv6())
        .collect();
    if families.is_empty() {
        return Err("expected from PREFIX or to PREFIX".into());
    }
    if families.iter().any(|f| *f != families[0]) {
        return Err("from and to are of different families".into());
    }
    if !table_given {
        return Err("expected table N: a rule that looks up main changes nothing".into());
    }
    rule.ipv6 = families[0];
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_route_lines() {
        let r = parse_route("src 192.0.2.203 to 198.51.100.0/24 via 192.0.2.1 dev eth1 metric 5 table 100 proto 199").unwrap();
        assert_eq!(r.destination, "198.51.100.0".parse::<IpAddr>().unwrap());
        assert_eq!(
            (r.prefix_len, r.table, r.metric, r.protocol),
            (24, 100, Some(5), Some(199))
        );
        assert_eq!(r.dev.as_deref(), Some("eth1"));
        let b = parse_route("blackhole 203.0.113.0/24").unwrap();
        assert_eq!((b.kind, b.table), (RouteKind::Blackhole, MAIN_TABLE));
        let host = parse_route("198.51.100.7 dev lo table 198 no_track").unwrap();
        assert_eq!((host.prefix_len, host.track), (32, false));
        assert!(parse_route("198.51.100.0/24 via 2001:db8::1")
            .unwrap_err()
            .contains("family"));
        assert!(parse_route("via 192.0.2.1")
            .unwrap_err()
            .contains("destination"));
        assert!(parse_route("198.51.100.0/24 weight 3")
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse_route("198.51.100.0/24 table 0").is_err());
    }

    #[test]
    fn keepalived_rule_lines() {
        let r = parse_rule("from 192.0.2.0/24 table 100 priority 1000").unwrap();
        assert_eq!(r.from, Some(("192.0.2.0".parse().unwrap(), 24)));
        assert_eq!((r.table, r.priority, r.ipv6), (100, Some(1000), false));
        assert!(parse_rule("to 2001:db8::/32 table main").unwrap().ipv6);
        assert!(parse_rule("from 192.0.2.0/24 to 2001:db8::/32 table 1").is_err());
        assert!(parse_rule("table 100").is_err());
        assert!(parse_rule("from 192.0.2.0/24")
            .unwrap_err()
            .contains("table"));
    }
}

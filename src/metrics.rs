//! Prometheus metrics, formatted from the same snapshot `vipd status`
//! shows (prometheus-client's text encoding). Names and labels are listed
//! in README; config/grafana-vipd.json is built on exactly these.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use crate::status::Snapshot;

type Labels = Vec<(String, String)>;

/// The states an instance can be in, as the state metric labels them.
const STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

/// Why an instance can be in FAULT (proto's FaultCause::kind).
const FAULT_CAUSES: [&str; 5] = [
    "link_down",
    "unavailable",
    "no_unicast_peers",
    "sync_group",
    "tracker",
];

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The text a scrape gets.
pub fn render(snapshot: &Snapshot) -> String {
    let mut registry = Registry::with_prefix("vipd");
    let build = Family::<Labels, Gauge>::default();
    build
        .get_or_create(&labels(&[("version", &snapshot.version)]))
        .set(1);
    registry.register("build_info", "vipd's version", build);

    let state = Family::<Labels, Gauge>::default();
    let priority = Family::<Labels, Gauge>::default();
    let base_priority = Family::<Labels, Gauge>::default();
    let transitions = Family::<Labels, Counter>::default();
    let sent = Family::<Labels, Counter>::default();
    let received = Family::<Labels, Counter>::default();
    let dropped = Family::<Labels, Counter>::default();
    let announced = Family::<Labels, Counter>::default();
    let held = Family::<Labels, Gauge>::default();
    let fault = Family::<Labels, Gauge>::default();
    let send_errors = Family::<Labels, Counter>::default();
    let active_key = Family::<Labels, Gauge>::default();
    let skew = Family::<Labels, Gauge>::default();
    for i in &snapshot.instances {
        let instance = labels(&[("vrrp_instance", &i.name)]);
        for s in STATES {
            let value = i64::from(i.state == s);
            state
                .get_or_create(&labels(&[("vrrp_instance", &i.name), ("state", s)]))
                .set(value);
        }
        priority
            .get_or_create(&instance)
            .set(i64::from(i.effective_priority));
        base_priority
            .get_or_create(&instance)
            .set(i64::from(i.base_priority));
        for s in STATES {
            let count = i.transitions_total.get(s).copied().unwrap_or(0);
            transitions
                .get_or_create(&labels(&[("vrrp_instance", &i.name), ("to", s)]))
                .inc_by(count);
        }
        sent.get_or_create(&instance).inc_by(i.adverts_sent);
        received.get_or_create(&instance).inc_by(i.adverts_received);
        for (reason, count) in &i.drops {
            dropped
                .get_or_create(&labels(&[("vrrp_instance", &i.name), ("reason", reason)]))
                .inc_by(*count);
        }
        announced
            .get_or_create(&instance)
            .inc_by(i.announcements_sent);
        held.get_or_create(&instance).set(i.addresses_held as i64);
        for cause in FAULT_CAUSES {
            let value = i64::from(i.state == "FAULT" && i.fault_kind.as_deref() == Some(cause));
            fault
                .get_or_create(&labels(&[("vrrp_instance", &i.name), ("cause", cause)]))
                .set(value);
        }
        send_errors.get_or_create(&instance).inc_by(i.send_errors);
        if let Some(h) = &i.auth_hmac {
            active_key
                .get_or_create(&instance)
                .set(i64::from(h.active_key));
            if let Some(s) = h.clock_skew_secs {
                skew.get_or_create(&instance).set(s);
            }
        }
    }
    registry.register(
        "instance_state",
        "1 for the state the instance is in",
        state,
    );
    registry.register("instance_priority", "effective priority", priority);
    registry.register(
        "instance_base_priority",
        "configured priority",
        base_priority,
    );
    registry.register(
        "transitions",
        "state changes by the state entered",
        transitions,
    );
    registry.register("adverts_sent", "adverts sent", sent);
    registry.register(
        "adverts_received",
        "adverts received and accepted",
        received,
    );
    registry.register(
        "dropped_packets",
        "received packets dropped, by reason",
        dropped,
    );
    registry.register(
        "announcements_sent",
        "gratuitous ARP / unsolicited NA bursts' packets sent",
        announced,
    );
    registry.register(
        "virtual_addresses_held",
        "addresses this instance holds now",
        held,
    );
    registry.register(
        "instance_fault",
        "1 for the cause of the FAULT the instance is in",
        fault,
    );
    registry.register(
        "advert_send_errors",
        "adverts the kernel refused to send",
        send_errors,
    );
    registry.register(
        "auth_hmac_active_key",
        "the auth_hmac key id adverts are signed with",
        active_key,
    );
    registry.register(
        "auth_hmac_clock_skew_seconds",
        "seconds this host's clock was ahead of the last verified sender's",
        skew,
    );

    let up = Family::<Labels, Gauge>::default();
    let runs = Family::<Labels, Counter>::default();
    let failures = Family::<Labels, Counter>::default();
    let duration = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    let processes = Family::<Labels, Gauge>::default();
    for c in &snapshot.checks {
        let check = labels(&[("check", &c.name)]);
        if let Some(running) = c.processes {
            processes.get_or_create(&check).set(i64::from(running));
        }
        up.get_or_create(&check).set(i64::from(c.up));
        runs.get_or_create(&check).inc_by(c.runs);
        failures.get_or_create(&check).inc_by(c.failures);
        duration.get_or_create(&check).set(c.last_duration_seconds);
    }
    registry.register("check_up", "1 while the check counts as up", up);
    registry.register("check_runs", "check runs", runs);
    registry.register(
        "check_processes",
        "a process check's matching processes running now",
        processes,
    );
    registry.register("check_failures", "failed check runs", failures);
    registry.register(
        "check_duration_seconds",
        "how long the last run took",
        duration,
    );

    let accepted = Family::<Labels, Counter>::default();
    let open = Family::<Labels, Gauge>::default();
    let limit_reached = Family::<Labels, Counter>::default();
    let accept_errors = Family::<Labels, Counter>::default();
    for (name, l) in &snapshot.listeners {
        let listener = labels(&[("listener", name)]);
        accepted.get_or_create(&listener).inc_by(l.accepted);
        open.get_or_create(&listener).set(l.open as i64);
        limit_reached
            .get_or_create(&listener)
            .inc_by(l.limit_reached);
        accept_errors
            .get_or_create(&listener)
            .inc_by(l.accept_errors);
    }
    registry.register(
        "listener_connections",
        "connections accepted (control socket, metrics)",
        accepted,
    );
    registry.register("listener_open", "connections being served now", open);
    registry.register(
        "listener_limit_reached",
        "times a connection waited because the limit were being served",
        limit_reached,
    );
    registry.register(
        "listener_accept_errors",
        "accept() failures, such as running out of descriptors",
        accept_errors,
    );

    let unrouted = Family::<Labels, Counter>::default();
    for r in &snapshot.receivers {
        for (reason, count) in [("truncated", r.truncated), ("unknown_vrid", r.unknown_vrid)] {
            unrouted
                .get_or_create(&labels(&[
                    ("interface", &r.interface),
                    ("family", &r.family),
                    ("reason", reason),
                ]))
                .inc_by(count);
        }
    }
    registry.register(
        "receiver_unrouted_packets",
        "VRRP packets a receiver gave to no instance: too short for a VRID, or for a VRID not run on this interface",
        unrouted,
    );

    if let Some(q) = &snapshot.quorum {
        let lease_valid = Gauge::<f64, AtomicU64>::default();
        lease_valid.set(q.lease_valid_seconds.unwrap_or(0.0));
        registry.register(
            "quorum_lease_valid_seconds",
            "how long the VIPs may stay without another keepalive answered by etcd (0: no lease)",
            lease_valid,
        );
        if let Some(age) = q.last_keepalive_age_seconds {
            let keepalive_age = Gauge::<f64, AtomicU64>::default();
            keepalive_age.set(age);
            registry.register(
                "quorum_keepalive_age_seconds",
                "since etcd last answered a keepalive of the lease in use",
                keepalive_age,
            );
        }
        let errors: Counter = Counter::default();
        errors.inc_by(q.errors_total);
        registry.register("quorum_errors", "failed etcd calls", errors);
        let held = Family::<Labels, Gauge>::default();
        for key in &q.keys {
            held.get_or_create(&labels(&[("key", &key.key)]))
                .set(i64::from(key.held));
        }
        registry.register("quorum_key_held", "1 while this host holds the key", held);
    }

    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut text, &registry);
    text_format(&text)
}

/// prometheus-client writes OpenMetrics, where a counter family `x` has
/// samples `x_total` and the text ends with `# EOF`. The Prometheus text
/// format (0.0.4), which promtool checks and every scraper reads, names
/// the family as its samples: rename counter families, drop `# EOF`.
fn text_format(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{CheckStatus, InstanceStatus};

    #[test]
    fn every_family_is_there_with_its_labels() {
        let snapshot = Snapshot {
            version: "0.1.0".into(),
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                state: "MASTER".into(),
                effective_priority: 80,
                base_priority: 100,
                adverts_sent: 7,
                transitions_total: [("MASTER".to_string(), 2)].into(),
                drops: [("bad_ttl".to_string(), 3)].into(),
                addresses_held: 1,
                ..InstanceStatus::default()
            }],
            checks: vec![CheckStatus {
                name: "web".into(),
                up: true,
                runs: 5,
                ..CheckStatus::default()
            }],
            quorum: Some(crate::status::QuorumStatus {
                lease_valid_seconds: Some(1.25),
                errors_total: 2,
                keys: vec![crate::status::QuorumKeyStatus {
                    key: "/vipd/VI_1".into(),
                    held: true,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Snapshot::default()
        };
        let text = render(&snapshot);
        for line in [
            "vipd_build_info{version=\"0.1.0\"} 1",
            "vipd_instance_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1",
            "vipd_instance_state{vrrp_instance=\"VI_1\",state=\"BACKUP\"} 0",
            "vipd_instance_priority{vrrp_instance=\"VI_1\"} 80",
            "vipd_transitions_total{vrrp_instance=\"VI_1\",to=\"MASTER\"} 2",
            "vipd_adverts_sent_total{vrrp_instance=\"VI_1\"} 7",
            "vipd_dropped_packets_total{vrrp_instance=\"VI_1\",reason=\"bad_ttl\"} 3",
            "vipd_virtual_addresses_held{vrrp_instance=\"VI_1\"} 1",
            "vipd_check_runs_total{check=\"web\"} 5",
            "vipd_quorum_lease_valid_seconds 1.25",
            "vipd_quorum_errors_total 2",
            "vipd_quorum_key_held{key=\"/vipd/VI_1\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(
            text.contains("# TYPE vipd_adverts_sent_total counter"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }

    /// config/grafana-vipd.json is built on exactly the names served.
    #[test]
    fn the_dashboard_uses_only_served_names() {
        let served = render(&Snapshot {
            instances: vec![InstanceStatus {
                drops: [("bad_ttl".to_string(), 1)].into(),
                ..InstanceStatus::default()
            }],
            checks: vec![CheckStatus::default()],
            ..Snapshot::default()
        });
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/grafana-vipd.json");
        let dashboard = std::fs::read_to_string(path).unwrap();
        let mut used = 0;
        for (at, _) in dashboard.match_indices("vipd_") {
            let name: String = dashboard[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                served.contains(&format!("# TYPE {name} ")),
                "the dashboard uses {name}, which vipd does not serve"
            );
            used += 1;
        }
        assert!(used >= 10, "only {used} uses found");
    }
}

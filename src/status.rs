//! What `vipd status` shows: one JSON snapshot of the running daemon, as
//! the control socket writes it, and its rendering as a table. The same
//! snapshot is what metrics will be formatted from.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The whole daemon.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: String,
    pub pid: u32,
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub taken_at: f64,
    pub instances: Vec<InstanceStatus>,
    pub checks: Vec<CheckStatus>,
    /// The last reload (SIGHUP or `vipd reload`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload: Option<ReloadStatus>,
    /// The control socket's and the metrics endpoint's connections.
    #[serde(default)]
    pub listeners: BTreeMap<String, ListenerStatus>,
    /// Packets each receiver (interface and family) could give to no
    /// instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<ReceiverStatus>,
    /// The quorum fence (etcd), if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<QuorumStatus>,
    /// The SNMP subagent's session with snmpd, if `snmp` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snmp: Option<SnmpStatus>,
    /// Sync groups (keepalived's vrrp_sync_group), in configuration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_groups: Vec<SyncGroupStatus>,
    /// The whole snapshot was larger than the control socket sends:
    /// histories, and then instances, were left out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One receiver's packets that reached no instance, since start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverStatus {
    pub interface: String,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// Too short to carry a VRID.
    pub truncated: u64,
    /// For a VRID no instance runs on this interface (logged only with
    /// log_unknown_vrids).
    pub unknown_vrid: u64,
}

/// One listener's connections since start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerStatus {
    pub accepted: u64,
    /// Served now.
    pub open: u64,
    /// Times a connection had to wait because the limit were being served.
    pub limit_reached: u64,
    /// accept() failures (out of descriptors, say).
    pub accept_errors: u64,
}

/// The SNMP subagent: its AgentX session with the master agent (snmpd).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SnmpStatus {
    /// Where the master agent listens (`unix:PATH`, `tcp:HOST:PORT`).
    pub master: String,
    /// Registered with the master agent now.
    pub connected: bool,
    /// Sessions opened since start.
    pub sessions: u64,
    /// Times the master agent could not be reached or was lost.
    pub outages: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
    /// Requests answered.
    pub requests: u64,
    pub traps_sent: u64,
    /// State changes whose traps were not sent (no session then, or the
    /// subagent fell behind).
    pub traps_lost: u64,
    /// Sessions dropped for a malformed or oversized packet.
    pub protocol_errors: u64,
    /// Subtrees the master refused to register (another subagent holds
    /// them), retried while the session lasts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// How the last reload went: `vipd reload` waits for this to change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadStatus {
    /// Seconds since the Unix epoch when it finished.
    pub at: f64,
    /// Counts every reload asked for since start, applied or refused.
    pub sequence: u64,
    pub applied: bool,
    /// What changed, or why nothing did.
    pub summary: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub state: String,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// Who is master as this host sees it: itself, the master it defers
    /// to, or nobody known.
    pub master: Option<String>,
    pub virtual_addresses: Vec<String>,
    /// Seconds since the Unix epoch when it entered its state.
    pub since: f64,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Adverts with priority 0 (a master leaving) heard, and sent.
    #[serde(default)]
    pub priority_zero_received: u64,
    #[serde(default)]
    pub priority_zero_sent: u64,
    /// Dropped packets by reason (only reasons that happened).
    pub drops: BTreeMap<String, u64>,
    /// The latest first.
    pub transitions: Vec<TransitionRecord>,
    /// Every transition since start, by the state entered.
    pub transitions_total: BTreeMap<String, u64>,
    /// Gratuitous ARP / unsolicited NA packets sent.
    pub announcements_sent: u64,
    /// Addresses held now (the master's).
    pub addresses_held: usize,
    /// Why the instance is in FAULT (or would be, were it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// The kind of that reason, for a metric label: link_down,
    /// unavailable, no_unicast_peers, sync_group, tracker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_kind: Option<String>,
    /// Adverts the kernel refused to send.
    #[serde(default)]
    pub send_errors: u64,
    /// The quorum fence, if this instance is fenced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<InstanceFenceStatus>,
    /// keepalived 2.4's HMAC-signed adverts, if configured (key ids
    /// only: never a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_hmac: Option<AuthHmacStatus>,
    /// The kernel's index of the link adverts leave from (0: none yet);
    /// the RFC VRRP MIBs index their rows by it.
    #[serde(default)]
    pub ifindex: u32,
    /// The address adverts are sent from (none while it is not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_address: Option<String>,
    /// The configured advert interval, in centiseconds.
    #[serde(default)]
    pub advert_interval_cs: u32,
    #[serde(default)]
    pub preempt: bool,
    #[serde(default)]
    pub preempt_delay_secs: f64,
    /// Accept mode (traffic to the addresses is not dropped).
    #[serde(default)]
    pub accept: bool,
    /// VRRPv2 authentication: 0 none, 1 simple text password (RFC 2787's
    /// numbering less one, as keepalived's auth_type).
    #[serde(default)]
    pub auth_type: u8,
    /// Why it last became master, as RFC 6527's
    /// vrrpv3StatisticsNewMasterReason: 0 never, 1 priority (owner or
    /// startup), 2 preempted, 3 master no response.
    #[serde(default)]
    pub new_master_reason: u8,
    /// The configured state (`state MASTER` or `BACKUP`), which
    /// keepalived reports as vrrpInstanceInitialState.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub initial_state: String,
    /// sysUpTime (centiseconds of the subagent's monotonic clock) when it
    /// last left Initialize: RFC 2787's vrrpOperVirtualRouterUpTime and
    /// RFC 6527's vrrpv3OperationsUpTime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_since_cs: Option<u32>,
    /// What KEEPALIVED-MIB's vrrpInstanceTable shows of the configuration
    /// besides the above: read by the SNMP subagent in the daemon, not
    /// written to the control socket.
    #[serde(skip)]
    pub setup: InstanceSetup,
}

/// An instance's configuration as vrrpInstanceTable shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceSetup {
    /// The sync group it is a member of.
    pub sync_group: Option<String>,
    /// It tracks interfaces (`track_interface`).
    pub tracks_interfaces: bool,
    /// `garp_master_delay`, whole seconds.
    pub garp_delay_secs: u32,
    pub notify: NotifyCommands,
    /// `notify_deleted`: a removed instance notifies DELETED.
    pub notify_deleted: bool,
    /// Where its adverts go; `None` with unicast peers.
    pub multicast_group: Option<std::net::IpAddr>,
    /// `v3_checksum_as_v2`.
    pub v3_checksum_as_v2: bool,
}

/// Notify scripts, each as keepalived's SNMP shows a command line
/// (lib/notify.c cmd_str_r: every word in single quotes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotifyCommands {
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub stop: Option<String>,
    /// `notify`, run on every change.
    pub any: Option<String>,
    pub master_rx_lower_pri: Option<String>,
    pub deleted: Option<String>,
}

impl NotifyCommands {
    /// keepalived's notify_exec: some script is set.
    pub fn any_set(&self) -> bool {
        [
            &self.master,
            &self.backup,
            &self.fault,
            &self.stop,
            &self.any,
            &self.master_rx_lower_pri,
            &self.deleted,
        ]
        .iter()
        .any(|c| c.is_some())
    }
}

/// A sync group: its state and members.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    pub name: String,
    /// MASTER, BACKUP or FAULT.
    pub state: String,
    /// Its instances, in the group's order.
    pub members: Vec<String>,
    /// `sync_group_tracking_weight`: members keep their trackers' weights.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tracking_weight: bool,
    /// Its notify scripts (SNMP only, as the instances').
    #[serde(skip)]
    pub notify: NotifyCommands,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthHmacStatus {
    /// enforce, permissive or receive-only.
    pub mode: String,
    pub active_key: u8,
    pub key_ids: Vec<u8>,
    /// `time` or `monotonic`.
    pub anti_replay: String,
    /// The freshness window (time mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window_secs: Option<u32>,
    /// Seconds our clock was ahead of the last sender whose advert
    /// verified (negative: behind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_secs: Option<i64>,
}

/// One instance's fence.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceFenceStatus {
    pub key: String,
    /// The key is ours.
    pub key_held: bool,
    /// Master by VRRP, without its addresses until it holds the key.
    pub waiting: bool,
    /// Holding through a quorum loss (on_quorum_loss: keep).
    pub kept: bool,
}

/// The quorum fence: the daemon's lease in etcd and the keys it follows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuorumStatus {
    pub endpoints: Vec<String>,
    /// The member vipd talks to now (one at a time; the next on a failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_in_use: Option<String>,
    /// What this daemon writes in the keys it holds.
    pub holder_name: String,
    /// The live lease (hex, as etcdctl prints it); none while there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_id: Option<String>,
    pub lease_ttl_seconds: u64,
    /// How long the addresses may stay without another keepalive answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_valid_seconds: Option<f64>,
    /// Since etcd last answered a keepalive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_keepalive_age_seconds: Option<f64>,
    pub errors_total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// release or keep.
    pub on_quorum_loss: String,
    pub keys: Vec<QuorumKeyStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuorumKeyStatus {
    pub key: String,
    /// The instances fenced by it here.
    #[serde(default)]
    pub instances: Vec<String>,
    /// Who holds it, as etcd says; none when free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// This daemon holds it.
    pub held: bool,
    /// A master here wants it.
    pub wanted: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub at: f64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    pub name: String,
    pub up: bool,
    pub runs: u64,
    pub failures: u64,
    pub last_failure: Option<String>,
    pub last_duration_seconds: f64,
    /// A process check: how many matching processes run now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u32>,
}

/// Seconds since the Unix epoch, as the snapshot counts time.
pub fn epoch_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn ago(now: f64, at: f64) -> String {
    let seconds = (now - at).max(0.0);
    let rounded = Duration::from_secs(seconds.round() as u64);
    format!("{} ago", humantime::format_duration(rounded))
}

/// The table `vipd status` prints.
pub fn render(snapshot: &Snapshot) -> String {
    let now = snapshot.taken_at;
    let mut out = String::new();
    if snapshot.truncated {
        out.push_str("(the daemon's snapshot was too large to send whole: histories, and perhaps some instances, are left out)\n");
    }
    for i in &snapshot.instances {
        let _ = writeln!(
            out,
            "{}  {}  VRID {} on {} (VRRPv{})",
            i.name, i.state, i.vrid, i.interface, i.version
        );
        let _ = writeln!(
            out,
            "  priority        {} (base {})",
            i.effective_priority, i.base_priority
        );
        let _ = writeln!(
            out,
            "  master          {}",
            i.master.as_deref().unwrap_or("unknown")
        );
        let _ = writeln!(out, "  addresses       {}", i.virtual_addresses.join(" "));
        let _ = writeln!(
            out,
            "  in state for    {}",
            ago(now, i.since).trim_end_matches(" ago")
        );
        if let (Some(fault), "FAULT") = (&i.fault, i.state.as_str()) {
            let _ = writeln!(out, "  fault           {fault}");
        }
        if let Some(last) = i.transitions.first() {
            let _ = writeln!(
                out,
                "  last change     {} -> {} ({}), {}",
                last.from,
                last.to,
                last.reason,
                ago(now, last.at)
            );
        }
        let _ = writeln!(
            out,
            "  adverts         {} sent, {} received",
            i.adverts_sent, i.adverts_received
        );
        let drops: Vec<String> = i.drops.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let drops = if drops.is_empty() {
            "none".to_string()
        } else {
            drops.join(", ")
        };
        let _ = writeln!(out, "  dropped         {drops}");
        if i.send_errors > 0 {
            let _ = writeln!(out, "  send errors     {}", i.send_errors);
        }
        if let Some(h) = &i.auth_hmac {
            let ids: Vec<String> = h.key_ids.iter().map(u8::to_string).collect();
            let window = h
                .time_window_secs
                .map(|w| format!(" {w} s"))
                .unwrap_or_default();
            let skew = h
                .clock_skew_secs
                .map(|s| format!(", clock skew {s} s"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  auth_hmac       {}, signs with key {} (keys {}), anti_replay {}{window}{skew}",
                h.mode,
                h.active_key,
                ids.join(", "),
                h.anti_replay
            );
        }
        if let Some(f) = &i.fence {
            let what = match (f.key_held, f.waiting, f.kept) {
                (_, _, true) => "kept through a quorum loss (on_quorum_loss: keep)",
                (true, true, _) => "held; addresses soon (a former holder's kernel lifetime)",
                (true, false, _) => "held",
                (false, true, _) => "master without addresses, waiting for the key",
                (false, false, _) => "not held",
            };
            let _ = writeln!(out, "  quorum key      {} {what}", f.key);
        }
        if i.transitions.len() > 1 {
            let _ = writeln!(out, "  transitions");
            for t in &i.transitions {
                let _ = writeln!(
                    out,
                    "    {:>12}  {} -> {}  {}",
                    ago(now, t.at),
                    t.from,
                    t.to,
                    t.reason
                );
            }
        }
        out.push('\n');
    }
    if !snapshot.checks.is_empty() {
        let _ = writeln!(out, "checks");
        for c in &snapshot.checks {
            let state = if c.up { "up" } else { "down" };
            if let Some(running) = c.processes {
                let _ = writeln!(out, "  {:<14}  {:<4}  {running} running", c.name, state);
                continue;
            }
            let last = c
                .last_failure
                .as_deref()
                .map(|why| format!(", last failure: {why}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<14}  {:<4}  {} runs, {} failed{last}",
                c.name, state, c.runs, c.failures
            );
        }
    }
    if let Some(q) = &snapshot.quorum {
        let lease = match (&q.lease_id, q.lease_valid_seconds) {
            (Some(id), Some(valid)) => {
                let age = q
                    .last_keepalive_age_seconds
                    .map(|a| format!(", last keepalive answered {a:.1} s ago"))
                    .unwrap_or_default();
                format!(
                    "lease {id} ({} s), valid {valid:.1} s more{age}",
                    q.lease_ttl_seconds
                )
            }
            _ => "no lease: fenced masters hold no address".to_string(),
        };
        let _ = writeln!(out, "quorum (etcd)     {lease}");
        let member = q.endpoint_in_use.as_deref().unwrap_or("none (connecting)");
        let _ = writeln!(
            out,
            "                  member {member}; as {}; on_quorum_loss {}",
            q.holder_name, q.on_quorum_loss
        );
        for key in &q.keys {
            let holder = match (&key.holder, key.held) {
                (_, true) => "this host".to_string(),
                (Some(holder), false) => holder.clone(),
                (None, false) => "nobody".to_string(),
            };
            let _ = writeln!(out, "                  {}  held by {holder}", key.key);
        }
        if q.errors_total > 0 {
            let last = q.last_error.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "                  {} errors; last: {last}",
                q.errors_total
            );
        }
    }
    if let Some(snmp) = &snapshot.snmp {
        let session = if snmp.connected {
            "registered"
        } else {
            "not connected"
        };
        let last = snmp
            .last_error
            .as_deref()
            .filter(|_| !snmp.connected)
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "snmp (AgentX)     {session} at {}; {} requests, {} traps sent, {} lost, {} outages{last}",
            snmp.master, snmp.requests, snmp.traps_sent, snmp.traps_lost, snmp.outages
        );
        if snmp.connected && !snmp.refused.is_empty() {
            let _ = writeln!(
                out,
                "                  not registered (another subagent holds them; retried): {}",
                snmp.refused.join(" ")
            );
        }
    }
    if let Some(reload) = &snapshot.reload {
        let outcome = if reload.applied { "applied" } else { "refused" };
        let mut lines = reload.summary.lines();
        let _ = writeln!(
            out,
            "last reload       {outcome} {}: {}",
            ago(now, reload.at),
            lines.next().unwrap_or("")
        );
        for line in lines {
            let _ = writeln!(out, "                  {line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big_snapshot(instances: usize) -> Snapshot {
        let instance = |i: usize| InstanceStatus {
            name: format!("VI_{i}"),
            transitions: vec![
                TransitionRecord {
                    reason: "x".repeat(200),
                    ..TransitionRecord::default()
                };
                16
            ],
            ..InstanceStatus::default()
        };
        Snapshot {
            instances: (0..instances).map(instance).collect(),
            ..Snapshot::default()
        }
    }

    /// Cut at the byte cap, the JSON was invalid and `vipd status`
    /// failed; now what is sent is always a snapshot.
    #[test]
    fn a_snapshot_over_the_cap_is_still_a_snapshot() {
        let snapshot = big_snapshot(100);
        let whole = encode_capped(&snapshot, usize::MAX);
        assert_eq!(
            serde_json::from_slice::<Snapshot>(&whole).unwrap(),
            snapshot
        );
        for cap in [whole.len() / 2, 20_000, 2_000, 10] {
            let bytes = encode_capped(&snapshot, cap);
            let read: Snapshot = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("cap {cap}: not JSON: {e}"));
            assert!(read.truncated, "cap {cap}");
            assert!(
                bytes.len() <= cap.max(200),
                "cap {cap}: {} bytes",
                bytes.len()
            );
            assert!(read.instances.iter().all(|i| i.transitions.is_empty()));
        }
        // Without histories 100 instances fit in half: all are kept.
        let half: Snapshot =
            serde_json::from_slice(&encode_capped(&snapshot, whole.len() / 2)).unwrap();
        assert_eq!(half.instances.len(), 100);
        assert!(render(&half).starts_with("(the daemon's snapshot was too large"));
    }

    #[test]
    fn renders_the_snmp_session() {
        let mut snapshot = Snapshot {
            snmp: Some(SnmpStatus {
                master: "unix:/var/agentx/master".into(),
                connected: false,
                outages: 1,
                last_error: Some("cannot connect: No such file or directory".into()),
                ..SnmpStatus::default()
            }),
            ..Snapshot::default()
        };
        assert_eq!(
            render(&snapshot),
            "snmp (AgentX)     not connected at unix:/var/agentx/master; 0 requests, 0 traps sent, 0 lost, 1 outages; last error: cannot connect: No such file or directory\n"
        );
        if let Some(snmp) = snapshot.snmp.as_mut() {
            snmp.connected = true;
            snmp.requests = 7;
        }
        assert!(render(&snapshot)
            .starts_with("snmp (AgentX)     registered at unix:/var/agentx/master; 7 requests"));
        if let Some(snmp) = snapshot.snmp.as_mut() {
            snmp.refused = vec![".1.3.6.1.2.1.68".into()];
        }
        assert!(render(&snapshot)
            .contains("not registered (another subagent holds them; retried): .1.3.6.1.2.1.68\n"));
    }

    #[test]
    fn renders_the_last_reload() {
        let snapshot = Snapshot {
            taken_at: 1000.0,
            reload: Some(ReloadStatus {
                at: 990.0,
                sequence: 2,
                applied: false,
                summary: "the new configuration has errors:\nvipd.yaml:3: ...".into(),
            }),
            ..Snapshot::default()
        };
        assert_eq!(
            render(&snapshot),
            "last reload       refused 10s ago: the new configuration has errors:\n                  vipd.yaml:3: ...\n"
        );
    }

    #[test]
    fn renders_state_master_reason_and_history() {
        let snapshot = Snapshot {
            taken_at: 1000.0,
            instances: vec![InstanceStatus {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 2,
                state: "BACKUP".into(),
                base_priority: 90,
                effective_priority: 90,
                master: Some("192.0.2.201".into()),
                virtual_addresses: vec!["192.0.2.203/32".into()],
                since: 990.0,
                drops: BTreeMap::from([("auth_mismatch".into(), 3)]),
                transitions: vec![
                    TransitionRecord {
                        at: 990.0,
                        from: "MASTER".into(),
                        to: "BACKUP".into(),
                        reason: "advert from 192.0.2.201 with priority 100 wins".into(),
                    },
                    TransitionRecord {
                        at: 900.0,
                        from: "INIT".into(),
                        to: "BACKUP".into(),
                        reason: "startup".into(),
                    },
                ],
                ..InstanceStatus::default()
            }],
            ..Snapshot::default()
        };
        let table = render(&snapshot);
        assert!(table.contains("VI_1  BACKUP  VRID 51 on eth0"), "{table}");
        assert!(table.contains("master          192.0.2.201"), "{table}");
        assert!(table.contains("in state for    10s"), "{table}");
        assert!(
            table.contains(
                "MASTER -> BACKUP (advert from 192.0.2.201 with priority 100 wins), 10s ago"
            ),
            "{table}"
        );
        assert!(table.contains("auth_mismatch 3"), "{table}");
        assert!(
            table.contains("1m 40s ago  INIT -> BACKUP  startup"),
            "{table}"
        );
    }
}

/// Why `vipd status` got no snapshot, in the user's words.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no vipd is running: nothing listens on {0}")]
    NotRunning(String),
    #[error("cannot read {0}: only vipd's own user (or root) may")]
    NotAllowed(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} did not answer with a status snapshot: {1}")]
    NotASnapshot(String, serde_json::Error),
}

/// Largest snapshot a client reads.
const READ_LIMIT: u64 = 16 << 20;

/// Reads one snapshot from the control socket at `path`.
pub fn read(path: &std::path::Path) -> Result<(Snapshot, Vec<u8>), ReadError> {
    read_from_daemon(path).map(|(snapshot, bytes, _)| (snapshot, bytes))
}

/// As `read`, with the process id of the daemon that answered, as the
/// kernel tells it (SO_PEERCRED, in this process's pid namespace): the
/// one to signal, whatever the snapshot says.
pub fn read_from_daemon(
    path: &std::path::Path,
) -> Result<(Snapshot, Vec<u8>, Option<i32>), ReadError> {
    use std::io::{ErrorKind, Read};
    let shown = path.display().to_string();
    let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => ReadError::NotRunning(shown.clone()),
        ErrorKind::PermissionDenied => ReadError::NotAllowed(shown.clone()),
        _ => ReadError::Io(shown.clone(), e),
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| ReadError::Io(shown.clone(), e))?;
    let peer = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .ok()
        .map(|credentials| credentials.pid());
    let mut bytes = Vec::new();
    stream
        .take(READ_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::Io(shown.clone(), e))?;
    if bytes.is_empty() {
        // The daemon closes at once on a client that is not its user.
        return Err(ReadError::NotAllowed(shown));
    }
    let snapshot = serde_json::from_slice(&bytes).map_err(|e| ReadError::NotASnapshot(shown, e))?;
    Ok((snapshot, bytes, peer))
}

/// The snapshot as the control socket writes it: whole when it fits in
/// `cap` bytes; otherwise still valid JSON, marked `truncated`, without
/// transition histories, then with as many instances as fit. (Cutting
/// the bytes at the cap gave `vipd status` invalid JSON.)
pub fn encode_capped(snapshot: &Snapshot, cap: usize) -> Vec<u8> {
    let encode = |s: &Snapshot| serde_json::to_vec(s).unwrap_or_default();
    let whole = encode(snapshot);
    if whole.len() <= cap {
        return whole;
    }
    let mut lean = snapshot.clone();
    lean.truncated = true;
    for instance in &mut lean.instances {
        instance.transitions.clear();
    }
    for check in &mut lean.checks {
        check.last_failure = None;
    }
    let mut bytes = encode(&lean);
    while bytes.len() > cap && !(lean.instances.is_empty() && lean.checks.is_empty()) {
        // Halve what is left, instances first.
        if lean.instances.is_empty() {
            lean.checks.truncate(lean.checks.len() / 2);
        } else {
            lean.instances.truncate(lean.instances.len() / 2);
        }
        bytes = encode(&lean);
    }
    bytes
}

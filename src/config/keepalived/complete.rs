//! What keepalived 2.2.7 does to a configuration once every line is read
//! (keepalived/vrrp/vrrp.c `vrrp_complete_instance`, vrrp_sync.c): the
//! rules that need more than one line. Each change it makes with a
//! warning, vipd makes with a warning naming the line, so that the file
//! runs under vipd as it runs under keepalived.

use serde_json::{json, Map, Value};

use super::mapping::{seconds_value, Facts, Family, Mapper};
use super::numbers::{show_seconds, MICROS};
use super::reader::Position;

/// The most addresses an advert counts (its count field is one byte);
/// keepalived advertises the first 255 IPv4 addresses and holds the rest
/// unadvertised, as excluded addresses. (For IPv6 its limit comes from
/// the interface's MTU, which a configuration does not say: left to the
/// core's rule.)
const MAX_ADVERTISED: usize = 255;

/// RFC 5798's largest VRRPv3 interval, 4095 centiseconds.
const V3_MAX: u64 = 4095 * MICROS / 100;
const CENTISECOND: u64 = MICROS / 100;

impl Mapper {
    pub(super) fn complete(&mut self) {
        let names: Vec<String> = match self.value.get("instances") {
            Some(Value::Object(instances)) => instances.keys().cloned().collect(),
            _ => Vec::new(),
        };
        for name in names {
            let facts = self.instance_facts.get(&name).cloned().unwrap_or_default();
            let mut instance = match self
                .value
                .get_mut("instances")
                .and_then(|i| i.get_mut(&name))
            {
                Some(Value::Object(map)) => std::mem::take(map),
                _ => continue,
            };
            self.complete_instance(&name, &facts, &mut instance);
            if let Some(slot) = self
                .value
                .get_mut("instances")
                .and_then(|i| i.get_mut(&name))
            {
                *slot = Value::Object(instance);
            }
        }
        self.complete_sync_groups();
    }

    fn complete_instance(&mut self, name: &str, facts: &Facts, instance: &mut Map<String, Value>) {
        let path = format!("instances.{name}");
        let at = |mapper: &Mapper, key: &str| -> Position {
            mapper
                .positions
                .get(&format!("{path}.{key}"))
                .or(facts.at.as_ref())
                .cloned()
                .unwrap_or_else(|| Position {
                    file: Default::default(),
                    line: 0,
                })
        };
        let strict = self.strict_of(name);
        if !instance.contains_key("version") && facts.family == Some(Family::V6) {
            instance.insert("version".into(), json!(3));
        }
        if strict && facts.family == Some(Family::V6) && instance.get("version") == Some(&json!(2))
        {
            let here = at(self, "version");
            self.adjust(
                &here,
                "version",
                format!("({name}) cannot use IPv6 with VRRP version 2; setting version 3, as keepalived does in strict mode"),
            );
            instance.insert("version".into(), json!(3));
        }
        let version = instance.get("version").and_then(Value::as_u64).unwrap_or(2);

        // No priority: the initial state decides, MASTER meaning the
        // address owner.
        if !facts.priority_set && facts.state_master {
            let here = at(self, "state");
            self.adjust(
                &here,
                "state",
                "MASTER with no priority: keepalived makes the instance the address owner, priority 255, and so does vipd",
            );
            instance.insert("priority".into(), json!(255));
            self.positions.insert(format!("{path}.priority"), here);
        }
        let priority = instance
            .get("priority")
            .and_then(Value::as_u64)
            .unwrap_or(100);

        if strict {
            self.complete_strict(name, instance, priority, facts, &at(self, "state"));
        }
        self.complete_authentication(instance, version, facts, &at(self, "authentication"));
        self.complete_addresses(&path, instance, &at(self, "virtual_ipaddress"));
        let places = (at(self, "preempt"), at(self, "preempt_delay"));
        self.complete_preemption(instance, priority, facts, places);
        self.complete_advert(&path, instance, version, facts);
    }

    /// vrrp.c vrrp_complete_instance, what strict mode does that is not
    /// the core's rule (proto::strict is): the initial state is the
    /// owner's, and an IPv6 instance's first address should be
    /// link-local (keepalived logs it as an error and runs).
    fn complete_strict(
        &mut self,
        name: &str,
        instance: &mut Map<String, Value>,
        priority: u64,
        facts: &Facts,
        state_at: &Position,
    ) {
        let owner = priority == 255;
        let master = instance.get("state").and_then(Value::as_str) == Some("MASTER");
        if instance.contains_key("state") && master != owner {
            let state = if owner { "MASTER" } else { "BACKUP" };
            self.adjust(
                state_at,
                "state",
                format!("({name}) State MASTER must match being address owner: {state}, as keepalived sets it in strict mode"),
            );
            instance.insert("state".into(), json!(state));
        }
        // A written false, which the schema's bool cannot tell from none.
        if instance.get("lower_prio_no_advert") == Some(&Value::Bool(false)) {
            let here = self
                .positions
                .get(&format!("instances.{name}.lower_prio_no_advert"))
                .cloned()
                .unwrap_or_else(|| state_at.clone());
            self.adjust(
                &here,
                "lower_prio_no_advert",
                format!("({name}) Strict mode requires no lower priority advert. resetting to true, as keepalived does"),
            );
            instance.insert("lower_prio_no_advert".into(), Value::Bool(true));
        }
        let first_v6 = instance
            .get("virtual_ipaddress")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(Value::as_str)
            .and_then(|line| line.split(['/', ' ']).next())
            .and_then(|a| a.parse::<std::net::Ipv6Addr>().ok());
        let unicast = instance.contains_key("unicast_peer");
        if let (Some(first), false, Some(Family::V6)) = (first_v6, unicast, facts.family) {
            if !crate::proto::is_link_local(first) {
                let at = self
                    .positions
                    .get(&format!("instances.{name}.virtual_ipaddress.0"))
                    .or(facts.at.as_ref())
                    .cloned();
                if let Some(at) = at {
                    self.adjust(
                        &at,
                        "virtual_ipaddress",
                        format!("({name}) the first IPv6 VIP address must be link local in strict mode: keepalived runs it all the same, and so does vipd"),
                    );
                }
            }
        }
    }

    fn complete_authentication(
        &mut self,
        instance: &mut Map<String, Value>,
        version: u64,
        facts: &Facts,
        at: &Position,
    ) {
        let Some(Value::Object(auth)) = instance.get("authentication") else {
            return;
        };
        let ah = auth.get("auth_type").and_then(Value::as_str) == Some("AH");
        let no_password = auth
            .get("auth_pass")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        let why = if version == 3 {
            "VRRPv3 has no authentication: keepalived ignores it, and so does vipd"
        } else if no_password {
            "authentication with no password: keepalived ignores it, and so does vipd"
        } else if ah && facts.family == Some(Family::V6) {
            "AH authentication with IPv6: keepalived ignores it, and so does vipd"
        } else {
            return;
        };
        self.adjust(at, "authentication", why);
        instance.remove("authentication");
    }

    fn complete_addresses(&mut self, path: &str, instance: &mut Map<String, Value>, at: &Position) {
        let Some(Value::Array(vips)) = instance.get_mut("virtual_ipaddress") else {
            return;
        };
        let ipv4 = vips
            .first()
            .and_then(Value::as_str)
            .is_some_and(|a| !a.contains(':'));
        if !ipv4 || vips.len() <= MAX_ADVERTISED {
            return;
        }
        let excess = vips.split_off(MAX_ADVERTISED);
        self.adjust(
            at,
            "virtual_ipaddress",
            format!(
                "{} addresses: an advert counts 255, so keepalived holds the last {} unadvertised (excluded), and so does vipd",
                MAX_ADVERTISED + excess.len(),
                excess.len()
            ),
        );
        let moved = excess.len();
        let excluded = instance
            .entry("virtual_ipaddress_excluded")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = excluded {
            let start = list.len();
            list.extend(excess);
            for i in 0..moved {
                let from = format!("{path}.virtual_ipaddress.{}", MAX_ADVERTISED + i);
                if let Some(line) = self.positions.remove(&from) {
                    self.positions.insert(
                        format!("{path}.virtual_ipaddress_excluded.{}", start + i),
                        line,
                    );
                }
            }
        }
    }

    /// vrrp_complete_instance on nopreempt and preempt_delay.
    fn complete_preemption(
        &mut self,
        instance: &mut Map<String, Value>,
        priority: u64,
        facts: &Facts,
        (preempt_at, delay_at): (Position, Position),
    ) {
        let nopreempt = instance.get("preempt") == Some(&Value::Bool(false));
        if nopreempt && (priority == 255 || facts.state_master) {
            let why = if priority == 255 {
                "nopreempt with priority 255: keepalived turns it off (an owner always preempts), and so does vipd"
            } else {
                "nopreempt with state MASTER: keepalived turns it off, and so does vipd"
            };
            self.adjust(&preempt_at, "nopreempt", why);
            instance.insert("preempt".into(), Value::Bool(true));
        }
        let delayed = instance
            .get("preempt_delay")
            .and_then(Value::as_f64)
            .is_some_and(|d| d > 0.0);
        let nopreempt = instance.get("preempt") == Some(&Value::Bool(false));
        if delayed && (facts.state_master || nopreempt) {
            let why = if facts.state_master {
                "preempt_delay with state MASTER: keepalived clears it, and so does vipd"
            } else {
                "preempt_delay with nopreempt: keepalived clears it, and so does vipd"
            };
            self.adjust(&delay_at, "preempt_delay", why);
            instance.insert("preempt_delay".into(), json!(0));
        }
    }

    /// The advert interval as each version can send it: VRRPv2 in whole
    /// seconds (rounded, at least 1), VRRPv3 in centiseconds up to 40.95 s.
    fn complete_advert(
        &mut self,
        path: &str,
        instance: &mut Map<String, Value>,
        version: u64,
        facts: &Facts,
    ) {
        let Some((micros, at)) = facts.advert.clone() else {
            return;
        };
        let (fixed, why) = if version == 2 && micros % MICROS != 0 {
            let whole = ((micros + MICROS / 2) / MICROS).max(1) * MICROS;
            (whole, "VRRPv2 sends whole seconds: keepalived rounds it")
        } else if version == 3 && micros > V3_MAX {
            (
                V3_MAX,
                "VRRPv3 sends at most 40.95 s: keepalived uses 40.95",
            )
        } else if version == 3 && micros % CENTISECOND != 0 {
            let rounded = ((micros + CENTISECOND / 2) / CENTISECOND).max(1) * CENTISECOND;
            (rounded, "VRRPv3 counts centiseconds: keepalived rounds it")
        } else {
            (micros, "")
        };
        if fixed != micros {
            self.adjust(
                &at,
                "advert_int",
                format!(
                    "{} s: {why} to {} s, and so does vipd",
                    show_seconds(micros),
                    show_seconds(fixed)
                ),
            );
        }
        instance.insert("advert_int".into(), seconds_value(fixed));
        self.positions.insert(format!("{path}.advert_int"), at);
    }

    /// vrrp_sync.c: a member that is no instance, or that an earlier group
    /// has, is ignored; a group left with no member is removed.
    fn complete_sync_groups(&mut self) {
        let instances: Vec<String> = match self.value.get("instances") {
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let mut taken: Vec<(String, String)> = Vec::new();
        for (group, at) in std::mem::take(&mut self.group_lines) {
            let members: Vec<String> = self
                .value
                .get("sync_groups")
                .and_then(|g| g.get(&group))
                .and_then(|g| g.get("group"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let mut kept = Vec::new();
            for member in members {
                if !instances.contains(&member) {
                    self.adjust(
                        &at,
                        "group",
                        format!("{group}: no instance {member}: ignored, as keepalived ignores it"),
                    );
                } else if let Some((_, other)) = taken.iter().find(|(m, _)| *m == member) {
                    self.adjust(
                        &at,
                        "group",
                        format!("{group}: {member} is already in sync group {other}, and an instance is in one group: ignored, as keepalived ignores it"),
                    );
                } else {
                    taken.push((member.clone(), group.clone()));
                    kept.push(member);
                }
            }
            let Some(Value::Object(groups)) = self.value.get_mut("sync_groups") else {
                continue;
            };
            if kept.is_empty() {
                groups.remove(&group);
                let prefix = format!("sync_groups.{group}");
                self.positions
                    .retain(|key, _| key != &prefix && !key.starts_with(&format!("{prefix}.")));
                self.adjust(
                    &at,
                    "vrrp_sync_group",
                    format!("{group} has no instance left: keepalived removes the group, and so does vipd"),
                );
            } else if let Some(Value::Object(g)) = groups.get_mut(&group) {
                g.insert("group".into(), json!(kept));
            }
        }
        if matches!(self.value.get("sync_groups"), Some(Value::Object(g)) if g.is_empty()) {
            self.value.remove("sync_groups");
        }
    }
}

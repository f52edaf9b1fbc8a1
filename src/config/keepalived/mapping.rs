//! keepalived.conf's tree into vipd's configuration, one place per
//! keyword. Keywords come from keepalived 2.2.7's parsers
//! (keepalived/vrrp/vrrp_parser.c, keepalived/core/global_parser.c,
//! keepalived/trackers/track_file.c); what they mean from
//! keepalived.conf(5).
//!
//! Three outcomes per keyword: mapped onto a vipd key; warned (keepalived
//! knows it, vipd does not do it: the line is dropped and the user told
//! why); refused (keepalived's `-t` refuses it too: an unknown keyword, a
//! missing value or block, a password it would truncate).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::reader::{Node, Position};
use super::unsupported::{self, Why};

/// The configuration a keepalived.conf gives, in the shape of vipd's
/// YAML, with where each key came from.
#[derive(Debug, Default)]
pub struct Mapped {
    pub value: Map<String, Value>,
    /// Dotted key (`instances.VI_1.priority`) to the line that set it.
    pub positions: BTreeMap<String, Position>,
    /// Parts of the file vipd does not use, and why.
    pub dropped: Vec<Dropped>,
}

/// A keyword (with its block) that vipd does not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub at: Position,
    pub keyword: String,
    pub why: String,
    /// The part as it was written, for `vipd convert` to keep as a comment.
    pub text: String,
}

/// A line keepalived would refuse too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub at: Position,
    pub keyword: String,
    pub message: String,
}

pub fn map(nodes: &[Node]) -> Result<Mapped, Vec<Refused>> {
    let mut mapper = Mapper::default();
    let mut globals = Globals::default();
    for node in nodes {
        match node.keyword() {
            "global_defs" => {
                if let Some(block) = mapper.block(node) {
                    for entry in block {
                        mapper.global(entry, &mut globals);
                    }
                }
            }
            "vrrp_instance" => mapper.named_section(node, "instances", Mapper::instance),
            "vrrp_script" => mapper.named_section(node, "checks", Mapper::script),
            "vrrp_track_file" | "track_file" => {
                mapper.named_section(node, "track_files", Mapper::track_file)
            }
            "vrrp_sync_group" => mapper.named_section(node, "sync_groups", Mapper::sync_group),
            keyword => match unsupported::top_level(keyword) {
                Some(why) => mapper.drop(node, why),
                None => mapper.unknown(node, "at the top level"),
            },
        }
    }
    mapper.apply_globals(&globals);
    if mapper.refused.is_empty() {
        Ok(Mapped {
            value: mapper.value,
            positions: mapper.positions,
            dropped: mapper.dropped,
        })
    } else {
        Err(mapper.refused)
    }
}

/// global_defs settings that are defaults for every instance.
#[derive(Default)]
struct Globals {
    /// (instance key, value, where)
    instance_defaults: Vec<(&'static str, Value, Position)>,
}

#[derive(Default)]
struct Mapper {
    value: Map<String, Value>,
    positions: BTreeMap<String, Position>,
    dropped: Vec<Dropped>,
    refused: Vec<Refused>,
}

/// Where a section's keys go: `instances.VI_1`.
struct Section<'m> {
    path: String,
    map: Map<String, Value>,
    positions: &'m mut BTreeMap<String, Position>,
}

impl Section<'_> {
    fn set(&mut self, key: &str, value: Value, at: &Position) {
        self.positions
            .insert(format!("{}.{key}", self.path), at.clone());
        self.map.insert(key.to_string(), value);
    }
}

type SectionFn = fn(&mut Mapper, &mut Section, &Node);

impl Mapper {
    fn refuse(&mut self, node: &Node, message: impl Into<String>) {
        self.refused.push(Refused {
            at: node.at.clone(),
            keyword: node.keyword().to_string(),
            message: message.into(),
        });
    }

    fn unknown(&mut self, node: &Node, place: &str) {
        self.refuse(
            node,
            format!("unknown keyword {place} (keepalived refuses it too)"),
        );
    }

    fn drop(&mut self, node: &Node, why: Why) {
        self.dropped.push(Dropped {
            at: node.at.clone(),
            keyword: node.keyword().to_string(),
            why: why.to_string(),
            text: render(node, 0),
        });
    }

    /// The block a section keyword needs.
    fn block<'n>(&mut self, node: &'n Node) -> Option<&'n [Node]> {
        match &node.block {
            Some(block) => Some(block),
            None => {
                self.refuse(node, "expected a { } block after it");
                None
            }
        }
    }

    /// A keyword that takes no block.
    fn no_block(&mut self, node: &Node) -> bool {
        if node.block.is_some() {
            self.refuse(node, "takes no { } block");
            return false;
        }
        true
    }

    /// The single value of `keyword VALUE`.
    fn one<'n>(&mut self, node: &'n Node) -> Option<&'n str> {
        if !self.no_block(node) {
            return None;
        }
        match node.args() {
            [value] => Some(value),
            [] => {
                self.refuse(node, "expected a value after it");
                None
            }
            [_, extra @ ..] => {
                self.refuse(
                    node,
                    format!(
                        "expected one value, got {} more: {}",
                        extra.len(),
                        extra.join(" ")
                    ),
                );
                None
            }
        }
    }

    /// `keyword VALUE [MORE...]`: VALUE, with MORE dropped for `why`.
    fn first_and_drop_rest<'n>(
        &mut self,
        node: &'n Node,
        expected: &str,
        why: Why,
    ) -> Option<&'n str> {
        if !self.no_block(node) {
            return None;
        }
        match node.args() {
            [] => {
                self.refuse(node, format!("expected {expected} after it"));
                None
            }
            [value, rest @ ..] => {
                if !rest.is_empty() {
                    self.drop_part(node, why);
                }
                Some(value)
            }
        }
    }

    /// keepalived's `<BOOL>`: nothing (on) or on|off|true|false|yes|no.
    fn flag(&mut self, node: &Node) -> Option<bool> {
        if !self.no_block(node) {
            return None;
        }
        match node.args() {
            [] => Some(true),
            [word] => match word.as_str() {
                "on" | "true" | "yes" => Some(true),
                "off" | "false" | "no" => Some(false),
                other => {
                    self.refuse(
                        node,
                        format!("expected on, off, true, false, yes or no, got {other:?}"),
                    );
                    None
                }
            },
            _ => {
                self.refuse(
                    node,
                    "expected at most one of on, off, true, false, yes or no",
                );
                None
            }
        }
    }

    /// The entries of a value block (`virtual_ipaddress { ... }`), each
    /// entry's words joined as keepalived's one-line form.
    fn entries<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
        if !node.args().is_empty() {
            self.refuse(
                node,
                format!("expected {{ after it, got {}", node.args().join(" ")),
            );
        }
        let Some(block) = self.block(node) else {
            return Vec::new();
        };
        block
            .iter()
            .filter(|entry| {
                if entry.block.is_some() {
                    self.refuse(entry, "an entry of this list takes no { } block");
                    false
                } else {
                    true
                }
            })
            .collect()
    }

    /// `vrrp_instance NAME { ... }` and the like.
    fn named_section(&mut self, node: &Node, table: &str, body: SectionFn) {
        let name = match node.args() {
            [name] => name.clone(),
            [] => return self.refuse(node, "expected a name after it"),
            [_, extra @ ..] => {
                return self.refuse(
                    node,
                    format!("expected one name, got more: {}", extra.join(" ")),
                )
            }
        };
        let Some(block) = self.block(node) else {
            return;
        };
        let entry = self
            .value
            .entry(table.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if entry.get(&name).is_some() {
            return self.refuse(
                node,
                format!("{name} is already defined (keepalived refuses it too)"),
            );
        }
        let mut positions = std::mem::take(&mut self.positions);
        let path = format!("{table}.{name}");
        positions.insert(path.clone(), node.at.clone());
        let mut section = Section {
            path,
            map: Map::new(),
            positions: &mut positions,
        };
        for entry in block {
            body(self, &mut section, entry);
        }
        let map = std::mem::take(&mut section.map);
        self.positions = positions;
        if let Some(Value::Object(tables)) = self.value.get_mut(table) {
            tables.insert(name, Value::Object(map));
        }
    }

    fn global(&mut self, node: &Node, globals: &mut Globals) {
        let keyword = node.keyword();
        let instance_default = match keyword {
            "vrrp_version" => Some(("version", self.one(node).map(number))),
            "vrrp_garp_master_delay" => Some(("garp_master_delay", self.one(node).map(seconds))),
            "vrrp_garp_master_repeat" => Some(("garp_master_repeat", self.one(node).map(number))),
            "vrrp_garp_master_refresh" => {
                Some(("garp_master_refresh", self.one(node).map(seconds)))
            }
            "vrrp_garp_master_refresh_repeat" => {
                Some(("garp_master_refresh_repeat", self.one(node).map(number)))
            }
            "vrrp_check_unicast_src" => {
                Some(("check_unicast_src", self.flag(node).map(Value::Bool)))
            }
            _ => None,
        };
        if let Some((key, value)) = instance_default {
            if let Some(value) = value {
                globals
                    .instance_defaults
                    .push((key, value, node.at.clone()));
            }
            return;
        }
        match keyword {
            "script_user" => {
                if let Some(user) =
                    self.first_and_drop_rest(node, "a user name", unsupported::SCRIPT_GROUP)
                {
                    self.top("script_user", text(user), &node.at);
                }
            }
            "notify_fifo" | "vrrp_notify_fifo" => {
                if let Some(path) =
                    self.first_and_drop_rest(node, "a path", unsupported::FIFO_OWNER)
                {
                    self.top("notify_fifo", text(path), &node.at);
                }
            }
            // vipd always refuses to run, as root, a script that others
            // can change (config/scripts.rs): keepalived's opt-in is
            // vipd's only behaviour.
            "enable_script_security" => {
                self.flag(node);
            }
            _ => match unsupported::global(keyword) {
                Some(why) => self.drop(node, why),
                None => self.unknown(node, "in global_defs"),
            },
        }
    }

    /// A key at the top of vipd's configuration.
    fn top(&mut self, key: &str, value: Value, at: &Position) {
        self.positions.insert(key.to_string(), at.clone());
        self.value.insert(key.to_string(), value);
    }

    /// Part of a line vipd does not use.
    fn drop_part(&mut self, node: &Node, why: &str) {
        self.dropped.push(Dropped {
            at: node.at.clone(),
            keyword: node.keyword().to_string(),
            why: why.to_string(),
            text: render(node, 0),
        });
    }

    fn apply_globals(&mut self, globals: &Globals) {
        let Some(Value::Object(instances)) = self.value.get_mut("instances") else {
            return;
        };
        for (name, instance) in instances.iter_mut() {
            let Value::Object(instance) = instance else {
                continue;
            };
            for (key, value, at) in &globals.instance_defaults {
                if !instance.contains_key(*key) {
                    instance.insert(key.to_string(), value.clone());
                    self.positions
                        .insert(format!("instances.{name}.{key}"), at.clone());
                }
            }
            // keepalived: "IPv6 instances will always use version 3".
            if !instance.contains_key("version") && first_address_is_ipv6(instance) {
                instance.insert("version".into(), json!(3));
            }
        }
    }

    fn instance(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            "state" | "interface" => {
                if let Some(v) = self.one(node) {
                    section.set(keyword, text(v), &node.at);
                }
            }
            "virtual_router_id"
            | "priority"
            | "version"
            | "unicast_ttl"
            | "garp_master_repeat"
            | "garp_master_refresh_repeat" => {
                if let Some(v) = self.one(node) {
                    section.set(keyword, number(v), &node.at);
                }
            }
            "advert_int" | "preempt_delay" | "garp_master_delay" | "garp_master_refresh" => {
                if let Some(v) = self.one(node) {
                    section.set(keyword, seconds(v), &node.at);
                }
            }
            "mcast_src_ip" | "unicast_src_ip" => {
                if let Some(v) = self.one(node) {
                    section.set("source_ip", text(v), &node.at);
                }
            }
            "nopreempt" => {
                if self.no_block(node) {
                    section.set("preempt", Value::Bool(false), &node.at);
                }
            }
            "preempt" => {
                if let Some(on) = self.flag(node) {
                    section.set("preempt", Value::Bool(on), &node.at);
                }
            }
            "accept" => {
                if let Some(on) = self.flag(node) {
                    section.set("accept", Value::Bool(on), &node.at);
                }
            }
            "no_accept" => {
                if self.no_block(node) {
                    section.set("accept", Value::Bool(false), &node.at);
                }
            }
            "check_unicast_src" | "unicast_fault_no_peer" | "vmac_xmit_base" => {
                if let Some(on) = self.flag(node) {
                    section.set(keyword, Value::Bool(on), &node.at);
                }
            }
            "authentication" => self.authentication(section, node),
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                let lines = self.address_lines(section, node);
                section.set(keyword, Value::Array(lines), &node.at);
            }
            "virtual_routes" | "virtual_rules" | "unicast_peer" => {
                let lines = self.lines(section, node, keyword);
                section.set(keyword, Value::Array(lines), &node.at);
            }
            "track_script" | "track_interface" | "track_file" => {
                let refs = self.track_refs(section, node, keyword);
                section.set(keyword, Value::Array(refs), &node.at);
            }
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                self.notify(section, node)
            }
            "use_vmac" => self.use_vmac(section, node),
            _ => match unsupported::instance(keyword) {
                Some(why) => self.drop(node, why),
                None => self.unknown(node, "in vrrp_instance"),
            },
        }
    }

    fn authentication(&mut self, section: &mut Section, node: &Node) {
        let Some(block) = self.block(node) else {
            return;
        };
        let mut auth = Map::new();
        for entry in block {
            match entry.keyword() {
                "auth_type" => {
                    if let Some(v) = self.one(entry) {
                        auth.insert("auth_type".into(), text(v));
                        section.positions.insert(
                            format!("{}.authentication.auth_type", section.path),
                            entry.at.clone(),
                        );
                    }
                }
                "auth_pass" => {
                    let Some(v) = self.one(entry) else { continue };
                    // keepalived truncates to 8 and its -t reports it
                    // (vrrp_parser.c vrrp_auth_pass_handler): two hosts
                    // whose passwords differ after the 8th character would
                    // agree without anyone knowing.
                    if v.chars().count() > 8 {
                        self.refuse(
                            entry,
                            format!(
                                "expected at most 8 characters (VRRP carries 8, and keepalived truncates), got {}",
                                v.chars().count()
                            ),
                        );
                        continue;
                    }
                    auth.insert("auth_pass".into(), text(v));
                    section.positions.insert(
                        format!("{}.authentication.auth_pass", section.path),
                        entry.at.clone(),
                    );
                }
                _ => self.unknown(entry, "in authentication"),
            }
        }
        section.set("authentication", Value::Object(auth), &node.at);
    }

    /// Entries as keepalived's one-line form, positions per entry.
    fn lines(&mut self, section: &mut Section, node: &Node, key: &str) -> Vec<Value> {
        self.entries(node)
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                section
                    .positions
                    .insert(format!("{}.{key}.{i}", section.path), entry.at.clone());
                Value::String(entry.words.join(" "))
            })
            .collect()
    }

    /// Addresses, without the `ip address` options vipd does not set.
    fn address_lines(&mut self, section: &mut Section, node: &Node) -> Vec<Value> {
        let key = node.keyword();
        let mut out = Vec::new();
        for entry in self.entries(node) {
            let mut kept = vec![entry.keyword().to_string()];
            let mut words = entry.args().iter();
            while let Some(word) = words.next() {
                match word.as_str() {
                    "brd" | "broadcast" | "dev" | "scope" | "label" => {
                        kept.push(word.clone());
                        if let Some(value) = words.next() {
                            kept.push(value.clone());
                        }
                    }
                    "no_track" => kept.push(word.clone()),
                    "peer" | "preferred_lft" | "track_group" => {
                        words.next();
                        self.drop_part(entry, unsupported::ADDRESS_OPTION);
                    }
                    "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin"
                    | "use_vmac" => self.drop_part(entry, unsupported::ADDRESS_OPTION),
                    // Left for the address reader to name as unknown.
                    _ => kept.push(word.clone()),
                }
            }
            section.positions.insert(
                format!("{}.{key}.{}", section.path, out.len()),
                entry.at.clone(),
            );
            out.push(Value::String(kept.join(" ")));
        }
        out
    }

    /// `NAME [weight N] [reverse|noreverse|no_reverse]` entries.
    fn track_refs(&mut self, section: &mut Section, node: &Node, key: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for entry in self.entries(node) {
            let name = entry.keyword().to_string();
            let mut weight = None;
            let mut words = entry.args().iter();
            while let Some(word) = words.next() {
                match word.as_str() {
                    "weight" => match words.next() {
                        Some(w) => weight = Some(number(w)),
                        None => self.refuse(entry, "weight: expected a number after it"),
                    },
                    "reverse" => self.drop_part(entry, unsupported::REVERSE),
                    "noreverse" | "no_reverse" => {}
                    other => self.refuse(
                        entry,
                        format!(
                            "unknown option {other:?}: expected weight N, reverse or noreverse"
                        ),
                    ),
                }
            }
            section.positions.insert(
                format!("{}.{key}.{}", section.path, out.len()),
                entry.at.clone(),
            );
            out.push(match weight {
                Some(weight) => json!({ "name": name, "weight": weight }),
                None => Value::String(name),
            });
        }
        out
    }

    /// `notify_* SCRIPT [user [group]]`.
    fn notify(&mut self, section: &mut Section, node: &Node) {
        if !self.no_block(node) {
            return;
        }
        match node.args() {
            [] => self.refuse(node, "expected a script after it"),
            [script, rest @ ..] => {
                section.set(node.keyword(), text(script), &node.at);
                if !rest.is_empty() {
                    self.drop_part(node, unsupported::NOTIFY_USER);
                }
            }
        }
    }

    /// `use_vmac [NAME] [MAC]`.
    fn use_vmac(&mut self, section: &mut Section, node: &Node) {
        if !self.no_block(node) {
            return;
        }
        let mut args = node.args();
        let value = match args.first() {
            Some(name) if !looks_like_mac(name) => {
                args = &args[1..];
                text(name)
            }
            _ => Value::Bool(true),
        };
        if !args.is_empty() {
            self.drop_part(node, unsupported::VMAC_ADDRESS);
        }
        section.set("use_vmac", value, &node.at);
    }

    fn script(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            "script" => {
                if let Some(v) = self.one(node) {
                    section.set("exec", text(v), &node.at);
                }
            }
            "interval" | "timeout" => {
                if let Some(v) = self.one(node) {
                    section.set(keyword, seconds(v), &node.at);
                }
            }
            "rise" | "fall" => {
                if let Some(v) = self.one(node) {
                    section.set(keyword, number(v), &node.at);
                }
            }
            "weight" => {
                if !self.no_block(node) {
                    return;
                }
                match node.args() {
                    [w] => section.set("weight", number(w), &node.at),
                    [w, option] if option == "reverse" => {
                        section.set("weight", number(w), &node.at);
                        self.drop_part(node, unsupported::REVERSE);
                    }
                    _ => self.refuse(node, "expected -253..253 [reverse]"),
                }
            }
            "user" => {
                if let Some(user) =
                    self.first_and_drop_rest(node, "a user name", unsupported::SCRIPT_GROUP)
                {
                    section.set("user", text(user), &node.at);
                }
            }
            "init_fail" => self.drop(node, unsupported::INIT_FAIL),
            _ => self.unknown(node, "in vrrp_script"),
        }
    }

    fn track_file(&mut self, section: &mut Section, node: &Node) {
        match node.keyword() {
            "file" => {
                if let Some(v) = self.one(node) {
                    section.set("file", text(v), &node.at);
                }
            }
            "weight" => match node.args() {
                [w] => section.set("weight", number(w), &node.at),
                [w, option] if option == "reverse" => {
                    section.set("weight", number(w), &node.at);
                    self.drop_part(node, unsupported::REVERSE);
                }
                _ => self.refuse(node, "expected -254..254 [reverse]"),
            },
            "init_file" => self.drop(node, unsupported::INIT_FILE),
            _ => self.unknown(node, "in track_file"),
        }
    }

    fn sync_group(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            "group" => {
                let names: Vec<Value> = self
                    .entries(node)
                    .into_iter()
                    .flat_map(|entry| entry.words.iter().map(|w| text(w)))
                    .collect();
                section.set("group", Value::Array(names), &node.at);
            }
            "track_script" | "track_interface" | "track_file" => {
                let refs = self.track_refs(section, node, keyword);
                section.set(keyword, Value::Array(refs), &node.at);
            }
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                self.notify(section, node)
            }
            "sync_group_tracking_weight" => {
                if self.no_block(node) {
                    section.set("sync_group_tracking_weight", Value::Bool(true), &node.at);
                }
            }
            // Deprecated in keepalived, which reads it as
            // sync_group_tracking_weight (vrrp_parser.c).
            "global_tracking" => {
                if self.no_block(node) {
                    section.set("sync_group_tracking_weight", Value::Bool(true), &node.at);
                    self.drop_part(
                        node,
                        "deprecated: read as sync_group_tracking_weight, as keepalived does",
                    );
                }
            }
            _ => match unsupported::sync_group(keyword) {
                Some(why) => self.drop(node, why),
                None => self.unknown(node, "in vrrp_sync_group"),
            },
        }
    }
}

/// A word as a JSON string.
fn text(word: &str) -> Value {
    Value::String(word.to_string())
}

/// keepalived's `<TIMER>` (seconds, fractions allowed) as a number, so
/// converted YAML reads `advert_int: 1`; else the word, for the schema to
/// say what it expected.
fn seconds(word: &str) -> Value {
    match (word.parse::<i64>(), word.parse::<f64>()) {
        (Ok(whole), _) => Value::from(whole),
        (_, Ok(fraction)) if fraction.is_finite() => Value::from(fraction),
        _ => text(word),
    }
}

/// A word as a number if it is one, else as the string, for the schema to
/// say what it expected.
fn number(word: &str) -> Value {
    word.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| text(word))
}

fn looks_like_mac(word: &str) -> bool {
    let parts: Vec<&str> = word.split(':').collect();
    (5..=6).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn first_address_is_ipv6(instance: &Map<String, Value>) -> bool {
    instance
        .get("virtual_ipaddress")
        .and_then(Value::as_array)
        .and_then(|list| list.first())
        .and_then(Value::as_str)
        .and_then(|line| line.split_whitespace().next())
        .is_some_and(|address| address.contains(':'))
}

/// A node as keepalived syntax, indented, for comments.
pub fn render(node: &Node, depth: usize) -> String {
    let indent = "    ".repeat(depth);
    let words: Vec<String> = node
        .words
        .iter()
        .map(|w| {
            if w.contains(char::is_whitespace) || w.is_empty() {
                format!("\"{w}\"")
            } else {
                w.clone()
            }
        })
        .collect();
    let mut out = format!("{indent}{}", words.join(" "));
    if let Some(block) = &node.block {
        out.push_str(" {\n");
        for child in block {
            out.push_str(&render(child, depth + 1));
            out.push('\n');
        }
        out.push_str(&format!("{indent}}}"));
    }
    out
}

#[cfg(test)]
mod tests;

//! keepalived.conf's tree into vipd's configuration, one place per
//! keyword. Keywords come from keepalived 2.2.7's parsers
//! (keepalived/vrrp/vrrp_parser.c, keepalived/core/global_parser.c,
//! keepalived/trackers/track_file.c); what they mean from
//! keepalived.conf(5).
//!
//! The rule is what keepalived *runs*, not what its `-t` says (which
//! fails on warnings too). Each keyword is read as keepalived's handler
//! reads it, so four outcomes:
//!
//! - mapped onto a vipd key;
//! - adjusted: keepalived runs the line, but not as written (an unknown
//!   keyword ignored, a bad number replaced by its default, a password
//!   truncated): vipd does the same and warns with file:line;
//! - dropped: keepalived does it, vipd does not (LVS, e-mail): warned;
//! - refused: keepalived does not start either (a keyword without its
//!   value, which makes keepalived exit).
//!
//! What keepalived does once every line is read (vrrp.c
//! `vrrp_complete_instance`, and sync groups) is in complete.rs.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Map, Value};

use super::numbers::{self, MICROS};
use super::reader::{Node, Opens, Position};
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
    /// Lines keepalived runs other than as written, and how.
    pub adjusted: Vec<Adjusted>,
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

/// A line read as keepalived runs it rather than as it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjusted {
    pub at: Position,
    pub keyword: String,
    pub why: String,
}

/// A line keepalived would refuse too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub at: Position,
    pub keyword: String,
    pub message: String,
}

/// The sections vipd maps, and the keywords in them that take a block.
const TOP_SECTIONS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_track_file",
    "track_file",
    "vrrp_track_process",
    "vrrp_sync_group",
];
const INSTANCE_BLOCKS: &[&str] = &[
    "authentication",
    "auth_hmac",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "unicast_peer",
    "track_script",
    "track_interface",
    "track_file",
    "track_process",
];
const SYNC_GROUP_BLOCKS: &[&str] = &[
    "group",
    "track_script",
    "track_interface",
    "track_file",
    "track_process",
];

/// Which keywords open a block, as keepalived's keyword tables say (see
/// reader::Opens). Inside sections vipd leaves to keepalived (LVS),
/// braces nest as written: keepalived skips those blocks
/// by counting braces.
pub fn blocks(path: &[&str], keyword: &str) -> Opens {
    let listed = |list: &[&str]| list.contains(&keyword);
    match path {
        [] if listed(TOP_SECTIONS) => Opens::Always,
        [] if keyword == "garp_group" => Opens::Always,
        [] if keyword == "interface_up_down_delays" => Opens::Always,
        ["interface_up_down_delays"] => Opens::Never,
        ["garp_group"] if keyword == "interfaces" => Opens::Always,
        ["garp_group"] | ["garp_group", "interfaces"] => Opens::Never,
        [] if unsupported::top_level(keyword).is_some() => Opens::IfBraceFollows,
        [] => Opens::Never,
        ["global_defs"] if unsupported::global(keyword).is_some() => Opens::IfBraceFollows,
        ["global_defs"] => Opens::Never,
        ["vrrp_instance"] if listed(INSTANCE_BLOCKS) => Opens::Always,
        ["vrrp_instance"] if unsupported::instance(keyword).is_some() => Opens::IfBraceFollows,
        ["vrrp_instance"] => Opens::Never,
        ["vrrp_sync_group"] if listed(SYNC_GROUP_BLOCKS) => Opens::Always,
        ["vrrp_sync_group"] if unsupported::sync_group(keyword).is_some() => Opens::IfBraceFollows,
        ["vrrp_sync_group"] => Opens::Never,
        ["vrrp_script" | "vrrp_track_file" | "track_file" | "vrrp_track_process"] => Opens::Never,
        ["vrrp_instance", list] if INSTANCE_BLOCKS.contains(list) => Opens::Never,
        ["vrrp_sync_group", list] if SYNC_GROUP_BLOCKS.contains(list) => Opens::Never,
        _ => Opens::IfBraceFollows,
    }
}

pub fn map(nodes: &[Node]) -> Result<Mapped, Vec<Refused>> {
    let mut mapper = Mapper::default();
    let mut globals = Globals::default();
    for node in nodes {
        match node.keyword() {
            "global_defs" => {
                for entry in mapper.block(node) {
                    mapper.global(entry, &mut globals);
                }
            }
            "vrrp_instance" => mapper.named_section(node, &INSTANCE),
            "vrrp_script" => mapper.named_section(node, &SCRIPT),
            "vrrp_track_file" | "track_file" => mapper.named_section(node, &TRACK_FILE),
            "vrrp_track_process" => mapper.named_section(node, &PROCESS),
            "vrrp_sync_group" => mapper.named_section(node, &SYNC_GROUP),
            "garp_group" => mapper.garp_group(node),
            "interface_up_down_delays" => mapper.up_down_delays(node),
            keyword => match unsupported::top_level(keyword) {
                Some(why) => mapper.drop(node, why),
                None => mapper.unknown(node, "at the top level"),
            },
        }
    }
    mapper.router_id(globals.router_id.take());
    mapper.apply_globals(&globals);
    mapper.complete();
    if mapper.refused.is_empty() {
        Ok(Mapped {
            value: mapper.value,
            positions: mapper.positions,
            dropped: mapper.dropped,
            adjusted: mapper.adjusted,
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
    /// Defaults of defaults, below every instance_defaults entry:
    /// vrrp_garp_master_repeat/_delay are garp_lower_prio_*'s unless
    /// vrrp_garp_lower_prio_* say otherwise (vrrp.c init_global_data
    /// defaults, keepalived 2.2.7 line 4506).
    derived_defaults: Vec<(&'static str, Value, Position)>,
    /// vrrp_mcast_group4 / vrrp_mcast_group6: (family, group, where).
    groups: Vec<(Family, Value, Position)>,
    /// The last router_id line (keepalived keeps the last).
    router_id: Option<Node>,
}

/// The address family of an instance: keepalived takes it from the first
/// source, peer or virtual address read, and skips any of the other
/// family after it (vrrp_parser.c, vrrp_data.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    V4,
    V6,
}

impl Family {
    fn of(address: IpAddr) -> Family {
        if address.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// What mapping a section learnt that the section's end, or keepalived's
/// completion of an instance, needs.
#[derive(Clone, Debug, Default)]
pub(super) struct Facts {
    pub at: Option<Position>,
    pub family: Option<Family>,
    pub priority_set: bool,
    pub state_master: bool,
    /// advert_int as keepalived holds it, in microseconds, and its line.
    pub advert: Option<(u64, Position)>,
    /// Keywords set once: later ones are ignored (notify scripts).
    pub once: Vec<&'static str>,
    /// A vrrp_script or track_file that has its script or file.
    pub complete: bool,
    /// A track file's weight was given.
    pub weight_set: bool,
    /// The instance's own strict_mode, if it says.
    pub strict: Option<bool>,
}

#[derive(Default)]
pub(super) struct Mapper {
    pub value: Map<String, Value>,
    pub positions: BTreeMap<String, Position>,
    pub dropped: Vec<Dropped>,
    pub adjusted: Vec<Adjusted>,
    pub refused: Vec<Refused>,
    /// vrrp_script and track_file names read so far: keepalived looks a
    /// tracked name up when it reads the tracking line (vrrp_track.c
    /// alloc_track_script), so a later one is not found.
    scripts: Vec<String>,
    track_files: Vec<String>,
    /// vrrp_track_process names read so far, likewise.
    processes: Vec<String>,
    /// VMAC names taken, by instance, in file order.
    vmac_names: Vec<(String, String)>,
    /// Each instance's facts, for completion.
    pub instance_facts: BTreeMap<String, Facts>,
    /// Each sync group and its line, in the order read.
    pub group_lines: Vec<(String, Position)>,
    /// global_defs' vrrp_strict.
    pub strict_global: bool,
}

/// keepalived's check_valid_ipaddress(_, true): an address, a prefix
/// length allowed.
fn is_address(word: &str) -> bool {
    let (address, length) = match word.split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (word, None),
    };
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let most = if address.is_ipv6() { 128 } else { 32 };
    length.is_none_or(|l| l.parse::<u8>().is_ok_and(|l| l <= most))
}

/// A link group: a number, or a name in iproute2's group file
/// (`NUMBER NAME` lines), as keepalived 2.4 reads it.
fn ipvlan_group(word: &str) -> Option<u32> {
    if let Ok(number) = word.parse() {
        return Some(number);
    }
    ["/etc/iproute2/group", "/usr/share/iproute2/group"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .find_map(|table| {
            table.lines().find_map(|line| {
                let mut fields = line.split('#').next()?.split_whitespace();
                let number = fields.next()?.parse().ok()?;
                (fields.next()? == word).then_some(number)
            })
        })
}

/// Where a section's keys go: `instances.VI_1`.
pub(super) struct Section<'m> {
    pub path: String,
    pub name: String,
    pub map: Map<String, Value>,
    pub positions: &'m mut BTreeMap<String, Position>,
    pub facts: Facts,
}

impl Section<'_> {
    pub fn set(&mut self, key: &str, value: Value, at: &Position) {
        self.positions
            .insert(format!("{}.{key}", self.path), at.clone());
        self.map.insert(key.to_string(), value);
    }
}

/// How a named section (`vrrp_instance NAME { }`) is read.
struct Kind {
    /// keepalived's keyword for the section.
    keyword: &'static str,
    table: &'static str,
    /// What keepalived does with a section without exactly one name:
    /// `true` it exits (its handler reads a missing name: vrrp_script,
    /// track_file), `false` it skips the section (vrrp_instance,
    /// vrrp_sync_group, which check the count).
    name_required: bool,
    body: fn(&mut Mapper, &mut Section, &Node),
    /// Whether the section is kept once read; records what later
    /// sections may refer to.
    finish: fn(&mut Mapper, &mut Section, &Node) -> bool,
}

const INSTANCE: Kind = Kind {
    keyword: "vrrp_instance",
    table: "instances",
    name_required: false,
    body: Mapper::instance,
    finish: Mapper::finish_instance,
};
const SCRIPT: Kind = Kind {
    keyword: "vrrp_script",
    table: "checks",
    name_required: true,
    body: Mapper::script,
    finish: Mapper::finish_script,
};
const TRACK_FILE: Kind = Kind {
    keyword: "track_file",
    table: "track_files",
    name_required: true,
    body: Mapper::track_file,
    finish: Mapper::finish_track_file,
};
/// A vrrp_track_process is a vipd check of kind `process`.
const PROCESS: Kind = Kind {
    keyword: "vrrp_track_process",
    table: "checks",
    name_required: true,
    body: Mapper::track_process,
    finish: Mapper::finish_track_process,
};
const SYNC_GROUP: Kind = Kind {
    keyword: "vrrp_sync_group",
    table: "sync_groups",
    name_required: false,
    body: Mapper::sync_group,
    finish: Mapper::finish_sync_group,
};

impl Mapper {
    fn refuse(&mut self, node: &Node, message: impl Into<String>) {
        self.refused.push(Refused {
            at: node.at.clone(),
            keyword: node.keyword().to_string(),
            message: message.into(),
        });
    }

    /// keepalived runs `node` other than as written: `why` says how.
    pub fn adjust(&mut self, at: &Position, keyword: &str, why: impl Into<String>) {
        self.adjusted.push(Adjusted {
            at: at.clone(),
            keyword: keyword.to_string(),
            why: why.into(),
        });
    }

    fn adjust_node(&mut self, node: &Node, why: impl Into<String>) {
        self.adjust(&node.at, node.keyword(), why);
    }

    /// keepalived logs "Unknown keyword" and goes on (parser.c
    /// process_stream).
    fn unknown(&mut self, node: &Node, place: &str) {
        self.adjust_node(
            node,
            format!("unknown keyword {place}: ignored, as keepalived ignores it"),
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

    /// Part of a line vipd does not use.
    fn drop_part(&mut self, node: &Node, why: &str) {
        self.dropped.push(Dropped {
            at: node.at.clone(),
            keyword: node.keyword().to_string(),
            why: why.to_string(),
            text: render(node, 0),
        });
    }

    /// A block keyword's block; the reader gives every one a block, empty
    /// if the file ends first.
    fn block<'n>(&self, node: &'n Node) -> &'n [Node] {
        node.block.as_deref().unwrap_or_default()
    }

    /// The value of `keyword VALUE`. keepalived exits on a keyword whose
    /// value is missing ("is missing a parameter", parser.c
    /// null_strvec), and ignores words after the value.
    fn value<'n>(&mut self, node: &'n Node) -> Option<&'n str> {
        match node.args() {
            [] => {
                self.refuse(
                    node,
                    "expected a value after it (keepalived exits on it too: a missing parameter)",
                );
                None
            }
            [value, extra @ ..] => {
                if !extra.is_empty() {
                    self.adjust_node(
                        node,
                        format!(
                            "{} ignored: {} takes one value, and keepalived reads only the first",
                            extra.join(" "),
                            node.keyword()
                        ),
                    );
                }
                Some(value)
            }
        }
    }

    /// A keyword that takes no value: keepalived ignores any given
    /// (`preempt off` is preempt, vrrp_parser.c vrrp_preempt_handler).
    fn bare(&mut self, node: &Node) {
        if !node.args().is_empty() {
            self.adjust_node(
                node,
                format!(
                    "{} ignored: {} takes no value, and keepalived sets it whatever follows",
                    node.args().join(" "),
                    node.keyword()
                ),
            );
        }
    }

    /// The entries of a list block (`virtual_ipaddress { ... }`).
    /// keepalived reads words after the keyword as an error and goes on
    /// ("Block %s has extra parameters", parser.c alloc_value_block).
    fn entries<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        if !node.args().is_empty() {
            self.adjust_node(
                node,
                format!(
                    "{} ignored: keepalived reads only the entries in the {{ }} block",
                    node.args().join(" ")
                ),
            );
        }
        self.block(node)
    }

    /// `vrrp_instance NAME { ... }` and the like.
    fn named_section(&mut self, node: &Node, kind: &Kind) {
        let name =
            match node.args() {
                [name] => name.clone(),
                [] if kind.name_required => return self.refuse(
                    node,
                    "expected a name after it (keepalived exits on it too: a missing parameter)",
                ),
                [name, extra @ ..] if kind.name_required => {
                    self.adjust_node(
                        node,
                        format!(
                            "{} ignored: keepalived reads only the first name",
                            extra.join(" ")
                        ),
                    );
                    name.clone()
                }
                _ => {
                    return self.adjust_node(
                        node,
                        "expected one name: keepalived skips the section, and so does vipd",
                    )
                }
            };
        let taken = self
            .value
            .get(kind.table)
            .and_then(|t| t.get(&name))
            .is_some();
        // vrrp_script and vrrp_track_process names are apart in
        // keepalived; both are checks in vipd.
        if taken && kind.table == "checks" {
            let script = self.scripts.contains(&name);
            if script != (kind.keyword == "vrrp_script") {
                return self.refuse(
                    node,
                    format!("{name} names both a vrrp_script and a vrrp_track_process: vipd keeps both as checks, in one name space; rename one (and its track_script or track_process lines)"),
                );
            }
        }
        if taken {
            return self.adjust_node(
                node,
                format!(
                    "{name} is already defined: keepalived keeps the first and skips this one, and so does vipd"
                ),
            );
        }
        let mut positions = std::mem::take(&mut self.positions);
        let path = format!("{}.{name}", kind.table);
        let mut section = Section {
            path,
            name: name.clone(),
            map: Map::new(),
            positions: &mut positions,
            facts: Facts {
                at: Some(node.at.clone()),
                ..Facts::default()
            },
        };
        for entry in self.block(node) {
            (kind.body)(self, &mut section, entry);
        }
        let keep = (kind.finish)(self, &mut section, node);
        let map = std::mem::take(&mut section.map);
        let path = section.path.clone();
        if keep {
            positions.insert(path, node.at.clone());
            self.value
                .entry(kind.table.to_string())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .map(|t| t.insert(name, Value::Object(map)));
        } else {
            let prefix = format!("{path}.");
            positions.retain(|key, _| !key.starts_with(&prefix));
        }
        self.positions = positions;
    }

    fn global(&mut self, node: &Node, globals: &mut Globals) {
        let keyword = node.keyword();
        let instance_default = match keyword {
            "vrrp_version" => self
                .value(node)
                .and_then(|v| self.version(node, v))
                .map(|v| ("version", json!(v))),
            "vrrp_garp_master_delay" => self.garp_delay(node).map(|v| {
                globals.derived_defaults.push((
                    "garp_lower_prio_delay",
                    v.clone(),
                    node.at.clone(),
                ));
                ("garp_master_delay", v)
            }),
            "vrrp_garp_master_repeat" => self.repeat(node).map(|v| {
                globals.derived_defaults.push((
                    "garp_lower_prio_repeat",
                    v.clone(),
                    node.at.clone(),
                ));
                ("garp_master_repeat", v)
            }),
            "vrrp_garp_lower_prio_delay" => {
                self.garp_delay(node).map(|v| ("garp_lower_prio_delay", v))
            }
            "vrrp_garp_lower_prio_repeat" => self
                .lower_prio_repeat(node)
                .map(|v| ("garp_lower_prio_repeat", v)),
            "vrrp_garp_master_refresh" => {
                self.garp_refresh(node).map(|v| ("garp_master_refresh", v))
            }
            "vrrp_garp_master_refresh_repeat" => {
                self.repeat(node).map(|v| ("garp_master_refresh_repeat", v))
            }
            "vrrp_check_unicast_src" => {
                self.bare(node);
                Some(("check_unicast_src", Value::Bool(true)))
            }
            // global_parser.c: defaults for every instance.
            "vrrp_down_timer_adverts" => self
                .down_timer_adverts(node)
                .map(|v| ("down_timer_adverts", v)),
            "vrrp_lower_prio_no_advert" => self
                .flag(node)
                .map(|v| ("lower_prio_no_advert", Value::Bool(v))),
            "vrrp_higher_prio_send_advert" => self
                .flag(node)
                .map(|v| ("higher_prio_send_advert", Value::Bool(v))),
            "vrrp_notify_priority_changes" => self
                .flag(node)
                .map(|v| ("notify_priority_changes", Value::Bool(v))),
            "vrrp_skip_check_adv_addr" => self
                .flag(node)
                .map(|v| ("skip_check_adv_addr", Value::Bool(v))),
            "vrrp_owner_ignore_adverts" => self
                .flag(node)
                .map(|v| ("owner_ignore_adverts", Value::Bool(v))),
            // keepalived 2.4 (global_parser.c v3_checksum_as_v2): bare.
            "v3_checksum_as_v2" => {
                self.bare(node);
                Some(("v3_checksum_as_v2", Value::Bool(true)))
            }
            // global_parser.c vrrp_mcast_group4/6_handler: the group of
            // every instance of that family without its own mcast_dst_ip.
            "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
                let Some(word) = self.value(node) else { return };
                let ipv6 = keyword.ends_with('6');
                let (family, label) = if ipv6 {
                    ("IPv6", Family::V6)
                } else {
                    ("IPv4", Family::V4)
                };
                let why = match word.parse::<IpAddr>() {
                    Err(_) => Some(format!("Can't parse {keyword} [{word}]. Skipping")),
                    Ok(group) if group.is_ipv6() != ipv6 => {
                        Some(format!("{keyword} [{word}] is not {family}. Skipping"))
                    }
                    Ok(group) if !group.is_multicast() => {
                        Some(format!("{keyword} [{word}] is not multicast. Skipping"))
                    }
                    Ok(group) => {
                        if let IpAddr::V6(v6) = group {
                            if v6.octets()[1] & 0x0f != 0x02 {
                                self.adjust_node(
                                    node,
                                    format!("{keyword} [{word}] should be link-local multicast: used all the same, as keepalived uses it"),
                                );
                            }
                        }
                        globals.groups.push((label, text(word), node.at.clone()));
                        None
                    }
                };
                if let Some(why) = why {
                    self.adjust_node(node, format!("{why}: ignored, as keepalived ignores it"));
                }
                None
            }
            // global_parser.c vrrp_garp_interval_handler (and gna): decimal
            // seconds, at least a microsecond; a bad value is ignored.
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                let Some(word) = self.value(node) else { return };
                match numbers::seconds(word, 1, u64::from(u32::MAX)) {
                    Ok(micros) => {
                        self.top(&keyword[5..], seconds_value(micros), &node.at);
                    }
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (\"{keyword} '{word}' is invalid\")"),
                    ),
                }
                None
            }
            // global_parser.c vrrp_vmac_garp_extra_if_handler: every
            // instance's garp_extra_if unless it sets its own.
            "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => self
                .garp_extra_if(node, 1, "")
                .map(|v| ("garp_extra_if", v)),
            // global_parser.c vrrp_min_garp_handler: one announcement, no
            // second burst and no refresh, unless set otherwise (below
            // anything vrrp_garp_master_* set, in any order).
            "vrrp_min_garp" => {
                if self.flag(node) == Some(true) {
                    for (key, value) in [
                        ("garp_master_repeat", json!(1)),
                        ("garp_master_delay", json!(0)),
                        ("garp_master_refresh", json!(0)),
                        ("garp_lower_prio_repeat", json!(1)),
                        ("garp_lower_prio_delay", json!(0)),
                    ] {
                        globals.derived_defaults.push((key, value, node.at.clone()));
                    }
                }
                None
            }
            // global_parser.c vrrp_strict_handler: bare in 2.2.7, a true
            // or false word too in 2.4; every instance's strict_mode
            // unless it says otherwise (vrrp.c vrrp_complete_instance).
            // 2.2.7's handler sets it whatever word follows (2.4 reads
            // true or false): vipd runs a file as 2.2.7 runs it.
            "vrrp_strict" => {
                if let [word, ..] = node.args() {
                    self.adjust_node(
                        node,
                        format!("{word:?}: strict mode is on all the same, as keepalived 2.2.7 sets it whatever word follows (2.4 reads true or false)"),
                    );
                }
                self.strict_global = true;
                Some(("strict_mode", Value::Bool(true)))
            }
            // Read at the end: enable_snmp_* may follow it.
            "router_id" => {
                globals.router_id = Some(node.clone());
                None
            }
            _ => {
                self.global_other(node);
                return;
            }
        };
        if let Some((key, value)) = instance_default {
            globals
                .instance_defaults
                .push((key, value, node.at.clone()));
        }
    }

    fn global_other(&mut self, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            // global_parser.c script_user_handler checks for the name.
            "script_user" => match node.args() {
                [] => self.adjust_node(
                    node,
                    "no user name: ignored, as keepalived ignores it (\"No script username specified\")",
                ),
                [user, rest @ ..] => {
                    if !rest.is_empty() {
                        self.drop_part(node, unsupported::SCRIPT_GROUP);
                    }
                    self.top("script_user", text(user), &node.at);
                }
            },
            "notify_fifo" | "vrrp_notify_fifo" => {
                if let Some(path) = self.value_keeping_rest(node, unsupported::FIFO_OWNER) {
                    self.top("notify_fifo", text(path), &node.at);
                }
            }
            // global_parser.c vrrp_nftables_handler: `nftables [TABLE]`.
            // Bare, keepalived names its table keepalived; vipd keeps its
            // own name, so that it never deletes a table it did not make.
            "nftables" => match node.args() {
                [] => self.adjust_node(
                    node,
                    "no name: vipd uses its own table, vipd, not keepalived's default (keepalived), so that it never deletes keepalived's",
                ),
                [table, rest @ ..] => {
                    if !rest.is_empty() {
                        self.drop_part(node, unsupported::NO_EFFECT_HERE);
                    }
                    if crate::net::firewall::valid_table_name(table) {
                        self.nftables("table", text(table), &node.at);
                    } else {
                        self.adjust_node(
                            node,
                            format!("{table:?} ignored: nft cannot address a table so named (a letter or _, then letters, digits, _ or .); vipd uses its own, vipd"),
                        );
                    }
                }
            },
            // global_parser.c vrrp_startup_delay_handler: decimal
            // seconds, 0.001 and up; a bad value is ignored.
            // global_parser.c vrrp_vmac_prefix_handler: the first is kept.
            // global_parser.c vrrp_vmac_addr_prefix_handler: the same.
            "vmac_prefix" | "vmac_addr_prefix" => {
                let Some(word) = self.value(node) else { return };
                if self.value.contains_key(keyword) {
                    let what = if keyword == "vmac_prefix" {
                        "vmac prefix"
                    } else {
                        "vmac_addr prefix"
                    };
                    return self.adjust_node(
                        node,
                        format!("{what} has already been specified: {word} ignored, as keepalived ignores it"),
                    );
                }
                self.top(keyword, text(word), &node.at);
            }
            // keepalived 2.4's vrrp_delay_after_boot reads the same way
            // (a delay counted from boot); 2.2.7 does not know it.
            "vrrp_startup_delay" | "vrrp_delay_after_boot" => {
                let Some(word) = self.value(node) else { return };
                let key = if keyword == "vrrp_startup_delay" {
                    "startup_delay"
                } else {
                    "delay_after_boot"
                };
                match numbers::seconds(word, MICROS / 1000, u64::from(u32::MAX)) {
                    Ok(micros) => self.top(key, seconds_value(micros), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (\"{keyword} is invalid\")"),
                    ),
                }
            }
            "nftables_priority" => {
                let Some(word) = self.value(node) else { return };
                match numbers::int(word, i64::from(i32::MIN), i64::from(i32::MAX), false) {
                    Ok(priority) => self.nftables("priority", json!(priority), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (the priority stays -1)"),
                    ),
                }
            }
            // lib/notify.c: the reader of the FIFO, SCRIPT [user [group]].
            "notify_fifo_script" | "vrrp_notify_fifo_script" => {
                if let Some(line) = self.value_keeping_rest(node, unsupported::NOTIFY_USER) {
                    if self.value.contains_key("notify_fifo_script") {
                        return self.adjust_node(
                            node,
                            "ignored: vipd has one notify FIFO (notify_fifo and vrrp_notify_fifo are the same), and runs the first reader given",
                        );
                    }
                    self.top("notify_fifo_script", text(line), &node.at);
                }
            }
            // global_parser.c snmp_socket_handler: one value; a missing
            // or extra one is reported and the line ignored; the first of
            // two is kept.
            "snmp_socket" => match node.args() {
                [] => self.adjust_node(
                    node,
                    "no socket: ignored, as keepalived ignores it (\"snmp socket name missing\")",
                ),
                [_, _, ..] => self.adjust_node(
                    node,
                    "ignored, as keepalived ignores it (\"Too many parameters specified for snmp_socket\"): the default, /var/agentx/master, is used",
                ),
                [socket] => {
                    let set = self
                        .value
                        .get("snmp")
                        .is_some_and(|snmp| snmp.get("socket").is_some());
                    if set {
                        self.adjust_node(
                            node,
                            "ignored: keepalived keeps the first snmp_socket (\"SNMP socket already set\")",
                        );
                    } else if let Err(why) = crate::snmp::MasterAddress::parse(socket) {
                        self.adjust_node(
                            node,
                            format!("{why}: ignored; the default, /var/agentx/master, is used"),
                        );
                    } else {
                        self.snmp("socket", text(socket), &node.at);
                    }
                }
            },
            // global_parser.c: each sets a flag, whatever follows.
            "enable_traps" => {
                self.bare(node);
                self.snmp("traps", Value::Bool(true), &node.at);
            }
            "enable_snmp_vrrp" | "enable_snmp_keepalived" => {
                self.bare(node);
                if keyword == "enable_snmp_keepalived" {
                    // install_keyword("enable_snmp_keepalived",
                    // &snmp_vrrp_handler), "Deprecated v2.0.0".
                    self.adjust_node(
                        node,
                        "read as enable_snmp_vrrp, as keepalived 2.2 reads it (deprecated since keepalived 2.0)",
                    );
                }
                self.snmp("vrrp", Value::Bool(true), &node.at);
            }
            "enable_snmp_rfc" => {
                self.bare(node);
                self.snmp("rfcv2", Value::Bool(true), &node.at);
                self.snmp("rfcv3", Value::Bool(true), &node.at);
            }
            "enable_snmp_rfcv2" | "enable_snmp_rfcv3" => {
                self.bare(node);
                let key = keyword.trim_start_matches("enable_snmp_");
                self.snmp(key, Value::Bool(true), &node.at);
            }
            "fifo_write_vrrp_states_on_reload" | "log_unknown_vrids" => {
                self.bare(node);
                self.top(keyword, Value::Bool(true), &node.at);
            }
            // vipd always refuses to run, as root, a script that others
            // can change (config/scripts.rs): keepalived's opt-in is
            // vipd's only behaviour.
            "enable_script_security" => self.bare(node),
            // A top-level block written inside global_defs: keepalived
            // ignores the keyword there, and the first `}` of its block
            // ends global_defs, so what follows is read at the top level.
            "vrrp_instance" | "vrrp_script" | "vrrp_track_file" | "track_file"
            | "vrrp_track_process" | "vrrp_sync_group" | "garp_group"
            | "interface_up_down_delays" | "linkbeat_interfaces" | "static_ipaddress"
            | "static_routes" | "static_rules" | "virtual_server" | "virtual_server_group" => self
                .adjust_node(
                    node,
                    format!("{keyword} is a top-level block, not a global_defs keyword: ignored here, as keepalived ignores it; move it after global_defs' closing brace"),
                ),
            _ => match unsupported::global(keyword) {
                Some(why) => self.drop(node, why),
                None => self.unknown(node, "in global_defs"),
            },
        }
    }

    /// vrrp_parser.c garp_group: `garp_interval`, `gna_interval` (decimal
    /// seconds, a bad one ignored), `interface NAME` and `interfaces { }`;
    /// a group with no interface does nothing.
    /// vrrp_parser.c alloc_if_up_down_delay: `IFNAME DOWN [UP]`, decimal
    /// seconds 0..255; a missing up delay is 0 (the parser's, not the
    /// manual's "the same as the down delay"); a bad line is ignored.
    fn up_down_delays(&mut self, node: &Node) {
        for entry in self.block(node) {
            let interface = entry.keyword();
            let read = |word: &str| numbers::seconds(word, 0, 255 * MICROS);
            let (down, up) = match entry.args() {
                [] => {
                    self.adjust_node(entry, format!("no timeouts specified for {interface} up/down delays: ignored, as keepalived ignores it"));
                    continue;
                }
                [down] => (read(down), Ok(0)),
                [down, up, rest @ ..] => {
                    if !rest.is_empty() {
                        self.adjust_node(entry, format!("too many parameters for {interface} up/down delays: the rest ignored, as keepalived ignores it"));
                    }
                    (read(down), read(up))
                }
            };
            match (down, up) {
                (Ok(down), Ok(up)) => {
                    let key = format!("interface_up_down_delays.{interface}");
                    self.positions.insert(key.clone(), entry.at.clone());
                    let delays = self
                        .value
                        .entry("interface_up_down_delays")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(delays) = delays {
                        delays.insert(
                            interface.to_string(),
                            json!({ "down": seconds_value(down), "up": seconds_value(up) }),
                        );
                    }
                }
                (Err(why), _) | (_, Err(why)) => self.adjust_node(
                    entry,
                    format!("{why}: the line is ignored, as keepalived ignores it (\"Invalid down/up delay\"; expected 0..255 seconds)"),
                ),
            }
        }
    }

    fn garp_group(&mut self, node: &Node) {
        let mut group = Map::new();
        let mut interfaces: Vec<Value> = Vec::new();
        let index = self
            .value
            .get("garp_group")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let path = format!("garp_group.{index}");
        for entry in self.block(node) {
            let keyword = entry.keyword();
            match keyword {
                "garp_interval" | "gna_interval" => {
                    let Some(word) = self.value(entry) else {
                        continue;
                    };
                    match numbers::seconds(word, 0, i32::MAX as u64) {
                        Ok(micros) => {
                            group.insert(keyword.into(), seconds_value(micros));
                            self.positions
                                .insert(format!("{path}.{keyword}"), entry.at.clone());
                        }
                        Err(why) => self.adjust_node(
                            entry,
                            format!("{why}: ignored, as keepalived ignores it (\"garp_group {keyword} '{word}' invalid\")"),
                        ),
                    }
                }
                "interface" => {
                    if let Some(name) = self.value(entry) {
                        interfaces.push(text(name));
                    }
                }
                "interfaces" => {
                    let names = self.entries(entry);
                    if names.is_empty() {
                        self.adjust_node(
                            entry,
                            "Warning - empty garp_group interfaces block: nothing to space",
                        );
                    }
                    for name in names {
                        interfaces.push(text(name.keyword()));
                    }
                }
                _ => self.unknown(entry, "in garp_group"),
            }
        }
        if interfaces.is_empty() {
            return self.adjust_node(
                node,
                "no interface: the group spaces nothing, as in keepalived",
            );
        }
        group.insert("interfaces".into(), Value::Array(interfaces));
        self.positions
            .insert(format!("{path}.interfaces"), node.at.clone());
        self.positions.insert(path, node.at.clone());
        if let Value::Array(list) = self
            .value
            .entry("garp_group".to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(Value::Object(group));
        }
    }

    /// `garp_extra_if DELAY [all]` as keepalived reads it: whole seconds
    /// `min`..86400 (leniently) and `all` in any order; a bad word or no
    /// delay ignores the line, with keepalived's words after `prefix`.
    /// The old names are read the same, with keepalived's deprecation.
    fn garp_extra_if(&mut self, node: &Node, min: u64, prefix: &str) -> Option<Value> {
        let keyword = node.keyword();
        if keyword.ends_with("vmac_garp_intvl") {
            let new = if keyword.starts_with("vrrp_") {
                "vrrp_garp_extra_if"
            } else {
                "garp_extra_if"
            };
            self.adjust_node(
                node,
                format!(
                    "Keyword \"{keyword}\" is deprecated - please use \"{new}\": read as {new}"
                ),
            );
        }
        let (mut delay, mut all) = (None, false);
        for word in node.args() {
            if word == "all" {
                all = true;
                continue;
            }
            match self.lenient_unsigned(node, word, min, 86_400) {
                Ok(v) => delay = Some(v),
                Err(why) => {
                    self.adjust_node(
                        node,
                        format!("{prefix}{keyword} '{word}' invalid - ignoring ({why})"),
                    );
                    return None;
                }
            }
        }
        let Some(delay) = delay else {
            self.adjust_node(
                node,
                format!("{prefix}{keyword} specified without time - ignoring"),
            );
            return None;
        };
        let all = if all { " all" } else { "" };
        Some(text(&format!("{delay}{all}")))
    }

    /// `keyword VALUE [MORE...]`: VALUE, with MORE dropped for `why`.
    fn value_keeping_rest<'n>(&mut self, node: &'n Node, why: Why) -> Option<&'n str> {
        match node.args() {
            [] => {
                self.refuse(
                    node,
                    "expected a value after it (keepalived exits on it too: a missing parameter)",
                );
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

    /// A key of the top-level `nftables` block.
    fn nftables(&mut self, key: &str, value: Value, at: &Position) {
        self.positions.insert(format!("nftables.{key}"), at.clone());
        self.positions
            .entry("nftables".to_string())
            .or_insert_with(|| at.clone());
        if let Value::Object(block) = self
            .value
            .entry("nftables".to_string())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            block.insert(key.to_string(), value);
        }
    }

    /// global_defs router_id: KEEPALIVED-MIB's routerId when SNMP is on
    /// (keepalived also names the host by it in e-mail, which vipd does
    /// not send).
    fn router_id(&mut self, node: Option<Node>) {
        let Some(node) = node else {
            return;
        };
        let snmp_on = self.value.get("snmp").is_some();
        match node.args() {
            [] => self.adjust_node(
                &node,
                "no value: ignored, as keepalived ignores it (\"router_id requires a value\")",
            ),
            [id, ..] if snmp_on => self.snmp("router_id", text(id), &node.at),
            _ => self.drop(&node, unsupported::ROUTER_ID),
        }
    }

    /// A key of the top-level `snmp` block.
    fn snmp(&mut self, key: &str, value: Value, at: &Position) {
        self.positions.insert(format!("snmp.{key}"), at.clone());
        self.positions
            .entry("snmp".to_string())
            .or_insert_with(|| at.clone());
        if let Value::Object(block) = self
            .value
            .entry("snmp".to_string())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            block.insert(key.to_string(), value);
        }
    }

    /// A key at the top of vipd's configuration.
    fn top(&mut self, key: &str, value: Value, at: &Position) {
        self.positions.insert(key.to_string(), at.clone());
        self.value.insert(key.to_string(), value);
    }

    fn apply_globals(&mut self, globals: &Globals) {
        // vrrp.c vrrp_complete_instance: notify_priority_changes is the
        // instance's, else its sync group's, else the global one.
        let grouped_setting: Vec<String> = self
            .value
            .get("sync_groups")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|groups| groups.values())
            .filter(|g| g.get("notify_priority_changes").is_some())
            .filter_map(|g| g.get("group").and_then(Value::as_array))
            .flatten()
            .filter_map(|member| member.as_str().map(str::to_string))
            .collect();
        let strict_names: Vec<String> = match self.value.get("instances") {
            Some(Value::Object(instances)) => instances
                .keys()
                .filter(|name| self.strict_of(name))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let Some(Value::Object(instances)) = self.value.get_mut("instances") else {
            return;
        };
        // What keepalived runs otherwise than written, said once the
        // instances are no longer borrowed: (key whose line it was, keyword, why).
        let mut notes: Vec<(String, &'static str, String)> = Vec::new();
        for (name, instance) in instances.iter_mut() {
            let Value::Object(instance) = instance else {
                continue;
            };
            let ipv6 = self
                .instance_facts
                .get(name)
                .is_some_and(|f| f.family == Some(Family::V6));
            let strict = strict_names.contains(name);
            // vrrp.c vrrp_complete_instance: a multicast instance's group
            // is the global one of its family unless it names its own
            // (a unicast one's is left for the configuration's check).
            let family = if ipv6 { Family::V6 } else { Family::V4 };
            let group = globals.groups.iter().rev().find(|(f, ..)| *f == family);
            if let (Some((_, group, at)), false, false) = (
                group,
                instance.contains_key("mcast_dst_ip"),
                instance.contains_key("unicast_peer"),
            ) {
                instance.insert("mcast_dst_ip".into(), group.clone());
                self.positions
                    .insert(format!("instances.{name}.mcast_dst_ip"), at.clone());
            }
            for (key, value, at) in globals
                .instance_defaults
                .iter()
                .chain(&globals.derived_defaults)
            {
                // vrrp.c vrrp_complete_instance: an IPv6 instance with no
                // version of its own is VRRPv3, whatever vrrp_version says.
                if *key == "version" && ipv6 {
                    continue;
                }
                if *key == "notify_priority_changes" && grouped_setting.contains(name) {
                    continue;
                }
                // vrrp.c vrrp_complete_instance: the global applies to
                // address owners only, and warns about no other instance.
                let owner = instance.get("priority").and_then(Value::as_u64) == Some(255);
                if *key == "owner_ignore_adverts" && !owner {
                    continue;
                }
                // vrrp.c vrrp_complete_instance: where the instance sets
                // none, strict mode's own defaults, not the global ones.
                let strict_default = matches!(
                    *key,
                    "garp_lower_prio_repeat"
                        | "garp_lower_prio_delay"
                        | "lower_prio_no_advert"
                        | "higher_prio_send_advert"
                        | "owner_ignore_adverts"
                );
                if strict && strict_default {
                    continue;
                }
                if !instance.contains_key(*key) {
                    instance.insert(key.to_string(), value.clone());
                    self.positions
                        .insert(format!("instances.{name}.{key}"), at.clone());
                }
            }
            // vrrp.c vrrp_complete_instance (2.4.3): "strict mode
            // requires auth_hmac mode enforce".
            if let (true, Some(Value::Object(hmac))) = (strict, instance.get_mut("auth_hmac")) {
                let mode = hmac
                    .get("mode")
                    .and_then(Value::as_str)
                    .unwrap_or("enforce");
                if mode != "enforce" {
                    hmac.insert("mode".into(), text("enforce"));
                    notes.push((
                        format!("instances.{name}.auth_hmac.mode"),
                        "mode",
                        format!("({name}) strict mode requires auth_hmac mode enforce: enforce, as keepalived 2.4 does"),
                    ));
                }
            }
            // vrrp.c vrrp_complete_instance: a VRRPv2 IPv4 instance with
            // no address runs ("at least one is sensible"); v3 or IPv6
            // needs no_virtual_ipaddress (keepalived 2.2.8), or is refused.
            let has_addresses = instance
                .get("virtual_ipaddress")
                .and_then(Value::as_array)
                .is_some_and(|list| !list.is_empty());
            let v2 = instance.get("version").and_then(Value::as_u64).unwrap_or(2) == 2;
            // Strict mode requires one ("at least one is required"): the
            // core refuses the instance, as keepalived does.
            if !has_addresses
                && !instance.contains_key("no_virtual_ipaddress")
                && v2
                && !ipv6
                && !strict
            {
                instance.insert("no_virtual_ipaddress".into(), Value::Bool(true));
                notes.push((
                    format!("instances.{name}"),
                    "vrrp_instance",
                    format!("({name}) No VIP specified; at least one is sensible: it runs holding no address, as keepalived does"),
                ));
            }
            // keepalived counts unicast adverts from any address unless
            // told otherwise (check_unicast_src is off by default); vipd's
            // own formats check by default, so a .conf says it is off.
            if instance.contains_key("unicast_peer") && !instance.contains_key("check_unicast_src")
            {
                instance.insert("check_unicast_src".into(), Value::Bool(false));
                notes.push((
                    format!("instances.{name}.unicast_peer"),
                    "unicast_peer",
                    format!("({name}) check_unicast_src is off, as keepalived's default: an advert from any address counts; add check_unicast_src to count only the peers'"),
                ));
            }
        }
        for (key, keyword, why) in notes {
            if let Some(at) = self.positions.get(&key).cloned() {
                self.adjust(&at, keyword, why);
            }
        }
    }

    /// Whether keepalived runs the instance in strict mode: its own
    /// strict_mode, else global_defs' vrrp_strict.
    pub(super) fn strict_of(&self, name: &str) -> bool {
        self.instance_facts
            .get(name)
            .and_then(|f| f.strict)
            .unwrap_or(self.strict_global)
    }

    /// keepalived's lenient read (parser.c, `ignore_error`): a number
    /// followed by other characters is taken if in range, with a warning.
    fn lenient_unsigned(
        &mut self,
        node: &Node,
        word: &str,
        min: u64,
        max: u64,
    ) -> numbers::Read<u64> {
        let read = numbers::unsigned(word, min, max, true);
        if let Ok(value) = read {
            self.warn_junk(node, word, value as i64);
        }
        read
    }

    fn lenient_int(&mut self, node: &Node, word: &str, min: i64, max: i64) -> numbers::Read<i64> {
        let read = numbers::int(word, min, max, true);
        if let Ok(value) = read {
            self.warn_junk(node, word, value);
        }
        read
    }

    fn warn_junk(&mut self, node: &Node, word: &str, value: i64) {
        if numbers::has_junk(word) {
            self.adjust_node(
                node,
                format!("{word:?} is not a whole number: keepalived reads {value} from it, and so does vipd"),
            );
        }
    }

    /// vrrp_version_handler: 2 or 3, else ignored.
    fn version(&mut self, node: &Node, word: &str) -> Option<i64> {
        match self.lenient_int(node, word, 2, 3) {
            Ok(v) => Some(v),
            Err(why) => {
                self.adjust_node(
                    node,
                    format!("{why}: ignored, as keepalived ignores it (expected 2 or 3)"),
                );
                None
            }
        }
    }

    /// garp_master_delay: whole seconds, else ignored.
    fn garp_delay(&mut self, node: &Node) -> Option<Value> {
        let word = self.value(node)?;
        match self.lenient_unsigned(node, word, 0, u32::MAX as u64 / MICROS) {
            Ok(v) => Some(json!(v)),
            Err(why) => {
                self.adjust_node(node, format!("{why}: ignored, as keepalived ignores it"));
                None
            }
        }
    }

    /// garp_master_refresh: whole seconds, else 0 (no refresh).
    fn garp_refresh(&mut self, node: &Node) -> Option<Value> {
        let word = self.value(node)?;
        match self.lenient_unsigned(node, word, 0, u32::MAX as u64) {
            Ok(v) => Some(json!(v)),
            Err(why) => {
                self.adjust_node(
                    node,
                    format!("{why}: keepalived turns the refresh off, and so does vipd"),
                );
                Some(json!(0))
            }
        }
    }

    /// A keyword that is on when bare, or `true|on|yes` / `false|off|no`
    /// (parser.c check_true_false); another word is ignored with an
    /// error, as keepalived ignores it, leaving the default.
    fn flag(&mut self, node: &Node) -> Option<bool> {
        let Some(word) = node.args().first() else {
            return Some(true);
        };
        if node.args().len() > 1 {
            self.adjust_node(
                node,
                format!(
                    "{} ignored: keepalived reads only the first word",
                    node.args()[1..].join(" ")
                ),
            );
        }
        match word.as_str() {
            "true" | "on" | "yes" => Some(true),
            "false" | "off" | "no" => Some(false),
            _ => {
                self.adjust_node(
                    node,
                    format!("{word:?}: ignored, as keepalived ignores it (expected true, false, on, off, yes or no)"),
                );
                None
            }
        }
    }

    /// down_timer_adverts: 1..100, read leniently (vrrp_parser.c).
    fn down_timer_adverts(&mut self, node: &Node) -> Option<Value> {
        let word = self.value(node)?;
        match self.lenient_unsigned(node, word, 1, 100) {
            Ok(v) => Some(json!(v)),
            Err(why) => {
                self.adjust_node(
                    node,
                    format!("{why}: ignored, as keepalived ignores it (expected 1..100)"),
                );
                None
            }
        }
    }

    /// garp_lower_prio_repeat: a count, 0 is none (vrrp_parser.c reads
    /// 0..INT_MAX, leniently).
    fn lower_prio_repeat(&mut self, node: &Node) -> Option<Value> {
        let word = self.value(node)?;
        match self.lenient_unsigned(node, word, 0, i32::MAX as u64) {
            Ok(v) => Some(json!(v)),
            Err(why) => {
                self.adjust_node(node, format!("{why}: ignored, as keepalived ignores it"));
                None
            }
        }
    }

    /// garp_master_repeat and _refresh_repeat: a count, 0 read as 1.
    fn repeat(&mut self, node: &Node) -> Option<Value> {
        let word = self.value(node)?;
        match self.lenient_unsigned(node, word, 0, u32::MAX as u64) {
            Ok(0) => {
                self.adjust_node(node, "0 read as 1, as keepalived reads it");
                Some(json!(1))
            }
            Ok(v) => Some(json!(v)),
            Err(why) => {
                self.adjust_node(node, format!("{why}: ignored, as keepalived ignores it"));
                None
            }
        }
    }

    fn instance(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            "state" => self.state(section, node),
            "interface" => {
                let Some(name) = self.value(node) else { return };
                // vrrp_int_handler: IFNAMSIZ is 16 with the final NUL.
                if name.len() >= 16 {
                    return self.adjust_node(
                        node,
                        format!("{name:?} is longer than an interface name can be (15): ignored, as keepalived ignores it"),
                    );
                }
                section.set("interface", text(name), &node.at);
            }
            "virtual_router_id" => {
                let Some(word) = self.value(node) else { return };
                match numbers::unsigned(word, 1, 255, false) {
                    Ok(v) => section.set(keyword, json!(v), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected 1..255)"),
                    ),
                }
            }
            "priority" => {
                let Some(word) = self.value(node) else { return };
                section.facts.priority_set = true;
                match numbers::unsigned(word, 1, 255, false) {
                    Ok(v) => section.set(keyword, json!(v), &node.at),
                    Err(why) => {
                        self.adjust_node(
                            node,
                            format!("{why}: keepalived uses the default, 100, and so does vipd (expected 1..255)"),
                        );
                        section.set(keyword, json!(100), &node.at);
                    }
                }
            }
            "version" => {
                let Some(word) = self.value(node) else { return };
                let Some(version) = self.version(node, word) else {
                    return;
                };
                if version == 2 && section.facts.family == Some(Family::V6) {
                    return self.adjust_node(
                        node,
                        "version 2 ignored: the instance is IPv6 by its addresses, and keepalived ignores it",
                    );
                }
                section.set(keyword, json!(version), &node.at);
            }
            "advert_int" => {
                let Some(word) = self.value(node) else { return };
                match numbers::seconds(word, MICROS / 100, 255 * MICROS) {
                    Ok(micros) => section.facts.advert = Some((micros, node.at.clone())),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected 0.01..255 s)"),
                    ),
                }
            }
            "preempt_delay" => {
                let Some(word) = self.value(node) else { return };
                match numbers::seconds(word, 0, 1000 * MICROS) {
                    Ok(micros) => section.set(keyword, seconds_value(micros), &node.at),
                    Err(why) => {
                        self.adjust_node(
                            node,
                            format!(
                                "{why}: keepalived uses 0, and so does vipd (expected 0..1000 s)"
                            ),
                        );
                        section.set(keyword, json!(0), &node.at);
                    }
                }
            }
            "unicast_ttl" => {
                let Some(word) = self.value(node) else { return };
                match numbers::unsigned(word, 0, 255, false) {
                    Ok(v) => section.set(keyword, json!(v), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected 0..255)"),
                    ),
                }
            }
            "garp_master_delay" => {
                if let Some(v) = self.garp_delay(node) {
                    section.set(keyword, v, &node.at);
                }
            }
            "garp_master_refresh" => {
                if let Some(v) = self.garp_refresh(node) {
                    section.set(keyword, v, &node.at);
                }
            }
            "garp_master_repeat" | "garp_master_refresh_repeat" => {
                if let Some(v) = self.repeat(node) {
                    section.set(keyword, v, &node.at);
                }
            }
            "garp_lower_prio_delay" => {
                if let Some(v) = self.garp_delay(node) {
                    section.set(keyword, v, &node.at);
                }
            }
            "garp_lower_prio_repeat" => {
                if let Some(v) = self.lower_prio_repeat(node) {
                    section.set(keyword, v, &node.at);
                }
            }
            // vrrp_parser.c vrrp_garp_extra_if_handler: DELAY [all].
            "garp_extra_if" | "vmac_garp_intvl" => {
                let prefix = format!("({}): ", section.name);
                if let Some(v) = self.garp_extra_if(node, 0, &prefix) {
                    section.set("garp_extra_if", v, &node.at);
                }
            }
            // vrrp_parser.c vrrp_mcast_dstip_handler: an address of the
            // instance's family (it decides the family if none has), IPv4
            // multicast or IPv6 link-local multicast; else skipped.
            "mcast_dst_ip" => {
                let Some(word) = self.value(node) else { return };
                let Ok(group) = word.parse::<IpAddr>() else {
                    return self.adjust_node(
                        node,
                        format!("({}) malformed mcast dest address {word}. Skipping...: ignored, as keepalived ignores it", section.name),
                    );
                };
                if self.family_conflict(section, node, group) {
                    return;
                }
                let usable = match group {
                    IpAddr::V4(v4) => v4.is_multicast(),
                    IpAddr::V6(v6) => v6.octets()[0] == 0xff && v6.octets()[1] & 0x0f == 0x02,
                };
                if !usable {
                    let link = if group.is_ipv6() { " link-local" } else { "" };
                    return self.adjust_node(
                        node,
                        format!("({}) mcast_dst_ip {word} not{link} multicast. Skipping...: ignored, as keepalived ignores it", section.name),
                    );
                }
                section.set(keyword, text(word), &node.at);
            }
            "mcast_src_ip" | "unicast_src_ip" => {
                let Some(word) = self.value(node) else { return };
                let Ok(address) = word.parse::<IpAddr>() else {
                    return self.adjust_node(
                        node,
                        format!("{word:?} is not an address: ignored, as keepalived ignores it"),
                    );
                };
                if self.family_conflict(section, node, address) {
                    return;
                }
                section.set("source_ip", text(word), &node.at);
            }
            "nopreempt" | "preempt" | "accept" | "no_accept" => {
                self.bare(node);
                let (key, on) = match keyword {
                    "nopreempt" => ("preempt", false),
                    "preempt" => ("preempt", true),
                    "accept" => ("accept", true),
                    _ => ("accept", false),
                };
                section.set(key, Value::Bool(on), &node.at);
            }
            // vrrp_parser.c vrrp_vmac_addr_handler: a bare flag.
            "check_unicast_src" | "unicast_fault_no_peer" | "vmac_xmit_base" | "use_vmac_addr" => {
                self.bare(node);
                section.set(keyword, Value::Bool(true), &node.at);
            }
            // keepalived 2.4: an instance that holds no address.
            "no_virtual_ipaddress" => {
                self.bare(node);
                section.set(keyword, Value::Bool(true), &node.at);
            }
            // vrrp_parser.c vrrp_unicast_chksum_handler: bare is the old
            // way always, `never` never; another word is ignored (auto).
            "old_unicast_checksum" => match node.args() {
                [] => section.set(keyword, text("always"), &node.at),
                [never, ..] if never == "never" => section.set(keyword, text("never"), &node.at),
                [other, ..] => self.adjust_node(
                    node,
                    format!("unknown old_unicast_checksum mode {other:?}: ignored, as keepalived ignores it (expected nothing, or never)"),
                ),
            },
            "dont_track_primary" => {
                self.bare(node);
                section.set(keyword, Value::Bool(true), &node.at);
            }
            // keepalived 2.4 (vrrp_parser.c vrrp_timer_expired_backup_handler):
            // bare is 254; a bad number leaves it off. thread_timer_expired
            // is its old name, read with a request to rename it.
            "timer_expired_backup" | "thread_timer_expired" => {
                if keyword == "thread_timer_expired" {
                    self.adjust_node(
                        node,
                        "thread_timer_expired - please replace with keyword 'timer_expired_backup' (keepalived's words): read as it",
                    );
                }
                match node.args().first() {
                    None => section.set("timer_expired_backup", json!(254), &node.at),
                    Some(word) => match numbers::unsigned(word, 1, 254, false) {
                        Ok(v) => section.set("timer_expired_backup", json!(v), &node.at),
                        Err(why) => self.adjust_node(
                            node,
                            format!("the highest priority of the other routers is not valid ({why}): ignored, as keepalived ignores it"),
                        ),
                    },
                }
            }
            // vipd always does what it asks: a configured source address
            // that goes is FAULT until it is back (vrrp_parser.c
            // vrrp_track_srcip_handler, keepalived_netlink.c).
            "track_src_ip" => self.bare(node),
            // keepalived 2.4 (vrrp_parser.c v3_checksum_as_v2): bare is on.
            "v3_checksum_as_v2" => {
                if let Some(on) = self.flag(node) {
                    section.set(keyword, Value::Bool(on), &node.at);
                }
            }
            // vrrp_parser.c vrrp_skip_check_adv_addr_handler sets it for
            // any true or false word: `skip_check_adv_addr off` is on.
            "skip_check_adv_addr" => {
                if let Some(on) = self.flag(node) {
                    if !on {
                        self.adjust_node(
                            node,
                            "read as on: keepalived sets it whatever true or false word follows",
                        );
                    }
                    section.set(keyword, Value::Bool(true), &node.at);
                }
            }
            "lower_prio_no_advert"
            | "higher_prio_send_advert"
            | "notify_priority_changes"
            | "owner_ignore_adverts" => {
                if let Some(on) = self.flag(node) {
                    section.set(keyword, Value::Bool(on), &node.at);
                }
            }
            // vrrp_parser.c vrrp_strict_mode_handler: bare is on.
            "strict_mode" => {
                if let Some(on) = self.flag(node) {
                    section.facts.strict = Some(on);
                    section.set(keyword, Value::Bool(on), &node.at);
                }
            }
            "down_timer_adverts" => {
                if let Some(v) = self.down_timer_adverts(node) {
                    section.set(keyword, v, &node.at);
                }
            }
            "authentication" => self.authentication(section, node),
            "auth_hmac" => self.auth_hmac(section, node),
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                let lines = self.address_lines(section, node);
                section.set(keyword, Value::Array(lines), &node.at);
            }
            "unicast_peer" => {
                let lines = self.peers(section, node);
                section.set(keyword, Value::Array(lines), &node.at);
            }
            "virtual_routes" | "virtual_rules" => {
                let lines = self.lines(section, node, keyword);
                section.set(keyword, Value::Array(lines), &node.at);
            }
            "track_script" | "track_process" => self.tracked_checks(section, node),
            "track_interface" | "track_file" => {
                let refs = self.track_refs(section, node, keyword);
                section.set(keyword, Value::Array(refs), &node.at);
            }
            "notify_master"
            | "notify_backup"
            | "notify_fault"
            | "notify_stop"
            | "notify"
            | "notify_master_rx_lower_pri" => self.notify(section, node),
            // vrrp_parser.c vrrp_notify_deleted_handler: bare, or a script.
            "notify_deleted" => match node.args() {
                [] if section.facts.once.contains(&"notify_deleted") => self.adjust_node(
                    node,
                    "notify_deleted is already set: ignored, as keepalived keeps the first",
                ),
                [] => {
                    section.facts.once.push("notify_deleted");
                    section.set(keyword, Value::Bool(true), &node.at);
                }
                _ => self.notify(section, node),
            },
            "use_vmac" => self.use_vmac(section, node),
            "use_ipvlan" => self.use_ipvlan(section, node),
            _ => match unsupported::instance(keyword) {
                Some(why) => self.drop(node, why),
                None => self.unknown(node, "in vrrp_instance"),
            },
        }
    }

    /// vrrp_state_handler: MASTER or BACKUP, exactly; anything else is
    /// BACKUP, and BACKUP after MASTER is ignored.
    fn state(&mut self, section: &mut Section, node: &Node) {
        let Some(word) = self.value(node) else { return };
        match word {
            "MASTER" => {
                section.facts.state_master = true;
                section.set("state", text("MASTER"), &node.at);
            }
            "BACKUP" if section.facts.state_master => self.adjust_node(
                node,
                "BACKUP ignored: the state was set to MASTER before, and keepalived keeps MASTER",
            ),
            "BACKUP" => section.set("state", text("BACKUP"), &node.at),
            other => {
                self.adjust_node(
                    node,
                    format!("unknown state {other:?}: keepalived uses BACKUP, and so does vipd (expected MASTER or BACKUP)"),
                );
                section.set("state", text("BACKUP"), &node.at);
            }
        }
    }

    /// True (and warned) if `address` is not of the instance's family,
    /// which the first address read decided.
    fn family_conflict(&mut self, section: &mut Section, node: &Node, address: IpAddr) -> bool {
        let family = Family::of(address);
        match section.facts.family {
            None => {
                section.facts.family = Some(family);
                false
            }
            Some(f) if f == family => false,
            Some(f) => {
                self.adjust_node(
                    node,
                    format!(
                        "{address} is {}, but the instance is {} by the address read before it: ignored, as keepalived ignores it",
                        family.name(),
                        f.name()
                    ),
                );
                true
            }
        }
    }

    fn authentication(&mut self, section: &mut Section, node: &Node) {
        let mut auth = Map::new();
        for entry in self.block(node) {
            match entry.keyword() {
                "auth_type" => {
                    let Some(v) = self.value(entry) else { continue };
                    // vrrp_auth_type_handler compares exactly.
                    if v != "PASS" && v != "AH" {
                        self.adjust_node(
                            entry,
                            format!("unknown authentication type {v:?}: ignored, as keepalived ignores it (expected PASS or AH)"),
                        );
                        continue;
                    }
                    auth.insert("auth_type".into(), text(v));
                    section.positions.insert(
                        format!("{}.authentication.auth_type", section.path),
                        entry.at.clone(),
                    );
                }
                "auth_pass" => {
                    let Some(v) = self.value(entry) else { continue };
                    let pass = self.truncated_password(entry, v);
                    auth.insert("auth_pass".into(), text(&pass));
                    section.positions.insert(
                        format!("{}.authentication.auth_pass", section.path),
                        entry.at.clone(),
                    );
                }
                _ => self.unknown(entry, "in authentication"),
            }
        }
        if !auth.contains_key("auth_type") {
            if auth.contains_key("auth_pass") {
                self.adjust_node(
                    node,
                    "no auth_type: keepalived sends no authentication, and neither does vipd",
                );
            }
            return;
        }
        section.set("authentication", Value::Object(auth), &node.at);
    }

    /// keepalived 2.4.3's `auth_hmac` block (vrrp_parser.c
    /// `vrrp_auth_hmac_*_handler`). A second block adds to the first, as
    /// there. Where keepalived reports a configuration error and goes on
    /// with less authentication than written (a key of the wrong length
    /// left out; an active_key with no key, which turns the extension
    /// off), vipd refuses the file: running unsigned by accident is what
    /// the block is there to prevent.
    fn auth_hmac(&mut self, section: &mut Section, node: &Node) {
        let mut hmac = match section.map.remove("auth_hmac") {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for entry in self.block(node) {
            let keyword = entry.keyword();
            let key = format!("{}.auth_hmac.{keyword}", section.path);
            match keyword {
                "key" => {
                    let [id, value, rest @ ..] = entry.args() else {
                        self.refuse(entry, "auth_hmac key needs an id and a value");
                        continue;
                    };
                    if !rest.is_empty() {
                        self.adjust_node(
                            entry,
                            format!(
                                "{} word(s) after the key ignored, as keepalived reads only the first: quote a key with spaces (and one with ! or #, which begin a comment)",
                                rest.len()
                            ),
                        );
                    }
                    // read_unsigned_strvec(1, 255); the word is not
                    // repeated: it may be the key, written first.
                    let Some(id) = id.parse::<u8>().ok().filter(|id| *id != 0) else {
                        self.refuse(entry, "auth_hmac key id must be between 1 and 255");
                        continue;
                    };
                    // The value byte for byte, as keepalived takes it
                    // (a quoted key keeps its blanks).
                    let keys = hmac
                        .entry("keys")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(keys) = keys {
                        keys.push(json!({ "id": id, "key": value }));
                    }
                    section
                        .positions
                        .insert(format!("{}.auth_hmac.keys", section.path), entry.at.clone());
                }
                "active_key" | "time_window" => {
                    let Some(v) = self.value(entry) else { continue };
                    let range = if keyword == "active_key" {
                        1..=255
                    } else {
                        1..=300
                    };
                    match v.parse::<u32>() {
                        Ok(n) if range.contains(&n) => {
                            hmac.insert(keyword.into(), Value::from(n));
                            section.positions.insert(key, entry.at.clone());
                        }
                        _ => self.refuse(
                            entry,
                            format!("{v:?}: expected {}..{}", range.start(), range.end()),
                        ),
                    }
                }
                "anti_replay" | "mode" => {
                    let Some(v) = self.value(entry) else { continue };
                    let choices: &[&str] = if keyword == "mode" {
                        &["enforce", "permissive", "receive-only"]
                    } else {
                        &["time", "monotonic"]
                    };
                    if choices.contains(&v) {
                        hmac.insert(keyword.into(), text(v));
                        section.positions.insert(key, entry.at.clone());
                    } else {
                        self.refuse(entry, format!("{v:?}: expected {}", choices.join(", ")));
                    }
                }
                _ => self.unknown(entry, "in auth_hmac"),
            }
        }
        section.set("auth_hmac", Value::Object(hmac), &node.at);
    }

    /// keepalived keeps the first 8 bytes of a password (VRRP carries 8)
    /// and warns (vrrp_parser.c vrrp_auth_pass_handler, 2.2.7 and 2.4.3:
    /// "Truncating auth_pass to 8 characters"); it interoperates with
    /// those 8. A cut inside a character keeps the whole password: the
    /// core sends its first 8 bytes, the same bytes.
    fn truncated_password(&mut self, node: &Node, password: &str) -> String {
        if password.len() <= 8 {
            return password.to_string();
        }
        self.adjust_node(
            node,
            format!(
                "{} bytes, truncated to the first 8 as keepalived does (VRRP carries 8): hosts whose passwords differ only after the 8th agree",
                password.len()
            ),
        );
        match password.get(..8) {
            Some(first) => first.to_string(),
            None => password.to_string(),
        }
    }

    /// Entries as keepalived's one-line form, positions per entry.
    fn lines(&mut self, section: &mut Section, node: &Node, key: &str) -> Vec<Value> {
        self.entries(node)
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                section
                    .positions
                    .insert(format!("{}.{key}.{i}", section.path), entry.at.clone());
                Value::String(entry.words.join(" "))
            })
            .collect()
    }

    /// `unicast_peer` entries: an address keepalived cannot read, or of
    /// the other family, is skipped (vrrp_data.c alloc_vrrp_unicast_peer).
    fn peers(&mut self, section: &mut Section, node: &Node) -> Vec<Value> {
        let mut out = Vec::new();
        for entry in self.entries(node) {
            let Ok(address) = entry.keyword().parse::<IpAddr>() else {
                self.adjust_node(
                    entry,
                    format!(
                        "{:?} is not an address: skipped, as keepalived skips it",
                        entry.keyword()
                    ),
                );
                continue;
            };
            if self.family_conflict(section, entry, address) {
                continue;
            }
            section.positions.insert(
                format!("{}.unicast_peer.{}", section.path, out.len()),
                entry.at.clone(),
            );
            out.push(Value::String(entry.words.join(" ")));
        }
        out
    }

    /// Addresses, without the `ip address` options vipd does not set. An
    /// address keepalived cannot read is skipped, a prefix too long is
    /// the longest, a bad scope is left out (vrrp_ipaddress.c); a virtual
    /// address of the other family is skipped (vrrp_data.c alloc_vrrp_vip).
    fn address_lines(&mut self, section: &mut Section, node: &Node) -> Vec<Value> {
        let key = node.keyword();
        let advertised = key == "virtual_ipaddress";
        let mut out = Vec::new();
        for entry in self.entries(node) {
            let Some((address, ip)) = self.address(entry) else {
                continue;
            };
            if advertised && self.family_conflict(section, entry, ip) {
                continue;
            }
            let mut kept = vec![address];
            let mut words = entry.args().iter();
            while let Some(word) = words.next() {
                match word.as_str() {
                    "scope" => match words.next() {
                        Some(scope) if SCOPES.contains(&scope.as_str()) => {
                            kept.extend([word.clone(), scope.clone()]);
                        }
                        Some(scope) => self.adjust_node(
                            entry,
                            format!("scope {scope:?} ignored, as keepalived ignores it (expected one of {})", SCOPES.join(", ")),
                        ),
                        None => {}
                    },
                    "brd" | "broadcast" | "dev" | "label" => {
                        kept.push(word.clone());
                        if let Some(value) = words.next() {
                            kept.push(value.clone());
                        }
                    }
                    // vrrp_ipaddress.c parse_ipaddress: on a virtual
                    // address (not a static one), a VMAC of its own.
                    "no_track" | "use_vmac" => kept.push(word.clone()),
                    "peer" | "preferred_lft" | "track_group" => {
                        words.next();
                        self.drop_part(entry, unsupported::ADDRESS_OPTION);
                    }
                    "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin" => {
                        self.drop_part(entry, unsupported::ADDRESS_OPTION)
                    }
                    // vrrp_ipaddress.c parse_ipaddress: "Unknown
                    // configuration entry '%s' for ip address - ignoring".
                    other => self.adjust_node(
                        entry,
                        format!("unknown configuration entry {other:?} for the address: ignored, as keepalived ignores it (expected brd, dev, scope, label, no_track, use_vmac or one keepalived knows)"),
                    ),
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

    /// The `ADDRESS[/PREFIX]` of an address entry as keepalived reads it,
    /// or `None` (warned) if it cannot.
    fn address(&mut self, entry: &Node) -> Option<(String, IpAddr)> {
        let word = entry.keyword();
        let (address, prefix) = match word.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (word, None),
        };
        let Ok(ip) = address.parse::<IpAddr>() else {
            self.adjust_node(
                entry,
                format!("{word:?} is not an address: skipped, as keepalived skips it"),
            );
            return None;
        };
        let longest = if ip.is_ipv6() { 128 } else { 32 };
        let written = match prefix.map(|p| numbers::unsigned(p, 0, longest, true)) {
            None => address.to_string(),
            Some(Ok(length)) => format!("{address}/{length}"),
            Some(Err(why)) => {
                self.adjust_node(
                    entry,
                    format!("prefix {why}: keepalived uses /{longest}, and so does vipd"),
                );
                format!("{address}/{longest}")
            }
        };
        Some((written, ip))
    }

    /// `NAME [weight N [reverse|noreverse]]` entries, as keepalived 2.2.7
    /// reads them (vrrp_track.c alloc_track_script, alloc_track_if,
    /// track_file.c vrrp_alloc_track_file): a script or file must be
    /// defined before the line; a second word other than `weight`, or
    /// `weight` without a value, drops the entry; a weight out of range
    /// is the tracked thing's own (0 for an interface).
    fn track_refs(&mut self, section: &mut Section, node: &Node, key: &str) -> Vec<Value> {
        let kind = match key {
            "track_script" => "script",
            "track_file" => "track file",
            "track_process" => "track process",
            _ => "interface",
        };
        let mut out = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for entry in self.entries(node) {
            let name = entry.keyword();
            let defined = match key {
                "track_script" => self.scripts.iter().any(|s| s == name),
                "track_file" => self.track_files.iter().any(|s| s == name),
                "track_process" => self.processes.iter().any(|s| s == name),
                _ => true,
            };
            if !defined {
                self.adjust_node(
                    entry,
                    format!("no {kind} {name} is defined before this line: keepalived ignores the entry, and so does vipd"),
                );
                continue;
            }
            if names.contains(&name) {
                self.adjust_node(
                    entry,
                    format!(
                        "{name} is tracked twice: the second is ignored, as keepalived ignores it"
                    ),
                );
                continue;
            }
            let weight = match entry.args() {
                [] => None,
                [option, ..] if option != "weight" => {
                    self.adjust_node(
                        entry,
                        format!("unknown option {option:?} (expected weight N): keepalived ignores the entry, and so does vipd"),
                    );
                    continue;
                }
                [_] => {
                    self.adjust_node(
                        entry,
                        "weight without a value: keepalived ignores the entry, and so does vipd",
                    );
                    continue;
                }
                [_, value, rest @ ..] => {
                    match rest.first().map(String::as_str) {
                        None | Some("noreverse") => {}
                        Some("reverse") => self.drop_part(entry, unsupported::REVERSE),
                        Some(other) => self.adjust_node(
                            entry,
                            format!("weight option {other:?} ignored, as keepalived ignores it (expected reverse or noreverse)"),
                        ),
                    }
                    match self.lenient_int(entry, value, -254, 254) {
                        Ok(w) if w.abs() == 254 => {
                            self.adjust_node(
                                entry,
                                "weight ±254 read as ±253, as keepalived reads it",
                            );
                            Some(w.signum() * 253)
                        }
                        Ok(w) => Some(w),
                        Err(why) => {
                            let fallback = if key == "track_interface" {
                                "0"
                            } else {
                                "the tracked one's own"
                            };
                            self.adjust_node(
                                entry,
                                format!("weight {why}: keepalived uses {fallback}, and so does vipd (expected -253..253)"),
                            );
                            (key == "track_interface").then_some(0)
                        }
                    }
                }
            };
            names.push(name);
            section.positions.insert(
                format!("{}.{key}.{}", section.path, out.len()),
                entry.at.clone(),
            );
            out.push(match weight {
                Some(weight) => json!({ "name": name, "weight": weight }),
                None => text(name),
            });
        }
        out
    }

    /// track_script and track_process: both are vipd's track_script (a
    /// process is a check), in the order read; keepalived adds a second
    /// block's entries to the first's.
    fn tracked_checks(&mut self, section: &mut Section, node: &Node) {
        // track_refs places entries' lines under the keyword from 0:
        // those already read step aside meanwhile.
        let prefix = format!("{}.track_script.", section.path);
        let earlier: Vec<(String, Position)> = section
            .positions
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .map(|(key, at)| (key.clone(), at.clone()))
            .collect();
        section.positions.retain(|key, _| !key.starts_with(&prefix));
        let refs = self.track_refs(section, node, node.keyword());
        let offset = match section.map.get("track_script") {
            Some(Value::Array(existing)) => existing.len(),
            _ => 0,
        };
        let moved: Vec<(usize, Position)> = (0..refs.len())
            .filter_map(|i| {
                let from = format!("{}.{}.{i}", section.path, node.keyword());
                section.positions.remove(&from).map(|at| (i, at))
            })
            .collect();
        for (i, at) in moved {
            let to = format!("{}.track_script.{}", section.path, offset + i);
            section.positions.insert(to, at);
        }
        section.positions.extend(earlier);
        let mut all = match section.map.remove("track_script") {
            Some(Value::Array(existing)) => existing,
            _ => Vec::new(),
        };
        all.extend(refs);
        section.set("track_script", Value::Array(all), &node.at);
    }

    /// `notify_* SCRIPT [user [group]]`. A second one for the same event
    /// is ignored (vrrp_notify_master_handler: "already specified").
    fn notify(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        let Some(script) = self.value_keeping_rest(node, unsupported::NOTIFY_USER) else {
            return;
        };
        let once: &'static str = match keyword {
            "notify_master" => "notify_master",
            "notify_backup" => "notify_backup",
            "notify_fault" => "notify_fault",
            "notify_stop" => "notify_stop",
            "notify_master_rx_lower_pri" => "notify_master_rx_lower_pri",
            "notify_deleted" => "notify_deleted",
            _ => "notify",
        };
        if section.facts.once.contains(&once) {
            return self.adjust_node(
                node,
                format!("{keyword} is already set: ignored, as keepalived keeps the first"),
            );
        }
        section.facts.once.push(once);
        section.set(keyword, text(script), &node.at);
    }

    /// `use_vmac [NAME] [MAC]` (vrrp_parser.c vrrp_vmac_handler): a name
    /// that cannot be an interface's, or that an instance before took, is
    /// ignored, and the VMAC gets the default name.
    fn use_vmac(&mut self, section: &mut Section, node: &Node) {
        let mut name: Option<&str> = None;
        for word in node.args().iter().take(2) {
            if word.contains(':') {
                self.drop_part(node, unsupported::VMAC_ADDRESS);
                continue;
            }
            if name.is_some() {
                self.adjust_node(
                    node,
                    format!("{word:?} ignored: a VMAC name is already given"),
                );
                continue;
            }
            let valid = !word.is_empty()
                && word.len() < 16
                && word != "."
                && word != ".."
                && !word.contains(|c: char| c == '/' || c.is_whitespace());
            if !valid {
                self.adjust_node(
                    node,
                    format!("VMAC name {word:?} is too long or has / : or spaces: ignored, as keepalived ignores it (the VMAC is vrrp.VRID)"),
                );
                continue;
            }
            if let Some((_, other)) = self.vmac_names.iter().find(|(n, _)| n == word) {
                self.adjust_node(
                    node,
                    format!("VMAC name {word} is already instance {other}'s: ignored, as keepalived ignores it (the VMAC is vrrp.VRID)"),
                );
                continue;
            }
            name = Some(word);
        }
        let value = match name {
            Some(name) => {
                self.vmac_names
                    .push((name.to_string(), section.name.clone()));
                text(name)
            }
            None => Value::Bool(true),
        };
        section.set("use_vmac", value, &node.at);
    }

    /// `use_ipvlan [[name] IFNAME] [ADDRESS[/LEN]] [bridge|private|vepa]
    /// [group GROUP]` (vrrp_parser.c vrrp_ipvlan_handler), words in any
    /// order: a second type, address or name is ignored, as is a name
    /// too long or another instance's, each with keepalived's message.
    /// `name` and `group` are keepalived 2.4's; 2.2.7 takes either word
    /// for the interface's name. A group is a number or a name from
    /// /etc/iproute2/group (keepalived 2.4 find_rttables_group).
    fn use_ipvlan(&mut self, section: &mut Section, node: &Node) {
        if section.facts.once.contains(&"use_ipvlan") {
            self.adjust_node(
                node,
                format!(
                    "({}) use_ipvlan already specified: ignored, as keepalived ignores it",
                    section.name
                ),
            );
            return;
        }
        section.facts.once.push("use_ipvlan");
        let iname = section.name.clone();
        let mut ipvlan = Map::new();
        let args = node.args();
        let mut words = args.iter();
        while let Some(word) = words.next() {
            let word = word.as_str();
            if matches!(word, "bridge" | "private" | "vepa") {
                if ipvlan.contains_key("mode") {
                    self.adjust_node(
                        node,
                        format!("({iname}) ipvlan type already specified - ignoring '{word}'"),
                    );
                } else {
                    ipvlan.insert("mode".into(), text(word));
                }
                continue;
            }
            if word == "group" {
                let Some(group) = words.next() else {
                    self.adjust_node(node, "group without a value: ignored".to_string());
                    continue;
                };
                match ipvlan_group(group) {
                    Some(number) => {
                        ipvlan.insert("group".into(), Value::from(number));
                    }
                    None => self.adjust_node(
                        node,
                        format!("ipvlan group {group} not found (a number, or a name in /etc/iproute2/group): ignored, as keepalived 2.4 ignores it"),
                    ),
                }
                continue;
            }
            let word = if word == "name" {
                match words.next() {
                    Some(name) => name.as_str(),
                    None => {
                        self.adjust_node(node, "name without a value: ignored".to_string());
                        continue;
                    }
                }
            } else {
                if is_address(word) {
                    if ipvlan.contains_key("address") {
                        self.adjust_node(
                            node,
                            format!(
                                "({iname}) ipvlan address already specified - ignoring '{word}'"
                            ),
                        );
                    } else {
                        ipvlan.insert("address".into(), text(word));
                    }
                    continue;
                }
                word
            };
            if ipvlan.contains_key("name") {
                self.adjust_node(
                    node,
                    format!("({iname}) IPVLAN interface already specified - ignoring '{word}'"),
                );
                continue;
            }
            if word.len() >= 16 {
                self.adjust_node(
                    node,
                    format!("({iname}) IPVLAN interface name '{word}' too long - ignoring (the ipvlan is vrrp.VRID)"),
                );
                continue;
            }
            if let Some((_, other)) = self.vmac_names.iter().find(|(n, _)| n == word) {
                self.adjust_node(
                    node,
                    format!("({iname}) VRRP instance {other} is already using {word} - ignoring name (the ipvlan is vrrp.VRID)"),
                );
                continue;
            }
            self.vmac_names.push((word.to_string(), iname.clone()));
            ipvlan.insert("name".into(), text(word));
        }
        let value = if ipvlan.is_empty() {
            Value::Bool(true)
        } else {
            Value::Object(ipvlan)
        };
        section.set("use_ipvlan", value, &node.at);
    }

    fn finish_instance(&mut self, section: &mut Section, _node: &Node) -> bool {
        let hmac_at = section
            .positions
            .get(&format!("{}.auth_hmac", section.path))
            .cloned();
        if let (Some(Value::Object(hmac)), Some(at)) = (section.map.get("auth_hmac"), hmac_at) {
            if !hmac.contains_key("active_key") {
                self.refused.push(Refused {
                    at,
                    keyword: "auth_hmac".into(),
                    message: "no active_key: keepalived would run this instance without auth_hmac; name the key adverts are signed with".into(),
                });
            }
        }
        // vrrp.c vrrp_complete_instance (2.4.3): "auth_hmac cannot be
        // combined with authentication, dropping legacy auth".
        if section.map.contains_key("auth_hmac") && section.map.remove("authentication").is_some() {
            let at = section
                .positions
                .get(&format!("{}.authentication", section.path))
                .cloned();
            if let Some(at) = at {
                self.adjust(
                    &at,
                    "authentication",
                    "ignored: auth_hmac replaces it, as keepalived 2.4 does",
                );
            }
        }
        self.instance_facts
            .insert(section.name.clone(), section.facts.clone());
        true
    }

    fn script(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            // vrrp_vscript_script_handler reads the rest of the line as
            // the command and its arguments.
            "script" => match node.args() {
                [] => {}
                [command] => {
                    section.facts.complete = true;
                    section.set("exec", text(command), &node.at);
                }
                words => {
                    section.facts.complete = true;
                    let line = shlex::try_join(words.iter().map(String::as_str))
                        .unwrap_or_else(|_| words.join(" "));
                    section.set("exec", text(&line), &node.at);
                }
            },
            "interval" | "timeout" => {
                let Some(word) = self.value(node) else { return };
                match self.lenient_unsigned(node, word, 0, u32::MAX as u64 / MICROS) {
                    Ok(0) => {
                        self.adjust_node(node, "0 read as 1 s, as keepalived reads it");
                        section.set(keyword, json!(1), &node.at);
                    }
                    Ok(v) => section.set(keyword, json!(v), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (whole seconds)"),
                    ),
                }
            }
            "rise" | "fall" => {
                let Some(word) = self.value(node) else { return };
                match self.lenient_unsigned(node, word, 1, i32::MAX as u64) {
                    Ok(v) => section.set(keyword, json!(v), &node.at),
                    Err(why) => {
                        self.adjust_node(
                            node,
                            format!("{why}: keepalived uses 1, and so does vipd"),
                        );
                        section.set(keyword, json!(1), &node.at);
                    }
                }
            }
            // vrrp_vscript_weight_handler keeps the number even when it
            // reports it out of range; beyond ±253 it moves a priority
            // as far as ±253 does (a priority stays in 1..254).
            "weight" => {
                let Some(word) = self.value_and_option(node, "vrrp_script weight") else {
                    return;
                };
                let weight = match self.lenient_int(node, word, -253, 253) {
                    Ok(w) => w,
                    Err(why) => {
                        let kept = numbers::strtol_value(word).clamp(-253, 253);
                        self.adjust_node(
                            node,
                            format!("{why}: keepalived keeps {}, which moves a priority as far as {kept} does; vipd uses {kept}", numbers::strtol_value(word)),
                        );
                        kept
                    }
                };
                section.set("weight", json!(weight), &node.at);
            }
            "user" => {
                if let Some(user) = self.value_keeping_rest(node, unsupported::SCRIPT_GROUP) {
                    section.set("user", text(user), &node.at);
                }
            }
            "init_fail" => self.drop(node, unsupported::INIT_FAIL),
            _ => self.unknown(node, "in vrrp_script"),
        }
    }

    /// `weight N [reverse]` of a vrrp_script or track_file: N, with
    /// `reverse` dropped and any other option ignored.
    fn value_and_option<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        let [value, rest @ ..] = node.args() else {
            self.refuse(
                node,
                "expected a value after it (keepalived exits on it too: a missing parameter)",
            );
            return None;
        };
        match rest.first().map(String::as_str) {
            None => {}
            Some("reverse") => self.drop_part(node, unsupported::REVERSE),
            Some(other) => self.adjust_node(
                node,
                format!(
                    "{what} option {other:?} ignored, as keepalived ignores it (expected reverse)"
                ),
            ),
        }
        Some(value)
    }

    /// vrrp_vscript_end_handler: a vrrp_script without a script is
    /// removed.
    fn finish_script(&mut self, section: &mut Section, node: &Node) -> bool {
        let kept = self.finish_complete(section, node, "script", "removes");
        if kept {
            self.scripts.push(section.name.clone());
        }
        kept
    }

    /// A vrrp_script or track_file left incomplete is dropped, as
    /// keepalived drops it (it `removes` or `ignores` it).
    fn finish_complete(&mut self, section: &Section, node: &Node, lacks: &str, does: &str) -> bool {
        if !section.facts.complete {
            self.adjust_node(
                node,
                format!(
                    "{} has no {lacks}: keepalived {does} it, and so does vipd",
                    section.name
                ),
            );
        }
        section.facts.complete
    }

    fn track_file(&mut self, section: &mut Section, node: &Node) {
        match node.keyword() {
            // track_file.c track_file_file_handler: a missing name and a
            // second file are reported and ignored.
            "file" => match node.args() {
                [] => self.adjust_node(node, "no file name: ignored, as keepalived ignores it"),
                [path, ..] if section.facts.complete => self.adjust_node(
                    node,
                    format!(
                        "{path} ignored: the file is already set, and keepalived keeps the first"
                    ),
                ),
                [path, ..] => {
                    section.facts.complete = true;
                    section.set("file", text(path), &node.at);
                }
            },
            // track_file_weight_handler: a second weight is ignored, and
            // one out of range is 1.
            "weight" => {
                if node.args().is_empty() {
                    return self.adjust_node(node, "no weight: ignored, as keepalived ignores it");
                }
                if section.facts.weight_set {
                    return self.adjust_node(
                        node,
                        "the weight is already set: ignored, as keepalived keeps the first",
                    );
                }
                let Some(word) = self.value_and_option(node, "track_file weight") else {
                    return;
                };
                section.facts.weight_set = true;
                let weight = match self.lenient_int(node, word, -254, 254) {
                    // vipd's weights stop at ±253 (proto::check_weight).
                    Ok(w) if w.abs() == 254 => {
                        self.adjust_node(
                            node,
                            "±254 read as ±253, vipd's largest weight: a file value of 1 moves the priority alike",
                        );
                        w.signum() * 253
                    }
                    Ok(w) => w,
                    Err(why) => {
                        self.adjust_node(
                            node,
                            format!(
                                "{why}: keepalived uses 1, and so does vipd (expected -254..254)"
                            ),
                        );
                        1
                    }
                };
                section.set("weight", json!(weight), &node.at);
            }
            "init_file" => self.drop(node, unsupported::INIT_FILE),
            _ => self.unknown(node, "in track_file"),
        }
    }

    /// track_file_end_handler: a track_file without a file is ignored.
    fn finish_track_file(&mut self, section: &mut Section, node: &Node) -> bool {
        let kept = self.finish_complete(section, node, "file", "ignores");
        if kept {
            self.track_files.push(section.name.clone());
        }
        kept
    }

    /// A vrrp_track_process's keys under `process`, with their lines.
    fn set_process(section: &mut Section, key: &str, value: Value, at: &Position) {
        section
            .positions
            .insert(format!("{}.process.{key}", section.path), at.clone());
        let process = section
            .map
            .entry("process")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(process) = process {
            process.insert(key.to_string(), value);
        }
    }

    fn process_number(section: &Section, key: &str) -> Option<u64> {
        section.map.get("process")?.get(key)?.as_u64()
    }

    /// vrrp_track_process, as vrrp_parser.c v2.2.7 reads it
    /// (vrrp_tprocess_*_handler).
    fn track_process(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            // vrrp_tprocess_process_handler: a second one is ignored; words
            // after the command are its parameters, compared exactly unless
            // param_match says otherwise.
            "process" => match node.args() {
                [] => self.refuse(
                    node,
                    "expected a value after it (keepalived exits on it too: a missing parameter)",
                ),
                [first, ..] if section.facts.complete => self.adjust_node(
                    node,
                    format!("process already set for track process {}: {first} ignored, as keepalived ignores it", section.name),
                ),
                [name, params @ ..] => {
                    section.facts.complete = true;
                    Self::set_process(section, "name", text(name), &node.at);
                    if !params.is_empty() {
                        let params: Vec<Value> = params.iter().map(|p| text(p)).collect();
                        Self::set_process(section, "params", Value::Array(params), &node.at);
                    }
                }
            },
            // vrrp_tprocess_match_handler: bare is exact.
            "param_match" => match node.args() {
                [] => Self::set_process(section, "param_match", text("exact"), &node.at),
                [how, ..] if how == "initial" || how == "partial" => {
                    Self::set_process(section, "param_match", text(how), &node.at)
                }
                [how, ..] => self.adjust_node(
                    node,
                    format!("invalid param_match type {how:?}: ignored, as keepalived ignores it (expected initial or partial, or nothing for exact)"),
                ),
            },
            "full_command" => {
                self.bare(node);
                Self::set_process(section, "full_command", Value::Bool(true), &node.at);
            }
            // vrrp_tprocess_quorum_handler: 1..65535, and not above the
            // quorum_max read so far.
            "quorum" => {
                let Some(word) = self.value(node) else { return };
                match self.lenient_unsigned(node, word, 1, 65_535) {
                    Ok(q) if q > Self::process_number(section, "quorum_max").unwrap_or(u64::MAX) => self.adjust_node(
                        node,
                        "quorum is greater than quorum_max: ignored, as keepalived ignores it",
                    ),
                    Ok(q) => Self::set_process(section, "quorum", json!(q), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected 1..65535)"),
                    ),
                }
            }
            // vrrp_tprocess_quorum_max_handler: 0..65535, not below the
            // quorum; 0 makes the quorum 0 ("none may run").
            "quorum_max" => {
                let Some(word) = self.value(node) else { return };
                let quorum = Self::process_number(section, "quorum").unwrap_or(1);
                match self.lenient_unsigned(node, word, 0, 65_535) {
                    Ok(max) if (max > 0 || quorum > 1) && max < quorum => self.adjust_node(
                        node,
                        "quorum_max is less than quorum: ignored, as keepalived ignores it",
                    ),
                    Ok(max) => {
                        Self::set_process(section, "quorum_max", json!(max), &node.at);
                        let quorum = if max == 0 { 0 } else { quorum.max(1) };
                        Self::set_process(section, "quorum", json!(quorum), &node.at);
                    }
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected 0..65535)"),
                    ),
                }
            }
            // vrrp_tprocess_weight_handler: -254..254; a second one (after
            // a non-zero first) is ignored.
            "weight" => {
                if node.args().is_empty() {
                    return self.adjust_node(node, "no weight: ignored, as keepalived ignores it");
                }
                if section.map.get("weight").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    return self.adjust_node(
                        node,
                        "the weight is already set: ignored, as keepalived keeps the first",
                    );
                }
                let Some(word) = self.value_and_option(node, "vrrp_track_process weight") else {
                    return;
                };
                match self.lenient_int(node, word, -254, 254) {
                    Ok(w) if w.abs() == 254 => {
                        self.adjust_node(node, "±254 read as ±253, vipd's largest weight");
                        section.set("weight", json!(w.signum() * 253), &node.at);
                    }
                    Ok(w) => section.set("weight", json!(w), &node.at),
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected -254..254)"),
                    ),
                }
            }
            // vrrp_tprocess_delay_general: decimal seconds, 0.000001..3600;
            // `delay` writes both, so the last line read wins.
            "delay" | "terminate_delay" | "fork_delay" => {
                let Some(word) = self.value(node) else { return };
                match numbers::seconds(word, 1, 3600 * MICROS) {
                    Ok(micros) => {
                        for key in ["fork_delay", "terminate_delay"] {
                            if keyword == "delay" || keyword == key {
                                Self::set_process(section, key, seconds_value(micros), &node.at);
                            }
                        }
                    }
                    Err(why) => self.adjust_node(
                        node,
                        format!("{why}: ignored, as keepalived ignores it (expected 0.000001..3600 seconds)"),
                    ),
                }
            }
            _ => self.unknown(node, "in vrrp_track_process"),
        }
    }

    /// vrrp_tprocess_end_handler: one without a process is removed.
    fn finish_track_process(&mut self, section: &mut Section, node: &Node) -> bool {
        if !section.facts.complete {
            self.adjust_node(
                node,
                format!(
                    "track process '{}' process name not specified: keepalived removes it, and so does vipd",
                    section.name
                ),
            );
            return false;
        }
        self.processes.push(section.name.clone());
        true
    }

    fn sync_group(&mut self, section: &mut Section, node: &Node) {
        let keyword = node.keyword();
        match keyword {
            // vrrp_group_handler: a second group list is skipped.
            "group" => {
                if section.facts.complete {
                    return self.adjust_node(
                        node,
                        "the group list is already given: keepalived skips this one, and so does vipd",
                    );
                }
                section.facts.complete = true;
                let names: Vec<Value> = self
                    .entries(node)
                    .iter()
                    .flat_map(|entry| entry.words.iter().map(|w| text(w)))
                    .collect();
                section.set("group", Value::Array(names), &node.at);
            }
            "track_script" | "track_process" => self.tracked_checks(section, node),
            "track_interface" | "track_file" => {
                let refs = self.track_refs(section, node, keyword);
                section.set(keyword, Value::Array(refs), &node.at);
            }
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                self.notify(section, node)
            }
            "notify_priority_changes" => {
                if let Some(on) = self.flag(node) {
                    section.set(keyword, Value::Bool(on), &node.at);
                }
            }
            "sync_group_tracking_weight" => {
                self.bare(node);
                section.set("sync_group_tracking_weight", Value::Bool(true), &node.at);
            }
            // Deprecated in keepalived, which reads it as
            // sync_group_tracking_weight (vrrp_parser.c).
            "global_tracking" => {
                self.bare(node);
                section.set("sync_group_tracking_weight", Value::Bool(true), &node.at);
                self.drop_part(
                    node,
                    "deprecated: read as sync_group_tracking_weight, as keepalived does",
                );
            }
            _ => match unsupported::sync_group(keyword) {
                Some(why) => self.drop(node, why),
                None => self.unknown(node, "in vrrp_sync_group"),
            },
        }
    }

    fn finish_sync_group(&mut self, section: &mut Section, node: &Node) -> bool {
        self.group_lines
            .push((section.name.clone(), node.at.clone()));
        true
    }
}

/// keepalived's address scopes (`ip addr add ... scope`).
const SCOPES: &[&str] = &["global", "site", "link", "host", "nowhere"];

/// A word as a JSON string.
pub(super) fn text(word: &str) -> Value {
    Value::String(word.to_string())
}

/// Microseconds as seconds for vipd's YAML: whole seconds as an integer,
/// so converted YAML reads `advert_int: 1`.
pub(super) fn seconds_value(micros: u64) -> Value {
    if micros.is_multiple_of(MICROS) {
        json!(micros / MICROS)
    } else {
        json!(micros as f64 / MICROS as f64)
    }
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

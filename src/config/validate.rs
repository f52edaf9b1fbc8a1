//! From the file's shape to what the daemon runs: every rule a running
//! instance would otherwise trip over is checked here, with the key named.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::proto::{
    default_accept, pacing::Spacing, AdvertRules, AnnounceSchedule, Auth, AuthKey, Centiseconds,
    ExtraAnnounce, InstanceParams, Param, ParamsError, Unicast, UnicastPeer, Version,
    VirtualAddress, Vrid,
};

use super::auth_hmac::KeyConfig;
use super::error::{ConfigError, ConfigErrors};
use super::health::{self, HealthSettings, NotifySettings, Problems, Tracked};
use super::load::Loaded;
use super::schema::{AddressConfig, AuthType, Config, InstanceConfig, IpvlanMode, UseVmac};
use crate::net::firewall::FirewallSettings;
use crate::net::netlink::AddressOptions;
use crate::net::routes::Routed;

use super::routes;

/// One instance, ready to run once its source address is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSettings {
    pub name: String,
    pub interface: String,
    /// Configured source; `None`: the interface's address of the family.
    pub source_ip: Option<IpAddr>,
    /// Where and how each held address is added, if not plainly on
    /// `interface`.
    pub placements: BTreeMap<IpAddr, Placement>,
    /// Routes and rules held while master.
    pub routing: Vec<Routed>,
    /// A VMAC to hold the addresses on (keepalived's use_vmac).
    pub vmac: Option<VmacSettings>,
    /// VMACs for addresses on other interfaces or of the other family
    /// (keepalived's use_vmac_addr, an address's use_vmac).
    pub address_vmacs: Vec<AddressVmac>,
    pub trackers: Vec<Tracked>,
    pub notify: NotifySettings,
    /// The quorum fence's key (`PREFIX/<instance or sync group>`), if fenced.
    pub fence_key: Option<String>,
    /// `state MASTER` configured: only reported (SNMP's initial state).
    pub configured_master: bool,
    /// Complete but for `primary_address`, which is a placeholder.
    template: InstanceParams,
}

/// keepalived's vrrp_sync_group, ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncGroupSettings {
    pub name: String,
    pub members: Vec<String>,
    /// Run with `GROUP name STATE`.
    pub notify: NotifySettings,
    /// `sync_group_tracking_weight` (members keep their weights).
    pub tracking_weight: bool,
}

/// Everything the daemon runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub instances: Vec<InstanceSettings>,
    /// Where `vipd status` reads the daemon's state.
    pub control_socket: std::path::PathBuf,
    /// Where Prometheus scrapes, if anywhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// The SNMP subagent, if any MIB is served.
    pub snmp: Option<crate::snmp::SnmpSettings>,
    pub sync_groups: Vec<SyncGroupSettings>,
    pub health: HealthSettings,
    /// The quorum fence, if configured.
    pub quorum: Option<super::quorum::QuorumSettings>,
    /// The nftables table `accept: false` instances drop traffic in.
    pub firewall: FirewallSettings,
    /// keepalived's vrrp_startup_delay (applied at start, not reload).
    pub startup_delay: std::time::Duration,
    /// keepalived 2.4's vrrp_delay_after_boot: counted from boot, so the
    /// daemon's start reads the uptime (sys::uptime).
    pub delay_after_boot: std::time::Duration,
    /// How far apart announcements leave each interface.
    pub garp: GarpSettings,
    /// keepalived's fifo_write_vrrp_states_on_reload.
    pub fifo_states_on_reload: bool,
    /// keepalived's log_unknown_vrids.
    pub log_unknown_vrids: bool,
    /// keepalived's notify_fifo_script, with its FIFO.
    pub fifo_script: Option<crate::sys::fifo_script::FifoScript>,
    /// What is accepted but probably not what was meant, with file:line:
    /// key; `vipd check` prints them on stderr and `vipd run` logs them.
    pub warnings: Vec<ConfigError>,
}

/// keepalived's vrrp_garp_interval / vrrp_gna_interval and garp_group:
/// the spacing on each interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GarpSettings {
    pub default: Spacing,
    pub interfaces: BTreeMap<String, Spacing>,
}

impl GarpSettings {
    pub fn for_interface(&self, interface: &str) -> Spacing {
        self.interfaces
            .get(interface)
            .copied()
            .unwrap_or(self.default)
    }
}

/// keepalived's use_vmac and vmac_xmit_base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacSettings {
    pub name: String,
    /// Not named in the file: named as keepalived names it (vmac_prefix,
    /// then a number when taken), once every instance is read.
    pub default_name: bool,
    /// Adverts leave from the parent interface, not the VMAC.
    pub xmit_base: bool,
    /// A macvlan with the virtual MAC (use_vmac), or an ipvlan.
    pub kind: VirtualLink,
}

/// What kind of link an instance's "VMAC" is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtualLink {
    /// keepalived's use_vmac: a private macvlan with 00:00:5e:00:01:VRID.
    Macvlan,
    /// keepalived's use_ipvlan: an l2 ipvlan, the parent's MAC.
    Ipvlan(IpvlanSettings),
}

pub use crate::net::vmac::IpvlanSettings;

impl VmacSettings {
    /// The ipvlan's settings, if this is one.
    pub fn ipvlan(&self) -> Option<&IpvlanSettings> {
        match &self.kind {
            VirtualLink::Ipvlan(settings) => Some(settings),
            VirtualLink::Macvlan => None,
        }
    }

    /// The key that configures it, for messages.
    pub fn key(&self) -> &'static str {
        match self.kind {
            VirtualLink::Macvlan => "use_vmac",
            VirtualLink::Ipvlan(_) => "use_ipvlan",
        }
    }
}

/// A VMAC made for addresses (keepalived's use_vmac_addr, or an
/// address's use_vmac; vrrp.c vrrp_complete_instance): on `parent`, with
/// the virtual MAC of the addresses' family, which is not always the
/// instance's (vrrp_vmac.c netlink_link_add_vmac takes the family of
/// the address it is made for). One per parent and family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressVmac {
    /// Named as keepalived names it, with vmac_addr_prefix (else
    /// vmac_prefix, else vrrp), once every instance is read.
    pub name: String,
    pub parent: String,
    pub ipv6: bool,
    /// The addresses it holds.
    pub addresses: Vec<IpAddr>,
}

/// Where a held address goes and how (keepalived's per-address options).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// Another interface than the instance's (`dev`); `lo` for routed VIPs.
    pub dev: Option<String>,
    pub options: AddressOptions,
    /// Put back if deleted behind vipd's back, and its interface tracked
    /// (weight 0); keepalived's `no_track` turns both off.
    pub track: bool,
}

impl InstanceSettings {
    /// How `address` is held: its own placement, or plainly on `interface`.
    pub fn placement(&self, address: IpAddr) -> Placement {
        self.placements.get(&address).cloned().unwrap_or(Placement {
            track: true,
            ..Placement::default()
        })
    }

    /// The interface a placement puts its address on: its dev, else the
    /// VMAC if there is one, else the instance's interface.
    pub fn interface_of<'a>(&'a self, placement: &'a Placement) -> &'a str {
        placement.dev.as_deref().unwrap_or(self.address_interface())
    }

    /// Where addresses without a dev go: the VMAC if there is one, else
    /// the instance's interface. An ipvlan holds only its own address:
    /// keepalived puts the others on the parent (vrrp.c
    /// vrrp_complete_instance moves them to `vrrp->ifp` only with
    /// VRRP_VMAC_BIT; measured with 2.2.7: the VIP and its GARPs on eth0).
    pub fn address_interface(&self) -> &str {
        match &self.vmac {
            Some(vmac) if vmac.ipvlan().is_none() => &vmac.name,
            _ => &self.interface,
        }
    }

    /// Where the instance's adverts leave and arrive: its VMAC, unless
    /// vmac_xmit_base, else its interface. keepalived has one socket for
    /// both, on `vrrp->ifp` (vrrp_scheduler.c, vrrp_create_sockpool).
    /// Receiving on the parent instead misses every advert a peer sends
    /// from its own VMAC: their source MAC is ours too, and a private
    /// macvlan takes such frames for itself (macvlan_handle_frame).
    pub fn advert_interface(&self) -> &str {
        match &self.vmac {
            Some(vmac) if !vmac.xmit_base => &vmac.name,
            _ => &self.interface,
        }
    }

    /// The names of every VMAC this instance makes: its own, then those
    /// for its addresses.
    pub fn vmac_names(&self) -> Vec<&str> {
        self.vmac
            .iter()
            .map(|v| v.name.as_str())
            .chain(self.address_vmacs.iter().map(|v| v.name.as_str()))
            .collect()
    }

    /// If `name` is one of this instance's VMACs, the interface it is on.
    pub fn vmac_parent(&self, name: &str) -> Option<&str> {
        if self.vmac.as_ref().is_some_and(|v| v.name == name) {
            return Some(&self.interface);
        }
        self.address_vmacs
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.parent.as_str())
    }

    /// Every interface this instance uses, its own first, then its VMAC.
    pub fn interfaces(&self) -> Vec<String> {
        let mut names = vec![self.interface.clone()];
        names.extend(self.vmac.as_ref().map(|v| v.name.clone()));
        for placement in self.placements.values() {
            if let Some(dev) = &placement.dev {
                if !names.contains(dev) {
                    names.push(dev.clone());
                }
            }
        }
        names
    }

    /// Interfaces keepalived would track for this instance besides its
    /// own: those its addresses and routes are on, unless no_track.
    fn implicitly_tracked(&self) -> Vec<String> {
        let addresses = self
            .placements
            .values()
            .filter(|p| p.track)
            .filter_map(|p| p.dev.clone());
        let routes = self.routing.iter().filter_map(|held| match held {
            Routed::Route(route) if route.track => route.dev.clone(),
            _ => None,
        });
        let mut names: Vec<String> = Vec::new();
        for name in addresses.chain(routes) {
            if name != self.interface && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    pub fn is_ipv6(&self) -> bool {
        self.template.primary_address.is_ipv6()
    }

    /// Whether, as master, it drops traffic to its addresses (accept:
    /// false, and not their owner).
    pub fn drops_traffic(&self) -> bool {
        self.template.drops_traffic()
    }

    /// The multicast group it hears adverts on; None with unicast peers.
    pub fn multicast_group(&self) -> Option<IpAddr> {
        self.template
            .unicast
            .is_none()
            .then(|| self.template.group())
    }

    pub fn vrid(&self) -> Vrid {
        self.template.vrid
    }

    pub fn version(&self) -> Version {
        self.template.version
    }

    /// Everything the master holds, advertised or excluded.
    pub fn held_addresses(&self) -> Vec<VirtualAddress> {
        self.template.held_addresses()
    }

    /// The auth_hmac settings, which a reload changes in place.
    pub fn auth_hmac(&self) -> Option<&crate::proto::HmacParams> {
        self.template.auth_hmac.as_ref()
    }

    pub fn set_auth_hmac(&mut self, hmac: Option<crate::proto::HmacParams>) {
        self.template.auth_hmac = hmac;
    }

    /// The core's parameters with `primary` as our address.
    pub fn params(&self, primary: IpAddr) -> InstanceParams {
        InstanceParams {
            primary_address: primary,
            ..self.template.clone()
        }
    }
}

pub fn validate(loaded: &Loaded) -> Result<Settings, ConfigErrors> {
    let config: &Config = &loaded.config;
    let mut errors = Vec::new();
    let mut report = |prefix: String, problems: Problems| {
        for (key, message) in problems {
            let key = if key.is_empty() {
                prefix.clone()
            } else {
                format!("{prefix}.{key}")
            };
            errors.push(loaded.error(&key, message));
        }
    };
    if let Some(user) = &config.user {
        if let Err(e) = crate::sys::privilege::lookup(user) {
            report("user".into(), vec![(String::new(), e.to_string())]);
        }
    }
    let script_user = match health::script_user(config) {
        Ok(script_user) => script_user,
        Err(e) => {
            let key = if config.script_user.is_some() {
                "script_user"
            } else {
                "user"
            };
            report(key.into(), vec![(String::new(), e)]);
            health::ScriptUser {
                run_as: None,
                fell_back: false,
            }
        }
    };
    let mut health = HealthSettings::default();
    for (name, check) in &config.checks {
        match health::check(name, check, &script_user) {
            Ok(c) => health.checks.push(c),
            Err(problems) => report(format!("checks.{name}"), problems),
        }
    }
    for (name, file) in &config.track_files {
        match health::track_file(name, file) {
            Ok(f) => health.files.push(f),
            Err(problems) => report(format!("track_files.{name}"), problems),
        }
    }
    let mut settings = Vec::new();
    let mut warnings = loaded.warnings.clone();
    for (name, check) in config.checks.iter().filter(|(_, c)| c.process.is_some()) {
        let unused = [
            ("timeout", check.timeout.is_some()),
            ("body", check.body.is_some()),
            ("user", check.user.is_some()),
        ];
        for (key, _) in unused.iter().filter(|(_, set)| *set) {
            warnings.push(loaded.error(
                &format!("checks.{name}.{key}"),
                "has no effect on a process check: processes are counted as they start and end, not run".to_string(),
            ));
        }
    }
    // The kernel keeps 15 bytes of a process's name (TASK_COMM_LEN).
    for (name, check) in &config.checks {
        if let Some(p) = check.process.as_ref().filter(|p| {
            !(p.full_command || !p.params.is_empty() || p.param_match.is_some())
                && p.name.len() > 15
        }) {
            warnings.push(loaded.error(
                &format!("checks.{name}.process.name"),
                format!("{:?} is longer than the 15 characters of a process's name (what ps -e shows): it never matches; give those 15, or set full_command", p.name),
            ));
        }
    }
    if config.instances.is_empty() {
        // The packaged /etc/vipd/vipd.yaml, as shipped: valid, and the
        // unit's ExecCondition (`vipd check --unit-condition`) does not
        // start it. keepalived, too, runs with no vrrp_instance.
        warnings.push(loaded.error(
            "instances",
            "no instance configured: vipd run holds no address and sends nothing".to_string(),
        ));
    }
    if script_user.falls_back_to_root() && runs_default_user_scripts(config) {
        // keepalived logs "Script user 'keepalived_script' does not exist"
        // and runs them as itself (lib/notify.c, set_uid_gid).
        warnings.push(loaded.error(
            "script_user",
            format!(
                "not set, and user {} does not exist: scripts run as root, as keepalived's do; set script_user to an unprivileged user",
                health::KEEPALIVED_SCRIPT_USER
            ),
        ));
    }
    // keepalived's "is_ours": an interface it made (a VMAC), for
    // garp_extra_if.
    let vmac_names: Vec<String> = config
        .instances
        .values()
        .filter_map(|i| match (&i.use_vmac, &i.use_ipvlan.0) {
            (UseVmac::Named(name), _) => Some(name.clone()),
            (UseVmac::Default, _) => Some(format!("vrrp.{}", i.virtual_router_id)),
            (UseVmac::Off, Some(ipvlan)) => Some(
                ipvlan
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("vrrp.{}", i.virtual_router_id)),
            ),
            (UseVmac::Off, None) => None,
        })
        .collect();
    for (name, instance) in &config.instances {
        let prefix = format!("instances.{name}");
        if let Some(warning) = inline_keys_exposed(loaded, &prefix, instance) {
            warnings.push(warning);
        }
        let core = instance_settings(name, instance, &vmac_names)
            .map(|(settings, instance_warnings)| {
                for (key, message) in instance_warnings {
                    warnings.push(loaded.error(&format!("{prefix}.{key}"), message));
                }
                settings
            })
            .map_err(|p| p.into_iter().map(|(k, m)| (k.to_string(), m)).collect());
        let trackers = health::trackers(config, instance, &health.checks);
        let notify = health::notify(config, instance, &script_user);
        match (core, trackers, notify) {
            (Ok(mut s), Ok(mut trackers), Ok(notify)) => {
                if let Some(d) = config.interface_up_down_delays.get(&instance.interface) {
                    s.template.link_delays = crate::proto::LinkDelays {
                        down: d.down.0,
                        up: d.up.0,
                    };
                    let cut = s.template.effective_link_delays();
                    if cut != s.template.link_delays {
                        // keepalived logs it too (vrrp.c check_debounce_timers).
                        warnings.push(loaded.error(
                            &format!("interface_up_down_delays.{}", instance.interface),
                            format!(
                                "cut to down {:?}, up {:?} for {name}: a delay must stay below (down_timer_adverts - 1) advert intervals, or a backup elsewhere would take over first",
                                cut.down, cut.up
                            ),
                        ));
                    }
                }
                // keepalived tracks the interface of an address or route
                // held elsewhere (vrrp.c): down means FAULT, unless no_track.
                for dev in s.implicitly_tracked() {
                    let tracked = trackers
                        .iter()
                        .any(|t| t.kind() == health::TrackerKind::Interface && t.name() == dev);
                    if !tracked {
                        trackers.push(Tracked::Interface {
                            name: dev,
                            weight: 0,
                        });
                    }
                }
                s.trackers = trackers;
                s.notify = notify;
                // vrrp.c vrrp_complete_instance: an instance without
                // notify_priority_changes takes its sync group's.
                if instance.notify_priority_changes.is_none() {
                    s.notify.priority_changes = config
                        .sync_groups
                        .values()
                        .find(|g| g.group.iter().any(|member| member == name))
                        .and_then(|g| g.notify_priority_changes)
                        .unwrap_or(false);
                }
                settings.push(s);
            }
            (core, trackers, notify) => {
                for problems in [core.err(), trackers.err(), notify.err()]
                    .into_iter()
                    .flatten()
                {
                    report(prefix.clone(), problems);
                }
            }
        }
    }
    let mut sync_groups = Vec::new();
    let mut member_of: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, g) in &config.sync_groups {
        let key = format!("sync_groups.{name}.group");
        let mut members = Vec::new();
        for member in &g.group {
            if !config.instances.contains_key(member) {
                errors.push(loaded.error(
                    &key,
                    format!("no instance named {member:?} under instances"),
                ));
            } else if let Some(other) = member_of.insert(member, name) {
                errors.push(loaded.error(
                    &key,
                    format!("{member} is already in sync group {other}: an instance is in one group at most"),
                ));
            } else {
                members.push(member.clone());
            }
        }
        if g.group.len() == 1 {
            warnings.push(loaded.error(
                &key,
                "has one member: a sync group is for moving several instances together",
            ));
        }
        let trackers = health::trackers(config, g, &health.checks);
        let notify = health::notify(config, g, &script_user);
        let (trackers, notify) = match (trackers, notify) {
            (Ok(t), Ok(n)) => (t, n),
            (t, n) => {
                for (key, message) in [t.err(), n.err()].into_iter().flatten().flatten() {
                    errors.push(loaded.error(&format!("sync_groups.{name}.{key}"), message));
                }
                continue;
            }
        };
        let is_process = |t: &Tracked| {
            t.kind() == health::TrackerKind::Script
                && health
                    .checks
                    .iter()
                    .any(|c| c.name == t.name() && matches!(c.kind, health::CheckKind::Process(_)))
        };
        let owner_in_group = settings
            .iter()
            .any(|s| members.contains(&s.name) && s.template.priority == 255);
        for s in settings.iter_mut().filter(|s| members.contains(&s.name)) {
            s.template.sync_member = true;
            // keepalived (vrrp_sync.c): in a group a failing tracker means
            // FAULT, unless the group keeps the weights; a tracked
            // process keeps its weight (vrrp.c 2.2.7 leaves track_process
            // out of that), a group's own unless a member is an owner.
            let keep = |t: &Tracked, from_group: bool| {
                let process_weight = is_process(t) && !(from_group && owner_in_group);
                if g.sync_group_tracking_weight || process_weight {
                    t.clone()
                } else {
                    t.with_weight(0)
                }
            };
            let kept: Vec<Tracked> = s
                .trackers
                .iter()
                .map(|t| keep(t, false))
                .chain(trackers.iter().map(|t| keep(t, true)))
                .collect();
            // Said, since the weight is written and does nothing: a file's
            // weight still scales its value, so only scripts and
            // interfaces.
            for (was, now) in s.trackers.iter().zip(&kept) {
                if was.weight() != 0 && now.weight() == 0 && was.kind() != health::TrackerKind::File
                {
                    warnings.push(loaded.error(
                        &format!("sync_groups.{name}"),
                        format!(
                            "{}'s tracker {} has weight {}, which a sync group member does not use: a failing tracker makes the whole group FAULT; set sync_group_tracking_weight on the group to keep weights (YAML: sync_group_tracking_weight: true)",
                            s.name,
                            was.name(),
                            was.weight()
                        ),
                    ));
                }
            }
            s.trackers = kept;
        }
        sync_groups.push(SyncGroupSettings {
            name: name.clone(),
            members,
            notify,
            tracking_weight: g.sync_group_tracking_weight,
        });
    }

    let quorum = fence(
        loaded,
        &mut settings,
        &member_of,
        &mut errors,
        &mut warnings,
    );

    // Named ones first; then each unnamed one takes keepalived's first
    // free name (vrrp.c create_vmac_name): two instances of one VRID, an
    // IPv4 and an IPv6 one, get vrrp.51 and vrrp6.51, as there.
    // keepalived's limit (vrrp_parser.c alloc_if_up_down_delay): 255 s.
    for (interface, d) in &config.interface_up_down_delays {
        for (key, delay) in [("down", d.down.0), ("up", d.up.0)] {
            if delay > std::time::Duration::from_secs(255) {
                errors.push(loaded.error(
                    &format!("interface_up_down_delays.{interface}.{key}"),
                    format!("expected 0..255 s, got {delay:?}"),
                ));
            }
        }
    }
    let prefix = config.vmac_prefix.as_deref().unwrap_or("vrrp");
    if prefix.is_empty() {
        errors.push(loaded.error(
            "vmac_prefix",
            "is empty: expected the start of an interface name, e.g. vrrp".to_string(),
        ));
    } else if prefix.contains(|c: char| c == '/' || c == ':' || c.is_whitespace()) {
        errors.push(loaded.error(
            "vmac_prefix",
            format!(
                "{prefix:?}: expected the start of an interface name: no '/', ':' or white space"
            ),
        ));
    }
    // The interfaces the file names (instances' and addresses' `dev`):
    // a VMAC or ipvlan of that name would stand in for one, and making it
    // would mean deleting the host's. keepalived's create_vmac_name skips
    // every name in use on the host; the daemon refuses one in use at
    // start (net::vmac remove_leftover).
    let configured: std::collections::BTreeSet<String> = settings
        .iter()
        .flat_map(|s| {
            std::iter::once(s.interface.clone())
                .chain(s.placements.values().filter_map(|p| p.dev.clone()))
        })
        .collect();
    for s in &settings {
        let Some(vmac) = s.vmac.as_ref().filter(|v| !v.default_name) else {
            continue;
        };
        if configured.contains(&vmac.name) {
            let (key, what) = match vmac.kind {
                VirtualLink::Macvlan => ("use_vmac", "VMAC"),
                VirtualLink::Ipvlan(_) => ("use_ipvlan", "ipvlan"),
            };
            errors.push(loaded.error(
                &format!("instances.{}.{key}", s.name),
                format!(
                    "{what} {} is an interface this file uses (as an instance's interface or an address's dev): vipd makes its {what}s and deletes them at stop; name it otherwise",
                    vmac.name
                ),
            ));
        }
    }
    let mut taken: std::collections::BTreeSet<String> = settings
        .iter()
        .filter_map(|s| s.vmac.as_ref().filter(|v| !v.default_name))
        .map(|v| v.name.clone())
        .chain(configured.iter().cloned())
        .collect();
    // vrrp.c vrrp_complete_instance names, instance by instance, its own
    // VMAC, then those for its addresses, with vmac_addr_prefix, else
    // vmac_prefix, else vrrp.
    let (addr_prefix, addr_prefix_key) = match config.vmac_addr_prefix.as_deref() {
        Some(p) => (p, "vmac_addr_prefix"),
        None => (prefix, "vmac_prefix"),
    };
    if config.vmac_addr_prefix.is_some() {
        if addr_prefix.is_empty() {
            errors.push(loaded.error(
                "vmac_addr_prefix",
                "is empty: expected the start of an interface name, e.g. vrrp".to_string(),
            ));
        } else if addr_prefix.contains(|c: char| c == '/' || c == ':' || c.is_whitespace()) {
            errors.push(loaded.error(
                "vmac_addr_prefix",
                format!(
                    "{addr_prefix:?}: expected the start of an interface name: no '/', ':' or white space"
                ),
            ));
        }
    }
    for s in &mut settings {
        let (vrid, ipv6) = (s.vrid().get(), s.is_ipv6());
        if let Some(vmac) = s.vmac.as_mut().filter(|v| v.default_name) {
            vmac.name = keepalived_vmac_name(prefix, vrid, ipv6, |name| taken.contains(name));
            taken.insert(vmac.name.clone());
            if !vmac.name.starts_with(prefix) {
                warnings.push(loaded.error(
                    "vmac_prefix",
                    format!("{prefix:?} is cut to make {} ({}'s VMAC): an interface name has at most 15 bytes, and keepalived cuts it the same way", vmac.name, s.name),
                ));
            }
        }
        for vmac in &mut s.address_vmacs {
            vmac.name =
                keepalived_vmac_name(addr_prefix, vrid, vmac.ipv6, |name| taken.contains(name));
            taken.insert(vmac.name.clone());
            if !vmac.name.starts_with(addr_prefix) {
                warnings.push(loaded.error(
                    addr_prefix_key,
                    format!("{addr_prefix:?} is cut to make {} ({}'s VMAC on {}): an interface name has at most 15 bytes, and keepalived cuts it the same way", vmac.name, s.name, vmac.parent),
                ));
            }
            for address in &vmac.addresses {
                if let Some(placement) = s.placements.get_mut(address) {
                    placement.dev = Some(vmac.name.clone());
                }
            }
        }
    }
    let mut vmacs: BTreeMap<&str, &str> = BTreeMap::new();
    for s in &settings {
        let Some(vmac) = &s.vmac else { continue };
        if let Some(other) = vmacs.insert(&vmac.name, &s.name) {
            let (key, what, how) = match vmac.kind {
                VirtualLink::Macvlan => ("use_vmac", "VMAC", "use_vmac: NAME"),
                VirtualLink::Ipvlan(_) => ("use_ipvlan", "ipvlan", "use_ipvlan: {name: NAME}"),
            };
            errors.push(loaded.error(
                &format!("instances.{}.{key}", s.name),
                format!(
                    "{what} {} is already instance {other}'s (its VMAC or ipvlan): name one of them ({how})",
                    vmac.name
                ),
            ));
        }
    }
    // Two macvlans of one MAC on one interface: the kernel refuses the
    // second (EADDRINUSE). keepalived would put the second instance's
    // addresses on the first's VMAC (vrrp_if.c if_get_by_vmac); vipd
    // gives each instance VMACs of its own, removed with it.
    let mut macs: BTreeMap<(&str, bool, u8), String> = BTreeMap::new();
    // A macvlan and an ipvlan on one parent: each takes the parent's one
    // receive handler, so the kernel refuses the second (EBUSY).
    let mut parent_kinds: BTreeMap<&str, (Option<String>, Option<String>)> = BTreeMap::new();
    for s in &settings {
        let own = s.vmac.as_ref().map(|v| (v.ipvlan().is_some(), &v.name));
        let addresses = s.address_vmacs.iter().map(|v| (false, &v.name));
        let parents = std::iter::repeat_n(s.interface.as_str(), usize::from(own.is_some()))
            .chain(s.address_vmacs.iter().map(|v| v.parent.as_str()));
        for (parent, (ipvlan, name)) in parents.zip(own.into_iter().chain(addresses)) {
            let (macvlans, ipvlans) = parent_kinds.entry(parent).or_default();
            let what = format!(
                "instance {}'s {} {name}",
                s.name,
                if ipvlan { "ipvlan" } else { "VMAC" }
            );
            let (mine, other) = if ipvlan {
                (ipvlans, macvlans)
            } else {
                (macvlans, ipvlans)
            };
            if let Some(other) = other {
                let key = if ipvlan { "use_ipvlan" } else { "use_vmac" };
                errors.push(loaded.error(
                    &format!("instances.{}.{key}", s.name),
                    format!(
                        "{what} and {other} are both on {parent}: the kernel takes macvlans or ipvlans on an interface, not both; use one kind on {parent}"
                    ),
                ));
            }
            mine.get_or_insert(what);
        }
    }
    // Two ipvlans of one address on one parent: the kernel refuses the
    // second address (EADDRINUSE).
    let mut ipvlan_addresses: BTreeMap<(&str, IpAddr), &str> = BTreeMap::new();
    for s in &settings {
        let Some(address) = s
            .vmac
            .as_ref()
            .and_then(|v| v.ipvlan())
            .and_then(|i| i.address)
        else {
            continue;
        };
        if let Some(other) = ipvlan_addresses.insert((&s.interface, address.address), &s.name) {
            errors.push(loaded.error(
                &format!("instances.{}.use_ipvlan.address", s.name),
                format!(
                    "{} is already instance {other}'s ipvlan address on {}: each ipvlan needs an address of its own",
                    address.address, s.interface
                ),
            ));
        }
    }
    for s in &settings {
        // An ipvlan has the parent's MAC: none of its own to clash.
        let own = s
            .vmac
            .as_ref()
            .filter(|v| v.ipvlan().is_none())
            .map(|v| (s.interface.as_str(), s.is_ipv6(), &v.name));
        let addresses = s
            .address_vmacs
            .iter()
            .map(|v| (v.parent.as_str(), v.ipv6, &v.name));
        for (parent, ipv6, vmac) in own.into_iter().chain(addresses) {
            let what = format!("instance {}'s VMAC {vmac}", s.name);
            if let Some(other) = macs.insert((parent, ipv6, s.vrid().get()), what.clone()) {
                let key = if s.vmac.as_ref().is_some_and(|v| v.name == *vmac) {
                    "use_vmac"
                } else if config
                    .instances
                    .get(&s.name)
                    .is_some_and(|i| i.use_vmac_addr)
                {
                    "use_vmac_addr"
                } else {
                    "virtual_ipaddress"
                };
                errors.push(loaded.error(
                    &format!("instances.{}.{key}", s.name),
                    format!(
                        "{what} on {parent} would have MAC 00:00:5e:00:{:02x}:{:02x}, which {other} on {parent} has: the kernel allows one macvlan per MAC on an interface; give one of them another virtual_router_id",
                        if ipv6 { 2 } else { 1 },
                        s.vrid().get()
                    ),
                ));
            }
        }
    }
    let mut seen: BTreeMap<(String, u8, bool), &str> = BTreeMap::new();
    for s in &settings {
        let slot = (s.interface.clone(), s.vrid().get(), s.is_ipv6());
        if let Some(other) = seen.insert(slot, &s.name) {
            errors.push(loaded.error(
                &format!("instances.{}.virtual_router_id", s.name),
                format!(
                    "virtual_router_id {} is already used by instance {other} on {} for this address family",
                    s.vrid(),
                    s.interface
                ),
            ));
        }
    }
    // lib/notify.c fifo_open: the script reads the FIFO it is given.
    let fifo_script = match (&config.notify_fifo_script, &config.notify_fifo) {
        (None, _) => None,
        (Some(_), None) => {
            warnings.push(loaded.error(
                "notify_fifo_script",
                "has no effect without notify_fifo: it is started with the FIFO's path",
            ));
            None
        }
        (Some(line), Some(fifo)) => match health::script(line, script_user.run_as.as_ref()) {
            Ok(script) => Some(crate::sys::fifo_script::FifoScript {
                script,
                fifo: fifo.clone(),
                run_as: script_user.run_as.clone(),
            }),
            Err(why) => {
                errors.push(loaded.error("notify_fifo_script", why));
                None
            }
        },
    };
    let firewall = match &config.nftables {
        None => FirewallSettings::default(),
        Some(n) => FirewallSettings {
            table: n.table.clone(),
            priority: n.priority,
        },
    };
    if !crate::net::firewall::valid_table_name(&firewall.table) {
        errors.push(loaded.error(
            "nftables.table",
            format!(
                "{:?}: expected a table name nft can address: a letter or _, then letters, digits, _ or ., at most 255",
                firewall.table
            ),
        ));
    }
    let snmp = snmp(loaded, &mut errors, &mut warnings);
    health.link_delays = tracked_link_delays(config, &settings);
    if errors.is_empty() {
        Ok(Settings {
            control_socket: config.control_socket.clone(),
            metrics: config.metrics.as_ref().map(|m| m.listen),
            snmp,
            instances: settings,
            sync_groups,
            health,
            quorum,
            firewall,
            startup_delay: config.startup_delay.0,
            delay_after_boot: config.delay_after_boot.0,
            garp: garp_settings(config, &mut warnings, loaded),
            fifo_states_on_reload: config.fifo_write_vrrp_states_on_reload,
            log_unknown_vrids: config.log_unknown_vrids,
            fifo_script,
            warnings,
        })
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The SNMP subagent: where snmpd listens, and what it serves.
fn snmp(
    loaded: &Loaded,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Option<crate::snmp::SnmpSettings> {
    let config = loaded.config.snmp.as_ref()?;
    let master = match crate::snmp::MasterAddress::parse(&config.socket) {
        Ok(master) => master,
        Err(why) => {
            errors.push(loaded.error("snmp.socket", why.to_string()));
            return None;
        }
    };
    let mibs = crate::snmp::Mibs {
        vrrp: config.vrrp,
        rfcv2: config.rfcv2,
        rfcv3: config.rfcv3,
        traps: config.traps,
    };
    if !(mibs.vrrp || mibs.rfcv2 || mibs.rfcv3) {
        // keepalived too serves nothing on snmp_socket or enable_traps
        // alone.
        warnings.push(loaded.error(
            "snmp",
            "serves nothing: set vrrp, rfcv2 or rfcv3 to true (KEEPALIVED-MIB, RFC 2787, RFC 6527)",
        ));
        return None;
    }
    if loaded.config.user.is_some() && matches!(master, crate::snmp::MasterAddress::Unix(_)) {
        // vipd keeps no CAP_DAC_OVERRIDE: snmpd's socket is root's and
        // 0600 unless agentXPerms says otherwise, and every attempt fails.
        warnings.push(loaded.error(
            "snmp.socket",
            "with `user` set, vipd can connect to snmpd's socket only if snmpd.conf lets its group in: \
             agentXPerms 0660 0755 root GROUP (GROUP: vipd's group); even as root vipd lacks CAP_DAC_OVERRIDE",
        ));
    }
    Some(crate::snmp::SnmpSettings {
        master,
        mibs,
        router_id: config.router_id.clone(),
    })
}

/// The quorum fence: checked settings, and each fenced instance's key
/// (its sync group's, which fences as one).
fn fence(
    loaded: &Loaded,
    settings: &mut [InstanceSettings],
    member_of: &BTreeMap<&str, &str>,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) -> Option<super::quorum::QuorumSettings> {
    let config = &loaded.config;
    let opted = |name: &str| config.instances.get(name).and_then(|i| i.quorum);
    let Some(quorum) = &config.quorum else {
        for s in settings.iter().filter(|s| opted(&s.name).is_some()) {
            warnings.push(loaded.error(
                &format!("instances.{}.quorum", s.name),
                "has no effect without a top-level quorum: { etcd: ... }",
            ));
        }
        return None;
    };
    let quorum = match super::quorum::settings(quorum) {
        Ok(quorum) => quorum,
        Err(problems) => {
            for (key, message) in problems {
                errors.push(loaded.error(&format!("quorum.{key}"), message));
            }
            return None;
        }
    };
    if quorum.endpoints.len() < 3 {
        warnings.push(loaded.error(
            "quorum.etcd.endpoints",
            format!(
                "{} endpoint(s): list every member of an etcd of 3 or 5 in separate failure domains, or losing one member loses the fence",
                quorum.endpoints.len()
            ),
        ));
    }
    for (group, g) in &config.sync_groups {
        let fenced: BTreeSet<bool> = g.group.iter().map(|m| opted(m) != Some(false)).collect();
        if fenced.len() > 1 {
            errors.push(loaded.error(
                &format!("sync_groups.{group}.group"),
                "some members have quorum: false and some not: a sync group fences as one, so set it on all or none",
            ));
        }
    }
    for s in settings.iter_mut() {
        if opted(&s.name) == Some(false) {
            continue;
        }
        let holder = member_of.get(s.name.as_str()).copied().unwrap_or(&s.name);
        s.fence_key = Some(quorum.key(holder));
        s.template.fence = Some(crate::proto::FenceParams {
            on_quorum_loss: quorum.on_quorum_loss,
        });
    }
    Some(quorum)
}

/// garp_extra_if's addresses, as keepalived chooses them (vrrp.c
/// vrrp_send_vmac_update, vrrp_complete_instance): the first of each
/// interface other than the instance's own (its own too with
/// vmac_xmit_base), if it is a VMAC (`vmac_names`) or `all`; None when
/// keepalived turns it off (no other interface, or only ones that are not
/// VMACs, without `all`).
fn extra_interfaces(
    vips: &[VirtualAddress],
    excluded: &[VirtualAddress],
    placements: &BTreeMap<IpAddr, Placement>,
    on_vmac: &BTreeMap<IpAddr, String>,
    all: bool,
    (own, xmit_base, vmac_names): (&str, bool, &[String]),
) -> Option<Vec<VirtualAddress>> {
    let is_ours = |interface: &str| {
        vmac_names.iter().any(|v| v == interface) || on_vmac.values().any(|v| v == interface)
    };
    let (mut extra_vmac, mut extra_if) = (false, false);
    let mut done: Vec<&str> = Vec::new();
    let mut chosen = Vec::new();
    for vip in vips.iter().chain(excluded) {
        let interface = on_vmac
            .get(&vip.address)
            .map(String::as_str)
            .or_else(|| placements.get(&vip.address).and_then(|p| p.dev.as_deref()))
            .unwrap_or(own);
        if interface != own {
            if is_ours(interface) {
                extra_vmac = true;
            } else {
                extra_if = true;
            }
        }
        if (!is_ours(interface) && !all) || (interface == own && !xmit_base) {
            continue;
        }
        if !done.contains(&interface) {
            done.push(interface);
            chosen.push(*vip);
        }
    }
    // keepalived's rule: off with no other interface, or with only ones
    // that are not VMACs and no `all`.
    let on = extra_vmac || (extra_if && all);
    (on && !chosen.is_empty()).then_some(chosen)
}

/// keepalived (vrrp_parser.c garp_group_interface_handler): an
/// interface in a second garp_group keeps the first's spacing.
fn garp_settings(
    config: &crate::config::schema::Config,
    warnings: &mut Vec<ConfigError>,
    loaded: &Loaded,
) -> GarpSettings {
    let mut garp = GarpSettings {
        default: Spacing {
            garp_interval: config.garp_interval.0,
            gna_interval: config.gna_interval.0,
        },
        interfaces: BTreeMap::new(),
    };
    for (i, group) in config.garp_group.iter().enumerate() {
        let spacing = Spacing {
            garp_interval: group.garp_interval.0,
            gna_interval: group.gna_interval.0,
        };
        for interface in &group.interfaces {
            if garp.interfaces.contains_key(interface) {
                warnings.push(loaded.error(
                    &format!("garp_group.{i}.interfaces"),
                    format!("garp_group already specified for {interface} - ignoring: the first group's spacing applies, as keepalived's"),
                ));
            } else {
                garp.interfaces.insert(interface.clone(), spacing);
            }
        }
    }
    garp
}

type CoreProblems = Vec<(&'static str, String)>;

/// The key a core parameter is read from.
fn key_of(param: Param) -> &'static str {
    match param {
        Param::Priority => "priority",
        Param::Version => "version",
        Param::AdvertInterval => "advert_int",
        Param::PrimaryAddress => "source_ip",
        Param::VirtualAddresses => "virtual_ipaddress",
        Param::Auth => "authentication",
        Param::PreemptDelay => "preempt_delay",
        Param::UnicastPeers => "unicast_peer",
        Param::UnicastTtl => "unicast_ttl",
        Param::ExcludedAddresses => "virtual_ipaddress_excluded",
        Param::AuthHmac => "auth_hmac",
        Param::DownTimerAdverts => "down_timer_adverts",
        Param::Accept => "accept",
        Param::LowerPrioRepeat => "garp_lower_prio_repeat",
        Param::LowerPrioDelay => "garp_lower_prio_delay",
        Param::LowerPrioNoAdvert => "lower_prio_no_advert",
        Param::HigherPrioSendAdvert => "higher_prio_send_advert",
        Param::OwnerIgnoresAdverts => "owner_ignore_adverts",
        Param::MulticastGroup => "mcast_dst_ip",
    }
}

/// What to do about a core problem, where there is more to say than the rule.
fn hint(problem: &ParamsError) -> &'static str {
    match problem {
        ParamsError::V2Interval(_) => " (use version 3 for less than a second)",
        ParamsError::V2OverIpv6 => ": set version: 3",
        ParamsError::AuthInV3 => ": remove authentication, or use version 2",
        ParamsError::MixedFamilies(_) => ": use one instance for IPv4 and another for IPv6",
        ParamsError::PeerFamily(_) => ": an instance's peers are of its addresses' family",
        _ => "",
    }
}

/// Reads an instance's keys into the core's parameters, then asks the core
/// (the one home of VRRP's rules) what is wrong with them. Here only what
/// is about reading text: a value that cannot be parsed at all.
fn instance_settings(
    name: &str,
    c: &InstanceConfig,
    vmac_names: &[String],
) -> Result<(InstanceSettings, CoreProblems), CoreProblems> {
    let mut problems: CoreProblems = Vec::new();
    let mut warnings: CoreProblems = Vec::new();
    // Parameters that could not be read: the core's rules about them
    // would only repeat the reading error.
    let mut unread: Vec<Param> = Vec::new();
    if c.interface.trim().is_empty() {
        problems.push(("interface", "expected an interface name".into()));
    }
    let vrid = Vrid::new(c.virtual_router_id);
    if vrid.is_none() {
        problems.push(("virtual_router_id", "expected 1..255, got 0".into()));
    }
    let version = match c.version {
        2 => Version::V2,
        3 => Version::V3,
        other => {
            problems.push(("version", format!("expected 2 or 3, got {other}")));
            unread.extend([Param::Version, Param::AdvertInterval, Param::Auth]);
            Version::V2
        }
    };

    let mut placements = BTreeMap::new();
    // Addresses with their own `use_vmac`, and the key they are under.
    let mut asked_vmac: BTreeMap<IpAddr, &'static str> = BTreeMap::new();
    let mut read_addresses = |key: &'static str, param: Param, list: &[AddressConfig]| {
        let mut read = Vec::new();
        for entry in list {
            match parse_address(entry) {
                Ok((vip, placement)) => {
                    placements.insert(vip.address, placement);
                    if entry.use_vmac {
                        asked_vmac.insert(vip.address, key);
                    }
                    read.push(vip);
                }
                Err(message) => {
                    problems.push((key, message));
                    unread.push(param);
                }
            }
        }
        read
    };
    let vips = read_addresses(
        "virtual_ipaddress",
        Param::VirtualAddresses,
        &c.virtual_ipaddress,
    );
    let excluded = read_addresses(
        "virtual_ipaddress_excluded",
        Param::ExcludedAddresses,
        &c.virtual_ipaddress_excluded,
    );
    // use_ipvlan's address is also the source, unless one is configured
    // (vrrp_parser.c vrrp_ipvlan_handler: "We also want to use this
    // address as the source address").
    let ipvlan_address = match c.use_ipvlan.0.as_ref().and_then(|i| i.address.as_deref()) {
        None => None,
        Some(text) => match parse_vip(text) {
            Ok(address) => Some(address),
            Err(message) => {
                problems.push(("use_ipvlan.address", message));
                None
            }
        },
    };
    let source_ip = c.source_ip.or(ipvlan_address.map(|a| a.address));
    // The family: the addresses'; with none (no_virtual_ipaddress), the
    // source's or the first peer's, else IPv4, as keepalived (vrrp.c
    // vrrp_complete_instance).
    let ipv6 = match vips.first() {
        Some(vip) => vip.address.is_ipv6(),
        None => source_ip
            .or_else(|| c.unicast_peer.first().map(|p| p.address))
            .is_some_and(|a| a.is_ipv6()),
    };
    // Until the interface is known: the configured source, or a
    // placeholder of the virtual addresses' family.
    let primary = source_ip.unwrap_or(if ipv6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });

    let advert_interval = Centiseconds::from_duration_exact(c.advert_int.0).unwrap_or_else(|| {
        problems.push((
            "advert_int",
            format!("expected a multiple of 0.01 s, got {}", c.advert_int),
        ));
        unread.push(Param::AdvertInterval);
        Centiseconds::from_secs(1)
    });

    let auth = match &c.authentication {
        None => Auth::None,
        Some(a) => match a.auth_type {
            AuthType::Ah => Auth::Other {
                kind: AUTH_TYPE_AH,
                data: [0; 8],
            },
            AuthType::Pass if a.auth_pass.is_empty() => {
                problems.push((
                    "authentication.auth_pass",
                    "expected a password (only its first 8 characters are sent)".into(),
                ));
                Auth::None
            }
            AuthType::Pass => {
                // As keepalived: the first 8 bytes are sent, with a
                // warning (a .conf's mapping truncates it itself).
                if a.auth_pass.len() > 8 {
                    warnings.push((
                        "authentication.auth_pass",
                        format!(
                            "{} bytes: only the first 8 are sent, so hosts whose passwords differ after them agree",
                            a.auth_pass.len()
                        ),
                    ));
                }
                Auth::Pass(AuthKey::from_password(&a.auth_pass))
            }
        },
    };

    let auth_hmac = c
        .auth_hmac
        .as_ref()
        .and_then(|h| match h.read(c.advert_int.0) {
            Ok(params) => Some(params),
            Err(read) => {
                problems.extend(read);
                unread.push(Param::AuthHmac);
                None
            }
        });

    if c.no_virtual_ipaddress && !c.virtual_ipaddress.is_empty() {
        warnings.push((
            "no_virtual_ipaddress",
            "has no effect: the instance has virtual_ipaddress, which it holds and advertises"
                .into(),
        ));
    }
    // vrrp.c vrrp_complete_instance: "ignoring owner_ignore_adverts since
    // priority is not 255".
    if c.owner_ignore_adverts && c.priority != 255 {
        warnings.push((
            "owner_ignore_adverts",
            format!("ignored: only an address owner (priority 255) ignores adverts, and this one has {}", c.priority),
        ));
    }
    let unicast = unicast(c, &mut warnings);
    if unicast.is_some() && c.auth_hmac.is_none() {
        warnings.push((
            "unicast_peer",
            "unicast without auth_hmac: any host that can reach the peers can take the VIP with one forged advert; add auth_hmac (vipd keygen makes a key)".into(),
        ));
    }

    // vrrp.c vrrp_complete_instance: "multicast destination specified
    // with unicast - ignoring".
    let multicast_group = match (c.mcast_dst_ip, &unicast) {
        (Some(group), Some(_)) => {
            warnings.push((
                "mcast_dst_ip",
                format!("({name}) multicast destination specified with unicast - ignoring {group}: adverts go to the peers"),
            ));
            None
        }
        (group, _) => group,
    };
    let vmac = match (&c.use_vmac, &c.use_ipvlan.0) {
        (UseVmac::Off, None) => None,
        (UseVmac::Default, _) => Some(format!("vrrp.{}", c.virtual_router_id)),
        (UseVmac::Named(name), _) => Some(name.clone()),
        (UseVmac::Off, Some(ipvlan)) => Some(
            ipvlan
                .name
                .clone()
                .unwrap_or_else(|| format!("vrrp.{}", c.virtual_router_id)),
        ),
    };
    let ipvlan = match (&c.use_vmac, &c.use_ipvlan.0) {
        (_, None) => None,
        (UseVmac::Default | UseVmac::Named(_), Some(_)) => {
            problems.push((
                "use_ipvlan",
                "cannot be used with use_vmac: an instance holds its addresses on a VMAC (a macvlan with the virtual MAC) or on an ipvlan (the parent's MAC), not both; remove one".into(),
            ));
            None
        }
        (UseVmac::Off, Some(config)) => {
            // vrrp.c vrrp_complete_instance: "IPv4 ipvlan requires a
            // source ip address to be configured" and "ipvlan address
            // family does not match instance" (keepalived: FAULT).
            match ipvlan_address {
                None if !ipv6 && config.address.is_none() => problems.push((
                    "use_ipvlan",
                    "an IPv4 instance's ipvlan needs an address (use_ipvlan: {address: ADDRESS/LEN}): its adverts leave from it, and keepalived keeps such an instance in FAULT".into(),
                )),
                Some(address) if address.address.is_ipv6() != ipv6 => problems.push((
                    "use_ipvlan.address",
                    format!(
                        "{} is {} but the instance's addresses are {}: it must be of the instance's family",
                        address.address,
                        if address.address.is_ipv6() { "IPv6" } else { "IPv4" },
                        if ipv6 { "IPv6" } else { "IPv4" }
                    ),
                )),
                // Every router has its ipvlan's address, always: one that
                // is also a VIP would be held everywhere, master or not.
                Some(address)
                    if vips
                        .iter()
                        .chain(&excluded)
                        .any(|v| v.address == address.address) =>
                {
                    problems.push((
                        "use_ipvlan.address",
                        format!(
                            "{} is one of the instance's own virtual addresses: the ipvlan keeps its address on every router, master or not; give it an address of its own",
                            address.address
                        ),
                    ))
                }
                _ => {}
            }
            if c.vmac_xmit_base {
                // vrrp.c: "vmac_xmit_base is only valid with a vmac".
                warnings.push((
                    "vmac_xmit_base",
                    format!("({name}) vmac_xmit_base is only valid with a vmac - ignored with use_ipvlan, as keepalived ignores it"),
                ));
            }
            Some(IpvlanSettings {
                address: ipvlan_address,
                mode: match config.mode {
                    IpvlanMode::Bridge => crate::net::vmac::IpvlanMode::Bridge,
                    IpvlanMode::Private => crate::net::vmac::IpvlanMode::Private,
                    IpvlanMode::Vepa => crate::net::vmac::IpvlanMode::Vepa,
                },
                group: config.group,
            })
        }
    };
    let vmac_key = if ipvlan.is_some() {
        "use_ipvlan"
    } else {
        "use_vmac"
    };
    if let Some(name) = &vmac {
        // Linux: at most 15 bytes (IFNAMSIZ), no '/', ':' or white space.
        let bad = name.is_empty()
            || name.len() > 15
            || name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
        if bad {
            problems.push((
                vmac_key,
                format!("{name:?}: expected an interface name of 1..15 characters without / : or spaces"),
            ));
        }
        if c.interface == "lo" {
            problems.push((
                vmac_key,
                if ipvlan.is_some() {
                    "an ipvlan needs an Ethernet interface; lo cannot have one".into()
                } else {
                    "a VMAC needs an Ethernet interface; lo cannot have one".into()
                },
            ));
        }
    } else if c.vmac_xmit_base {
        warnings.push(("vmac_xmit_base", "has no effect without use_vmac".into()));
    }
    let xmit_base_written = c.vmac_xmit_base && !c.strict_mode && ipvlan.is_none();
    // keepalived 2.4 vrrp.c vrrp_complete_instance: only with nopreempt.
    let timer_expired_backup = match c.timer_expired_backup {
        Some(p) if !(1..=254).contains(&p) => {
            problems.push((
                "timer_expired_backup",
                format!("expected the highest priority of the other routers, 1..254, got {p}"),
            ));
            None
        }
        Some(_) if c.preempt => {
            warnings.push((
                "timer_expired_backup",
                format!("ignored: it works only with preempt: false (nopreempt in keepalived.conf), and {name} preempts (keepalived 2.4 says \"({name}) expired_timer_backup requires nopreempt - resetting\" and runs without it)"),
            ));
            None
        }
        other => other.and_then(|p| u8::try_from(p).ok()),
    };
    if vmac.is_some() && ipvlan.is_none() && c.vmac_xmit_base && c.strict_mode {
        // vrrp.c: "xmit_base is incompatible with strict mode - resetting".
        warnings.push((
            "vmac_xmit_base",
            format!("({name}) xmit_base is incompatible with strict mode - resetting: adverts leave from the VMAC"),
        ));
    }
    // keepalived: unicast with a VMAC sends adverts on the parent. vipd
    // does so for IPv6 too: sending from the VMAC needs a link-local
    // address on it, and with one the backup's VMAC sends MLD and ND with
    // the virtual MAC, so the switch sends the VIP's traffic to the
    // backup now and then (seen in the lab: pings to the VIP lost for
    // 2 s at a time). Neighbours learn the MAC from the master's
    // unsolicited NAs, which leave from the VMAC.
    // An ipvlan sends from itself, with its own address (or, for IPv6,
    // its link-local one), but with unicast from the parent, as
    // keepalived forces vmac_xmit_base there too (vrrp_parser.c
    // vrrp_end_handler: "unicast with use_vmac requires vmac_xmit_base").
    let vmac = vmac.map(|name| VmacSettings {
        name,
        default_name: match &c.use_ipvlan.0 {
            Some(config) if ipvlan.is_some() => config.name.is_none(),
            _ => matches!(c.use_vmac, UseVmac::Default),
        },
        xmit_base: match ipvlan {
            Some(_) => unicast.is_some(),
            None => xmit_base_written || unicast.is_some() || ipv6,
        },
        kind: match ipvlan {
            Some(settings) => VirtualLink::Ipvlan(settings),
            None => VirtualLink::Macvlan,
        },
    });
    let address_vmacs = address_vmacs(
        c,
        ipv6,
        vips.iter().chain(&excluded),
        &placements,
        &asked_vmac,
        (&mut problems, &mut warnings),
    );

    let mut routing = Vec::new();
    for line in &c.virtual_routes {
        match routes::parse_route(line) {
            Ok(route) => routing.push(Routed::Route(route)),
            Err(message) => problems.push(("virtual_routes", format!("{line:?}: {message}"))),
        }
    }
    for line in &c.virtual_rules {
        match routes::parse_rule(line) {
            Ok(rule) => routing.push(Routed::Rule(rule)),
            Err(message) => problems.push(("virtual_rules", format!("{line:?}: {message}"))),
        }
    }

    let extra_announce = c.garp_extra_if.as_ref().and_then(|extra| {
        // An address on a VMAC of its own is on an interface keepalived
        // made (is_ours), one per parent and family.
        let on_vmac: BTreeMap<IpAddr, String> = address_vmacs
            .iter()
            .flat_map(|v| {
                let at = format!("VMAC on {} for IPv{}", v.parent, if v.ipv6 { 6 } else { 4 });
                v.addresses.iter().map(move |a| (*a, at.clone()))
            })
            .collect();
        let chosen = extra_interfaces(&vips, &excluded, &placements, &on_vmac, extra.all, {
            let own = vmac
                .as_ref()
                .filter(|v| v.ipvlan().is_none())
                .map_or(c.interface.as_str(), |v| v.name.as_str());
            let xmit_base = vmac.as_ref().is_some_and(|v| v.xmit_base);
            (own, xmit_base, vmac_names)
        });
        if chosen.is_none() && !extra.delay.is_zero() {
            warnings.push((
                "garp_extra_if",
                format!("({name}) has no effect: no address on another interface (or, without all, on another instance's VMAC), as keepalived turns it off"),
            ));
        }
        chosen
            .filter(|_| !extra.delay.is_zero())
            .map(|addresses| ExtraAnnounce {
                interval: extra.delay.0,
                addresses,
            })
    });
    let params = InstanceParams {
        name: name.to_string(),
        vrid: vrid.unwrap_or(Vrid::MIN),
        version,
        priority: c.priority,
        advert_interval,
        preempt: c.preempt,
        preempt_delay: c.preempt_delay.0,
        accept_mode: c
            .accept
            .unwrap_or(default_accept(c.strict_mode, c.priority)),
        primary_address: primary,
        virtual_addresses: vips,
        no_virtual_ipaddress: c.no_virtual_ipaddress,
        auth,
        announce: AnnounceSchedule {
            repeat: c.garp_master_repeat,
            delay: c.garp_master_delay.0,
            refresh: c.garp_master_refresh.0,
            refresh_repeat: c.garp_master_refresh_repeat,
            // vrrp.c vrrp_complete_instance: unset, strict mode's are 0.
            lower_prio_repeat: c.garp_lower_prio_repeat.unwrap_or(if c.strict_mode {
                0
            } else {
                AnnounceSchedule::default().lower_prio_repeat
            }),
            lower_prio_delay: c.garp_lower_prio_delay.map_or(
                if c.strict_mode {
                    std::time::Duration::ZERO
                } else {
                    AnnounceSchedule::default().lower_prio_delay
                },
                |d| d.0,
            ),
        },
        unicast,
        excluded_addresses: excluded,
        sync_member: false,
        auth_hmac,
        fence: None,
        advert_rules: AdvertRules {
            down_timer_adverts: c.down_timer_adverts,
            // Strict mode's defaults where none is written (a written
            // `false` reads the same: a bool has no unset).
            lower_prio_no_advert: c.lower_prio_no_advert || c.strict_mode,
            higher_prio_send_advert: c.higher_prio_send_advert,
            skip_check_adv_addr: c.skip_check_adv_addr,
            owner_ignore_adverts: (c.owner_ignore_adverts || c.strict_mode) && c.priority == 255,
            old_unicast_checksum: c.old_unicast_checksum.into(),
            v3_checksum_as_v2: c.v3_checksum_as_v2,
        },
        // The daemon's start sets it (a reload does not delay).
        startup_delay: std::time::Duration::ZERO,
        dont_track_primary: c.dont_track_primary,
        timer_expired_backup,
        // The file's interface_up_down_delays, set once every instance is
        // read (they are the interface's, not the instance's).
        link_delays: crate::proto::LinkDelays::default(),
        strict: c.strict_mode,
        multicast_group,
        extra_announce,
    };
    let mut params = params;
    // keepalived runs a strict instance otherwise than written, with an
    // error in its log (vrrp.c vrrp_complete_instance): so does vipd,
    // with a warning at the key.
    for reset in params.apply_strict() {
        warnings.push((key_of(reset.param()), format!("({name}) {reset}")));
    }
    for problem in params.problems() {
        if !unread.contains(&problem.param()) {
            problems.push((
                key_of(problem.param()),
                format!("{problem}{}", hint(&problem)),
            ));
        }
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let settings = InstanceSettings {
        name: name.to_string(),
        interface: c.interface.clone(),
        source_ip,
        placements,
        routing,
        vmac,
        address_vmacs,
        trackers: Vec::new(),
        notify: NotifySettings::default(),
        fence_key: None,
        configured_master: c.state == crate::config::schema::InitialState::Master,
        template: params,
    };
    Ok((settings, warnings))
}

/// auth_hmac keys written in the configuration itself, in a file others
/// may read: a key file that open would be refused.
fn inline_keys_exposed(
    loaded: &Loaded,
    prefix: &str,
    instance: &InstanceConfig,
) -> Option<ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let hmac = instance.auth_hmac.as_ref()?;
    if !hmac.keys.iter().any(KeyConfig::is_inline) {
        return None;
    }
    let key = format!("{prefix}.auth_hmac.keys");
    let (file, _) = loaded.locate(&key);
    let mode = std::fs::metadata(file?).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        loaded.error(
            &key,
            format!(
                "keys written here, in a file group or others may read (mode {:o}): chmod 600 it, or put each key in a file of its own (ID file:PATH)",
                mode & 0o777
            ),
        )
    })
}

/// interface_up_down_delays as tracked interfaces see them. keepalived
/// keeps one pair of timers per interface (keepalived_netlink.c
/// update_interface_flags) and cuts it for each instance on it
/// (vrrp.c check_debounce_timers): the shortest cut is what is left.
fn tracked_link_delays(
    config: &Config,
    instances: &[InstanceSettings],
) -> BTreeMap<String, crate::proto::LinkDelays> {
    config
        .interface_up_down_delays
        .iter()
        .map(|(interface, d)| {
            let mut delays = crate::proto::LinkDelays {
                down: d.down.0,
                up: d.up.0,
            };
            for s in instances.iter().filter(|s| s.interface == *interface) {
                let cut = s.template.effective_link_delays();
                delays.down = delays.down.min(cut.down);
                delays.up = delays.up.min(cut.up);
            }
            (interface.clone(), delays)
        })
        .collect()
}

/// Which addresses go on a VMAC of their own, and on which interface, as
/// keepalived decides it (vrrp.c vrrp_complete_instance, 2.2.7 and 2.4.3
/// alike): an address on another interface (`dev`) with use_vmac_addr
/// or its own use_vmac; one on the instance's interface of the other
/// family with use_vmac_addr, or with its own use_vmac; one of the
/// instance's family on its interface with its own use_vmac when the
/// instance has no VMAC (with one, it is on that VMAC already). The two
/// redundant combinations keepalived logs as errors and runs as if the
/// address's use_vmac were not there: so does vipd, with a warning.
/// keepalived's "use_vmac for a address requires an interface" is
/// compiled out (vrrp_ipaddress.c, #if 0): none is needed.
fn address_vmacs<'a>(
    c: &InstanceConfig,
    ipv6: bool,
    addresses: impl Iterator<Item = &'a VirtualAddress>,
    placements: &BTreeMap<IpAddr, Placement>,
    asked: &BTreeMap<IpAddr, &'static str>,
    (problems, warnings): (&mut CoreProblems, &mut CoreProblems),
) -> Vec<AddressVmac> {
    let own_vmac = !c.use_vmac.is_off();
    let mut vmacs: Vec<AddressVmac> = Vec::new();
    for vip in addresses {
        let dev = placements.get(&vip.address).and_then(|p| p.dev.as_deref());
        let elsewhere = dev.is_some_and(|d| d != c.interface);
        let other_family = vip.address.is_ipv6() != ipv6;
        let mut own_option = false;
        if let Some(key) = asked.get(&vip.address) {
            let address = vip.address;
            if !elsewhere && !other_family && own_vmac {
                warnings.push((
                    *key,
                    format!("{address}: use_vmac specified for VIP/eVIP {address} and vrrp instance: ignored, as keepalived ignores it; the address is on the instance's VMAC"),
                ));
            } else if (elsewhere || other_family) && c.use_vmac_addr {
                warnings.push((
                    *key,
                    format!("{address}: use_vmac_addr specified and use_vmac specified for VIP/eVIP {address}: the address's use_vmac adds nothing, as in keepalived; the instance's use_vmac_addr puts it on a VMAC"),
                ));
            } else {
                own_option = true;
            }
        }
        let on_vmac = if elsewhere {
            own_option || c.use_vmac_addr
        } else if own_vmac && !other_family {
            false
        } else {
            own_option || (c.use_vmac_addr && other_family)
        };
        if !on_vmac {
            continue;
        }
        let parent = dev.unwrap_or(&c.interface);
        if parent == "lo" {
            let key = if own_option {
                asked
                    .get(&vip.address)
                    .copied()
                    .unwrap_or("virtual_ipaddress")
            } else {
                "use_vmac_addr"
            };
            problems.push((
                key,
                format!(
                    "{}: a VMAC needs an Ethernet interface; lo cannot have one",
                    vip.address
                ),
            ));
            continue;
        }
        let family = vip.address.is_ipv6();
        match vmacs
            .iter_mut()
            .find(|v| v.parent == parent && v.ipv6 == family)
        {
            Some(vmac) => vmac.addresses.push(vip.address),
            None => vmacs.push(AddressVmac {
                name: String::new(),
                parent: parent.to_string(),
                ipv6: family,
                addresses: vec![vip.address],
            }),
        }
    }
    vmacs
}

/// keepalived's name for an unnamed VMAC (vrrp.c create_vmac_name):
/// PREFIX.VRID, else PREFIXN.VRID for N = 1, 2, ... (IPv6 tries 6
/// first and skips it later), the prefix cut to fit 15 bytes.
pub fn keepalived_vmac_name(
    prefix: &str,
    vrid: u8,
    ipv6: bool,
    taken: impl Fn(&str) -> bool,
) -> String {
    let fit = |number: Option<u32>| {
        let tail = match number {
            Some(n) => format!("{n}.{vrid}"),
            None => format!(".{vrid}"),
        };
        let room = 15usize.saturating_sub(tail.len());
        let cut: String = prefix.chars().take(room).collect();
        format!("{cut}{tail}")
    };
    let mut name = fit(None);
    let mut number = 0u32;
    // Bounded: 255 numbers cover every VRID of both families many times.
    for _ in 0..512 {
        if !taken(&name) {
            break;
        }
        number = match (ipv6, number) {
            (true, 0) => 6,
            (true, 6) => 1,
            (true, n) if n + 1 == 6 => 7,
            (_, n) => n + 1,
        };
        name = fit(Some(number));
    }
    name
}

/// keepalived's rule (vrrp.c): unicast only with peers, or with
/// unicast_fault_no_peer (then FAULT until there are peers); other unicast
/// keywords without peers fall back to multicast, with a warning.
fn unicast(c: &InstanceConfig, warnings: &mut CoreProblems) -> Option<Unicast> {
    if c.unicast_peer.is_empty() && !c.unicast_fault_no_peer {
        let stray = [
            (c.check_unicast_src == Some(true), "check_unicast_src"),
            (c.unicast_ttl.is_some(), "unicast_ttl"),
        ];
        for (_, key) in stray.iter().filter(|(set, _)| *set) {
            warnings.push((
                key,
                "has no effect without unicast_peer: adverts are multicast".into(),
            ));
        }
        return None;
    }
    Some(Unicast {
        peers: c
            .unicast_peer
            .iter()
            .map(|p| UnicastPeer {
                min_ttl: p.min_ttl.unwrap_or(0),
                max_ttl: p.max_ttl.unwrap_or(255),
                ..UnicastPeer::new(p.address)
            })
            .collect(),
        check_source: c.check_unicast_src.unwrap_or(true),
        ttl: c.unicast_ttl,
    })
}

/// RFC 2338's IP Authentication Header type, which RFC 3768 removed.
const AUTH_TYPE_AH: u8 = 2;

/// keepalived's address scopes (`ip addr add ... scope`), as rtnetlink numbers them.
const SCOPES: &[(&str, u8)] = &[
    ("global", 0),
    ("site", 200),
    ("link", 253),
    ("host", 254),
    ("nowhere", 255),
];

/// One `virtual_ipaddress` entry: the address and where and how it is held.
fn parse_address(c: &AddressConfig) -> Result<(VirtualAddress, Placement), String> {
    let vip = parse_vip(&c.address)?;
    if c.brd.is_some() && vip.address.is_ipv6() {
        return Err(format!("{}: brd is for IPv4 addresses only", c.address));
    }
    if c.label.is_some() && vip.address.is_ipv6() {
        return Err(format!("{}: label is for IPv4 addresses only", c.address));
    }
    let scope = match &c.scope {
        None => None,
        Some(word) => Some(
            SCOPES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word))
                .map(|(_, number)| *number)
                .ok_or_else(|| {
                    format!("scope {word:?}: expected one of global, site, link, host, nowhere")
                })?,
        ),
    };
    let placement = Placement {
        dev: c.dev.clone(),
        options: AddressOptions {
            broadcast: c.brd,
            scope,
            label: c.label.clone(),
            not_preferred: false,
        },
        track: !c.no_track,
    };
    Ok((vip, placement))
}

/// `ADDRESS` or `ADDRESS/PREFIX`; no prefix means a host route, as keepalived.
/// Whether the address and prefix are usable is the core's rule.
fn parse_vip(text: &str) -> Result<VirtualAddress, String> {
    let text = text.trim();
    if text.contains(char::is_whitespace) {
        return Err(format!("{text:?}: expected ADDRESS or ADDRESS/PREFIX"));
    }
    match routes::address_and_length(text)? {
        (address, None) => Ok(VirtualAddress::host(address)),
        (address, Some(prefix_len)) => Ok(VirtualAddress {
            address,
            prefix_len,
        }),
    }
}

/// Whether some script runs as the default script user: a check without
/// its own user, or a notify script.
fn runs_default_user_scripts(config: &crate::config::schema::Config) -> bool {
    let checks = config
        .checks
        .values()
        .any(|c| c.exec.is_some() && c.user.is_none())
        || config.notify_fifo_script.is_some();
    let notify = |n: &[&Option<String>]| n.iter().any(|s| s.is_some());
    checks
        || config.instances.values().any(|i| {
            notify(&[
                &i.notify_master,
                &i.notify_backup,
                &i.notify_fault,
                &i.notify_stop,
                &i.notify,
                &i.notify_master_rx_lower_pri,
                &i.notify_deleted.as_ref().and_then(|d| d.script()),
            ])
        })
        || config.sync_groups.values().any(|g| {
            notify(&[
                &g.notify_master,
                &g.notify_backup,
                &g.notify_fault,
                &g.notify_stop,
                &g.notify,
            ])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_without_prefix_is_a_host_address() {
        assert_eq!(parse_vip("192.0.2.203").unwrap().prefix_len, 32);
        assert_eq!(parse_vip("192.0.2.203/24").unwrap().prefix_len, 24);
        assert_eq!(parse_vip("2001:db8::250").unwrap().prefix_len, 128);
        assert!(parse_vip("192.0.2.203/x").is_err());
        assert!(parse_vip("192.0.2.203 dev eth0").is_err());
        let (vip, placement) = parse_address(
            &"192.0.2.9/24 brd 192.0.2.255 dev lo scope host label lo:vip no_track"
                .parse()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(vip.prefix_len, 24);
        assert_eq!(placement.dev.as_deref(), Some("lo"));
        assert_eq!(placement.options.scope, Some(254));
        assert_eq!(
            placement.options.broadcast,
            Some("192.0.2.255".parse().unwrap())
        );
        assert!(!placement.track);
        assert!(parse_address(&"2001:db8::1 brd 192.0.2.255".parse().unwrap()).is_err());
        assert!(parse_address(&"192.0.2.1 scope galaxy".parse().unwrap())
            .unwrap_err()
            .contains("global, site, link, host, nowhere"));
        assert!(parse_vip("host.example").is_err());
    }

    /// `user` with SNMP over a unix socket: vipd cannot reach snmpd's
    /// root-only socket unless agentXPerms lets its group in; check says
    /// so before the daemon's log does, every minute.
    #[test]
    fn snmp_with_user_warns_about_the_socket() {
        /// Removes the directory however the test ends.
        struct Scratch(std::path::PathBuf);
        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let dir = std::env::temp_dir().join(format!("vipd-snmp-user-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _scratch = Scratch(dir.clone());
        let warnings_of = |yaml: &str| {
            let file = dir.join("vipd.yaml");
            std::fs::write(&file, yaml).unwrap();
            let loaded = crate::config::load::load(&[file]).unwrap();
            validate(&loaded)
                .unwrap()
                .warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        };
        let with_user = warnings_of("instances: {}\nuser: nobody\nsnmp: { vrrp: true }\n");
        let without = warnings_of("instances: {}\nsnmp: { vrrp: true }\n");
        let over_tcp = warnings_of(
            "instances: {}\nuser: nobody\nsnmp: { vrrp: true, socket: \"tcp:127.0.0.1:705\" }\n",
        );
        assert!(
            with_user.iter().any(
                |w| w.contains("snmp.socket") && w.contains("agentXPerms 0660 0755 root GROUP")
            ),
            "{with_user:#?}"
        );
        assert!(
            !without.iter().any(|w| w.contains("agentXPerms")),
            "{without:#?}"
        );
        assert!(
            !over_tcp.iter().any(|w| w.contains("agentXPerms")),
            "{over_tcp:#?}"
        );
    }
}

#[cfg(test)]
mod vmac_name_tests {
    use super::keepalived_vmac_name;

    #[test]
    fn unnamed_vmacs_are_named_as_keepalived_names_them() {
        let none = |_: &str| false;
        assert_eq!(keepalived_vmac_name("vrrp", 51, false, none), "vrrp.51");
        let first = |n: &str| n == "vrrp.51";
        assert_eq!(keepalived_vmac_name("vrrp", 51, true, first), "vrrp6.51");
        assert_eq!(keepalived_vmac_name("vrrp", 51, false, first), "vrrp1.51");
        let both = |n: &str| n == "vrrp.51" || n == "vrrp6.51";
        assert_eq!(keepalived_vmac_name("vrrp", 51, true, both), "vrrp1.51");
        // Cut to 15 bytes, the prefix giving way.
        assert_eq!(
            keepalived_vmac_name("averyveryverylongprefix", 255, false, none),
            "averyveryve.255"
        );
    }
}

#[cfg(test)]
mod address_vmac_tests {
    use super::*;

    /// Validates `yaml` (in a file of its own, removed after).
    fn validated(yaml: &str) -> Result<Settings, ConfigErrors> {
        let dir = std::env::temp_dir().join(format!(
            "vipd-address-vmac-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("vipd.yaml");
        std::fs::write(&file, yaml).unwrap();
        let loaded = crate::config::load::load(&[file]);
        let _ = std::fs::remove_dir_all(&dir);
        validate(&loaded.unwrap())
    }

    fn instance<'s>(settings: &'s Settings, name: &str) -> &'s InstanceSettings {
        settings.instances.iter().find(|s| s.name == name).unwrap()
    }

    fn dev_of(s: &InstanceSettings, address: &str) -> Option<String> {
        s.placement(address.parse().unwrap()).dev
    }

    #[test]
    fn addresses_elsewhere_get_a_vmac_named_by_vmac_addr_prefix() {
        let settings = validated(
            r#"
vmac_addr_prefix: vaddr
instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    use_vmac_addr: true
    virtual_ipaddress:
      - 192.0.2.10
      - 198.51.100.10/24 dev eth1
      - 198.51.100.11 dev eth1
    virtual_ipaddress_excluded:
      - 2001:db8::10
"#,
        )
        .unwrap();
        let s = instance(&settings, "VI_1");
        // One per parent and family; the IPv6 eVIP's on eth0 gets the
        // IPv6 MAC's family, and tries PREFIX.VRID first.
        assert_eq!(
            s.address_vmacs,
            vec![
                AddressVmac {
                    name: "vaddr.51".into(),
                    parent: "eth1".into(),
                    ipv6: false,
                    addresses: vec![
                        "198.51.100.10".parse().unwrap(),
                        "198.51.100.11".parse().unwrap()
                    ],
                },
                AddressVmac {
                    name: "vaddr6.51".into(),
                    parent: "eth0".into(),
                    ipv6: true,
                    addresses: vec!["2001:db8::10".parse().unwrap()],
                },
            ]
        );
        assert_eq!(dev_of(s, "198.51.100.10").as_deref(), Some("vaddr.51"));
        assert_eq!(dev_of(s, "2001:db8::10").as_deref(), Some("vaddr6.51"));
        assert_eq!(dev_of(s, "192.0.2.10"), None);
        assert_eq!(s.vmac_parent("vaddr.51"), Some("eth1"));
        assert_eq!(s.vmac_parent("eth1"), None);
        assert!(s.interfaces().contains(&"vaddr.51".to_string()));
        // Its parent is tracked as keepalived tracks an address's
        // interface; the VMAC follows the parent's link state.
        assert!(s
            .trackers
            .iter()
            .any(|t| t.kind() == health::TrackerKind::Interface && t.name() == "eth1"));
    }

    #[test]
    fn an_address_s_own_use_vmac_and_the_prefixes_fall_back() {
        let settings = validated(
            r#"
vmac_prefix: vip
instances:
  A:
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddress:
      - 198.51.100.12 dev eth1 use_vmac
      - { address: 192.0.2.12, use_vmac: true }
      - 192.0.2.13
  B:
    interface: eth0
    virtual_router_id: 53
    use_vmac: true
    use_vmac_addr: true
    virtual_ipaddress:
      - 192.0.2.14
      - 198.51.100.14 dev eth1
"#,
        )
        .unwrap();
        let a = instance(&settings, "A");
        let names: Vec<_> = a
            .address_vmacs
            .iter()
            .map(|v| (v.name.as_str(), v.parent.as_str()))
            .collect();
        // vmac_prefix stands in for vmac_addr_prefix; a second VMAC of
        // the VRID and family takes the next number.
        assert_eq!(names, [("vip.52", "eth1"), ("vip1.52", "eth0")]);
        assert_eq!(dev_of(a, "192.0.2.12").as_deref(), Some("vip1.52"));
        assert_eq!(dev_of(a, "192.0.2.13"), None);
        assert!(a.vmac.is_none());
        let b = instance(&settings, "B");
        assert_eq!(b.vmac.as_ref().unwrap().name, "vip.53");
        assert_eq!(b.vmac_names(), ["vip.53", "vip1.53"]);
        assert_eq!(dev_of(b, "198.51.100.14").as_deref(), Some("vip1.53"));
        // The instance's own family on its own interface: its own VMAC.
        assert_eq!(
            b.interface_of(&b.placement("192.0.2.14".parse().unwrap())),
            "vip.53"
        );
    }

    #[test]
    fn what_keepalived_logs_as_an_error_is_said_and_what_cannot_work_refused() {
        let settings = validated(
            r#"
instances:
  A:
    interface: eth0
    virtual_router_id: 54
    use_vmac: true
    virtual_ipaddress:
      - 192.0.2.15 use_vmac
  B:
    interface: eth0
    virtual_router_id: 55
    use_vmac_addr: true
    virtual_ipaddress:
      - 198.51.100.15 dev eth1 use_vmac
"#,
        )
        .unwrap();
        let warnings: Vec<String> = settings.warnings.iter().map(|w| w.to_string()).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("instances.A.virtual_ipaddress")
                    && w.contains("use_vmac specified for VIP/eVIP 192.0.2.15 and vrrp instance")),
            "{warnings:#?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("instances.B.virtual_ipaddress")
                    && w.contains(
                        "use_vmac_addr specified and use_vmac specified for VIP/eVIP 198.51.100.15"
                    )),
            "{warnings:#?}"
        );
        // Both run as keepalived runs them.
        assert!(instance(&settings, "A").address_vmacs.is_empty());
        assert_eq!(instance(&settings, "B").address_vmacs.len(), 1);

        let lo = validated(
            "instances:\n  A:\n    interface: eth0\n    virtual_router_id: 56\n    use_vmac_addr: true\n    virtual_ipaddress: [\"192.0.2.16\", \"198.51.100.16 dev lo\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            lo.contains("use_vmac_addr") && lo.contains("lo cannot have one"),
            "{lo}"
        );

        let same_mac = validated(
            r#"
instances:
  A:
    interface: eth0
    virtual_router_id: 57
    use_vmac_addr: true
    virtual_ipaddress: [192.0.2.17, 198.51.100.17 dev eth1]
  B:
    interface: eth2
    virtual_router_id: 57
    use_vmac_addr: true
    virtual_ipaddress: [203.0.113.17, 198.51.100.18 dev eth1]
"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            same_mac.contains("instances.B.use_vmac_addr")
                && same_mac.contains("00:00:5e:00:01:39"),
            "{same_mac}"
        );

        let bad_prefix = validated(
            "vmac_addr_prefix: \"a/b\"\ninstances:\n  A:\n    interface: eth0\n    virtual_router_id: 58\n    virtual_ipaddress: [192.0.2.18]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(bad_prefix.contains("vmac_addr_prefix"), "{bad_prefix}");
    }
}

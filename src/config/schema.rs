//! The configuration file's shape, with keepalived's keyword names and
//! defaults, so a keepalived user recognises every line.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceConfig>,
    /// Health checks, defined once and tracked by instances (keepalived's
    /// vrrp_script, plus built-in tcp and http checks).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, CheckConfig>,
    /// keepalived's vrrp_track_file: a file holding an integer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub track_files: BTreeMap<String, TrackFileConfig>,
    /// keepalived's notify_fifo: one line per state change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<PathBuf>,
    /// After a reload, write the state of every instance and group it
    /// kept to notify_fifo again (keepalived's keyword).
    #[serde(default, skip_serializing_if = "is_false")]
    pub fifo_write_vrrp_states_on_reload: bool,
    /// A reader of notify_fifo that vipd runs for as long as it runs
    /// (started again if it ends), with the FIFO's path as its last
    /// argument (keepalived's notify_fifo_script).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fifo_script: Option<String>,
    /// Who scripts run as unless a check names its own user (keepalived's
    /// script_user). Default, as keepalived's: `keepalived_script` if that
    /// user exists, else the daemon's user (`user`, else root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_user: Option<String>,
    /// The user the daemon switches to once start-up work that needs root
    /// is done, keeping only CAP_NET_ADMIN and CAP_NET_RAW. vipd's own
    /// (keepalived has none); unset: it keeps its uid, with those two only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How long a notify script may run before it is killed.
    #[serde(default = "defaults::notify_timeout")]
    pub notify_timeout: Interval,
    /// Where `vipd status` reads the daemon's state. Two daemons on one
    /// machine (in two network namespaces, say) need two paths.
    #[serde(default = "defaults::control_socket")]
    pub control_socket: PathBuf,
    /// The Prometheus endpoint; off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
    /// An AgentX subagent of snmpd serving the VRRP MIBs (keepalived's
    /// enable_snmp_*); off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snmp: Option<SnmpConfig>,
    /// Instances that change state together (keepalived's vrrp_sync_group).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sync_groups: BTreeMap<String, SyncGroupConfig>,
    /// The quorum fence (etcd): a master holds its addresses only while
    /// it holds its key. vipd's own; off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<super::quorum::QuorumConfig>,
    /// Where instances with `accept: false` drop traffic to their
    /// addresses: an nftables table of vipd's own (keepalived's `nftables`
    /// and `nftables_priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nftables: Option<NftablesConfig>,
    /// After vipd starts (not after a reload), a backup takes over no
    /// sooner than this plus its Master_Down_Interval (keepalived's
    /// vrrp_startup_delay: time for the network to come up at boot).
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub startup_delay: Interval,
    /// Log an advert for a VRID no instance runs on the interface it
    /// arrived on (keepalived's `log_unknown_vrids`): at most one line
    /// per 10 s per interface. Off, as in keepalived: a LAN shared with
    /// other VRRP routers would log forever. Counted either way
    /// (`vipd_receiver_unrouted_packets_total{reason="unknown_vrid"}`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log_unknown_vrids: bool,
    /// What an unnamed VMAC's name starts with (`vrrp`: vrrp.VRID),
    /// keepalived's `vmac_prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac_prefix: Option<String>,
    /// What the name of a VMAC made for addresses starts with
    /// (`use_vmac_addr`, an address's `use_vmac`); default: vmac_prefix,
    /// else `vrrp`. keepalived's `vmac_addr_prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmac_addr_prefix: Option<String>,
    /// Per interface, how long it must stay down (up) before the
    /// instances on it act (keepalived's interface_up_down_delays):
    /// `{ eth0: { down: 1s, up: 2s } }`; at most 255 s each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub interface_up_down_delays: BTreeMap<String, UpDownDelays>,
    /// The same wait, counted from the system's boot rather than vipd's
    /// start: only what is left of it when vipd starts (keepalived 2.4's
    /// vrrp_delay_after_boot; the longer of the two applies).
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub delay_after_boot: Interval,
    /// On each interface, gratuitous ARPs at least this far apart,
    /// whichever instance sends them (keepalived's vrrp_garp_interval);
    /// those asked for sooner wait, once. 0: back to back.
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub garp_interval: Interval,
    /// The same for unsolicited NAs (keepalived's vrrp_gna_interval).
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub gna_interval: Interval,
    /// Spacing of these interfaces' own, instead of the two above
    /// (keepalived's garp_group blocks); an interval left out is 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub garp_group: Vec<GarpGroupConfig>,
}

/// `{ garp_interval: 0.1, gna_interval: 0.1, interfaces: [eth0] }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GarpGroupConfig {
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub garp_interval: Interval,
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub gna_interval: Interval,
    pub interfaces: Vec<String>,
}

/// `nftables: { table: vipd, priority: -1 }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NftablesConfig {
    #[serde(default = "defaults::nftables_table")]
    pub table: String,
    #[serde(default = "defaults::nftables_priority")]
    pub priority: i32,
}

/// keepalived's vrrp_sync_group: its members, and trackers and notify
/// scripts of the group's own.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncGroupConfig {
    /// The member instances, by name.
    pub group: Vec<String>,
    /// Trackers here apply to every member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<TrackRef>,
    /// Keep members' tracker weights; keepalived counts them as 0 in a group.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sync_group_tracking_weight: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<String>,
    /// Run on every group change with `GROUP name STATE 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// The members' notify_priority_changes where they set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
}

/// One health check. Exactly one of `exec`, `tcp`, `http`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// A command line, split like a shell would but run without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// `ADDRESS:PORT` to connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// `http://HOST[:PORT]/PATH` to GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    /// Processes to count (keepalived's vrrp_track_process): up while
    /// quorum..=quorum_max of them run; learnt as they start and end,
    /// so interval, timeout, rise and fall do not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessCheckConfig>,
    /// http: the status that means healthy.
    #[serde(default = "defaults::http_status")]
    pub status: u16,
    /// http: a substring the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default = "defaults::check_interval")]
    pub interval: Interval,
    /// Default: the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Interval>,
    #[serde(default = "defaults::one")]
    pub rise: u32,
    #[serde(default = "defaults::one")]
    pub fall: u32,
    /// -253..=253; 0 means FAULT while failing.
    #[serde(default)]
    pub weight: i32,
    /// exec: run as this user (default: script_user, or the daemon's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OldUnicastChecksum {
    #[default]
    Auto,
    Never,
    Always,
}

impl OldUnicastChecksum {
    fn is_auto(&self) -> bool {
        *self == OldUnicastChecksum::Auto
    }
}

impl From<OldUnicastChecksum> for crate::proto::UnicastChecksum {
    fn from(c: OldUnicastChecksum) -> Self {
        match c {
            OldUnicastChecksum::Auto => crate::proto::UnicastChecksum::Auto,
            OldUnicastChecksum::Never => crate::proto::UnicastChecksum::Never,
            OldUnicastChecksum::Always => crate::proto::UnicastChecksum::Always,
        }
    }
}

/// See Config::interface_up_down_delays.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpDownDelays {
    pub down: Interval,
    /// keepalived 2.2.7 reads a missing up delay as 0 (its manual says
    /// the down delay's; its parser does not).
    #[serde(default, skip_serializing_if = "Interval::is_zero")]
    pub up: Interval,
}

/// keepalived's vrrp_track_process, as a check.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessCheckConfig {
    /// The process's name as the kernel keeps it (`comm`, at most 15
    /// characters: what `ps -e` shows), or with full_command the first
    /// word of its command line, compared whole.
    pub name: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub full_command: bool,
    /// The words after the command (implies full_command), compared as
    /// param_match says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// exact (the default with params), partial (the words given start
    /// the process's) or initial (as partial, the last word a prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_match: Option<ParamMatchConfig>,
    /// Up while at least this many run.
    #[serde(default = "defaults::one")]
    pub quorum: u32,
    /// And at most this many (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_max: Option<u32>,
    /// Both delays below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Interval>,
    /// How long a count changed by a fork waits before it counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_delay: Option<Interval>,
    /// How long a count changed by an exit waits before it counts (a
    /// restart within it changes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminate_delay: Option<Interval>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatchConfig {
    Exact,
    Partial,
    Initial,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackFileConfig {
    pub file: PathBuf,
    #[serde(default = "defaults::track_file_weight")]
    pub weight: i32,
}

/// A tracked thing, by name, optionally with this instance's own weight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TrackRef {
    Name(String),
    Weighted { name: String, weight: i32 },
}

/// By hand rather than `untagged`, whose error ("did not match any variant
/// of untagged enum") names a Rust type instead of what to write.
impl<'de> Deserialize<'de> for TrackRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Weighted {
            name: String,
            weight: i32,
        }

        struct TrackRefVisitor;

        impl<'de> Visitor<'de> for TrackRefVisitor {
            type Value = TrackRef;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("NAME or { name: NAME, weight: -253..253 }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<TrackRef, E> {
                Ok(TrackRef::Name(v.to_string()))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<TrackRef, A::Error> {
                let w = Weighted::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(TrackRef::Weighted {
                    name: w.name,
                    weight: w.weight,
                })
            }
        }

        deserializer.deserialize_any(TrackRefVisitor)
    }
}

impl TrackRef {
    pub fn name(&self) -> &str {
        match self {
            TrackRef::Name(name) | TrackRef::Weighted { name, .. } => name,
        }
    }

    pub fn weight(&self) -> Option<i32> {
        match self {
            TrackRef::Name(_) => None,
            TrackRef::Weighted { weight, .. } => Some(*weight),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    pub interface: String,
    /// The initial wish; priority decides (keepalived: below 255, MASTER
    /// still starts in BACKUP).
    #[serde(default)]
    pub state: InitialState,
    pub virtual_router_id: u8,
    #[serde(default = "defaults::priority")]
    pub priority: u8,
    #[serde(default = "defaults::version")]
    pub version: u8,
    #[serde(default = "defaults::advert_int")]
    pub advert_int: Interval,
    /// keepalived's mcast_src_ip / unicast_src_ip. Default: the
    /// interface's first address of the VIPs' family (IPv6: link-local).
    #[serde(default, alias = "mcast_src_ip", alias = "unicast_src_ip")]
    pub source_ip: Option<IpAddr>,
    #[serde(default)]
    pub authentication: Option<Authentication>,
    /// keepalived 2.4's HMAC-signed adverts (see config::auth_hmac).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_hmac: Option<super::auth_hmac::AuthHmacConfig>,
    #[serde(default, deserialize_with = "lines_or_maps")]
    pub virtual_ipaddress: Vec<AddressConfig>,
    /// keepalived 2.4: the instance holds no address (a notify script
    /// moves a cloud address instead); adverts carry none.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_virtual_ipaddress: bool,
    /// Held by the master but not advertised: more addresses than an
    /// advert carries, or of the other family.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lines_or_maps"
    )]
    pub virtual_ipaddress_excluded: Vec<AddressConfig>,
    #[serde(default = "defaults::yes")]
    pub preempt: bool,
    #[serde(default)]
    pub preempt_delay: Interval,
    /// RFC 5798 Accept_Mode. Default: on, or with strict_mode off unless
    /// the instance owns its addresses (priority 255), as keepalived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<bool>,
    #[serde(default = "defaults::garp_master_delay")]
    pub garp_master_delay: Interval,
    #[serde(default = "defaults::garp_master_repeat")]
    pub garp_master_repeat: u32,
    #[serde(default)]
    pub garp_master_refresh: Interval,
    #[serde(default = "defaults::garp_master_refresh_repeat")]
    pub garp_master_refresh_repeat: u32,
    /// GARP/NA a master sends on hearing a lower priority (0: none).
    /// Default 5, or 0 with strict_mode, as keepalived ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_lower_prio_repeat: Option<u32>,
    /// ... and again after this (0: once). Default 5 s, or 0 with strict_mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garp_lower_prio_delay: Option<Interval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_script: Vec<TrackRef>,
    /// Interfaces whose link state counts (default weight 0: down = FAULT).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_interface: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track_file: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_backup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_fault: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_stop: Option<String>,
    /// Run on every change with `INSTANCE name STATE priority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// Run when this master hears a lower-priority master (keepalived's
    /// MASTER_RX_LOWER_PRI: take a cloud address back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_master_rx_lower_pri: Option<String>,
    /// A reload that removes the instance notifies DELETED, with this
    /// script if one is given (`true` or a script); without it, FAULT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_deleted: Option<NotifyDeleted>,
    /// Write `INSTANCE "name" MASTER_PRIORITY|BACKUP_PRIORITY prio` to
    /// notify_fifo when the effective priority changes. Default: the sync
    /// group's, else off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_priority_changes: Option<bool>,
    /// Master_Down_Interval is this many advert intervals plus skew
    /// (1..100; the RFC's 3).
    #[serde(default = "defaults::down_timer_adverts")]
    pub down_timer_adverts: u8,
    /// As master, do not answer a lower-priority master's advert at once.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lower_prio_no_advert: bool,
    /// As master, send one advert before stepping down to a higher priority.
    #[serde(default, skip_serializing_if = "is_false")]
    pub higher_prio_send_advert: bool,
    /// As backup, check an advert's addresses only when it comes from
    /// another master than the last.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_check_adv_addr: bool,
    /// Priority 255 only: drop every advert heard (keepalived 2.4).
    #[serde(default, skip_serializing_if = "is_false")]
    pub owner_ignore_adverts: bool,
    /// VRRPv3 IPv4 unicast adverts summed as keepalived before 1.3.6 did
    /// (the multicast group in the pseudo-header): `auto` (after hearing
    /// one), `never` or `always` (keepalived's `old_unicast_checksum`).
    #[serde(default, skip_serializing_if = "OldUnicastChecksum::is_auto")]
    pub old_unicast_checksum: OldUnicastChecksum,
    /// VRRPv3 IPv4 adverts summed without the pseudo-header, as VRRPv2
    /// sums (keepalived's `v3_checksum_as_v2`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub v3_checksum_as_v2: bool,
    /// The interface going down is not FAULT: the instance runs on
    /// (keepalived's `dont_track_primary`, for links that bounce).
    #[serde(default, skip_serializing_if = "is_false")]
    pub dont_track_primary: bool,
    /// keepalived 2.4's `timer_expired_backup`: the highest priority of
    /// the other routers (1..254). With `preempt: false`, a master that
    /// was not running for as long as one of them needs to take over
    /// (SIGSTOP, a paused VM) steps down to backup when it runs again,
    /// instead of taking the address back.
    /// Wider than a priority, so 255 and 300 get the same 1..254 message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_expired_backup: Option<u16>,
    /// Send adverts to these hosts instead of the multicast group.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lines_or_maps"
    )]
    pub unicast_peer: Vec<PeerConfig>,
    /// TTL / hop limit of unicast adverts (default: 255 for IPv4, the
    /// kernel's default hop limit for IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unicast_ttl: Option<u8>,
    /// Count unicast adverts only from listed peers. Default: on
    /// (keepalived's is off; a keepalived.conf keeps that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_unicast_src: Option<bool>,
    /// Routes held while master, as keepalived writes them:
    /// `DEST[/LEN] [via GW] [dev IFACE] [src ADDR] [metric N] [table N] [proto N]`,
    /// `blackhole DEST`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_routes: Vec<String>,
    /// Policy rules held while master: `from|to PREFIX [table N] [priority N]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_rules: Vec<String>,
    /// A VMAC: `true` (named vrrp.VRID) or the name to give it.
    #[serde(default, skip_serializing_if = "UseVmac::is_off")]
    pub use_vmac: UseVmac,
    /// An ipvlan (mode l2, sharing the parent's MAC) to hold the
    /// addresses on and send from, instead of a VMAC: `true` or
    /// `{name, address, mode, group}` (keepalived's `use_ipvlan`).
    #[serde(default, skip_serializing_if = "UseIpvlan::is_off")]
    pub use_ipvlan: UseIpvlan,
    /// With a VMAC, send adverts from the parent interface (keepalived
    /// forces this with unicast).
    #[serde(default, skip_serializing_if = "is_false")]
    pub vmac_xmit_base: bool,
    /// Addresses on another interface (`dev`), or of the other family,
    /// go on a VMAC of their own on that interface, with the virtual MAC
    /// of their family (keepalived's use_vmac_addr).
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_vmac_addr: bool,
    /// With no unicast peers, stay in FAULT instead of using multicast.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unicast_fault_no_peer: bool,
    /// The multicast group adverts go to and are heard from (keepalived's
    /// mcast_dst_ip; a .conf's vrrp_mcast_group4/6 is every instance's
    /// default). Default: the RFC's, 224.0.0.18 or ff02::12. Ignored,
    /// with a warning, with unicast_peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcast_dst_ip: Option<IpAddr>,
    /// While master, one gratuitous ARP / NA on each other interface the
    /// instance holds an address on, this often (keepalived's
    /// garp_extra_if `DELAY [all]`; a .conf's vrrp_garp_extra_if is
    /// every instance's default): on another instance's VMAC, or on any
    /// with `all`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "garp_extra_if"
    )]
    pub garp_extra_if: Option<GarpExtraIf>,
    /// keepalived's strict_mode (global_defs vrrp_strict): the RFC's
    /// protocol only. Multicast and at least one address, or refused;
    /// authentication, preempt_delay, down_timer_adverts,
    /// higher_prio_send_advert, garp_lower_prio_*, vmac_xmit_base and
    /// VRRPv2 accept reset with a warning; no answer to a lower priority.
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict_mode: bool,
    /// `false`: this instance is not fenced though `quorum` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<bool>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `notify_deleted: true`, or the script to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NotifyDeleted {
    Flag(bool),
    Script(String),
}

/// By hand, as TrackRef: `untagged`'s error names the Rust type.
impl<'de> Deserialize<'de> for NotifyDeleted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NotifyDeletedVisitor;

        impl Visitor<'_> for NotifyDeletedVisitor {
            type Value = NotifyDeleted;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a script to run")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<NotifyDeleted, E> {
                Ok(NotifyDeleted::Flag(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<NotifyDeleted, E> {
                Ok(NotifyDeleted::Script(v.to_string()))
            }
        }

        deserializer.deserialize_any(NotifyDeletedVisitor)
    }
}

impl NotifyDeleted {
    pub fn script(&self) -> Option<String> {
        match self {
            NotifyDeleted::Flag(_) => None,
            NotifyDeleted::Script(line) => Some(line.clone()),
        }
    }

    pub fn is_on(&self) -> bool {
        !matches!(self, NotifyDeleted::Flag(false))
    }
}

/// A unicast peer as keepalived writes one (`192.0.2.2`, or
/// `192.0.2.2 min_ttl 254 max_ttl 254`) or as a map.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    pub address: IpAddr,
    #[serde(default)]
    pub min_ttl: Option<u8>,
    #[serde(default)]
    pub max_ttl: Option<u8>,
}

impl std::str::FromStr for PeerConfig {
    type Err = String;

    fn from_str(text: &str) -> Result<PeerConfig, String> {
        let mut words = text.split_whitespace();
        let address = words
            .next()
            .ok_or("expected ADDRESS [min_ttl N] [max_ttl N]")?;
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IPv4 or IPv6 address"))?;
        let mut peer = PeerConfig {
            address,
            min_ttl: None,
            max_ttl: None,
        };
        while let Some(option) = words.next() {
            let slot = match option {
                "min_ttl" => &mut peer.min_ttl,
                "max_ttl" => &mut peer.max_ttl,
                other => {
                    return Err(format!(
                        "unknown option {other:?}: expected min_ttl or max_ttl"
                    ))
                }
            };
            let value = words.next().ok_or(format!("{option}: expected 0..255"))?;
            *slot = Some(
                value
                    .parse()
                    .map_err(|_| format!("{option}: expected 0..255, got {value:?}"))?,
            );
        }
        Ok(peer)
    }
}

impl Serialize for PeerConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = self.address.to_string();
        if let Some(ttl) = self.min_ttl {
            text.push_str(&format!(" min_ttl {ttl}"));
        }
        if let Some(ttl) = self.max_ttl {
            text.push_str(&format!(" max_ttl {ttl}"));
        }
        serializer.serialize_str(&text)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum InitialState {
    #[serde(rename = "MASTER", alias = "master")]
    Master,
    #[default]
    #[serde(rename = "BACKUP", alias = "backup")]
    Backup,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    pub auth_type: AuthType,
    #[serde(default)]
    pub auth_pass: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum AuthType {
    #[serde(rename = "PASS", alias = "pass")]
    Pass,
    /// IPsec AH: accepted by keepalived, removed from VRRP by RFC 3768;
    /// refused with a clear message at validation.
    #[serde(rename = "AH", alias = "ah")]
    Ah,
}

/// A duration as keepalived writes it (seconds, possibly fractional:
/// `1`, `0.1`) or with a unit (`100ms`, `1s`, `2m`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval(pub Duration);

impl Interval {
    pub const fn secs(s: u64) -> Interval {
        Interval(Duration::from_secs(s))
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntervalVisitor;

        impl Visitor<'_> for IntervalVisitor {
            type Value = Interval;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("seconds (1, 0.1) or a duration with a unit (100ms, 1s)")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Interval, E> {
                Ok(Interval(Duration::from_secs(v)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Interval, E> {
                u64::try_from(v)
                    .map(|v| Interval(Duration::from_secs(v)))
                    .map_err(|_| E::custom(format!("a duration cannot be negative, got {v}")))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Interval, E> {
                Duration::try_from_secs_f64(v)
                    .map(|d| Interval(round_to_micros(d)))
                    .map_err(|_| E::custom(format!("not a valid number of seconds: {v}")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Interval, E> {
                let v = v.trim();
                if let Ok(seconds) = v.parse::<f64>() {
                    return self.visit_f64(seconds);
                }
                humantime::parse_duration(v)
                    .map(Interval)
                    .map_err(|e| E::custom(format!("not a duration: {v:?} ({e})")))
            }
        }

        deserializer.deserialize_any(IntervalVisitor)
    }
}

/// `0.1` as f64 is 0.1000000000000000055...: round so that exactness
/// checks (advert_int in whole centiseconds) see what the user wrote.
fn round_to_micros(d: Duration) -> Duration {
    Duration::from_micros((d.as_nanos() as f64 / 1000.0).round() as u64)
}

mod defaults {
    use super::Interval;
    use std::time::Duration;

    pub fn priority() -> u8 {
        100
    }
    pub fn version() -> u8 {
        2
    }
    pub fn advert_int() -> Interval {
        Interval::secs(1)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn garp_master_delay() -> Interval {
        Interval(Duration::from_secs(5))
    }
    pub fn garp_master_repeat() -> u32 {
        5
    }
    pub fn garp_master_refresh_repeat() -> u32 {
        1
    }
    pub fn down_timer_adverts() -> u8 {
        3
    }
    pub fn nftables_table() -> String {
        "vipd".into()
    }
    pub fn nftables_priority() -> i32 {
        -1
    }
    pub fn snmp_socket() -> String {
        crate::snmp::address::DEFAULT_SOCKET.to_string()
    }
    pub fn control_socket() -> std::path::PathBuf {
        std::path::PathBuf::from("/run/vipd/vipd.sock")
    }
    pub fn notify_timeout() -> Interval {
        Interval(Duration::from_secs(10))
    }
    pub fn http_status() -> u16 {
        200
    }
    pub fn check_interval() -> Interval {
        Interval::secs(1)
    }
    pub fn one() -> u32 {
        1
    }
    pub fn track_file_weight() -> i32 {
        1
    }
}

/// A virtual address as keepalived writes one,
/// `ADDR[/PREFIX] [brd ADDR] [dev IFACE] [scope SCOPE] [label LABEL] [no_track] [use_vmac]`,
/// or as a map with those keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressConfig {
    /// `ADDR` or `ADDR/PREFIX`; no prefix means a host address (/32, /128).
    pub address: String,
    #[serde(default)]
    pub brd: Option<std::net::Ipv4Addr>,
    /// The interface to hold it on (default: the instance's).
    #[serde(default)]
    pub dev: Option<String>,
    /// site, link, host, nowhere or global.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    /// Do not put it back if someone deletes it, and do not track its
    /// interface.
    #[serde(default)]
    pub no_track: bool,
    /// Hold it on a VMAC of its own on its interface, with the virtual
    /// MAC of its family (keepalived's per-address `use_vmac`).
    #[serde(default)]
    pub use_vmac: bool,
}

impl std::str::FromStr for AddressConfig {
    type Err = String;

    fn from_str(text: &str) -> Result<AddressConfig, String> {
        let mut words = text.split_whitespace();
        let mut config = AddressConfig {
            address: words.next().ok_or("expected an address")?.to_string(),
            ..AddressConfig::default()
        };
        while let Some(option) = words.next() {
            let mut value = || super::routes::value_after(&mut words, option).map(str::to_string);
            match option {
                "brd" | "broadcast" => {
                    let brd = value()?;
                    config.brd = Some(
                        brd.parse()
                            .map_err(|_| format!("brd: expected an IPv4 address, got {brd:?}"))?,
                    );
                }
                "dev" => config.dev = Some(value()?),
                "scope" => config.scope = Some(value()?),
                "label" => config.label = Some(value()?),
                "no_track" => config.no_track = true,
                "use_vmac" => config.use_vmac = true,
                other => {
                    return Err(format!(
                        "unknown option {other:?}: expected brd, dev, scope, label, no_track or use_vmac"
                    ))
                }
            }
        }
        Ok(config)
    }
}

impl Serialize for AddressConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = self.address.clone();
        let options = [
            ("brd", self.brd.map(|b| b.to_string())),
            ("dev", self.dev.clone()),
            ("scope", self.scope.clone()),
            ("label", self.label.clone()),
        ];
        for (name, value) in options {
            if let Some(value) = value {
                text.push_str(&format!(" {name} {value}"));
            }
        }
        if self.no_track {
            text.push_str(" no_track");
        }
        if self.use_vmac {
            text.push_str(" use_vmac");
        }
        serializer.serialize_str(&text)
    }
}

/// For a list whose entries are either keepalived's one-line form (parsed
/// with `FromStr`) or a map with the same keys.
pub(crate) fn lines_or_maps<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr<Err = String> + Deserialize<'de>,
{
    struct LineOrMap<T>(std::marker::PhantomData<T>);

    impl<'de, T> Visitor<'de> for LineOrMap<T>
    where
        T: std::str::FromStr<Err = String> + Deserialize<'de>,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a line as keepalived writes it, or a map")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(E::custom)
        }

        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }

    struct Entry<T>(T);

    impl<'de, T> Deserialize<'de> for Entry<T>
    where
        T: std::str::FromStr<Err = String> + Deserialize<'de>,
    {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer
                .deserialize_any(LineOrMap::<T>(std::marker::PhantomData))
                .map(Entry)
        }
    }

    Vec::<Entry<T>>::deserialize(deserializer).map(|v| v.into_iter().map(|e| e.0).collect())
}

/// keepalived's `use_vmac [NAME]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UseVmac {
    #[default]
    Off,
    /// Named as keepalived names it, vrrp.VRID.
    Default,
    Named(String),
}

impl UseVmac {
    pub fn is_off(&self) -> bool {
        *self == UseVmac::Off
    }
}

impl Serialize for UseVmac {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            UseVmac::Off => serializer.serialize_bool(false),
            UseVmac::Default => serializer.serialize_bool(true),
            UseVmac::Named(name) => serializer.serialize_str(name),
        }
    }
}

impl<'de> Deserialize<'de> for UseVmac {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UseVmacVisitor;

        impl Visitor<'_> for UseVmacVisitor {
            type Value = UseVmac;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or an interface name for the VMAC")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<UseVmac, E> {
                Ok(if v { UseVmac::Default } else { UseVmac::Off })
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<UseVmac, E> {
                match v {
                    "true" => Ok(UseVmac::Default),
                    "false" => Ok(UseVmac::Off),
                    name => Ok(UseVmac::Named(name.to_string())),
                }
            }
        }

        deserializer.deserialize_any(UseVmacVisitor)
    }
}

/// keepalived's `use_ipvlan [[name] IFNAME] [ADDRESS[/LEN]] [bridge|private|vepa] [group N]`:
/// off, or an ipvlan with these settings (`true`: every one its default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UseIpvlan(pub Option<IpvlanConfig>);

impl UseIpvlan {
    pub fn is_off(&self) -> bool {
        self.0.is_none()
    }
}

/// One instance's ipvlan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IpvlanConfig {
    /// The interface's name; unset: named as an unnamed VMAC (vrrp.VRID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its own address, `ADDRESS[/LEN]` (no length: /32 or /128), also the
    /// adverts' source; needed for IPv4 (IPv6 sends from its link-local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// How ipvlans of one parent reach each other: bridge (the kernel's
    /// default), private or vepa.
    #[serde(default, skip_serializing_if = "IpvlanMode::is_bridge")]
    pub mode: IpvlanMode,
    /// The link group (`ip link set DEV group N`), a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
}

/// The ipvlan's flags (IPVLAN_F_PRIVATE, IPVLAN_F_VEPA); its mode is l2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
}

impl IpvlanMode {
    pub fn is_bridge(&self) -> bool {
        *self == IpvlanMode::Bridge
    }
}

impl Serialize for UseIpvlan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            None => serializer.serialize_bool(false),
            Some(c) if *c == IpvlanConfig::default() => serializer.serialize_bool(true),
            Some(c) => c.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for UseIpvlan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UseIpvlanVisitor;

        impl<'de> Visitor<'de> for UseIpvlanVisitor {
            type Value = UseIpvlan;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a table {name, address, mode, group} for the ipvlan")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<UseIpvlan, E> {
                Ok(UseIpvlan(v.then(IpvlanConfig::default)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<UseIpvlan, E> {
                match v {
                    "true" => Ok(UseIpvlan(Some(IpvlanConfig::default()))),
                    "false" => Ok(UseIpvlan(None)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<UseIpvlan, A::Error> {
                IpvlanConfig::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|c| UseIpvlan(Some(c)))
            }
        }

        deserializer.deserialize_any(UseIpvlanVisitor)
    }
}

/// `metrics: { listen: "127.0.0.1:9650" }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    pub listen: std::net::SocketAddr,
}

/// `snmp: { socket: /var/agentx/master, vrrp: true, rfcv2: true, rfcv3:
/// true, traps: true }`: keepalived's snmp_socket, enable_snmp_vrrp,
/// enable_snmp_rfcv2, enable_snmp_rfcv3 and enable_traps.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SnmpConfig {
    /// The AgentX master's address: a unix socket path, `unix:PATH` or
    /// `tcp:HOST:PORT` (net-snmp's agentXSocket).
    #[serde(default = "defaults::snmp_socket")]
    pub socket: String,
    /// KEEPALIVED-MIB's VRRP part.
    #[serde(default, skip_serializing_if = "is_false")]
    pub vrrp: bool,
    /// VRRP-MIB (RFC 2787): VRRPv2 instances.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rfcv2: bool,
    /// VRRPv3-MIB (RFC 6527): VRRPv3 instances.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rfcv3: bool,
    /// Notifications on state changes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub traps: bool,
    /// KEEPALIVED-MIB's routerId, in the scalar and in traps
    /// (keepalived's global router_id); unset: the host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_id: Option<String>,
}

/// keepalived's `garp_extra_if DELAY [all]`: `"60 all"`, `60`, or
/// `{ delay: 60, all: true }`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GarpExtraIf {
    pub delay: Interval,
    #[serde(default)]
    pub all: bool,
}

impl GarpExtraIf {
    /// keepalived reads whole seconds, 0..86400 (vrrp_parser.c).
    pub const MAX_SECS: u64 = 86_400;
}

impl std::str::FromStr for GarpExtraIf {
    type Err = String;

    fn from_str(text: &str) -> Result<GarpExtraIf, String> {
        let mut extra = GarpExtraIf {
            delay: Interval::default(),
            all: false,
        };
        let mut delay = None;
        for word in text.split_whitespace() {
            if word == "all" {
                extra.all = true;
            } else {
                let secs: u64 = word.parse().map_err(|_| {
                    format!("expected whole seconds 0..86400 and maybe all, got {word:?}")
                })?;
                delay = Some(secs);
            }
        }
        let secs = delay.ok_or("expected DELAY [all]: whole seconds 0..86400")?;
        extra.delay = Interval::secs(secs);
        Ok(extra)
    }
}

impl Serialize for GarpExtraIf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let all = if self.all { " all" } else { "" };
        serializer.serialize_str(&format!("{}{all}", self.delay.0.as_secs()))
    }
}

pub(crate) fn garp_extra_if<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<GarpExtraIf>, D::Error> {
    struct ExtraVisitor;

    impl<'de> Visitor<'de> for ExtraVisitor {
        type Value = Option<GarpExtraIf>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("DELAY [all] (whole seconds 0..86400) or { delay: DELAY, all: true }")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(GarpExtraIf {
                delay: Interval::secs(v),
                all: false,
            }))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            u64::try_from(v)
                .map_err(|_| E::custom(format!("expected whole seconds 0..86400, got {v}")))
                .and_then(|v| self.visit_u64(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.parse().map(Some).map_err(E::custom)
        }

        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            GarpExtraIf::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }

    deserializer.deserialize_any(ExtraVisitor)
}

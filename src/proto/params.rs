//! What one VRRP instance is configured to be, as the core needs it.
//!
//! The config layer (src/config) turns files into this; the core trusts
//! nothing it is given and validates again in [`InstanceParams::validate`],
//! so an instance can never run with a configuration it cannot advertise.

use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;

use super::auth_hmac::HmacParams;
use super::interval::Centiseconds;
use super::packet::{multicast_group, AddressList, Auth, Version, Vrid, REQUIRED_TTL};

/// A virtual address and the prefix it is added with (keepalived: no
/// prefix means /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VirtualAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
}

impl VirtualAddress {
    pub fn host(address: IpAddr) -> VirtualAddress {
        let prefix_len = if address.is_ipv6() { 128 } else { 32 };
        VirtualAddress {
            address,
            prefix_len,
        }
    }
}

/// When a new master announces its addresses (gratuitous ARP / unsolicited
/// NA), with keepalived's names and defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnnounceSchedule {
    /// How many announcements each burst sends (`garp_master_repeat`).
    pub repeat: u32,
    /// Delay of the second burst after becoming master (`garp_master_delay`);
    /// zero means no second burst.
    pub delay: Duration,
    /// Period of refresh bursts while master (`garp_master_refresh`); zero is off.
    pub refresh: Duration,
    /// Announcements per refresh burst (`garp_master_refresh_repeat`).
    pub refresh_repeat: u32,
    /// A master hearing a lower priority announces this many at once
    /// (`garp_lower_prio_repeat`; keepalived's default is the global
    /// garp_master_repeat, 5; 0 is off) ...
    pub lower_prio_repeat: u32,
    /// ... and as many again after this (`garp_lower_prio_delay`; zero:
    /// no second burst).
    pub lower_prio_delay: Duration,
}

impl Default for AnnounceSchedule {
    fn default() -> Self {
        AnnounceSchedule {
            repeat: 5,
            delay: Duration::from_secs(5),
            refresh: Duration::ZERO,
            refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
        }
    }
}

/// How a master answers the adverts it hears, and how many adverts a
/// backup misses before it takes over: keepalived's knobs on the RFC's
/// rules (vrrp.c `vrrp_state_master_rx`, vrrp.h `VRRP_MS_DOWN_TIMER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertRules {
    /// Master_Down_Interval is this many Master_Adver_Intervals plus
    /// Skew_Time (`down_timer_adverts`, 1..=100; the RFC's 3).
    pub down_timer_adverts: u8,
    /// A master hearing a lower-priority master does not answer it at
    /// once (`lower_prio_no_advert`; RFC 9568 answers).
    pub lower_prio_no_advert: bool,
    /// A master hearing a higher-priority master sends one advert of its
    /// own before it steps down (`higher_prio_send_advert`), so a third
    /// host hears both.
    pub higher_prio_send_advert: bool,
    /// A backup compares an advert's addresses with its own only when it
    /// comes from another master than the last one (`skip_check_adv_addr`).
    pub skip_check_adv_addr: bool,
    /// An address owner (priority 255) drops every advert it hears
    /// (keepalived 2.4's `owner_ignore_adverts`).
    pub owner_ignore_adverts: bool,
    /// How unicast VRRPv3 IPv4 adverts are summed (`old_unicast_checksum`).
    pub old_unicast_checksum: UnicastChecksum,
    /// VRRPv3 over IPv4 summed without the pseudo-header, as VRRPv2 sums
    /// (`v3_checksum_as_v2`, for routers that do so).
    pub v3_checksum_as_v2: bool,
}

/// keepalived's `interface_up_down_delays` for the instance's interface:
/// a change that is undone within its delay is never acted on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkDelays {
    pub down: Duration,
    pub up: Duration,
}

impl InstanceParams {
    /// The delays as keepalived runs them (vrrp.c check_debounce_timers):
    /// below (down_timer_adverts - 1) advert intervals, else a backup
    /// elsewhere would time out first; cut to that less 1/256 interval.
    pub fn effective_link_delays(&self) -> LinkDelays {
        let interval = self.advert_interval.as_duration();
        let adverts = u32::from(self.advert_rules.down_timer_adverts.saturating_sub(1));
        let limit = interval * adverts;
        let cut = |d: Duration| {
            if limit.is_zero() {
                Duration::ZERO
            } else if d >= limit {
                limit - interval / 256
            } else {
                d
            }
        };
        LinkDelays {
            down: cut(self.link_delays.down),
            up: cut(self.link_delays.up),
        }
    }
}

/// keepalived's `old_unicast_checksum` (vrrp.h CHKSUM_COMPATIBILITY_*):
/// keepalived before 1.3.6 put the multicast group in the pseudo-header
/// of unicast VRRPv3 adverts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnicastChecksum {
    /// The RFC's, until an advert summed the old way is heard; then the
    /// old way (keepalived's default).
    #[default]
    Auto,
    /// The RFC's always (`old_unicast_checksum never`).
    Never,
    /// The old way always (`old_unicast_checksum`).
    Always,
}

/// keepalived's range for down_timer_adverts (vrrp_parser.c).
pub const DOWN_TIMER_ADVERTS: std::ops::RangeInclusive<u8> = 1..=100;

impl Default for AdvertRules {
    fn default() -> Self {
        AdvertRules {
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            skip_check_adv_addr: false,
            owner_ignore_adverts: false,
            old_unicast_checksum: UnicastChecksum::Auto,
            v3_checksum_as_v2: false,
        }
    }
}

/// One unicast peer (keepalived's `unicast_peer` entry): where adverts go,
/// and from where, with which TTL, they are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnicastPeer {
    pub address: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer with keepalived's default TTL range, 0..255 (no restriction).
    pub fn new(address: IpAddr) -> UnicastPeer {
        UnicastPeer {
            address,
            min_ttl: 0,
            max_ttl: 255,
        }
    }

    /// keepalived: setting min_ttl or max_ttl turns on check_unicast_src.
    pub fn restricts_ttl(&self) -> bool {
        self.min_ttl > 0 || self.max_ttl < 255
    }
}

/// Unicast adverts instead of multicast (keepalived's unicast_* keywords;
/// vrrp.c, vrrp_parser.c).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unicast {
    /// Each advert goes to every peer. Empty: the instance cannot run and
    /// stays in FAULT (keepalived's unicast_fault_no_peer).
    pub peers: Vec<UnicastPeer>,
    /// `check_unicast_src`: adverts count only from listed peers.
    pub check_source: bool,
    /// `unicast_ttl`: the TTL / hop limit adverts are sent with. None: 255
    /// for IPv4, the kernel's default hop limit for IPv6, as keepalived.
    pub ttl: Option<u8>,
}

impl Unicast {
    /// Whether the source of an advert must be a listed peer: asked for,
    /// or implied by a peer's TTL range (keepalived's rule).
    pub fn checks_source(&self) -> bool {
        self.check_source || self.peers.iter().any(UnicastPeer::restricts_ttl)
    }

    pub fn peer(&self, address: IpAddr) -> Option<&UnicastPeer> {
        self.peers.iter().find(|p| p.address == address)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceParams {
    pub name: String,
    pub vrid: Vrid,
    pub version: Version,
    /// Base priority 1..=255; 255 means address owner.
    pub priority: u8,
    pub advert_interval: Centiseconds,
    pub preempt: bool,
    /// keepalived's preempt_delay: how long a backup keeps deferring to a
    /// lower-priority master after it first hears one.
    pub preempt_delay: Duration,
    /// RFC 5798 Accept_Mode: a non-owner master accepts packets to the VIPs.
    /// keepalived accepts unless vrrp_strict, so that is the default here.
    pub accept_mode: bool,
    /// Our primary address on the interface: the advert source, and the
    /// tie-breaker between equal priorities.
    pub primary_address: IpAddr,
    /// The addresses advertised and held while master, all of one family.
    pub virtual_addresses: Vec<VirtualAddress>,
    /// keepalived's `no_virtual_ipaddress` (2.2.8 and later): the instance may have no
    /// address at all (adverts carry none; a notify script moves a cloud
    /// address). The family is then the primary address's.
    pub no_virtual_ipaddress: bool,
    /// VRRPv2 only: `Auth::None` or `Auth::Pass`.
    pub auth: Auth,
    pub announce: AnnounceSchedule,
    /// Unicast peers instead of the multicast group; None: multicast.
    pub unicast: Option<Unicast>,
    /// Held while master like the virtual addresses but not advertised
    /// (keepalived's virtual_ipaddress_excluded): more than an advert
    /// carries, or of the other family.
    pub excluded_addresses: Vec<VirtualAddress>,
    /// In a sync group: become master only when the group says so.
    pub sync_member: bool,
    /// keepalived 2.4's HMAC trailer; it replaces `auth`.
    pub auth_hmac: Option<HmacParams>,
    /// The quorum fence (etcd): hold the addresses only with its key.
    pub fence: Option<super::fence::FenceParams>,
    pub advert_rules: AdvertRules,
    /// keepalived's vrrp_startup_delay: after the daemon starts, a backup
    /// takes over no sooner than this plus its Master_Down_Interval
    /// (vrrp_scheduler.c vrrp_init_instance_sands). Not after a reload.
    pub startup_delay: Duration,
    /// The interface going down is not FAULT (keepalived's
    /// `dont_track_primary`: vrrp_if.c, vrrp.c leave the link out of
    /// the instance's faults).
    pub dont_track_primary: bool,
    /// keepalived 2.4's `timer_expired_backup`: the highest priority of
    /// the other routers. A master that finds it sent no advert for the
    /// time one of them would take to take over (it was stopped, or its
    /// host was) steps down to backup before anything else, so waking up
    /// does not preempt a nopreempt peer that took over (vrrp.c
    /// vrrp_thread_timeout_handler).
    pub timer_expired_backup: Option<u8>,
    /// How long the interface must stay down (up) before the instance
    /// acts on it (keepalived's interface_up_down_delays).
    pub link_delays: LinkDelays,
    /// keepalived's strict_mode / vrrp_strict: the RFC's protocol only
    /// (see proto::strict). Multicast, at least one address, and every
    /// setting [`InstanceParams::apply_strict`] resets left reset.
    pub strict: bool,
    /// The multicast group adverts go to and are counted from
    /// (keepalived's mcast_dst_ip, vrrp_mcast_group4/6); None: the RFC's,
    /// 224.0.0.18 or ff02::12. Unused with unicast peers.
    pub multicast_group: Option<IpAddr>,
    /// keepalived's `garp_extra_if`: while master, at the first advert
    /// sent this long after the last time, one announcement of each of
    /// these addresses (one per interface other than the instance's own,
    /// as the config layer chose them; vrrp.c vrrp_send_vmac_update).
    pub extra_announce: Option<ExtraAnnounce>,
}

/// See [`InstanceParams::extra_announce`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraAnnounce {
    pub interval: Duration,
    pub addresses: Vec<VirtualAddress>,
}

/// The parameter a problem is about, so that the layer that read it from
/// a file can name the key it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Param {
    Priority,
    Version,
    AdvertInterval,
    PrimaryAddress,
    VirtualAddresses,
    Auth,
    PreemptDelay,
    UnicastPeers,
    UnicastTtl,
    ExcludedAddresses,
    AuthHmac,
    DownTimerAdverts,
    Accept,
    LowerPrioRepeat,
    LowerPrioDelay,
    LowerPrioNoAdvert,
    HigherPrioSendAdvert,
    OwnerIgnoresAdverts,
    MulticastGroup,
}

/// One rule an instance's parameters break. Messages state the rule in
/// the user's terms (ranges as `1..255`); [`ParamsError::param`] says
/// which parameter it is about.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ParamsError {
    #[error("expected 1..255, got 0 (0 is what a master that is leaving sends)")]
    ZeroPriority,
    #[error("expected at least one address (or no_virtual_ipaddress: true, for an instance that holds none)")]
    NoVirtualAddresses,
    #[error("expected at most 255 addresses (an advert's count is one byte), got {0}")]
    TooManyVirtualAddresses(usize),
    #[error("{0} is of another family than the first address: an instance is IPv4 or IPv6")]
    MixedFamilies(IpAddr),
    #[error("{0} is not of the virtual addresses' family")]
    PrimaryFamily(IpAddr),
    #[error("{0} is not usable as a virtual address (unspecified, multicast or loopback)")]
    UnusableVirtualAddress(IpAddr),
    #[error("{address}/{prefix_len}: expected a prefix of 0..{max}", max = if address.is_ipv6() { 128 } else { 32 })]
    PrefixLength { address: IpAddr, prefix_len: u8 },
    #[error("IPv6 needs version 3 (VRRPv2 is IPv4 only)")]
    V2OverIpv6,
    #[error("VRRPv2 sends whole seconds: expected 1..255 s, got {0}")]
    V2Interval(Centiseconds),
    #[error("VRRPv3 allows 0.01..40.95 s in steps of 0.01 s, got {0}")]
    V3Interval(Centiseconds),
    #[error("VRRPv3 has no authentication (RFC 5798 removed it)")]
    AuthInV3,
    #[error("expected PASS (authentication type {0} is not VRRP's any more: RFC 3768 removed AH)")]
    UnsupportedAuth(u8),
    #[error("expected at most {max} s, got {got:?}", max = MAX_PREEMPT_DELAY.as_secs())]
    PreemptDelay { got: Duration },
    #[error("{0} is not of the virtual addresses' family")]
    PeerFamily(IpAddr),
    #[error("{address}: expected min_ttl at most max_ttl, got {min_ttl} and {max_ttl}")]
    PeerTtlRange {
        address: IpAddr,
        min_ttl: u8,
        max_ttl: u8,
    },
    #[error("expected 1..255, got 0")]
    ZeroUnicastTtl,
    #[error("active_key {id} is not one of the keys ({})", ids.iter().map(u8::to_string).collect::<Vec<_>>().join(", "))]
    HmacActiveKey { id: u8, ids: Vec<u8> },
    #[error("key id {0} is given twice")]
    HmacDuplicateKey(u8),
    #[error("auth_hmac replaces authentication: remove one of them")]
    HmacWithAuth,
    #[error("expected {min}..{max}, got {0}", min = DOWN_TIMER_ADVERTS.start(), max = DOWN_TIMER_ADVERTS.end())]
    DownTimerAdverts(u8),
    /// keepalived refuses it too (vrrp.c vrrp_complete_instance).
    #[error(
        "Unicast peers are not supported in strict mode: strict mode sends to the multicast group"
    )]
    StrictUnicast,
    #[error("{0} is not a multicast address of the instance's family")]
    MulticastGroup(IpAddr),
    #[error("No VIP specified; at least one is required in strict mode")]
    StrictNoAddresses,
    /// A setting strict mode forbids, not reset (`apply_strict` resets it).
    #[error("{0}")]
    StrictUnreset(super::strict::StrictReset),
    /// A problem with an excluded (not advertised) address.
    #[error("{0}")]
    Excluded(Box<ParamsError>),
}

impl ParamsError {
    pub const fn param(&self) -> Param {
        match self {
            ParamsError::ZeroPriority => Param::Priority,
            ParamsError::NoVirtualAddresses
            | ParamsError::TooManyVirtualAddresses(_)
            | ParamsError::MixedFamilies(_)
            | ParamsError::UnusableVirtualAddress(_)
            | ParamsError::PrefixLength { .. } => Param::VirtualAddresses,
            ParamsError::PrimaryFamily(_) => Param::PrimaryAddress,
            ParamsError::V2OverIpv6 => Param::Version,
            ParamsError::V2Interval(_) | ParamsError::V3Interval(_) => Param::AdvertInterval,
            ParamsError::AuthInV3 | ParamsError::UnsupportedAuth(_) => Param::Auth,
            ParamsError::PreemptDelay { .. } => Param::PreemptDelay,
            ParamsError::PeerFamily(_) | ParamsError::PeerTtlRange { .. } => Param::UnicastPeers,
            ParamsError::ZeroUnicastTtl => Param::UnicastTtl,
            ParamsError::Excluded(_) => Param::ExcludedAddresses,
            ParamsError::DownTimerAdverts(_) => Param::DownTimerAdverts,
            ParamsError::StrictUnicast => Param::UnicastPeers,
            ParamsError::StrictNoAddresses => Param::VirtualAddresses,
            ParamsError::MulticastGroup(_) => Param::MulticastGroup,
            ParamsError::StrictUnreset(reset) => reset.param(),
            ParamsError::HmacActiveKey { .. }
            | ParamsError::HmacDuplicateKey(_)
            | ParamsError::HmacWithAuth => Param::AuthHmac,
        }
    }
}

/// Every rule a set of parameters breaks, in a stable order.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidParams(pub Vec<ParamsError>);

/// keepalived's upper limit for preempt_delay (vrrp_parser.c).
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);

/// What makes one address unusable to hold, whatever list it is in.
fn address_problems(vip: &VirtualAddress) -> impl Iterator<Item = ParamsError> {
    let address = vip.address;
    let too_long = vip.prefix_len > if address.is_ipv6() { 128 } else { 32 };
    let unusable = address.is_unspecified() || address.is_multicast() || address.is_loopback();
    [
        too_long.then_some(ParamsError::PrefixLength {
            address,
            prefix_len: vip.prefix_len,
        }),
        unusable.then_some(ParamsError::UnusableVirtualAddress(address)),
    ]
    .into_iter()
    .flatten()
}

impl InstanceParams {
    /// An instance with keepalived's defaults: VRRPv2, priority 100,
    /// advert_int 1 s, preempt on without delay, accept on, no
    /// authentication, keepalived's GARP schedule.
    pub fn with_defaults(
        name: &str,
        vrid: Vrid,
        primary_address: IpAddr,
        virtual_addresses: Vec<VirtualAddress>,
    ) -> InstanceParams {
        InstanceParams {
            name: name.to_string(),
            vrid,
            version: Version::V2,
            priority: 100,
            advert_interval: Centiseconds::from_secs(1),
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: true,
            primary_address,
            virtual_addresses,
            no_virtual_ipaddress: false,
            auth: Auth::None,
            announce: AnnounceSchedule::default(),
            unicast: None,
            excluded_addresses: Vec::new(),
            sync_member: false,
            auth_hmac: None,
            fence: None,
            advert_rules: AdvertRules::default(),
            startup_delay: Duration::ZERO,
            dont_track_primary: false,
            timer_expired_backup: None,
            link_delays: LinkDelays::default(),
            strict: false,
            multicast_group: None,
            extra_announce: None,
        }
    }

    /// Every rule these parameters break; empty when they can run.
    pub fn problems(&self) -> Vec<ParamsError> {
        let mut problems = Vec::new();
        if self.priority == 0 {
            problems.push(ParamsError::ZeroPriority);
        }
        match self.virtual_addresses.len() {
            0 if self.strict => problems.push(ParamsError::StrictNoAddresses),
            0 if !self.no_virtual_ipaddress => problems.push(ParamsError::NoVirtualAddresses),
            n if n > 255 => problems.push(ParamsError::TooManyVirtualAddresses(n)),
            _ => {}
        }
        // The family is the first address's (the primary address may be
        // a placeholder of that family until the interface is known).
        let ipv6 = self
            .virtual_addresses
            .first()
            .map_or(self.primary_address.is_ipv6(), |v| v.address.is_ipv6());
        if self.primary_address.is_ipv6() != ipv6 {
            problems.push(ParamsError::PrimaryFamily(self.primary_address));
        }
        for vip in &self.virtual_addresses {
            if vip.address.is_ipv6() != ipv6 {
                problems.push(ParamsError::MixedFamilies(vip.address));
            }
        }
        for vip in &self.virtual_addresses {
            problems.extend(address_problems(vip));
        }
        // Excluded addresses may be of either family: they are not advertised.
        for vip in &self.excluded_addresses {
            problems.extend(
                address_problems(vip).map(|problem| ParamsError::Excluded(Box::new(problem))),
            );
        }
        match self.version {
            Version::V2 => {
                if ipv6 {
                    problems.push(ParamsError::V2OverIpv6);
                }
                if !matches!(self.advert_interval.as_whole_secs(), Some(1..=255)) {
                    problems.push(ParamsError::V2Interval(self.advert_interval));
                }
                if let Auth::Other { kind, .. } = self.auth {
                    problems.push(ParamsError::UnsupportedAuth(kind));
                }
            }
            Version::V3 => {
                if !(1..=0x0fff).contains(&self.advert_interval.get()) {
                    problems.push(ParamsError::V3Interval(self.advert_interval));
                }
                if self.auth != Auth::None {
                    problems.push(ParamsError::AuthInV3);
                }
            }
        }
        if !DOWN_TIMER_ADVERTS.contains(&self.advert_rules.down_timer_adverts) {
            problems.push(ParamsError::DownTimerAdverts(
                self.advert_rules.down_timer_adverts,
            ));
        }
        if self.preempt_delay > MAX_PREEMPT_DELAY {
            problems.push(ParamsError::PreemptDelay {
                got: self.preempt_delay,
            });
        }
        if let Some(unicast) = &self.unicast {
            for peer in &unicast.peers {
                if peer.address.is_ipv6() != ipv6 {
                    problems.push(ParamsError::PeerFamily(peer.address));
                }
                if peer.min_ttl > peer.max_ttl {
                    problems.push(ParamsError::PeerTtlRange {
                        address: peer.address,
                        min_ttl: peer.min_ttl,
                        max_ttl: peer.max_ttl,
                    });
                }
            }
            if unicast.ttl == Some(0) {
                problems.push(ParamsError::ZeroUnicastTtl);
            }
        }
        if let Some(group) = self.multicast_group {
            if !group.is_multicast() || group.is_ipv6() != ipv6 {
                problems.push(ParamsError::MulticastGroup(group));
            }
        }
        if self.strict {
            if self.unicast.is_some() {
                problems.push(ParamsError::StrictUnicast);
            }
            problems.extend(
                self.strict_violations()
                    .into_iter()
                    .map(ParamsError::StrictUnreset),
            );
        }
        if let Some(hmac) = &self.auth_hmac {
            let ids = hmac.key_ids();
            if !ids.contains(&hmac.active_key) {
                problems.push(ParamsError::HmacActiveKey {
                    id: hmac.active_key,
                    ids: ids.clone(),
                });
            }
            for (i, id) in ids.iter().enumerate() {
                if ids[..i].contains(id) {
                    problems.push(ParamsError::HmacDuplicateKey(*id));
                }
            }
            if self.auth != Auth::None {
                problems.push(ParamsError::HmacWithAuth);
            }
        }
        problems
    }

    pub fn validate(&self) -> Result<(), InvalidParams> {
        match self.problems() {
            problems if problems.is_empty() => Ok(()),
            problems => Err(InvalidParams(problems)),
        }
    }

    /// The address list as adverts carry it, in configured order: of the
    /// primary address's family when there is none.
    pub fn advertised_addresses(&self) -> AddressList {
        AddressList::from_addresses(self.virtual_addresses.iter().map(|v| v.address))
            .unwrap_or_else(|| AddressList::empty(self.primary_address.is_ipv6()))
    }

    /// Everything a master holds: the advertised addresses, then the
    /// excluded ones.
    pub fn held_addresses(&self) -> Vec<VirtualAddress> {
        self.virtual_addresses
            .iter()
            .chain(&self.excluded_addresses)
            .copied()
            .collect()
    }

    /// Where each advert goes: every unicast peer but this host itself,
    /// or the VRRP group. One file listing every host as a peer is
    /// common (the same on all of them): this host's own address in it
    /// is skipped, not an error (keepalived sends to it and drops what
    /// comes back as its own; sending nothing is the same, cheaper).
    pub fn advert_destinations(&self) -> Vec<IpAddr> {
        match &self.unicast {
            Some(unicast) => unicast
                .peers
                .iter()
                .map(|p| p.address)
                .filter(|address| *address != self.primary_address)
                .collect(),
            None => vec![self.group()],
        }
    }

    /// The multicast group this instance sends to and hears from.
    pub fn group(&self) -> IpAddr {
        self.multicast_group
            .unwrap_or_else(|| multicast_group(self.primary_address.is_ipv6()))
    }

    /// The TTL / hop limit adverts are sent with; None: the kernel's
    /// default (keepalived's choice for IPv6 unicast). RFC 5798 §5.1.1.3
    /// requires 255 for multicast.
    pub fn send_ttl(&self) -> Option<u8> {
        match &self.unicast {
            None => Some(REQUIRED_TTL),
            Some(Unicast { ttl: Some(ttl), .. }) => Some(*ttl),
            Some(_) if self.primary_address.is_ipv6() => None,
            Some(_) => Some(REQUIRED_TTL),
        }
    }

    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }

    /// As master, traffic to its addresses is refused: Accept_Mode off
    /// and not their owner (RFC 5798 §6.4.3).
    pub fn drops_traffic(&self) -> bool {
        !self.accept_mode && !self.is_owner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::packet::AuthKey;

    fn seed() -> InstanceParams {
        InstanceParams {
            auth: Auth::Pass(AuthKey::from_password("1111")),
            ..InstanceParams::with_defaults(
                "VI_1",
                Vrid::new(51).unwrap(),
                "192.0.2.201".parse().unwrap(),
                vec![VirtualAddress::host("192.0.2.203".parse().unwrap())],
            )
        }
    }

    #[test]
    fn seed_is_valid() {
        assert_eq!(seed().validate(), Ok(()));
    }

    #[test]
    fn each_invalid_setting_is_named() {
        let cases: Vec<(fn(&mut InstanceParams), ParamsError)> = vec![
            (|p| p.priority = 0, ParamsError::ZeroPriority),
            (
                |p| p.virtual_addresses.clear(),
                ParamsError::NoVirtualAddresses,
            ),
            (
                |p| {
                    p.virtual_addresses
                        .push(VirtualAddress::host("2001:db8::1".parse().unwrap()))
                },
                ParamsError::MixedFamilies("2001:db8::1".parse().unwrap()),
            ),
            (
                |p| p.advert_interval = Centiseconds::new(50),
                ParamsError::V2Interval(Centiseconds::new(50)),
            ),
            (
                |p| {
                    p.version = Version::V3;
                    p.advert_interval = Centiseconds::new(10);
                },
                ParamsError::AuthInV3,
            ),
            (
                |p| {
                    p.version = Version::V3;
                    p.auth = Auth::None;
                    p.advert_interval = Centiseconds::new(5000);
                },
                ParamsError::V3Interval(Centiseconds::new(5000)),
            ),
            (
                |p| {
                    p.primary_address = "fe80::1".parse().unwrap();
                    p.virtual_addresses = vec![VirtualAddress::host("fe80::51".parse().unwrap())];
                },
                ParamsError::V2OverIpv6,
            ),
            (
                |p| p.virtual_addresses[0].prefix_len = 33,
                ParamsError::PrefixLength {
                    address: "192.0.2.203".parse().unwrap(),
                    prefix_len: 33,
                },
            ),
        ];
        for (mutate, expected) in cases {
            let mut p = seed();
            mutate(&mut p);
            assert_eq!(p.problems(), vec![expected]);
        }
    }

    /// The same file on both hosts lists both as peers: this host's own
    /// address is valid, and adverts do not go to it.
    #[test]
    fn this_hosts_own_address_among_the_peers_is_skipped() {
        let mut p = seed();
        let other: IpAddr = "192.0.2.202".parse().unwrap();
        p.unicast = Some(Unicast {
            peers: vec![UnicastPeer::new(p.primary_address), UnicastPeer::new(other)],
            check_source: false,
            ttl: None,
        });
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.advert_destinations(), vec![other]);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_parameter() {
        let mut p = seed();
        p.priority = 0;
        p.version = Version::V3;
        p.advert_interval = Centiseconds::new(5000);
        p.preempt_delay = Duration::from_secs(2000);
        p.virtual_addresses
            .push(VirtualAddress::host("224.0.0.18".parse().unwrap()));
        let params: Vec<Param> = p.problems().iter().map(ParamsError::param).collect();
        assert_eq!(
            params,
            vec![
                Param::Priority,
                Param::VirtualAddresses,
                Param::AdvertInterval,
                Param::Auth,
                Param::PreemptDelay
            ]
        );
        assert_eq!(p.validate().unwrap_err().0.len(), 5);
    }

    #[test]
    fn messages_speak_in_ranges_not_types() {
        for problem in seed_breaking_every_rule() {
            let text = problem.to_string();
            for word in ["u8", "u16", "u32", "usize", "Centiseconds", "Some(", "None"] {
                assert!(!text.contains(word), "{text}");
            }
        }
    }

    fn seed_breaking_every_rule() -> Vec<ParamsError> {
        vec![
            ParamsError::ZeroPriority,
            ParamsError::TooManyVirtualAddresses(300),
            ParamsError::PrefixLength {
                address: "192.0.2.1".parse().unwrap(),
                prefix_len: 40,
            },
            ParamsError::V2Interval(Centiseconds::new(50)),
            ParamsError::V3Interval(Centiseconds::new(5000)),
            ParamsError::UnsupportedAuth(2),
            ParamsError::PreemptDelay {
                got: Duration::from_secs(2000),
            },
        ]
    }
}

//! From the file's shape to what the daemon runs: every rule a running
//! instance would otherwise trip over is checked here, with the key named.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::proto::{
    AnnounceSchedule, Auth, AuthKey, Centiseconds, InstanceParams, Version, VirtualAddress, Vrid,
};

use super::error::ConfigErrors;
use super::health::{self, HealthSettings, NotifySettings, Problems, Tracked};
use super::load::Loaded;
use super::schema::{AuthType, Config, InitialState, InstanceConfig, Interval};

/// keepalived's limit for preempt_delay.
const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);

/// One instance, ready to run once its source address is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSettings {
    pub name: String,
    pub interface: String,
    /// Configured source; `None`: the interface's address of the family.
    pub source_ip: Option<IpAddr>,
    pub initial_state: InitialState,
    pub trackers: Vec<Tracked>,
    pub notify: NotifySettings,
    /// Complete but for `primary_address`, which is a placeholder.
    template: InstanceParams,
}

/// Everything the daemon runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub instances: Vec<InstanceSettings>,
    pub health: HealthSettings,
}

impl InstanceSettings {
    pub fn is_ipv6(&self) -> bool {
        self.template.primary_address.is_ipv6()
    }

    pub fn vrid(&self) -> Vrid {
        self.template.vrid
    }

    pub fn version(&self) -> Version {
        self.template.version
    }

    pub fn virtual_addresses(&self) -> &[VirtualAddress] {
        &self.template.virtual_addresses
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
    let mut health = HealthSettings::default();
    for (name, check) in &config.checks {
        match health::check(name, check, config.script_user.as_deref()) {
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
    if config.instances.is_empty() {
        report(
            "instances".into(),
            vec![(
                String::new(),
                "no instances configured: at least one is needed".into(),
            )],
        );
    }
    let mut settings = Vec::new();
    for (name, instance) in &config.instances {
        let prefix = format!("instances.{name}");
        let core = instance_settings(name, instance)
            .map_err(|p| p.into_iter().map(|(k, m)| (k.to_string(), m)).collect());
        let trackers = health::trackers(config, instance, &health.checks);
        let notify = health::notify(config, instance);
        match (core, trackers, notify) {
            (Ok(mut s), Ok(trackers), Ok(notify)) => {
                s.trackers = trackers;
                s.notify = notify;
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
    if errors.is_empty() {
        Ok(Settings {
            instances: settings,
            health,
        })
    } else {
        Err(ConfigErrors(errors))
    }
}

type CoreProblems = Vec<(&'static str, String)>;

fn instance_settings(name: &str, c: &InstanceConfig) -> Result<InstanceSettings, CoreProblems> {
    let mut problems: CoreProblems = Vec::new();
    if c.interface.trim().is_empty() {
        problems.push(("interface", "expected an interface name".into()));
    }
    let vrid = Vrid::new(c.virtual_router_id);
    if vrid.is_none() {
        problems.push(("virtual_router_id", "expected 1..=255".into()));
    }
    if c.priority == 0 {
        problems.push((
            "priority",
            "expected 1..=255 (0 is what a leaving master sends)".into(),
        ));
    }
    let version = match c.version {
        2 => Some(Version::V2),
        3 => Some(Version::V3),
        other => {
            problems.push(("version", format!("expected 2 or 3, got {other}")));
            None
        }
    };

    let mut vips = Vec::new();
    for text in &c.virtual_ipaddress {
        match parse_vip(text) {
            Ok(vip) => vips.push(vip),
            Err(message) => problems.push(("virtual_ipaddress", message)),
        }
    }
    if c.virtual_ipaddress.is_empty() {
        problems.push(("virtual_ipaddress", "expected at least one address".into()));
    }
    let ipv6 = vips.first().is_some_and(|v| v.address.is_ipv6());
    if vips.iter().any(|v| v.address.is_ipv6() != ipv6) {
        problems.push((
            "virtual_ipaddress",
            "expected addresses of one family: use one instance for IPv4 and another for IPv6"
                .into(),
        ));
    }
    if ipv6 && version == Some(Version::V2) {
        problems.push((
            "version",
            "IPv6 needs version 3 (VRRPv2 is IPv4 only)".into(),
        ));
    }
    if let Some(source) = c.source_ip {
        if !vips.is_empty() && source.is_ipv6() != ipv6 {
            problems.push((
                "source_ip",
                format!("{source} is not of the virtual addresses' family"),
            ));
        }
    }

    let interval = advert_interval(version, c.advert_int)
        .map_err(|m| problems.push(("advert_int", m)))
        .ok();

    let auth = match (&c.authentication, version) {
        (None, _) => Auth::None,
        (Some(_), Some(Version::V3)) => {
            problems.push((
                "authentication",
                "VRRPv3 has no authentication (RFC 5798): remove it".into(),
            ));
            Auth::None
        }
        (Some(a), _) if a.auth_type == AuthType::Ah => {
            problems.push((
                "authentication.auth_type",
                "AH was removed from VRRP by RFC 3768: use PASS".into(),
            ));
            Auth::None
        }
        (Some(a), _) if a.auth_pass.is_empty() => {
            problems.push((
                "authentication.auth_pass",
                "expected a password (only its first 8 characters are sent)".into(),
            ));
            Auth::None
        }
        (Some(a), _) => Auth::Pass(AuthKey::from_password(&a.auth_pass)),
    };

    if !c.accept {
        // The core knows Accept_Mode, but refusing traffic to an address
        // the kernel holds takes a firewall rule, which vipd does not
        // install yet: better refused here than silently not done.
        problems.push((
            "accept",
            "accept: false (RFC 5798 no-accept mode) is not supported yet; remove it".into(),
        ));
    }
    if c.preempt_delay.0 > MAX_PREEMPT_DELAY {
        problems.push((
            "preempt_delay",
            format!("expected at most 1000 s, got {}", c.preempt_delay),
        ));
    }

    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(vrid), Some(version), Some(advert_interval)) = (vrid, version, interval) else {
        unreachable!("every None above recorded a problem");
    };
    let placeholder = if ipv6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    };
    let template = InstanceParams {
        name: name.to_string(),
        vrid,
        version,
        priority: c.priority,
        advert_interval,
        preempt: c.preempt,
        preempt_delay: c.preempt_delay.0,
        accept_mode: c.accept,
        primary_address: placeholder,
        virtual_addresses: vips,
        auth,
        announce: AnnounceSchedule {
            repeat: c.garp_master_repeat,
            delay: c.garp_master_delay.0,
            refresh: c.garp_master_refresh.0,
            refresh_repeat: c.garp_master_refresh_repeat,
        },
    };
    // The core's own rules, in case one is not covered above.
    template.validate().map_err(|e| vec![("", e.to_string())])?;
    Ok(InstanceSettings {
        name: name.to_string(),
        interface: c.interface.clone(),
        source_ip: c.source_ip,
        initial_state: c.state,
        trackers: Vec::new(),
        notify: NotifySettings::default(),
        template,
    })
}

fn advert_interval(version: Option<Version>, interval: Interval) -> Result<Centiseconds, String> {
    let cs = Centiseconds::from_duration_exact(interval.0)
        .ok_or_else(|| format!("expected a multiple of 10 ms, got {interval}"))?;
    match version {
        Some(Version::V2) if !matches!(cs.as_whole_secs(), Some(1..=255)) => Err(format!(
            "VRRPv2 sends whole seconds: expected 1..=255 s, got {interval} (use version 3 for less)"
        )),
        Some(Version::V3) if !(1..=4095).contains(&cs.get()) => {
            Err(format!("VRRPv3 allows 10 ms ..= 40.95 s, got {interval}"))
        }
        _ => Ok(cs),
    }
}

/// `ADDRESS` or `ADDRESS/PREFIX`; no prefix means a host route, as keepalived.
fn parse_vip(text: &str) -> Result<VirtualAddress, String> {
    let text = text.trim();
    if text.contains(char::is_whitespace) {
        return Err(format!(
            "{text:?}: expected ADDRESS or ADDRESS/PREFIX (options such as dev or label are not supported)"
        ));
    }
    let (address, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{text:?}: not an IP address"))?;
    let max = if address.is_ipv6() { 128 } else { 32 };
    let prefix_len = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{text:?}: prefix must be 0..={max}"))?,
    };
    if address.is_unspecified() || address.is_multicast() || address.is_loopback() {
        return Err(format!("{text:?}: not usable as a virtual address"));
    }
    Ok(VirtualAddress {
        address,
        prefix_len,
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
        assert!(parse_vip("192.0.2.203/33").is_err());
        assert!(parse_vip("192.0.2.203 dev eth0")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_vip("224.0.0.18").is_err());
    }

    #[test]
    fn advert_interval_rules_per_version() {
        let secs = |s: f64| Interval(Duration::from_secs_f64(s));
        assert_eq!(
            advert_interval(Some(Version::V2), secs(1.0)),
            Ok(Centiseconds::new(100))
        );
        assert!(advert_interval(Some(Version::V2), Interval(Duration::from_millis(100))).is_err());
        assert_eq!(
            advert_interval(Some(Version::V3), Interval(Duration::from_millis(100))),
            Ok(Centiseconds::new(10))
        );
        assert!(advert_interval(Some(Version::V3), Interval(Duration::from_millis(105))).is_err());
        assert!(advert_interval(Some(Version::V3), Interval(Duration::from_secs(41))).is_err());
    }
}

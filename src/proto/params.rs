//! What one VRRP instance is configured to be, as the core needs it.
//!
//! The config layer (src/config) turns files into this; the core trusts
//! nothing it is given and validates again in [`InstanceParams::validate`],
//! so an instance can never run with a configuration it cannot advertise.

use std::net::IpAddr;
use std::time::Duration;

use thiserror::Error;

use super::interval::Centiseconds;
use super::packet::{AddressList, Auth, Version, Vrid};

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
}

impl Default for AnnounceSchedule {
    fn default() -> Self {
        AnnounceSchedule {
            repeat: 5,
            delay: Duration::from_secs(5),
            refresh: Duration::ZERO,
            refresh_repeat: 1,
        }
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
    /// VRRPv2 only: `Auth::None` or `Auth::Pass`.
    pub auth: Auth,
    pub announce: AnnounceSchedule,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ParamsError {
    #[error("priority must be 1..=255 (0 is reserved for a master that is leaving)")]
    ZeroPriority,
    #[error("at least one virtual address is needed")]
    NoVirtualAddresses,
    #[error("at most 255 virtual addresses fit in an advert, got {0}")]
    TooManyVirtualAddresses(usize),
    #[error("virtual address {0} is not of the primary address's family")]
    MixedFamilies(IpAddr),
    #[error("VRRPv2 is IPv4 only: use version 3 for IPv6")]
    V2OverIpv6,
    #[error("VRRPv2 advert_int must be whole seconds 1..=255, got {0}")]
    V2Interval(Centiseconds),
    #[error("VRRPv3 advert_int must be 0.01..=40.95 s, got {0}")]
    V3Interval(Centiseconds),
    #[error("VRRPv3 has no authentication")]
    AuthInV3,
    #[error("auth_type must be none or PASS")]
    UnsupportedAuth,
    #[error("prefix length {prefix_len} is too long for {address}")]
    PrefixLength { address: IpAddr, prefix_len: u8 },
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
            auth: Auth::None,
            announce: AnnounceSchedule::default(),
        }
    }

    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.priority == 0 {
            return Err(ParamsError::ZeroPriority);
        }
        match self.virtual_addresses.len() {
            0 => return Err(ParamsError::NoVirtualAddresses),
            n if n > 255 => return Err(ParamsError::TooManyVirtualAddresses(n)),
            _ => {}
        }
        let ipv6 = self.primary_address.is_ipv6();
        for vip in &self.virtual_addresses {
            if vip.address.is_ipv6() != ipv6 {
                return Err(ParamsError::MixedFamilies(vip.address));
            }
            if vip.prefix_len > if ipv6 { 128 } else { 32 } {
                return Err(ParamsError::PrefixLength {
                    address: vip.address,
                    prefix_len: vip.prefix_len,
                });
            }
        }
        match self.version {
            Version::V2 => {
                if ipv6 {
                    return Err(ParamsError::V2OverIpv6);
                }
                if !matches!(self.advert_interval.as_whole_secs(), Some(1..=255)) {
                    return Err(ParamsError::V2Interval(self.advert_interval));
                }
                if matches!(self.auth, Auth::Other { .. }) {
                    return Err(ParamsError::UnsupportedAuth);
                }
            }
            Version::V3 => {
                if !(1..=0x0fff).contains(&self.advert_interval.get()) {
                    return Err(ParamsError::V3Interval(self.advert_interval));
                }
                if self.auth != Auth::None {
                    return Err(ParamsError::AuthInV3);
                }
            }
        }
        Ok(())
    }

    /// The address list as adverts carry it, in configured order.
    pub fn advertised_addresses(&self) -> AddressList {
        AddressList::from_addresses(self.virtual_addresses.iter().map(|v| v.address))
            .expect("validated: one family, at least one address")
    }

    pub fn is_owner(&self) -> bool {
        self.priority == 255
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
            assert_eq!(p.validate(), Err(expected));
        }
    }
}

//! Which address an instance sends its adverts from: the configured one,
//! which must be on the interface, or the interface's own address of the
//! instance's family. The advert's source is also the tie-breaker between
//! equal priorities (RFC 5798 §6.4.3), so the choice is a protocol rule.

use std::net::{IpAddr, Ipv6Addr};

use thiserror::Error;

use super::params::VirtualAddress;

/// An address the interface has, as the kernel lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalAddress {
    pub address: IpAddr,
    /// IPv4: not the first address of its subnet on the interface.
    pub secondary: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SourceError {
    #[error("source_ip {0} is not an address of the interface")]
    NotOnInterface(IpAddr),
    #[error("the interface has no {} address to send adverts from; set source_ip", if *.ipv6 { "IPv6 link-local" } else { "IPv4" })]
    NoAddress { ipv6: bool },
}

/// RFC 4291 §2.5.6: fe80::/10.
pub fn is_link_local(address: Ipv6Addr) -> bool {
    address.segments()[0] & 0xffc0 == 0xfe80
}

/// The configured source if it is on the interface; otherwise, for IPv4
/// the interface's primary address (not a virtual one), and for IPv6 its
/// link-local address, which RFC 5798 §5.1.2.2 requires as the source.
pub fn choose_source(
    configured: Option<IpAddr>,
    ipv6: bool,
    virtual_addresses: &[VirtualAddress],
    local: &[LocalAddress],
) -> Result<IpAddr, SourceError> {
    if let Some(source) = configured {
        return if local.iter().any(|a| a.address == source) {
            Ok(source)
        } else {
            Err(SourceError::NotOnInterface(source))
        };
    }
    let is_virtual = |a: &IpAddr| virtual_addresses.iter().any(|v| v.address == *a);
    let mut candidates = local
        .iter()
        .filter(|a| a.address.is_ipv6() == ipv6 && !is_virtual(&a.address));
    let chosen = if ipv6 {
        candidates.find(|a| matches!(a.address, IpAddr::V6(v6) if is_link_local(v6)))
    } else {
        let candidates: Vec<_> = candidates.collect();
        candidates
            .iter()
            .find(|a| !a.secondary)
            .or(candidates.first())
            .copied()
    };
    chosen
        .map(|a| a.address)
        .ok_or(SourceError::NoAddress { ipv6 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str, secondary: bool) -> LocalAddress {
        LocalAddress {
            address: text.parse().unwrap(),
            secondary,
        }
    }

    fn vip(text: &str) -> VirtualAddress {
        VirtualAddress::host(text.parse().unwrap())
    }

    #[test]
    fn ipv4_prefers_the_primary_and_skips_virtual_addresses() {
        let addresses = [
            local("192.0.2.203", false), // a VIP left from an earlier run
            local("2001:db8::1", false),
            local("192.0.2.9", true),
            local("192.0.2.201", false),
        ];
        let chosen = choose_source(None, false, &[vip("192.0.2.203")], &addresses);
        assert_eq!(chosen, Ok("192.0.2.201".parse().unwrap()));
        let only_secondary = [local("192.0.2.9", true)];
        assert_eq!(
            choose_source(None, false, &[], &only_secondary),
            Ok("192.0.2.9".parse().unwrap())
        );
    }

    #[test]
    fn ipv6_uses_the_link_local_address() {
        let addresses = [
            local("2001:db8::201", false),
            local("192.0.2.201", false),
            local("fe80::201", false),
        ];
        assert_eq!(
            choose_source(None, true, &[vip("2001:db8::250")], &addresses),
            Ok("fe80::201".parse().unwrap())
        );
        assert_eq!(
            choose_source(None, true, &[], &addresses[..2]),
            Err(SourceError::NoAddress { ipv6: true }),
            "a global address is not a valid IPv6 source"
        );
    }

    #[test]
    fn a_configured_source_must_be_on_the_interface() {
        let addresses = [local("192.0.2.201", false), local("192.0.2.202", true)];
        let configured = "192.0.2.202".parse().unwrap();
        assert_eq!(
            choose_source(Some(configured), false, &[], &addresses),
            Ok(configured)
        );
        let elsewhere = "198.51.100.1".parse().unwrap();
        assert_eq!(
            choose_source(Some(elsewhere), false, &[], &addresses),
            Err(SourceError::NotOnInterface(elsewhere))
        );
        assert_eq!(
            SourceError::NoAddress { ipv6: false }.to_string(),
            "the interface has no IPv4 address to send adverts from; set source_ip"
        );
    }

    #[test]
    fn link_local_detection() {
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(is_link_local("febf::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
        assert!(!is_link_local("2001:db8::1".parse().unwrap()));
    }
}

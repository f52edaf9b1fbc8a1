//! How an advert reached us, and whether that is how this instance expects
//! adverts to arrive: multicast to the VRRP group with TTL 255 (RFC 5798
//! §7.1), or unicast from a listed peer (keepalived's unicast mode,
//! vrrp.c `vrrp_check_packet`).

use std::net::IpAddr;

use super::packet::{multicast_group, REQUIRED_TTL};
use super::params::InstanceParams;
use super::stats::DropReason;

/// The IP facts of a received advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub source: IpAddr,
    pub destination: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6) as received.
    pub ttl: u8,
}

impl Arrival {
    /// An advert as the multicast group receives it from `source`.
    pub fn multicast(source: IpAddr) -> Arrival {
        Arrival {
            source,
            destination: multicast_group(source.is_ipv6()),
            ttl: REQUIRED_TTL,
        }
    }

    /// Checks in keepalived's order: the TTL (multicast only: unicast may
    /// cross routers), multicast versus unicast, then, when the instance
    /// checks sources, that the sender is a peer within its TTL range.
    pub fn check(&self, params: &InstanceParams) -> Result<(), DropReason> {
        let multicast = self.destination.is_multicast();
        match &params.unicast {
            None => {
                // keepalived's socket joins and binds to the instance's
                // group only (vrrp.c open_vrrp_read_socket): an advert to
                // another group never reaches the instance.
                if multicast && self.destination != params.group() {
                    return Err(DropReason::OtherMulticastGroup);
                }
                if self.ttl != REQUIRED_TTL {
                    return Err(DropReason::BadTtl);
                }
                if !multicast {
                    return Err(DropReason::UnexpectedUnicast);
                }
            }
            Some(unicast) => {
                if multicast {
                    return Err(DropReason::UnexpectedMulticast);
                }
                if unicast.checks_source() {
                    let peer = unicast
                        .peer(self.source)
                        .ok_or(DropReason::UnknownUnicastSource)?;
                    if !(peer.min_ttl..=peer.max_ttl).contains(&self.ttl) {
                        return Err(DropReason::PeerTtlOutOfRange);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::packet::Vrid;
    use crate::proto::params::{Unicast, UnicastPeer, VirtualAddress};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn params(unicast: Option<Unicast>) -> InstanceParams {
        InstanceParams {
            unicast,
            ..InstanceParams::with_defaults(
                "VI_1",
                Vrid::new(51).unwrap(),
                ip("192.0.2.201"),
                vec![VirtualAddress::host(ip("192.0.2.203"))],
            )
        }
    }

    fn to_us(source: &str, ttl: u8) -> Arrival {
        Arrival {
            source: ip(source),
            destination: ip("192.0.2.201"),
            ttl,
        }
    }

    #[test]
    fn multicast_instances_want_the_group_and_ttl_255() {
        let p = params(None);
        assert_eq!(Arrival::multicast(ip("192.0.2.202")).check(&p), Ok(()));
        let mut off_link = Arrival::multicast(ip("192.0.2.202"));
        off_link.ttl = 254;
        assert_eq!(off_link.check(&p), Err(DropReason::BadTtl));
        assert_eq!(
            to_us("192.0.2.202", 255).check(&p),
            Err(DropReason::UnexpectedUnicast)
        );
    }

    /// mcast_dst_ip: adverts to the instance's own group count, to the
    /// RFC's group (or any other) they do not.
    #[test]
    fn a_multicast_instance_hears_its_own_group_only() {
        let mut p = params(None);
        p.multicast_group = Some(ip("224.0.0.100"));
        let mut to_group = Arrival::multicast(ip("192.0.2.202"));
        assert_eq!(to_group.check(&p), Err(DropReason::OtherMulticastGroup));
        to_group.destination = ip("224.0.0.100");
        assert_eq!(to_group.check(&p), Ok(()));
        assert_eq!(p.advert_destinations(), vec![ip("224.0.0.100")]);
        p.multicast_group = Some(ip("192.0.2.100"));
        assert_eq!(
            p.problems(),
            vec![crate::proto::ParamsError::MulticastGroup(ip("192.0.2.100"))]
        );
    }

    #[test]
    fn unicast_instances_skip_the_ttl_check_and_refuse_multicast() {
        let p = params(Some(Unicast {
            peers: vec![UnicastPeer::new(ip("192.0.2.202"))],
            ..Unicast::default()
        }));
        assert_eq!(
            to_us("192.0.2.202", 254).check(&p),
            Ok(()),
            "one router away"
        );
        assert_eq!(
            to_us("198.51.100.9", 64).check(&p),
            Ok(()),
            "unlisted sources count unless check_unicast_src"
        );
        assert_eq!(
            Arrival::multicast(ip("192.0.2.202")).check(&p),
            Err(DropReason::UnexpectedMulticast)
        );
    }

    #[test]
    fn checked_sources_must_be_peers_within_their_ttl_range() {
        let ranged = UnicastPeer {
            min_ttl: 254,
            max_ttl: 254,
            ..UnicastPeer::new(ip("198.51.100.2"))
        };
        let p = params(Some(Unicast {
            peers: vec![UnicastPeer::new(ip("192.0.2.202")), ranged],
            ..Unicast::default()
        }));
        assert!(
            p.unicast.as_ref().unwrap().checks_source(),
            "a TTL range implies it"
        );
        assert_eq!(to_us("198.51.100.2", 254).check(&p), Ok(()));
        assert_eq!(
            to_us("198.51.100.2", 255).check(&p),
            Err(DropReason::PeerTtlOutOfRange)
        );
        assert_eq!(to_us("192.0.2.202", 17).check(&p), Ok(()), "0..255");
        assert_eq!(
            to_us("198.51.100.9", 255).check(&p),
            Err(DropReason::UnknownUnicastSource)
        );
    }
}

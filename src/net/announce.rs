//! Telling the LAN where a virtual address now lives: gratuitous ARP for
//! IPv4 (RFC 5798 §6.4.2: "broadcast a gratuitous ARP request"), and an
//! unsolicited Neighbor Advertisement with the Override flag for IPv6
//! (RFC 4861 §7.2.6).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const ETH_P_ARP: u16 = 0x0806;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

pub type Mac = [u8; 6];

/// Gratuitous ARP request: sender and target protocol address are both the
/// virtual address, target hardware address zero, broadcast.
pub fn garp_payload(mac: Mac, address: Ipv4Addr) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&1u16.to_be_bytes()); // request
    p[8..14].copy_from_slice(&mac);
    p[14..18].copy_from_slice(&address.octets());
    p[24..28].copy_from_slice(&address.octets());
    p
}

/// Unsolicited NA for `target`: Override set, Solicited clear, with the
/// target link-layer address option. The kernel fills in the checksum.
pub fn na_payload(mac: Mac, target: Ipv6Addr) -> [u8; 32] {
    let mut p = [0u8; 32];
    p[0] = 136; // Neighbor Advertisement
    p[4] = 0x20; // Override
    p[8..24].copy_from_slice(&target.octets());
    p[24] = 2; // option: target link-layer address
    p[25] = 1; // length in units of 8 bytes
    p[26..32].copy_from_slice(&mac);
    p
}

/// Sends announcements on one interface.
pub struct Announcer {
    ifindex: u32,
    mac: Mac,
    arp: Socket,
    icmpv6: Socket,
}

impl Announcer {
    pub fn open(interface: &str, ifindex: u32, mac: Mac) -> io::Result<Announcer> {
        let arp = Socket::new(
            Domain::PACKET,
            Type::DGRAM,
            Some(Protocol::from(i32::from(ETH_P_ARP.to_be()))),
        )?;
        arp.set_nonblocking(true)?;
        let icmpv6 = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        icmpv6.bind_device(Some(interface.as_bytes()))?;
        icmpv6.set_nonblocking(true)?;
        icmpv6.set_multicast_hops_v6(255)?;
        icmpv6.set_multicast_if_v6(ifindex)?;
        icmpv6.set_multicast_loop_v6(false)?;
        super::accept_nothing(&arp)?;
        super::accept_nothing(&icmpv6)?;
        Ok(Announcer {
            ifindex,
            mac,
            arp,
            icmpv6,
        })
    }

    pub fn garp(&self, address: Ipv4Addr) -> io::Result<()> {
        let payload = garp_payload(self.mac, address);
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value
        // that the fields below complete.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ETH_P_ARP.to_be();
        to.sll_ifindex = self.ifindex as i32;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: the buffer and address outlive the call and their
        // lengths are passed exactly.
        let sent = unsafe {
            libc::sendto(
                self.arp.as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
                (&to as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    pub fn unsolicited_na(&self, target: Ipv6Addr) -> io::Result<()> {
        let payload = na_payload(self.mac, target);
        let to = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, self.ifindex));
        self.icmpv6.send_to(&payload, &to).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = [0x4a, 0xe1, 0xfe, 0xfe, 0x64, 0x63];

    #[test]
    fn garp_is_a_request_for_the_address_from_itself() {
        let p = garp_payload(MAC, Ipv4Addr::new(192, 0, 2, 203));
        assert_eq!(&p[6..8], &[0, 1], "ARP request");
        assert_eq!(&p[8..14], &MAC);
        assert_eq!(&p[14..18], &[192, 0, 2, 203], "sender protocol address");
        assert_eq!(&p[18..24], &[0; 6], "target hardware address");
        assert_eq!(&p[24..28], &[192, 0, 2, 203], "target protocol address");
    }

    #[test]
    fn na_overrides_and_carries_our_mac() {
        let target: Ipv6Addr = "2001:db8::250".parse().unwrap();
        let p = na_payload(MAC, target);
        assert_eq!(p[0], 136);
        assert_eq!(p[4] & 0x20, 0x20, "Override");
        assert_eq!(p[4] & 0x40, 0, "not Solicited");
        assert_eq!(&p[8..24], &target.octets());
        assert_eq!(&p[24..26], &[2, 1]);
        assert_eq!(&p[26..32], &MAC);
    }
}

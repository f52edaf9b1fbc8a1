//! A hostile host on the lab LAN: raw IPv4 sockets inside a lab host's
//! namespace, to forge, flood, capture and replay VRRP packets.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vipd::lab::Lab;

pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// An IPv4 packet with protocol 112 to the VRRP group, as a hostile host
/// would craft it (the kernel fills in the checksum and id).
pub fn ip_packet(source: Ipv4Addr, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0, 0, ttl, 112, 0, 0];
    p.extend_from_slice(&source.octets());
    p.extend_from_slice(&GROUP.octets());
    let len = (p.len() + payload.len()) as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Runs `work` on a thread inside host `host`'s namespace (setns moves
/// that thread only; the test's other threads stay put).
pub fn in_host<T: Send + 'static>(
    lab: &Lab,
    host: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let netns = File::open(format!("/var/run/netns/{}", lab.host(host).netns)).unwrap();
    std::thread::spawn(move || {
        setns(&netns, CloneFlags::CLONE_NEWNET).expect("enter the host's namespace");
        work()
    })
    .join()
    .unwrap()
}

/// A raw socket that sends whole IPv4 packets out of eth0.
pub fn sender() -> Socket {
    let socket = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    )
    .unwrap();
    socket.bind_device(Some(b"eth0")).unwrap();
    socket
}

pub fn send(socket: &Socket, packet: &[u8]) {
    let to = SockAddr::from(SocketAddr::V4(SocketAddrV4::new(GROUP, 0)));
    let _ = socket.send_to(packet, &to);
}

/// The IP payload of the next VRRP packet `from` sends, heard on host
/// `host`'s eth0 within `wait`.
pub fn capture(lab: &Lab, host: usize, from: IpAddr, wait: Duration) -> Option<Vec<u8>> {
    let IpAddr::V4(own) = lab.host(host).ipv4 else {
        unreachable!()
    };
    in_host(lab, host, move || {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        socket.join_multicast_v4(&GROUP, &own).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = Instant::now() + wait;
        let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while Instant::now() < deadline {
            let Ok(n) = socket.recv(&mut buffer) else {
                continue;
            };
            // SAFETY: recv initialised the first n bytes.
            let packet: Vec<u8> = buffer[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let header = usize::from(packet[0] & 0x0f) * 4;
            let source = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
            if IpAddr::V4(source) == from && packet.len() > header {
                return Some(packet[header..].to_vec());
            }
        }
        None
    })
}

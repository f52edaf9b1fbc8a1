//! A hostile host on the lab LAN: raw IPv4 sockets inside a lab host's
//! namespace, to forge, flood, capture and replay VRRP packets.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vipd::lab::Lab;

pub const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// A lab host's IPv4 address as the raw sockets take it.
pub fn v4(address: IpAddr) -> Ipv4Addr {
    match address {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => panic!("{address} is not IPv4"),
    }
}

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

/// A VRRPv3 advert for VRID 51 and the seed's VIP claiming to come from
/// `source`, as an IP packet; with a trailer of `key_id` whose tag is
/// made up, if `key_id` is given (fresh by the clock: only the tag can
/// give it away).
pub fn forged_v3(source: Ipv4Addr, priority: u8, key_id: Option<u8>) -> Vec<u8> {
    use vipd::proto::auth_hmac::Trailer;
    use vipd::proto::{AddressList, Advert, Auth, Centiseconds, Endpoints, Version, Vrid};
    let advert = Advert {
        version: Version::V3,
        vrid: Vrid::new(51).unwrap(),
        priority,
        interval: Centiseconds::from_secs(1),
        auth: Auth::None,
        addresses: AddressList::V4(vec!["192.0.2.203".parse().unwrap()]),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let trailer = key_id.map(|key_id| Trailer {
        ext_type: 1,
        key_id,
        reserved: 0,
        sequence: (now.as_secs() << 32) | 0xffff,
        tag: [0xa5; 16],
    });
    let mut payload = Vec::new();
    advert
        .encode_signed_into(
            &Endpoints::new(source.into(), GROUP.into()),
            trailer.as_ref(),
            &mut payload,
        )
        .unwrap();
    ip_packet(source, 255, &payload)
}

/// How long, during an attack, the VIP was on no host, on several, or
/// on one other than expected.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exposure {
    pub none: Duration,
    pub several: Duration,
    pub other: Duration,
    pub packets: usize,
}

impl Exposure {
    pub fn total(&self) -> Duration {
        self.none + self.several + self.other
    }
}

/// Sends `packets` in turn from host `attacker`, one every `every`, for
/// `long`; meanwhile measures where `vip` was against `expected`.
pub fn attack(
    lab: &Lab,
    attacker: usize,
    vip: IpAddr,
    packets: Vec<Vec<u8>>,
    every: Duration,
    long: Duration,
    expected: &[usize],
) -> Exposure {
    let netns = File::open(format!("/var/run/netns/{}", lab.host(attacker).netns)).unwrap();
    let sender = std::thread::spawn(move || {
        setns(&netns, CloneFlags::CLONE_NEWNET).unwrap();
        let socket = sender();
        let start = Instant::now();
        let mut i = 0;
        while start.elapsed() < long {
            send(&socket, &packets[i % packets.len()]);
            i += 1;
            std::thread::sleep(every);
        }
        i
    });
    let mut exposure = Exposure::default();
    let mut last = Instant::now();
    while !sender.is_finished() {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        let holders = lab.holders(vip);
        let slot = match holders.len() {
            0 => Some(&mut exposure.none),
            1 if holders != expected => Some(&mut exposure.other),
            1 => None,
            _ => Some(&mut exposure.several),
        };
        if let Some(slot) = slot {
            *slot += now - last;
        }
        last = now;
    }
    exposure.packets = sender.join().unwrap();
    exposure
}

/// One genuine advert of `from`, recorded off the wire on host
/// `listener`, as the IP packet to replay.
pub fn record(lab: &Lab, listener: usize, from: IpAddr, wait: Duration) -> Vec<u8> {
    let IpAddr::V4(source) = from else {
        unreachable!()
    };
    let payload = capture(lab, listener, from, wait).expect("an advert heard");
    ip_packet(source, 255, &payload)
}

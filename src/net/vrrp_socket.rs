//! Raw IP sockets for VRRP (protocol 112): one receiver per interface and
//! family, one sender per source address.
//!
//! Thin on purpose: these move bytes and the IP facts the protocol core
//! needs (source, destination, TTL); every judgement is the core's.

use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::socket::{self as nixsock, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn6};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use crate::proto::packet::{IP_PROTOCOL, MULTICAST_V4, MULTICAST_V6, REQUIRED_TTL};

/// Room for a junk flood to queue without pushing real adverts out: at
/// ~100 bytes of kernel overhead per small packet, 8 MiB holds tens of
/// thousands. Set with SO_RCVBUFFORCE so rmem_max does not cap it.
const RECEIVE_BUFFER: usize = 8 << 20;

/// When the kernel queued a packet, as an `Instant`.
///
/// The core times Master_Down from an advert's arrival; the moment it was
/// read is later by however long the daemon took to wake, which the
/// failover bench counted as takeover delay. The kernel stamps each packet
/// (SO_TIMESTAMPNS) on the real-time clock; its age, measured on that
/// clock, is taken off the monotonic now. A stamp missing, from the
/// future or implausibly old (a clock step) yields `read_at`.
fn arrival(stamp: Option<Duration>, read_at: Instant, real_now: SystemTime) -> Instant {
    let Some(stamp) = stamp else { return read_at };
    let Ok(now) = real_now.duration_since(SystemTime::UNIX_EPOCH) else {
        return read_at;
    };
    match now.checked_sub(stamp) {
        Some(age) if age <= Duration::from_secs(1) => read_at.checked_sub(age).unwrap_or(read_at),
        _ => read_at,
    }
}

/// The SCM_TIMESTAMPNS among a received message's control messages.
///
/// # Safety
/// `header` must be one the kernel filled in by recvmsg/recvmmsg, its
/// control buffer still alive.
unsafe fn timestamp(header: &libc::msghdr) -> Option<Duration> {
    // SAFETY: per the caller, the CMSG macros walk a valid control buffer.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let stamp: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return Some(Duration::new(
                    u64::try_from(stamp.tv_sec).ok()?,
                    u32::try_from(stamp.tv_nsec).ok()?,
                ));
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    None
}

/// One packet as the core needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// When it was read: the time the core is told it happened, so
    /// Master_Down_Timer is not stretched by queueing between actors.
    pub at: Instant,
    pub source: IpAddr,
    pub destination: IpAddr,
    pub ttl: u8,
    pub payload: Vec<u8>,
}

/// What one `recv_batch` read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The receive queue was found empty: nothing more until the socket
    /// becomes readable again.
    pub drained: bool,
}

/// Receives every VRRP packet arriving on one interface for one family.
pub struct VrrpReceiver {
    socket: Socket,
    ipv6: bool,
}

impl VrrpReceiver {
    /// `groups`: the multicast groups the instances here hear adverts on
    /// (the RFC's unless mcast_dst_ip says otherwise); each is joined,
    /// and an advert to any group reaches the core, which judges it.
    pub fn open(
        interface: &str,
        ifindex: u32,
        ipv6: bool,
        groups: &[IpAddr],
    ) -> io::Result<VrrpReceiver> {
        let socket = raw_vrrp_socket(interface, ipv6)?;
        if nixsock::setsockopt(&socket, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
            socket.set_recv_buffer_size(RECEIVE_BUFFER)?;
        }
        let rfc_group = if ipv6 {
            IpAddr::V6(MULTICAST_V6)
        } else {
            IpAddr::V4(MULTICAST_V4)
        };
        let mut joined = 0;
        for group in groups.iter().chain(groups.is_empty().then_some(&rfc_group)) {
            match group {
                IpAddr::V6(group) if ipv6 => socket.join_multicast_v6(group, ifindex)?,
                IpAddr::V4(group) if !ipv6 => {
                    socket.join_multicast_v4_n(group, &InterfaceIndexOrAddress::Index(ifindex))?
                }
                _ => continue,
            }
            joined += 1;
        }
        if joined == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no multicast group of the receiver's family to join",
            ));
        }
        if ipv6 {
            socket.set_multicast_loop_v6(false)?;
            nixsock::setsockopt(&socket, sockopt::Ipv6RecvHopLimit, &true)
                .map_err(io::Error::from)?;
            nixsock::setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
                .map_err(io::Error::from)?;
        } else {
            socket.set_multicast_loop_v4(false)?;
        }
        nixsock::setsockopt(&socket, sockopt::ReceiveTimestampns, &true)
            .map_err(io::Error::from)?;
        Ok(VrrpReceiver { socket, ipv6 })
    }

    /// Appends up to `max` queued packets to `out`: one system call for a
    /// whole batch of IPv4 packets (recvmmsg), one per packet for IPv6,
    /// whose facts come as control messages.
    pub fn recv_batch(&self, out: &mut Vec<Received>, max: usize) -> io::Result<Batch> {
        if self.ipv6 {
            for _ in 0..max {
                match self.try_recv_v6()? {
                    Some(packet) => out.push(packet),
                    None => return Ok(Batch { drained: true }),
                }
            }
            return Ok(Batch { drained: false });
        }
        self.recv_batch_v4(out, max)
    }

    fn recv_batch_v4(&self, out: &mut Vec<Received>, max: usize) -> io::Result<Batch> {
        const SLOTS: usize = 32;
        const SIZE: usize = 2048;
        // Room for one SCM_TIMESTAMPNS, u64s for cmsghdr's alignment.
        const CONTROL: usize = 8;
        let mut buffers = [[MaybeUninit::<u8>::uninit(); SIZE]; SLOTS];
        let mut controls = [[0u64; CONTROL]; SLOTS];
        let wanted = max.min(SLOTS);
        // SAFETY: all-zero iovec and mmsghdr are valid (null pointers,
        // zero lengths); each is pointed at its buffers below.
        let mut iovecs: [libc::iovec; SLOTS] = unsafe { std::mem::zeroed() };
        let mut headers: [libc::mmsghdr; SLOTS] = unsafe { std::mem::zeroed() };
        for i in 0..wanted {
            iovecs[i].iov_base = buffers[i].as_mut_ptr().cast();
            iovecs[i].iov_len = SIZE;
            headers[i].msg_hdr.msg_iov = &mut iovecs[i];
            headers[i].msg_hdr.msg_iovlen = 1;
            headers[i].msg_hdr.msg_control = controls[i].as_mut_ptr().cast();
            headers[i].msg_hdr.msg_controllen = std::mem::size_of_val(&controls[i]);
        }
        // SAFETY: `headers` holds `wanted` initialised entries whose iovecs
        // point at live buffers of SIZE bytes; the kernel writes at most
        // that much into each and sets msg_len.
        let received = unsafe {
            libc::recvmmsg(
                self.socket.as_raw_fd(),
                headers.as_mut_ptr(),
                wanted as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock => Ok(Batch { drained: true }),
                io::ErrorKind::Interrupted => Ok(Batch { drained: false }),
                _ => Err(error),
            };
        }
        let (read_at, real_now) = (Instant::now(), SystemTime::now());
        for i in 0..received as usize {
            let n = (headers[i].msg_len as usize).min(SIZE);
            // SAFETY: the kernel initialised the first msg_len bytes.
            let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buffers[i].as_ptr().cast(), n) };
            // SAFETY: the kernel filled in this header's control buffer and
            // set msg_controllen to what it wrote.
            let stamp = unsafe { timestamp(&headers[i].msg_hdr) };
            out.push(parse_ipv4(arrival(stamp, read_at, real_now), bytes));
        }
        // Fewer than asked for: the queue was empty at that instant.
        Ok(Batch {
            drained: (received as usize) < wanted,
        })
    }

    /// The next queued IPv6 packet, `Ok(None)` when none is queued.
    fn try_recv_v6(&self) -> io::Result<Option<Received>> {
        match self.recv_v6() {
            Ok(packet) => Ok(packet),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// IPv6 raw sockets deliver only the payload: hop limit and
    /// destination come as control messages.
    fn recv_v6(&self) -> io::Result<Option<Received>> {
        // The largest legal VRRPv3 message: 8 bytes of header and 255
        // IPv6 addresses, 4088 bytes (IPv6 raw sockets give no IP header).
        let mut buf = [0u8; 4096];
        let mut cmsg = nix::cmsg_space!(libc::c_int, libc::in6_pktinfo, libc::timespec);
        let (n, source, destination, ttl, stamp) = {
            let mut iov = [io::IoSliceMut::new(&mut buf)];
            let msg = nixsock::recvmsg::<SockaddrIn6>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(io::Error::from)?;
            let mut ttl = 0;
            let mut destination = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
            let mut stamp = None;
            for message in msg.cmsgs().map_err(io::Error::from)? {
                match message {
                    ControlMessageOwned::ScmTimestampns(at) => {
                        stamp = Some(Duration::from(at));
                    }
                    ControlMessageOwned::Ipv6HopLimit(limit) => {
                        ttl = u8::try_from(limit).unwrap_or(0)
                    }
                    ControlMessageOwned::Ipv6PacketInfo(info) => {
                        destination = IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            let source = msg
                .address
                .map(|a| IpAddr::V6(a.ip()))
                .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
            // Longer than any legal advert: judged as cut short.
            let n = if msg.flags.contains(MsgFlags::MSG_TRUNC) {
                0
            } else {
                msg.bytes
            };
            (n, source, destination, ttl, stamp)
        };
        let payload = buf[..n].to_vec();
        Ok(Some(Received {
            at: arrival(stamp, Instant::now(), SystemTime::now()),
            source,
            destination,
            ttl,
            payload,
        }))
    }
}

impl AsFd for VrrpReceiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// For registering with the runtime's reactor (tokio's AsyncFd).
impl AsRawFd for VrrpReceiver {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.socket.as_raw_fd()
    }
}

/// Splits an IPv4 packet into what the core needs. Malformed IP (which the
/// kernel should never hand us) yields an empty payload, which the core
/// counts as truncated.
pub fn parse_ipv4(at: Instant, bytes: &[u8]) -> Received {
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    if bytes.len() < 20 {
        return Received {
            at,
            source: unspecified,
            destination: unspecified,
            ttl: 0,
            payload: Vec::new(),
        };
    }
    let header_len = usize::from(bytes[0] & 0x0f) * 4;
    let total_len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]])).min(bytes.len());
    let source = IpAddr::V4(Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]));
    let destination = IpAddr::V4(Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]));
    let payload = if header_len >= 20 && header_len <= total_len {
        bytes[header_len..total_len].to_vec()
    } else {
        Vec::new()
    };
    Received {
        at,
        source,
        destination,
        ttl: bytes[8],
        payload,
    }
}

/// IP precedence "internet control" (TOS / traffic class 0xc0), as
/// keepalived and FRR send VRRP, so QoS keeps adverts ahead of bulk traffic.
const INTERNET_CONTROL: u32 = 0xc0;

/// Sends adverts from one source address on one interface: to the VRRP
/// group with TTL 255, or to unicast peers with the TTL the core chose.
pub struct VrrpSender {
    socket: Socket,
    ifindex: u32,
}

impl VrrpSender {
    /// `unicast_ttl`: the TTL / hop limit for unicast destinations; None
    /// leaves the kernel's default.
    pub fn open(
        interface: &str,
        ifindex: u32,
        source: IpAddr,
        unicast_ttl: Option<u8>,
    ) -> io::Result<VrrpSender> {
        let socket = raw_vrrp_socket(interface, source.is_ipv6())?;
        // Bound to our source address, it would otherwise queue unicast VRRP.
        super::accept_nothing(&socket)?;
        match source {
            IpAddr::V4(_) => {
                socket.bind(&SockAddr::from(SocketAddr::new(source, 0)))?;
                // No IP_MULTICAST_IF: the device the socket is bound to
                // carries multicast too. Set by address it would pick the
                // parent's device when sending through a VMAC.
                socket.set_multicast_ttl_v4(u32::from(REQUIRED_TTL))?;
                if let Some(ttl) = unicast_ttl {
                    socket.set_ttl_v4(u32::from(ttl))?;
                }
                socket.set_multicast_loop_v4(false)?;
                socket.set_tos_v4(INTERNET_CONTROL)?;
            }
            IpAddr::V6(v6) => {
                let scope = if crate::proto::is_link_local(v6) {
                    ifindex
                } else {
                    0
                };
                socket.bind(&SockAddr::from(SocketAddrV6::new(v6, 0, 0, scope)))?;
                socket.set_multicast_if_v6(ifindex)?;
                socket.set_multicast_hops_v6(u32::from(REQUIRED_TTL))?;
                if let Some(hops) = unicast_ttl {
                    socket.set_unicast_hops_v6(u32::from(hops))?;
                }
                socket.set_multicast_loop_v6(false)?;
                socket.set_tclass_v6(INTERNET_CONTROL)?;
                // The kernel fills in the VRRPv3 checksum for IPv6 raw
                // sockets only if asked (IPV6_CHECKSUM); we compute it
                // ourselves, pseudo-header included, as for IPv4.
            }
        }
        Ok(VrrpSender { socket, ifindex })
    }

    pub fn send_to(&self, payload: &[u8], destination: IpAddr) -> io::Result<()> {
        self.socket
            .send_to(payload, &self.address(destination))
            .map(|_| ())
    }

    fn address(&self, destination: IpAddr) -> SockAddr {
        match destination {
            IpAddr::V4(_) => SockAddr::from(SocketAddr::new(destination, 0)),
            IpAddr::V6(v6) => {
                let scoped = v6.is_multicast() || crate::proto::is_link_local(v6);
                let scope = if scoped { self.ifindex } else { 0 };
                SockAddr::from(SocketAddrV6::new(v6, 0, 0, scope))
            }
        }
    }

    /// Sends every packet with as few system calls as the kernel allows
    /// (sendmmsg, up to SEND_BATCH at a time); `failed(i, error)` is told
    /// of each packet that did not go, the others are not held up by it.
    pub fn send_all(&self, packets: &[(&[u8], IpAddr)], mut failed: impl FnMut(usize, io::Error)) {
        for (chunk_index, chunk) in packets.chunks(SEND_BATCH).enumerate() {
            let first = chunk_index * SEND_BATCH;
            let addresses: Vec<SockAddr> = chunk.iter().map(|&(_, d)| self.address(d)).collect();
            let mut iovecs: Vec<libc::iovec> = chunk
                .iter()
                .map(|(payload, _)| libc::iovec {
                    iov_base: payload.as_ptr().cast_mut().cast(),
                    iov_len: payload.len(),
                })
                .collect();
            // SAFETY: an all-zero mmsghdr is a valid empty header.
            let mut headers: Vec<libc::mmsghdr> = (0..chunk.len())
                .map(|_| unsafe { std::mem::zeroed() })
                .collect();
            let iovec_base = iovecs.as_mut_ptr();
            for (i, header) in headers.iter_mut().enumerate() {
                header.msg_hdr.msg_name = addresses[i].as_ptr().cast_mut().cast();
                header.msg_hdr.msg_namelen = addresses[i].len();
                // SAFETY: i < iovecs.len(); one base pointer for all, so
                // no later borrow of the Vec invalidates an earlier one.
                header.msg_hdr.msg_iov = unsafe { iovec_base.add(i) };
                header.msg_hdr.msg_iovlen = 1;
            }
            let mut next = 0;
            while next < headers.len() {
                let left = &mut headers[next..];
                // SAFETY: every header points at an address, an iovec and
                // a payload that live until this function returns; the
                // kernel only reads them (and writes msg_len).
                let sent = unsafe {
                    libc::sendmmsg(
                        self.socket.as_raw_fd(),
                        left.as_mut_ptr(),
                        left.len() as libc::c_uint,
                        libc::MSG_DONTWAIT,
                    )
                };
                match sent {
                    n if n > 0 => next += n as usize,
                    0 => {
                        failed(first + next, io::ErrorKind::WriteZero.into());
                        next += 1;
                    }
                    _ => {
                        let error = io::Error::last_os_error();
                        if error.kind() == io::ErrorKind::Interrupted {
                            continue;
                        }
                        // The first packet left is the one that failed
                        // (sendmmsg reports an error only when it sent
                        // none): count it and go on with the rest.
                        failed(first + next, error);
                        next += 1;
                    }
                }
            }
        }
    }
}

/// Packets per sendmmsg call: the kernel takes at most UIO_MAXIOV (1024).
const SEND_BATCH: usize = 256;

/// A non-blocking raw socket for protocol 112 on one interface.
fn raw_vrrp_socket(interface: &str, ipv6: bool) -> io::Result<Socket> {
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(
        domain,
        Type::RAW,
        Some(Protocol::from(i32::from(IP_PROTOCOL))),
    )?;
    socket.bind_device(Some(interface.as_bytes()))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_is_read_time_less_the_kernel_stamps_age() {
        let read_at = Instant::now();
        let real_now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let since_epoch = real_now.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let queued = since_epoch - Duration::from_micros(300);
        assert_eq!(
            arrival(Some(queued), read_at, real_now),
            read_at - Duration::from_micros(300)
        );
    }

    #[test]
    fn arrival_falls_back_to_read_time_without_a_believable_stamp() {
        let read_at = Instant::now();
        let real_now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let since_epoch = real_now.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        let future = since_epoch + Duration::from_millis(5);
        let ancient = since_epoch - Duration::from_secs(30);
        for stamp in [None, Some(future), Some(ancient)] {
            assert_eq!(arrival(stamp, read_at, real_now), read_at, "{stamp:?}");
        }
    }

    #[test]
    fn ipv4_header_is_split_off() {
        let mut packet = vec![
            0x45, 0, 0, 40, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 201, 224, 0, 0, 18,
        ];
        packet.extend_from_slice(&[0x21; 20]);
        let received = parse_ipv4(Instant::now(), &packet);
        assert_eq!(received.source, "192.0.2.201".parse::<IpAddr>().unwrap());
        assert_eq!(
            received.destination,
            "224.0.0.18".parse::<IpAddr>().unwrap()
        );
        assert_eq!(received.ttl, 255);
        assert_eq!(received.payload, vec![0x21; 20]);
    }

    #[test]
    fn malformed_ipv4_yields_an_empty_payload() {
        assert!(parse_ipv4(Instant::now(), &[0x45; 10]).payload.is_empty());
        let mut bad_ihl = vec![
            0x4f, 0, 0, 24, 0, 0, 0, 0, 255, 112, 0, 0, 192, 0, 2, 1, 224, 0, 0, 18, 1, 2, 3, 4,
        ];
        assert!(parse_ipv4(Instant::now(), &bad_ihl).payload.is_empty());
        bad_ihl[0] = 0x44;
        assert!(parse_ipv4(Instant::now(), &bad_ihl).payload.is_empty());
    }
}

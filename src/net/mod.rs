//! Thin wrappers over the kernel: raw VRRP sockets, rtnetlink, and
//! GARP / unsolicited NA, nftables. No protocol decisions are made here.

pub mod announce;
pub mod firewall;
pub mod interfaces;
pub mod netlink;
pub mod outbox;
pub mod routes;
pub mod sender_pool;
pub mod vmac;
pub mod vrrp_socket;

use std::io;

use socket2::{SockFilter, Socket};

/// For send-only sockets: a filter that accepts nothing, so their receive
/// queues never fill with traffic nobody reads.
pub(crate) fn accept_nothing(socket: &Socket) -> io::Result<()> {
    socket.attach_filter(&[SockFilter::new(
        (libc::BPF_RET | libc::BPF_K) as u16,
        0,
        0,
        0,
    )])
}

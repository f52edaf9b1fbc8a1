//! The kernel's process events connector (netlink NETLINK_CONNECTOR,
//! CN_IDX_PROC; include/uapi/linux/cn_proc.h): forks, execs, name changes
//! and exits as they happen, as keepalived's track_process reads them
//! (keepalived/core/track_process.c, nl_connect, set_proc_ev_listen).
//!
//! The kernel answers only in the initial network namespace: elsewhere
//! the listen request fails with ECONNREFUSED (keepalived logs "Failed to
//! set/clear process event listen - errno 111" and counts nothing), and
//! the caller falls back to pidfds and scans. Subscribing needs
//! CAP_NET_ADMIN, which the daemon keeps.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;

const PROC_EVENT_NONE: u32 = 0x0000_0000;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

const NLMSG_HDR: usize = 16;
const CN_MSG: usize = 20;
/// what, cpu, timestamp_ns.
const EVENT_HDR: usize = 16;

/// A process (thread group leader) event. Threads' events are left out:
/// a thread is not a process to count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcEvent {
    /// The kernel's answer to the listen request (0: listening).
    Ack {
        err: u32,
    },
    Fork {
        parent: u32,
        child: u32,
    },
    Exec {
        pid: u32,
    },
    Comm {
        pid: u32,
        comm: String,
    },
    Exit {
        pid: u32,
    },
}

pub struct Connector {
    fd: OwnedFd,
}

impl AsRawFd for Connector {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Events lost: the socket's buffer overflowed (a burst of forks). The
/// caller scans /proc again.
pub const LOST: i32 = libc::ENOBUFS;

impl Connector {
    /// Subscribes; fails where the kernel has no connector for this
    /// network namespace (ECONNREFUSED), without CAP_NET_ADMIN (EPERM),
    /// or where it takes the request and never answers: from a PID or
    /// user namespace other than the first it ignores it silently
    /// (drivers/connector/cn_proc.c, cn_proc_mcast_ctl), so only its
    /// acknowledgement proves events will come.
    pub fn open() -> io::Result<Connector> {
        if in_a_child_pid_namespace() {
            return Err(io::Error::other(
                "vipd runs in a PID namespace other than the first (a container), where the kernel sends no process events",
            ));
        }
        // SAFETY: plain socket calls on integers and local structs.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_CONNECTOR,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just made and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a zeroed sockaddr_nl is valid; its fields are set below.
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as u16;
        address.nl_groups = CN_IDX_PROC;
        // SAFETY: address is a sockaddr_nl of the size given.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &address as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if bound != 0 {
            return Err(io::Error::last_os_error());
        }
        let connector = Connector { fd };
        connector.listen()?;
        connector.acknowledged(std::time::Duration::from_secs(1))?;
        Ok(connector)
    }

    /// Waits up to `limit` for the kernel's answer to the listen request.
    fn acknowledged(&self, limit: std::time::Duration) -> io::Result<()> {
        let deadline = std::time::Instant::now() + limit;
        let mut buf = vec![0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::Error::other(
                    "the kernel did not acknowledge the listen request (a PID or user namespace other than the first?)",
                ));
            }
            let mut poll = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut poll, 1, left.as_millis() as i32 + 1) };
            if ready < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            if ready == 0 {
                continue;
            }
            match self.receive(&mut buf) {
                Ok(events) => {
                    for event in events {
                        match event {
                            ProcEvent::Ack { err: 0 } => return Ok(()),
                            ProcEvent::Ack { err } => {
                                return Err(io::Error::from_raw_os_error(err as i32))
                            }
                            _ => {} // events before the answer: the scan that follows covers them
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn listen(&self) -> io::Result<()> {
        let mut message = Vec::with_capacity(NLMSG_HDR + CN_MSG + 4);
        let total = (NLMSG_HDR + CN_MSG + 4) as u32;
        message.extend_from_slice(&total.to_ne_bytes());
        message.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        message.extend_from_slice(&0u16.to_ne_bytes()); // flags
        message.extend_from_slice(&0u32.to_ne_bytes()); // seq
        message.extend_from_slice(&std::process::id().to_ne_bytes());
        message.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        message.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes()); // seq
        message.extend_from_slice(&0u32.to_ne_bytes()); // ack
        message.extend_from_slice(&4u16.to_ne_bytes()); // len
        message.extend_from_slice(&0u16.to_ne_bytes()); // flags
        message.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        // SAFETY: message is a valid buffer of its length.
        let sent = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                message.as_ptr() as *const libc::c_void,
                message.len(),
                0,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// One datagram's events; WouldBlock when none waits, LOST when the
    /// kernel dropped some.
    /// Only the kernel's messages count (sender port 0).
    pub fn receive(&self, buf: &mut [u8]) -> io::Result<Vec<ProcEvent>> {
        // SAFETY: a zeroed sockaddr_nl is valid; recvfrom fills it.
        let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: buf and from are valid writable buffers of their lengths.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut from as *mut libc::sockaddr_nl as *mut libc::sockaddr,
                &mut from_len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if from.nl_pid != 0 {
            return Ok(Vec::new());
        }
        Ok(parse(&buf[..n as usize]))
    }
}

/// /proc/self/status's NSpid holds one pid per PID namespace this
/// process is in, the first namespace's first.
fn in_a_child_pid_namespace() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .is_some_and(|pids| pids.split_whitespace().count() > 1)
    })
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

/// The events in one datagram (netlink messages, each a cn_msg holding a
/// proc_event). Anything short or unknown is skipped: never a panic.
pub fn parse(buf: &[u8]) -> Vec<ProcEvent> {
    let mut events = Vec::new();
    let mut at = 0;
    while let Some(length) = u32_at(buf, at) {
        let length = length as usize;
        if length < NLMSG_HDR || at.checked_add(length).is_none_or(|end| end > buf.len()) {
            break;
        }
        let message = &buf[at..at + length];
        if let Some(event) = parse_event(message.get(NLMSG_HDR + CN_MSG..).unwrap_or(&[])) {
            events.push(event);
        }
        at += (length + 3) & !3;
    }
    events
}

fn parse_event(event: &[u8]) -> Option<ProcEvent> {
    let what = u32_at(event, 0)?;
    let data = event.get(EVENT_HDR..)?;
    let (pid, tgid) = (u32_at(data, 0)?, u32_at(data, 4)?);
    match what {
        // proc_event.event_data.ack.err, where the pids would be.
        PROC_EVENT_NONE => Some(ProcEvent::Ack { err: pid }),
        PROC_EVENT_FORK => {
            let (child, child_tgid) = (u32_at(data, 8)?, u32_at(data, 12)?);
            // A new thread (child_pid != child_tgid) is no new process.
            (child == child_tgid).then_some(ProcEvent::Fork {
                parent: tgid,
                child,
            })
        }
        PROC_EVENT_EXEC => Some(ProcEvent::Exec { pid: tgid }),
        PROC_EVENT_COMM if pid == tgid => {
            let raw = data.get(8..24)?;
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            Some(ProcEvent::Comm {
                pid,
                comm: String::from_utf8_lossy(&raw[..end]).into_owned(),
            })
        }
        PROC_EVENT_EXIT if pid == tgid => Some(ProcEvent::Exit { pid }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(what: u32, words: &[u32], tail: &[u8]) -> Vec<u8> {
        let mut event = Vec::new();
        event.extend_from_slice(&what.to_ne_bytes());
        event.extend_from_slice(&0u32.to_ne_bytes());
        event.extend_from_slice(&0u64.to_ne_bytes());
        for w in words {
            event.extend_from_slice(&w.to_ne_bytes());
        }
        event.extend_from_slice(tail);
        let mut out = Vec::new();
        let total = (NLMSG_HDR + CN_MSG + event.len()) as u32;
        out.extend_from_slice(&total.to_ne_bytes());
        out.extend_from_slice(&[0u8; NLMSG_HDR - 4]);
        out.extend_from_slice(&[0u8; CN_MSG]);
        out.extend_from_slice(&event);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    #[test]
    fn events_are_read_and_threads_left_out() {
        let mut buf = message(PROC_EVENT_FORK, &[10, 10, 11, 11], &[]);
        buf.extend(message(PROC_EVENT_FORK, &[10, 10, 12, 10], &[])); // a thread
        buf.extend(message(PROC_EVENT_EXEC, &[11, 11], &[]));
        let mut comm = *b"haproxy\0\0\0\0\0\0\0\0\0";
        comm[15] = 0;
        buf.extend(message(PROC_EVENT_COMM, &[11, 11], &comm));
        buf.extend(message(PROC_EVENT_EXIT, &[13, 11, 0, 0], &[])); // a thread
        buf.extend(message(PROC_EVENT_EXIT, &[11, 11, 0, 0], &[]));
        assert_eq!(
            parse(&buf),
            vec![
                ProcEvent::Fork {
                    parent: 10,
                    child: 11
                },
                ProcEvent::Exec { pid: 11 },
                ProcEvent::Comm {
                    pid: 11,
                    comm: "haproxy".into()
                },
                ProcEvent::Exit { pid: 11 },
            ]
        );
    }

    #[test]
    fn short_and_odd_input_is_skipped() {
        assert!(parse(&[]).is_empty());
        assert!(parse(&[255; 3]).is_empty());
        let mut buf = message(PROC_EVENT_EXEC, &[11, 11], &[]);
        buf.truncate(buf.len() - 6);
        assert!(parse(&buf).is_empty());
        let mut huge = message(PROC_EVENT_EXEC, &[1, 1], &[]);
        huge[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(parse(&huge).is_empty());
    }
}

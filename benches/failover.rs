//! Crash failover, vipd and keepalived side by side on one netns lab.
//!
//! `cargo bench --bench failover` (root; keepalived installed). For each
//! daemon: B (priority 90) backs up A (priority 100); each trial kills A
//! with SIGKILL and reads a capture of the bridge for
//!
//! - takeover overhead: gap between A's last advert and B's first, minus
//!   B's Master_Down_Interval (what the daemon adds to the RFC's wait);
//! - first GARP delay: B's first gratuitous ARP for the VIP after its
//!   first master advert.
//!
//! Prints both daemons' medians and maxima and the ratio vipd/keepalived.
//! `FAILOVER_TRIALS` sets the trials per daemon (default 10);
//! `FAILOVER_ADVERT=0.1` runs VRRPv3 with 0.1 s adverts instead of the
//! seed's VRRPv2 at 1 s.

#[path = "../integration/support/mod.rs"]
mod support;

use std::fs::File;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::socket::{
    recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, LinkAddr, MsgFlags,
    SockFlag, SockProtocol, SockType,
};
use nix::unistd::Pid;
use support::*;
use vipd::lab::{wait_for, Lab};
use vipd::proto::timers::master_down_interval;
use vipd::proto::{Centiseconds, Version};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 203);
const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 201);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 202);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keepalived,
    Vipd,
}

/// A frame seen on the bridge: realtime nanoseconds and what it was.
#[derive(Clone, Copy, Debug)]
enum Seen {
    Advert {
        at: i128,
        source: Ipv4Addr,
        priority: u8,
    },
    Garp {
        at: i128,
        address: Ipv4Addr,
    },
}

/// Captures adverts and gratuitous ARPs on the switch's bridge, with
/// kernel receive timestamps, until `stop` is set.
fn capture(
    lab: &Lab,
    stop: Arc<AtomicBool>,
) -> (std::thread::JoinHandle<()>, Arc<Mutex<Vec<Seen>>>) {
    let netns = File::open(format!("/var/run/netns/{}", lab.switch)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&seen);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        setns(&netns, CloneFlags::CLONE_NEWNET).unwrap();
        let bridge = nix::net::if_::if_nametoindex("br0").unwrap() as usize;
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::empty(),
            SockProtocol::EthAll,
        )
        .unwrap();
        setsockopt(&fd, sockopt::ReceiveTimestampns, &true).unwrap();
        setsockopt(
            &fd,
            sockopt::ReceiveTimeout,
            &nix::sys::time::TimeVal::new(0, 50_000),
        )
        .unwrap();
        ready_tx.send(()).unwrap();
        let mut frame = [0u8; 2048];
        while !stop.load(Ordering::SeqCst) {
            let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
            let mut iov = [std::io::IoSliceMut::new(&mut frame)];
            let Ok(msg) = recvmsg::<LinkAddr>(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::empty(),
            ) else {
                continue;
            };
            if msg.address.map(|a| a.ifindex()) != Some(bridge) {
                continue;
            }
            let Some(at) = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|m| match m {
                    ControlMessageOwned::ScmTimestampns(ts) => {
                        Some(ts.tv_sec() as i128 * 1_000_000_000 + ts.tv_nsec() as i128)
                    }
                    _ => None,
                })
            }) else {
                continue;
            };
            let n = msg.bytes;
            if let Some(event) = classify(&frame[..n], at) {
                out.lock().unwrap().push(event);
            }
        }
    });
    ready_rx.recv().unwrap();
    (handle, seen)
}

fn classify(frame: &[u8], at: i128) -> Option<Seen> {
    let ether_type = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
    let ip = |o: usize| {
        Some(Ipv4Addr::new(
            *frame.get(o)?,
            *frame.get(o + 1)?,
            *frame.get(o + 2)?,
            *frame.get(o + 3)?,
        ))
    };
    match ether_type {
        0x0800 if *frame.get(14 + 9)? == 112 => {
            let header = usize::from(frame[14] & 0x0f) * 4;
            Some(Seen::Advert {
                at,
                source: ip(14 + 12)?,
                priority: *frame.get(14 + header + 2)?,
            })
        }
        0x0806 => {
            let (sender, target) = (ip(14 + 14)?, ip(14 + 24)?);
            (sender == target).then_some(Seen::Garp {
                at,
                address: sender,
            })
        }
        _ => None,
    }
}

fn realtime_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

/// The seed's VRRPv2 at 1 s, or VRRPv3 at 0.1 s.
#[derive(Clone, Copy)]
struct Timing {
    fast: bool,
}

impl Timing {
    fn from_env() -> Timing {
        Timing {
            fast: std::env::var("FAILOVER_ADVERT").is_ok_and(|a| a.trim() == "0.1"),
        }
    }

    fn flavour(self) -> Flavour {
        if self.fast {
            Flavour::V3Ipv4
        } else {
            Flavour::V2Ipv4
        }
    }

    /// Rewrites a config file written for 1 s adverts.
    fn apply(self, config: std::path::PathBuf) -> std::path::PathBuf {
        if self.fast {
            let text = std::fs::read_to_string(&config).expect("config");
            let text = text
                .replace("advert_int: 1\n", "advert_int: 0.1\n")
                .replace("advert_int 1\n", "advert_int 0.1\n");
            std::fs::write(&config, text).expect("config");
        }
        config
    }

    fn master_down(self) -> Duration {
        if self.fast {
            master_down_interval(Version::V3, 90, Centiseconds::new(10), 3)
        } else {
            master_down_interval(Version::V2, 90, Centiseconds::from_secs(1), 3)
        }
    }

    fn describe(self) -> &'static str {
        if self.fast {
            "VRRPv3, advert 0.1 s"
        } else {
            "VRRPv2, advert 1 s"
        }
    }
}

fn start(
    lab: &mut Lab,
    kind: Kind,
    timing: Timing,
    host: usize,
    priority: u8,
    tag: &str,
) -> (Daemon, Option<std::path::PathBuf>) {
    match kind {
        Kind::Vipd => {
            let config = timing.apply(vipd_config(lab, host, timing.flavour(), priority, "1111"));
            (start_vipd(lab, host, &config, tag, &[]), None)
        }
        Kind::Keepalived => {
            let config = timing.apply(keepalived_config(lab, host, timing.flavour(), priority));
            let daemon = start_keepalived(lab, host, &config, tag);
            let vrrp_pid = lab.dir.join(format!("keepalived-h{host}-{tag}.vrrp.pid"));
            (daemon, Some(vrrp_pid))
        }
    }
}

struct Trial {
    overhead_ms: f64,
    garp_ms: f64,
}

fn trials(kind: Kind, timing: Timing, count: usize) -> Vec<Trial> {
    let mut lab = Lab::new(2).expect("lab");
    let stop = Arc::new(AtomicBool::new(false));
    let (capturer, seen) = capture(&lab, Arc::clone(&stop));
    let (b, _) = start(&mut lab, kind, timing, 2, 90, "b");
    let expected = timing.master_down();
    let mut results = Vec::new();
    for t in 0..count {
        let tag = format!("a{t}");
        let (a, vrrp_pid_file) = start(&mut lab, kind, timing, 1, 100, &tag);
        if wait_for(DEADLINE, || lab.holders(VIP.into()) == vec![1]).is_none() {
            eprintln!(
                "{kind:?} trial {t}: A never became sole master\n{}",
                a.log_text()
            );
            continue;
        }
        // Kill at a random point of the advert cycle.
        std::thread::sleep(Duration::from_millis(2000 + (realtime_ns() % 1000) as u64));
        let killed_at = realtime_ns();
        if let Some(file) = &vrrp_pid_file {
            // keepalived's VRRP child, started by the keepalived we started.
            if let Some(pid) = std::fs::read_to_string(file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        lab.signal(a.pid, Signal::SIGKILL);
        lab.wait_exit(a.pid, DEADLINE);
        // The crashed box's stale address would answer ARP: take it away.
        let _ = lab.exec(1, "ip", &["addr", "del", "192.0.2.203/32", "dev", "eth0"]);
        if wait_for(DEADLINE, || lab.has_address(2, VIP.into())).is_none() {
            eprintln!("{kind:?} trial {t}: B never took over\n{}", b.log_text());
            continue;
        }
        // Let the first burst of GARPs arrive.
        std::thread::sleep(Duration::from_millis(300));
        let seen = seen.lock().unwrap().clone();
        let last_a = seen.iter().filter_map(|s| match s {
            Seen::Advert {
                at,
                source,
                priority,
            } if *source == A && *priority > 0 && *at <= killed_at => Some(*at),
            _ => None,
        });
        let first_b = seen.iter().filter_map(|s| match s {
            Seen::Advert {
                at,
                source,
                priority,
            } if *source == B && *priority > 0 && *at > killed_at => Some(*at),
            _ => None,
        });
        let first_garp = seen.iter().filter_map(|s| match s {
            Seen::Garp { at, address } if *address == VIP && *at > killed_at => Some(*at),
            _ => None,
        });
        match (last_a.max(), first_b.min(), first_garp.min()) {
            (Some(last_a), Some(first_b), Some(garp)) => {
                let gap = (first_b - last_a) as f64 / 1e6;
                let trial = Trial {
                    overhead_ms: gap - expected.as_secs_f64() * 1e3,
                    garp_ms: (garp - first_b) as f64 / 1e6,
                };
                println!(
                    "{kind:?} trial {t}: takeover overhead {:.3} ms, first GARP {:.3} ms after first advert",
                    trial.overhead_ms, trial.garp_ms
                );
                results.push(trial);
            }
            other => eprintln!("{kind:?} trial {t}: incomplete capture {other:?}"),
        }
    }
    stop.store(true, Ordering::SeqCst);
    capturer.join().unwrap();
    results
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        f64::NAN
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().cloned().fold(f64::NAN, f64::max)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass
    // nothing useful either: this bench only runs on request.
    let Some(_) = lab_with_keepalived_or_skip("failover bench", 0) else {
        return;
    };
    let count = std::env::var("FAILOVER_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let timing = Timing::from_env();
    let keepalived = trials(Kind::Keepalived, timing, count);
    let vipd = trials(Kind::Vipd, timing, count);
    let stats = |t: &[Trial]| {
        let overhead: Vec<f64> = t.iter().map(|t| t.overhead_ms).collect();
        let garp: Vec<f64> = t.iter().map(|t| t.garp_ms).collect();
        (
            median(overhead.clone()),
            max(&overhead),
            median(garp.clone()),
            max(&garp),
        )
    };
    let (k, v) = (stats(&keepalived), stats(&vipd));
    println!();
    println!(
        "crash failover, {}, B priority 90 (Master_Down_Interval {:.1} ms), {count} trials each",
        timing.describe(),
        timing.master_down().as_secs_f64() * 1e3
    );
    println!("| metric | keepalived | vipd | vipd/keepalived |");
    println!("|---|---|---|---|");
    println!(
        "| takeover overhead, median ms | {:.3} | {:.3} | {:.2} |",
        k.0,
        v.0,
        v.0 / k.0
    );
    println!(
        "| takeover overhead, max ms | {:.3} | {:.3} | {:.2} |",
        k.1,
        v.1,
        v.1 / k.1
    );
    println!(
        "| first GARP after first advert, median ms | {:.3} | {:.3} | {:.2} |",
        k.2,
        v.2,
        v.2 / k.2
    );
    println!(
        "| first GARP after first advert, max ms | {:.3} | {:.3} | {:.2} |",
        k.3,
        v.3,
        v.3 / k.3
    );
    println!(
        "| trials completed | {} | {} | |",
        keepalived.len(),
        vipd.len()
    );
}

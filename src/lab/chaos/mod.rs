//! A seeded chaos run on a three-host lab: overlapping faults (kills,
//! stops, partitions, ports down, the VIP deleted by hand) and reloads
//! (unchanged, an instance added and removed, a broken file), against vipd
//! or keepalived, judged against four rules. `benches/chaos.rs` drives it;
//! the schedule and the judge are pure and tested here.
//!
//! - [`schedule`]: which fault when, drawn from a seed;
//! - [`daemons`]: vipd's and keepalived's files, starts and signals;
//! - [`network`]: the silent partition (the switch drops a port's frames);
//! - [`observe`]: who holds the VIP, from rtnetlink events per host;
//! - [`run`]: applies the schedule and records the timeline;
//! - [`judge`]: the rules over the timeline;
//! - [`report`]: the summary, the side-by-side table and the JSON line.

pub mod daemons;
pub mod judge;
pub mod logs;
pub mod network;
pub mod observe;
pub mod report;
pub mod run;
pub mod schedule;

use std::net::Ipv4Addr;
use std::time::Duration;

/// VI_1's address, the one judged.
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 203);
/// VI_2's, for the reloads that add and remove it.
pub const SECOND_VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 210);
/// Host i's priority at i - 1: the best live host is the lowest-numbered.
pub const PRIORITIES: [u8; 3] = [100, 90, 80];
/// VRRPv3 at 0.1 s: Master_Down_Interval 0.36 s at priority 100, so a
/// live holder within 1 s is within reach.
pub const ADVERT_INT: &str = "0.1";
/// A restarted daemon counts as starting (excused from holding, not yet
/// live) for this long. Both daemons remove a VIP left by a crash within
/// tens of milliseconds of starting; half a second covers a loaded machine.
pub const STARTING: Duration = Duration::from_millis(500);
/// A daemon that exited on its own is started again after this long, as
/// systemd's `Restart=on-failure` would, unless its file is broken.
pub const RESTART_AFTER_CRASH: Duration = Duration::from_secs(1);
/// At most this many such restarts per host and run, so a daemon that
/// cannot start does not turn the run into a restart loop.
pub const MAX_CRASH_RESTARTS: u32 = 20;

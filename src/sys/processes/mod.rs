//! track_process: counts the processes each tracker matches and says
//! whether its quorum holds, on a thread of its own (it reads /proc,
//! which the thread that sends adverts must never wait for).
//!
//! Where the kernel's process events connector answers (the initial
//! network namespace), forks, execs, renames and exits are learnt as they
//! happen, with a /proc scan at start and after lost events, as keepalived
//! does. Elsewhere (vipd run in a network namespace, where keepalived
//! 2.2.7 counts every process as gone) each counted process is watched by
//! a pidfd, so its exit is as instant, and new ones are found by a scan
//! every SCAN_EVERY.
//!
//! Results are state, not a queue: the latest status of each tracker in a
//! map, and a wake-up for the health actor that coalesces.

pub mod connector;
pub mod pattern;
pub mod proc_fs;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::proto::{CountCause, ProcessQuorum, QuorumParams};

use connector::{Connector, ProcEvent};
use pattern::ProcessPattern;
use proc_fs::ProcessInfo;

/// Without process events, how often /proc is scanned for new processes.
pub const SCAN_EVERY: Duration = Duration::from_secs(1);
/// Processes watched by a pidfd at most; beyond it, exits of the rest are
/// found by the scan (logged once).
pub const MAX_PIDFDS: usize = 1024;
/// Counted processes at most (each matches some tracker); beyond it,
/// more are not counted (logged once).
pub const MAX_COUNTED: usize = 65_536;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracker {
    pub name: String,
    pub pattern: ProcessPattern,
    pub quorum: QuorumParams,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub up: bool,
    pub count: u32,
}

/// How the thread learns of processes, for the log and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Events,
    PidfdsAndScans,
}

#[derive(Default)]
pub struct Shared {
    statuses: Mutex<BTreeMap<String, Status>>,
    changed: tokio::sync::Notify,
    /// The next set of trackers (latest wins: a reload replaces it).
    next: Mutex<Option<Vec<Tracker>>>,
    stop: AtomicBool,
    mode: Mutex<Option<Mode>>,
}

impl Shared {
    pub fn statuses(&self) -> BTreeMap<String, Status> {
        self.statuses.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How processes are learnt, once the thread has started.
    pub fn mode(&self) -> Option<Mode> {
        self.mode.lock().ok().and_then(|m| *m)
    }

    /// Resolves once something changed since the last call.
    pub async fn changed(&self) {
        self.changed.notified().await
    }
}

pub struct Watch {
    shared: Arc<Shared>,
    wake: Arc<OwnedFd>,
    /// What the thread was last given: the same again is not sent (a
    /// rescan would cancel nothing, but costs a scan).
    given: Vec<Tracker>,
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain system call; the descriptor is owned at once.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just made.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn poke(fd: &OwnedFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 bytes from a valid buffer; a full counter is fine.
    unsafe { libc::write(fd.as_raw_fd(), one.as_ptr() as *const libc::c_void, 8) };
}

impl Watch {
    pub fn start(trackers: Vec<Tracker>) -> io::Result<Watch> {
        let shared = Arc::new(Shared::default());
        let wake = Arc::new(eventfd()?);
        let given = trackers.clone();
        let (thread_shared, thread_wake) = (Arc::clone(&shared), Arc::clone(&wake));
        std::thread::Builder::new()
            .name("vipd-processes".into())
            .spawn(move || {
                let mut watcher = Watcher::new(Path::new("/proc").to_path_buf());
                watcher.run(trackers, &thread_shared, &thread_wake);
            })?;
        Ok(Watch {
            shared,
            wake,
            given,
        })
    }

    /// Resolves once the thread has counted for the first time (the
    /// statuses then hold every tracker), or never if it cannot.
    pub async fn counted(&self) {
        loop {
            if self.shared.statuses.lock().is_ok_and(|s| !s.is_empty()) {
                return;
            }
            self.shared.changed().await;
        }
    }

    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    pub fn reconfigure(&mut self, trackers: Vec<Tracker>) {
        if trackers == self.given {
            // Told again so that checks made anew read their counts.
            self.shared.changed.notify_one();
            return;
        }
        self.given = trackers.clone();
        if let Ok(mut next) = self.shared.next.lock() {
            *next = Some(trackers);
        }
        poke(&self.wake);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        poke(&self.wake);
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain system call on integers; the descriptor is owned at once.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just made.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Processes found by a scan: pid to (parent, name, trackers matched).
type Found = HashMap<u32, (u32, String, Vec<usize>)>;

struct Watcher {
    trackers: Vec<(Tracker, ProcessQuorum)>,
    /// Counted processes: pid to the trackers it matches.
    counted: HashMap<u32, Vec<usize>>,
    /// Their names when last read: a counted process of a new name was
    /// exec'd or renamed, and is matched again.
    comms: HashMap<u32, String>,
    pidfds: HashMap<u32, OwnedFd>,
    connector: Option<Connector>,
    proc_root: PathBuf,
    origin: Instant,
    next_scan: Instant,
    said_pidfd_bound: bool,
    said_pidfd_error: bool,
    said_counted_bound: bool,
    said_list_error: bool,
    /// Events were lost: a scan is due, at most one per SCAN_EVERY (a
    /// fork storm must not turn into back-to-back scans).
    rescan_due: bool,
    /// Times events were lost; the first is logged.
    lost: u64,
}

impl Watcher {
    fn new(proc_root: PathBuf) -> Watcher {
        Watcher {
            trackers: Vec::new(),
            counted: HashMap::new(),
            comms: HashMap::new(),
            pidfds: HashMap::new(),
            connector: None,
            proc_root,
            origin: Instant::now(),
            next_scan: Instant::now(),
            said_pidfd_bound: false,
            said_pidfd_error: false,
            said_counted_bound: false,
            said_list_error: false,
            rescan_due: false,
            lost: 0,
        }
    }

    fn mode(&self) -> Mode {
        if self.connector.is_some() {
            Mode::Events
        } else {
            Mode::PidfdsAndScans
        }
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// New trackers, counted from a fresh scan. One kept as it was (a
    /// reload that changes nothing of it) keeps its state, a delay under
    /// way included: a reload changes no priority by itself; a new or
    /// changed one starts from its count with no delay running.
    fn set_trackers(&mut self, trackers: Vec<Tracker>) {
        let mut old: Vec<(Tracker, ProcessQuorum)> = std::mem::take(&mut self.trackers);
        self.counted.clear();
        self.pidfds.clear();
        self.trackers = trackers
            .into_iter()
            .map(|t| {
                let quorum = ProcessQuorum::new(t.quorum, 0);
                (t, quorum)
            })
            .collect();
        let found = self.scan();
        let counts = self.counts_of(&found);
        let now = self.now();
        for (i, (tracker, quorum)) in self.trackers.iter_mut().enumerate() {
            *quorum = match old.iter().position(|(t, _)| t == tracker) {
                Some(k) => {
                    let (_, mut kept) = old.swap_remove(k);
                    kept.on_count(counts[i], CountCause::Seen, now);
                    kept
                }
                None => ProcessQuorum::new(tracker.quorum, counts[i]),
            };
        }
        self.adopt(found);
    }

    /// The longest command line prefix any tracker compares.
    fn cmdline_limit(&self) -> usize {
        self.trackers
            .iter()
            .filter(|(t, _)| t.pattern.needs_cmdline())
            .map(|(t, _)| {
                t.pattern.process.len()
                    + t.pattern.params.iter().map(|p| p.len() + 1).sum::<usize>()
                    + 2
            })
            .max()
            .unwrap_or(0)
    }

    fn matching(&self, info: &ProcessInfo) -> Vec<usize> {
        self.trackers
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| t.pattern.matches(&info.comm, &info.cmdline))
            .map(|(i, _)| i)
            .collect()
    }

    fn read(&self, pid: u32) -> Option<ProcessInfo> {
        proc_fs::read_process(&self.proc_root, pid, self.cmdline_limit())
    }

    /// Every process that matches a tracker, with its parent and name.
    /// A process counted already and still of the same name stays
    /// counted as it was, and a new child of one, of its name (a fork,
    /// not an exec), counts for the parent's trackers: as process events
    /// count them, so a daemon that rewrites its command line (nginx,
    /// postgres) or forks workers counts the same either way.
    fn scan(&mut self) -> Found {
        // The next scan is a whole interval away whatever this one finds:
        // an error must not turn into scanning back to back.
        self.next_scan = Instant::now() + SCAN_EVERY;
        self.rescan_due = false;
        let mut found = Found::new();
        if self.trackers.is_empty() {
            return found;
        }
        let pids = match proc_fs::pids(&self.proc_root) {
            Ok(pids) => {
                self.said_list_error = false;
                pids
            }
            Err(error) => {
                if !std::mem::replace(&mut self.said_list_error, true) {
                    tracing::error!(%error, "track_process: cannot list /proc: {error}; counts stay as they were until it can (said once)");
                }
                return self
                    .counted
                    .iter()
                    .map(|(p, t)| {
                        let comm = self.comms.get(p).cloned().unwrap_or_default();
                        (*p, (0, comm, t.clone()))
                    })
                    .collect();
            }
        };
        let mut unmatched = Vec::new();
        for pid in pids {
            let Some(info) = self.read(pid) else { continue };
            let kept = self
                .counted
                .get(&pid)
                .filter(|_| self.comms.get(&pid) == Some(&info.comm))
                .cloned();
            let trackers = kept.unwrap_or_else(|| self.matching(&info));
            if trackers.is_empty() {
                unmatched.push(info);
            } else {
                found.insert(pid, (info.parent, info.comm, trackers));
            }
        }
        for info in unmatched {
            let inherited = found
                .get(&info.parent)
                .filter(|(_, comm, _)| *comm == info.comm)
                .map(|(_, _, trackers)| trackers.clone());
            if let Some(trackers) = inherited {
                found.insert(info.pid, (info.parent, info.comm, trackers));
            }
        }
        found
    }

    fn counts_of(&self, counted: &Found) -> Vec<u32> {
        let mut counts = vec![0u32; self.trackers.len()];
        for (_, _, trackers) in counted.values() {
            for &i in trackers {
                counts[i] += 1;
            }
        }
        counts
    }

    fn current_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.trackers.len()];
        for trackers in self.counted.values() {
            for &i in trackers {
                counts[i] += 1;
            }
        }
        counts
    }

    /// Makes `found` the counted set (bounded), watching each by a pidfd
    /// when there are no process events.
    fn adopt(&mut self, found: Found) {
        let mut counted = HashMap::new();
        let mut comms = HashMap::new();
        for (pid, (_, comm, trackers)) in found {
            if counted.len() >= MAX_COUNTED {
                if !std::mem::replace(&mut self.said_counted_bound, true) {
                    tracing::warn!(limit = MAX_COUNTED, "track_process: more than {MAX_COUNTED} matching processes; the rest are not counted");
                }
                break;
            }
            counted.insert(pid, trackers);
            comms.insert(pid, comm);
        }
        self.counted = counted;
        self.comms = comms;
        if self.connector.is_none() {
            self.pidfds.retain(|pid, _| self.counted.contains_key(pid));
            let pids: Vec<u32> = self.counted.keys().copied().collect();
            for pid in pids {
                self.watch_exit(pid);
            }
        }
    }

    fn watch_exit(&mut self, pid: u32) {
        if self.connector.is_some() || self.pidfds.contains_key(&pid) {
            return;
        }
        if self.pidfds.len() >= MAX_PIDFDS {
            if !std::mem::replace(&mut self.said_pidfd_bound, true) {
                tracing::warn!(limit = MAX_PIDFDS, "track_process: more than {MAX_PIDFDS} counted processes; the exits of the rest are found by the scan every {SCAN_EVERY:?}");
            }
            return;
        }
        match pidfd_open(pid) {
            Ok(fd) => {
                self.pidfds.insert(pid, fd);
            }
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => self.on_exit(pid),
            // Out of descriptors, or a kernel before 5.3: the process
            // still runs; the scan will see its exit.
            Err(error) => {
                if !std::mem::replace(&mut self.said_pidfd_error, true) {
                    tracing::warn!(%error, "track_process: cannot watch a process by pidfd ({error}); exits are found by the scan every {SCAN_EVERY:?} (said once)");
                }
            }
        }
    }

    /// Applies a change of counts to the quorums.
    fn recount(&mut self, before: &[u32], cause_of: impl Fn(usize, bool) -> CountCause) {
        let now = self.now();
        let after = self.current_counts();
        for (i, (_, quorum)) in self.trackers.iter_mut().enumerate() {
            if after[i] != before[i] {
                quorum.on_count(after[i], cause_of(i, after[i] > before[i]), now);
            }
        }
    }

    fn rescan(&mut self) {
        let before = self.current_counts();
        let old = self.counted.clone();
        let found = self.scan();
        // A new process whose parent was counted for the same tracker is
        // a fork (keepalived's fork_delay applies to it).
        let forked: Vec<bool> = (0..self.trackers.len())
            .map(|i| {
                found.iter().any(|(pid, (parent, _, trackers))| {
                    !old.contains_key(pid)
                        && trackers.contains(&i)
                        && old.get(parent).is_some_and(|t| t.contains(&i))
                })
            })
            .collect();
        self.adopt(found);
        self.recount(&before, |i, rose| match (rose, forked[i]) {
            (true, true) => CountCause::Fork,
            (true, false) => CountCause::Seen,
            (false, _) => CountCause::Exit,
        });
    }

    fn on_exit(&mut self, pid: u32) {
        self.pidfds.remove(&pid);
        if self.counted.contains_key(&pid) {
            let before = self.current_counts();
            self.counted.remove(&pid);
            self.comms.remove(&pid);
            self.recount(&before, |_, _| CountCause::Exit);
        }
    }

    fn on_fork(&mut self, parent: u32, child: u32) {
        let Some(trackers) = self.counted.get(&parent).cloned() else {
            return;
        };
        if self.counted.len() >= MAX_COUNTED {
            return;
        }
        let before = self.current_counts();
        self.counted.insert(child, trackers);
        if let Some(comm) = self.comms.get(&parent).cloned() {
            self.comms.insert(child, comm);
        }
        self.recount(&before, |_, _| CountCause::Fork);
    }

    /// An exec, or with `rename_only` a new name (prctl): what the
    /// process matches now. A rename leaves full_command trackers as they
    /// were: the command line did not change (keepalived's
    /// check_process_comm_change).
    fn on_changed(&mut self, pid: u32, rename_only: bool) {
        let info = self.read(pid);
        let had = self.counted.get(&pid).cloned().unwrap_or_default();
        let mut matching = info.as_ref().map(|i| self.matching(i)).unwrap_or_default();
        if rename_only {
            let by_command = |i: &usize| self.trackers[*i].0.pattern.full_command;
            matching.retain(|i| !by_command(i));
            matching.extend(had.iter().copied().filter(by_command));
            matching.sort_unstable();
        }
        // Names are kept for counted processes only (bounded with them).
        let comm = info.map(|i| i.comm);
        if matching == had {
            if let (Some(comm), false) = (comm, had.is_empty()) {
                self.comms.insert(pid, comm);
            }
            return;
        }
        let before = self.current_counts();
        if matching.is_empty() {
            self.counted.remove(&pid);
            self.comms.remove(&pid);
            self.pidfds.remove(&pid);
        } else if self.counted.len() < MAX_COUNTED || self.counted.contains_key(&pid) {
            self.counted.insert(pid, matching);
            if let Some(comm) = comm {
                self.comms.insert(pid, comm);
            }
            self.watch_exit(pid);
        }
        self.recount(&before, |_, _| CountCause::Seen);
    }

    fn on_event(&mut self, event: ProcEvent) {
        match event {
            ProcEvent::Fork { parent, child } => self.on_fork(parent, child),
            ProcEvent::Exec { pid } => self.on_changed(pid, false),
            ProcEvent::Comm { pid, .. } => self.on_changed(pid, true),
            ProcEvent::Exit { pid } => self.on_exit(pid),
            ProcEvent::Ack { .. } => {}
        }
    }

    /// `force`: say so even if nothing changed (after a reload, the
    /// health actor has checks that wait for their first count).
    fn publish(&self, shared: &Shared, force: bool) {
        let Ok(mut statuses) = shared.statuses.lock() else {
            return;
        };
        let mut changed = force || statuses.len() != self.trackers.len();
        let fresh: BTreeMap<String, Status> = self
            .trackers
            .iter()
            .map(|(t, q)| {
                let status = Status {
                    up: q.is_up(),
                    count: q.count(),
                };
                changed |= statuses.get(&t.name) != Some(&status);
                (t.name.clone(), status)
            })
            .collect();
        if changed {
            *statuses = fresh;
            shared.changed.notify_one();
        }
    }

    fn open_events(&mut self) {
        match Connector::open() {
            Ok(connector) => {
                tracing::info!("track_process: learning process starts and exits from the kernel's process events");
                self.connector = Some(connector);
                self.pidfds.clear();
            }
            Err(error) => {
                let why = match error.raw_os_error() {
                    Some(libc::ECONNREFUSED) => {
                        "the kernel sends none into a network namespace other than the first"
                            .to_string()
                    }
                    _ => error.to_string(),
                };
                tracing::info!(%error, "track_process: no process events ({why}); watching counted processes by pidfd and scanning /proc every {SCAN_EVERY:?} for new ones");
            }
        }
    }

    fn run(&mut self, trackers: Vec<Tracker>, shared: &Shared, wake: &OwnedFd) {
        say_if_hidden(&self.proc_root);
        // Events from now on; the scan then misses nothing.
        self.open_events();
        if let Ok(mut mode) = shared.mode.lock() {
            *mode = Some(self.mode());
        }
        self.set_trackers(trackers);
        self.publish(shared, true);
        let mut buf = vec![0u8; 16 * 1024];
        while !shared.stop.load(Ordering::SeqCst) {
            let deadline = self
                .trackers
                .iter()
                .filter_map(|(_, q)| q.deadline())
                .min()
                .map(|at| at.saturating_sub(self.now()));
            let scans = self.mode() == Mode::PidfdsAndScans || self.rescan_due;
            let scan_in = (scans && !self.trackers.is_empty())
                .then(|| self.next_scan.saturating_duration_since(Instant::now()));
            let timeout = match (deadline, scan_in) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut fds = vec![libc::pollfd {
                fd: wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            if let Some(c) = &self.connector {
                fds.push(libc::pollfd {
                    fd: c.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let pidfd_pids: Vec<u32> = self.pidfds.keys().copied().collect();
            for pid in &pidfd_pids {
                fds.push(libc::pollfd {
                    fd: self.pidfds[pid].as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let timeout_ms = timeout.map_or(-1, |t| t.as_millis().min(60_000) as i32 + 1);
            // SAFETY: fds is a valid array of pollfd of its length.
            let ready =
                unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
            if ready < 0 {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    tracing::error!(%error, "track_process: poll failed: {error}");
                    std::thread::sleep(Duration::from_secs(1)); // never spin
                }
                continue;
            }
            if fds[0].revents != 0 {
                let mut counter = [0u8; 8];
                // SAFETY: reads 8 bytes into a valid buffer.
                unsafe {
                    libc::read(
                        wake.as_raw_fd(),
                        counter.as_mut_ptr() as *mut libc::c_void,
                        8,
                    )
                };
                let next = shared.next.lock().ok().and_then(|mut n| n.take());
                if let Some(trackers) = next {
                    self.set_trackers(trackers);
                    self.publish(shared, true);
                }
            }
            let mut offset = 1;
            if self.connector.is_some() {
                if fds[1].revents != 0 {
                    self.drain_events(&mut buf);
                }
                offset = 2;
            }
            for (k, pid) in pidfd_pids.iter().enumerate() {
                if fds[offset + k].revents != 0 {
                    self.on_exit(*pid);
                }
            }
            let scans = self.mode() == Mode::PidfdsAndScans || self.rescan_due;
            if scans && Instant::now() >= self.next_scan {
                self.rescan();
            }
            let now = self.now();
            for (_, quorum) in &mut self.trackers {
                quorum.on_timer(now);
            }
            self.publish(shared, false);
        }
    }

    fn drain_events(&mut self, buf: &mut [u8]) {
        // Bounded: a storm of forks is read in slices, then polled again.
        for _ in 0..256 {
            let Some(connector) = &self.connector else {
                return;
            };
            match connector.receive(buf) {
                Ok(events) => {
                    for event in events {
                        self.on_event(event);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.raw_os_error() == Some(connector::LOST) => {
                    self.lost += 1;
                    if self.lost == 1 {
                        tracing::warn!("track_process: process events were lost (a burst of forks); scanning /proc, at most once a second while it lasts (said once)");
                    }
                    self.rescan_due = true;
                }
                Err(error) => {
                    tracing::error!(%error, "track_process: process events failed: {error}; watching by pidfd and scanning /proc every {SCAN_EVERY:?}");
                    self.connector = None;
                    self.rescan();
                    return;
                }
            }
        }
    }
}

/// hidepid hides other users' processes from a reader without
/// CAP_SYS_PTRACE or the mount's group: a track_process would count them
/// as gone. Said once, with what to do.
fn say_if_hidden(proc_root: &Path) {
    let Ok(mountinfo) = std::fs::read_to_string(proc_root.join("self/mountinfo")) else {
        return;
    };
    let hidden = proc_fs::hidepid(&mountinfo);
    let Some(mode) = &hidden.mode else { return };
    // Without gid= the kernel's group is root's (0); `ptraceable` lets no
    // group through (fs/proc/base.c, has_pid_permissions).
    let gid = hidden.gid.unwrap_or(0);
    let in_group = mode != "ptraceable"
        && mode != "4"
        && (nix::unistd::getgroups()
            .map(|groups| groups.iter().any(|g| g.as_raw() == gid))
            .unwrap_or(false)
            || nix::unistd::getegid().as_raw() == gid);
    if in_group {
        tracing::info!(hidepid = %mode, "track_process: /proc is mounted with hidepid={mode}; vipd is in its group (gid={gid}) and sees every process");
    } else {
        let remedy = match hidden.gid {
            _ if mode == "ptraceable" || mode == "4" => "with hidepid=ptraceable only CAP_SYS_PTRACE sees them, which vipd does not keep: mount /proc with hidepid=invisible,gid=GROUP (vipd joins that group when it starts)".to_string(),
            Some(gid) => format!("vipd joins /proc's group (gid={gid}) when it starts with track_process configured; restart it"),
            None => "mount /proc with gid=GROUP as well (vipd joins that group when it starts)".to_string(),
        };
        tracing::warn!(hidepid = %mode, "track_process: /proc is mounted with hidepid={mode}: processes of other users are hidden from vipd and would be counted as gone; {remedy}");
    }
}

/// The group vipd must join at start to see every process, if /proc
/// hides them and names one.
pub fn hidepid_group() -> Option<u32> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let hidden = proc_fs::hidepid(&mountinfo);
    // `ptraceable` lets no group through.
    let mode = hidden.mode.filter(|m| m != "ptraceable" && m != "4");
    mode.and(hidden.gid).filter(|gid| *gid != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::QuorumParams;
    use pattern::ParamMatch;

    /// A copy of sleep under a name of this run's own, started and
    /// counted, then killed and counted as gone, by the events where the
    /// kernel sends them (this test's namespace is usually the first),
    /// else by pidfd. Needs root (the events need CAP_NET_ADMIN).
    #[test]
    fn a_process_is_counted_while_it_runs() {
        if !crate::lab::testing::root_or_skip("a_process_is_counted_while_it_runs") {
            return;
        }
        let dir = std::env::temp_dir().join(format!("vipd-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("vpw{}", std::process::id() % 100_000);
        let program = dir.join(&name);
        std::fs::copy("/bin/sleep", &program).unwrap();
        let watch = Watch::start(vec![Tracker {
            name: "svc".into(),
            pattern: ProcessPattern {
                process: name,
                full_command: false,
                params: Vec::new(),
                param_match: ParamMatch::None,
            },
            quorum: QuorumParams::default(),
        }])
        .unwrap();
        let shared = watch.shared();
        let status = || shared.statuses().get("svc").copied();
        let wait = |want: Status| {
            crate::lab::wait_for(Duration::from_secs(20), || status() == Some(want))
                .unwrap_or_else(|| panic!("expected {want:?}, have {:?}", status()))
        };
        wait(Status {
            up: false,
            count: 0,
        });
        let mut child = std::process::Command::new(&program)
            .arg("1000")
            .spawn()
            .unwrap();
        let started = wait(Status { up: true, count: 1 });
        child.kill().unwrap();
        child.wait().unwrap();
        let ended = wait(Status {
            up: false,
            count: 0,
        });
        println!(
            "{:?}: counted after {started:?}, gone after {ended:?}",
            shared.mode()
        );
        drop(watch);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

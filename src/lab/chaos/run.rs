//! One chaos run: a fresh three-host lab, the daemon under test on every
//! host, the schedule applied step by step, and the timeline recorded for
//! the judge: who held the VIP (from [`observe`]), what each fault did to
//! which host and when (as applied, not as planned), and every exit.
//!
//! The loop waits on the address observations with a deadline of the next
//! step or 10 ms, whichever is sooner, and polls the daemons' exits each
//! time round. A daemon that exits on its own is recorded, left down for
//! [`RESTART_AFTER_CRASH`] (or until its broken file is restored) and
//! started again, at most [`MAX_CRASH_RESTARTS`] times per host.
//!
//! [`observe`]: super::observe

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant, SystemTime};

use nix::unistd::Pid;
use thiserror::Error;

use super::daemons::{self, describe, write_config, Daemon, DaemonKind, FileState};
use super::judge::{holders_from, hosts, Condition, Event, Exit, Span, Timeline};
use super::observe::{AddressMonitor, Observed};
use super::schedule::{Fault, FaultKind, Schedule};
use super::{logs, report, MAX_CRASH_RESTARTS, PRIORITIES, RESTART_AFTER_CRASH, STARTING, VIP};
use crate::lab::{ip, wait_for, Lab, LabError};

const HOSTS: usize = 3;
/// How long the daemons get to put the VIP on h1 alone at the start.
const CONVERGE: Duration = Duration::from_secs(30);
/// The longest wait for a SIGKILLed process to be reaped.
const REAP: Duration = Duration::from_secs(5);
/// A daemon told to stop (SIGTERM) that is still running when the
/// schedule starts it again is waited for, as `systemctl restart` waits,
/// up to this long, then SIGKILLed (systemd's TimeoutStopSec, shortened).
/// keepalived 2.2.7 takes about 1 s to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Notes beyond this many are counted, not kept.
const MAX_NOTES: usize = 200;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the VIP was not on h1 alone within {} s of starting {daemon} (holders: {holders}); logs:\n{logs}", CONVERGE.as_secs())]
    NeverConverged {
        daemon: &'static str,
        holders: String,
        logs: String,
    },
    #[error("interrupted")]
    Interrupted,
}

pub struct RunOptions<'a> {
    pub daemon: DaemonKind,
    /// The vipd binary (for `DaemonKind::Vipd`).
    pub vipd: PathBuf,
    pub schedule: &'a Schedule,
    /// Print each step as it is applied.
    pub verbose: bool,
    /// Copy the lab's files (logs, configs, timeline) here before the lab
    /// is removed.
    pub keep_logs: Option<PathBuf>,
    /// Set by SIGINT / SIGTERM: stop early, judge what ran.
    pub interrupted: &'a AtomicBool,
}

/// A daemon's log, read before the lab is removed.
pub struct Log {
    pub host: usize,
    pub name: String,
    pub text: String,
}

pub struct RunRecord {
    pub daemon: DaemonKind,
    pub timeline: Timeline,
    /// Faults applied, by kind.
    pub applied: BTreeMap<FaultKind, usize>,
    /// What did not go as planned (a fault with nothing to act on, a
    /// SIGTERM not obeyed), and how many more were not kept.
    pub notes: Vec<String>,
    pub notes_dropped: usize,
    pub logs: Vec<Log>,
    pub kept: Option<PathBuf>,
    pub interrupted: bool,
    /// Set when a watcher lost the kernel's events: judged up to then.
    pub lost: Option<String>,
    /// The wall-clock time of the timeline's zero, for matching log stamps.
    pub t0_wall: SystemTime,
    /// From the daemons' start to the VIP on h1 alone.
    pub converged_after: Duration,
}

struct HostState {
    daemon: Option<Daemon>,
    starts: u32,
    file: FileState,
    frozen: bool,
    /// The schedule killed or terminated it: an exit now is expected.
    down: bool,
    /// The fault whose end starts it again once it has exited, and when
    /// to stop waiting for that.
    restart_after_exit: Option<(usize, Duration)>,
    /// After an exit of its own: when to start it again.
    restart_at: Option<Duration>,
    crash_restarts: u32,
    crashed_span: Option<usize>,
    /// keepalived's VRRP child as last seen, and since when it is gone.
    worker: Option<Pid>,
    worker_gone_since: Option<Duration>,
}

struct Recorder<'a> {
    kind: DaemonKind,
    vipd: PathBuf,
    t0: Instant,
    hosts: Vec<HostState>,
    observations: Vec<(Instant, usize, bool)>,
    holding: [bool; HOSTS],
    spans: Vec<Span>,
    /// Open spans of faults, by fault id.
    fault_spans: BTreeMap<usize, usize>,
    events: Vec<Event>,
    exits: Vec<Exit>,
    applied: BTreeMap<FaultKind, usize>,
    notes: Vec<String>,
    notes_dropped: usize,
    lost: Option<String>,
    logs: Vec<(usize, PathBuf)>,
    verbose: bool,
    interrupted: &'a AtomicBool,
}

#[derive(Clone, Copy)]
enum Step {
    Begin(usize),
    Finish(usize),
}

pub fn run(options: &RunOptions) -> Result<RunRecord, RunError> {
    let kind = options.daemon;
    let mut lab = Lab::new(HOSTS)?;
    lab.prepare_partitions()?;
    // Dropped before the lab: its threads live in the lab's namespaces.
    let monitor = AddressMonitor::start(&lab, VIP.into(), "eth0")?;
    let mut r = Recorder {
        kind,
        vipd: options.vipd.clone(),
        t0: Instant::now(),
        hosts: (0..HOSTS)
            .map(|_| HostState {
                daemon: None,
                starts: 0,
                file: FileState::Good,
                frozen: false,
                down: false,
                restart_after_exit: None,
                restart_at: None,
                crash_restarts: 0,
                crashed_span: None,
                worker: None,
                worker_gone_since: None,
            })
            .collect(),
        observations: Vec::new(),
        holding: [false; HOSTS],
        spans: Vec::new(),
        fault_spans: BTreeMap::new(),
        events: Vec::new(),
        exits: Vec::new(),
        applied: BTreeMap::new(),
        notes: Vec::new(),
        notes_dropped: 0,
        lost: None,
        logs: Vec::new(),
        verbose: options.verbose,
        interrupted: options.interrupted,
    };
    for host in 1..=HOSTS {
        write_config(kind, &lab, host, FileState::Good)?;
    }
    let begun = Instant::now();
    for host in 1..=HOSTS {
        r.start_daemon(&mut lab, host, None)?;
    }
    // The start: wait for h1 alone (its Master_Down_Interval is the
    // shortest), watching for daemons that die on the way.
    loop {
        r.drain(&monitor, Duration::from_millis(10));
        if r.holders() == [1] {
            break;
        }
        if options.interrupted.load(Ordering::SeqCst) {
            return Err(RunError::Interrupted);
        }
        let died = (1..=HOSTS).find_map(|h| {
            let status = r.hosts[h - 1].daemon.as_ref()?.exited(&mut lab)?;
            Some(format!(
                "h{h}'s daemon ended at start ({})",
                describe(status)
            ))
        });
        if begun.elapsed() > CONVERGE || died.is_some() {
            let logs = r
                .logs
                .iter()
                .map(|(h, p)| format!("--- h{h} {}\n{}", p.display(), logs::tail(p, 20)))
                .collect::<Vec<_>>()
                .join("\n");
            let holders = died.unwrap_or_else(|| hosts(&r.holders()));
            return Err(RunError::NeverConverged {
                daemon: kind.name(),
                holders,
                logs,
            });
        }
    }
    let converged_after = begun.elapsed();
    r.t0 = Instant::now();
    let t0_wall = SystemTime::now();

    let schedule = options.schedule;
    let mut steps: Vec<(Duration, u8, Step)> = Vec::new();
    for (i, fault) in schedule.faults.iter().enumerate() {
        steps.push((fault.start, 1, Step::Begin(i)));
        if !fault.kind.is_instant() {
            // At one time, ends before beginnings.
            steps.push((fault.end, 0, Step::Finish(i)));
        }
    }
    steps.sort_by_key(|(t, order, _)| (*t, *order));

    let mut next = 0;
    let mut last_worker_check = Duration::ZERO;
    let mut last_progress = Duration::ZERO;
    let mut interrupted = false;
    let end = loop {
        let now = r.now();
        if options.interrupted.load(Ordering::SeqCst) {
            interrupted = true;
            break now;
        }
        if now >= schedule.length || r.lost.is_some() {
            break now.min(schedule.length);
        }
        while let Some((at, _, step)) = steps.get(next).copied() {
            if at > now {
                break;
            }
            next += 1;
            match step {
                Step::Begin(i) => r.begin(&mut lab, &schedule.faults[i])?,
                Step::Finish(i) => r.finish(&mut lab, &schedule.faults[i])?,
            }
        }
        r.poll_exits(&mut lab);
        r.restart_stopped(&mut lab)?;
        r.restart_crashed(&mut lab)?;
        if kind == DaemonKind::Keepalived && now >= last_worker_check + Duration::from_millis(100) {
            last_worker_check = now;
            r.check_workers(&mut lab);
        }
        if now >= last_progress + Duration::from_secs(60) {
            last_progress = now;
            if now > Duration::ZERO {
                println!(
                    "  {}: {} s of {} s, {} faults applied",
                    kind.name(),
                    now.as_secs(),
                    schedule.length.as_secs(),
                    r.applied.values().sum::<usize>()
                );
            }
        }
        let next_step = steps.get(next).map_or(schedule.length, |s| s.0);
        let wait = next_step
            .min(now + Duration::from_millis(10))
            .saturating_sub(r.now());
        r.drain(&monitor, wait);
    };
    r.drain(&monitor, Duration::ZERO);
    drop(monitor);

    // Close what is still open at the end.
    for span in &mut r.spans {
        span.to = span.to.min(end);
    }
    let timeline = Timeline {
        priorities: PRIORITIES.to_vec(),
        end,
        holders: holders_from(
            &r.observations
                .iter()
                .map(|(at, h, holds)| (at.saturating_duration_since(r.t0).min(end), *h, *holds))
                .collect::<Vec<_>>(),
        ),
        spans: r.spans.clone(),
        events: r.events.clone(),
        exits: r.exits.clone(),
    };
    fs::write(
        lab.dir.join("timeline.txt"),
        report::timeline_text(kind, schedule, &timeline),
    )?;
    let logs = r
        .logs
        .iter()
        .map(|(host, path)| Log {
            host: *host,
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            text: fs::read_to_string(path).unwrap_or_default(),
        })
        .collect();
    let kept = match &options.keep_logs {
        Some(dir) => Some(keep(&lab.dir, &dir.join(kind.name()))?),
        None => None,
    };
    Ok(RunRecord {
        daemon: kind,
        timeline,
        applied: r.applied,
        notes: r.notes,
        notes_dropped: r.notes_dropped,
        logs,
        kept,
        interrupted,
        lost: r.lost,
        t0_wall,
        converged_after,
    })
}

/// Copies the lab's regular files (not sockets) to `to`.
fn keep(from: &Path, to: &Path) -> io::Result<PathBuf> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(to.to_path_buf())
}

impl Recorder<'_> {
    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn say(&self, what: &str) {
        if self.verbose {
            println!(
                "{:>10.3} s  {}: {what}",
                self.now().as_secs_f64(),
                self.kind.name()
            );
        }
    }

    fn note(&mut self, what: String) {
        self.say(&what);
        if self.notes.len() < MAX_NOTES {
            self.notes
                .push(format!("{:.3} s  {what}", self.now().as_secs_f64()));
        } else {
            self.notes_dropped += 1;
        }
    }

    fn holders(&self) -> Vec<usize> {
        (1..=HOSTS).filter(|h| self.holding[h - 1]).collect()
    }

    /// Takes in observations, waiting up to `wait` for the first.
    fn drain(&mut self, monitor: &AddressMonitor, wait: Duration) {
        let mut first = if wait.is_zero() {
            monitor
                .observed()
                .try_recv()
                .map_err(|_| RecvTimeoutError::Timeout)
        } else {
            monitor.observed().recv_timeout(wait)
        };
        loop {
            match first {
                Ok(Observed::Holds { at, host, holds }) => {
                    self.holding[host - 1] = holds;
                    self.observations.push((at, host, holds));
                }
                Ok(Observed::Lost { host, why }) => {
                    self.lost = Some(format!("h{host}: {why}"));
                }
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => {
                    self.lost
                        .get_or_insert_with(|| "the address watchers stopped".into());
                    return;
                }
            }
            first = monitor.observed().try_recv().map_err(|e| match e {
                std::sync::mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                std::sync::mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            });
        }
    }

    fn open(&mut self, host: usize, condition: Condition, label: String) -> usize {
        self.spans.push(Span {
            host,
            condition,
            from: self.now(),
            to: Duration::MAX,
            label,
        });
        self.spans.len() - 1
    }

    fn close(&mut self, span: usize) {
        let now = self.now();
        if let Some(span) = self.spans.get_mut(span) {
            span.to = span.to.min(now);
        }
    }

    fn close_fault(&mut self, fault: &Fault) {
        if let Some(span) = self.fault_spans.remove(&fault.id) {
            self.close(span);
        }
    }

    /// Records an event that happened at `at`.
    fn event(&mut self, at: Duration, label: String) {
        self.events.push(Event { at, label });
    }

    /// Starts the daemon on `host` (again): a starting span follows, and a
    /// crash span, if open, ends.
    fn start_daemon(
        &mut self,
        lab: &mut Lab,
        host: usize,
        why: Option<&str>,
    ) -> Result<(), RunError> {
        let state = &mut self.hosts[host - 1];
        state.starts += 1;
        let daemon = daemons::start(self.kind, lab, host, &self.vipd, state.starts)?;
        self.logs.push((host, daemon.log.clone()));
        let state = &mut self.hosts[host - 1];
        state.daemon = Some(daemon);
        state.restart_at = None;
        state.worker = None;
        state.worker_gone_since = None;
        state.frozen = false;
        if let Some(span) = state.crashed_span.take() {
            self.close(span);
        }
        if let Some(why) = why {
            let now = self.now();
            self.say(&format!("h{host} started ({why})"));
            self.spans.push(Span {
                host,
                condition: Condition::Starting,
                from: now,
                to: now + STARTING,
                label: format!("h{host} starting ({why})"),
            });
        }
        Ok(())
    }

    fn begin(&mut self, lab: &mut Lab, fault: &Fault) -> Result<(), RunError> {
        *self.applied.entry(fault.kind).or_default() += 1;
        let label = fault.to_string();
        self.say(&format!("begin {label}"));
        let Some(host) = fault.host else {
            self.delete_vip(lab, fault);
            return Ok(());
        };
        let h = host - 1;
        match fault.kind {
            FaultKind::Kill | FaultKind::Terminate => {
                let span = self.open(host, Condition::Down, label.clone());
                self.fault_spans.insert(fault.id, span);
                self.hosts[h].down = true;
                match &self.hosts[h].daemon {
                    Some(d) if fault.kind == FaultKind::Kill => d.kill_hard(lab),
                    Some(d) => d.terminate(lab),
                    None => self.note(format!("{label}: h{host}'s daemon was not running")),
                }
            }
            FaultKind::Freeze => {
                let span = self.open(host, Condition::Frozen, label.clone());
                self.fault_spans.insert(fault.id, span);
                self.hosts[h].frozen = true;
                let found = self.hosts[h].daemon.as_ref().map(|d| d.freeze(lab));
                match found {
                    Some(true) => {}
                    Some(false) => self.note(format!(
                        "{label}: the VRRP process was not found; only the main process stopped"
                    )),
                    None => self.note(format!("{label}: h{host}'s daemon was not running")),
                }
            }
            FaultKind::Partition | FaultKind::PortDown => {
                let span = self.open(host, Condition::Isolated, label.clone());
                self.fault_spans.insert(fault.id, span);
                if fault.kind == FaultKind::Partition {
                    lab.set_partitioned(host, true)?;
                } else {
                    lab.set_cable(host, false)?;
                }
            }
            FaultKind::ReloadUnchanged => self.reload(lab, host, label),
            FaultKind::ReloadAddInstance | FaultKind::ReloadBroken => {
                let file = if fault.kind == FaultKind::ReloadBroken {
                    FileState::Broken
                } else {
                    FileState::WithSecond
                };
                write_config(self.kind, lab, host, file)?;
                self.hosts[h].file = file;
                let span = self.open(host, Condition::Reconfigured, label.clone());
                self.fault_spans.insert(fault.id, span);
                self.reload(lab, host, label);
            }
            FaultKind::DeleteVip => {}
        }
        Ok(())
    }

    fn finish(&mut self, lab: &mut Lab, fault: &Fault) -> Result<(), RunError> {
        let label = fault.to_string();
        self.say(&format!("end {label}"));
        let Some(host) = fault.host else {
            return Ok(());
        };
        let h = host - 1;
        match fault.kind {
            FaultKind::Kill | FaultKind::Terminate => {
                // Started again once it has exited (at once, after a kill).
                self.hosts[h].restart_after_exit = Some((fault.id, self.now() + STOP_TIMEOUT));
                self.poll_exits(lab);
                self.restart_stopped(lab)?;
            }
            FaultKind::Freeze => {
                if let Some(daemon) = &self.hosts[h].daemon {
                    daemon.thaw(lab);
                }
                self.hosts[h].frozen = false;
                self.close_fault(fault);
            }
            FaultKind::Partition => {
                lab.set_partitioned(host, false)?;
                self.close_fault(fault);
            }
            FaultKind::PortDown => {
                lab.set_cable(host, true)?;
                self.close_fault(fault);
            }
            FaultKind::ReloadAddInstance | FaultKind::ReloadBroken => {
                write_config(self.kind, lab, host, FileState::Good)?;
                self.hosts[h].file = FileState::Good;
                self.close_fault(fault);
                let what = if fault.kind == FaultKind::ReloadBroken {
                    "the good file restored"
                } else {
                    "VI_2 removed"
                };
                if self.hosts[h].daemon.is_some() {
                    self.reload(
                        lab,
                        host,
                        format!("#{} reload, {what}, on h{host}", fault.id),
                    );
                } else if self.hosts[h].crashed_span.is_some() {
                    let at = self.now();
                    self.event(
                        at,
                        format!("#{} {what} on h{host}; its daemon started again", fault.id),
                    );
                    self.start_daemon(lab, host, Some(&format!("{what}, #{}", fault.id)))?;
                }
            }
            FaultKind::DeleteVip | FaultKind::ReloadUnchanged => {}
        }
        Ok(())
    }

    /// SIGHUP, recorded as an event.
    fn reload(&mut self, lab: &mut Lab, host: usize, label: String) {
        let at = self.now();
        let state = &self.hosts[host - 1];
        match &state.daemon {
            Some(daemon) => {
                daemon.reload(lab);
                self.event(at, label);
            }
            None => self.note(format!("{label}: h{host}'s daemon was not running")),
        }
    }

    /// On one of the holders, chosen by the fault's seeded pick.
    fn delete_vip(&mut self, lab: &Lab, fault: &Fault) {
        let holders = self.holders();
        if holders.is_empty() {
            self.note(format!("#{}: nobody held the VIP to delete", fault.id));
            return;
        }
        let host = holders[(fault.pick % holders.len() as u64) as usize];
        let netns = &lab.host(host).netns;
        let at = self.now();
        match ip(&[
            "-n",
            netns,
            "addr",
            "del",
            &format!("{VIP}/32"),
            "dev",
            "eth0",
        ]) {
            Ok(()) => self.event(at, format!("#{} VIP deleted by hand on h{host}", fault.id)),
            Err(e) => self.note(format!("#{}: deleting the VIP on h{host}: {e}", fault.id)),
        }
    }

    /// Starts again the daemons the schedule stopped whose down time is
    /// over, once they have exited; SIGKILLs one that takes too long.
    fn restart_stopped(&mut self, lab: &mut Lab) -> Result<(), RunError> {
        let now = self.now();
        for host in 1..=HOSTS {
            let Some((fault, deadline)) = self.hosts[host - 1].restart_after_exit else {
                continue;
            };
            if let Some(daemon) = &self.hosts[host - 1].daemon {
                if now < deadline {
                    continue;
                }
                let note = format!(
                    "#{fault}: h{host}'s daemon still running {} s after its down time; SIGKILLed",
                    STOP_TIMEOUT.as_secs()
                );
                daemon.kill_hard(lab);
                let pid = daemon.pid;
                self.note(note);
                let reaped = wait_for(REAP, || lab.try_exit(pid).is_some()).is_some();
                if !reaped {
                    self.note(format!(
                        "#{fault}: h{host}'s daemon {pid} not reaped after SIGKILL"
                    ));
                }
                self.poll_exits(lab);
                // Recorded by poll_exits; if it was not reaped, forgotten.
                self.hosts[host - 1].daemon = None;
            }
            if let Some(span) = self.fault_spans.remove(&fault) {
                self.close(span);
            }
            let state = &mut self.hosts[host - 1];
            state.down = false;
            state.restart_after_exit = None;
            self.start_daemon(lab, host, Some(&format!("after #{fault}")))?;
        }
        Ok(())
    }

    fn restart_crashed(&mut self, lab: &mut Lab) -> Result<(), RunError> {
        let now = self.now();
        for host in 1..=HOSTS {
            let state = &self.hosts[host - 1];
            if state.daemon.is_none() && state.restart_at.is_some_and(|at| at <= now) {
                self.start_daemon(lab, host, Some("after an exit of its own"))?;
            }
        }
        Ok(())
    }

    fn poll_exits(&mut self, lab: &mut Lab) {
        for host in 1..=HOSTS {
            let Some(daemon) = &self.hosts[host - 1].daemon else {
                continue;
            };
            let Some(status) = daemon.exited(lab) else {
                continue;
            };
            if self.interrupted.load(Ordering::SeqCst) {
                // Ctrl-C reaches the daemons too: not theirs to answer for.
                return;
            }
            let log_tail = logs::tail(&daemon.log, 12);
            let status = describe(status);
            self.exits.push(Exit {
                at: self.now(),
                host,
                status: status.clone(),
                log_tail,
            });
            let state = &mut self.hosts[host - 1];
            state.daemon = None;
            if state.down {
                continue;
            }
            let label = format!("h{host}'s daemon exited on its own ({status})");
            let span = self.open(host, Condition::Crashed, label.clone());
            self.say(&label);
            let now = self.now();
            let state = &mut self.hosts[host - 1];
            state.crashed_span = Some(span);
            if state.file == FileState::Broken {
                // Started when the good file is back.
            } else if state.crash_restarts < MAX_CRASH_RESTARTS {
                state.crash_restarts += 1;
                state.restart_at = Some(now + RESTART_AFTER_CRASH);
            } else {
                self.note(format!(
                    "h{host}: {MAX_CRASH_RESTARTS} restarts after exits of its own; left down"
                ));
            }
        }
    }

    /// keepalived's VRRP child ending while its main process runs is an
    /// exit too (the main process may start another).
    fn check_workers(&mut self, lab: &mut Lab) {
        let now = self.now();
        for host in 1..=HOSTS {
            let state = &self.hosts[host - 1];
            let Some(daemon) = &state.daemon else {
                continue;
            };
            let (pid, seen, log) = (daemon.pid, daemon.worker(), daemon.log.clone());
            if state.down || state.frozen || !lab.is_running(pid) {
                continue;
            }
            let state = &mut self.hosts[host - 1];
            let ended = match (state.worker, seen) {
                (Some(old), Some(new)) if old != new => Some(format!(
                    "keepalived's VRRP child {old} ended; the main process started {new}"
                )),
                (Some(old), None) => {
                    let since = *state.worker_gone_since.get_or_insert(now);
                    // The main process may be on its way out: its own exit
                    // is recorded then.
                    (now >= since + Duration::from_millis(300)).then(|| {
                        format!("keepalived's VRRP child {old} ended; the main process runs on")
                    })
                }
                _ => None,
            };
            if seen.is_some() || ended.is_some() {
                state.worker = seen;
                state.worker_gone_since = None;
            }
            if let Some(status) = ended {
                self.exits.push(Exit {
                    at: now,
                    host,
                    status,
                    log_tail: logs::tail(&log, 12),
                });
            }
        }
    }
}

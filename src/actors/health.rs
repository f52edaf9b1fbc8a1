//! Health: runs checks on their intervals, watches tracked interfaces
//! (netlink events, not polling) and tracked files, and tells each
//! instance that tracks one what it now does to its priority.
//!
//! Checks run as child processes or async connections spawned on the
//! actor's runtime, never inside a handler: a slow check delays nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;

use crate::config::health::{CheckKind, CheckSettings, TrackFileSettings, TrackerKind};
use crate::log::phrases::{self, CheckLine};
use crate::net::netlink::{LinkInfo, NetEvent, Netlink};
use crate::proto::{LinkDelays, RiseFall, TrackerEffect};
use crate::status::CheckStatus;

use crate::sys::boundary::guarded;
use crate::sys::probe::{self, Outcome};
use crate::sys::processes::{self, Watch};
use crate::sys::retry::Retry;
use crate::sys::track_file;

/// A tracker's current effect, for one instance.
#[derive(Message, Clone, Debug, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct TrackerUpdate {
    pub name: String,
    pub effect: TrackerEffect,
}

/// An instance that tracks something, with the weight that applies to it.
#[derive(Clone)]
pub struct Subscriber {
    pub instance: Recipient<TrackerUpdate>,
    pub weight: i32,
}

struct Check {
    settings: CheckSettings,
    state: RiseFall,
    /// The run under way, if any: its id and the future to cancel. A
    /// reload keeps it for a check it keeps, and cancels it (killing the
    /// script) for one it changes or removes: otherwise each reload
    /// started another run of a slow check, until the launcher was full
    /// and other checks were refused.
    run: Option<(u64, SpawnHandle)>,
    /// Runs the launcher could not start (no result either way).
    not_run_logged: bool,
    subscribers: Vec<Subscriber>,
    runs: u64,
    failures: u64,
    last_failure: Option<String>,
    last_duration: std::time::Duration,
    /// A process check's matching processes, once counted.
    processes: Option<u32>,
}

struct TrackedInterface {
    name: String,
    index: Option<u32>,
    /// As the subscribers were told.
    up: Option<bool>,
    subscribers: Vec<Subscriber>,
    /// interface_up_down_delays for it: a change undone within its delay
    /// is never told.
    delays: LinkDelays,
    /// A change waiting out its delay: to up (true) or down, and its timer.
    pending: Option<(bool, SpawnHandle)>,
    /// Seen up once: keepalived delays no change before that
    /// (keepalived_netlink.c update_interface_flags, `seen_up`).
    seen_up: bool,
}

struct TrackedFile {
    settings: TrackFileSettings,
    value: Option<i64>,
    subscribers: Vec<Subscriber>,
    /// A read's slowness was logged.
    overdue: bool,
    /// An out-of-range number was logged (until a good one is read).
    invalid: bool,
}

/// Tracked files are read when inotify says they changed (as keepalived
/// does), and every second besides: inotify says nothing of a change
/// made on another host of a network file system.
const FILE_POLL: Duration = Duration::from_secs(1);
/// A read that takes longer is logged once; the last value stays until
/// it ends (a hung network mount must not move the VIP by itself).
const FILE_READ_OVERDUE: Duration = Duration::from_secs(5);

pub struct HealthActor {
    checks: Vec<Check>,
    interfaces: Vec<TrackedInterface>,
    files: Vec<TrackedFile>,
    netlink: Netlink,
    /// Bumped by a reload: a check run started before it reports to
    /// nobody, since its index may now be another check's.
    generation: u64,
    /// The check and file intervals and the file watch, cancelled by a
    /// reload.
    timers: Vec<SpawnHandle>,
    watching_links: bool,
    links_retry: Retry,
    /// Numbers check runs, so a result finds the run it belongs to.
    next_run: u64,
    /// Tracked-file reads under way on blocking threads, by path, since
    /// when; each read takes itself out when it returns, whatever became
    /// of the actor or the reload that started it. One read per path at
    /// a time, ever: a hung mount holds one thread, not one per reload.
    reads: Arc<Mutex<HashMap<PathBuf, std::time::Instant>>>,
    /// Setting up the inotify watch, on a blocking thread (it looks the
    /// directories up): one at a time.
    watch_setup: Arc<AtomicBool>,
    /// Counts the processes of process checks, on its own thread; made
    /// when the first one is configured, kept across reloads.
    processes: Option<Watch>,
}

/// The process watcher has news: read its statuses.
struct ProcessesChanged;

/// The process checks among `checks`, as the watcher counts them.
pub fn process_trackers<'a>(
    checks: impl IntoIterator<Item = &'a CheckSettings>,
) -> Vec<processes::Tracker> {
    checks
        .into_iter()
        .filter_map(|c| match &c.kind {
            CheckKind::Process(p) => Some(processes::Tracker {
                name: c.name.clone(),
                pattern: p.pattern.clone(),
                quorum: p.quorum,
            }),
            _ => None,
        })
        .collect()
}

/// A reload's checks, files and who tracks what. Checks and files whose
/// settings did not change keep their state (rise/fall counts, last
/// value), so a reload changes no priority by itself.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reconfigure {
    pub checks: Vec<CheckSettings>,
    pub files: Vec<TrackFileSettings>,
    pub subscriptions: Subscriptions,
    pub link_delays: BTreeMap<String, LinkDelays>,
}

/// Who tracks what, by kind and name.
#[derive(Default)]
pub struct Subscriptions {
    checks: HashMap<String, Vec<Subscriber>>,
    interfaces: HashMap<String, Vec<Subscriber>>,
    files: HashMap<String, Vec<Subscriber>>,
}

impl Subscriptions {
    pub fn add(&mut self, kind: TrackerKind, name: &str, subscriber: Subscriber) {
        let table = match kind {
            TrackerKind::Script => &mut self.checks,
            TrackerKind::Interface => &mut self.interfaces,
            TrackerKind::File => &mut self.files,
        };
        table.entry(name.to_string()).or_default().push(subscriber);
    }
}

impl HealthActor {
    pub fn new(
        checks: Vec<CheckSettings>,
        files: Vec<TrackFileSettings>,
        mut subscriptions: Subscriptions,
        link_delays: &BTreeMap<String, LinkDelays>,
        netlink: Netlink,
    ) -> HealthActor {
        let checks = checks
            .into_iter()
            .filter_map(|settings| {
                let subscribers = subscriptions.checks.remove(&settings.name)?;
                // A process check's status is settled by its quorum.
                let (rise, fall) = match settings.kind {
                    CheckKind::Process(_) => (1, 1),
                    _ => (settings.rise, settings.fall),
                };
                Some(Check {
                    state: RiseFall::new(rise, fall),
                    processes: None,
                    settings,
                    run: None,
                    not_run_logged: false,
                    subscribers,
                    runs: 0,
                    failures: 0,
                    last_failure: None,
                    last_duration: std::time::Duration::ZERO,
                })
            })
            .collect();
        let files = files
            .into_iter()
            .filter_map(|settings| {
                let subscribers = subscriptions.files.remove(&settings.name)?;
                Some(TrackedFile {
                    settings,
                    value: None,
                    subscribers,
                    overdue: false,
                    invalid: false,
                })
            })
            .collect();
        let interfaces = subscriptions
            .interfaces
            .into_iter()
            .map(|(name, subscribers)| TrackedInterface {
                delays: link_delays.get(&name).copied().unwrap_or_default(),
                name,
                index: None,
                up: None,
                subscribers,
                pending: None,
                seen_up: false,
            })
            .collect();
        HealthActor {
            checks,
            interfaces,
            files,
            netlink,
            generation: 0,
            timers: Vec::new(),
            watching_links: false,
            links_retry: Retry::default(),
            next_run: 0,
            reads: Arc::default(),
            watch_setup: Arc::default(),
            processes: None,
        }
    }

    fn process_trackers(&self) -> Vec<processes::Tracker> {
        process_trackers(self.checks.iter().map(|c| &c.settings))
    }

    /// Gives the process watcher the process checks (starting it for the
    /// first), and listens for its news.
    fn watch_processes(&mut self, ctx: &mut Context<Self>) {
        let trackers = self.process_trackers();
        if trackers.is_empty() {
            self.processes = None;
            return;
        }
        match &mut self.processes {
            Some(watch) => watch.reconfigure(trackers),
            None => match Watch::start(trackers) {
                Ok(watch) => self.processes = Some(watch),
                Err(error) => {
                    // Nothing will count them: down, not up forever.
                    tracing::error!(%error, "cannot start the process watcher: {error}; process checks count as down");
                    self.processes_unknowable();
                    return;
                }
            },
        }
        let Some(shared) = self.processes.as_ref().map(Watch::shared) else {
            return;
        };
        // News is read as state, not queued: the stream only wakes us.
        let news = futures::stream::unfold(shared, |shared| async move {
            shared.changed().await;
            Some((ProcessesChanged, shared))
        });
        self.timers.push(ctx.add_stream(news));
        // What is counted already (the first count may have been awaited
        // before this actor started).
        self.on_processes();
    }

    /// Every process check down, as counted zero: the watcher is gone.
    fn processes_unknowable(&mut self) {
        let statuses: BTreeMap<String, processes::Status> = self
            .process_trackers()
            .into_iter()
            .map(|t| {
                (
                    t.name,
                    processes::Status {
                        up: false,
                        count: 0,
                    },
                )
            })
            .collect();
        self.apply_process_statuses(&statuses);
    }

    fn on_processes(&mut self) {
        let Some(watch) = &self.processes else { return };
        let statuses = watch.shared().statuses();
        self.apply_process_statuses(&statuses);
    }

    /// A process check's first count is told to its instances whatever
    /// it is (they were told nothing of it before); later ones when the
    /// status changes.
    fn apply_process_statuses(&mut self, statuses: &BTreeMap<String, processes::Status>) {
        for check in &mut self.checks {
            let Some(status) = statuses.get(&check.settings.name) else {
                continue;
            };
            if !matches!(check.settings.kind, CheckKind::Process(_)) {
                continue;
            }
            let first = check.processes.replace(status.count).is_none();
            let changed = check.state.record(status.up);
            if first && changed.is_none() {
                let up = check.state.is_up();
                Self::tell(
                    &check.subscribers,
                    &TrackerKind::Script.key(&check.settings.name),
                    |w| TrackerEffect::from_status(up, w),
                );
            }
            if let Some(up) = changed {
                let name = &check.settings.name;
                let line = if up {
                    CheckLine::Succeeded
                } else {
                    CheckLine::Failed(format!(
                        "{} matching processes running, outside its quorum",
                        status.count
                    ))
                };
                phrases::check(name, &line);
                Self::tell(&check.subscribers, &TrackerKind::Script.key(name), |w| {
                    TrackerEffect::from_status(up, w)
                });
            }
        }
    }

    /// The process watcher the daemon's start made (and counted with)
    /// before any instance started.
    pub fn with_processes(mut self, watch: Option<Watch>) -> HealthActor {
        self.processes = watch;
        self
    }

    pub fn is_needed(&self) -> bool {
        !(self.checks.is_empty() && self.interfaces.is_empty() && self.files.is_empty())
    }

    fn tell(subscribers: &[Subscriber], name: &str, effect_of: impl Fn(i32) -> TrackerEffect) {
        for s in subscribers {
            s.instance.do_send(TrackerUpdate {
                name: name.to_string(),
                effect: effect_of(s.weight),
            });
        }
    }

    fn start_check(&mut self, i: usize, ctx: &mut Context<Self>) {
        if self.checks[i].run.is_some() {
            return; // still running from last time: the timeout will end it
        }
        if matches!(self.checks[i].settings.kind, CheckKind::Process(_)) {
            return; // counted by the process watcher
        }
        self.next_run += 1;
        let id = self.next_run;
        let check = &self.checks[i];
        let (kind, timeout) = (check.settings.kind.clone(), check.settings.timeout);
        let name = check.settings.name.clone();
        let handle = ctx.spawn(
            async move {
                let started = std::time::Instant::now();
                let outcome = probe::check(&kind, timeout).await;
                (outcome, started.elapsed())
            }
            .into_actor(self)
            .map(move |(outcome, took), actor, ctx| {
                // By name and run: a reload may have moved the check.
                let Some(i) = actor.checks.iter().position(|c| {
                    c.settings.name == name && c.run.as_ref().is_some_and(|(run, _)| *run == id)
                }) else {
                    return;
                };
                guarded(actor, ctx, "check result", |actor, _| {
                    actor.checks[i].last_duration = took;
                    actor.finish_check(i, outcome)
                });
            }),
        );
        self.checks[i].run = Some((id, handle));
    }

    fn finish_check(&mut self, i: usize, outcome: Outcome) {
        let check = &mut self.checks[i];
        check.run = None;
        if let Outcome::NotRun(why) = &outcome {
            // No result: the state stays as it is, said once.
            if !std::mem::replace(&mut check.not_run_logged, true) {
                let name = &check.settings.name;
                tracing::warn!(check = %name, reason = %why, "VRRP_Script({name}) {why}; its state stays as it was until a run gives a result");
            }
            return;
        }
        check.not_run_logged = false;
        check.runs += 1;
        if let Outcome::Failure(why) = &outcome {
            check.failures += 1;
            check.last_failure = Some(why.clone());
        }
        let name = check.settings.name.clone();
        let changed = check.state.record(outcome == Outcome::Success);
        if let Some(line) = check_line(&outcome, changed, check.state.is_up()) {
            phrases::check(&name, &line);
        }
        if let Some(up) = changed {
            Self::tell(&check.subscribers, &TrackerKind::Script.key(&name), |w| {
                TrackerEffect::from_status(up, w)
            });
        }
    }

    /// A link appeared or changed: a tracked name may now mean it (an
    /// interface deleted and made again has another index).
    fn on_link_info(&mut self, link: &LinkInfo, ctx: &mut Context<Self>) {
        for tracked in &mut self.interfaces {
            if tracked.name == link.name || link.altnames.contains(&tracked.name) {
                tracked.index = Some(link.index);
            }
        }
        self.on_link(link.index, link.up, false, ctx);
    }

    /// The link `index` is up or down now. With interface_up_down_delays
    /// the change is told only if it lasts its delay, as keepalived does
    /// (keepalived_netlink.c update_interface_flags): a change back
    /// within it cancels it, a repeat keeps the first deadline, and
    /// nothing is delayed before the link was first seen up, or when it
    /// is deleted (`immediate`).
    fn on_link(&mut self, index: u32, up: bool, immediate: bool, ctx: &mut Context<Self>) {
        for i in 0..self.interfaces.len() {
            let interface = &mut self.interfaces[i];
            if interface.index != Some(index) {
                continue;
            }
            if let Some((pending_up, handle)) = interface.pending {
                if pending_up == up && !immediate {
                    continue;
                }
                ctx.cancel_future(handle);
                interface.pending = None;
                if pending_up != up {
                    tracing::info!(interface = %interface.name, "tracked interface {}: delay cancelled, it is {} again", interface.name, if up { "up" } else { "down" });
                }
            }
            if interface.up == Some(up) {
                continue;
            }
            let delay = if up {
                interface.delays.up
            } else {
                interface.delays.down
            };
            if interface.seen_up && !delay.is_zero() && !immediate {
                let name = interface.name.clone();
                let word = if up { "up" } else { "down" };
                tracing::info!(interface = %name, "tracked interface {name} is {word}: acting on it if it stays {word} for {delay:?}");
                let handle = ctx.run_later(delay, move |actor, _| {
                    actor.settle_link(&name, up);
                });
                interface.pending = Some((up, handle));
                continue;
            }
            self.tell_link(i, up);
        }
    }

    /// A delayed change lasted its delay.
    fn settle_link(&mut self, name: &str, up: bool) {
        let Some(i) = self.interfaces.iter().position(|t| t.name == name) else {
            return;
        };
        if !matches!(self.interfaces[i].pending, Some((pending, _)) if pending == up) {
            return;
        }
        self.interfaces[i].pending = None;
        self.tell_link(i, up);
    }

    fn tell_link(&mut self, i: usize, up: bool) {
        let interface = &mut self.interfaces[i];
        interface.up = Some(up);
        interface.seen_up |= up;
        let name = &interface.name;
        phrases::tracked_interface(name, up);
        Self::tell(
            &interface.subscribers,
            &TrackerKind::Interface.key(name),
            |w| TrackerEffect::from_status(up, w),
        );
    }

    fn read_files(&mut self, ctx: &mut Context<Self>) {
        for i in 0..self.files.len() {
            self.read_file(i, ctx);
        }
    }

    /// Reads file `i` on a blocking thread, unless a read of its path is
    /// still under way.
    fn read_file(&mut self, i: usize, ctx: &mut Context<Self>) {
        let path = self.files[i].settings.file.clone();
        {
            let Ok(mut reads) = self.reads.lock() else {
                return;
            };
            if let Some(since) = reads.get(&path) {
                let file = &mut self.files[i];
                if since.elapsed() > FILE_READ_OVERDUE && !file.overdue {
                    file.overdue = true;
                    let shown = path.display();
                    tracing::warn!(file = %shown, "reading tracked file {shown} has not finished in {FILE_READ_OVERDUE:?}; its last value stays until it does");
                }
                return;
            }
            reads.insert(path.clone(), std::time::Instant::now());
        }
        let (reads, reading) = (Arc::clone(&self.reads), path.clone());
        ctx.spawn(
            tokio::task::spawn_blocking(move || {
                let value = track_file::read_value(&reading);
                if let Ok(mut reads) = reads.lock() {
                    reads.remove(&reading);
                }
                value
            })
            .into_actor(self)
            .map(move |read, actor, _| {
                // By path: a reload may have moved or changed the file.
                for i in 0..actor.files.len() {
                    if actor.files[i].settings.file != path {
                        continue;
                    }
                    let file = &mut actor.files[i];
                    if std::mem::take(&mut file.overdue) {
                        let shown = path.display();
                        tracing::info!(file = %shown, "tracked file {shown} can be read again");
                    }
                    match read {
                        Ok(Some(value)) => {
                            file.invalid = false;
                            actor.file_value(i, value);
                        }
                        Ok(None) if !file.invalid => {
                            file.invalid = true;
                            let shown = path.display();
                            tracing::warn!(file = %shown, "tracked file {shown} holds a number out of range; ignoring it, as keepalived does");
                        }
                        _ => {}
                    }
                }
            }),
        );
    }

    /// Watches the tracked files with inotify, set up on a blocking
    /// thread with a deadline; without it the poll goes on alone.
    fn watch_files(&mut self, ctx: &mut Context<Self>) {
        if self.watch_setup.swap(true, Ordering::SeqCst) {
            return; // one still hangs: the poll covers
        }
        let paths: Vec<_> = self.files.iter().map(|f| f.settings.file.clone()).collect();
        let (done, generation) = (Arc::clone(&self.watch_setup), self.generation);
        let setup = tokio::task::spawn_blocking(move || {
            let prepared = track_file::prepare_watch(&paths);
            done.store(false, Ordering::SeqCst);
            prepared
        });
        ctx.spawn(
            tokio::time::timeout(FILE_READ_OVERDUE, setup)
                .into_actor(self)
                .map(move |prepared, actor, ctx| {
                    if actor.generation != generation {
                        return; // another reload watches its own files
                    }
                    let stream = match prepared {
                        Ok(Ok(Ok(prepared))) => track_file::watch(prepared),
                        Ok(Ok(Err(error))) => Err(error),
                        Ok(Err(join)) => Err(std::io::Error::other(join)),
                        Err(_) => Err(std::io::Error::other(format!(
                            "setting it up did not finish in {FILE_READ_OVERDUE:?} (a hung mount?)"
                        ))),
                    };
                    match stream {
                        Ok(changes) => actor.timers.push(ctx.add_stream(changes)),
                        Err(error) => {
                            tracing::warn!(%error, "cannot watch tracked files for changes: {error}; reading them every {FILE_POLL:?}")
                        }
                    }
                }),
        );
    }

    fn file_value(&mut self, i: usize, value: i64) {
        let file = &mut self.files[i];
        if file.value != Some(value) {
            file.value = Some(value);
            let name = &file.settings.name;
            phrases::tracked_file(name, value);
            Self::tell(&file.subscribers, &TrackerKind::File.key(name), |w| {
                TrackerEffect::from_file_value(value, w)
            });
        }
    }

    /// Tracked interfaces' state, from a netlink subscription of the
    /// actor's own; if it cannot be had, tried again later (never by a
    /// restart, which would fail at once again).
    fn watch_links(&mut self, ctx: &mut Context<Self>) {
        if self.watching_links || self.interfaces.is_empty() {
            return;
        }
        match crate::net::netlink::subscribe() {
            Ok(events) => {
                ctx.add_stream(events);
                self.watching_links = true;
                self.links_retry.succeeded(ctx);
                self.find_interfaces(ctx);
            }
            Err(error) => {
                let delay = self
                    .links_retry
                    .schedule(ctx, |actor, ctx| actor.watch_links(ctx));
                tracing::error!(%error, "cannot watch tracked interfaces: {error}; trying again in {delay:?}");
            }
        }
    }
}

/// What `vipd status` shows of the checks.
#[derive(Message)]
#[rtype(result = "Vec<CheckStatus>")]
pub struct Status;

impl Handler<Status> for HealthActor {
    type Result = MessageResult<Status>;

    fn handle(&mut self, _: Status, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.checks
                .iter()
                .map(|c| CheckStatus {
                    name: c.settings.name.clone(),
                    up: c.state.is_up(),
                    runs: c.runs,
                    failures: c.failures,
                    last_failure: c.last_failure.clone(),
                    last_duration_seconds: c.last_duration.as_secs_f64(),
                    processes: c.processes,
                })
                .collect(),
        )
    }
}

/// What a check's result is worth a log line for: a change of state (after
/// rise or fall results in a row), or a failure that does not yet count.
/// A success that changes nothing says nothing: checks run every second.
fn check_line(outcome: &Outcome, changed: Option<bool>, up_now: bool) -> Option<CheckLine> {
    match (outcome, changed) {
        (Outcome::Success, Some(true)) => Some(CheckLine::Succeeded),
        (Outcome::Failure(why), Some(false)) => Some(CheckLine::Failed(why.clone())),
        (Outcome::Failure(why), None) if up_now => Some(CheckLine::FailedOnce(why.clone())),
        _ => None,
    }
}

impl Actor for HealthActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.watching_links = false;
        self.timers.clear();
        self.schedule(ctx);
    }
}

impl HealthActor {
    /// Tells every subscriber its tracker's current effect, starts the
    /// intervals, and finds tracked interfaces not yet known.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        // Checks start healthy (as keepalived's do): tell instances now.
        // A process check is told once counted (keepalived counts before
        // its instances start; so does vipd's start-up, see
        // supervisor::start).
        for check in &self.checks {
            if matches!(check.settings.kind, CheckKind::Process(_)) && check.processes.is_none() {
                continue;
            }
            let name = TrackerKind::Script.key(&check.settings.name);
            Self::tell(&check.subscribers, &name, |w| {
                TrackerEffect::from_status(check.state.is_up(), w)
            });
        }
        for file in &self.files {
            if let Some(value) = file.value {
                Self::tell(
                    &file.subscribers,
                    &TrackerKind::File.key(&file.settings.name),
                    |w| TrackerEffect::from_file_value(value, w),
                );
            }
        }
        for interface in &self.interfaces {
            if let Some(up) = interface.up {
                Self::tell(
                    &interface.subscribers,
                    &TrackerKind::Interface.key(&interface.name),
                    |w| TrackerEffect::from_status(up, w),
                );
            }
        }
        self.watch_processes(ctx);
        for i in 0..self.checks.len() {
            if matches!(self.checks[i].settings.kind, CheckKind::Process(_)) {
                continue;
            }
            self.start_check(i, ctx);
            let interval = self.checks[i].settings.interval;
            let handle = ctx.run_interval(interval, move |actor, ctx| actor.start_check(i, ctx));
            self.timers.push(handle);
        }
        if !self.files.is_empty() {
            self.read_files(ctx);
            let handle = ctx.run_interval(FILE_POLL, |actor, ctx| actor.read_files(ctx));
            self.timers.push(handle);
            self.watch_files(ctx);
        }
        if !self.interfaces.is_empty() {
            if self.watching_links {
                self.find_interfaces(ctx);
            } else {
                // Subscribe first, then read the current state: nothing
                // is missed.
                self.watch_links(ctx);
            }
        }
    }

    /// Looks up tracked interfaces not yet known.
    fn find_interfaces(&mut self, ctx: &mut Context<Self>) {
        let netlink = self.netlink.clone();
        let names: Vec<String> = self
            .interfaces
            .iter()
            .filter(|t| t.index.is_none())
            .map(|t| t.name.clone())
            .collect();
        ctx.spawn(
            async move {
                let mut found = Vec::new();
                for name in names {
                    found.push((name.clone(), netlink.link(&name).await));
                }
                found
            }
            .into_actor(self)
            .map(|found, actor, ctx| {
                for (name, link) in found {
                    let Some(tracked) = actor.interfaces.iter_mut().find(|t| t.name == name) else {
                        continue;
                    };
                    match link {
                        Ok(link) => {
                            tracked.index = Some(link.index);
                            actor.on_link(link.index, link.up, false, ctx);
                        }
                        Err(error) => {
                            tracing::error!(interface = %name, %error, "tracked interface {name}: {error}; counting it down");
                            tracked.up = Some(false);
                            Self::tell(&tracked.subscribers, &TrackerKind::Interface.key(&name), |w| {
                                TrackerEffect::from_status(false, w)
                            });
                        }
                    }
                }
            }),
        );
    }
}

impl StreamHandler<Vec<std::path::PathBuf>> for HealthActor {
    /// inotify says these tracked files changed.
    fn handle(&mut self, changed: Vec<std::path::PathBuf>, ctx: &mut Context<Self>) {
        for i in 0..self.files.len() {
            if changed.contains(&self.files[i].settings.file) {
                self.read_file(i, ctx);
            }
        }
    }

    /// The watch failed; the poll goes on.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl StreamHandler<ProcessesChanged> for HealthActor {
    fn handle(&mut self, _: ProcessesChanged, ctx: &mut Context<Self>) {
        guarded(self, ctx, "process counts", |actor, _| actor.on_processes());
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Reconfigure> for HealthActor {
    type Result = ();

    fn handle(&mut self, new: Reconfigure, ctx: &mut Context<Self>) {
        let mut fresh = HealthActor::new(
            new.checks,
            new.files,
            new.subscriptions,
            &new.link_delays,
            self.netlink.clone(),
        );
        for check in &mut fresh.checks {
            if let Some(old) = self
                .checks
                .iter_mut()
                .find(|o| o.settings == check.settings)
            {
                check.state = old.state;
                check.runs = old.runs;
                check.failures = old.failures;
                check.last_failure = old.last_failure.clone();
                check.last_duration = old.last_duration;
                check.processes = old.processes;
                check.run = old.run.take();
            }
        }
        // Runs of checks changed or removed end now, their scripts killed.
        for old in &mut self.checks {
            if let Some((_, handle)) = old.run.take() {
                ctx.cancel_future(handle);
            }
        }
        for file in &mut fresh.files {
            if let Some(old) = self.files.iter().find(|o| o.settings == file.settings) {
                file.value = old.value;
            }
            // A read still hanging was said once; a reload says it not again.
            file.overdue = self
                .files
                .iter()
                .any(|o| o.settings.file == file.settings.file && o.overdue);
        }
        for interface in &mut fresh.interfaces {
            if let Some(old) = self
                .interfaces
                .iter_mut()
                .find(|o| o.name == interface.name)
            {
                interface.index = old.index;
                interface.up = old.up;
                interface.seen_up = old.seen_up;
                // A change waiting keeps its deadline (settle_link finds
                // the interface by name).
                interface.pending = old.pending.take();
            }
        }
        // Changes of interfaces no longer tracked are told to nobody.
        for old in &mut self.interfaces {
            if let Some((_, handle)) = old.pending.take() {
                ctx.cancel_future(handle);
            }
        }
        for handle in self.timers.drain(..) {
            ctx.cancel_future(handle);
        }
        self.generation += 1;
        self.checks = fresh.checks;
        self.files = fresh.files;
        self.interfaces = fresh.interfaces;
        self.schedule(ctx);
    }
}

impl Supervised for HealthActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!("health actor restarting");
        self.generation += 1;
        // A restart drops every future the actor spawned, runs included.
        for check in &mut self.checks {
            check.run = None;
        }
    }
}

impl StreamHandler<NetEvent> for HealthActor {
    fn handle(&mut self, event: NetEvent, ctx: &mut Context<Self>) {
        guarded(self, ctx, "link event", |actor, ctx| match event {
            NetEvent::Link(link) => actor.on_link_info(&link, ctx),
            NetEvent::LinkRemoved { index } => {
                actor.on_link(index, false, true, ctx);
                // One made again is new: its first up is not delayed
                // (keepalived_netlink.c clears seen_up at RTM_DELLINK).
                for tracked in actor.interfaces.iter_mut() {
                    if tracked.index == Some(index) {
                        tracked.seen_up = false;
                    }
                }
            }
            _ => {}
        });
    }

    /// The netlink subscription died: another, later.
    fn finished(&mut self, ctx: &mut Context<Self>) {
        tracing::error!("netlink event stream for tracked interfaces ended; making another");
        self.watching_links = false;
        let delay = self
            .links_retry
            .schedule(ctx, |actor, ctx| actor.watch_links(ctx));
        tracing::info!("watching tracked interfaces again in {delay:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results in order through rise 2 / fall 2, and the lines they give.
    #[test]
    fn only_changes_and_uncounted_failures_are_logged() {
        let fail = || Outcome::Failure("exited with status 1".into());
        let mut state = RiseFall::new(2, 2);
        let mut lines = Vec::new();
        for outcome in [
            Outcome::Success,
            fail(),
            fail(),
            fail(),
            Outcome::Success,
            Outcome::Success,
            Outcome::Success,
        ] {
            let changed = state.record(outcome == Outcome::Success);
            lines.push(check_line(&outcome, changed, state.is_up()));
        }
        let failed = || "exited with status 1".to_string();
        assert_eq!(
            lines,
            vec![
                None,
                Some(CheckLine::FailedOnce(failed())),
                Some(CheckLine::Failed(failed())),
                None, // still down: the change was already logged
                None,
                Some(CheckLine::Succeeded),
                None,
            ]
        );
    }
}

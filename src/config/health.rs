//! Checks, tracked files and notification, as the daemon runs them.

use std::path::PathBuf;
use std::time::Duration;

use super::schema::Interval;

use super::schema::{
    CheckConfig, Config, InstanceConfig, NotifyDeleted, ParamMatchConfig, ProcessCheckConfig,
    SyncGroupConfig, TrackFileConfig, TrackRef,
};
use super::scripts::{self, Script};

use crate::proto::{check_weight, QuorumParams};
use crate::sys::processes::pattern::{ParamMatch, ProcessPattern};

/// Who a script runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    Exec {
        script: Script,
        run_as: Option<RunAs>,
    },
    Tcp {
        target: String,
    },
    Http {
        host: String,
        port: u16,
        path: String,
        status: u16,
        body: Option<String>,
    },
    /// Counted by the process watcher, not run.
    Process(ProcessTracker),
}

/// A track_process's pattern and quorum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessTracker {
    pub pattern: ProcessPattern,
    pub quorum: QuorumParams,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSettings {
    pub name: String,
    pub kind: CheckKind,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub weight: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFileSettings {
    pub name: String,
    pub file: PathBuf,
    pub weight: i32,
}

/// What one instance tracks, each with the weight that applies to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tracked {
    Check { name: String, weight: i32 },
    Interface { name: String, weight: i32 },
    File { name: String, weight: i32 },
}

/// The kinds of thing an instance can track. A check, an interface and a
/// file may share a name, so the core knows a tracker by kind and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackerKind {
    Script,
    Interface,
    File,
}

impl TrackerKind {
    /// The one spelling of a tracker's name in the core, logs and status.
    pub fn key(self, name: &str) -> String {
        let kind = match self {
            TrackerKind::Script => "script",
            TrackerKind::Interface => "interface",
            TrackerKind::File => "file",
        };
        format!("{kind} {name}")
    }
}

impl Tracked {
    pub fn kind(&self) -> TrackerKind {
        match self {
            Tracked::Check { .. } => TrackerKind::Script,
            Tracked::Interface { .. } => TrackerKind::Interface,
            Tracked::File { .. } => TrackerKind::File,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Tracked::Check { name, .. }
            | Tracked::Interface { name, .. }
            | Tracked::File { name, .. } => name,
        }
    }

    pub fn weight(&self) -> i32 {
        match self {
            Tracked::Check { weight, .. }
            | Tracked::Interface { weight, .. }
            | Tracked::File { weight, .. } => *weight,
        }
    }

    /// The same tracker with another weight.
    pub fn with_weight(&self, weight: i32) -> Tracked {
        let name = self.name().to_string();
        match self {
            Tracked::Check { .. } => Tracked::Check { name, weight },
            Tracked::Interface { .. } => Tracked::Interface { name, weight },
            Tracked::File { .. } => Tracked::File { name, weight },
        }
    }

    /// The tracker's name as the core sees it.
    pub fn key(&self) -> String {
        self.kind().key(self.name())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifySettings {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    /// Run after the state's own script with `INSTANCE name STATE priority`.
    pub any: Option<Script>,
    /// Run when a master hears a lower-priority master.
    pub master_rx_lower_pri: Option<Script>,
    /// FIFO lines for effective priority changes.
    pub priority_changes: bool,
    /// A reload that removes the instance notifies DELETED (and runs
    /// `deleted`), not FAULT.
    pub notify_deleted: bool,
    pub deleted: Option<Script>,
    pub fifo: Option<PathBuf>,
    pub timeout: Duration,
    pub run_as: Option<RunAs>,
}

impl NotifySettings {
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.any.is_none()
            && self.master_rx_lower_pri.is_none()
            && self.deleted.is_none()
            && self.fifo.is_none()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthSettings {
    pub checks: Vec<CheckSettings>,
    pub files: Vec<TrackFileSettings>,
    /// interface_up_down_delays, for tracked interfaces: what an
    /// instance's own interface is cut to applies to its tracking too,
    /// as keepalived's cut changes the interface's one timer
    /// (vrrp.c check_debounce_timers).
    pub link_delays: std::collections::BTreeMap<String, crate::proto::LinkDelays>,
}

/// Problems as (key relative to the checked item, message).
pub type Problems = Vec<(String, String)>;

fn run_as(name: &str) -> Result<RunAs, String> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => Ok(RunAs {
            name: name.to_string(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        }),
        Ok(None) => Err(format!("no such user: {name}")),
        Err(e) => Err(format!("cannot look up user {name}: {e}")),
    }
}

/// keepalived's default script user (lib/notify.c, get_default_script_user).
pub const KEEPALIVED_SCRIPT_USER: &str = "keepalived_script";

/// Who scripts run as when neither the check nor `script_user` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptUser {
    /// None: vipd's own user as started (root, run from systemd).
    pub run_as: Option<RunAs>,
    /// Neither script_user nor keepalived_script: what keepalived falls
    /// back to, which vipd warns about when it means root.
    pub fell_back: bool,
}

/// keepalived's rule (lib/notify.c v2.4.3): `script_user` if set, else the
/// user `keepalived_script` if it exists, else the daemon's own user, which
/// for vipd is `user` if set (the daemon's user after start-up), else
/// the user vipd was started as.
pub fn script_user(config: &Config) -> Result<ScriptUser, String> {
    if let Some(name) = &config.script_user {
        return run_as(name).map(|u| ScriptUser {
            run_as: Some(u),
            fell_back: false,
        });
    }
    if let Ok(u) = run_as(KEEPALIVED_SCRIPT_USER) {
        return Ok(ScriptUser {
            run_as: Some(u),
            fell_back: false,
        });
    }
    let own = config.user.as_deref().map(run_as).transpose()?;
    Ok(ScriptUser {
        run_as: own,
        fell_back: true,
    })
}

impl ScriptUser {
    /// The fallback means root: vipd runs as root and no `user` is set.
    pub fn falls_back_to_root(&self) -> bool {
        self.fell_back && self.run_as.is_none() && nix::unistd::geteuid().is_root()
    }
}

/// Whether a script run as `run_as` (None: vipd's own user) runs as root,
/// in its user or its group (keepalived protects both).
fn runs_as_root(run_as: Option<&RunAs>) -> bool {
    match run_as {
        Some(user) => user.uid == 0 || user.gid == 0,
        None => nix::unistd::geteuid().is_root(),
    }
}

/// A script line, split, found, and, if it would run as root, safe to
/// run so: neither its program nor an interpreter's script file can be
/// changed by another user.
pub fn script(line: &str, run_as: Option<&RunAs>) -> Result<Script, String> {
    let script = scripts::parse(line)?;
    if runs_as_root(run_as) {
        scripts::check_script_security(&script).map_err(|why| {
            format!(
                "refusing to run {} as root: {why}",
                script.program.display()
            )
        })?;
    }
    Ok(script)
}

pub fn check(
    name: &str,
    c: &CheckConfig,
    script_user: &ScriptUser,
) -> Result<CheckSettings, Problems> {
    let mut problems: Problems = Vec::new();
    let mut problem = |key: &str, message: String| problems.push((key.to_string(), message));
    let kinds = [
        c.exec.is_some(),
        c.tcp.is_some(),
        c.http.is_some(),
        c.process.is_some(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds != 1 {
        problem(
            "",
            "expected exactly one of exec, tcp, http, process".into(),
        );
    }
    if let Err(e) = check_weight(c.weight) {
        problem("weight", e.to_string());
    }
    if c.rise == 0 {
        problem("rise", "expected at least 1".into());
    }
    if c.fall == 0 {
        problem("fall", "expected at least 1".into());
    }
    if c.interval.0.is_zero() {
        problem("interval", "expected more than 0".into());
    }
    let timeout = c.timeout.map_or(c.interval.0, |t| t.0);
    if timeout.is_zero() {
        problem("timeout", "expected more than 0".into());
    }
    let kind = if let Some(line) = &c.exec {
        let run_as = match &c.user {
            Some(user) => run_as(user).map(Some).map_err(|e| problem("user", e)).ok(),
            None => Some(script_user.run_as.clone()),
        };
        run_as.and_then(|run_as| {
            script(line, run_as.as_ref())
                .map_err(|e| problem("exec", e))
                .ok()
                .map(|script| CheckKind::Exec { script, run_as })
        })
    } else if let Some(target) = &c.tcp {
        match target.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Some(CheckKind::Tcp {
                    target: target.clone(),
                })
            }
            _ => {
                problem("tcp", format!("expected ADDRESS:PORT, got {target:?}"));
                None
            }
        }
    } else if let Some(process) = &c.process {
        match process_tracker(process) {
            Ok(tracker) => Some(CheckKind::Process(tracker)),
            Err((key, message)) => {
                problem(&format!("process.{key}"), message);
                None
            }
        }
    } else if let Some(url) = &c.http {
        match parse_http_url(url) {
            Ok((host, port, path)) => Some(CheckKind::Http {
                host,
                port,
                path,
                status: c.status,
                body: c.body.clone(),
            }),
            Err(e) => {
                problem("http", e);
                None
            }
        }
    } else {
        None
    };
    match kind {
        Some(kind) if problems.is_empty() => Ok(CheckSettings {
            name: name.to_string(),
            kind,
            interval: c.interval.0,
            timeout,
            rise: c.rise,
            fall: c.fall,
            weight: c.weight,
        }),
        _ => Err(problems),
    }
}

/// keepalived's limits (vrrp_parser.c, vrrp_tprocess_*_handler): quorum
/// 0..65535 (0 only with quorum_max 0: "none may run"), quorum_max at
/// least quorum, delays up to an hour.
fn process_tracker(c: &ProcessCheckConfig) -> Result<ProcessTracker, (&'static str, String)> {
    const MAX_COUNT: u32 = 65_535;
    const MAX_DELAY: Duration = Duration::from_secs(3600);
    if c.name.is_empty() {
        return Err(("name", "expected a process name".into()));
    }
    if c.quorum > MAX_COUNT {
        return Err((
            "quorum",
            format!("expected 0..{MAX_COUNT}, got {}", c.quorum),
        ));
    }
    let quorum_max = c.quorum_max.unwrap_or(u32::MAX);
    if let Some(max) = c.quorum_max {
        if max > MAX_COUNT {
            return Err(("quorum_max", format!("expected 0..{MAX_COUNT}, got {max}")));
        }
    }
    if quorum_max < c.quorum {
        return Err((
            "quorum_max",
            format!("expected at least quorum ({}), got {quorum_max}", c.quorum),
        ));
    }
    if c.quorum == 0 && quorum_max != 0 {
        return Err((
            "quorum",
            "expected 1..65535 (0 only with quorum_max: 0, for \"none may run\")".into(),
        ));
    }
    let delay = |key: &'static str, d: Option<&Interval>| match d {
        Some(d) if d.0 > MAX_DELAY => Err((key, format!("expected 0..3600 s, got {:?}", d.0))),
        Some(d) => Ok(Some(d.0)),
        None => Ok(None),
    };
    let both = delay("delay", c.delay.as_ref())?.unwrap_or_default();
    let fork_delay = delay("fork_delay", c.fork_delay.as_ref())?.unwrap_or(both);
    let terminate_delay = delay("terminate_delay", c.terminate_delay.as_ref())?.unwrap_or(both);
    let with_params = !c.params.is_empty();
    let param_match = match (c.param_match, with_params) {
        (Some(ParamMatchConfig::Exact), _) | (None, true) => ParamMatch::Exact,
        (Some(ParamMatchConfig::Partial), _) => ParamMatch::Partial,
        (Some(ParamMatchConfig::Initial), _) => ParamMatch::Initial,
        (None, false) => ParamMatch::None,
    };
    Ok(ProcessTracker {
        pattern: ProcessPattern {
            process: c.name.clone(),
            full_command: c.full_command || with_params || c.param_match.is_some(),
            params: c.params.clone(),
            param_match,
        },
        quorum: QuorumParams {
            quorum: c.quorum,
            quorum_max,
            fork_delay,
            terminate_delay,
        },
    })
}

/// `http://HOST[:PORT][/PATH]` into its parts.
fn parse_http_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!(
            "{url:?}: expected http://HOST[:PORT]/PATH (for https use an exec check, e.g. curl)"
        )
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => (
            host,
            port.parse::<u16>()
                .map_err(|_| format!("{url:?}: bad port {port:?}"))?,
        ),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{url:?}: no host"));
    }
    Ok((
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
        path,
    ))
}

pub fn track_file(name: &str, c: &TrackFileConfig) -> Result<TrackFileSettings, Problems> {
    if let Err(e) = check_weight(c.weight) {
        return Err(vec![("weight".into(), e.to_string())]);
    }
    Ok(TrackFileSettings {
        name: name.to_string(),
        file: c.file.clone(),
        weight: c.weight,
    })
}

/// An instance's trackers, with the weights that apply to it.
/// The tracking and notify keys an instance and a sync group share.
pub struct Watched<'a> {
    pub track_script: &'a [TrackRef],
    pub track_interface: &'a [TrackRef],
    pub track_file: &'a [TrackRef],
    pub notify_master: &'a Option<String>,
    pub notify_backup: &'a Option<String>,
    pub notify_fault: &'a Option<String>,
    pub notify_stop: &'a Option<String>,
    pub notify: &'a Option<String>,
    /// Only instances have it.
    pub notify_master_rx_lower_pri: &'a Option<String>,
    pub notify_priority_changes: Option<bool>,
    /// Only instances have it.
    pub notify_deleted: Option<&'a NotifyDeleted>,
}

/// Both carry the same keys under the same names.
macro_rules! watched_from {
    ($config:ty, $rx_lower_pri:expr, $deleted:expr) => {
        impl<'a> From<&'a $config> for Watched<'a> {
            fn from(c: &'a $config) -> Watched<'a> {
                Watched {
                    track_script: &c.track_script,
                    track_interface: &c.track_interface,
                    track_file: &c.track_file,
                    notify_master: &c.notify_master,
                    notify_backup: &c.notify_backup,
                    notify_fault: &c.notify_fault,
                    notify_stop: &c.notify_stop,
                    notify: &c.notify,
                    notify_master_rx_lower_pri: $rx_lower_pri(c),
                    notify_priority_changes: c.notify_priority_changes,
                    notify_deleted: $deleted(c),
                }
            }
        }
    };
}

watched_from!(
    InstanceConfig,
    |c: &'a InstanceConfig| &c.notify_master_rx_lower_pri,
    |c: &'a InstanceConfig| c.notify_deleted.as_ref()
);
watched_from!(SyncGroupConfig, |_| &None, |_| None);

pub fn trackers<'a>(
    config: &Config,
    c: impl Into<Watched<'a>>,
    checks: &[CheckSettings],
) -> Result<Vec<Tracked>, Problems> {
    let c: Watched = c.into();
    let mut problems: Problems = Vec::new();
    let mut tracked = Vec::new();
    // The instance's own weight if it gives one, else the tracked thing's.
    let weight_of = |key: &str, reference: &super::schema::TrackRef, default: i32| {
        check_weight(reference.weight().unwrap_or(default))
            .map_err(|e| (key.to_string(), format!("{}: weight {e}", reference.name())))
    };
    for r in c.track_script {
        match checks.iter().find(|check| check.name == r.name()) {
            Some(check) => match weight_of("track_script", r, check.weight) {
                Ok(weight) => tracked.push(Tracked::Check {
                    name: r.name().to_string(),
                    weight,
                }),
                Err(problem) => problems.push(problem),
            },
            None if config.checks.contains_key(r.name()) => {} // its own error is reported
            None => problems.push((
                "track_script".into(),
                format!("no check named {:?} under checks", r.name()),
            )),
        }
    }
    for r in c.track_file {
        match config.track_files.get(r.name()) {
            Some(file) => match weight_of("track_file", r, file.weight) {
                Ok(weight) => tracked.push(Tracked::File {
                    name: r.name().to_string(),
                    weight,
                }),
                Err(problem) => problems.push(problem),
            },
            None => problems.push((
                "track_file".into(),
                format!("no file named {:?} under track_files", r.name()),
            )),
        }
    }
    for r in c.track_interface {
        match weight_of("track_interface", r, 0) {
            Ok(weight) => tracked.push(Tracked::Interface {
                name: r.name().to_string(),
                weight,
            }),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(tracked)
    } else {
        Err(problems)
    }
}

pub fn notify<'a>(
    config: &Config,
    c: impl Into<Watched<'a>>,
    script_user: &ScriptUser,
) -> Result<NotifySettings, Problems> {
    let c: Watched = c.into();
    let mut problems: Problems = Vec::new();
    let run_as = script_user.run_as.clone();
    let mut parse = |key: &str, line: &Option<String>| {
        line.as_deref().and_then(|line| {
            script(line, run_as.as_ref())
                .map_err(|e| problems.push((key.to_string(), e)))
                .ok()
        })
    };
    let settings = NotifySettings {
        master: parse("notify_master", c.notify_master),
        backup: parse("notify_backup", c.notify_backup),
        fault: parse("notify_fault", c.notify_fault),
        stop: parse("notify_stop", c.notify_stop),
        any: parse("notify", c.notify),
        master_rx_lower_pri: parse("notify_master_rx_lower_pri", c.notify_master_rx_lower_pri),
        priority_changes: c.notify_priority_changes.unwrap_or(false),
        notify_deleted: c.notify_deleted.is_some_and(NotifyDeleted::is_on),
        deleted: parse(
            "notify_deleted",
            &c.notify_deleted.and_then(NotifyDeleted::script),
        ),
        fifo: config.notify_fifo.clone(),
        timeout: config.notify_timeout.0,
        run_as,
    };
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:8080/health"),
            Ok(("127.0.0.1".into(), 8080, "/health".into()))
        );
        assert_eq!(
            parse_http_url("http://localhost"),
            Ok(("localhost".into(), 80, "/".into()))
        );
        assert_eq!(
            parse_http_url("http://[2001:db8::1]:81/x"),
            Ok(("2001:db8::1".into(), 81, "/x".into()))
        );
        assert!(parse_http_url("https://example.invalid/")
            .unwrap_err()
            .contains("https"));
        assert!(parse_http_url("http://host:99999/").is_err());
    }

    #[test]
    fn the_script_user_is_keepalived_s_default() {
        let config = |script_user: Option<&str>, user: Option<&str>| Config {
            script_user: script_user.map(str::to_string),
            user: user.map(str::to_string),
            ..Config::default()
        };
        let named = script_user(&config(Some("nobody"), None)).unwrap();
        assert_eq!(named.run_as.map(|u| u.uid), Some(65534));
        assert!(!named.fell_back);
        assert!(script_user(&config(Some("no-such-user-vipd"), None))
            .unwrap_err()
            .contains("no such user"));
        if run_as(KEEPALIVED_SCRIPT_USER).is_err() {
            // Then vipd's own user: `user` if set, else whoever runs vipd.
            let own = script_user(&config(None, Some("nobody"))).unwrap();
            assert_eq!(own.run_as.as_ref().map(|u| u.uid), Some(65534));
            assert!(own.fell_back && !own.falls_back_to_root());
            let unset = script_user(&config(None, None)).unwrap();
            assert_eq!(unset.run_as, None);
            assert_eq!(unset.falls_back_to_root(), nix::unistd::geteuid().is_root());
        }
    }

    #[test]
    fn only_scripts_that_run_as_root_are_checked() {
        // A program nobody owns: refused for root, fine for nobody.
        if !crate::lab::testing::root_or_skip("only_scripts_that_run_as_root_are_checked") {
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vipd-runs-as-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let program = dir.join("x.sh");
        std::fs::write(&program, "true\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        nix::unistd::chown(&program, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let line = format!("/bin/sh {}", program.display());
        let nobody = run_as("nobody").unwrap();
        assert!(script(&line, Some(&nobody)).is_ok());
        let root = RunAs {
            name: "root".into(),
            uid: 0,
            gid: 0,
        };
        assert!(script(&line, Some(&root))
            .unwrap_err()
            .contains("refusing to run"));
        assert!(script(&line, None)
            .unwrap_err()
            .contains("owned by uid 65534"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The two daemons under test, as the chaos run drives them: their files
//! (good, with VI_2, broken), how each starts, and what each signal means
//! for each. keepalived runs as two processes: its main process (the one
//! started, which takes SIGHUP and SIGTERM) and a VRRP child that does the
//! work (keepalived/vrrp/vrrp_daemon.c, which sets PR_SET_PDEATHSIG to
//! SIGTERM: kill only the parent and the child leaves cleanly, dropping
//! its VIP). So a SIGKILL "crash" kills the child too, and SIGSTOP stops
//! both; vipd is one process.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::{ADVERT_INT, PRIORITIES, SECOND_VIP, VIP};
use crate::lab::Lab;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DaemonKind {
    Vipd,
    Keepalived,
}

impl DaemonKind {
    pub fn name(self) -> &'static str {
        match self {
            DaemonKind::Vipd => "vipd",
            DaemonKind::Keepalived => "keepalived",
        }
    }

    pub fn from_name(name: &str) -> Option<DaemonKind> {
        match name.trim() {
            "vipd" => Some(DaemonKind::Vipd),
            "keepalived" => Some(DaemonKind::Keepalived),
            _ => None,
        }
    }
}

/// What the host's file says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// VI_1 only.
    Good,
    /// VI_1 and VI_2.
    WithSecond,
    /// The good file cut off in the middle of VI_1's `virtual_router_id`,
    /// as a half-written file is: a syntax error in either format (and
    /// one keepalived 2.2.7 exits on, leaving its VIP: "the virtual router
    /// id must be set", then "exited with permanent error CONFIG").
    Broken,
}

pub fn config_path(kind: DaemonKind, lab: &Lab, host: usize) -> PathBuf {
    match kind {
        DaemonKind::Vipd => lab.dir.join(format!("vipd-h{host}.yaml")),
        DaemonKind::Keepalived => lab.dir.join(format!("keepalived-h{host}.conf")),
    }
}

/// The file for `host` (from 1, source address `source`) in `state`;
/// vipd's control socket goes in `dir`.
pub fn config_text(
    kind: DaemonKind,
    host: usize,
    source: IpAddr,
    dir: &Path,
    state: FileState,
) -> String {
    let priority = PRIORITIES[host - 1];
    let instance = |name: &str, vrid: u8, vip| {
        match kind {
        DaemonKind::Vipd => format!(
            "  {name}:\n    interface: eth0\n    state: BACKUP\n    virtual_router_id: {vrid}\n    priority: {priority}\n    version: 3\n    advert_int: {ADVERT_INT}\n    source_ip: {source}\n    virtual_ipaddress: [\"{vip}\"]\n"
        ),
        DaemonKind::Keepalived => format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority {priority}\n    advert_int {ADVERT_INT}\n    mcast_src_ip {source}\n    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
        ),
    }
    };
    let mut text = match kind {
        DaemonKind::Vipd => format!(
            "control_socket: {}\ninstances:\n",
            dir.join(format!("vipd-h{host}.sock")).display()
        ),
        DaemonKind::Keepalived => format!(
            "global_defs {{\n    router_id h{host}\n    vrrp_version 3\n    script_user root\n}}\n"
        ),
    };
    text.push_str(&instance("VI_1", 51, VIP));
    match state {
        FileState::Good => {}
        FileState::WithSecond => text.push_str(&instance("VI_2", 52, SECOND_VIP)),
        FileState::Broken => {
            let cut = text
                .find("virtual_router_id")
                .map_or(text.len(), |at| at + "virtual_router_".len());
            text.truncate(cut);
        }
    }
    text
}

/// Writes the file whole (a rename), so a SIGHUP never reads half of it
/// unless half is what the schedule wants.
pub fn write_config(kind: DaemonKind, lab: &Lab, host: usize, state: FileState) -> io::Result<()> {
    let path = config_path(kind, lab, host);
    let staged = path.with_extension("next");
    let text = config_text(kind, host, lab.host(host).ipv4, &lab.dir, state);
    fs::write(&staged, text)?;
    fs::rename(staged, path)
}

/// A daemon the run started.
#[derive(Debug)]
pub struct Daemon {
    pub kind: DaemonKind,
    pub host: usize,
    /// vipd, or keepalived's main process.
    pub pid: Pid,
    pub log: PathBuf,
    /// keepalived's VRRP child writes its PID here.
    vrrp_pid_file: Option<PathBuf>,
}

/// Starts `kind` on `host`; `run` numbers its log (`vipd-h1-3.log`).
pub fn start(
    kind: DaemonKind,
    lab: &mut Lab,
    host: usize,
    vipd: &Path,
    run: u32,
) -> io::Result<Daemon> {
    let config = config_path(kind, lab, host).to_string_lossy().to_string();
    let log = lab.dir.join(format!("{}-h{host}-{run}.log", kind.name()));
    match kind {
        DaemonKind::Vipd => {
            let pid = lab.spawn(host, vipd, &["run", "--config", &config], &log)?;
            Ok(Daemon {
                kind,
                host,
                pid,
                log,
                vrrp_pid_file: None,
            })
        }
        DaemonKind::Keepalived => {
            let pid_file = lab.dir.join(format!("keepalived-h{host}.pid"));
            let vrrp_pid_file = lab.dir.join(format!("keepalived-h{host}.vrrp.pid"));
            // A SIGKILLed keepalived leaves its PID files: never read a
            // dead one's.
            let _ = fs::remove_file(&pid_file);
            let _ = fs::remove_file(&vrrp_pid_file);
            let (p, r) = (
                pid_file.to_string_lossy().to_string(),
                vrrp_pid_file.to_string_lossy().to_string(),
            );
            let args = [
                "-n", "-l", "-D", "-G", "--vrrp", "-f", &config, "-p", &p, "-r", &r,
            ];
            let pid = lab.spawn(host, Path::new("keepalived"), &args, &log)?;
            Ok(Daemon {
                kind,
                host,
                pid,
                log,
                vrrp_pid_file: Some(vrrp_pid_file),
            })
        }
    }
}

impl Daemon {
    /// The process that runs VRRP: vipd itself, or keepalived's VRRP
    /// child once it has written its PID (checked to be our child).
    pub fn worker(&self) -> Option<Pid> {
        let Some(file) = &self.vrrp_pid_file else {
            return Some(self.pid);
        };
        let pid: i32 = fs::read_to_string(file).ok()?.trim().parse().ok()?;
        let pid = Pid::from_raw(pid);
        (parent_of(pid) == Some(self.pid)).then_some(pid)
    }

    /// A crash: nothing runs on the host afterwards, the VIP stays.
    pub fn kill_hard(&self, lab: &mut Lab) {
        if self.kind == DaemonKind::Keepalived {
            // Stopped first, so it cannot respawn the child it sees die.
            lab.signal(self.pid, Signal::SIGSTOP);
            if let Some(child) = self.worker() {
                signal_child_of(lab, self.pid, child, Signal::SIGKILL);
            }
        }
        lab.signal(self.pid, Signal::SIGKILL);
    }

    pub fn terminate(&self, lab: &mut Lab) {
        lab.signal(self.pid, Signal::SIGTERM);
    }

    pub fn reload(&self, lab: &mut Lab) {
        lab.signal(self.pid, Signal::SIGHUP);
    }

    /// SIGSTOP; false when keepalived's VRRP child was not found (then
    /// only its main process is stopped, and VRRP goes on).
    pub fn freeze(&self, lab: &mut Lab) -> bool {
        let worker = self.worker();
        if let Some(child) = worker.filter(|w| *w != self.pid) {
            signal_child_of(lab, self.pid, child, Signal::SIGSTOP);
        }
        lab.signal(self.pid, Signal::SIGSTOP);
        worker.is_some()
    }

    pub fn thaw(&self, lab: &mut Lab) {
        lab.signal(self.pid, Signal::SIGCONT);
        if let Some(child) = self.worker().filter(|w| *w != self.pid) {
            signal_child_of(lab, self.pid, child, Signal::SIGCONT);
        }
    }

    /// How it ended, if it has (reaps it).
    pub fn exited(&self, lab: &mut Lab) -> Option<ExitStatus> {
        lab.try_exit(self.pid)
    }
}

/// "exit code 1", "killed by SIGKILL".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(signal) => format!("killed by {signal}"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => "ended".into(),
    }
}

/// The parent of a live (not zombie) process, from /proc/PID/stat.
fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "PID (comm) S PPID ...": comm may hold spaces and parentheses.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.next()?.parse().ok().map(Pid::from_raw)
}

/// Signals `pid` only if it is, right now, a live child of `parent`, a
/// process this lab started and has not reaped.
fn signal_child_of(lab: &mut Lab, parent: Pid, pid: Pid, signal: Signal) {
    if lab.is_running(parent) && parent_of(pid) == Some(parent) {
        let _ = kill(pid, signal);
    }
}

impl Lab {
    /// Whether a process this lab started is still running (not reaped).
    pub fn is_running(&mut self, pid: Pid) -> bool {
        self.children
            .iter_mut()
            .find(|c| c.id() as i32 == pid.as_raw())
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// How a process this lab started ended, without waiting; None while
    /// it runs.
    pub fn try_exit(&mut self, pid: Pid) -> Option<ExitStatus> {
        self.children
            .iter_mut()
            .find(|c| c.id() as i32 == pid.as_raw())
            .and_then(|c| c.try_wait().ok().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(kind: DaemonKind, dir: &Path, state: FileState) -> PathBuf {
        let source = "192.0.2.201".parse().unwrap();
        let name = match kind {
            DaemonKind::Vipd => format!("{state:?}.yaml"),
            DaemonKind::Keepalived => format!("{state:?}.conf"),
        };
        let path = dir.join(name);
        fs::write(&path, config_text(kind, 1, source, dir, state)).unwrap();
        path
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vipd-chaos-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// vipd's own loader, the one `vipd run` and a reload use.
    #[test]
    fn vipd_takes_the_good_files_and_refuses_the_broken_one_as_a_syntax_error() {
        let dir = scratch("yaml");
        for state in [FileState::Good, FileState::WithSecond] {
            let path = written(DaemonKind::Vipd, &dir, state);
            let (_, settings) = crate::config::load_and_validate(&[path])
                .unwrap_or_else(|e| panic!("{state:?}: {e}"));
            let expected = if state == FileState::Good { 1 } else { 2 };
            assert_eq!(settings.instances.len(), expected, "{state:?}");
        }
        let broken = written(DaemonKind::Vipd, &dir, FileState::Broken);
        let Err(error) = crate::config::load_and_validate(&[broken]) else {
            panic!("the broken file was accepted");
        };
        let error = error.to_string();
        assert!(
            error.contains("Broken.yaml:7: could not find expected ':'"),
            "{error}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    /// vipd's keepalived.conf reader runs what keepalived runs and refuses
    /// what it refuses (integration/keepalived_conf.rs and
    /// netns_keepalived_conf.rs), so this stands for keepalived.
    #[test]
    fn the_keepalived_files_read_as_keepalived_would() {
        let dir = scratch("conf");
        for state in [FileState::Good, FileState::WithSecond] {
            let path = written(DaemonKind::Keepalived, &dir, state);
            let (_, settings) = crate::config::load_and_validate(&[path])
                .unwrap_or_else(|e| panic!("{state:?}: {e}"));
            let expected = if state == FileState::Good { 1 } else { 2 };
            assert_eq!(settings.instances.len(), expected, "{state:?}");
        }
        let broken = written(DaemonKind::Keepalived, &dir, FileState::Broken);
        let Err(error) = crate::config::load_and_validate(&[broken]) else {
            panic!("the broken file was accepted");
        };
        let error = error.to_string();
        // keepalived exits on it too: no virtual_router_id is left.
        assert!(
            error.contains("Broken.conf:") && error.contains("virtual_router_id"),
            "{error}"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_parent_of_this_test_process_is_read_and_a_gone_pid_has_none() {
        let me = Pid::this();
        assert_eq!(parent_of(me), Some(nix::unistd::getppid()));
        assert_eq!(parent_of(Pid::from_raw(i32::MAX)), None);
    }

    #[test]
    fn exit_statuses_read_as_a_user_would() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(describe(ExitStatus::from_raw(1 << 8)), "exit code 1");
        assert_eq!(describe(ExitStatus::from_raw(9)), "killed by SIGKILL");
    }
}

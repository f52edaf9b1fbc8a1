//! A lab of hosts on one LAN, built from network namespaces: a switch
//! namespace holding a bridge, and host namespaces each with `eth0` on it.
//! `vipd demo` and the end-to-end tests both use it.
//!
//! Safety rules it keeps: every namespace name is unique to this run;
//! nothing is added to the root namespace (veth ends are created directly
//! inside their namespaces); only documentation addresses are used; and
//! dropping the `Lab` (on success, failure or panic) ends every process it
//! started, by PID, and deletes every namespace it made.

#[cfg(any(test, feature = "__internal-test"))]
pub mod chaos;
pub mod demo;
#[cfg(any(test, feature = "__internal-test"))]
pub mod etcd;
pub mod routed;
pub mod routed_demo;
#[cfg(any(test, feature = "__internal-test"))]
pub mod testing;

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LabError {
    #[error("the lab needs root to create network namespaces")]
    NotRoot,
    #[error("the lab needs the `ip` command (iproute2): {0}")]
    NoIp(io::Error),
    #[error("`{command}` failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A program the lab needs is not installed; says how to install it.
    #[error("{0}")]
    Missing(String),
}

/// What is missing to run network tests here, if anything.
pub fn missing_prerequisite() -> Option<String> {
    prerequisites().err().map(|e| e.to_string())
}

fn prerequisites() -> Result<(), LabError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(LabError::NotRoot);
    }
    Command::new("ip")
        .arg("-V")
        .output()
        .map_err(LabError::NoIp)?;
    Ok(())
}

pub struct Host {
    /// The host's network namespace.
    pub netns: String,
    pub ipv4: IpAddr,
    pub ipv6: IpAddr,
    pub link_local: IpAddr,
}

pub struct Lab {
    pub prefix: String,
    pub switch: String,
    pub hosts: Vec<Host>,
    pub dir: PathBuf,
    children: Vec<Child>,
    keep: bool,
}

static LABS_THIS_PROCESS: AtomicU32 = AtomicU32::new(0);

impl Lab {
    /// A LAN with `hosts` hosts: host i (from 1) has 192.0.2.(200+i)/24,
    /// 2001:db8::(200+i)/64 and link-local fe80::(200+i), on `eth0`,
    /// except that .203, the seed's virtual address, is skipped (host 3
    /// is .204).
    pub fn new(hosts: usize) -> Result<Lab, LabError> {
        let mut lab = Lab::empty()?;
        // From here on, Drop cleans up whatever part was made.
        lab.build(hosts)?;
        Ok(lab)
    }

    /// Names unique to this run, a directory, no namespaces yet.
    fn empty() -> Result<Lab, LabError> {
        prerequisites()?;
        let n = LABS_THIS_PROCESS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("vipd{}x{n}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        fs::create_dir_all(&dir)?;
        Ok(Lab {
            switch: format!("{prefix}sw"),
            prefix,
            hosts: Vec::new(),
            dir,
            children: Vec::new(),
            keep: false,
        })
    }

    fn build(&mut self, hosts: usize) -> Result<(), LabError> {
        let sw = self.switch.clone();
        ip(&["netns", "add", &sw])?;
        ip(&["-n", &sw, "link", "set", "lo", "up"])?;
        // No multicast snooping: VRRP's groups are link-local, flood them.
        ip(&[
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        ip(&["-n", &sw, "link", "set", "br0", "up"])?;
        for i in 1..=hosts {
            let netns = format!("{}h{i}", self.prefix);
            ip(&["netns", "add", &netns])?;
            let octet = if i >= 3 { 201 + i } else { 200 + i };
            let host = Host {
                ipv4: format!("192.0.2.{octet}").parse().unwrap(),
                ipv6: format!("2001:db8::{octet}").parse().unwrap(),
                link_local: format!("fe80::{octet}").parse().unwrap(),
                netns,
            };
            let ns = host.netns.clone();
            self.hosts.push(host);
            let port = format!("port{i}");
            ip(&[
                "link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port,
                "netns", &sw,
            ])?;
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            // A fixed link-local address instead of a generated one, and no
            // DAD, so IPv6 sources are known and usable at once.
            ip(&["-n", &ns, "link", "set", "eth0", "addrgenmode", "none"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            let host = self.hosts.last().unwrap();
            let addresses = [
                (format!("{}/24", host.ipv4), None),
                (format!("{}/64", host.ipv6), Some("nodad")),
                (format!("{}/64", host.link_local), Some("nodad")),
            ];
            for (address, flag) in &addresses {
                let mut args = vec!["-n", &ns, "addr", "add", address, "dev", "eth0"];
                args.extend(flag);
                ip(&args)?;
            }
        }
        Ok(())
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i - 1]
    }

    /// Leave everything up after the `Lab` is dropped (`vipd demo --keep`).
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Runs a command in host `i`'s namespace and waits for it.
    pub fn exec(&self, i: usize, program: &str, args: &[&str]) -> io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.host(i).netns, program])
            .args(args)
            .output()
    }

    /// Starts a long-running process in host `i`'s namespace, output to
    /// `log`. `ip netns exec` execs in place, so the PID is the program's.
    pub fn spawn(
        &mut self,
        i: usize,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> io::Result<Pid> {
        let netns = self.host(i).netns.clone();
        self.spawn_in(&netns, program, args, log)
    }

    /// As `spawn`, in any of this lab's namespaces (the switch's, or a
    /// routed lab's router).
    pub fn spawn_in(
        &mut self,
        netns: &str,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> io::Result<Pid> {
        let out = fs::File::create(log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", netns])
            .arg(program)
            .args(args)
            // The tests' own settings: a VIPD_ variable would read as
            // vipd configuration in the daemon under test.
            .env_remove("VIPD_KEEPALIVED_24")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        self.children.push(child);
        Ok(pid)
    }

    /// Sends `signal` to a process this lab started, unless it has been
    /// reaped already: its PID may belong to someone else by now.
    pub fn signal(&mut self, pid: Pid, signal: Signal) {
        let running = self
            .children
            .iter_mut()
            .find(|c| c.id() as i32 == pid.as_raw())
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        if running {
            let _ = kill(pid, signal);
        }
    }

    /// Waits up to `timeout` for a process this lab started to exit;
    /// returns its exit code (None: still running, or killed by a signal).
    pub fn wait_exit(&mut self, pid: Pid, timeout: Duration) -> Option<Option<i32>> {
        let child = self
            .children
            .iter_mut()
            .find(|c| c.id() as i32 == pid.as_raw())?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status.code());
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The addresses on host `i`'s eth0.
    pub fn addresses(&self, i: usize) -> Vec<IpAddr> {
        self.addresses_on(i, "eth0")
    }

    /// The addresses on device `dev` of host `i`.
    pub fn addresses_on(&self, i: usize, dev: &str) -> Vec<IpAddr> {
        let Ok(out) = Command::new("ip")
            .args(["-n", &self.host(i).netns, "-o", "addr", "show", "dev", dev])
            .output()
        else {
            return Vec::new();
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                words.find(|w| *w == "inet" || *w == "inet6")?;
                words.next()?.split('/').next()?.parse().ok()
            })
            .collect()
    }

    pub fn has_address(&self, i: usize, address: IpAddr) -> bool {
        self.addresses(i).contains(&address)
    }

    /// Which hosts have `address` on eth0.
    pub fn holders(&self, address: IpAddr) -> Vec<usize> {
        (1..=self.hosts.len())
            .filter(|&i| self.has_address(i, address))
            .collect()
    }

    /// Cuts or restores host `i`'s cable (its port on the switch).
    pub fn set_cable(&self, i: usize, up: bool) -> Result<(), LabError> {
        ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &format!("port{i}"),
            if up { "up" } else { "down" },
        ])
    }

    /// Sets host `i`'s own eth0 up or down (the daemon sees the link change).
    pub fn set_link(&self, i: usize, up: bool) -> Result<(), LabError> {
        ip(&[
            "-n",
            &self.host(i).netns,
            "link",
            "set",
            "eth0",
            if up { "up" } else { "down" },
        ])
    }

    pub fn namespaces(&self) -> Vec<String> {
        std::iter::once(self.switch.clone())
            .chain(self.hosts.iter().map(|h| h.netns.clone()))
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for child in &mut self.children {
            // A reaped child's PID may have been reused: leave it alone.
            if matches!(child.try_wait(), Ok(None)) {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                let _ = child.wait();
            }
        }
        for netns in self.namespaces() {
            // Anything else still running inside our namespaces was started
            // by a process we started (keepalived's children, say).
            if let Ok(out) = Command::new("ip").args(["netns", "pids", &netns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &netns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs `f` on a new thread inside namespace `netns` (setns moves only
/// that thread); sockets it makes stay in that namespace. Fails, without
/// running `f`, if the namespace cannot be entered.
pub fn in_namespace<T: Send + 'static>(
    netns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> io::Result<std::thread::JoinHandle<Option<T>>> {
    let handle = fs::File::open(Path::new("/var/run/netns").join(netns))?;
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let entered = nix::sched::setns(&handle, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(io::Error::from);
        let ok = entered.is_ok();
        let _ = entered_tx.send(entered);
        ok.then(f)
    });
    entered_rx
        .recv()
        .map_err(|_| io::Error::other("namespace thread died"))??;
    Ok(thread)
}

pub(crate) fn ip(args: &[&str]) -> Result<(), LabError> {
    checked(
        Command::new("ip").args(args),
        format!("ip {}", args.join(" ")),
        LabError::NoIp,
    )
}

/// Runs `command`; a failure says what ran (`shown`) and its stderr.
pub(crate) fn checked(
    command: &mut Command,
    shown: String,
    cannot_start: impl FnOnce(io::Error) -> LabError,
) -> Result<(), LabError> {
    let out = command.output().map_err(cannot_start)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::Command {
            command: shown,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Polls `condition` every few milliseconds until it holds or `timeout`
/// passes; returns how long it took.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if condition() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

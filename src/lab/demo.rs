//! `vipd demo`: the seed's story on a lab of two hosts.
//!
//! A (priority 100) and B (priority 90) share 192.0.2.203. Start both: the
//! address is on A. Stop A: it moves to B. Start A again: it comes back.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{wait_for, Host, Lab, LabError};

pub const VIP: &str = "192.0.2.203";

/// The seed's instance for one lab host, in vipd's YAML, with its own
/// control socket (hosts share the file system).
pub fn seed_config(host: &Host, state: &str, priority: u8, control_socket: &Path) -> String {
    format!(
        "control_socket: {control_socket}
instances:
  VI_1:
    interface: eth0
    state: {state}
    virtual_router_id: 51
    priority: {priority}
    advert_int: 1
    source_ip: {source}
    authentication:
      auth_type: PASS
      auth_pass: \"1111\"
    virtual_ipaddress: [\"{VIP}\"]
",
        source = host.ipv4,
        control_socket = control_socket.display()
    )
}

pub struct Options {
    /// Stop A with SIGKILL instead of SIGTERM.
    pub crash: bool,
    /// Leave the lab up afterwards.
    pub keep: bool,
}

pub(crate) struct Timeline {
    pub(crate) start: Instant,
    pub(crate) passed: usize,
    pub(crate) failed: usize,
}

impl Timeline {
    pub(crate) fn say(&self, text: &str) {
        println!("{:>7} ms  {text}", self.start.elapsed().as_millis());
    }

    /// Records a step's result; an interrupted step is neither.
    pub(crate) fn check(&mut self, step: &str, took: Option<Duration>, interrupted: bool) -> bool {
        if interrupted {
            return false;
        }
        match took {
            Some(took) => {
                self.passed += 1;
                self.say(&format!("PASS  {step} (after {} ms)", took.as_millis()));
                true
            }
            None => {
                self.failed += 1;
                self.say(&format!("FAIL  {step}"));
                false
            }
        }
    }
}

/// Runs the story; true when every step passed. `interrupted` (Ctrl-C)
/// ends it early, and the lab is removed on every path unless `keep`.
pub fn run(options: &Options, vipd: &Path, interrupted: &AtomicBool) -> Result<bool, LabError> {
    let mut lab = Lab::new(2)?;
    let vip: IpAddr = VIP.parse().unwrap();
    let mut t = Timeline {
        start: Instant::now(),
        passed: 0,
        failed: 0,
    };
    let (a, b) = (1, 2);
    t.say(&format!(
        "lab up: A {} (priority 100) and B {} (priority 90) on a private LAN, VIP {VIP}",
        lab.host(a).ipv4,
        lab.host(b).ipv4
    ));
    let config = |lab: &Lab, host: usize, state, priority| -> Result<PathBuf, LabError> {
        let path = lab.dir.join(format!("host{host}.yaml"));
        let socket = lab.dir.join(format!("host{host}.sock"));
        fs::write(&path, seed_config(lab.host(host), state, priority, &socket))?;
        Ok(path)
    };
    let a_config = config(&lab, a, "MASTER", 100)?;
    let b_config = config(&lab, b, "BACKUP", 90)?;
    let start = |lab: &mut Lab, host: usize, config: &Path, run: u32| {
        start_vipd(lab, vipd, host, config, run)
    };
    // Generous deadlines: Master_Down_Interval is 3.6 s; a loaded machine
    // may add seconds. The timeline shows what it really took.
    let deadline = Duration::from_secs(20);
    let only = |lab: &Lab, host: usize| lab.holders(vip) == vec![host];
    let stop_early = || interrupted.load(Ordering::SeqCst);

    let a_pid = start(&mut lab, a, &a_config, 1)?;
    start(&mut lab, b, &b_config, 1)?;
    t.say("started vipd on A and B");
    let ok = t.check(
        "1. VIP on A only",
        wait_for(deadline, || stop_early() || only(&lab, a)),
        stop_early(),
    );

    if ok && !stop_early() {
        let how = options.stop_signal();
        t.say(&format!("stopping A with {how}"));
        lab.signal(a_pid, how);
        let moved = if options.crash {
            // Nothing runs on A to remove the address (keepalived leaves it
            // too); B must take over all the same.
            wait_for(deadline, || stop_early() || lab.holders(vip).contains(&b))
        } else {
            wait_for(deadline, || stop_early() || only(&lab, b))
        };
        let step2 = t.check("2. VIP on B", moved, stop_early());
        if options.crash && lab.has_address(a, vip) {
            t.say("   (A's kernel still holds it: vipd removes it when it starts there again)");
        }
        if !options.crash {
            match lab.wait_exit(a_pid, Duration::from_secs(2)) {
                Some(Some(0)) => t.say("   A's vipd exited 0 after handing over"),
                other => t.say(&format!("   A's vipd did not exit cleanly: {other:?}")),
            }
        }

        if step2 && !stop_early() {
            start(&mut lab, a, &a_config, 2)?;
            t.say("started vipd on A again");
            t.check(
                "3. VIP back on A only",
                wait_for(deadline, || stop_early() || only(&lab, a)),
                stop_early(),
            );
        }
    }

    Ok(t.finish(&mut lab, options, stop_early()))
}

impl Timeline {
    /// The result line, and with `--keep` how to enter and remove the lab;
    /// true when all three steps passed and nothing interrupted them.
    pub(crate) fn finish(&self, lab: &mut Lab, options: &Options, interrupted: bool) -> bool {
        if interrupted {
            self.say("interrupted");
        }
        println!("result: {} passed, {} failed", self.passed, self.failed);
        if options.keep {
            lab.keep();
            println!("the lab is still up (--keep). Enter a namespace with:");
            for netns in lab.namespaces() {
                println!("  ip netns exec {netns} bash");
            }
            println!("logs and configs: {}", lab.dir.display());
            println!(
                "remove it with: for ns in {}; do ip netns pids $ns | xargs -r kill; ip netns del $ns; done",
                lab.namespaces().join(" ")
            );
        }
        self.failed == 0 && self.passed == 3 && !interrupted
    }
}

/// Starts `vipd run --config CONFIG` on `host`; the log is
/// `vipd-hHOST-runRUN.log` in the lab's directory.
pub(crate) fn start_vipd(
    lab: &mut Lab,
    vipd: &Path,
    host: usize,
    config: &Path,
    run: u32,
) -> Result<Pid, LabError> {
    let log = lab.dir.join(format!("vipd-h{host}-run{run}.log"));
    Ok(lab.spawn(
        host,
        vipd,
        &["run", "--config", &config.to_string_lossy()],
        &log,
    )?)
}

impl Options {
    /// How A is stopped: a crash or a clean stop.
    pub(crate) fn stop_signal(&self) -> Signal {
        if self.crash {
            Signal::SIGKILL
        } else {
            Signal::SIGTERM
        }
    }
}

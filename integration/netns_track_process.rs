//! track_process end to end, in network namespaces: where keepalived
//! 2.2.7 gets no process events (the kernel sends none into a namespace
//! other than the first: it logs errno 111 and counts every tracked
//! process as gone), vipd watches counted processes by pidfd and scans
//! /proc for new ones. keepalived.conf as keepalived reads it, YAML
//! quorum and parameters, terminate_delay, and /proc mounted with hidepid.

mod support;

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use support::*;
use vipd::lab::Lab;

const VIP: &str = "192.0.2.203";
const DEADLINE: Duration = Duration::from_secs(30);

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

/// A copy of sleep under a name of this test's own (the kernel's name
/// for a process is its program's file name, at most 15 bytes), in the
/// lab's directory, which every user may read.
fn tracked_program(lab: &Lab, tag: char) -> (PathBuf, String) {
    let name = format!("vtp{}{tag}", std::process::id() % 100_000);
    let path = lab.dir.join(&name);
    fs::copy("/bin/sleep", &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&lab.dir, fs::Permissions::from_mode(0o755)).unwrap();
    (path, name)
}

fn run(lab: &mut Lab, program: &Path, args: &[&str], tag: &str) -> Pid {
    let log = lab.dir.join(format!("tracked-{tag}.log"));
    lab.spawn(1, program, args, &log)
        .expect("start tracked process")
}

fn status(lab: &Lab, host: usize) -> serde_json::Value {
    status_at(&control_socket(lab, host))
}

fn status_at(socket: &Path) -> serde_json::Value {
    let out = std::process::Command::new(vipd_binary())
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .expect("run vipd status");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn check(lab: &Lab, name: &str) -> Option<(bool, u64)> {
    check_at(&control_socket(lab, 1), name)
}

/// The check's (up, running processes), once vipd has counted.
fn check_at(socket: &Path, name: &str) -> Option<(bool, u64)> {
    let s = status_at(socket);
    let c = s["checks"].as_array()?.iter().find(|c| c["name"] == name)?;
    Some((c["up"].as_bool()?, c["processes"].as_u64()?))
}

fn wait_check(lab: &Lab, name: &str, want: (bool, u64), step: &str, daemon: &Daemon) -> Duration {
    wait_check_at(&control_socket(lab, 1), name, want, step, daemon)
}

fn wait_check_at(
    socket: &Path,
    name: &str,
    want: (bool, u64),
    step: &str,
    daemon: &Daemon,
) -> Duration {
    poll_until(|| check_at(socket, name) == Some(want)).unwrap_or_else(|| {
        panic!(
            "{step}: expected check {name} {want:?}, have {:?}\n{}",
            check_at(socket, name),
            daemon.log_text()
        )
    })
}

/// wait_for, asking every 100 ms: each ask runs `vipd status` (a debug
/// build of some hundred MB), which two busy cores feel at 5 ms.
fn poll_until(mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if condition() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn state(lab: &Lab) -> String {
    status(lab, 1)["instances"][0]["state"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// keepalived.conf as keepalived reads it: a process with weight -20 on
/// A (100) against B (90). Its exit moves the VIP to B; starting it again
/// brings the VIP back.
#[test]
fn a_tracked_process_moves_the_vip_at_its_exit_and_back_when_it_runs_again() {
    let Some(mut lab) = lab_or_skip(
        "a_tracked_process_moves_the_vip_at_its_exit_and_back_when_it_runs_again",
        2,
    ) else {
        return;
    };
    let (program, name) = tracked_program(&lab, 'a');
    let first = run(&mut lab, &program, &["1000"], "a1");
    let conf = lab.dir.join("a.conf");
    fs::write(
        &conf,
        format!(
            "vrrp_track_process svc {{\n    process {name}\n    weight -20\n}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    mcast_src_ip {}\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        {VIP}\n    }}\n    track_process {{\n        svc\n    }}\n}}\n",
            lab.host(1).ipv4
        ),
    )
    .unwrap();
    let layer = lab.dir.join("a-socket.yaml");
    fs::write(&layer, control_socket_line(&lab, 1)).unwrap();
    let a = start_vipd(
        &mut lab,
        1,
        &conf,
        "a",
        &["--config", &layer.to_string_lossy()],
    );
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "b", &[]);
    wait_check(&lab, "svc", (true, 1), "process running", &a);
    expect_only(&lab, vip(), 1, "A holds the VIP", &[&a, &b]);

    lab.signal(first, Signal::SIGKILL);
    let seen = wait_check(&lab, "svc", (false, 0), "process killed", &a);
    println!("exit counted after {seen:?} (pidfd; the scan runs every 1 s)");
    let priority = status(&lab, 1)["instances"][0]["effective_priority"].as_u64();
    assert_eq!(priority, Some(80), "weight -20 applies while it is gone");
    expect_only(&lab, vip(), 2, "B holds the VIP", &[&a, &b]);

    let _second = run(&mut lab, &program, &["1000"], "a2");
    let found = wait_check(&lab, "svc", (true, 1), "process started again", &a);
    println!("start counted after {found:?}");
    expect_only(&lab, vip(), 1, "A holds the VIP again", &[&a, &b]);
    assert!(
        a.log_text().contains("no process events"),
        "vipd says how it watches processes:\n{}",
        a.log_text()
    );
}

/// A YAML config for host 1 alone with one process check `svc`
/// (`process` is its YAML) tracked with weight 0: FAULT while it is down.
fn one_host(lab: &mut Lab, process: &str) -> Daemon {
    let path = one_host_config(lab, process, 100);
    start_vipd(lab, 1, &path, "one", &[])
}

fn one_host_config(lab: &Lab, process: &str, priority: u8) -> PathBuf {
    let text = format!(
        "{}checks:\n  svc:\n    process: {process}\ninstances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: {priority}\n    advert_int: 1\n    source_ip: {}\n    virtual_ipaddress: [\"{VIP}\"]\n    track_script: [svc]\n",
        control_socket_line(lab, 1),
        lab.host(1).ipv4
    );
    let path = lab.dir.join("one.yaml");
    fs::write(&path, text).unwrap();
    path
}

/// Process checks are counted before instances start, as keepalived
/// counts them: an address owner (255) whose process is gone starts in
/// FAULT, never MASTER for a moment (which would take the VIP from the
/// real master and send gratuitous ARPs for it).
#[test]
fn an_owner_whose_process_is_gone_never_claims_its_address() {
    let Some(mut lab) = lab_or_skip("an_owner_whose_process_is_gone_never_claims_its_address", 1)
    else {
        return;
    };
    let (_, name) = tracked_program(&lab, 'o');
    let path = one_host_config(&lab, &format!("{{ name: {name} }}"), 255);
    let a = start_vipd(&mut lab, 1, &path, "owner", &[]);
    poll_until(|| state(&lab) == "FAULT")
        .unwrap_or_else(|| panic!("FAULT expected\n{}", a.log_text()));
    let log = a.log_text();
    assert!(!log.contains("Entering MASTER"), "{log}");
    assert!(!lab.has_address(1, vip()), "the owner never added {VIP}");
}

/// A reload keeps what was counted: a process check it changes is told
/// its count (not "up" until the next change), and one it leaves as it
/// was keeps a terminate_delay under way.
#[test]
fn a_reload_changes_no_process_check_by_itself() {
    let Some(mut lab) = lab_or_skip("a_reload_changes_no_process_check_by_itself", 1) else {
        return;
    };
    let (program, name) = tracked_program(&lab, 'r');
    let path = one_host_config(&lab, &format!("{{ name: {name} }}"), 100);
    let a = start_vipd(&mut lab, 1, &path, "reload", &[]);
    wait_check(&lab, "svc", (false, 0), "not running", &a);
    poll_until(|| state(&lab) == "FAULT").expect("FAULT");

    // Changed (a delay added): still down, still FAULT.
    one_host_config(
        &lab,
        &format!("{{ name: {name}, terminate_delay: 20s }}"),
        100,
    );
    let out = reload(&lab, 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_check(&lab, "svc", (false, 0), "after the reload", &a);
    assert_eq!(state(&lab), "FAULT", "{}", a.log_text());

    // Running; then gone, with the 20 s delay under way: a reload that
    // changes nothing does not end it.
    let pid = run(&mut lab, &program, &["1000"], "r1");
    wait_check(&lab, "svc", (true, 1), "running", &a);
    poll_until(|| state(&lab) != "FAULT").expect("out of FAULT");
    lab.signal(pid, Signal::SIGKILL);
    wait_check(&lab, "svc", (true, 0), "gone, within the delay", &a);
    let out = reload(&lab, 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reloads = || status(&lab, 1)["reload"]["sequence"].as_u64();
    poll_until(|| reloads() == Some(2)).expect("the second reload applied");
    assert_eq!(check(&lab, "svc"), Some((true, 0)), "{}", a.log_text());
    assert_ne!(state(&lab), "FAULT", "{}", a.log_text());
}

/// quorum 2 of processes started with `1000` as their first argument:
/// other arguments do not count, and one too few is FAULT.
#[test]
fn quorum_and_parameters_count_as_keepalived_counts() {
    let Some(mut lab) = lab_or_skip("quorum_and_parameters_count_as_keepalived_counts", 1) else {
        return;
    };
    let (program, _) = tracked_program(&lab, 'q');
    let path = program.to_string_lossy().to_string();
    let one = run(&mut lab, &program, &["1000", "1"], "q1");
    let _two = run(&mut lab, &program, &["1000", "2"], "q2");
    let _other = run(&mut lab, &program, &["999"], "q3");
    let a = one_host(
        &mut lab,
        &format!("{{ name: \"{path}\", params: [\"1000\"], param_match: partial, quorum: 2 }}"),
    );
    wait_check(&lab, "svc", (true, 2), "two of three match", &a);
    poll_until(|| state(&lab) == "MASTER").expect("master");

    lab.signal(one, Signal::SIGKILL);
    wait_check(&lab, "svc", (false, 1), "one too few", &a);
    poll_until(|| state(&lab) == "FAULT")
        .unwrap_or_else(|| panic!("FAULT below quorum\n{}", a.log_text()));

    let _again = run(&mut lab, &program, &["1000", "3"], "q4");
    wait_check(&lab, "svc", (true, 2), "quorum again", &a);
    poll_until(|| state(&lab) != "FAULT").expect("out of FAULT");
}

/// terminate_delay: a process started again within it changes nothing;
/// one that stays gone counts as gone only once it has passed.
#[test]
fn terminate_delay_spares_a_quick_restart() {
    let Some(mut lab) = lab_or_skip("terminate_delay_spares_a_quick_restart", 1) else {
        return;
    };
    let (program, name) = tracked_program(&lab, 'd');
    let first = run(&mut lab, &program, &["1000"], "d1");
    let a = one_host(
        &mut lab,
        &format!("{{ name: {name}, terminate_delay: 8s }}"),
    );
    wait_check(&lab, "svc", (true, 1), "running", &a);

    lab.signal(first, Signal::SIGKILL);
    wait_check(&lab, "svc", (true, 0), "gone, within the delay", &a);
    let second = run(&mut lab, &program, &["1000"], "d2");
    wait_check(&lab, "svc", (true, 1), "back within the delay", &a);
    assert!(
        !a.log_text().contains("FAULT"),
        "a restart within terminate_delay changes nothing:\n{}",
        a.log_text()
    );

    lab.signal(second, Signal::SIGKILL);
    let killed = Instant::now();
    wait_check(&lab, "svc", (false, 0), "gone past the delay", &a);
    let after = killed.elapsed();
    assert!(
        after >= Duration::from_millis(7500),
        "down only after terminate_delay (8 s), took {after:?}"
    );
}

/// Runs `vipd run --config CONFIG` in host 1's namespace with /proc
/// mounted anew with `options` (a private mount namespace: the host's
/// /proc is untouched).
fn vipd_with_proc_options(lab: &mut Lab, config: &Path, options: &str, tag: &str) -> Daemon {
    let log = lab.dir.join(format!("vipd-hidepid-{tag}.log"));
    let script = format!(
        "mount -t proc -o {options} proc /proc && exec {} run --config {}",
        vipd_binary().display(),
        config.display()
    );
    let pid = lab
        .spawn(
            1,
            Path::new("unshare"),
            &["--mount", "--propagation", "private", "sh", "-c", &script],
            &log,
        )
        .expect("start vipd under hidepid");
    Daemon { pid, log }
}

/// /proc mounted with hidepid=2 hides other users' processes from a vipd
/// run as `user: nobody` (outside the mount's group, root's by default,
/// and without CAP_SYS_PTRACE): with the mount's gid= vipd joins that
/// group when it starts and counts them; without, it says so.
#[test]
fn hidepid_hides_no_process_from_a_vipd_in_its_group() {
    let test = "hidepid_hides_no_process_from_a_vipd_in_its_group";
    if let Some(missing) = missing_tool(&["unshare", "setpriv"]) {
        if !vipd::lab::testing::proceed_or_skip(test, Some(missing)) {
            return;
        }
    }
    // Before Linux 5.8 a proc mount shares its options with the host's:
    // mounting one with hidepid would hide the host's processes too.
    let release = nix::sys::utsname::uname().unwrap();
    let version: Vec<u32> = release
        .release()
        .to_string_lossy()
        .split(['.', '-'])
        .take(2)
        .filter_map(|n| n.parse().ok())
        .collect();
    if version.as_slice() < [5, 8].as_slice() {
        println!("skipped: {test}: Linux before 5.8 has one set of proc mount options");
        return;
    }
    let Some(mut lab) = lab_or_skip(test, 1) else {
        return;
    };
    let (program, name) = tracked_program(&lab, 'h');
    // Another user's process: neither root's nor vipd's (nobody).
    let _other = run(
        &mut lab,
        Path::new("setpriv"),
        &[
            "--reuid=65533",
            "--regid=65533",
            "--clear-groups",
            &program.to_string_lossy(),
            "1000",
        ],
        "h1",
    );
    // A directory vipd makes for its user and hands to it.
    let socket = lab.dir.join("hidepid-run").join("vipd.sock");
    let text = format!(
        "control_socket: {}\nuser: nobody\nchecks:\n  svc:\n    process: {{ name: {name} }}\ninstances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n    source_ip: {}\n    virtual_ipaddress: [\"{VIP}\"]\n    track_script: [svc]\n",
        socket.display(),
        lab.host(1).ipv4
    );
    let config = lab.dir.join("hidepid.yaml");
    fs::write(&config, text).unwrap();

    let a = vipd_with_proc_options(&mut lab, &config, "hidepid=2,gid=4242", "gid");
    wait_check_at(&socket, "svc", (true, 1), "seen through hidepid=2,gid", &a);
    assert!(
        a.log_text().contains("vipd is in its group (gid=4242)"),
        "{}",
        a.log_text()
    );
    lab.signal(a.pid, Signal::SIGTERM);
    lab.wait_exit(a.pid, DEADLINE).expect("vipd stops");

    let hidden = vipd_with_proc_options(&mut lab, &config, "hidepid=2", "nogid");
    wait_check_at(&socket, "svc", (false, 0), "hidden without gid", &hidden);
    assert!(
        hidden
            .log_text()
            .contains("processes of other users are hidden from vipd"),
        "vipd says why it counts none:\n{}",
        hidden.log_text()
    );
}

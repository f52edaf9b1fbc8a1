//! Health end to end: a sick service moves the VIP even though its host
//! is up, and a healthy one brings it back. Exec and http checks, a hung
//! check, tracked interfaces, and notify scripts in keepalived's format.

mod support;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const VIP: &str = "192.0.2.203";

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

/// A's config: the seed instance at priority 100 plus `extra` YAML
/// (top-level sections first, then instance keys after `---instance---`).
fn a_config(lab: &Lab, top: &str, instance: &str) -> std::path::PathBuf {
    let text = format!(
        "{}{top}instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n    source_ip: {}\n    authentication: {{ auth_type: PASS, auth_pass: \"1111\" }}\n    virtual_ipaddress: [\"{VIP}\"]\n{instance}",
        control_socket_line(lab, 1),
        lab.host(1).ipv4
    );
    let path = lab.dir.join("health-a.yaml");
    fs::write(&path, text).unwrap();
    path
}

fn start_b(lab: &mut Lab) -> Daemon {
    let config = vipd_config(lab, 2, Flavour::V2Ipv4, 90, "1111");
    start_vipd(lab, 2, &config, "1", &[])
}

/// Waits until `host` alone holds the VIP; returns how long that took.
fn moved_to(lab: &Lab, host: usize, what: &str, logs: &[&Daemon]) -> Duration {
    expect_only(lab, vip(), host, what, logs)
}

#[test]
fn a_failing_exec_check_moves_the_vip_and_recovery_brings_it_back() {
    let Some(mut lab) = lab_or_skip(
        "a_failing_exec_check_moves_the_vip_and_recovery_brings_it_back",
        2,
    ) else {
        return;
    };
    let flag = lab.dir.join("service-down");
    let top = format!(
        "checks:\n  service: {{ exec: \"/bin/sh -c 'test ! -e {}'\", interval: 1s, fall: 2, rise: 1, weight: -20 }}\n",
        flag.display()
    );
    let config = a_config(&lab, &top, "    track_script: [service]\n");
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 1, "started", &[&a, &b]);

    fs::write(&flag, "").unwrap();
    let failed_at = Instant::now();
    let took = moved_to(&lab, 2, "check failing", &[&a, &b]);
    // fall x interval to notice, up to one interval of phase, then B's
    // Master_Down_Interval (3.65 s); generous slack for a loaded machine.
    let bound = Duration::from_secs(2 + 1) + Duration::from_millis(3650) + Duration::from_secs(3);
    println!(
        "check failure to VIP on B: {:?} (bound {bound:?})",
        failed_at.elapsed()
    );
    assert!(took <= bound, "took {took:?}");
    let log = a.log_text();
    assert!(
        log.contains("VRRP_Script(service) failed (exited with status 1)"),
        "{log}"
    );
    assert!(
        log.contains("(VI_1) Changing effective priority from 100 to 80"),
        "{log}"
    );

    fs::remove_file(&flag).unwrap();
    let recovered_at = Instant::now();
    moved_to(&lab, 1, "check healthy again", &[&a, &b]);
    println!(
        "check recovery to VIP back on A: {:?}",
        recovered_at.elapsed()
    );
    assert!(a.log_text().contains("VRRP_Script(service) succeeded"));
    assert!(a
        .log_text()
        .contains("(VI_1) Changing effective priority from 80 to 100"));
}

/// A tiny HTTP server in host 1's namespace: 200 "ok" while `healthy`.
fn health_server(
    lab: &Lab,
    healthy: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let netns = File::open(format!("/var/run/netns/{}", lab.host(1).netns)).unwrap();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        setns(&netns, CloneFlags::CLONE_NEWNET).unwrap();
        let listener = TcpListener::bind("127.0.0.1:8080").unwrap();
        listener.set_nonblocking(true).unwrap();
        ready_tx.send(()).unwrap();
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_secs(2)))
                        .unwrap();
                    let mut request = [0u8; 1024];
                    let _ = stream.read(&mut request);
                    let response = if healthy.load(Ordering::SeqCst) {
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    } else {
                        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nsick"
                    };
                    let _ = stream.write_all(response.as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    ready.recv().unwrap();
    handle
}

#[test]
fn a_failing_http_check_moves_the_vip_and_recovery_brings_it_back() {
    let Some(mut lab) = lab_or_skip(
        "a_failing_http_check_moves_the_vip_and_recovery_brings_it_back",
        2,
    ) else {
        return;
    };
    let (healthy, stop) = (
        Arc::new(AtomicBool::new(true)),
        Arc::new(AtomicBool::new(false)),
    );
    let server = health_server(&lab, Arc::clone(&healthy), Arc::clone(&stop));
    let top = "checks:\n  web: { http: \"http://127.0.0.1:8080/health\", status: 200, body: ok, interval: 1s, weight: -20 }\n";
    let config = a_config(&lab, top, "    track_script: [web]\n");
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 1, "started", &[&a, &b]);

    healthy.store(false, Ordering::SeqCst);
    let failed_at = Instant::now();
    moved_to(&lab, 2, "service answering 503", &[&a, &b]);
    println!("http check failure to VIP on B: {:?}", failed_at.elapsed());
    assert!(
        a.log_text()
            .contains("VRRP_Script(web) failed (status 503, expected 200)"),
        "{}",
        a.log_text()
    );

    healthy.store(true, Ordering::SeqCst);
    moved_to(&lab, 1, "service healthy again", &[&a, &b]);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}

/// Processes in host `i`'s namespace other than `except`, with their state.
fn other_processes(lab: &Lab, i: usize, except: i32) -> Vec<(i32, String)> {
    let out = std::process::Command::new("ip")
        .args(["netns", "pids", &lab.host(i).netns])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .filter(|&p| p != except)
        .map(|p| {
            (
                p,
                fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default(),
            )
        })
        .collect()
}

fn is_script_launcher(pid: i32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("script-launcher"))
        .unwrap_or(false)
}

#[test]
fn a_hung_check_is_killed_at_its_timeout_and_counts_as_failure() {
    let Some(mut lab) = lab_or_skip(
        "a_hung_check_is_killed_at_its_timeout_and_counts_as_failure",
        2,
    ) else {
        return;
    };
    // A shell with a child: the timeout must kill the whole group.
    let top = "checks:\n  hung: { exec: \"/bin/sh -c 'sleep 1000'\", interval: 2s, timeout: 500ms, weight: -20 }\n";
    let config = a_config(&lab, top, "    track_script: [hung]\n");
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 2, "a hung check is a failing check", &[&a, &b]);
    assert!(
        a.log_text()
            .contains("VRRP_Script(hung) failed (timed out after 500ms; killed)"),
        "{}",
        a.log_text()
    );

    // Over several check periods: never more than one check's processes
    // (sh and sleep) at a time besides vipd's script launcher, and no
    // zombie left unreaped. A process just killed is a zombie until the
    // launcher reaps it, so only one still a zombie a second later counts.
    let watch_until = Instant::now() + Duration::from_secs(5);
    let mut zombies_since: std::collections::HashMap<i32, Instant> = Default::default();
    while Instant::now() < watch_until {
        let others: Vec<_> = other_processes(&lab, 1, a.pid.as_raw())
            .into_iter()
            .filter(|(pid, _)| !is_script_launcher(*pid))
            .collect();
        assert!(others.len() <= 2, "left behind: {others:?}");
        let now = Instant::now();
        let zombies: Vec<i32> = others
            .iter()
            .filter(|(_, stat)| stat.contains(") Z "))
            .map(|(pid, _)| *pid)
            .collect();
        zombies_since.retain(|pid, _| zombies.contains(pid));
        for pid in zombies {
            let since = *zombies_since.entry(pid).or_insert(now);
            assert!(
                now - since < Duration::from_secs(1),
                "zombie {pid} not reaped for a second: {others:?}"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stopping the daemon mid-check leaves nothing running either.
    lab.signal(a.pid, Signal::SIGTERM);
    assert_eq!(lab.wait_exit(a.pid, DEADLINE), Some(Some(0)));
    wait_for(DEADLINE, || {
        other_processes(&lab, 1, a.pid.as_raw()).is_empty()
    })
    .unwrap_or_else(|| panic!("orphans: {:?}", other_processes(&lab, 1, a.pid.as_raw())));
}

#[test]
fn link_down_faults_the_master_and_a_tracked_interface_lowers_priority() {
    let Some(mut lab) = lab_or_skip(
        "link_down_faults_the_master_and_a_tracked_interface_lowers_priority",
        2,
    ) else {
        return;
    };
    // A second interface on A to track: a veth pair inside A's namespace.
    let made = lab
        .exec(
            1,
            "ip",
            &[
                "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
            ],
        )
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    for end in ["trk0", "trk1"] {
        assert!(lab
            .exec(1, "ip", &["link", "set", end, "up"])
            .unwrap()
            .status
            .success());
    }
    let config = a_config(
        &lab,
        "",
        "    track_interface: [{ name: trk0, weight: -20 }]\n",
    );
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 1, "started", &[&a, &b]);

    // A tracked interface with a weight lowers the priority.
    lab.exec(1, "ip", &["link", "set", "trk0", "down"]).unwrap();
    moved_to(&lab, 2, "trk0 down", &[&a, &b]);
    assert!(
        a.log_text().contains("tracked interface trk0 is down"),
        "{}",
        a.log_text()
    );
    lab.exec(1, "ip", &["link", "set", "trk0", "up"]).unwrap();
    moved_to(&lab, 1, "trk0 up", &[&a, &b]);

    // The VRRP interface itself going down is FAULT.
    lab.set_link(1, false).unwrap();
    wait_for(DEADLINE, || {
        a.log_text().contains("(VI_1) Entering FAULT STATE")
    })
    .unwrap_or_else(|| panic!("no FAULT:\n{}", a.log_text()));
    moved_to(&lab, 2, "A's eth0 down", &[&a, &b]);
    lab.set_link(1, true).unwrap();
    moved_to(&lab, 1, "A's eth0 up", &[&a, &b]);
}

#[test]
fn notify_scripts_get_keepalived_arguments_in_transition_order() {
    let Some(mut lab) = lab_or_skip(
        "notify_scripts_get_keepalived_arguments_in_transition_order",
        2,
    ) else {
        return;
    };
    let record = lab.dir.join("notify.log");
    let fifo = lab.dir.join("notify.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    // Hold the FIFO open for reading before vipd writes to it.
    let reader = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    let top = format!("notify_fifo: {}\n", fifo.display());
    let r = record.display();
    let instance = format!(
        "    notify_master: \"/bin/sh -c 'echo master >> {r}'\"\n    notify_backup: \"/bin/sh -c 'echo backup >> {r}'\"\n    notify: \"/bin/sh -c 'echo \\\"$*\\\" >> {r}' notify\"\n"
    );
    let config = a_config(&lab, &top, &instance);
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 1, "started", &[&a, &b]);
    let lines = |path: &Path| {
        fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    wait_for(DEADLINE, || lines(&record).len() >= 4)
        .unwrap_or_else(|| panic!("{:?}\n{}", lines(&record), a.log_text()));

    lab.signal(a.pid, Signal::SIGTERM);
    assert_eq!(lab.wait_exit(a.pid, DEADLINE), Some(Some(0)));
    assert_eq!(
        lines(&record),
        vec![
            "backup",
            "INSTANCE VI_1 BACKUP 100",
            "master",
            "INSTANCE VI_1 MASTER 100",
            "INSTANCE VI_1 STOP 100"
        ],
        "state script first, then notify with INSTANCE name STATE priority"
    );
    let mut fifo_lines = Vec::new();
    BufReader::new(File::from(reader))
        .lines()
        .map_while(Result::ok)
        .for_each(|l| fifo_lines.push(l));
    assert_eq!(
        fifo_lines,
        vec![
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_1\" STOP 100"
        ]
    );
}

#[test]
fn a_tracked_file_moves_the_vip_by_value_times_weight() {
    let Some(mut lab) = lab_or_skip("a_tracked_file_moves_the_vip_by_value_times_weight", 2) else {
        return;
    };
    let file = lab.dir.join("maintenance");
    let top = format!(
        "track_files:\n  maint: {{ file: {}, weight: -10 }}\n",
        file.display()
    );
    let config = a_config(&lab, &top, "    track_file: [maint]\n");
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 1, "started (no file counts as 0)", &[&a, &b]);

    fs::write(&file, "2\n").unwrap(); // 2 x -10: priority 80 < 90
    moved_to(&lab, 2, "file holds 2", &[&a, &b]);
    assert!(
        a.log_text()
            .contains("(VI_1) Changing effective priority from 100 to 80"),
        "{}",
        a.log_text()
    );
    fs::write(&file, "0\n").unwrap();
    moved_to(&lab, 1, "file holds 0", &[&a, &b]);
}

#[test]
fn checks_run_as_the_configured_user() {
    let Some(mut lab) = lab_or_skip("checks_run_as_the_configured_user", 2) else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let out = lab.dir.join("out");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
    let top = format!(
        "checks:\n  whoami: {{ exec: \"/bin/sh -c 'id -u > {}/uid'\", user: nobody, interval: 1s }}\n",
        out.display()
    );
    let config = a_config(&lab, &top, "    track_script: [whoami]\n");
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    let uid = || {
        fs::read_to_string(out.join("uid"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    wait_for(DEADLINE, || !uid().is_empty())
        .unwrap_or_else(|| panic!("check never ran:\n{}", a.log_text()));
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    assert_eq!(uid(), nobody.to_string());
}

/// Tracked files that never end (/dev/zero) or wait for a writer (a FIFO)
/// stand for a hung network mount: read on the thread that sends adverts
/// they froze the daemon and B took the VIP. Now they are read off that
/// thread, bounded, and A keeps advertising; a plain tracked file beside
/// them still moves the VIP.
#[test]
fn tracked_files_that_never_end_or_wait_do_not_stop_the_adverts() {
    let Some(mut lab) = lab_or_skip("tracked_files_that_never_end_or_wait", 2) else {
        return;
    };
    let fifo = lab.dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let plain = lab.dir.join("plain");
    let top = format!(
        "track_files:\n  zero: {{ file: /dev/zero, weight: -10 }}\n  fifo: {{ file: {}, weight: -10 }}\n  plain: {{ file: {}, weight: -10 }}\n",
        fifo.display(),
        plain.display()
    );
    let config = a_config(&lab, &top, "    track_file: [zero, fifo, plain]\n");
    let b = start_b(&mut lab);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    moved_to(&lab, 1, "started", &[&a, &b]);
    // B may have been master for a moment before A started.
    let b_masters = b.log_text().matches("Entering MASTER").count();
    // Longer than B's Master_Down_Interval: a frozen A would have lost it.
    let watch_until = std::time::Instant::now() + Duration::from_secs(6);
    while std::time::Instant::now() < watch_until {
        assert_eq!(
            lab.holders(Flavour::V2Ipv4.vip()),
            vec![1],
            "{}",
            a.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        b.log_text().matches("Entering MASTER").count(),
        b_masters,
        "{}",
        b.log_text()
    );
    fs::write(&plain, "2\n").unwrap(); // 2 x -10: priority 80 < 90
    moved_to(&lab, 2, "the plain file holds 2", &[&a, &b]);
}

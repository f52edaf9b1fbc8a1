//! Shared by the network tests: prerequisites, configs for vipd and
//! keepalived on lab hosts, and waiting with deadlines.
#![allow(dead_code)]

pub mod raw;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use vipd::lab::{missing_prerequisite, wait_for, Lab};

/// Generous: Master_Down_Interval is 3.6 s, and two shared cores running
/// several labs at once may add seconds. Tests poll; they do not sleep.
pub const DEADLINE: Duration = Duration::from_secs(25);

/// The vipd under test: this build's, or the one TESTED_VIPD names (the
/// package checks point the seed's story at the installed /usr/sbin/vipd).
pub fn vipd_binary() -> PathBuf {
    std::env::var_os("TESTED_VIPD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_vipd")))
}

/// What is missing for a network test, with keepalived if asked.
fn missing(need_keepalived: bool) -> Option<String> {
    missing_prerequisite().or_else(|| {
        let absent = need_keepalived
            && Command::new("keepalived")
                .arg("--version")
                .output()
                .is_err();
        absent.then(|| "keepalived is not installed".to_string())
    })
}

/// The first of `tools` that does not run (`TOOL --version`), as a
/// prerequisite that is missing.
pub fn missing_tool(tools: &[&str]) -> Option<String> {
    tools
        .iter()
        .find(|tool| Command::new(tool).arg("--version").output().is_err())
        .map(|tool| format!("{tool} is not installed"))
}

/// True when the prerequisites are there; otherwise prints one
/// "skipped:" line, or under CI=true fails instead of skipping.
pub fn prerequisites_or_skip(test: &str, need_keepalived: bool) -> bool {
    vipd::lab::testing::proceed_or_skip(test, missing(need_keepalived))
}

/// A lab of `hosts`, or `None` after one "skipped:" line.
pub fn lab_or_skip(test: &str, hosts: usize) -> Option<Lab> {
    prerequisites_or_skip(test, false)
        .then(|| Lab::new(hosts).unwrap_or_else(|e| panic!("{test}: building the lab: {e}")))
}

/// Like `lab_or_skip`, and keepalived must be installed too.
pub fn lab_with_keepalived_or_skip(test: &str, hosts: usize) -> Option<Lab> {
    prerequisites_or_skip(test, true)
        .then(|| Lab::new(hosts).unwrap_or_else(|e| panic!("{test}: building the lab: {e}")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    V2Ipv4,
    V3Ipv4,
    V3Ipv6,
}

impl Flavour {
    pub fn version(self) -> u8 {
        if self == Flavour::V2Ipv4 {
            2
        } else {
            3
        }
    }

    /// The address the tests watch.
    pub fn vip(self) -> IpAddr {
        match self {
            Flavour::V3Ipv6 => "2001:db8::250".parse().unwrap(),
            _ => "192.0.2.203".parse().unwrap(),
        }
    }

    fn vips(self) -> &'static str {
        match self {
            // The first IPv6 address is link-local, as RFC 5798 asks.
            Flavour::V3Ipv6 => "\"fe80::51/64\", \"2001:db8::250/64\"",
            _ => "\"192.0.2.203\"",
        }
    }

    fn source(self, lab: &Lab, host: usize) -> IpAddr {
        match self {
            Flavour::V3Ipv6 => lab.host(host).link_local,
            _ => lab.host(host).ipv4,
        }
    }
}

/// The auth_hmac key every host of a lab shares (32 bytes, id 1).
pub const HMAC_KEY: &str = "1 hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// auth_hmac with `HMAC_KEY`, as `extra` for `vipd_config_with`.
pub fn vipd_auth_hmac() -> String {
    format!("    auth_hmac: {{ keys: [\"{HMAC_KEY}\"], active_key: 1 }}\n")
}

/// auth_hmac with `HMAC_KEY`, as `extra` for `keepalived_config_with`.
pub fn keepalived_auth_hmac() -> String {
    format!("    auth_hmac {{\n        key {HMAC_KEY}\n        active_key 1\n    }}\n")
}

/// Writes vipd's config for `host` and returns its path.
pub fn vipd_config(
    lab: &Lab,
    host: usize,
    flavour: Flavour,
    priority: u8,
    auth_pass: &str,
) -> PathBuf {
    vipd_config_with(lab, host, flavour, priority, auth_pass, "")
}

/// `vipd_config` with `extra` lines (each indented four spaces) in VI_1.
pub fn vipd_config_with(
    lab: &Lab,
    host: usize,
    flavour: Flavour,
    priority: u8,
    auth_pass: &str,
    extra: &str,
) -> PathBuf {
    let auth = if flavour == Flavour::V2Ipv4 {
        format!("    authentication: {{ auth_type: PASS, auth_pass: \"{auth_pass}\" }}\n")
    } else {
        String::new()
    };
    let state = if priority >= 100 { "MASTER" } else { "BACKUP" };
    let text = format!(
        "{}instances:\n  VI_1:\n    interface: eth0\n    state: {state}\n    virtual_router_id: 51\n    priority: {priority}\n    version: {}\n    advert_int: 1\n    source_ip: {}\n{auth}    virtual_ipaddress: [{}]\n{extra}",
        control_socket_line(lab, host),
        flavour.version(),
        flavour.source(lab, host),
        flavour.vips()
    );
    let path = lab.dir.join(format!("vipd-h{host}.yaml"));
    fs::write(&path, text).unwrap();
    path
}

/// Host `host`'s own control socket: hosts share the file system, so
/// each vipd in a lab needs its own path.
pub fn control_socket(lab: &Lab, host: usize) -> PathBuf {
    lab.dir.join(format!("vipd-h{host}.sock"))
}

/// The config line that sets it.
pub fn control_socket_line(lab: &Lab, host: usize) -> String {
    format!("control_socket: {}\n", control_socket(lab, host).display())
}

/// Writes keepalived's config for `host` and returns its path.
pub fn keepalived_config(lab: &Lab, host: usize, flavour: Flavour, priority: u8) -> PathBuf {
    keepalived_config_with(lab, host, flavour, priority, "")
}

/// `keepalived_config` with `extra` lines inside vrrp_instance VI_1.
pub fn keepalived_config_with(
    lab: &Lab,
    host: usize,
    flavour: Flavour,
    priority: u8,
    extra: &str,
) -> PathBuf {
    let auth = if flavour == Flavour::V2Ipv4 {
        "    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n"
    } else {
        ""
    };
    let state = if priority >= 100 { "MASTER" } else { "BACKUP" };
    let vips = flavour
        .vips()
        .replace(['"', ','], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("\n        ");
    let text = format!(
        "global_defs {{\n    router_id h{host}\n    vrrp_version {}\n    script_user root\n}}\n\
         vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n    advert_int 1\n    mcast_src_ip {}\n{auth}    virtual_ipaddress {{\n        {vips}\n    }}\n{extra}}}\n",
        flavour.version(),
        flavour.source(lab, host),
    );
    let path = lab.dir.join(format!("keepalived-h{host}.conf"));
    fs::write(&path, text).unwrap();
    path
}

/// A daemon the lab started, with its log.
pub struct Daemon {
    pub pid: Pid,
    pub log: PathBuf,
}

impl Daemon {
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn transitions(&self) -> usize {
        self.log_text().matches("Entering ").count()
    }
}

pub fn start_vipd(lab: &mut Lab, host: usize, config: &Path, tag: &str, extra: &[&str]) -> Daemon {
    let log = lab.dir.join(format!("vipd-h{host}-{tag}.log"));
    let config = config.to_string_lossy().to_string();
    let mut args = vec!["run", "--config", &config];
    args.extend_from_slice(extra);
    let pid = lab
        .spawn(host, &vipd_binary(), &args, &log)
        .expect("start vipd");
    Daemon { pid, log }
}

pub fn start_keepalived(lab: &mut Lab, host: usize, config: &Path, tag: &str) -> Daemon {
    let log = lab.dir.join(format!("keepalived-h{host}-{tag}.log"));
    let pid_file = lab.dir.join(format!("keepalived-h{host}-{tag}.pid"));
    let vrrp_pid_file = lab.dir.join(format!("keepalived-h{host}-{tag}.vrrp.pid"));
    let args = [
        "-n",
        "-l",
        "-D",
        "-G",
        "--vrrp",
        "-f",
        &config.to_string_lossy(),
        "-p",
        &pid_file.to_string_lossy(),
        "-r",
        &vrrp_pid_file.to_string_lossy(),
    ]
    .map(|s| s.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab
        .spawn(host, Path::new("keepalived"), &args, &log)
        .expect("start keepalived");
    Daemon { pid, log }
}

/// keepalived 2.4 built from source (VRRP only, no `--vrrp` flag), at
/// `binary`: the path VIPD_KEEPALIVED_24 names.
pub fn start_keepalived_24(
    lab: &mut Lab,
    host: usize,
    binary: &Path,
    config: &Path,
    tag: &str,
) -> Daemon {
    let log = lab.dir.join(format!("keepalived24-h{host}-{tag}.log"));
    let pid_file = lab.dir.join(format!("keepalived24-h{host}-{tag}.pid"));
    let vrrp_pid_file = lab.dir.join(format!("keepalived24-h{host}-{tag}.vrrp.pid"));
    let args = [
        "-n".to_string(),
        "-l".to_string(),
        "-D".to_string(),
        "-f".to_string(),
        config.to_string_lossy().to_string(),
        "-p".to_string(),
        pid_file.to_string_lossy().to_string(),
        "-r".to_string(),
        vrrp_pid_file.to_string_lossy().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab
        .spawn(host, binary, &args, &log)
        .expect("start keepalived 2.4");
    Daemon { pid, log }
}

/// The seed pair on hosts 1 and 2 (v2, PASS): A at 100 with "1111", B
/// at 90 with `b_pass`.
pub fn start_seed_pair(lab: &mut Lab, b_pass: &str) -> (Daemon, Daemon) {
    start_pair(lab, "1111", b_pass, "")
}

/// The seed pair, both with `extra` lines in VI_1 (or top-level keys).
pub fn start_seed_pair_with(lab: &mut Lab, extra: &str) -> (Daemon, Daemon) {
    start_pair(lab, "1111", "1111", extra)
}

fn start_pair(lab: &mut Lab, a_pass: &str, b_pass: &str, extra: &str) -> (Daemon, Daemon) {
    let a_config = vipd_config_with(lab, 1, Flavour::V2Ipv4, 100, a_pass, extra);
    let b_config = vipd_config_with(lab, 2, Flavour::V2Ipv4, 90, b_pass, extra);
    (
        start_vipd(lab, 1, &a_config, "1", &[]),
        start_vipd(lab, 2, &b_config, "1", &[]),
    )
}

/// Stops a daemon the lab started and waits for it to go.
pub fn stop(lab: &mut Lab, daemon: &Daemon, signal: Signal) -> Option<Option<i32>> {
    lab.signal(daemon.pid, signal);
    lab.wait_exit(daemon.pid, DEADLINE)
}

/// Waits until exactly `host` holds `address`; panics with both logs if not.
pub fn expect_only(
    lab: &Lab,
    address: IpAddr,
    host: usize,
    step: &str,
    logs: &[&Daemon],
) -> Duration {
    wait_for(DEADLINE, || lab.holders(address) == vec![host]).unwrap_or_else(|| {
        let logs: Vec<String> = logs
            .iter()
            .map(|d| format!("--- {}\n{}", d.log.display(), d.log_text()))
            .collect();
        panic!(
            "{step}: expected {address} on host {host} only, holders {:?}\n{}",
            lab.holders(address),
            logs.join("\n")
        )
    })
}

/// Asserts that no daemon logged a state change since it had made
/// `before` of them.
pub fn no_transitions_since(daemons: &[(&Daemon, usize)]) {
    for (daemon, before) in daemons {
        assert_eq!(
            daemon.transitions(),
            *before,
            "{} changed state:\n{}",
            daemon.log.display(),
            daemon.log_text()
        );
    }
}

/// Asserts that the daemon's log names each drop reason.
pub fn reported(daemon: &Daemon, reasons: &[&str]) {
    let log = daemon.log_text();
    for reason in reasons {
        assert!(
            log.contains(reason),
            "{} did not report {reason}:\n{log}",
            daemon.log.display()
        );
    }
}

/// Holds the address on exactly `host` at every look for `window`.
pub fn stays_on(lab: &Lab, address: IpAddr, host: usize, window: Duration, step: &str) {
    let start = std::time::Instant::now();
    while start.elapsed() < window {
        assert_eq!(lab.holders(address), vec![host], "{step}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP GET from inside host `host`'s namespace (bash's /dev/tcp: no
/// client to install), the body only.
pub fn get(lab: &Lab, host: usize, address: &str, path: &str) -> Option<String> {
    let (ip, port) = address.split_once(':')?;
    let script = format!(
        "exec 3<>/dev/tcp/{ip}/{port} && printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' '{path}' '{address}' >&3 && cat <&3"
    );
    let out = lab.exec(host, "bash", &["-c", &script]).ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

/// `vipd status` of host `host`'s daemon (`--json` if `json`).
pub fn vipd_status(lab: &Lab, host: usize, json: bool) -> std::process::Output {
    let socket = control_socket(lab, host);
    let mut command = Command::new(vipd_binary());
    command.arg("status").arg("--socket").arg(&socket);
    if json {
        command.arg("--json");
    }
    command.output().expect("run vipd status")
}

/// `vipd reload` for `host`, as an operator runs it (inside the host's
/// namespace, so the control socket's peer is root there too).
pub fn reload(lab: &Lab, host: usize) -> std::process::Output {
    let socket = control_socket(lab, host);
    lab.exec(
        host,
        &vipd_binary().to_string_lossy(),
        &["reload", "--socket", &socket.to_string_lossy()],
    )
    .expect("run vipd reload")
}

pub fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

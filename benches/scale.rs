//! CPU per advert at scale, vipd and keepalived side by side in one run.
//!
//! `sudo cargo bench --bench scale` (keepalived installed). For each N
//! and advert interval, each daemon runs N VRRPv3 instances between host
//! A (priority 100, master) and B (90, backup), one VIP each; up to 255
//! on eth0, beyond that 250 on each of eth0, eth1, eth2, ... (one LAN
//! each). After convergence it measures, over a steady window: CPU of
//! each side (every thread of every process in the host's namespace, in
//! nanoseconds from /proc/PID/task/TID/schedstat), CPU per
//! advert (the master sends N / interval adverts a second, the backup
//! receives as many), peak RSS, time to converge, and transitions logged
//! during the window (should be 0). Prints a table with vipd/keepalived
//! ratios and one JSON line per run; `SCALE_PLOT=FILE.svg` also draws CPU
//! per advert against N.
//!
//! `SCALE_FROM=FILE` prints the table (and plot) again from the JSON
//! lines of earlier runs, medians where a case ran more than once,
//! without running anything.
//!
//! `SCALE_N` (default `1,10,50,100,255,1000`), `SCALE_ADVERT` (default
//! `1,0.1,0.02`), `SCALE_WINDOW` seconds (default 20) narrow the run;
//! `SCALE_VIPD=PATH` runs another vipd binary (a build before a change).
//! `SCALE_REPEAT` (default 1) runs each case that many times and the
//! table shows medians.
//!
//! The floor runs beside them: `benches/floor.c` (a copy of
//! `../shared/tools/floor.c`, built here with the system's cc) does only
//! the unavoidable work, `floor send` on A (one sendmmsg per timerfd
//! wake-up) and on B `floor recv` (epoll + recvmmsg, a wake-up per
//! arrival) or `floor lazy` (recvmmsg every quarter advert interval, the
//! least a backup that must see a priority-0 advert within its skew time
//! can wake). Without cc the floor columns are left out, saying so.
//! `SCALE_HMAC=1` signs every advert with auth_hmac on both daemons;
//! keepalived is then the 2.4.3 build VIPD_KEEPALIVED_24 names (Debian's
//! 2.2.7 has no auth_hmac).
//! The shell original is `../shared/tools/scale_bench.sh`.

#[path = "../integration/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;
use vipd::lab::{wait_for, Lab};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keepalived,
    Vipd,
    /// `floor send` on A, `floor recv` on B.
    Floor,
    /// `floor send` on A, `floor lazy` on B.
    FloorLazy,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Keepalived => "keepalived",
            Kind::Vipd => "vipd",
            Kind::Floor => "floor",
            Kind::FloorLazy => "floor-lazy",
        }
    }

    fn is_floor(self) -> bool {
        matches!(self, Kind::Floor | Kind::FloorLazy)
    }
}

/// `benches/floor.c` built with the system's cc, or why not.
fn build_floor() -> Result<std::path::PathBuf, String> {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/floor.c");
    let binary = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("floor");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    match Command::new(&compiler)
        .args(["-O2", "-o"])
        .arg(&binary)
        .arg(source)
        .output()
    {
        Ok(out) if out.status.success() => Ok(binary),
        Ok(out) => Err(format!(
            "{compiler} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(error) => Err(format!("{compiler}: {error}")),
    }
}

/// How often `floor lazy` drains its socket: a quarter of the advert
/// interval, 1 ms at least.
fn lazy_poll_ms(advert: f64) -> u64 {
    ((advert * 1000.0 / 4.0).round() as u64).max(1)
}

/// Instances per interface: VRIDs 1..250 on each.
const PER_INTERFACE: usize = 250;

#[derive(Clone, Debug, Default)]
struct Run {
    n: usize,
    advert: f64,
    master_cpu_pct: f64,
    backup_cpu_pct: f64,
    master_us_per_advert: f64,
    backup_us_per_advert: f64,
    master_rss_kb: u64,
    backup_rss_kb: u64,
    master_pss_kb: u64,
    backup_pss_kb: u64,
    converge_s: f64,
    steady_transitions: usize,
    stable: bool,
}

/// The interfaces N instances use, and how many on each.
fn layout(n: usize) -> Vec<(String, usize)> {
    if n <= 255 {
        return vec![("eth0".into(), n)];
    }
    let mut left = n;
    let mut out = Vec::new();
    for k in 0.. {
        if left == 0 {
            break;
        }
        let name = format!("eth{k}");
        let here = left.min(PER_INTERFACE);
        out.push((name, here));
        left -= here;
    }
    out
}

/// A LAN (a bridge on the switch, a veth on each host) for every
/// interface but eth0, each host with its address in 203.0.113.0/24 (the
/// same on every LAN: one host, one address, several segments).
fn add_lans(lab: &Lab, interfaces: &[(String, usize)]) {
    let ip = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().expect("ip");
        assert!(out.status.success(), "ip {args:?}: {out:?}");
    };
    for (k, (name, _)) in interfaces.iter().enumerate().skip(1) {
        let bridge = format!("br{k}");
        ip(&[
            "-n",
            &lab.switch,
            "link",
            "add",
            &bridge,
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &lab.switch, "link", "set", &bridge, "up"]);
        for host in 1..=2 {
            let netns = &lab.host(host).netns;
            let port = format!("l{k}p{host}");
            ip(&[
                "link",
                "add",
                name,
                "netns",
                netns,
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                &lab.switch,
            ]);
            ip(&[
                "-n",
                &lab.switch,
                "link",
                "set",
                &port,
                "master",
                &bridge,
                "up",
            ]);
            ip(&["-n", netns, "link", "set", name, "up"]);
            let address = format!("203.0.113.{}/24", 200 + host);
            ip(&["-n", netns, "addr", "add", &address, "dev", name]);
        }
    }
}

/// VIP of instance `i` (1-based) on its interface: 198.51.100.i, /32.
/// Whether this run signs its adverts (SCALE_HMAC=1).
fn hmac() -> bool {
    std::env::var("SCALE_HMAC").is_ok_and(|v| v == "1")
}

fn vip(i: usize) -> String {
    format!("198.51.100.{i}")
}

fn config(
    lab: &Lab,
    kind: Kind,
    host: usize,
    interfaces: &[(String, usize)],
    advert: f64,
) -> std::path::PathBuf {
    let (priority, state) = if host == 1 {
        (100, "MASTER")
    } else {
        (90, "BACKUP")
    };
    let mut text = String::new();
    match kind {
        Kind::Keepalived => {
            let _ = writeln!(
                text,
                "global_defs {{\n router_id h{host}\n vrrp_version 3\n}}"
            );
            for (k, (interface, count)) in interfaces.iter().enumerate() {
                for i in 1..=*count {
                    let _ = writeln!(
                        text,
                        "vrrp_instance VI_{k}_{i} {{\n state {state}\n interface {interface}\n virtual_router_id {i}\n priority {priority}\n advert_int {advert}\n virtual_ipaddress {{\n  {}/32\n }}\n{}}}",
                        vip(i),
                        if hmac() { format!(" auth_hmac {{\n  key {HMAC_KEY}\n  active_key 1\n }}\n") } else { String::new() }
                    );
                }
            }
        }
        Kind::Floor | Kind::FloorLazy => unreachable!("the floor reads no configuration"),
        Kind::Vipd => {
            text.push_str(&control_socket_line(lab, host));
            text.push_str("instances:\n");
            for (k, (interface, count)) in interfaces.iter().enumerate() {
                for i in 1..=*count {
                    let _ = writeln!(
                        text,
                        "  VI_{k}_{i}:\n    interface: {interface}\n    state: {state}\n    version: 3\n    virtual_router_id: {i}\n    priority: {priority}\n    advert_int: {advert}\n    virtual_ipaddress: [\"{}/32\"]{}",
                        vip(i),
                        if hmac() { format!("\n    auth_hmac: {{ keys: [\"{HMAC_KEY}\"], active_key: 1 }}") } else { String::new() }
                    );
                }
            }
        }
    }
    let extension = if kind == Kind::Keepalived {
        "conf"
    } else {
        "yaml"
    };
    let path = lab.dir.join(format!("scale-h{host}.{extension}"));
    fs::write(&path, text).unwrap();
    path
}

/// VIPs (198.51.100.x) on host `host`, every interface.
fn vips_held(lab: &Lab, host: usize) -> usize {
    let out = lab
        .exec(host, "ip", &["-4", "-o", "addr", "show"])
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" 198.51.100."))
        .count()
}

/// (CPU nanoseconds, RSS kB, PSS kB) of every process in host `host`'s
/// namespace: schedstat counts in nanoseconds, where utime and stime count
/// 10 ms ticks, too coarse for a daemon using 0.1% of a core. RSS counts
/// a page of the binary or libc once in every process that maps it; PSS
/// shares it out among them.
fn usage(lab: &Lab, host: usize) -> (u64, u64, u64) {
    let out = Command::new("ip")
        .args(["netns", "pids", &lab.host(host).netns])
        .output()
        .expect("ip netns pids");
    let mut nanos = 0;
    let mut rss = 0;
    let mut pss = 0;
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let stat = fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
                nanos += stat
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        rss += kilobytes(&format!("/proc/{pid}/status"), "VmRSS:");
        pss += kilobytes(&format!("/proc/{pid}/smaps_rollup"), "Pss:");
    }
    (nanos, rss, pss)
}

/// The kB of the line starting `field` in a /proc file, 0 if none.
fn kilobytes(path: &str, field: &str) -> u64 {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn entering(daemon: &Daemon) -> usize {
    daemon.log_text().matches("Entering").count()
}

/// The floor's processes for N instances: a sender on A and a receiver
/// on B per LAN, measured like the daemons.
fn floor_run(
    floor: &std::path::Path,
    kind: Kind,
    n: usize,
    advert: f64,
    window: Duration,
) -> Option<Run> {
    let mut lab = Lab::new(2).expect("lab");
    let interfaces = layout(n);
    add_lans(&lab, &interfaces);
    for (k, (interface, count)) in interfaces.iter().enumerate() {
        let source = if k == 0 {
            lab.host(1).ipv4.to_string()
        } else {
            "203.0.113.201".to_string()
        };
        let count = count.to_string();
        let poll = lazy_poll_ms(advert).to_string();
        let receiver: Vec<&str> = if kind == Kind::FloorLazy {
            vec!["lazy", &count, &poll, interface]
        } else {
            vec!["recv", &count, interface]
        };
        let log = |host: usize| lab.dir.join(format!("floor-h{host}-{interface}.log"));
        let (log_b, log_a) = (log(2), log(1));
        lab.spawn(2, floor, &receiver, &log_b).expect("start floor");
        let interval = advert.to_string();
        lab.spawn(
            1,
            floor,
            &["send", &count, &interval, interface, &source],
            &log_a,
        )
        .expect("start floor");
    }
    Some(steady_window(&lab, n, advert, window, || 0))
}

/// CPU and memory of both sides over `window`, a second after start-up
/// work has settled; `transitions` counts state changes logged so far.
fn steady_window(
    lab: &Lab,
    n: usize,
    advert: f64,
    window: Duration,
    transitions: impl Fn() -> usize,
) -> Run {
    std::thread::sleep(Duration::from_secs(1));
    let before = (usage(lab, 1), usage(lab, 2), transitions());
    let t0 = Instant::now();
    std::thread::sleep(window);
    let elapsed = t0.elapsed().as_secs_f64();
    let after = (usage(lab, 1), usage(lab, 2), transitions());
    let cpu = |b: u64, a: u64| a.saturating_sub(b) as f64 / 1e9 / elapsed;
    let (master, backup) = (cpu(before.0 .0, after.0 .0), cpu(before.1 .0, after.1 .0));
    let adverts_per_second = n as f64 / advert;
    Run {
        n,
        advert,
        master_cpu_pct: 100.0 * master,
        backup_cpu_pct: 100.0 * backup,
        master_us_per_advert: 1e6 * master / adverts_per_second,
        backup_us_per_advert: 1e6 * backup / adverts_per_second,
        master_rss_kb: after.0 .1,
        backup_rss_kb: after.1 .1,
        master_pss_kb: after.0 .2,
        backup_pss_kb: after.1 .2,
        converge_s: 0.0,
        steady_transitions: after.2 - before.2,
        stable: true,
    }
}

fn one_run(kind: Kind, n: usize, advert: f64, window: Duration) -> Option<Run> {
    let mut lab = Lab::new(2).expect("lab");
    let interfaces = layout(n);
    add_lans(&lab, &interfaces);
    let configs = [1, 2].map(|h| config(&lab, kind, h, &interfaces, advert));
    let started = Instant::now();
    let start = |lab: &mut Lab, host: usize| match (kind, std::env::var("SCALE_VIPD")) {
        // Another vipd build, to compare before and after a change.
        (Kind::Vipd, Ok(binary)) => {
            let log = lab.dir.join(format!("vipd-h{host}-scale.log"));
            let config = configs[host - 1].to_string_lossy().to_string();
            let pid = lab
                .spawn(
                    host,
                    std::path::Path::new(&binary),
                    &["run", "--config", &config],
                    &log,
                )
                .expect("start vipd");
            Daemon { pid, log }
        }
        (Kind::Vipd, Err(_)) => start_vipd(lab, host, &configs[host - 1], "scale", &[]),
        (Kind::Keepalived, _) if hmac() => {
            let binary = std::env::var_os("VIPD_KEEPALIVED_24")
                .expect("SCALE_HMAC=1 needs VIPD_KEEPALIVED_24: keepalived 2.4.3's binary");
            start_keepalived_24(
                lab,
                host,
                std::path::Path::new(&binary),
                &configs[host - 1],
                "scale",
            )
        }
        (Kind::Keepalived, _) => start_keepalived(lab, host, &configs[host - 1], "scale"),
        (Kind::Floor | Kind::FloorLazy, _) => unreachable!("floor_run runs the floor"),
    };
    let b = start(&mut lab, 2);
    let a = start(&mut lab, 1);
    let converged = wait_for(Duration::from_secs(60), || {
        vips_held(&lab, 1) == n && vips_held(&lab, 2) == 0
    });
    let Some(_) = converged else {
        eprintln!(
            "{} N={n} advert={advert}: no convergence (A holds {}, B {})",
            kind.name(),
            vips_held(&lab, 1),
            vips_held(&lab, 2)
        );
        return None;
    };
    let converge_s = started.elapsed().as_secs_f64();
    let run = steady_window(&lab, n, advert, window, || entering(&a) + entering(&b));
    Some(Run {
        converge_s,
        stable: vips_held(&lab, 1) == n && vips_held(&lab, 2) == 0,
        ..run
    })
}

fn list<T: std::str::FromStr>(name: &str, default: &str) -> Vec<T> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

/// CPU per advert against N, one line per daemon (and the floor), side
/// and interval.
fn plot(runs: &[(Kind, Run)], path: &str) {
    let (width, height, left, bottom) = (640.0, 400.0, 60.0, 40.0);
    let ns: Vec<usize> = {
        let mut v: Vec<usize> = runs.iter().map(|(_, r)| r.n).collect();
        v.sort();
        v.dedup();
        v
    };
    let max_y = runs
        .iter()
        .filter(|(kind, _)| *kind != Kind::FloorLazy)
        .flat_map(|(_, r)| [r.master_us_per_advert, r.backup_us_per_advert])
        .fold(1.0_f64, f64::max)
        * 1.1;
    let x = |n: usize| {
        let (lo, hi) = (ns[0].max(1) as f64, ns[ns.len() - 1].max(2) as f64);
        left + (width - left - 20.0) * ((n.max(1) as f64).ln() - lo.ln())
            / (hi.ln() - lo.ln()).max(1e-9)
    };
    // Log scale: one wake-up per advert at N = 1 costs 20 to 40 times
    // what an advert costs at 255, and both must be readable.
    let min_y = 1.0_f64;
    let y = |v: f64| {
        height
            - bottom
            - (height - bottom - 20.0) * (v.max(min_y).ln() - min_y.ln())
                / (max_y.ln() - min_y.ln()).max(1e-9)
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
        height - bottom,
        width - 20.0,
        height - bottom
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"20\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>",
        height - bottom
    );
    for &n in &ns {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{n}</text>",
            x(n),
            height - bottom + 15.0
        );
    }
    for v in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        .into_iter()
        .filter(|&v| v <= max_y)
    {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.0}</text>",
            left - 5.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">instances (log scale)</text>",
        (width + left) / 2.0,
        height - 5.0
    );
    let _ = writeln!(svg, "<text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">CPU µs per advert (log scale)</text>", height / 2.0, height / 2.0);
    let mut adverts: Vec<f64> = runs.iter().map(|(_, r)| r.advert).collect();
    adverts.sort_by(|a, b| b.partial_cmp(a).unwrap());
    adverts.dedup();
    let mut legend = 0;
    // The floor's backup line is `floor recv`'s: the lazy one is in the table.
    for kind in [Kind::Floor, Kind::Keepalived, Kind::Vipd] {
        for (side, dash) in [("master", ""), ("backup", " stroke-dasharray=\"4 3\"")] {
            for (a, &advert) in adverts.iter().enumerate() {
                let color = match (kind, a) {
                    (Kind::Keepalived, 0) => "#c0392b",
                    (Kind::Keepalived, 1) => "#e67e22",
                    (Kind::Keepalived, _) => "#f1c40f",
                    (Kind::Vipd, 0) => "#1f4e9c",
                    (Kind::Vipd, 1) => "#2e86de",
                    (Kind::Vipd, _) => "#48c9b0",
                    (_, 0) => "#333333",
                    (_, 1) => "#777777",
                    (_, _) => "#aaaaaa",
                };
                let mut line: Vec<&Run> = runs
                    .iter()
                    .filter(|(k, r)| *k == kind && r.advert == advert)
                    .map(|(_, r)| r)
                    .collect();
                line.sort_by_key(|r| r.n);
                let points: Vec<String> = line
                    .iter()
                    .map(|r| {
                        let v = if side == "master" {
                            r.master_us_per_advert
                        } else {
                            r.backup_us_per_advert
                        };
                        format!("{:.1},{:.1}", x(r.n), y(v))
                    })
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let _ = writeln!(svg, "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\"/>", points.join(" "));
                let ly = 30.0 + 13.0 * legend as f64;
                let _ = writeln!(svg, "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>", width - 200.0, width - 180.0);
                let _ = writeln!(
                    svg,
                    "<text x=\"{}\" y=\"{}\">{} {side} {advert} s</text>",
                    width - 175.0,
                    ly + 4.0,
                    kind.name()
                );
                legend += 1;
            }
        }
    }
    svg.push_str("</svg>\n");
    fs::write(path, svg).expect("write the plot");
    eprintln!("plot written to {path}");
}

/// The median of each measure over repeated runs of one case.
fn median(runs: &[Run]) -> Run {
    let mid = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let of = |f: fn(&Run) -> f64| mid(runs.iter().map(f).collect());
    Run {
        n: runs[0].n,
        advert: runs[0].advert,
        master_cpu_pct: of(|r| r.master_cpu_pct),
        backup_cpu_pct: of(|r| r.backup_cpu_pct),
        master_us_per_advert: of(|r| r.master_us_per_advert),
        backup_us_per_advert: of(|r| r.backup_us_per_advert),
        master_rss_kb: of(|r| r.master_rss_kb as f64) as u64,
        backup_rss_kb: of(|r| r.backup_rss_kb as f64) as u64,
        master_pss_kb: of(|r| r.master_pss_kb as f64) as u64,
        backup_pss_kb: of(|r| r.backup_pss_kb as f64) as u64,
        converge_s: of(|r| r.converge_s),
        steady_transitions: runs.iter().map(|r| r.steady_transitions).max().unwrap_or(0),
        stable: runs.iter().all(|r| r.stable),
    }
}

/// Runs read back from the JSON lines a run printed (SCALE_FROM), medians
/// of the lines for one case: the table and plot again without the lab.
fn read_runs(path: &str) -> Vec<(Kind, Run)> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("SCALE_FROM {path}: {e}"));
    let mut lines: Vec<(Kind, Run)> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("SCALE_FROM {path}: {e}: {line}"));
        let kind = match v["kind"].as_str() {
            Some("keepalived") => Kind::Keepalived,
            Some("vipd") => Kind::Vipd,
            Some("floor") => Kind::Floor,
            Some("floor-lazy") => Kind::FloorLazy,
            _ => continue,
        };
        let f = |key: &str| v[key].as_f64().unwrap_or(0.0);
        let k = |key: &str| v[key].as_u64().unwrap_or(0);
        lines.push((
            kind,
            Run {
                n: k("n") as usize,
                advert: f("advert"),
                master_cpu_pct: f("master_cpu_pct"),
                backup_cpu_pct: f("backup_cpu_pct"),
                master_us_per_advert: f("master_us_per_advert"),
                backup_us_per_advert: f("backup_us_per_advert"),
                master_rss_kb: k("master_rss_kb"),
                backup_rss_kb: k("backup_rss_kb"),
                master_pss_kb: k("master_pss_kb"),
                backup_pss_kb: k("backup_pss_kb"),
                converge_s: f("converge_s"),
                steady_transitions: k("steady_transitions") as usize,
                stable: v["stable"].as_bool().unwrap_or(false),
            },
        ));
    }
    let mut runs: Vec<(Kind, Run)> = Vec::new();
    for (kind, run) in &lines {
        if runs
            .iter()
            .any(|(k, r)| k == kind && r.n == run.n && r.advert == run.advert)
        {
            continue;
        }
        let same: Vec<Run> = lines
            .iter()
            .filter(|(k, r)| k == kind && r.n == run.n && r.advert == run.advert)
            .map(|(_, r)| r.clone())
            .collect();
        runs.push((*kind, median(&same)));
    }
    runs
}

fn main() {
    if let Ok(path) = std::env::var("SCALE_FROM") {
        let runs = read_runs(&path);
        let mut ns: Vec<usize> = runs.iter().map(|(_, r)| r.n).collect();
        ns.sort();
        ns.dedup();
        let mut adverts: Vec<f64> = runs.iter().map(|(_, r)| r.advert).collect();
        adverts.sort_by(|a, b| b.total_cmp(a));
        adverts.dedup();
        report(&runs, &ns, &adverts, "the runs read");
        return;
    }
    if !prerequisites_or_skip("scale bench", true) {
        return;
    }
    let ns: Vec<usize> = list("SCALE_N", "1,10,50,100,255,1000");
    let adverts: Vec<f64> = list("SCALE_ADVERT", "1,0.1,0.02");
    let window = Duration::from_secs(list::<u64>("SCALE_WINDOW", "20")[0]);
    let repeat = list::<usize>("SCALE_REPEAT", "1")
        .first()
        .copied()
        .unwrap_or(1)
        .max(1);
    let floor = build_floor()
        .map_err(|why| eprintln!("the floor columns are left out: {why}"))
        .ok();
    let mut kinds = vec![Kind::Keepalived, Kind::Vipd];
    if floor.is_some() {
        kinds.extend([Kind::Floor, Kind::FloorLazy]);
    }
    let mut runs = Vec::new();
    for &advert in &adverts {
        for &n in &ns {
            for &kind in &kinds {
                let mut repeats = Vec::new();
                for _ in 0..repeat {
                    let run = match (&floor, kind.is_floor()) {
                        (Some(floor), true) => floor_run(floor, kind, n, advert, window),
                        _ => one_run(kind, n, advert, window),
                    };
                    let Some(run) = run else { continue };
                    println!(
                        "{{\"kind\":\"{}\",\"hmac\":{},\"n\":{},\"advert\":{},\"master_cpu_pct\":{:.3},\"backup_cpu_pct\":{:.3},\"master_us_per_advert\":{:.2},\"backup_us_per_advert\":{:.2},\"master_rss_kb\":{},\"backup_rss_kb\":{},\"master_pss_kb\":{},\"backup_pss_kb\":{},\"converge_s\":{:.2},\"steady_transitions\":{},\"stable\":{}}}",
                        kind.name(), hmac(), run.n, run.advert, run.master_cpu_pct, run.backup_cpu_pct,
                        run.master_us_per_advert, run.backup_us_per_advert, run.master_rss_kb,
                        run.backup_rss_kb, run.master_pss_kb, run.backup_pss_kb, run.converge_s, run.steady_transitions, run.stable
                    );
                    repeats.push(run);
                }
                if !repeats.is_empty() {
                    runs.push((kind, median(&repeats)));
                }
            }
        }
    }
    report(&runs, &ns, &adverts, &format!("medians of {repeat}"));
}

/// The table (and SCALE_PLOT's plot) of `runs`.
fn report(runs: &[(Kind, Run)], ns: &[usize], adverts: &[f64], what: &str) {
    println!();
    println!(
        "µs of CPU per advert, {what}; f = floor (send / recv, lazy), k = keepalived, v = vipd"
    );
    println!();
    println!("| N | advert | master f / k / v | master v÷f, v÷k | backup f recv, lazy / k / v | backup v÷f recv, v÷k | RSS MB k / v | PSS MB k / v | converge s k / v | steady transitions k / v |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &advert in adverts {
        for &n in ns {
            let find = |kind| {
                runs.iter()
                    .find(|(k, r)| *k == kind && r.n == n && r.advert == advert)
                    .map(|(_, r)| r.clone())
            };
            let (Some(k), Some(v)) = (find(Kind::Keepalived), find(Kind::Vipd)) else {
                continue;
            };
            let (f, lazy) = (find(Kind::Floor), find(Kind::FloorLazy));
            let shown = |r: &Option<Run>, value: fn(&Run) -> f64| {
                r.as_ref()
                    .map_or("-".into(), |r| format!("{:.1}", value(r)))
            };
            let to_floor = |value: fn(&Run) -> f64| {
                f.as_ref()
                    .map_or("-".into(), |f| ratio(value(&v), value(f)))
            };
            println!(
                "| {n} | {advert} s | {} / {:.1} / {:.1} | {}, {} | {}, {} / {:.1} / {:.1} | {}, {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {} / {} |",
                shown(&f, |r| r.master_us_per_advert), k.master_us_per_advert, v.master_us_per_advert,
                to_floor(|r| r.master_us_per_advert), ratio(v.master_us_per_advert, k.master_us_per_advert),
                shown(&f, |r| r.backup_us_per_advert), shown(&lazy, |r| r.backup_us_per_advert),
                k.backup_us_per_advert, v.backup_us_per_advert,
                to_floor(|r| r.backup_us_per_advert), ratio(v.backup_us_per_advert, k.backup_us_per_advert),
                (k.master_rss_kb.max(k.backup_rss_kb)) as f64 / 1024.0,
                (v.master_rss_kb.max(v.backup_rss_kb)) as f64 / 1024.0,
                (k.master_pss_kb.max(k.backup_pss_kb)) as f64 / 1024.0,
                (v.master_pss_kb.max(v.backup_pss_kb)) as f64 / 1024.0,
                k.converge_s, v.converge_s, k.steady_transitions, v.steady_transitions,
            );
        }
    }
    if let Ok(path) = std::env::var("SCALE_PLOT") {
        plot(runs, &path);
    }
}

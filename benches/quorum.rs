//! Split brain and failover: keepalived 2.2.7, vipd, and vipd with the
//! quorum fence (a real 3-member etcd), side by side on one netns lab.
//!
//! `cargo bench --bench quorum` (root; keepalived, etcd-server and
//! etcd-client installed). Hosts A (priority 100) and B (90) share the
//! seed's VIP; a third host runs only an etcd member. Each trial is a
//! fresh lab, and a sampler in every namespace stamps each add and
//! delete of the VIP (rtnetlink events). Per daemon and scenario:
//!
//! - graceful: SIGTERM to A; time until B holds the VIP;
//! - crash: SIGKILL to A; time until B holds it;
//! - partition: A cut off from everything (VRRP and etcd) for 5 s;
//!   time until B holds it, and time with two holders from the cut
//!   until one host holds it again after the heal.
//!
//! Every scenario also sums the time with two holders from the event
//! until 10 s after it (for a crash of an unfenced daemon, the dead
//! master's kernel keeps the VIP for good). Prints medians of
//! `QUORUM_TRIALS` trials (default 5) as a Markdown table.

#[path = "../integration/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::chaos::observe::{AddressMonitor, Holding};
use vipd::lab::etcd::EtcdCluster;
use vipd::lab::{wait_for, Lab};

const A: usize = 1;
const B: usize = 2;
const C: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keepalived,
    Vipd,
    Fenced,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Keepalived => "keepalived 2.2.7",
            Kind::Vipd => "vipd",
            Kind::Fenced => "vipd + fence",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Graceful,
    Crash,
    Partition,
}

struct Outcome {
    takeover_ms: f64,
    two_holders_ms: f64,
}

struct Running {
    lab: Lab,
    _etcd: Option<EtcdCluster>,
    monitor: AddressMonitor,
    a: Daemon,
    a_vrrp_pid: Option<std::path::PathBuf>,
}

fn start(
    kind: Kind,
    host: usize,
    lab: &mut Lab,
    etcd: Option<&EtcdCluster>,
) -> (Daemon, Option<std::path::PathBuf>) {
    let priority = if host == A { 100 } else { 90 };
    match kind {
        Kind::Keepalived => {
            let config = keepalived_config(lab, host, Flavour::V2Ipv4, priority);
            let daemon = start_keepalived(lab, host, &config, "1");
            (
                daemon,
                Some(lab.dir.join(format!("keepalived-h{host}-1.vrrp.pid"))),
            )
        }
        Kind::Vipd | Kind::Fenced => {
            let extra = match etcd {
                Some(etcd) => {
                    let endpoints: Vec<String> = etcd
                        .endpoints(lab)
                        .iter()
                        .map(|e| format!("\"{e}\""))
                        .collect();
                    format!(
                        "quorum:\n  etcd:\n    endpoints: [{}]\n    name: h{host}\n",
                        endpoints.join(", ")
                    )
                }
                None => String::new(),
            };
            let config = vipd_config_with(lab, host, Flavour::V2Ipv4, priority, "1111", &extra);
            (start_vipd(lab, host, &config, "1", &[]), None)
        }
    }
}

fn setup(kind: Kind) -> Running {
    let mut lab = Lab::new(3).expect("lab");
    let etcd =
        (kind == Kind::Fenced).then(|| EtcdCluster::start(&mut lab, &[A, B, C]).expect("etcd"));
    let vip = Flavour::V2Ipv4.vip();
    let monitor = AddressMonitor::start(&lab, vip, "eth0").expect("sampler");
    let (a, a_vrrp_pid) = start(kind, A, &mut lab, etcd.as_ref());
    let (b, _) = start(kind, B, &mut lab, etcd.as_ref());
    wait_for(DEADLINE, || lab.holders(vip) == vec![A]).unwrap_or_else(|| {
        panic!(
            "{kind:?}: VIP not on A alone: {}\n{}",
            a.log_text(),
            b.log_text()
        )
    });
    // Settled: B has heard A for a while.
    std::thread::sleep(Duration::from_secs(2));
    Running {
        lab,
        _etcd: etcd,
        monitor,
        a,
        a_vrrp_pid,
    }
}

fn trial(kind: Kind, scenario: Scenario) -> Outcome {
    let mut run = setup(kind);
    let vip = Flavour::V2Ipv4.vip();
    let _ = run.monitor.drain();
    let event = Instant::now();
    match scenario {
        Scenario::Graceful => run.lab.signal(run.a.pid, Signal::SIGTERM),
        Scenario::Crash => {
            // keepalived's VRRP child holds the VIP: it dies too.
            if let Some(pid) = run
                .a_vrrp_pid
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
            {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    let _ =
                        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
            run.lab.signal(run.a.pid, Signal::SIGKILL);
        }
        Scenario::Partition => {
            run.lab.prepare_partitions().expect("partitions");
            run.lab.set_partitioned(A, true).expect("cut");
        }
    }
    let took = wait_for(DEADLINE, || run.lab.has_address(B, vip));
    if scenario == Scenario::Partition {
        std::thread::sleep(Duration::from_secs(5).saturating_sub(event.elapsed()));
        run.lab.set_partitioned(A, false).expect("heal");
        wait_for(DEADLINE, || run.lab.holders(vip).len() == 1);
    }
    std::thread::sleep(Duration::from_secs(10).saturating_sub(event.elapsed()));
    let events = run.monitor.drain().expect("sampler");
    // Held by A alone at the event.
    let mut timeline = vec![(event, A, true)];
    timeline.extend(events.into_iter().filter(|(at, ..)| *at >= event));
    let holding = Holding::fold(&timeline, event, event + Duration::from_secs(10));
    Outcome {
        takeover_ms: took.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        two_holders_ms: holding.two_holders.as_secs_f64() * 1000.0,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() {
    let Some(_) = lab_with_keepalived_or_skip("quorum bench", 0) else {
        return;
    };
    let trials: usize = std::env::var("QUORUM_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let kinds = [Kind::Keepalived, Kind::Vipd, Kind::Fenced];
    let scenarios = [Scenario::Graceful, Scenario::Crash, Scenario::Partition];
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for scenario in scenarios {
        let mut takeover = Vec::new();
        let mut split = Vec::new();
        for kind in kinds {
            let outcomes: Vec<Outcome> = (0..trials)
                .map(|n| {
                    let outcome = trial(kind, scenario);
                    eprintln!(
                        "{} {scenario:?} trial {}: takeover {:.0} ms, two holders {:.0} ms",
                        kind.name(),
                        n + 1,
                        outcome.takeover_ms,
                        outcome.two_holders_ms
                    );
                    outcome
                })
                .collect();
            takeover.push(median(outcomes.iter().map(|o| o.takeover_ms).collect()));
            split.push(median(outcomes.iter().map(|o| o.two_holders_ms).collect()));
        }
        let name = format!("{scenario:?}").to_lowercase();
        rows.push((
            format!("{name}: B holds the VIP after (ms)"),
            takeover.iter().map(|v| format!("{v:.0}")).collect(),
        ));
        rows.push((
            format!("{name}: two holders (ms, in 10 s)"),
            split.iter().map(|v| format!("{v:.0}")).collect(),
        ));
    }
    println!("\nmedians of {trials} trials each, seed timing (advert_int 1, priorities 100/90), lease_ttl 2 s\n");
    println!("| | {} |", kinds.map(Kind::name).join(" | "));
    println!("|---|{}", "---:|".repeat(kinds.len()));
    for (name, values) in rows {
        println!("| {name} | {} |", values.join(" | "));
    }
}

//! Chaos with overlapping faults and reloads, vipd and keepalived 2.2.7 in
//! the same harness, one after the other, on the same seeded schedule.
//!
//! `sudo cargo bench --bench chaos` (root; nftables; keepalived for its
//! run). Three hosts on one bridge, priorities 100 / 90 / 80, VRRPv3 at
//! 0.1 s adverts, VIP 192.0.2.203 (VI_1); VI_2 (VRID 52, 192.0.2.210) is
//! what the reloads add and remove. Up to three faults at once, on any
//! hosts: SIGKILL or SIGTERM and a restart, SIGSTOP and SIGCONT, a silent
//! partition (the switch drops the host's frames) or its port down, the
//! VIP deleted by hand on its holder; and reloads: the file unchanged, VI_2
//! added then removed, a broken file then the good one restored. Who holds
//! the VIP is taken from rtnetlink events in each host; the judge
//! (`vipd::lab::chaos::judge`) holds the timeline to four rules.
//!
//! `CHAOS_SECONDS` (default 60) per daemon, `CHAOS_SEED` (default
//! 20261206; printed), `CHAOS_DAEMONS` (default `vipd,keepalived`),
//! `CHAOS_VERBOSE=1` prints every step, `CHAOS_KEEP_LOGS=1` (or a
//! directory) keeps the daemons' logs, files and timeline. Exits 1 when
//! vipd breaks a rule (keepalived's figures are the yardstick, not a
//! failure). Everything it makes is removed at the end, on a panic and on
//! Ctrl-C.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vipd::lab::chaos::daemons::DaemonKind;
use vipd::lab::chaos::judge::{judge, Settings};
use vipd::lab::chaos::report::{self, Figures};
use vipd::lab::chaos::run::{run, RunError, RunOptions};
use vipd::lab::chaos::schedule::{generate, Dice, FaultKind, ScheduleOptions};
use vipd::lab::missing_prerequisite;

const DEFAULT_SEED: u64 = 20261206;
const DEFAULT_SECONDS: u64 = 60;

struct Seeded(ChaCha8Rng);

impl Dice for Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0.gen_range(0..n)
    }
}

struct Options {
    seed: u64,
    seconds: u64,
    daemons: Vec<DaemonKind>,
    verbose: bool,
    keep_logs: Option<PathBuf>,
}

fn number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{name}: expected a whole number, got '{text}'")),
    }
}

fn options() -> Result<Options, String> {
    let seed = number("CHAOS_SEED", DEFAULT_SEED)?;
    let seconds = number("CHAOS_SECONDS", DEFAULT_SECONDS)?;
    if seconds == 0 {
        return Err("CHAOS_SECONDS: expected 1 or more seconds, got 0".into());
    }
    let names = std::env::var("CHAOS_DAEMONS").unwrap_or_else(|_| "vipd,keepalived".into());
    let daemons = names
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .map(|n| {
            DaemonKind::from_name(n).ok_or_else(|| {
                format!(
                    "CHAOS_DAEMONS: expected vipd, keepalived or both (comma-separated), got '{}'",
                    n.trim()
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if daemons.is_empty() {
        return Err("CHAOS_DAEMONS: expected vipd, keepalived or both, got nothing".into());
    }
    let flag = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0");
    let keep_logs = match std::env::var("CHAOS_KEEP_LOGS") {
        Ok(v) if v == "1" => {
            Some(std::env::temp_dir().join(format!("vipd-chaos-{seed}-{}", std::process::id())))
        }
        Ok(v) if !v.is_empty() && v != "0" => Some(PathBuf::from(v)),
        _ => None,
    };
    Ok(Options {
        seed,
        seconds,
        daemons,
        verbose: flag("CHAOS_VERBOSE"),
        keep_logs,
    })
}

/// What this machine lacks for the run, if anything.
fn missing(daemons: &[DaemonKind]) -> Option<String> {
    let absent = |program: &str| Command::new(program).arg("--version").output().is_err();
    missing_prerequisite()
        .or_else(|| absent("nft").then(|| "nft is not installed (apt install nftables)".into()))
        .or_else(|| {
            (daemons.contains(&DaemonKind::Keepalived) && absent("keepalived"))
                .then(|| "keepalived is not installed (or set CHAOS_DAEMONS=vipd)".into())
        })
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("chaos bench: {e}");
            std::process::exit(2);
        }
    };
    if !vipd::lab::testing::proceed_or_skip("chaos bench", missing(&options.daemons)) {
        return;
    }
    // Ctrl-C ends the run early; the lab is removed on the way out.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&interrupted)) {
            eprintln!("chaos bench: cannot catch signal {signal}: {e}");
            std::process::exit(2);
        }
    }
    let settings = Settings::default();
    let schedule = generate(
        &mut Seeded(ChaCha8Rng::seed_from_u64(options.seed)),
        &ScheduleOptions {
            hosts: 3,
            length: Duration::from_secs(options.seconds),
            settle: settings.settle,
            cooldown: Duration::from_secs(1),
        },
    );
    let names: Vec<&str> = options.daemons.iter().map(|d| d.name()).collect();
    println!(
        "chaos bench: seed {} (CHAOS_SEED), {} s per daemon (CHAOS_SECONDS), {} (CHAOS_DAEMONS)",
        options.seed,
        options.seconds,
        names.join(" then ")
    );
    println!(
        "  3 hosts, priorities 100/90/80, VRRPv3 at 0.1 s, VIP 192.0.2.203; judge: {}",
        report::settings_text(&settings)
    );
    let kinds: Vec<String> = FaultKind::ALL
        .iter()
        .map(|k| format!("{} {}", k.name(), schedule.count(*k)))
        .collect();
    println!(
        "  schedule: {} faults ({})",
        schedule.faults.len(),
        kinds.join(", ")
    );

    let mut figures = Vec::new();
    let mut failed = false;
    for daemon in &options.daemons {
        if interrupted.load(Ordering::SeqCst) {
            break;
        }
        println!("running {} for {} s ...", daemon.name(), options.seconds);
        let outcome = run(&RunOptions {
            daemon: *daemon,
            vipd: PathBuf::from(env!("CARGO_BIN_EXE_vipd")),
            schedule: &schedule,
            verbose: options.verbose,
            keep_logs: options.keep_logs.clone(),
            interrupted: &interrupted,
        });
        match outcome {
            Ok(record) => {
                let verdict = judge(&record.timeline, &settings);
                let f = Figures::new(options.seed, &record, &verdict);
                print!("{}", report::summary(&f, &record, &verdict));
                if *daemon == DaemonKind::Vipd
                    && (f.total_violations() > 0 || record.lost.is_some())
                {
                    failed = true;
                }
                figures.push(f);
            }
            Err(RunError::Interrupted) => break,
            Err(e) => {
                eprintln!("{}: {e}", daemon.name());
                failed = true;
            }
        }
    }
    if !figures.is_empty() {
        println!();
        print!("{}", report::side_by_side(&figures));
        println!();
        for f in &figures {
            println!("{}", f.json());
        }
    }
    if interrupted.load(Ordering::SeqCst) {
        println!("interrupted: everything the bench made is removed");
    }
    if failed {
        std::process::exit(1);
    }
}

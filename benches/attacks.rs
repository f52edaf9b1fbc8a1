//! What one host on the LAN can do to the VIP, daemon by daemon.
//!
//! `cargo bench --bench attacks` (root; keepalived installed). Three hosts:
//! A (priority 100) and B (90) run the daemon under test, VRRPv3 at 1 s
//! on VRID 51; C sends raw packets. For each attack, how long the VIP was
//! on no host, and on more than one:
//!
//! - forged master: C sends priority-254 adverts (no trailer) for 5 s,
//!   one per 0.1 s;
//! - forged goodbye: C sends priority-0 adverts as A for 5 s;
//! - replay: C records one of A's adverts, A stops, B takes over, C
//!   replays the recording for 5 s.
//!
//! Daemons: keepalived as Debian ships it (2.2.7), vipd without and with
//! auth_hmac, and keepalived 2.4.3 with auth_hmac when
//! VIPD_KEEPALIVED_24 names its binary. One JSON line per daemon and
//! attack goes to `ATTACKS_OUT` if set, and a table to standard output.

#[path = "../integration/support/mod.rs"]
mod support;

use std::io::Write as _;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const ATTACK: Duration = Duration::from_secs(5);
const EVERY: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
enum Daemon24 {
    Keepalived22,
    Vipd { hmac: bool },
    Keepalived24(std::path::PathBuf),
}

impl Daemon24 {
    fn name(&self) -> &'static str {
        match self {
            Daemon24::Keepalived22 => "keepalived 2.2.7",
            Daemon24::Vipd { hmac: false } => "vipd without auth_hmac",
            Daemon24::Vipd { hmac: true } => "vipd with auth_hmac",
            Daemon24::Keepalived24(_) => "keepalived 2.4.3 with auth_hmac",
        }
    }

    fn start(&self, lab: &mut Lab, host: usize, tag: &str) -> Daemon {
        let priority = if host == 1 { 100 } else { 90 };
        let flavour = Flavour::V3Ipv4;
        match self {
            Daemon24::Keepalived22 => {
                let config = keepalived_config(lab, host, flavour, priority);
                start_keepalived(lab, host, &config, tag)
            }
            Daemon24::Vipd { hmac } => {
                let extra = if *hmac {
                    vipd_auth_hmac()
                } else {
                    String::new()
                };
                let config = vipd_config_with(lab, host, flavour, priority, "", &extra);
                start_vipd(lab, host, &config, tag, &[])
            }
            Daemon24::Keepalived24(binary) => {
                let config =
                    keepalived_config_with(lab, host, flavour, priority, &keepalived_auth_hmac());
                start_keepalived_24(lab, host, binary, &config, tag)
            }
        }
    }
}

/// The three attacks on one fresh lab; (attack, exposure) each.
fn run(daemon: &Daemon24) -> Vec<(&'static str, raw::Exposure)> {
    let vip = Flavour::V3Ipv4.vip();
    let mut lab = Lab::new(3).expect("a lab (root?)");
    let a = daemon.start(&mut lab, 1, "1");
    let b = daemon.start(&mut lab, 2, "1");
    let settle = |lab: &Lab, host: usize, what: &str| {
        wait_for(DEADLINE, || lab.holders(vip) == vec![host]).unwrap_or_else(|| {
            panic!(
                "{}: {what}:\n{}\n{}",
                daemon.name(),
                a.log_text(),
                b.log_text()
            )
        });
    };
    settle(&lab, 1, "A never held the VIP");
    let (a_ip, c_ip) = (raw::v4(lab.host(1).ipv4), raw::v4(lab.host(3).ipv4));
    let recorded = raw::record(&lab, 3, a_ip.into(), DEADLINE);
    let mut out = Vec::new();
    let forged = [
        (
            "forged master (priority 254)",
            raw::forged_v3(c_ip, 254, None),
        ),
        (
            "forged goodbye (priority 0 as A)",
            raw::forged_v3(a_ip, 0, None),
        ),
    ];
    for (attack, packet) in forged {
        let exposure = raw::attack(&lab, 3, vip, vec![packet], EVERY, ATTACK, &[1]);
        out.push((attack, exposure));
        settle(&lab, 1, "A never took the VIP back");
    }
    lab.signal(a.pid, Signal::SIGTERM);
    assert!(lab.wait_exit(a.pid, DEADLINE).is_some(), "A stopped");
    settle(&lab, 2, "B never took over");
    let replay = raw::attack(&lab, 3, vip, vec![recorded], EVERY, ATTACK, &[2]);
    out.push(("replay of A's advert after A stopped", replay));
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !prerequisites_or_skip("attacks bench", true) {
        return;
    }
    let mut daemons = vec![
        Daemon24::Keepalived22,
        Daemon24::Vipd { hmac: false },
        Daemon24::Vipd { hmac: true },
    ];
    match std::env::var_os("VIPD_KEEPALIVED_24") {
        Some(path) => daemons.push(Daemon24::Keepalived24(path.into())),
        None => println!("keepalived 2.4.3 left out: set VIPD_KEEPALIVED_24 to its binary"),
    }
    let mut out = std::env::var_os("ATTACKS_OUT").map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .expect("ATTACKS_OUT")
    });
    println!("| attack | daemon | s without a holder | s with two holders |");
    println!("|---|---|---|---|");
    for daemon in &daemons {
        for (attack, exposure) in run(daemon) {
            println!(
                "| {attack} | {} | {:.1} | {:.1} |",
                daemon.name(),
                exposure.none.as_secs_f64(),
                exposure.several.as_secs_f64()
            );
            if let Some(out) = &mut out {
                let line = serde_json::json!({
                    "bench": "attacks",
                    "daemon": daemon.name(),
                    "attack": attack,
                    "seconds": ATTACK.as_secs_f64(),
                    "packets": exposure.packets,
                    "no_holder_s": exposure.none.as_secs_f64(),
                    "two_holders_s": exposure.several.as_secs_f64(),
                    "other_holder_s": exposure.other.as_secs_f64(),
                });
                writeln!(out, "{line}").unwrap();
            }
        }
    }
}

//! keepalived.conf in keepalived's own terms:
//!
//! - keepalived is the referee, at run time: started on each file of
//!   integration/keepalived in a namespace that has the corpus's
//!   interfaces, it runs the file (an instance enters a state) or does not
//!   (it exits, or starts nothing), as the file's header says, and logs
//!   what its `keepalived-logs:` lines say. Its config test, `-t`, is not
//!   the judge: it exits non-zero on warnings too (5 on a password it
//!   truncates, which it runs);
//! - the seed's keepalived.conf, with only the interface and addresses
//!   moved to the lab's, runs the seed's three steps under vipd on both
//!   hosts, and with keepalived on host B; with a 14-character password,
//!   which both truncate to 8, vipd and keepalived still agree.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::config::{load_and_validate_with, Format, LoadOptions};
use vipd::lab::Lab;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/keepalived")
}

fn headers(file: &Path, name: &str) -> Vec<String> {
    let prefix = format!("! {name}: ");
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
        .collect()
}

fn header(file: &Path, name: &str) -> Option<String> {
    headers(file, name).into_iter().next()
}

/// The corpus copied under `to`, line for line, with its 192.168.x
/// addresses moved into the documentation ranges (keepalived adds the
/// addresses of an instance that becomes master) and its FIFOs moved out
/// of /run.
fn copy_corpus(from: &Path, to: &Path, fifo_dir: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_corpus(&path, &target, fifo_dir);
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let moved = text
            .replace("192.168.0.", "192.0.2.")
            .replace("192.168.1.", "198.51.100.")
            .replace("192.168.10", "203.0.113.10")
            .replace("/run/vipd-", &format!("{}/vipd-", fifo_dir.display()));
        fs::write(&target, moved).unwrap();
    }
}

/// How keepalived took a file: it ran it, or not, and what it logged.
struct Run {
    ran: bool,
    how: String,
    log: String,
}

/// Starts keepalived on `file` in host 1's namespace and watches its log
/// until an instance enters a state (it runs the file) and every line in
/// `awaited` is logged, or keepalived exits or starts nothing within 15 s
/// (it does not); then stops it. (Stopping at the first state entered
/// cut off lines another instance logs a moment later.)
fn run_keepalived(lab: &mut Lab, file: &Path, id: &str, n: usize, awaited: &[String]) -> Run {
    let log = lab.dir.join(format!("corpus-{n}.log"));
    let pid_file = lab.dir.join(format!("corpus-{n}.pid"));
    let vrrp_pid_file = lab.dir.join(format!("corpus-{n}.vrrp.pid"));
    let args = [
        "-n",
        "-l",
        "-D",
        "--vrrp",
        "-f",
        &file.to_string_lossy(),
        "-i",
        id,
        "-p",
        &pid_file.to_string_lossy(),
        "-r",
        &vrrp_pid_file.to_string_lossy(),
    ]
    .map(|s| s.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // With systemd's default of 1,024 open files, as keepalived.service
    // runs it: the limit decides when an include loop ends.
    let mut args = args;
    // snmp.conf starts keepalived's SNMP subagent: net-snmp's persistent
    // files (it makes cert_indexes at start) go in the lab, not in
    // /var/lib/snmp.
    let persist = format!(
        "SNMP_PERSISTENT_DIR={}",
        lab.dir.join("snmp-persist").display()
    );
    args.splice(
        0..0,
        ["--nofile=1024:1024", "env", &persist, "MIBS=", "keepalived"],
    );
    let pid = lab
        .spawn(1, Path::new("prlimit"), &args, &log)
        .expect("start keepalived");
    let text = || fs::read_to_string(&log).unwrap_or_default();
    let entered = |t: &str| t.contains("Entering ") || t.contains("entering FAULT");
    let deadline = Instant::now() + Duration::from_secs(15);
    let (ran, how) = loop {
        let now = text();
        if entered(&now) && awaited.iter().all(|line| now.contains(line.as_str())) {
            break (true, "an instance entered a state".to_string());
        }
        if let Some(code) = lab.wait_exit(pid, Duration::from_millis(20)) {
            break (entered(&text()), format!("it exited ({code:?})"));
        }
        if Instant::now() >= deadline {
            let ran = entered(&text());
            break (ran, "15 s passed".to_string());
        }
    };
    lab.signal(pid, Signal::SIGTERM);
    if lab.wait_exit(pid, DEADLINE).is_none() {
        // Still reading its files (an include loop): no child yet.
        lab.signal(pid, Signal::SIGKILL);
        lab.wait_exit(pid, DEADLINE);
    }
    Run {
        ran,
        how,
        log: text(),
    }
}

#[test]
fn keepalived_runs_what_vipd_runs_on_every_corpus_file() {
    let test = "keepalived_runs_what_vipd_runs_on_every_corpus_file";
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 1) else {
        return;
    };
    // The corpus's interfaces: ens33 (with an address, so that its IPv4
    // instances do not wait in FAULT) and eth1.
    lab.add_second_lan().expect("eth1");
    for args in [
        &[
            "link", "add", "ens33", "type", "veth", "peer", "name", "ens33p",
        ][..],
        &["link", "set", "ens33", "up"],
        &["link", "set", "ens33p", "up"],
        &["addr", "add", "203.0.113.201/24", "dev", "ens33"],
    ] {
        let done = lab.exec(1, "ip", args).expect("ip");
        assert!(done.status.success(), "ip {args:?}: {done:?}");
    }
    let copy = lab.dir.join("corpus");
    copy_corpus(&corpus_dir(), &copy, &lab.dir);

    let mut files: Vec<PathBuf> = fs::read_dir(&copy)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus shrank: {}", files.len());
    let mut disagreements = Vec::new();
    let (mut runs, mut refuses) = (0, 0);
    for (n, file) in files.iter().enumerate() {
        let id = header(file, "config-id").unwrap_or_else(|| "corpus".into());
        let vipd_expected = header(file, "expect").expect("an expect: line") == "valid";
        let keepalived_expected = match header(file, "keepalived").as_deref() {
            Some(verdict) => verdict == "runs",
            None => vipd_expected,
        };
        let awaited = headers(file, "keepalived-logs");
        let run = run_keepalived(&mut lab, file, &id, n, &awaited);
        let name = file.file_name().unwrap().to_string_lossy();
        if run.ran != keepalived_expected {
            disagreements.push(format!(
                "{name}: keepalived {} ({}), expected {}:\n{}",
                if run.ran { "runs it" } else { "does not" },
                run.how,
                if keepalived_expected {
                    "runs"
                } else {
                    "refuses"
                },
                run.log
            ));
        }
        for said in awaited {
            if !run.log.contains(&said) {
                disagreements.push(format!(
                    "{name}: keepalived did not log {said:?}:\n{}",
                    run.log
                ));
            }
        }
        let options = LoadOptions {
            format: Format::Auto,
            config_id: id.clone(),
        };
        let original = corpus_dir().join(file.file_name().unwrap());
        let vipd_says = load_and_validate_with(std::slice::from_ref(&original), &options);
        if vipd_says.is_ok() != vipd_expected {
            disagreements.push(format!(
                "{name}: vipd {}",
                match &vipd_says {
                    Ok(_) => "runs it".to_string(),
                    Err(errors) => format!("refuses it: {errors}"),
                }
            ));
        }
        if keepalived_expected {
            runs += 1;
        } else {
            refuses += 1;
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements over {} files:\n{}",
        disagreements.len(),
        files.len(),
        disagreements.join("\n")
    );
    assert!(runs >= 30 && refuses >= 5, "{runs} run, {refuses} refused");
}

/// The seed's file for `host` (a or b) with the interface and addresses
/// moved to the lab's, nothing else changed.
fn seed_conf(lab: &Lab, name: &str, password: &str) -> PathBuf {
    let text = fs::read_to_string(corpus_dir().join(format!("seed_{name}.conf"))).unwrap();
    let moved = text
        .replace("auth_pass 1111", &format!("auth_pass {password}"))
        .replace("ens33", "eth0")
        .replace("192.168.0.201", &lab.host(1).ipv4.to_string())
        .replace("192.168.0.202", &lab.host(2).ipv4.to_string())
        .replace("192.168.0.203", &Flavour::V2Ipv4.vip().to_string());
    assert_ne!(moved, text);
    let path = lab.dir.join(format!("seed_{name}.conf"));
    fs::write(&path, moved).unwrap();
    path
}

/// vipd on `host` with the seed's .conf, and a YAML layer over it for what
/// a lab needs (its own control socket).
fn start_vipd_on_conf(lab: &mut Lab, host: usize, conf: &Path, tag: &str) -> Daemon {
    let layer = lab.dir.join(format!("lab-h{host}.yaml"));
    fs::write(&layer, control_socket_line(lab, host)).unwrap();
    let layer = layer.to_string_lossy().to_string();
    start_vipd(lab, host, conf, tag, &["--config", &layer])
}

/// The seed's three steps; `password` replaces the seed's "1111".
fn seed_story(test: &str, keepalived_on_b: bool, password: &str) {
    let lab = if keepalived_on_b {
        lab_with_keepalived_or_skip(test, 2)
    } else {
        lab_or_skip(test, 2)
    };
    let Some(mut lab) = lab else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (conf_a, conf_b) = (
        seed_conf(&lab, "a", password),
        seed_conf(&lab, "b", password),
    );
    let b = if keepalived_on_b {
        start_keepalived(&mut lab, 2, &conf_b, "1")
    } else {
        start_vipd_on_conf(&mut lab, 2, &conf_b, "1")
    };
    let a1 = start_vipd_on_conf(&mut lab, 1, &conf_a, "1");
    expect_only(&lab, vip, 1, "both started", &[&a1, &b]);
    // vipd logged what it leaves out of the seed's file, with its line.
    let a_log = a1.log_text();
    assert!(
        a_log.contains("seed_a.conf:10: smtp_server: vipd sends no e-mail"),
        "{a_log}"
    );
    // A password keepalived truncates: vipd runs it the same way, and says
    // so with its line.
    if password.len() > 8 {
        let said = format!(
            "seed_a.conf:24: auth_pass: {} bytes, truncated to the first 8",
            password.len()
        );
        assert!(a_log.contains(&said), "{said} not in:\n{a_log}");
    }

    let exit = stop(&mut lab, &a1, Signal::SIGTERM);
    assert_eq!(exit, Some(Some(0)), "A did not stop:\n{}", a1.log_text());
    expect_only(&lab, vip, 2, "A stopped", &[&a1, &b]);

    let a2 = start_vipd_on_conf(&mut lab, 1, &conf_a, "2");
    expect_only(&lab, vip, 1, "A started again", &[&a2, &b]);
    if keepalived_on_b {
        let b_log = b.log_text();
        for refusal in [
            "auth_mismatch",
            "auth_type_mismatch",
            "bogus VRRP packet",
            "address_list_mismatch",
        ] {
            assert!(
                !b_log.contains(refusal),
                "B refused A ({refusal}):\n{b_log}"
            );
        }
    }
}

#[test]
fn the_seed_keepalived_conf_runs_under_vipd_on_both_hosts() {
    seed_story(
        "the_seed_keepalived_conf_runs_under_vipd_on_both_hosts",
        false,
        "1111",
    );
}

#[test]
fn the_seed_keepalived_conf_under_vipd_with_keepalived_on_b() {
    seed_story(
        "the_seed_keepalived_conf_under_vipd_with_keepalived_on_b",
        true,
        "1111",
    );
}

/// The issue's file: `auth_pass secretpassword` on both hosts. keepalived
/// sends the first 8 bytes; so does vipd, so B (keepalived, priority 90)
/// accepts A's adverts and leaves the address to A (vipd, 100). Were the
/// keys to differ, B would drop them (auth_mismatch) and take it too.
#[test]
fn a_long_password_runs_under_vipd_as_keepalived_runs_it() {
    seed_story(
        "a_long_password_runs_under_vipd_as_keepalived_runs_it",
        true,
        "secretpassword",
    );
}

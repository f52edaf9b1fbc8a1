//! Reload (SIGHUP, `vipd reload`) on the seed pair: an unrelated change,
//! an added instance and a broken file make no transition of the running
//! instance on either host; a removed master hands its address over; a
//! changed priority applies. Transitions are counted from the logs and
//! from the status snapshot (what the metrics endpoint renders).

mod support;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;
use vipd::lab::{wait_for, Lab};
use vipd::status::Snapshot;

const VI_2_VIP: &str = "192.0.2.210";
/// Each host's own loopback, in its own namespace.
const METRICS: &str = "127.0.0.1:9650";

/// vipd's config for `host`: VI_1 as the seed's, then `more`.
fn write_config(lab: &Lab, host: usize, priority: u8, more: &str) -> PathBuf {
    let text = format!(
        "{}metrics: {{ listen: \"{METRICS}\" }}\ninstances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: {priority}\n    advert_int: 1\n    authentication: {{ auth_type: PASS, auth_pass: \"1111\" }}\n    virtual_ipaddress: [192.0.2.203]\n{more}",
        control_socket_line(lab, host)
    );
    let path = lab.dir.join(format!("reload-h{host}.yaml"));
    fs::write(&path, text).unwrap();
    path
}

fn second_instance(priority: u8) -> String {
    format!(
        "  VI_2:\n    interface: eth0\n    virtual_router_id: 52\n    priority: {priority}\n    advert_int: 1\n    virtual_ipaddress: [{VI_2_VIP}]\n"
    )
}

/// None until the daemon listens.
fn try_snapshot(lab: &Lab, host: usize) -> Option<Snapshot> {
    vipd::status::read(&control_socket(lab, host))
        .ok()
        .map(|(s, _)| s)
}

fn snapshot(lab: &Lab, host: usize) -> Snapshot {
    vipd::status::read(&control_socket(lab, host))
        .map(|(s, _)| s)
        .unwrap_or_else(|e| panic!("status of host {host}: {e}"))
}

/// VI_1's transitions since start, as the metrics endpoint counts them.
fn vi_1_transitions(lab: &Lab, host: usize) -> u64 {
    let metrics = get(lab, host, METRICS, "/metrics")
        .unwrap_or_else(|| panic!("no metrics from host {host}"));
    let series: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("vipd_transitions_total{") && l.contains("vrrp_instance=\"VI_1\"")
        })
        .collect();
    assert!(!series.is_empty(), "no VI_1 transitions in:\n{metrics}");
    series
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

/// Lines of `log` with "(VI_1) Entering".
fn vi_1_entries(daemon: &Daemon) -> usize {
    daemon.log_text().matches("(VI_1) Entering").count()
}

#[test]
fn reloads_that_leave_vi_1_alone_make_no_transition_and_bad_files_are_refused() {
    let Some(mut lab) = lab_or_skip("reloads_that_leave_vi_1_alone_make_no_transition", 2) else {
        return;
    };
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    let vi_2_vip: IpAddr = VI_2_VIP.parse().unwrap();
    let a_config = write_config(&lab, 1, 100, "");
    let b_config = write_config(&lab, 2, 90, "");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    expect_only(&lab, vip, 1, "both started", &[&a, &b]);
    // Settled: A master, B backup, each with its first transitions done.
    wait_for(DEADLINE, || {
        try_snapshot(&lab, 2)
            .is_some_and(|s| s.instances[0].master.as_deref() == Some("192.0.2.201"))
    })
    .expect("B sees A as master");
    let logs_before = (vi_1_entries(&a), vi_1_entries(&b));
    let counted_before = (vi_1_transitions(&lab, 1), vi_1_transitions(&lab, 2));
    let sent_before = snapshot(&lab, 1).instances[0].adverts_sent;

    // 1. An unrelated change: a comment, an unused check, a notify script.
    write_config(
        &lab,
        1,
        100,
        "    notify: /bin/true\n# a comment\nchecks:\n  spare: { exec: /bin/true, interval: 1 }\n",
    );
    let out = reload(&lab, 1);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        said.contains("reloaded: 0 unchanged; updated in place: VI_1"),
        "{said}"
    );
    stays_on(
        &lab,
        vip,
        1,
        Duration::from_secs(4),
        "after an unrelated change",
    );

    // 2. A second instance on both hosts.
    write_config(&lab, 1, 100, &second_instance(100));
    write_config(&lab, 2, 90, &second_instance(90));
    for host in [1, 2] {
        let out = reload(&lab, host);
        assert!(out.status.success(), "host {host}: {out:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("added: VI_2"), "host {host}: {said}");
    }
    expect_only(&lab, vi_2_vip, 1, "VI_2 elected", &[&a, &b]);
    stays_on(&lab, vip, 1, Duration::from_secs(2), "after adding VI_2");

    // 3. A syntax error: refused, said, and nothing changes.
    fs::write(&a_config, "instances:\n  VI_1: [unclosed\n").unwrap();
    let out = reload(&lab, 1);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        said.contains("refused") && said.contains("reload-h1.yaml"),
        "{said}"
    );
    assert!(a.log_text().contains("reload refused"), "{}", a.log_text());
    stays_on(&lab, vip, 1, Duration::from_secs(4), "after a broken file");
    assert_eq!(lab.holders(vi_2_vip), vec![1]);

    // Through all three: VI_1 never moved, on either host, by logs and
    // by the counters metrics export; and A kept advertising.
    assert_eq!(
        (vi_1_entries(&a), vi_1_entries(&b)),
        logs_before,
        "A:\n{}\nB:\n{}",
        a.log_text(),
        b.log_text()
    );
    assert_eq!(
        (vi_1_transitions(&lab, 1), vi_1_transitions(&lab, 2)),
        counted_before
    );
    let a_now = snapshot(&lab, 1);
    assert!(
        a_now.instances[0].adverts_sent >= sent_before + 8,
        "adverts {} then {}",
        sent_before,
        a_now.instances[0].adverts_sent
    );
    assert_eq!(
        a_now.reload.as_ref().map(|r| (r.sequence, r.applied)),
        Some((3, false))
    );

    // 4. VI_2 removed on A: A hands it over at once (priority 0), VI_1 stays.
    write_config(&lab, 1, 100, "");
    let out = reload(&lab, 1);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("removed: VI_2"));
    expect_only(&lab, vi_2_vip, 2, "VI_2 removed on A", &[&a, &b]);
    assert_eq!(lab.holders(vip), vec![1]);
    assert!(
        a.log_text().contains("(VI_2) Entering INIT STATE")
            || a.log_text().contains("(VI_2) Entering STOP"),
        "{}",
        a.log_text()
    );

    // 5. VI_1's priority below B's: applied, B takes over.
    write_config(&lab, 1, 80, "");
    let out = reload(&lab, 1);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("restarted: VI_1"));
    expect_only(&lab, vip, 2, "A's priority now below B's", &[&a, &b]);
}

#[test]
fn reload_without_a_daemon_says_so() {
    let scratch = std::env::temp_dir().join(format!("vipd-reload-{}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    let out = Command::new(vipd_binary())
        .args(["reload", "--socket"])
        .arg(Path::new(&scratch).join("none.sock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    let _ = fs::remove_dir_all(&scratch);
}

/// A failing check holds A below B. A reload that leaves the check as it
/// was keeps its failed state: A's priority never springs back to 100,
/// so nothing flaps.
#[test]
fn a_reload_keeps_the_state_of_checks_it_does_not_change() {
    let Some(mut lab) = lab_or_skip("a_reload_keeps_the_state_of_checks_it_does_not_change", 2)
    else {
        return;
    };
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    let failing = "    track_script: [down]\nchecks:\n  down: { exec: /bin/false, interval: 1, weight: -50 }\n";
    let a_config = write_config(&lab, 1, 100, failing);
    let b_config = write_config(&lab, 2, 90, "");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    wait_for(DEADLINE, || {
        try_snapshot(&lab, 1).is_some_and(|s| s.instances[0].effective_priority == 50)
    })
    .unwrap_or_else(|| panic!("the check never failed:\n{}", a.log_text()));
    expect_only(&lab, vip, 2, "B master while A's check fails", &[&a, &b]);
    wait_for(DEADLINE, || {
        try_snapshot(&lab, 1)
            .is_some_and(|s| s.instances[0].master.as_deref() == Some("192.0.2.202"))
    })
    .expect("A sees B as master");
    let before = (vi_1_entries(&a), vi_1_entries(&b));

    // Same check, one more (healthy) check nobody tracks, and a notify.
    write_config(
        &lab,
        1,
        100,
        &format!("    notify: /bin/true\n{failing}  spare: {{ exec: /bin/true }}\n"),
    );
    let out = reload(&lab, 1);
    assert!(out.status.success(), "{out:?}");
    stays_on(&lab, vip, 2, Duration::from_secs(5), "after the reload");
    assert_eq!(snapshot(&lab, 1).instances[0].effective_priority, 50);
    assert_eq!(
        (vi_1_entries(&a), vi_1_entries(&b)),
        before,
        "A:\n{}",
        a.log_text()
    );
    assert!(
        !a.log_text()
            .contains("Changing effective priority from 50 to 100"),
        "{}",
        a.log_text()
    );
}

/// Reading a reload's files must not hold up the instances: here the
/// new file makes the reader produce 450,000 lines (a few seconds in a
/// debug build; the case was 2^17 nested includes, 3.7 s). Read
/// on the thread that sends adverts, as it was, A went quiet for that
/// long and B took the VIP at 0.1 s adverts. Now A keeps advertising and
/// the reload applies when the read is done.
#[test]
fn a_reload_that_takes_long_to_read_leaves_the_instances_running() {
    let Some(mut lab) = lab_or_skip("a_reload_that_takes_long_to_read", 2) else {
        return;
    };
    let vip: IpAddr = "192.0.2.203".parse().unwrap();
    let extra = lab.dir.join("extra.conf");
    fs::write(&extra, "! nothing yet\n").unwrap();
    let a_config = lab.dir.join("slow-h1.conf");
    fs::write(
        &a_config,
        format!(
            "include {}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {{\n        192.0.2.203\n    }}\n}}\n",
            extra.display()
        ),
    )
    .unwrap();
    let a_yaml = lab.dir.join("slow-h1.yaml");
    fs::write(&a_yaml, control_socket_line(&lab, 1)).unwrap();
    let a_args = ["--config", &a_yaml.to_string_lossy()].map(str::to_string);
    let a_args: Vec<&str> = a_args.iter().map(String::as_str).collect();
    let b_config = lab.dir.join("slow-h2.yaml");
    fs::write(
        &b_config,
        format!(
            "{}instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    priority: 90\n    version: 3\n    advert_int: 0.1\n    virtual_ipaddress: [192.0.2.203]\n",
            control_socket_line(&lab, 2)
        ),
    )
    .unwrap();
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_vipd(&mut lab, 1, &a_config, "1", &a_args);
    expect_only(&lab, vip, 1, "both started", &[&a, &b]);
    wait_for(DEADLINE, || {
        try_snapshot(&lab, 2).is_some_and(|s| s.instances[0].state == "BACKUP")
    })
    .expect("B settled as backup");
    let b_entries = vi_1_entries(&b);

    // Nine ~SEQ of 50,000: the reader before this change capped each at
    // 100,000, and must read this too, to show what it did.
    let many = "~SEQ(i, 1, 50000) router_id r$i\n".repeat(9);
    fs::write(&extra, format!("global_defs {{\n{many}}}\n")).unwrap();
    let asked = std::time::Instant::now();
    lab.signal(a.pid, nix::sys::signal::Signal::SIGHUP);
    let mut took = None;
    while asked.elapsed() < DEADLINE * 2 {
        assert_eq!(
            lab.holders(vip),
            vec![1],
            "while the reload is read:\n{}",
            b.log_text()
        );
        if let Some(reload) = try_snapshot(&lab, 1).and_then(|s| s.reload) {
            assert!(reload.applied, "{reload:?}");
            took = Some(asked.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = took.unwrap_or_else(|| panic!("the reload never finished:\n{}", a.log_text()));
    // Long enough to matter: B's Master_Down_Interval is about 0.35 s.
    assert!(took > Duration::from_secs(1), "the read took only {took:?}");
    stays_on(&lab, vip, 1, Duration::from_secs(1), "after the reload");
    assert_eq!(vi_1_entries(&b), b_entries, "B:\n{}", b.log_text());
}

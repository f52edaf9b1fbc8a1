//! vipd needs CAP_NET_ADMIN and CAP_NET_RAW, not root: run as nobody
//! with only those two (setpriv, ambient capabilities), it passes the
//! seed's steps. Started as root with `user:`, it drops to that user
//! with those two itself; its scripts run in the script launcher as
//! script_user, with no capabilities and a clean environment; and the
//! shipped unit's capability settings allow all of that.

mod support;

use std::path::{Path, PathBuf};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

/// Starts vipd on `host` as nobody with only the two capabilities.
fn start_unprivileged(lab: &mut Lab, host: usize, config: &Path, tag: &str) -> Daemon {
    let log = lab.dir.join(format!("vipd-h{host}-{tag}.log"));
    let vipd = vipd_binary();
    let args = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all,+net_admin,+net_raw",
        "--ambient-caps=-all,+net_admin,+net_raw",
        "--bounding-set=-all,+net_admin,+net_raw",
        "--",
        vipd.to_str().unwrap(),
        "run",
        "--config",
        config.to_str().unwrap(),
    ];
    let pid = lab
        .spawn(host, Path::new("setpriv"), &args, &log)
        .expect("start vipd through setpriv");
    Daemon { pid, log }
}

/// The effective capability set of a process, as /proc shows it.
fn effective_caps(pid: nix::unistd::Pid) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| v.trim().to_string())
}

#[test]
fn vipd_runs_as_nobody_with_net_admin_and_net_raw_only() {
    let Some(mut lab) = lab_or_skip("vipd_runs_as_nobody_with_net_admin_and_net_raw_only", 2)
    else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    // Nobody needs a directory of its own for the control socket.
    let own = lab.dir.join("nobody");
    std::fs::create_dir(&own).unwrap();
    nix::unistd::chown(&own, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    let socket = format!("control_socket: {}\n", own.join("vipd.sock").display());
    let text = std::fs::read_to_string(vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("control_socket:"))
        .collect::<Vec<_>>()
        .join("\n");
    let a_config = lab.dir.join("unprivileged-a.yaml");
    std::fs::write(&a_config, format!("{socket}{text}\n")).unwrap();
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a = start_unprivileged(&mut lab, 1, &a_config, "1");
    expect_only(
        &lab,
        vip,
        1,
        "A (nobody + 2 capabilities) master",
        &[&a, &b],
    );
    // CAP_NET_ADMIN is bit 12, CAP_NET_RAW bit 13: nothing else.
    assert_eq!(effective_caps(a.pid).as_deref(), Some("0000000000003000"));
    let uid = std::fs::read_to_string(format!("/proc/{}/status", a.pid)).unwrap();
    assert!(uid.lines().any(|l| l.starts_with("Uid:\t65534")), "{uid}");

    assert_eq!(
        stop(&mut lab, &a, Signal::SIGTERM),
        Some(Some(0)),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);
    let a2 = start_unprivileged(&mut lab, 1, &a_config, "2");
    expect_only(&lab, vip, 1, "A back", &[&a2, &b]);
}

/// A status field of a process (`Uid`, `CapEff` ...), as /proc shows it.
fn status_field(pid: i32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

/// The child of `parent` that is its script launcher.
fn launcher_of(parent: i32) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let ppid: i32 = status_field(pid, "PPid")?.parse().ok()?;
        (ppid == parent && String::from_utf8_lossy(&cmdline).contains("script-launcher"))
            .then_some(pid)
    })
}

/// A script, root's, that reports who ran it: its uid, capability sets,
/// parent and environment, to `out/NAME` (written whole: a rename).
fn reporter(lab: &Lab) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let out = lab.dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
    let script = lab.dir.join("report.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nout={}\n{{ echo \"uid=$(id -u)\"; grep '^Cap' /proc/self/status; echo \"ppid=$PPID\"; env | sed 's/^/env:/'; }} > \"$out/$1.tmp\" && mv \"$out/$1.tmp\" \"$out/$1\"\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, out)
}

/// Waits for the report `name` and returns its lines.
fn report(out: &Path, name: &str, log: &Daemon) -> Vec<String> {
    let path = out.join(name);
    wait_for(DEADLINE, || path.exists())
        .unwrap_or_else(|| panic!("no {name} report:\n{}", log.log_text()));
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// What every script must be: run as `uid`, by the launcher, with no
/// capability, and nothing of the daemon's environment.
fn assert_unprivileged(report: &[String], uid: u32, launcher: i32, what: &str) {
    assert!(report.contains(&format!("uid={uid}")), "{what}: {report:?}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert!(
            report.contains(&format!("{set}:\t0000000000000000")),
            "{what}: {set} not empty: {report:?}"
        );
    }
    assert!(
        report.contains(&format!("ppid={launcher}")),
        "{what}: not started by the launcher ({launcher}): {report:?}"
    );
    let env: Vec<&String> = report.iter().filter(|l| l.starts_with("env:")).collect();
    assert!(
        env.iter()
            .all(|l| !l.starts_with("env:NOTIFY_SOCKET=") && !l.starts_with("env:VIPD_")),
        "{what}: the daemon's environment leaked: {env:?}"
    );
    assert!(
        env.iter()
            .any(|l| *l == "env:PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
        "{what}: {env:?}"
    );
}

/// Host 1's config: `top` lines, a weight-0 check (FAULT while it fails)
/// running the reporter, and a notify_master running it too.
fn reporting_config(lab: &Lab, top: &str, script: &Path) -> PathBuf {
    let s = script.display();
    let text = format!(
        "{top}checks:\n  probe: {{ exec: \"/bin/sh {s} check\", interval: 1s }}\n\
         instances:\n  VI_1:\n    interface: eth0\n    state: MASTER\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n    source_ip: {}\n    authentication: {{ auth_type: PASS, auth_pass: \"1111\" }}\n    virtual_ipaddress: [\"192.0.2.203\"]\n    track_script: [probe]\n    notify_master: \"/bin/sh {s} master\"\n",
        lab.host(1).ipv4
    );
    let path = lab.dir.join("reporting-a.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn vipd_drops_to_its_user_and_scripts_run_as_script_user_with_nothing_of_the_daemons() {
    let Some(mut lab) = lab_or_skip(
        "vipd_drops_to_its_user_and_scripts_run_as_script_user_with_nothing_of_the_daemons",
        2,
    ) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (script, out) = reporter(&lab);
    // A directory vipd makes for its user and hands to it.
    let socket = lab.dir.join("a-run").join("vipd.sock");
    let top = format!(
        "control_socket: {}\nuser: nobody\nscript_user: nobody\n",
        socket.display()
    );
    let a_config = reporting_config(&lab, &top, &script);
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    // Started as root with variables of its own that scripts must not see
    // (a VIPD_ one that is a valid setting: priority 100 as in the file).
    let start_a = |lab: &mut Lab, tag: &str| {
        let log = lab.dir.join(format!("vipd-h1-{tag}.log"));
        let vipd = vipd_binary();
        let args = [
            "NOTIFY_SOCKET=/run/vipd-test-no-such-socket",
            "VIPD_INSTANCES__VI_1__PRIORITY=100",
            vipd.to_str().unwrap(),
            "run",
            "--config",
            a_config.to_str().unwrap(),
        ];
        let pid = lab
            .spawn(1, Path::new("/usr/bin/env"), &args, &log)
            .expect("start vipd");
        Daemon { pid, log }
    };
    let a = start_a(&mut lab, "1");
    expect_only(&lab, vip, 1, "A (as nobody) master", &[&a, &b]);

    let pid = a.pid.as_raw();
    assert_eq!(
        status_field(pid, "Uid").unwrap(),
        "65534\t65534\t65534\t65534"
    );
    assert_eq!(
        status_field(pid, "CapEff").as_deref(),
        Some("0000000000003000")
    );
    assert_eq!(
        status_field(pid, "CapPrm").as_deref(),
        Some("0000000000003000")
    );
    assert_eq!(
        status_field(pid, "CapInh").as_deref(),
        Some("0000000000000000")
    );
    assert_eq!(
        status_field(pid, "CapAmb").as_deref(),
        Some("0000000000000000")
    );
    let launcher =
        launcher_of(pid).unwrap_or_else(|| panic!("no script launcher:\n{}", a.log_text()));
    // The launcher keeps CAP_SETUID, CAP_SETGID and CAP_KILL, nothing else.
    assert_eq!(
        status_field(launcher, "CapEff").as_deref(),
        Some("00000000000000e0")
    );

    let check = report(&out, "check", &a);
    assert_unprivileged(&check, 65534, launcher, "the check");
    let master = report(&out, "master", &a);
    assert_unprivileged(&master, 65534, launcher, "notify_master");

    assert_eq!(
        stop(&mut lab, &a, Signal::SIGTERM),
        Some(Some(0)),
        "{}",
        a.log_text()
    );
    expect_only(&lab, vip, 2, "A stopped", &[&a, &b]);
    wait_for(DEADLINE, || {
        !Path::new(&format!("/proc/{launcher}")).exists()
    })
    .unwrap_or_else(|| panic!("the launcher outlived vipd"));
    assert!(!socket.exists(), "the control socket was left behind");
    let a2 = start_a(&mut lab, "2");
    expect_only(&lab, vip, 1, "A back", &[&a2, &b]);
}

/// The unit's capability settings, as setpriv arguments.
fn unit_as_setpriv() -> Vec<String> {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/vipd.service"))
        .unwrap();
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    let caps = |key: &str| -> String {
        value(key)
            .unwrap_or_default()
            .split_whitespace()
            .map(|c| format!(",+{}", c.trim_start_matches("CAP_").to_lowercase()))
            .collect()
    };
    assert_eq!(
        value("User"),
        None,
        "the unit starts vipd as root; test the user it names"
    );
    let ambient = caps("AmbientCapabilities");
    let mut args = vec![
        format!("--bounding-set=-all{}", caps("CapabilityBoundingSet")),
        format!("--inh-caps=-all{ambient}"),
        format!("--ambient-caps=-all{ambient}"),
    ];
    if value("NoNewPrivileges").as_deref() == Some("yes") {
        args.push("--no-new-privs".into());
    }
    args
}

/// With the unit's bounding set (before: CAP_NET_RAW and CAP_NET_ADMIN
/// only), script_user failed with "Operation not permitted" and its
/// instance stayed in FAULT. Also, with `user:`, the unit's
/// RuntimeDirectory (root's, empty) is handed to that user.
#[test]
fn the_units_capabilities_let_scripts_run_as_script_user() {
    let Some(mut lab) = lab_or_skip("the_units_capabilities_let_scripts_run_as_script_user", 1)
    else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let (script, out) = reporter(&lab);
    let runtime = lab.dir.join("runtime-directory");
    std::fs::create_dir(&runtime).unwrap();
    let top = format!(
        "control_socket: {}\nuser: nobody\nscript_user: nobody\n",
        runtime.join("vipd.sock").display()
    );
    let config = reporting_config(&lab, &top, &script);
    let log = lab.dir.join("vipd-unit.log");
    let vipd = vipd_binary();
    let mut args = unit_as_setpriv();
    args.extend([
        "--".into(),
        vipd.display().to_string(),
        "run".into(),
        "--config".into(),
        config.display().to_string(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab
        .spawn(1, Path::new("setpriv"), &args, &log)
        .expect("start vipd through setpriv");
    let a = Daemon { pid, log };
    // The check has weight 0: only a check that ran as nobody lets A be master.
    expect_only(&lab, vip, 1, "under the unit's capabilities", &[&a]);
    let launcher = launcher_of(pid.as_raw()).expect("a launcher");
    assert_unprivileged(&report(&out, "check", &a), 65534, launcher, "the check");
    assert_eq!(
        status_field(pid.as_raw(), "CapEff").as_deref(),
        Some("0000000000003000")
    );
    assert!(
        !a.log_text().contains("Operation not permitted"),
        "{}",
        a.log_text()
    );
    assert_eq!(
        stop(&mut lab, &a, Signal::SIGTERM),
        Some(Some(0)),
        "{}",
        a.log_text()
    );
}

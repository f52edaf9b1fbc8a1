//! The packaged unit (config/vipd.service, as installed) under a real
//! systemd: this machine's own OS booted read-only in a container
//! (systemd-nspawn, volatile: nothing it writes outlives it) inside a lab
//! host's network namespace, with vipd's binary and unit bound in. What
//! the hardening must still allow, shown by systemd itself: the
//! ExecCondition skips an unconfigured file and fails an invalid one;
//! vipd makes its VMAC and writes its net sysctls; a check runs as
//! script_user; `systemctl reload` applies a change; the postinst's
//! upgrade step (try-restart) restarts a running vipd and starts no
//! stopped one; `systemctl stop` hands the VIP over.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::*;
use vipd::lab::{testing::proceed_or_skip, wait_for};

/// A booted container; killed (its init, hence all it holds, then
/// systemd-nspawn) when dropped, on failure and panic too.
struct Container {
    nspawn: Child,
    init: i32,
}

impl Container {
    fn boot(netns: &str, machine: &str, stage: &Path, log: &Path) -> Container {
        let out = std::fs::File::create(log).unwrap();
        let mut nspawn = Command::new("systemd-nspawn")
            .args([
                "--directory=/",
                "--volatile=yes",
                "--boot",
                "--register=no",
                "--keep-unit",
            ])
            // Its network is the lab host's; nspawn keeps CAP_NET_ADMIN
            // and a writable /proc/sys/net only when told it is private.
            .arg("--private-network")
            .arg(format!("--network-namespace-path=/run/netns/{netns}"))
            .arg("--capability=CAP_NET_ADMIN")
            .arg(format!("--machine={machine}"))
            .arg("--console=pipe")
            // A volatile /etc starts empty: the users scripts run as.
            .args([
                "--bind-ro=/etc/passwd",
                "--bind-ro=/etc/group",
                "--bind-ro=/etc/nsswitch.conf",
            ])
            .arg(format!("--bind-ro={}:/nsp", stage.display()))
            // basic.target: no other daemon this machine has installed.
            .args(["--", "--unit=basic.target"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start systemd-nspawn");
        // nspawn forks helpers before the container's systemd: wait for
        // the child that is systemd.
        let children = format!("/proc/{0}/task/{0}/children", nspawn.id());
        let init_of = || -> Option<i32> {
            std::fs::read_to_string(&children)
                .ok()?
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .find(|pid: &i32| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|comm| comm.trim() == "systemd")
                })
        };
        let init = wait_for(DEADLINE, || init_of().is_some()).and_then(|_| init_of());
        let Some(init) = init else {
            let _ = nspawn.kill();
            let _ = nspawn.wait();
            panic!(
                "systemd-nspawn started no init:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        let container = Container { nspawn, init };
        wait_for(Duration::from_secs(90), || {
            let state = container.sh("systemctl is-system-running");
            let state = String::from_utf8_lossy(&state.stdout);
            state.contains("running") || state.contains("degraded")
        })
        .unwrap_or_else(|| {
            panic!(
                "the container's systemd did not come up:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        });
        container
    }

    /// A shell command inside, as an administrator runs it there.
    fn sh(&self, script: &str) -> Output {
        Command::new("nsenter")
            .args([
                "-t",
                &self.init.to_string(),
                "-a",
                "timeout",
                "60",
                "sh",
                "-c",
                script,
            ])
            .output()
            .expect("run nsenter")
    }

    fn journal(&self) -> String {
        let out = self.sh("journalctl -u vipd --no-pager -o cat");
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // The init is the container's PID 1: killing it ends every
        // process in its PID namespace.
        let _ = kill(Pid::from_raw(self.init), Signal::SIGKILL);
        if wait_for(DEADLINE, || matches!(self.nspawn.try_wait(), Ok(Some(_)))).is_none() {
            let _ = self.nspawn.kill();
            let _ = self.nspawn.wait();
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_hardened_unit_runs_vipd_under_systemd() {
    let test = "the_hardened_unit_runs_vipd_under_systemd";
    if !proceed_or_skip(test, missing_tool(&["systemd-nspawn", "nsenter"])) {
        return;
    }
    let Some(mut lab) = lab_or_skip(test, 2) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();

    // What the package installs, bound in at /nsp: the binary, and the
    // unit as shipped but for where the binary is.
    let stage = lab.dir.join("unit");
    std::fs::create_dir(&stage).unwrap();
    std::fs::copy(vipd_binary(), stage.join("vipd")).unwrap();
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/vipd.service"))
        .unwrap()
        .replace("/usr/sbin/vipd", "/nsp/vipd");
    std::fs::write(stage.join("vipd.service"), unit).unwrap();
    std::fs::write(stage.join("empty.yaml"), "instances: {}\n").unwrap();
    std::fs::write(
        stage.join("invalid.yaml"),
        "instances:\n  VI_1: { interface: eth0, virtual_router_id: 300, virtual_ipaddress: [192.0.2.203] }\n",
    )
    .unwrap();
    // The check passes only when it runs as nobody (weight -50 would put
    // A below B's 90 otherwise).
    std::fs::write(
        stage.join("vipd.yaml"),
        format!(
            "script_user: nobody\nchecks:\n  as_nobody: {{ exec: \"/bin/sh -c 'test $(id -u) = 65534'\", interval: 1s, weight: -50 }}\n\
             instances:\n  VI_1:\n    interface: eth0\n    state: MASTER\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n    source_ip: {}\n    authentication: {{ auth_type: PASS, auth_pass: \"1111\" }}\n    use_vmac: true\n    virtual_ipaddress: [\"192.0.2.203\"]\n    track_script: [as_nobody]\n",
            lab.host(1).ipv4
        ),
    )
    .unwrap();

    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let netns = lab.host(1).netns.clone();
    let machine = format!("vipdunit{}", std::process::id());
    let container = Container::boot(&netns, &machine, &stage, &lab.dir.join("nspawn.log"));
    let setup = container.sh(
        // The volatile /etc enables systemd-networkd by preset, whose
        // wait-online would hold network-online.target (the unit's After=)
        // for two minutes on links networkd does not manage.
        "systemctl mask --runtime systemd-networkd-wait-online.service && \
         mkdir -p /etc/vipd && cp /nsp/vipd.service /etc/systemd/system/ && systemctl daemon-reload",
    );
    assert!(setup.status.success(), "{}", text(&setup));

    // Unconfigured: skipped, not failed, and it says why.
    let out = container.sh("cp /nsp/empty.yaml /etc/vipd/vipd.yaml && systemctl start vipd");
    assert!(out.status.success(), "{}", text(&out));
    let state = container.sh("systemctl is-active vipd");
    assert_eq!(String::from_utf8_lossy(&state.stdout).trim(), "inactive");
    assert!(
        container
            .journal()
            .contains("no instance configured: not starting"),
        "{}",
        container.journal()
    );

    // Invalid: failed, with the key in the journal.
    let out = container.sh("cp /nsp/invalid.yaml /etc/vipd/vipd.yaml && systemctl start vipd");
    assert!(
        !out.status.success(),
        "an invalid file started: {}",
        text(&out)
    );
    // Restart=on-failure tries again (a file may be fixed meanwhile) until
    // systemd's start limit, then leaves it failed.
    wait_for(DEADLINE, || {
        String::from_utf8_lossy(&container.sh("systemctl is-failed vipd").stdout).trim() == "failed"
    })
    .unwrap_or_else(|| {
        panic!(
            "an invalid file did not fail the unit:\n{}",
            container.journal()
        )
    });
    assert!(
        container.journal().contains("virtual_router_id"),
        "{}",
        container.journal()
    );

    // Configured: master on its VMAC, the check up as nobody.
    let out = container.sh(
        "systemctl reset-failed vipd && cp /nsp/vipd.yaml /etc/vipd/vipd.yaml && systemctl start vipd",
    );
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        container.journal()
    );
    let master = wait_for(DEADLINE, || {
        let status = text(&container.sh("/nsp/vipd status"));
        status.contains("VI_1  MASTER") && status.contains("as_nobody       up")
    });
    assert!(
        master.is_some(),
        "{}\n{}\n{}",
        text(&container.sh("/nsp/vipd status")),
        container.journal(),
        b.log_text()
    );
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vrrp.51").contains(&vip) && lab.holders(vip).is_empty()
    })
    .unwrap_or_else(|| panic!("A is not master on its VMAC:\n{}", container.journal()));

    // systemctl reload applies a change in place.
    let out = container
        .sh("sed -i 's/priority: 100/priority: 110/' /etc/vipd/vipd.yaml && systemctl reload vipd");
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out),
        container.journal()
    );
    assert!(
        container
            .journal()
            .contains("reloaded: 0 unchanged; restarted: VI_1"),
        "{}",
        container.journal()
    );
    wait_for(DEADLINE, || {
        text(&container.sh("/nsp/vipd status")).contains("priority        110 (base 110)")
    })
    .unwrap_or_else(|| panic!("the reload did not apply:\n{}", container.journal()));

    // What the package's postinst runs on upgrade (deb-systemd-invoke
    // try-restart, which hands try-restart to systemctl once policy-rc.d
    // allows; this machine's policy-rc.d may forbid all, so systemctl
    // here): restarts vipd when it runs (a new main process)...
    let main_pid = || {
        String::from_utf8_lossy(&container.sh("systemctl show -P MainPID vipd").stdout)
            .trim()
            .to_string()
    };
    let before = main_pid();
    let out = container.sh("systemctl try-restart vipd.service");
    assert!(out.status.success(), "{}", text(&out));
    wait_for(DEADLINE, || {
        let now = main_pid();
        now != before && now != "0" && !now.is_empty()
    })
    .unwrap_or_else(|| {
        panic!(
            "try-restart did not restart a running vipd:\n{}",
            container.journal()
        )
    });
    wait_for(DEADLINE, || {
        lab.addresses_on(1, "vrrp.51").contains(&vip) && lab.holders(vip).is_empty()
    })
    .unwrap_or_else(|| {
        panic!(
            "A is not master again after the restart:\n{}",
            container.journal()
        )
    });

    // systemctl stop: A hands over and leaves nothing in the kernel.
    let out = container.sh("systemctl stop vipd");
    assert!(out.status.success(), "{}", text(&out));
    expect_only(&lab, vip, 2, "A stopped by systemctl", &[&b]);
    assert!(
        !lab.namespaces().is_empty() && lab.addresses_on(1, "vrrp.51").is_empty(),
        "the VMAC stayed"
    );
    let state = container.sh("systemctl is-active vipd");
    assert_eq!(
        String::from_utf8_lossy(&state.stdout).trim(),
        "inactive",
        "{}",
        container.journal()
    );
    // ...and starts nothing an administrator stopped.
    let out = container.sh("systemctl try-restart vipd.service; systemctl is-active vipd");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "inactive",
        "{}",
        text(&out)
    );
    assert!(
        lab.addresses_on(1, "vrrp.51").is_empty(),
        "a stopped vipd came back"
    );
}

//! SNMP as keepalived serves it: vipd is an AgentX subagent of Debian's
//! snmpd, started in the lab's namespace with its own configuration, pid
//! file, persistent directory and AgentX socket in the lab's directory
//! (never /etc/snmp, /var/agentx or /var/lib/snmp). snmpwalk reads the
//! instance back by numeric OIDs, and snmptrapd, snmpd's trap2sink,
//! receives the traps of a transition.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::{wait_for, Lab};

const COMMUNITY: &str = "vipdlab";
/// snmpd's SNMP port and snmptrapd's, on 127.0.0.1 inside host 1's
/// namespace: no one else's.
const SNMP_PORT: u16 = 16161;
const TRAP_PORT: u16 = 16162;
/// snmpd and vipd both back off; the machine is shared and slow.
const SNMP_DEADLINE: Duration = Duration::from_secs(60);

const KEEPALIVED_STATE: &str = ".1.3.6.1.4.1.9586.100.5.2.3.1.4.1";
const KEEPALIVED_VRID: &str = ".1.3.6.1.4.1.9586.100.5.2.3.1.3.1";
const KEEPALIVED_BASE_PRIORITY: &str = ".1.3.6.1.4.1.9586.100.5.2.3.1.7.1";
const KEEPALIVED_NAME: &str = ".1.3.6.1.4.1.9586.100.5.2.3.1.2.1";
const STATE_CHANGE_TRAP: &str = ".1.3.6.1.4.1.9586.100.5.2.10.0.2";
const RFC2787_OPER_STATE: &str = ".1.3.6.1.2.1.68.1.3.1.3";
const RFC2787_OPER_UPTIME: &str = ".1.3.6.1.2.1.68.1.3.1.13";
const KEEPALIVED_INITIAL_STATE: &str = ".1.3.6.1.4.1.9586.100.5.2.3.1.5.1";
const RFC2787_NEW_MASTER: &str = ".1.3.6.1.2.1.68.0.1";

const TOOLS: [&str; 4] = [
    "/usr/sbin/snmpd",
    "/usr/sbin/snmptrapd",
    "/usr/bin/snmpwalk",
    "/usr/bin/env",
];

fn missing_snmp() -> Option<String> {
    TOOLS
        .iter()
        .find(|p| !Path::new(p).exists())
        .map(|p| format!("{p} is not installed (Debian packages snmpd, snmp, snmptrapd)"))
}

/// The environment every net-snmp program here runs with: no MIB files
/// (numeric OIDs only) and persistent files in the lab, not /var/lib/snmp.
fn net_snmp_env(lab: &Lab) -> [String; 2] {
    [
        "MIBS=".to_string(),
        format!(
            "SNMP_PERSISTENT_DIR={}",
            lab.dir.join("snmp-persist").display()
        ),
    ]
}

fn agentx_socket(lab: &Lab) -> PathBuf {
    lab.dir.join("agentx.sock")
}

/// Starts snmptrapd in host 1, logging every trap with numeric OIDs.
fn start_trap_sink(lab: &mut Lab) -> (Daemon, PathBuf) {
    let config = lab.dir.join("snmptrapd.conf");
    std::fs::write(&config, "disableAuthorization yes\n").unwrap();
    let traps = lab.dir.join("traps.log");
    let log = lab.dir.join("snmptrapd.out");
    let [mibs, persist] = net_snmp_env(lab);
    let args = [
        mibs,
        persist,
        "snmptrapd".to_string(),
        "-f".to_string(),
        "-X".to_string(), // not a subagent of anyone's snmpd
        "-C".to_string(),
        "-c".to_string(),
        config.display().to_string(),
        "-p".to_string(),
        lab.dir.join("snmptrapd.pid").display().to_string(),
        "-On".to_string(),
        "-Lf".to_string(),
        traps.display().to_string(),
        format!("udp:127.0.0.1:{TRAP_PORT}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab
        .spawn(1, Path::new("/usr/bin/env"), &args, &log)
        .expect("start snmptrapd");
    (Daemon { pid, log }, traps)
}

/// Starts snmpd in host 1 as AgentX master on the lab's socket, sending
/// v2c traps to the trap sink.
fn start_snmpd(lab: &mut Lab, tag: &str) -> Daemon {
    let config = lab.dir.join("snmpd.conf");
    std::fs::write(
        &config,
        format!(
            "master agentx\nagentXSocket unix:{}\nrocommunity {COMMUNITY} 127.0.0.1\ntrap2sink 127.0.0.1:{TRAP_PORT} {COMMUNITY}\n",
            agentx_socket(lab).display()
        ),
    )
    .unwrap();
    let log = lab.dir.join(format!("snmpd-{tag}.log"));
    let [mibs, persist] = net_snmp_env(lab);
    let args = [
        mibs,
        persist,
        "snmpd".to_string(),
        "-f".to_string(),
        "-Lo".to_string(),
        "-C".to_string(),
        "-c".to_string(),
        config.display().to_string(),
        "-p".to_string(),
        lab.dir.join("snmpd.pid").display().to_string(),
        format!("udp:127.0.0.1:{SNMP_PORT}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab
        .spawn(1, Path::new("/usr/bin/env"), &args, &log)
        .expect("start snmpd");
    Daemon { pid, log }
}

/// `snmpwalk -On` of `oid` in host 1; its output, or "" if it failed.
fn walk(lab: &Lab, oid: &str) -> String {
    let [mibs, persist] = net_snmp_env(lab);
    let target = format!("127.0.0.1:{SNMP_PORT}");
    let out = lab.exec(
        1,
        "env",
        &[
            &mibs, &persist, "snmpwalk", "-v2c", "-c", COMMUNITY, "-On", "-t", "2", "-r", "1",
            &target, oid,
        ],
    );
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => String::new(),
    }
}

/// The value snmpwalk printed for exactly `oid` (`TYPE: VALUE`).
fn value_of(walked: &str, oid: &str) -> Option<String> {
    let prefix = format!("{oid} = ");
    walked
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

/// RFC 2787's vrrpOperVirtualRouterUpTime of VRID 51, as snmpwalk prints it.
fn up_time(lab: &Lab) -> Option<String> {
    walk(lab, RFC2787_OPER_UPTIME)
        .lines()
        .find(|l| l.contains(".51 = Timeticks: "))
        .map(str::to_string)
}

fn snmp_block(lab: &Lab) -> String {
    format!(
        "snmp:\n  socket: \"{}\"\n  vrrp: true\n  rfcv2: true\n  traps: true\n  router_id: lab-a\n",
        agentx_socket(lab).display()
    )
}

/// vipd starts before snmpd (a warning, and it runs on), registers once
/// snmpd is there, and snmpwalk reads its instance: state, VRID and
/// priority in KEEPALIVED-MIB and RFC 2787's oper table. A second vipd
/// with a higher priority takes over: the state read changes, and traps
/// of both transitions reach snmptrapd through snmpd. snmpd restarted:
/// vipd registers again and answers.
#[test]
fn snmpd_reads_the_instance_and_forwards_its_traps() {
    const TEST: &str = "snmpd_reads_the_instance_and_forwards_its_traps";
    let Some(mut lab) = lab_or_skip(TEST, 2) else {
        return;
    };
    if !vipd::lab::testing::proceed_or_skip(TEST, missing_snmp()) {
        return;
    }
    let (_trapd, traps) = start_trap_sink(&mut lab);
    let a_config = vipd_config_with(&lab, 1, Flavour::V2Ipv4, 100, "1111", &snmp_block(&lab));
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);

    // No snmpd yet: one warning, and A becomes master all the same.
    wait_for(DEADLINE, || {
        a.log_text()
            .contains("vipd runs on and tries again every 1 to 10 s")
    })
    .unwrap_or_else(|| panic!("no warning about the missing snmpd:\n{}", a.log_text()));
    expect_only(
        &lab,
        Flavour::V2Ipv4.vip(),
        1,
        "A master without snmpd",
        &[&a],
    );

    let snmpd = start_snmpd(&mut lab, "1");
    let mut walked = String::new();
    wait_for(SNMP_DEADLINE, || {
        walked = walk(&lab, ".1.3.6.1.4.1.9586.100.5.2.3.1");
        value_of(&walked, KEEPALIVED_STATE).as_deref() == Some("INTEGER: 2")
    })
    .unwrap_or_else(|| {
        panic!(
            "snmpwalk never read A as master (2):\n{walked}\nvipd:\n{}\nsnmpd:\n{}",
            a.log_text(),
            snmpd.log_text()
        )
    });
    assert_eq!(
        value_of(&walked, KEEPALIVED_NAME).as_deref(),
        Some("STRING: \"VI_1\"")
    );
    assert_eq!(
        value_of(&walked, KEEPALIVED_VRID).as_deref(),
        Some("Gauge32: 51")
    );
    assert_eq!(
        value_of(&walked, KEEPALIVED_BASE_PRIORITY).as_deref(),
        Some("INTEGER: 100")
    );
    // vrrpInstanceInitialState: A's configured state MASTER, priority 100.
    assert_eq!(
        value_of(&walked, KEEPALIVED_INITIAL_STATE).as_deref(),
        Some("INTEGER: 2"),
        "{walked}"
    );
    let globals = walk(&lab, ".1.3.6.1.4.1.9586.100.5.1");
    assert_eq!(
        value_of(&globals, ".1.3.6.1.4.1.9586.100.5.1.2.0").as_deref(),
        Some("STRING: \"lab-a\""),
        "routerId:\n{globals}"
    );
    let oper = walk(&lab, RFC2787_OPER_STATE);
    assert!(
        oper.lines().any(|l| l.ends_with(".51 = INTEGER: 3")),
        "RFC 2787 vrrpOperState is not master(3):\n{oper}"
    );
    // vrrpOperVirtualRouterUpTime: when A left Initialize, which stays
    // put however long A runs (compared at the end).
    let first_up_time = up_time(&lab);
    assert!(first_up_time.is_some(), "no vrrpOperVirtualRouterUpTime");

    // B, higher, takes over: A reads as backup, and traps came for the
    // change (A became master before snmpd ran: that one had no session).
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 150, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_only(&lab, Flavour::V2Ipv4.vip(), 2, "B master", &[&a, &b]);
    wait_for(SNMP_DEADLINE, || {
        walked = walk(&lab, KEEPALIVED_STATE);
        value_of(&walked, KEEPALIVED_STATE).as_deref() == Some("INTEGER: 1")
    })
    .unwrap_or_else(|| panic!("A never read as backup (1):\n{walked}\n{}", a.log_text()));
    let trap_log = || std::fs::read_to_string(&traps).unwrap_or_default();
    wait_for(SNMP_DEADLINE, || {
        trap_log().lines().any(|l| {
            l.contains(STATE_CHANGE_TRAP)
                && l.contains("\"VI_1\"")
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 1")
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 2")
                && l.contains("\"lab-a\"")
        })
    })
    .unwrap_or_else(|| panic!("no vrrpInstanceStateChange to backup:\n{}", trap_log()));

    // B stops: A is master again, and says so by both traps.
    stop(&mut lab, &b, Signal::SIGTERM).expect("B stops");
    expect_only(&lab, Flavour::V2Ipv4.vip(), 1, "A master again", &[&a]);
    wait_for(SNMP_DEADLINE, || {
        let log = trap_log();
        log.lines().any(|l| {
            l.contains(STATE_CHANGE_TRAP)
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 2")
        }) && log.lines().any(|l| {
            l.contains(RFC2787_NEW_MASTER)
                && l.contains(&format!(".51 = IpAddress: {}", lab.host(1).ipv4))
        })
    })
    .unwrap_or_else(|| panic!("no traps for A becoming master again:\n{}", trap_log()));

    // snmpd goes and comes back: vipd registers again and answers.
    stop(&mut lab, &snmpd, Signal::SIGTERM).expect("snmpd stops");
    let _snmpd = start_snmpd(&mut lab, "2");
    wait_for(SNMP_DEADLINE, || {
        value_of(&walk(&lab, KEEPALIVED_STATE), KEEPALIVED_STATE).as_deref() == Some("INTEGER: 2")
    })
    .unwrap_or_else(|| panic!("vipd did not register again:\n{}", a.log_text()));
    let registered = a.log_text().matches("snmp: registered with").count();
    assert!(
        registered >= 2,
        "registered {registered} times:\n{}",
        a.log_text()
    );

    assert_eq!(up_time(&lab), first_up_time, "the up time moved");

    // vipd status shows the session.
    let status = vipd_status(&lab, 1, false);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("snmp (AgentX)     registered"),
        "vipd status:\n{text}"
    );
    assert!(
        lab.wait_exit(a.pid, Duration::ZERO).is_none(),
        "A exited:\n{}",
        a.log_text()
    );

    // A stops: its trap says shutdown(5), as keepalived's does, and the
    // session ends with a Close rather than an EOF.
    stop(&mut lab, &a, Signal::SIGTERM).expect("A stops");
    wait_for(SNMP_DEADLINE, || {
        trap_log().lines().any(|l| {
            l.contains(STATE_CHANGE_TRAP)
                && l.contains("\"VI_1\"")
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: 5")
        })
    })
    .unwrap_or_else(|| panic!("no shutdown(5) trap:\n{}\n{}", trap_log(), a.log_text()));
    assert!(
        a.log_text().contains("snmp: closed the session"),
        "{}",
        a.log_text()
    );
}

/// RFC 6527 for a VRRPv3 instance, snmpd first this time: the operations
/// row reads master(3) with its priority and the master's address, and
/// vrrpv3NewMaster reaches the sink with the reason (masterNoResponse, 3:
/// the down timer fired).
#[test]
fn vrrpv3_mib_reads_the_instance_and_sends_new_master() {
    const TEST: &str = "vrrpv3_mib_reads_the_instance_and_sends_new_master";
    let Some(mut lab) = lab_or_skip(TEST, 1) else {
        return;
    };
    if !vipd::lab::testing::proceed_or_skip(TEST, missing_snmp()) {
        return;
    }
    let (_trapd, traps) = start_trap_sink(&mut lab);
    let snmpd = start_snmpd(&mut lab, "1");
    // Registered before the instance's first transition, so its trap has
    // a session to go out on.
    wait_for(SNMP_DEADLINE, || agentx_socket(&lab).exists())
        .unwrap_or_else(|| panic!("snmpd made no AgentX socket:\n{}", snmpd.log_text()));
    let block = format!(
        "snmp:\n  socket: \"unix:{}\"\n  rfcv3: true\n  traps: true\n",
        agentx_socket(&lab).display()
    );
    let config = vipd_config_with(&lab, 1, Flavour::V3Ipv4, 100, "", &block);
    let a = start_vipd(&mut lab, 1, &config, "1", &[]);
    expect_only(&lab, Flavour::V3Ipv4.vip(), 1, "A master", &[&a]);
    let operations = ".1.3.6.1.2.1.207.1.1.1.1";
    let mut walked = String::new();
    wait_for(SNMP_DEADLINE, || {
        walked = walk(&lab, operations);
        walked.lines().any(|l| {
            l.starts_with(&format!("{operations}.6.")) && l.ends_with(".51.1 = INTEGER: 3")
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "vrrpv3OperationsStatus never read master(3):\n{walked}\nvipd:\n{}\nsnmpd:\n{}",
            a.log_text(),
            snmpd.log_text()
        )
    });
    assert!(
        walked
            .lines()
            .any(|l| l.starts_with(&format!("{operations}.7."))
                && l.ends_with(".51.1 = Gauge32: 100")),
        "priority:\n{walked}"
    );
    // The master's address, 4 octets (192.0.2.201 = C0 00 02 C9).
    assert!(
        walked
            .lines()
            .any(|l| l.starts_with(&format!("{operations}.3.")) && l.contains("C0 00 02 C9")),
        "master address:\n{walked}"
    );
    // The router's global counters are scalars, at .0.
    let globals = walk(&lab, ".1.3.6.1.2.1.207.1.2");
    for n in 1..=3 {
        assert!(
            globals
                .lines()
                .any(|l| l.starts_with(&format!(".1.3.6.1.2.1.207.1.2.{n}.0 = Counter64: "))),
            "vrrpv3 global counter {n}:\n{globals}"
        );
    }
    // keepalived's MIB is not registered: snmpd has nothing there.
    assert!(
        !walk(&lab, ".1.3.6.1.4.1.9586.100.5.2").contains(".1.3.6.1.4.1.9586.100.5.2.3"),
        "KEEPALIVED-MIB served without vrrp: true"
    );
    let trap_log = || std::fs::read_to_string(&traps).unwrap_or_default();
    wait_for(SNMP_DEADLINE, || {
        trap_log().lines().any(|l| {
            l.contains("OID: .1.3.6.1.2.1.207.0.1")
                && l.contains(".1.3.6.1.2.1.207.1.2.5.1.2.")
                && l.contains(".51.1 = INTEGER: 3")
        })
    })
    .unwrap_or_else(|| panic!("no vrrpv3NewMaster with reason 3:\n{}", trap_log()));
}

/// Which daemon serves the file in `keepalived_and_vipd_serve_the_same`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    Keepalived,
    Vipd,
}

/// One keepalived.conf for both daemons: a sync group of two v2
/// instances, with notify scripts, garp_master_delay, notify_deleted and
/// track_interface, and KEEPALIVED-MIB, RFC 2787 and traps on.
fn sync_group_conf(lab: &Lab) -> PathBuf {
    let own = lab.host(1).ipv4;
    let instance = |name: &str, vrid: u8, vip: &str, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n    state MASTER\n    interface eth0\n    virtual_router_id {vrid}\n    priority 100\n    advert_int 1\n    mcast_src_ip {own}\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        {vip}\n    }}\n{extra}}}\n"
        )
    };
    let text = format!(
        "global_defs {{\n    router_id lab-a\n    script_user root\n    enable_snmp_vrrp\n    enable_snmp_rfcv2\n    enable_traps\n    snmp_socket unix:{}\n}}\n\
         vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    notify_master \"/usr/bin/true group\"\n}}\n{}{}",
        agentx_socket(lab).display(),
        instance(
            "VI_1",
            51,
            "192.0.2.203",
            "    garp_master_delay 3\n    notify_master \"/usr/bin/true master\"\n    notify_deleted\n",
        ),
        instance(
            "VI_2",
            52,
            "192.0.2.204",
            "    track_interface {\n        eth0\n    }\n"
        ),
    );
    let path = lab.dir.join("sync-group.conf");
    std::fs::write(&path, text).unwrap();
    path
}

/// keepalived 2.2.7 (Debian's, built with SNMP) on host 1, with the
/// net-snmp environment of the lab (its AgentX client reads and writes
/// persistent files too).
fn start_keepalived_snmp(lab: &mut Lab, config: &Path) -> Daemon {
    let log = lab.dir.join("keepalived-snmp.log");
    let [mibs, persist] = net_snmp_env(lab);
    let args = [
        mibs,
        persist,
        "keepalived".to_string(),
        "-n".to_string(),
        "-l".to_string(),
        "-D".to_string(),
        "-G".to_string(),
        "--vrrp".to_string(),
        "-f".to_string(),
        config.display().to_string(),
        "-p".to_string(),
        lab.dir.join("keepalived-snmp.pid").display().to_string(),
        "-r".to_string(),
        lab.dir
            .join("keepalived-snmp.vrrp.pid")
            .display()
            .to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let pid = lab
        .spawn(1, Path::new("/usr/bin/env"), &args, &log)
        .expect("start keepalived");
    Daemon { pid, log }
}

/// VRID 51's adverts from host 2 that host 1 must refuse, and count
/// apart: one with another password (vrrpStatsAuthFailures), two without
/// authentication (vrrpStatsAuthTypeMismatch), three of type 7, which no
/// one defines (vrrpStatsInvalidAuthType).
fn send_bad_authentication(lab: &Lab) {
    use vipd::proto::{AddressList, Advert, Auth, AuthKey, Centiseconds, Endpoints, Version, Vrid};
    let source = support::raw::v4(lab.host(2).ipv4);
    let packet = |auth: Auth| {
        let advert = Advert {
            version: Version::V2,
            vrid: Vrid::new(51).unwrap(),
            priority: 50,
            interval: Centiseconds::from_secs(1),
            auth,
            addresses: AddressList::V4(vec!["192.0.2.203".parse().unwrap()]),
        };
        let mut payload = Vec::new();
        advert
            .encode_into(
                &Endpoints::new(source.into(), support::raw::GROUP.into()),
                &mut payload,
            )
            .unwrap();
        support::raw::ip_packet(source, 255, &payload)
    };
    let mut packets = vec![packet(Auth::Pass(AuthKey::from_password("2222")))];
    packets.extend(std::iter::repeat_n(packet(Auth::None), 2));
    packets.extend(std::iter::repeat_n(
        packet(Auth::Other {
            kind: 7,
            data: [0; 8],
        }),
        3,
    ));
    support::raw::in_host(lab, 2, move || {
        let socket = support::raw::sender();
        for p in &packets {
            support::raw::send(&socket, p);
        }
    });
}

/// What one daemon served of the file: KEEPALIVED-MIB's sync group and
/// instance tables, OID to value.
fn serve_sync_group(
    lab: &mut Lab,
    server: Server,
    config: &Path,
    traps: &Path,
) -> std::collections::BTreeMap<String, String> {
    let traps_before = std::fs::read_to_string(traps).unwrap_or_default().len();
    let daemon = match server {
        Server::Keepalived => start_keepalived_snmp(lab, config),
        Server::Vipd => {
            // Its own control socket, in the lab: the file has none.
            let layer = lab.dir.join("lab-h1.yaml");
            std::fs::write(&layer, control_socket_line(lab, 1)).unwrap();
            let layer = layer.display().to_string();
            start_vipd(lab, 1, config, "sync", &["--config", &layer])
        }
    };
    let groups = ".1.3.6.1.4.1.9586.100.5.2.1";
    let mut walked = String::new();
    // The group master: vrrpSyncGroupState master(2).
    wait_for(SNMP_DEADLINE, || {
        walked = walk(lab, groups);
        value_of(&walked, &format!("{groups}.1.3.1")).as_deref() == Some("INTEGER: 2")
    })
    .unwrap_or_else(|| {
        panic!(
            "{server:?}: vrrpSyncGroupState never read master (2):\n{walked}\n{}",
            daemon.log_text()
        )
    });
    // Its trap, through snmpd to the sink: name, state, routerId.
    let new_traps = || {
        std::fs::read_to_string(traps)
            .unwrap_or_default()
            .get(traps_before..)
            .unwrap_or_default()
            .to_string()
    };
    wait_for(SNMP_DEADLINE, || {
        new_traps().lines().any(|l| {
            l.contains(".1.3.6.1.4.1.9586.100.5.2.10.0.1")
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.1.1.2 = STRING: \"G1\"")
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.1.1.3 = INTEGER: 2")
                && l.contains("\"lab-a\"")
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "{server:?}: no vrrpSyncGroupStateChange to master:\n{}",
            new_traps()
        )
    });

    // Bad authentication from host 2, counted per column of RFC 2787's
    // vrrpRouterStatsTable (index ifIndex.51).
    send_bad_authentication(lab);
    let stats = ".1.3.6.1.2.1.68.2.4.1";
    let column = |walked: &str, c: u32| {
        walked
            .lines()
            .find(|l| l.starts_with(&format!("{stats}.{c}.")) && l.contains(".51 = "))
            .and_then(|l| l.split_once(" = "))
            .map(|(_, v)| v.to_string())
    };
    wait_for(SNMP_DEADLINE, || {
        walked = walk(lab, stats);
        [4, 10, 11].map(|c| column(&walked, c))
            == [
                Some("Counter32: 1".to_string()),
                Some("Counter32: 3".to_string()),
                Some("Counter32: 2".to_string()),
            ]
    })
    .unwrap_or_else(|| {
        panic!(
            "{server:?}: auth failures 1, invalid type 3, type mismatch 2 never read:\n{walked}\n{}",
            daemon.log_text()
        )
    });

    let mut served = std::collections::BTreeMap::new();
    for subtree in [
        groups,
        ".1.3.6.1.4.1.9586.100.5.2.2",
        ".1.3.6.1.4.1.9586.100.5.2.3",
    ] {
        for line in walk(lab, subtree).lines() {
            if let Some((oid, value)) = line.split_once(" = ") {
                served.insert(oid.to_string(), value.to_string());
            }
        }
    }
    if server == Server::Vipd {
        // A reload that changes VI_1's notify_master keeps the instance
        // running, and its row shows the new script.
        let text = std::fs::read_to_string(config).unwrap();
        std::fs::write(
            config,
            text.replace("/usr/bin/true master", "/usr/bin/true reloaded"),
        )
        .unwrap();
        let out = reload(lab, 1);
        assert!(out.status.success(), "vipd reload: {out:?}");
        let script = ".1.3.6.1.4.1.9586.100.5.2.3.1.22.1";
        wait_for(SNMP_DEADLINE, || {
            value_of(&walk(lab, script), script).as_deref()
                == Some("STRING: \"'/usr/bin/true' 'reloaded'\"")
        })
        .unwrap_or_else(|| {
            panic!(
                "the reloaded notify_master is not served:\n{}\n{}",
                walk(lab, script),
                daemon.log_text()
            )
        });
    }
    // Stopping, the group's trap says shutdown(5) (keepalived's
    // notify_shutdown), after its instances'.
    stop(lab, &daemon, Signal::SIGTERM).expect("the daemon stops");
    wait_for(SNMP_DEADLINE, || {
        new_traps().lines().any(|l| {
            l.contains(".1.3.6.1.4.1.9586.100.5.2.10.0.1")
                && l.contains("\"G1\"")
                && l.contains(".1.3.6.1.4.1.9586.100.5.2.1.1.3 = INTEGER: 5")
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "{server:?}: no vrrpSyncGroupStateChange shutdown (5):\n{}\n{}",
            new_traps(),
            daemon.log_text()
        )
    });
    served
}

/// keepalived 2.2.7 and vipd run the same keepalived.conf in turn, as
/// AgentX subagents of the lab's snmpd: both send vrrpSyncGroupStateChange
/// when the group becomes master and when they stop, count bad authentication from another
/// host in the same RFC 2787 columns, and serve the same sync group,
/// member and instance rows, but for the columns said below.
#[test]
fn keepalived_and_vipd_serve_the_same_sync_group_and_auth_counters() {
    const TEST: &str = "keepalived_and_vipd_serve_the_same_sync_group_and_auth_counters";
    let Some(mut lab) = lab_with_keepalived_or_skip(TEST, 2) else {
        return;
    };
    if !vipd::lab::testing::proceed_or_skip(TEST, missing_snmp()) {
        return;
    }
    let (_trapd, traps) = start_trap_sink(&mut lab);
    let snmpd = start_snmpd(&mut lab, "1");
    wait_for(SNMP_DEADLINE, || agentx_socket(&lab).exists())
        .unwrap_or_else(|| panic!("snmpd made no AgentX socket:\n{}", snmpd.log_text()));
    let config = sync_group_conf(&lab);
    let keepalived = serve_sync_group(&mut lab, Server::Keepalived, &config, &traps);
    let vipd = serve_sync_group(&mut lab, Server::Vipd, &config, &traps);

    let instance = ".1.3.6.1.4.1.9586.100.5.2.3.1";
    // vipd's own columns, asserted here, then left out of the comparison:
    // vrrpInstanceWantedState (6), which vipd does not keep, and 2.4.3's
    // vrrpInstanceV3ChecksumAsV2 (36), which 2.2.7 does not serve.
    let column_of = |oid: &str| {
        oid.strip_prefix(&format!("{instance}."))
            .and_then(|rest| rest.split('.').next())
            .and_then(|c| c.parse::<u32>().ok())
    };
    for index in [1, 2] {
        assert_eq!(
            vipd.get(&format!("{instance}.36.{index}"))
                .map(String::as_str),
            Some("INTEGER: 2"),
            "{vipd:#?}"
        );
    }
    let compared = |served: &std::collections::BTreeMap<String, String>| {
        served
            .iter()
            .filter(|(oid, _)| !matches!(column_of(oid), Some(6 | 36)))
            .map(|(o, v)| (o.clone(), v.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (keepalived, vipd) = (compared(&keepalived), compared(&vipd));
    // Both walks read: 61 objects for this file (keepalived 2.2.7).
    assert!(keepalived.len() >= 50, "keepalived served {keepalived:#?}");
    let differences: Vec<String> = keepalived
        .keys()
        .chain(vipd.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|oid| keepalived.get(*oid) != vipd.get(*oid))
        .map(|oid| {
            format!(
                "{oid}: keepalived {:?}, vipd {:?}",
                keepalived.get(oid),
                vipd.get(oid)
            )
        })
        .collect();
    // The rows asked for are there at all.
    for oid in [
        ".1.3.6.1.4.1.9586.100.5.2.1.1.2.1",
        ".1.3.6.1.4.1.9586.100.5.2.2.1.2.1.2",
        &format!("{instance}.18.1"),
        &format!("{instance}.22.1"),
        &format!("{instance}.35.2"),
    ] {
        assert!(
            vipd.contains_key(oid),
            "vipd does not serve {oid}:\n{vipd:#?}"
        );
    }
    assert!(
        differences.is_empty(),
        "keepalived and vipd differ:\n{}",
        differences.join("\n")
    );
}

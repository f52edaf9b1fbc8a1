//! keepalived's advert and notification keywords, run by vipd and by
//! keepalived 2.2.7 on the same keepalived.conf in the same lab, with the
//! same outcome:
//!
//! - a master answers a lower-priority master's advert at once, unless
//!   `lower_prio_no_advert`; it yields to a higher priority in silence,
//!   or with one advert of its own with `higher_prio_send_advert`;
//! - hearing the lower priority runs `notify_master_rx_lower_pri` and
//!   writes `MASTER_RX_LOWER_PRI` to the notify FIFO; with
//!   `notify_priority_changes`, a priority change writes
//!   `MASTER_PRIORITY`;
//! - `down_timer_adverts 10`: a backup waits ten adverts, not three,
//!   before it takes over from a master that died;
//! - an instance with no address (VRRPv2, keepalived's "at least one is
//!   sensible") interoperates: each side counts the other's empty adverts.
//!
//! - strict mode (`vrrp_strict`): adverts without the authentication the
//!   file asks for, no accept, no answer to a lower priority, and an
//!   advert with authentication dropped (counted as strict_auth by vipd,
//!   logged by keepalived);
//! - `vrrp_mcast_group4`: adverts go to that group, and an advert to the
//!   RFC's group does not count for the instance;
//! - `vrrp_garp_interval` / `vrrp_gna_interval`: gratuitous ARPs /
//!   unsolicited NAs on an interface at least that far apart, a burst
//!   collapsed to one now and one per waiting address; a `garp_group`'s
//!   spacing over the global one; `vrrp_min_garp`'s one announcement;
//! - `garp_extra_if 2 all`: an address on another interface refreshed
//!   every 2 s while master.
//!
//! The other router is host 2, forging adverts with raw sockets
//! (support/raw.rs), or a daemon.

mod support;

use std::fs;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use socket2::{Domain, Protocol, Socket, Type};
use support::raw::{self, GROUP};
use support::*;
use vipd::lab::{wait_for, Lab};

/// The same scenario as two tests: vipd's, and keepalived's on the same
/// file (what vipd must match).
macro_rules! both_daemons {
    ($scenario:ident: $vipd:ident, $keepalived:ident) => {
        #[test]
        fn $vipd() {
            $scenario(stringify!($vipd), Kind::Vipd);
        }

        #[test]
        fn $keepalived() {
            $scenario(stringify!($keepalived), Kind::Keepalived);
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Vipd,
    Keepalived,
}

fn lab_for(test: &str, kind: Kind, hosts: usize) -> Option<Lab> {
    match kind {
        Kind::Vipd => lab_or_skip(test, hosts),
        Kind::Keepalived => lab_with_keepalived_or_skip(test, hosts),
    }
}

/// `conf` (a keepalived.conf) run on `host` by `kind`; vipd gets a YAML
/// layer for its own control socket.
fn start(lab: &mut Lab, host: usize, kind: Kind, conf: &Path, tag: &str) -> Daemon {
    match kind {
        Kind::Keepalived => start_keepalived(lab, host, conf, tag),
        Kind::Vipd => {
            let layer = lab.dir.join(format!("layer-h{host}-{tag}.yaml"));
            fs::write(&layer, control_socket_line(lab, host)).unwrap();
            let layer = layer.to_string_lossy().to_string();
            start_vipd(lab, host, conf, tag, &["--config", &layer])
        }
    }
}

/// The notify FIFO, held open for reading before the daemon writes.
struct Fifo {
    path: PathBuf,
    reader: fs::File,
    text: String,
}

impl Fifo {
    fn new(lab: &Lab) -> Fifo {
        let path = lab.dir.join("notify.fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let fd: OwnedFd = nix::fcntl::open(
            &path,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        Fifo {
            path,
            reader: fs::File::from(fd),
            text: String::new(),
        }
    }

    /// Every line written so far.
    fn lines(&mut self) -> Vec<String> {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = self.reader.read(&mut buffer) {
            self.text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
        self.text.lines().map(str::to_string).collect()
    }

    /// The lines about `instance`, in order.
    fn of(&mut self, instance: &str) -> Vec<String> {
        let quoted = format!("\"{instance}\"");
        self.lines()
            .into_iter()
            .filter(|l| l.contains(&quoted))
            .collect()
    }
}

/// An executable script in the lab's directory.
fn script(lab: &Lab, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = lab.dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// The VRRPv3 advert host 2 forges for `vrid` (its one address `vip`),
/// as an IP packet from host 2's address.
fn forged(lab: &Lab, vrid: u8, vip: Ipv4Addr, priority: u8, interval_cs: u32) -> Vec<u8> {
    use vipd::proto::{AddressList, Advert, Auth, Centiseconds, Endpoints, Version, Vrid};
    let source = raw::v4(lab.host(2).ipv4);
    let advert = Advert {
        version: Version::V3,
        vrid: Vrid::new(vrid).unwrap(),
        priority,
        interval: Centiseconds::new(interval_cs),
        auth: Auth::None,
        addresses: AddressList::V4(vec![vip]),
    };
    let mut payload = Vec::new();
    advert
        .encode_into(&Endpoints::new(source.into(), GROUP.into()), &mut payload)
        .unwrap();
    raw::ip_packet(source, 255, &payload)
}

/// What host 1 sent after host 2's forged advert, within the window.
struct Heard {
    /// Priorities of its adverts for the VRID.
    adverts: Vec<u8>,
    /// Gratuitous ARPs for the VIP.
    garps: usize,
}

/// On host 2: waits for one of host 1's adverts for `vrid` (so that its
/// next one is a whole interval away), sends `packet` at once, and
/// returns what host 1 sends within `window` after it: answers, when
/// `window` is shorter than the interval, and its gratuitous ARPs for `vip`.
fn answers(lab: &Lab, vrid: u8, vip: Ipv4Addr, packet: Vec<u8>, window: Duration) -> Heard {
    let (own, from) = (raw::v4(lab.host(2).ipv4), raw::v4(lab.host(1).ipv4));
    raw::in_host(lab, 2, move || {
        let listener = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        listener.join_multicast_v4(&GROUP, &own).unwrap();
        listener
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        // Every ARP frame on eth0.
        let arp = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from((libc::ETH_P_ARP as u16).to_be()))),
        )
        .unwrap();
        arp.bind_device(Some(b"eth0")).unwrap();
        arp.set_nonblocking(true).unwrap();
        let sender = raw::sender();
        // (vrid, priority) of host 1's next advert, before `deadline`.
        let next = |deadline: Instant| -> Option<(u8, u8)> {
            let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
            while Instant::now() < deadline {
                let Ok(n) = listener.recv(&mut buffer) else {
                    continue;
                };
                // SAFETY: recv initialised the first n bytes.
                let p: Vec<u8> = buffer[..n]
                    .iter()
                    .map(|b| unsafe { b.assume_init() })
                    .collect();
                let header = usize::from(p[0] & 0x0f) * 4;
                if p.len() >= header + 3 && Ipv4Addr::new(p[12], p[13], p[14], p[15]) == from {
                    return Some((p[header + 1], p[header + 2]));
                }
            }
            None
        };
        let synced = Instant::now() + DEADLINE;
        loop {
            match next(synced) {
                Some((v, _)) if v == vrid => break,
                Some(_) => continue,
                None => panic!("host 1 sent no advert for VRID {vrid}"),
            }
        }
        // What came before the forged advert does not count.
        let mut frame = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while arp.recv(&mut frame).is_ok() {}
        raw::send(&sender, &packet);
        let until = Instant::now() + window;
        let mut adverts = Vec::new();
        while let Some((v, priority)) = next(until) {
            if v == vrid {
                adverts.push(priority);
            }
        }
        let mut garps = 0;
        while let Ok(n) = arp.recv(&mut frame) {
            // SAFETY: recv initialised the first n bytes.
            let f: Vec<u8> = frame[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            // Ethernet, then ARP: sender IP at 28, target IP at 38.
            if f.len() >= 42 && f[28..32] == vip.octets() && f[38..42] == vip.octets() {
                garps += 1;
            }
        }
        Heard { adverts, garps }
    })
}

const ANSWER_VIPS: [(u8, Ipv4Addr); 4] = [
    (51, Ipv4Addr::new(192, 0, 2, 151)),
    (52, Ipv4Addr::new(192, 0, 2, 152)),
    (53, Ipv4Addr::new(192, 0, 2, 153)),
    (54, Ipv4Addr::new(192, 0, 2, 154)),
];

/// Four instances on host 1 at priority 200, adverts every 2 s: VI_51 as
/// the RFC says, with the rx-lower script, a tracked file and priority
/// notifications; VI_52 with lower_prio_no_advert; VI_53 with
/// higher_prio_send_advert; VI_54 as the RFC says.
fn answer_conf(lab: &Lab, fifo: &Path, track: &Path, rx_lower: &Path) -> PathBuf {
    let h1 = lab.host(1).ipv4;
    let extra = |vrid: u8| {
        match vrid {
        51 => format!(
            "    track_file {{\n        tf\n    }}\n    notify_priority_changes\n    notify_master_rx_lower_pri {}\n",
            rx_lower.display()
        ),
        52 => "    lower_prio_no_advert\n    garp_lower_prio_repeat 0\n".to_string(),
        53 => "    higher_prio_send_advert\n".to_string(),
        _ => String::new(),
    }
    };
    let mut text = format!(
        "global_defs {{\n    router_id h1\n    script_user root\n    enable_script_security\n    notify_fifo {}\n}}\n\
         vrrp_track_file tf {{\n    file {}\n    weight 1\n}}\n",
        fifo.display(),
        track.display()
    );
    for (vrid, vip) in ANSWER_VIPS {
        text.push_str(&format!(
            "vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority 200\n    version 3\n    advert_int 2\n    garp_master_delay 0\n    mcast_src_ip {h1}\n    virtual_ipaddress {{\n        {vip}\n    }}\n{}}}\n",
            extra(vrid)
        ));
    }
    let path = lab.dir.join("answers.conf");
    fs::write(&path, text).unwrap();
    path
}

fn a_master_answers_other_masters(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let mut fifo = Fifo::new(&lab);
    let track = lab.dir.join("track");
    fs::write(&track, "0\n").unwrap();
    let rx_record = lab.dir.join("rx-lower.txt");
    let rx_lower = script(
        &lab,
        "rx-lower.sh",
        &format!("echo rx_lower >> {}", rx_record.display()),
    );
    let conf = answer_conf(&lab, &fifo.path, &track, &rx_lower);
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    for (vrid, vip) in ANSWER_VIPS {
        expect_only(
            &lab,
            IpAddr::V4(vip),
            1,
            &format!("VI_{vrid} master"),
            &[&daemon],
        );
    }
    let window = Duration::from_millis(1000);
    let lower = |vrid, vip| forged(&lab, vrid, vip, 100, 200);
    let higher = |vrid, vip| forged(&lab, vrid, vip, 250, 200);
    let [(v51, a51), (v52, a52), (v53, a53), (v54, a54)] = ANSWER_VIPS;

    let log = || daemon.log_text();
    let heard = answers(&lab, v51, a51, lower(v51, a51), window);
    assert_eq!(
        heard.adverts,
        vec![200],
        "VI_51 answers a lower priority at once:\n{}",
        log()
    );
    assert_eq!(
        heard.garps,
        5,
        "VI_51 announces again (garp_lower_prio_repeat 5):\n{}",
        log()
    );
    let heard = answers(&lab, v52, a52, lower(v52, a52), window);
    assert_eq!(
        heard.adverts,
        Vec::<u8>::new(),
        "VI_52 (lower_prio_no_advert) does not:\n{}",
        log()
    );
    assert_eq!(
        heard.garps,
        0,
        "VI_52 (garp_lower_prio_repeat 0) announces nothing:\n{}",
        log()
    );
    let heard = answers(&lab, v53, a53, higher(v53, a53), window);
    assert_eq!(
        heard.adverts,
        vec![200],
        "VI_53 (higher_prio_send_advert) sends one before it yields:\n{}",
        log()
    );
    let heard = answers(&lab, v54, a54, higher(v54, a54), window);
    assert_eq!(
        heard.adverts,
        Vec::<u8>::new(),
        "VI_54 yields in silence:\n{}",
        log()
    );
    for vip in [a53, a54] {
        wait_for(DEADLINE, || !lab.has_address(1, IpAddr::V4(vip)))
            .unwrap_or_else(|| panic!("{vip} still on host 1:\n{}", daemon.log_text()));
    }

    // notify_master_rx_lower_pri ran, and both masters that heard a lower
    // priority said so on the FIFO.
    wait_for(DEADLINE, || read(&rx_record).contains("rx_lower"))
        .unwrap_or_else(|| panic!("no rx-lower script run:\n{}", daemon.log_text()));
    for instance in ["VI_51", "VI_52"] {
        wait_for(DEADLINE, || fifo.of(instance).len() >= 3)
            .unwrap_or_else(|| panic!("{instance}: {:?}\n{}", fifo.lines(), daemon.log_text()));
        assert_eq!(
            fifo.of(instance)[..3],
            [
                format!("INSTANCE \"{instance}\" BACKUP 200"),
                format!("INSTANCE \"{instance}\" MASTER 200"),
                format!("INSTANCE \"{instance}\" MASTER_RX_LOWER_PRI 200"),
            ]
        );
    }
    for instance in ["VI_53", "VI_54"] {
        wait_for(DEADLINE, || fifo.of(instance).len() >= 3)
            .unwrap_or_else(|| panic!("{instance}: {:?}\n{}", fifo.lines(), daemon.log_text()));
        assert_eq!(
            fifo.of(instance)[..3],
            [
                format!("INSTANCE \"{instance}\" BACKUP 200"),
                format!("INSTANCE \"{instance}\" MASTER 200"),
                format!("INSTANCE \"{instance}\" BACKUP 200"),
            ]
        );
    }

    // notify_priority_changes: the tracked file moves VI_51's priority.
    fs::write(&track, "5\n").unwrap();
    let changed = "INSTANCE \"VI_51\" MASTER_PRIORITY 205".to_string();
    wait_for(DEADLINE, || fifo.of("VI_51").contains(&changed))
        .unwrap_or_else(|| panic!("{:?}\n{}", fifo.lines(), daemon.log_text()));
    assert_eq!(fifo.of("VI_51").len(), 4, "{:?}", fifo.lines());
    // Only VI_51 asked for priority changes; none of the others tracks.
    assert!(
        !fifo
            .lines()
            .iter()
            .any(|l| l.contains("_PRIORITY") && !l.contains("VI_51")),
        "{:?}",
        fifo.lines()
    );
    stop(&mut lab, &daemon, Signal::SIGTERM).expect("stops");
}

both_daemons!(
    a_master_answers_other_masters:
    vipd_answers_other_masters_as_keepalived_does,
    keepalived_answers_other_masters_as_the_vipd_test_expects
);

/// One VRRPv3 instance, VRID 61, adverts every second; `extra` inside it.
fn down_timer_conf(lab: &Lab, host: usize, priority: u8, extra: &str) -> PathBuf {
    let text = format!(
        "global_defs {{\n    router_id h{host}\n}}\n\
         vrrp_instance VI_61 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    priority {priority}\n    version 3\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        192.0.2.161\n    }}\n{extra}}}\n",
        lab.host(host).ipv4
    );
    let path = lab.dir.join(format!("down-timer-h{host}.conf"));
    fs::write(&path, text).unwrap();
    path
}

/// The master (vipd, host 2) is killed: the backup with
/// down_timer_adverts 10 waits ten advert intervals plus its skew (10.6
/// s from the last advert, at least 9.6 s from the kill), where the
/// RFC's three would take 3.6 s.
fn down_timer_adverts_delays_takeover(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let vip: IpAddr = "192.0.2.161".parse().unwrap();
    let master_conf = down_timer_conf(&lab, 2, 250, "");
    let master = start(&mut lab, 2, Kind::Vipd, &master_conf, "1");
    expect_only(&lab, vip, 2, "host 2 master", &[&master]);
    let backup_conf = down_timer_conf(&lab, 1, 100, "    down_timer_adverts 10\n");
    let backup = start(&mut lab, 1, kind, &backup_conf, "1");
    wait_for(DEADLINE, || {
        backup.log_text().contains("Entering BACKUP STATE")
    })
    .unwrap_or_else(|| panic!("backup:\n{}", backup.log_text()));
    let killed = Instant::now();
    lab.signal(master.pid, Signal::SIGKILL);
    // The killed master's address stays on host 2: watch host 1 only.
    took_over_no_sooner(
        &lab,
        vip,
        killed,
        Duration::from_millis(9_000),
        &format!(
            "{kind:?} after the master was killed: down_timer_adverts 10 waits at least 9.6 s"
        ),
        &backup,
    );
    stop(&mut lab, &backup, Signal::SIGTERM);
}

/// Waits until host 1 holds `vip`, then asserts it took at least
/// `at_least` since `since` (and prints how long, for the note).
fn took_over_no_sooner(
    lab: &Lab,
    vip: IpAddr,
    since: Instant,
    at_least: Duration,
    what: &str,
    daemon: &Daemon,
) {
    wait_for(Duration::from_secs(40), || lab.has_address(1, vip))
        .unwrap_or_else(|| panic!("never took over, {what}:\n{}", daemon.log_text()));
    let took = since.elapsed();
    println!("took over {took:?}, {what}");
    assert!(
        took >= at_least,
        "took over {took:?}, {what}\n{}",
        daemon.log_text()
    );
}

both_daemons!(
    down_timer_adverts_delays_takeover:
    vipd_waits_down_timer_adverts_before_taking_over,
    keepalived_waits_down_timer_adverts_before_taking_over
);

/// VRRPv2, VRID 71, no address: the notify script records each state.
fn no_vip_conf(lab: &Lab, host: usize, priority: u8, record: &Path, extra: &str) -> PathBuf {
    let notify = script(
        lab,
        &format!("notify-h{host}.sh"),
        &format!("echo \"$3\" >> {}", record.display()),
    );
    let text = format!(
        "global_defs {{\n    router_id h{host}\n    script_user root\n    enable_script_security\n}}\n\
         vrrp_instance VI_71 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 71\n    priority {priority}\n    advert_int 1\n    mcast_src_ip {}\n    notify {}\n{extra}}}\n",
        lab.host(host).ipv4,
        notify.display()
    );
    let path = lab.dir.join(format!("no-vip-h{host}.conf"));
    fs::write(&path, text).unwrap();
    path
}

fn last_state(record: &Path) -> String {
    read(record).lines().last().unwrap_or_default().to_string()
}

/// keepalived and vipd, each holding no address, on one LAN: vipd
/// (priority 150, nopreempt) defers to keepalived's empty adverts
/// (priority 100); once keepalived stops, vipd is master, and keepalived,
/// started again, stays backup to vipd's empty adverts.
#[test]
fn instances_with_no_address_interoperate_with_keepalived() {
    let test = "instances_with_no_address_interoperate_with_keepalived";
    let Some(mut lab) = lab_with_keepalived_or_skip(test, 2) else {
        return;
    };
    let (vipd_record, keepalived_record) = (
        lab.dir.join("vipd.states"),
        lab.dir.join("keepalived.states"),
    );
    let keepalived_conf = no_vip_conf(&lab, 2, 100, &keepalived_record, "");
    let vipd_conf = no_vip_conf(&lab, 1, 150, &vipd_record, "    nopreempt\n");
    let keepalived = start(&mut lab, 2, Kind::Keepalived, &keepalived_conf, "1");
    wait_for(DEADLINE, || last_state(&keepalived_record) == "MASTER")
        .unwrap_or_else(|| panic!("keepalived:\n{}", keepalived.log_text()));
    let vipd = start(&mut lab, 1, Kind::Vipd, &vipd_conf, "1");
    // vipd counts keepalived's empty adverts: it names it master.
    let keepalived_address = lab.host(2).ipv4.to_string();
    let sees_keepalived = || {
        let status = vipd_status(&lab, 1, true);
        let Ok(status) = serde_json::from_slice::<serde_json::Value>(&status.stdout) else {
            return false;
        };
        let instance = &status["instances"][0];
        instance["state"] == "BACKUP"
            && instance["master"]
                .as_str()
                .is_some_and(|m| m.contains(&keepalived_address))
    };
    wait_for(DEADLINE, sees_keepalived).unwrap_or_else(|| panic!("vipd:\n{}", vipd.log_text()));
    assert_eq!(read(&vipd_record).lines().collect::<Vec<_>>(), ["BACKUP"]);

    stop(&mut lab, &keepalived, Signal::SIGTERM).expect("keepalived stops");
    wait_for(DEADLINE, || last_state(&vipd_record) == "MASTER")
        .unwrap_or_else(|| panic!("vipd:\n{}", vipd.log_text()));

    // keepalived again, lower: it must hear vipd's empty adverts to stay
    // backup past its Master_Down_Interval (3.6 s); watched for twice that.
    fs::write(&keepalived_record, "").unwrap();
    let keepalived = start(&mut lab, 2, Kind::Keepalived, &keepalived_conf, "2");
    wait_for(DEADLINE, || last_state(&keepalived_record) == "BACKUP")
        .unwrap_or_else(|| panic!("keepalived:\n{}", keepalived.log_text()));
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_millis(7_500) {
        assert_eq!(
            last_state(&keepalived_record),
            "BACKUP",
            "{}",
            keepalived.log_text()
        );
        assert_eq!(last_state(&vipd_record), "MASTER", "{}", vipd.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = vipd_status(&lab, 1, true);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["instances"][0]["drops"],
        serde_json::json!({}),
        "vipd dropped none of keepalived's adverts"
    );
    stop(&mut lab, &keepalived, Signal::SIGTERM);
    stop(&mut lab, &vipd, Signal::SIGTERM);
}

/// Host 2 plays master of VRID 81 (192.0.2.181, priority 200, every
/// second) with raw adverts: first with the right address, then, from
/// the same address, with another. A backup with skip_check_adv_addr
/// goes on counting the known master's adverts and stays backup; without
/// it, it drops them and takes over after its Master_Down_Interval.
fn skip_check_adv_addr_trusts_a_known_master(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let vip: Ipv4Addr = "192.0.2.181".parse().unwrap();
    for skip in [true, false] {
        let extra = if skip {
            "    skip_check_adv_addr\n"
        } else {
            ""
        };
        let text = format!(
            "global_defs {{\n    router_id h1\n}}\n\
             vrrp_instance VI_81 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 81\n    priority 100\n    version 3\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {vip}\n    }}\n{extra}}}\n",
            lab.host(1).ipv4
        );
        let conf = lab.dir.join(format!("skip-{skip}.conf"));
        fs::write(&conf, text).unwrap();
        let right = forged(&lab, 81, vip, 200, 100);
        let other = forged(&lab, 81, "192.0.2.99".parse().unwrap(), 200, 100);
        // Adverts from the start, so the backup never times out before
        // it has heard the master; once told, two more with the right
        // address (the backup has heard the master), then the others.
        let (stop_sending, stopped) = std::sync::mpsc::channel::<()>();
        let (go, went) = std::sync::mpsc::channel::<()>();
        let (switched_tx, switched) = std::sync::mpsc::channel::<()>();
        let netns = fs::File::open(format!("/var/run/netns/{}", lab.host(2).netns)).unwrap();
        let sender = std::thread::spawn(move || {
            nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let socket = raw::sender();
            let mut right_left: Option<u32> = None;
            loop {
                match right_left {
                    Some(0) => raw::send(&socket, &other),
                    _ => raw::send(&socket, &right),
                }
                if right_left.is_none() && went.try_recv().is_ok() {
                    right_left = Some(2);
                }
                if let Some(n @ 1..) = right_left {
                    right_left = Some(n - 1);
                    if n == 1 {
                        let _ = switched_tx.send(());
                    }
                }
                if stopped.recv_timeout(Duration::from_secs(1)).is_ok() {
                    return;
                }
            }
        });
        let backup = start(&mut lab, 1, kind, &conf, &format!("skip-{skip}"));
        wait_for(DEADLINE, || {
            backup.log_text().contains("Entering BACKUP STATE")
        })
        .unwrap_or_else(|| panic!("backup:\n{}", backup.log_text()));
        go.send(()).unwrap();
        switched
            .recv_timeout(DEADLINE)
            .expect("the sender switched");
        // Master_Down_Interval is 3.6 s: watched for twice that.
        let watched = Instant::now();
        let mut took_over = false;
        while watched.elapsed() < Duration::from_millis(7_500) {
            if lab.has_address(1, IpAddr::V4(vip)) {
                took_over = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        stop_sending.send(()).unwrap();
        sender.join().unwrap();
        assert_eq!(
            took_over,
            !skip,
            "{kind:?}, skip_check_adv_addr {skip}: {}\n{}",
            if skip {
                "took over from a known master"
            } else {
                "kept deferring to adverts for other addresses"
            },
            backup.log_text()
        );
        stop(&mut lab, &backup, Signal::SIGTERM).expect("stops");
        wait_for(DEADLINE, || !lab.has_address(1, IpAddr::V4(vip))).expect("released");
    }
}

both_daemons!(
    skip_check_adv_addr_trusts_a_known_master:
    vipd_skips_checking_a_known_masters_addresses,
    keepalived_skips_checking_a_known_masters_addresses
);

/// vrrp_startup_delay 4: a backup alone on the LAN takes over no sooner
/// than 4 s plus its Master_Down_Interval (3.6 s) after the daemon starts,
/// where without it 3.6 s would do.
fn startup_delay_holds_the_first_takeover(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 1) else {
        return;
    };
    let vip: IpAddr = "192.0.2.191".parse().unwrap();
    let text = format!(
        "global_defs {{\n    router_id h1\n    vrrp_startup_delay 4\n}}\n\
         vrrp_instance VI_91 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 91\n    priority 100\n    version 3\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let conf = lab.dir.join("startup-delay.conf");
    fs::write(&conf, text).unwrap();
    let started = Instant::now();
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    took_over_no_sooner(
        &lab,
        vip,
        started,
        Duration::from_millis(7_000),
        &format!(
            "{kind:?} after start: the delay (4 s) plus Master_Down_Interval (3.6 s) is 7.6 s"
        ),
        &daemon,
    );
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

both_daemons!(
    startup_delay_holds_the_first_takeover:
    vipd_delays_its_first_takeover_by_startup_delay,
    keepalived_delays_its_first_takeover_by_startup_delay
);

/// keepalived 2.4's vrrp_delay_after_boot, 4 s past the system's uptime
/// now: what is left of it (about 4 s) holds the first takeover as
/// vrrp_startup_delay 4 does. vipd only: keepalived 2.2.7 does not have
/// it. Given in a YAML layer: keepalived reads at most 4294.967 s
/// (microseconds in an unsigned int), less than this machine's uptime
/// may be.
#[test]
fn vipd_delays_its_first_takeover_until_after_boot() {
    let test = "vipd_delays_its_first_takeover_until_after_boot";
    let Some(mut lab) = lab_for(test, Kind::Vipd, 1) else {
        return;
    };
    let vip: IpAddr = "192.0.2.191".parse().unwrap();
    let uptime: f64 = read(Path::new("/proc/uptime"))
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("/proc/uptime");
    let text = format!(
        "global_defs {{\n    router_id h1\n}}\n\
         vrrp_instance VI_91 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 91\n    priority 100\n    version 3\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {vip}\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let conf = lab.dir.join("delay-after-boot.conf");
    fs::write(&conf, text).unwrap();
    let layer = lab.dir.join("delay-after-boot.yaml");
    fs::write(
        &layer,
        format!(
            "{}delay_after_boot: {:.3}\n",
            control_socket_line(&lab, 1),
            uptime + 4.0
        ),
    )
    .unwrap();
    let layer = layer.to_string_lossy().to_string();
    let started = Instant::now();
    let daemon = start_vipd(&mut lab, 1, &conf, "1", &["--config", &layer]);
    took_over_no_sooner(
        &lab,
        vip,
        started,
        Duration::from_millis(6_500),
        "after start: what is left of the delay after boot (4 s) plus Master_Down_Interval (3.6 s)",
        &daemon,
    );
    assert!(
        daemon.log_text().contains("delay_after_boot"),
        "{}",
        daemon.log_text()
    );
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

/// Three owners (priority 255: master at once), then a reload that keeps
/// only VI_73: VI_71 (notify_deleted) is told DELETED, VI_72 FAULT,
/// keepalived's old way, on the FIFO and to `notify`. With
/// fifo_write_vrrp_states_on_reload, VI_74 (FAULT: a tracked file at 1,
/// weight 0) has its state written to the FIFO again, and VI_73, master,
/// not (keepalived writes it only for an instance it starts again in
/// BACKUP or FAULT); no script runs for either.
fn deleted_instances_are_notified(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 1) else {
        return;
    };
    let mut fifo = Fifo::new(&lab);
    let record = lab.dir.join("deleted.txt");
    let notify = script(
        &lab,
        "notify-deleted.sh",
        &format!("echo \"$*\" >> {}", record.display()),
    );
    // keepalived runs no notify_fault for a deleted instance.
    let fault = script(
        &lab,
        "notify-fault.sh",
        &format!("echo notify_fault VI_72 >> {}", record.display()),
    );
    let conf = lab.dir.join("deleted.conf");
    let track = lab.dir.join("fault-track");
    fs::write(&track, "1\n").unwrap();
    let (h1, fifo_path) = (lab.host(1).ipv4, fifo.path.clone());
    let write = |vrids: &[u8]| {
        let mut text = format!(
            "global_defs {{\n    router_id h1\n    script_user root\n    enable_script_security\n    notify_fifo {}\n    fifo_write_vrrp_states_on_reload\n}}\n\
             vrrp_track_file tf {{\n    file {}\n    weight 0\n}}\n",
            fifo_path.display(),
            track.display()
        );
        for vrid in vrids {
            let (priority, extra) = match vrid {
                71 => (255, "    notify_deleted\n".to_string()),
                72 => (255, format!("    notify_fault {}\n", fault.display())),
                74 => (100, "    track_file {\n        tf\n    }\n".to_string()),
                _ => (255, String::new()),
            };
            text.push_str(&format!(
                "vrrp_instance VI_{vrid} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority {priority}\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        192.0.2.{vrid}\n    }}\n    notify {}\n{extra}}}\n",
                h1,
                notify.display()
            ));
        }
        fs::write(&conf, text).unwrap();
    };
    write(&[71, 72, 73, 74]);
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    for vrid in [71, 72, 73] {
        let vip: IpAddr = format!("192.0.2.{vrid}").parse().unwrap();
        expect_only(&lab, vip, 1, &format!("VI_{vrid} master"), &[&daemon]);
    }
    // keepalived says it so for a tracked file; vipd as keepalived's
    // other lines.
    let in_fault = |log: String| {
        log.contains("(VI_74) Entering FAULT STATE") || log.contains("(VI_74) entering FAULT state")
    };
    wait_for(DEADLINE, || in_fault(daemon.log_text()))
        .unwrap_or_else(|| panic!("VI_74 in FAULT:\n{}", daemon.log_text()));
    let lines = |name: &str| -> Vec<String> {
        read(&record)
            .lines()
            .filter(|l| l.contains(name))
            .map(str::to_string)
            .collect()
    };
    // The notify scripts run beside the daemon: each master's line is in
    // before the reload (else "left alone" could not be told apart from
    // "not yet run").
    wait_for(DEADLINE, || {
        ["VI_71", "VI_72", "VI_73"]
            .iter()
            .all(|name| !lines(name).is_empty())
    })
    .unwrap_or_else(|| panic!("{}\n{}", read(&record), daemon.log_text()));
    let before = fifo.of("VI_74").len();
    write(&[73, 74]);
    match kind {
        Kind::Keepalived => lab.signal(daemon.pid, Signal::SIGHUP),
        Kind::Vipd => {
            let done = reload(&lab, 1);
            assert!(done.status.success(), "{done:?}");
        }
    }
    wait_for(DEADLINE, || {
        lines("VI_71").len() >= 2 && lines("VI_72").len() >= 2
    })
    .unwrap_or_else(|| panic!("{}\n{}", read(&record), daemon.log_text()));
    assert_eq!(
        lines("VI_71")[1],
        "INSTANCE VI_71 DELETED 255",
        "{}",
        read(&record)
    );
    assert!(
        !read(&record).contains("notify_fault"),
        "notify_fault ran for a deleted instance:\n{}",
        read(&record)
    );
    assert_eq!(
        lines("VI_72")[1],
        "INSTANCE VI_72 FAULT 255",
        "{}",
        read(&record)
    );
    wait_for(DEADLINE, || {
        fifo.of("VI_71").len() >= 2 && fifo.of("VI_72").len() >= 2
    })
    .unwrap_or_else(|| panic!("{:?}", fifo.lines()));
    assert_eq!(fifo.of("VI_71")[1], "INSTANCE \"VI_71\" DELETED 255");
    assert_eq!(fifo.of("VI_72")[1], "INSTANCE \"VI_72\" FAULT 255");
    assert_eq!(
        lines("VI_73"),
        ["INSTANCE VI_73 MASTER 255"],
        "VI_73 is left alone"
    );
    wait_for(DEADLINE, || fifo.of("VI_74").len() > before)
        .unwrap_or_else(|| panic!("{:?}", fifo.lines()));
    assert_eq!(
        fifo.of("VI_74").last().map(String::as_str),
        Some("INSTANCE \"VI_74\" FAULT 100")
    );
    assert_eq!(fifo.of("VI_73"), ["INSTANCE \"VI_73\" MASTER 255"]);
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

both_daemons!(
    deleted_instances_are_notified:
    vipd_notifies_deleted_instances_as_keepalived_does,
    keepalived_notifies_deleted_instances_as_the_vipd_test_expects
);

/// notify_fifo_script: vipd makes the FIFO (it does not exist), starts
/// the reader with its path, and starts it again when it ends. The reader
/// here waits a second, opens the FIFO, says it started, reads one line
/// and ends: the first MASTER line, written before it opened the FIFO,
/// waited in the pipe for it.
#[test]
fn vipd_runs_the_fifo_reader_script_and_starts_it_again() {
    let test = "vipd_runs_the_fifo_reader_script_and_starts_it_again";
    let Some(mut lab) = lab_or_skip(test, 1) else {
        return;
    };
    let fifo = lab.dir.join("made.fifo");
    let (out, started) = (lab.dir.join("read.txt"), lab.dir.join("started.txt"));
    let reader = script(
        &lab,
        "fifo-reader.sh",
        &format!(
            "sleep 1\nexec 3<> \"$1\"\necho started >> {}\nread line <&3\necho \"$line\" >> {}",
            started.display(),
            out.display()
        ),
    );
    let conf = lab.dir.join("fifo-script.conf");
    let write = |vrids: &[u8]| {
        let mut text = format!(
            "global_defs {{\n    router_id h1\n    script_user root\n    enable_script_security\n    notify_fifo {}\n    notify_fifo_script {}\n}}\n",
            fifo.display(),
            reader.display()
        );
        for vrid in vrids {
            text.push_str(&format!(
                "vrrp_instance VI_{vrid} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority 255\n    advert_int 1\n    virtual_ipaddress {{\n        192.0.2.{vrid}\n    }}\n}}\n"
            ));
        }
        fs::write(&conf, text).unwrap();
    };
    write(&[61]);
    let daemon = start(&mut lab, 1, Kind::Vipd, &conf, "1");
    let starts = || read(&started).lines().count();
    wait_for(DEADLINE, || {
        read(&out).contains("INSTANCE \"VI_61\" MASTER 255")
    })
    .unwrap_or_else(|| panic!("{}\n{}", read(&out), daemon.log_text()));
    assert!(
        fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "vipd made the FIFO"
    );
    // It ended after that line: started again, it reads the next one.
    wait_for(DEADLINE, || starts() >= 2)
        .unwrap_or_else(|| panic!("not started again:\n{}", daemon.log_text()));
    write(&[61, 62]);
    let done = reload(&lab, 1);
    assert!(done.status.success(), "{done:?}");
    wait_for(DEADLINE, || {
        read(&out).contains("INSTANCE \"VI_62\" MASTER 255")
    })
    .unwrap_or_else(|| panic!("{}\n{}", read(&out), daemon.log_text()));
    assert!(
        daemon.log_text().contains("starting it again in 1s"),
        "{}",
        daemon.log_text()
    );
    stop(&mut lab, &daemon, Signal::SIGTERM).expect("stops");
}

const STRICT_VRID: u8 = 81;
const STRICT_VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 181);

/// keepalived's strict mode on host 1: global vrrp_strict, an instance
/// that asks for PASS authentication (which strict mode ignores), VRRPv2.
fn strict_conf(lab: &Lab) -> PathBuf {
    let text = format!(
        "global_defs {{\n    router_id h1\n    vrrp_strict\n    nftables\n}}\n\
         vrrp_instance VI_{STRICT_VRID} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {STRICT_VRID}\n    priority 200\n    advert_int 1\n    garp_master_delay 0\n    mcast_src_ip {}\n    authentication {{\n        auth_type PASS\n        auth_pass 1111\n    }}\n    virtual_ipaddress {{\n        {STRICT_VIP}\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let path = lab.dir.join("strict.conf");
    fs::write(&path, text).unwrap();
    path
}

/// The VRRPv2 advert host 2 forges for the strict instance, with PASS
/// authentication or none.
fn forged_v2(lab: &Lab, priority: u8, password: Option<&str>) -> Vec<u8> {
    use vipd::proto::{AddressList, Advert, Auth, AuthKey, Centiseconds, Endpoints, Version, Vrid};
    let source = raw::v4(lab.host(2).ipv4);
    let advert = Advert {
        version: Version::V2,
        vrid: Vrid::new(STRICT_VRID).unwrap(),
        priority,
        interval: Centiseconds::new(100),
        auth: password.map_or(Auth::None, |p| Auth::Pass(AuthKey::from_password(p))),
        addresses: AddressList::V4(vec![STRICT_VIP]),
    };
    let mut payload = Vec::new();
    advert
        .encode_into(&Endpoints::new(source.into(), GROUP.into()), &mut payload)
        .unwrap();
    raw::ip_packet(source, 255, &payload)
}

/// Whether host `from` gets an answer to a ping of `address` (three
/// tries: a first ping can go before the neighbour entry settles).
fn ping_answered(lab: &Lab, from: usize, address: IpAddr) -> bool {
    (0..3).any(|_| {
        lab.exec(from, "ping", &["-c", "1", "-W", "1", &address.to_string()])
            .is_ok_and(|out| out.status.success())
    })
}

/// Strict mode, by traffic: the master's adverts carry no authentication
/// though the file asks for PASS; traffic to its address is dropped (no
/// accept, VRRPv2); a lower priority gets neither an advert nor a GARP
/// back; a higher priority with authentication is dropped (the master
/// stays), the same without is obeyed.
fn strict_mode_runs_the_rfc_protocol(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let vip = IpAddr::V4(STRICT_VIP);
    let conf = strict_conf(&lab);
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    expect_only(&lab, vip, 1, "strict master", &[&daemon]);
    let log = || daemon.log_text();

    let advert = raw::capture(&lab, 2, lab.host(1).ipv4, DEADLINE)
        .unwrap_or_else(|| panic!("no advert from host 1:\n{}", log()));
    assert_eq!(advert[0] >> 4, 2, "VRRPv2");
    assert_eq!(advert[4], 0, "authentication type none:\n{}", log());

    assert!(
        !ping_answered(&lab, 2, vip),
        "strict mode: no accept, the address drops traffic:\n{}",
        log()
    );

    let heard = answers(
        &lab,
        STRICT_VRID,
        STRICT_VIP,
        forged_v2(&lab, 100, None),
        Duration::from_millis(700),
    );
    assert_eq!(
        heard.adverts,
        Vec::<u8>::new(),
        "no answer to a lower priority:\n{}",
        log()
    );
    assert_eq!(heard.garps, 0, "no GARP on a lower priority:\n{}", log());

    let with_pass = forged_v2(&lab, 250, Some("1111"));
    raw::in_host(&lab, 2, move || {
        let sender = raw::sender();
        for _ in 0..3 {
            raw::send(&sender, &with_pass);
        }
    });
    stays_on(
        &lab,
        vip,
        1,
        Duration::from_millis(1500),
        "a higher priority with authentication is dropped",
    );
    match kind {
        Kind::Vipd => {
            let status = vipd_status(&lab, 1, true);
            let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
            assert_eq!(
                status["instances"][0]["drops"]["strict_auth"],
                serde_json::json!(3),
                "{status}"
            );
        }
        Kind::Keepalived => {
            let said = format!("(VI_{STRICT_VRID}) received a 1 auth, expecting 0!");
            assert!(log().contains(&said), "{}", log());
        }
    }

    let plain = forged_v2(&lab, 250, None);
    raw::in_host(&lab, 2, move || raw::send(&raw::sender(), &plain));
    wait_for(DEADLINE, || !lab.has_address(1, vip))
        .unwrap_or_else(|| panic!("{vip} still on host 1:\n{}", log()));
    stop(&mut lab, &daemon, Signal::SIGTERM).expect("stops");
}

both_daemons!(
    strict_mode_runs_the_rfc_protocol:
    vipd_in_strict_mode_runs_the_rfc_protocol,
    keepalived_in_strict_mode_runs_the_rfc_protocol
);

const GROUP_VRID: u8 = 91;
const GROUP_VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 191);
const OWN_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 100);

/// VRRPv3 on host 1 with global_defs' vrrp_mcast_group4, and VI_92 on
/// the RFC's group (so that host 1 hears 224.0.0.18 too).
fn group_conf(lab: &Lab) -> PathBuf {
    let text = format!(
        "global_defs {{\n    router_id h1\n    vrrp_mcast_group4 {OWN_GROUP}\n}}\n\
         vrrp_instance VI_{GROUP_VRID} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {GROUP_VRID}\n    priority 200\n    version 3\n    advert_int 1\n    garp_master_delay 0\n    mcast_src_ip {0}\n    virtual_ipaddress {{\n        {GROUP_VIP}\n    }}\n}}\n\
         vrrp_instance VI_92 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 92\n    priority 200\n    version 3\n    advert_int 1\n    mcast_dst_ip {GROUP}\n    mcast_src_ip {0}\n    virtual_ipaddress {{\n        192.0.2.192\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let path = lab.dir.join("group.conf");
    fs::write(&path, text).unwrap();
    path
}

/// A VRRPv3 advert from host 2 to `group`, its checksum over the
/// pseudo-header with that destination, as the RFC says.
fn forged_to(lab: &Lab, group: Ipv4Addr, priority: u8) -> Vec<u8> {
    use vipd::proto::{AddressList, Advert, Auth, Centiseconds, Endpoints, Version, Vrid};
    let source = raw::v4(lab.host(2).ipv4);
    let advert = Advert {
        version: Version::V3,
        vrid: Vrid::new(GROUP_VRID).unwrap(),
        priority,
        interval: Centiseconds::new(100),
        auth: Auth::None,
        addresses: AddressList::V4(vec![GROUP_VIP]),
    };
    let mut payload = Vec::new();
    advert
        .encode_into(&Endpoints::new(source.into(), group.into()), &mut payload)
        .unwrap();
    let mut packet = raw::ip_packet(source, 255, &payload);
    packet[16..20].copy_from_slice(&group.octets());
    packet
}

/// Sends `packet` (whose destination is `group`) from host 2, `times` times.
fn send_to_group(lab: &Lab, group: Ipv4Addr, packet: Vec<u8>, times: usize) {
    raw::in_host(lab, 2, move || {
        let sender = raw::sender();
        let to = socket2::SockAddr::from(std::net::SocketAddrV4::new(group, 0));
        for _ in 0..times {
            sender.send_to(&packet, &to).unwrap();
        }
    });
}

/// The destination of host 1's next advert for VRID 91, heard on host 2
/// with the RFC's group and OWN_GROUP joined.
fn advert_destination(lab: &Lab) -> Option<Ipv4Addr> {
    advert_destination_among(lab, OWN_GROUP)
}

/// The same, with the RFC's group and `group` joined.
fn advert_destination_among(lab: &Lab, group: Ipv4Addr) -> Option<Ipv4Addr> {
    let (own, from) = (raw::v4(lab.host(2).ipv4), raw::v4(lab.host(1).ipv4));
    raw::in_host(lab, 2, move || {
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
        socket.join_multicast_v4(&GROUP, &own).unwrap();
        socket.join_multicast_v4(&group, &own).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let deadline = Instant::now() + DEADLINE;
        let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while Instant::now() < deadline {
            let Ok(n) = socket.recv(&mut buffer) else {
                continue;
            };
            // SAFETY: recv initialised the first n bytes.
            let p: Vec<u8> = buffer[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let header = usize::from(p[0] & 0x0f) * 4;
            let ours = p.get(header + 1) == Some(&GROUP_VRID);
            if ours && Ipv4Addr::new(p[12], p[13], p[14], p[15]) == from {
                return Some(Ipv4Addr::new(p[16], p[17], p[18], p[19]));
            }
        }
        None
    })
}

/// vrrp_mcast_group4: adverts go to 224.0.0.100; a higher priority sent
/// to the RFC's group, which host 1 hears for VI_92, does not count for
/// VI_91 (three of them: the master stays; vipd counts them as
/// other_multicast_group, keepalived's socket for 224.0.0.18 has no VRID
/// 91), one sent to 224.0.0.100, with
/// the VRRPv3 checksum over that destination, is obeyed.
fn a_custom_group_is_sent_to_and_heard(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let vip = IpAddr::V4(GROUP_VIP);
    let conf = group_conf(&lab);
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    expect_only(&lab, vip, 1, "master on its own group", &[&daemon]);
    let log = || daemon.log_text();
    assert_eq!(
        advert_destination(&lab),
        Some(OWN_GROUP),
        "adverts go to the configured group:\n{}",
        log()
    );

    send_to_group(&lab, GROUP, forged_to(&lab, GROUP, 250), 3);
    stays_on(
        &lab,
        vip,
        1,
        Duration::from_millis(1500),
        "a higher priority to 224.0.0.18 is not heard",
    );
    if kind == Kind::Vipd {
        let status = vipd_status(&lab, 1, true);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        let instance = status["instances"]
            .as_array()
            .and_then(|all| all.iter().find(|i| i["name"] == "VI_91"))
            .unwrap_or_else(|| panic!("no VI_91: {status}"));
        assert_eq!(
            instance["drops"]["other_multicast_group"],
            serde_json::json!(3),
            "{status}"
        );
    }

    send_to_group(&lab, OWN_GROUP, forged_to(&lab, OWN_GROUP, 250), 1);
    wait_for(DEADLINE, || !lab.has_address(1, vip))
        .unwrap_or_else(|| panic!("{vip} still on host 1:\n{}", log()));
    stop(&mut lab, &daemon, Signal::SIGTERM).expect("stops");
}

both_daemons!(
    a_custom_group_is_sent_to_and_heard:
    vipd_sends_to_and_hears_its_multicast_group,
    keepalived_sends_to_and_hears_its_multicast_group
);

const SPACED_VIPS: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 2, 171), Ipv4Addr::new(192, 0, 2, 172)];

/// On host 2: the gratuitous ARPs for `vips`, with when each was heard,
/// until `quiet` passes after the `expected`-th (or `deadline` passes).
fn garps_heard(
    lab: &Lab,
    vips: [Ipv4Addr; 2],
    expected: usize,
    quiet: Duration,
    deadline: Duration,
) -> Vec<(Ipv4Addr, Instant)> {
    raw::in_host(lab, 2, move || {
        let arp = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from((libc::ETH_P_ARP as u16).to_be()))),
        )
        .unwrap();
        arp.bind_device(Some(b"eth0")).unwrap();
        arp.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let started = Instant::now();
        let mut heard: Vec<(Ipv4Addr, Instant)> = Vec::new();
        let mut frame = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while started.elapsed() < deadline {
            if heard.len() >= expected && heard[expected - 1].1.elapsed() >= quiet {
                break;
            }
            let Ok(n) = arp.recv(&mut frame) else {
                continue;
            };
            // SAFETY: recv initialised the first n bytes.
            let f: Vec<u8> = frame[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            if f.len() < 42 || f[28..32] != f[38..42] {
                continue;
            }
            let address = Ipv4Addr::new(f[28], f[29], f[30], f[31]);
            if vips.contains(&address) {
                heard.push((address, Instant::now()));
            }
        }
        heard
    })
}

/// vrrp_garp_interval 0.2 with garp_master_repeat 5 and two addresses:
/// on becoming master the first address is announced at once, then what
/// waits goes out one per 0.2 s in the list's order, each address once
/// (the first again, then the second): three gratuitous ARPs, not ten.
fn garp_interval_spaces_announcements(test: &str, kind: Kind) {
    spaced_garps(
        test,
        kind,
        "global_defs {\n    router_id h1\n    vrrp_garp_interval 0.2\n}\n",
        71,
        Duration::from_millis(180),
    );
}

/// Host 1 (`kind`) becomes master of VRID `vrid` holding SPACED_VIPS with
/// `garp_master_repeat 5` under `top` (keepalived.conf's top sections):
/// three gratuitous ARPs are heard, in the address list's order (a, a,
/// b), each at least `min_gap` after the last.
fn spaced_garps(test: &str, kind: Kind, top: &str, vrid: u8, min_gap: Duration) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let [a, b] = SPACED_VIPS;
    let text = format!(
        "{top}vrrp_instance VI_{vrid} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    priority 200\n    advert_int 1\n    garp_master_repeat 5\n    garp_master_delay 0\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {a}\n        {b}\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let conf = lab.dir.join(format!("spaced-{vrid}.conf"));
    fs::write(&conf, text).unwrap();
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    // Master after its Master_Down_Interval (3.2 s): heard from here.
    let heard = garps_heard(
        &lab,
        SPACED_VIPS,
        3,
        Duration::from_millis(1500),
        Duration::from_secs(20),
    );
    let log = daemon.log_text();
    let order: Vec<Ipv4Addr> = heard.iter().map(|(address, _)| *address).collect();
    assert_eq!(order, vec![a, a, b], "{kind:?}: {heard:?}\n{log}");
    let gaps: Vec<Duration> = heard.windows(2).map(|w| w[1].1 - w[0].1).collect();
    println!("{kind:?}: gaps between gratuitous ARPs {gaps:?}");
    for gap in &gaps {
        assert!(*gap >= min_gap, "{kind:?}: {gaps:?}\n{log}");
    }
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

both_daemons!(
    garp_interval_spaces_announcements:
    vipd_spaces_gratuitous_arps_by_garp_interval,
    keepalived_spaces_gratuitous_arps_by_garp_interval
);

/// On host `host`'s `dev`: when each gratuitous ARP for `vip` was heard,
/// for `window` (an observation period, not a wait for something).
fn garps_on(
    lab: &Lab,
    host: usize,
    dev: &'static str,
    vip: Ipv4Addr,
    window: Duration,
) -> Vec<Instant> {
    raw::in_host(lab, host, move || {
        let arp = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from((libc::ETH_P_ARP as u16).to_be()))),
        )
        .unwrap();
        arp.bind_device(Some(dev.as_bytes())).unwrap();
        arp.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let started = Instant::now();
        let mut heard = Vec::new();
        let mut frame = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while started.elapsed() < window {
            let Ok(n) = arp.recv(&mut frame) else {
                continue;
            };
            // SAFETY: recv initialised the first n bytes.
            let f: Vec<u8> = frame[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            if f.len() >= 42 && f[28..32] == vip.octets() && f[38..42] == vip.octets() {
                heard.push(Instant::now());
            }
        }
        heard
    })
}

/// garp_extra_if 2 all, adverts every second, one address on eth0 and
/// one on eth1: while master, one gratuitous ARP for the eth1 address
/// every 2 s, heard on the second LAN.
fn garp_extra_if_refreshes_other_interfaces(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    lab.add_second_lan().expect("eth1");
    let (a, b) = (
        Ipv4Addr::new(192, 0, 2, 175),
        Ipv4Addr::new(198, 51, 100, 175),
    );
    let text = format!(
        "global_defs {{\n    router_id h1\n}}\n\
         vrrp_instance VI_75 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 75\n    priority 200\n    advert_int 1\n    garp_master_delay 0\n    garp_extra_if 2 all\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {a}\n        {b} dev eth1\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let conf = lab.dir.join("garp-extra-if.conf");
    fs::write(&conf, text).unwrap();
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    expect_only(&lab, IpAddr::V4(a), 1, "master", &[&daemon]);
    let heard = garps_on(&lab, 2, "eth1", b, Duration::from_millis(7_500));
    // The burst on becoming master counts once: announcements less than
    // half a second apart are one.
    let mut events: Vec<Instant> = Vec::new();
    for at in heard {
        if events
            .last()
            .is_none_or(|last| at - *last > Duration::from_millis(500))
        {
            events.push(at);
        }
    }
    let gaps: Vec<Duration> = events.windows(2).map(|w| w[1] - w[0]).collect();
    println!("{kind:?}: gratuitous ARPs on eth1 every {gaps:?}");
    let log = daemon.log_text();
    assert!(gaps.len() >= 2, "{kind:?}: {gaps:?}\n{log}");
    for gap in &gaps {
        assert!(
            (Duration::from_millis(1_700)..Duration::from_millis(3_300)).contains(gap),
            "{kind:?}: {gaps:?}\n{log}"
        );
    }
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

both_daemons!(
    garp_extra_if_refreshes_other_interfaces:
    vipd_refreshes_other_interfaces_by_garp_extra_if,
    keepalived_refreshes_other_interfaces_by_garp_extra_if
);

/// A reload that moves VI_91 from 224.0.0.100 to 224.0.0.101: its
/// adverts go to the new group, and host 1 hears the new group, not the
/// old one (the receiver joined it when the reload changed its groups).
#[test]
fn vipd_moves_to_another_multicast_group_on_reload() {
    let test = "vipd_moves_to_another_multicast_group_on_reload";
    let Some(mut lab) = lab_for(test, Kind::Vipd, 2) else {
        return;
    };
    let vip = IpAddr::V4(GROUP_VIP);
    let moved = Ipv4Addr::new(224, 0, 0, 101);
    let conf = lab.dir.join("moving-group.conf");
    let h1 = lab.host(1).ipv4;
    let write = |group: Ipv4Addr| {
        let text = format!(
            "global_defs {{\n    router_id h1\n}}\n\
             vrrp_instance VI_{GROUP_VRID} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {GROUP_VRID}\n    priority 200\n    version 3\n    advert_int 1\n    garp_master_delay 0\n    mcast_dst_ip {group}\n    mcast_src_ip {h1}\n    virtual_ipaddress {{\n        {GROUP_VIP}\n    }}\n}}\n"
        );
        fs::write(&conf, text).unwrap();
    };
    write(OWN_GROUP);
    let daemon = start(&mut lab, 1, Kind::Vipd, &conf, "1");
    expect_only(&lab, vip, 1, "master on 224.0.0.100", &[&daemon]);
    assert_eq!(advert_destination(&lab), Some(OWN_GROUP));

    write(moved);
    let done = reload(&lab, 1);
    assert!(done.status.success(), "{done:?}\n{}", daemon.log_text());
    wait_for(DEADLINE, || {
        advert_destination_among(&lab, moved) == Some(moved)
    })
    .unwrap_or_else(|| panic!("adverts never went to {moved}:\n{}", daemon.log_text()));
    expect_only(&lab, vip, 1, "master on 224.0.0.101", &[&daemon]);

    send_to_group(&lab, OWN_GROUP, forged_to(&lab, OWN_GROUP, 250), 3);
    stays_on(
        &lab,
        vip,
        1,
        Duration::from_millis(1500),
        "the old group is not heard after the reload",
    );
    send_to_group(&lab, moved, forged_to(&lab, moved, 250), 1);
    wait_for(DEADLINE, || !lab.has_address(1, vip))
        .unwrap_or_else(|| panic!("{vip} still on host 1:\n{}", daemon.log_text()));
    stop(&mut lab, &daemon, Signal::SIGTERM).expect("stops");
}

/// keepalived 2.4.3, built from source (../shared/tools/build-keepalived.sh)
/// and named by VIPD_KEEPALIVED_24; without it its tests say so in one line.
fn keepalived_24() -> Option<PathBuf> {
    match std::env::var_os("VIPD_KEEPALIVED_24") {
        Some(path) => Some(path.into()),
        None => {
            println!("skipped: keepalived 2.4: set VIPD_KEEPALIVED_24 to a keepalived 2.4.3 binary (../shared/tools/build-keepalived.sh)");
            None
        }
    }
}

/// An address owner in strict mode ignores adverts (keepalived 2.4's
/// strict default, owner_ignore_adverts): three adverts of another owner
/// with a higher address leave it master, where the RFC would have it
/// yield. `keepalived`: keepalived 2.4.3's binary, else vipd.
fn a_strict_owner_ignores_adverts(test: &str, keepalived: Option<PathBuf>) {
    let kind = if keepalived.is_some() {
        Kind::Keepalived
    } else {
        Kind::Vipd
    };
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let vip = IpAddr::V4(STRICT_VIP);
    let text = format!(
        "global_defs {{\n    router_id h1\n    vrrp_strict\n    nftables\n}}\n\
         vrrp_instance VI_{STRICT_VRID} {{\n    state MASTER\n    interface eth0\n    virtual_router_id {STRICT_VRID}\n    priority 255\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {STRICT_VIP}\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let conf = lab.dir.join("strict-owner.conf");
    fs::write(&conf, text).unwrap();
    let daemon = match &keepalived {
        Some(binary) => start_keepalived_24(&mut lab, 1, binary, &conf, "1"),
        None => start(&mut lab, 1, Kind::Vipd, &conf, "1"),
    };
    expect_only(&lab, vip, 1, "the owner is master", &[&daemon]);
    let rival = forged_v2(&lab, 255, None);
    raw::in_host(&lab, 2, move || {
        let sender = raw::sender();
        for _ in 0..3 {
            raw::send(&sender, &rival);
        }
    });
    stays_on(
        &lab,
        vip,
        1,
        Duration::from_millis(2500),
        "a rival owner with a higher address is ignored",
    );
    if keepalived.is_none() {
        let status = vipd_status(&lab, 1, true);
        let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(
            status["instances"][0]["drops"]["owner_ignores_adverts"],
            serde_json::json!(3),
            "{status}"
        );
    }
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

#[test]
fn vipd_in_strict_mode_as_owner_ignores_adverts() {
    a_strict_owner_ignores_adverts("vipd_in_strict_mode_as_owner_ignores_adverts", None);
}

#[test]
fn keepalived_24_in_strict_mode_as_owner_ignores_adverts() {
    let Some(binary) = keepalived_24() else {
        return;
    };
    a_strict_owner_ignores_adverts(
        "keepalived_24_in_strict_mode_as_owner_ignores_adverts",
        Some(binary),
    );
}

/// On host 2's eth0: the unsolicited NAs for `targets`, with when each
/// was heard, until `quiet` passes after the `expected`-th (or
/// `deadline` passes).
fn nas_heard(
    lab: &Lab,
    targets: [std::net::Ipv6Addr; 2],
    expected: usize,
    quiet: Duration,
    deadline: Duration,
) -> Vec<(std::net::Ipv6Addr, Instant)> {
    raw::in_host(lab, 2, move || {
        let icmp = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).unwrap();
        icmp.bind_device(Some(b"eth0")).unwrap();
        icmp.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let started = Instant::now();
        let mut heard = Vec::new();
        let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while started.elapsed() < deadline {
            if heard.len() >= expected {
                let (_, last): &(std::net::Ipv6Addr, Instant) = &heard[expected - 1];
                if last.elapsed() >= quiet {
                    break;
                }
            }
            let Ok(n) = icmp.recv(&mut buffer) else {
                continue;
            };
            // SAFETY: recv initialised the first n bytes.
            let p: Vec<u8> = buffer[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            // ICMPv6 type 136, Neighbor Advertisement: target at 8..24.
            if p.len() < 24 || p[0] != 136 {
                continue;
            }
            let target = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).unwrap());
            if targets.contains(&target) {
                heard.push((target, Instant::now()));
            }
        }
        heard
    })
}

/// vrrp_gna_interval 0.2, the IPv6 twin of vrrp_garp_interval: two
/// addresses, garp_master_repeat 5, three unsolicited NAs 0.2 s apart in
/// the list's order (the first, the first again, the second).
fn gna_interval_spaces_neighbour_advertisements(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let (ll, global): (std::net::Ipv6Addr, std::net::Ipv6Addr) = (
        "fe80::71".parse().unwrap(),
        "2001:db8::171".parse().unwrap(),
    );
    let text = format!(
        "global_defs {{\n    router_id h1\n    vrrp_gna_interval 0.2\n}}\n\
         vrrp_instance VI_72 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 72\n    priority 200\n    version 3\n    advert_int 1\n    garp_master_repeat 5\n    garp_master_delay 0\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {ll}/64\n        {global}/64\n    }}\n}}\n",
        lab.host(1).link_local
    );
    let conf = lab.dir.join("gna-interval.conf");
    fs::write(&conf, text).unwrap();
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    let heard = nas_heard(
        &lab,
        [ll, global],
        3,
        Duration::from_millis(1500),
        Duration::from_secs(20),
    );
    let log = daemon.log_text();
    let order: Vec<std::net::Ipv6Addr> = heard.iter().map(|(target, _)| *target).collect();
    assert_eq!(order, vec![ll, ll, global], "{kind:?}: {heard:?}\n{log}");
    let gaps: Vec<Duration> = heard.windows(2).map(|w| w[1].1 - w[0].1).collect();
    println!("{kind:?}: gaps between unsolicited NAs {gaps:?}");
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(180),
            "{kind:?}: {gaps:?}\n{log}"
        );
    }
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

both_daemons!(
    gna_interval_spaces_neighbour_advertisements:
    vipd_spaces_unsolicited_nas_by_gna_interval,
    keepalived_spaces_unsolicited_nas_by_gna_interval
);

/// garp_group: eth0's own spacing (0.5 s) wins over vrrp_garp_interval
/// (0.1 s); the same three gratuitous ARPs, 0.5 s apart.
fn garp_group_spaces_its_interfaces(test: &str, kind: Kind) {
    spaced_garps(
        test,
        kind,
        "global_defs {\n    router_id h1\n    vrrp_garp_interval 0.1\n}\n\
         garp_group {\n    garp_interval 0.5\n    interface eth0\n}\n",
        73,
        Duration::from_millis(450),
    );
}

both_daemons!(
    garp_group_spaces_its_interfaces:
    vipd_spaces_an_interface_by_its_garp_group,
    keepalived_spaces_an_interface_by_its_garp_group
);

/// vrrp_min_garp: one gratuitous ARP per address on becoming master, no
/// second burst 5 s later.
fn min_garp_sends_one_announcement(test: &str, kind: Kind) {
    let Some(mut lab) = lab_for(test, kind, 2) else {
        return;
    };
    let [a, b] = SPACED_VIPS;
    let text = format!(
        "global_defs {{\n    router_id h1\n    vrrp_min_garp\n}}\n\
         vrrp_instance VI_74 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 74\n    priority 200\n    advert_int 1\n    mcast_src_ip {}\n    virtual_ipaddress {{\n        {a}\n        {b}\n    }}\n}}\n",
        lab.host(1).ipv4
    );
    let conf = lab.dir.join("min-garp.conf");
    fs::write(&conf, text).unwrap();
    let daemon = start(&mut lab, 1, kind, &conf, "1");
    // Past the default second burst (garp_master_delay 5 s) with room.
    let heard = garps_heard(
        &lab,
        SPACED_VIPS,
        2,
        Duration::from_millis(6_500),
        Duration::from_secs(25),
    );
    let order: Vec<Ipv4Addr> = heard.iter().map(|(address, _)| *address).collect();
    assert_eq!(
        order,
        vec![a, b],
        "{kind:?}: {heard:?}\n{}",
        daemon.log_text()
    );
    stop(&mut lab, &daemon, Signal::SIGTERM);
}

both_daemons!(
    min_garp_sends_one_announcement:
    vipd_sends_one_announcement_with_min_garp,
    keepalived_sends_one_announcement_with_min_garp
);

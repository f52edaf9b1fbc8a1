//! The quorum fence against a real 3-member etcd (Debian's etcd-server,
//! one member per host namespace, started here). In every trial a
//! sampler in every namespace (rtnetlink address events, stamped as they
//! arrive) judges who holds the VIP: two holders for 0 ms, whatever
//! happens to the master or to etcd. Each trial also reports the time
//! with no holder.

mod support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::chaos::observe::{AddressMonitor, Holding};
use vipd::lab::etcd::{EtcdCluster, EtcdTls};
use vipd::lab::{wait_for, Lab};

const A: usize = 1;
const B: usize = 2;
/// Holds the third etcd member only.
const C: usize = 3;

/// The fenced lab: etcd on all three hosts, vipd on A (100) and B (90).
struct Fenced {
    lab: Lab,
    etcd: EtcdCluster,
    certs: Option<EtcdTls>,
    /// Lines added under `quorum.etcd` (each indented four spaces).
    etcd_extra: String,
    monitor: AddressMonitor,
    vip: IpAddr,
    started: Instant,
}

fn fenced_lab(test: &str) -> Option<Fenced> {
    fenced_lab_with(test, false)
}

/// With `tls`, etcd serves clients over https and asks for a certificate.
fn fenced_lab_with(test: &str, tls: bool) -> Option<Fenced> {
    if !prerequisites_or_skip(test, false) {
        return None;
    }
    let no_etcd = [("etcd", "--version"), ("etcdctl", "version")]
        .into_iter()
        .find_map(|(program, version)| {
            std::process::Command::new(program)
                .arg(version)
                .output()
                .is_err()
                .then(|| {
                    format!("{program} is not installed (apt install etcd-server etcd-client)")
                })
        });
    if !vipd::lab::testing::proceed_or_skip(test, no_etcd) {
        return None;
    }
    let mut lab = Lab::new(3).unwrap_or_else(|e| panic!("{test}: building the lab: {e}"));
    let certs = tls.then(|| {
        let dir = lab.dir.join("pki");
        EtcdTls::generate(&lab, &[A, B, C], &dir).unwrap_or_else(|e| panic!("{test}: {e}"))
    });
    let etcd = EtcdCluster::start_with(&mut lab, &[A, B, C], certs.clone())
        .unwrap_or_else(|e| panic!("{test}: starting etcd: {e}"));
    let vip = Flavour::V2Ipv4.vip();
    let monitor = AddressMonitor::start(&lab, vip, "eth0").expect("address sampler");
    Some(Fenced {
        lab,
        etcd,
        certs,
        etcd_extra: String::new(),
        monitor,
        vip,
        started: Instant::now(),
    })
}

impl Fenced {
    fn config(&self, host: usize, priority: u8) -> std::path::PathBuf {
        let endpoints: Vec<String> = self
            .etcd
            .endpoints(&self.lab)
            .iter()
            .map(|e| format!("\"{e}\""))
            .collect();
        let tls = match &self.certs {
            Some(c) => format!(
                "    tls: {{ ca: {}, cert: {}, key: {} }}\n",
                c.ca.display(),
                c.client_cert.display(),
                c.client_key.display()
            ),
            None => String::new(),
        };
        let quorum = format!(
            "quorum:\n  etcd:\n    endpoints: [{}]\n    name: h{host}\n{tls}{}metrics: {{ listen: \"{}:9650\" }}\n",
            endpoints.join(", "),
            self.etcd_extra,
            self.lab.host(host).ipv4
        );
        vipd_config_with(&self.lab, host, Flavour::V2Ipv4, priority, "1111", &quorum)
    }

    fn start(&mut self, host: usize, tag: &str) -> Daemon {
        let priority = if host == A { 100 } else { 90 };
        let config = self.config(host, priority);
        start_vipd(&mut self.lab, host, &config, tag, &[])
    }

    /// A and B started, A master: where most trials begin.
    fn started_pair(&mut self) -> (Daemon, Daemon) {
        let a1 = self.start(A, "1");
        let b1 = self.start(B, "1");
        self.expect_only(A, "both started", &[&a1, &b1]);
        (a1, b1)
    }

    fn holders(&self) -> Vec<usize> {
        self.lab.holders(self.vip)
    }

    fn expect_only(&self, host: usize, step: &str, logs: &[&Daemon]) -> Duration {
        expect_only(&self.lab, self.vip, host, step, logs)
    }

    fn expect_nobody(&self, step: &str, logs: &[&Daemon]) {
        wait_for(DEADLINE, || self.holders().is_empty()).unwrap_or_else(|| {
            let logs: Vec<String> = logs.iter().map(|d| d.log_text()).collect();
            panic!(
                "{step}: holders {:?}\n{}",
                self.holders(),
                logs.join("\n---\n")
            )
        });
    }

    /// The sampler's verdict so far: time with two holders or more, and
    /// time with none (from the first holder on).
    fn verdict(&self) -> Holding {
        let events = self.monitor.drain().unwrap_or_else(|why| panic!("{why}"));
        Holding::fold(&events, self.started, Instant::now())
    }
}

fn never_two(fenced: &Fenced, trial: &str) {
    let verdict = fenced.verdict();
    println!(
        "{trial}: two holders {} ms, no holder {} ms {:?}",
        verdict.two_holders.as_millis(),
        verdict.no_holder.as_millis(),
        verdict.gaps
    );
    assert_eq!(
        verdict.two_holders,
        Duration::ZERO,
        "{trial}: two holders at once: {:?}",
        verdict.overlaps
    );
}

/// `vipd status --json` of `host`.
fn status(lab: &Lab, host: usize) -> serde_json::Value {
    let out = vipd_status(lab, host, true);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `vipd status` of `host`, as a table.
fn status_text(lab: &Lab, host: usize) -> String {
    String::from_utf8_lossy(&vipd_status(lab, host, false).stdout).into_owned()
}

/// Cuts `host` off from etcd (clients and peers), not from VRRP.
fn cut_from_etcd(lab: &Lab, host: usize, cut: bool) {
    let rules = "table inet vipdtestetcd {\n\tchain output {\n\t\ttype filter hook output priority 0; policy accept;\n\t\ttcp dport { 2379, 2380 } drop\n\t\ttcp sport { 2379, 2380 } drop\n\t}\n}\n";
    let out = if cut {
        let path = lab.dir.join(format!("cut-etcd-h{host}.nft"));
        std::fs::write(&path, rules).unwrap();
        lab.exec(host, "nft", &["-f", &path.to_string_lossy()])
    } else {
        lab.exec(host, "nft", &["delete", "table", "inet", "vipdtestetcd"])
    }
    .expect("nft");
    assert!(
        out.status.success(),
        "nft: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_seed_story_with_the_fence_never_has_two_holders() {
    let Some(mut f) = fenced_lab("the_seed_story_with_the_fence_never_has_two_holders") else {
        return;
    };
    let (a1, b1) = f.started_pair();
    let status_a = status(&f.lab, A);
    let keys = &status_a["quorum"]["keys"];
    assert_eq!(keys[0]["key"], "/vipd/VI_1", "{status_a}");
    assert_eq!(keys[0]["holder"], "h1", "{status_a}");
    assert_eq!(keys[0]["held"], true, "{status_a}");
    assert!(status_a["quorum"]["lease_id"].is_string(), "{status_a}");
    assert_eq!(
        status_a["instances"][0]["fence"]["key_held"], true,
        "{status_a}"
    );
    let table = status_text(&f.lab, A);
    assert!(table.contains("quorum (etcd)     lease "), "{table}");
    assert!(table.contains("/vipd/VI_1  held by this host"), "{table}");
    let address = format!("{}:9650", f.lab.host(B).ipv4);
    let metrics = get(&f.lab, B, &address, "/metrics").expect("B's metrics");
    let held = value(&metrics, "vipd_quorum_key_held{key=\"/vipd/VI_1\"}");
    assert_eq!(held, Some(0.0), "{metrics}");
    let valid = value(&metrics, "vipd_quorum_lease_valid_seconds");
    assert!(valid.is_some_and(|v| v > 0.0), "{metrics}");
    let stopped = Instant::now();
    assert_eq!(
        stop(&mut f.lab, &a1, Signal::SIGTERM),
        Some(Some(0)),
        "{}",
        a1.log_text()
    );
    f.expect_only(B, "A stopped", &[&a1, &b1]);
    println!("graceful handover: {} ms", stopped.elapsed().as_millis());
    assert!(
        a1.log_text().contains("revoked"),
        "a graceful stop revokes its lease:\n{}",
        a1.log_text()
    );
    let a2 = f.start(A, "2");
    f.expect_only(A, "A started again", &[&a2, &b1]);
    never_two(&f, "seed story");
}

#[test]
fn a_master_cut_off_from_everything_drops_the_vip_before_the_backup_takes_it() {
    let Some(mut f) = fenced_lab("a_master_cut_off_from_everything") else {
        return;
    };
    let (a1, b1) = f.started_pair();
    f.lab.prepare_partitions().expect("partition filter");
    let cut = Instant::now();
    f.lab.set_partitioned(A, true).unwrap();
    f.expect_only(B, "A partitioned", &[&a1, &b1]);
    println!("partition takeover: {} ms", cut.elapsed().as_millis());
    if std::env::var_os("QUORUM_TEST_SHOW_LOGS").is_some() {
        println!(
            "cut at {:?}\n{}",
            cut.duration_since(f.started),
            b1.log_text()
        );
    }
    // The partition lasts 5 s in all: B holds it, A (alone) does not.
    let rest = Duration::from_secs(5).saturating_sub(cut.elapsed());
    std::thread::sleep(rest);
    assert_eq!(f.holders(), vec![B]);
    assert!(a1.log_text().contains("quorum lost"), "{}", a1.log_text());
    f.lab.set_partitioned(A, false).unwrap();
    f.expect_only(A, "partition healed", &[&a1, &b1]);
    never_two(&f, "master partitioned from everything for 5 s");
}

#[test]
fn a_master_cut_off_from_etcd_only_hands_over_and_takes_back() {
    let Some(mut f) = fenced_lab("a_master_cut_off_from_etcd_only") else {
        return;
    };
    let (a1, b1) = f.started_pair();
    cut_from_etcd(&f.lab, A, true);
    f.expect_only(B, "A cut off from etcd", &[&a1, &b1]);
    wait_for(DEADLINE, || {
        status(&f.lab, A)["instances"][0]["fault_kind"] == "quorum_lost"
    })
    .unwrap_or_else(|| panic!("A does not say quorum lost: {}", status(&f.lab, A)));
    cut_from_etcd(&f.lab, A, false);
    f.expect_only(A, "etcd reachable again", &[&a1, &b1]);
    never_two(&f, "master partitioned from etcd only");
}

#[test]
fn a_killed_master_s_vip_expires_before_the_backup_takes_it() {
    let Some(mut f) = fenced_lab("a_killed_master_s_vip_expires") else {
        return;
    };
    let (a1, b1) = f.started_pair();
    let killed = Instant::now();
    assert_eq!(stop(&mut f.lab, &a1, Signal::SIGKILL), Some(None));
    // Unfenced, a crash leaves the VIP on A for good; fenced, its kernel
    // lifetime runs out, and only then does B add it.
    f.expect_only(B, "A killed", &[&a1, &b1]);
    println!("crash takeover: {} ms", killed.elapsed().as_millis());
    if std::env::var_os("QUORUM_TEST_SHOW_LOGS").is_some() {
        println!("{}", b1.log_text());
    }
    never_two(&f, "master SIGKILLed");
}

#[test]
fn a_stopped_master_does_not_keep_or_readd_its_vip_on_waking() {
    let Some(mut f) = fenced_lab("a_stopped_master_does_not_keep_its_vip") else {
        return;
    };
    let (a1, b1) = f.started_pair();
    f.lab.signal(a1.pid, Signal::SIGSTOP);
    f.expect_only(B, "A stopped (SIGSTOP)", &[&a1, &b1]);
    // Longer than the lease (2 s) by far, then it runs again.
    let ttl_passed = Instant::now();
    std::thread::sleep(Duration::from_secs(3).saturating_sub(ttl_passed.elapsed()));
    f.lab.signal(a1.pid, Signal::SIGCONT);
    // It wakes with a dead lease: no VIP until it has a new lease, wins
    // VRRP back, and B has let the key go.
    f.expect_only(A, "A running again", &[&a1, &b1]);
    never_two(&f, "master SIGSTOPped past its lease");
}

#[test]
fn etcd_losing_one_member_or_its_leader_changes_nothing_and_losing_two_leaves_no_holder() {
    let Some(mut f) = fenced_lab("etcd_losing_members") else {
        return;
    };
    let (a1, b1) = f.started_pair();
    let before = [(&a1, a1.transitions()), (&b1, b1.transitions())];

    // The leader moves, twice: nothing changes.
    for _ in 0..2 {
        let leader = f.etcd.leader(&f.lab).expect("a leader");
        let to = [A, B, C].into_iter().find(|h| *h != leader).unwrap();
        assert!(f.etcd.move_leader(&f.lab, to), "move-leader to h{to}");
        wait_for(DEADLINE, || f.etcd.leader(&f.lab) == Some(to)).expect("leader moved");
        stays_on(&f.lab, f.vip, A, Duration::from_secs(3), "leader moved");
    }
    no_transitions_since(&before);

    // One member down (a follower: losing the leader costs an election,
    // which the lease rides out only if it is short): nothing changes.
    let leader = f.etcd.leader(&f.lab).expect("a leader");
    let follower = [C, B, A].into_iter().find(|h| *h != leader).unwrap();
    f.etcd.kill_member(&mut f.lab, follower);
    stays_on(&f.lab, f.vip, A, Duration::from_secs(6), "one member down");
    no_transitions_since(&before);

    // Two down: no quorum anywhere, so nobody holds the VIP.
    let second = [C, B, A]
        .into_iter()
        .find(|h| *h != follower && *h != leader)
        .unwrap();
    f.etcd.kill_member(&mut f.lab, second);
    f.expect_nobody("two members down", &[&a1, &b1]);
    stays_empty(&f, Duration::from_secs(3));

    // Back: the VIP returns to A.
    f.etcd.restart_member(&mut f.lab, follower).unwrap();
    f.etcd.restart_member(&mut f.lab, second).unwrap();
    f.expect_only(A, "members back", &[&a1, &b1]);
    never_two(&f, "etcd members down and the leader moved");
}

fn stays_empty(f: &Fenced, window: Duration) {
    let start = Instant::now();
    while start.elapsed() < window {
        assert_eq!(
            f.holders(),
            Vec::<usize>::new(),
            "nobody may hold it without quorum"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_fence_runs_over_tls_with_client_certificates() {
    let Some(mut f) = fenced_lab_with("the_fence_runs_over_tls", true) else {
        return;
    };
    let a1 = f.start(A, "1");
    let b1 = f.start(B, "1");
    f.expect_only(A, "both started over TLS", &[&a1, &b1]);
    let status_a = status(&f.lab, A);
    assert_eq!(status_a["quorum"]["keys"][0]["holder"], "h1", "{status_a}");
    assert!(
        status_a["quorum"]["endpoint_in_use"]
            .as_str()
            .is_some_and(|e| e.starts_with("https://")),
        "{status_a}"
    );
    // The key is in etcd, read back with the client certificate.
    let value = f
        .etcd
        .etcdctl(&f.lab, &["get", "/vipd/VI_1", "--print-value-only"]);
    assert_eq!(value.as_deref().map(str::trim), Some("h1"));
    assert_eq!(stop(&mut f.lab, &a1, Signal::SIGTERM), Some(Some(0)));
    f.expect_only(B, "A stopped", &[&a1, &b1]);
    never_two(&f, "over TLS");
}

#[test]
fn with_a_five_second_lease_the_etcd_leader_s_crash_costs_nothing() {
    let Some(mut f) = fenced_lab("killing_the_etcd_leader") else {
        return;
    };
    // At 2 s the lease is trusted 1.5 s without an answer, less than an
    // election may take after a crash (1 s timeout): 5 s rides it out.
    f.etcd_extra = "    lease_ttl: 5s\n".into();
    let (a1, b1) = f.started_pair();
    let before = [(&a1, a1.transitions()), (&b1, b1.transitions())];
    // The leader on a host without vipd, so only etcd is hit.
    if f.etcd.leader(&f.lab) != Some(C) {
        assert!(f.etcd.move_leader(&f.lab, C), "move-leader to h3");
        wait_for(DEADLINE, || f.etcd.leader(&f.lab) == Some(C)).expect("leader on h3");
    }
    f.etcd.kill_member(&mut f.lab, C);
    let elected =
        wait_for(DEADLINE, || f.etcd.leader(&f.lab).is_some_and(|h| h != C)).expect("a new leader");
    println!(
        "etcd leader killed: a new one after {} ms",
        elected.as_millis()
    );
    // Past the old lease deadline by far: still held, never dropped.
    stays_on(&f.lab, f.vip, A, Duration::from_secs(5), "a new leader");
    no_transitions_since(&before);
    let verdict = f.verdict();
    assert_eq!(verdict.no_holder, Duration::ZERO, "{:?}", verdict.gaps);
    never_two(&f, "etcd leader killed (lease_ttl 5 s)");
}

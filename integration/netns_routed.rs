//! Beyond one LAN: A and B in two subnets behind a router, the VIP on the
//! master's lo, announced over eBGP (with BFD) by BIRD on each host to
//! BIRD on the router. A client behind the router asks a TCP service on
//! the VIP who it is. The story: the client reaches A; A's vipd stops and
//! it reaches B; A comes back; A's link is cut on the router's side; A is
//! silenced with its link up; each time the client reaches B and never A,
//! and A again once it is back.

mod support;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;
use vipd::lab::routed::{self, Client, NameService};
use vipd::lab::{wait_for, Lab};

/// How often the client asks (as the measurements did).
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// The BGP speaker on hosts A and B (the router always runs BIRD).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Speaker {
    Bird,
    Frr,
}

fn routed_lab_or_skip(test: &str, speaker: Speaker) -> Option<Lab> {
    let missing = vipd::lab::missing_prerequisite()
        .or_else(routed::bird_missing)
        .or_else(|| {
            (speaker == Speaker::Frr)
                .then(routed::frr_missing)
                .flatten()
        });
    vipd::lab::testing::proceed_or_skip(test, missing)
        .then(|| Lab::routed().unwrap_or_else(|e| panic!("{test}: building the lab: {e}")))
}

/// BGP speakers and name services up; vipd not yet.
fn speakers_and_services(lab: &mut Lab, speaker: Speaker) -> [NameService; 2] {
    lab.start_bird(None).expect("router's BIRD");
    for host in [1, 2] {
        match speaker {
            Speaker::Bird => drop(lab.start_bird(Some(host)).expect("host's BIRD")),
            Speaker::Frr => drop(lab.start_frr(host).expect("host's FRR")),
        }
    }
    [
        NameService::start(lab, 1, "A").expect("A's service"),
        NameService::start(lab, 2, "B").expect("B's service"),
    ]
}

fn config(lab: &Lab, host: usize, priority: u8) -> PathBuf {
    let socket = routed::host_file(lab, host, "vipd.sock");
    let path = routed::host_file(lab, host, "vipd.yaml");
    fs::write(&path, routed::vipd_config(host, priority, &socket)).unwrap();
    path
}

/// Waits until the client's latest answer (made after `since`) is
/// `name`; panics with the logs if it never is.
fn wait_for_answer(lab: &Lab, client: &Client, since: Instant, name: &str, step: &str) {
    if client
        .wait_for_answer(since, name, DEADLINE, || false)
        .is_some()
    {
        return;
    }
    let logs: String = fs::read_dir(&lab.dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .map(|e| {
            format!(
                "--- {}\n{}\n",
                e.path().display(),
                fs::read_to_string(e.path()).unwrap_or_default()
            )
        })
        .collect();
    panic!(
        "{step}: the client never reached {name}; latest {:?}, router's next hop {:?}\n{logs}",
        client.latest_since(since),
        lab.router_next_hop()
    )
}

/// After B first answers (following `since`), A never does.
fn never_a_after_b(client: &Client, since: Instant, step: &str) {
    let probes = client.probes_since(since);
    let first_b = probes
        .iter()
        .position(|p| p.answer.as_deref() == Some("B"))
        .expect("B answered");
    let late_a = probes[first_b..]
        .iter()
        .filter(|p| p.answer.as_deref() == Some("A"))
        .count();
    assert_eq!(
        late_a, 0,
        "{step}: A answered {late_a} times after B took over"
    );
}

/// Keeps probing until `more` further probes have been made.
fn probe_on(client: &Client, more: usize) {
    let seen = client.probes().len();
    wait_for(DEADLINE, || client.probes().len() >= seen + more).expect("the client probes");
}

#[test]
fn a_routed_vip_follows_the_master_across_subnets() {
    let test = "a_routed_vip_follows_the_master_across_subnets";
    let Some(mut lab) = routed_lab_or_skip(test, Speaker::Bird) else {
        return;
    };
    let _services = speakers_and_services(&mut lab, Speaker::Bird);
    let (config_a, config_b) = (config(&lab, 1, 100), config(&lab, 2, 90));
    let a = start_vipd(&mut lab, 1, &config_a, "run1", &[]);
    let _b = start_vipd(&mut lab, 2, &config_b, "run1", &[]);
    let client = Client::start(&lab, PROBE_EVERY).expect("client");
    let vip = std::net::IpAddr::V4(routed::VIP);

    // 1. The client reaches A, the router routes to A, the VIP is on A's lo only.
    let since = Instant::now();
    wait_for_answer(&lab, &client, since, "A", "start");
    assert_eq!(lab.router_next_hop(), Some(lab.host(1).ipv4));
    assert!(
        !lab.loopback_addresses(2).contains(&vip),
        "B holds the VIP as backup"
    );

    // 2. A's vipd stops: B.
    let stopped = Instant::now();
    lab.signal(a.pid, Signal::SIGTERM);
    wait_for_answer(&lab, &client, stopped, "B", "A stopped");
    assert_eq!(
        lab.wait_exit(a.pid, DEADLINE),
        Some(Some(0)),
        "{}",
        a.log_text()
    );
    assert!(!lab.loopback_addresses(1).contains(&vip), "A kept the VIP");
    probe_on(&client, 10);
    never_a_after_b(&client, stopped, "A stopped");
    report("graceful stop", &client, stopped);

    // 3. A again: A.
    let restarted = Instant::now();
    let _a = start_vipd(&mut lab, 1, &config_a, "run2", &[]);
    wait_for_answer(&lab, &client, restarted, "A", "A started again");

    // 4. A's link cut on the router's side: B, never A; back: A.
    let cut = Instant::now();
    lab.set_cable(1, false).unwrap();
    wait_for_answer(&lab, &client, cut, "B", "A's link cut");
    probe_on(&client, 10);
    never_a_after_b(&client, cut, "A's link cut");
    report("link cut", &client, cut);
    let healed = Instant::now();
    lab.set_cable(1, true).unwrap();
    wait_for_answer(&lab, &client, healed, "A", "A's link back");

    // 5. A silent with its link up (the router drops all its traffic): B,
    //    never A; heard again: A.
    let silenced = Instant::now();
    lab.set_silenced(1, true).unwrap();
    wait_for_answer(&lab, &client, silenced, "B", "A silenced");
    probe_on(&client, 10);
    never_a_after_b(&client, silenced, "A silenced");
    report("silent host", &client, silenced);
    let heard = Instant::now();
    lab.set_silenced(1, false).unwrap();
    wait_for_answer(&lab, &client, heard, "A", "A heard again");
}

/// Prints the client-visible gap (the bench measures; the test only shows).
fn report(what: &str, client: &Client, changed: Instant) {
    let gap = routed::gap(&client.probes(), changed, "A", "B");
    println!("{what}: client-visible gap {gap:?}");
}

/// The same recipe with FRR on the hosts (config/frr-vip.conf's
/// route-map on `redistribute connected`): A; A stopped, B; A again, A.
#[test]
fn a_routed_vip_announced_by_frr_follows_the_master() {
    let test = "a_routed_vip_announced_by_frr_follows_the_master";
    let Some(mut lab) = routed_lab_or_skip(test, Speaker::Frr) else {
        return;
    };
    let _services = speakers_and_services(&mut lab, Speaker::Frr);
    let (config_a, config_b) = (config(&lab, 1, 100), config(&lab, 2, 90));
    let a = start_vipd(&mut lab, 1, &config_a, "run1", &[]);
    let _b = start_vipd(&mut lab, 2, &config_b, "run1", &[]);
    let client = Client::start(&lab, PROBE_EVERY).expect("client");

    let since = Instant::now();
    wait_for_answer(&lab, &client, since, "A", "start");
    assert_eq!(lab.router_next_hop(), Some(lab.host(1).ipv4));

    let stopped = Instant::now();
    lab.signal(a.pid, Signal::SIGTERM);
    wait_for_answer(&lab, &client, stopped, "B", "A stopped");
    assert_eq!(lab.router_next_hop(), Some(lab.host(2).ipv4));
    probe_on(&client, 10);
    never_a_after_b(&client, stopped, "A stopped");
    report("graceful stop, FRR", &client, stopped);

    let restarted = Instant::now();
    let _a = start_vipd(&mut lab, 1, &config_a, "run2", &[]);
    wait_for_answer(&lab, &client, restarted, "A", "A started again");
}

//! `vipd demo --routed`: the seed's story across subnets, the VIP
//! announced over BGP by BIRD (see `routed` for the lab). A client behind
//! the router asks the VIP who it is: A; stop A, B; start A, A again.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::demo::{start_vipd, Options, Timeline};
use super::routed::{self, Client, NameService, VIP};
use super::{Lab, LabError};

/// How often the client asks.
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// Runs the story; true when every step passed. As `demo::run`, Ctrl-C
/// ends it early and the lab is removed on every path unless `keep`.
pub fn run(options: &Options, vipd: &Path, interrupted: &AtomicBool) -> Result<bool, LabError> {
    if let Some(missing) = routed::bird_missing() {
        return Err(LabError::Missing(format!(
            "the routed demo needs BIRD, the BGP speaker that announces the VIP: {missing}"
        )));
    }
    let mut lab = Lab::routed()?;
    let mut t = Timeline {
        start: Instant::now(),
        passed: 0,
        failed: 0,
    };
    t.say(&format!(
        "lab up: A {} and B {} in two subnets behind a router, client {}; VIP {VIP} on the master's lo, announced over eBGP with BFD (100 ms x 3)",
        lab.host(1).ipv4,
        lab.host(2).ipv4,
        lab.host(routed::CLIENT).ipv4
    ));
    lab.start_bird(None)?;
    lab.start_bird(Some(1))?;
    lab.start_bird(Some(2))?;
    let _services = [
        NameService::start(&lab, 1, "A")?,
        NameService::start(&lab, 2, "B")?,
    ];
    t.say("started BIRD on the router, A and B, and a service on each host that answers with its name");
    let config = |lab: &Lab, host: usize, priority| -> Result<PathBuf, LabError> {
        let socket = routed::host_file(lab, host, "vipd.sock");
        let path = routed::host_file(lab, host, "vipd.yaml");
        fs::write(&path, routed::vipd_config(host, priority, &socket))?;
        Ok(path)
    };
    let a_config = config(&lab, 1, 100)?;
    let b_config = config(&lab, 2, 90)?;
    let start = |lab: &mut Lab, host: usize, config: &Path, run: u32| {
        start_vipd(lab, vipd, host, config, run)
    };
    let stop_early = || interrupted.load(Ordering::SeqCst);
    // Generous: BGP sessions come up in seconds; a loaded machine adds more.
    let deadline = Duration::from_secs(30);

    let a_pid = start(&mut lab, 1, &a_config, 1)?;
    start(&mut lab, 2, &b_config, 1)?;
    let client = Client::start(&lab, PROBE_EVERY)?;
    t.say("started vipd on A (priority 100) and B (90): unicast VRRPv3 at 0.1 s across the router");
    let since = Instant::now();
    let ok = t.check(
        "1. the client reaches A",
        client.wait_for_answer(since, "A", deadline, stop_early),
        stop_early(),
    );

    if ok && !stop_early() {
        let how = options.stop_signal();
        t.say(&format!("stopping A's vipd with {how}"));
        let stopped = Instant::now();
        lab.signal(a_pid, how);
        let moved = client.wait_for_answer(stopped, "B", deadline, stop_early);
        let step2 = t.check("2. the client reaches B", moved, stop_early());
        if step2 {
            if let Some(gap) = routed::gap(&client.probes(), stopped, "A", "B") {
                t.say(&format!(
                    "   the client saw no answer for {} ms (probing every {} ms)",
                    gap.as_millis(),
                    PROBE_EVERY.as_millis()
                ));
            }
        }
        if step2 && !stop_early() {
            let restarted = Instant::now();
            start(&mut lab, 1, &a_config, 2)?;
            t.say("started vipd on A again");
            t.check(
                "3. the client reaches A again",
                client.wait_for_answer(restarted, "A", deadline, stop_early),
                stop_early(),
            );
        }
    }
    drop(client);
    Ok(t.finish(&mut lab, options, stop_early()))
}

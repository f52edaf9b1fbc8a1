//! A bug in one actor must not move the address: the panicking instance
//! actor is restarted by its supervisor and, still holding the addresses,
//! resumes as master at once.

mod support;

use std::fs::File;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use support::*;
use vipd::actors::instance::{InjectPanic, Inspect, Snapshot};
use vipd::config::load_and_validate;
use vipd::proto::State;

#[test]
fn a_panicking_instance_actor_restarts_without_moving_the_address() {
    let Some(mut lab) = lab_or_skip(
        "a_panicking_instance_actor_restarts_without_moving_the_address",
        2,
    ) else {
        return;
    };
    let vip = Flavour::V2Ipv4.vip();
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let a_config = vipd_config(&lab, 1, Flavour::V2Ipv4, 100, "1111");
    let (_, mut settings) = load_and_validate(&[a_config]).unwrap();
    settings.control_socket = lab.dir.join("in-process.sock");

    // A's daemon runs in this process, in a thread inside A's namespace,
    // so the test can reach its actors.
    let netns = File::open(format!("/var/run/netns/{}", lab.host(1).netns)).unwrap();
    let (to_test, from_daemon) = mpsc::channel::<&'static str>();
    let (to_daemon, from_test) = mpsc::channel::<()>();
    let daemon = std::thread::spawn(move || -> Result<(Snapshot, Snapshot), String> {
        setns(&netns, CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string())?;
        actix::System::new().block_on(async move {
            let running = vipd::actors::supervisor::start(settings)
                .await
                .map_err(|e| e.to_string())?;
            let instance = running.instances["VI_1"].actor.clone();
            let inspect = || async { instance.send(Inspect).await.map_err(|e| e.to_string()) };
            let deadline = Instant::now() + DEADLINE;
            while inspect().await?.state != State::Master {
                if Instant::now() > deadline {
                    return Err("A never became master".into());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let before = inspect().await?;
            to_test.send("master").unwrap();
            instance.do_send(InjectPanic);
            // The supervisor restarts it; the next message reaches the new one.
            let after = inspect().await?;
            to_test.send("restarted").unwrap();
            // Keep running until the test has watched the address.
            while from_test.try_recv().is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for instance in running.instances.values().map(|i| &i.actor) {
                let _ = instance.send(vipd::actors::instance::Shutdown).await;
            }
            Ok((before, after))
        })
    });

    assert_eq!(from_daemon.recv_timeout(DEADLINE), Ok("master"));
    expect_only(&lab, vip, 1, "A master", &[&b]);
    assert_eq!(from_daemon.recv_timeout(DEADLINE), Ok("restarted"));
    // Longer than B's Master_Down_Interval: had A gone quiet or dropped
    // the address, B would have taken over by now.
    let watch_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < watch_until {
        assert_eq!(
            lab.holders(vip),
            vec![1],
            "the address moved after the restart"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    to_daemon.send(()).unwrap();
    let (before, after) = daemon.join().unwrap().expect("daemon thread");
    assert_eq!(before.restarts, 0);
    assert_eq!(after.restarts, 1, "the supervisor restarted the actor");
    assert_eq!(after.state, State::Master, "resumed as master at once");
    assert_eq!(
        b.transitions(),
        1,
        "B stayed in BACKUP throughout:\n{}",
        b.log_text()
    );
}

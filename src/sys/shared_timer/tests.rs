use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::SharedTimer;

/// Generous: two shared cores may delay a wake-up; the tests check order
/// and "not before", never "within".
const DEADLINE: Duration = Duration::from_secs(10);

fn timer(tx: &mpsc::UnboundedSender<(&'static str, Instant)>, name: &'static str) -> SharedTimer {
    let tx = tx.clone();
    SharedTimer::new(move || {
        let _ = tx.send((name, Instant::now()));
    })
    .expect("timer")
}

async fn next(
    rx: &mut mpsc::UnboundedReceiver<(&'static str, Instant)>,
) -> (&'static str, Instant) {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .expect("an expiry within the deadline")
        .expect("open channel")
}

fn in_system(test: impl std::future::Future<Output = ()> + 'static) {
    actix::System::new().block_on(test);
}

#[test]
fn fires_in_deadline_order_and_never_before() {
    in_system(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let a = timer(&tx, "a");
        let b = timer(&tx, "b");
        let c = timer(&tx, "c");
        a.set(Some(at(60))).unwrap();
        b.set(Some(at(20))).unwrap();
        c.set(Some(at(40))).unwrap();
        for (name, due) in [("b", at(20)), ("c", at(40)), ("a", at(60))] {
            let (fired, when) = next(&mut rx).await;
            assert_eq!(fired, name);
            assert!(when >= due, "{name} fired {:?} early", due - when);
        }
    });
}

#[test]
fn a_deadline_moved_later_fires_once_at_the_new_time() {
    in_system(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let moved = timer(&tx, "moved");
        let sentinel = timer(&tx, "sentinel");
        moved.set(Some(at(10))).unwrap();
        sentinel.set(Some(at(150))).unwrap();
        // Moved twice, as a backup's Master_Down is by each advert.
        moved.set(Some(at(50))).unwrap();
        moved.set(Some(at(100))).unwrap();
        let (fired, when) = next(&mut rx).await;
        assert_eq!(fired, "moved");
        assert!(when >= at(100), "fired at the old deadline");
        assert_eq!(next(&mut rx).await.0, "sentinel", "fired more than once");
    });
}

#[test]
fn a_deadline_moved_earlier_fires_at_the_new_time() {
    in_system(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let moved = timer(&tx, "moved");
        let sentinel = timer(&tx, "sentinel");
        moved.set(Some(at(5_000))).unwrap();
        sentinel.set(Some(at(200))).unwrap();
        moved.set(Some(at(20))).unwrap();
        let (fired, when) = next(&mut rx).await;
        assert_eq!(fired, "moved");
        assert!(when >= at(20));
        assert_eq!(next(&mut rx).await.0, "sentinel");
    });
}

#[test]
fn cleared_and_dropped_deadlines_never_fire() {
    in_system(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let cleared = timer(&tx, "cleared");
        let dropped = timer(&tx, "dropped");
        let sentinel = timer(&tx, "sentinel");
        cleared.set(Some(at(10))).unwrap();
        dropped.set(Some(at(10))).unwrap();
        sentinel.set(Some(at(80))).unwrap();
        cleared.set(None).unwrap();
        drop(dropped);
        assert_eq!(next(&mut rx).await.0, "sentinel");
        // Set again after firing: a fresh deadline, not a leftover.
        cleared.set(Some(at(120))).unwrap();
        assert_eq!(next(&mut rx).await.0, "cleared");
    });
}

#[test]
fn a_deadline_already_past_fires_at_once() {
    in_system(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let past = timer(&tx, "past");
        past.set(Some(Instant::now() - Duration::from_millis(5)))
            .unwrap();
        assert_eq!(next(&mut rx).await.0, "past");
    });
}

#[test]
fn with_many_deadlines_one_moved_later_still_fires_only_at_its_new_time() {
    in_system(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        // Enough that the timerfd is left armed early (LAZY_FROM).
        let names = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];
        let timers: Vec<_> = names.iter().map(|name| timer(&tx, name)).collect();
        for (i, t) in timers.iter().enumerate() {
            t.set(Some(at(100 + 20 * i as u64))).unwrap();
        }
        assert!(timers.len() >= super::LAZY_FROM);
        // The earliest moves behind all the others, as a backup's
        // Master_Down does when an advert arrives.
        timers[0].set(Some(at(400))).unwrap();
        let mut order = Vec::new();
        for _ in 0..names.len() {
            let (name, when) = next(&mut rx).await;
            if name == "t0" {
                assert!(when >= at(400), "t0 fired at its old deadline");
            }
            order.push(name);
        }
        let mut expected: Vec<_> = names[1..].to_vec();
        expected.push("t0");
        assert_eq!(order, expected);
    });
}

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::SharedTimer;

/// Generous: two shared cores may delay a wake-up; the tests check order
/// and "not before", never "within".
const DEADLINE: Duration = Duration::from_secs(10);

/// Timers that report their expiries, named, with times counted from the
/// fixture's start.
struct Expiries {
    tx: mpsc::UnboundedSender<(&'static str, Instant)>,
    rx: mpsc::UnboundedReceiver<(&'static str, Instant)>,
    start: Instant,
}

impl Expiries {
    fn new() -> Expiries {
        let (tx, rx) = mpsc::unbounded_channel();
        Expiries {
            tx,
            rx,
            start: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn timer(&self, name: &'static str) -> SharedTimer {
        let tx = self.tx.clone();
        SharedTimer::new(move || {
            let _ = tx.send((name, Instant::now()));
        })
        .expect("timer")
    }

    async fn next(&mut self) -> (&'static str, Instant) {
        tokio::time::timeout(DEADLINE, self.rx.recv())
            .await
            .expect("an expiry within the deadline")
            .expect("open channel")
    }
}

fn in_system(test: impl std::future::Future<Output = ()> + 'static) {
    actix::System::new().block_on(test);
}

#[test]
fn fires_in_deadline_order_and_never_before() {
    in_system(async {
        let mut e = Expiries::new();
        let (a, b, c) = (e.timer("a"), e.timer("b"), e.timer("c"));
        a.set(Some(e.at(60))).unwrap();
        b.set(Some(e.at(20))).unwrap();
        c.set(Some(e.at(40))).unwrap();
        for (name, due) in [("b", e.at(20)), ("c", e.at(40)), ("a", e.at(60))] {
            let (fired, when) = e.next().await;
            assert_eq!(fired, name);
            assert!(when >= due, "{name} fired {:?} early", due - when);
        }
    });
}

#[test]
fn a_deadline_moved_later_fires_once_at_the_new_time() {
    in_system(async {
        let mut e = Expiries::new();
        let (moved, sentinel) = (e.timer("moved"), e.timer("sentinel"));
        moved.set(Some(e.at(10))).unwrap();
        sentinel.set(Some(e.at(150))).unwrap();
        // Moved twice, as a backup's Master_Down is by each advert.
        moved.set(Some(e.at(50))).unwrap();
        moved.set(Some(e.at(100))).unwrap();
        let (fired, when) = e.next().await;
        assert_eq!(fired, "moved");
        assert!(when >= e.at(100), "fired at the old deadline");
        assert_eq!(e.next().await.0, "sentinel", "fired more than once");
    });
}

#[test]
fn a_deadline_moved_earlier_fires_at_the_new_time() {
    in_system(async {
        let mut e = Expiries::new();
        let (moved, sentinel) = (e.timer("moved"), e.timer("sentinel"));
        moved.set(Some(e.at(5_000))).unwrap();
        sentinel.set(Some(e.at(200))).unwrap();
        moved.set(Some(e.at(20))).unwrap();
        let (fired, when) = e.next().await;
        assert_eq!(fired, "moved");
        assert!(when >= e.at(20));
        assert_eq!(e.next().await.0, "sentinel");
    });
}

#[test]
fn cleared_and_dropped_deadlines_never_fire() {
    in_system(async {
        let mut e = Expiries::new();
        let (cleared, dropped) = (e.timer("cleared"), e.timer("dropped"));
        let sentinel = e.timer("sentinel");
        cleared.set(Some(e.at(10))).unwrap();
        dropped.set(Some(e.at(10))).unwrap();
        sentinel.set(Some(e.at(80))).unwrap();
        cleared.set(None).unwrap();
        drop(dropped);
        assert_eq!(e.next().await.0, "sentinel");
        // Set again after firing: a fresh deadline, not a leftover.
        cleared.set(Some(e.at(120))).unwrap();
        assert_eq!(e.next().await.0, "cleared");
    });
}

#[test]
fn a_deadline_already_past_fires_at_once() {
    in_system(async {
        let mut e = Expiries::new();
        let past = e.timer("past");
        past.set(Some(Instant::now() - Duration::from_millis(5)))
            .unwrap();
        assert_eq!(e.next().await.0, "past");
    });
}

#[test]
fn with_many_deadlines_one_moved_later_still_fires_only_at_its_new_time() {
    in_system(async {
        let mut e = Expiries::new();
        // Enough that the timerfd is left armed early (LAZY_FROM).
        let names = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];
        let timers: Vec<_> = names.iter().map(|name| e.timer(name)).collect();
        assert!(timers.len() >= super::LAZY_FROM);
        for (i, t) in timers.iter().enumerate() {
            t.set(Some(e.at(100 + 20 * i as u64))).unwrap();
        }
        // The earliest moves behind all the others, as a backup's
        // Master_Down does when an advert arrives.
        timers[0].set(Some(e.at(400))).unwrap();
        let mut order = Vec::new();
        for _ in 0..names.len() {
            let (name, when) = e.next().await;
            if name == "t0" {
                assert!(when >= e.at(400), "t0 fired at its old deadline");
            }
            order.push(name);
        }
        let mut expected: Vec<_> = names[1..].to_vec();
        expected.push("t0");
        assert_eq!(order, expected);
    });
}

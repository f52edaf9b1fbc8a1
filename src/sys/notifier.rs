//! Notify scripts and the notify FIFO, keepalived-compatible: for each
//! state change, the FIFO line (`INSTANCE "VI_1" MASTER 100`), then the
//! state's own script (notify_master ...), then `notify` with
//! `INSTANCE name STATE priority`.
//!
//! One queue per instance or sync group *name*, kept in a registry that a
//! reload reuses: the instance a reload replaces and its replacement share
//! the queue, so the old one's STOP always runs before the new one's first
//! notification. Each notification carries the settings it is run with,
//! so a reload that changes the scripts changes them from its next
//! notification on, in the same order. Queues are bounded; a full one
//! drops the notification, counts it and says so once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::config::health::NotifySettings;
use crate::log::phrases::{self, Notice, Subject};
use crate::proto::State;

use super::notify_fifo::FifoQueue;
use super::probe::{run_script, Outcome};

/// Notifications waiting for one subject's scripts; past it they are
/// dropped. A subject changes state a few times a second at most.
pub const QUEUE_BOUND: usize = 256;

pub struct Notification {
    /// The state entered (Initialize: the instance stopped), or an event.
    pub notice: Notice,
    pub priority: u8,
    /// Completed once everything for this notification has run (dropped
    /// unsent if the notification was).
    pub done: Option<oneshot::Sender<()>>,
}

/// The notification was dropped: the subject's queue was full.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("notify queue full ({QUEUE_BOUND}); notification dropped")]
pub struct QueueFull;

struct Queued {
    notification: Notification,
    settings: Arc<NotifySettings>,
}

/// One subject's queue, shared by every handle made for its name.
struct Queue {
    tx: mpsc::Sender<Queued>,
    dropped: Arc<AtomicU64>,
    full_logged: Arc<AtomicBool>,
    /// notify_master_rx_lower_pri runs beside the queue, one at a time.
    rx_lower_running: Arc<AtomicBool>,
}

/// What an instance or group holds to notify: its queue, and the
/// settings (and FIFO) of the configuration it was made for.
#[derive(Clone)]
pub struct Notifier {
    subject: Subject,
    settings: Arc<NotifySettings>,
    tx: mpsc::Sender<Queued>,
    fifo: Option<FifoQueue>,
    dropped: Arc<AtomicU64>,
    full_logged: Arc<AtomicBool>,
    rx_lower_running: Arc<AtomicBool>,
}

impl Notifier {
    /// The FIFO line only (keepalived's fifo_write_vrrp_states_on_reload:
    /// the state an instance or group keeps through a reload).
    pub fn write_fifo(&self, notice: Notice, priority: u8) {
        if let Some(fifo) = &self.fifo {
            fifo.push(phrases::fifo_line(&self.subject, notice, priority));
        }
    }

    /// Queues `notification` without waiting: the FIFO line at once, the
    /// scripts behind what this subject already has queued.
    pub fn send(&self, mut notification: Notification) -> Result<(), QueueFull> {
        // keepalived's old way for a deleted instance, unless asked for
        // DELETED: FAULT, and nothing if it was in FAULT already.
        if let Notice::Deleted { was_fault } = notification.notice {
            if !self.settings.notify_deleted {
                if was_fault {
                    if let Some(done) = notification.done.take() {
                        let _ = done.send(());
                    }
                    return Ok(());
                }
                notification.notice = Notice::DeletedAsFault;
            }
        }
        let scripts = match notification.notice {
            Notice::Entered(_) | Notice::Deleted { .. } | Notice::DeletedAsFault => true,
            // Not in the state changes' queue: heard once an interval (a
            // forger can make it so), a slow script would hold back
            // notify_backup behind it. One runs at a time; the others are
            // folded into it (the FIFO still gets every line).
            Notice::MasterRxLowerPriority => {
                if let Some(script) = self.settings.master_rx_lower_pri.clone() {
                    if !self.rx_lower_running.swap(true, Ordering::AcqRel) {
                        let (running, settings) =
                            (self.rx_lower_running.clone(), self.settings.clone());
                        let instance = self.subject.name().to_string();
                        tokio::spawn(async move {
                            if let Outcome::Failure(why) | Outcome::NotRun(why) =
                                run_script(&script, &[], settings.run_as.as_ref(), settings.timeout)
                                    .await
                            {
                                phrases::notify_script_failed(&instance, &script.line, &why);
                            }
                            running.store(false, Ordering::Release);
                        });
                    }
                }
                false
            }
            // keepalived writes priority changes to the FIFO only, and
            // only when asked (vrrp_notify.c send_instance_priority_notifies).
            Notice::PriorityChanged { .. } if !self.settings.priority_changes => return Ok(()),
            Notice::PriorityChanged { .. } => false,
        };
        if let Some(fifo) = &self.fifo {
            fifo.push(phrases::fifo_line(
                &self.subject,
                notification.notice,
                notification.priority,
            ));
        }
        if !scripts {
            if let Some(done) = notification.done {
                let _ = done.send(());
            }
            return Ok(());
        }
        let queued = Queued {
            notification,
            settings: self.settings.clone(),
        };
        match self.tx.try_send(queued) {
            Ok(()) => {
                self.full_logged.store(false, Ordering::Relaxed);
                Ok(())
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.full_logged.swap(true, Ordering::Relaxed) {
                    let name = self.subject.name();
                    tracing::warn!(instance = %name, "({name}) {QUEUE_BOUND} notifications already wait for their scripts; dropping notifications until there is room");
                }
                Err(QueueFull)
            }
        }
    }
}

/// The queues of every subject and the writer of every FIFO, for the
/// daemon's life: a reload asks again by name and gets the same queue.
#[derive(Default)]
pub struct Notifiers {
    queues: HashMap<(bool, String), Queue>,
    fifos: HashMap<PathBuf, FifoQueue>,
    /// FIFOs whose reader vipd runs (notify_fifo_script): opened
    /// read-write, so lines wait for it.
    read_by_us: Vec<PathBuf>,
}

impl Notifiers {
    /// The handle for `subject` with `settings`; its queue is started on
    /// the current runtime the first time the name is asked for.
    pub fn for_subject(&mut self, subject: Subject, settings: NotifySettings) -> Notifier {
        let key = (
            matches!(subject, Subject::Group(_)),
            subject.name().to_string(),
        );
        let queue = self
            .queues
            .entry(key)
            .or_insert_with(|| spawn_queue(subject.clone()));
        let fifo = settings.fifo.as_ref().map(|path| {
            self.fifos
                .entry(path.clone())
                .or_insert_with(|| FifoQueue::spawn(path, self.read_by_us.contains(path)))
                .clone()
        });
        Notifier {
            subject,
            settings: Arc::new(settings),
            tx: queue.tx.clone(),
            fifo,
            dropped: queue.dropped.clone(),
            full_logged: queue.full_logged.clone(),
            rx_lower_running: queue.rx_lower_running.clone(),
        }
    }

    /// vipd runs the reader of `fifo`: its lines wait in the pipe for it.
    /// Before the first subject asks for the FIFO.
    pub fn reader_runs(&mut self, fifo: PathBuf) {
        self.read_by_us.push(fifo);
    }

    /// After a reload: lets go of the queues and FIFO writers no instance
    /// or group of the new configuration uses. Each ends once its last
    /// handle is gone and what it holds has run (a removed instance's
    /// STOP still runs); a name used again later gets a new queue.
    pub fn keep_only(&mut self, subjects: &[Subject], fifos: &[PathBuf]) {
        let key = |s: &Subject| (matches!(s, Subject::Group(_)), s.name().to_string());
        let wanted: Vec<_> = subjects.iter().map(key).collect();
        self.queues.retain(|k, _| wanted.contains(k));
        self.fifos.retain(|path, _| fifos.contains(path));
    }

    /// Resolves once every FIFO's queued lines are written or dropped.
    pub fn fifos_flushed(&self) -> impl std::future::Future<Output = ()> {
        let all = futures::future::join_all(self.fifos.values().map(FifoQueue::flushed));
        async move {
            all.await;
        }
    }

    /// Notifications dropped so far: queues full, FIFO lines not written.
    pub fn dropped_total(&self) -> u64 {
        let queues: u64 = self
            .queues
            .values()
            .map(|q| q.dropped.load(Ordering::Relaxed))
            .sum();
        let fifos: u64 = self
            .fifos
            .values()
            .map(|f| f.dropped.load(Ordering::Relaxed))
            .sum();
        queues + fifos
    }
}

fn spawn_queue(subject: Subject) -> Queue {
    let (tx, mut rx) = mpsc::channel::<Queued>(QUEUE_BOUND);
    tokio::spawn(async move {
        while let Some(Queued {
            notification,
            settings,
        }) = rx.recv().await
        {
            run_scripts(&subject, &settings, &notification).await;
            if let Some(done) = notification.done {
                let _ = done.send(());
            }
        }
    });
    Queue {
        tx,
        dropped: Arc::default(),
        full_logged: Arc::default(),
        rx_lower_running: Arc::default(),
    }
}

async fn run_scripts(subject: &Subject, settings: &NotifySettings, n: &Notification) {
    let instance = subject.name();
    let (own, any, args) = match n.notice {
        Notice::Entered(state) => {
            let own = match state {
                State::Master => settings.master.as_ref(),
                State::Backup => settings.backup.as_ref(),
                State::Fault => settings.fault.as_ref(),
                State::Initialize => settings.stop.as_ref(),
            };
            let args = phrases::notify_arguments(subject, n.notice, n.priority);
            (own, settings.any.as_ref(), args)
        }
        Notice::Deleted { .. } => {
            let args = phrases::notify_arguments(subject, n.notice, n.priority);
            (settings.deleted.as_ref(), settings.any.as_ref(), args)
        }
        Notice::DeletedAsFault => {
            let args = phrases::notify_arguments(subject, n.notice, n.priority);
            (None, settings.any.as_ref(), args)
        }
        // Run beside the queue (Notifier::send).
        Notice::MasterRxLowerPriority => (None, None, Vec::new()),
        Notice::PriorityChanged { .. } => (None, None, Vec::new()),
    };
    for (script, extra) in [(own, &[][..]), (any, &args[..])] {
        let Some(script) = script else { continue };
        if let Outcome::Failure(why) | Outcome::NotRun(why) =
            run_script(script, extra, settings.run_as.as_ref(), settings.timeout).await
        {
            phrases::notify_script_failed(instance, &script.line, &why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(stop: Option<&str>, master: Option<&str>) -> NotifySettings {
        let script = |line: Option<&str>| line.map(|l| crate::config::scripts::parse(l).unwrap());
        NotifySettings {
            stop: script(stop),
            master: script(master),
            timeout: Duration::from_secs(20),
            ..NotifySettings::default()
        }
    }

    /// A reload replaces VI_1: the old instance's STOP script is slow, the
    /// new one's MASTER script quick. Asked for by name, the replacement
    /// gets the same queue, so STOP still runs first (with a queue per
    /// handle, as before, MASTER finished first).
    #[tokio::test]
    async fn the_old_instances_stop_runs_before_its_replacements_first_notification() {
        let record = std::env::temp_dir().join(format!("vipd-notify-order-{}", std::process::id()));
        let _ = std::fs::remove_file(&record);
        let r = record.display();
        let mut notifiers = Notifiers::default();
        let old = notifiers.for_subject(
            Subject::Instance("VI_1".into()),
            settings(
                Some(&format!("/bin/sh -c 'sleep 0.5; echo old-stop >> {r}'")),
                None,
            ),
        );
        let new = notifiers.for_subject(
            Subject::Instance("VI_1".into()),
            settings(None, Some(&format!("/bin/sh -c 'echo new-master >> {r}'"))),
        );
        let (stopped, stop_done) = oneshot::channel();
        let (mastered, master_done) = oneshot::channel();
        old.send(Notification {
            notice: Notice::Entered(State::Initialize),
            priority: 100,
            done: Some(stopped),
        })
        .unwrap();
        drop(old); // retired
        new.send(Notification {
            notice: Notice::Entered(State::Master),
            priority: 100,
            done: Some(mastered),
        })
        .unwrap();
        tokio::time::timeout(Duration::from_secs(60), async {
            stop_done.await.unwrap();
            master_done.await.unwrap();
        })
        .await
        .expect("the notifications ran");
        assert_eq!(
            std::fs::read_to_string(&record).unwrap(),
            "old-stop\nnew-master\n"
        );
        std::fs::remove_file(&record).unwrap();
    }

    /// notify_master_rx_lower_pri, heard three times while its slow
    /// script runs: it runs once, beside the queue, and the state change
    /// sent after it is not held back behind it.
    #[tokio::test]
    async fn a_slow_rx_lower_script_holds_back_no_state_change_and_runs_once() {
        let record = std::env::temp_dir().join(format!("vipd-notify-rx-{}", std::process::id()));
        let _ = std::fs::remove_file(&record);
        let r = record.display();
        let script = |line: String| Some(crate::config::scripts::parse(&line).unwrap());
        let settings = NotifySettings {
            backup: script(format!("/bin/sh -c 'echo backup >> {r}'")),
            master_rx_lower_pri: script(format!("/bin/sh -c 'sleep 1; echo rx >> {r}'")),
            timeout: Duration::from_secs(20),
            ..NotifySettings::default()
        };
        let mut notifiers = Notifiers::default();
        let notifier = notifiers.for_subject(Subject::Instance("VI_1".into()), settings);
        for _ in 0..3 {
            let heard = Notification {
                notice: Notice::MasterRxLowerPriority,
                priority: 100,
                done: None,
            };
            assert_eq!(notifier.send(heard), Ok(()));
        }
        let (backed, backup_done) = oneshot::channel();
        notifier
            .send(Notification {
                notice: Notice::Entered(State::Backup),
                priority: 100,
                done: Some(backed),
            })
            .unwrap();
        tokio::time::timeout(Duration::from_secs(60), backup_done)
            .await
            .expect("notify_backup ran")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(60), async {
            while notifier.rx_lower_running.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the rx-lower script finished");
        assert_eq!(std::fs::read_to_string(&record).unwrap(), "backup\nrx\n");
        std::fs::remove_file(&record).unwrap();
    }

    /// A reload removed the instance: keepalived's FAULT (nothing if it
    /// was in FAULT), or DELETED and its script with notify_deleted.
    #[tokio::test]
    async fn a_deleted_instance_is_notified_as_keepalived_does() {
        let record =
            std::env::temp_dir().join(format!("vipd-notify-deleted-{}", std::process::id()));
        let r = record.display();
        let script = |line: String| Some(crate::config::scripts::parse(&line).unwrap());
        for (notify_deleted, was_fault, expected) in [
            // keepalived's vrrp_notify.c: notify_fault does not run.
            (false, false, "INSTANCE VI_1 FAULT 100\n"),
            (false, true, ""),
            (true, true, "deleted\nINSTANCE VI_1 DELETED 100\n"),
        ] {
            let _ = std::fs::remove_file(&record);
            let settings = NotifySettings {
                fault: script(format!("/bin/sh -c 'echo fault >> {r}'")),
                deleted: script(format!("/bin/sh -c 'echo deleted >> {r}'")),
                any: script(format!("/bin/sh -c 'echo \"$*\" >> {r}' notify")),
                notify_deleted,
                timeout: Duration::from_secs(20),
                ..NotifySettings::default()
            };
            let mut notifiers = Notifiers::default();
            let notifier = notifiers.for_subject(Subject::Instance("VI_1".into()), settings);
            let (ran, done) = oneshot::channel();
            notifier
                .send(Notification {
                    notice: Notice::Deleted { was_fault },
                    priority: 100,
                    done: Some(ran),
                })
                .unwrap();
            tokio::time::timeout(Duration::from_secs(60), done)
                .await
                .expect("ran")
                .unwrap();
            let written = std::fs::read_to_string(&record).unwrap_or_default();
            assert_eq!(
                written, expected,
                "notify_deleted {notify_deleted}, was_fault {was_fault}"
            );
        }
        let _ = std::fs::remove_file(&record);
    }

    /// Sent without a pause (the queue's task cannot run in between on
    /// this one thread): QUEUE_BOUND are taken, the rest dropped and
    /// counted, and the sender never waits.
    #[tokio::test]
    async fn a_full_queue_drops_and_counts() {
        let mut notifiers = Notifiers::default();
        let notifier = notifiers.for_subject(Subject::Group("G1".into()), settings(None, None));
        let results: Vec<_> = (0..QUEUE_BOUND + 10)
            .map(|_| {
                notifier.send(Notification {
                    notice: Notice::Entered(State::Backup),
                    priority: 0,
                    done: None,
                })
            })
            .collect();
        assert!(results[..QUEUE_BOUND].iter().all(Result::is_ok));
        assert!(results[QUEUE_BOUND..].iter().all(|r| *r == Err(QueueFull)));
        assert_eq!(notifiers.dropped_total(), 10);
        // Another name has a queue of its own.
        let other = notifiers.for_subject(Subject::Instance("G1".into()), settings(None, None));
        assert_eq!(
            other.send(Notification {
                notice: Notice::Entered(State::Backup),
                priority: 0,
                done: None
            }),
            Ok(())
        );
    }
}

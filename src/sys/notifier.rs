//! Notify scripts and the notify FIFO, keepalived-compatible: for each
//! state change, the FIFO line (`INSTANCE "VI_1" MASTER 100`), then the
//! state's own script (notify_master ...), then `notify` with
//! `INSTANCE name STATE priority`. One queue per instance keeps them in
//! transition order; each script has a timeout.

use std::io::Write;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use tokio::sync::{mpsc, oneshot};

use crate::config::health::NotifySettings;
use crate::log::phrases::{self, Subject};
use crate::proto::State;

use super::probe::{run_script, Outcome};

pub struct Notification {
    /// The state entered (Initialize: the instance stopped).
    pub state: State,
    pub priority: u8,
    /// Completed once everything for this notification has run.
    pub done: Option<oneshot::Sender<()>>,
}

/// Starts the queue for one instance or sync group on the current runtime.
pub fn spawn(subject: Subject, settings: NotifySettings) -> mpsc::UnboundedSender<Notification> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notification>();
    actix_rt::spawn(async move {
        while let Some(notification) = rx.recv().await {
            notify(&subject, &settings, &notification).await;
            if let Some(done) = notification.done {
                let _ = done.send(());
            }
        }
    });
    tx
}

async fn notify(subject: &Subject, settings: &NotifySettings, n: &Notification) {
    let instance = subject.name();
    if let Some(fifo) = &settings.fifo {
        let line = phrases::fifo_line(subject, n.state, n.priority);
        if let Err(error) = write_fifo(fifo, &line) {
            tracing::debug!(%instance, fifo = %fifo.display(), %error, "notify fifo not written: {error}");
        }
    }
    let own = match n.state {
        State::Master => settings.master.as_ref(),
        State::Backup => settings.backup.as_ref(),
        State::Fault => settings.fault.as_ref(),
        State::Initialize => settings.stop.as_ref(),
    };
    let args = phrases::notify_arguments(subject, n.state, n.priority);
    for (script, extra) in [(own, &[][..]), (settings.any.as_ref(), &args[..])] {
        let Some(script) = script else { continue };
        if let Outcome::Failure(why) =
            run_script(script, extra, settings.run_as.as_ref(), settings.timeout).await
        {
            phrases::notify_script_failed(instance, &script.line, &why);
        }
    }
}

/// Without a reader a FIFO cannot be opened for writing without blocking:
/// the line is dropped (keepalived's reader is expected to be running).
fn write_fifo(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    let fd: OwnedFd = match open(
        path,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENXIO) => return Err(std::io::Error::other("no reader")),
        Err(e) => return Err(e.into()),
    };
    std::fs::File::from(fd).write_all(line.as_bytes())
}

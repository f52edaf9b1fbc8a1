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
use crate::proto::State;

use super::probe::{run_script, Outcome};

pub struct Notification {
    /// keepalived's state word: MASTER, BACKUP, FAULT or STOP.
    pub state: &'static str,
    pub priority: u8,
    /// Completed once everything for this notification has run.
    pub done: Option<oneshot::Sender<()>>,
}

/// The word keepalived uses for a state a transition ends in.
pub fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// Starts the queue for one instance on the current runtime.
pub fn spawn(instance: String, settings: NotifySettings) -> mpsc::UnboundedSender<Notification> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notification>();
    actix_rt::spawn(async move {
        while let Some(notification) = rx.recv().await {
            notify(&instance, &settings, &notification).await;
            if let Some(done) = notification.done {
                let _ = done.send(());
            }
        }
    });
    tx
}

async fn notify(instance: &str, settings: &NotifySettings, n: &Notification) {
    if let Some(fifo) = &settings.fifo {
        let line = format!("INSTANCE \"{instance}\" {} {}\n", n.state, n.priority);
        if let Err(error) = write_fifo(fifo, &line) {
            tracing::debug!(%instance, fifo = %fifo.display(), %error, "notify fifo not written: {error}");
        }
    }
    let own = match n.state {
        "MASTER" => settings.master.as_ref(),
        "BACKUP" => settings.backup.as_ref(),
        "FAULT" => settings.fault.as_ref(),
        _ => settings.stop.as_ref(),
    };
    let args = [
        "INSTANCE".to_string(),
        instance.to_string(),
        n.state.to_string(),
        n.priority.to_string(),
    ];
    for (script, extra) in [(own, &[][..]), (settings.any.as_ref(), &args[..])] {
        let Some(script) = script else { continue };
        if let Outcome::Failure(why) =
            run_script(script, extra, settings.run_as.as_ref(), settings.timeout).await
        {
            tracing::warn!(%instance, script = %script.line, reason = %why, "({instance}) notify script {} failed: {why}", script.line);
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

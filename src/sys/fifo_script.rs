//! keepalived's `notify_fifo_script` / `vrrp_notify_fifo_script`: a reader
//! of the notify FIFO that the daemon starts, with the FIFO's path as its
//! last argument, and that runs as long as the daemon does.
//!
//! keepalived (lib/notify.c fifo_open, v2.2.7) makes the FIFO if it is
//! missing (mode 0644), starts the script once with no time limit, and
//! when it ends only logs "vrrp notify fifo script terminated": its
//! notifications then pile up unread. vipd starts it again, after a delay
//! that doubles from 1 s to 60 s (back to 1 s once it ran a minute), so a
//! script that crashes is back, and one that cannot start is tried at
//! most once a minute, each exit logged. It runs through the script
//! launcher like every script (its own process group, the script user,
//! no capabilities); the launcher ends it when the daemon ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::config::health::RunAs;
use crate::config::scripts::Script;
use crate::sys::probe::{run_script, Outcome};
use crate::sys::retry::Backoff;

/// What to run, and the FIFO it reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoScript {
    pub script: Script,
    pub fifo: PathBuf,
    pub run_as: Option<RunAs>,
}

/// No time limit in practice: the launcher takes one, and this is it.
const RUNS_FOR: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// A run this long was a success: the next exit waits the shortest delay.
const RAN_LONG_ENOUGH: Duration = Duration::from_secs(60);
/// How long making the FIFO may take (a hung file system).
const MKFIFO_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the reader on the current runtime; it runs until the task is
/// aborted (the daemon's end).
pub fn start(reader: FifoScript) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(reader))
}

async fn run(reader: FifoScript) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let line = reader.script.line.clone();
    let fifo = reader.fifo.display().to_string();
    loop {
        if let Err(why) = make_fifo(&reader.fifo, reader.run_as.as_ref()).await {
            tracing::error!(%fifo, "notify fifo {fifo}: {why}");
        }
        let started = tokio::time::Instant::now();
        let outcome = run_script(
            &reader.script,
            std::slice::from_ref(&fifo),
            reader.run_as.as_ref(),
            RUNS_FOR,
        )
        .await;
        if started.elapsed() >= RAN_LONG_ENOUGH {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        let how = match outcome {
            Outcome::Success => "exited".to_string(),
            Outcome::Failure(why) | Outcome::NotRun(why) => why,
        };
        tracing::warn!(script = %line, %fifo, "notify fifo script {line:?} ended ({how}); starting it again in {delay:?}");
        tokio::time::sleep(delay).await;
    }
}

/// The FIFO, made if missing, as keepalived makes it (0644); anything
/// else at the path is left alone (the writer refuses it). At start,
/// before any instance runs: the first line finds it.
pub async fn make_fifo(path: &Path, owner: Option<&RunAs>) -> Result<(), String> {
    // One at a time, ever: one hung on a dead mount is not joined by more.
    static MAKING: AtomicBool = AtomicBool::new(false);
    if MAKING.swap(true, Ordering::SeqCst) {
        return Err("an earlier attempt to make it has not returned (a hung mount?)".into());
    }
    let path = path.to_path_buf();
    let owner = owner.map(|o| (o.uid, o.gid));
    let made = tokio::task::spawn_blocking(move || {
        let made = match nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644))
        {
            // keepalived gives a FIFO it makes to the script user
            // (lib/notify.c fifo_open): the reader may open it to write.
            Ok(()) => match owner {
                Some((uid, gid)) => nix::unistd::chown(
                    &path,
                    Some(nix::unistd::Uid::from_raw(uid)),
                    Some(nix::unistd::Gid::from_raw(gid)),
                )
                .map_err(|errno| format!("made, but cannot give it to the script user: {errno}")),
                None => Ok(()),
            },
            Err(nix::errno::Errno::EEXIST) => Ok(()),
            Err(errno) => Err(format!("cannot make it: {errno}")),
        };
        MAKING.store(false, Ordering::SeqCst);
        made
    });
    match tokio::time::timeout(MKFIFO_TIMEOUT, made).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err("making it failed".into()),
        Err(_) => Err(format!(
            "making it took over {MKFIFO_TIMEOUT:?} (a hung mount?)"
        )),
    }
}

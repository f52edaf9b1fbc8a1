//! The launcher's side (`vipd script-launcher --fd N --parent PID`): keeps
//! only what starting scripts as other users takes, then serves requests
//! until the daemon's end of the socket closes or the daemon dies.

use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;

use nix::sys::signal::{signal, SigHandler, Signal};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use super::{read_frame, write_frame, FromLauncher, LaunchOutcome, ToLauncher, MAX_RUNNING};
use crate::sys::privilege;
use crate::sys::probe::{run_local, Outcome};

/// Runs the launcher on `fd` (its end of the socketpair) for the daemon
/// `parent`. Returns when the daemon is gone.
pub fn serve(fd: RawFd, parent: u32) -> ExitCode {
    // Nothing but the three it needs; in particular not the daemon's
    // CAP_NET_ADMIN / CAP_NET_RAW. Its ambient set is cleared too, so a
    // script never inherits a capability through the launcher.
    if let Err(error) = privilege::restrict_to(privilege::LAUNCHER_CAPS) {
        eprintln!("vipd script-launcher: cannot drop capabilities: {error}");
        return ExitCode::FAILURE;
    }
    // Ctrl-C, a terminal hang-up or a stray SIGTERM to the process group
    // is for the daemon, which still needs the launcher to run notify_stop
    // scripts while it stops; the launcher ends when the daemon does.
    for sig in [Signal::SIGINT, Signal::SIGHUP, Signal::SIGQUIT] {
        // SAFETY: SIG_IGN installs no handler code.
        unsafe {
            let _ = signal(sig, SigHandler::SigIgn);
        }
    }
    // If the daemon dies, SIGTERM (handled below: the daemon is checked).
    if let Err(error) = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM) {
        eprintln!("vipd script-launcher: cannot follow the daemon: {error}");
        return ExitCode::FAILURE;
    }
    if std::os::unix::process::parent_id() != parent {
        return ExitCode::SUCCESS; // the daemon died before the line above
    }
    // SAFETY: the daemon passed this descriptor for us alone.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(
        &owned,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let stream = std::os::unix::net::UnixStream::from(owned);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vipd script-launcher: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve_stream(stream, parent)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("vipd script-launcher: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_stream(stream: std::os::unix::net::UnixStream, parent: u32) -> std::io::Result<()> {
    stream.set_nonblocking(true)?;
    let stream = tokio::net::UnixStream::from_std(stream)?;
    let (mut reader, mut writer) = stream.into_split();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;

    // Requests in their own task: reading a frame is not cancel-safe.
    let (requests_tx, mut requests) = mpsc::channel::<ToLauncher>(MAX_RUNNING);
    tokio::spawn(async move {
        loop {
            match read_frame::<_, ToLauncher>(&mut reader).await {
                Ok(Some(request)) => {
                    if requests_tx.send(request).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    eprintln!("vipd script-launcher: stopping: {error}");
                    break;
                }
            }
        }
    });
    // At most one reply per running script, plus refusals.
    let (replies_tx, mut replies) = mpsc::channel::<FromLauncher>(2 * MAX_RUNNING);
    let writing = tokio::spawn(async move {
        while let Some(reply) = replies.recv().await {
            if write_frame(&mut writer, &reply).await.is_err() {
                break;
            }
        }
    });

    let mut running: JoinSet<(u64, Outcome)> = JoinSet::new();
    let mut by_id: HashMap<u64, AbortHandle> = HashMap::new();
    loop {
        tokio::select! {
            request = requests.recv() => match request {
                Some(ToLauncher::Run { id, run }) => {
                    if by_id.len() >= MAX_RUNNING {
                        let busy = LaunchOutcome::Busy(by_id.len());
                        let _ = replies_tx.send(FromLauncher::Done { id, outcome: busy }).await;
                        continue;
                    }
                    let handle = running.spawn(async move { (id, run_local(&run).await) });
                    by_id.insert(id, handle);
                }
                Some(ToLauncher::Cancel { id }) => {
                    // Aborting drops the run: its whole group is killed.
                    if let Some(handle) = by_id.remove(&id) {
                        handle.abort();
                    }
                }
                None => break, // the daemon closed its end, or exited
            },
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok((id, outcome)) = done {
                    if by_id.remove(&id).is_some() {
                        let outcome = match outcome {
                            Outcome::Success => LaunchOutcome::Success,
                            Outcome::Failure(why) | Outcome::NotRun(why) => {
                                LaunchOutcome::Failure(why)
                            }
                        };
                        let _ = replies_tx.send(FromLauncher::Done { id, outcome }).await;
                    }
                }
            }
            _ = sigterm.recv() => {
                if std::os::unix::process::parent_id() != parent {
                    break; // the daemon died
                }
            }
        }
    }
    // Every script still running goes with its process group.
    running.shutdown().await;
    drop(replies_tx);
    let _ = writing.await;
    Ok(())
}

//! The daemon's side: starts the launcher, then sends it each script and
//! awaits the outcome, without blocking the thread it is called on.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::{encode, read_frame, FromLauncher, LaunchOutcome, ScriptRun, ToLauncher, MAX_RUNNING};
use crate::sys::probe::Outcome;

/// How long past a script's own timeout the daemon waits for its
/// outcome before it gives up on the launcher's answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);
/// The descriptor the launcher finds its end of the socket on.
const LAUNCHER_FD: i32 = 3;

#[derive(Debug, Error)]
pub enum LauncherError {
    #[error("cannot make the script launcher's socket: {0}")]
    Socket(nix::Error),
    #[error("cannot start the script launcher ({}): {source}", program.display())]
    Spawn {
        program: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The launcher of this process, once started: its socket and process
/// until first used on the daemon's runtime, then the running client.
enum State {
    Started(std::os::unix::net::UnixStream, std::process::Child),
    Serving(Arc<Client>),
}

static LAUNCHER: OnceLock<Mutex<Option<State>>> = OnceLock::new();

/// Starts the launcher (`/proc/self/exe script-launcher`), which from now
/// on runs this process's scripts. Call it before dropping privileges and
/// before any runtime starts: the launcher keeps what it needs of them, and
/// dies with the thread that started it (PR_SET_PDEATHSIG).
pub fn start() -> Result<(), LauncherError> {
    start_program(Path::new("/proc/self/exe"))
}

fn start_program(program: &Path) -> Result<(), LauncherError> {
    let (ours, theirs): (OwnedFd, OwnedFd) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(LauncherError::Socket)?;
    let theirs_raw = theirs.as_raw_fd();
    let mut command = std::process::Command::new(program);
    // Named as the daemon's binary in ps, not /proc/self/exe.
    if let Ok(exe) = std::env::current_exe() {
        command.arg0(exe);
    }
    command
        .arg("script-launcher")
        .arg("--fd")
        .arg(LAUNCHER_FD.to_string())
        .arg("--parent")
        .arg(std::process::id().to_string())
        // Not for the launcher to use; its scripts get a clean environment anyway.
        .env_remove("NOTIFY_SOCKET")
        .stdin(std::process::Stdio::null());
    // SAFETY: dup2/fcntl only, async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            if theirs_raw == LAUNCHER_FD {
                if libc::fcntl(LAUNCHER_FD, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(theirs_raw, LAUNCHER_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|source| LauncherError::Spawn {
        program: program.to_path_buf(),
        source,
    })?;
    drop(theirs);
    install(std::os::unix::net::UnixStream::from(ours), child);
    Ok(())
}

fn install(stream: std::os::unix::net::UnixStream, child: std::process::Child) {
    let slot = LAUNCHER.get_or_init(|| Mutex::new(None));
    if let Ok(mut slot) = slot.lock() {
        *slot = Some(State::Started(stream, child));
    }
}

/// The launcher's client, if one was started; the first call (on the
/// daemon's runtime) starts its reader and writer there.
pub(crate) fn client() -> Option<Arc<Client>> {
    let mut slot = LAUNCHER.get()?.lock().ok()?;
    match slot.take()? {
        State::Serving(client) => {
            *slot = Some(State::Serving(client.clone()));
            Some(client)
        }
        State::Started(stream, child) => {
            let client = Client::serve(stream, child);
            *slot = Some(State::Serving(client.clone()));
            Some(client)
        }
    }
}

/// Why the launcher went away, once it has: what the daemon waits on to
/// stop (it cannot start another one, having given up the privileges
/// that takes).
static GONE: OnceLock<tokio::sync::watch::Sender<Option<String>>> = OnceLock::new();

fn gone_channel() -> &'static tokio::sync::watch::Sender<Option<String>> {
    GONE.get_or_init(|| tokio::sync::watch::channel(None).0)
}

/// Resolves, with the reason, when the launcher started by `start` has
/// gone; never without one. Call it on the daemon's runtime: it starts
/// watching the launcher's socket.
pub async fn gone() -> String {
    if client().is_none() {
        return std::future::pending().await;
    }
    let mut watching = gone_channel().subscribe();
    loop {
        if let Some(why) = watching.borrow_and_update().clone() {
            return why;
        }
        if watching.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Scripts the launcher refused because it ran its most at once (for
/// metrics); 0 without a launcher.
pub fn refused_total() -> u64 {
    client().map_or(0, |c| c.busy_total.load(Ordering::Relaxed))
}

pub(crate) struct Client {
    requests: mpsc::Sender<Vec<u8>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<LaunchOutcome>>>,
    next_id: AtomicU64,
    gone: AtomicBool,
    /// Scripts refused because the launcher ran its most at once.
    busy_total: AtomicU64,
    busy_logged: AtomicBool,
}

impl Client {
    fn serve(
        stream: std::os::unix::net::UnixStream,
        mut child: std::process::Child,
    ) -> Arc<Client> {
        let (requests, mut outgoing) = mpsc::channel::<Vec<u8>>(4 * MAX_RUNNING);
        let client = Arc::new(Client {
            requests,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            gone: AtomicBool::new(false),
            busy_total: AtomicU64::new(0),
            busy_logged: AtomicBool::new(false),
        });
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(stream));
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                client.lost(&format!("its socket: {error}"));
                return client;
            }
        };
        let (mut reader, mut writer) = stream.into_split();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            while let Some(frame) = outgoing.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    break;
                }
            }
        });
        let reading = client.clone();
        tokio::spawn(async move {
            let why = loop {
                match read_frame::<_, FromLauncher>(&mut reader).await {
                    Ok(Some(FromLauncher::Done { id, outcome })) => {
                        let waiting = reading.pending.lock().ok().and_then(|mut p| p.remove(&id));
                        if let Some(waiting) = waiting {
                            let _ = waiting.send(outcome);
                        }
                    }
                    Ok(None) => break "it exited".to_string(),
                    Err(error) => break error.to_string(),
                }
            };
            reading.lost(&why);
            // Reap it off this thread: waiting may take a moment.
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        });
        client
    }

    /// The launcher is gone: every script fails from now on, said once.
    fn lost(&self, why: &str) {
        if !self.gone.swap(true, Ordering::SeqCst) {
            tracing::error!(reason = %why, "script launcher is not running ({why})");
            gone_channel().send_replace(Some(why.to_string()));
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.clear(); // their waiters see the launcher gone
        }
    }

    /// Runs `run` in the launcher. Dropping the future cancels it there
    /// (its process group is killed).
    pub(crate) async fn run(&self, run: ScriptRun) -> Outcome {
        const GONE: &str = "script launcher is not running";
        if self.gone.load(Ordering::SeqCst) {
            return Outcome::Failure(GONE.into());
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let wait = run.timeout() + ANSWER_MARGIN;
        let frame = match encode(&ToLauncher::Run { id, run }) {
            Ok(frame) => frame,
            Err(error) => return Outcome::Failure(format!("not started: {error}")),
        };
        let (tx, rx) = oneshot::channel();
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, tx);
        }
        let mut guard = CancelOnDrop {
            client: self,
            id,
            armed: true,
        };
        if let Err(error) = self.requests.try_send(frame) {
            guard.armed = false;
            self.forget(id);
            return match error {
                mpsc::error::TrySendError::Full(_) => Outcome::NotRun(
                    "not started: too many scripts waiting for the script launcher".into(),
                ),
                mpsc::error::TrySendError::Closed(_) => Outcome::Failure(GONE.into()),
            };
        }
        let answer = tokio::time::timeout(wait, rx).await;
        guard.armed = answer.is_err();
        match answer {
            Ok(Ok(LaunchOutcome::Success)) => {
                self.busy_logged.store(false, Ordering::Relaxed);
                Outcome::Success
            }
            Ok(Ok(LaunchOutcome::Failure(why))) => Outcome::Failure(why),
            Ok(Ok(LaunchOutcome::Busy(running))) => {
                self.busy_total.fetch_add(1, Ordering::Relaxed);
                if !self.busy_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(running, "script launcher: {running} scripts already running, the most at once; scripts are refused until some finish");
                }
                Outcome::NotRun(format!(
                    "not started: {running} scripts already running (the most at once)"
                ))
            }
            Ok(Err(_)) => Outcome::Failure(GONE.into()),
            Err(_) => Outcome::Failure(format!(
                "the script launcher did not answer within {wait:?}"
            )),
        }
    }

    fn forget(&self, id: u64) -> bool {
        self.pending
            .lock()
            .ok()
            .and_then(|mut p| p.remove(&id))
            .is_some()
    }
}

/// Cancels a run in the launcher when its future is dropped unanswered
/// (the daemon stopping, a reload retiring a check).
struct CancelOnDrop<'a> {
    client: &'a Client,
    id: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.client.forget(self.id);
            if let Ok(frame) = encode(&ToLauncher::Cancel { id: self.id }) {
                // Full: the launcher still kills it at its timeout.
                let _ = self.client.requests.try_send(frame);
            }
        }
    }
}

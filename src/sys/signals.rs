//! Signals a person or a unit file sends by habit, and what each means to
//! vipd. The default action of most of them is to end the process at once,
//! which would leave a master's addresses on its interface while the
//! backup takes them too: the VIP on two hosts. So every such signal is
//! handled: TERM, INT and QUIT stop gracefully; HUP, USR1 and USR2 are
//! logged and change nothing; PIPE is ignored (Rust's runtime already
//! ignores it, and a broken pipe is an error on the write that caused it).

use std::io;

use nix::sys::signal::{signal, SigHandler, Signal};
use tokio::signal::unix::{signal as listen, Signal as Listener, SignalKind};

/// What a signal asks of the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Stop gracefully: masters hand over, addresses are removed.
    Stop(&'static str),
    /// Re-read the configuration (SIGHUP).
    Reload,
    /// Logged, nothing changes.
    Nothing(&'static str),
}

/// Until [`Signals::listen`] runs, a HUP, USR1 or USR2 sent during start
/// would end the process by default; ignore them until then. The listeners
/// replace this disposition, so scripts started later get the default one.
pub fn ignore_habitual_signals_during_start() {
    for habitual in [Signal::SIGHUP, Signal::SIGUSR1, Signal::SIGUSR2] {
        // SAFETY: SIG_IGN runs no code in the handler context.
        if let Err(error) = unsafe { signal(habitual, SigHandler::SigIgn) } {
            tracing::debug!(%error, signal = %habitual, "cannot ignore {habitual} during start");
        }
    }
}

pub struct Signals {
    terminate: Listener,
    interrupt: Listener,
    quit: Listener,
    hangup: Listener,
    user1: Listener,
    user2: Listener,
}

impl Signals {
    /// Must be called inside the runtime, before anything is started.
    pub fn listen() -> io::Result<Signals> {
        Ok(Signals {
            terminate: listen(SignalKind::terminate())?,
            interrupt: listen(SignalKind::interrupt())?,
            quit: listen(SignalKind::quit())?,
            hangup: listen(SignalKind::hangup())?,
            user1: listen(SignalKind::user_defined1())?,
            user2: listen(SignalKind::user_defined2())?,
        })
    }

    /// The next signal's request.
    pub async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.terminate.recv() => Request::Stop("SIGTERM"),
            _ = self.interrupt.recv() => Request::Stop("SIGINT"),
            _ = self.quit.recv() => Request::Stop("SIGQUIT"),
            _ = self.hangup.recv() => Request::Reload,
            _ = self.user1.recv() => Request::Nothing("SIGUSR1"),
            _ = self.user2.recv() => Request::Nothing("SIGUSR2"),
        }
    }
}

//! The script launcher: a helper process that starts every health check
//! and notify script, so the daemon never forks on the thread that sends
//! adverts, and no script inherits the daemon's capabilities.
//!
//! As OpenSSH separates privileges: `vipd run` re-executes its own binary
//! (`/proc/self/exe script-launcher --fd N`) early, before it drops its
//! own privileges; the two talk over a socketpair in length-prefixed JSON
//! frames. The launcher keeps only CAP_SETUID, CAP_SETGID and CAP_KILL
//! (what it has of them), and exits when the daemon's end closes or the
//! daemon dies, killing the process groups it still runs.

pub mod client;
pub mod server;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use client::{gone, start, LauncherError};

/// Largest frame either side sends or accepts: a command line and its
/// arguments, or an outcome's text.
pub const MAX_FRAME: usize = 64 * 1024;
/// Scripts running at once; one more is refused (and counted) at once.
pub const MAX_RUNNING: usize = 64;

/// One script to run: what `probe::run_script` runs locally.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptRun {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// (uid, gid) to run as; none: the launcher's own.
    pub run_as: Option<(u32, u32)>,
    pub timeout_ms: u64,
}

impl ScriptRun {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub enum ToLauncher {
    Run { id: u64, run: ScriptRun },
    Cancel { id: u64 },
}

#[derive(Debug, Serialize, Deserialize)]
pub enum FromLauncher {
    Done { id: u64, outcome: LaunchOutcome },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LaunchOutcome {
    Success,
    Failure(String),
    /// Not started: this many were running already.
    Busy(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("a frame of {0} bytes is over the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("a malformed frame: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Writes one frame: a 4-byte big-endian length, then the JSON.
pub async fn write_frame<W: AsyncWrite + Unpin, T: Serialize>(
    out: &mut W,
    message: &T,
) -> Result<(), FrameError> {
    let body = encode(message)?;
    out.write_all(&body).await?;
    Ok(())
}

/// A message as one frame, refused if it is over the limit.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, FrameError> {
    let json = serde_json::to_vec(message)?;
    if json.len() > MAX_FRAME {
        return Err(FrameError::TooLarge(json.len()));
    }
    let mut frame = Vec::with_capacity(json.len() + 4);
    frame.extend_from_slice(&(json.len() as u32).to_be_bytes());
    frame.extend_from_slice(&json);
    Ok(frame)
}

/// Reads one frame; `Ok(None)` at a clean end of the stream.
pub async fn read_frame<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    input: &mut R,
) -> Result<Option<T>, FrameError> {
    let mut length = [0u8; 4];
    match input.read_exact(&mut length).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(FrameError::TooLarge(length));
    }
    let mut body = vec![0u8; length];
    input.read_exact(&mut body).await?;
    Ok(Some(serde_json::from_slice(&body)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_are_bounded() {
        let (mut a, mut b) = tokio::net::UnixStream::pair().unwrap();
        let run = ScriptRun {
            program: "/bin/true".into(),
            args: vec!["x".into()],
            run_as: Some((65534, 65534)),
            timeout_ms: 1000,
        };
        write_frame(
            &mut a,
            &ToLauncher::Run {
                id: 7,
                run: run.clone(),
            },
        )
        .await
        .unwrap();
        match read_frame::<_, ToLauncher>(&mut b).await.unwrap() {
            Some(ToLauncher::Run { id: 7, run: got }) => assert_eq!(got, run),
            other => panic!("{other:?}"),
        }
        let huge = ScriptRun {
            args: vec!["x".repeat(MAX_FRAME)],
            ..run
        };
        assert!(matches!(
            encode(&ToLauncher::Run { id: 8, run: huge }),
            Err(FrameError::TooLarge(_))
        ));
        // A length over the limit is refused before reading the body.
        a.write_all(&(MAX_FRAME as u32 + 1).to_be_bytes())
            .await
            .unwrap();
        assert!(matches!(
            read_frame::<_, ToLauncher>(&mut b).await,
            Err(FrameError::TooLarge(_))
        ));
        drop(a);
        assert!(read_frame::<_, ToLauncher>(&mut b).await.unwrap().is_none());
    }
}

//! Running one health check or notify script, asynchronously, with a
//! deadline. Scripts run in their own process group, and the whole group
//! is killed when the deadline passes (and after a normal exit, to take
//! anything the script left running with it), then reaped: no zombies,
//! no orphans.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::timeout;

use crate::config::health::{CheckKind, RunAs};
use crate::config::scripts::Script;

/// Largest HTTP response read; a health page is small.
const HTTP_LIMIT: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
}

pub async fn check(kind: &CheckKind, deadline: Duration) -> Outcome {
    match kind {
        CheckKind::Exec { script, run_as } => {
            run_script(script, &[], run_as.as_ref(), deadline).await
        }
        CheckKind::Tcp { target } => {
            match timeout(deadline, TcpStream::connect(target.as_str())).await {
                Ok(Ok(_)) => Outcome::Success,
                Ok(Err(e)) => Outcome::Failure(format!("connect to {target}: {e}")),
                Err(_) => {
                    Outcome::Failure(format!("connect to {target}: timed out after {deadline:?}"))
                }
            }
        }
        CheckKind::Http {
            host,
            port,
            path,
            status,
            body,
        } => match timeout(deadline, http_get(host, *port, path)).await {
            Ok(Ok((got, _))) if got != *status => {
                Outcome::Failure(format!("status {got}, expected {status}"))
            }
            Ok(Ok((_, text))) => match body {
                Some(want) if !text.contains(want.as_str()) => {
                    Outcome::Failure(format!("body lacks {want:?}"))
                }
                _ => Outcome::Success,
            },
            Ok(Err(e)) => Outcome::Failure(format!("GET http://{host}:{port}{path}: {e}")),
            Err(_) => Outcome::Failure(format!(
                "GET http://{host}:{port}{path}: timed out after {deadline:?}"
            )),
        },
    }
}

/// Runs `script` with `extra` arguments appended; success is exit 0.
pub async fn run_script(
    script: &Script,
    extra: &[String],
    run_as: Option<&RunAs>,
    deadline: Duration,
) -> Outcome {
    let mut command = Command::new(&script.program);
    command
        .args(&script.args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(user) = run_as {
        command.uid(user.uid).gid(user.gid);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Outcome::Failure(format!("cannot start {}: {e}", script.program.display()))
        }
    };
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    let outcome = match timeout(deadline, child.wait()).await {
        Ok(Ok(status)) if status.success() => Outcome::Success,
        Ok(Ok(status)) => match status.code() {
            Some(code) => Outcome::Failure(format!("exited with status {code}")),
            None => Outcome::Failure(format!("killed by {status}")),
        },
        Ok(Err(e)) => Outcome::Failure(format!("waiting for it: {e}")),
        Err(_) => Outcome::Failure(format!("timed out after {deadline:?}; killed")),
    };
    if let Some(group) = group {
        let _ = killpg(group, Signal::SIGKILL);
    }
    let _ = child.wait().await; // reap, if the timeout left it running
    outcome
}

/// A minimal HTTP/1.1 GET: the status code and the body as text.
async fn http_get(host: &str, port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect((host, port)).await?;
    let host_header = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: vipd\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(HTTP_LIMIT as u64)
        .read_to_end(&mut response)
        .await?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response")
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

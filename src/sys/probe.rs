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
use crate::sys::launcher::{self, ScriptRun};
use crate::sys::privilege;

/// Largest HTTP response read; a health page is small.
const HTTP_LIMIT: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
    /// The script was not started (the launcher ran its most at once):
    /// no result either way, so a check keeps its state.
    NotRun(String),
}

pub async fn check(kind: &CheckKind, deadline: Duration) -> Outcome {
    match kind {
        CheckKind::Exec { script, run_as } => {
            run_script(script, &[], run_as.as_ref(), deadline).await
        }
        CheckKind::Process(_) => Outcome::NotRun("a process check is counted, not run".into()),
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

/// The environment every script gets, and nothing else: never the
/// daemon's (no NOTIFY_SOCKET, no VIPD_ settings, no LD_PRELOAD).
/// keepalived passes its own environment less IFS, LD_PRELOAD and
/// LD_LIBRARY_PATH (lib/notify.c, system_call_script, v2.4.3); vipd
/// passes only a PATH, as cron does.
pub const SCRIPT_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs `script` with `extra` arguments appended; success is exit 0.
/// Inside `vipd run` the script launcher starts it (this only awaits the
/// answer); without one (the daemon's actors run inside another program,
/// as tests do) it is started here, the same way.
pub async fn run_script(
    script: &Script,
    extra: &[String],
    run_as: Option<&RunAs>,
    deadline: Duration,
) -> Outcome {
    let run = ScriptRun {
        program: script.program.clone(),
        args: script.args.iter().chain(extra).cloned().collect(),
        run_as: run_as.map(|user| (user.uid, user.gid)),
        timeout_ms: deadline.as_millis().try_into().unwrap_or(u64::MAX),
    };
    match launcher::client::client() {
        Some(launcher) => launcher.run(run).await,
        None => run_local(&run).await,
    }
}

/// The one way a script's process is set up, in the launcher or here:
/// no input or output, its own process group, the user it runs as, no
/// capabilities it could inherit, a clean environment, default signal
/// handling, and SIGTERM if whoever started it dies (as keepalived's).
fn script_command(run: &ScriptRun) -> Command {
    let mut command = Command::new(&run.program);
    command
        .args(&run.args)
        .env_clear()
        .env("PATH", SCRIPT_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let run_as = run.run_as;
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            privilege::child_credentials(run_as)?;
            // After the user switch, which clears it.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // What the launcher (or daemon) ignores, a script must not.
            for signal in [
                libc::SIGINT,
                libc::SIGHUP,
                libc::SIGQUIT,
                libc::SIGTERM,
                libc::SIGPIPE,
            ] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    command
}

/// Starts `run` in this process and waits for it; the whole process group
/// is killed at its timeout, after it exits, or when this future is dropped.
pub async fn run_local(run: &ScriptRun) -> Outcome {
    let deadline = run.timeout();
    let mut child = match script_command(run).spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::Failure(format!("cannot start {}: {e}", run.program.display())),
    };
    // Also fires if this future is dropped mid-run (daemon stopping).
    let group = child.id().map(|id| GroupKiller(Pid::from_raw(id as i32)));
    let outcome = match timeout(deadline, child.wait()).await {
        Ok(Ok(status)) if status.success() => Outcome::Success,
        Ok(Ok(status)) => match status.code() {
            Some(code) => Outcome::Failure(format!("exited with status {code}")),
            None => Outcome::Failure(format!("killed by {status}")),
        },
        Ok(Err(e)) => Outcome::Failure(format!("waiting for it: {e}")),
        Err(_) => Outcome::Failure(format!("timed out after {deadline:?}; killed")),
    };
    drop(group);
    let _ = child.wait().await; // reap, if the timeout left it running
    outcome
}

/// Kills a script's whole process group when dropped: after it exits
/// (taking anything it left behind), at its timeout, or when the daemon
/// stops while it runs.
struct GroupKiller(Pid);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        let _ = killpg(self.0, Signal::SIGKILL);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn tcp_checks_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = CheckKind::Tcp {
            target: listener.local_addr().unwrap().to_string(),
        };
        assert_eq!(check(&open, Duration::from_secs(2)).await, Outcome::Success);
        // A port bound but not listening refuses connections, and stays
        // ours: a released port could be taken by a test running alongside.
        let reserved =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        reserved
            .bind(
                &"127.0.0.1:0"
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
                    .into(),
            )
            .unwrap();
        let port = reserved.local_addr().unwrap().as_socket().unwrap().port();
        let closed = CheckKind::Tcp {
            target: format!("127.0.0.1:{port}"),
        };
        assert!(matches!(
            check(&closed, Duration::from_secs(2)).await,
            Outcome::Failure(_)
        ));
    }

    #[tokio::test]
    async fn http_checks_status_and_body() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            for reply in [
                "HTTP/1.1 200 OK\r\n\r\nall good",
                "HTTP/1.1 200 OK\r\n\r\nbusy",
                "HTTP/1.1 500 Oops\r\n\r\nx",
            ] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = [0u8; 512];
                let _ = stream.read(&mut request).await;
                stream.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        let kind = |body: &str| CheckKind::Http {
            host: "127.0.0.1".into(),
            port,
            path: "/health".into(),
            status: 200,
            body: Some(body.into()),
        };
        assert_eq!(
            check(&kind("good"), Duration::from_secs(2)).await,
            Outcome::Success
        );
        assert_eq!(
            check(&kind("good"), Duration::from_secs(2)).await,
            Outcome::Failure("body lacks \"good\"".into())
        );
        assert_eq!(
            check(&kind("x"), Duration::from_secs(2)).await,
            Outcome::Failure("status 500, expected 200".into())
        );
    }

    #[tokio::test]
    async fn scripts_succeed_fail_and_time_out() {
        let script = |line: &str| crate::config::scripts::parse(line).unwrap();
        assert_eq!(
            run_script(
                &script("/bin/sh -c true"),
                &[],
                None,
                Duration::from_secs(5)
            )
            .await,
            Outcome::Success
        );
        assert_eq!(
            run_script(
                &script("/bin/sh -c 'exit 3'"),
                &[],
                None,
                Duration::from_secs(5)
            )
            .await,
            Outcome::Failure("exited with status 3".into())
        );
        let started = std::time::Instant::now();
        let hung = run_script(
            &script("/bin/sh -c 'sleep 30'"),
            &[],
            None,
            Duration::from_millis(200),
        )
        .await;
        assert_eq!(
            hung,
            Outcome::Failure("timed out after 200ms; killed".into())
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the timeout did not end it"
        );
        let args = ["INSTANCE".to_string(), "VI_1".into()];
        let with_args = run_script(
            &script("/bin/sh -c 'test \"$1 $2\" = \"INSTANCE VI_1\"' sh"),
            &args,
            None,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(with_args, Outcome::Success, "extra arguments are appended");
    }

    /// The environment a script sees is PATH alone (sh adds PWD), whatever
    /// the daemon's holds (this test process has HOME, CARGO_* ...).
    #[tokio::test]
    async fn scripts_get_a_clean_environment() {
        let script = crate::config::scripts::parse(&format!(
            "/bin/sh -c 'test \"$(env | grep -v ^PWD= | sort)\" = PATH={SCRIPT_PATH}'"
        ))
        .unwrap();
        assert_eq!(
            run_script(&script, &[], None, Duration::from_secs(5)).await,
            Outcome::Success
        );
    }

    /// A script run as a user has no capability in any set, even when
    /// whoever starts it (here the test, as root) has them all.
    #[tokio::test]
    async fn a_script_run_as_a_user_has_no_capabilities() {
        if !crate::lab::testing::root_or_skip("a_script_run_as_a_user_has_no_capabilities") {
            return;
        }
        let nobody = RunAs {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
        };
        let script = crate::config::scripts::parse(
            "/bin/sh -c 'test $(id -u) = 65534 && test $(id -G) = 65534 && ! grep -E \"^Cap(Inh|Prm|Eff|Amb):.*[1-9a-f]\" /proc/self/status'",
        )
        .unwrap();
        assert_eq!(
            run_script(&script, &[], Some(&nobody), Duration::from_secs(5)).await,
            Outcome::Success
        );
    }
}

//! The notify FIFO (keepalived's notify_fifo): one line per state change,
//! written whole, in order, to a reader such as keepalived's
//! notify_fifo_script would be.
//!
//! keepalived opens its FIFO once and keeps it open, refusing anything that
//! is not a FIFO (lib/notify.c, fifo_open, v2.4.3), but drops a line when
//! the pipe is full (vrrp_notify.c ignores EAGAIN). vipd keeps it open
//! too, checks the type (tokio's pipe opener refuses anything else, so a
//! regular file or a directory is never written), waits for room in the
//! pipe up to a timeout, and reopens it when the reader went away.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

/// How long a line may wait for room in the pipe before it is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines waiting for the writer; past this a line is dropped.
pub const QUEUE_BOUND: usize = 256;
/// The kernel writes at most this much to a pipe atomically: a longer
/// line could be interleaved or cut at a timeout, so it is not written.
const PIPE_BUF: usize = 4096;

/// Why a line was not written.
#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    #[error("no process is reading it")]
    NoReader,
    #[error("it is not a FIFO; not written")]
    NotFifo,
    #[error("the reader took nothing for {0:?}; line dropped")]
    Timeout(Duration),
    #[error("opening it does not return (a hung mount?); line dropped")]
    Hung,
    #[error("a line of {0} bytes is longer than a pipe writes at once")]
    TooLong(usize),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl FifoError {
    /// One log line per kind of trouble until a line goes through.
    fn kind(&self) -> u8 {
        match self {
            FifoError::NoReader => 1,
            FifoError::NotFifo => 2,
            FifoError::Timeout(_) => 3,
            FifoError::TooLong(_) => 4,
            FifoError::Io(_) => 5,
            FifoError::Hung => 6,
        }
    }
}

/// Writes lines to one FIFO, keeping it open between lines.
pub struct FifoWriter {
    path: PathBuf,
    /// Opened for reading too (O_RDWR), as keepalived opens its FIFO: a
    /// line waits in the pipe for a reader that comes later. For a FIFO
    /// whose reader vipd runs (notify_fifo_script): nothing is lost while
    /// it starts, or starts again.
    read_write: bool,
    sender: Option<pipe::Sender>,
    /// An open under way on a blocking thread.
    opening: Arc<std::sync::atomic::AtomicBool>,
    timeout: Duration,
    /// Lines not written, for any reason.
    pub dropped: Arc<AtomicU64>,
    logged: Option<u8>,
}

impl FifoWriter {
    pub fn new(path: &Path, timeout: Duration) -> FifoWriter {
        FifoWriter {
            path: path.to_path_buf(),
            read_write: false,
            sender: None,
            opening: Arc::default(),
            timeout,
            dropped: Arc::new(AtomicU64::new(0)),
            logged: None,
        }
    }

    /// The FIFO is opened read-write (see `read_write`).
    pub fn read_write(mut self) -> FifoWriter {
        self.read_write = true;
        self
    }

    /// Opens the FIFO on a blocking thread: looking a path up on a hung
    /// network mount never returns, and this runs on the daemon's thread.
    /// One open at a time, ever: while one hangs, lines are dropped.
    async fn open(&mut self) -> Result<&mut pipe::Sender, FifoError> {
        if self.sender.is_none() {
            if self.opening.swap(true, Ordering::SeqCst) {
                return Err(FifoError::Hung);
            }
            let (path, opening) = (self.path.clone(), Arc::clone(&self.opening));
            let read_write = self.read_write;
            let opened = tokio::task::spawn_blocking(move || {
                use std::os::unix::fs::OpenOptionsExt;
                // O_NONBLOCK: without a reader, ENXIO at once (unless
                // opened read-write, which Linux allows on a FIFO).
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .read(read_write)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&path);
                opening.store(false, Ordering::SeqCst);
                file
            });
            let file = match tokio::time::timeout(self.timeout, opened).await {
                Ok(Ok(file)) => file,
                Ok(Err(join)) => return Err(FifoError::Io(io::Error::other(join))),
                Err(_) => return Err(FifoError::Hung),
            };
            // Checks the type: a regular file or a directory is refused.
            let sender =
                file.and_then(pipe::Sender::from_file)
                    .map_err(|e| match e.raw_os_error() {
                        Some(libc::ENXIO) => FifoError::NoReader,
                        Some(libc::EISDIR) => FifoError::NotFifo,
                        _ if e.kind() == io::ErrorKind::InvalidInput => FifoError::NotFifo,
                        _ => FifoError::Io(e),
                    })?;
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("just opened"))
    }

    async fn try_write(&mut self, line: &str) -> Result<(), FifoError> {
        if line.len() > PIPE_BUF {
            return Err(FifoError::TooLong(line.len()));
        }
        let timeout = self.timeout;
        let sender = self.open().await?;
        match tokio::time::timeout(timeout, sender.write_all(line.as_bytes())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.sender = None; // EPIPE: the reader left; reopen next time
                Err(if e.kind() == io::ErrorKind::BrokenPipe {
                    FifoError::NoReader
                } else {
                    FifoError::Io(e)
                })
            }
            // A line up to PIPE_BUF goes in whole or not at all, so nothing
            // of it is in the pipe.
            Err(_) => Err(FifoError::Timeout(timeout)),
        }
    }

    /// Writes one whole line (ending in a newline), waiting up to the
    /// timeout for room; a reader that went away is looked for again once.
    pub async fn write_line(&mut self, line: &str) -> Result<(), FifoError> {
        let mut result = self.try_write(line).await;
        if matches!(result, Err(FifoError::NoReader)) && self.sender.is_none() {
            // The old reader left; a new one may be there already.
            result = self.try_write(line).await;
        }
        match &result {
            Ok(()) => self.logged = None,
            Err(error) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if self.logged != Some(error.kind()) {
                    self.logged = Some(error.kind());
                    let fifo = self.path.display();
                    tracing::warn!(%fifo, %error, "notify fifo {fifo}: {error} (said once until a line is written)");
                }
            }
        }
        result
    }
}

/// What the writer's queue carries.
enum Queued {
    Line(String),
    /// Answered once every line before it is written (or dropped).
    Flushed(tokio::sync::oneshot::Sender<()>),
}

/// A running writer for one FIFO: lines are queued and written in order.
#[derive(Clone)]
pub struct FifoQueue {
    lines: mpsc::Sender<Queued>,
    pub dropped: Arc<AtomicU64>,
    full_logged: Arc<std::sync::atomic::AtomicBool>,
    path: PathBuf,
}

impl FifoQueue {
    /// Starts the writer for `path` on the current runtime.
    pub fn spawn(path: &Path, read_write: bool) -> FifoQueue {
        // Opened read-write, a pipe that is full has no reader reading:
        // the line is dropped at once, as keepalived drops it (EAGAIN),
        // rather than each waiting its timeout.
        let timeout = if read_write {
            Duration::ZERO
        } else {
            WRITE_TIMEOUT
        };
        let mut writer = FifoWriter::new(path, timeout);
        if read_write {
            writer = writer.read_write();
        }
        let dropped = writer.dropped.clone();
        let (lines, mut rx) = mpsc::channel::<Queued>(QUEUE_BOUND);
        tokio::spawn(async move {
            while let Some(queued) = rx.recv().await {
                match queued {
                    Queued::Line(line) => {
                        let _ = writer.write_line(&line).await;
                    }
                    Queued::Flushed(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        FifoQueue {
            lines,
            dropped,
            full_logged: Arc::default(),
            path: path.to_path_buf(),
        }
    }

    /// Queues a line without waiting; a full queue drops it (counted).
    pub fn push(&self, line: String) {
        match self.lines.try_send(Queued::Line(line)) {
            Ok(()) => self.full_logged.store(false, Ordering::Relaxed),
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.full_logged.swap(true, Ordering::Relaxed) {
                    let fifo = self.path.display();
                    tracing::warn!(%fifo, "notify fifo {fifo}: {QUEUE_BOUND} lines already wait for the reader; dropping lines");
                }
            }
        }
    }

    /// Resolves once every line queued before it is written or dropped
    /// (at exit, before the reader vipd runs is ended).
    pub fn flushed(&self) -> impl std::future::Future<Output = ()> {
        let (done, flushed) = tokio::sync::oneshot::channel();
        let lines = self.lines.clone();
        async move {
            if lines.send(Queued::Flushed(done)).await.is_ok() {
                let _ = flushed.await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::OwnedFd;

    fn fifo_in(dir: &Path) -> PathBuf {
        let path = dir.join("notify.fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        path
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vipd-fifo-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn open_reader(path: &Path) -> std::fs::File {
        let fd: OwnedFd = nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        std::fs::File::from(fd)
    }

    /// More lines than a pipe holds, to a reader that reads slowly: every
    /// line arrives, whole and in order (a non-blocking write that gives up
    /// on a full pipe, as before, loses most of them).
    #[tokio::test]
    async fn a_slow_reader_gets_every_line_whole_and_in_order() {
        let dir = temp_dir("slow");
        let path = fifo_in(&dir);
        let mut reader = open_reader(&path);
        let lines = 6000; // ~180 kB, about three pipes full
        let slow = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut chunk = [0u8; 1024];
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while std::time::Instant::now() < deadline {
                match reader.read(&mut chunk) {
                    // The writer closed after writing: all sent. (Before it
                    // opens, a non-blocking read sees no writer too.)
                    Ok(0) if !got.is_empty() => break,
                    Ok(0) => {}
                    Ok(n) => got.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
                // Slow: about 1 kB per millisecond at most.
                std::thread::sleep(Duration::from_millis(1));
            }
            String::from_utf8(got).unwrap()
        });
        let mut writer = FifoWriter::new(&path, Duration::from_secs(20));
        for i in 0..lines {
            writer
                .write_line(&format!("INSTANCE \"VI_{i}\" MASTER 100\n"))
                .await
                .unwrap();
        }
        drop(writer); // closes the FIFO: the reader sees the end
        let text = slow.join().unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), lines, "lines lost or cut");
        for (i, line) in got.iter().enumerate() {
            assert_eq!(*line, format!("INSTANCE \"VI_{i}\" MASTER 100"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn only_a_fifo_is_written() {
        let dir = temp_dir("type");
        let file = dir.join("plain");
        std::fs::write(&file, "").unwrap();
        let mut writer = FifoWriter::new(&file, Duration::from_secs(1));
        assert!(matches!(
            writer.write_line("INSTANCE \"VI_1\" MASTER 100\n").await,
            Err(FifoError::NotFifo)
        ));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "",
            "a regular file was written"
        );
        let mut writer = FifoWriter::new(&dir, Duration::from_secs(1));
        assert!(matches!(
            writer.write_line("x\n").await,
            Err(FifoError::NotFifo)
        ));
        assert_eq!(writer.dropped.load(Ordering::Relaxed), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_reader_that_leaves_and_comes_back_gets_later_lines() {
        let dir = temp_dir("reopen");
        let path = fifo_in(&dir);
        let mut writer = FifoWriter::new(&path, Duration::from_secs(1));
        assert!(matches!(
            writer.write_line("none\n").await,
            Err(FifoError::NoReader)
        ));

        let mut first = open_reader(&path);
        writer.write_line("one\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = first.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one\n");
        drop(first);
        // Kept open across lines, the writer learns of it at the next one.
        assert!(matches!(
            writer.write_line("lost\n").await,
            Err(FifoError::NoReader)
        ));

        let mut second = open_reader(&path);
        writer.write_line("two\n").await.unwrap();
        drop(writer);
        let mut text = String::new();
        second.read_to_string(&mut text).unwrap();
        assert_eq!(text, "two\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_reader_that_reads_nothing_costs_a_timeout_per_line_not_a_hang() {
        let dir = temp_dir("stuck");
        let path = fifo_in(&dir);
        let _reader = open_reader(&path); // never reads
        let mut writer = FifoWriter::new(&path, Duration::from_millis(50));
        let line = format!("{}\n", "x".repeat(1023));
        let mut timed_out = 0;
        for _ in 0..100 {
            if let Err(FifoError::Timeout(_)) = writer.write_line(&line).await {
                timed_out += 1;
            }
        }
        // 100 kB into a 64 kB pipe: the rest waited, timed out, was counted.
        assert!(timed_out > 0 && timed_out < 100, "{timed_out}");
        assert_eq!(writer.dropped.load(Ordering::Relaxed), timed_out);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

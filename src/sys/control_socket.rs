//! The control socket's file: bound at start, only for vipd's own user
//! (mode 0600, and the peer's uid checked on every connection), never
//! taken from another running vipd, removed at exit. Two daemons in two
//! network namespaces on one machine each need their own path (config's
//! `control_socket`): the file system is shared.
//!
//! A lock file beside the socket (`PATH.lock`, held for the daemon's
//! life) decides who owns the path. Without it, two vipd starting at once
//! could each find the socket stale, remove it and bind: the second would
//! take the path from the first, whose clients would then reach the wrong
//! daemon.

use std::fs::File;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The socket's path, and the lock that makes it this daemon's.
pub struct Bound {
    path: PathBuf,
    _lock: Flock<File>,
}

impl Bound {
    /// At exit: the socket goes; the lock file stays (removing it while
    /// another vipd may be opening it would let two hold different locks).
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The lock file of the socket at `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Binds `path`, replacing a stale file a crashed vipd left, refusing one
/// a live vipd owns.
pub fn bind(path: &Path) -> io::Result<(Bound, UnixListener)> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    let in_use = || {
        io::Error::new(
            io::ErrorKind::AddrInUse,
            "another vipd is running with this control socket",
        )
    };
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(lock_path(path))?;
    let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
        if errno == nix::errno::Errno::EWOULDBLOCK {
            in_use()
        } else {
            io::Error::from(errno)
        }
    })?;
    // Ours now: whatever is at the path was left by a vipd that is gone,
    // unless a vipd from before the lock files listens there still.
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(in_use());
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok((
        Bound {
            path: path.to_path_buf(),
            _lock: lock,
        },
        listener,
    ))
}

/// Whether a peer may read the snapshot: vipd's own user, or root.
pub fn may_read(peer_uid: u32) -> bool {
    peer_uid == 0 || peer_uid == nix::unistd::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vipd-ctl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn one_daemon_owns_the_path_and_a_stale_socket_is_replaced() {
        let dir = scratch("own");
        let path = dir.join("vipd.sock");
        let (first, _listener) = bind(&path).unwrap();
        let error = bind(&path)
            .err()
            .expect("a second bind while the first holds it");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert!(
            path.exists(),
            "the loser must not remove the owner's socket"
        );
        // The owner exits without removing its socket (a crash): the
        // file is stale, the lock free, and the next one takes over.
        drop(first);
        drop(_listener);
        let (second, _listener) = bind(&path).unwrap();
        second.remove();
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Two starting at once: exactly one wins, and its socket is the one
    /// at the path (without the lock, the loser's check-remove-bind could
    /// remove the winner's socket and bind its own).
    #[test]
    fn two_starting_together_leave_exactly_one_owner() {
        for round in 0..50 {
            let dir = scratch(&format!("race{round}"));
            let path = dir.join("vipd.sock");
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let racers: Vec<_> = (0..2)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        bind(&path).ok()
                    })
                })
                .collect();
            let won: Vec<_> = racers
                .into_iter()
                .filter_map(|r| r.join().unwrap())
                .collect();
            assert_eq!(won.len(), 1, "round {round}: {} owners", won.len());
            let (_, listener) = &won[0];
            // The one at the path is the winner's.
            let _client = UnixStream::connect(&path).unwrap();
            listener.set_nonblocking(false).unwrap();
            assert!(listener.accept().is_ok());
            drop(won);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

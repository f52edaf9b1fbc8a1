//! The control socket's file: bound at start, only for vipd's own user
//! (mode 0600, and the peer's uid checked on every connection), never
//! taken from another running vipd, removed at exit. Two daemons in two
//! network namespaces on one machine each need their own path (config's
//! `control_socket`): the file system is shared.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

/// Binds `path`, replacing a stale file a crashed vipd left, refusing one
/// a live vipd listens on.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another vipd is running with this control socket",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Whether a peer may read the snapshot: vipd's own user, or root.
pub fn may_read(peer_uid: u32) -> bool {
    peer_uid == 0 || peer_uid == nix::unistd::geteuid().as_raw()
}

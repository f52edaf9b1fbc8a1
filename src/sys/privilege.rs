//! Capabilities and user switches: what the daemon keeps after start-up
//! (CAP_NET_ADMIN and CAP_NET_RAW, nothing inheritable), what the script
//! launcher keeps (CAP_SETUID, CAP_SETGID, CAP_KILL), and the credentials
//! a script gets in the child between fork and exec.
//!
//! capget/capset are called through libc: they act on the calling thread
//! only, so the process-wide changes here must happen while the process
//! has one thread (checked), before the daemon's runtime starts.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::health::RunAs;

pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;

/// What the daemon keeps: raw sockets, addresses, routes, links, and the
/// net sysctls of use_vmac (the kernel lets CAP_NET_ADMIN write those).
pub const DAEMON_CAPS: u64 = bit(CAP_NET_ADMIN) | bit(CAP_NET_RAW);
/// What the launcher keeps: become the script's user, and kill its group.
pub const LAUNCHER_CAPS: u64 = bit(CAP_SETUID) | bit(CAP_SETGID) | bit(CAP_KILL);

pub const fn bit(cap: u32) -> u64 {
    1 << cap
}

#[derive(Debug, Error)]
pub enum PrivilegeError {
    #[error("user {0}: no such user")]
    NoSuchUser(String),
    #[error("cannot look up user {user}: {source}")]
    Lookup { user: String, source: nix::Error },
    #[error("cannot switch to user {user} (uid {uid}): vipd was started as uid {current} without CAP_SETUID and CAP_SETGID; start it as root")]
    CannotSwitch {
        user: String,
        uid: u32,
        current: u32,
    },
    #[error("cannot switch to user {user}: {step}: {source}")]
    Switch {
        user: String,
        step: &'static str,
        source: nix::Error,
    },
    #[error("cannot set capabilities: {0}")]
    Capabilities(io::Error),
    #[error(
        "cannot drop privileges while {0} threads run (it must happen before the runtime starts)"
    )]
    Threads(usize),
    #[error("control socket {socket}: its directory {dir} is not writable by user {user}, who must create and remove the socket there: chown it to {user}, or remove it (vipd makes a missing one for its user)")]
    SocketDirectory {
        socket: PathBuf,
        dir: PathBuf,
        user: String,
    },
    #[error("control socket directory {dir}: {source}")]
    Directory { dir: PathBuf, source: io::Error },
}

/// The three capability sets of this thread, as bit masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

/// The calling thread's capability sets.
pub fn current() -> io::Result<CapSets> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data structs as capget(2) v3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's capability sets. Async-signal-safe (one
/// system call), so usable between fork and exec.
pub fn set(sets: CapSets) -> io::Result<()> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and two data structs as capset(2) v3 expects.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Empties the ambient set, so nothing exec'd inherits a capability
/// through it. Async-signal-safe.
pub fn clear_ambient() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    // Kernels before 4.3 have no ambient set: nothing to clear.
    if rc != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Keeps only `keep` (of what the thread has) in its effective and
/// permitted sets, and nothing inheritable or ambient.
pub fn restrict_to(keep: u64) -> io::Result<()> {
    let now = current()?;
    clear_ambient()?;
    let kept = now.permitted & keep;
    set(CapSets {
        effective: kept,
        permitted: kept,
        inheritable: 0,
    })
}

/// Also removes from the bounding set every capability not in `keep`, when
/// this process may (CAP_SETPCAP): then not even running a program as uid
/// 0 brings them back. Best effort; what it could not drop is returned.
pub fn restrict_bounding_set(keep: u64) -> Vec<u32> {
    let mut kept = Vec::new();
    for cap in 0..64u32 {
        if keep & bit(cap) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let present = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if present != 1 {
            continue; // not there, or past the kernel's last capability
        }
        // SAFETY: as above.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if rc != 0 {
            kept.push(cap);
        }
    }
    kept
}

/// No program this process starts can gain privileges by exec (set-user-ID
/// binaries, file capabilities, or uid 0's full set beyond what it has).
pub fn forbid_new_privileges() -> io::Result<()> {
    nix::sys::prctl::set_no_new_privs().map_err(io::Error::from)
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(1)
}

/// The user this process runs as now.
pub fn current_user() -> RunAs {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name);
    RunAs {
        name,
        uid: uid.as_raw(),
        gid: nix::unistd::getgid().as_raw(),
    }
}

/// Looks `name` up in the user database.
pub fn lookup(name: &str) -> Result<RunAs, PrivilegeError> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => Ok(RunAs {
            name: name.to_string(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        }),
        Ok(None) => Err(PrivilegeError::NoSuchUser(name.to_string())),
        Err(source) => Err(PrivilegeError::Lookup {
            user: name.to_string(),
            source,
        }),
    }
}

/// Makes sure `user` can create and remove the control socket once the
/// daemon runs as it, without CAP_DAC_OVERRIDE (root included): its
/// directory is made (mode 0755, owned by the user) if missing; an
/// existing one must be writable by the user.
pub fn prepare_socket_directory(socket: &Path, user: &RunAs) -> Result<(), PrivilegeError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let failed = |source: io::Error| PrivilegeError::Directory {
        dir: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(failed)?;
        nix::unistd::chown(
            dir,
            Some(nix::unistd::Uid::from_raw(user.uid)),
            Some(nix::unistd::Gid::from_raw(user.gid)),
        )
        .map_err(|e| failed(e.into()))?;
        return Ok(());
    }
    let meta = dir.metadata().map_err(failed)?;
    let mode = meta.mode();
    let writable = if meta.uid() == user.uid {
        mode & 0o300 == 0o300
    } else if meta.gid() == user.gid {
        mode & 0o030 == 0o030
    } else {
        mode & 0o003 == 0o003
    };
    // A directory of vipd's own, made by root for it (systemd's
    // RuntimeDirectory=, or a run as root before): empty, or holding only
    // a socket left by then. It is handed to the user; a shared one such
    // as /run never is.
    let ours = meta.uid() == nix::unistd::getuid().as_raw()
        && std::fs::read_dir(dir).map_err(failed)?.all(|entry| {
            entry.is_ok_and(|e| Some(e.file_name().as_os_str()) == socket.file_name())
        });
    if writable {
        Ok(())
    } else if ours {
        nix::unistd::chown(
            dir,
            Some(nix::unistd::Uid::from_raw(user.uid)),
            Some(nix::unistd::Gid::from_raw(user.gid)),
        )
        .map_err(|e| failed(e.into()))?;
        if let Some(name) = socket.file_name() {
            let _ = std::fs::remove_file(dir.join(name)); // a stale socket of root's
        }
        Ok(())
    } else {
        Err(PrivilegeError::SocketDirectory {
            socket: socket.to_path_buf(),
            dir: dir.to_path_buf(),
            user: user.name.clone(),
        })
    }
}

/// The daemon's privileges for the rest of its life: switches to `user`
/// if given (keeping capabilities across the switch), then keeps only
/// CAP_NET_ADMIN and CAP_NET_RAW, nothing inheritable or ambient, a
/// bounding set of those two where it may, and no new privileges. Must
/// run while the process has one thread. `extra_group` joins the daemon
/// to one more group (/proc's hidepid group, for track_process).
pub fn drop_to(user: Option<&RunAs>, extra_group: Option<u32>) -> Result<(), PrivilegeError> {
    let running = threads();
    if running > 1 {
        return Err(PrivilegeError::Threads(running));
    }
    // Needs CAP_SETPCAP in the effective set, which a user switch empties.
    restrict_bounding_set(DAEMON_CAPS);
    if let Some(user) = user {
        switch_user(user, extra_group)?;
    } else if let Some(gid) = extra_group {
        join_group(gid)?;
    }
    restrict_to(DAEMON_CAPS).map_err(PrivilegeError::Capabilities)?;
    forbid_new_privileges().map_err(PrivilegeError::Capabilities)?;
    Ok(())
}

/// Adds a supplementary group while CAP_SETGID lasts; without it, says
/// why (track_process then counts only what it can see).
fn join_group(gid: u32) -> Result<(), PrivilegeError> {
    use nix::unistd::Gid;
    let mut groups = nix::unistd::getgroups().unwrap_or_default();
    if groups.contains(&Gid::from_raw(gid)) || nix::unistd::getegid().as_raw() == gid {
        return Ok(());
    }
    groups.push(Gid::from_raw(gid));
    if let Err(error) = nix::unistd::setgroups(&groups) {
        tracing::warn!(%error, gid, "cannot join /proc's hidepid group (gid={gid}): {error}; track_process cannot see other users' processes");
    }
    Ok(())
}

fn switch_user(user: &RunAs, extra_group: Option<u32>) -> Result<(), PrivilegeError> {
    use nix::unistd::{getgid, getuid, Gid, Uid};
    let (uid, gid) = (Uid::from_raw(user.uid), Gid::from_raw(user.gid));
    if getuid() == uid && getgid() == gid {
        // No switch (`user:` names the user vipd runs as): the group
        // still wants joining.
        return extra_group.map_or(Ok(()), join_group);
    }
    let caps = current().map_err(PrivilegeError::Capabilities)?;
    let can =
        caps.effective & (bit(CAP_SETUID) | bit(CAP_SETGID)) == bit(CAP_SETUID) | bit(CAP_SETGID);
    if !can {
        return Err(PrivilegeError::CannotSwitch {
            user: user.name.clone(),
            uid: user.uid,
            current: getuid().as_raw(),
        });
    }
    let step = |step: &'static str| {
        move |source| PrivilegeError::Switch {
            user: user.name.clone(),
            step,
            source,
        }
    };
    // Keep the permitted set across setuid; restrict_to then chooses.
    nix::sys::prctl::set_keepcaps(true).map_err(step("keep capabilities"))?;
    let groups: Vec<Gid> = std::iter::once(gid)
        .chain(extra_group.map(Gid::from_raw))
        .collect();
    nix::unistd::setgroups(&groups).map_err(step("setgroups"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(step("setgid"))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(step("setuid"))?;
    nix::sys::prctl::set_keepcaps(false).map_err(step("keep capabilities"))?;
    Ok(())
}

/// In the child between fork and exec (async-signal-safe calls only):
/// the script's groups, group and user, no ambient or inheritable
/// capabilities. Switching from uid 0 to another uid also empties the
/// permitted and effective sets (the kernel does it), so a script run as
/// a user has no capability at all; one run as root gets root's at exec,
/// as keepalived's do (lib/notify.c, set_script_env, v2.4.3).
pub fn child_credentials(run_as: Option<(u32, u32)>) -> io::Result<()> {
    if let Some((uid, gid)) = run_as {
        // SAFETY: plain system calls on integers and a one-element array.
        unsafe {
            let same = libc::getuid() == uid && libc::getgid() == gid;
            let groups = [gid];
            if libc::setgroups(1, groups.as_ptr()) != 0 && !same {
                return Err(io::Error::last_os_error());
            }
            if libc::getgid() != gid && libc::setresgid(gid, gid, gid) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getuid() != uid && libc::setresuid(uid, uid, uid) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    clear_ambient()?;
    let now = current()?;
    set(CapSets {
        inheritable: 0,
        ..now
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_sets_round_trip() {
        let now = current().unwrap();
        // Setting what we have is always allowed.
        set(now).unwrap();
        assert_eq!(current().unwrap(), now);
        assert_eq!(now.effective & !now.permitted, 0, "effective ⊆ permitted");
    }

    #[test]
    fn socket_directories_must_be_writable_by_the_user() {
        if !crate::lab::testing::root_or_skip("socket_directories_must_be_writable_by_the_user") {
            return;
        }
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let base = std::env::temp_dir().join(format!("vipd-privilege-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        let nobody = RunAs {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
        };
        // Missing: made, and given to the user.
        let made = base.join("run");
        prepare_socket_directory(&made.join("vipd.sock"), &nobody).unwrap();
        assert_eq!(made.metadata().unwrap().uid(), 65534);
        // Root's, empty: vipd's own (systemd's RuntimeDirectory=), handed over.
        let runtime = base.join("runtime");
        std::fs::create_dir(&runtime).unwrap();
        prepare_socket_directory(&runtime.join("vipd.sock"), &nobody).unwrap();
        assert_eq!(runtime.metadata().unwrap().uid(), 65534);
        // Root's, shared with other files, not writable by others: refused,
        // with what to do.
        std::fs::write(base.join("other"), "").unwrap();
        let error = prepare_socket_directory(&base.join("vipd.sock"), &nobody).unwrap_err();
        assert!(
            error.to_string().contains("not writable by user nobody"),
            "{error}"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}

//! Tracked files (keepalived's track_file): reading one's value the way
//! keepalived does, on a blocking thread and never on the thread that
//! sends adverts, and learning of changes by inotify.
//!
//! Why off the thread: a file on a hung NFS mount blocks `read` for as
//! long as the mount hangs, and a path such as /dev/zero never ends; read
//! on the actix thread, either stopped every advert (found by review,
//! 2026-12).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use futures::Stream;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// What keepalived reads of a tracked file: its first 127 bytes
/// (keepalived/trackers/track_file.c, process_track_file).
const READ_LIMIT: u64 = 127;

/// The file's value as keepalived takes it: a missing, unreadable or
/// empty file is 0; otherwise the number at its start, as C's strtol
/// with base 0 reads it (leading blanks, a sign, 0x for hex, 0 for
/// octal; what follows is ignored, no digits is 0). `None`: a number
/// outside keepalived's range, which keepalived ignores (the old value
/// stays).
pub fn read_value(path: &Path) -> Option<i64> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let mut text = Vec::new();
    if let Ok(file) = file {
        let _ = file.take(READ_LIMIT).read_to_end(&mut text);
    }
    let value = strtol(&text)?;
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&value)
        .then_some(value)
}

/// C's `strtol(text, NULL, 0)`, which keepalived uses: `None` where it
/// would set errno (out of range).
fn strtol(text: &[u8]) -> Option<i64> {
    let mut rest = text;
    while let [b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c, tail @ ..] = rest {
        rest = tail;
    }
    let negative = match rest {
        [b'-', tail @ ..] => {
            rest = tail;
            true
        }
        [b'+', tail @ ..] => {
            rest = tail;
            false
        }
        _ => false,
    };
    let radix = match rest {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => {
            rest = &rest[2..];
            16
        }
        [b'0', ..] => 8,
        _ => 10,
    };
    let mut value: i64 = 0;
    for &byte in rest {
        let Some(digit) = (byte as char).to_digit(radix) else {
            break;
        };
        value = value
            .checked_mul(i64::from(radix))?
            .checked_add(i64::from(digit))?;
    }
    Some(if negative { -value } else { value })
}

struct Watch(Inotify);

impl AsRawFd for Watch {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// An inotify instance watching the files' directories, not yet on the
/// runtime: made by `prepare_watch` on a blocking thread (adding a watch
/// looks the path up, which never returns on a hung mount), then turned
/// into a stream by `watch`.
pub struct Prepared {
    inotify: Inotify,
    directories: HashMap<WatchDescriptor, Vec<(OsString, PathBuf)>>,
}

/// Watches the directories of `files` (a file replaced by rename, as
/// editors and `mv` do, is seen too). keepalived watches the same events.
pub fn prepare_watch(files: &[PathBuf]) -> io::Result<Prepared> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    let mut directories: HashMap<WatchDescriptor, Vec<(OsString, PathBuf)>> = HashMap::new();
    for file in files {
        let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let wd = inotify.add_watch(
            dir,
            AddWatchFlags::IN_CLOSE_WRITE
                | AddWatchFlags::IN_DELETE
                | AddWatchFlags::IN_MOVE
                | AddWatchFlags::IN_CREATE,
        )?;
        directories
            .entry(wd)
            .or_default()
            .push((name.to_os_string(), file.clone()));
    }
    Ok(Prepared {
        inotify,
        directories,
    })
}

/// Changes to the watched files, by path, as inotify reports them. Must
/// be called on the runtime.
pub fn watch(prepared: Prepared) -> io::Result<impl Stream<Item = Vec<PathBuf>>> {
    let Prepared {
        inotify,
        directories,
    } = prepared;
    // SAFETY: the descriptor belongs to the Inotify inside `Watch`, which
    // the AsyncFd owns: it stays open and the same while registered.
    let fd = unsafe { AsyncFd::register_with_interest(Watch(inotify), Interest::READABLE) }?;
    Ok(futures::stream::unfold(
        (fd, directories),
        |(fd, directories)| async move {
            loop {
                let mut guard = match fd.readable().await {
                    Ok(guard) => guard,
                    Err(error) => {
                        tracing::error!(%error, "watching tracked files failed: {error}");
                        return None;
                    }
                };
                match guard.get_inner().0.read_events() {
                    Ok(events) => {
                        let mut changed: Vec<PathBuf> = Vec::new();
                        for event in events {
                            let Some(watched) = directories.get(&event.wd) else {
                                continue;
                            };
                            for (name, path) in watched {
                                if event.name.as_ref() == Some(name) && !changed.contains(path) {
                                    changed.push(path.clone());
                                }
                            }
                        }
                        if !changed.is_empty() {
                            return Some((changed, (fd, directories)));
                        }
                    }
                    Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                    Err(error) => {
                        tracing::error!(%error, "watching tracked files failed: {error}");
                        return None;
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_keepalived_reads_them() {
        for (text, value) in [
            ("", Some(0)),
            ("42\n", Some(42)),
            ("  -7 apples", Some(-7)),
            ("+3", Some(3)),
            ("0x1f", Some(31)),
            ("010", Some(8)),
            ("0", Some(0)),
            ("abc", Some(0)),
            ("\0\0\0", Some(0)),
            ("99999999999999999999999", None),
        ] {
            assert_eq!(strtol(text.as_bytes()), value, "{text:?}");
        }
    }

    #[test]
    fn files_are_read_bounded_and_without_waiting() {
        let dir = std::env::temp_dir().join(format!("vipd-track-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("weight");
        assert_eq!(read_value(&file), Some(0), "missing counts 0");
        std::fs::write(&file, "12\n").unwrap();
        assert_eq!(read_value(&file), Some(12));
        std::fs::write(&file, "4294967297").unwrap();
        assert_eq!(read_value(&file), None, "out of keepalived's range");
        // Endless, and a FIFO without a writer: both return at once.
        assert_eq!(read_value(Path::new("/dev/zero")), Some(0));
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(read_value(&fifo), Some(0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

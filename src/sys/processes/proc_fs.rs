//! What /proc says of processes: a process's name, command line and
//! parent, a scan of every process, and whether /proc hides other
//! users' processes (`hidepid`).

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// One process as a track_process needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub parent: u32,
    pub comm: String,
    /// Its first `cmdline_limit` bytes, NUL separated; empty unless asked.
    pub cmdline: Vec<u8>,
}

/// /proc/PID/stat's name, state and parent: `PID (COMM) S PPID ...`.
/// The name may hold spaces and parentheses, so it ends at the last `)`.
pub fn parse_stat(stat: &str) -> Option<(String, char, u32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace();
    let state = rest.next()?.chars().next()?;
    let parent = rest.next()?.parse().ok()?;
    Some((comm, state, parent))
}

fn read_limited(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit.min(4096));
    File::open(path)?.take(limit as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// A live process's facts, or None if it is gone, a zombie, or hidden.
/// The command line is read only if `cmdline_limit` > 0 (it is read from
/// the process's memory, which may be swapped out).
pub fn read_process(proc_root: &Path, pid: u32, cmdline_limit: usize) -> Option<ProcessInfo> {
    let dir = proc_root.join(pid.to_string());
    let stat = read_limited(&dir.join("stat"), 1024).ok()?;
    let (comm, state, parent) = parse_stat(&String::from_utf8_lossy(&stat))?;
    if state == 'Z' || state == 'X' {
        return None;
    }
    let cmdline = if cmdline_limit > 0 {
        read_limited(&dir.join("cmdline"), cmdline_limit).ok()?
    } else {
        Vec::new()
    };
    Some(ProcessInfo {
        pid,
        parent,
        comm,
        cmdline,
    })
}

/// Every process /proc shows (threads are not listed there).
pub fn pids(proc_root: &Path) -> std::io::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(proc_root)? {
        let Ok(entry) = entry else { continue };
        if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// /proc's mount options that hide processes, as the kernel shows them
/// in /proc/self/mountinfo (Documentation/filesystems/proc.rst,
/// "Configuring procfs").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HidePid {
    /// `hidepid=` as written there (1, 2, 4, noaccess, invisible,
    /// ptraceable); None: processes are not hidden.
    pub mode: Option<String>,
    /// `gid=`: members see every process.
    pub gid: Option<u32>,
}

/// The options of the proc mounted at /proc, from mountinfo's text.
pub fn hidepid(mountinfo: &str) -> HidePid {
    let mut found = HidePid::default();
    for line in mountinfo.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE SUPER
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if left.split(' ').nth(4) != Some("/proc") {
            continue;
        }
        let mut right = right.split(' ');
        if right.next() != Some("proc") {
            continue;
        }
        let options = right.nth(1).unwrap_or("");
        // The last mount at /proc is the one seen.
        found = HidePid::default();
        for option in options.split(',') {
            match option.split_once('=') {
                Some(("hidepid", "0" | "off")) => {}
                Some(("hidepid", mode)) => found.mode = Some(mode.to_string()),
                Some(("gid", gid)) => found.gid = gid.parse().ok(),
                _ => {}
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_may_hold_spaces_and_parentheses() {
        assert_eq!(
            parse_stat("42 (a (b) c) S 7 42 42 0"),
            Some(("a (b) c".into(), 'S', 7))
        );
        assert_eq!(parse_stat("42 (x) Z 1"), Some(("x".into(), 'Z', 1)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x)"), None);
    }

    #[test]
    fn this_process_is_read() {
        let me = read_process(Path::new("/proc"), std::process::id(), 4096).unwrap();
        assert!(!me.comm.is_empty());
        assert!(!me.cmdline.is_empty());
        assert!(pids(Path::new("/proc"))
            .unwrap()
            .contains(&std::process::id()));
    }

    #[test]
    fn hidepid_from_mountinfo() {
        let info = "\
22 1 0:5 / /dev rw - devtmpfs udev rw
25 1 0:22 / /proc rw,nosuid - proc proc rw
26 25 0:30 / /proc/sys/fs/binfmt_misc rw - autofs systemd-1 rw
";
        assert_eq!(hidepid(info), HidePid::default());
        let hidden = info.replace("proc proc rw", "proc proc rw,hidepid=invisible,gid=1001");
        assert_eq!(
            hidepid(&hidden),
            HidePid {
                mode: Some("invisible".into()),
                gid: Some(1001)
            }
        );
        let off = info.replace("proc proc rw", "proc proc rw,hidepid=0");
        assert_eq!(hidepid(&off).mode, None);
    }
}

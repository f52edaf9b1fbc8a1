//! Scripts: how a command line is split, where its program is, and
//! whether it is safe to run as root (keepalived's enable_script_security:
//! a script that a non-root user could change would run their code as root).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const STICKY: u32 = 0o1000;

/// A command line split into program and arguments, with the program's
/// absolute path resolved through PATH if needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// As written in the configuration, for logs.
    pub line: String,
}

/// Splits `line` (shell-style quoting, no shell) and finds its program.
pub fn parse(line: &str) -> Result<Script, String> {
    let words = shlex::split(line).ok_or_else(|| format!("{line:?}: unbalanced quotes"))?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| "empty command".to_string())?;
    let program = resolve(program).ok_or_else(|| format!("{program}: no such executable"))?;
    Ok(Script {
        program,
        args: args.to_vec(),
        line: line.to_string(),
    })
}

fn resolve(program: &str) -> Option<PathBuf> {
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return executable(&path).then_some(path);
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

/// When running as root: refuses a program that a non-root user could
/// replace or change, through the file itself or any directory above it
/// (symbolic links followed). A root-owned sticky directory such as /tmp
/// is fine: others cannot replace what root put there.
pub fn check_security(program: &Path) -> Result<(), String> {
    let real = program
        .canonicalize()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    for path in real.ancestors() {
        let meta = path
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mode = meta.permissions().mode();
        let sticky_dir = meta.is_dir() && mode & STICKY != 0;
        if meta.uid() != 0 {
            return Err(format!(
                "{} is owned by uid {}, not root",
                path.display(),
                meta.uid()
            ));
        }
        if mode & 0o002 != 0 && !sticky_dir {
            return Err(format!("{} is writable by every user", path.display()));
        }
        if mode & 0o020 != 0 && meta.gid() != 0 && !sticky_dir {
            return Err(format!(
                "{} is writable by group {}",
                path.display(),
                meta.gid()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn splits_like_a_shell_without_one() {
        let script = parse("/bin/sh -c 'echo \"a b\"' x").unwrap();
        assert_eq!(script.program, PathBuf::from("/bin/sh"));
        assert_eq!(script.args, vec!["-c", "echo \"a b\"", "x"]);
        assert!(parse("/bin/sh 'unbalanced")
            .unwrap_err()
            .contains("unbalanced"));
        assert!(parse("").is_err());
    }

    #[test]
    fn finds_programs_on_path() {
        let script = parse("sh -c true").unwrap();
        assert!(script.program.is_absolute(), "{:?}", script.program);
        assert!(parse("no-such-program-vipd")
            .unwrap_err()
            .contains("no such executable"));
    }

    #[test]
    fn system_binaries_are_secure() {
        if crate::lab::testing::root_or_skip("system_binaries_are_secure") {
            assert_eq!(check_security(Path::new("/bin/sh")), Ok(()));
        }
    }

    #[test]
    fn writable_scripts_and_directories_are_refused() {
        if !crate::lab::testing::root_or_skip("writable_scripts_and_directories_are_refused") {
            return;
        }
        let dir = std::env::temp_dir().join(format!("vipd-scripts-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("check.sh");
        fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_security(&script), Ok(()));

        fs::set_permissions(&script, fs::Permissions::from_mode(0o757)).unwrap();
        assert!(check_security(&script)
            .unwrap_err()
            .contains("writable by every user"));
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let error = check_security(&script).unwrap_err();
        assert!(
            error.contains(&dir.display().to_string()) && error.contains("every user"),
            "{error}"
        );
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();

        nix::unistd::chown(&script, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        assert!(check_security(&script)
            .unwrap_err()
            .contains("owned by uid 65534"));
        fs::remove_dir_all(&dir).unwrap();
    }
}

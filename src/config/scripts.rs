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
    let program = resolve(program).ok_or_else(|| not_found(program))?;
    Ok(Script {
        program,
        args: args.to_vec(),
        line: line.to_string(),
    })
}

/// Why `program` was not found, in words that say what to mend: a path
/// this process may not look at (after vipd became `user`, a reload
/// checks as that user) is not a missing file.
fn not_found(program: &str) -> String {
    if program.contains('/') {
        if let Err(error) = Path::new(program).metadata() {
            if error.kind() == std::io::ErrorKind::PermissionDenied {
                let uid = nix::unistd::geteuid();
                return format!(
                    "{program}: cannot be looked at by uid {uid}, whom vipd runs as (permission denied on the way to it)"
                );
            }
        }
    }
    format!("{program}: no such executable")
}

pub fn resolve(program: &str) -> Option<PathBuf> {
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

/// When the script would run as root: refuses it if a non-root user
/// could change what it runs, the program or, for a known interpreter
/// (`/bin/sh /home/u/x.sh`, `/usr/bin/env bash x.sh`, `python3 x.py`), the
/// script file it is given. keepalived 2.4.3 checks only the program
/// (lib/notify.c, check_script_secure, args[0]), so `/bin/sh x.sh` passes
/// there with x.sh writable by anyone; vipd goes further. An inline
/// program (`sh -c '...'`, `perl -e '...'`) has no file to check, and
/// neither has `python3 -m module` (its search path is not followed).
pub fn check_script_security(script: &Script) -> Result<(), String> {
    check_security(&script.program)?;
    for file in interpreted_files(&script.program, &script.args)? {
        check_security(&file)?;
    }
    Ok(())
}

/// What a command line would have an interpreter read or run: the script
/// file of a shell, Python, Perl, Ruby ..., and for `env` the program it
/// starts and that program's own script file.
fn interpreted_files(program: &Path, args: &[String]) -> Result<Vec<PathBuf>, String> {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let kind = Interpreter::of(&name);
    let Some(kind) = kind else {
        return Ok(Vec::new());
    };
    if kind == Interpreter::Env {
        return env_files(args);
    }
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            return Ok(words.next().map(PathBuf::from).into_iter().collect());
        }
        if word == "-" {
            return Ok(Vec::new()); // the program comes on standard input
        }
        let Some(flags) = word.strip_prefix('-').or_else(|| {
            (kind == Interpreter::Shell)
                .then(|| word.strip_prefix('+'))
                .flatten()
        }) else {
            return Ok(vec![PathBuf::from(word)]);
        };
        if kind.inline(flags) {
            return Ok(Vec::new());
        }
        if kind.takes_value(flags) {
            words.next();
        }
    }
    Ok(Vec::new())
}

/// `env [-i] [-u NAME] [-C DIR] [NAME=VALUE]... PROGRAM ARGS...`: the
/// program, found as env finds it, and what it interprets.
fn env_files(args: &[String]) -> Result<Vec<PathBuf>, String> {
    let mut words = args.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "-u" | "--unset" | "-C" | "--chdir" => {
                words.next();
            }
            "-S" | "--split-string" => {
                let rest: Vec<String> = words.cloned().collect();
                let line = words_of(rest);
                let split =
                    shlex::split(&line).ok_or_else(|| format!("{line:?}: unbalanced quotes"))?;
                return env_files(&split);
            }
            w if w.starts_with('-') || w.contains('=') => {}
            program => {
                let found =
                    resolve(program).ok_or_else(|| format!("{program}: no such executable"))?;
                let rest: Vec<String> = words.cloned().collect();
                let mut files = vec![found.clone()];
                files.extend(interpreted_files(&found, &rest)?);
                return Ok(files);
            }
        }
    }
    Ok(Vec::new())
}

fn words_of(words: Vec<String>) -> String {
    words.join(" ")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interpreter {
    Shell,
    Python,
    Perl,
    Ruby,
    Other,
    Env,
}

impl Interpreter {
    fn of(name: &str) -> Option<Interpreter> {
        const SHELLS: [&str; 8] = ["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish"];
        let versioned = |base: &str| {
            name.strip_prefix(base)
                .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        };
        Some(match name {
            "env" => Interpreter::Env,
            n if SHELLS.contains(&n) => Interpreter::Shell,
            _ if versioned("python") => Interpreter::Python,
            _ if versioned("perl") => Interpreter::Perl,
            _ if versioned("ruby") => Interpreter::Ruby,
            _ if versioned("php") || versioned("lua") || versioned("tclsh") => Interpreter::Other,
            "node" | "nodejs" => Interpreter::Other,
            _ => return None,
        })
    }

    /// `flags` (after the dash) carry the program on the command line.
    fn inline(self, flags: &str) -> bool {
        match self {
            // sh -c, sh -ec, bash -xc ...
            Interpreter::Shell => !flags.starts_with('-') && flags.contains('c'),
            Interpreter::Python => flags.contains('c') || flags.contains('m'),
            // perl -e / -E / -ne / -lpe; not -Mfeature or -Idir
            Interpreter::Perl | Interpreter::Ruby => {
                !flags.starts_with(['M', 'I', 'm', 'd', 'D', 'x', 'C', 'V', '0', 'i', 'r', '-'])
                    && (flags.contains('e') || flags.contains('E'))
            }
            Interpreter::Other => matches!(flags, "r" | "e" | "c" | "-eval" | "p" | "-print"),
            Interpreter::Env => false,
        }
    }

    /// Options whose value is the next word.
    fn takes_value(self, flags: &str) -> bool {
        match self {
            Interpreter::Shell => matches!(flags, "o" | "O" | "-rcfile" | "-init-file"),
            Interpreter::Python => matches!(flags, "W" | "X" | "Q"),
            Interpreter::Perl | Interpreter::Ruby => matches!(flags, "I" | "r" | "M"),
            Interpreter::Other => false,
            Interpreter::Env => false,
        }
    }
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
    /// A root-owned directory with a script in it that nobody (65534)
    /// owns, so a non-root user could change it.
    fn writable_script(tag: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("vipd-interp-{tag}-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("x.sh");
        fs::write(&script, "true\n").unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).unwrap();
        nix::unistd::chown(&script, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        (dir, script)
    }

    #[test]
    fn an_interpreters_script_file_is_checked_too() {
        if !crate::lab::testing::root_or_skip("an_interpreters_script_file_is_checked_too") {
            return;
        }
        let (dir, x) = writable_script("files");
        let x = x.display().to_string();
        for line in [
            format!("/bin/sh {x}"),
            format!("/bin/sh -e {x}"),
            format!("/bin/sh -o errexit {x}"),
            format!("/bin/sh -- {x}"),
            format!("bash {x}"),
            format!("/usr/bin/python3 -u {x}"),
            format!("perl -w {x}"),
            format!("/usr/bin/env bash {x}"),
            format!("/usr/bin/env -i PATH=/bin /bin/sh {x}"),
            format!("env -S 'sh {x}'"),
        ] {
            let Ok(script) = parse(&line) else {
                continue; // an interpreter this machine lacks
            };
            let error = check_script_security(&script)
                .expect_err(&format!("{line} passed with a script others can change"));
            assert!(error.contains("owned by uid 65534"), "{line}: {error}");
        }
        // The same files as root's own pass.
        nix::unistd::chown(Path::new(&x), Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
        assert_eq!(
            check_script_security(&parse(&format!("/bin/sh {x}")).unwrap()),
            Ok(())
        );
        assert_eq!(
            check_script_security(&parse(&format!("/usr/bin/env bash {x}")).unwrap()),
            Ok(())
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn inline_programs_have_no_file_to_check() {
        let files = |line: &str| {
            let script = parse(line).unwrap();
            interpreted_files(&script.program, &script.args).unwrap()
        };
        assert!(files("/bin/sh -c 'exit 0' /home/u/x.sh").is_empty());
        assert!(files("/bin/sh -ec 'true'").is_empty());
        assert!(files("/bin/sh -").is_empty());
        assert_eq!(
            files("/bin/sh -x /opt/x.sh"),
            vec![PathBuf::from("/opt/x.sh")]
        );
        assert_eq!(
            files("/bin/sh +o errexit /opt/x.sh"),
            vec![PathBuf::from("/opt/x.sh")]
        );
        // Not an interpreter: its arguments are data.
        assert!(files("/bin/true /home/u/x.sh").is_empty());
        if parse("perl -v").is_ok() {
            assert!(files("perl -e 'print 1' /tmp/data").is_empty());
            assert!(files("perl -lne 'print' /tmp/data").is_empty());
            assert_eq!(
                files("perl -Mstrict /opt/x.pl"),
                vec![PathBuf::from("/opt/x.pl")]
            );
        }
        if parse("python3 -V").is_ok() {
            assert!(files("python3 -c 'pass' /tmp/x").is_empty());
            assert!(files("python3 -m http.server").is_empty());
            assert_eq!(
                files("python3 -W ignore /opt/x.py"),
                vec![PathBuf::from("/opt/x.py")]
            );
        }
        let env = files("/usr/bin/env -u HOME sh /opt/x.sh");
        assert_eq!(env.len(), 2, "{env:?}");
        assert!(
            env[0].ends_with("sh") && env[1] == Path::new("/opt/x.sh"),
            "{env:?}"
        );
        assert_eq!(
            files("/usr/bin/env sh -c true"),
            vec![resolve("sh").unwrap()]
        );
    }
}

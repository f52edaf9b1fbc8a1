//! Sets REVISIONED_VERSION (not VIPD_...: cargo also sets it for tests'
//! processes, and vipd reads VIPD_ variables as configuration): the crate's version and the git revision it was built
//! from, for `vipd --version`. From a git checkout, `git rev-parse`; from a
//! `cargo package` tarball, the revision cargo recorded in
//! .cargo_vcs_info.json; otherwise the version alone, said so.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let revision = from_git(root).or_else(|| from_package(root));
    let version = env!("CARGO_PKG_VERSION");
    let shown = match revision {
        Some(revision) => format!("{version} (git {revision})"),
        None => format!("{version} (git revision unknown)"),
    };
    println!("cargo:rustc-env=REVISIONED_VERSION={shown}");
    println!("cargo:rerun-if-changed=build.rs");
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn from_git(root: &Path) -> Option<String> {
    if !root.join(".git").exists() {
        return None;
    }
    let Some(revision) = git(root, &["rev-parse", "--short=12", "HEAD"]) else {
        // A checkout git will not read (another user's, say): say so
        // rather than build an unlabelled binary quietly.
        println!("cargo:warning=.git exists but `git rev-parse HEAD` failed: vipd --version will not name a revision");
        return None;
    };
    // Rebuild when HEAD moves, in a worktree too: HEAD, and every branch
    // (a directory is watched whole) and packed refs where they live.
    // Only paths that exist: a missing one would rerun every build.
    let absolute = |p: String| {
        let p = Path::new(&p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        }
    };
    if let Some(dir) = git(root, &["rev-parse", "--git-dir"]).map(absolute) {
        watch(&dir.join("HEAD"));
    }
    if let Some(common) = git(root, &["rev-parse", "--git-common-dir"]).map(absolute) {
        watch(&common.join("refs").join("heads"));
        watch(&common.join("packed-refs"));
    }
    Some(revision)
}

fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// `cargo package` writes {"git": {"sha1": "..."}} into the tarball.
fn from_package(root: &Path) -> Option<String> {
    let info = std::fs::read_to_string(root.join(".cargo_vcs_info.json")).ok()?;
    let start = info.find("\"sha1\"")? + "\"sha1\"".len();
    let rest = info[start..].trim_start().strip_prefix(':')?.trim_start();
    let sha1 = rest.strip_prefix('"')?.split('"').next()?;
    Some(sha1.chars().take(12).collect())
}

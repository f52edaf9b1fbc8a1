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

fn from_git(root: &Path) -> Option<String> {
    let git = root.join(".git");
    if !git.exists() {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it names, and
    // packed refs (only files that exist: a missing one reruns always).
    let head = git.join("HEAD");
    for watched in [head.clone(), git.join("packed-refs")] {
        if watched.exists() {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
    }
    if let Some(branch) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|h| h.strip_prefix("ref: ").map(|r| git.join(r.trim())))
        .filter(|b| b.exists())
    {
        println!("cargo:rerun-if-changed={}", branch.display());
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let revision = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !revision.is_empty()).then_some(revision)
}

/// `cargo package` writes {"git": {"sha1": "..."}} into the tarball.
fn from_package(root: &Path) -> Option<String> {
    let info = std::fs::read_to_string(root.join(".cargo_vcs_info.json")).ok()?;
    let start = info.find("\"sha1\"")? + "\"sha1\"".len();
    let rest = info[start..].trim_start().strip_prefix(':')?.trim_start();
    let sha1 = rest.strip_prefix('"')?.split('"').next()?;
    Some(sha1.chars().take(12).collect())
}

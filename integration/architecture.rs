//! The protocol core stays pure: no I/O, no clock, no runtime, and no
//! imports from the rest of vipd. A breach is a design error, caught here
//! rather than in review.
//!
//! Two fences: words that mean I/O or a clock, and the roots of every path
//! in src/proto. A path may start at `std`, `core`, the core's own modules
//! (`super::` one level, `crate::proto::`), or the few crates the core is
//! allowed (`thiserror`, `tracing`). Every other dependency in Cargo.toml,
//! and every other module of vipd, is refused, so a new dependency is
//! refused in the core until this list says otherwise.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "Instant::now",
    "SystemTime",
    "std::fs",
    "std::net::UdpSocket",
    "std::net::TcpStream",
    "std::net::TcpListener",
    "std::os",
    "std::thread",
    "std::process",
    "std::io::stdin",
    "std::env",
    "println!",
    "eprintln!",
    "unsafe ",
    // Also caught by the path fence below, unless written as `use tokio;`.
    "actix",
    "tokio",
    "socket2",
    "rtnetlink",
];

/// Crates the core may use: error derives and debug traces.
/// Pure computation only: RustCrypto's HMAC and SHA-256 compute
/// auth_hmac's tags (no I/O, no clock, no allocation behind our back).
const ALLOWED_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "thiserror",
    "tracing",
    "hmac",
    "sha2",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every dependency named in Cargo.toml, as code spells it (`-` as `_`).
fn dependencies() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let mut names = BTreeSet::new();
    let mut in_dependencies = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line.ends_with("dependencies]");
            continue;
        }
        if in_dependencies {
            if let Some((name, _)) = line.split_once('=') {
                let name = name.trim();
                if !name.is_empty() && !name.starts_with('#') {
                    names.insert(name.replace('-', "_"));
                }
            }
        }
    }
    names.insert("vipd".into());
    names
}

/// Code without comments: a word in a comment is not a use.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths in `code` that leave the core, as (path start, why).
fn escaping_paths(code: &str, is_module_root: bool, crates: &BTreeSet<String>) -> Vec<String> {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_ident(bytes[i]) || (i > 0 && (is_ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let root = &code[start..i];
        let rest = &code[i..];
        if !rest.starts_with("::") {
            continue;
        }
        let after = &rest[2..];
        let path: String = code[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let escapes = match root {
            "crate" => !after.starts_with("proto::") && !after.starts_with("proto;"),
            "super" => is_module_root || after.starts_with("super"),
            root if ALLOWED_CRATES.contains(&root) => false,
            root => crates.contains(root),
        };
        if escapes {
            found.push(path);
        }
    }
    found
}

fn proto_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            proto_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn proto_does_no_io_and_reads_no_clock() {
    let mut files = Vec::new();
    proto_files(&manifest_dir().join("src/proto"), &mut files);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let is_test_file = path.to_string_lossy().ends_with("_tests.rs");
        // Unit tests may build a base Instant to drive virtual time from.
        let code = if is_test_file {
            String::new()
        } else {
            strip_comments(text.split("#[cfg(test)]").next().unwrap())
        };
        for word in FORBIDDEN {
            assert!(!code.contains(word), "{} uses {word}", path.display());
        }
    }
    assert!(files.len() >= 10, "found only {} files", files.len());
}

#[test]
fn proto_imports_nothing_from_the_rest_of_vipd_or_its_io_crates() {
    let crates = dependencies();
    assert!(
        crates.contains("tokio") && crates.contains("actix") && crates.contains("rtnetlink"),
        "the manifest was not read: {crates:?}"
    );
    let mut files = Vec::new();
    proto_files(&manifest_dir().join("src/proto"), &mut files);
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let is_module_root = path.file_name().is_some_and(|n| n == "mod.rs");
        let escaping = escaping_paths(&strip_comments(&text), is_module_root, &crates);
        assert!(
            escaping.is_empty(),
            "{} reaches outside the core: {escaping:?}",
            path.display()
        );
    }
}

/// The fence itself can fail: each of these would be refused.
#[test]
fn the_import_fence_catches_what_it_should() {
    let crates = dependencies();
    let refused = [
        ("use crate::net::netlink::Netlink;", false),
        ("use crate::{config, proto};", false),
        ("let t = tokio::time::Instant::now();", false),
        ("fn f() -> actix::Addr<X> {}", false),
        ("use super::super::config::Settings;", false),
        ("use super::actors;", true),
        ("use vipd::lab::Lab;", false),
        ("let s = socket2::Socket::new();", false),
    ];
    for (code, is_root) in refused {
        assert!(
            !escaping_paths(code, is_root, &crates).is_empty(),
            "not caught: {code}"
        );
    }
    let allowed = [
        "use crate::proto::packet::Vrid;",
        "use super::packet::{Advert, Version};",
        "use std::net::IpAddr; use thiserror::Error;",
        "tracing::debug!(\"x\"); let v = Version::V2; let n = u16::from(x);",
        "Self::new(); State::Master; core::cmp::max(1, 2);",
    ];
    for code in allowed {
        assert_eq!(
            escaping_paths(code, false, &crates),
            Vec::<String>::new(),
            "refused: {code}"
        );
    }
}

#[test]
fn proto_forbids_unsafe() {
    let module = std::fs::read_to_string(manifest_dir().join("src/proto/mod.rs")).unwrap();
    assert!(module.contains("#![forbid(unsafe_code)]"));
}

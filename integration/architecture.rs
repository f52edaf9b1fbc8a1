//! The protocol core stays pure: no I/O, no clock, no runtime. A use of any
//! of these in src/proto is a design error, caught here rather than in review.

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "Instant::now",
    "SystemTime",
    "std::fs",
    "std::net::UdpSocket",
    "std::net::TcpStream",
    "std::thread",
    "std::process",
    "std::io::stdin",
    "println!",
    "eprintln!",
    "actix",
    "tokio",
    "socket2",
    "rtnetlink",
    "unsafe ",
];

#[test]
fn proto_does_no_io_and_reads_no_clock() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/proto");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let is_test_file = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("_tests.rs");
            // Unit tests may build a base Instant to drive virtual time from.
            let code = if is_test_file {
                String::new()
            } else {
                text.split("#[cfg(test)]").next().unwrap().to_string()
            };
            for word in FORBIDDEN {
                assert!(!code.contains(word), "{} uses {word}", path.display());
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "found only {checked} files in {}",
        dir.display()
    );
}

#[test]
fn proto_forbids_unsafe() {
    let module =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/proto/mod.rs"))
            .unwrap();
    assert!(module.contains("#![forbid(unsafe_code)]"));
}

//! Reading and mapping a keepalived.conf never panics, and stops within
//! the reader's limits: the input is up to 8 files, 0.conf to 7.conf,
//! separated by NUL bytes, and 0.conf is read (the others are there to be
//! included).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vipd::config::keepalived::reader::Limits;

/// One directory for this process, removed and written again per input.
fn directory() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        std::env::temp_dir().join(format!("vipd-fuzz-reader-{}", std::process::id()))
    })
}

/// The reader's limits, made small: inputs that multiply themselves reach
/// them in milliseconds, so the fuzzer spends its time elsewhere. The code
/// that enforces them is the same at any size.
const LIMITS: Limits = Limits {
    lines: 20_000,
    file_opens: 200,
    input_bytes: 1 << 20,
    replaced_bytes: 1 << 20,
    ..Limits::DEFAULT
};

fuzz_target!(|data: &[u8]| {
    let dir = directory();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for (i, text) in data.split(|b| *b == 0).take(8).enumerate() {
        std::fs::write(dir.join(format!("{i}.conf")), text).unwrap();
    }
    let _ = vipd::config::keepalived::read_file_limited(&dir.join("0.conf"), "fuzz", &LIMITS);
});

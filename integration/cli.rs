//! The `vipd` binary's commands, run as a user would.

use std::process::Command;

fn vipd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vipd"))
        .args(args)
        .output()
        .expect("run vipd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn decode_prints_a_keepalived_advert() {
    let (ok, stdout, _) = vipd(&[
        "decode",
        "21336401 0101549c c00002cb 31313131 00000000",
        "--src",
        "192.0.2.201",
    ]);
    assert!(ok);
    assert!(stdout.contains("vrid       51"), "{stdout}");
    assert!(stdout.contains("priority   100"), "{stdout}");
    assert!(stdout.contains("addresses  192.0.2.203"), "{stdout}");
    assert!(
        !stdout.contains("1111"),
        "the password is not printed: {stdout}"
    );
}

#[test]
fn decode_names_what_is_wrong_and_fails() {
    let (ok, _, stderr) = vipd(&[
        "decode",
        "213364010101549dc00002cb3131313100000000",
        "--src",
        "192.0.2.201",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("checksum 0x549d, computed 0x549c"),
        "{stderr}"
    );

    let (ok, _, stderr) = vipd(&[
        "decode",
        "213364010101549cc00002cb3131313100000000",
        "--src",
        "192.0.2.201",
        "--ttl",
        "64",
    ]);
    assert!(!ok);
    assert!(stderr.contains("TTL/hop limit 64"), "{stderr}");

    let (ok, _, stderr) = vipd(&["decode", "2x", "--src", "192.0.2.201"]);
    assert!(!ok);
    assert!(stderr.contains("not hex"), "{stderr}");
}

#[test]
fn man_page_is_roff_with_the_configuration_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_vipd"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    for part in [
        ".TH vipd 8",
        ".SH CONFIGURATION",
        "virtual_router_id",
        "unicast_peer",
        ".SH SIGNALS",
        "vipd\\-status",
    ] {
        assert!(page.contains(part), "{part} missing");
    }
    // man(1) renders it without complaint where man-db is installed.
    let file = std::env::temp_dir().join(format!("vipd-{}.8", std::process::id()));
    std::fs::write(&file, &page).unwrap();
    if let Ok(shown) = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANWIDTH", "80")
        .output()
    {
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(text.contains("CONFIGURATION"), "{text}");
    }
    let _ = std::fs::remove_file(&file);
}

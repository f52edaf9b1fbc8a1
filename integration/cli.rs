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
        "vipd.yaml(5)",
        "control_socket",
        ".SH SIGNALS",
        "vipd status",
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

/// The environment variable that makes this test binary, run again by
/// `vipd_reload_signals_the_process_that_answered`, play a daemon.
const FAKE_DAEMON: &str = "VIPD_TEST_FAKE_DAEMON_SOCKET";

/// Not a test of its own: when run with FAKE_DAEMON set, it answers on
/// that control socket as a vipd would, with pid 0 in its snapshot, and
/// reports a reload once it has had a SIGHUP. Otherwise it returns.
#[test]
fn fake_daemon_for_the_reload_test() {
    let Some(socket) = std::env::var_os(FAKE_DAEMON) else {
        return;
    };
    let hup = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, hup.clone()).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut snapshot = vipd::status::Snapshot {
            version: "fake".into(),
            pid: 0,
            ..Default::default()
        };
        if hup.load(std::sync::atomic::Ordering::SeqCst) {
            snapshot.reload = Some(vipd::status::ReloadStatus {
                sequence: 1,
                applied: true,
                summary: "fake daemon had its SIGHUP".into(),
                ..Default::default()
            });
        }
        let _ = std::io::Write::write_all(&mut stream, &serde_json::to_vec(&snapshot).unwrap());
        if std::time::Instant::now() > deadline || snapshot.reload.is_some() {
            break;
        }
    }
}

/// `vipd reload` signals the process the kernel says answered on the
/// socket, never the pid the snapshot names: here that pid is 0, and
/// kill(0) would have signalled vipd reload's own process group.
#[test]
fn vipd_reload_signals_the_process_that_answered() {
    use std::os::unix::process::CommandExt;
    let dir = std::env::temp_dir().join(format!("vipd-fake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("fake.sock");
    let _ = std::fs::remove_file(&socket);
    let mut fake = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "fake_daemon_for_the_reload_test", "--nocapture"])
        .env(FAKE_DAEMON, &socket)
        .spawn()
        .unwrap();
    let listening = (0..500).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    assert!(listening, "the fake daemon never listened");
    // Its own process group: a kill(0, SIGHUP) would end vipd reload
    // alone, not this test.
    let out = Command::new(env!("CARGO_BIN_EXE_vipd"))
        .args(["reload", "--socket"])
        .arg(&socket)
        .process_group(0)
        .output()
        .unwrap();
    let _ = fake.kill();
    let _ = fake.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{out:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("fake daemon had its SIGHUP"));
}

#[test]
fn keygen_prints_a_fresh_key_that_a_key_file_can_hold() {
    let (ok, first, _) = vipd(&["keygen"]);
    assert!(ok);
    let (_, second, _) = vipd(&["keygen"]);
    let digits = first.trim().strip_prefix("hex:").expect("hex: prefix");
    assert_eq!(digits.len(), 64, "{first}");
    assert!(digits.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(first, second, "two keys alike");
    let (ok, long, _) = vipd(&["keygen", "--bytes", "64"]);
    assert!(ok && long.trim().len() == 4 + 128, "{long}");
    let (ok, _, err) = vipd(&["keygen", "--bytes", "16"]);
    assert!(!ok && err.contains("32..=64"), "{err}");

    // As a key file, mode 600, it loads; readable by others, it does not.
    let dir = std::env::temp_dir().join(format!("vipd-keygen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("vrrp51.key");
    std::fs::write(&key, &first).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.join("vipd.yaml");
    std::fs::write(
        &config,
        format!(
            "instances:\n  VI_1:\n    interface: eth0\n    virtual_router_id: 51\n    version: 3\n    virtual_ipaddress: [192.0.2.203]\n    auth_hmac:\n      keys: [\"1 file:{}\"]\n      active_key: 1\n",
            key.display()
        ),
    )
    .unwrap();
    let config = config.to_string_lossy().to_string();
    let (ok, out, err) = vipd(&["check", "--config", &config]);
    assert!(ok, "{err}");
    assert!(out.contains("1 file:") && !out.contains(digits), "{out}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = vipd(&["check", "--config", &config]);
    assert!(
        !ok && err.contains("chmod 600") && err.contains("vipd.yaml"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

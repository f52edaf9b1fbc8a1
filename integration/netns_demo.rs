//! `vipd demo` as a user runs it: the story passes (on a LAN, and across
//! subnets with `--routed`), and an interrupted demo still removes
//! everything it made.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::*;

fn namespaces_of(pid: u32) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let prefix = format!("vipd{pid}x");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// Runs `vipd demo` with `args`; checks it passes every step in `steps`
/// and leaves no namespace behind.
fn demo_passes(args: &[&str], steps: &[&str]) {
    let child = Command::new(vipd_binary())
        .arg("demo")
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for step in steps {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    assert!(
        namespaces_of(pid).is_empty(),
        "left behind: {:?}",
        namespaces_of(pid)
    );
}

#[test]
fn the_demo_tells_the_seed_story_and_cleans_up() {
    if !prerequisites_or_skip("the_demo_tells_the_seed_story_and_cleans_up", false) {
        return;
    }
    demo_passes(
        &[],
        &[
            "PASS  1. VIP on A only",
            "PASS  2. VIP on B",
            "PASS  3. VIP back on A only",
            "result: 3 passed, 0 failed",
        ],
    );
}

#[test]
fn an_interrupted_demo_removes_its_lab() {
    if !prerequisites_or_skip("an_interrupted_demo_removes_its_lab", false) {
        return;
    }
    let mut child = Command::new(vipd_binary())
        .arg("demo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Interrupt once the lab exists, as Ctrl-C would.
    vipd::lab::wait_for(DEADLINE, || namespaces_of(pid).len() == 3)
        .expect("the demo built its lab");
    kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "an interrupted demo is not a success"
    );
    let gone = vipd::lab::wait_for(Duration::from_secs(5), || namespaces_of(pid).is_empty());
    assert!(gone.is_some(), "left behind: {:?}", namespaces_of(pid));
}

#[test]
fn the_routed_demo_tells_the_story_across_subnets_and_cleans_up() {
    let test = "the_routed_demo_tells_the_story_across_subnets_and_cleans_up";
    let missing = vipd::lab::missing_prerequisite().or_else(vipd::lab::routed::bird_missing);
    if !vipd::lab::testing::proceed_or_skip(test, missing) {
        return;
    }
    demo_passes(
        &["--routed"],
        &[
            "PASS  1. the client reaches A",
            "PASS  2. the client reaches B",
            "PASS  3. the client reaches A again",
            "result: 3 passed, 0 failed",
        ],
    );
}

#[test]
fn the_routed_demo_without_bird_says_how_to_install_it() {
    if !prerequisites_or_skip("the_routed_demo_without_bird_says_how_to_install_it", false) {
        return;
    }
    // A PATH with no bird on it.
    let empty = std::env::temp_dir().join(format!("vipd-no-bird-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(vipd_binary())
        .args(["demo", "--routed"])
        .env("PATH", &empty)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&empty);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("apt-get install bird2"), "{stderr}");
}

//! `vipd demo` as a user runs it: the story passes, and an interrupted
//! demo still removes everything it made.

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

#[test]
fn the_demo_tells_the_seed_story_and_cleans_up() {
    if !prerequisites_or_skip("the_demo_tells_the_seed_story_and_cleans_up", false) {
        return;
    }
    let child = Command::new(vipd_binary())
        .arg("demo")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for step in [
        "PASS  1. VIP on A only",
        "PASS  2. VIP on B",
        "PASS  3. VIP back on A only",
        "result: 3 passed, 0 failed",
    ] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    assert!(
        namespaces_of(pid).is_empty(),
        "left behind: {:?}",
        namespaces_of(pid)
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

//! What the package installs besides the binary, checked from the source:
//! the README's keyword tables are the ones the man pages are made from,
//! both pages render, the completions load, the shipped configuration is
//! valid and starts nothing, and `--version` names the revision.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vipd::manual::keywords::{markdown, INSTANCE_KEYWORDS, TOP_LEVEL_KEYS};

fn vipd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vipd"))
        .args(args)
        .output()
        .expect("run vipd")
}

fn source(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vipd-manual-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names a keyword cell gives, without backticks: `a` / `b` (`c`).
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|name| name.trim_start_matches('_').to_string())
        .collect()
}

#[test]
fn the_readme_tables_are_the_keyword_tables() {
    let readme = std::fs::read_to_string(source("README.md")).unwrap();
    for (table, from) in [
        (markdown("keyword", INSTANCE_KEYWORDS), "INSTANCE_KEYWORDS"),
        (markdown("key", TOP_LEVEL_KEYS), "TOP_LEVEL_KEYS"),
    ] {
        assert!(
            readme.contains(&table),
            "README.md does not have src/manual/keywords.rs's {from} as it is; paste this in:\n{table}"
        );
    }
}

/// `man` renders the page with no warning from groff.
fn renders_cleanly(page: &[u8], name: &str, expect: &str) {
    let dir = scratch(name);
    let file = dir.join(name);
    std::fs::write(&file, page).unwrap();
    let shown = Command::new("man")
        .args(["--warnings", "-l"])
        .arg(&file)
        .env("MANWIDTH", "100")
        .output();
    std::fs::remove_dir_all(&dir).unwrap();
    let Ok(shown) = shown else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "man is not installed"
        );
        println!("skipped: rendering {name} (man is not installed)");
        return;
    };
    let warnings = String::from_utf8_lossy(&shown.stderr);
    assert!(
        shown.status.success() && warnings.is_empty(),
        "{name}: {warnings}"
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains(expect),
        "{name} renders without {expect}:\n{text}"
    );
}

#[test]
fn vipd_yaml_5_has_every_keyword_and_renders() {
    let out = vipd(&["man", "vipd.yaml"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(page.starts_with(".TH VIPD.YAML 5 "), "{page}");
    for keyword in INSTANCE_KEYWORDS.iter().chain(TOP_LEVEL_KEYS) {
        for name in names(keyword.key) {
            let roff = name.replace('-', "\\-");
            assert!(page.contains(&roff), "vipd.yaml(5) lacks {name}");
        }
    }
    renders_cleanly(&out.stdout, "vipd.yaml.5", "INSTANCE KEYWORDS");

    let out = vipd(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains("vipd.yaml(5)"),
        "vipd(8) does not point to vipd.yaml(5)"
    );
    renders_cleanly(&out.stdout, "vipd.8", "SIGNALS");
}

#[test]
fn completions_load_in_bash_and_name_the_commands() {
    let dir = scratch("completions");
    for (shell, marker) in [
        ("bash", "complete -F _vipd"),
        ("zsh", "#compdef vipd"),
        ("fish", "complete -c vipd"),
    ] {
        let out = vipd(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: no {marker}");
        for command in ["run", "check", "status", "reload", "demo"] {
            assert!(script.contains(command), "{shell}: no {command}");
        }
        std::fs::write(dir.join(shell), &script).unwrap();
    }
    let loaded = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p vipd",
            dir.join("bash").display()
        ))
        .output()
        .expect("bash is installed");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("vipd"),
        "bash did not load it: {}",
        String::from_utf8_lossy(&loaded.stderr)
    );
}

#[test]
fn the_shipped_configuration_is_valid_and_starts_nothing() {
    let shipped = source("config/vipd.yaml");
    let shipped = shipped.to_str().unwrap();
    let out = vipd(&["check", "--config", shipped]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no instance configured"),
        "the check does not say the file configures nothing"
    );
    // systemd's ExecCondition: 1..254 skips the unit silently, so only
    // the certainly unconfigured file may give 1; everything else gives 0
    // and goes on to ExecStartPre's loud `vipd check`.
    let out = vipd(&["check", "--unit-condition", "--config", shipped]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());

    let dir = scratch("condition");
    let cases = [
        ("bad.yaml", "instances:\n  VI_1:\n    interface: lo\n    virtual_router_id: 300\n"),
        // A misspelt block leaves no instance, with a warning: not "unconfigured".
        ("misspelt.conf", "vrrp_instanse VI_1 {\n    interface lo\n    virtual_router_id 51\n}\n"),
        ("nothing-included.conf", "include /nonexistent/vipd-test/*.conf\n"),
        (
            "good.yaml",
            "instances:\n  VI_1:\n    interface: lo\n    virtual_router_id: 51\n    virtual_ipaddress: [192.0.2.203]\n",
        ),
    ];
    for (name, text) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out = vipd(&[
            "check",
            "--unit-condition",
            "--config",
            file.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // So does a command line systemd would otherwise take for "skip".
    let out = vipd(&["check", "--unit-condition", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(0));
    // ExecStartPre's check then fails loudly, naming the key, and prints
    // nothing else (the merged configuration may hold passwords).
    let bad = dir.join("bad.yaml");
    let out = vipd(&["check", "--quiet", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("virtual_router_id"));
    let good = dir.join("good.yaml");
    let out = vipd(&["check", "--quiet", "--config", good.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
}

#[test]
fn the_unit_runs_what_the_package_installs() {
    let unit = std::fs::read_to_string(source("config/vipd.service")).unwrap();
    let manifest = std::fs::read_to_string(source("Cargo.toml")).unwrap();
    assert!(manifest.contains(r#"["target/release/vipd", "usr/sbin/vipd", "755"]"#));
    for key in ["ExecCondition", "ExecStartPre", "ExecStart", "ExecReload"] {
        let line = unit
            .lines()
            .find(|l| l.starts_with(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}"));
        assert!(
            line.starts_with(&format!("{key}=/usr/sbin/vipd ")) && line.ends_with(" $CONFIG_FILES"),
            "{line}"
        );
    }
    assert!(unit.contains("ExecCondition=/usr/sbin/vipd check --unit-condition "));
    assert!(unit.contains("ExecStartPre=/usr/sbin/vipd check --quiet "));
}

#[test]
fn version_names_the_git_revision() {
    let out = vipd(&["--version"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = format!("vipd {} (git ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected), "{text}");
    if source(".git").exists() {
        let head = Command::new("git")
            .args([
                "-C",
                env!("CARGO_MANIFEST_DIR"),
                "rev-parse",
                "--short=12",
                "HEAD",
            ])
            .output()
            .unwrap();
        assert!(head.status.success(), "git rev-parse failed: {head:?}");
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert_eq!(head.len(), 12, "{head}");
        assert!(
            text.contains(&format!("(git {head})")),
            "{text} is not HEAD {head}"
        );
    }
}

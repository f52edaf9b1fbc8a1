//! The Prometheus endpoint: promtool accepts what it serves, a real
//! Prometheus server (Debian's) scrapes it inside the host's namespace,
//! and counters move as adverts flow.

mod support;

use std::path::Path;

use support::*;
use vipd::lab::wait_for;

const LISTEN: &str = "127.0.0.1:9650";

#[test]
fn prometheus_scrapes_what_promtool_accepts() {
    let missing = ["/usr/bin/promtool", "/usr/bin/prometheus"]
        .iter()
        .find(|p| !Path::new(p).exists())
        .map(|p| format!("{p} is not installed (Debian package prometheus)"));
    let Some(mut lab) = lab_or_skip("prometheus_scrapes_what_promtool_accepts", 2) else {
        return;
    };
    if !vipd::lab::testing::proceed_or_skip("prometheus_scrapes_what_promtool_accepts", missing) {
        return;
    }
    let top = format!("metrics:\n  listen: \"{LISTEN}\"\n");
    let a_config = vipd_config_with(&lab, 1, Flavour::V2Ipv4, 100, "1111", &top);
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let a = start_vipd(&mut lab, 1, &a_config, "1", &[]);
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    expect_only(&lab, Flavour::V2Ipv4.vip(), 1, "A master", &[&a, &b]);

    let master = "vipd_instance_state{vrrp_instance=\"VI_1\",state=\"MASTER\"}";
    let mut first = String::new();
    wait_for(DEADLINE, || {
        first = get(&lab, 1, LISTEN, "/metrics").unwrap_or_default();
        value(&first, master) == Some(1.0)
    })
    .unwrap_or_else(|| panic!("no MASTER series:\n{first}\n{}", a.log_text()));

    // promtool's own check of the exposition format and naming.
    let file = lab.dir.join("scrape.txt");
    std::fs::write(&file, &first).unwrap();
    let checked = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", file.display()))
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{first}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    // Counters move as adverts flow.
    let sent = "vipd_adverts_sent_total{vrrp_instance=\"VI_1\"}";
    let before = value(&first, sent).expect("adverts sent");
    wait_for(DEADLINE, || {
        get(&lab, 1, LISTEN, "/metrics")
            .and_then(|m| value(&m, sent))
            .is_some_and(|now| now >= before + 2.0)
    })
    .expect("adverts_sent grows");

    // A real Prometheus server in A's namespace scrapes it.
    let config = lab.dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vipd\n    static_configs:\n      - targets: [\"{LISTEN}\"]\n"),
    )
    .unwrap();
    let data = lab.dir.join("prometheus-data");
    let log = lab.dir.join("prometheus.log");
    let args = [
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", data.display()),
        "--web.listen-address=127.0.0.1:9090".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    lab.spawn(1, Path::new("/usr/bin/prometheus"), &args, &log)
        .expect("start prometheus");
    let query = |q: &str| {
        get(
            &lab,
            1,
            "127.0.0.1:9090",
            &format!("/api/v1/query?query={q}"),
        )
    };
    wait_for(std::time::Duration::from_secs(60), || {
        query("up").is_some_and(|r| r.contains("\"job\":\"vipd\"") && r.contains("\"1\"]"))
    })
    .unwrap_or_else(|| {
        panic!(
            "Prometheus never saw the target up: {:?}\n{}",
            query("up"),
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    let mut state = String::new();
    wait_for(DEADLINE, || {
        state = query("vipd_instance_state%7Bstate%3D%22MASTER%22%7D").unwrap_or_default();
        state.contains("\"vrrp_instance\":\"VI_1\"") && state.contains("\"1\"]")
    })
    .unwrap_or_else(|| panic!("no MASTER series in Prometheus: {state}"));
}

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

/// CPU time (user + system, in clock ticks) a process has used.
fn cpu_ticks(pid: nix::unistd::Pid) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name in parentheses: fields 14 and 15 of stat(5).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// With few descriptors (`ulimit -n 64`), many idle connections to the
/// metrics endpoint: before, they took every descriptor and the accept
/// loop then spun at 100% CPU logging each EMFILE. Now at most 16 are
/// served at once and the rest wait in the backlog: no spinning, no log
/// flood, A keeps the VIP, and once they go the endpoint answers again.
#[test]
fn idle_connections_cannot_exhaust_the_daemon() {
    let Some(mut lab) = lab_or_skip("idle_connections_cannot_exhaust_the_daemon", 2) else {
        return;
    };
    let top = format!("metrics:\n  listen: \"{LISTEN}\"\n");
    let a_config = vipd_config_with(&lab, 1, Flavour::V2Ipv4, 100, "1111", &top);
    let b_config = vipd_config(&lab, 2, Flavour::V2Ipv4, 90, "1111");
    let b = start_vipd(&mut lab, 2, &b_config, "1", &[]);
    let log = lab.dir.join("vipd-h1-limited.log");
    let script = format!(
        "ulimit -n 64 && exec {} run --config {}",
        vipd_binary().display(),
        a_config.display()
    );
    let pid = lab
        .spawn(1, Path::new("/bin/sh"), &["-c", &script], &log)
        .unwrap();
    let a = Daemon { pid, log };
    expect_only(&lab, Flavour::V2Ipv4.vip(), 1, "A master", &[&a, &b]);

    // B may have been master for a moment before A started.
    let b_masters = b.log_text().matches("Entering MASTER").count();
    let (hold, release) = std::sync::mpsc::channel::<()>();
    let (opened_tx, opened) = std::sync::mpsc::channel::<usize>();
    let clients = vipd::lab::in_namespace(&lab.host(1).netns, move || {
        let address: std::net::SocketAddr = LISTEN.parse().unwrap();
        let streams: Vec<_> = (0..150)
            .filter_map(|_| {
                std::net::TcpStream::connect_timeout(
                    &address,
                    std::time::Duration::from_millis(200),
                )
                .ok()
            })
            .collect();
        opened_tx.send(streams.len()).unwrap();
        let _ = release.recv();
        drop(streams);
    })
    .unwrap();
    let opened = opened.recv_timeout(DEADLINE).expect("clients connected");
    assert!(
        opened > 64,
        "only {opened} connections made it to the backlog"
    );
    let before = cpu_ticks(a.pid);
    let window = std::time::Instant::now();
    // Longer than B's Master_Down_Interval, and long enough to see a spin.
    while window.elapsed() < std::time::Duration::from_secs(4) {
        assert_eq!(
            lab.holders(Flavour::V2Ipv4.vip()),
            vec![1],
            "{}",
            a.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let used = cpu_ticks(a.pid) - before;
    assert!(
        used < 100,
        "vipd used {used} ticks of CPU in 4 s:\n{}",
        a.log_text()
    );
    let accept_lines = a.log_text().matches("accept failed").count();
    assert!(
        accept_lines <= 2,
        "{accept_lines} accept lines:\n{}",
        a.log_text()
    );

    hold.send(()).unwrap();
    clients.join().unwrap();
    let mut text = String::new();
    wait_for(DEADLINE, || {
        text = get(&lab, 1, LISTEN, "/metrics").unwrap_or_default();
        value(
            &text,
            "vipd_listener_connections_total{listener=\"metrics\"}",
        )
        .is_some_and(|n| n > 16.0)
    })
    .unwrap_or_else(|| panic!("metrics never answered again:\n{text}\n{}", a.log_text()));
    assert_eq!(
        b.log_text().matches("Entering MASTER").count(),
        b_masters,
        "{}",
        b.log_text()
    );
}

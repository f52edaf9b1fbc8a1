//! A routed lab: the VIP announced over BGP instead of shared on a LAN.
//!
//! Hosts A and B sit in two subnets behind a router, each with its own
//! link; a client sits in a third subnet behind the same router. vipd on A
//! and B speaks unicast VRRP across the router and holds the VIP on `lo`
//! only while master; BIRD on each host exports that address over eBGP to
//! the router's BIRD, with BFD, and the router installs it in its kernel.
//! A small TCP service on each host answers with the host's name, so the
//! client sees which host it reaches.
//!
//! ```text
//!  A 192.0.2.2/28 ── port1 192.0.2.1  ┐
//!  B 192.0.2.18/28 ─ port2 192.0.2.17 ├ router ── port3 198.51.100.1 ── client 198.51.100.2
//!  VIP 203.0.113.10/32 on the master's lo, announced by its BIRD
//! ```
//!
//! The router's namespace is the lab's `switch` one, so dropping the
//! `Lab` removes it with the rest, and `set_cable(i, false)` cuts host
//! `i`'s link on the router's side, as a failed host or cable looks to the
//! network.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::unistd::Pid;

use super::{in_namespace, ip, Host, Lab, LabError};

pub const VIP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// Where each host's name service listens.
pub const SERVICE_PORT: u16 = 8080;
pub const CLIENT: usize = 3;
const ROUTER_AS: u32 = 65000;

/// The BIRD snippet users include on their hosts (config/bird-vip.conf):
/// the VIPs on `lo` as routes, and the filter that lets only them out.
pub const BIRD_SNIPPET: &str = include_str!("../../config/bird-vip.conf");

/// Each routed host: its address, its router's, and its AS.
struct Subnet {
    host: Ipv4Addr,
    router: Ipv4Addr,
    prefix_len: u8,
}

fn subnet(i: usize) -> Subnet {
    match i {
        1 => Subnet {
            host: Ipv4Addr::new(192, 0, 2, 2),
            router: Ipv4Addr::new(192, 0, 2, 1),
            prefix_len: 28,
        },
        2 => Subnet {
            host: Ipv4Addr::new(192, 0, 2, 18),
            router: Ipv4Addr::new(192, 0, 2, 17),
            prefix_len: 28,
        },
        _ => Subnet {
            host: Ipv4Addr::new(198, 51, 100, 2),
            router: Ipv4Addr::new(198, 51, 100, 1),
            prefix_len: 24,
        },
    }
}

/// BFD (100 ms x 3, in each `protocol bfd`) detects a dead peer; these
/// bring a session back within seconds once the peer is reachable
/// again, where BIRD's defaults wait minutes after an error.
const BGP_TIMERS: &str =
    "  connect delay time 1;\n  connect retry time 2;\n  error wait time 1, 2;\n";

/// A host's AS number (private, 16 bit).
pub fn host_as(i: usize) -> u32 {
    ROUTER_AS + i as u32
}

impl Lab {
    /// A (1) and B (2) in their own subnets and a client (3), all behind
    /// one router; addresses as in the module's picture. IPv4 only: the
    /// hosts' `ipv6` and `link_local` are unspecified.
    pub fn routed() -> Result<Lab, LabError> {
        let mut lab = Lab::empty()?;
        // From here on, Drop cleans up whatever part was made.
        lab.build_routed()?;
        Ok(lab)
    }

    fn build_routed(&mut self) -> Result<(), LabError> {
        let router = self.switch.clone();
        ip(&["netns", "add", &router])?;
        ip(&["-n", &router, "link", "set", "lo", "up"])?;
        set_sysctl(&router, "net.ipv4.ip_forward", "1")?;
        for i in 1..=3 {
            let netns = format!("{}h{i}", self.prefix);
            ip(&["netns", "add", &netns])?;
            let net = subnet(i);
            self.hosts.push(Host {
                netns: netns.clone(),
                ipv4: IpAddr::V4(net.host),
                ipv6: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                link_local: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            });
            let port = format!("port{i}");
            ip(&[
                "link", "add", "eth0", "netns", &netns, "type", "veth", "peer", "name", &port,
                "netns", &router,
            ])?;
            for (ns, dev, address) in [(&netns, "eth0", net.host), (&router, &port, net.router)] {
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
                let cidr = format!("{address}/{}", net.prefix_len);
                ip(&["-n", ns, "addr", "add", &cidr, "dev", dev])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
            }
            let gateway = net.router.to_string();
            ip(&["-n", &netns, "route", "add", "default", "via", &gateway])?;
        }
        Ok(())
    }

    /// Makes the router drop everything to and from host `i` with its link
    /// up, as a hung host behind a switch looks; `false` lets it through.
    pub fn set_silenced(&self, i: usize, silent: bool) -> Result<(), LabError> {
        let table = format!("vipd_silence_{i}");
        if !silent {
            return run_in(&self.switch, "nft", &["delete", "table", "inet", &table]);
        }
        let port = format!("port{i}");
        let rules = format!(
            "table inet {table} {{\n\
             chain input {{ type filter hook input priority -300; iifname \"{port}\" drop; }}\n\
             chain forward {{ type filter hook forward priority -300; iifname \"{port}\" drop; oifname \"{port}\" drop; }}\n\
             chain output {{ type filter hook output priority -300; oifname \"{port}\" drop; }}\n\
             }}\n"
        );
        let file = self.dir.join(format!("{table}.nft"));
        fs::write(&file, rules)?;
        run_in(&self.switch, "nft", &["-f", &file.to_string_lossy()])
    }

    /// The addresses on host `i`'s `lo` (the routed VIP's place).
    pub fn loopback_addresses(&self, i: usize) -> Vec<IpAddr> {
        self.addresses_on(i, "lo")
    }

    /// Starts BIRD on host `i` (1 or 2) or on the router (`None`), with
    /// its own config, control socket and pid file; returns its PID.
    pub fn start_bird(&mut self, host: Option<usize>) -> Result<Pid, LabError> {
        let (netns, name, config) = match host {
            Some(i) => (
                self.host(i).netns.clone(),
                format!("h{i}"),
                bird_host_config(self, i)?,
            ),
            None => (
                self.switch.clone(),
                "router".to_string(),
                bird_router_config(),
            ),
        };
        let config_path = self.dir.join(format!("bird-{name}.conf"));
        fs::write(&config_path, config)?;
        let socket = self.dir.join(format!("bird-{name}.ctl"));
        let pid_file = self.dir.join(format!("bird-{name}.pid"));
        let log = self.dir.join(format!("bird-{name}.log"));
        let args = [
            "-f",
            "-c",
            &config_path.to_string_lossy(),
            "-s",
            &socket.to_string_lossy(),
            "-P",
            &pid_file.to_string_lossy(),
        ]
        .map(|a| a.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Ok(self.spawn_in(&netns, Path::new("bird"), &args, &log)?)
    }

    /// Starts FRR (zebra, bfdd, bgpd) on host `i` instead of BIRD, with
    /// the same session (eBGP to the router, BFD 100 ms x 3) and the
    /// config/frr-vip.conf snippet; its own sockets and pid files.
    pub fn start_frr(&mut self, i: usize) -> Result<Vec<Pid>, LabError> {
        let dir = self.dir.join(format!("frr-h{i}"));
        fs::create_dir_all(&dir)?;
        let net = subnet(i);
        fs::write(dir.join("zebra.conf"), format!("hostname h{i}\n"))?;
        fs::write(
            dir.join("bfdd.conf"),
            format!(
                "bfd\n peer {router}\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n !\n!\n",
                router = net.router
            ),
        )?;
        fs::write(
            dir.join("bgpd.conf"),
            format!(
                "hostname h{i}
router bgp {local_as}
 bgp router-id {host}
 no bgp ebgp-requires-policy
 neighbor {router} remote-as {ROUTER_AS}
 neighbor {router} bfd
 neighbor {router} timers connect 1
 address-family ipv4 unicast
  redistribute connected route-map VIP_ONLY
 exit-address-family
!
{FRR_SNIPPET}",
                local_as = host_as(i),
                host = net.host,
                router = net.router,
            ),
        )?;
        let netns = self.host(i).netns.clone();
        let mut pids = Vec::new();
        for daemon in FRR_DAEMONS {
            let args = frr_daemon_args(&dir, daemon);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let program = Path::new("/usr/lib/frr").join(daemon);
            let log = dir.join(format!("{daemon}.log"));
            pids.push(self.spawn_in(&netns, &program, &args, &log)?);
            if daemon == "zebra" {
                // The others connect to zebra's API socket at start.
                super::wait_for(Duration::from_secs(30), || dir.join("zserv.api").exists())
                    .ok_or_else(|| LabError::Command {
                        command: "zebra".into(),
                        stderr: fs::read_to_string(&log).unwrap_or_default(),
                    })?;
            }
        }
        Ok(pids)
    }

    /// What the router's kernel routes the VIP to: the next hop, if any.
    pub fn router_next_hop(&self) -> Option<IpAddr> {
        let out = Command::new("ip")
            .args([
                "-n",
                &self.switch,
                "-o",
                "route",
                "show",
                &format!("{VIP}/32"),
            ])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut words = text.split_whitespace();
        words.find(|w| *w == "via")?;
        words.next()?.parse().ok()
    }
}

/// The FRR snippet users add on their hosts (config/frr-vip.conf): a
/// route-map that lets only VIP prefixes out of `redistribute connected`.
pub const FRR_SNIPPET: &str = include_str!("../../config/frr-vip.conf");

const FRR_DAEMONS: [&str; 3] = ["zebra", "bfdd", "bgpd"];

/// Whether FRR's zebra, bfdd and bgpd are installed (the hosts' other
/// BGP speaker).
pub fn frr_missing() -> Option<String> {
    FRR_DAEMONS
        .iter()
        .any(|d| !Path::new("/usr/lib/frr").join(d).exists())
        .then(|| {
            "FRR (zebra, bfdd, bgpd) is not installed (Debian/Ubuntu: apt-get install frr)".into()
        })
}

/// The command line of FRR daemon `daemon` (zebra, bgpd, vrrpd, ...) run
/// by hand from `dir`: its config `DAEMON.conf`, pid file, zebra's API
/// socket and the vty sockets all there, no vty TCP port, as root.
pub fn frr_daemon_args(dir: &Path, daemon: &str) -> Vec<String> {
    let path = |name: &str| dir.join(name).to_string_lossy().to_string();
    vec![
        "-f".to_string(),
        path(&format!("{daemon}.conf")),
        "-i".to_string(),
        path(&format!("{daemon}.pid")),
        "-z".to_string(),
        path("zserv.api"),
        "--vty_socket".to_string(),
        dir.to_string_lossy().to_string(),
        "-P".to_string(),
        "0".to_string(),
        "-u".to_string(),
        "root".to_string(),
        "-g".to_string(),
        "frrvty".to_string(),
    ]
}

/// Whether BIRD 2 is installed (the routed lab's BGP speaker).
pub fn bird_missing() -> Option<String> {
    match Command::new("bird").arg("--version").output() {
        Ok(_) => None,
        Err(_) => Some(
            "BIRD 2 is not installed (Debian/Ubuntu: apt-get install bird2; Fedora: dnf install bird)"
                .into(),
        ),
    }
}

fn bird_host_config(lab: &Lab, i: usize) -> Result<String, LabError> {
    let snippet = lab.dir.join("bird-vip.conf");
    fs::write(&snippet, BIRD_SNIPPET)?;
    let net = subnet(i);
    Ok(format!(
        "router id {host};
protocol device {{ }}
include \"{snippet}\";
protocol bfd {{
  interface \"eth0\" {{ interval 100 ms; multiplier 3; }};
}}
protocol bgp uplink {{
  local {host} as {local_as};
  neighbor {router} as {ROUTER_AS};
  bfd on;
{BGP_TIMERS}  ipv4 {{ import none; export filter vip_only; }};
}}
",
        host = net.host,
        router = net.router,
        local_as = host_as(i),
        snippet = snippet.display(),
    ))
}

fn bird_router_config() -> String {
    let mut config = format!(
        "router id {};
protocol device {{ }}
protocol kernel {{ ipv4 {{ import none; export all; }}; }}
protocol bfd {{
  interface \"port*\" {{ interval 100 ms; multiplier 3; }};
}}
",
        subnet(1).router
    );
    for i in 1..=2 {
        let net = subnet(i);
        config.push_str(&format!(
            "protocol bgp host{i} {{
  local {router} as {ROUTER_AS};
  neighbor {host} as {peer_as};
  bfd on;
{BGP_TIMERS}  ipv4 {{ import all; export none; }};
}}
",
            router = net.router,
            host = net.host,
            peer_as = host_as(i),
        ));
    }
    config
}

fn set_sysctl(netns: &str, key: &str, value: &str) -> Result<(), LabError> {
    run_in(netns, "sysctl", &["-qw", &format!("{key}={value}")])
}

fn run_in(netns: &str, program: &str, args: &[&str]) -> Result<(), LabError> {
    super::checked(
        Command::new("ip")
            .args(["netns", "exec", netns, program])
            .args(args),
        format!("{program} {}", args.join(" ")),
        LabError::Io,
    )
}

/// A TCP service on a host that answers each connection with the host's
/// name and closes it; stops (closing its socket, so the namespace can
/// go) when dropped.
pub struct NameService {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<()>>>,
}

impl NameService {
    pub fn start(lab: &Lab, i: usize, name: &str) -> io::Result<NameService> {
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let name = name.to_string();
        let stopping = Arc::clone(&stop);
        let thread = in_namespace(&lab.host(i).netns, move || {
            // Any address: the VIP comes and goes on lo.
            let listener = match TcpListener::bind(("0.0.0.0", SERVICE_PORT))
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
            {
                Ok(listener) => {
                    let _ = bound_tx.send(Ok(()));
                    listener
                }
                Err(error) => {
                    let _ = bound_tx.send(Err(error));
                    return;
                }
            };
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        let _ = stream.write_all(name.as_bytes());
                    }
                    // Polled, so that a drop is noticed within 10 ms.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        })?;
        bound_rx
            .recv()
            .map_err(|_| io::Error::other("name service died"))??;
        Ok(NameService {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for NameService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One probe's outcome: the name that answered, or None (no answer
/// within the probe's timeout, refused, unreachable).
#[derive(Clone, Debug)]
pub struct Probe {
    pub at: Instant,
    pub answer: Option<String>,
}

/// The client: connects to the VIP every `every` and records who answers;
/// stops when dropped.
pub struct Client {
    stop: Arc<AtomicBool>,
    probes: Arc<Mutex<Vec<Probe>>>,
    thread: Option<JoinHandle<Option<()>>>,
}

impl Client {
    pub fn start(lab: &Lab, every: Duration) -> io::Result<Client> {
        let stop = Arc::new(AtomicBool::new(false));
        let probes = Arc::new(Mutex::new(Vec::new()));
        let (stopping, recorded) = (Arc::clone(&stop), Arc::clone(&probes));
        let thread = in_namespace(&lab.host(CLIENT).netns, move || {
            let target = SocketAddr::from((VIP, SERVICE_PORT));
            let mut next = Instant::now();
            while !stopping.load(Ordering::SeqCst) {
                let at = Instant::now();
                // No longer than the probe interval: a probe the network
                // drops (a route to a host that no longer has the VIP)
                // must not hide the next one.
                let answer = ask(target, every);
                recorded.lock().unwrap().push(Probe { at, answer });
                next += every;
                let now = Instant::now();
                if next > now {
                    // The probe rate itself, not a wait for an event.
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        })?;
        Ok(Client {
            stop,
            probes,
            thread: Some(thread),
        })
    }

    /// Every probe so far.
    pub fn probes(&self) -> Vec<Probe> {
        self.probes.lock().unwrap().clone()
    }

    /// Probes made since `since`.
    pub fn probes_since(&self, since: Instant) -> Vec<Probe> {
        self.probes
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.at >= since)
            .cloned()
            .collect()
    }

    /// Waits up to `timeout` until the latest probe made after `since`
    /// was answered by `name` (or `stop` says to give up); returns how
    /// long that took.
    pub fn wait_for_answer(
        &self,
        since: Instant,
        name: &str,
        timeout: Duration,
        stop: impl Fn() -> bool,
    ) -> Option<Duration> {
        super::wait_for(timeout, || {
            stop() || self.latest_since(since).flatten().as_deref() == Some(name)
        })
        .filter(|_| !stop())
    }

    /// The answer of the latest probe made at or after `since`.
    pub fn latest_since(&self, since: Instant) -> Option<Option<String>> {
        let probes = self.probes.lock().unwrap();
        probes
            .last()
            .filter(|p| p.at >= since)
            .map(|p| p.answer.clone())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn ask(target: SocketAddr, timeout: Duration) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&target, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut name = String::new();
    stream.read_to_string(&mut name).ok()?;
    (!name.is_empty()).then_some(name)
}

/// The client-visible gap around a change made at `changed`: from the
/// last answer by `from` (at or before the change) to the first answer by
/// `to` after it, in probes.
pub fn gap(probes: &[Probe], changed: Instant, from: &str, to: &str) -> Option<Duration> {
    let last_from = probes
        .iter()
        .filter(|p| p.at <= changed && p.answer.as_deref() == Some(from))
        .map(|p| p.at)
        .max()?;
    let first_to = probes
        .iter()
        .filter(|p| p.at > changed && p.answer.as_deref() == Some(to))
        .map(|p| p.at)
        .min()?;
    Some(first_to.saturating_duration_since(last_from))
}

/// Where a host's files go: its vipd config and the like.
pub fn host_file(lab: &Lab, i: usize, name: &str) -> PathBuf {
    lab.dir.join(format!("h{i}-{name}"))
}

/// vipd's config on routed host `i` (1 or 2): unicast VRRPv3 at 0.1 s to
/// the other host across the router (one hop: TTL 254 on arrival), the
/// VIP on lo.
pub fn vipd_config(i: usize, priority: u8, control_socket: &Path) -> String {
    let peer = subnet(3 - i).host;
    format!(
        "control_socket: {socket}
instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    version: 3
    priority: {priority}
    advert_int: 0.1
    source_ip: {source}
    unicast_peer: [\"{peer} min_ttl 254 max_ttl 254\"]
    virtual_ipaddress: [\"{VIP}/32 dev lo\"]
",
        socket = control_socket.display(),
        source = subnet(i).host,
    )
}

/// The same instance for keepalived (the routed bench runs both): what
/// a keepalived user writes for this recipe today.
pub fn keepalived_config(i: usize, priority: u8) -> String {
    let peer = subnet(3 - i).host;
    format!(
        "global_defs {{
    router_id h{i}
    vrrp_version 3
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.1
    unicast_src_ip {source}
    unicast_peer {{
        {peer} min_ttl 254 max_ttl 254
    }}
    virtual_ipaddress {{
        {VIP}/32 dev lo
    }}
}}
",
        source = subnet(i).host,
    )
}

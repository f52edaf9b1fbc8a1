//! The `vipd` command line. Only argument handling lives here.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use vipd::config::{load_and_validate_with, ConfigErrors, Format, LoadOptions};
use vipd::log::LogFormat;
use vipd::manual::Page;
use vipd::proto::{Advert, Auth, Endpoints};

#[derive(Parser)]
#[command(
    name = "vipd",
    // The version and the git revision it was built from (build.rs).
    version = env!("REVISIONED_VERSION"),
    about = "A VRRP daemon that keeps a virtual IP on the healthiest host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How the --config files are read.
#[derive(clap::Args, Clone)]
struct Reading {
    /// Read files not named .yaml, .yml or .toml as keepalived.conf
    /// [default: by the name; .conf is keepalived's].
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// keepalived's config id: lines starting @ID are read only when ID
    /// is this [default: the host name up to its first dot, as keepalived -i].
    #[arg(long, value_name = "ID")]
    config_id: Option<String>,
}

impl Reading {
    fn options(&self) -> LoadOptions {
        let mut options = LoadOptions {
            format: self.format,
            ..LoadOptions::default()
        };
        if let Some(id) = &self.config_id {
            options.config_id = id.clone();
        }
        options
    }
}

/// Where the running daemon listens.
#[derive(clap::Args)]
struct DaemonSocket {
    /// The control socket [default: the configuration's control_socket,
    /// else /run/vipd/vipd.sock].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Read control_socket from these files (as `vipd run` would).
    #[arg(long = "config", value_name = "FILE")]
    configs: Vec<PathBuf>,
    #[command(flatten)]
    reading: Reading,
}

impl DaemonSocket {
    /// The socket given, or the configuration's, or the default.
    fn path(&self) -> Result<PathBuf, ConfigErrors> {
        match (&self.socket, self.configs.is_empty()) {
            (Some(socket), _) => Ok(socket.clone()),
            (None, true) => Ok(PathBuf::from("/run/vipd/vipd.sock")),
            (None, false) => load_and_validate_with(&self.configs, &self.reading.options())
                .map(|(_, s)| s.control_socket),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon. Later files override earlier ones; VIPD_ environment
    /// variables override files (VIPD_INSTANCES__VI_1__PRIORITY=90).
    Run {
        /// A configuration file; repeat it for layers, later ones
        /// overriding earlier ones.
        #[arg(long = "config", value_name = "FILE", default_value = DEFAULT_CONFIG)]
        configs: Vec<PathBuf>,
        #[command(flatten)]
        reading: Reading,
        /// text: keepalived-style lines; json: one JSON object per event.
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Show a failover on a private two-host lab (needs root): VIP on A;
    /// stop A, VIP on B; start A, VIP back on A.
    Demo {
        /// Stop A with SIGKILL (a crash) instead of SIGTERM.
        #[arg(long)]
        crash: bool,
        /// Leave the lab running afterwards and print how to enter it.
        #[arg(long)]
        keep: bool,
        /// The story across subnets: the VIP on the master's lo,
        /// announced over BGP by BIRD (needs bird2 installed).
        #[arg(long)]
        routed: bool,
    },
    /// Show the running daemon's instances, masters, counters and checks.
    Status {
        #[command(flatten)]
        daemon: DaemonSocket,
        /// Print the daemon's JSON snapshot as it came.
        #[arg(long)]
        json: bool,
    },
    /// Make the running daemon read its configuration again (SIGHUP) and
    /// say what changed, or why it refused; exit 1 if refused.
    Reload {
        #[command(flatten)]
        daemon: DaemonSocket,
    },
    /// Print a manual page in roff: vipd(8), or vipd.yaml(5) for every
    /// configuration keyword (vipd man vipd.yaml | man -l -).
    Man {
        #[arg(value_enum, default_value_t = Page::Daemon)]
        page: Page,
    },
    /// Print a shell's completion script for vipd
    /// (source <(vipd completions bash)).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Validate the configuration and print it merged; exit 1 on any error.
    /// Warnings (what vipd leaves out, or a file that configures nothing) go
    /// to standard error.
    Check {
        /// A configuration file; repeat it for layers, later ones
        /// overriding earlier ones.
        #[arg(long = "config", value_name = "FILE", default_value = DEFAULT_CONFIG)]
        configs: Vec<PathBuf>,
        #[command(flatten)]
        reading: Reading,
        /// Print nothing but warnings and errors (for ExecStartPre: the
        /// merged configuration may hold passwords).
        #[arg(long)]
        quiet: bool,
        /// For a systemd unit's ExecCondition: exit 1 (systemd skips the
        /// unit) only when the files are valid and configure no instance
        /// and nothing else is amiss; otherwise 0, so that ExecStartPre's
        /// `vipd check` reports any error loudly.
        #[arg(long)]
        unit_condition: bool,
    },
    /// Print a keepalived.conf as vipd YAML; what vipd does not do is kept
    /// as comments that say why.
    Convert {
        /// The keepalived.conf (whatever its name).
        file: PathBuf,
        /// keepalived's config id for @ID lines [default: the host name up
        /// to its first dot].
        #[arg(long, value_name = "ID")]
        config_id: Option<String>,
    },
    /// The script launcher `vipd run` starts for itself (internal).
    #[command(hide = true)]
    ScriptLauncher {
        /// Its end of the daemon's socket.
        #[arg(long)]
        fd: i32,
        /// The daemon: the launcher ends when it does.
        #[arg(long)]
        parent: u32,
    },
    /// Print a fresh auth_hmac key from the kernel's random source, as
    /// a key file holds it (`hex:` and 64 digits):
    /// `(umask 077; vipd keygen > /etc/vipd/vrrp51.key)`, then
    /// `keys: ["1 file:/etc/vipd/vrrp51.key"]` on every host.
    Keygen {
        /// Key length in bytes (keepalived accepts 32..64).
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u8).range(32..=64))]
        bytes: u8,
    },
    /// Decode one VRRP advertisement given as hex (the IP payload, as
    /// `tcpdump -x` shows it after the IP header) and print its fields.
    Decode {
        /// The VRRP message in hex; spaces and colons are ignored.
        hex: String,
        /// IP source address (v3's checksum covers it).
        #[arg(long)]
        src: IpAddr,
        /// IP destination address [default: the VRRP group of src's family].
        #[arg(long)]
        dst: Option<IpAddr>,
        /// TTL / hop limit the packet arrived with.
        #[arg(long, default_value_t = 255)]
        ttl: u8,
    },
}

/// `script-launcher --fd N --parent PID`, exactly as the daemon starts
/// it (sys::launcher::client); None for anything else.
fn launcher_arguments(mut args: impl Iterator<Item = std::ffi::OsString>) -> Option<(i32, u32)> {
    let mut next = || args.next()?.into_string().ok();
    if next()? != "script-launcher" || next()? != "--fd" {
        return None;
    }
    // clap reads a negative number as another option and refuses it.
    let fd = next()?.parse().ok().filter(|fd: &i32| *fd >= 0)?;
    if next()? != "--parent" {
        return None;
    }
    let parent = next()?.parse().ok()?;
    next().is_none().then_some((fd, parent))
}

/// Where the packaged configuration lives (keepalived's is
/// /etc/keepalived/keepalived.conf).
const DEFAULT_CONFIG: &str = "/etc/vipd/vipd.yaml";

fn main() -> ExitCode {
    // The launcher lives as long as the daemon: reading its two numbers
    // without clap keeps the parser's pages out of its memory (about 1 MB
    // of a 2-process daemon's RSS). Anything unexpected goes to clap below.
    if let Some((fd, parent)) = launcher_arguments(std::env::args_os().skip(1)) {
        return vipd::sys::launcher::server::serve(fd, parent);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Under ExecCondition any exit below 255 skips the unit silently:
        // a mistyped CONFIG_FILES must reach ExecStartPre, which fails
        // loudly with the same message.
        // args_os: an argument that is not UTF-8 must not panic here.
        Err(error) if std::env::args_os().any(|a| a == "--unit-condition") => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => error.exit(),
    };
    match cli.command {
        Command::Run {
            configs,
            reading,
            log_format,
        } => run(&configs, &reading.options(), log_format),
        Command::Check {
            configs,
            reading,
            quiet,
            unit_condition: false,
        } => check(&configs, &reading.options(), quiet),
        Command::Check {
            configs,
            reading,
            unit_condition: true,
            ..
        } => unit_condition(&configs, &reading.options()),
        Command::Convert { file, config_id } => convert(&file, config_id),
        Command::Man { page } => {
            use clap::CommandFactory;
            let mut out = std::io::stdout().lock();
            match vipd::manual::write(page, Cli::command(), &mut out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("vipd man: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut shown = visible_only(Cli::command());
            clap_complete::generate(shell, &mut shown, "vipd", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Status { daemon, json } => status(&daemon, json),
        Command::Reload { daemon } => reload(&daemon),
        Command::Demo {
            crash,
            keep,
            routed,
        } => demo(crash, keep, routed),
        Command::Decode { hex, src, dst, ttl } => decode(&hex, src, dst, ttl),
        Command::Keygen { bytes } => keygen(bytes),
        Command::ScriptLauncher { fd, parent } => vipd::sys::launcher::server::serve(fd, parent),
    }
}

fn keygen(bytes: u8) -> ExitCode {
    let mut key = vec![0u8; usize::from(bytes)];
    let mut filled = 0;
    while filled < key.len() {
        // SAFETY: getrandom writes at most the given length into the buffer.
        let n =
            unsafe { libc::getrandom(key[filled..].as_mut_ptr().cast(), key.len() - filled, 0) };
        if n < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("vipd keygen: cannot read the kernel's random source: {error}");
            return ExitCode::FAILURE;
        }
        filled += n as usize;
    }
    let digits: String = key.iter().map(|b| format!("{b:02x}")).collect();
    println!("hex:{digits}");
    ExitCode::SUCCESS
}

fn report(errors: &ConfigErrors) -> ExitCode {
    for error in &errors.0 {
        eprintln!("vipd: {error}");
    }
    ExitCode::FAILURE
}

fn run(configs: &[PathBuf], options: &LoadOptions, log_format: LogFormat) -> ExitCode {
    let (loaded, settings) = match load_and_validate_with(configs, options) {
        Ok(both) => both,
        Err(errors) => return report(&errors),
    };
    vipd::log::init(log_format);
    for warning in &settings.warnings {
        tracing::warn!(warning = %warning, "configuration: {warning}");
    }
    let user = loaded.config.user.clone();
    // /proc may hide other users' processes (hidepid) from all but a
    // group: a daemon that counts processes joins it while it still can.
    let counts_processes = loaded.config.checks.values().any(|c| c.process.is_some());
    let hidepid_group = counts_processes
        .then(vipd::sys::processes::hidepid_group)
        .flatten();
    if let Err(error) = drop_privileges(
        user.as_deref(),
        hidepid_group,
        &settings.control_socket,
        configs,
    ) {
        tracing::error!(%error, "vipd cannot start: {error}");
        eprintln!("vipd: {error}");
        return ExitCode::FAILURE;
    }
    // A reload reads the same files, format, config id and environment;
    // the user vipd runs as cannot change without a restart.
    let (files, options) = (configs.to_vec(), options.clone());
    let reread = std::sync::Arc::new(move || {
        let (loaded, settings) = load_and_validate_with(&files, &options)?;
        if loaded.config.user != user {
            let shown = |u: &Option<String>| u.clone().unwrap_or_else(|| "(unset)".into());
            return Err(ConfigErrors(vec![loaded.error(
                "user",
                format!(
                    "changed from {} to {}: restart vipd to apply it",
                    shown(&user),
                    shown(&loaded.config.user)
                ),
            )]));
        }
        Ok(settings)
    });
    match vipd::actors::supervisor::run(settings, reread) {
        Ok(()) => ExitCode::SUCCESS,
        // Logged where it happened (it may have come after start).
        Err(error) => {
            eprintln!("vipd: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Start-up work that needs root, then the daemon's privileges for good:
/// the script launcher starts first (it keeps what starting scripts as
/// other users takes), the control socket's directory is made for `user`,
/// and the daemon keeps only CAP_NET_ADMIN and CAP_NET_RAW, as `user` if
/// set. All before the runtime starts: capabilities are per thread.
fn drop_privileges(
    user: Option<&str>,
    hidepid_group: Option<u32>,
    control_socket: &std::path::Path,
    configs: &[PathBuf],
) -> Result<(), Box<dyn std::error::Error>> {
    use vipd::sys::privilege;
    vipd::sys::launcher::start()?;
    let user = user.map(privilege::lookup).transpose()?;
    let runs_as = user.clone().unwrap_or_else(privilege::current_user);
    privilege::prepare_socket_directory(control_socket, &runs_as)?;
    privilege::drop_to(user.as_ref(), hidepid_group)?;
    if let Some(user) = &user {
        for file in configs {
            if let Err(error) = std::fs::File::open(file) {
                tracing::warn!(file = %file.display(), %error, "user {} cannot read {}: reloads will be refused ({error})", user.name, file.display());
            }
        }
        tracing::info!(user = %user.name, uid = user.uid, "running as user {} with CAP_NET_ADMIN and CAP_NET_RAW only", user.name);
    }
    Ok(())
}

fn demo(crash: bool, keep: bool, routed: bool) -> ExitCode {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "vipd demo needs root to create its private network namespaces: run it with sudo."
        );
        return ExitCode::FAILURE;
    }
    // Ctrl-C ends the story early but still removes the lab.
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(error) = signal_hook::flag::register(signal, Arc::clone(&interrupted)) {
            eprintln!("vipd demo: cannot handle signals: {error}");
            return ExitCode::FAILURE;
        }
    }
    let vipd = match std::env::current_exe() {
        Ok(path) => path,
        Err(error) => {
            eprintln!("vipd demo: cannot find my own binary: {error}");
            return ExitCode::FAILURE;
        }
    };
    let options = vipd::lab::demo::Options { crash, keep };
    let story = if routed {
        vipd::lab::routed_demo::run
    } else {
        vipd::lab::demo::run
    };
    match story(&options, &vipd, &interrupted) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("vipd demo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How long `vipd reload` waits for the daemon to say how it went.
const RELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

fn reload(daemon: &DaemonSocket) -> ExitCode {
    let socket = match daemon.path() {
        Ok(socket) => socket,
        Err(errors) => return report(&errors),
    };
    let (before, peer) = match vipd::status::read_from_daemon(&socket) {
        Ok((snapshot, _, peer)) => (snapshot, peer),
        Err(error) => {
            eprintln!("vipd reload: {error}");
            return ExitCode::FAILURE;
        }
    };
    let seen = before.reload.as_ref().map_or(0, |r| r.sequence);
    // The process that answered on the socket, as the kernel says: never
    // the pid written in the snapshot (another pid namespace, or a file
    // that is not vipd's), and never 0 or 1 (0 signals our whole group).
    let pid = match peer {
        Some(pid) if pid > 1 => nix::unistd::Pid::from_raw(pid),
        other => {
            eprintln!(
                "vipd reload: cannot tell which process answered on {} (peer pid {other:?}); not signalling",
                socket.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if let Err(error) = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP) {
        eprintln!("vipd reload: cannot signal vipd (pid {pid}): {error}");
        return ExitCode::FAILURE;
    }
    let deadline = std::time::Instant::now() + RELOAD_WAIT;
    while std::time::Instant::now() < deadline {
        if let Ok((snapshot, _)) = vipd::status::read(&socket) {
            if let Some(done) = snapshot.reload.filter(|r| r.sequence > seen) {
                return if done.applied {
                    println!("reloaded: {}", done.summary);
                    ExitCode::SUCCESS
                } else if done.summary.starts_with("partly applied") {
                    eprintln!("vipd reload: {}", done.summary);
                    ExitCode::FAILURE
                } else {
                    eprintln!(
                        "vipd reload: refused, the old configuration keeps running: {}",
                        done.summary
                    );
                    ExitCode::FAILURE
                };
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!(
        "vipd reload: sent SIGHUP to pid {pid}, but it did not report within {RELOAD_WAIT:?}"
    );
    ExitCode::FAILURE
}

fn status(daemon: &DaemonSocket, json: bool) -> ExitCode {
    let socket = match daemon.path() {
        Ok(socket) => socket,
        Err(errors) => return report(&errors),
    };
    match vipd::status::read(&socket) {
        Ok((_, bytes)) if json => {
            println!("{}", String::from_utf8_lossy(&bytes));
            ExitCode::SUCCESS
        }
        Ok((snapshot, _)) => {
            print!("{}", vipd::status::render(&snapshot));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("vipd status: {error}");
            ExitCode::FAILURE
        }
    }
}

fn convert(file: &std::path::Path, config_id: Option<String>) -> ExitCode {
    let config_id = config_id.unwrap_or_else(vipd::config::keepalived::default_config_id);
    // What convert prints must be what `vipd check` accepts: a .conf that
    // would not run is refused here, with the same messages.
    let options = LoadOptions {
        format: Format::Keepalived,
        config_id: config_id.clone(),
    };
    if let Err(errors) = load_and_validate_with(&[file.to_path_buf()], &options) {
        return report(&errors);
    }
    let conf = match vipd::config::keepalived::read_file(file, &config_id) {
        Ok(conf) => conf,
        Err(errors) => return report(&ConfigErrors(errors)),
    };
    match vipd::config::keepalived::convert::to_yaml(file, &config_id, &conf) {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("vipd convert: {error}");
            ExitCode::FAILURE
        }
    }
}

fn check(configs: &[PathBuf], options: &LoadOptions, quiet: bool) -> ExitCode {
    match load_and_validate_with(configs, options) {
        Ok((loaded, settings)) => match serde_yaml::to_string(&loaded.config) {
            Ok(yaml) => {
                for warning in &settings.warnings {
                    eprintln!("vipd: warning: {warning}");
                }
                if !quiet {
                    print!("{yaml}");
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("vipd: cannot print the configuration: {error}");
                ExitCode::FAILURE
            }
        },
        Err(errors) => report(&errors),
    }
}

/// `vipd check --unit-condition`, for the unit's ExecCondition, where any
/// exit below 255 skips the unit without failing it. So it skips only
/// what is certainly unconfigured: valid files with no instance and no
/// other warning (the packaged /etc/vipd/vipd.yaml as shipped, as Debian's
/// keepalived skips without a keepalived.conf). Anything else, an error
/// included, runs on to ExecStartPre's `vipd check`, which fails loudly:
/// a misspelt vrrp_instance, an include that matched nothing, or a key
/// file only ExecStartPre can read (systemd 252 gives credentials to
/// ExecStartPre, not ExecCondition) must never pass as "unconfigured".
fn unit_condition(configs: &[PathBuf], options: &LoadOptions) -> ExitCode {
    let unconfigured = std::panic::catch_unwind(|| {
        load_and_validate_with(configs, options).is_ok_and(|(loaded, settings)| {
            loaded.config.instances.is_empty() && settings.warnings.len() == 1
        })
    });
    if unconfigured.unwrap_or(false) {
        eprintln!(
            "vipd: no instance configured: not starting (edit the configuration, then start vipd)"
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// vipd's command line without its hidden internals (script-launcher),
/// for completions.
fn visible_only(command: clap::Command) -> clap::Command {
    let hidden: Vec<String> = command
        .get_subcommands()
        .filter(|c| c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect();
    let mut shown = clap::Command::new("vipd")
        .about(command.get_about().cloned().unwrap_or_default())
        .version(env!("REVISIONED_VERSION"));
    for sub in command.get_subcommands() {
        if !hidden.iter().any(|h| h == sub.get_name()) {
            shown = shown.subcommand(sub.clone());
        }
    }
    shown
}

fn decode(hex: &str, src: IpAddr, dst: Option<IpAddr>, ttl: u8) -> ExitCode {
    let bytes = match parse_hex(hex) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("vipd decode: {message}");
            return ExitCode::FAILURE;
        }
    };
    let endpoints = match dst {
        Some(dst) => Endpoints::new(src, dst),
        None => Endpoints::multicast_from(src),
    };
    match Advert::decode_received(&bytes, &endpoints, ttl) {
        Ok(advert) => {
            println!("version    {}", advert.version);
            println!("vrid       {}", advert.vrid);
            println!("priority   {}", advert.priority);
            println!("interval   {}", advert.interval);
            let auth = match advert.auth {
                Auth::None => "none".to_string(),
                Auth::Pass(_) => "PASS (password not shown)".to_string(),
                Auth::Other { kind, .. } => format!("type {kind} (unsupported)"),
            };
            println!("auth       {auth}");
            let addresses = match &advert.addresses {
                vipd::proto::AddressList::V4(list) => {
                    list.iter().map(ToString::to_string).collect::<Vec<_>>()
                }
                vipd::proto::AddressList::V6(list) => {
                    list.iter().map(ToString::to_string).collect()
                }
            };
            println!("addresses  {}", addresses.join(" "));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("vipd decode: not a valid advert from {src}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("not hex at byte {i}: {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{launcher_arguments, Cli, Command};
    use clap::Parser;

    fn parsed(line: &str) -> Option<(i32, u32)> {
        launcher_arguments(line.split(' ').map(std::ffi::OsString::from))
    }

    #[test]
    fn the_launcher_line_the_daemon_writes_is_read_without_clap() {
        assert_eq!(
            parsed("script-launcher --fd 3 --parent 4242"),
            Some((3, 4242))
        );
        // Anything else is clap's to read, or to refuse in its words.
        for other in [
            "run --config x",
            "script-launcher --fd 3",
            "script-launcher --fd x --parent 1",
            "script-launcher --parent 1 --fd 3",
            "script-launcher --fd 3 --parent 1 extra",
            "script-launcher --fd 3 --parent -1",
            "script-launcher --fd -1 --parent 1",
            "script-launcher --fd=3 --parent 1",
        ] {
            assert_eq!(parsed(other), None, "{other}");
        }
    }

    /// What the fast path takes, clap takes the same way: it never lets
    /// through a line clap would refuse or read otherwise.
    #[test]
    fn the_launcher_fast_path_agrees_with_clap() {
        let mut taken = 0;
        for line in [
            "script-launcher --fd 3 --parent 4242",
            "script-launcher --fd +3 --parent 7",
            "script-launcher --fd 003 --parent 1",
            "script-launcher --fd 0 --parent 0",
            "script-launcher --fd -1 --parent 1",
            "script-launcher --fd 2147483648 --parent 1",
            "script-launcher --fd 3 --parent 4294967296",
        ] {
            let from_clap = Cli::try_parse_from(std::iter::once("vipd").chain(line.split(' ')))
                .ok()
                .and_then(|cli| match cli.command {
                    Command::ScriptLauncher { fd, parent } => Some((fd, parent)),
                    _ => None,
                });
            if let Some(fast) = parsed(line) {
                assert_eq!(Some(fast), from_clap, "{line}");
                taken += 1;
            }
        }
        assert_eq!(taken, 4, "the first four lines are the fast path's");
    }
}

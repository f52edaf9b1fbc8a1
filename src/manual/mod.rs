//! vipd(8): the manual page, from the command-line definitions (clap_mangen)
//! plus the sections a reader of a daemon's page looks for: the
//! configuration keys, signals and files.

use std::io::{self, Write};

/// The configuration keys: (key, what it takes and means).
const KEYS: &[(&str, &str)] = &[
    (
        "instances.NAME.interface",
        "the interface VRRP runs on (required)",
    ),
    ("instances.NAME.virtual_router_id", "1..255 (required)"),
    (
        "instances.NAME.priority",
        "1..255, default 100; 255 is the address owner",
    ),
    ("instances.NAME.version", "2 (default) or 3; IPv6 needs 3"),
    (
        "instances.NAME.advert_int",
        "seconds or a duration, default 1; v2 whole seconds, v3 0.01..40.95 s",
    ),
    (
        "instances.NAME.state",
        "MASTER or BACKUP (default); a wish, priority decides",
    ),
    (
        "instances.NAME.source_ip",
        "advert source (mcast_src_ip, unicast_src_ip)",
    ),
    (
        "instances.NAME.authentication",
        "{ auth_type: PASS, auth_pass: P } (v2 only; sent in clear: no protection, see auth_hmac)",
    ),
    (
        "instances.NAME.auth_hmac",
        "{ keys: [\"1 file:/etc/vipd/vrrp51.key\"], active_key: 1, anti_replay: time|monotonic, time_window: 5, mode: enforce|permissive|receive-only }: keepalived 2.4's signed adverts; key files mode 600, made by vipd keygen",
    ),
    (
        "instances.NAME.virtual_ipaddress",
        "addresses: ADDR[/PREFIX] [brd A] [dev IF] [scope S] [label L] [no_track]",
    ),
    (
        "instances.NAME.quorum",
        "false: not fenced though quorum is set (a sync group's members all or none)",
    ),
    (
        "quorum.etcd",
        "{ endpoints: [http://HOST:2379, ...], prefix: /vipd, lease_ttl: 2s (2..300 s), name: HOLDER, tls: { ca, cert, key, domain } }: a master holds its addresses only while it holds PREFIX/<instance or sync group> in etcd under a live lease",
    ),
    (
        "quorum.on_quorum_loss",
        "release (default: no lease, no addresses; FAULT \"quorum lost\") or keep (availability over the fence)",
    ),
    (
        "instances.NAME.virtual_ipaddress_excluded",
        "held, not advertised; either family",
    ),
    (
        "instances.NAME.virtual_routes",
        "DEST[/LEN] [via GW] [dev IF] [src A] [metric N] [table N] [proto N], blackhole DEST",
    ),
    (
        "instances.NAME.virtual_rules",
        "from|to PREFIX table N [priority N]",
    ),
    (
        "instances.NAME.preempt, preempt_delay",
        "true / 0 by default; delay at most 1000 s",
    ),
    (
        "instances.NAME.garp_master_delay, garp_master_repeat",
        "5 s / 5",
    ),
    (
        "instances.NAME.garp_master_refresh, garp_master_refresh_repeat",
        "off / 1",
    ),
    (
        "instances.NAME.unicast_peer",
        "ADDR, \"ADDR min_ttl N max_ttl N\" or a map; unicast instead of multicast",
    ),
    (
        "instances.NAME.unicast_ttl, check_unicast_src, unicast_fault_no_peer",
        "unicast options",
    ),
    (
        "instances.NAME.use_vmac, vmac_xmit_base",
        "a VMAC (true or its name) with the virtual MAC",
    ),
    (
        "instances.NAME.track_script, track_interface, track_file",
        "NAME or { name: NAME, weight: -253..253 }",
    ),
    (
        "instances.NAME.notify_master, notify_backup, notify_fault, notify_stop, notify",
        "scripts; notify gets INSTANCE name STATE priority",
    ),
    (
        "checks.NAME",
        "{ exec: CMD | tcp: ADDR:PORT | http: URL, interval, timeout, rise, fall, weight, user }",
    ),
    ("track_files.NAME", "{ file: PATH, weight: N }"),
    (
        "sync_groups.NAME",
        "{ group: [INSTANCE...], track_*, notify_*, sync_group_tracking_weight }",
    ),
    (
        "notify_fifo, notify_timeout",
        "notification settings",
    ),
    (
        "script_user",
        "who scripts run as: default keepalived_script if that user exists, else vipd's user (root unless user is set)",
    ),
    (
        "user",
        "the user vipd switches to after start-up, keeping only CAP_NET_ADMIN and CAP_NET_RAW; unset: it keeps its uid, with those two",
    ),
    (
        "control_socket",
        "where vipd status reads, default /run/vipd/vipd.sock",
    ),
    (
        "metrics.listen",
        "ADDRESS:PORT for Prometheus, off unless set",
    ),
];

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('-', "\\-")
}

/// Writes vipd(8) in roff.
pub fn write(command: clap::Command, out: &mut dyn Write) -> io::Result<()> {
    let man = clap_mangen::Man::new(command).section("8");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    writeln!(out, ".SH CONFIGURATION")?;
    writeln!(
        out,
        "YAML (.yaml, .yml), TOML (.toml) or keepalived.conf (.conf, or --format keepalived) files, later ones overriding earlier ones, then VIPD_ environment variables (VIPD_INSTANCES__VI_1__PRIORITY=90). Keywords and defaults are keepalived's; vipd convert turns a keepalived.conf into YAML, keeping what vipd does not do as comments."
    )?;
    for (key, meaning) in KEYS {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", escape(key), escape(meaning))?;
    }
    writeln!(out, ".SH SIGNALS")?;
    writeln!(
        out,
        "SIGTERM, SIGINT, SIGQUIT: masters send priority 0 and remove their addresses, then vipd exits 0. SIGHUP, SIGUSR1, SIGUSR2: logged, nothing changes."
    )?;
    writeln!(out, ".SH FILES")?;
    writeln!(
        out,
        ".TP\n/etc/vipd/vipd.yaml\nthe configuration, by convention"
    )?;
    writeln!(
        out,
        ".TP\n/run/vipd/vipd.sock\nthe control socket (control_socket)"
    )?;
    man.render_version_section(out)
}

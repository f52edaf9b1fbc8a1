//! keepalived 2.2.7 keywords that vipd does not do, and why, in the words
//! a warning gives. A keyword in none of these lists and not mapped is
//! unknown to keepalived too (its parsers: keepalived/core/global_parser.c,
//! keepalived/vrrp/vrrp_parser.c), and refused.

pub type Why = &'static str;

const LVS: Why = "LVS (virtual and real servers, their checkers) is not part of vipd: keep keepalived's checker process for it, or another load balancer";
const BFD: Why = "BFD is not part of vipd: use a check, or track the peer with FRR's bfdd";
const STATIC: Why =
    "static addresses, routes and rules are not VRRP: put them in the host's network configuration";
const PROCESS: Why = "keepalived's process settings: vipd is one process; set scheduling, limits and names in its systemd unit";
const NAMESPACE: Why = "run vipd itself in the namespace (ip netns exec NAME vipd run ...)";
const EMAIL: Why = "vipd sends no e-mail: use a notify script";
const SNMP_CHECKER: Why =
    "the checker's MIB is LVS's: vipd serves the VRRP MIBs only (enable_snmp_vrrp, enable_snmp_rfc)";
const DBUS: Why =
    "vipd has no D-Bus interface: its state is in `vipd status`, its Prometheus metrics and SNMP";
const FIREWALL: Why = "vipd drops traffic to accept: false addresses with nftables, in its own table (nftables NAME sets it); iptables chains and ipsets are not used";
const NFTABLES_EXTRA: Why =
    "vipd's drop rules match addresses only, with no counters and no per-interface link-local sets";
/// Words after a keyword whose first word is all vipd reads.
pub const NO_EFFECT_HERE: Why = "has no effect in vipd";
const BUFFERS: Why = "kernel buffer sizes: vipd sizes its own sockets";
const RELOAD: Why = "keepalived's configuration-reading machinery: vipd reads its files on start";
const SCRIPTS_AT_START: Why =
    "vipd runs no start or stop script: use systemd's ExecStartPre and ExecStopPost";
const LINKBEAT: Why =
    "vipd learns link changes from netlink at once, never by polling (delays: interface_up_down_delays)";
const NO_EFFECT: Why = "has no effect in vipd";
/// router_id without SNMP: mapped to snmp.router_id when SNMP is on.
pub const ROUTER_ID: Why = "keepalived names the host by it in e-mail and SNMP; vipd sends no e-mail, and SNMP is off here (with enable_snmp_* it is KEEPALIVED-MIB's routerId)";
const DUMPS: Why = "keepalived's state, statistics and JSON dumps (on SIGUSR1/SIGUSR2/SIGJSON): vipd's state is in `vipd status` (`--json`) and its metrics";
const IPROUTE_DIRS: Why = "vipd reads no iproute2 files: it names route tables main, local and default, and takes the others by number";
const SYMLINK_PATHS: Why = "vipd always runs a script by the path written, symbolic links kept (checking the resolved file's owner and mode), which is what this asks for";

pub const ADDRESS_OPTION: Why =
    "vipd adds an address with brd, dev, scope, label, no_track and use_vmac only; this option is left out";
pub const REVERSE: Why =
    "vipd has no reverse weights: this weight applies the usual way (added while up, subtracted while down)";
pub const NOTIFY_USER: Why =
    "vipd runs notify scripts as script_user (or its own user), not a user per script";
pub const VMAC_ADDRESS: Why =
    "vipd gives a VMAC the RFC's MAC 00:00:5e:00:01:VRID; the MAC given is left out";
pub const SCRIPT_GROUP: Why = "a group for scripts: vipd runs them with the user's own group";
pub const FIFO_OWNER: Why = "an owner for the FIFO: vipd creates it as its own user";
pub const INIT_FAIL: Why =
    "vipd starts every check as not yet known, and the instance waits for it";
pub const INIT_FILE: Why = "vipd reads the file as it is and never writes it";

/// Top-level sections keepalived reads and vipd does not.
pub fn top_level(keyword: &str) -> Option<Why> {
    Some(match keyword {
        "virtual_server" | "virtual_server_group" => LVS,
        "bfd_instance" => BFD,
        "static_ipaddress" | "static_routes" | "static_rules" | "track_group" => STATIC,
        "linkbeat_interfaces" | "linkbeat_use_polling" => LINKBEAT,
        "net_namespace" | "net_namespace_ipvs" | "namespace_with_ipsets" => NAMESPACE,
        "use_pid_dir" | "instance" | "child_wait_time" => PROCESS,
        _ => return None,
    })
}

/// keepalived 2.2.7's global_defs keywords that vipd does not map.
const GLOBAL: &[(Why, &[&str])] = &[
    (
        EMAIL,
        &[
            "notification_email",
            "notification_email_from",
            "smtp_server",
            "smtp_helo_name",
            "smtp_connect_timeout",
            "smtp_alert",
            "smtp_alert_vrrp",
            "smtp_alert_checker",
            "no_email_faults",
            "no_checker_emails",
        ],
    ),
    (
        SNMP_CHECKER,
        &[
            "enable_snmp_checker",
            "snmp_rs_stats_update_interval",
            "snmp_vs_stats_update_interval",
        ],
    ),
    (
        DBUS,
        &["enable_dbus", "dbus_service_name", "dbus_no_interface_name"],
    ),
    (
        DUMPS,
        &[
            "state_dump_file",
            "stats_dump_file",
            "json_dump_file",
            "json_version",
        ],
    ),
    (IPROUTE_DIRS, &["iproute_etc_dir", "iproute_usr_dir"]),
    (SYMLINK_PATHS, &["use_symlink_paths"]),
    (
        LVS,
        &[
            "lvs_timeouts",
            "lvs_flush",
            "lvs_flush_on_stop",
            "lvs_flush_onstop",
            "lvs_sync_daemon",
            "lvs_notify_fifo",
            "lvs_notify_fifo_script",
            "lvs_netlink_cmd_rcv_bufs",
            "lvs_netlink_cmd_rcv_bufs_force",
            "lvs_netlink_monitor_rcv_bufs",
            "lvs_netlink_monitor_rcv_bufs_force",
            "checker_log_all_failures",
            "rs_init_notifies",
            "nftables_ipvs",
            "nftables_ipvs_priority",
            "nftables_ipvs_start_fwmark",
        ],
    ),
    (
        PROCESS,
        &[
            "linkbeat_use_polling",
            "net_namespace",
            "net_namespace_ipvs",
            "namespace_with_ipsets",
            "use_pid_dir",
            "instance",
            "child_wait_time",
            "process_names",
            "process_name",
            "vrrp_process_name",
            "checker_process_name",
            "lvs_process_name",
            "bfd_process_name",
            "vrrp_priority",
            "vrrp_no_swap",
            "vrrp_rt_priority",
            "vrrp_cpu_affinity",
            "vrrp_rlimit_rttime",
            "vrrp_rlimit_rtime",
            "checker_priority",
            "checker_no_swap",
            "checker_rt_priority",
            "checker_cpu_affinity",
            "checker_rlimit_rttime",
            "checker_rlimit_rtime",
            "bfd_priority",
            "bfd_no_swap",
            "bfd_rt_priority",
            "bfd_cpu_affinity",
            "bfd_rlimit_rttime",
            "bfd_rlimit_rtime",
            "umask",
            "max_auto_priority",
            "min_auto_priority_delay",
        ],
    ),
    (FIREWALL, &["vrrp_iptables", "vrrp_ipsets"]),
    (NFTABLES_EXTRA, &["nftables_ifindex", "nftables_counters"]),
    (
        BUFFERS,
        &[
            "vrrp_netlink_cmd_rcv_bufs",
            "vrrp_netlink_cmd_rcv_bufs_force",
            "vrrp_netlink_monitor_rcv_bufs",
            "vrrp_netlink_monitor_rcv_bufs_force",
            "process_monitor_rcv_bufs",
            "process_monitor_rcv_bufs_force",
            "vrrp_rx_bufs_policy",
            "vrrp_rx_bufs_multiplier",
        ],
    ),
    (
        RELOAD,
        &[
            "random_seed",
            "reload_check_config",
            "reload_time_file",
            "reload_repeat",
            "reload_file",
            "include_check",
            "config_save_dir",
            "tmp_config_directory",
            "data_use_instance",
        ],
    ),
    (
        SCRIPTS_AT_START,
        &[
            "startup_script",
            "startup_script_timeout",
            "shutdown_script",
            "shutdown_script_timeout",
        ],
    ),
    (
        NO_EFFECT,
        &[
            "dynamic_interfaces",
            "default_interface",
            "disable_local_igmp",
        ],
    ),
];

pub fn global(keyword: &str) -> Option<Why> {
    GLOBAL
        .iter()
        .find(|(_, keywords)| keywords.contains(&keyword))
        .map(|(why, _)| *why)
}

/// keepalived 2.2.7's vrrp_instance keywords that vipd does not map.
pub fn instance(keyword: &str) -> Option<Why> {
    Some(match keyword {
        "track_bfd" => BFD,
        "smtp_alert" => EMAIL,
        "lvs_sync_daemon_interface" => LVS,
        "kernel_rx_buf_size" => BUFFERS,
        "linkbeat_use_polling" => LINKBEAT,
        "native_ipv6" => "deprecated in keepalived: the addresses decide the family, in vipd too",
        "vrf" => "vipd does not bind to a VRF: run it in the VRF (ip vrf exec NAME vipd run ...)",
        "promote_secondaries" => "set net.ipv4.conf.IFACE.promote_secondaries=1 with sysctl",
        "debug" => NO_EFFECT,
        _ => return None,
    })
}

/// keepalived 2.2.7's vrrp_sync_group keywords that vipd does not map.
pub fn sync_group(keyword: &str) -> Option<Why> {
    Some(match keyword {
        "track_bfd" => BFD,
        "smtp_alert" => EMAIL,
        _ => return None,
    })
}

/// Every keyword these lists know, for the note and the tests.
pub fn all_global() -> impl Iterator<Item = &'static str> {
    GLOBAL
        .iter()
        .flat_map(|(_, keywords)| keywords.iter().copied())
}

//! The configuration keywords: one table, from which the README's tables,
//! vipd.yaml(5) and vipd(8)'s summary are all made, so they cannot drift
//! apart (`integration/manual.rs` checks the README against it).
//!
//! Cells are Markdown as the README shows them: `code` in backticks.

/// One keyword: its name(s), default and what it takes.
pub struct Keyword {
    pub key: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every instance keyword, keepalived's name and default.
pub const INSTANCE_KEYWORDS: &[Keyword] = &[
    Keyword {
        key: r#"`interface`"#,
        default: r#"required"#,
        meaning: r#"`eth0`"#,
    },
    Keyword {
        key: r#"`virtual_router_id`"#,
        default: r#"required"#,
        meaning: r#"`51` (1..255)"#,
    },
    Keyword {
        key: r#"`state`"#,
        default: r#"`BACKUP`"#,
        meaning: r#"`MASTER`: a wish; below priority 255 it still starts in BACKUP, as keepalived"#,
    },
    Keyword {
        key: r#"`priority`"#,
        default: r#"`100`"#,
        meaning: r#"1..255; 255 is the address owner"#,
    },
    Keyword {
        key: r#"`version`"#,
        default: r#"`2`"#,
        meaning: r#"`3` for VRRPv3 (IPv6 needs 3)"#,
    },
    Keyword {
        key: r#"`advert_int`"#,
        default: r#"`1`"#,
        meaning: r#"seconds (`1`, `0.1`) or `100ms`; v2 whole seconds 1..255, v3 0.01..40.95 s"#,
    },
    Keyword {
        key: r#"`source_ip` (`mcast_src_ip`, `unicast_src_ip`)"#,
        default: r#"the interface's address (IPv6: link-local)"#,
        meaning: r#"`192.0.2.201`"#,
    },
    Keyword {
        key: r#"`authentication`"#,
        default: r#"none"#,
        meaning: r#"`{ auth_type: PASS, auth_pass: "1111" }` (v2 only; first 8 characters sent; no protection: see "Authentication")"#,
    },
    Keyword {
        key: r#"`auth_hmac`"#,
        default: r#"none"#,
        meaning: r#"`{ keys: ["1 file:/etc/vipd/vrrp51.key"], active_key: 1 }`: keepalived 2.4's signed adverts, v2 and v3 (see "Authentication")"#,
    },
    Keyword {
        key: r#"`virtual_ipaddress`"#,
        default: r#"required, unless `no_virtual_ipaddress`"#,
        meaning: r#"see below"#,
    },
    Keyword {
        key: r#"`no_virtual_ipaddress`"#,
        default: r#"`false`"#,
        meaning: r#"`true`: the instance may have no `virtual_ipaddress`; it then holds none and its adverts carry none (keepalived 2.2.8 and later; a notify script moves a cloud address); the family is `source_ip`'s or the first peer's, else IPv4"#,
    },
    Keyword {
        key: r#"`virtual_ipaddress_excluded`"#,
        default: r#"none"#,
        meaning: r#"held by the master, not advertised; either family"#,
    },
    Keyword {
        key: r#"`preempt` / `preempt_delay`"#,
        default: r#"`true` / `0`"#,
        meaning: r#"`preempt_delay: 300` (at most 1000 s)"#,
    },
    Keyword {
        key: r#"`accept`"#,
        default: r#"`true` (`strict_mode`: `false` unless priority 255)"#,
        meaning: r#"`false`: a master that does not own its addresses (priority below 255) drops traffic to and from them, with nftables (see "Accept mode")"#,
    },
    Keyword {
        key: r#"`garp_master_delay` / `garp_master_repeat`"#,
        default: r#"`5` / `5`"#,
        meaning: r#"second GARP burst after 5 s, 5 each"#,
    },
    Keyword {
        key: r#"`garp_master_refresh` / `garp_master_refresh_repeat`"#,
        default: r#"off / `1`"#,
        meaning: r#"`garp_master_refresh: 60`"#,
    },
    Keyword {
        key: r#"`garp_lower_prio_repeat` / `garp_lower_prio_delay`"#,
        default: r#"`5` / `5` (`strict_mode`: `0` / `0`)"#,
        meaning: r#"GARP/NA a master sends on hearing a lower-priority master, and again after the delay (`0`: none / no second burst)"#,
    },
    Keyword {
        key: r#"`garp_extra_if`"#,
        default: r#"off (a keepalived.conf: `vrrp_garp_extra_if`'s)"#,
        meaning: r#"`"60 all"` (or `{ delay: 60, all: true }`): while master, one GARP/NA every 60 s (whole seconds, checked at each advert) on each other interface the instance holds an address on (`dev`): another instance's VMAC, or any with `all`; off when there is none, as keepalived (`vmac_garp_intvl` is its old name)"#,
    },
    Keyword {
        key: r#"`track_script` / `track_interface` / `track_file`"#,
        default: r#"none"#,
        meaning: r#"`[web, { name: port, weight: -50 }]`"#,
    },
    Keyword {
        key: r#"`notify_master` / `_backup` / `_fault` / `_stop` / `notify`"#,
        default: r#"none"#,
        meaning: r#"scripts, keepalived's arguments"#,
    },
    Keyword {
        key: r#"`notify_master_rx_lower_pri`"#,
        default: r#"none"#,
        meaning: r#"script run when this master hears a lower-priority master (another host took over while it could not hear us: take a cloud address back); at most once per advert interval"#,
    },
    Keyword {
        key: r#"`notify_deleted`"#,
        default: r#"off"#,
        meaning: r#"`true` or a script: a reload that removes the instance notifies `DELETED` (and runs the script); without it, `FAULT` to `notify` and the FIFO only, keepalived's old way (nothing if it was in FAULT). vipd knows an instance across a reload by its name, keepalived by VRID, interface and family"#,
    },
    Keyword {
        key: r#"`notify_priority_changes`"#,
        default: r#"the sync group's, else `false`"#,
        meaning: r#"`true`: `INSTANCE "VI_1" MASTER_PRIORITY 90` (or `BACKUP_PRIORITY`) on `notify_fifo` when the effective priority changes"#,
    },
    Keyword {
        key: r#"`down_timer_adverts`"#,
        default: r#"`3`"#,
        meaning: r#"1..100: how many adverts a backup misses before it takes over (Master_Down_Interval = N × interval + skew)"#,
    },
    Keyword {
        key: r#"`lower_prio_no_advert` / `higher_prio_send_advert`"#,
        default: r#"`false` / `false`"#,
        meaning: r#"a master does not answer a lower-priority master at once / sends one advert before it yields to a higher one"#,
    },
    Keyword {
        key: r#"`skip_check_adv_addr` / `owner_ignore_adverts`"#,
        default: r#"`false` / `false`"#,
        meaning: r#"a backup checks the addresses only of a master it has not heard before / an owner (priority 255) drops every advert (keepalived 2.4)"#,
    },
    Keyword {
        key: r#"`dont_track_primary`"#,
        default: r#"`false`"#,
        meaning: r#"the interface going down is not FAULT: the instance runs on (for links that bounce)"#,
    },
    Keyword {
        key: r#"`timer_expired_backup`"#,
        default: r#"none"#,
        meaning: r#"keepalived 2.4's: the highest priority of the other routers (1..254); with `preempt: false`, a master that was not running for as long as one of them needs to take over (SIGSTOP, a paused VM) steps down to backup when it runs again, before it sends or answers anything, instead of taking the address back; with preempt on it is ignored with a warning, as keepalived resets it"#,
    },
    Keyword {
        key: r#"`old_unicast_checksum` / `v3_checksum_as_v2`"#,
        default: r#"`auto` / `false`"#,
        meaning: r#"VRRPv3 over IPv4 unicast summed as keepalived before 1.3.6 did (the group in the pseudo-header): `auto` after hearing a peer do so, `never`, `always` / VRRPv3 over IPv4 summed without the pseudo-header, sent so and taken so or the RFC's way"#,
    },
    Keyword {
        key: r#"`mcast_dst_ip`"#,
        default: r#"`224.0.0.18` / `ff02::12` (a keepalived.conf: `vrrp_mcast_group4`/`6`'s)"#,
        meaning: r#"`224.0.0.100`: the group adverts go to and are heard on; adverts to another group do not count (`other_multicast_group`); ignored, with a warning, with `unicast_peer`"#,
    },
    Keyword {
        key: r#"`unicast_peer`"#,
        default: r#"none (multicast)"#,
        meaning: r#"`[192.0.2.202, "198.51.100.2 min_ttl 254 max_ttl 254", { address: 192.0.2.204 }]`"#,
    },
    Keyword {
        key: r#"`unicast_ttl`"#,
        default: r#"255 (IPv4), kernel default (IPv6)"#,
        meaning: r#"`64`"#,
    },
    Keyword {
        key: r#"`check_unicast_src`"#,
        default: r#"`true` (a keepalived.conf: `false`, keepalived's default, warned)"#,
        meaning: r#"only listed peers count (on by itself when a peer has a TTL range)"#,
    },
    Keyword {
        key: r#"`unicast_fault_no_peer`"#,
        default: r#"`false`"#,
        meaning: r#"unicast with no peers: FAULT instead of multicast"#,
    },
    Keyword {
        key: r#"`use_vmac`"#,
        default: r#"`false`"#,
        meaning: r#"`true` (a VMAC named `vrrp.VRID`) or a name: `vrrp51`"#,
    },
    Keyword {
        key: r#"`use_ipvlan`"#,
        default: r#"`false`"#,
        meaning: r#"adverts from an l2 ipvlan (the parent's MAC) with an address of its own, the VIPs on the parent as keepalived puts them; not with `use_vmac`: `true` (named `vrrp.VRID`, IPv6 only) or `{ name: ipv51, address: 192.0.2.9/24, mode: private, group: 5 }` (mode: `bridge`, `private` or `vepa`); the address (needed for IPv4) is the adverts' source"#,
    },
    Keyword {
        key: r#"`vmac_xmit_base`"#,
        default: r#"`false`"#,
        meaning: r#"adverts from the parent, not the VMAC (forced with unicast)"#,
    },
    Keyword {
        key: r#"`use_vmac_addr`"#,
        default: r#"`false`"#,
        meaning: r#"`true`: each address on another interface (`dev`), or of the other family, is held on a VMAC of its own there (one per interface and family, the virtual MAC of the address's family, named by `vmac_addr_prefix`); an address's own `use_vmac` (`"198.51.100.9/24 dev eth1 use_vmac"`) does so for it alone, and for one on the instance's interface when the instance has no `use_vmac`"#,
    },
    Keyword {
        key: r#"`virtual_routes`"#,
        default: r#"none"#,
        meaning: r#"`["198.51.100.0/24 via 192.0.2.1 src 192.0.2.203 table 100", "blackhole 203.0.113.0/24"]`"#,
    },
    Keyword {
        key: r#"`virtual_rules`"#,
        default: r#"none"#,
        meaning: r#"`["from 192.0.2.203 table 100 priority 1000"]`"#,
    },
    Keyword {
        key: r#"`strict_mode`"#,
        default: r#"`false` (a keepalived.conf: `vrrp_strict`'s)"#,
        meaning: r#"`true`: the RFC's protocol only, as keepalived's strict mode: unicast or no address refused; authentication, `preempt_delay`, `down_timer_adverts`, `higher_prio_send_advert`, `garp_lower_prio_*`, `vmac_xmit_base` and VRRPv2 `accept` reset with a warning; no answer to a lower priority; an owner ignores adverts; adverts with authentication dropped (`strict_auth`)"#,
    },
    Keyword {
        key: r#"`quorum`"#,
        default: r#"fenced when the top-level `quorum` is set"#,
        meaning: r#"`false`: this instance is not fenced (a sync group's members all or none; see "Never two holders")"#,
    },
];

/// The top-level keys beside `instances`.
pub const TOP_LEVEL_KEYS: &[Keyword] = &[
    Keyword {
        key: r#"`instances`"#,
        default: r#"none"#,
        meaning: r#"`{ VI_1: { interface: eth0, ... } }`: the VRRP instances by name, each with the instance keywords; with none, `vipd run` holds no address and sends nothing, and the packaged unit does not start"#,
    },
    Keyword {
        key: r#"`checks`"#,
        default: r#"none"#,
        meaning: r#"`{ web: { exec: "/usr/local/bin/check-web", interval: 2s, timeout: 1s, fall: 3, rise: 2, weight: -20, user: nobody } }`; also `tcp: "127.0.0.1:5432"`, `http: URL` (with `status`, `body`) and `process: { name: haproxy, quorum: 1, quorum_max, full_command, params: [...], param_match: exact\|partial\|initial, delay, fork_delay, terminate_delay }` (keepalived's vrrp_track_process: up while quorum..quorum_max matching processes run, learnt as they start and end)"#,
    },
    Keyword {
        key: r#"`track_files`"#,
        default: r#"none"#,
        meaning: r#"`{ maint: { file: /run/vipd/maintenance, weight: -10 } }`: the integer in the file times the weight"#,
    },
    Keyword {
        key: r#"`sync_groups`"#,
        default: r#"none"#,
        meaning: r#"`{ G1: { group: [VI_1, VI_2] } }`, with `track_*`, `notify_*`, `notify_priority_changes` and `sync_group_tracking_weight`"#,
    },
    Keyword {
        key: r#"`notify_fifo`"#,
        default: r#"none"#,
        meaning: r#"`/run/vipd/notify.fifo`: one line per state change, keepalived's format (`INSTANCE "VI_1" MASTER 100`, `GROUP "G1" MASTER 0`; also `MASTER_RX_LOWER_PRI` and, with `notify_priority_changes`, `MASTER_PRIORITY` / `BACKUP_PRIORITY`)"#,
    },
    Keyword {
        key: r#"`notify_fifo_script`"#,
        default: r#"none"#,
        meaning: r#"a reader of `notify_fifo` vipd runs as long as it runs, with the FIFO's path as its last argument, started again (1 s, doubling to 60 s) when it ends; vipd makes the FIFO (the script user's), lines wait in it while the reader starts (a full pipe drops them at once), and at exit the STOP lines are in it before the reader is ended"#,
    },
    Keyword {
        key: r#"`log_unknown_vrids`"#,
        default: r#"`false`"#,
        meaning: r#"log adverts for a VRID no instance runs on the interface they arrive on, at most one line per 10 s per interface (keepalived's `log_unknown_vrids`, which logs each); counted either way in `vipd_receiver_unrouted_packets_total`"#,
    },
    Keyword {
        key: r#"`fifo_write_vrrp_states_on_reload`"#,
        default: r#"`false`"#,
        meaning: r#"after a reload, the state of each sync group and of each kept instance not in MASTER is written to `notify_fifo` again (keepalived's choice of which)"#,
    },
    Keyword {
        key: r#"`notify_timeout`"#,
        default: r#"`10s`"#,
        meaning: r#"how long a notify script may run before its process group is killed"#,
    },
    Keyword {
        key: r#"`script_user`"#,
        default: r#"`keepalived_script` if that user exists, else vipd's user"#,
        meaning: r#"who check and notify scripts run as, unless a check names its own `user`"#,
    },
    Keyword {
        key: r#"`user`"#,
        default: r#"none (vipd keeps its uid)"#,
        meaning: r#"`vipd`: the user vipd becomes after start-up, keeping only CAP_NET_ADMIN and CAP_NET_RAW"#,
    },
    Keyword {
        key: r#"`control_socket`"#,
        default: r#"`/run/vipd/vipd.sock`"#,
        meaning: r#"where `vipd status` and `vipd reload` reach the daemon; two daemons on one machine need two"#,
    },
    Keyword {
        key: r#"`metrics`"#,
        default: r#"off"#,
        meaning: r#"`{ listen: "127.0.0.1:9650" }`: Prometheus `GET /metrics`"#,
    },
    Keyword {
        key: r#"`snmp`"#,
        default: r#"off"#,
        meaning: r#"`{ socket: /var/agentx/master, vrrp: true, rfcv2: true, rfcv3: true, traps: true }`: an AgentX subagent of snmpd serving KEEPALIVED-MIB's VRRP part, VRRP-MIB (RFC 2787) and VRRPv3-MIB (RFC 6527), with their traps (keepalived's `snmp_socket`, `enable_snmp_vrrp`, `enable_snmp_rfc`, `enable_snmp_rfcv2`, `enable_snmp_rfcv3`, `enable_traps`; `socket` also `tcp:HOST:PORT`); fixed until restart"#,
    },
    Keyword {
        key: r#"`startup_delay`"#,
        default: r#"`0`"#,
        meaning: r#"`30s`: after vipd starts (not after a reload), a backup takes over no sooner than this plus its Master_Down_Interval (keepalived's `vrrp_startup_delay`: time for the network at boot)"#,
    },
    Keyword {
        key: r#"`interface_up_down_delays`"#,
        default: r#"none"#,
        meaning: r#"`{ eth0: { down: 1.5s, up: 2s } }`: how long an instance's interface must stay down (up) before the instance acts on it, 0..255 s, cut below (down_timer_adverts - 1) advert intervals as keepalived cuts them; a bounce within the delay changes nothing"#,
    },
    Keyword {
        key: r#"`vmac_prefix`"#,
        default: r#"`vrrp`"#,
        meaning: r#"an unnamed VMAC's name: PREFIX.VRID, else (taken by another instance, e.g. the other family's) PREFIX6.VRID, PREFIX1.VRID... as keepalived names them"#,
    },
    Keyword {
        key: r#"`vmac_addr_prefix`"#,
        default: r#"`vmac_prefix`'s"#,
        meaning: r#"the name of a VMAC made for addresses (`use_vmac_addr`, an address's `use_vmac`): PREFIX.VRID, numbered as `vmac_prefix`'s when taken"#,
    },
    Keyword {
        key: r#"`delay_after_boot`"#,
        default: r#"`0`"#,
        meaning: r#"`300s`: the same wait counted from the system's boot (`/proc/uptime`), so only what is left of it when vipd starts; the longer of the two applies (keepalived 2.4's `vrrp_delay_after_boot`)"#,
    },
    Keyword {
        key: r#"`garp_interval` / `gna_interval`"#,
        default: r#"`0` / `0`"#,
        meaning: r#"`0.1`: on each interface, gratuitous ARPs / unsolicited NAs at least this far apart, whichever instance sends them; those asked for sooner wait, once each (keepalived's `vrrp_garp_interval` / `vrrp_gna_interval`: a burst of `garp_master_repeat` within one interval is one now and one more later)"#,
    },
    Keyword {
        key: r#"`garp_group`"#,
        default: r#"none"#,
        meaning: r#"`[{ garp_interval: 0.2, gna_interval: 0.1, interfaces: [eth1] }]`: these interfaces' own spacing (an interval left out is 0); a VMAC is spaced as its parent (keepalived's `garp_group`)"#,
    },
    Keyword {
        key: r#"`nftables`"#,
        default: r#"`{ table: vipd, priority: -1 }`"#,
        meaning: r#"the nftables table (one per family) and chain priority `accept: false` instances drop traffic with; fixed until restart"#,
    },
    Keyword {
        key: r#"`quorum`"#,
        default: r#"off"#,
        meaning: r#"`{ etcd: { endpoints: ["http://192.0.2.201:2379", ...], prefix: /vipd, lease_ttl: 2s, name: HOLDER, tls: { ca, cert, key, domain } }, on_quorum_loss: release }`: a master holds its addresses only while it holds its key in etcd (`lease_ttl` 2..300 s; `keep` trades the fence for availability; see "Never two holders")"#,
    },
];

/// A table as the README shows it.
pub fn markdown(first_column: &str, keywords: &[Keyword]) -> String {
    let mut table = format!("| {first_column} | default | example / meaning |\n|---|---|---|\n");
    for keyword in keywords {
        table.push_str(&format!(
            "| {} | {} | {} |\n",
            keyword.key, keyword.default, keyword.meaning
        ));
    }
    table
}

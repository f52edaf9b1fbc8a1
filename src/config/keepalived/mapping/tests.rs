use super::*;

use crate::config::keepalived::reader;

/// keepalived 2.2.7's vrrp_instance keywords (vrrp_parser.c,
/// init_vrrp_keywords), each with a value keepalived accepts.
const INSTANCE_KEYWORDS: &[&str] = &[
    "use_vmac",
    "use_vmac_addr",
    "vmac_xmit_base",
    "use_ipvlan",
    "unicast_fault_no_peer",
    "check_unicast_src",
    "old_unicast_checksum",
    "native_ipv6",
    "state BACKUP",
    "interface eth0",
    "vrf red",
    "dont_track_primary",
    "mcast_src_ip 192.0.2.1",
    "unicast_src_ip 192.0.2.1",
    "mcast_dst_ip 224.0.0.18",
    "track_src_ip",
    "virtual_router_id 1",
    "unicast_ttl 255",
    "version 3",
    "priority 100",
    "advert_int 1",
    "promote_secondaries",
    "linkbeat_use_polling",
    "accept",
    "no_accept",
    "skip_check_adv_addr",
    "strict_mode",
    "preempt",
    "nopreempt",
    "preempt_delay 1",
    "debug 1",
    "notify_backup /bin/true",
    "notify_master /bin/true",
    "notify_fault /bin/true",
    "notify_stop /bin/true",
    "notify_deleted /bin/true",
    "notify /bin/true",
    "notify_master_rx_lower_pri /bin/true",
    "smtp_alert",
    "notify_priority_changes",
    "lvs_sync_daemon_interface eth0",
    "garp_master_delay 1",
    "garp_master_refresh 1",
    "garp_master_repeat 1",
    "garp_master_refresh_repeat 1",
    "garp_lower_prio_delay 1",
    "garp_lower_prio_repeat 1",
    "down_timer_adverts 3",
    "garp_extra_if 1",
    "vmac_garp_intvl 1",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "kernel_rx_buf_size 1",
];

/// The block keywords of vrrp_instance.
const INSTANCE_BLOCKS: &[&str] = &[
    "track_interface { eth1 }",
    "track_script { chk }",
    "track_file { f }",
    "track_process { p }",
    "track_bfd { b }",
    "virtual_ipaddress { 192.0.2.9 }",
    "virtual_ipaddress_excluded { 192.0.2.10 }",
    "unicast_peer { 192.0.2.2 }",
    "virtual_routes { 198.51.100.0/24 dev eth0 }",
    "virtual_rules { from 192.0.2.9 table 100 priority 9 }",
    "authentication { auth_type PASS auth_pass x }",
];

const SYNC_GROUP_KEYWORDS: &[&str] = &[
    "group { VI_1 }",
    "track_interface { eth1 }",
    "track_script { chk }",
    "track_file { f }",
    "track_process { p }",
    "track_bfd { b }",
    "notify_backup /bin/true",
    "notify_master /bin/true",
    "notify_fault /bin/true",
    "notify_stop /bin/true",
    "notify /bin/true",
    "smtp_alert",
    "global_tracking",
    "sync_group_tracking_weight",
    "notify_priority_changes",
];

fn nodes(text: &str) -> Vec<Node> {
    let dir = std::env::temp_dir().join(format!(
        "vipd-mapping-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keepalived.conf");
    std::fs::write(&file, text).unwrap();
    let read = reader::read(&file, "id", &blocks).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    read.nodes
}

/// Nothing keepalived knows is "unknown": each keyword is mapped, or
/// dropped with a reason.
fn known(context: &str, line: &str) {
    // One-line blocks split onto lines, as keepalived allows.
    let line = line.replace(" auth_pass", "\nauth_pass");
    let text = format!("{context} {{\n{line}\n}}\n");
    let mapped = map(&nodes(&text)).unwrap_or_else(|r| panic!("{context}: {line}: {r:?}"));
    let unknown: Vec<_> = mapped
        .adjusted
        .iter()
        .filter(|a| a.why.starts_with("unknown keyword"))
        .collect();
    assert!(unknown.is_empty(), "{context}: {line}: {unknown:?}");
}

#[test]
fn every_keepalived_instance_keyword_is_mapped_or_warned() {
    for line in INSTANCE_KEYWORDS.iter().chain(INSTANCE_BLOCKS) {
        known("vrrp_instance VI_1", line);
    }
}

#[test]
fn every_keepalived_sync_group_keyword_is_mapped_or_warned() {
    for line in SYNC_GROUP_KEYWORDS {
        known("vrrp_sync_group G", line);
    }
}

#[test]
fn every_keepalived_global_keyword_is_mapped_or_warned() {
    let mapped = [
        "vrrp_version 3",
        "vrrp_garp_master_delay 1",
        "vrrp_garp_master_repeat 1",
        "vrrp_garp_master_refresh 1",
        "vrrp_garp_master_refresh_repeat 1",
        "vrrp_check_unicast_src",
        "script_user root",
        "notify_fifo /run/f",
        "vrrp_notify_fifo /run/f",
        "enable_script_security",
        "snmp_socket tcp:localhost:705",
        "enable_traps",
        "enable_snmp_vrrp",
        "enable_snmp_keepalived",
        "enable_snmp_rfc",
        "enable_snmp_rfcv2",
        "enable_snmp_rfcv3",
        "vrrp_strict",
        "vrrp_mcast_group4 224.0.0.100",
        "vrrp_mcast_group6 ff02::100",
        "vrrp_garp_interval 0.1",
        "vrrp_gna_interval 0.1",
        "vrrp_min_garp",
        "vrrp_garp_extra_if 60 all",
    ];
    for line in mapped {
        let mapped = map(&nodes(&format!("global_defs {{\n{line}\n}}\n"))).unwrap();
        assert!(mapped.dropped.is_empty(), "{line}: {:?}", mapped.dropped);
    }
    for keyword in unsupported::all_global() {
        let mapped = map(&nodes(&format!("global_defs {{\n{keyword}\n}}\n"))).unwrap();
        assert_eq!(mapped.dropped.len(), 1, "{keyword}");
        assert!(!mapped.dropped[0].why.is_empty());
    }
}

/// keepalived logs "Unknown keyword" and runs: vipd warns and runs.
#[test]
fn a_misspelt_keyword_is_ignored_and_said_where_it_is() {
    let mapped = map(&nodes(
        "vrrp_instance VI_1 {\n  priorty 1\n  virtual_ipaddress {\n    192.0.2.9\n  }\n}\n",
    ))
    .unwrap();
    assert_eq!(mapped.adjusted.len(), 1);
    assert_eq!(mapped.adjusted[0].keyword, "priorty");
    assert_eq!(mapped.adjusted[0].at.line, 2);
    assert!(mapped.adjusted[0]
        .why
        .starts_with("unknown keyword in vrrp_instance: ignored"));
    assert!(mapped.value["instances"]["VI_1"].get("priority").is_none());
    let mapped = map(&nodes("global_defs {\n  routerid x\n}\n")).unwrap();
    assert!(mapped.adjusted[0].why.contains("in global_defs"));
    let mapped = map(&nodes("vrrp_instanse VI_1 {\n}\n")).unwrap();
    assert!(mapped.adjusted[0].why.contains("at the top level"));
}

#[test]
fn address_options_vipd_does_not_set_are_dropped_and_said() {
    let mapped = map(&nodes(
        "vrrp_instance VI_1 {\n virtual_ipaddress {\n  192.0.2.9/24 dev eth0 home preferred_lft 0 label eth0:1\n }\n}\n",
    ))
    .unwrap();
    let vips = &mapped.value["instances"]["VI_1"]["virtual_ipaddress"];
    assert_eq!(vips, &json!(["192.0.2.9/24 dev eth0 label eth0:1"]));
    assert_eq!(mapped.dropped.len(), 2);
    assert!(mapped.dropped.iter().all(|d| d.at.line == 3));
}

/// keepalived's use_vmac_addr, vmac_addr_prefix and an address's
/// use_vmac map onto vipd's keys of those names; a second
/// vmac_addr_prefix is ignored, as keepalived ignores it.
#[test]
fn address_vmac_keywords_map_onto_vipd_keys() {
    let mapped = map(&nodes(
        "global_defs {\n vmac_addr_prefix vaddr\n vmac_addr_prefix other\n}\nvrrp_instance VI_1 {\n use_vmac_addr\n virtual_ipaddress {\n  198.51.100.9/24 dev eth1 use_vmac\n }\n}\n",
    ))
    .unwrap();
    assert_eq!(mapped.value["vmac_addr_prefix"], json!("vaddr"));
    let instance = &mapped.value["instances"]["VI_1"];
    assert_eq!(instance["use_vmac_addr"], json!(true));
    assert_eq!(
        instance["virtual_ipaddress"],
        json!(["198.51.100.9/24 dev eth1 use_vmac"])
    );
    assert!(mapped.dropped.is_empty(), "{:?}", mapped.dropped);
    assert_eq!(mapped.adjusted.len(), 1, "{:?}", mapped.adjusted);
    assert_eq!(mapped.adjusted[0].at.line, 3);
    assert!(mapped.adjusted[0]
        .why
        .starts_with("vmac_addr prefix has already been specified"));
}

#[test]
fn weights_and_reverse() {
    let scripts = "vrrp_script a {\n script /bin/true\n}\nvrrp_script b {\n script /bin/true\n}\nvrrp_script c {\n script /bin/true\n}\n";
    let mapped = map(&nodes(&format!(
        "{scripts}vrrp_instance VI_1 {{\n track_script {{\n  a\n  b weight -5\n  c weight 5 reverse\n }}\n}}\n",
    )))
    .unwrap();
    assert_eq!(
        mapped.value["instances"]["VI_1"]["track_script"],
        json!(["a", {"name": "b", "weight": -5}, {"name": "c", "weight": 5}])
    );
    assert_eq!(mapped.dropped.len(), 1);
    assert_eq!(mapped.dropped[0].why, unsupported::REVERSE);
}

/// keepalived looks a tracked script up when it reads the tracking line
/// (vrrp_track.c alloc_track_script): one defined after it is not found,
/// and the entry is ignored (measured with 2.2.7).
#[test]
fn a_script_defined_after_its_tracker_is_not_tracked() {
    let mapped = map(&nodes(
        "vrrp_instance VI_1 {\n track_script {\n  chk\n }\n virtual_ipaddress {\n  192.0.2.9\n }\n}\nvrrp_script chk {\n script /bin/true\n}\n",
    ))
    .unwrap();
    assert_eq!(mapped.value["instances"]["VI_1"]["track_script"], json!([]));
    assert_eq!(mapped.adjusted.len(), 1);
    assert_eq!(mapped.adjusted[0].at.line, 3);
    assert!(mapped.adjusted[0]
        .why
        .contains("no script chk is defined before this line"));
}

#[test]
fn positions_point_at_each_key_and_entry() {
    let mapped = map(&nodes(
        "vrrp_instance VI_1 {\n  priority 7\n  virtual_ipaddress {\n    192.0.2.1\n    192.0.2.2\n  }\n}\n",
    ))
    .unwrap();
    let line = |key: &str| mapped.positions[key].line;
    assert_eq!(line("instances.VI_1"), 1);
    assert_eq!(line("instances.VI_1.priority"), 2);
    assert_eq!(line("instances.VI_1.virtual_ipaddress"), 3);
    assert_eq!(line("instances.VI_1.virtual_ipaddress.1"), 5);
}

#[test]
fn values_are_read_as_keepalived_reads_them() {
    // A missing value makes keepalived exit.
    let refused = map(&nodes("vrrp_instance VI_1 {\n  priority\n}\n")).unwrap_err();
    assert!(refused[0]
        .message
        .starts_with("expected a value after it (keepalived exits"));
    // Words after the value are ignored.
    let mapped = map(&nodes("vrrp_instance VI_1 {\n  priority 1 2\n}\n")).unwrap();
    assert_eq!(mapped.value["instances"]["VI_1"]["priority"], json!(1));
    assert!(mapped.adjusted[0].why.starts_with("2 ignored"));
    // A flag takes no value: `preempt off` is preempt.
    let mapped = map(&nodes(
        "vrrp_instance VI_1 {\n  nopreempt\n  preempt off\n}\n",
    ))
    .unwrap();
    assert_eq!(mapped.value["instances"]["VI_1"]["preempt"], json!(true));
    assert_eq!(mapped.adjusted[0].at.line, 3);
    // Words after a list keyword are ignored; its entries are read.
    let mapped = map(&nodes(
        "vrrp_instance VI_1 {\n  virtual_ipaddress 192.0.2.1 {\n 192.0.2.2\n }\n}\n",
    ))
    .unwrap();
    assert_eq!(
        mapped.value["instances"]["VI_1"]["virtual_ipaddress"],
        json!(["192.0.2.2"])
    );
    // A section without its name is skipped.
    let mapped = map(&nodes("vrrp_instance {\n  priority 1\n}\n")).unwrap();
    assert!(mapped.value.get("instances").is_none());
    assert!(mapped.adjusted[0]
        .why
        .contains("keepalived skips the section"));
}

/// keepalived reads the rest of a `script` line as the command and its
/// arguments, quoted or not (vrrp_vscript_script_handler).
#[test]
fn a_script_line_keeps_its_arguments() {
    let mapped = map(&nodes(
        "vrrp_script a {\n script /usr/bin/test -d \"/a b\"\n}\nvrrp_script b {\n script \"/usr/bin/test -d /\"\n}\n",
    ))
    .unwrap();
    assert_eq!(
        mapped.value["checks"]["a"]["exec"],
        json!("/usr/bin/test -d '/a b'")
    );
    assert_eq!(
        mapped.value["checks"]["b"]["exec"],
        json!("/usr/bin/test -d /")
    );
}

/// keepalived 2.2.7 and 2.4.3 run a VRRPv2 IPv4 instance with no address
/// ("at least one is sensible"); 2.2.8's no_virtual_ipaddress says it on
/// purpose, for v3 too.
#[test]
fn an_instance_without_addresses_runs_as_keepalived_runs_it() {
    let mapped = map(&nodes("vrrp_instance VI_1 {\n interface eth0\n}\n")).unwrap();
    assert_eq!(
        mapped.value["instances"]["VI_1"]["no_virtual_ipaddress"],
        json!(true)
    );
    assert_eq!(mapped.adjusted.len(), 1, "{:?}", mapped.adjusted);
    assert!(mapped.adjusted[0].why.contains("No VIP specified"));
    let v3 = map(&nodes("vrrp_instance VI_1 {\n version 3\n}\n")).unwrap();
    assert!(v3.value["instances"]["VI_1"]
        .get("no_virtual_ipaddress")
        .is_none());
    let asked = map(&nodes(
        "vrrp_instance VI_1 {\n version 3\n no_virtual_ipaddress\n}\n",
    ))
    .unwrap();
    assert_eq!(
        asked.value["instances"]["VI_1"]["no_virtual_ipaddress"],
        json!(true)
    );
    assert!(asked.adjusted.is_empty(), "{:?}", asked.adjusted);
}

/// The advert and notification keywords, in an instance, a sync group and
/// global_defs (as defaults), with keepalived's boolean words.
#[test]
fn advert_and_notification_keywords_map_with_keepalived_s_words() {
    let mapped = map(&nodes(
        "global_defs {\n vrrp_down_timer_adverts 5\n vrrp_higher_prio_send_advert\n vrrp_notify_priority_changes yes\n}\n\
         vrrp_instance VI_1 {\n virtual_ipaddress {\n  192.0.2.9\n }\n lower_prio_no_advert on\n higher_prio_send_advert off\n notify_master_rx_lower_pri /bin/true\n}\n\
         vrrp_instance VI_2 {\n virtual_ipaddress {\n  192.0.2.10\n }\n down_timer_adverts 2\n lower_prio_no_advert maybe\n}\n\
         vrrp_sync_group G {\n group {\n  VI_2\n }\n notify_priority_changes false\n}\n",
    ))
    .unwrap();
    let vi_1 = &mapped.value["instances"]["VI_1"];
    assert_eq!(vi_1["down_timer_adverts"], json!(5));
    assert_eq!(vi_1["lower_prio_no_advert"], json!(true));
    assert_eq!(
        vi_1["higher_prio_send_advert"],
        json!(false),
        "its own beats the global"
    );
    assert_eq!(vi_1["notify_priority_changes"], json!(true));
    assert_eq!(vi_1["notify_master_rx_lower_pri"], json!("/bin/true"));
    let vi_2 = &mapped.value["instances"]["VI_2"];
    assert_eq!(vi_2["down_timer_adverts"], json!(2));
    assert!(
        vi_2.get("lower_prio_no_advert").is_none(),
        "a bad word is ignored"
    );
    assert!(
        vi_2.get("notify_priority_changes").is_none(),
        "its group's beats the global"
    );
    assert_eq!(
        mapped.value["sync_groups"]["G"]["notify_priority_changes"],
        json!(false)
    );
    assert!(mapped.dropped.is_empty(), "{:?}", mapped.dropped);
    assert_eq!(mapped.adjusted.len(), 1, "{:?}", mapped.adjusted);
    assert!(mapped.adjusted[0].why.contains("\"maybe\""));
}

#[test]
fn track_process_entries_join_track_script_in_order_with_their_lines() {
    let mapped = map(&nodes(
        "vrrp_script chk {\n script /bin/true\n}\nvrrp_track_process svc {\n process svc\n}\nvrrp_instance VI_1 {\n track_process {\n  svc weight 10\n }\n track_script {\n  chk\n }\n virtual_ipaddress {\n  192.0.2.9\n }\n}\n",
    ))
    .unwrap();
    assert_eq!(
        mapped.value["instances"]["VI_1"]["track_script"],
        json!([{"name": "svc", "weight": 10}, "chk"])
    );
    assert_eq!(mapped.value["checks"]["svc"]["process"]["name"], "svc");
    let line = |key: &str| mapped.positions[key].line;
    assert_eq!(line("instances.VI_1.track_script.0"), 9);
    assert_eq!(line("instances.VI_1.track_script.1"), 12);
    assert_eq!(line("checks.svc.process.name"), 5);
    // Two entries after two: each keeps its own line.
    let mapped = map(&nodes(
        "vrrp_script a {\n script /bin/true\n}\nvrrp_script b {\n script /bin/true\n}\nvrrp_track_process p {\n process p\n}\nvrrp_track_process q {\n process q\n}\nvrrp_instance VI_1 {\n track_script {\n  a\n  b\n }\n track_process {\n  p\n  q\n }\n}\n",
    ))
    .unwrap();
    let line = |key: &str| mapped.positions[key].line;
    let lines: Vec<usize> = (0..4)
        .map(|i| line(&format!("instances.VI_1.track_script.{i}")))
        .collect();
    assert_eq!(lines, vec![15, 16, 19, 20]);
}

#[test]
fn a_track_process_named_as_a_script_is_refused_with_why() {
    let refused = map(&nodes(
        "vrrp_script same {\n script /bin/true\n}\nvrrp_track_process same {\n process svc\n}\n",
    ))
    .unwrap_err();
    assert_eq!(refused[0].at.line, 4);
    assert!(refused[0]
        .message
        .contains("names both a vrrp_script and a vrrp_track_process"));
    // A second vrrp_track_process of a name: keepalived keeps the first.
    let mapped = map(&nodes(
        "vrrp_track_process p {\n process a\n}\nvrrp_track_process p {\n process b\n}\n",
    ))
    .unwrap();
    assert_eq!(mapped.value["checks"]["p"]["process"]["name"], "a");
}

#[test]
fn a_track_process_delay_sets_both_and_the_last_line_wins() {
    let mapped = map(&nodes(
        "vrrp_track_process p {\n process p\n fork_delay 2\n delay 5\n terminate_delay 1\n}\n",
    ))
    .unwrap();
    let process = &mapped.value["checks"]["p"]["process"];
    assert_eq!(process["fork_delay"], 5);
    assert_eq!(process["terminate_delay"], 1);
    assert!(process.get("delay").is_none());
}

/// global_parser.c's SNMP handlers: flags, and one socket, the first;
/// a missing, extra or (for vipd) unusable socket is ignored and said.
#[test]
fn snmp_keywords_map_onto_the_snmp_block() {
    let mapped = map(&nodes(
        "global_defs {\n enable_snmp_rfc\n enable_traps\n snmp_socket unix:/run/agentx\n snmp_socket /var/agentx/master\n snmp_socket\n snmp_socket a b\n}\n",
    ))
    .unwrap();
    assert_eq!(
        mapped.value["snmp"],
        json!({"rfcv2": true, "rfcv3": true, "traps": true, "socket": "unix:/run/agentx"})
    );
    let why: Vec<&str> = mapped.adjusted.iter().map(|a| a.why.as_str()).collect();
    assert_eq!(why.len(), 3, "{why:?}");
    assert!(why[0].contains("keeps the first"), "{why:?}");
    assert!(why[1].contains("snmp socket name missing"), "{why:?}");
    assert!(why[2].contains("Too many parameters"), "{why:?}");
    let udp = map(&nodes(
        "global_defs {\n snmp_socket udp:localhost:705\n enable_snmp_vrrp\n}\n",
    ))
    .unwrap();
    assert_eq!(udp.value["snmp"], json!({"vrrp": true}));
    assert!(udp.adjusted[0].why.contains("AgentX runs over a stream"));
}

/// vrrp_strict is every instance's strict_mode unless it says otherwise;
/// where a strict instance sets none, strict mode's defaults win over
/// the global ones; a MASTER that is no owner is made BACKUP; a strict
/// instance without an address is left for the core to refuse.
#[test]
fn strict_mode_maps_per_instance_with_keepalived_s_defaults() {
    let mapped = map(&nodes(
        "global_defs {\n vrrp_strict\n vrrp_garp_master_repeat 3\n vrrp_higher_prio_send_advert\n}\n\
         vrrp_instance VI_1 {\n state MASTER\n priority 100\n virtual_ipaddress {\n  192.0.2.9\n }\n}\n\
         vrrp_instance VI_2 {\n strict_mode off\n virtual_ipaddress {\n  192.0.2.10\n }\n}\n\
         vrrp_instance VI_3 {\n interface eth0\n}\n",
    ))
    .unwrap();
    let vi_1 = &mapped.value["instances"]["VI_1"];
    assert_eq!(vi_1["strict_mode"], json!(true));
    assert_eq!(vi_1["state"], json!("BACKUP"));
    assert!(vi_1.get("garp_lower_prio_repeat").is_none());
    assert!(vi_1.get("higher_prio_send_advert").is_none());
    assert_eq!(vi_1["garp_master_repeat"], json!(3));
    let vi_2 = &mapped.value["instances"]["VI_2"];
    assert_eq!(vi_2["strict_mode"], json!(false));
    assert_eq!(vi_2["garp_lower_prio_repeat"], json!(3));
    assert_eq!(vi_2["higher_prio_send_advert"], json!(true));
    assert!(mapped.value["instances"]["VI_3"]
        .get("no_virtual_ipaddress")
        .is_none());
    assert!(mapped.adjusted.iter().any(|a| a
        .why
        .contains("State MASTER must match being address owner")));
}

/// use_ipvlan's words, in keepalived's order-free grammar
/// (vrrp_parser.c vrrp_ipvlan_handler).
#[test]
fn use_ipvlan_words_map_onto_its_table() {
    let ipvlan = |line: &str| {
        let mapped = map(&nodes(&format!(
            "vrrp_instance VI_1 {{\n interface eth0\n {line}\n virtual_ipaddress {{\n  192.0.2.1\n }}\n}}\n"
        )))
        .unwrap();
        let why: Vec<String> = mapped.adjusted.iter().map(|a| a.why.clone()).collect();
        (mapped.value["instances"]["VI_1"]["use_ipvlan"].clone(), why)
    };
    assert_eq!(ipvlan("use_ipvlan"), (json!(true), vec![]));
    assert_eq!(
        ipvlan("use_ipvlan ipv.9 192.0.2.9/24 private"),
        (
            json!({"name": "ipv.9", "address": "192.0.2.9/24", "mode": "private"}),
            vec![]
        )
    );
    // Any order; keepalived 2.4's `name` and `group`.
    assert_eq!(
        ipvlan("use_ipvlan vepa 2001:db8::9 name ipv6.9 group 7"),
        (
            json!({"name": "ipv6.9", "address": "2001:db8::9", "mode": "vepa", "group": 7}),
            vec![]
        )
    );
    let (value, why) = ipvlan("use_ipvlan bridge private 192.0.2.9 192.0.2.10 a b");
    assert_eq!(
        value,
        json!({"name": "a", "address": "192.0.2.9", "mode": "bridge"})
    );
    assert_eq!(
        why,
        vec![
            "(VI_1) ipvlan type already specified - ignoring 'private'",
            "(VI_1) ipvlan address already specified - ignoring '192.0.2.10'",
            "(VI_1) IPVLAN interface already specified - ignoring 'b'",
        ]
    );
    let (value, why) = ipvlan("use_ipvlan averyveryverylongname 192.0.2.9");
    assert_eq!(value, json!({"address": "192.0.2.9"}));
    assert!(why[0].contains("too long - ignoring"), "{why:?}");
    let (value, why) = ipvlan("use_ipvlan 192.0.2.9 group no-such-group-here");
    assert_eq!(value, json!({"address": "192.0.2.9"}));
    assert!(
        why[0].contains("ipvlan group no-such-group-here not found"),
        "{why:?}"
    );
    let (_, why) = ipvlan("use_ipvlan 192.0.2.9\n use_ipvlan 192.0.2.10");
    assert_eq!(
        why,
        vec!["(VI_1) use_ipvlan already specified: ignored, as keepalived ignores it"]
    );
}

/// A name another instance's VMAC or ipvlan has is ignored, as keepalived
/// ignores it.
#[test]
fn an_ipvlan_name_taken_by_another_instance_is_ignored() {
    let mapped = map(&nodes(
        "vrrp_instance A {\n use_vmac shared\n virtual_ipaddress {\n  192.0.2.1\n }\n}\nvrrp_instance B {\n use_ipvlan shared 192.0.2.9/24\n virtual_ipaddress {\n  192.0.2.2\n }\n}\n",
    ))
    .unwrap();
    assert_eq!(
        mapped.value["instances"]["B"]["use_ipvlan"],
        json!({"address": "192.0.2.9/24"})
    );
    assert_eq!(mapped.adjusted.len(), 1);
    assert_eq!(mapped.adjusted[0].at.line, 8);
    assert!(mapped.adjusted[0]
        .why
        .contains("VRRP instance A is already using shared - ignoring name"));
}

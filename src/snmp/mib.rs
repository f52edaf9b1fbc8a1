//! The objects vipd serves, made from one status snapshot: KEEPALIVED-MIB's
//! VRRP part (as keepalived's keepalived/vrrp/vrrp_snmp.c serves it), RFC
//! 2787's VRRP-MIB and RFC 6527's VRRPv3-MIB, and the traps each sends on
//! a state change. A view is a sorted map, made afresh for each request,
//! so Get, GetNext and GetBulk are lookups in it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Bound;

use crate::status::{InstanceStatus, Snapshot};
use crate::sys::transition_feed::{StateChange, Stop};

use super::oid::Oid;
use super::pdu::{SearchRange, Value, VarBind};

/// keepalived's enterprise subtree (keepalived/include/snmp.h KEEPALIVED_OID).
const KEEPALIVED: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5];
/// VRRP-MIB, RFC 2787: mib-2 68.
const RFC2787: &[u32] = &[1, 3, 6, 1, 2, 1, 68];
/// VRRPv3-MIB, RFC 6527: mib-2 207.
const RFC6527: &[u32] = &[1, 3, 6, 1, 2, 1, 207];
/// snmpTrapOID.0 (SNMPv2-MIB), the second varbind of every notification.
pub const SNMP_TRAP_OID: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];
/// sysUpTime.0, the first.
pub const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];

/// Which MIBs are served, and whether their traps are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mibs {
    /// KEEPALIVED-MIB's VRRP objects (keepalived's enable_snmp_vrrp).
    pub vrrp: bool,
    /// VRRP-MIB (enable_snmp_rfcv2).
    pub rfcv2: bool,
    /// VRRPv3-MIB (enable_snmp_rfcv3).
    pub rfcv3: bool,
    /// Notifications on state changes (enable_traps).
    pub traps: bool,
}

/// What the snapshot does not say: the host's name, which keepalived
/// reports as routerId (its default router_id is the host name).
#[derive(Clone, Debug, Default)]
pub struct Host {
    pub router_id: String,
}

/// The subtrees to register, one per enabled MIB (keepalived's VRRP part
/// brings its global scalars, as vrrp_snmp_agent_init does with
/// snmp_agent_init(..., base_mib)).
pub fn subtrees(mibs: Mibs) -> Vec<Oid> {
    let mut subtrees = Vec::new();
    if mibs.vrrp {
        subtrees.push(Oid::new(KEEPALIVED).child(&[1]));
        subtrees.push(Oid::new(KEEPALIVED).child(&[2]));
    }
    if mibs.rfcv2 {
        subtrees.push(Oid::new(RFC2787));
    }
    if mibs.rfcv3 {
        subtrees.push(Oid::new(RFC6527));
    }
    subtrees
}

/// One snapshot's objects, in walk order.
#[derive(Debug, Default)]
pub struct View(BTreeMap<Oid, Value>);

impl View {
    pub fn new(mibs: Mibs, snapshot: &Snapshot, host: &Host) -> View {
        let mut view = View::default();
        if mibs.vrrp {
            view.keepalived(mibs, snapshot, host);
        }
        if mibs.rfcv2 {
            view.rfc2787(mibs, snapshot);
        }
        if mibs.rfcv3 {
            view.rfc6527(snapshot);
        }
        view
    }

    fn put(&mut self, oid: Oid, value: Value) {
        self.0.insert(oid, value);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// RFC 2741 §7.2.3.1: the value, or noSuchObject.
    pub fn get(&self, name: &Oid) -> VarBind {
        VarBind {
            name: name.clone(),
            value: self.0.get(name).cloned().unwrap_or(Value::NoSuchObject),
        }
    }

    /// §7.2.3.2: the first object after `start` (or at it, if
    /// `include`) and before `end`; else endOfMibView named `start`.
    pub fn next(&self, range: &SearchRange) -> VarBind {
        let lower = if range.include {
            Bound::Included(&range.start)
        } else {
            Bound::Excluded(&range.start)
        };
        let found = self
            .0
            .range::<Oid, _>((lower, Bound::Unbounded))
            .next()
            .filter(|(oid, _)| range.end.is_null() || **oid < range.end);
        match found {
            Some((oid, value)) => VarBind {
                name: oid.clone(),
                value: value.clone(),
            },
            None => VarBind {
                name: range.start.clone(),
                value: Value::EndOfMibView,
            },
        }
    }

    /// keepalived/core/snmp.c global_vars and keepalived/vrrp/vrrp_snmp.c
    /// vrrp_vars: the scalars, vrrpInstanceTable and vrrpAddressTable.
    fn keepalived(&mut self, mibs: Mibs, snapshot: &Snapshot, host: &Host) {
        let global = Oid::new(KEEPALIVED).child(&[1]);
        self.put(
            global.child(&[1, 0]),
            text(&format!("vipd {}", snapshot.version)),
        );
        self.put(global.child(&[2, 0]), text(&host.router_id));
        self.put(global.child(&[4, 0]), truth(mibs.traps));
        self.sync_groups(snapshot);
        let table = Oid::new(KEEPALIVED).child(&[2, 3, 1]);
        let addresses = Oid::new(KEEPALIVED).child(&[2, 6, 1]);
        for (i, instance) in snapshot.instances.iter().enumerate() {
            let index = i as u32 + 1;
            let column = |c: u32| table.child(&[c, index]);
            self.put(column(2), text(&instance.name));
            self.put(column(3), Value::Gauge32(u32::from(instance.vrid)));
            self.put(column(4), Value::Integer(keepalived_state(&instance.state)));
            // vrrpInstanceInitialState, which the state change trap names.
            self.put(
                column(5),
                Value::Integer(keepalived_state(initial_state(instance))),
            );
            self.put(column(7), Value::Integer(i32::from(instance.base_priority)));
            self.put(
                column(8),
                Value::Integer(i32::from(instance.effective_priority)),
            );
            // vrrpInstanceVipsStatus: allSet(1) while the master holds
            // them (keepalived's vipset), notAllSet(2) otherwise.
            let all_set = instance.addresses_held > 0
                && instance.addresses_held >= instance.virtual_addresses.len();
            self.put(column(9), Value::Integer(if all_set { 1 } else { 2 }));
            self.put(column(10), text(&instance.interface));
            // Seconds for v2, centiseconds for v3, as keepalived.
            let interval = if instance.version == 2 {
                instance.advert_interval_cs / 100
            } else {
                instance.advert_interval_cs
            };
            self.put(column(12), Value::Gauge32(interval));
            self.put(column(13), truth(instance.preempt));
            self.put(
                column(14),
                Value::Gauge32(instance.preempt_delay_secs as u32),
            );
            let auth = if instance.version == 2 {
                i32::from(instance.auth_type)
            } else {
                0
            };
            self.put(column(15), Value::Integer(auth));
            // keepalived serves accept for v3 only, 0 for v2.
            let accept = if instance.version == 3 {
                truth(instance.accept)
            } else {
                Value::Integer(0)
            };
            self.put(column(27), accept);
            self.put(column(30), Value::Integer(i32::from(instance.version)));
            self.instance_setup(&column, instance);
            for (j, address) in instance.virtual_addresses.iter().enumerate() {
                let Some((ip, prefix)) = parse_address(address) else {
                    continue;
                };
                let row = |c: u32| addresses.child(&[c, index, j as u32 + 1]);
                self.put(row(2), Value::Integer(if ip.is_ipv4() { 1 } else { 2 }));
                self.put(row(3), Value::OctetString(octets(ip)));
                self.put(row(5), Value::Gauge32(prefix));
                self.put(row(8), text(&instance.interface));
                self.put(row(10), truth(all_set));
            }
        }
    }

    /// vrrpInstanceTable's configuration columns, as keepalived's
    /// vrrp_snmp.c vrrp_snmp_instance serves them (2.2.7; column 36 is
    /// 2.4.3's). Left out: vrrpInstanceWantedState (6; vipd keeps no
    /// wanted state apart from its state) and vrrpInstanceLvsSyncInterface
    /// (17; keepalived serves it only for the instance named by
    /// lvs_sync_daemon, and vipd has no LVS).
    fn instance_setup(&mut self, column: &dyn Fn(u32) -> Oid, instance: &InstanceStatus) {
        let setup = &instance.setup;
        // track_interface configured (keepalived: !list_empty(track_ifp)).
        self.put(column(11), truth(setup.tracks_interfaces));
        // vrrpInstanceUseLvsSyncDaemon: keepalived is the lvs_sync_daemon
        // instance's; vipd has no LVS, so none is: false.
        self.put(column(16), truth(false));
        if let Some(group) = &setup.sync_group {
            self.put(column(18), text(group));
        }
        self.put(column(19), Value::Gauge32(setup.garp_delay_secs));
        // smtp_alert: vipd sends no mail; keepalived's default is false.
        self.put(column(20), truth(false));
        self.put(column(21), truth(setup.notify.any_set()));
        let scripts = [
            (22, &setup.notify.master),
            (23, &setup.notify.backup),
            (24, &setup.notify.fault),
            (25, &setup.notify.stop),
            (26, &setup.notify.any),
            (31, &setup.notify.master_rx_lower_pri),
            (32, &setup.notify.deleted),
        ];
        for (c, script) in scripts {
            if let Some(script) = script {
                self.put(column(c), text(script));
            }
        }
        // promote_secondaries and linkbeat_use_polling: vipd does neither
        // (the first is a sysctl to set; it watches links by netlink).
        self.put(column(28), truth(false));
        self.put(column(29), truth(false));
        self.put(column(33), truth(setup.notify_deleted));
        // Multicast only (keepalived breaks for VRRP_FLAG_UNICAST):
        // InetAddressType ipv4(1)/ipv6(2), then the 4 or 16 bytes.
        if let Some(group) = setup.multicast_group {
            self.put(
                column(34),
                Value::Integer(if group.is_ipv4() { 1 } else { 2 }),
            );
            self.put(column(35), Value::OctetString(octets(group)));
        }
        // 2.4.3's vrrpInstanceV3ChecksumAsV2.
        self.put(column(36), truth(setup.v3_checksum_as_v2));
    }

    /// vrrp_snmp.c vrrp_snmp_syncgroup and vrrp_snmp_syncgroupmember:
    /// vrrpSyncGroupTable indexed by the group's place, and
    /// vrrpSyncGroupMemberTable by the group's and the member's.
    fn sync_groups(&mut self, snapshot: &Snapshot) {
        let groups = Oid::new(KEEPALIVED).child(&[2, 1, 1]);
        let members = Oid::new(KEEPALIVED).child(&[2, 2, 1]);
        for (i, group) in snapshot.sync_groups.iter().enumerate() {
            let index = i as u32 + 1;
            let column = |c: u32| groups.child(&[c, index]);
            self.put(column(2), text(&group.name));
            self.put(column(3), Value::Integer(keepalived_state(&group.state)));
            // smtp_alert: as the instances'.
            self.put(column(4), truth(false));
            self.put(column(5), truth(group.notify.any_set()));
            let scripts = [
                (6, &group.notify.master),
                (7, &group.notify.backup),
                (8, &group.notify.fault),
                (9, &group.notify.any),
                (11, &group.notify.stop),
            ];
            for (c, script) in scripts {
                if let Some(script) = script {
                    self.put(column(c), text(script));
                }
            }
            self.put(column(10), truth(group.tracking_weight));
            for (j, member) in group.members.iter().enumerate() {
                self.put(members.child(&[2, index, j as u32 + 1]), text(member));
            }
        }
    }

    /// RFC 2787 as keepalived serves it (vrrp_snmp.c vrrp_rfcv2_vars):
    /// VRRPv2 IPv4 instances with addresses only, indexed by ifIndex and
    /// VRID.
    fn rfc2787(&mut self, mibs: Mibs, snapshot: &Snapshot) {
        let base = Oid::new(RFC2787);
        // vrrpNodeVersion 2; vrrpNotificationCntl enabled(1)/disabled(2).
        self.put(base.child(&[1, 1, 0]), Value::Integer(2));
        self.put(
            base.child(&[1, 2, 0]),
            Value::Integer(if mibs.traps { 1 } else { 2 }),
        );
        let mut checksum_errors = 0u32;
        let mut version_errors = 0u32;
        let mut vrid_errors = 0u32;
        for instance in snapshot.instances.iter().filter(|i| suits_rfc2787(i)) {
            let index = [instance.ifindex, u32::from(instance.vrid)];
            let oper = |c: u32| base.child(&[1, 3, 1, c]).child(&index);
            self.put(oper(3), Value::Integer(rfc_state(&instance.state)));
            self.put(oper(4), Value::Integer(1)); // vrrpOperAdminState up
            self.put(oper(5), Value::Integer(i32::from(instance.base_priority)));
            self.put(
                oper(6),
                Value::Integer(instance.virtual_addresses.len() as i32),
            );
            if let Some(IpAddr::V4(master)) = master(instance) {
                self.put(oper(7), Value::IpAddress(master.octets()));
            }
            if let Some(IpAddr::V4(primary)) = primary(instance) {
                self.put(oper(8), Value::IpAddress(primary.octets()));
            }
            // noAuthentication(1), simpleTextPassword(2): keepalived's +1.
            self.put(oper(9), Value::Integer(i32::from(instance.auth_type) + 1));
            self.put(
                oper(11),
                Value::Integer((instance.advert_interval_cs / 100) as i32),
            );
            self.put(oper(12), truth(instance.preempt));
            self.put(oper(13), Value::TimeTicks(uptime(instance)));
            self.put(oper(14), Value::Integer(1)); // vrrpOperProtocol ip
            self.put(oper(15), Value::Integer(1)); // vrrpOperRowStatus active
            for address in &instance.virtual_addresses {
                if let Some((IpAddr::V4(v4), _)) = parse_address(address) {
                    let subids: Vec<u32> = v4.octets().iter().map(|&b| u32::from(b)).collect();
                    self.put(
                        base.child(&[1, 4, 1, 2]).child(&index).child(&subids),
                        Value::Integer(1),
                    );
                }
            }
            let stats = |c: u32| base.child(&[2, 4, 1, c]).child(&index);
            self.put(stats(1), Value::Counter32(became_master(instance) as u32));
            self.put(stats(2), Value::Counter32(instance.adverts_received as u32));
            let drops = |reason: &str| instance.drops.get(reason).copied().unwrap_or(0) as u32;
            self.put(stats(3), Value::Counter32(drops("interval_mismatch")));
            // The three authentication counters as keepalived 2.2.7 feeds
            // them (vrrp.c vrrp_check_packet; vrrp_snmp.c
            // vrrp_rfcv2_snmp_statstable): vrrpStatsAuthFailures a wrong
            // password (auth_failure), vrrpStatsInvalidAuthType a type
            // that is not 0, 1 or 2 (invalid_authtype),
            // vrrpStatsAuthTypeMismatch another type than ours
            // (authtype_mismatch), which is also what keepalived counts
            // when a strict instance (type 0) hears PASS.
            self.put(stats(4), Value::Counter32(drops("auth_mismatch")));
            self.put(stats(5), Value::Counter32(drops("bad_ttl")));
            self.put(
                stats(6),
                Value::Counter32(instance.priority_zero_received as u32),
            );
            self.put(
                stats(7),
                Value::Counter32(instance.priority_zero_sent as u32),
            );
            self.put(stats(8), Value::Counter32(drops("bad_type")));
            self.put(stats(9), Value::Counter32(drops("address_list_mismatch")));
            self.put(stats(10), Value::Counter32(drops("invalid_auth_type")));
            self.put(
                stats(11),
                Value::Counter32(drops("auth_type_mismatch").wrapping_add(drops("strict_auth"))),
            );
            self.put(stats(12), Value::Counter32(drops("length_mismatch")));
            // Counter32 wraps, as keepalived's unsigned sums do.
            checksum_errors = drops("bad_checksum").wrapping_add(checksum_errors);
            version_errors = drops("version_mismatch").wrapping_add(version_errors);
            vrid_errors = drops("vrid_mismatch").wrapping_add(vrid_errors);
        }
        self.put(base.child(&[2, 1, 0]), Value::Counter32(checksum_errors));
        self.put(base.child(&[2, 2, 0]), Value::Counter32(version_errors));
        self.put(base.child(&[2, 3, 0]), Value::Counter32(vrid_errors));
    }

    /// RFC 6527 as keepalived serves it (vrrp_snmp.c vrrp_rfcv3_vars):
    /// VRRPv3 instances with addresses, indexed by ifIndex, VRID and
    /// address type; an associated address is its 4 or 16 bytes, without
    /// a length (keepalived's vrrp_rfcv3_header_ar_table).
    fn rfc6527(&mut self, snapshot: &Snapshot) {
        let base = Oid::new(RFC6527);
        let mut checksum_errors = 0u64;
        let mut version_errors = 0u64;
        let mut vrid_errors = 0u64;
        for instance in snapshot.instances.iter().filter(|i| suits_rfc6527(i)) {
            let index = rfc6527_index(instance);
            let oper = |c: u32| base.child(&[1, 1, 1, 1, c]).child(&index);
            if let Some(master) = master(instance) {
                self.put(oper(3), Value::OctetString(octets(master)));
            }
            if let Some(primary) = primary(instance) {
                self.put(oper(4), Value::OctetString(octets(primary)));
            }
            self.put(oper(6), Value::Integer(rfc_state(&instance.state)));
            self.put(oper(7), Value::Gauge32(u32::from(instance.base_priority)));
            self.put(
                oper(8),
                Value::Integer(instance.virtual_addresses.len() as i32),
            );
            self.put(oper(9), Value::Integer(instance.advert_interval_cs as i32));
            self.put(oper(10), truth(instance.preempt));
            self.put(oper(11), truth(instance.accept));
            self.put(oper(12), Value::TimeTicks(uptime(instance)));
            self.put(oper(13), Value::Integer(1)); // active
            for address in &instance.virtual_addresses {
                if let Some((ip, _)) = parse_address(address) {
                    let subids: Vec<u32> = octets(ip).iter().map(|&b| u32::from(b)).collect();
                    self.put(
                        base.child(&[1, 1, 2, 1, 2]).child(&index).child(&subids),
                        Value::Integer(1),
                    );
                }
            }
            let stats = |c: u32| base.child(&[1, 2, 5, 1, c]).child(&index);
            let drops = |reason: &str| instance.drops.get(reason).copied().unwrap_or(0);
            self.put(stats(1), Value::Counter32(became_master(instance) as u32));
            self.put(
                stats(2),
                Value::Integer(i32::from(instance.new_master_reason)),
            );
            self.put(stats(3), Value::Counter64(instance.adverts_received));
            self.put(stats(4), Value::Counter64(drops("interval_mismatch")));
            self.put(stats(5), Value::Counter64(drops("bad_ttl")));
            // vrrp_snmp.c vrrp_rfcv3_snmp_statstable: RFC 6527 has no
            // authentication columns.
            self.put(stats(7), Value::Counter64(instance.priority_zero_received));
            self.put(stats(8), Value::Counter64(instance.priority_zero_sent));
            self.put(stats(9), Value::Counter64(drops("bad_type")));
            self.put(stats(10), Value::Counter64(drops("address_list_mismatch")));
            self.put(stats(11), Value::Counter64(drops("length_mismatch")));
            // vrrpv3StatisticsRowDiscontinuityTime: keepalived "doesn't do
            // discontinuities", 0; vrrpv3StatisticsRefreshRate: the advert
            // interval in milliseconds.
            self.put(stats(12), Value::TimeTicks(0));
            self.put(
                stats(13),
                Value::Gauge32(instance.advert_interval_cs.saturating_mul(10)),
            );
            checksum_errors = checksum_errors.saturating_add(drops("bad_checksum"));
            version_errors = version_errors.saturating_add(drops("version_mismatch"));
            vrid_errors = vrid_errors.saturating_add(drops("vrid_mismatch"));
        }
        // Scalars: vrrpv3RouterChecksumErrors.0 and its two siblings.
        self.put(base.child(&[1, 2, 1, 0]), Value::Counter64(checksum_errors));
        self.put(base.child(&[1, 2, 2, 0]), Value::Counter64(version_errors));
        self.put(base.child(&[1, 2, 3, 0]), Value::Counter64(vrid_errors));
    }
}

/// The notifications for one state change, each as the varbinds after
/// sysUpTime.0 (snmpTrapOID.0 first). keepalived/vrrp/vrrp_notify.c
/// send_instance_notifies sends vrrpInstanceStateChange on every change,
/// and the RFC MIBs' new-master notifications on becoming master.
pub fn traps(
    mibs: Mibs,
    snapshot: &Snapshot,
    change: &StateChange,
    host: &Host,
) -> Vec<Vec<VarBind>> {
    let mut traps = Vec::new();
    if !mibs.traps {
        return traps;
    }
    let instance = snapshot
        .instances
        .iter()
        .find(|i| i.name == change.instance);
    let trap_oid = |subids: Oid| VarBind {
        name: Oid::new(SNMP_TRAP_OID),
        value: Value::ObjectId(subids),
    };
    if change.group {
        // vrrp_snmp.c vrrp_snmp_group_trap: vrrpSyncGroupStateChange,
        // with the group's name and state named by their columns (no
        // row index, as keepalived's), and routerId.
        if mibs.vrrp {
            let vrrp = Oid::new(KEEPALIVED).child(&[2]);
            traps.push(vec![
                trap_oid(vrrp.child(&[10, 0, 1])),
                VarBind {
                    name: vrrp.child(&[1, 1, 2]),
                    value: text(&change.instance),
                },
                VarBind {
                    name: vrrp.child(&[1, 1, 3]),
                    // VRRP_STATE_STOP reads 5, as an instance's shutdown.
                    value: Value::Integer(match change.stop {
                        Some(_) => 5,
                        None => keepalived_state(change.to.as_str()),
                    }),
                },
                VarBind {
                    name: Oid::new(KEEPALIVED).child(&[1, 2, 0]),
                    value: text(&host.router_id),
                },
            ]);
        }
        return traps;
    }
    if mibs.vrrp {
        // vrrp_snmp.c vrrp_snmp_instance_trap: vrrpInstanceStateChange,
        // with name, state and initial state named by their columns, not
        // a row (keepalived's OIDs carry no instance index), and routerId.
        let vrrp = Oid::new(KEEPALIVED).child(&[2]);
        let initial = instance.map_or(4, |i| keepalived_state(initial_state(i)));
        // vrrp_snmp.c vrrp_snmp_instance_trap: a stopping instance is
        // reported as shutdown(5), or deleted(6) when a reload removed it.
        let state = match change.stop {
            Some(Stop::Shutdown) => 5,
            Some(Stop::Deleted) => 6,
            None => keepalived_state(change.to.as_str()),
        };
        traps.push(vec![
            trap_oid(vrrp.child(&[10, 0, 2])),
            VarBind {
                name: vrrp.child(&[3, 1, 2]),
                value: text(&change.instance),
            },
            VarBind {
                name: vrrp.child(&[3, 1, 4]),
                value: Value::Integer(state),
            },
            VarBind {
                name: vrrp.child(&[3, 1, 5]),
                value: Value::Integer(initial),
            },
            VarBind {
                name: Oid::new(KEEPALIVED).child(&[1, 2, 0]),
                value: text(&host.router_id),
            },
        ]);
    }
    let (Some(instance), crate::proto::State::Master) = (instance, change.to) else {
        return traps;
    };
    if mibs.rfcv2 && suits_rfc2787(instance) {
        // vrrp_rfcv2_snmp_new_master_trap: vrrpTrapNewMaster with
        // vrrpOperMasterIpAddr, this host's address.
        if let Some(IpAddr::V4(own)) = primary(instance) {
            traps.push(vec![
                trap_oid(Oid::new(RFC2787).child(&[0, 1])),
                VarBind {
                    name: Oid::new(RFC2787).child(&[
                        1,
                        3,
                        1,
                        7,
                        instance.ifindex,
                        u32::from(instance.vrid),
                    ]),
                    value: Value::IpAddress(own.octets()),
                },
            ]);
        }
    }
    if mibs.rfcv3 && suits_rfc6527(instance) {
        // vrrp_rfcv3_snmp_new_master_notify: vrrpv3NewMaster with
        // vrrpv3OperationsMasterIpAddr and vrrpv3StatisticsNewMasterReason.
        if let Some(own) = primary(instance) {
            let index = rfc6527_index(instance);
            traps.push(vec![
                trap_oid(Oid::new(RFC6527).child(&[0, 1])),
                VarBind {
                    name: Oid::new(RFC6527).child(&[1, 1, 1, 1, 3]).child(&index),
                    value: Value::OctetString(octets(own)),
                },
                VarBind {
                    name: Oid::new(RFC6527).child(&[1, 2, 5, 1, 2]).child(&index),
                    value: Value::Integer(i32::from(instance.new_master_reason)),
                },
            ]);
        }
    }
    traps
}

/// The state it started in: keepalived's configured state (`state`),
/// BACKUP unless set, as keepalived's default.
fn initial_state(instance: &InstanceStatus) -> &str {
    if instance.initial_state.is_empty() {
        "BACKUP"
    } else {
        &instance.initial_state
    }
}

/// KEEPALIVED-MIB's VrrpState: init(0) backup(1) master(2) fault(3),
/// unknown(4) otherwise (vrrp_snmp.c vrrp_snmp_state).
fn keepalived_state(state: &str) -> i32 {
    match state {
        "INIT" => 0,
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 4,
    }
}

/// RFC 2787/6527: initialize(1) backup(2) master(3); keepalived reports
/// FAULT as initialize (vrrp_snmp.c vrrp_snmp_rfc_state).
fn rfc_state(state: &str) -> i32 {
    match state {
        "BACKUP" => 2,
        "MASTER" => 3,
        _ => 1,
    }
}

/// vrrp_snmp.c suitable_for_rfc2787: v2, IPv4, with an address.
fn suits_rfc2787(instance: &InstanceStatus) -> bool {
    instance.version == 2
        && !instance.virtual_addresses.is_empty()
        && !instance
            .virtual_addresses
            .iter()
            .any(|a| parse_address(a).is_some_and(|(ip, _)| ip.is_ipv6()))
}

/// vrrp_snmp.c suitable_for_rfc6527: v3, with an address.
fn suits_rfc6527(instance: &InstanceStatus) -> bool {
    instance.version == 3 && !instance.virtual_addresses.is_empty()
}

fn rfc6527_index(instance: &InstanceStatus) -> [u32; 3] {
    let ipv6 = instance
        .virtual_addresses
        .first()
        .and_then(|a| parse_address(a))
        .is_some_and(|(ip, _)| ip.is_ipv6());
    [
        instance.ifindex,
        u32::from(instance.vrid),
        if ipv6 { 2 } else { 1 },
    ]
}

fn master(instance: &InstanceStatus) -> Option<IpAddr> {
    instance.master.as_deref().and_then(|m| m.parse().ok())
}

fn primary(instance: &InstanceStatus) -> Option<IpAddr> {
    instance
        .primary_address
        .as_deref()
        .and_then(|m| m.parse().ok())
}

fn became_master(instance: &InstanceStatus) -> u64 {
    instance
        .transitions_total
        .get("MASTER")
        .copied()
        .unwrap_or(0)
}

/// vrrpOperVirtualRouterUpTime and vrrpv3OperationsUpTime: sysUpTime
/// when the instance left Initialize, a point in time that stays put (as
/// keepalived's vrrp_rfcv2_snmp_opertable serves it, and as both RFCs
/// define it); 0 while it is neither backup nor master.
fn uptime(instance: &InstanceStatus) -> u32 {
    if instance.state != "BACKUP" && instance.state != "MASTER" {
        return 0;
    }
    instance.running_since_cs.unwrap_or(0)
}

/// "192.0.2.1/32" as the snapshot writes an address.
fn parse_address(text: &str) -> Option<(IpAddr, u32)> {
    let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
    let ip: IpAddr = address.parse().ok()?;
    let prefix = prefix
        .parse()
        .unwrap_or(if ip.is_ipv4() { 32 } else { 128 });
    Some((ip, prefix))
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn text(s: &str) -> Value {
    Value::OctetString(s.as_bytes().to_vec())
}

/// SNMPv2-TC TruthValue: true(1), false(2) (keepalived's SNMP_TruthValue).
fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::proto::State;
    use crate::status::TransitionRecord;

    fn instance(name: &str, version: u8, state: &str, vip: &str) -> InstanceStatus {
        InstanceStatus {
            name: name.into(),
            interface: "eth0".into(),
            vrid: 51,
            version,
            state: state.into(),
            base_priority: 100,
            effective_priority: 90,
            master: Some("192.0.2.2".into()),
            virtual_addresses: vec![vip.into()],
            since: 990.0,
            adverts_received: 7,
            transitions: vec![TransitionRecord {
                at: 900.0,
                from: "INIT".into(),
                to: state.into(),
                reason: "startup".into(),
            }],
            transitions_total: BTreeMap::from([("MASTER".into(), 2)]),
            ifindex: 4,
            primary_address: Some("192.0.2.1".into()),
            advert_interval_cs: 100,
            preempt: true,
            accept: true,
            running_since_cs: Some(4_200),
            ..InstanceStatus::default()
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            version: "0.1.0".into(),
            taken_at: 1000.0,
            instances: vec![
                instance("VI_1", 2, "BACKUP", "192.0.2.10/32"),
                instance("VI_3", 3, "MASTER", "192.0.2.30/24"),
            ],
            ..Snapshot::default()
        }
    }

    const ALL: Mibs = Mibs {
        vrrp: true,
        rfcv2: true,
        rfcv3: true,
        traps: true,
    };

    fn oid(text: &str) -> Oid {
        Oid(text.split('.').map(|s| s.parse().unwrap()).collect())
    }

    fn host() -> Host {
        Host {
            router_id: "lb1".into(),
        }
    }

    #[test]
    fn keepalived_instance_table() {
        let view = View::new(ALL, &snapshot(), &host());
        let get = |o: &str| view.get(&oid(o)).value;
        let row = "1.3.6.1.4.1.9586.100.5.2.3.1";
        assert_eq!(get(&format!("{row}.2.1")), text("VI_1"));
        assert_eq!(get(&format!("{row}.3.1")), Value::Gauge32(51));
        assert_eq!(get(&format!("{row}.4.1")), Value::Integer(1)); // backup
        assert_eq!(get(&format!("{row}.4.2")), Value::Integer(2)); // master
        assert_eq!(get(&format!("{row}.7.1")), Value::Integer(100));
        assert_eq!(get(&format!("{row}.8.1")), Value::Integer(90));
        assert_eq!(get(&format!("{row}.12.1")), Value::Gauge32(1)); // v2: s
        assert_eq!(get(&format!("{row}.12.2")), Value::Gauge32(100)); // v3: cs
        assert_eq!(get(&format!("{row}.27.1")), Value::Integer(0)); // v2
        assert_eq!(get(&format!("{row}.27.2")), Value::Integer(1));
        assert_eq!(get(&format!("{row}.30.2")), Value::Integer(3));
        assert_eq!(
            get("1.3.6.1.4.1.9586.100.5.2.6.1.3.2.1"),
            Value::OctetString(vec![192, 0, 2, 30])
        );
        assert_eq!(
            get("1.3.6.1.4.1.9586.100.5.2.6.1.5.2.1"),
            Value::Gauge32(24)
        );
        assert_eq!(get("1.3.6.1.4.1.9586.100.5.1.2.0"), text("lb1"));
        assert_eq!(get(&format!("{row}.99.1")), Value::NoSuchObject);
    }

    #[test]
    fn rfc_tables_take_their_versions_only() {
        let view = View::new(ALL, &snapshot(), &host());
        let get = |o: &str| view.get(&oid(o)).value;
        // RFC 2787: VI_1 (v2) at ifIndex 4, VRID 51.
        assert_eq!(get("1.3.6.1.2.1.68.1.3.1.3.4.51"), Value::Integer(2));
        assert_eq!(get("1.3.6.1.2.1.68.1.3.1.5.4.51"), Value::Integer(100));
        assert_eq!(
            get("1.3.6.1.2.1.68.1.3.1.7.4.51"),
            Value::IpAddress([192, 0, 2, 2])
        );
        assert_eq!(
            get("1.3.6.1.2.1.68.1.3.1.8.4.51"),
            Value::IpAddress([192, 0, 2, 1])
        );
        // sysUpTime when it left Initialize, however long ago.
        assert_eq!(get("1.3.6.1.2.1.68.1.3.1.13.4.51"), Value::TimeTicks(4_200));
        assert_eq!(
            get("1.3.6.1.2.1.207.1.1.1.1.12.4.51.1"),
            Value::TimeTicks(4_200)
        );
        // RFC 6527's global counters are scalars: .0.
        for n in 1..=3 {
            assert_eq!(
                get(&format!("1.3.6.1.2.1.207.1.2.{n}.0")),
                Value::Counter64(0)
            );
            assert_eq!(
                get(&format!("1.3.6.1.2.1.207.1.2.{n}")),
                Value::NoSuchObject
            );
        }
        assert_eq!(
            get("1.3.6.1.2.1.68.1.4.1.2.4.51.192.0.2.10"),
            Value::Integer(1)
        );
        assert_eq!(get("1.3.6.1.2.1.68.2.4.1.2.4.51"), Value::Counter32(7));
        // RFC 6527: VI_3 (v3) at ifIndex 4, VRID 51, IPv4.
        assert_eq!(get("1.3.6.1.2.1.207.1.1.1.1.6.4.51.1"), Value::Integer(3));
        assert_eq!(get("1.3.6.1.2.1.207.1.1.1.1.7.4.51.1"), Value::Gauge32(100));
        assert_eq!(
            get("1.3.6.1.2.1.207.1.1.2.1.2.4.51.1.192.0.2.30"),
            Value::Integer(1)
        );
        assert_eq!(get("1.3.6.1.2.1.207.1.2.5.1.3.4.51.1"), Value::Counter64(7));
    }

    /// The configuration columns of vrrpInstanceTable, as keepalived
    /// serves them.
    #[test]
    fn instance_configuration_columns() {
        use crate::status::{InstanceSetup, NotifyCommands};
        let mut snapshot = snapshot();
        snapshot.instances[0].setup = InstanceSetup {
            sync_group: Some("G1".into()),
            tracks_interfaces: true,
            garp_delay_secs: 5,
            notify: NotifyCommands {
                master: Some("'/bin/true' 'up'".into()),
                ..NotifyCommands::default()
            },
            notify_deleted: true,
            multicast_group: Some("224.0.0.18".parse().unwrap()),
            v3_checksum_as_v2: false,
        };
        let view = View::new(ALL, &snapshot, &host());
        let get = |c: u32, i: u32| {
            view.get(&oid(&format!("1.3.6.1.4.1.9586.100.5.2.3.1.{c}.{i}")))
                .value
        };
        assert_eq!(get(11, 1), Value::Integer(1));
        assert_eq!(get(11, 2), Value::Integer(2));
        assert_eq!(get(16, 1), Value::Integer(2));
        assert_eq!(get(18, 1), text("G1"));
        assert_eq!(get(18, 2), Value::NoSuchObject);
        assert_eq!(get(19, 1), Value::Gauge32(5));
        assert_eq!(get(20, 1), Value::Integer(2));
        assert_eq!(get(21, 1), Value::Integer(1));
        assert_eq!(get(21, 2), Value::Integer(2));
        assert_eq!(get(22, 1), text("'/bin/true' 'up'"));
        assert_eq!(get(23, 1), Value::NoSuchObject);
        assert_eq!(get(33, 1), Value::Integer(1));
        assert_eq!(get(34, 1), Value::Integer(1));
        assert_eq!(get(35, 1), Value::OctetString(vec![224, 0, 0, 18]));
        // Unicast: no multicast address.
        assert_eq!(get(34, 2), Value::NoSuchObject);
        assert_eq!(get(36, 1), Value::Integer(2));
        assert_eq!(get(6, 1), Value::NoSuchObject);
    }

    /// vrrpSyncGroupTable, its member table, and the group's trap.
    #[test]
    fn sync_group_rows_and_trap() {
        use crate::status::SyncGroupStatus;
        let mut snapshot = snapshot();
        snapshot.sync_groups = vec![SyncGroupStatus {
            name: "G1".into(),
            state: "MASTER".into(),
            members: vec!["VI_1".into(), "VI_3".into()],
            tracking_weight: true,
            ..SyncGroupStatus::default()
        }];
        let view = View::new(ALL, &snapshot, &host());
        let get = |o: &str| {
            view.get(&oid(&format!("1.3.6.1.4.1.9586.100.5.2.{o}")))
                .value
        };
        assert_eq!(get("1.1.2.1"), text("G1"));
        assert_eq!(get("1.1.3.1"), Value::Integer(2));
        assert_eq!(get("1.1.4.1"), Value::Integer(2));
        assert_eq!(get("1.1.5.1"), Value::Integer(2));
        assert_eq!(get("1.1.10.1"), Value::Integer(1));
        assert_eq!(get("2.1.2.1.1"), text("VI_1"));
        assert_eq!(get("2.1.2.1.2"), text("VI_3"));
        assert_eq!(get("2.1.2.1.3"), Value::NoSuchObject);
        let change = StateChange {
            instance: "G1".into(),
            group: true,
            from: State::Backup,
            to: State::Fault,
            stop: None,
        };
        let traps = traps(ALL, &snapshot, &change, &host());
        assert_eq!(traps.len(), 1, "{traps:?}");
        assert_eq!(
            traps[0][0].value,
            Value::ObjectId(oid("1.3.6.1.4.1.9586.100.5.2.10.0.1"))
        );
        assert_eq!(traps[0][1].name, oid("1.3.6.1.4.1.9586.100.5.2.1.1.2"));
        assert_eq!(traps[0][1].value, text("G1"));
        assert_eq!(traps[0][2].value, Value::Integer(3));
        assert_eq!(traps[0][3].value, text("lb1"));
        let stopping = StateChange {
            to: State::Initialize,
            stop: Some(Stop::Shutdown),
            ..change
        };
        let traps = super::traps(ALL, &snapshot, &stopping, &host());
        assert_eq!(traps[0][2].value, Value::Integer(5));
    }

    /// RFC 2787's three authentication columns, each from its own
    /// counter, as keepalived feeds them.
    #[test]
    fn rfc2787_authentication_counters_are_kept_apart() {
        let mut snapshot = snapshot();
        snapshot.instances[0].drops = BTreeMap::from([
            ("auth_mismatch".into(), 3),
            ("invalid_auth_type".into(), 2),
            ("auth_type_mismatch".into(), 4),
            ("strict_auth".into(), 1),
            ("bad_type".into(), 6),
        ]);
        snapshot.instances[0].priority_zero_received = 7;
        snapshot.instances[0].priority_zero_sent = 8;
        let view = View::new(ALL, &snapshot, &host());
        let get = |c: u32| {
            view.get(&oid(&format!("1.3.6.1.2.1.68.2.4.1.{c}.4.51")))
                .value
        };
        assert_eq!(get(4), Value::Counter32(3)); // vrrpStatsAuthFailures
        assert_eq!(get(10), Value::Counter32(2)); // vrrpStatsInvalidAuthType
        assert_eq!(get(11), Value::Counter32(5)); // vrrpStatsAuthTypeMismatch
        assert_eq!(get(6), Value::Counter32(7));
        assert_eq!(get(7), Value::Counter32(8));
        assert_eq!(get(8), Value::Counter32(6));
    }

    #[test]
    fn next_walks_in_order_and_stops_at_the_end() {
        let view = View::new(ALL, &snapshot(), &host());
        let mut at = SearchRange {
            start: oid("1.3.6.1.2.1.68"),
            include: false,
            end: oid("1.3.6.1.2.1.69"),
        };
        let mut seen = Vec::new();
        loop {
            let vb = view.next(&at);
            if vb.value == Value::EndOfMibView {
                assert_eq!(vb.name, at.start);
                break;
            }
            assert!(vb.name > at.start);
            seen.push(vb.name.clone());
            at.start = vb.name;
        }
        assert_eq!(seen.first(), Some(&oid("1.3.6.1.2.1.68.1.1.0")));
        assert!(seen.iter().all(|o| o.starts_with(&oid("1.3.6.1.2.1.68"))));
        // `include` returns the start itself.
        let exact = view.next(&SearchRange {
            start: oid("1.3.6.1.2.1.68.1.1.0"),
            include: true,
            end: Oid::default(),
        });
        assert_eq!(exact.value, Value::Integer(2));
    }

    #[test]
    fn only_enabled_mibs_are_served_and_registered() {
        let mibs = Mibs {
            rfcv3: true,
            ..Mibs::default()
        };
        let view = View::new(mibs, &snapshot(), &host());
        assert!(view.0.keys().all(|o| o.starts_with(&Oid::new(RFC6527))));
        assert_eq!(subtrees(mibs), vec![Oid::new(RFC6527)]);
        assert_eq!(subtrees(ALL).len(), 4);
    }

    #[test]
    fn traps_for_becoming_master() {
        let change = StateChange {
            instance: "VI_3".into(),
            group: false,
            from: State::Backup,
            to: State::Master,
            stop: None,
        };
        let traps = traps(ALL, &snapshot(), &change, &host());
        // keepalived's state change, and RFC 6527's (VI_3 is v3, so no
        // RFC 2787 trap).
        assert_eq!(traps.len(), 2);
        assert_eq!(
            traps[0][0].value,
            Value::ObjectId(oid("1.3.6.1.4.1.9586.100.5.2.10.0.2"))
        );
        assert_eq!(traps[0][2].value, Value::Integer(2));
        assert_eq!(
            traps[1][0].value,
            Value::ObjectId(oid("1.3.6.1.2.1.207.0.1"))
        );
        assert_eq!(traps[1][1].name, oid("1.3.6.1.2.1.207.1.1.1.1.3.4.51.1"));
        let off = Mibs {
            traps: false,
            ..ALL
        };
        assert!(super::traps(off, &snapshot(), &change, &host()).is_empty());
        let to_backup = StateChange {
            to: State::Backup,
            ..change
        };
        assert_eq!(super::traps(ALL, &snapshot(), &to_backup, &host()).len(), 1);
    }

    /// vrrpInstanceInitialState is the configured state, whatever the
    /// priority, in the trap and in the table's column 5.
    #[test]
    fn initial_state_is_the_configured_state() {
        let mut snapshot = snapshot();
        snapshot.instances[0].initial_state = "MASTER".into();
        snapshot.instances[1].base_priority = 255;
        snapshot.instances[1].initial_state = "BACKUP".into();
        let view = View::new(ALL, &snapshot, &host());
        let column = "1.3.6.1.4.1.9586.100.5.2.3.1.5";
        assert_eq!(
            view.get(&oid(&format!("{column}.1"))).value,
            Value::Integer(2)
        );
        assert_eq!(
            view.get(&oid(&format!("{column}.2"))).value,
            Value::Integer(1)
        );
        for (name, initial) in [("VI_1", 2), ("VI_3", 1)] {
            let change = StateChange {
                instance: name.into(),
                group: false,
                from: State::Backup,
                to: State::Master,
                stop: None,
            };
            let trap = &traps(ALL, &snapshot, &change, &host())[0];
            assert_eq!(trap[3].name, oid("1.3.6.1.4.1.9586.100.5.2.3.1.5"));
            assert_eq!(trap[3].value, Value::Integer(initial), "{name}");
        }
    }

    /// A stopping instance is reported as keepalived reports it:
    /// shutdown(5) at SIGTERM, deleted(6) when a reload removed it.
    #[test]
    fn stopping_instances_trap_shutdown_or_deleted() {
        for (stop, state) in [(Stop::Shutdown, 5), (Stop::Deleted, 6)] {
            let change = StateChange {
                instance: "VI_1".into(),
                group: false,
                from: State::Backup,
                to: State::Initialize,
                stop: Some(stop),
            };
            let trap = &traps(ALL, &snapshot(), &change, &host())[0];
            assert_eq!(trap[2].value, Value::Integer(state), "{stop:?}");
        }
    }
}

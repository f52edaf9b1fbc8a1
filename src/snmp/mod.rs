//! SNMP for VRRP, as keepalived serves it: an AgentX (RFC 2741) subagent
//! of net-snmp's snmpd. `pdu` is the wire format, `mib` the objects and
//! traps made from a status snapshot, `answer` the requests' replies,
//! `address` where the master agent listens. The actor that connects
//! them to snmpd is `crate::actors::snmp`.

pub mod address;
pub mod answer;
pub mod mib;
pub mod oid;
pub mod pdu;
pub mod setup;

pub use address::MasterAddress;
pub use mib::Mibs;

/// The `snmp` settings the daemon runs with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnmpSettings {
    pub master: MasterAddress,
    pub mibs: Mibs,
    /// routerId in KEEPALIVED-MIB and its traps; `None`: the host name
    /// (keepalived's default router_id).
    pub router_id: Option<String>,
}

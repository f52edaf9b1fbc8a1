//! Thin actix actors around the protocol core, under supervisors.
//!
//! - `InterfaceActor`: receives VRRP on one interface and family, routes by VRID.
//! - `InstanceActor`: one per VRRP instance; owns `proto::Instance` and its send socket.
//! - `AddressActor`: one per interface; virtual addresses, GARP/NA, link state.
//! - `RoutingActor`: one per daemon; the routes and rules masters hold.
//! - `SyncGroupActor`: one per sync group; moves its members together.
//! - `QuorumActor`: one per daemon when `quorum` is set; the etcd lease and
//!   keys that fence the masters (own arbiter).
//! - `HealthActor`: checks, tracked interfaces and files, as tracker effects.
//! - `ControlActor`: the control socket; one JSON snapshot per client.
//! - `MetricsActor`: Prometheus text on `metrics.listen`, from the same snapshot.
//! - `SnmpActor`: an AgentX subagent of snmpd on `snmp.socket`, from the same snapshot.
//! - `supervisor`: starts them under actix Supervisors and handles signals.
//!
//! What they use that is not an actor (processes, timers, log rate limits,
//! the panic boundary) is in `crate::sys`.

pub mod address;
pub mod control;
pub mod health;
pub mod instance;
pub mod interface;
pub mod metrics;
pub mod quorum;
pub mod routing;
pub mod snmp;
pub mod supervisor;
pub mod sync_group;

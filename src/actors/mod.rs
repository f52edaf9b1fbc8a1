//! Thin actix actors around the protocol core, under supervisors.
//!
//! - `InterfaceActor`: receives VRRP on one interface and family, routes by VRID.
//! - `InstanceActor`: one per VRRP instance; owns `proto::Instance` and its send socket.
//! - `AddressActor`: one per interface; virtual addresses, GARP/NA, link state.
//! - `HealthActor`: checks, tracked interfaces and files, as tracker effects.
//! - `notifier`: notify scripts and FIFO, in order, per instance.
//! - `supervisor`: starts them under actix Supervisors and handles signals.

pub mod address;
pub mod boundary;
pub mod drop_log;
pub mod health;
pub mod instance;
pub mod interface;
pub mod notifier;
pub mod precise_timer;
pub mod probe;
pub mod supervisor;

//! vipd: a VRRP daemon that keeps a virtual IP on the healthiest of a
//! group of Linux hosts, and speaks VRRP with keepalived.
//!
//! [`proto`] is the protocol core: pure, driven by explicit time.

pub mod actors;
pub mod config;
pub mod lab;
pub mod log;
pub mod manual;
pub mod metrics;
pub mod net;
pub mod proto;
pub mod snmp;
pub mod status;
pub mod sys;

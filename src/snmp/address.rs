//! Where the AgentX master agent listens, written as net-snmp's
//! agentXSocket and keepalived's snmp_socket write it: a unix socket path
//! (net-snmp's default /var/agentx/master), `unix:PATH`, or
//! `tcp:HOST:PORT`.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// net-snmp's default AgentX socket (keepalived leaves it to net-snmp).
pub const DEFAULT_SOCKET: &str = "/var/agentx/master";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterAddress {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("{0:?}: AgentX runs over a stream; use unix:PATH or tcp:HOST:PORT (snmpd's agentXSocket must say the same)")]
    Udp(String),
    #[error("{0:?}: expected a unix socket path (/var/agentx/master, unix:PATH) or tcp:HOST:PORT")]
    Form(String),
}

impl MasterAddress {
    pub fn parse(text: &str) -> Result<MasterAddress, AddressError> {
        let form = || AddressError::Form(text.to_string());
        if text.starts_with('/') {
            return Ok(MasterAddress::Unix(PathBuf::from(text)));
        }
        let Some((scheme, rest)) = text.split_once(':') else {
            return Err(form());
        };
        match scheme.to_ascii_lowercase().as_str() {
            "unix" if rest.starts_with('/') => Ok(MasterAddress::Unix(PathBuf::from(rest))),
            "tcp" | "tcp6" => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(form)?;
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let port: u16 = port.parse().map_err(|_| form())?;
                if host.is_empty() || port == 0 {
                    return Err(form());
                }
                Ok(MasterAddress::Tcp {
                    host: host.to_string(),
                    port,
                })
            }
            "udp" | "udp6" => Err(AddressError::Udp(text.to_string())),
            _ => Err(form()),
        }
    }
}

impl Default for MasterAddress {
    fn default() -> MasterAddress {
        MasterAddress::Unix(PathBuf::from(DEFAULT_SOCKET))
    }
}

impl fmt::Display for MasterAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterAddress::Unix(path) => write!(f, "unix:{}", path.display()),
            MasterAddress::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp:[{host}]:{port}")
            }
            MasterAddress::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            MasterAddress::parse("/var/agentx/master"),
            Ok(MasterAddress::default())
        );
        assert_eq!(
            MasterAddress::parse("unix:/tmp/x"),
            Ok(MasterAddress::Unix("/tmp/x".into()))
        );
        assert_eq!(
            MasterAddress::parse("tcp:localhost:705"),
            Ok(MasterAddress::Tcp {
                host: "localhost".into(),
                port: 705
            })
        );
        assert_eq!(
            MasterAddress::parse("tcp:[::1]:705").map(|a| a.to_string()),
            Ok("tcp:[::1]:705".to_string())
        );
        assert!(matches!(
            MasterAddress::parse("udp:localhost:705"),
            Err(AddressError::Udp(_))
        ));
        for bad in [
            "", "master", "tcp:host", "tcp::705", "tcp:h:0", "unix:rel", "x:/a",
        ] {
            assert!(
                matches!(MasterAddress::parse(bad), Err(AddressError::Form(_))),
                "{bad}"
            );
        }
    }
}

//! `quorum:`: the fence that makes a second holder of a VIP impossible,
//! a key per instance (or sync group) in etcd under a lease of the
//! daemon's own. Off unless configured; see proto/fence.rs for the rule.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::schema::Interval;
use crate::proto::fence::MIN_LEASE_TTL;
use crate::proto::OnQuorumLoss;

/// ```yaml
/// quorum:
///   etcd: { endpoints: ["http://192.0.2.201:2379"], prefix: /vipd, lease_ttl: 2s }
///   on_quorum_loss: release
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuorumConfig {
    pub etcd: EtcdConfig,
    /// `release` (default): a master that loses etcd drops its addresses
    /// (FAULT, "quorum lost"). `keep`: it keeps them, trading the fence
    /// for availability during an etcd outage.
    #[serde(default)]
    pub on_quorum_loss: OnQuorumLossConfig,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnQuorumLossConfig {
    #[default]
    Release,
    Keep,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdConfig {
    /// Client URLs of the etcd members, `http://host:port` or `https://`.
    pub endpoints: Vec<String>,
    /// Keys are `PREFIX/<instance>` (or `PREFIX/<sync group>`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The lease's time to live, whole seconds: how long a crashed
    /// master's key blocks the others.
    #[serde(default = "default_lease_ttl")]
    pub lease_ttl: Interval,
    /// What the keys hold: who holds them (default: the host name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Client certificates, as etcd is run with `--client-cert-auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The CA that signed the members' certificates (PEM).
    pub ca: PathBuf,
    /// Our client certificate and its key (PEM), if etcd asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// The name the members' certificates carry, if not the endpoint's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

fn default_prefix() -> String {
    "/vipd".into()
}

fn default_lease_ttl() -> Interval {
    Interval(MIN_LEASE_TTL)
}

/// The longest lease: a crashed master's key blocks takeover this long.
pub const MAX_LEASE_TTL: Duration = Duration::from_secs(300);

/// Most endpoints listed.
pub const MAX_ENDPOINTS: usize = 16;

/// The fence, checked and ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumSettings {
    pub endpoints: Vec<String>,
    pub prefix: String,
    pub lease_ttl: Duration,
    pub holder: String,
    pub tls: Option<TlsSettings>,
    pub on_quorum_loss: OnQuorumLoss,
}

/// PEM contents, read when the configuration is.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub ca: Vec<u8>,
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    pub domain: Option<String>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a private key in a log line.
        f.debug_struct("TlsSettings")
            .field("client_certificate", &self.identity.is_some())
            .field("domain", &self.domain)
            .finish()
    }
}

impl QuorumSettings {
    /// The key an instance (or its sync group) holds.
    pub fn key(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }
}

/// Problems by key under `quorum`.
pub type Problems = Vec<(String, String)>;

pub fn settings(config: &QuorumConfig) -> Result<QuorumSettings, Problems> {
    let etcd = &config.etcd;
    let mut problems: Problems = Vec::new();
    let mut say = |key: &str, message: String| problems.push((key.to_string(), message));
    if etcd.endpoints.is_empty() {
        say(
            "etcd.endpoints",
            "no endpoints: list the etcd members' client URLs, e.g. http://192.0.2.201:2379".into(),
        );
    }
    if etcd.endpoints.len() > MAX_ENDPOINTS {
        say(
            "etcd.endpoints",
            format!(
                "{} endpoints: at most {MAX_ENDPOINTS}",
                etcd.endpoints.len()
            ),
        );
    }
    let schemes: std::collections::BTreeSet<bool> = etcd
        .endpoints
        .iter()
        .filter_map(|endpoint| match endpoint_scheme(endpoint) {
            Ok(secure) => Some(secure),
            Err(why) => {
                say("etcd.endpoints", format!("{endpoint:?}: {why}"));
                None
            }
        })
        .collect();
    let https = schemes.contains(&true);
    if schemes.len() > 1 {
        say(
            "etcd.endpoints",
            "some endpoints are http:// and some https://: use one scheme for all (https with tls)"
                .into(),
        );
    }
    if etcd.tls.is_some() && !https && !schemes.is_empty() {
        say(
            "etcd.tls",
            "is set, but the endpoints are http://: use https:// endpoints for TLS".into(),
        );
    }
    let mut distinct = std::collections::BTreeSet::new();
    if let Some(twice) = etcd
        .endpoints
        .iter()
        .find(|e| !distinct.insert(e.trim_end_matches('/')))
    {
        say("etcd.endpoints", format!("{twice} is listed twice"));
    }
    if https && etcd.tls.is_none() {
        say(
            "etcd.endpoints",
            "https endpoints need tls: { ca: FILE } (and cert, key if etcd asks for a client certificate)".into(),
        );
    }
    let prefix_ok = etcd.prefix.starts_with('/')
        && !etcd.prefix.ends_with('/')
        && etcd.prefix.len() <= 128
        && etcd.prefix.chars().all(|c| c.is_ascii_graphic());
    if !prefix_ok {
        say(
            "etcd.prefix",
            format!(
                "{:?}: expected a path such as /vipd: starting with /, not ending with one, at most 128 printable characters",
                etcd.prefix
            ),
        );
    }
    let ttl = etcd.lease_ttl.0;
    if ttl < MIN_LEASE_TTL || ttl > MAX_LEASE_TTL || ttl.subsec_nanos() != 0 {
        say(
            "etcd.lease_ttl",
            format!(
                "{}: expected whole seconds from {} to {} s (etcd grants whole seconds, 2 s at least)",
                humantime::format_duration(ttl),
                MIN_LEASE_TTL.as_secs(),
                MAX_LEASE_TTL.as_secs()
            ),
        );
    }
    let holder = match &etcd.name {
        Some(name) if name.is_empty() || name.len() > 253 => {
            say("etcd.name", "expected 1..253 characters".into());
            String::new()
        }
        Some(name) => name.clone(),
        // Never empty: an empty key reads as let go.
        None => nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "vipd".into()),
    };
    let tls = match &etcd.tls {
        None => None,
        Some(tls) => match tls_settings(tls) {
            Ok(tls) => Some(tls),
            Err((key, message)) => {
                say(&format!("etcd.tls.{key}"), message);
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(QuorumSettings {
        endpoints: etcd.endpoints.clone(),
        prefix: etcd.prefix.clone(),
        lease_ttl: ttl,
        holder,
        tls,
        on_quorum_loss: match config.on_quorum_loss {
            OnQuorumLossConfig::Release => OnQuorumLoss::Release,
            OnQuorumLossConfig::Keep => OnQuorumLoss::Keep,
        },
    })
}

/// Whether the endpoint is https; an error says what a URL must look like.
fn endpoint_scheme(endpoint: &str) -> Result<bool, &'static str> {
    let (secure, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("expected http://HOST:PORT or https://HOST:PORT");
    };
    let authority = rest.trim_end_matches('/');
    if authority.contains('@') {
        // A password here would be shown in status and logs.
        return Err("expected http://HOST:PORT without user or password");
    }
    let port = authority
        .rsplit_once(':')
        .map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(port))) if !host.is_empty() && port != 0 && !authority.contains('/') => {
            Ok(secure)
        }
        _ => Err("expected http://HOST:PORT or https://HOST:PORT, with a port from 1 to 65535"),
    }
}

/// Reads the PEM files (at most 1 MiB each).
fn tls_settings(tls: &TlsConfig) -> Result<TlsSettings, (&'static str, String)> {
    let read = |key: &'static str, path: &PathBuf| -> Result<Vec<u8>, (&'static str, String)> {
        use std::io::Read;
        let file =
            std::fs::File::open(path).map_err(|e| (key, format!("{}: {e}", path.display())))?;
        let mut pem = Vec::new();
        file.take(1 << 20)
            .read_to_end(&mut pem)
            .map_err(|e| (key, format!("{}: {e}", path.display())))?;
        if !pem.windows(10).any(|w| w == b"-----BEGIN") {
            return Err((key, format!("{}: expected a PEM file", path.display())));
        }
        Ok(pem)
    };
    let ca = read("ca", &tls.ca)?;
    let identity = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => Some((read("cert", cert)?, read("key", key)?)),
        (None, None) => None,
        (Some(_), None) => return Err(("cert", "needs its key: set tls.key too".into())),
        (None, Some(_)) => return Err(("key", "needs its certificate: set tls.cert too".into())),
    };
    Ok(TlsSettings {
        ca,
        identity,
        domain: tls.domain.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoints: &[&str], ttl: Duration) -> QuorumConfig {
        QuorumConfig {
            etcd: EtcdConfig {
                endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
                prefix: default_prefix(),
                lease_ttl: Interval(ttl),
                name: Some("a".into()),
                tls: None,
            },
            on_quorum_loss: OnQuorumLossConfig::Release,
        }
    }

    #[test]
    fn endpoints_must_be_urls_with_a_port() {
        let ok = settings(&config(
            &["http://192.0.2.201:2379", "http://[2001:db8::1]:2379"],
            MIN_LEASE_TTL,
        ));
        assert_eq!(ok.unwrap().key("VI_1"), "/vipd/VI_1");
        for bad in [
            "192.0.2.201:2379",
            "http://192.0.2.201",
            "http://:2379",
            "http://h:0",
            "ftp://h:1",
            "http://u:p@h:1",
        ] {
            let problems = settings(&config(&[bad], MIN_LEASE_TTL)).unwrap_err();
            assert_eq!(problems[0].0, "etcd.endpoints", "{bad}");
        }
        let https = settings(&config(&["https://h:2379"], MIN_LEASE_TTL)).unwrap_err();
        assert!(https[0].1.contains("https endpoints need tls"), "{https:?}");
        let twice = settings(&config(&["http://h:2379", "http://h:2379/"], MIN_LEASE_TTL));
        assert!(twice.unwrap_err()[0].1.contains("listed twice"));
        let mixed = settings(&config(&["https://h:2379", "http://g:2379"], MIN_LEASE_TTL));
        let mixed = mixed.unwrap_err();
        assert!(
            mixed.iter().any(|(_, m)| m.contains("one scheme for all")),
            "{mixed:?}"
        );
    }

    #[test]
    fn the_lease_is_whole_seconds_from_two_to_three_hundred() {
        for ttl in [
            Duration::from_secs(1),
            Duration::from_millis(2500),
            Duration::from_secs(301),
        ] {
            let problems = settings(&config(&["http://h:1"], ttl)).unwrap_err();
            assert_eq!(problems[0].0, "etcd.lease_ttl");
            assert!(
                problems[0].1.contains("whole seconds from 2 to 300 s"),
                "{}",
                problems[0].1
            );
        }
        assert!(settings(&config(&["http://h:1"], Duration::from_secs(5))).is_ok());
    }
}

//! `auth_hmac` as configured: keepalived 2.4.3's block (vrrp_parser.c
//! `vrrp_auth_hmac_*_handler`), in YAML/TOML under the same names.
//!
//! ```yaml
//! auth_hmac:
//!   keys:
//!     - 1 file:/etc/vipd/keys/vrrp51      # or hex:…, or ASCII
//!     - { id: 2, key: "hex:0001…1f" }
//!   active_key: 1
//!   anti_replay: time        # or monotonic
//!   time_window: 5           # seconds, 1..300; default max(3 × advert_int, 5)
//!   mode: enforce            # permissive, receive-only
//! ```
//!
//! A key is never written back out: `vipd convert` prints file keys as
//! `ID file:PATH` and inline ones as `ID redacted`, which does not load.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::proto::{AntiReplay, HmacKey, HmacMode, HmacParams};

use super::schema::{lines_or_maps, Interval};

/// The word `convert` writes in place of an inline key.
pub const REDACTED: &str = "redacted";

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthHmacConfig {
    #[serde(deserialize_with = "lines_or_maps")]
    pub keys: Vec<KeyConfig>,
    pub active_key: u8,
    #[serde(default)]
    pub anti_replay: AntiReplayConfig,
    /// Whole seconds, 1..300 (`5` or `5s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_window: Option<Interval>,
    #[serde(default)]
    pub mode: ModeConfig,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AntiReplayConfig {
    #[default]
    Time,
    Monotonic,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ModeConfig {
    #[default]
    #[serde(rename = "enforce")]
    Enforce,
    #[serde(rename = "permissive")]
    Permissive,
    #[serde(rename = "receive-only")]
    ReceiveOnly,
}

/// One key: `ID VALUE`, the value `hex:…`, `file:PATH` or ASCII text.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub id: u8,
    pub key: String,
}

impl fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyConfig {{ {} }}", self.shown())
    }
}

impl std::str::FromStr for KeyConfig {
    type Err = String;

    fn from_str(text: &str) -> Result<KeyConfig, String> {
        let text = text.trim();
        let (id, key) = text
            .split_once(char::is_whitespace)
            .ok_or("expected ID VALUE (hex:…, file:PATH or text)")?;
        // Never the word itself in the message: it may be the key
        // (written before its id).
        let id = id
            .parse()
            .map_err(|_| "the first word must be a key id 1..255, then the key".to_string())?;
        Ok(KeyConfig {
            id,
            key: key.trim().to_string(),
        })
    }
}

impl KeyConfig {
    /// Written in the configuration itself, not named by a file.
    pub fn is_inline(&self) -> bool {
        !self.key.starts_with("file:")
    }

    /// What may be shown of it: the id, and the file if it is one.
    fn shown(&self) -> String {
        match self.key.strip_prefix("file:") {
            Some(path) => format!("{} file:{path}", self.id),
            None => format!("{} {REDACTED}", self.id),
        }
    }
}

impl Serialize for KeyConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}

/// Largest key file: `hex:`, 128 digits, a line end, some slack
/// (keepalived's buffer in `vrrp_auth_hmac_read_key_file`).
const KEY_FILE_MAX: u64 = 4 + 64 * 2 + 8;

/// A key value's bytes: `hex:` digits, or the text itself
/// (`vrrp_auth_hmac_decode_key`), byte for byte as keepalived reads it.
fn decode(value: &[u8]) -> Result<Vec<u8>, String> {
    match value.strip_prefix(b"hex:") {
        Some(digits) => hex_bytes(digits),
        None => Ok(value.to_vec()),
    }
}

/// keepalived's `read_hex_str` (lib/parser.c): spaces and tabs between
/// groups are skipped; two digits make a byte, and a digit alone before a
/// space or the end makes one too.
fn hex_bytes(digits: &[u8]) -> Result<Vec<u8>, String> {
    let nibble = |c: u8| {
        (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| {
            let what = if c.is_ascii_graphic() {
                format!("{:?}", c as char)
            } else {
                format!("byte {c:#04x}")
            };
            format!(
                "hex: holds {what}: expected hexadecimal digits (spaces between bytes are fine)"
            )
        })
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < digits.len() {
        if matches!(digits[i], b' ' | b'\t') {
            i += 1;
            continue;
        }
        let high = nibble(digits[i])?;
        i += 1;
        match digits.get(i) {
            Some(&c) if c != b' ' => {
                out.push((high << 4) | nibble(c)?);
                i += 1;
            }
            _ => out.push(high),
        }
    }
    Ok(out)
}

/// A key file's value: refused if others than its owner may read it
/// (keepalived reports that as a security error), too large, or absent.
fn read_key_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    // Non-blocking: a FIFO with no writer (or a device) must not hang the
    // read of a configuration; what it is is checked once it is open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("file:{shown}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("file:{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("file:{shown}: not a regular file"));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "file:{shown}: readable or writable by group or others (mode {:o}): chmod 600 it",
            mode & 0o777
        ));
    }
    let mut text = Vec::new();
    file.take(KEY_FILE_MAX + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("file:{shown}: {e}"))?;
    if text.len() as u64 > KEY_FILE_MAX {
        return Err(format!(
            "file:{shown}: larger than a key ({KEY_FILE_MAX} bytes at most)"
        ));
    }
    // keepalived drops trailing line ends only.
    let mut value = text.as_slice();
    while let [rest @ .., b'\n' | b'\r'] = value {
        value = rest;
    }
    if value.contains(&b'\n') || value.contains(&b'\r') {
        return Err(format!(
            "file:{shown}: more than one line: a key file holds one key"
        ));
    }
    decode(value).map_err(|e| format!("file:{shown}: {e}"))
}

impl AuthHmacConfig {
    /// The core's settings; every problem named by its key.
    pub fn read(
        &self,
        advert_interval: Duration,
    ) -> Result<HmacParams, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut keys = Vec::new();
        for k in &self.keys {
            let bytes = if k.key == REDACTED {
                Err(format!(
                    "key {} is not here (vipd check and vipd convert never print a key): put it in a file only vipd's user can read and write `{} file:PATH`",
                    k.id, k.id
                ))
            } else {
                match k.key.strip_prefix("file:") {
                    Some("") | Some("/") => {
                        Err("file: names no file (an ${_ENV VAR} that is not set?)".to_string())
                    }
                    // The daemon's working directory is /: a relative
                    // path that works in a shell would not there.
                    Some(path) if !Path::new(path).is_absolute() => Err(format!(
                        "file:{path}: expected an absolute path (vipd runs from /)"
                    )),
                    Some(path) => read_key_file(Path::new(path)),
                    None => decode(k.key.as_bytes()),
                }
            };
            match bytes {
                Err(message) => {
                    problems.push(("auth_hmac.keys", format!("key {}: {message}", k.id)))
                }
                Ok(bytes) => {
                    let len = bytes.len();
                    match HmacKey::new(k.id, bytes) {
                        Some(key) => keys.push(key),
                        None if k.id == 0 => {
                            problems.push(("auth_hmac.keys", "key id 0: expected 1..255".into()))
                        }
                        None => problems.push((
                            "auth_hmac.keys",
                            format!(
                                "key {}: {len} bytes, expected 32..64 (vipd keygen makes one)",
                                k.id
                            ),
                        )),
                    }
                }
            }
        }
        if self.keys.is_empty() {
            problems.push((
                "auth_hmac.keys",
                "no keys: expected at least the active one".into(),
            ));
        }
        if self.active_key == 0 {
            problems.push(("auth_hmac.active_key", "expected 1..255, got 0".into()));
        }
        let window = match self.time_window.map(|w| w.0) {
            None => AntiReplay::default_window(advert_interval),
            Some(w) => {
                let secs = u32::try_from(w.as_secs()).unwrap_or(u32::MAX);
                if w.subsec_nanos() != 0 || !crate::proto::auth_hmac::WINDOW_SECS.contains(&secs) {
                    problems.push((
                        "auth_hmac.time_window",
                        format!(
                            "expected whole seconds 1..300, got {}",
                            humantime::format_duration(w)
                        ),
                    ));
                }
                secs
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(HmacParams {
            keys,
            active_key: self.active_key,
            mode: match self.mode {
                ModeConfig::Enforce => HmacMode::Enforce,
                ModeConfig::Permissive => HmacMode::Permissive,
                ModeConfig::ReceiveOnly => HmacMode::ReceiveOnly,
            },
            anti_replay: match self.anti_replay {
                AntiReplayConfig::Time => AntiReplay::Time {
                    window_secs: window,
                },
                AntiReplayConfig::Monotonic => AntiReplay::Monotonic,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(keys: &[&str]) -> AuthHmacConfig {
        AuthHmacConfig {
            keys: keys.iter().map(|k| k.parse().unwrap()).collect(),
            active_key: 1,
            anti_replay: AntiReplayConfig::Time,
            time_window: None,
            mode: ModeConfig::Enforce,
        }
    }

    const HEX: &str = "1 hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn keys_read_from_hex_text_and_files() {
        let dir = tempdir();
        let file = dir.join("k7");
        std::fs::write(&file, "vipd-lab-key-thirty-two-chars-ok\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = config(&[HEX, &format!("7 file:{}", file.display())]);
        let p = c.read(Duration::from_secs(1)).unwrap();
        assert_eq!(p.key_ids(), vec![1, 7]);
        assert_eq!(p.anti_replay, AntiReplay::Time { window_secs: 5 });
        // Shown without secrets.
        let yaml = serde_yaml::to_string(&c).unwrap();
        assert!(
            yaml.contains("1 redacted") && yaml.contains("7 file:"),
            "{yaml}"
        );
        assert!(!yaml.contains("0001"), "{yaml}");
        assert!(!format!("{c:?}").contains("0001"));
        // Others may read it: refused.
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let errors = c.read(Duration::from_secs(1)).unwrap_err();
        assert!(errors[0].1.contains("chmod 600"), "{errors:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_keys_are_named() {
        let short = config(&["1 hex:0001"])
            .read(Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(
            short[0],
            (
                "auth_hmac.keys",
                "key 1: 2 bytes, expected 32..64 (vipd keygen makes one)".to_string()
            )
        );
        let bad = config(&["1 hex:zz01"])
            .read(Duration::from_secs(1))
            .unwrap_err();
        assert!(bad[0].1.contains("'z'"), "{bad:?}");
        // As keepalived reads it: blanks skipped, a lone digit a byte.
        assert_eq!(hex_bytes(b" 00 01\t0203 4").unwrap(), vec![0, 1, 2, 3, 4]);
        let relative = config(&["1 file:vrrp51.key"])
            .read(Duration::from_secs(1))
            .unwrap_err();
        assert!(relative[0].1.contains("absolute path"), "{relative:?}");
        let swapped = "hex:0001020304 1".parse::<KeyConfig>().unwrap_err();
        assert!(!swapped.contains("0001"), "{swapped}");
        let redacted = config(&["1 redacted"])
            .read(Duration::from_secs(1))
            .unwrap_err();
        assert!(redacted[0].1.contains("never print a key"), "{redacted:?}");
        let mut window = config(&[HEX]);
        window.time_window = Some(Interval(Duration::from_secs(301)));
        let e = window.read(Duration::from_secs(1)).unwrap_err();
        assert_eq!(e[0].0, "auth_hmac.time_window");
    }

    #[test]
    fn a_fifo_or_a_device_as_key_file_is_refused_at_once() {
        let dir = tempdir();
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // No writer: a blocking open would never return.
        for path in [fifo.display().to_string(), "/dev/zero".to_string()] {
            let errors = config(&[&format!("1 file:{path}")])
                .read(Duration::from_secs(1))
                .unwrap_err();
            assert!(errors[0].1.contains("not a regular file"), "{errors:?}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "vipd-hmac-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

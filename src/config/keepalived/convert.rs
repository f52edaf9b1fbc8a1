//! `vipd convert`: a keepalived.conf as vipd YAML, with each part vipd
//! leaves out kept as a comment that says why.

use std::fmt::Write as _;
use std::path::Path;

use super::Conf;

/// The YAML, which reads back as exactly the configuration the .conf
/// gives: the mapped keys are written as they are, not re-derived.
pub fn to_yaml(source: &Path, config_id: &str, conf: &Conf) -> Result<String, String> {
    let mut value = conf.mapped.value.clone();
    let redacted = redact_keys(&mut value);
    let body = serde_yaml::to_string(&serde_json::Value::Object(value))
        .map_err(|e| format!("cannot write YAML: {e}"))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Converted from {} by `vipd convert` (config id {config_id:?}).",
        source.display()
    );
    let _ = writeln!(
        out,
        "# Keys follow keepalived's names; `vipd check --config FILE.yaml` shows the rest."
    );
    out.push_str(&body);
    if !redacted.is_empty() {
        out.push_str("\n# auth_hmac keys written in the .conf itself are not copied here (a key is\n# never printed): put each in a file only vipd's user can read (chmod 600)\n# and replace `ID redacted` with `ID file:PATH`. Left out:\n");
        for (instance, id) in redacted {
            let _ = writeln!(out, "#   {instance}: key {id}");
        }
    }
    // The reader's own warnings (an include matching nothing, a stray
    // brace) and the lines keepalived runs otherwise than written; then
    // the keywords vipd leaves out, with their text.
    let notes: Vec<_> = conf.warnings.iter().filter(|w| w.key.is_empty()).collect();
    if !notes.is_empty() || !conf.mapped.adjusted.is_empty() {
        out.push_str("\n# Read as keepalived runs it, not as written:\n");
        for note in notes {
            let _ = writeln!(out, "#   {note}");
        }
        for adjusted in &conf.mapped.adjusted {
            let _ = writeln!(
                out,
                "#   {}:{}: {}: {}",
                adjusted.at.file.display(),
                adjusted.at.line,
                adjusted.keyword,
                adjusted.why
            );
        }
    }
    if conf.mapped.dropped.is_empty() {
        return Ok(out);
    }
    out.push_str("\n# Left out: vipd does not do these.\n");
    for dropped in &conf.mapped.dropped {
        let _ = writeln!(
            out,
            "#\n# {}:{}: {}: {}",
            dropped.at.file.display(),
            dropped.at.line,
            dropped.keyword,
            dropped.why
        );
        for line in dropped.text.lines() {
            let _ = writeln!(out, "#   {line}");
        }
    }
    Ok(out)
}

/// Replaces every inline auth_hmac key with `ID redacted` (a file key's
/// path is not a secret and stays); returns which were.
fn redact_keys(value: &mut serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    use crate::config::auth_hmac::KeyConfig;
    let mut redacted = Vec::new();
    let Some(serde_json::Value::Object(instances)) = value.get_mut("instances") else {
        return redacted;
    };
    for (name, instance) in instances.iter_mut() {
        let Some(serde_json::Value::Array(keys)) = instance
            .get_mut("auth_hmac")
            .and_then(|h| h.get_mut("keys"))
        else {
            continue;
        };
        for key in keys.iter_mut() {
            // The mapping writes { id, key }; a key is shown as vipd shows
            // one anywhere (KeyConfig's Serialize: `ID file:PATH` or
            // `ID redacted`).
            let Ok(read) = serde_json::from_value::<KeyConfig>(key.clone()) else {
                continue;
            };
            if read.is_inline() {
                redacted.push((name.clone(), read.id.to_string()));
            }
            if let Ok(shown) = serde_json::to_value(&read) {
                *key = shown;
            }
        }
    }
    redacted
}

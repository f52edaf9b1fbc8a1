//! `vipd convert`: a keepalived.conf as vipd YAML, with each part vipd
//! leaves out kept as a comment that says why.

use std::fmt::Write as _;
use std::path::Path;

use super::Conf;

/// The YAML, which reads back as exactly the configuration the .conf
/// gives: the mapped keys are written as they are, not re-derived.
pub fn to_yaml(source: &Path, config_id: &str, conf: &Conf) -> Result<String, String> {
    let body = serde_yaml::to_string(&serde_json::Value::Object(conf.mapped.value.clone()))
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

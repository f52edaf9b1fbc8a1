//! keepalived.conf, read as it is: the syntax (reader.rs) into a tree, the
//! tree into vipd's configuration (mapping.rs, with what vipd leaves out in
//! unsupported.rs), and back out as YAML for `vipd convert` (convert.rs).

pub mod convert;
pub mod mapping;
pub mod reader;
pub mod unsupported;

use std::path::Path;

use super::error::ConfigError;
pub use mapping::{Dropped, Mapped};
pub use reader::Position;

/// A keepalived.conf read and mapped: vipd's configuration, and the
/// warnings that `vipd check` prints and `vipd run` logs.
#[derive(Debug)]
pub struct Conf {
    pub mapped: Mapped,
    pub warnings: Vec<ConfigError>,
}

/// Reads `path` (and what it includes) as keepalived would with
/// `--config-id config_id`.
pub fn read_file(path: &Path, config_id: &str) -> Result<Conf, Vec<ConfigError>> {
    let read = reader::read(path, config_id).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| located(e.at.as_ref(), "", e.message))
            .collect::<Vec<_>>()
    })?;
    let mapped = mapping::map(&read.nodes).map_err(|refused| {
        refused
            .into_iter()
            .map(|r| located(Some(&r.at), &r.keyword, r.message))
            .collect::<Vec<_>>()
    })?;
    let warnings = read
        .warnings
        .into_iter()
        .map(|w| located(w.at.as_ref(), "", w.message))
        .chain(
            mapped
                .dropped
                .iter()
                .map(|d| located(Some(&d.at), &d.keyword, d.why.clone())),
        )
        .collect();
    Ok(Conf { mapped, warnings })
}

fn located(at: Option<&Position>, keyword: &str, message: String) -> ConfigError {
    ConfigError {
        file: at.map(|p| p.file.clone()),
        line: at.map(|p| p.line),
        key: keyword.to_string(),
        message,
    }
}

/// keepalived's default config id: the host name up to its first dot
/// (keepalived.conf(5), Conditional configuration).
pub fn default_config_id() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    name.trim().split('.').next().unwrap_or("").to_string()
}

//! keepalived.conf, read as it is: the syntax (reader.rs) into a tree, the
//! tree into vipd's configuration (mapping.rs, with what vipd leaves out in
//! unsupported.rs), and back out as YAML for `vipd convert` (convert.rs).

mod complete;
pub mod convert;
pub mod mapping;
mod numbers;
pub mod reader;
pub mod unsupported;

use std::path::Path;

use super::error::ConfigError;
pub use mapping::{Adjusted, Dropped, Mapped};
pub use reader::Position;

/// A keepalived.conf read and mapped: vipd's configuration, and the
/// warnings that `vipd check` prints and `vipd run` logs.
#[derive(Debug)]
pub struct Conf {
    pub mapped: Mapped,
    pub warnings: Vec<ConfigError>,
}

/// At most this many warnings are reported, then how many more there were:
/// a file that repeats one mistake a million times says so in one line.
const MAX_WARNINGS: usize = 1000;

/// Reads `path` (and what it includes) as keepalived would with
/// `--config-id config_id`, and maps it as keepalived runs it.
pub fn read_file(path: &Path, config_id: &str) -> Result<Conf, Vec<ConfigError>> {
    read_file_limited(path, config_id, &reader::Limits::DEFAULT)
}

/// `read_file` within other limits: a fuzzer's, smaller, reaches them in
/// milliseconds instead of a second.
pub fn read_file_limited(
    path: &Path,
    config_id: &str,
    limits: &reader::Limits,
) -> Result<Conf, Vec<ConfigError>> {
    let read =
        reader::read_limited(path, config_id, &mapping::blocks, limits).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| located(e.at.as_ref(), "", e.message))
                .collect::<Vec<_>>()
        })?;
    let mapped = mapping::map(&read.nodes).map_err(|refused| {
        bounded(
            refused
                .into_iter()
                .map(|r| located(Some(&r.at), &r.keyword, r.message))
                .collect(),
        )
    })?;
    let warnings = read
        .warnings
        .into_iter()
        .map(|w| located(w.at.as_ref(), "", w.message))
        .chain(
            mapped
                .adjusted
                .iter()
                .map(|a| located(Some(&a.at), &a.keyword, a.why.clone())),
        )
        .chain(
            mapped
                .dropped
                .iter()
                .map(|d| located(Some(&d.at), &d.keyword, d.why.clone())),
        )
        .collect();
    Ok(Conf {
        mapped,
        warnings: bounded(warnings),
    })
}

/// The first MAX_WARNINGS problems, and a line that counts the rest.
fn bounded(mut problems: Vec<ConfigError>) -> Vec<ConfigError> {
    if problems.len() > MAX_WARNINGS {
        let more = problems.len() - MAX_WARNINGS;
        problems.truncate(MAX_WARNINGS);
        let last = problems.last().cloned();
        problems.push(ConfigError {
            file: last.as_ref().and_then(|l| l.file.clone()),
            line: last.as_ref().and_then(|l| l.line),
            key: String::new(),
            message: format!("and {more} more like these, not shown"),
        });
    }
    problems
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

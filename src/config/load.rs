//! Layered loading: files in the order given (later override earlier),
//! then `VIPD_` environment variables over everything.
//!
//! Environment keys nest with `__`: `VIPD_INSTANCES__VI_1__PRIORITY=90`
//! sets `instances.VI_1.priority`. Keys are lower-cased except instance
//! names, which keep their case: `VI_1` and `vi_1` are different instances.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml, Yaml};
use figment::Figment;

use super::error::{ConfigError, ConfigErrors};
use super::expected::describe;
use super::locate::line_of;
use super::schema::Config;

pub const ENV_PREFIX: &str = "VIPD_";

/// A merged configuration and where each of its values came from.
pub struct Loaded {
    pub config: Config,
    figment: Figment,
}

impl Loaded {
    /// File and line that set `key` (a dotted path), as best known.
    pub fn locate(&self, key: &str) -> (Option<PathBuf>, Option<usize>) {
        let file = self
            .figment
            .find_metadata(key)
            .and_then(|m| m.source.as_ref())
            .and_then(|s| s.file_path())
            .map(Path::to_path_buf);
        let line = file
            .as_deref()
            .and_then(|f| line_in_file(f, &split_key(key)));
        (file, line)
    }

    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let (file, line) = self.locate(key);
        ConfigError {
            file,
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

pub fn load(files: &[PathBuf]) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut figment = Figment::new();
    for file in files {
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !file.is_file() {
            errors.push(file_error(file, "cannot read: no such file"));
            continue;
        }
        figment = match extension {
            "yaml" | "yml" => figment.merge(Yaml::file_exact(file)),
            "toml" => figment.merge(Toml::file_exact(file)),
            "conf" => {
                errors.push(file_error(
                    file,
                    "keepalived syntax is not read yet; write the configuration in YAML or TOML",
                ));
                continue;
            }
            _ => {
                errors.push(file_error(file, "unknown format: use .yaml, .yml or .toml"));
                continue;
            }
        };
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    // lowercase(false) must come after map: figment's map resets it.
    let env = Env::prefixed(ENV_PREFIX)
        .map(|key| env_key_to_path(key.as_str()).into())
        .lowercase(false);
    figment = figment.merge(env);
    match figment.extract::<Config>() {
        Ok(config) => Ok(Loaded { config, figment }),
        Err(error) => Err(ConfigErrors(error.into_iter().map(convert_error).collect())),
    }
}

/// `INSTANCES__VI_1__PRIORITY` -> `instances.VI_1.priority`.
fn env_key_to_path(key: &str) -> String {
    let parts: Vec<&str> = key.split("__").collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let is_instance_name = i == 1 && parts[0].eq_ignore_ascii_case("instances");
            if is_instance_name {
                part.to_string()
            } else {
                part.to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn convert_error(error: figment::Error) -> ConfigError {
    let file = error
        .metadata
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .and_then(|s| s.file_path())
        .map(Path::to_path_buf);
    let origin = match (&file, &error.metadata) {
        (None, Some(metadata)) => format!(" (from {})", metadata.name),
        _ => String::new(),
    };
    let message = format!("{}{origin}", describe(&error.kind, &error.path));
    let line = file
        .as_deref()
        .and_then(|f| line_in_file(f, &error.path))
        .or_else(|| line_from_message(&message));
    ConfigError {
        file,
        line,
        key: error.path.join("."),
        message,
    }
}

fn file_error(file: &Path, message: &str) -> ConfigError {
    ConfigError {
        file: Some(file.to_path_buf()),
        line: None,
        key: String::new(),
        message: message.into(),
    }
}

fn split_key(key: &str) -> Vec<String> {
    key.split('.').map(str::to_string).collect()
}

fn line_in_file(file: &Path, path: &[String]) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    line_of(&std::fs::read_to_string(file).ok()?, path)
}

/// Parsers put the position in their message ("... at line 3 column 5").
fn line_from_message(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keys_keep_instance_case() {
        assert_eq!(
            env_key_to_path("INSTANCES__VI_1__PRIORITY"),
            "instances.VI_1.priority"
        );
        assert_eq!(
            env_key_to_path("INSTANCES__web__ADVERT_INT"),
            "instances.web.advert_int"
        );
    }

    #[test]
    fn line_numbers_are_read_from_parser_messages() {
        assert_eq!(
            line_from_message("did not find expected key at line 3 column 5"),
            Some(3)
        );
        assert_eq!(line_from_message("no position"), None);
    }
}

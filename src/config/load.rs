//! Layered loading: files in the order given (later override earlier),
//! then `VIPD_` environment variables over everything. A keepalived.conf
//! is one more layer: read and mapped (config/keepalived), then merged
//! like a YAML file, with the lines its keys came from kept for errors.
//!
//! Environment keys nest with `__`: `VIPD_INSTANCES__VI_1__PRIORITY=90`
//! sets `instances.VI_1.priority`. Keys are lower-cased except instance
//! names, which keep their case: `VI_1` and `vi_1` are different instances.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format as _, Toml, Yaml};
use figment::value::{Dict, Map as ProfileMap};
use figment::{Figment, Metadata, Profile, Provider, Source};

use super::error::{ConfigError, ConfigErrors};
use super::expected::describe;
use super::keepalived::{self, Position};
use super::locate::line_of;
use super::schema::Config;

pub const ENV_PREFIX: &str = "VIPD_";

/// How a file given with `--config` is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// By the name: .yaml/.yml, .toml, .conf (keepalived).
    #[default]
    Auto,
    /// keepalived.conf syntax, whatever the name (except .yaml, .yml and
    /// .toml, which are always read as such).
    Keepalived,
}

/// What reading needs besides the files.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub format: Format,
    /// Decides keepalived's `@ID` lines; keepalived's `-i`.
    pub config_id: String,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            format: Format::Auto,
            config_id: keepalived::default_config_id(),
        }
    }
}

/// A merged configuration and where each of its values came from.
pub struct Loaded {
    pub config: Config,
    figment: Figment,
    /// keepalived.conf keys and the lines that set them.
    conf_positions: BTreeMap<String, Position>,
    /// What reading a keepalived.conf left out, and why.
    pub warnings: Vec<ConfigError>,
}

/// The figment source name of a keepalived.conf layer.
const CONF_SOURCE: &str = "keepalived.conf";

impl Loaded {
    /// File and line that set `key` (a dotted path), as best known.
    /// A key that is missing (a required one left out) is placed at the
    /// nearest key around it that is there: its instance, say.
    pub fn locate(&self, key: &str) -> (Option<PathBuf>, Option<usize>) {
        let mut path = key;
        loop {
            if let Some(metadata) = self.figment.find_metadata(path) {
                return locate_in(Some(metadata), path, &self.conf_positions);
            }
            match path.rfind('.') {
                Some(dot) => path = &path[..dot],
                None => return locate_in(None, key, &self.conf_positions),
            }
        }
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

/// Where a key came from: the file's own text for YAML and TOML, the
/// recorded line for a keepalived.conf.
fn locate_in(
    metadata: Option<&Metadata>,
    key: &str,
    conf_positions: &BTreeMap<String, Position>,
) -> (Option<PathBuf>, Option<usize>) {
    let source = metadata.and_then(|m| m.source.as_ref());
    if let Some(Source::Custom(_)) = source {
        // The longest recorded prefix: a list entry, else its list.
        let mut path = key;
        loop {
            if let Some(at) = conf_positions.get(path) {
                return (Some(at.file.clone()), Some(at.line));
            }
            match path.rfind('.') {
                Some(dot) => path = &path[..dot],
                None => return (None, None),
            }
        }
    }
    let file = source.and_then(|s| s.file_path()).map(Path::to_path_buf);
    let line = file
        .as_deref()
        .and_then(|f| line_in_file(f, &split_key(key)));
    (file, line)
}

/// A keepalived.conf, mapped, as a figment layer.
struct ConfLayer {
    file: PathBuf,
    dict: Dict,
}

impl Provider for ConfLayer {
    fn metadata(&self) -> Metadata {
        Metadata::from(CONF_SOURCE, Source::Custom(self.file.display().to_string()))
    }

    fn data(&self) -> Result<ProfileMap<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

pub fn load(files: &[PathBuf]) -> Result<Loaded, ConfigErrors> {
    load_with(files, &LoadOptions::default())
}

pub fn load_with(files: &[PathBuf], options: &LoadOptions) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut figment = Figment::new();
    let mut conf_positions = BTreeMap::new();
    let mut warnings = Vec::new();
    for file in files {
        let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !file.is_file() {
            errors.push(file_error(file, "cannot read: no such file"));
            continue;
        }
        let keepalived = extension == "conf" || options.format == Format::Keepalived;
        figment = match extension {
            "yaml" | "yml" => figment.merge(Yaml::file_exact(file)),
            "toml" => figment.merge(Toml::file_exact(file)),
            _ if keepalived => match keepalived::read_file(file, &options.config_id) {
                Ok(conf) => {
                    let value = serde_json::Value::Object(conf.mapped.value);
                    let dict = figment::value::Value::serialize(value)
                        .ok()
                        .and_then(|v| v.into_dict())
                        .unwrap_or_default();
                    conf_positions.extend(conf.mapped.positions);
                    warnings.extend(conf.warnings);
                    figment.merge(ConfLayer {
                        file: file.clone(),
                        dict,
                    })
                }
                Err(conf_errors) => {
                    errors.extend(conf_errors);
                    continue;
                }
            },
            _ => {
                errors.push(file_error(
                    file,
                    "unknown format: use .yaml, .yml, .toml or .conf (keepalived), or --format keepalived",
                ));
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
        Ok(config) => Ok(Loaded {
            config,
            figment,
            conf_positions,
            warnings,
        }),
        Err(error) => Err(ConfigErrors(
            error
                .into_iter()
                .map(|e| convert_error(e, &conf_positions))
                .collect(),
        )),
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

fn convert_error(
    error: figment::Error,
    conf_positions: &BTreeMap<String, Position>,
) -> ConfigError {
    let key = error.path.join(".");
    let (file, line) = locate_in(error.metadata.as_ref(), &key, conf_positions);
    let origin = match (&file, &error.metadata) {
        (None, Some(metadata)) => format!(" (from {})", metadata.name),
        _ => String::new(),
    };
    let message = format!("{}{origin}", describe(&error.kind, &error.path));
    let line = line.or_else(|| line_from_message(&message));
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
    key.split('.')
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect()
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

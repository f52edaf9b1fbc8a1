//! Configuration: YAML, TOML and keepalived.conf files layered in order, `VIPD_` environment
//! overrides, validation with errors that name file, line and key.

pub mod auth_hmac;
pub mod error;
mod expected;
pub mod health;
pub mod keepalived;
pub mod load;
pub mod locate;
pub mod quorum;
pub mod routes;
pub mod schema;
pub mod scripts;
pub mod validate;

use std::path::PathBuf;

pub use error::{ConfigError, ConfigErrors};
pub use load::{load, load_with, Format, LoadOptions, Loaded};
pub use schema::Config;
pub use validate::{validate, GarpSettings, InstanceSettings, Settings};

/// Loads and validates: what `vipd check` and `vipd run` both do first.
pub fn load_and_validate(files: &[PathBuf]) -> Result<(Loaded, Settings), ConfigErrors> {
    load_and_validate_with(files, &LoadOptions::default())
}

pub fn load_and_validate_with(
    files: &[PathBuf],
    options: &LoadOptions,
) -> Result<(Loaded, Settings), ConfigErrors> {
    let loaded = load_with(files, options)?;
    let settings = validate(&loaded)?;
    Ok((loaded, settings))
}

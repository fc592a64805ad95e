//! Loading `pipeline.toml` for the subcommands: the file, then the process environment's
//! `ECHOFLOW_…__…` overrides, validated; every error printed, one line each.

use anyhow::bail;
use echoflow_pipeline::config::{Config, ConfigLoader, LoadError};
use std::path::Path;

/// The process environment as (name, value) pairs; names or values that are not UTF-8 are
/// converted lossily rather than aborting.
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// Prints every problem of an invalid configuration and turns it into one error line.
pub fn report(name: &str, err: LoadError) -> anyhow::Error {
    match err {
        err @ LoadError::Read { .. } => anyhow::anyhow!("{err}"),
        err @ LoadError::Invalid { .. } => {
            let lines = err.lines();
            for line in &lines {
                eprintln!("{line}");
            }
            let n = lines.len();
            anyhow::anyhow!(
                "{name} is invalid: {n} error{}",
                if n == 1 { "" } else { "s" }
            )
        }
    }
}

/// Loads and validates `path` with the process environment applied.
pub fn load(path: &Path) -> anyhow::Result<Config> {
    let loader = ConfigLoader::from_path(path).env(process_env());
    let name = loader.source_name();
    match loader.load() {
        Ok(c) => Ok(c),
        Err(e) => bail!(report(&name, e)),
    }
}

/// Loads `path` as [`load`] does, or the defaults (with the environment applied) when there is
/// no file.
pub fn load_optional(path: Option<&Path>) -> anyhow::Result<Config> {
    load_or_text(path, "(defaults)", "")
}

/// Loads `path` as [`load`] does, or else the TOML `text` (named `name` in errors) with the
/// environment applied.
pub fn load_or_text(path: Option<&Path>, name: &str, text: &str) -> anyhow::Result<Config> {
    let Some(path) = path else {
        let loader = ConfigLoader::from_text(name, text).env(process_env());
        let name = loader.source_name();
        return loader.load().map_err(|e| report(&name, e));
    };
    load(path)
}

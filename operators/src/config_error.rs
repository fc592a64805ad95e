//! The error every operator `Config::validate` returns: it names the configuration key (as
//! written in `pipeline.toml`, SPEC §6), the offending value and what is allowed, so the CLI can
//! print one clear line (SPEC §5, §6).

use std::fmt;

/// An out-of-range or inconsistent configuration value.
///
/// ```
/// use echoflow_operators::config_error::ConfigError;
/// let e = ConfigError::new("red.max_p", 1.5, "a number in [0, 1]");
/// assert_eq!(e.to_string(), "red.max_p = 1.5: allowed is a number in [0, 1]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: allowed is {allowed}")]
pub struct ConfigError {
    /// The full key, e.g. `"aimd.enter"`.
    pub field: &'static str,
    /// The value found, as text.
    pub value: String,
    /// What would have been accepted.
    pub allowed: String,
}

impl ConfigError {
    /// Builds the error for `field` holding `value`.
    pub fn new(field: &'static str, value: impl fmt::Display, allowed: impl Into<String>) -> Self {
        ConfigError {
            field,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// Checks that `value` is finite and in `[lo, hi]`.
pub(crate) fn check_range(
    field: &'static str,
    value: f64,
    lo: f64,
    hi: f64,
) -> Result<(), ConfigError> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            value,
            format!("a number in [{lo}, {hi}]"),
        ))
    }
}

/// Checks that `value` is at least `lo`.
pub(crate) fn check_min_u64(field: &'static str, value: u64, lo: u64) -> Result<(), ConfigError> {
    if value >= lo {
        Ok(())
    } else {
        Err(ConfigError::new(field, value, format!("an integer ≥ {lo}")))
    }
}

//! Configuration errors: one [`ConfigError`] per problem, every problem reported, never only
//! the first.
//!
//! Each error says where the offending value came from ([`Origin`]: a line of the file, an
//! environment variable, a command-line flag) and, in one line, the key, the value and what is
//! allowed — e.g. `line 7: red.max_p = 1.5: must be in (0, 1]`. [`LoadError`] is what loading
//! returns: the file could not be read (one error), or it is invalid (all of them).

use std::fmt;
use std::path::PathBuf;

/// Where a value (and so an error about it) came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The configuration file, at this 1-based line when known.
    File { line: Option<usize> },
    /// An environment variable (its name as given).
    Env(String),
    /// A command-line flag, e.g. `--workers`.
    Flag(String),
}

impl Origin {
    /// The origin of a value written in the file, without a known line.
    pub const FILE: Origin = Origin::File { line: None };
}

/// One problem with the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render(None))]
pub struct ConfigError {
    /// Where the value came from.
    pub origin: Origin,
    /// The full dotted key concerned (the first one, for a rule between keys); empty for a
    /// syntax error.
    pub key: String,
    /// The one-line message: key, value and what is allowed.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(origin: Origin, key: impl Into<String>, message: impl Into<String>) -> Self {
        let message: String = message.into();
        ConfigError {
            origin,
            key: key.into(),
            // One line each, whatever a library message contains.
            message: message.replace(['\n', '\r'], " "),
        }
    }

    /// The error as one line, prefixed by the file name when given: `pipeline.toml:7: …`,
    /// `pipeline.toml: ECHOFLOW_RED__MAX_P: …`.
    pub fn render(&self, file: Option<&str>) -> String {
        let mut out = String::new();
        match (&self.origin, file) {
            (Origin::File { line: Some(line) }, Some(file)) => {
                out.push_str(&format!("{file}:{line}: "));
            }
            (Origin::File { line: Some(line) }, None) => out.push_str(&format!("line {line}: ")),
            (Origin::File { line: None }, Some(file)) => out.push_str(&format!("{file}: ")),
            (Origin::File { line: None }, None) => {}
            (Origin::Env(var), file) | (Origin::Flag(var), file) => {
                if let Some(file) = file {
                    out.push_str(&format!("{file}: "));
                }
                out.push_str(&format!("{var}: "));
            }
        }
        out.push_str(&self.message);
        out
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The configuration is invalid; every problem found is listed.
    #[error("{}", InvalidDisplay { source: source_name, errors })]
    Invalid {
        /// The file's name as shown in messages.
        source_name: String,
        errors: Vec<ConfigError>,
    },
}

impl LoadError {
    /// Every problem, one line each, prefixed by the file name.
    pub fn lines(&self) -> Vec<String> {
        match self {
            LoadError::Read { .. } => vec![self.to_string()],
            LoadError::Invalid {
                source_name,
                errors,
            } => errors.iter().map(|e| e.render(Some(source_name))).collect(),
        }
    }
}

struct InvalidDisplay<'a> {
    source: &'a str,
    errors: &'a [ConfigError],
}

impl fmt::Display for InvalidDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{} is invalid ({n} error{})",
            self.source,
            if n == 1 { "" } else { "s" }
        )?;
        for e in self.errors {
            write!(f, "\n  {}", e.render(Some(self.source)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_names_file_line_and_variable() {
        let e = ConfigError::new(
            Origin::File { line: Some(7) },
            "red.max_p",
            "red.max_p = 1.5: x",
        );
        assert_eq!(e.render(Some("p.toml")), "p.toml:7: red.max_p = 1.5: x");
        assert_eq!(e.to_string(), "line 7: red.max_p = 1.5: x");
        let e = ConfigError::new(Origin::Env("ECHOFLOW_RED__MAX_P".into()), "red.max_p", "m");
        assert_eq!(e.render(Some("p.toml")), "p.toml: ECHOFLOW_RED__MAX_P: m");
    }

    #[test]
    fn messages_are_single_lines() {
        let e = ConfigError::new(Origin::FILE, "", "a\nb\r\nc");
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn invalid_lists_every_error() {
        let err = LoadError::Invalid {
            source_name: "p.toml".into(),
            errors: vec![
                ConfigError::new(Origin::FILE, "a", "first"),
                ConfigError::new(Origin::FILE, "b", "second"),
            ],
        };
        assert_eq!(err.lines(), vec!["p.toml: first", "p.toml: second"]);
        assert_eq!(
            err.to_string(),
            "p.toml is invalid (2 errors)\n  p.toml: first\n  p.toml: second"
        );
    }
}

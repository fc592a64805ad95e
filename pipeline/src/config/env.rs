//! Environment overrides: `ECHOFLOW_<SECTION>__<KEY>=value` (SPEC §6).
//!
//! The algorithm, for each variable (sorted by name, so the outcome never depends on the order
//! the process environment lists them in):
//! 1. Names are case-insensitive: `ECHOFLOW_` is matched ignoring case and the rest is
//!    lower-cased. A variable with no `__` after the prefix is not a configuration override
//!    and is ignored (so `ECHOFLOW_SKIP_LINT` or `ECHOFLOW_TEST_BROKERS`, used by the project's
//!    scripts, are not mistaken for keys) — a deviation from "every `ECHOFLOW_` variable",
//!    chosen so that tooling variables can share the prefix.
//! 2. `__` separates levels: `ECHOFLOW_DEGRADATION__CPU__PARTIAL` → `degradation.cpu.partial`.
//!    Under `kafka.client` every `_` (and `__`) is read as `.`:
//!    `ECHOFLOW_KAFKA__CLIENT__SASL_PASSWORD` → `kafka.client."sasl.password"` (librdkafka
//!    names use dots only; a setting whose name has `_` must be set in the file).
//! 3. The value is parsed as a TOML value (`0.2`, `true`, `"x"`, `[{ kind = "pods", … }]`).
//!    Where the key holds a string, a value that is not a quoted TOML string is taken verbatim,
//!    so `ECHOFLOW_ROUTING__STRATEGY=p2c` and `ECHOFLOW_KAFKA__GROUP_ID=123` both work; a boolean
//!    key also accepts `TRUE`/`False` in any case, as environment values often are. Anything
//!    unparsable is kept as a string, so the type check names the key, the value and the type.
//! 4. A variable naming no key is an error naming the variable.
//!
//! The environment is passed in as (name, value) pairs: nothing here reads the process
//! environment, so tests stay independent of it.
//!
//! ```
//! use echoflow_pipeline::config::env::{parse_var, Target};
//! let o = parse_var("ECHOFLOW_RED__MAX_P", "0.2").unwrap().unwrap();
//! assert_eq!(o.target, Target::Key("red.max_p"));
//! assert_eq!(o.value, toml::Value::Float(0.2));
//! let o = parse_var("echoflow_kafka__client__sasl_password", "pw").unwrap().unwrap();
//! assert_eq!(o.target, Target::Client("sasl.password".into()));
//! assert!(parse_var("ECHOFLOW_SKIP_LINT", "1").unwrap().is_none());
//! assert!(parse_var("ECHOFLOW_RED__MAXP", "1").is_err());
//! ```

use super::schema::{self, Kind};

/// The prefix every override starts with (matched ignoring case).
pub const PREFIX: &str = "ECHOFLOW_";

/// What an override sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A key of the schema, by its full dotted path.
    Key(&'static str),
    /// One librdkafka setting in `kafka.client`.
    Client(String),
}

/// One override read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvOverride {
    /// The variable's name, as given.
    pub var: String,
    pub target: Target,
    pub value: toml::Value,
}

/// Reads one variable: `Ok(None)` when it is not an override, `Err(message)` when it looks like
/// one but names no key (the message names the key tried and what is allowed there).
pub fn parse_var(name: &str, value: &str) -> Result<Option<EnvOverride>, String> {
    let Some(rest) = strip_prefix_ignore_case(name, PREFIX) else {
        return Ok(None);
    };
    if !rest.contains("__") {
        return Ok(None);
    }
    let levels: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if levels.iter().any(String::is_empty) {
        return Err("not a configuration key: a level between `__` is empty".into());
    }
    if levels.len() >= 2 && levels[0] == "kafka" && levels[1] == "client" {
        if levels.len() == 2 {
            return Err("names the table kafka.client; name one setting, e.g. ECHOFLOW_KAFKA__CLIENT__SASL_PASSWORD".into());
        }
        let key = levels[2..].join(".").replace('_', ".");
        return Ok(Some(EnvOverride {
            var: name.to_string(),
            target: Target::Client(key),
            value: toml::Value::String(string_value(value)),
        }));
    }
    let path = levels.join(".");
    let Some(spec) = schema::find(&path) else {
        return Err(unknown_key_message(&levels));
    };
    Ok(Some(EnvOverride {
        var: name.to_string(),
        target: Target::Key(spec.path),
        value: typed_value(spec.kind, value),
    }))
}

/// The message for a dotted key that is not in the schema: which level is unknown, and what
/// the enclosing table allows.
pub fn unknown_key_message(levels: &[String]) -> String {
    let mut table = String::new();
    for (i, level) in levels.iter().enumerate() {
        let path = if table.is_empty() {
            level.clone()
        } else {
            format!("{table}.{level}")
        };
        if schema::is_table(&path) && i + 1 < levels.len() {
            table = path;
            continue;
        }
        if schema::is_table(&path) {
            return format!(
                "{path} is a table, not a key; it allows: {}",
                schema::children(&path).join(", ")
            );
        }
        if let Some(spec) = schema::find(&path) {
            return format!("{path} is a key ({}), not a table", spec.kind.name());
        }
        let full = levels.join(".");
        return if table.is_empty() {
            format!(
                "unknown key {full}: no section {level}; sections: {}",
                schema::children("").join(", ")
            )
        } else {
            format!(
                "unknown key {full}; [{table}] allows: {}",
                schema::children(&table).join(", ")
            )
        };
    }
    format!("unknown key {}", levels.join("."))
}

fn strip_prefix_ignore_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        name.get(prefix.len()..)
    } else {
        None
    }
}

/// A string-valued override: a quoted TOML string is unquoted, anything else is verbatim.
fn string_value(raw: &str) -> String {
    match raw.trim().parse::<toml::Value>() {
        Ok(toml::Value::String(s)) if raw.trim_start().starts_with(['"', '\'']) => s,
        _ => raw.to_string(),
    }
}

fn typed_value(kind: Kind, raw: &str) -> toml::Value {
    match kind {
        Kind::String | Kind::StringMap => toml::Value::String(string_value(raw)),
        Kind::Bool if raw.trim().eq_ignore_ascii_case("true") => toml::Value::Boolean(true),
        Kind::Bool if raw.trim().eq_ignore_ascii_case("false") => toml::Value::Boolean(false),
        _ => raw
            .trim()
            .parse::<toml::Value>()
            .unwrap_or_else(|_| toml::Value::String(raw.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, value: &str) -> (Target, toml::Value) {
        let o = parse_var(name, value).unwrap().unwrap();
        (o.target, o.value)
    }

    #[test]
    fn levels_map_to_dotted_keys_ignoring_case() {
        assert_eq!(
            key("ECHOFLOW_DEGRADATION__CPU__PARTIAL", "0.75"),
            (
                Target::Key("degradation.cpu.partial"),
                toml::Value::Float(0.75)
            )
        );
        assert_eq!(
            key("Echoflow_Pipeline__Workers", "4"),
            (Target::Key("pipeline.workers"), toml::Value::Integer(4))
        );
        assert_eq!(
            key(
                "ECHOFLOW_AUTOSCALER__BEHAVIOR__SCALE_UP__SELECT_POLICY",
                "min"
            ),
            (
                Target::Key("autoscaler.behavior.scale_up.select_policy"),
                toml::Value::String("min".into())
            )
        );
    }

    #[test]
    fn strings_are_verbatim_unless_quoted() {
        assert_eq!(
            key("ECHOFLOW_KAFKA__GROUP_ID", "123").1,
            toml::Value::String("123".into())
        );
        assert_eq!(
            key("ECHOFLOW_KAFKA__GROUP_ID", "\"g1\"").1,
            toml::Value::String("g1".into())
        );
        assert_eq!(
            key("ECHOFLOW_ROUTING__STRATEGY", "p2c").1,
            toml::Value::String("p2c".into())
        );
        assert_eq!(
            key("ECHOFLOW_KAFKA__CLIENT__SASL_PASSWORD", "a\"b c").1,
            toml::Value::String("a\"b c".into())
        );
    }

    #[test]
    fn scalars_parse_as_toml_and_unparsable_stays_a_string() {
        assert_eq!(
            key("ECHOFLOW_RED__ENABLED", "FALSE").1,
            toml::Value::Boolean(false)
        );
        assert_eq!(
            key("ECHOFLOW_RED__MAX_P", "1e-1").1,
            toml::Value::Float(0.1)
        );
        assert_eq!(
            key("ECHOFLOW_RED__MAX_P", "high").1,
            toml::Value::String("high".into())
        );
        let (_, v) = key(
            "ECHOFLOW_AUTOSCALER__BEHAVIOR__SCALE_UP__POLICIES",
            "[{ kind = \"pods\", value = 2, period_ms = 60000 }]",
        );
        assert_eq!(v.as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn client_settings_read_underscores_as_dots() {
        assert_eq!(
            key("ECHOFLOW_KAFKA__CLIENT__SECURITY_PROTOCOL", "SASL_SSL"),
            (
                Target::Client("security.protocol".into()),
                toml::Value::String("SASL_SSL".into())
            )
        );
        assert_eq!(
            key("ECHOFLOW_KAFKA__CLIENT__SSL__KEY_PASSWORD", "x").0,
            Target::Client("ssl.key.password".into())
        );
    }

    #[test]
    fn non_overrides_are_ignored() {
        for name in [
            "PATH",
            "ECHOFLOW_SKIP_LINT",
            "ECHOFLOW_TEST_BROKERS",
            "ECHOFLOW",
            "ECHOFLO",
        ] {
            assert_eq!(parse_var(name, "1"), Ok(None), "{name}");
        }
    }

    #[test]
    fn unknown_keys_say_what_is_allowed() {
        let e = parse_var("ECHOFLOW_RED__MAXP", "1").unwrap_err();
        assert!(
            e.starts_with("unknown key red.maxp; [red] allows: enabled, min_th"),
            "{e}"
        );
        let e = parse_var("ECHOFLOW_REDD__MAX_P", "1").unwrap_err();
        assert!(
            e.starts_with("unknown key redd.max_p: no section redd; sections: kafka"),
            "{e}"
        );
        let e = parse_var("ECHOFLOW_DEGRADATION__CPU", "1").unwrap_err();
        assert_eq!(
            e,
            "degradation.cpu is a table, not a key; it allows: partial, minimal, emergency, offline"
        );
        let e = parse_var("ECHOFLOW_RED__MAX_P__X", "1").unwrap_err();
        assert_eq!(e, "red.max_p is a key (float), not a table");
        assert!(parse_var("ECHOFLOW_RED____MAX_P", "1").is_err());
        assert!(parse_var("ECHOFLOW_KAFKA__CLIENT", "1").is_err());
    }
}

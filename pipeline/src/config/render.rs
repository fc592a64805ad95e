//! One-line, canonical TOML rendering of a value: what error messages quote, what the reference
//! documents as a default, and what the fingerprint hashes.
//!
//! Canonical means that equal values give equal text however they were written: table keys are
//! sorted (whatever map order the `toml` crate was built with), floats use Rust's shortest
//! round-trip form (`0.70` and `7e-1` both give `0.7`), `-0.0` gives `0.0`, strings are TOML basic
//! strings with the minimal escapes. Every output is a valid TOML inline value.
//!
//! ```
//! use echoflow_pipeline::config::render_value;
//! let v: toml::Value = "{ b = 0.70, a = [1, 'x'] }".parse().unwrap();
//! assert_eq!(render_value(&v), r#"{ a = [1, "x"], b = 0.7 }"#);
//! ```

use std::fmt::Write as _;

/// Renders `value` as one line of canonical inline TOML.
pub fn render_value(value: &toml::Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Renders a float the way [`render_value`] does.
pub fn render_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else if f == 0.0 {
        "0.0".into()
    } else {
        format!("{f:?}")
    }
}

/// Renders a table key: bare when TOML allows it, else quoted.
pub fn render_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        render_string(key)
    }
}

/// Renders a TOML basic string with the minimal escapes.
pub fn render_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn write_value(out: &mut String, value: &toml::Value) {
    match value {
        toml::Value::String(s) => out.push_str(&render_string(s)),
        toml::Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        toml::Value::Float(f) => out.push_str(&render_float(*f)),
        toml::Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        toml::Value::Datetime(d) => {
            let _ = write!(out, "{d}");
        }
        toml::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        toml::Value::Table(table) => {
            if table.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &toml::Value)> = table.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push_str("{ ");
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&render_key(k));
                out.push_str(" = ");
                write_value(out, v);
            }
            out.push_str(" }");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn floats_are_canonical() {
        assert_eq!(render_float(0.70), "0.7");
        assert_eq!(render_float(-0.0), "0.0");
        assert_eq!(render_float(100000.0), "100000.0");
        assert_eq!(render_float(f64::NAN), "nan");
        assert_eq!(render_float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(render_key("max_p"), "max_p");
        assert_eq!(render_key("sasl.password"), "\"sasl.password\"");
        assert_eq!(render_key(""), "\"\"");
    }

    proptest! {
        /// Whatever the string, its rendering parses back (as TOML) to the same string.
        #[test]
        fn strings_round_trip(s in any::<String>()) {
            let doc = format!("v = {}", render_string(&s));
            let parsed: toml::Table = doc.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(parsed.get("v").and_then(|v| v.as_str()), Some(s.as_str()));
        }

        /// Finite floats round-trip through their rendering.
        #[test]
        fn floats_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let doc = format!("v = {}", render_float(f));
            let parsed: toml::Table = doc.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let back = parsed.get("v").and_then(|v| v.as_float());
            prop_assert_eq!(back, Some(if f == 0.0 { 0.0 } else { f }));
        }
    }
}

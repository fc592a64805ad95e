//! Field-by-field extraction from a parsed JSON object, with errors that name the field.

use serde_json::{Map, Value};
use std::fmt;

/// Why a record could not be decoded: the field at fault (or `"$"` for the record as a whole)
/// and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// The field at fault, as a path: `"ts"`, `"input[3][1]"`, or `"$"` for the whole record.
    pub field: String,
    /// What was wrong, in words a user can act on.
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field == "$" {
            write!(f, "record: {}", self.problem)
        } else {
            write!(f, "field '{}': {}", self.field, self.problem)
        }
    }
}

/// Parses bytes as one JSON object.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, FieldError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| FieldError::new("$", format!("not valid UTF-8 ({e})")))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(FieldError::new(
            "$",
            format!("must be a JSON object, got {}", kind(&other)),
        )),
        Err(e) => Err(FieldError::new("$", format!("not valid JSON ({e})"))),
    }
}

/// A short name of a JSON value's type, for error messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Typed access to the fields of one record.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>) -> Self {
        Fields { map }
    }

    fn required(&self, name: &str) -> Result<&'a Value, FieldError> {
        match self.map.get(name) {
            None => Err(FieldError::new(name, "missing")),
            Some(Value::Null) => Err(FieldError::new(name, "must not be null")),
            Some(v) => Ok(v),
        }
    }

    /// A present, non-null field, or `None` when absent or null.
    pub(crate) fn optional(&self, name: &str) -> Option<&'a Value> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub(crate) fn string(&self, name: &str) -> Result<&'a str, FieldError> {
        as_str(name, self.required(name)?)
    }

    pub(crate) fn opt_string(&self, name: &str) -> Result<Option<&'a str>, FieldError> {
        self.optional(name).map(|v| as_str(name, v)).transpose()
    }

    /// A non-negative integer (JSON integer literal; `5.0` and `-1` are rejected).
    pub(crate) fn uint(&self, name: &str) -> Result<u64, FieldError> {
        let v = self.required(name)?;
        v.as_u64().ok_or_else(|| {
            let got = match v {
                Value::Number(n) => format!("{n}"),
                other => kind(other).to_string(),
            };
            FieldError::new(name, format!("must be a non-negative integer, got {got}"))
        })
    }

    /// A finite number.
    pub(crate) fn number(&self, name: &str) -> Result<f64, FieldError> {
        as_finite(name, self.required(name)?)
    }

    pub(crate) fn opt_number(&self, name: &str) -> Result<Option<f64>, FieldError> {
        self.optional(name).map(|v| as_finite(name, v)).transpose()
    }

    /// A finite number in `lo..=hi`.
    pub(crate) fn number_in(&self, name: &str, lo: f64, hi: f64) -> Result<f64, FieldError> {
        let x = self.number(name)?;
        if (lo..=hi).contains(&x) {
            Ok(x)
        } else {
            Err(FieldError::new(
                name,
                format!("must be in {lo}..={hi}, got {x}"),
            ))
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Result<bool, FieldError> {
        match self.required(name)? {
            Value::Bool(b) => Ok(*b),
            other => Err(FieldError::new(
                name,
                format!("must be a boolean, got {}", kind(other)),
            )),
        }
    }
}

fn as_str<'a>(name: &str, v: &'a Value) -> Result<&'a str, FieldError> {
    v.as_str()
        .ok_or_else(|| FieldError::new(name, format!("must be a string, got {}", kind(v))))
}

pub(crate) fn as_finite(name: &str, v: &Value) -> Result<f64, FieldError> {
    match v {
        // serde_json never yields a non-finite f64 from text, but a number too large for f64
        // parses as infinity with some features: check anyway.
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(FieldError::new(
                name,
                format!("must be a finite number, got {n}"),
            )),
        },
        other => Err(FieldError::new(
            name,
            format!("must be a finite number, got {}", kind(other)),
        )),
    }
}

//! Field-by-field extraction from a parsed JSON object, with errors that name the field.
//!
//! Two ways in. [`Fields`] reads a whole record parsed as a `serde_json::Value` map (telemetry,
//! and every request that fails a check). [`Loose`] and [`Skip`] serve the request decoder's
//! fast path, which parses straight from the bytes without building a `Value` (SPEC §2 records
//! are small, and building the tree cost ≈ 10 % of the dataflow's time): [`Loose`] keeps a
//! string borrowed from the input (a `Cow` when it had escapes) and a non-negative integer as
//! it is, and anything else as exactly the `Value` that parsing the record as a `Value` gives;
//! [`Skip`] walks an unknown field's value through the same parser entry points as `Value`
//! (so the same inputs are rejected, with the same messages), keeping nothing.

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
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

/// One field's value from the fast path: the common valid cases without a `Value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Loose<'a> {
    /// A string, borrowed from the record unless it had escapes.
    Str(Cow<'a, str>),
    /// A non-negative integer literal (what `Value::as_u64` accepts).
    UInt(u64),
    /// Anything else, exactly as `serde_json::Value` would hold it.
    Other(Value),
}

impl Loose<'_> {
    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is a non-negative integer literal.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Loose::UInt(u) => Some(*u),
            _ => None,
        }
    }

    /// JSON `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Loose::Other(Value::Null))
    }

    /// The `Value` that parsing the record as a `Value` gives for this field.
    pub(crate) fn into_value(self) -> Value {
        match self {
            Loose::Str(s) => Value::String(s.into_owned()),
            Loose::UInt(u) => Value::from(u),
            Loose::Other(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

/// Builds [`Loose`]; the non-string, non-`u64` cases build what `serde_json`'s own `Value`
/// visitor builds (`f64` through `Number::from_f64`, `null` for a non-finite one).
struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::UInt(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Loose::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Loose::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Loose::Other)
    }
}

/// A value that is parsed and validated like any other and then dropped (unknown fields).
///
/// Unlike `serde::de::IgnoredAny` (`serde_json`'s `ignore_value`, which does not check `\u`
/// escapes), it goes through `deserialize_any`, so a record is rejected exactly when parsing it
/// as a `Value` rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Skip, D::Error> {
        Skip::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

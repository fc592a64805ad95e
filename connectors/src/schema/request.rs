//! `echoflow.requests`: `{"id", "ts", "tenant", "feature", "priority", "session"?, "input"}`.
//!
//! Decoding has a fast path and a slow path that give the same results (SPEC §2's checks, in
//! this order: `id`, `ts`, `tenant`, `feature`, `priority`, `session`, `input`).
//!
//! - Fast path: the bytes are parsed straight into the request's known fields ([`RawFields`]:
//!   strings borrowed from the input, `ts` as a `u64`, `input` flattened into one `Vec<f64>` as
//!   it is read, unknown fields walked and dropped), with no `serde_json::Value` tree. A record
//!   that passes every check becomes a [`Request`] with one allocation per string and one for
//!   the input.
//! - Slow path: on any failed check, the known fields are turned back into the `Value`s that
//!   parsing the whole record as a `Value` gives, and the original field-by-field checks of
//!   [`super::fields::Fields`] run on them, so every error message and field path is exactly
//!   what it was before the fast path existed (a property test compares the two on generated
//!   records, valid and not).
//!
//! A record that is not valid JSON fails in the parser before any check, as before: the fast
//! path never stops early on a bad field, and it parses through the same `serde_json` entry
//! points as `Value` (`deserialize_any`), so the same bytes are rejected with the same message.
//! Duplicate keys: the last occurrence counts, as in a `serde_json::Map`.

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::fields::{FieldError, Fields, Loose, Skip, as_finite, kind};
use echoflow_operators::priority::Priority;

/// Longest accepted request id, in bytes (SPEC §2).
pub const MAX_ID_BYTES: usize = 256;

/// Limits that depend on configuration and on the model in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// Most steps one request's `input` may have (`reservoir.max_steps`, default 1024).
    pub max_steps: usize,
    /// The model's input dimension; `None` accepts any dimension (still not ragged).
    pub input_dim: Option<usize>,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_steps: 1024,
            input_dim: None,
        }
    }
}

/// A validated request.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub id: String,
    /// Event time, ms since the epoch.
    pub ts: u64,
    pub tenant: String,
    pub feature: String,
    pub priority: Priority,
    pub session: Option<String>,
    /// The input sequence, row-major: `steps` rows of `dim` values.
    pub input: Vec<f64>,
    pub dim: usize,
}

impl Request {
    /// Number of steps in `input`.
    pub fn steps(&self) -> usize {
        self.input.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Step `t` of the input, `dim` values.
    pub fn step(&self, t: usize) -> &[f64] {
        &self.input[t * self.dim..(t + 1) * self.dim]
    }

    /// Decodes and validates one record.
    ///
    /// ```
    /// use echoflow_connectors::schema::{Request, RequestLimits};
    /// let raw = br#"{"id":"r1","ts":5,"tenant":"t","feature":"chat","priority":"high","input":[[1,2],[3,4]]}"#;
    /// let r = Request::decode(raw, &RequestLimits::default()).unwrap();
    /// assert_eq!((r.steps(), r.dim, r.step(1)), (2, 2, &[3.0, 4.0][..]));
    ///
    /// let bad = br#"{"id":"r1","ts":-5,"tenant":"t","feature":"chat","priority":"high","input":[1]}"#;
    /// let e = Request::decode(bad, &RequestLimits::default()).unwrap_err();
    /// assert_eq!(e.field, "ts");
    /// ```
    pub fn decode(bytes: &[u8], limits: &RequestLimits) -> Result<Request, FieldError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| FieldError::new("$", format!("not valid UTF-8 ({e})")))?;
        let mut raw = match serde_json::from_str::<RawRecord<'_>>(text) {
            Ok(RawRecord::Object(fields)) => fields,
            Ok(RawRecord::NotObject(k)) => {
                return Err(FieldError::new(
                    "$",
                    format!("must be a JSON object, got {k}"),
                ));
            }
            Err(e) => return Err(FieldError::new("$", format!("not valid JSON ({e})"))),
        };
        match fast(&mut raw, limits) {
            Some(r) => Ok(r),
            None => decode_map(&raw.into_map(), limits),
        }
    }
}

/// The fast path: `Some` when every check passes (then the result is what [`decode_map`]
/// gives), `None` to hand over to the slow path for the error.
fn fast(raw: &mut RawFields<'_>, limits: &RequestLimits) -> Option<Request> {
    let id = raw.id.as_ref()?.as_str()?;
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return None;
    }
    let ts = raw.ts.as_ref()?.as_u64()?;
    let tenant = raw.tenant.as_ref()?.as_str()?;
    let feature = raw.feature.as_ref()?.as_str()?;
    let priority = raw.priority.as_ref()?.as_str()?.parse::<Priority>().ok()?;
    let session = match &raw.session {
        None => None,
        Some(s) if s.is_null() => None,
        Some(s) => Some(s.as_str()?),
    };
    let input = raw.input.as_mut()?;
    let dim = input.valid_dim(limits)?;
    Some(Request {
        id: id.to_owned(),
        ts,
        tenant: tenant.to_owned(),
        feature: feature.to_owned(),
        priority,
        session: session.map(str::to_owned),
        input: std::mem::take(&mut input.flat),
        dim,
    })
}

/// The slow path (and the definition of every check): field-by-field over a parsed map.
fn decode_map(map: &Map<String, Value>, limits: &RequestLimits) -> Result<Request, FieldError> {
    let f = Fields::new(map);
    let id = f.string("id")?;
    if id.is_empty() {
        return Err(FieldError::new("id", "must not be empty"));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(FieldError::new(
            "id",
            format!("must be at most {MAX_ID_BYTES} bytes, got {}", id.len()),
        ));
    }
    let ts = f.uint("ts")?;
    let tenant = f.string("tenant")?;
    let feature = f.string("feature")?;
    let priority = f
        .string("priority")?
        .parse::<Priority>()
        .map_err(|e| FieldError::new("priority", e.to_string()))?;
    let session = f.opt_string("session")?;
    let (input, dim) = decode_input(f.optional("input"), limits)?;
    Ok(Request {
        id: id.to_string(),
        ts,
        tenant: tenant.to_string(),
        feature: feature.to_string(),
        priority,
        session: session.map(str::to_string),
        input,
        dim,
    })
}

/// `input`: `[[f64; d]; steps]` or one step `[f64; d]`; not empty, not ragged, all finite.
fn decode_input(
    v: Option<&Value>,
    limits: &RequestLimits,
) -> Result<(Vec<f64>, usize), FieldError> {
    let Some(v) = v else {
        return Err(FieldError::new("input", "missing"));
    };
    let Value::Array(rows) = v else {
        return Err(FieldError::new(
            "input",
            format!(
                "must be an array of numbers or of arrays of numbers, got {}",
                kind(v)
            ),
        ));
    };
    if rows.is_empty() {
        return Err(FieldError::new("input", "must not be empty"));
    }
    let nested = matches!(rows[0], Value::Array(_));
    let (flat, dim) = if nested {
        if rows.len() > limits.max_steps {
            return Err(FieldError::new(
                "input",
                format!(
                    "has {} steps, more than max_steps {}",
                    rows.len(),
                    limits.max_steps
                ),
            ));
        }
        let mut dim = 0;
        let mut flat = Vec::new();
        for (t, row) in rows.iter().enumerate() {
            let Value::Array(values) = row else {
                return Err(FieldError::new(
                    format!("input[{t}]"),
                    format!(
                        "must be an array of numbers like input[0], got {}",
                        kind(row)
                    ),
                ));
            };
            if t == 0 {
                if values.is_empty() {
                    return Err(FieldError::new("input[0]", "must not be empty"));
                }
                dim = values.len();
                flat.reserve(dim * rows.len());
            } else if values.len() != dim {
                return Err(FieldError::new(
                    format!("input[{t}]"),
                    format!("ragged: has {} values, input[0] has {dim}", values.len()),
                ));
            }
            for (j, x) in values.iter().enumerate() {
                flat.push(as_finite(&format!("input[{t}][{j}]"), x)?);
            }
        }
        (flat, dim)
    } else {
        let mut flat = Vec::with_capacity(rows.len());
        for (j, x) in rows.iter().enumerate() {
            flat.push(as_finite(&format!("input[{j}]"), x)?);
        }
        let dim = flat.len();
        (flat, dim)
    };
    if let Some(want) = limits.input_dim
        && dim != want
    {
        return Err(FieldError::new(
            "input",
            format!("steps have {dim} values, the model's input dimension is {want}"),
        ));
    }
    Ok((flat, dim))
}

/// A record as the fast path parses it.
// One per record, on the stack; boxing the large variant would add an allocation to every decode.
#[allow(clippy::large_enum_variant)]
enum RawRecord<'a> {
    Object(RawFields<'a>),
    /// A JSON value that is not an object, by [`kind`]'s name.
    NotObject(&'static str),
}

/// The known fields of a request object, unchecked; absent ones are `None`.
#[derive(Default)]
struct RawFields<'a> {
    id: Option<Loose<'a>>,
    ts: Option<Loose<'a>>,
    tenant: Option<Loose<'a>>,
    feature: Option<Loose<'a>>,
    priority: Option<Loose<'a>>,
    session: Option<Loose<'a>>,
    input: Option<RawInput>,
}

impl RawFields<'_> {
    /// The known fields as the map that parsing the record as a `Value` gives, minus the
    /// unknown fields (which no check reads).
    fn into_map(self) -> Map<String, Value> {
        let mut map = Map::new();
        let loose = [
            ("id", self.id),
            ("ts", self.ts),
            ("tenant", self.tenant),
            ("feature", self.feature),
            ("priority", self.priority),
            ("session", self.session),
        ];
        for (name, v) in loose {
            if let Some(v) = v {
                map.insert(name.to_string(), v.into_value());
            }
        }
        if let Some(input) = self.input {
            map.insert("input".to_string(), input.into_value());
        }
        map
    }
}

/// The field names the fast path keeps.
enum Key {
    Id,
    Ts,
    Tenant,
    Feature,
    Priority,
    Session,
    Input,
    Unknown,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "id" => Key::Id,
            "ts" => Key::Ts,
            "tenant" => Key::Tenant,
            "feature" => Key::Feature,
            "priority" => Key::Priority,
            "session" => Key::Session,
            "input" => Key::Input,
            _ => Key::Unknown,
        })
    }
}

impl<'de> Deserialize<'de> for RawRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RecordVisitor)
    }
}

/// Accepts any JSON value (only a syntax error fails), so that the checks, not the parser,
/// report what is wrong with a well-formed record.
struct RecordVisitor;

impl<'de> Visitor<'de> for RecordVisitor {
    type Value = RawRecord<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut f = RawFields::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Id => f.id = Some(map.next_value()?),
                Key::Ts => f.ts = Some(map.next_value()?),
                Key::Tenant => f.tenant = Some(map.next_value()?),
                Key::Feature => f.feature = Some(map.next_value()?),
                Key::Priority => f.priority = Some(map.next_value()?),
                Key::Session => f.session = Some(map.next_value()?),
                Key::Input => f.input = Some(map.next_value()?),
                Key::Unknown => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(RawRecord::Object(f))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RawRecord::NotObject("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RawRecord::NotObject("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RawRecord::NotObject("a number"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `Value` holds a non-finite float as null (never produced from text).
        Ok(RawRecord::NotObject(kind(&Value::from(v))))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(RawRecord::NotObject("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(RawRecord::NotObject("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(RawRecord::NotObject("an array"))
    }
}

/// `input` as the fast path reads it: the numbers flattened as they come, and the shape.
struct RawInput {
    flat: Vec<f64>,
    shape: Shape,
}

enum Shape {
    /// A non-empty array of numbers (one step of `flat.len()` values).
    Flat,
    /// A non-empty array of arrays of `dim ≥ 1` numbers each.
    Nested(usize),
    /// Anything else, as `Value` holds it (`flat` is empty): the slow path says what is wrong.
    Other(Value),
}

impl RawInput {
    fn other(v: Value) -> Self {
        RawInput {
            flat: Vec::new(),
            shape: Shape::Other(v),
        }
    }

    /// The step width if `input` passes every check, `None` otherwise.
    fn valid_dim(&self, limits: &RequestLimits) -> Option<usize> {
        let dim = match self.shape {
            Shape::Flat => self.flat.len(),
            Shape::Nested(d) if self.flat.len() / d <= limits.max_steps => d,
            _ => return None,
        };
        match limits.input_dim {
            Some(want) if want != dim => None,
            _ => Some(dim),
        }
    }

    /// The `Value` that parsing the record as a `Value` gives for `input` (numbers as floats,
    /// which the checks read through `as_f64` the same way).
    fn into_value(self) -> Value {
        match self.shape {
            Shape::Flat => Value::Array(self.flat.into_iter().map(Value::from).collect()),
            Shape::Nested(d) => Value::Array(self.flat.chunks(d).map(row_value).collect()),
            Shape::Other(v) => v,
        }
    }
}

fn row_value(row: &[f64]) -> Value {
    Value::Array(row.iter().copied().map(Value::from).collect())
}

impl<'de> Deserialize<'de> for RawInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(InputVisitor)
    }
}

/// The `visit_*` methods of a visitor that keeps a boolean, string, null or object as its
/// `Value` (for the slow path's checks), wrapped by `$wrap`.
macro_rules! keep_as_value {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok($wrap(Value::Bool(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok($wrap(Value::String(v.to_owned())))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap(Value::Null))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Value::deserialize(de::value::MapAccessDeserializer::new(map)).map($wrap)
        }
    };
}

/// Reads `input`: an array goes through [`InputVisitor::visit_seq`]; any other value is kept as
/// its `Value` for the slow path.
struct InputVisitor;

impl<'de> Visitor<'de> for InputVisitor {
    type Value = RawInput;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    keep_as_value!(RawInput::other);
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawInput, E> {
        Ok(RawInput::other(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawInput, E> {
        Ok(RawInput::other(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawInput, E> {
        Ok(RawInput::other(Value::from(v)))
    }

    /// Elements are read into one flat vector while they keep the shape the first one set
    /// (numbers, or arrays of numbers as long as the first); at the first that does not, what
    /// was read so far is rebuilt as `Value`s and the rest is read as `Value`s.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawInput, A::Error> {
        let mut flat = Vec::new();
        let mut shape: Option<Shape> = None;
        let mut count = 0usize;
        loop {
            let mark = flat.len();
            let Some(elem) = seq.next_element_seed(ElemSeed { flat: &mut flat })? else {
                break;
            };
            let fits = match (&shape, &elem) {
                (None, Elem::Num) => {
                    shape = Some(Shape::Flat);
                    true
                }
                (None, Elem::Row(len)) if *len > 0 => {
                    shape = Some(Shape::Nested(*len));
                    true
                }
                (Some(Shape::Flat), Elem::Num) => true,
                (Some(Shape::Nested(d)), Elem::Row(len)) => len == d,
                _ => false,
            };
            if fits {
                count += 1;
                continue;
            }
            // Leave the fast path: the elements before this one, this one, then the rest.
            let mut values: Vec<Value> = match shape {
                Some(Shape::Nested(d)) => flat[..mark].chunks(d).map(row_value).collect(),
                _ => flat[..mark].iter().copied().map(Value::from).collect(),
            };
            debug_assert_eq!(values.len(), count);
            values.push(match elem {
                Elem::Num => flat.get(mark).copied().map_or(Value::Null, Value::from),
                Elem::Row(_) => row_value(&flat[mark..]),
                Elem::Other(v) => v,
            });
            while let Some(v) = seq.next_element::<Value>()? {
                values.push(v);
            }
            return Ok(RawInput::other(Value::Array(values)));
        }
        Ok(match shape {
            Some(shape) => RawInput { flat, shape },
            None => RawInput::other(Value::Array(Vec::new())),
        })
    }
}

/// One element of `input`, as [`ElemSeed`] read it.
enum Elem {
    /// A number, pushed onto the flat vector.
    Num,
    /// An array of that many numbers, pushed onto the flat vector.
    Row(usize),
    /// Anything else, as `Value` holds it (nothing pushed).
    Other(Value),
}

/// Reads one element of `input`, appending its numbers to `flat`.
struct ElemSeed<'v> {
    flat: &'v mut Vec<f64>,
}

impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
    type Value = Elem;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed<'_> {
    type Value = Elem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        // `Number::as_f64` of an integer is this same conversion.
        self.flat.push(v as f64);
        Ok(Elem::Num)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        self.flat.push(v as f64);
        Ok(Elem::Num)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        if v.is_finite() {
            self.flat.push(v);
            Ok(Elem::Num)
        } else {
            Ok(Elem::Other(Value::from(v)))
        }
    }
    keep_as_value!(Elem::Other);
    /// A row: numbers go onto `flat`; at the first non-number the row is rebuilt as a `Value`
    /// (and taken back off `flat`).
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elem, A::Error> {
        let start = self.flat.len();
        while let Some(x) = seq.next_element::<Loose<'de>>()? {
            let number = match &x {
                Loose::UInt(u) => Some(*u as f64),
                Loose::Other(Value::Number(n)) => n.as_f64().filter(|v| v.is_finite()),
                _ => None,
            };
            if let Some(v) = number {
                self.flat.push(v);
                continue;
            }
            let mut values: Vec<Value> = self.flat[start..]
                .iter()
                .copied()
                .map(Value::from)
                .collect();
            self.flat.truncate(start);
            values.push(x.into_value());
            while let Some(v) = seq.next_element::<Value>()? {
                values.push(v);
            }
            return Ok(Elem::Other(Value::Array(values)));
        }
        Ok(Elem::Row(self.flat.len() - start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fields::parse_object;
    use proptest::prelude::*;

    /// The decoder as it was before the fast path: parse a `Value`, then check field by field.
    fn reference(bytes: &[u8], limits: &RequestLimits) -> Result<Request, FieldError> {
        decode_map(&parse_object(bytes)?, limits)
    }

    const LIMITS: RequestLimits = RequestLimits {
        max_steps: 3,
        input_dim: None,
    };

    /// The fast path alone: `Some` only when it accepted the record by itself.
    fn fast_only(raw: &[u8], limits: &RequestLimits) -> Option<Request> {
        let text = std::str::from_utf8(raw).ok()?;
        match serde_json::from_str::<RawRecord<'_>>(text).ok()? {
            RawRecord::Object(mut f) => fast(&mut f, limits),
            RawRecord::NotObject(_) => None,
        }
    }

    /// Decodes both ways, checks they agree and that a valid record took the fast path.
    fn both(raw: &str) -> Result<Request, FieldError> {
        let decoded = Request::decode(raw.as_bytes(), &LIMITS);
        assert_eq!(decoded, reference(raw.as_bytes(), &LIMITS), "{raw}");
        assert_eq!(
            decoded.clone().ok(),
            fast_only(raw.as_bytes(), &LIMITS),
            "{raw}"
        );
        decoded
    }

    #[test]
    fn valid_records_decode_the_same_both_ways() {
        let r = both(
            r#"{"x":{"a":[1,{"b":null}]},"id":"r\u00e9","ts":7,"tenant":"t","feature":"f","priority":"low","session":"s","input":[[1,-2.5e3],[3,4]]}"#,
        )
        .expect("valid");
        assert_eq!((r.id.as_str(), r.ts, r.dim), ("ré", 7, 2));
        assert_eq!(r.input, vec![1.0, -2500.0, 3.0, 4.0]);
        assert_eq!(r.session.as_deref(), Some("s"));
        let r = both(
            r#"{"id":"a","ts":0,"tenant":"t","feature":"f","priority":"critical","session":null,"input":[0.5,1,-2]}"#,
        )
        .expect("valid");
        assert_eq!((r.input.len(), r.dim, r.session), (3, 3, None));
        // Duplicate keys: the last one counts.
        let r = both(
            r#"{"id":"a","id":"b","ts":1,"tenant":"t","feature":"f","priority":"low","input":"x","input":[1]}"#,
        )
        .expect("valid");
        assert_eq!(r.id, "b");
    }

    #[test]
    fn errors_name_the_same_field_and_problem_both_ways() {
        let cases = [
            ("[1,2]", "$", "must be a JSON object, got an array"),
            ("null", "$", "must be a JSON object, got null"),
            (
                r#"{"id":"a""#,
                "$",
                "not valid JSON (EOF while parsing an object at line 1 column 9)",
            ),
            (r#"{"id":"a","x":"\ud800"}"#, "$", ""),
            (r#"{"ts":1}"#, "id", "missing"),
            (r#"{"id":""}"#, "id", "must not be empty"),
            (
                r#"{"id":"a","ts":5.0}"#,
                "ts",
                "must be a non-negative integer, got 5.0",
            ),
            (
                r#"{"id":"a","ts":-1}"#,
                "ts",
                "must be a non-negative integer, got -1",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":3}"#,
                "tenant",
                "must be a string, got a number",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"urgent"}"#,
                "priority",
                "",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","session":[]}"#,
                "session",
                "must be a string, got an array",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":null}"#,
                "input",
                "missing",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[]}"#,
                "input",
                "must not be empty",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[[1],[2],[3],[4]]}"#,
                "input",
                "has 4 steps, more than max_steps 3",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[[1],[2,3]]}"#,
                "input[1]",
                "ragged: has 2 values, input[0] has 1",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[[1],"x"]}"#,
                "input[1]",
                "must be an array of numbers like input[0], got a string",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[[1,true]]}"#,
                "input[0][1]",
                "must be a finite number, got a boolean",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[1,[2]]}"#,
                "input[1]",
                "must be a finite number, got an array",
            ),
            (
                r#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[[]]}"#,
                "input[0]",
                "must not be empty",
            ),
        ];
        for (raw, field, problem) in cases {
            let e = both(raw).expect_err(raw);
            assert_eq!(e.field, field, "{raw}");
            if !problem.is_empty() {
                assert_eq!(e.problem, problem, "{raw}");
            }
        }
        let dim = RequestLimits {
            max_steps: 8,
            input_dim: Some(2),
        };
        let raw =
            br#"{"id":"a","ts":1,"tenant":"t","feature":"f","priority":"low","input":[[1],[2]]}"#;
        let e = Request::decode(raw, &dim).expect_err("dimension");
        assert_eq!(Err(e.clone()), reference(raw, &dim));
        assert_eq!(
            e.problem,
            "steps have 1 values, the model's input dimension is 2"
        );
    }

    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|x| x.to_string()),
            any::<u64>().prop_map(|x| x.to_string()),
            any::<f64>().prop_map(|x| format!("{x:?}")),
            (-1e3f64..1e3).prop_map(|x| format!("{x}")),
            "[a-z]{0,4}".prop_map(|s| format!("\"{s}\"")),
            Just("\"\\u00e9\\n\"".to_string()),
            Just("\"low\"".to_string()),
            Just("\"critical\"".to_string()),
            Just("null".to_string()),
            Just("true".to_string()),
            Just("1e400".to_string()),
            Just("\"\\ud800\"".to_string()),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-z]{1,3}", inner), 0..3).prop_map(|v| {
                    let body: Vec<String> = v.iter().map(|(k, x)| format!("\"{k}\":{x}")).collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    fn input() -> impl Strategy<Value = String> {
        let num = prop_oneof![
            (-1e6f64..1e6).prop_map(|x| format!("{x}")),
            any::<i32>().prop_map(|x| x.to_string()),
            Just("1e308".to_string()),
        ];
        let row =
            prop::collection::vec(num.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(",")));
        prop_oneof![
            prop::collection::vec(num, 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(row.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(prop_oneof![row, value()], 0..4)
                .prop_map(|v| format!("[{}]", v.join(","))),
            value(),
        ]
    }

    fn record() -> impl Strategy<Value = String> {
        let field = prop_oneof![
            3 => (Just("id"), prop_oneof!["[a-z]{0,3}".prop_map(|s| format!("\"{s}\"")), value()]),
            2 => (Just("ts"), value()),
            2 => (Just("tenant"), value()),
            2 => (Just("feature"), value()),
            3 => (Just("priority"), prop_oneof![Just("\"high\"".to_string()), value()]),
            2 => (Just("session"), value()),
            4 => (Just("input"), input()),
            1 => (Just("other"), value()),
        ];
        let complete = (
            "[a-z]{1,3}",
            0u64..u64::MAX,
            input(),
            prop::option::of("[a-z]{0,2}"),
        )
            .prop_map(|(id, ts, input, session)| {
                let session = session.map_or(String::new(), |s| format!(",\"session\":\"{s}\""));
                format!(
                    r#"{{"id":"{id}","ts":{ts},"tenant":"t","feature":"f","priority":"medium"{session},"input":{input}}}"#
                )
            });
        let soup = prop::collection::vec(field, 0..9).prop_map(|fields| {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        });
        prop_oneof![complete, soup, value()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn fast_path_equals_the_value_decoder(raw in record(), cut in 0usize..200, dim in prop::option::of(1usize..3)) {
            let limits = RequestLimits { max_steps: 3, input_dim: dim };
            let decoded = Request::decode(raw.as_bytes(), &limits);
            prop_assert_eq!(&decoded, &reference(raw.as_bytes(), &limits), "{}", raw);
            // Every valid record is decoded by the fast path alone.
            prop_assert_eq!(decoded.ok(), fast_only(raw.as_bytes(), &limits), "{}", raw);
            // Truncated records: the same syntax errors.
            let cut = raw.as_bytes().get(..cut.min(raw.len())).unwrap_or_default();
            prop_assert_eq!(Request::decode(cut, &limits), reference(cut, &limits));
        }
    }
}

//! `echoflow.requests`: `{"id", "ts", "tenant", "feature", "priority", "session"?, "input"}`.

use super::fields::{FieldError, Fields, as_finite, kind, parse_object};
use echoflow_operators::priority::Priority;
use serde_json::Value;

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
        let map = parse_object(bytes)?;
        let f = Fields::new(&map);
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

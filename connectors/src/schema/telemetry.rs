//! `echoflow.telemetry`: one membrane's report (SPEC §2), decoded straight into the membrane
//! pool's [`Telemetry`] (the operators own the type; this module owns its validation).

use super::fields::{FieldError, Fields, parse_object};
pub use echoflow_operators::membrane_pool::Telemetry;

/// Decodes and validates one record: cpu and memory in 0..=1, queue_capacity ≥ 1, finite
/// non-negative latency, errors ≤ requests, positive capacity_weight when present.
///
/// ```
/// use echoflow_connectors::schema::decode_telemetry;
/// let bad = br#"{"membrane":"m1","ts":1,"cpu":1.5,"memory":0.2,"queue_depth":0,
///   "queue_capacity":10,"in_flight":0,"latency_ms":3,"requests":1,"errors":0,"healthy":true}"#;
/// let e = decode_telemetry(bad).unwrap_err();
/// assert_eq!(e.to_string(), "field 'cpu': must be in 0..=1, got 1.5");
/// ```
pub fn decode_telemetry(bytes: &[u8]) -> Result<Telemetry, FieldError> {
    let map = parse_object(bytes)?;
    let f = Fields::new(&map);
    let membrane = f.string("membrane")?;
    if membrane.is_empty() {
        return Err(FieldError::new("membrane", "must not be empty"));
    }
    let ts = f.uint("ts")?;
    let cpu = f.number_in("cpu", 0.0, 1.0)?;
    let memory = f.number_in("memory", 0.0, 1.0)?;
    let queue_depth = f.uint("queue_depth")?;
    let queue_capacity = f.uint("queue_capacity")?;
    if queue_capacity == 0 {
        return Err(FieldError::new(
            "queue_capacity",
            "must be at least 1, got 0",
        ));
    }
    let in_flight = f.uint("in_flight")?;
    let latency_ms = f.number("latency_ms")?;
    if latency_ms < 0.0 {
        return Err(FieldError::new(
            "latency_ms",
            format!("must not be negative, got {latency_ms}"),
        ));
    }
    let requests = f.uint("requests")?;
    let errors = f.uint("errors")?;
    if errors > requests {
        return Err(FieldError::new(
            "errors",
            format!("must not exceed requests ({requests}), got {errors}"),
        ));
    }
    let healthy = f.boolean("healthy")?;
    let capacity_weight = f.opt_number("capacity_weight")?;
    if let Some(w) = capacity_weight
        && w <= 0.0
    {
        return Err(FieldError::new(
            "capacity_weight",
            format!("must be positive, got {w}"),
        ));
    }
    Ok(Telemetry {
        membrane: membrane.to_string(),
        ts,
        cpu,
        memory,
        queue_depth,
        queue_capacity,
        in_flight,
        latency_ms,
        requests,
        errors,
        healthy,
        capacity_weight,
    })
}

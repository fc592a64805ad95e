//! The scaling decision record (SPEC §2 `echoflow.scaling-decisions`, key: resource).
//!
//! Every evaluation emits one record, holds included: `{"ts", "resource", "policy", "action",
//! "from", "to", "reason", ...}` with `action` ∈ `scale_up | scale_down | hold`, and — where the
//! policy used them — the utilisation it scaled on, its thresholds or target, the raw
//! recommendation before stabilisation, the forecast and its confidence. `from` is the current
//! replica count (registered membranes, ready or not), `to` the desired count after policies,
//! stabilisation and clamping; `action` is derived from the two, so they never disagree.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `to > from`.
    ScaleUp,
    /// `to < from`.
    ScaleDown,
    /// `to == from`.
    Hold,
}

impl Action {
    /// The action that takes `from` replicas to `to`.
    pub fn between(from: u32, to: u32) -> Action {
        match to.cmp(&from) {
            std::cmp::Ordering::Greater => Action::ScaleUp,
            std::cmp::Ordering::Less => Action::ScaleDown,
            std::cmp::Ordering::Equal => Action::Hold,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ScaleUp => "scale_up",
            Action::ScaleDown => "scale_down",
            Action::Hold => "hold",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The thresholds a `threshold` decision compared against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Scale up above this utilisation.
    pub up: f64,
    /// Scale down below this utilisation.
    pub down: f64,
}

/// One scaling decision.
///
/// ```
/// use echoflow_operators::autoscale::decision::{Action, Decision};
/// let d = Decision::new(15_000, "membranes", "hpa", 3, 5, "ratio 1.43 above tolerance");
/// assert_eq!(d.action, Action::ScaleUp);
/// let json = serde_json::to_string(&d).unwrap();
/// assert!(json.starts_with(r#"{"ts":15000,"resource":"membranes","policy":"hpa","action":"scale_up","from":3,"to":5"#));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Event time of the evaluation (ms).
    pub ts: u64,
    /// The resource scaled (default `membranes`).
    pub resource: String,
    /// `threshold` | `hpa` | `predictive`.
    pub policy: String,
    /// Derived from `from` and `to`.
    pub action: Action,
    /// Current replicas.
    pub from: u32,
    /// Desired replicas.
    pub to: u32,
    /// Why, in words a person reads in the flight recorder.
    pub reason: String,
    /// The utilisation the policy scaled on (SPEC §3; may exceed 1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub utilization: Option<f64>,
    /// The target utilisation (`hpa`, `predictive`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target_utilization: Option<f64>,
    /// The thresholds in force (`threshold`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thresholds: Option<Thresholds>,
    /// The policy's recommendation before stabilisation, rate limits and clamping.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recommendation: Option<u32>,
    /// Forecast demand over the horizon, in replicas' worth of load (`predictive`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub forecast: Option<f64>,
    /// Confidence in the forecast, 0..1 (`predictive`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub confidence: Option<f64>,
    /// The interval's fleet aggregates behind the decision (set by the dataflow; `simulate`,
    /// whose fleet is a model, leaves them out).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub interval: Option<IntervalSignals>,
}

/// What the fleet did during the interval `[ts − interval, ts)` an evaluation covers: the
/// numbers behind its utilisation (SPEC §3) and the queues. Written by the dataflow from its
/// windowed fleet view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IntervalSignals {
    /// Requests admitted in the interval.
    pub admitted: u64,
    /// Requests shed in the interval (`rate_limited`, `red_drop`, `queue_full`,
    /// `no_healthy_membrane`): demand the utilisation counts although it was not served.
    pub shed: u64,
    /// Mean over the ready membranes that reported of their mean queue fill
    /// (`queue_depth / queue_capacity`, 1 for a queue of capacity 0) in the interval; `None`
    /// when no ready membrane reported.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub queue_fill: Option<f64>,
}

impl Decision {
    /// A decision with only the mandatory fields; `action` follows from `from` and `to`.
    pub fn new(
        ts: u64,
        resource: &str,
        policy: &str,
        from: u32,
        to: u32,
        reason: impl Into<String>,
    ) -> Decision {
        Decision {
            ts,
            resource: resource.to_string(),
            policy: policy.to_string(),
            action: Action::between(from, to),
            from,
            to,
            reason: reason.into(),
            utilization: None,
            target_utilization: None,
            thresholds: None,
            recommendation: None,
            forecast: None,
            confidence: None,
            interval: None,
        }
    }

    /// Changes the desired count (and so the action) and the reason.
    pub fn retarget(&mut self, to: u32, reason: impl Into<String>) {
        self.to = to;
        self.action = Action::between(self.from, to);
        self.reason = reason.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_follows_from_and_to() {
        assert_eq!(Action::between(3, 4), Action::ScaleUp);
        assert_eq!(Action::between(3, 2), Action::ScaleDown);
        assert_eq!(Action::between(3, 3), Action::Hold);
        let mut d = Decision::new(0, "membranes", "threshold", 3, 3, "steady");
        assert_eq!(d.action, Action::Hold);
        d.retarget(1, "idle");
        assert_eq!(
            (d.action, d.to, d.reason.as_str()),
            (Action::ScaleDown, 1, "idle")
        );
    }

    #[test]
    fn optional_fields_are_omitted_and_round_trip() {
        let mut d = Decision::new(1, "membranes", "predictive", 2, 4, "forecast");
        d.forecast = Some(3.5);
        d.confidence = Some(0.8);
        let json = serde_json::to_string(&d).unwrap();
        assert!(!json.contains("thresholds"));
        assert!(json.contains(r#""forecast":3.5"#));
        let back: Decision = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert!(!json.contains("interval"));
        d.interval = Some(IntervalSignals {
            admitted: 90,
            shed: 10,
            queue_fill: None,
        });
        let json = serde_json::to_string(&d).unwrap();
        assert!(
            json.ends_with(r#""interval":{"admitted":90,"shed":10}}"#),
            "{json}"
        );
        let back: Decision = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}

//! Output records of the request path and the flight recorder (SPEC §2):
//! `echoflow.admitted`, `echoflow.rejections` and `echoflow.control-events`.
//!
//! Field names are the contract; fields beyond it are added where they help (`tenant`,
//! `feature` and `priority` on outcomes, so an outcome can be read without its request).
//! Every record has the sort key SPEC §4 fixes for output files, so replays compare byte for
//! byte whatever the number of workers.

use serde::{Deserialize, Serialize};

/// Why a request was not admitted. The order of the variants is the order of the checks
/// (SPEC §4): the first check that fails names the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Late,
    Offline,
    FeatureDisabled,
    RateLimited,
    NoHealthyMembrane,
    QueueFull,
    RedDrop,
}

impl Reason {
    /// Every reason, in check order.
    pub const ALL: [Reason; 7] = [
        Reason::Late,
        Reason::Offline,
        Reason::FeatureDisabled,
        Reason::RateLimited,
        Reason::NoHealthyMembrane,
        Reason::QueueFull,
        Reason::RedDrop,
    ];

    /// The wire name (`"rate_limited"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Late => "late",
            Reason::Offline => "offline",
            Reason::FeatureDisabled => "feature_disabled",
            Reason::RateLimited => "rate_limited",
            Reason::NoHealthyMembrane => "no_healthy_membrane",
            Reason::QueueFull => "queue_full",
            Reason::RedDrop => "red_drop",
        }
    }

    /// Whether this rejection is shed demand, which the autoscaler counts as load (SPEC §3).
    pub fn is_shed(self) -> bool {
        matches!(
            self,
            Reason::RateLimited | Reason::RedDrop | Reason::QueueFull | Reason::NoHealthyMembrane
        )
    }
}

/// `echoflow.admitted`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Admitted {
    pub id: String,
    pub ts: u64,
    pub membrane: String,
    /// The reservoir readout after the request's last input step.
    pub output: Vec<f64>,
    /// The degradation level in force (`normal`, `partial`, …).
    pub level: String,
    /// The model profile used: `full` or `reduced`.
    pub profile: String,
    pub tenant: String,
    pub feature: String,
    pub priority: String,
}

/// `echoflow.rejections`: the reason and the numbers behind it where they apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub id: String,
    pub ts: u64,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub membrane: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub avg_fill: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub drop_probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scale: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub level: Option<String>,
}

impl Rejection {
    /// A rejection with no numbers attached.
    pub fn new(id: impl Into<String>, ts: u64, reason: Reason) -> Self {
        Rejection {
            id: id.into(),
            ts,
            reason,
            membrane: None,
            avg_fill: None,
            drop_probability: None,
            scale: None,
            level: None,
        }
    }
}

/// `echoflow.control-events`: one state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlEvent {
    pub ts: u64,
    /// `aimd | degradation | breaker | membrane | config`.
    pub kind: String,
    /// What changed: a membrane id, `fleet`, `governor`, `pipeline`.
    pub subject: String,
    pub from: String,
    pub to: String,
    /// The new AIMD scale, on `aimd` events.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scale: Option<f64>,
    /// Position among the events of the same (ts, kind, subject): the fourth sort key.
    pub seq: u64,
}

/// Sort key of admitted and rejected records: (ts, id).
pub fn outcome_key(ts: u64, id: &str) -> (u64, String) {
    (ts, id.to_string())
}

/// One JSON line of a record (no trailing newline). Output records hold only strings, numbers
/// and finite floats, so serialisation cannot fail; a non-finite float would become `null`.
pub fn to_line<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_serialise_as_the_spec_names() {
        for r in Reason::ALL {
            assert_eq!(to_line(&r), format!("\"{}\"", r.as_str()));
        }
        let shed: Vec<_> = Reason::ALL.into_iter().filter(|r| r.is_shed()).collect();
        assert_eq!(
            shed,
            [
                Reason::RateLimited,
                Reason::NoHealthyMembrane,
                Reason::QueueFull,
                Reason::RedDrop
            ]
        );
    }

    #[test]
    fn rejection_omits_numbers_that_do_not_apply() {
        let mut r = Rejection::new("r1", 7, Reason::RedDrop);
        r.avg_fill = Some(0.8);
        r.drop_probability = Some(0.15);
        assert_eq!(
            to_line(&r),
            r#"{"id":"r1","ts":7,"reason":"red_drop","avg_fill":0.8,"drop_probability":0.15}"#
        );
    }
}

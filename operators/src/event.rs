//! The control events every operator here reports, in the shape of SPEC §2's
//! `echoflow.control-events` stream (`{"ts", "kind", "subject", "from", "to", ...}`).
//!
//! Each operator has its own typed transition (for tests and callers that want the enum values);
//! all of them convert into [`ControlEvent`], which holds exactly what the sink writes: the event
//! time, the kind, the subject, the wire names of the two states and the extra numbers (`scale` for
//! AIMD events as SPEC §2 requires, failure and slow-call rates for the breaker, …). Timers stamp
//! their events with the exact deadline (SPEC §4), never with the time they were noticed.

use std::fmt;

/// The `kind` field of a control event (`config` events are written by the pipeline itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Aimd,
    Degradation,
    Breaker,
    Membrane,
}

impl EventKind {
    /// The wire name: `aimd`, `degradation`, `breaker` or `membrane`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Aimd => "aimd",
            EventKind::Degradation => "degradation",
            EventKind::Breaker => "breaker",
            EventKind::Membrane => "membrane",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One state change, ready to be written as a SPEC §2 control event.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlEvent {
    /// Event time (ms) at which the change happened; a timer's exact deadline.
    pub at_ms: u64,
    pub kind: EventKind,
    /// What changed: a membrane id for `breaker`/`membrane`, `"governor"` for `aimd`, `"fleet"`
    /// for `degradation`.
    pub subject: String,
    /// Wire name of the state before (`normal`, `open`, `up`, …).
    pub from: &'static str,
    /// Wire name of the state after.
    pub to: &'static str,
    /// Extra numbers for the record, in a fixed order (`("scale", 0.5)`, `("failure_rate", 0.6)`, …).
    pub extra: Vec<(&'static str, f64)>,
}

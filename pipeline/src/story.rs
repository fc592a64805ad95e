//! The demo's story: what happens to the fleet, and when, as fractions of the run.
//!
//! | phase | from | offered load | the fleet |
//! |---|---|---|---|
//! | `normal` | 0 % | 1× | healthy |
//! | `surge` | 20 % | 2.5× | healthy: queues fill, cpu saturates |
//! | `failure` | 45 % | 1× | membrane `m-1` fails 90 % of its calls |
//! | `squeeze` | 60 % | 1× | memory +0.45 on every membrane |
//! | `recovery` | 80 % | 1× | healthy |
//!
//! The surge shows RED, degradation gating and the autoscaler; the failure the circuit breaker
//! moving traffic away; the squeeze the AIMD governor halving the admitted rate; the recovery
//! every loop stepping back. `echoflow demo` and `echoflow loadgen --story` play it against
//! [`crate::fleet_sim`].
//!
//! ```
//! use echoflow_pipeline::story::{Phase, Story};
//! let s = Story { start_ms: 0, duration_ms: 100_000, base_rate: 1_000.0 };
//! assert_eq!(s.phase(30_000), Phase::Surge);
//! assert_eq!(s.rate(30_000), 2_500.0);
//! assert_eq!(s.conditions(50_000).failing.get(&1), Some(&0.9));
//! ```

use crate::fleet_sim::Conditions;
use std::collections::BTreeMap;
use std::fmt;

/// The five phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Normal,
    Surge,
    Failure,
    Squeeze,
    Recovery,
}

impl Phase {
    /// The phases with the fraction of the run at which each starts.
    pub const STARTS: [(Phase, f64); 5] = [
        (Phase::Normal, 0.0),
        (Phase::Surge, 0.20),
        (Phase::Failure, 0.45),
        (Phase::Squeeze, 0.60),
        (Phase::Recovery, 0.80),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Normal => "normal",
            Phase::Surge => "surge",
            Phase::Failure => "failure",
            Phase::Squeeze => "squeeze",
            Phase::Recovery => "recovery",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Surge multiplier of the offered load.
pub const SURGE: f64 = 2.5;
/// The membrane that fails during `failure`, and how often.
pub const FAILING: (u32, f64) = (1, 0.9);
/// Memory added to every membrane during `squeeze`.
pub const SQUEEZE: f64 = 0.45;

/// One run of the story.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Story {
    pub start_ms: u64,
    pub duration_ms: u64,
    /// Offered requests per second outside the surge.
    pub base_rate: f64,
}

impl Story {
    /// The phase at event time `t`.
    pub fn phase(&self, t: u64) -> Phase {
        let f = t.saturating_sub(self.start_ms) as f64 / self.duration_ms.max(1) as f64;
        Phase::STARTS
            .iter()
            .rev()
            .find(|(_, from)| f >= *from)
            .map_or(Phase::Normal, |(p, _)| *p)
    }

    /// Event time at which `phase` starts.
    pub fn starts_at(&self, phase: Phase) -> u64 {
        let from = Phase::STARTS
            .iter()
            .find(|(p, _)| *p == phase)
            .map_or(0.0, |(_, f)| *f);
        self.start_ms + (from * self.duration_ms as f64).round() as u64
    }

    /// Offered requests per second at `t`.
    pub fn rate(&self, t: u64) -> f64 {
        match self.phase(t) {
            Phase::Surge => self.base_rate * SURGE,
            _ => self.base_rate,
        }
    }

    /// What the environment does to the fleet at `t`.
    pub fn conditions(&self, t: u64) -> Conditions {
        match self.phase(t) {
            Phase::Failure => Conditions {
                failing: BTreeMap::from([FAILING]),
                memory_squeeze: 0.0,
            },
            Phase::Squeeze => Conditions {
                failing: BTreeMap::new(),
                memory_squeeze: SQUEEZE,
            },
            _ => Conditions::default(),
        }
    }
}

/// The story's offered load as request times, one report period at a time: whole requests per
/// step, the fractional rest carried to the next step, spread evenly over the step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Arrivals {
    owed: f64,
}

impl Arrivals {
    /// The event times of the requests offered in `[t, next)`.
    pub fn step(&mut self, story: &Story, t: u64, next: u64) -> impl Iterator<Item = u64> + use<> {
        self.owed += story.rate(t) * next.saturating_sub(t) as f64 / 1000.0;
        let n = self.owed.floor() as u64;
        self.owed -= n as f64;
        (0..n).map(move |j| t + j * (next - t) / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_each_other_at_their_fractions() {
        let s = Story {
            start_ms: 1_000,
            duration_ms: 10_000,
            base_rate: 100.0,
        };
        let seen: Vec<Phase> = (0..10).map(|k| s.phase(1_000 + k * 1_000)).collect();
        use Phase::*;
        assert_eq!(
            seen,
            [
                Normal, Normal, Surge, Surge, Surge, Failure, Squeeze, Squeeze, Recovery, Recovery
            ]
        );
        assert_eq!(s.starts_at(Squeeze), 7_000);
        assert_eq!(s.rate(3_500), 250.0);
        assert_eq!(s.conditions(7_500).memory_squeeze, SQUEEZE);
        assert!(s.conditions(9_500).failing.is_empty());
    }

    #[test]
    fn arrivals_carry_the_fraction_and_spread_over_the_step() {
        let s = Story {
            start_ms: 0,
            duration_ms: 100_000,
            base_rate: 15.0,
        };
        let mut a = Arrivals::default();
        // 1.5 requests per 100 ms: 1, 2, 1, 2 …
        let steps: Vec<Vec<u64>> = (0..4)
            .map(|k| a.step(&s, k * 100, k * 100 + 100).collect())
            .collect();
        assert_eq!(steps, [vec![0], vec![100, 150], vec![200], vec![300, 350]]);
    }
}

//! The level envelope of `predictive`'s scale-down: the highest load *level* that began within
//! a window.
//!
//! A level begins at an observation whose load differs from the previous observation's by more
//! than a relative 1e-9 (rounding: the load is utilisation × ready replicas, recomputed when
//! the fleet changes size), and counts from the time it began, however long it lasts. An
//! observation whose load exceeds the ready replicas' capacity is not a level: the load then
//! includes the backlog draining into the fleet (SPEC §5's offered utilisation), not demand.
//!
//! `predictive` asks it for the highest level that began within `scale_down_stabilization_ms`
//! (300 s, the window of the Kubernetes HPA's scale-down stabilisation) and keeps the replicas
//! for it on every scale-down. HPA's window holds the highest load *seen* in the window; a
//! level that *began* within it is load that came back within it (bursts every few minutes),
//! while a level that held for a whole window and then dropped is a level shift, which
//! `predictive` releases one horizon after the drop. On load that changes at every evaluation
//! every observation is a level and the envelope is HPA's window over the load. No constant of
//! its own; measured in BENCHMARKS.md "Eighth round (session 10)" and again on the corrected
//! fleet model in "Ninth round (session 11)" (without the envelope 0 of 11 one-minute web
//! weeks dominated instead of 11; counting overloaded observations as levels 20 of 24 old NAB
//! series instead of 23).
//!
//! ```
//! use echoflow_operators::autoscale::level_envelope::LevelEnvelope;
//! let mut e = LevelEnvelope::default();
//! e.observe(0, 3.0, 8.0);        // a level of 3 begins at 0 s
//! e.observe(15_000, 3.0, 8.0);   // the same level: nothing new
//! e.observe(300_000, 1.0, 8.0);  // a drop after a whole window at 3
//! assert_eq!(e.highest(300_000, 300_000), Some(1.0)); // the level of 3 began 300 s ago
//! e.observe(315_000, 2.5, 8.0);
//! e.observe(330_000, 9.0, 8.0);  // above the 8 ready replicas: backlog, not a level
//! e.observe(345_000, 1.0, 8.0);
//! assert_eq!(e.highest(345_000, 300_000), Some(2.5));
//! ```

use std::collections::VecDeque;

use crate::autoscale::drop_older;

/// The levels that began within the window asked about last, oldest first.
#[derive(Debug, Clone, Default)]
pub struct LevelEnvelope {
    last: Option<f64>,
    levels: VecDeque<(u64, f64)>,
}

impl LevelEnvelope {
    /// Observes the load (in replicas' worth) at `now`, with `ready` replicas serving it.
    pub fn observe(&mut self, now: u64, load: f64, ready: f64) {
        // Relative to rounding: the load is utilisation × ready replicas, recomputed when the
        // fleet changes size, so an unchanged load may differ in its last bits.
        let begins = self
            .last
            .is_none_or(|x| (x - load).abs() > 1e-9 * x.abs().max(load.abs()));
        self.last = Some(load);
        if begins && load <= ready {
            self.levels.push_back((now, load));
        }
    }

    /// The highest level that began within `window_ms` before `now` (`None` if none did).
    pub fn highest(&mut self, now: u64, window_ms: u64) -> Option<f64> {
        drop_older(&mut self.levels, now, window_ms);
        self.levels.iter().map(|&(_, x)| x).reduce(f64::max)
    }
}

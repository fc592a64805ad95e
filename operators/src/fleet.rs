//! The fleet view of the fast path: membrane pool, degradation level and AIMD governor, driven
//! by telemetry and event time alone (SPEC §3, §4).
//!
//! # Algorithm
//!
//! For every event time `t` at which the dataflow has something to do, the caller
//!
//! 1. calls [`FleetState::advance_to`]`(t)`: every timer due by `t` fires at its exact deadline —
//!    membrane TTL expiries and breaker Open → HalfOpen ([`MembranePool::advance_to`]), AIMD
//!    recovery ticks ([`Governor::advance_to`]) and degradation recovery steps
//!    ([`Degradation::advance_to`]);
//! 2. applies the telemetry reports stamped `t`, in (membrane, input position) order, with
//!    [`FleetState::on_telemetry`]: each updates its membrane (registration, breaker, RED average);
//! 3. calls [`FleetState::settle`]`(t, extra_pressure)` once: the fleet readings (means over the
//!    ready membranes) are fed to degradation (mean cpu, mean memory) and to the governor
//!    (pressure = max of mean memory, mean RED average fill and `extra_pressure`, the process's
//!    own memory pressure in `run`, `None` in `replay`);
//! 4. then routes the requests stamped `t` against [`FleetState::pool`], [`FleetState::level`]
//!    and [`FleetState::scale`].
//!
//! Because the state is a function of the telemetry and of the times processed, and timers catch
//! up exactly (firing at `t₂` after `t₁` equals firing at `t₂` directly), every worker that
//! receives all telemetry holds the same fleet view, whatever requests it routes. Every state
//! change comes back as a [`ControlEvent`]; AIMD changes also as [`ScaleChange`]s, which the
//! caller applies to its token buckets at their exact time.
//!
//! ```
//! use echoflow_operators::fleet::{FleetConfig, FleetState};
//! use echoflow_operators::membrane_pool::Telemetry;
//! use echoflow_operators::degradation::Level;
//!
//! let mut fleet = FleetState::new(FleetConfig::default());
//! let hot = Telemetry { membrane: "m-1".into(), ts: 1_000, cpu: 0.85, ..Telemetry::default() };
//! let mut step = fleet.advance_to(1_000);
//! fleet.on_telemetry(&hot, &mut step);
//! fleet.settle(1_000, None, &mut step);
//! assert_eq!(fleet.level(), Level::Minimal);             // cpu 0.85 ≥ minimal (0.80)
//! let kinds: Vec<_> = step.events.iter().map(|e| e.kind.as_str()).collect();
//! assert_eq!(kinds, ["membrane", "degradation"]);       // up, then normal → minimal
//! ```

use crate::aimd::{AimdConfig, AimdEvent, Governor};
use crate::degradation::{Degradation, DegradationConfig, Level};
use crate::event::ControlEvent;
use crate::membrane_pool::{FleetReadings, MembranePool, PoolConfig, Telemetry};

/// The parameters of the fleet view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetConfig {
    pub pool: PoolConfig,
    pub aimd: AimdConfig,
    pub degradation: DegradationConfig,
}

/// A change of the AIMD scale at an exact event time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleChange {
    pub at_ms: u64,
    pub scale: f64,
}

/// What one step changed, in the order it happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub events: Vec<ControlEvent>,
    pub scale_changes: Vec<ScaleChange>,
}

impl Step {
    fn aimd(&mut self, events: Vec<AimdEvent>) {
        for e in events {
            self.scale_changes.push(ScaleChange {
                at_ms: e.at_ms,
                scale: e.scale,
            });
            self.events.push(e.into());
        }
    }
}

/// Pool, degradation and governor together. See the module documentation.
#[derive(Debug, Clone)]
pub struct FleetState {
    pool: MembranePool,
    governor: Governor,
    degradation: Degradation,
    readings: Option<FleetReadings>,
}

impl FleetState {
    pub fn new(cfg: FleetConfig) -> Self {
        FleetState {
            pool: MembranePool::new(cfg.pool),
            governor: Governor::new(cfg.aimd),
            degradation: Degradation::new(cfg.degradation),
            readings: None,
        }
    }

    pub fn pool(&self) -> &MembranePool {
        &self.pool
    }

    /// The degradation level in force.
    pub fn level(&self) -> Level {
        self.degradation.level()
    }

    /// The AIMD scale in force.
    pub fn scale(&self) -> f64 {
        self.governor.scale()
    }

    pub fn governor(&self) -> &Governor {
        &self.governor
    }

    /// The fleet readings of the latest [`FleetState::settle`], if a membrane was ready.
    pub fn readings(&self) -> Option<FleetReadings> {
        self.readings
    }

    /// The earliest pending timer of any part.
    pub fn next_deadline(&self) -> Option<u64> {
        [
            self.pool.next_deadline(),
            self.governor.next_deadline(),
            self.degradation.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires every timer due by `now_ms`, in deadline order across the parts (pool, then
    /// degradation, then governor at equal deadlines).
    pub fn advance_to(&mut self, now_ms: u64) -> Step {
        let mut step = Step::default();
        while let Some(d) = self.next_deadline().filter(|d| *d <= now_ms) {
            for e in self.pool.advance_to(d) {
                step.events.push(e.to_control_event());
            }
            for e in self.degradation.advance_to(d) {
                step.events.push(e.into());
            }
            step.aimd(self.governor.advance_to(d));
        }
        for e in self.pool.advance_to(now_ms) {
            step.events.push(e.to_control_event());
        }
        for e in self.degradation.advance_to(now_ms) {
            step.events.push(e.into());
        }
        step.aimd(self.governor.advance_to(now_ms));
        step
    }

    /// Applies one telemetry report (after [`FleetState::advance_to`] its ts).
    pub fn on_telemetry(&mut self, report: &Telemetry, step: &mut Step) {
        for e in self.pool.on_telemetry(report) {
            step.events.push(e.to_control_event());
        }
    }

    /// Feeds the fleet readings at `now_ms` to degradation and the governor. `extra_pressure` is
    /// the process's own memory pressure (`run` only). Does nothing while no membrane is ready.
    pub fn settle(&mut self, now_ms: u64, extra_pressure: Option<f64>, step: &mut Step) {
        self.readings = self.pool.fleet(now_ms);
        let Some(r) = self.readings else {
            return;
        };
        for e in self.degradation.on_reading(now_ms, r.cpu, r.memory) {
            step.events.push(e.into());
        }
        let pressure = extra_pressure
            .filter(|p| p.is_finite())
            .map_or(r.memory.max(r.avg_fill), |p| {
                p.max(r.memory).max(r.avg_fill)
            });
        step.aimd(self.governor.on_pressure(now_ms, pressure));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aimd::GovernorState;
    use proptest::prelude::*;

    fn report(m: &str, ts: u64, memory: f64) -> Telemetry {
        Telemetry {
            membrane: m.into(),
            ts,
            memory,
            cpu: 0.1,
            ..Telemetry::default()
        }
    }

    fn feed(f: &mut FleetState, reports: &[Telemetry], upto: u64) -> Vec<ControlEvent> {
        let mut out = Vec::new();
        for r in reports {
            let mut s = f.advance_to(r.ts);
            f.on_telemetry(r, &mut s);
            f.settle(r.ts, None, &mut s);
            out.extend(s.events);
        }
        out.extend(f.advance_to(upto).events);
        out
    }

    #[test]
    fn memory_pressure_halves_then_ticks_recover_at_exact_deadlines() {
        let mut f = FleetState::new(FleetConfig::default());
        let ev = feed(
            &mut f,
            &[report("m", 1_000, 0.8), report("m", 2_000, 0.1)],
            2_100,
        );
        let aimd: Vec<_> = ev.iter().filter(|e| e.kind.as_str() == "aimd").collect();
        assert_eq!((aimd[0].at_ms, aimd[0].to), (1_000, "degraded"));
        assert_eq!((aimd[1].at_ms, aimd[1].to), (2_000, "recovering"));
        // Ticks every 50 ms after recovery began: 2_050 and 2_100.
        assert_eq!(aimd[2].at_ms, 2_050);
        assert_eq!(aimd[3].at_ms, 2_100);
        assert!((f.scale() - 0.6).abs() < 1e-12);
        assert_eq!(f.governor().state(), GovernorState::Recovering);
    }

    #[test]
    fn silence_expires_the_membrane_at_its_deadline() {
        let mut f = FleetState::new(FleetConfig::default());
        let ev = feed(&mut f, &[report("m", 1_000, 0.1)], 100_000);
        let last = ev.last().unwrap();
        assert_eq!(
            (last.kind.as_str(), last.at_ms, last.to),
            ("membrane", 31_000, "down")
        );
        assert!(f.pool().is_empty());
    }

    #[test]
    fn no_ready_membrane_leaves_level_and_scale() {
        let mut f = FleetState::new(FleetConfig::default());
        let mut s = f.advance_to(5);
        f.settle(5, Some(0.99), &mut s);
        assert!(s.events.is_empty());
        assert_eq!((f.level(), f.scale()), (Level::Normal, 1.0));
    }

    proptest! {
        /// Advancing in any number of steps gives the same events and state as the readings alone.
        #[test]
        fn catching_up_in_steps_equals_one_jump(
            mems in proptest::collection::vec(0.0f64..1.0, 1..20),
            cuts in proptest::collection::vec(0u64..5_000, 0..10),
        ) {
            let reports: Vec<_> = mems.iter().enumerate()
                .map(|(i, m)| report(if i % 2 == 0 { "a" } else { "b" }, 1_000 * i as u64, *m))
                .collect();
            let end = 1_000 * reports.len() as u64 + 60_000;
            let mut a = FleetState::new(FleetConfig::default());
            let ea = feed(&mut a, &reports, end);
            let mut b = FleetState::new(FleetConfig::default());
            let mut eb = Vec::new();
            let mut cuts = cuts;
            cuts.sort();
            for r in &reports {
                for c in cuts.iter().filter(|c| **c < r.ts) {
                    eb.extend(b.advance_to(*c).events);
                }
                let mut s = b.advance_to(r.ts);
                b.on_telemetry(r, &mut s);
                b.settle(r.ts, None, &mut s);
                eb.extend(s.events);
            }
            eb.extend(b.advance_to(end).events);
            prop_assert_eq!(ea, eb);
            prop_assert_eq!(a.scale(), b.scale());
            prop_assert_eq!(a.level(), b.level());
        }
    }
}

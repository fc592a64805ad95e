//! The slow loop's fleet view as differential-dataflow collections (SPEC §3 "Autoscaling").
//!
//! The autoscaler decides, every `autoscaler.interval_ms` of event time, on who is registered and
//! what they did during the last interval. Both are sliding views over the telemetry and the
//! request outcomes, and both are collections that gain *and lose* members as event time moves:
//! exactly what differential dataflow maintains incrementally. Three collections, over the
//! dataflow's event time (ms):
//!
//! * **alive** — the registered membranes. A report at `ts` inserts its membrane at `ts + 1` and
//!   retracts it at `ts + ttl` (`routing.membrane_ttl_ms`, 30 s): the TTL expiry *is* the
//!   retraction. `distinct_total` turns the overlapping reports into membership (0 or 1). The
//!   `+ 1` is SPEC §4's order: an evaluation at `E` runs before the data at `E`, so a report at
//!   `E` counts from `E + 1`; the retraction at `ts + ttl` is [`MembranePool`]'s expiry timer at
//!   `last report + ttl` (the two agree: debug builds assert it at every evaluation).
//! * **window** — per membrane, the sums of `cpu`, `latency_ms` and queue fill
//!   (`queue_depth / queue_capacity`) and the number of reports in the interval
//!   `[E − interval, E)`: each report enters at `ts + 1` and leaves at `ts + 1 + interval`.
//!   The sums ride in the *difference* (differential's `explode` idiom), so consolidation adds
//!   them up; they are fixed point (2⁻⁴⁰ units, [`to_fixed`]) because a retraction must cancel
//!   its insertion exactly, which `f64` addition does not guarantee (`(a + b) − a ≠ b` in
//!   general). A reading moves by at most 2⁻⁴¹ ≈ 4.5·10⁻¹³.
//! * **outcomes** — the fleet's admitted and shed request counts in the same window, from every
//!   worker's per-timestamp [`Counts`].
//!
//! Each collection is consolidated (arranged by key, so the reports of a membrane meet on one
//! worker whatever the number of workers), and its changes go to worker 0 as [`Update`]s with
//! the time they take effect. There [`FleetViewState`] integrates them: the view at `E` is the
//! accumulation of every change at a time `≤ E`, read once the changes' frontier has passed `E`.
//!
//! Differential earns its place here, and only here: the slow loop's state is a set of windowed
//! aggregates with expiry, where an update's effect is undone later by a retraction.
//! The fast path (see [`super::control`]) is plain timely: token buckets, breakers, EWMAs and
//! hysteresis are state machines whose next state depends on the previous one in event-time
//! order; they have nothing to retract.
//!
//! [`MembranePool`]: echoflow_operators::membrane_pool::MembranePool
//! [`Counts`]: super::control::Counts

use super::control::Counts;
use differential_dataflow::AsCollection;
use differential_dataflow::operators::ThresholdTotal;
use echoflow_connectors::ingest::Record;
use echoflow_operators::autoscale::decision::IntervalSignals;
use echoflow_operators::autoscale::utilization::IntervalAggregator;
use echoflow_operators::membrane_pool::Telemetry;
use echoflow_operators::red::fill;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use timely::dataflow::StreamVec;
use timely::dataflow::operators::Concatenate;
use timely::dataflow::operators::vec::Map;

/// Fixed-point units per unit of a summed reading: 2⁴⁰ (a power of two, so scaling is exact).
pub const FIXED_SCALE: f64 = (1u64 << 40) as f64;

/// Largest reading that is summed (larger ones are clamped): 10¹² (ms of latency: 31 years),
/// so that window sums stay far inside `i128`.
pub const FIXED_MAX: f64 = 1e12;

/// A reading in fixed point: `round(x · 2⁴⁰)`, clamped to `0..=FIXED_MAX` (NaN → 0).
///
/// ```
/// use echoflow_pipeline::dataflow::fleet_view::{from_fixed, to_fixed};
/// assert_eq!(to_fixed(0.5), 1 << 39);
/// let (a, b) = (to_fixed(0.7), to_fixed(0.2));
/// assert_eq!(a + b - a, b); // a retraction cancels exactly
/// assert!((from_fixed(b) - 0.2).abs() < 1e-12);
/// assert_eq!(to_fixed(-1.0), 0);
/// ```
pub fn to_fixed(x: f64) -> i128 {
    (x.clamp(0.0, FIXED_MAX) * FIXED_SCALE).round() as i128
}

/// A fixed-point sum back in units.
pub fn from_fixed(x: i128) -> f64 {
    x as f64 / FIXED_SCALE
}

/// One change to the fleet view, taking effect at the time it travels with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Update {
    /// The membrane's registration changes by `diff` (±1).
    Alive { membrane: String, diff: i64 },
    /// The membrane's window sums change (fixed point, see [`to_fixed`]).
    Window {
        membrane: String,
        cpu: i128,
        latency: i128,
        queue: i128,
        samples: i64,
    },
    /// The fleet's windowed outcome counts change.
    Outcomes { admitted: i64, shed: i64 },
    /// Data exists at this time (an evaluation may be due): no change to the view.
    Tick,
}

/// Window sums of one membrane: (cpu, latency, queue fill) in fixed point, and the number of
/// reports.
type Sums = (i128, i128, i128, i64);

/// Builds the three collections from the on-time telemetry (each report once, not the broadcast
/// copies) and every worker's outcome counts, and returns their consolidated changes as
/// `(time, update)` pairs, plus a [`Update::Tick`] at each time that has counts. Route the result
/// to the worker that evaluates.
pub fn fleet_view<'scope>(
    telemetry: StreamVec<'scope, u64, Record<Telemetry>>,
    counts: StreamVec<'scope, u64, Counts>,
    membrane_ttl_ms: u64,
    interval_ms: u64,
) -> StreamVec<'scope, u64, (u64, Update)> {
    let ttl = membrane_ttl_ms;
    let interval = interval_ms.max(1);
    let scope = telemetry.scope();

    let alive = telemetry
        .clone()
        .flat_map(move |r| {
            let m = r.value.membrane;
            [(m.clone(), r.ts + 1, 1isize), (m, r.ts + ttl, -1isize)]
        })
        .as_collection()
        .distinct_total()
        .inner
        .map(|(membrane, t, diff)| {
            let diff = diff as i64;
            (t, Update::Alive { membrane, diff })
        });

    let window = telemetry
        .flat_map(move |r| {
            let v = &r.value;
            let queue = fill(v.queue_depth, v.queue_capacity);
            let s: Sums = (to_fixed(v.cpu), to_fixed(v.latency_ms), to_fixed(queue), 1);
            let m = r.value.membrane;
            let (enter, leave) = (r.ts + 1, r.ts + 1 + interval);
            [(m.clone(), enter, s), (m, leave, (-s.0, -s.1, -s.2, -s.3))]
        })
        .as_collection()
        .consolidate()
        .inner
        .map(|(membrane, t, (cpu, latency, queue, samples))| {
            let u = Update::Window {
                membrane,
                cpu,
                latency,
                queue,
                samples,
            };
            (t, u)
        });

    let outcomes = counts
        .clone()
        .flat_map(move |c| {
            let (a, s) = (c.admitted as i64, c.shed as i64);
            let (enter, leave) = (c.ts + 1, c.ts + 1 + interval);
            [((), enter, (a, s)), ((), leave, (-a, -s))]
        })
        .as_collection()
        .consolidate()
        .inner
        .map(|((), t, (admitted, shed))| (t, Update::Outcomes { admitted, shed }));

    let ticks = counts.map(|c| (c.ts, Update::Tick));
    scope.concatenate([alive, window, outcomes, ticks])
}

/// Worker 0's integral of the [`Update`]s: the fleet view at any time whose changes have all
/// arrived.
///
/// ```
/// use echoflow_pipeline::dataflow::fleet_view::{FleetViewState, Update, to_fixed};
/// let mut v = FleetViewState::default();
/// v.push(1_001, Update::Alive { membrane: "m1".into(), diff: 1 });
/// v.push(1_001, Update::Window {
///     membrane: "m1".into(), cpu: to_fixed(0.5), latency: 0, queue: 0, samples: 1,
/// });
/// v.push(31_000, Update::Alive { membrane: "m1".into(), diff: -1 });
/// v.advance_to(15_000);
/// assert_eq!(v.registered().collect::<Vec<_>>(), ["m1"]);
/// v.advance_to(31_000);
/// assert_eq!(v.registered().count(), 0);
/// ```
#[derive(Debug, Default)]
pub struct FleetViewState {
    pending: BTreeMap<u64, Vec<Update>>,
    alive: BTreeMap<String, i64>,
    windows: BTreeMap<String, Sums>,
    outcomes: (i64, i64),
}

impl FleetViewState {
    /// A change that takes effect at `time`.
    pub fn push(&mut self, time: u64, update: Update) {
        if update != Update::Tick {
            self.pending.entry(time).or_default().push(update);
        }
    }

    /// Applies every change at a time `≤ e` (the caller knows they have all arrived).
    pub fn advance_to(&mut self, e: u64) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > e {
                break;
            }
            for u in entry.remove() {
                self.apply(u);
            }
        }
    }

    fn apply(&mut self, u: Update) {
        match u {
            Update::Alive { membrane, diff } => {
                let n = self.alive.entry(membrane.clone()).or_default();
                *n += diff;
                if *n == 0 {
                    self.alive.remove(&membrane);
                }
            }
            Update::Window {
                membrane,
                cpu,
                latency,
                queue,
                samples,
            } => {
                let s = self.windows.entry(membrane.clone()).or_default();
                *s = (s.0 + cpu, s.1 + latency, s.2 + queue, s.3 + samples);
                if *s == (0, 0, 0, 0) {
                    self.windows.remove(&membrane);
                }
            }
            Update::Outcomes { admitted, shed } => {
                self.outcomes = (self.outcomes.0 + admitted, self.outcomes.1 + shed);
            }
            Update::Tick => {}
        }
    }

    /// The registered membranes, by id (byte order).
    pub fn registered(&self) -> impl Iterator<Item = &str> + '_ {
        self.alive
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(m, _)| m.as_str())
    }

    /// The current window as an [`IntervalAggregator`] ready to [`finish`] with the pods' phases.
    ///
    /// [`finish`]: IntervalAggregator::finish
    pub fn interval(&self) -> IntervalAggregator {
        let mut agg = IntervalAggregator::default();
        for (m, &(cpu, latency, _, samples)) in &self.windows {
            if samples > 0 {
                let n = u32::try_from(samples).unwrap_or(u32::MAX);
                agg.summed(m, from_fixed(cpu), from_fixed(latency), n);
            }
        }
        let (admitted, shed) = self.outcomes;
        agg.outcomes(admitted.max(0) as u64, shed.max(0) as u64);
        agg
    }

    /// The interval's outcome counts and the mean queue fill over the membranes `ready` accepts
    /// that reported in the interval (each membrane's mean over its reports).
    ///
    /// ```
    /// use echoflow_pipeline::dataflow::fleet_view::{FleetViewState, Update, to_fixed};
    /// let mut v = FleetViewState::default();
    /// let w = |m: &str, q: f64| Update::Window {
    ///     membrane: m.into(), cpu: 0, latency: 0, queue: to_fixed(q), samples: 1,
    /// };
    /// v.push(5, w("a", 0.5));
    /// v.push(5, w("a", 0.25));
    /// v.push(5, w("b", 0.9));
    /// v.push(5, Update::Outcomes { admitted: 7, shed: 3 });
    /// v.advance_to(5);
    /// let s = v.signals(|m| m == "a");
    /// assert_eq!((s.admitted, s.shed), (7, 3));
    /// assert_eq!(s.queue_fill, Some(0.375)); // b is not ready
    /// assert_eq!(v.signals(|_| false).queue_fill, None);
    /// ```
    pub fn signals(&self, ready: impl Fn(&str) -> bool) -> IntervalSignals {
        let (sum, n) = self
            .windows
            .iter()
            .filter(|(m, s)| s.3 > 0 && ready(m))
            .map(|(_, &(_, _, queue, samples))| from_fixed(queue) / samples as f64)
            .fold((0.0, 0u32), |(s, n), q| (s + q, n + 1));
        let (admitted, shed) = self.outcomes;
        IntervalSignals {
            admitted: admitted.max(0) as u64,
            shed: shed.max(0) as u64,
            queue_fill: (n > 0).then(|| sum / f64::from(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use echoflow_operators::autoscale::utilization::PodPhase;

    #[test]
    fn fixed_point_retractions_cancel_exactly() {
        let xs = [0.1, 0.2, 0.7, 0.3333333333, 1.0];
        let total: i128 = xs.iter().map(|&x| to_fixed(x)).sum();
        let back = total - to_fixed(0.1) - to_fixed(0.2) - to_fixed(0.7) - to_fixed(1.0);
        assert_eq!(back, to_fixed(0.3333333333));
        assert_eq!(to_fixed(f64::NAN), 0);
        assert_eq!(to_fixed(f64::INFINITY), to_fixed(FIXED_MAX));
    }

    #[test]
    fn changes_apply_only_up_to_the_time_asked() {
        let mut v = FleetViewState::default();
        let w = |cpu: f64, samples: i64| Update::Window {
            membrane: "a".into(),
            cpu: to_fixed(cpu) * i128::from(samples.signum()),
            latency: to_fixed(10.0) * i128::from(samples.signum()),
            queue: 0,
            samples,
        };
        v.push(11, w(0.4, 1));
        v.push(21, w(0.8, 1));
        v.push(26, w(0.4, -1)); // the first report leaves the window
        v.push(
            11,
            Update::Outcomes {
                admitted: 9,
                shed: 3,
            },
        );
        v.advance_to(20);
        let view = v.interval().finish([("a", PodPhase::Ready)]);
        let u = view.pods[0].utilization.unwrap_or(0.0);
        assert!((u - 0.4 * (1.0 + 3.0 / 9.0)).abs() < 1e-12, "{u}");
        v.advance_to(25);
        let view = v.interval().finish([("a", PodPhase::Ready)]);
        assert!((view.pods[0].utilization.unwrap_or(0.0) - 0.6 * (4.0 / 3.0)).abs() < 1e-12);
        v.advance_to(26);
        let view = v.interval().finish([("a", PodPhase::Ready)]);
        assert!((view.pods[0].utilization.unwrap_or(0.0) - 0.8 * (4.0 / 3.0)).abs() < 1e-12);
        assert_eq!(view.latency_ms, Some(10.0));
    }

    #[test]
    fn a_membrane_leaves_when_its_count_reaches_zero() {
        let mut v = FleetViewState::default();
        let alive = |diff| Update::Alive {
            membrane: "m".into(),
            diff,
        };
        v.push(5, alive(1));
        v.push(9, alive(-1));
        v.push(9, Update::Tick);
        v.advance_to(8);
        assert_eq!(v.registered().count(), 1);
        v.advance_to(9);
        assert_eq!(v.registered().count(), 0);
        assert!(v.pending.is_empty());
    }
}

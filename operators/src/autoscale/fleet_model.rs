//! The modelled fleet of `echoflow simulate` (SPEC §5), as a pure state machine, and the loop
//! that drives a policy against it.
//!
//! - **Playback.** Row i of the trace is the demand (requests per second after scaling) for the
//!   slot [i·`row_ms`, (i+1)·`row_ms`) — step-hold, no interpolation. One constant scales every
//!   row so that the `peak_quantile` (0.99) quantile of the rows — linear interpolation between
//!   order statistics, NumPy's default `method="linear"` — equals `peak_utilization` (0.8) ×
//!   `max_replicas` × `capacity_rps`.
//! - **Replicas.** The run starts with ⌈first demand / (`capacity_rps` × `target_utilization`)⌉
//!   replicas, clamped to [min, max], all ready. A replica added by a decision is present but not
//!   ready for `startup_ms` (60 s); a removed replica goes at once, the most recently started ones
//!   first, then ready ones.
//! - **Queue.** Every step of `step_ms` (1 s) the backlog grows by (demand − ready capacity) ×
//!   step and never goes below zero; delay = backlog / ready capacity. A minute violates the SLO
//!   when the delay exceeds `slo_ms` at any step in it; `delay_seconds_over_slo` integrates
//!   max(0, delay − slo).
//! - **What the policy sees.** Every `interval_ms` (15 s, first at t = interval) the policy
//!   evaluates a [`FleetView`]: each ready replica with the mean over the interval's steps of the
//!   offered utilisation (demand + backlog / interval) / ready capacity, which may exceed 1 —
//!   starting replicas are present but not ready (Kubernetes' unready pods) and report cpu 0 —
//!   plus the mean delay as latency. A replica that became ready during the interval counts
//!   only the steps since (its starting steps served nothing: 0), as SPEC §3's mean cpu over
//!   the interval counts a membrane's samples; so the view's load in replicas' worth (mean
//!   utilisation × ready replicas) is the interval's mean offered load whether or not replicas
//!   became ready in it. (Before session 11 every ready replica reported the whole interval's
//!   mean: at the evaluation where replicas became ready the load was overstated by the ratio
//!   of ready replicas after to before — 1 → 10 replicas read a spike ten times its size.)
//!   The decision is applied at once (step order within a step: replicas whose start-up ended
//!   become ready, then the evaluation, then the queue).
//!   echoflow note: by SPEC §3 a membrane's utilisation is mean cpu × (1 + shed / admitted);
//!   with cpu = served / capacity and shed = offered − served this equals the offered
//!   utilisation above, so the model needs no separate shed counter.
//! - **Bookkeeping.** `replica_minutes` integrates present replicas (ready or starting);
//!   `reversals` counts moves opposite to the previous move within 10 minutes of it
//!   ([`Reversals`], the count `predictive`'s flap budget keeps too).
//!
//! Everything is deterministic: no randomness, no clock; the same trace and configuration give
//! the same timeline and decisions.

use serde::Serialize;

use crate::autoscale::config::{AutoscalerConfig, ConfigError, SimulateConfig};
use crate::autoscale::decision::{Action, Decision};
use crate::autoscale::flap_budget::Reversals;
use crate::autoscale::policy::Policy;
use crate::autoscale::utilization::{FleetView, PodSample};

/// Why a model cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// No rows.
    #[error("the trace has no rows")]
    EmptyTrace,
    /// A value is negative or not finite (0-based row index among the values).
    #[error("row {row}: value {value} is not a finite number >= 0")]
    BadValue {
        /// Row index (0-based, data rows only).
        row: usize,
        /// The value.
        value: f64,
    },
    /// The peak quantile is 0, so no scale makes it the fleet's peak.
    #[error("the {quantile} quantile of the trace is {peak}; it must be > 0 to scale the trace")]
    NoPeak {
        /// The quantile asked for.
        quantile: f64,
        /// Its value.
        peak: f64,
    },
    /// Playback spacing is zero.
    #[error("row spacing is 0 ms: set simulate.row_ms or give the trace distinct timestamps")]
    ZeroRowSpacing,
    /// The fleet must keep at least one replica.
    #[error("autoscaler.min_replicas = 0: the simulated fleet needs at least one replica")]
    NoFloor,
    /// A parameter is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The `q` quantile of `values` with linear interpolation between order statistics (NumPy's
/// default): position q·(n − 1) in the sorted values.
///
/// ```
/// use echoflow_operators::autoscale::fleet_model::quantile_linear;
/// assert_eq!(quantile_linear(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
/// assert_eq!(quantile_linear(&[10.0, 0.0, 5.0], 1.0), Some(10.0));
/// assert!((quantile_linear(&(1..=100).map(f64::from).collect::<Vec<_>>(), 0.99).unwrap() - 99.01).abs() < 1e-9);
/// ```
pub fn quantile_linear(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The median spacing of ascending timestamps (ms); `None` with fewer than two. An even count
/// of spacings takes the mean of the two middle ones (NumPy's median).
pub fn median_spacing_ms(timestamps_ms: &[i64]) -> Option<u64> {
    if timestamps_ms.len() < 2 {
        return None;
    }
    let mut d: Vec<i64> = timestamps_ms.windows(2).map(|w| w[1] - w[0]).collect();
    d.sort_unstable();
    let n = d.len();
    let m = if n % 2 == 1 {
        d[n / 2] as f64
    } else {
        (d[n / 2 - 1] as f64 + d[n / 2] as f64) / 2.0
    };
    Some(m.max(0.0).round() as u64)
}

/// One simulated minute (a row of `timeline.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinuteRow {
    /// Minute index from the start.
    pub minute: u64,
    /// Mean demand (requests per second).
    pub demand_rps: f64,
    /// Mean ready capacity (requests per second).
    pub ready_capacity_rps: f64,
    /// Mean present replicas (ready or starting).
    pub replicas: f64,
    /// Mean ready replicas.
    pub ready_replicas: f64,
    /// Present replicas integrated over this minute (replica-minutes).
    pub replica_minutes: f64,
    /// Largest modelled delay in the minute (s).
    pub max_delay_s: f64,
    /// Delay above the SLO integrated over the minute (s).
    pub delay_over_slo_s: f64,
    /// Whether the minute violates the SLO.
    pub violation: bool,
    /// Backlog at the end of the minute (requests).
    pub backlog: f64,
}

/// The run's totals (`summary.json`; the trace name is added by the caller).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// `threshold` | `hpa` | `predictive`.
    pub policy: String,
    /// Simulated time in minutes.
    pub simulated_minutes: f64,
    /// Minutes in which the delay exceeded the SLO at some step.
    pub slo_violation_minutes: u64,
    /// ∫ max(0, delay − slo) dt, seconds.
    pub delay_seconds_over_slo: f64,
    /// ∫ present replicas dt, minutes.
    pub replica_minutes: f64,
    /// `replica_minutes` − `min_replicas` × minutes.
    pub replica_minutes_above_min: f64,
    /// Decisions that added replicas.
    pub scale_ups: u64,
    /// Decisions that removed replicas.
    pub scale_downs: u64,
    /// Moves opposite to the previous move within 10 minutes of it.
    pub reversals: u64,
    /// Most replicas present at once.
    pub max_replicas_used: u32,
    /// NRMSE of the policy's horizon forecasts (`predictive` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_nrmse: Option<f64>,
    /// Rows in the trace.
    pub rows: usize,
    /// Playback spacing of the rows (ms).
    pub row_ms: u64,
    /// The constant the rows were multiplied by to get requests per second.
    pub demand_scale: f64,
    /// Replicas at the start.
    pub initial_replicas: u32,
    /// Policy evaluations (decisions emitted, holds included).
    pub evaluations: u64,
}

/// The modelled fleet.
#[derive(Debug, Clone)]
pub struct FleetModel {
    demand: Vec<f64>,
    row_ms: u64,
    capacity: f64,
    startup_ms: u64,
    slo_s: f64,
    step_ms: u64,
    interval_ms: u64,
    /// Event time of the current step (ms).
    now: u64,
    ready: u32,
    /// Ready-at times of starting replicas, oldest start first.
    starting: Vec<u64>,
    backlog: f64,
    // Interval accumulators for the view.
    acc_offered: f64,
    /// For each replica that became ready during the current interval, `acc_offered` at that
    /// moment (its samples before were a starting replica's: no utilisation).
    promoted_at: Vec<f64>,
    acc_delay_ms: f64,
    acc_steps: u32,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// Demand in the step (rps).
    pub demand: f64,
    /// Ready replicas during the step.
    pub ready: u32,
    /// Present replicas during the step.
    pub present: u32,
    /// Modelled delay at the end of the step (s).
    pub delay_s: f64,
    /// Backlog at the end of the step (requests).
    pub backlog: f64,
}

impl FleetModel {
    /// A model of `values` played every `row_ms`.
    pub fn new(
        values: &[f64],
        row_ms: u64,
        sim: &SimulateConfig,
        auto: &AutoscalerConfig,
    ) -> Result<(Self, f64), ModelError> {
        sim.validate()?;
        auto.validate()?;
        if auto.min_replicas == 0 {
            return Err(ModelError::NoFloor);
        }
        if values.is_empty() {
            return Err(ModelError::EmptyTrace);
        }
        if let Some((row, &value)) = values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(ModelError::BadValue { row, value });
        }
        if row_ms == 0 {
            return Err(ModelError::ZeroRowSpacing);
        }
        let peak = quantile_linear(values, sim.peak_quantile).unwrap_or(0.0);
        if peak <= 0.0 {
            return Err(ModelError::NoPeak {
                quantile: sim.peak_quantile,
                peak,
            });
        }
        let scale = sim.peak_utilization * f64::from(auto.max_replicas) * sim.capacity_rps / peak;
        let demand: Vec<f64> = values.iter().map(|v| v * scale).collect();
        let first = demand[0] / (sim.capacity_rps * auto.target_utilization);
        let initial = (first.ceil() as u32).clamp(auto.min_replicas, auto.max_replicas);
        Ok((
            FleetModel {
                demand,
                row_ms,
                capacity: sim.capacity_rps,
                startup_ms: sim.startup_ms,
                slo_s: sim.slo_ms as f64 / 1000.0,
                step_ms: sim.step_ms,
                interval_ms: auto.interval_ms,
                now: 0,
                ready: initial,
                starting: Vec::new(),
                backlog: 0.0,
                acc_offered: 0.0,
                promoted_at: Vec::new(),
                acc_delay_ms: 0.0,
                acc_steps: 0,
            },
            scale,
        ))
    }

    /// Total simulated time (ms): rows × `row_ms`.
    pub fn duration_ms(&self) -> u64 {
        self.demand.len() as u64 * self.row_ms
    }

    /// Event time of the next step (ms).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Present replicas (ready or starting).
    pub fn present(&self) -> u32 {
        self.ready + self.starting.len() as u32
    }

    /// Ready replicas.
    pub fn ready(&self) -> u32 {
        self.ready
    }

    /// Demand (rps) at event time `t`.
    pub fn demand_at(&self, t: u64) -> f64 {
        let i = ((t / self.row_ms) as usize).min(self.demand.len() - 1);
        self.demand[i]
    }

    /// What the policy sees now (and resets the interval's accumulators).
    pub fn view(&mut self) -> FleetView {
        let n = f64::from(self.acc_steps.max(1));
        let offered = self.acc_offered / n;
        let mut pods = Vec::with_capacity(self.present() as usize);
        // Ready for the whole interval: the interval's mean offered utilisation. Ready since a
        // step within it: the steps since then (its starting steps count as 0, as a starting
        // membrane serves nothing), so the view's load in replicas' worth is the interval's
        // mean offered load however many replicas became ready in it.
        let promoted = self.promoted_at.len() as u32;
        pods.extend((0..self.ready - promoted).map(|_| PodSample::ready(offered)));
        pods.extend(
            self.promoted_at
                .iter()
                .map(|&at| PodSample::ready((self.acc_offered - at) / n)),
        );
        pods.extend(self.starting.iter().map(|_| PodSample::not_ready(0.0)));
        let latency = (self.acc_steps > 0).then(|| self.acc_delay_ms / n);
        self.acc_offered = 0.0;
        self.promoted_at.clear();
        self.acc_delay_ms = 0.0;
        self.acc_steps = 0;
        FleetView {
            current_replicas: self.present(),
            pods,
            latency_ms: latency,
        }
    }

    /// Sets the present replicas to `to`: adds starting replicas or removes (starting first).
    pub fn apply(&mut self, to: u32) {
        let present = self.present();
        if to > present {
            let ready_at = self.now + self.startup_ms;
            for _ in present..to {
                if self.startup_ms == 0 {
                    self.ready += 1;
                } else {
                    self.starting.push(ready_at);
                }
            }
        } else {
            let mut remove = present - to;
            while remove > 0 && self.starting.pop().is_some() {
                remove -= 1;
            }
            let remove = remove.min(self.ready);
            // The most recently ready go first.
            let keep = self.promoted_at.len().saturating_sub(remove as usize);
            self.promoted_at.truncate(keep);
            self.ready -= remove;
        }
    }

    /// Promotes replicas whose start-up has ended by `now`.
    fn promote(&mut self) {
        let now = self.now;
        let before = self.starting.len();
        self.starting.retain(|&t| t > now);
        let promoted = before - self.starting.len();
        self.ready += promoted as u32;
        let at = self.acc_offered;
        self.promoted_at.extend(std::iter::repeat_n(at, promoted));
    }

    /// Whether an evaluation is due at the current step.
    pub fn evaluation_due(&self) -> bool {
        self.now > 0 && self.now % self.interval_ms < self.step_ms && self.now >= self.interval_ms
    }

    /// Runs the queue for one step and advances time.
    pub fn step_queue(&mut self) -> StepOutcome {
        let dt = self.step_ms as f64 / 1000.0;
        let demand = self.demand_at(self.now);
        let cap = f64::from(self.ready) * self.capacity;
        let work = self.backlog + demand * dt;
        let served = work.min(cap * dt);
        self.backlog = (work - served).max(0.0);
        let delay_s = if cap > 0.0 {
            self.backlog / cap
        } else if self.backlog > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        let interval_s = self.interval_ms as f64 / 1000.0;
        let offered = if cap > 0.0 {
            (demand + self.backlog / interval_s) / cap
        } else {
            0.0
        };
        self.acc_offered += offered;
        self.acc_delay_ms += delay_s * 1000.0;
        self.acc_steps += 1;
        let out = StepOutcome {
            demand,
            ready: self.ready,
            present: self.present(),
            delay_s,
            backlog: self.backlog,
        };
        self.now += self.step_ms;
        out
    }
}

/// The output of a run apart from the decisions (which go to the caller's sink).
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The totals.
    pub summary: Summary,
    /// One row per simulated minute.
    pub timeline: Vec<MinuteRow>,
}

#[derive(Default)]
struct MinuteAcc {
    demand: f64,
    ready: f64,
    present: f64,
    max_delay: f64,
    over: f64,
    violation: bool,
    steps: u32,
    backlog: f64,
}

/// Drives `policy` against the modelled fleet over the whole trace; every decision goes to
/// `on_decision` as it is made.
///
/// ```
/// use echoflow_operators::autoscale::config::{AutoscalerConfig, PolicyKind, SimulateConfig};
/// use echoflow_operators::autoscale::fleet_model::run;
/// use echoflow_operators::autoscale::policy::build;
/// let auto = AutoscalerConfig { policy: PolicyKind::Hpa, ..AutoscalerConfig::default() };
/// let mut policy = build(&auto);
/// let rows = [10.0, 10.0, 40.0, 40.0, 10.0, 10.0];
/// let mut decisions = 0;
/// let out = run(&rows, 300_000, &SimulateConfig::default(), &auto, &mut policy, &mut |_| decisions += 1).unwrap();
/// assert_eq!(out.summary.simulated_minutes, 30.0);
/// assert_eq!(out.timeline.len(), 30);
/// assert_eq!(decisions, 30 * 4 - 1);
/// assert!(out.summary.scale_ups >= 1);
/// ```
pub fn run(
    values: &[f64],
    row_ms: u64,
    sim: &SimulateConfig,
    auto: &AutoscalerConfig,
    policy: &mut dyn Policy,
    on_decision: &mut dyn FnMut(&Decision),
) -> Result<RunOutput, ModelError> {
    let (mut model, scale) = FleetModel::new(values, row_ms, sim, auto)?;
    let initial = model.present();
    let total = model.duration_ms();
    let step = sim.step_ms;
    let dt_min = step as f64 / 60_000.0;
    let mut timeline = Vec::with_capacity((total / 60_000 + 1) as usize);
    let mut acc = MinuteAcc::default();
    let mut minute = 0u64;
    let (mut ups, mut downs, mut evaluations) = (0u64, 0u64, 0u64);
    let mut reversals = Reversals::default();
    let mut max_used = initial;
    let (mut replica_minutes, mut over_total, mut violations) = (0.0, 0.0, 0u64);
    let flush =
        |acc: &mut MinuteAcc, minute: u64, timeline: &mut Vec<MinuteRow>, violations: &mut u64| {
            if acc.steps == 0 {
                return;
            }
            let n = f64::from(acc.steps);
            if acc.violation {
                *violations += 1;
            }
            timeline.push(MinuteRow {
                minute,
                demand_rps: acc.demand / n,
                ready_capacity_rps: acc.ready / n * sim.capacity_rps,
                replicas: acc.present / n,
                ready_replicas: acc.ready / n,
                replica_minutes: acc.present * dt_min,
                max_delay_s: acc.max_delay,
                delay_over_slo_s: acc.over,
                violation: acc.violation,
                backlog: acc.backlog,
            });
            *acc = MinuteAcc::default();
        };
    while model.now() < total {
        model.promote();
        if model.evaluation_due() {
            let now = model.now();
            let view = model.view();
            let d = policy.evaluate(now, &view);
            evaluations += 1;
            let dir = d.action;
            if dir != Action::Hold {
                if dir == Action::ScaleUp {
                    ups += 1;
                } else {
                    downs += 1;
                }
                reversals.record(now, dir);
                model.apply(d.to);
                max_used = max_used.max(model.present());
            }
            on_decision(&d);
        }
        let m = model.now() / 60_000;
        if m != minute {
            flush(&mut acc, minute, &mut timeline, &mut violations);
            minute = m;
        }
        let s = model.step_queue();
        let over = (s.delay_s - model.slo_s).max(0.0) * step as f64 / 1000.0;
        acc.demand += s.demand;
        acc.ready += f64::from(s.ready);
        acc.present += f64::from(s.present);
        acc.max_delay = acc.max_delay.max(s.delay_s);
        acc.over += over;
        acc.violation |= s.delay_s > model.slo_s;
        acc.steps += 1;
        acc.backlog = s.backlog;
        replica_minutes += f64::from(s.present) * dt_min;
        over_total += over;
    }
    flush(&mut acc, minute, &mut timeline, &mut violations);
    let minutes = total as f64 / 60_000.0;
    Ok(RunOutput {
        summary: Summary {
            policy: policy.name().to_string(),
            simulated_minutes: minutes,
            slo_violation_minutes: violations,
            delay_seconds_over_slo: over_total,
            replica_minutes,
            replica_minutes_above_min: replica_minutes - f64::from(auto.min_replicas) * minutes,
            scale_ups: ups,
            scale_downs: downs,
            reversals: reversals.count(),
            max_replicas_used: max_used,
            forecast_nrmse: policy.forecast_nrmse(),
            rows: values.len(),
            row_ms,
            demand_scale: scale,
            initial_replicas: initial,
            evaluations,
        },
        timeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_puts_the_quantile_at_the_peak_utilisation() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let (m, scale) = FleetModel::new(
            &values,
            1000,
            &SimulateConfig::default(),
            &AutoscalerConfig::default(),
        )
        .unwrap();
        let q = quantile_linear(&values, 0.99).unwrap();
        assert!((q * scale - 0.8 * 10.0 * 100.0).abs() < 1e-9);
        // First demand 1 · scale ≈ 8.08 rps → ⌈8.08 / 70⌉ = 1 replica.
        assert_eq!(m.present(), 1);
    }

    #[test]
    fn backlog_and_delay_follow_the_queue() {
        let auto = AutoscalerConfig::default();
        // One row, demand pinned at the peak: 800 rps against the initial fleet.
        let (mut m, _) =
            FleetModel::new(&[1.0], 60_000, &SimulateConfig::default(), &auto).unwrap();
        assert_eq!(m.present(), 10); // ⌈800 / 70⌉ = 12, clamped to 10
        let s = m.step_queue();
        assert_eq!((s.backlog, s.delay_s), (0.0, 0.0));
        m.apply(5); // 500 rps of capacity against 800 rps
        let s = m.step_queue();
        assert!((s.backlog - 300.0).abs() < 1e-9);
        assert!((s.delay_s - 0.6).abs() < 1e-9);
        let s = m.step_queue();
        assert!((s.delay_s - 1.2).abs() < 1e-9);
    }

    #[test]
    fn added_replicas_start_then_serve() {
        let auto = AutoscalerConfig::default();
        let sim = SimulateConfig::default();
        let (mut m, _) = FleetModel::new(&[0.1, 1.0], 3_600_000, &sim, &auto).unwrap();
        let r = m.present(); // ⌈80.7 / 70⌉ = 2
        assert_eq!((r, m.ready()), (2, 2));
        m.apply(r + 2);
        assert_eq!((m.ready(), m.present()), (r, r + 2));
        for _ in 0..59 {
            m.promote();
            m.step_queue();
        }
        m.promote();
        assert_eq!(m.ready(), r, "still starting after 59 s");
        m.step_queue();
        m.promote();
        assert_eq!(m.ready(), r + 2, "ready after startup_ms = 60 s");
        m.apply(r + 1);
        assert_eq!(m.ready(), r + 1);
    }

    #[test]
    fn replicas_ready_at_the_evaluation_add_no_load_to_the_view() {
        let auto = AutoscalerConfig::default();
        let sim = SimulateConfig::default();
        // The first row held for an hour: 402 rps, 4.02 replicas' worth at 100 rps each.
        let (mut m, _) = FleetModel::new(&[0.5, 1.0], 3_600_000, &sim, &auto).unwrap();
        let worth = m.demand_at(0) / sim.capacity_rps;
        let r = m.ready(); // ⌈402 / 70⌉ = 6
        assert_eq!(r, 6);
        let load = |v: &FleetView| v.load_in_replicas().unwrap();
        m.apply(r + 3);
        let mut views = Vec::new();
        while m.now() <= 120_000 {
            m.promote();
            if m.evaluation_due() {
                views.push((m.ready(), m.view()));
            }
            m.step_queue();
        }
        // Evaluations at 15, 30, …, 120 s; the three replicas become ready at 60 s.
        assert_eq!(views.len(), 8);
        for (ready, view) in &views {
            assert_eq!(view.ready_count(), *ready);
            assert!(
                (load(view) - worth).abs() < 1e-9,
                "{} at {ready} ready",
                load(view)
            );
        }
        assert_eq!(views[3].0, r + 3, "ready at the 60 s evaluation");
        // The promoted replicas report 0 for the interval they spent starting.
        let promoted: Vec<_> = views[3]
            .1
            .pods
            .iter()
            .filter_map(|p| p.utilization)
            .collect();
        assert_eq!(promoted.iter().filter(|&&u| u == 0.0).count(), 3);
    }

    #[test]
    fn removal_takes_starting_replicas_first() {
        let auto = AutoscalerConfig::default();
        let (mut m, _) =
            FleetModel::new(&[0.5, 1.0], 60_000, &SimulateConfig::default(), &auto).unwrap();
        let r = m.ready();
        m.apply(r + 3);
        m.apply(r + 1);
        assert_eq!((m.ready(), m.present()), (r, r + 1));
    }

    #[test]
    fn bad_traces_are_errors() {
        let (s, a) = (SimulateConfig::default(), AutoscalerConfig::default());
        assert_eq!(
            FleetModel::new(&[], 1000, &s, &a).unwrap_err(),
            ModelError::EmptyTrace
        );
        assert!(matches!(
            FleetModel::new(&[0.0, 0.0], 1000, &s, &a).unwrap_err(),
            ModelError::NoPeak { .. }
        ));
        assert!(matches!(
            FleetModel::new(&[1.0, -1.0], 1000, &s, &a).unwrap_err(),
            ModelError::BadValue { row: 1, .. }
        ));
        assert_eq!(
            FleetModel::new(&[1.0], 0, &s, &a).unwrap_err(),
            ModelError::ZeroRowSpacing
        );
    }

    #[test]
    fn median_spacing_ignores_gaps_and_jitter() {
        let ts = [0, 300_000, 600_000, 900_500, 1_200_000, 9_000_000];
        assert_eq!(median_spacing_ms(&ts), Some(300_000));
        assert_eq!(median_spacing_ms(&[5]), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Whatever the demand, the start-up time (a multiple of the interval or not) and the
        /// decisions, the view's load in replicas' worth is the interval's mean offered load,
        /// (demand + backlog / interval) / capacity per step, computed here from the steps'
        /// outcomes alone.
        #[test]
        fn the_view_load_is_the_mean_offered_load(
            values in proptest::collection::vec(0.0f64..1000.0, 2..8),
            startup_s in 0u64..150,
            decisions in proptest::collection::vec(1u32..=10, 1..40),
        ) {
            proptest::prop_assume!(values.iter().any(|v| *v > 1.0));
            let auto = AutoscalerConfig::default();
            let sim = SimulateConfig { startup_ms: startup_s * 1000, ..SimulateConfig::default() };
            let (mut m, _) = FleetModel::new(&values, 60_000, &sim, &auto).unwrap();
            let interval_s = auto.interval_ms as f64 / 1000.0;
            let mut offered = Vec::new();
            let mut next = decisions.iter().cycle();
            while m.now() < m.duration_ms() {
                m.promote();
                if m.evaluation_due() {
                    let view = m.view();
                    let want = offered.iter().sum::<f64>() / offered.len() as f64;
                    let got = view.load_in_replicas().unwrap_or(0.0);
                    proptest::prop_assert!(
                        (got - want).abs() <= 1e-9 * want.max(1.0),
                        "at {} ms: view {got}, steps {want}", m.now()
                    );
                    offered.clear();
                    m.apply(*next.next().unwrap());
                }
                let o = m.step_queue();
                let load = if o.ready > 0 {
                    (o.demand + o.backlog / interval_s) / sim.capacity_rps
                } else {
                    0.0
                };
                offered.push(load);
            }
        }
    }
}

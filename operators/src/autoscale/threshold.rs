//! `threshold`: scale on average utilisation crossing two thresholds, with cooldowns and
//! adaptive thresholds (SPEC §3; the earlier Python system's `ScalabilityManager`, described in
//! `shared/sources/000_*.txt` and `001_*.txt`: up above 80 %, down below 30 %, min 1, max 10,
//! cooldowns against oscillation, thresholds that adapt to the recent performance trend).
//!
//! Each evaluation takes u = mean SPEC §3 utilisation over the ready membranes and the ready
//! count r (starting membranes are no capacity). With m = (up + down) / 2 the band's midpoint:
//! - u > up and at least `scale_up_cooldown_ms` (60 s) since the last scale-up:
//!   to = max(⌈r·u / m⌉, current + 1), clamped to max;
//! - u < down and at least `scale_down_cooldown_ms` (300 s) since the last scaling action of
//!   either direction (the reversal guard: no scale-down within the cooldown after a scale-up):
//!   to = min(⌈r·u / m⌉, current − 1), clamped to min;
//! - otherwise hold (the reason says which cooldown held it).
//!
//! With `[autoscaler.cost] enabled`, the cost model may veto a scale-up (a hold, and the cooldown
//! does not start).
//!
//! Adaptive thresholds (`adaptive_thresholds = true`; the Python source names the behaviour but
//! gives no formula, so this one is echoflow's): over the last 10 evaluations (the Python
//! system's rolling history length) take the relative change between the mean of the newer half
//! and of the older half, for latency `t_l = (L₂ − L₁) / max(L₁, 1 ms)` and for utilisation
//! `t_u = (U₂ − U₁) / max(U₁, 0.05)`, each clamped to [−1, 1]; trend = mean of the available ones;
//! shift = clamp(0.5·trend, −0.1, +0.1). Then up' = up − shift and down' = down − shift, with up'
//! kept at least 0.1 above down'. Worsening performance (trend > 0) lowers both: more eager to
//! scale up, slower to scale down; excellent, improving performance raises both: more
//! conservative about adding replicas, quicker to release them. Fewer than 4 evaluations of
//! history: the configured thresholds. A configured down of 0 ("never scale down") stays 0.

use std::collections::VecDeque;

use crate::autoscale::config::AutoscalerConfig;
use crate::autoscale::cost::CostModel;
use crate::autoscale::decision::{Decision, Thresholds};
use crate::autoscale::policy::Policy;
use crate::autoscale::utilization::FleetView;

/// History length of the adaptive thresholds.
pub const HISTORY: usize = 10;
/// Largest move of a threshold.
pub const MAX_SHIFT: f64 = 0.1;
/// Shift per unit of relative trend.
pub const SHIFT_GAIN: f64 = 0.5;

/// The adaptive thresholds for a history of (utilisation, latency) readings, oldest first.
///
/// ```
/// use echoflow_operators::autoscale::threshold::adaptive_thresholds;
/// // Latency doubling and utilisation rising: both thresholds drop by the full 0.1.
/// let worse: Vec<(f64, Option<f64>)> = (0..10).map(|i| (0.5 + 0.05 * i as f64, Some(if i < 5 { 10.0 } else { 20.0 }))).collect();
/// let t = adaptive_thresholds(0.8, 0.3, &worse);
/// assert!((t.up - 0.7).abs() < 1e-9 && (t.down - 0.2).abs() < 1e-9);
/// // Too little history: unchanged.
/// let t = adaptive_thresholds(0.8, 0.3, &worse[..3]);
/// assert_eq!((t.up, t.down), (0.8, 0.3));
/// // Improving performance raises both, but a down threshold of 0 means never scale down.
/// let better: Vec<(f64, Option<f64>)> = worse.iter().rev().copied().collect();
/// let t = adaptive_thresholds(0.8, 0.3, &better);
/// assert!((t.up - 0.9).abs() < 1e-9 && (t.down - 0.4).abs() < 1e-9);
/// assert_eq!(adaptive_thresholds(0.8, 0.0, &better).down, 0.0);
/// ```
pub fn adaptive_thresholds(up: f64, down: f64, history: &[(f64, Option<f64>)]) -> Thresholds {
    if history.len() < 4 {
        return Thresholds { up, down };
    }
    let half = history.len() / 2;
    let (older, newer) = history.split_at(history.len() - half);
    let mean = |xs: &mut dyn Iterator<Item = f64>| {
        let (s, n) = xs.fold((0.0, 0u32), |(s, n), x| (s + x, n + 1));
        (n > 0).then(|| s / f64::from(n))
    };
    let u1 = mean(&mut older.iter().map(|h| h.0));
    let u2 = mean(&mut newer.iter().map(|h| h.0));
    let l1 = mean(&mut older.iter().filter_map(|h| h.1));
    let l2 = mean(&mut newer.iter().filter_map(|h| h.1));
    let mut trends = Vec::with_capacity(2);
    if let (Some(a), Some(b)) = (u1, u2) {
        trends.push(((b - a) / a.max(0.05)).clamp(-1.0, 1.0));
    }
    if let (Some(a), Some(b)) = (l1, l2) {
        trends.push(((b - a) / a.max(1.0)).clamp(-1.0, 1.0));
    }
    if trends.is_empty() {
        return Thresholds { up, down };
    }
    let trend = trends.iter().sum::<f64>() / trends.len() as f64;
    let shift = (SHIFT_GAIN * trend).clamp(-MAX_SHIFT, MAX_SHIFT);
    let down = if down > 0.0 {
        (down - shift).max(0.0)
    } else {
        0.0
    };
    let up = (up - shift).max(down + 0.1);
    Thresholds { up, down }
}

/// The `threshold` policy.
#[derive(Debug, Clone)]
pub struct ThresholdPolicy {
    config: AutoscalerConfig,
    history: VecDeque<(f64, Option<f64>)>,
    last_up: Option<u64>,
    last_change: Option<u64>,
    cost: Option<CostModel>,
}

impl ThresholdPolicy {
    /// A policy with `config`'s thresholds, cooldowns and bounds.
    pub fn new(config: &AutoscalerConfig) -> Self {
        ThresholdPolicy {
            config: config.clone(),
            history: VecDeque::with_capacity(HISTORY + 1),
            last_up: None,
            last_change: None,
            cost: CostModel::from_config(config),
        }
    }

    fn since(last: Option<u64>, now: u64) -> u64 {
        last.map_or(u64::MAX, |t| now.saturating_sub(t))
    }
}

impl Policy for ThresholdPolicy {
    fn name(&self) -> &'static str {
        "threshold"
    }

    fn evaluate(&mut self, now: u64, view: &FleetView) -> Decision {
        let c = &self.config;
        let current = view.current_replicas;
        let mut d = Decision::new(now, &c.resource, "threshold", current, current, "");
        if current == 0 {
            d.reason = "no replica registered".to_string();
            return d;
        }
        let Some(u) = view.mean_ready_utilization() else {
            let to = current.clamp(c.min_replicas, c.max_replicas);
            d.retarget(
                to,
                "no metrics from any ready membrane; clamped to [min, max]",
            );
            self.note_change(now, current, to);
            return d;
        };
        d.utilization = Some(u);
        self.history.push_back((u, view.latency_ms));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        let t = if c.adaptive_thresholds {
            let h: Vec<_> = self.history.iter().copied().collect();
            adaptive_thresholds(c.scale_up_threshold, c.scale_down_threshold, &h)
        } else {
            Thresholds {
                up: c.scale_up_threshold,
                down: c.scale_down_threshold,
            }
        };
        d.thresholds = Some(t);
        let mid = (t.up + t.down) / 2.0;
        let load = u * f64::from(view.ready_count());
        let proportional = (load / mid).ceil().max(0.0) as u32;
        let (to, reason) = if current > c.max_replicas || current < c.min_replicas {
            (
                current.clamp(c.min_replicas, c.max_replicas),
                "current outside [min, max]".to_string(),
            )
        } else if u > t.up {
            if Self::since(self.last_up, now) < c.scale_up_cooldown_ms {
                (
                    current,
                    format!("utilization {u:.3} above {:.3}; scale-up cooldown", t.up),
                )
            } else {
                let to = proportional.max(current + 1).min(c.max_replicas);
                let why = if to == current { "; at max" } else { "" };
                (to, format!("utilization {u:.3} above {:.3}{why}", t.up))
            }
        } else if u < t.down {
            if Self::since(self.last_change, now) < c.scale_down_cooldown_ms {
                (
                    current,
                    format!(
                        "utilization {u:.3} below {:.3}; scale-down cooldown",
                        t.down
                    ),
                )
            } else {
                let to = proportional
                    .min(current.saturating_sub(1))
                    .max(c.min_replicas);
                let why = if to == current { "; at min" } else { "" };
                (to, format!("utilization {u:.3} below {:.3}{why}", t.down))
            }
        } else {
            (
                current,
                format!("utilization {u:.3} within [{:.3}, {:.3}]", t.down, t.up),
            )
        };
        d.recommendation = Some(proportional);
        d.retarget(to, reason);
        if let Some(cost) = &self.cost {
            cost.review(&mut d, None);
        }
        self.note_change(now, current, d.to);
        d
    }
}

impl ThresholdPolicy {
    fn note_change(&mut self, now: u64, from: u32, to: u32) {
        if to > from {
            self.last_up = Some(now);
        }
        if to != from {
            self.last_change = Some(now);
        }
    }
}

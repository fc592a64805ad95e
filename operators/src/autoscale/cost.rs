//! The cost model (SPEC §3, `[autoscaler.cost]`): instance cost against SLO penalty, able to
//! veto scale-ups that do not pay. The earlier system's `ScalingOptimizer` did a
//! "cost-benefit analysis (ROI) for scaling decisions" (`shared/sources/001_*.txt`) without
//! giving the formula; this one is echoflow's.
//!
//! Over the provisioning horizon W (`autoscaler.horizon_ms`), a scale-up by Δ replicas costs
//! Δ · `replica_minute` · W. It pays if it avoids violations: the chance of an SLO violation
//! without it is taken as p = clamp((u − t) / (1 − t), 0, 1), where u is the larger of the
//! utilisation now and the forecast utilisation (forecast load / ready replicas) and t the target
//! utilisation (a fleet at its target is safe, one at or beyond full capacity is violating); the
//! benefit is p · `violation_minute` · W. The scale-up is vetoed — the decision becomes a hold
//! whose reason gives both numbers — when cost > benefit. With the defaults (1 vs 50 per minute) a
//! veto needs p < Δ / 50: only marginal scale-ups near the target are refused. Scale-downs and
//! holds are never touched. Disabled by default (`enabled = false`).

use crate::autoscale::config::AutoscalerConfig;
use crate::autoscale::decision::{Action, Decision};

/// The cost model's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    replica_minute: f64,
    violation_minute: f64,
    horizon_minutes: f64,
    target: f64,
}

impl CostModel {
    /// The model of `config`, or `None` when `[autoscaler.cost] enabled = false`.
    pub fn from_config(config: &AutoscalerConfig) -> Option<Self> {
        config.cost.enabled.then(|| CostModel {
            replica_minute: config.cost.replica_minute,
            violation_minute: config.cost.violation_minute,
            horizon_minutes: config.horizon_ms as f64 / 60_000.0,
            target: config.target_utilization,
        })
    }

    /// The chance of a violation at utilisation `u` (see the module docs).
    pub fn violation_chance(&self, u: f64) -> f64 {
        if self.target >= 1.0 {
            return if u >= 1.0 { 1.0 } else { 0.0 };
        }
        ((u - self.target) / (1.0 - self.target)).clamp(0.0, 1.0)
    }

    /// Reviews a decision: a scale-up that costs more than it saves becomes a hold.
    /// `forecast_utilization` is the forecast load over the ready replicas, when known.
    ///
    /// ```
    /// use echoflow_operators::autoscale::config::AutoscalerConfig;
    /// use echoflow_operators::autoscale::cost::CostModel;
    /// use echoflow_operators::autoscale::decision::{Action, Decision};
    /// let mut cfg = AutoscalerConfig::default();
    /// cfg.cost.enabled = true;
    /// let model = CostModel::from_config(&cfg).unwrap();
    /// let mut d = Decision::new(0, "membranes", "hpa", 2, 9, "raw 9");
    /// d.utilization = Some(0.72); // barely above the 0.7 target: p ≈ 0.07
    /// assert!(model.review(&mut d, None));
    /// assert_eq!((d.action, d.to), (Action::Hold, 2));
    /// assert!(d.reason.starts_with("cost_veto"));
    /// ```
    pub fn review(&self, d: &mut Decision, forecast_utilization: Option<f64>) -> bool {
        if d.action != Action::ScaleUp {
            return false;
        }
        match self.vetoes(d.from, d.to, d.utilization, forecast_utilization) {
            Some((cost, benefit)) => {
                let reason = format!(
                    "cost_veto: +{} replicas cost {cost:.2} > expected SLO penalty avoided {benefit:.2} (was: {})",
                    d.to - d.from,
                    d.reason
                );
                let from = d.from;
                d.retarget(from, reason);
                true
            }
            None => false,
        }
    }

    /// Whether a move `from` → `to` at utilisation `utilization` (the forecast's, when higher)
    /// is a scale-up that costs more than it saves: `Some((cost, benefit))` if so.
    pub fn vetoes(
        &self,
        from: u32,
        to: u32,
        utilization: Option<f64>,
        forecast_utilization: Option<f64>,
    ) -> Option<(f64, f64)> {
        if to <= from {
            return None;
        }
        let u = utilization
            .unwrap_or(0.0)
            .max(forecast_utilization.unwrap_or(0.0));
        let delta = f64::from(to - from);
        let cost = delta * self.replica_minute * self.horizon_minutes;
        let benefit = self.violation_chance(u) * self.violation_minute * self.horizon_minutes;
        (cost > benefit).then_some((cost, benefit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> CostModel {
        let mut cfg = AutoscalerConfig::default();
        cfg.cost.enabled = true;
        CostModel::from_config(&cfg).unwrap()
    }

    #[test]
    fn disabled_by_default() {
        assert!(CostModel::from_config(&AutoscalerConfig::default()).is_none());
    }

    #[test]
    fn overload_always_pays() {
        let mut d = Decision::new(0, "membranes", "hpa", 1, 10, "overload");
        d.utilization = Some(1.5);
        assert!(!model().review(&mut d, None));
        assert_eq!(d.to, 10);
    }

    #[test]
    fn forecast_can_justify_a_scale_up() {
        let mut d = Decision::new(0, "membranes", "predictive", 4, 6, "ahead");
        d.utilization = Some(0.6);
        let m = model();
        assert!(!m.review(&mut d.clone(), Some(0.95)));
        assert!(m.review(&mut d, None));
    }

    #[test]
    fn scale_downs_are_never_vetoed() {
        let mut d = Decision::new(0, "membranes", "hpa", 5, 2, "idle");
        d.utilization = Some(0.1);
        assert!(!model().review(&mut d, None));
        assert_eq!(d.to, 2);
    }
}

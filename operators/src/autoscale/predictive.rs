//! `predictive`: provision ahead of the forecast demand over a horizon that covers replica
//! start-up (SPEC §3).
//!
//! Each evaluation observes the offered load L = mean ready utilisation × ready replicas (SPEC §3
//! utilisation, shed demand included, so L is in replicas' worth of load and does not depend on
//! how many replicas serve it) and feeds it to the forecaster [`Ensemble`] (linear regression,
//! moving average, Holt; an ESN forecaster plugs in through [`Forecaster`]), scored online at
//! h = ⌈`horizon_ms` / `interval_ms`⌉ evaluations ahead (75 s / 15 s = 5: a replica started now is
//! ready after `startup` 60 s, and the next evaluation comes one interval later).
//!
//! - Forecast demand D = max(L, max_{k=1..h} F(k)) + z · σ, where F is the ensemble forecast and σ
//!   its tracked RMSE at the horizon (the safety margin grows with the forecast error; z = 1).
//! - Recommendation R = ⌈D / target⌉ (target = `target_utilization`, 0.7, as HPA).
//! - Scale-up (R > current, or HPA's raw recommendation > current): to = max(R, HPA raw). The
//!   HPA floor is the replica calculator's raw recommendation before stabilisation
//!   ([`Hpa::raw_recommendation`]), so predictive never adds fewer replicas than HPA would want.
//! - Otherwise: to = min(current, max of R over the last `down_window_ms`). The window defaults to
//!   the horizon (75 s) instead of HPA's 300 s: the forecast already looks ahead, so predictive
//!   releases capacity sooner than HPA.
//! - Clamped to [min, max]; the cost model may veto a scale-up (`[autoscaler.cost]`).
//!
//! The decision reports the forecast (D, in replicas' worth of load), the confidence of the
//! ensemble and the raw recommendation R.

use std::collections::VecDeque;

use crate::autoscale::config::AutoscalerConfig;
use crate::autoscale::cost::CostModel;
use crate::autoscale::decision::Decision;
use crate::autoscale::forecast::ensemble::{Ensemble, Selection};
use crate::autoscale::forecast::{Forecaster, default_forecasters};
use crate::autoscale::hpa::Hpa;
use crate::autoscale::policy::Policy;
use crate::autoscale::utilization::FleetView;

/// Tunables of the predictive policy beyond SPEC §6 (echoflow's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictiveParams {
    /// Safety margin in units of the tracked forecast RMSE.
    pub z: f64,
    /// How the forecasters are combined.
    pub selection: Selection,
    /// EWMA weight of the accuracy tracking.
    pub decay: f64,
    /// Scale-down stabilisation window; `None` = `horizon_ms`.
    pub down_window_ms: Option<u64>,
}

impl Default for PredictiveParams {
    fn default() -> Self {
        PredictiveParams {
            z: 1.0,
            selection: Selection::Blend,
            decay: 0.1,
            down_window_ms: None,
        }
    }
}

/// The predictive policy.
pub struct Predictive {
    resource: String,
    min: u32,
    max: u32,
    target: f64,
    horizon_steps: usize,
    down_window_ms: u64,
    z: f64,
    hpa: Hpa,
    ensemble: Ensemble,
    recent: VecDeque<(u64, u32)>,
    cost: Option<CostModel>,
}

impl std::fmt::Debug for Predictive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Predictive")
            .field("horizon_steps", &self.horizon_steps)
            .field("ensemble", &self.ensemble)
            .finish()
    }
}

impl Predictive {
    /// The policy with the built-in forecasters and default tunables.
    pub fn new(config: &AutoscalerConfig) -> Self {
        Self::with(config, PredictiveParams::default(), default_forecasters())
    }

    /// The policy with explicit tunables and forecasters (an ESN forecaster goes here).
    pub fn with(
        config: &AutoscalerConfig,
        params: PredictiveParams,
        forecasters: Vec<Box<dyn Forecaster + Send>>,
    ) -> Self {
        let interval = config.interval_ms.max(1);
        let horizon_steps = config.horizon_ms.div_ceil(interval).max(1) as usize;
        Predictive {
            resource: config.resource.clone(),
            min: config.min_replicas,
            max: config.max_replicas,
            target: config.target_utilization,
            horizon_steps,
            down_window_ms: params.down_window_ms.unwrap_or(config.horizon_ms),
            z: params.z,
            hpa: Hpa::new(config),
            ensemble: Ensemble::new(forecasters, horizon_steps, params.selection, params.decay),
            recent: VecDeque::new(),
            cost: CostModel::from_config(config),
        }
    }

    /// The forecaster ensemble (accuracy, NRMSE).
    pub fn ensemble(&self) -> &Ensemble {
        &self.ensemble
    }
}

impl Policy for Predictive {
    fn name(&self) -> &'static str {
        "predictive"
    }

    fn forecast_nrmse(&self) -> Option<f64> {
        self.ensemble.nrmse()
    }

    fn evaluate(&mut self, now: u64, view: &FleetView) -> Decision {
        let current = view.current_replicas;
        let mut d = Decision::new(now, &self.resource, "predictive", current, current, "");
        d.target_utilization = Some(self.target);
        d.utilization = view.mean_ready_utilization();
        if current == 0 {
            d.reason = "no replica registered".to_string();
            return d;
        }
        let Some(load) = view.load_in_replicas() else {
            let to = current.clamp(self.min, self.max);
            d.retarget(to, "no metrics from any ready membrane; clamped to [min, max]");
            return d;
        };
        self.ensemble.observe(load);
        let path_max = (1..=self.horizon_steps)
            .filter_map(|k| self.ensemble.forecast(k))
            .fold(load, f64::max);
        let sigma = self.ensemble.rmse().unwrap_or(0.0);
        let demand = path_max + self.z * sigma;
        let rec = ((demand / self.target) - 1e-9).ceil().max(0.0) as u32;
        d.forecast = Some(demand);
        d.confidence = Some(self.ensemble.confidence());
        d.recommendation = Some(rec);
        let raw = self.hpa.raw_recommendation(view).ok().map(|r| r.replicas);
        let hpa_up = raw.filter(|&r| r > current);
        self.recent.push_back((now, rec));
        while self
            .recent
            .front()
            .is_some_and(|&(t, _)| t + self.down_window_ms <= now)
        {
            self.recent.pop_front();
        }
        let (to, reason) = if rec > current || hpa_up.is_some() {
            let to = rec.max(hpa_up.unwrap_or(0));
            let why = if hpa_up.is_some_and(|r| r >= rec) {
                format!("HPA floor {to}: forecast load {demand:.2} needs {rec}")
            } else {
                format!("forecast load {demand:.2} over the horizon needs {rec}")
            };
            (to, why)
        } else {
            let held = self.recent.iter().map(|&(_, r)| r).max().unwrap_or(rec);
            let to = held.min(current);
            (
                to,
                format!("forecast load {demand:.2} needs {rec}; highest in window {held}"),
            )
        };
        let to = to.clamp(self.min, self.max);
        d.retarget(to, reason);
        if let Some(cost) = &self.cost {
            let ready = f64::from(view.ready_count().max(1));
            cost.review(&mut d, Some(demand / ready));
        }
        d
    }
}

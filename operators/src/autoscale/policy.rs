//! The policy interface and the factory that builds the configured policy.
//!
//! A policy is a pure state machine: [`Policy::evaluate`] takes the event time of the evaluation
//! (every `autoscaler.interval_ms`) and the [`FleetView`], and returns the [`Decision`] — holds
//! included. The caller applies `to` and feeds the next view; nothing here reads a clock. Each
//! policy applies the cost model's veto ([`crate::autoscale::cost`]) itself, before it records
//! the change in its own state (cooldowns, scale events).

use crate::autoscale::config::{AutoscalerConfig, PolicyKind};
use crate::autoscale::decision::Decision;
use crate::autoscale::hpa::Hpa;
use crate::autoscale::predictive::Predictive;
use crate::autoscale::threshold::ThresholdPolicy;
use crate::autoscale::utilization::FleetView;

/// An autoscaling policy.
pub trait Policy {
    /// `threshold` | `hpa` | `predictive`.
    fn name(&self) -> &'static str;
    /// One evaluation at event time `now` (ms).
    fn evaluate(&mut self, now: u64, view: &FleetView) -> Decision;
    /// NRMSE of the policy's forecasts so far, for policies that forecast.
    fn forecast_nrmse(&self) -> Option<f64> {
        None
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn evaluate(&mut self, now: u64, view: &FleetView) -> Decision {
        (**self).evaluate(now, view)
    }
    fn forecast_nrmse(&self) -> Option<f64> {
        (**self).forecast_nrmse()
    }
}

/// The policy `config.policy` names.
///
/// ```
/// use echoflow_operators::autoscale::config::{AutoscalerConfig, PolicyKind};
/// use echoflow_operators::autoscale::policy::build;
/// let cfg = AutoscalerConfig { policy: PolicyKind::Predictive, ..AutoscalerConfig::default() };
/// assert_eq!(build(&cfg).name(), "predictive");
/// ```
pub fn build(config: &AutoscalerConfig) -> Box<dyn Policy> {
    match config.policy {
        PolicyKind::Threshold => Box::new(ThresholdPolicy::new(config)),
        PolicyKind::Hpa => Box::new(Hpa::new(config)),
        PolicyKind::Predictive => Box::new(Predictive::new(config)),
    }
}

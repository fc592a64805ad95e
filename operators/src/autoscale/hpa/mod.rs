//! `hpa`: the Kubernetes HorizontalPodAutoscaler algorithm (SPEC §3), one controller per
//! resource, evaluated every `autoscaler.interval_ms` (Kubernetes' default sync period, 15 s).
//!
//! One evaluation follows `HorizontalController.reconcileAutoscaler` with `behavior` set (the
//! `autoscaling/v2` API always defaults it):
//! - current replicas = registered membranes; no replica at all → hold (Kubernetes: autoscaling
//!   is disabled for a target scaled to zero);
//! - current > max → max, current < min → min (no metrics needed);
//! - otherwise the raw recommendation of the replica calculator ([`replicas`]), then
//!   stabilisation, rate limits and clamping ([`behavior`]);
//! - a change is stored as a scale event for the rate limits.
//!
//! With `[autoscaler.cost] enabled`, the cost model may turn a scale-up into a hold before the
//! change is recorded ([`crate::autoscale::cost`]).
//!
//! A calculator error (no metrics for any ready pod) is a hold whose reason is the error, as
//! Kubernetes keeps the scale and reports `FailedGetResourceMetric`.
//!
//! Defaults (SPEC §6, Kubernetes): target 0.7, tolerance 0.1, scale-down window 300 s, scale up
//! max(+4, +100 %) per 15 s, scale down −100 % per 15 s.

pub mod behavior;
pub mod replicas;

use crate::autoscale::config::{AutoscalerConfig, ResolvedRules};
use crate::autoscale::cost::CostModel;
use crate::autoscale::decision::Decision;
use crate::autoscale::policy::Policy;
use crate::autoscale::utilization::FleetView;
use behavior::{Bounded, Normalizer};
use replicas::{HpaError, ReplicaCount};

/// The HPA controller for one resource.
///
/// ```
/// use echoflow_operators::autoscale::config::AutoscalerConfig;
/// use echoflow_operators::autoscale::hpa::Hpa;
/// use echoflow_operators::autoscale::policy::Policy;
/// use echoflow_operators::autoscale::utilization::{FleetView, PodSample};
/// let mut hpa = Hpa::new(&AutoscalerConfig::default());
/// // Two ready membranes at 140 % (shed demand included) against a 70 % target: 4 replicas.
/// let view = FleetView { current_replicas: 2, pods: vec![PodSample::ready(1.4); 2], latency_ms: None };
/// let d = hpa.evaluate(15_000, &view);
/// assert_eq!((d.from, d.to), (2, 4));
/// ```
#[derive(Debug, Clone)]
pub struct Hpa {
    resource: String,
    min: u32,
    max: u32,
    target: f64,
    tolerance: f64,
    up: ResolvedRules,
    down: ResolvedRules,
    normalizer: Normalizer,
    cost: Option<CostModel>,
}

impl Hpa {
    /// A controller with `config`'s parameters.
    pub fn new(config: &AutoscalerConfig) -> Self {
        Hpa {
            resource: config.resource.clone(),
            min: config.min_replicas,
            max: config.max_replicas,
            target: config.target_utilization,
            tolerance: config.tolerance,
            up: config.scale_up_rules(),
            down: config.scale_down_rules(),
            normalizer: Normalizer::default(),
            cost: CostModel::from_config(config),
        }
    }

    /// The raw recommendation of the replica calculator (before stabilisation, rate limits and
    /// clamping). The predictive policy uses it as its scale-up floor.
    pub fn raw_recommendation(&self, view: &FleetView) -> Result<ReplicaCount, HpaError> {
        replicas::view_replicas(view, self.target, self.tolerance)
    }

    /// `desired` after HPA's rate limits and `[min, max]` alone (no stabilisation), from
    /// `current` with the scale events recorded so far ([`Hpa::record_change`]).
    pub fn rate_limited(&self, now: u64, current: u32, desired: u32) -> u32 {
        self.bounded(now, current, desired).0
    }

    /// `desired` through this controller's rate limits and `[min, max]`, with the reason.
    fn bounded(&self, now: u64, current: u32, desired: u32) -> Bounded {
        self.normalizer.convert_with_rate(
            now,
            current,
            desired,
            (self.min, self.max),
            &self.up,
            &self.down,
        )
    }

    /// Stabilises and rate-limits a raw recommendation and records it (the controller's
    /// `normalizeDesiredReplicasWithBehaviors`); the reason is written up only when asked for
    /// ([`Normalized::reason`]).
    fn normalize(&mut self, now: u64, current: u32, raw: u32) -> Normalized {
        let (stabilized, stabilize) = self.normalizer.stabilize(
            now,
            current,
            raw,
            self.up.stabilization_window_ms,
            self.down.stabilization_window_ms,
        );
        let (to, limit) = self.bounded(now, current, stabilized);
        Normalized {
            to,
            stabilized,
            stabilize,
            limit,
        }
    }

    /// One evaluation's count and why, before the cost model and without a decision record.
    fn step(&mut self, now: u64, view: &FleetView) -> Step {
        let current = view.current_replicas;
        if current == 0 {
            Step::NoReplica
        } else if current > self.max {
            Step::Clamped(self.max, "TooManyReplicas: current above max")
        } else if current < self.min {
            Step::Clamped(self.min, "TooFewReplicas: current below min")
        } else {
            match self.raw_recommendation(view) {
                Ok(raw) => {
                    Step::Normalized(raw.replicas, self.normalize(now, current, raw.replicas))
                }
                Err(e) => Step::NoMetrics(e),
            }
        }
    }

    /// The count [`Policy::evaluate`] decides at `now`, cost model included, with the same
    /// effect on the controller's state, but without building a decision record or formatting
    /// its reason: what a shadow HPA needs ([`crate::autoscale::flap_budget`]).
    ///
    /// ```
    /// use echoflow_operators::autoscale::config::AutoscalerConfig;
    /// use echoflow_operators::autoscale::hpa::Hpa;
    /// use echoflow_operators::autoscale::utilization::{FleetView, PodSample};
    /// let mut hpa = Hpa::new(&AutoscalerConfig::default());
    /// let view = FleetView { current_replicas: 2, pods: vec![PodSample::ready(1.4); 2], latency_ms: None };
    /// assert_eq!(hpa.next_replicas(15_000, &view), 4);
    /// ```
    pub fn next_replicas(&mut self, now: u64, view: &FleetView) -> u32 {
        let current = view.current_replicas;
        let mut to = self.step(now, view).to(current);
        let vetoed = self.cost.as_ref().is_some_and(|cost| {
            cost.vetoes(current, to, view.mean_ready_utilization(), None)
                .is_some()
        });
        if vetoed {
            to = current;
        }
        self.record_change(now, current, to);
        to
    }

    /// Records an applied change for the rate limits.
    pub fn record_change(&mut self, now: u64, from: u32, to: u32) {
        self.normalizer
            .store_event(now, from, to, &self.up, &self.down);
    }

    /// Read access to the stabilisation and event logs.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }
}

impl Policy for Hpa {
    fn name(&self) -> &'static str {
        "hpa"
    }

    fn evaluate(&mut self, now: u64, view: &FleetView) -> Decision {
        let current = view.current_replicas;
        let mut d = Decision::new(now, &self.resource, "hpa", current, current, "");
        d.target_utilization = Some(self.target);
        d.utilization = view.mean_ready_utilization();
        let step = self.step(now, view);
        if let Step::Normalized(raw, _) = step {
            d.recommendation = Some(raw);
        }
        // With no replica registered the step is a hold at 0: the cost model reviews only
        // scale-ups and recording a non-change stores nothing.
        d.retarget(step.to(current), step.reason());
        if let Some(cost) = &self.cost {
            cost.review(&mut d, None);
        }
        self.record_change(now, current, d.to);
        d
    }
}

/// A raw recommendation stabilised and rate-limited.
#[derive(Debug, Clone, Copy)]
struct Normalized {
    to: u32,
    stabilized: u32,
    stabilize: &'static str,
    limit: &'static str,
}

impl Normalized {
    fn reason(&self, raw: u32) -> String {
        if self.stabilized != raw {
            format!(
                "{}: raw {raw} held at {}; {}",
                self.stabilize, self.stabilized, self.limit
            )
        } else {
            self.limit.to_string()
        }
    }
}

/// What one evaluation arrives at before the cost model.
#[derive(Debug)]
enum Step {
    /// No replica registered: autoscaling is disabled.
    NoReplica,
    /// Current count outside `[min, max]`: the bound, and why.
    Clamped(u32, &'static str),
    /// The raw recommendation and what stabilisation and the rate limits made of it.
    Normalized(u32, Normalized),
    /// No metrics: keep the count.
    NoMetrics(HpaError),
}

impl Step {
    fn to(&self, current: u32) -> u32 {
        match self {
            Step::NoReplica | Step::NoMetrics(_) => current,
            Step::Clamped(to, _) => *to,
            Step::Normalized(_, n) => n.to,
        }
    }

    fn reason(&self) -> String {
        match self {
            Step::NoReplica => "ScalingDisabled: no replica registered".to_string(),
            Step::Clamped(_, why) => why.to_string(),
            Step::Normalized(raw, n) => n.reason(*raw),
            Step::NoMetrics(e) => format!("FailedGetResourceMetric: {e}"),
        }
    }
}

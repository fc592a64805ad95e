//! The HPA replica calculator for a resource-utilisation target, as Kubernetes computes it
//! (`pkg/controller/podautoscaler/replica_calculator.go`, `GetResourceReplicas`, and
//! `metrics/utilization.go`, `GetResourceUtilizationRatio`).
//!
//! Algorithm (integer milli-units, as Kubernetes):
//! 1. Group pods (see [`crate::autoscale::utilization`]): terminated pods are dropped; pending and
//!    not-ready pods are *unready* and their samples removed; ready pods without a sample are
//!    *missing*.
//! 2. utilisation % = ⌊Σ usage · 100 / Σ request⌋ over the pods that have samples; usage ratio =
//!    utilisation % / target %.
//! 3. With no unready pod on a scale-up and no missing pod: if |1 − ratio| ≤ tolerance keep the
//!    current count, else ⌈ratio · ready⌉.
//! 4. Otherwise fill in the gaps conservatively and recompute: on a scale-down (ratio < 1) missing
//!    pods count as using max(100 %, target) of their request, on a scale-up as 0 %; on a scale-up
//!    unready pods count as 0 %. If the new ratio is within tolerance or flips the direction, keep
//!    the current count; else ⌈new ratio · pods counted⌉, unless that count itself moves against
//!    the new ratio's direction (a rolling update with surge pods), in which case keep the current.
//!
//! Defaults: tolerance 0.1 (`--horizontal-pod-autoscaler-tolerance`). echoflow feeds each
//! membrane's SPEC §3 utilisation as `round(u · 1000)` milli-units of a 1000-milli request, so the
//! integer truncation is Kubernetes' own. Deviation: echoflow has one tolerance for both
//! directions (Kubernetes ≥ 1.33 may configure them per direction).

use crate::autoscale::utilization::{FleetView, PodPhase};

/// One pod's input to the calculator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodMetric {
    /// How the controller sees the pod.
    pub phase: PodPhase,
    /// Its request in milli-units (must be > 0).
    pub request_milli: i64,
    /// Its usage in milli-units; `None` = no sample.
    pub usage_milli: Option<i64>,
}

/// What the calculator returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaCount {
    /// The recommended replicas.
    pub replicas: u32,
    /// Utilisation in whole percent of request over the pods with samples (Kubernetes
    /// `currentUtilization`).
    pub utilization_percent: i64,
    /// Mean usage per pod with a sample, milli-units (Kubernetes `rawUtilization`).
    pub raw_average_milli: i64,
}

/// Why no recommendation could be made (Kubernetes returns these as errors and the controller
/// does not scale).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HpaError {
    /// The selector matched no pod.
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    /// A pod has no (positive) request.
    #[error("missing request for pod {0}")]
    MissingRequest(usize),
    /// No ready pod reported a sample.
    #[error("did not receive metrics for any ready pods")]
    NoMetrics,
}

/// Kubernetes takes the target as whole percent; echoflow's target is a fraction. Round away
/// representation noise (0.7 · 100 = 70.00000000000001) so ratios match Kubernetes'.
pub fn target_percent(target_utilization: f64) -> f64 {
    (target_utilization * 100.0 * 1e6).round() / 1e6
}

/// Σ usage, Σ request and the number of pods of one group of pods: all the calculator needs of
/// a group (Kubernetes sums the same integers in `GetResourceUtilizationRatio`), so it runs
/// without a per-pod list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    usage: i64,
    request: i64,
    pods: i64,
}

impl Sums {
    fn add(&mut self, usage: i64, request: i64) {
        self.usage += usage;
        self.request += request;
        self.pods += 1;
    }

    /// The group's requests with every pod's usage taken as `usage`.
    fn with_usage(self, usage: i64) -> Sums {
        Sums { usage, ..self }
    }

    fn plus(self, other: Sums) -> Sums {
        Sums {
            usage: self.usage + other.usage,
            request: self.request + other.request,
            pods: self.pods + other.pods,
        }
    }

    /// (usage ratio, utilisation %, mean usage per pod): `GetResourceUtilizationRatio`.
    fn ratio(&self, target_pct: f64) -> (f64, i64, i64) {
        let pct = if self.request > 0 {
            self.usage * 100 / self.request
        } else {
            0
        };
        let raw = if self.pods > 0 {
            self.usage / self.pods
        } else {
            0
        };
        (pct as f64 / target_pct, pct, raw)
    }
}

/// The replica calculator (`GetResourceReplicas`).
///
/// ```
/// use echoflow_operators::autoscale::hpa::replicas::{resource_replicas, PodMetric};
/// use echoflow_operators::autoscale::utilization::PodPhase;
/// // Kubernetes' TestReplicaCalcScaleUp: 3 pods at 300/500/700 m of 1000 m, target 30 %.
/// let pods: Vec<_> = [300, 500, 700]
///     .map(|u| PodMetric { phase: PodPhase::Ready, request_milli: 1000, usage_milli: Some(u) })
///     .to_vec();
/// let r = resource_replicas(3, &pods, 30.0, 0.1).unwrap();
/// assert_eq!((r.replicas, r.utilization_percent), (5, 50));
/// ```
pub fn resource_replicas(
    current: u32,
    pods: &[PodMetric],
    target_pct: f64,
    tolerance: f64,
) -> Result<ReplicaCount, HpaError> {
    calculate(current, pods.iter().copied(), target_pct, tolerance)
}

/// [`resource_replicas`] over any sequence of pods, in one pass and without allocating: each
/// group of pods (ready with a sample, missing, unready) enters only as its [`Sums`], and a
/// missing pod's fallback usage on a scale-down, ⌊request · max(target, 100 %)⌋ per pod as
/// Kubernetes truncates it, is summed in the same pass.
fn calculate(
    current: u32,
    pods: impl IntoIterator<Item = PodMetric>,
    target_pct: f64,
    tolerance: f64,
) -> Result<ReplicaCount, HpaError> {
    let fallback_pct = target_pct.max(100.0);
    let (mut seen, mut no_request) = (0usize, None);
    let (mut ready, mut unready, mut missing) = (Sums::default(), Sums::default(), Sums::default());
    let mut missing_fallback = 0i64;
    for (i, p) in pods.into_iter().enumerate() {
        seen += 1;
        if p.request_milli <= 0 {
            no_request.get_or_insert(i);
            continue;
        }
        match (p.phase, p.usage_milli) {
            (PodPhase::Terminated, _) => {}
            (PodPhase::Pending, _) | (PodPhase::NotReady, Some(_)) => {
                unready.add(0, p.request_milli)
            }
            (_, None) => {
                missing.add(0, p.request_milli);
                missing_fallback += (p.request_milli as f64 * fallback_pct / 100.0) as i64;
            }
            (PodPhase::Ready, Some(u)) => ready.add(u, p.request_milli),
        }
    }
    if seen == 0 {
        return Err(HpaError::NoPods);
    }
    if let Some(i) = no_request {
        return Err(HpaError::MissingRequest(i));
    }
    if ready.pods == 0 {
        return Err(HpaError::NoMetrics);
    }
    let (usage_ratio, pct, raw) = ready.ratio(target_pct);
    let out = |replicas| ReplicaCount {
        replicas,
        utilization_percent: pct,
        raw_average_milli: raw,
    };
    let scale_up_with_unready = unready.pods > 0 && usage_ratio > 1.0;
    if !scale_up_with_unready && missing.pods == 0 {
        if (1.0 - usage_ratio).abs() <= tolerance {
            return Ok(out(current));
        }
        return Ok(out((usage_ratio * ready.pods as f64).ceil() as u32));
    }
    let mut counted = ready;
    if usage_ratio < 1.0 {
        counted = counted.plus(missing.with_usage(missing_fallback));
    } else if usage_ratio > 1.0 {
        counted = counted.plus(missing);
    }
    if scale_up_with_unready {
        counted = counted.plus(unready);
    }
    let (new_ratio, _, _) = counted.ratio(target_pct);
    if (1.0 - new_ratio).abs() <= tolerance
        || (usage_ratio < 1.0 && new_ratio > 1.0)
        || (usage_ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(out(current));
    }
    let new_replicas = (new_ratio * counted.pods as f64).ceil() as u32;
    if (new_ratio < 1.0 && new_replicas > current) || (new_ratio > 1.0 && new_replicas < current) {
        return Ok(out(current));
    }
    Ok(out(new_replicas))
}

/// The calculator on an echoflow [`FleetView`]: each membrane's utilisation u becomes
/// `round(u · 1000)` milli of a 1000-milli request. Allocates nothing.
pub fn view_replicas(
    view: &FleetView,
    target_utilization: f64,
    tolerance: f64,
) -> Result<ReplicaCount, HpaError> {
    let pods = view.pods.iter().map(|p| PodMetric {
        phase: p.phase,
        request_milli: 1000,
        usage_milli: p.utilization.map(|u| (u.max(0.0) * 1000.0).round() as i64),
    });
    calculate(
        view.current_replicas,
        pods,
        target_percent(target_utilization),
        tolerance,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The calculator as Kubernetes writes it, with per-pod lists (`GetResourceReplicas`
    /// groups pods into sets and appends fill-in samples to the metrics): the form
    /// [`calculate`]'s sums replace, kept here to check them against.
    fn listed(
        current: u32,
        pods: &[PodMetric],
        target_pct: f64,
        tolerance: f64,
    ) -> Result<ReplicaCount, HpaError> {
        fn ratio(metrics: &[(i64, i64)], target_pct: f64) -> (f64, i64, i64) {
            let (usage, request) = metrics
                .iter()
                .fold((0i64, 0i64), |(u, r), &(mu, mr)| (u + mu, r + mr));
            let pct = if request > 0 {
                usage * 100 / request
            } else {
                0
            };
            let raw = if metrics.is_empty() {
                0
            } else {
                usage / metrics.len() as i64
            };
            (pct as f64 / target_pct, pct, raw)
        }
        if pods.is_empty() {
            return Err(HpaError::NoPods);
        }
        if let Some(i) = pods.iter().position(|p| p.request_milli <= 0) {
            return Err(HpaError::MissingRequest(i));
        }
        let (mut ready, mut unready, mut missing, mut metrics) = (0u32, vec![], vec![], vec![]);
        for p in pods {
            match (p.phase, p.usage_milli) {
                (PodPhase::Terminated, _) => {}
                (PodPhase::Pending, _) => unready.push(p.request_milli),
                (_, None) => missing.push(p.request_milli),
                (PodPhase::NotReady, Some(_)) => unready.push(p.request_milli),
                (PodPhase::Ready, Some(u)) => {
                    ready += 1;
                    metrics.push((u, p.request_milli));
                }
            }
        }
        if metrics.is_empty() {
            return Err(HpaError::NoMetrics);
        }
        let (usage_ratio, pct, raw) = ratio(&metrics, target_pct);
        let out = |replicas| ReplicaCount {
            replicas,
            utilization_percent: pct,
            raw_average_milli: raw,
        };
        let scale_up_with_unready = !unready.is_empty() && usage_ratio > 1.0;
        if !scale_up_with_unready && missing.is_empty() {
            if (1.0 - usage_ratio).abs() <= tolerance {
                return Ok(out(current));
            }
            return Ok(out((usage_ratio * f64::from(ready)).ceil() as u32));
        }
        if usage_ratio < 1.0 {
            let fallback_pct = target_pct.max(100.0);
            for &req in &missing {
                metrics.push(((req as f64 * fallback_pct / 100.0) as i64, req));
            }
        } else if usage_ratio > 1.0 {
            for &req in &missing {
                metrics.push((0, req));
            }
        }
        if scale_up_with_unready {
            for &req in &unready {
                metrics.push((0, req));
            }
        }
        let (new_ratio, _, _) = ratio(&metrics, target_pct);
        if (1.0 - new_ratio).abs() <= tolerance
            || (usage_ratio < 1.0 && new_ratio > 1.0)
            || (usage_ratio > 1.0 && new_ratio < 1.0)
        {
            return Ok(out(current));
        }
        let new_replicas = (new_ratio * metrics.len() as f64).ceil() as u32;
        if (new_ratio < 1.0 && new_replicas > current)
            || (new_ratio > 1.0 && new_replicas < current)
        {
            return Ok(out(current));
        }
        Ok(out(new_replicas))
    }

    fn pod() -> impl Strategy<Value = PodMetric> {
        let phase = prop_oneof![
            6 => Just(PodPhase::Ready),
            1 => Just(PodPhase::NotReady),
            1 => Just(PodPhase::Pending),
            1 => Just(PodPhase::Terminated),
        ];
        // Requests mostly as echoflow feeds them (1000 m), some odd ones and, rarely (most
        // inputs should reach the calculation), an invalid one.
        let request = prop_oneof![30 => Just(1000i64), 15 => 1i64..5000, 1 => -2i64..1];
        let usage = proptest::option::weighted(0.85, 0i64..4000);
        (phase, request, usage).prop_map(|(phase, request_milli, usage_milli)| PodMetric {
            phase,
            request_milli,
            usage_milli,
        })
    }

    proptest! {
        /// The one-pass sums decide exactly as the per-pod lists: the same recommendation,
        /// utilisation and mean, or the same error, for any mix of ready, unready, missing,
        /// terminated and request-less pods, targets and tolerances.
        #[test]
        fn sums_decide_as_the_listed_calculator(
            pods in proptest::collection::vec(pod(), 0..40),
            current in 0u32..60,
            target in prop_oneof![Just(70.0), 10.0f64..150.0],
            tolerance in prop_oneof![Just(0.1), 0.0f64..0.5],
        ) {
            prop_assert_eq!(
                resource_replicas(current, &pods, target, tolerance),
                listed(current, &pods, target, tolerance)
            );
        }
    }

    #[test]
    fn target_percent_removes_float_noise() {
        assert_eq!(target_percent(0.7), 70.0);
        assert_eq!(target_percent(0.55), 55.0);
        // 77 % against 70 % is a ratio of exactly 1.1 as Kubernetes computes it: outside 0.1.
        let pods = [PodMetric {
            phase: PodPhase::Ready,
            request_milli: 1000,
            usage_milli: Some(770),
        }];
        assert_eq!(
            resource_replicas(1, &pods, target_percent(0.7), 0.1)
                .unwrap()
                .replicas,
            2
        );
    }

    #[test]
    fn empty_and_metricless_inputs_are_errors() {
        assert_eq!(resource_replicas(1, &[], 70.0, 0.1), Err(HpaError::NoPods));
        let pods = [PodMetric {
            phase: PodPhase::NotReady,
            request_milli: 1000,
            usage_milli: Some(10),
        }];
        assert_eq!(
            resource_replicas(1, &pods, 70.0, 0.1),
            Err(HpaError::NoMetrics)
        );
    }
}

//! The fleet view the policies decide on, and the utilisation they scale on (SPEC §3).
//!
//! SPEC §3: per ready membrane, utilisation = its mean `cpu` over the interval ×
//! (1 + shed / max(admitted, 1)), where `shed` counts the fleet's requests rejected as
//! `rate_limited`, `red_drop`, `queue_full` or `no_healthy_membrane` in the interval. Shed demand
//! counts as demand, so the value may exceed 1; with nothing shed it is the cpu.
//!
//! Pods are classified as the Kubernetes HPA controller's `groupPods`
//! (`pkg/controller/podautoscaler/replica_calculator.go`) classifies them, in the same order:
//! a terminated (failed or deleting) pod is dropped; a pending pod is unready; a pod without a
//! sample in the interval has *missing metrics*; a pod that is not ready is unready; the rest are
//! ready. echoflow deviation: Kubernetes derives readiness of a CPU sample from pod start and
//! readiness-transition times (the CPU initialisation period, 5 min, and the initial readiness
//! delay, 30 s); echoflow's membranes report readiness directly (`healthy`, freshness and the
//! breaker, SPEC §3), so the caller passes [`PodPhase::NotReady`] where Kubernetes would ignore
//! the sample.
//!
//! [`IntervalAggregator`] turns telemetry and request outcomes of one interval into a
//! [`FleetView`]; the `simulate` model builds its view directly (see `fleet_model`).

use std::collections::BTreeMap;

/// How the HPA controller sees a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodPhase {
    /// Running and ready.
    Ready,
    /// Running, not ready (or a sample Kubernetes would ignore during initialisation).
    NotReady,
    /// Not yet running.
    Pending,
    /// Failed or being deleted: not counted at all.
    Terminated,
}

/// One pod (membrane) in an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodSample {
    /// Its phase.
    pub phase: PodPhase,
    /// Its utilisation over the interval (1.0 = its full capacity); `None` = missing metrics.
    pub utilization: Option<f64>,
}

impl PodSample {
    /// A ready pod at `u`.
    pub fn ready(u: f64) -> Self {
        PodSample {
            phase: PodPhase::Ready,
            utilization: Some(u),
        }
    }

    /// A registered pod that is not ready yet (a starting replica), reporting `u`.
    pub fn not_ready(u: f64) -> Self {
        PodSample {
            phase: PodPhase::NotReady,
            utilization: Some(u),
        }
    }

    /// A ready pod with no sample in the interval.
    pub fn missing() -> Self {
        PodSample {
            phase: PodPhase::Ready,
            utilization: None,
        }
    }
}

/// What a policy sees at an evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetView {
    /// Current replicas: registered membranes, ready or not (SPEC §3).
    pub current_replicas: u32,
    /// Every registered pod.
    pub pods: Vec<PodSample>,
    /// Mean latency over the ready pods in the interval (ms), if any reported it.
    pub latency_ms: Option<f64>,
}

impl FleetView {
    /// Number of ready pods.
    pub fn ready_count(&self) -> u32 {
        self.pods
            .iter()
            .filter(|p| p.phase == PodPhase::Ready)
            .count() as u32
    }

    /// Mean utilisation over ready pods with metrics; `None` if there are none.
    pub fn mean_ready_utilization(&self) -> Option<f64> {
        let (sum, n) = self
            .pods
            .iter()
            .filter(|p| p.phase == PodPhase::Ready)
            .filter_map(|p| p.utilization)
            .fold((0.0, 0u32), |(s, n), u| (s + u, n + 1));
        (n > 0).then(|| sum / f64::from(n))
    }

    /// Offered load in replicas' worth: mean ready utilisation × ready pods. This is the demand
    /// signal the predictive policy forecasts (independent of how many replicas serve it).
    pub fn load_in_replicas(&self) -> Option<f64> {
        self.mean_ready_utilization()
            .map(|u| u * f64::from(self.ready_count()))
    }
}

/// The SPEC §3 utilisation of one pod: mean cpu × (1 + shed / max(admitted, 1)).
///
/// ```
/// use echoflow_operators::autoscale::utilization::shed_adjusted;
/// assert_eq!(shed_adjusted(0.5, 0, 100), 0.5);      // nothing shed: the cpu
/// assert_eq!(shed_adjusted(0.9, 50, 100), 1.35);    // a third of the demand shed
/// assert_eq!(shed_adjusted(1.0, 10, 0), 11.0);      // nothing admitted: max(admitted, 1)
/// ```
pub fn shed_adjusted(mean_cpu: f64, shed: u64, admitted: u64) -> f64 {
    mean_cpu * (1.0 + shed as f64 / admitted.max(1) as f64)
}

#[derive(Debug, Default, Clone)]
struct MembraneAcc {
    cpu_sum: f64,
    latency_sum: f64,
    samples: u32,
}

/// Accumulates one interval of telemetry and request outcomes into a [`FleetView`].
///
/// ```
/// use echoflow_operators::autoscale::utilization::{IntervalAggregator, PodPhase};
/// let mut agg = IntervalAggregator::default();
/// agg.telemetry("m1", 0.6, 10.0);
/// agg.telemetry("m1", 0.8, 30.0);
/// agg.outcomes(90, 30); // 90 admitted, 30 shed
/// let view = agg.finish([("m1", PodPhase::Ready), ("m2", PodPhase::Ready)]);
/// assert_eq!(view.current_replicas, 2);
/// assert!((view.pods[0].utilization.unwrap() - 0.7 * (1.0 + 30.0 / 90.0)).abs() < 1e-12);
/// assert_eq!(view.pods[1].utilization, None); // silent: missing metrics
/// ```
#[derive(Debug, Default, Clone)]
pub struct IntervalAggregator {
    membranes: BTreeMap<String, MembraneAcc>,
    admitted: u64,
    shed: u64,
}

impl IntervalAggregator {
    /// One telemetry report of a membrane in this interval.
    pub fn telemetry(&mut self, membrane: &str, cpu: f64, latency_ms: f64) {
        self.summed(membrane, cpu, latency_ms, 1);
    }

    /// A membrane's reports in this interval already summed: `samples` reports whose cpu and
    /// latency add up to `cpu_sum` and `latency_sum` (the dataflow's windowed collections
    /// deliver them this way). Adds to what [`IntervalAggregator::telemetry`] gathered.
    ///
    /// ```
    /// use echoflow_operators::autoscale::utilization::{IntervalAggregator, PodPhase};
    /// let mut agg = IntervalAggregator::default();
    /// agg.summed("m1", 1.4, 40.0, 2);
    /// let view = agg.finish([("m1", PodPhase::Ready)]);
    /// assert!((view.pods[0].utilization.unwrap() - 0.7).abs() < 1e-12);
    /// assert_eq!(view.latency_ms, Some(20.0));
    /// ```
    pub fn summed(&mut self, membrane: &str, cpu_sum: f64, latency_sum: f64, samples: u32) {
        let acc = self.membranes.entry(membrane.to_string()).or_default();
        acc.cpu_sum += cpu_sum;
        acc.latency_sum += latency_sum;
        acc.samples += samples;
    }

    /// Request outcomes in this interval: admitted, and shed (rejected as `rate_limited`,
    /// `red_drop`, `queue_full` or `no_healthy_membrane`).
    pub fn outcomes(&mut self, admitted: u64, shed: u64) {
        self.admitted += admitted;
        self.shed += shed;
    }

    /// Ends the interval: every registered membrane with its phase, in a stable order.
    pub fn finish<'a>(
        &mut self,
        registered: impl IntoIterator<Item = (&'a str, PodPhase)>,
    ) -> FleetView {
        let mut pods = Vec::new();
        let mut current = 0u32;
        let (mut lat_sum, mut lat_n) = (0.0, 0u32);
        for (id, phase) in registered {
            current += 1;
            let utilization = self.membranes.get(id).filter(|a| a.samples > 0).map(|a| {
                let n = f64::from(a.samples);
                if phase == PodPhase::Ready {
                    lat_sum += a.latency_sum / n;
                    lat_n += 1;
                }
                shed_adjusted(a.cpu_sum / n, self.shed, self.admitted)
            });
            pods.push(PodSample { phase, utilization });
        }
        let view = FleetView {
            current_replicas: current,
            pods,
            latency_ms: (lat_n > 0).then(|| lat_sum / f64::from(lat_n)),
        };
        *self = IntervalAggregator::default();
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shed_demand_raises_the_utilisation() {
        let mut agg = IntervalAggregator::default();
        agg.telemetry("a", 0.9, 5.0);
        agg.outcomes(100, 0);
        let calm = agg.finish([("a", PodPhase::Ready)]);
        agg.telemetry("a", 0.9, 5.0);
        agg.outcomes(100, 100);
        let shedding = agg.finish([("a", PodPhase::Ready)]);
        assert_eq!(calm.mean_ready_utilization(), Some(0.9));
        assert_eq!(shedding.mean_ready_utilization(), Some(1.8));
    }

    #[test]
    fn unready_pods_do_not_count_in_the_mean() {
        let view = FleetView {
            current_replicas: 3,
            pods: vec![
                PodSample::ready(0.8),
                PodSample::not_ready(0.0),
                PodSample::missing(),
            ],
            latency_ms: None,
        };
        assert_eq!(view.ready_count(), 2);
        assert_eq!(view.mean_ready_utilization(), Some(0.8));
        assert_eq!(view.load_in_replicas(), Some(1.6));
    }

    #[test]
    fn finish_resets_the_interval() {
        let mut agg = IntervalAggregator::default();
        agg.telemetry("a", 0.5, 1.0);
        let _ = agg.finish([("a", PodPhase::Ready)]);
        let next = agg.finish([("a", PodPhase::Ready)]);
        assert_eq!(next.pods[0].utilization, None);
        assert_eq!(next.latency_ms, None);
    }
}

//! Test vectors ported from Kubernetes' HPA tests (kubernetes/kubernetes,
//! `pkg/controller/podautoscaler/replica_calculator_test.go` and `horizontal_test.go`), translated
//! to echoflow's API — not copied. Each case names the Go test (and table entry) it comes from.
//!
//! Translation rules:
//! - Kubernetes test pods have two containers with the same request and usage; a pod here has
//!   their sums (so `raw_average_milli` is `numContainersPerPod ×` the Go expectation, as there).
//! - `podReadiness = False` and pods whose CPU sample Kubernetes ignores during the CPU
//!   initialisation period (`hotCPUCreationTime`) are [`PodPhase::NotReady`]; `PodPending` is
//!   [`PodPhase::Pending`]; `PodFailed` and pods with a deletion timestamp are
//!   [`PodPhase::Terminated`]; a pod beyond `levels` has no sample.
//! - Times are event time: "now" is [`NOW`] and "n seconds ago" is `NOW − n·1000`.

use echoflow_operators::autoscale::config::{
    AutoscalerConfig, ResolvedRules, ScalingPolicy, ScalingRules, SelectPolicy,
};
use echoflow_operators::autoscale::hpa::Hpa;
use echoflow_operators::autoscale::hpa::behavior::{
    Normalizer, ScaleEvent, TimedRecommendation, change_in_period, scale_down_limit, scale_up_limit,
};
use echoflow_operators::autoscale::hpa::replicas::{
    HpaError, PodMetric, ReplicaCount, resource_replicas,
};
use echoflow_operators::autoscale::policy::Policy;
use echoflow_operators::autoscale::utilization::{FleetView, PodPhase, PodSample};

const NOW: u64 = 100_000_000;
const TOLERANCE: f64 = 0.1;
const CONTAINERS: i64 = 2;

use PodPhase::{NotReady as NR, Pending as P, Ready as R, Terminated as T};

/// Pods with per-container `requests` (milli) and `levels` (milli); phases default to Ready.
fn pods(requests: &[i64], levels: &[i64], phases: &[PodPhase]) -> Vec<PodMetric> {
    let n = requests.len().max(phases.len());
    (0..n)
        .map(|i| PodMetric {
            phase: phases.get(i).copied().unwrap_or(R),
            request_milli: requests.get(i).copied().unwrap_or(0) * CONTAINERS,
            usage_milli: levels.get(i).map(|l| l * CONTAINERS),
        })
        .collect()
}

fn calc(current: u32, pods: &[PodMetric], target: f64) -> ReplicaCount {
    resource_replicas(current, pods, target, TOLERANCE).expect("a recommendation")
}

fn assert_calc(r: ReplicaCount, replicas: u32, utilization: i64, raw: i64) {
    assert_eq!(r.replicas, replicas, "replicas");
    assert_eq!(r.utilization_percent, utilization, "utilization");
    assert_eq!(r.raw_average_milli, raw, "raw value");
}

const K: i64 = 1000;

/// TestReplicaCalcScaleUp
#[test]
fn replica_calc_scale_up() {
    let p = pods(&[K, K, K], &[300, 500, 700], &[]);
    assert_calc(calc(3, &p, 30.0), 5, 50, CONTAINERS * 500);
}

/// TestReplicaCalcScaleUpUnreadyLessScale
#[test]
fn replica_calc_scale_up_unready_less_scale() {
    let p = pods(&[K, K, K], &[300, 500, 700], &[NR, R, R]);
    assert_calc(calc(3, &p, 30.0), 4, 60, CONTAINERS * 600);
}

/// TestReplicaCalcScaleUpHotCpuLessScale (the hot-CPU pod's sample is ignored: NotReady)
#[test]
fn replica_calc_scale_up_hot_cpu_less_scale() {
    let p = pods(&[K, K, K], &[300, 500, 700], &[NR, R, R]);
    assert_calc(calc(3, &p, 30.0), 4, 60, CONTAINERS * 600);
}

/// TestReplicaCalcScaleUpUnreadyNoScale
#[test]
fn replica_calc_scale_up_unready_no_scale() {
    let p = pods(&[K, K, K], &[400, 500, 700], &[R, NR, NR]);
    assert_calc(calc(3, &p, 30.0), 3, 40, CONTAINERS * 400);
}

/// TestReplicaCalcScaleHotCpuNoScale
#[test]
fn replica_calc_scale_hot_cpu_no_scale() {
    let p = pods(&[K, K, K], &[400, 500, 700], &[R, NR, NR]);
    assert_calc(calc(3, &p, 30.0), 3, 40, CONTAINERS * 400);
}

/// TestReplicaCalcScaleUpIgnoresFailedPods
#[test]
fn replica_calc_scale_up_ignores_failed_pods() {
    let p = pods(&[K, K, K, K], &[500, 700], &[R, R, T, T]);
    assert_calc(calc(2, &p, 30.0), 4, 60, CONTAINERS * 600);
}

/// TestReplicaCalcScaleUpIgnoresDeletionPods
#[test]
fn replica_calc_scale_up_ignores_deletion_pods() {
    let p = pods(&[K, K, K, K], &[500, 700], &[R, R, T, T]);
    assert_calc(calc(2, &p, 30.0), 4, 60, CONTAINERS * 600);
}

/// TestReplicaCalcScaleDown
#[test]
fn replica_calc_scale_down() {
    let p = pods(&[K; 5], &[100, 300, 500, 250, 250], &[]);
    assert_calc(calc(5, &p, 50.0), 3, 28, CONTAINERS * 280);
}

/// TestReplicaCalcScaleDownIncludeUnreadyPods
#[test]
fn replica_calc_scale_down_include_unready_pods() {
    let p = pods(&[K; 5], &[100, 300, 500, 250, 250], &[R, R, R, NR, NR]);
    assert_calc(calc(5, &p, 50.0), 2, 30, CONTAINERS * 300);
}

/// TestReplicaCalcScaleDownExcludeUnscheduledPods
#[test]
fn replica_calc_scale_down_exclude_unscheduled_pods() {
    let p = pods(&[K; 5], &[100], &[R, P, P, P, P]);
    assert_calc(calc(5, &p, 50.0), 1, 10, CONTAINERS * 100);
}

/// TestReplicaCalcScaleDownIgnoreHotCpuPods
#[test]
fn replica_calc_scale_down_ignore_hot_cpu_pods() {
    let p = pods(&[K; 5], &[100, 300, 500, 250, 250], &[R, R, R, NR, NR]);
    assert_calc(calc(5, &p, 50.0), 2, 30, CONTAINERS * 300);
}

/// TestReplicaCalcScaleDownIgnoresFailedPods
#[test]
fn replica_calc_scale_down_ignores_failed_pods() {
    let p = pods(&[K; 7], &[100, 300, 500, 250, 250], &[R, R, R, R, R, T, T]);
    assert_calc(calc(5, &p, 50.0), 3, 28, CONTAINERS * 280);
}

/// TestReplicaCalcScaleDownIgnoresDeletionPods
#[test]
fn replica_calc_scale_down_ignores_deletion_pods() {
    let p = pods(&[K; 7], &[100, 300, 500, 250, 250], &[R, R, R, R, R, T, T]);
    assert_calc(calc(5, &p, 50.0), 3, 28, CONTAINERS * 280);
}

/// TestReplicaCalcTolerance
#[test]
fn replica_calc_tolerance() {
    let p = pods(&[900, 1000, 1100], &[1010, 1030, 1020], &[]);
    assert_calc(calc(3, &p, 100.0), 3, 102, CONTAINERS * 1020);
}

/// TestReplicaCalcMissingMetrics
#[test]
fn replica_calc_missing_metrics() {
    let p = pods(&[K; 4], &[400, 95], &[]);
    assert_calc(calc(4, &p, 100.0), 3, 24, 495);
}

/// TestReplicaCalcEmptyMetrics: no sample at all is an error (no scale).
#[test]
fn replica_calc_empty_metrics() {
    let p = pods(&[K; 3], &[], &[]);
    assert_eq!(
        resource_replicas(4, &p, 100.0, TOLERANCE),
        Err(HpaError::NoMetrics)
    );
}

/// TestReplicaCalcEmptyCPURequest: a pod without a request is an error.
#[test]
fn replica_calc_empty_cpu_request() {
    let p = pods(&[], &[200], &[R]);
    assert_eq!(
        resource_replicas(1, &p, 100.0, TOLERANCE),
        Err(HpaError::MissingRequest(0))
    );
}

/// TestReplicaCalcMissingMetricsNoChangeEq
#[test]
fn replica_calc_missing_metrics_no_change_eq() {
    let p = pods(&[K, K], &[1000], &[]);
    assert_calc(calc(2, &p, 100.0), 2, 100, CONTAINERS * 1000);
}

/// TestReplicaCalcMissingMetricsNoChangeGt
#[test]
fn replica_calc_missing_metrics_no_change_gt() {
    let p = pods(&[K, K], &[1900], &[]);
    assert_calc(calc(2, &p, 100.0), 2, 190, CONTAINERS * 1900);
}

/// TestReplicaCalcMissingMetricsNoChangeLt
#[test]
fn replica_calc_missing_metrics_no_change_lt() {
    let p = pods(&[K, K], &[600], &[]);
    assert_calc(calc(2, &p, 100.0), 2, 60, CONTAINERS * 600);
}

/// TestReplicaCalcMissingMetricsUnreadyChange
#[test]
fn replica_calc_missing_metrics_unready_change() {
    let p = pods(&[K; 3], &[100, 450], &[NR, R, R]);
    assert_calc(calc(3, &p, 50.0), 3, 45, CONTAINERS * 450);
}

/// TestReplicaCalcMissingMetricsHotCpuNoChange
#[test]
fn replica_calc_missing_metrics_hot_cpu_no_change() {
    let p = pods(&[K; 3], &[100, 450], &[NR, R, R]);
    assert_calc(calc(3, &p, 50.0), 3, 45, CONTAINERS * 450);
}

/// TestReplicaCalcMissingMetricsUnreadyScaleUp
#[test]
fn replica_calc_missing_metrics_unready_scale_up() {
    let p = pods(&[K; 3], &[100, 2000], &[NR, R, R]);
    assert_calc(calc(3, &p, 50.0), 4, 200, CONTAINERS * 2000);
}

/// TestReplicaCalcMissingMetricsHotCpuScaleUp
#[test]
fn replica_calc_missing_metrics_hot_cpu_scale_up() {
    let p = pods(&[K; 3], &[100, 2000], &[NR, R, R]);
    assert_calc(calc(3, &p, 50.0), 4, 200, CONTAINERS * 2000);
}

/// TestReplicaCalcMissingMetricsUnreadyScaleDown
#[test]
fn replica_calc_missing_metrics_unready_scale_down() {
    let p = pods(&[K; 4], &[100, 100, 100], &[NR, R, R, R]);
    assert_calc(calc(4, &p, 50.0), 3, 10, CONTAINERS * 100);
}

/// TestReplicaCalcDuringRollingUpdateWithMaxSurge
#[test]
fn replica_calc_during_rolling_update_with_max_surge() {
    let p = pods(&[K; 3], &[100, 100], &[R, R, R]);
    assert_calc(calc(2, &p, 50.0), 2, 10, CONTAINERS * 100);
}

/// TestReplicaCalcComputedToleranceAlgImplementation (both halves)
#[test]
fn replica_calc_computed_tolerance_alg_implementation() {
    let start_pods = 10u32;
    let used_total = i64::from(start_pods) * 150;
    let requested_total = 2 * used_total;
    let requested_to_used = (requested_total / used_total) as f64;
    let per_pod = requested_total / i64::from(start_pods);
    let requests: Vec<i64> = [100, -100, 10, -10, 2, -2, 1, -1, 0, 0]
        .iter()
        .map(|d| per_pod + d)
        .collect();
    let levels = vec![used_total / 10; 10];
    let p = pods(&requests, &levels, &[]);
    let target = (1.0 / (requested_to_used * (1.0 - TOLERANCE))).abs() + 0.01;
    let target_pct = (target * 100.0).trunc();
    let used_ratio = used_total as f64 / (requested_total as f64 * target);
    let final_pods = (used_ratio * f64::from(start_pods)).ceil() as u32;
    let r = calc(start_pods, &p, target_pct);
    assert_eq!(r.replicas, final_pods);
    assert_eq!(final_pods, 9);
    assert_eq!(r.utilization_percent, used_total * 100 / requested_total);
    // Within a hair of the tolerance: no scaling.
    let target = (1.0 / (requested_to_used * (1.0 - TOLERANCE))).abs() + 0.004;
    let r = calc(start_pods, &p, (target * 100.0).trunc());
    assert_eq!(r.replicas, start_pods);
}

// ---------------------------------------------------------------------------------------------
// horizontal_test.go: TestScalingWithRules (convertDesiredReplicasWithBehaviorRate)

/// `generateScalingRules(pods, podsPeriod, percent, percentPeriod, window)` with seconds.
fn rules(pods: u32, pods_s: u64, percent: u32, percent_s: u64, window_s: u64) -> ResolvedRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy::pods(pods, pods_s * 1000));
    }
    if percent != 0 {
        policies.push(ScalingPolicy::percent(percent, percent_s * 1000));
    }
    ResolvedRules {
        stabilization_window_ms: window_s * 1000,
        select_policy: SelectPolicy::Max,
        policies,
    }
}

fn default_up() -> ResolvedRules {
    ScalingRules::default_scale_up().resolve(0)
}

fn default_down() -> ResolvedRules {
    ScalingRules::default_scale_down().resolve(300_000)
}

/// `generateEventsUniformDistribution(raw, period)`: event i at
/// ⌊period − seg·(i+1) + seg/2⌋ seconds ago, seg = period / len (Go truncates to whole seconds).
fn events(raw: &[u32], period_s: u64) -> Vec<ScaleEvent> {
    let seg = period_s as f64 / raw.len() as f64;
    raw.iter()
        .enumerate()
        .map(|(i, &change)| {
            let ago = (period_s as f64 - seg * (i + 1) as f64 + seg / 2.0).trunc() as u64;
            ScaleEvent {
                change,
                ts: NOW - ago * 1000,
                outdated: false,
            }
        })
        .collect()
}

struct RuleCase {
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
    min: u32,
    max: u32,
    up: Option<ResolvedRules>,
    down: Option<ResolvedRules>,
    current: u32,
    desired: u32,
}

fn convert(c: RuleCase) -> (u32, &'static str) {
    let n = Normalizer {
        recommendations: Vec::new(),
        up_events: c.up_events,
        down_events: c.down_events,
    };
    n.convert_with_rate(
        NOW,
        c.current,
        c.desired,
        (c.min, c.max),
        &c.up.unwrap_or_else(default_up),
        &c.down.unwrap_or_else(default_down),
    )
}

macro_rules! scaling_with_rules {
    ($($(#[$doc:meta])* $name:ident: up_events $ue:expr, down_events $de:expr, min $min:expr, max $max:expr,
       up $up:expr, down $down:expr, current $cur:expr, desired $des:expr => $exp:expr, $cond:expr;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let got = convert(RuleCase {
                up_events: $ue, down_events: $de, min: $min, max: $max,
                up: $up, down: $down, current: $cur, desired: $des,
            });
            assert_eq!(got, ($exp, $cond));
        }
    )*};
}

scaling_with_rules! {
    /// TestScalingWithRules: "prenormalized desired replicas within range"
    rules_within_range: up_events vec![], down_events vec![], min 3, max 8, up None, down None,
        current 5, desired 7 => 7, "DesiredWithinRange";
    /// TestScalingWithRules: "prenormalized desired replicas < minReplicas"
    rules_below_min: up_events vec![], down_events vec![], min 2, max 8, up None, down None,
        current 3, desired 1 => 2, "TooFewReplicas";
    /// TestScalingWithRules: "prenormalized desired replicas within range when minReplicas is 0"
    rules_min_zero: up_events vec![], down_events vec![], min 0, max 10, up None, down None,
        current 1, desired 0 => 0, "DesiredWithinRange";
    /// TestScalingWithRules: "maxReplicas is the limit because maxReplicas < scaleUpLimit"
    rules_max_below_limit: up_events vec![], down_events vec![], min 1, max 10, up None, down None,
        current 20, desired 1000 => 10, "TooManyReplicas";
    /// TestScalingWithRules: "desired replica count is more than the maximum replica count"
    rules_more_than_max: up_events vec![], down_events vec![], min 100, max 150, up None, down None,
        current 100, desired 1000 => 150, "TooManyReplicas";
    /// TestScalingWithRules: "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies"
    rules_user_up_limit: up_events vec![], down_events vec![], min 1, max 2000,
        up Some(rules(0, 0, 1, 60, 0)), down None, current 3, desired 1000 => 4, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies"
    rules_user_down_limit: up_events vec![], down_events vec![], min 3, max 2000,
        up None, down Some(rules(20, 60, 0, 0, 0)), current 1000, desired 3 => 980, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleUp with default behavior"
    rules_up_default: up_events vec![], down_events vec![], min 1, max 1000, up None, down None,
        current 10, desired 50 => 20, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with pods policy larger than percent policy"
    rules_up_pods_larger: up_events vec![], down_events vec![], min 1, max 1000,
        up Some(rules(100, 60, 100, 60, 0)), down None, current 10, desired 500 => 110, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with percent policy larger than pods policy"
    rules_up_percent_larger: up_events vec![], down_events vec![], min 1, max 1000,
        up Some(rules(2, 60, 100, 60, 0)), down None, current 10, desired 500 => 20, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with spec MaxReplicas limitation with large pod policy"
    rules_up_large_pods: up_events vec![], down_events vec![], min 1, max 1000,
        up Some(rules(100, 60, 0, 0, 0)), down None, current 10, desired 50 => 50, "DesiredWithinRange";
    /// TestScalingWithRules: "scaleUp with pod policy limitation"
    rules_up_pod_limit: up_events vec![], down_events vec![], min 1, max 1000,
        up Some(rules(30, 60, 0, 0, 0)), down None, current 10, desired 50 => 40, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with percent policy limitation"
    rules_up_percent_limit: up_events vec![], down_events vec![], min 1, max 1000,
        up Some(rules(0, 0, 200, 60, 0)), down None, current 10, desired 50 => 30, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleDown with percent policy larger than pod policy"
    rules_down_percent_larger: up_events vec![], down_events vec![], min 1, max 1000,
        up None, down Some(rules(20, 60, 1, 60, 300)), current 100, desired 2 => 80, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with pod policy larger than percent policy"
    rules_down_pods_larger: up_events vec![], down_events vec![], min 1, max 1000,
        up None, down Some(rules(2, 60, 1, 60, 300)), current 100, desired 2 => 98, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with spec MinReplicas limitation with large pod policy"
    rules_down_min_large_pods: up_events vec![], down_events vec![], min 1, max 1000,
        up None, down Some(rules(100, 60, 0, 0, 300)), current 10, desired 0 => 1, "TooFewReplicas";
    /// TestScalingWithRules: "scaleDown with spec MinReplicas limitation with large percent policy"
    rules_down_min_large_percent: up_events vec![], down_events vec![], min 5, max 1000,
        up None, down Some(rules(0, 0, 100, 60, 300)), current 10, desired 2 => 5, "TooFewReplicas";
    /// TestScalingWithRules: "scaleDown with pod policy limitation"
    rules_down_pod_limit: up_events vec![], down_events vec![], min 1, max 1000,
        up None, down Some(rules(5, 60, 0, 0, 300)), current 10, desired 2 => 5, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with percent policy limitation"
    rules_down_percent_limit: up_events vec![], down_events vec![], min 1, max 1000,
        up None, down Some(rules(0, 0, 50, 60, 300)), current 10, desired 5 => 5, "DesiredWithinRange";
    /// TestScalingWithRules: "scaleUp with spec MaxReplicas limitation with large pod policy and events"
    rules_up_max_with_events: up_events events(&[1, 5, 9], 120), down_events vec![], min 1, max 200,
        up Some(rules(300, 60, 0, 0, 0)), down None, current 100, desired 500 => 200, "TooManyReplicas";
    /// TestScalingWithRules: "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events"
    rules_up_blocked_by_recent_events: up_events events(&[1, 5, 9], 120), down_events vec![], min 1, max 1000,
        up Some(rules(5, 120, 0, 0, 0)), down None, current 100, desired 500 => 100, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with pod policy and previous scale up events"
    rules_up_pods_with_events: up_events events(&[1, 5, 9], 120), down_events vec![], min 1, max 1000,
        up Some(rules(150, 120, 0, 0, 0)), down None, current 100, desired 500 => 235, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with percent policy and previous scale up events"
    rules_up_percent_with_events: up_events events(&[1, 5, 9], 120), down_events vec![], min 1, max 1000,
        up Some(rules(0, 0, 200, 120, 0)), down None, current 100, desired 500 => 255, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleUp with percent policy and previous scale up and down events"
    rules_up_percent_with_both_events: up_events events(&[4], 120), down_events events(&[2], 120), min 1, max 1000,
        up Some(rules(0, 0, 300, 300, 0)), down None, current 6, desired 24 => 16, "ScaleUpLimit";
    /// TestScalingWithRules: "scaleDown with default policy and previous events"
    rules_down_default_with_events: up_events vec![], down_events events(&[1, 5, 9], 120), min 1, max 1000,
        up None, down None, current 10, desired 5 => 5, "DesiredWithinRange";
    /// TestScalingWithRules: "scaleDown with spec MinReplicas limitation with large pod policy and previous events"
    rules_down_min_with_events: up_events vec![], down_events events(&[1, 5, 9], 120), min 5, max 1000,
        up None, down Some(rules(130, 120, 0, 0, 300)), current 100, desired 0 => 5, "TooFewReplicas";
    /// TestScalingWithRules: "scaleDown with pod policy limitation and previous events"
    rules_down_pods_with_events: up_events vec![], down_events events(&[1, 5, 9], 120), min 1, max 1000,
        up None, down Some(rules(5, 120, 0, 0, 300)), current 100, desired 2 => 100, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with percent policy limitation and previous events"
    rules_down_percent_with_events: up_events vec![], down_events events(&[2, 4, 6], 120), min 1, max 1000,
        up None, down Some(rules(0, 0, 50, 120, 300)), current 100, desired 0 => 56, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with percent policy and previous scale up and down events"
    rules_down_percent_with_both_events: up_events events(&[2], 120), down_events events(&[4], 120), min 1, max 1000,
        up None, down Some(rules(0, 0, 50, 180, 0)), current 10, desired 1 => 6, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with previous events preventing further scale down"
    rules_down_blocked_by_events: up_events vec![], down_events events(&[10, 10, 10], 120), min 1, max 1000,
        up None, down Some(rules(0, 0, 10, 120, 300)), current 100, desired 0 => 100, "ScaleDownLimit";
    /// TestScalingWithRules: "scaleDown with with previous events still allowing more scale down"
    rules_down_still_allowed: up_events vec![], down_events events(&[10, 10, 10], 120), min 1, max 1000,
        up None, down Some(rules(0, 0, 1000, 120, 300)), current 10, desired 5 => 5, "DesiredWithinRange";
    /// TestScalingWithRules: "check that events were marked 'outdated' for two different policies in the behavior for up"
    rules_up_two_periods: up_events events(&[8, 12, 9, 11], 120), down_events vec![], min 1, max 1000,
        up Some(rules(1000, 30, 100, 60, 0)), down None, current 100, desired 200 => 200, "DesiredWithinRange";
    /// TestScalingWithRules: "check that events were not marked 'outdated' for two different policies in the behavior for down"
    rules_down_two_periods: up_events vec![], down_events events(&[8, 12, 9, 11], 120), min 1, max 1000,
        up None, down Some(rules(1000, 120, 100, 60, 300)), current 100, desired 5 => 5, "DesiredWithinRange";
}

/// TestCalculateScaleUpLimitWithScalingRules (select policy `min`)
#[test]
fn calculate_scale_up_limit_with_min_select() {
    let mut r = rules(2, 60, 50, 60, 300);
    r.select_policy = SelectPolicy::Min;
    assert_eq!(scale_up_limit(NOW, 1, &[], &[], &r), 2);
}

/// TestCalculateScaleDownLimitWithBehaviors (select policy `min`)
#[test]
fn calculate_scale_down_limit_with_min_select() {
    let mut r = rules(2, 60, 50, 60, 300);
    r.select_policy = SelectPolicy::Min;
    assert_eq!(scale_down_limit(NOW, 5, &[], &[], &r), 3);
}

/// `select_policy = disabled` freezes the direction (Kubernetes `DisabledPolicySelect`).
#[test]
fn disabled_select_policy_freezes_scaling() {
    let mut r = rules(2, 60, 50, 60, 300);
    r.select_policy = SelectPolicy::Disabled;
    assert_eq!(scale_up_limit(NOW, 5, &[], &[], &r), 5);
    assert_eq!(scale_down_limit(NOW, 5, &[], &[], &r), 5);
}

// ---------------------------------------------------------------------------------------------
// horizontal_test.go: TestNormalizeDesiredReplicasWithBehavior (stabilizeRecommendationWithBehaviors)

fn rec(replicas: u32, ago_s: u64) -> TimedRecommendation {
    TimedRecommendation {
        replicas,
        ts: NOW - ago_s * 1000,
    }
}

fn stabilize(
    recs: Vec<TimedRecommendation>,
    current: u32,
    desired: u32,
    up_s: u64,
    down_s: u64,
) -> (u32, Vec<u32>) {
    let mut n = Normalizer {
        recommendations: recs,
        ..Normalizer::default()
    };
    let (r, _) = n.stabilize(NOW, current, desired, up_s * 1000, down_s * 1000);
    (r, n.recommendations.iter().map(|r| r.replicas).collect())
}

/// TestNormalizeDesiredReplicasWithBehavior: "empty recommendations for scaling down"
#[test]
fn stabilize_empty_recommendations() {
    assert_eq!(stabilize(vec![], 100, 5, 0, 0), (5, vec![5]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "simple scale down stabilization"
#[test]
fn stabilize_simple_scale_down() {
    let recs = vec![rec(4, 120), rec(5, 60)];
    assert_eq!(stabilize(recs, 100, 3, 0, 180), (5, vec![4, 5, 3]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "simple scale up stabilization"
#[test]
fn stabilize_simple_scale_up() {
    let recs = vec![rec(4, 120), rec(5, 60)];
    assert_eq!(stabilize(recs, 1, 7, 300, 0), (4, vec![4, 5, 7]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "no scale down stabilization"
#[test]
fn stabilize_no_scale_down_stabilization() {
    let recs = vec![rec(1, 120), rec(2, 60)];
    assert_eq!(stabilize(recs, 100, 3, 300, 0), (3, vec![1, 2, 3]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "no scale up stabilization"
#[test]
fn stabilize_no_scale_up_stabilization() {
    let recs = vec![rec(4, 120), rec(5, 60)];
    assert_eq!(stabilize(recs, 1, 3, 0, 300), (3, vec![4, 5, 3]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "no scale down stabilization, reuse recommendation element"
#[test]
fn stabilize_reuse_element_down() {
    let recs = vec![rec(10, 600), rec(9, 540)];
    assert_eq!(stabilize(recs, 100, 3, 0, 0), (3, vec![10, 3]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "no scale up stabilization, reuse recommendation element"
#[test]
fn stabilize_reuse_element_up() {
    let recs = vec![rec(10, 600), rec(9, 540)];
    assert_eq!(stabilize(recs, 1, 100, 0, 0), (100, vec![10, 100]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "scale down stabilization, reuse one of obsolete recommendation element"
#[test]
fn stabilize_down_reuse_obsolete() {
    let recs = vec![rec(10, 600), rec(4, 60), rec(5, 120), rec(9, 540)];
    assert_eq!(stabilize(recs, 100, 3, 0, 180), (5, vec![10, 4, 5, 3]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "scale up stabilization, reuse one of obsolete recommendation element"
#[test]
fn stabilize_up_reuse_obsolete() {
    let recs = vec![rec(10, 6000), rec(6, 60), rec(5, 120), rec(9, 180)];
    assert_eq!(stabilize(recs, 1, 100, 300, 0), (5, vec![100, 6, 5, 9]));
}

/// TestNormalizeDesiredReplicasWithBehavior: "scale up and down stabilization, do not scale up when prenormalized rec goes down"
#[test]
fn stabilize_no_up_when_rec_goes_down() {
    let recs = vec![rec(2, 6000), rec(3, 180)];
    assert_eq!(stabilize(recs, 2, 1, 300, 300).0, 2);
}

/// TestNormalizeDesiredReplicasWithBehavior: "scale up and down stabilization, do not scale down when prenormalized rec goes up"
#[test]
fn stabilize_no_down_when_rec_goes_up() {
    let recs = vec![rec(2, 6000), rec(1, 180)];
    assert_eq!(stabilize(recs, 2, 3, 300, 300).0, 2);
}

// ---------------------------------------------------------------------------------------------
// horizontal_test.go: TestStoreScaleEvents (getReplicasChangePerPeriod, storeScaleEvent)

fn ev(change: u32, ago_s: u64) -> ScaleEvent {
    ScaleEvent {
        change,
        ts: NOW - ago_s * 1000,
        outdated: false,
    }
}

/// Runs one TestStoreScaleEvents case for both directions.
fn store_case(
    prev: Vec<ScaleEvent>,
    r: ResolvedRules,
    expected_change: i64,
    after: &[(u32, bool)],
) {
    for up in [true, false] {
        let mut n = Normalizer::default();
        if up {
            n.up_events = prev.clone();
        } else {
            n.down_events = prev.clone();
        }
        let log = if up { &n.up_events } else { &n.down_events };
        assert_eq!(change_in_period(NOW, 60_000, log), expected_change);
        let (from, to) = if up { (10, 15) } else { (10, 5) };
        n.store_event(NOW, from, to, &r, &r);
        let log = if up { &n.up_events } else { &n.down_events };
        let got: Vec<(u32, bool)> = log.iter().map(|e| (e.change, e.outdated)).collect();
        assert_eq!(got, after, "up = {up}");
    }
}

/// TestStoreScaleEvents: "empty entries with two-policy-behavior"
#[test]
fn store_events_empty() {
    store_case(vec![], rules(10, 60, 100, 60, 0), 0, &[(5, false)]);
}

/// TestStoreScaleEvents: "one outdated entry to be replaced with behavior"
#[test]
fn store_events_replace_outdated() {
    store_case(vec![ev(7, 61)], rules(10, 60, 100, 60, 0), 0, &[(5, false)]);
}

/// TestStoreScaleEvents: "one actual entry to be not touched with behavior"
#[test]
fn store_events_keep_actual() {
    store_case(
        vec![ev(7, 58)],
        rules(10, 60, 100, 60, 0),
        7,
        &[(7, false), (5, false)],
    );
}

/// TestStoreScaleEvents: "two entries, one of them to be replaced"
#[test]
fn store_events_two_one_replaced() {
    store_case(
        vec![ev(7, 61), ev(6, 59)],
        rules(10, 60, 0, 0, 0),
        6,
        &[(5, false), (6, false)],
    );
}

/// TestStoreScaleEvents: "replace one entry, use policies with different periods"
#[test]
fn store_events_different_periods() {
    store_case(
        vec![ev(8, 29), ev(6, 59), ev(7, 61), ev(9, 61)],
        rules(10, 60, 100, 30, 0),
        14,
        &[(8, false), (6, false), (7, true), (5, false)],
    );
}

/// TestStoreScaleEvents: "two entries, both actual"
#[test]
fn store_events_both_actual() {
    store_case(
        vec![ev(7, 58), ev(6, 59)],
        rules(10, 120, 100, 30, 0),
        13,
        &[(7, false), (6, false), (5, false)],
    );
}

// ---------------------------------------------------------------------------------------------
// horizontal_test.go: whole-controller cases through `Hpa::evaluate`.

fn view(levels: &[f64], phases: &[PodPhase]) -> FleetView {
    let pods: Vec<PodSample> = levels
        .iter()
        .enumerate()
        .map(|(i, &u)| PodSample {
            phase: phases.get(i).copied().unwrap_or(R),
            utilization: Some(u),
        })
        .collect();
    FleetView {
        current_replicas: pods.len() as u32,
        pods,
        latency_ms: None,
    }
}

fn hpa(min: u32, max: u32, target: f64) -> Hpa {
    Hpa::new(&AutoscalerConfig {
        min_replicas: min,
        max_replicas: max,
        target_utilization: target,
        ..AutoscalerConfig::default()
    })
}

/// TestScaleUp: min 2, max 6, 3 pods at 300/500/700 m, target 30 % → 5.
#[test]
fn controller_scale_up() {
    let d = hpa(2, 6, 0.3).evaluate(NOW, &view(&[0.3, 0.5, 0.7], &[]));
    assert_eq!((d.from, d.to, d.recommendation), (3, 5, Some(5)));
}

/// TestScaleUpUnreadyLessScale: the unready pod counts as 0 % on the scale-up → 4.
#[test]
fn controller_scale_up_unready_less_scale() {
    let d = hpa(2, 6, 0.3).evaluate(NOW, &view(&[0.3, 0.5, 0.7], &[NR, R, R]));
    assert_eq!(d.to, 4);
}

/// TestScaleDown: 5 pods at 100/300/500/250/250 m, target 50 % → 3 (no earlier recommendation).
#[test]
fn controller_scale_down() {
    let d = hpa(2, 6, 0.5).evaluate(NOW, &view(&[0.1, 0.3, 0.5, 0.25, 0.25], &[]));
    assert_eq!((d.from, d.to), (5, 3));
}

/// TestScaleUpRCImmediately: current below min → min, without metrics.
#[test]
fn controller_scale_up_immediately_to_min() {
    let mut v = view(&[0.0], &[]);
    v.pods[0].utilization = None;
    let d = hpa(2, 6, 0.3).evaluate(NOW, &v);
    assert_eq!((d.from, d.to), (1, 2));
}

/// TestScaleDownRCImmediately: current above max → max.
#[test]
fn controller_scale_down_immediately_to_max() {
    let d = hpa(2, 5, 0.5).evaluate(NOW, &view(&[8.0, 9.5, 1.0, 1.0, 1.0, 1.0], &[]));
    assert_eq!((d.from, d.to), (6, 5));
}

/// TestScaleUpCapped-style: the default behaviour's +max(4, 100 %) per 15 s bounds a jump, and
/// the next evaluation within the period may not add more.
#[test]
fn controller_scale_up_rate_limited_by_default_behavior() {
    let mut h = hpa(1, 100, 0.5);
    let d = h.evaluate(NOW, &view(&[5.0, 5.0], &[]));
    assert_eq!((d.from, d.to), (2, 6)); // raw 20; limit max(2 + 4, 2 · 2) = 6
    let mut v = view(&[5.0, 5.0, 0.0, 0.0, 0.0, 0.0], &[R, R, NR, NR, NR, NR]);
    v.current_replicas = 6;
    let d = h.evaluate(NOW + 5_000, &v);
    assert_eq!(
        d.to, 6,
        "within 15 s of the first scale-up the period start is 2"
    );
}

/// The scale-down stabilisation window (300 s) holds the highest recent recommendation.
#[test]
fn controller_scale_down_is_stabilized() {
    let mut h = hpa(1, 10, 0.5);
    let d = h.evaluate(NOW, &view(&[0.5; 4], &[]));
    assert_eq!(d.to, 4);
    let d = h.evaluate(NOW + 15_000, &view(&[0.1; 4], &[]));
    assert_eq!(d.to, 4, "the recommendation of 4 is within the window");
    let d = h.evaluate(NOW + 300_000, &view(&[0.1; 4], &[]));
    assert_eq!(d.to, 1, "300 s later the window has passed");
}

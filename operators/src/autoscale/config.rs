//! Parameters of the autoscaler and of the `simulate` fleet model as plain structs.
//!
//! Field names are the SPEC §6 key names (`[autoscaler]`, `[autoscaler.cost]`, `[simulate]`);
//! durations are milliseconds of event time. `Default` gives the SPEC §6 defaults, so an empty
//! TOML table deserialises to them (`#[serde(default)]`) and unknown keys are rejected
//! (`deny_unknown_fields`). [`AutoscalerConfig::validate`] and [`SimulateConfig::validate`] check
//! ranges and name the key, the value and what is allowed.
//!
//! The HPA `behavior` keys are an echoflow addition (SPEC §6 allows keys a feature needs): they
//! mirror Kubernetes' `autoscaling/v2` `HPAScalingRules` —
//! `[autoscaler.behavior.scale_up]` / `[autoscaler.behavior.scale_down]`, each with
//! `stabilization_window_ms`, `select_policy` (`max` | `min` | `disabled`) and
//! `policies = [{ kind = "pods" | "percent", value, period_ms }]`. Their defaults are Kubernetes'
//! (`pkg/apis/autoscaling/v2/defaults.go`, `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules`):
//! scale up with no stabilisation window, the larger of +4 pods and +100 % per 15 s; scale down
//! with the window `autoscaler.scale_down_stabilization_ms` (300 s), at most −100 % per 15 s.
//! echoflow deviation: an unset `stabilization_window_ms` is `None` and resolved at use (0 for
//! up, `scale_down_stabilization_ms` for down), as Kubernetes resolves a nil window.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which policy decides (`autoscaler.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// Utilisation thresholds with cooldowns and adaptive thresholds.
    #[default]
    Threshold,
    /// The Kubernetes HorizontalPodAutoscaler algorithm.
    Hpa,
    /// Forecast-driven scaling ahead of demand, floored by HPA on scale-up.
    Predictive,
}

impl PolicyKind {
    /// Every policy, in the order they are documented.
    pub const ALL: [PolicyKind; 3] = [
        PolicyKind::Threshold,
        PolicyKind::Hpa,
        PolicyKind::Predictive,
    ];

    /// The configuration / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Threshold => "threshold",
            PolicyKind::Hpa => "hpa",
            PolicyKind::Predictive => "predictive",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the policies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?}; allowed: threshold, hpa, predictive")]
pub struct UnknownPolicy(pub String);

impl FromStr for PolicyKind {
    type Err = UnknownPolicy;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PolicyKind::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPolicy(s.to_string()))
    }
}

/// An out-of-range parameter: the key, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} = {value} is out of range; allowed: {allowed}")]
pub struct ConfigError {
    /// The full key, e.g. `autoscaler.max_replicas`.
    pub key: String,
    /// The offending value as text.
    pub value: String,
    /// What is allowed.
    pub allowed: String,
}

fn check(ok: bool, key: &str, value: impl fmt::Display, allowed: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            key: key.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        })
    }
}

/// `[autoscaler]` (SPEC §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoscalerConfig {
    /// `threshold` | `hpa` | `predictive`.
    pub policy: PolicyKind,
    /// The resource the decisions are about (the key of `echoflow.scaling-decisions`).
    pub resource: String,
    /// Evaluation period in event time (15 s, as the HPA controller's sync period).
    pub interval_ms: u64,
    /// Fewest replicas.
    pub min_replicas: u32,
    /// Most replicas.
    pub max_replicas: u32,
    /// Target utilisation of `hpa` and `predictive` (0.7).
    pub target_utilization: f64,
    /// `threshold`: scale up above this average utilisation (0.8).
    pub scale_up_threshold: f64,
    /// `threshold`: scale down below this average utilisation (0.3).
    pub scale_down_threshold: f64,
    /// `threshold`: least time between two scale-ups (60 s).
    pub scale_up_cooldown_ms: u64,
    /// `threshold`: least time from any scaling action to a scale-down (300 s).
    pub scale_down_cooldown_ms: u64,
    /// `threshold`: move the thresholds with the latency and utilisation trend.
    pub adaptive_thresholds: bool,
    /// `hpa`: the usage-ratio tolerance (0.1, `--horizontal-pod-autoscaler-tolerance`).
    pub tolerance: f64,
    /// `hpa`: the scale-down stabilisation window (300 s,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`).
    pub scale_down_stabilization_ms: u64,
    /// `predictive`: how far ahead to provision (75 s = 60 s start-up + one interval).
    pub horizon_ms: u64,
    /// `predictive`: release replicas once the forecast has allowed it for one horizon
    /// (`true`, echoflow's default) instead of after `scale_down_stabilization_ms` as HPA does.
    /// Added key: `false` releases no sooner than HPA would (measured in BENCHMARKS.md "Eighth
    /// round": with the level envelope, `true` dominates hpa on more traces of every set).
    pub early_scale_down: bool,
    /// `predictive`: reverse a scale-up of its own within 10 minutes only while its reversals,
    /// counting that one, are at most this many times a shadow HPA's on the same load (1.25;
    /// 0 = no budget). Added key ([`crate::autoscale::flap_budget`]; measured in BENCHMARKS.md
    /// "Fourteenth round").
    pub flap_budget: f64,
    /// `predictive`: scale up no faster than the HPA scale-up rules allow
    /// (`[autoscaler.behavior.scale_up]`, counted on predictive's own scale events), its floor
    /// included (`false`: SPEC §3, never below HPA's raw recommendation). Added key, a
    /// deviation from SPEC §3 when `true`; measured in BENCHMARKS.md "Sixteenth round".
    pub rate_limit_scale_up: bool,
    /// `[autoscaler.cost]`.
    pub cost: CostConfig,
    /// `[autoscaler.behavior]`: HPA scaling rules.
    pub behavior: BehaviorConfig,
}

impl Default for AutoscalerConfig {
    fn default() -> Self {
        AutoscalerConfig {
            policy: PolicyKind::Threshold,
            resource: "membranes".to_string(),
            interval_ms: 15_000,
            min_replicas: 1,
            max_replicas: 10,
            target_utilization: 0.7,
            scale_up_threshold: 0.8,
            scale_down_threshold: 0.3,
            scale_up_cooldown_ms: 60_000,
            scale_down_cooldown_ms: 300_000,
            adaptive_thresholds: true,
            tolerance: 0.1,
            scale_down_stabilization_ms: 300_000,
            horizon_ms: 75_000,
            early_scale_down: true,
            flap_budget: crate::autoscale::flap_budget::DEFAULT_RATIO,
            rate_limit_scale_up: false,
            cost: CostConfig::default(),
            behavior: BehaviorConfig::default(),
        }
    }
}

impl AutoscalerConfig {
    /// Checks every range; the first violation names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let k = |s: &str| format!("autoscaler.{s}");
        check(
            self.interval_ms > 0,
            &k("interval_ms"),
            self.interval_ms,
            "> 0",
        )?;
        check(
            self.max_replicas >= 1,
            &k("max_replicas"),
            self.max_replicas,
            ">= 1",
        )?;
        check(
            self.min_replicas <= self.max_replicas,
            &k("min_replicas"),
            self.min_replicas,
            "<= autoscaler.max_replicas",
        )?;
        check(
            self.target_utilization.is_finite() && self.target_utilization > 0.0,
            &k("target_utilization"),
            self.target_utilization,
            "a finite number > 0",
        )?;
        check(
            (0.0..=1.0).contains(&self.scale_down_threshold),
            &k("scale_down_threshold"),
            self.scale_down_threshold,
            "0 ..= 1",
        )?;
        check(
            self.scale_up_threshold.is_finite()
                && self.scale_up_threshold > self.scale_down_threshold,
            &k("scale_up_threshold"),
            self.scale_up_threshold,
            "a finite number > autoscaler.scale_down_threshold",
        )?;
        check(
            self.tolerance.is_finite() && self.tolerance >= 0.0,
            &k("tolerance"),
            self.tolerance,
            "a finite number >= 0",
        )?;
        check(
            self.flap_budget.is_finite() && self.flap_budget >= 0.0,
            &k("flap_budget"),
            self.flap_budget,
            "a finite number >= 0 (0 = no budget)",
        )?;
        check(
            !self.resource.is_empty(),
            &k("resource"),
            "\"\"",
            "a non-empty name",
        )?;
        self.cost.validate()?;
        self.behavior
            .scale_up
            .validate("autoscaler.behavior.scale_up")?;
        self.behavior
            .scale_down
            .validate("autoscaler.behavior.scale_down")?;
        Ok(())
    }

    /// The scale-up rules with the window resolved (unset = 0, as Kubernetes).
    pub fn scale_up_rules(&self) -> ResolvedRules {
        self.behavior.scale_up.resolve(0)
    }

    /// The scale-down rules with the window resolved (unset = `scale_down_stabilization_ms`).
    pub fn scale_down_rules(&self) -> ResolvedRules {
        self.behavior
            .scale_down
            .resolve(self.scale_down_stabilization_ms)
    }
}

/// `[autoscaler.cost]`: instance cost against SLO penalty (SPEC §3 cost model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostConfig {
    /// Whether the cost model may veto scale-ups.
    pub enabled: bool,
    /// Cost of one replica for one minute.
    pub replica_minute: f64,
    /// Penalty of one minute in violation of the SLO.
    pub violation_minute: f64,
}

impl Default for CostConfig {
    fn default() -> Self {
        CostConfig {
            enabled: false,
            replica_minute: 1.0,
            violation_minute: 50.0,
        }
    }
}

impl CostConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.replica_minute.is_finite() && self.replica_minute >= 0.0,
            "autoscaler.cost.replica_minute",
            self.replica_minute,
            "a finite number >= 0",
        )?;
        check(
            self.violation_minute.is_finite() && self.violation_minute >= 0.0,
            "autoscaler.cost.violation_minute",
            self.violation_minute,
            "a finite number >= 0",
        )
    }
}

/// How the policies of one direction combine (`select_policy`), as Kubernetes'
/// `ScalingPolicySelect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SelectPolicy {
    /// The policy that allows the largest change (Kubernetes `Max`, the default).
    #[default]
    Max,
    /// The policy that allows the smallest change (Kubernetes `Min`).
    Min,
    /// No scaling in this direction (Kubernetes `Disabled`).
    Disabled,
}

/// The unit of a scaling policy's `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyUnit {
    /// An absolute number of replicas.
    Pods,
    /// A percentage of the replicas at the start of the period.
    Percent,
}

/// One scaling policy: at most `value` pods or percent per `period_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    /// `pods` | `percent`.
    pub kind: PolicyUnit,
    /// How many pods, or what percentage.
    pub value: u32,
    /// The period the limit applies to.
    pub period_ms: u64,
}

impl ScalingPolicy {
    /// `value` pods per `period_ms`.
    pub fn pods(value: u32, period_ms: u64) -> Self {
        ScalingPolicy {
            kind: PolicyUnit::Pods,
            value,
            period_ms,
        }
    }

    /// `value` percent per `period_ms`.
    pub fn percent(value: u32, period_ms: u64) -> Self {
        ScalingPolicy {
            kind: PolicyUnit::Percent,
            value,
            period_ms,
        }
    }
}

/// `[autoscaler.behavior.scale_up]` or `.scale_down`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingRules {
    /// Stabilisation window; `None` = the direction's default.
    #[serde(default)]
    pub stabilization_window_ms: Option<u64>,
    /// How the policies combine.
    #[serde(default)]
    pub select_policy: SelectPolicy,
    /// The rate limits.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    /// Kubernetes' default scale-up rules: max(+4 pods, +100 %) per 15 s, no window.
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_ms: None,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy::pods(4, 15_000),
                ScalingPolicy::percent(100, 15_000),
            ],
        }
    }

    /// Kubernetes' default scale-down rules: −100 % per 15 s, the controller's window.
    pub fn default_scale_down() -> Self {
        ScalingRules {
            stabilization_window_ms: None,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy::percent(100, 15_000)],
        }
    }

    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        for (i, p) in self.policies.iter().enumerate() {
            check(
                p.value > 0,
                &format!("{key}.policies[{i}].value"),
                p.value,
                "> 0",
            )?;
            // Kubernetes: 0 < periodSeconds <= 1800.
            check(
                p.period_ms > 0 && p.period_ms <= 1_800_000,
                &format!("{key}.policies[{i}].period_ms"),
                p.period_ms,
                "1 ..= 1800000",
            )?;
        }
        check(
            !self.policies.is_empty() || self.select_policy == SelectPolicy::Disabled,
            &format!("{key}.policies"),
            "[]",
            "at least one policy unless select_policy = \"disabled\"",
        )?;
        if let Some(w) = self.stabilization_window_ms {
            // Kubernetes: 0 <= stabilizationWindowSeconds <= 3600.
            check(
                w <= 3_600_000,
                &format!("{key}.stabilization_window_ms"),
                w,
                "0 ..= 3600000",
            )?;
        }
        Ok(())
    }

    /// These rules with the stabilisation window resolved.
    pub fn resolve(&self, default_window_ms: u64) -> ResolvedRules {
        ResolvedRules {
            stabilization_window_ms: self.stabilization_window_ms.unwrap_or(default_window_ms),
            select_policy: self.select_policy,
            policies: self.policies.clone(),
        }
    }
}

/// [`ScalingRules`] with the window known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRules {
    /// Stabilisation window.
    pub stabilization_window_ms: u64,
    /// How the policies combine.
    pub select_policy: SelectPolicy,
    /// The rate limits.
    pub policies: Vec<ScalingPolicy>,
}

impl ResolvedRules {
    /// The longest policy period (how long scale events must be remembered).
    pub fn longest_period_ms(&self) -> u64 {
        self.policies.iter().map(|p| p.period_ms).max().unwrap_or(0)
    }
}

/// `[autoscaler.behavior]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviorConfig {
    /// Scale-up rules.
    pub scale_up: ScalingRules,
    /// Scale-down rules.
    pub scale_down: ScalingRules,
}

impl Default for BehaviorConfig {
    fn default() -> Self {
        BehaviorConfig {
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules::default_scale_down(),
        }
    }
}

/// `[simulate]` (SPEC §5, §6): the modelled fleet of `echoflow simulate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulateConfig {
    /// Requests per second one ready replica serves.
    pub capacity_rps: f64,
    /// How long an added replica is present but not ready.
    pub startup_ms: u64,
    /// The `peak_quantile` of the rows is scaled to this fraction of the full fleet's capacity.
    pub peak_utilization: f64,
    /// Which quantile of the rows is the peak (NumPy's default linear interpolation).
    pub peak_quantile: f64,
    /// Playback spacing of the rows; 0 = the median spacing of the trace's timestamps.
    pub row_ms: u64,
    /// A second whose modelled delay exceeds this violates the SLO.
    pub slo_ms: u64,
    /// Simulation step.
    pub step_ms: u64,
}

impl Default for SimulateConfig {
    fn default() -> Self {
        SimulateConfig {
            capacity_rps: 100.0,
            startup_ms: 60_000,
            peak_utilization: 0.8,
            peak_quantile: 0.99,
            row_ms: 0,
            slo_ms: 1000,
            step_ms: 1000,
        }
    }
}

impl SimulateConfig {
    /// Checks every range; the first violation names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.capacity_rps.is_finite() && self.capacity_rps > 0.0,
            "simulate.capacity_rps",
            self.capacity_rps,
            "a finite number > 0",
        )?;
        check(
            self.peak_utilization.is_finite() && self.peak_utilization > 0.0,
            "simulate.peak_utilization",
            self.peak_utilization,
            "a finite number > 0",
        )?;
        check(
            (0.0..=1.0).contains(&self.peak_quantile),
            "simulate.peak_quantile",
            self.peak_quantile,
            "0 ..= 1",
        )?;
        check(self.step_ms > 0, "simulate.step_ms", self.step_ms, "> 0")?;
        check(self.slo_ms > 0, "simulate.slo_ms", self.slo_ms, "> 0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_values() {
        let a = AutoscalerConfig::default();
        assert_eq!(a.policy, PolicyKind::Threshold);
        assert_eq!(a.interval_ms, 15_000);
        assert_eq!((a.min_replicas, a.max_replicas), (1, 10));
        assert_eq!(a.target_utilization, 0.7);
        assert_eq!((a.scale_up_threshold, a.scale_down_threshold), (0.8, 0.3));
        assert_eq!(
            (a.scale_up_cooldown_ms, a.scale_down_cooldown_ms),
            (60_000, 300_000)
        );
        assert!(a.adaptive_thresholds);
        assert_eq!(a.tolerance, 0.1);
        assert_eq!(a.scale_down_stabilization_ms, 300_000);
        assert_eq!(a.horizon_ms, 75_000);
        assert_eq!(a.flap_budget, 1.25);
        assert!(!a.cost.enabled);
        assert_eq!(
            (a.cost.replica_minute, a.cost.violation_minute),
            (1.0, 50.0)
        );
        assert_eq!(a.scale_up_rules().stabilization_window_ms, 0);
        assert_eq!(a.scale_down_rules().stabilization_window_ms, 300_000);
        assert_eq!(
            a.scale_down_rules().policies,
            vec![ScalingPolicy::percent(100, 15_000)]
        );
        assert!(a.validate().is_ok());
        let s = SimulateConfig::default();
        assert_eq!(s.capacity_rps, 100.0);
        assert_eq!(
            (s.startup_ms, s.row_ms, s.slo_ms, s.step_ms),
            (60_000, 0, 1000, 1000)
        );
        assert_eq!((s.peak_utilization, s.peak_quantile), (0.8, 0.99));
        assert!(s.validate().is_ok());
    }

    #[test]
    fn validation_names_the_key() {
        let a = AutoscalerConfig {
            min_replicas: 11,
            ..AutoscalerConfig::default()
        };
        let e = a.validate().unwrap_err();
        assert_eq!(e.key, "autoscaler.min_replicas");
        assert!(e.to_string().contains("11"));
        let a = AutoscalerConfig {
            flap_budget: -1.0,
            ..AutoscalerConfig::default()
        };
        let e = a.validate().unwrap_err();
        assert_eq!(e.key, "autoscaler.flap_budget");
        assert!(
            e.to_string().contains("-1") && e.to_string().contains(">= 0"),
            "{e}"
        );
        let mut a = AutoscalerConfig::default();
        a.behavior
            .scale_up
            .policies
            .push(ScalingPolicy::pods(0, 15_000));
        let e = a.validate().unwrap_err();
        assert_eq!(e.key, "autoscaler.behavior.scale_up.policies[2].value");
    }

    #[test]
    fn policy_names_round_trip() {
        for p in PolicyKind::ALL {
            assert_eq!(p.as_str().parse::<PolicyKind>(), Ok(p));
        }
        assert!("vpa".parse::<PolicyKind>().is_err());
    }
}

//! The typed configuration: one struct per `pipeline.toml` section, every field with its default.
//!
//! Defaults are SPEC §6 word for word (which restates the operator defaults of SPEC §3); the
//! `[autoscaler.behavior]` tables, which SPEC §6 leaves to "HPA `behavior` policies", take the
//! Kubernetes defaults of `HPAScalingRules` (kubernetes `pkg/apis/autoscaling/v2/defaults.go`):
//! scale-up with no stabilisation window and the larger of +4 pods or +100 % per 15 s, scale-down
//! with a 300 s window and −100 % per 15 s. Durations are milliseconds of event time unless a
//! key's documentation says otherwise.
//!
//! These types are what the rest of echoflow reads; they are built only through
//! [`ConfigLoader`](super::ConfigLoader), which validates every key first, so a `Config` in hand
//! satisfies every range and cross-key rule in `docs/configuration.md`.
//!
//! ```
//! use echoflow_pipeline::config::{Config, RoutingStrategy};
//! let c = Config::default();
//! assert_eq!(c.red.max_p, 0.3);
//! assert_eq!(c.routing.strategy, RoutingStrategy::LeastLoaded);
//! assert_eq!(c.autoscaler.behavior.scale_down.stabilization_window_ms, 300_000);
//! ```

use super::redact::ClientSettings;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};

/// The whole `pipeline.toml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub kafka: Kafka,
    pub topics: Topics,
    pub pipeline: Pipeline,
    pub metrics: Metrics,
    pub time: Time,
    pub red: Red,
    pub aimd: Aimd,
    pub degradation: Degradation,
    pub reservoir: Reservoir,
    pub routing: Routing,
    pub breaker: Breaker,
    pub autoscaler: Autoscaler,
    pub simulate: Simulate,
}

/// `[kafka]`: where the broker is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kafka {
    /// librdkafka `bootstrap.servers`: comma-separated `host:port` list.
    pub brokers: String,
    /// librdkafka `group.id`: used to commit offsets (partitions are assigned manually).
    pub group_id: String,
    /// Any other librdkafka setting, passed through as-is (secrets redacted when shown).
    pub client: ClientSettings,
}

impl Default for Kafka {
    fn default() -> Self {
        Kafka {
            brokers: "127.0.0.1:9092".into(),
            group_id: "echoflow".into(),
            client: ClientSettings::default(),
        }
    }
}

/// `[topics]`: the Kafka topic of every stream of SPEC §2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topics {
    pub requests: String,
    pub telemetry: String,
    pub admitted: String,
    pub rejections: String,
    pub decisions: String,
    pub control: String,
    pub dead_letter: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            requests: "echoflow.requests".into(),
            telemetry: "echoflow.telemetry".into(),
            admitted: "echoflow.admitted".into(),
            rejections: "echoflow.rejections".into(),
            decisions: "echoflow.scaling-decisions".into(),
            control: "echoflow.control-events".into(),
            dead_letter: "echoflow.dead-letter".into(),
        }
    }
}

/// `[pipeline]`: parallelism.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Timely worker threads in this process (`--workers` overrides).
    pub workers: u32,
    /// Key groups that parallel state is split into (never split by worker).
    pub logical_shards: u32,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            workers: 1,
            logical_shards: 128,
        }
    }
}

/// `[metrics]`: the Prometheus / health listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub address: SocketAddr,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            address: SocketAddr::from((Ipv4Addr::LOCALHOST, 9898)),
        }
    }
}

/// `[time]`: event-time ticks, lateness and idleness (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Time {
    pub tick_ms: u64,
    pub allowed_lateness_ms: u64,
    pub idle_timeout_ms: u64,
}

impl Default for Time {
    fn default() -> Self {
        Time {
            tick_ms: 50,
            allowed_lateness_ms: 0,
            idle_timeout_ms: 5000,
        }
    }
}

/// `[red]`: Random Early Detection per membrane queue (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Red {
    pub enabled: bool,
    pub min_th: f64,
    pub max_th: f64,
    pub max_p: f64,
    pub weight: f64,
    pub count_spacing: bool,
    pub seed: u64,
}

impl Default for Red {
    fn default() -> Self {
        Red {
            enabled: true,
            min_th: 0.6,
            max_th: 1.0,
            max_p: 0.3,
            weight: 0.2,
            count_spacing: false,
            seed: 0,
        }
    }
}

/// `[aimd]`: the AIMD governor and its token buckets (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aimd {
    pub enabled: bool,
    pub enter: f64,
    pub exit: f64,
    pub emergency: f64,
    pub decrease: f64,
    pub increase: f64,
    pub min_scale: f64,
    pub cooldown_ms: u64,
    pub max_rate: f64,
    pub burst_ms: u64,
    pub process_memory: bool,
}

impl Default for Aimd {
    fn default() -> Self {
        Aimd {
            enabled: true,
            enter: 0.70,
            exit: 0.55,
            emergency: 0.90,
            decrease: 0.5,
            increase: 0.05,
            min_scale: 0.1,
            cooldown_ms: 1000,
            max_rate: 100_000.0,
            burst_ms: 100,
            process_memory: true,
        }
    }
}

/// `[degradation]`: degradation levels and feature gating (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Degradation {
    pub enabled: bool,
    pub recovery_delay_ms: u64,
    pub cpu: LevelThresholds,
    pub memory: LevelThresholds,
}

/// The readings (0..1) at or above which a resource reaches each degradation level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelThresholds {
    pub partial: f64,
    pub minimal: f64,
    pub emergency: f64,
    pub offline: f64,
}

impl Default for Degradation {
    fn default() -> Self {
        Degradation {
            enabled: true,
            recovery_delay_ms: 60_000,
            cpu: LevelThresholds {
                partial: 0.70,
                minimal: 0.80,
                emergency: 0.90,
                offline: 0.95,
            },
            memory: LevelThresholds {
                partial: 0.75,
                minimal: 0.85,
                emergency: 0.90,
                offline: 0.95,
            },
        }
    }
}

/// `[reservoir]`: the Echo State Network used to evaluate requests (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reservoir {
    /// `.npz` model path; empty = a model fitted at start-up on built-in Mackey–Glass data.
    pub model: String,
    pub units: u32,
    pub reduced_units: u32,
    pub seed: u64,
    pub max_steps: u32,
    /// Event-time inactivity after which a session's carried state is dropped; 0 = no state.
    pub session_ttl_ms: u64,
    /// Carried session states kept per logical shard (least recently written evicted first).
    pub sessions_per_shard: u32,
}

impl Default for Reservoir {
    fn default() -> Self {
        Reservoir {
            model: String::new(),
            units: 100,
            reduced_units: 25,
            seed: 0,
            max_steps: 1024,
            session_ttl_ms: echoflow_operators::session_store::DEFAULT_SESSION_TTL_MS,
            sessions_per_shard: echoflow_operators::session_store::DEFAULT_SESSIONS_PER_SHARD
                as u32,
        }
    }
}

/// The six routing strategies of SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingStrategy {
    RoundRobin,
    Weighted,
    LeastConnections,
    LeastLoaded,
    P2c,
    ConsistentHash,
}

impl RoutingStrategy {
    /// The names accepted in `routing.strategy`, in SPEC order.
    pub const NAMES: [&'static str; 6] = [
        "round_robin",
        "weighted",
        "least_connections",
        "least_loaded",
        "p2c",
        "consistent_hash",
    ];
}

/// `[routing]`: how a request picks a membrane (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    pub strategy: RoutingStrategy,
    pub seed: u64,
    pub hash_epsilon: f64,
    pub membrane_ttl_ms: u64,
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            strategy: RoutingStrategy::LeastLoaded,
            seed: 0,
            hash_epsilon: 0.25,
            membrane_ttl_ms: 30_000,
        }
    }
}

/// `[breaker]`: the circuit breaker per membrane (SPEC §3, after Resilience4j).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    pub failure_rate: f64,
    pub min_calls: u32,
    pub window: u32,
    pub permitted_calls: u32,
    pub open_ms: u64,
    pub slow_call_ms: u64,
    pub slow_call_rate: f64,
    /// `count`: the last `window` calls; `time`: the calls reported in the last `window_ms`.
    pub window_type: BreakerWindowType,
    pub window_ms: u64,
}

/// The breaker's sliding window kinds (Resilience4j's `COUNT_BASED` / `TIME_BASED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerWindowType {
    Count,
    Time,
}

impl BreakerWindowType {
    /// The names accepted in `breaker.window_type`.
    pub const NAMES: [&'static str; 2] = ["count", "time"];
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            failure_rate: 0.5,
            min_calls: 20,
            window: 100,
            permitted_calls: 10,
            open_ms: 60_000,
            slow_call_ms: 0,
            slow_call_rate: 1.0,
            window_type: BreakerWindowType::Count,
            window_ms: 100_000,
        }
    }
}

/// The three autoscaling policies of SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoscalerPolicy {
    Threshold,
    Hpa,
    Predictive,
}

impl AutoscalerPolicy {
    /// The names accepted in `autoscaler.policy`.
    pub const NAMES: [&'static str; 3] = ["threshold", "hpa", "predictive"];
}

/// `[autoscaler]`: the slow loop (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaler {
    pub policy: AutoscalerPolicy,
    pub resource: String,
    pub interval_ms: u64,
    pub min_replicas: u32,
    pub max_replicas: u32,
    pub target_utilization: f64,
    pub scale_up_threshold: f64,
    pub scale_down_threshold: f64,
    pub scale_up_cooldown_ms: u64,
    pub scale_down_cooldown_ms: u64,
    pub adaptive_thresholds: bool,
    pub tolerance: f64,
    pub scale_down_stabilization_ms: u64,
    pub horizon_ms: u64,
    pub early_scale_down: bool,
    pub flap_budget: f64,
    pub rate_limit_scale_up: bool,
    pub cost: Cost,
    pub behavior: Behavior,
}

impl Default for Autoscaler {
    fn default() -> Self {
        Autoscaler {
            policy: AutoscalerPolicy::Threshold,
            resource: "membranes".into(),
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
            flap_budget: echoflow_operators::autoscale::flap_budget::DEFAULT_RATIO,
            rate_limit_scale_up: false,
            cost: Cost::default(),
            behavior: Behavior::default(),
        }
    }
}

/// `[autoscaler.cost]`: the cost model that can veto scale-ups that do not pay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub enabled: bool,
    pub replica_minute: f64,
    pub violation_minute: f64,
}

impl Default for Cost {
    fn default() -> Self {
        Cost {
            enabled: false,
            replica_minute: 1.0,
            violation_minute: 50.0,
        }
    }
}

/// `[autoscaler.behavior]`: HPA scaling rules per direction (Kubernetes `HPAScalingRules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            scale_up: ScalingRules {
                stabilization_window_ms: 0,
                select_policy: SelectPolicy::Max,
                policies: vec![
                    ScalingPolicy {
                        kind: ScalingPolicyKind::Pods,
                        value: 4,
                        period_ms: 15_000,
                    },
                    ScalingPolicy {
                        kind: ScalingPolicyKind::Percent,
                        value: 100,
                        period_ms: 15_000,
                    },
                ],
            },
            scale_down: ScalingRules {
                // Follows `autoscaler.scale_down_stabilization_ms` unless set (see the loader).
                stabilization_window_ms: 300_000,
                select_policy: SelectPolicy::Max,
                policies: vec![ScalingPolicy {
                    kind: ScalingPolicyKind::Percent,
                    value: 100,
                    period_ms: 15_000,
                }],
            },
        }
    }
}

/// Rules for one scaling direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingRules {
    pub stabilization_window_ms: u64,
    pub select_policy: SelectPolicy,
    pub policies: Vec<ScalingPolicy>,
}

/// Which policy wins when several allow different changes (Kubernetes `selectPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

impl SelectPolicy {
    /// The names accepted in `select_policy`.
    pub const NAMES: [&'static str; 3] = ["max", "min", "disabled"];
}

/// One HPA scaling policy: at most `value` pods (or percent of the current replicas) per
/// `period_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingPolicy {
    pub kind: ScalingPolicyKind,
    pub value: u32,
    pub period_ms: u64,
}

/// The unit of a [`ScalingPolicy`]'s `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalingPolicyKind {
    Pods,
    Percent,
}

impl ScalingPolicyKind {
    /// The names accepted in a policy's `kind`.
    pub const NAMES: [&'static str; 2] = ["pods", "percent"];
}

/// `[simulate]`: the modelled fleet of `echoflow simulate` (SPEC §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulate {
    pub capacity_rps: f64,
    pub startup_ms: u64,
    pub peak_utilization: f64,
    pub peak_quantile: f64,
    pub row_ms: u64,
    pub slo_ms: u64,
    pub step_ms: u64,
}

impl Default for Simulate {
    fn default() -> Self {
        Simulate {
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

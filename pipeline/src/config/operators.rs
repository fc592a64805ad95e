//! From the validated `pipeline.toml` to the operators' own parameter structs.
//!
//! The operators crate owns its parameters as plain serde structs with the same key names as
//! SPEC §6 (`operators::autoscale::config`); the configuration here owns loading, ranges and
//! documentation. The bridge is a serde round trip of the section, so a key added to one side and
//! not the other fails loudly (both sides deny unknown keys), and the tests below check that the
//! defaults agree.

use echoflow_operators::aimd::AimdConfig;
use echoflow_operators::autoscale::config::{AutoscalerConfig, SimulateConfig};
use echoflow_operators::circuit_breaker::{BreakerConfig, WindowType};
use echoflow_operators::degradation::{DegradationConfig, Thresholds};
use echoflow_operators::fleet::FleetConfig;
use echoflow_operators::membrane_pool::PoolConfig;
use echoflow_operators::red::RedConfig;
use echoflow_operators::routing::{RoutingConfig, Strategy};

use super::{BreakerWindowType, Config, LevelThresholds, RoutingStrategy};

/// A section that the operators' structs could not take (a mismatch between the two sets of
/// types: a bug, not a user error).
#[derive(Debug, thiserror::Error)]
#[error("configuration section [{section}] does not match the operators' parameters: {detail}")]
pub struct BridgeError {
    pub section: &'static str,
    pub detail: String,
}

fn bridge<A: serde::Serialize, B: serde::de::DeserializeOwned>(
    section: &'static str,
    value: &A,
) -> Result<B, BridgeError> {
    let err = |e: serde_json::Error| BridgeError {
        section,
        detail: e.to_string(),
    };
    serde_json::from_value(serde_json::to_value(value).map_err(err)?).map_err(err)
}

impl Config {
    /// `[autoscaler]` as the autoscaling policies take it.
    pub fn autoscaler_params(&self) -> Result<AutoscalerConfig, BridgeError> {
        bridge("autoscaler", &self.autoscaler)
    }

    /// `[simulate]` as the fleet model takes it.
    pub fn simulate_params(&self) -> Result<SimulateConfig, BridgeError> {
        bridge("simulate", &self.simulate)
    }

    /// `[breaker]` as each membrane's circuit breaker takes it.
    pub fn breaker_params(&self) -> BreakerConfig {
        let b = &self.breaker;
        BreakerConfig {
            failure_rate: b.failure_rate,
            min_calls: b.min_calls,
            window: b.window,
            permitted_calls: b.permitted_calls,
            open_ms: b.open_ms,
            slow_call_ms: b.slow_call_ms,
            slow_call_rate: b.slow_call_rate,
            window_type: match b.window_type {
                BreakerWindowType::Count => WindowType::Count,
                BreakerWindowType::Time => WindowType::Time,
            },
            window_ms: b.window_ms,
        }
    }

    /// `[red]`.
    pub fn red_params(&self) -> RedConfig {
        let r = &self.red;
        RedConfig {
            enabled: r.enabled,
            min_th: r.min_th,
            max_th: r.max_th,
            max_p: r.max_p,
            weight: r.weight,
            count_spacing: r.count_spacing,
            seed: r.seed,
        }
    }

    /// `[aimd]` with `time.tick_ms`.
    pub fn aimd_params(&self) -> AimdConfig {
        let a = &self.aimd;
        AimdConfig {
            enabled: a.enabled,
            enter: a.enter,
            exit: a.exit,
            emergency: a.emergency,
            decrease: a.decrease,
            increase: a.increase,
            min_scale: a.min_scale,
            cooldown_ms: a.cooldown_ms,
            max_rate: a.max_rate,
            burst_ms: a.burst_ms,
            process_memory: a.process_memory,
            tick_ms: self.time.tick_ms,
        }
    }

    /// `[degradation]`.
    pub fn degradation_params(&self) -> DegradationConfig {
        let t = |l: &LevelThresholds| Thresholds {
            partial: l.partial,
            minimal: l.minimal,
            emergency: l.emergency,
            offline: l.offline,
        };
        DegradationConfig {
            enabled: self.degradation.enabled,
            recovery_delay_ms: self.degradation.recovery_delay_ms,
            cpu: t(&self.degradation.cpu),
            memory: t(&self.degradation.memory),
        }
    }

    /// `[routing]`.
    pub fn routing_params(&self) -> RoutingConfig {
        let r = &self.routing;
        RoutingConfig {
            strategy: match r.strategy {
                RoutingStrategy::RoundRobin => Strategy::RoundRobin,
                RoutingStrategy::Weighted => Strategy::Weighted,
                RoutingStrategy::LeastConnections => Strategy::LeastConnections,
                RoutingStrategy::LeastLoaded => Strategy::LeastLoaded,
                RoutingStrategy::P2c => Strategy::P2c,
                RoutingStrategy::ConsistentHash => Strategy::ConsistentHash,
            },
            seed: r.seed,
            hash_epsilon: r.hash_epsilon,
            membrane_ttl_ms: r.membrane_ttl_ms,
        }
    }

    /// The fleet view: pool (TTL, RED weight, breaker), AIMD and degradation.
    pub fn fleet_params(&self) -> FleetConfig {
        FleetConfig {
            pool: PoolConfig {
                membrane_ttl_ms: self.routing.membrane_ttl_ms,
                red_weight: self.red.weight,
                breaker: self.breaker_params(),
            },
            aimd: self.aimd_params(),
            degradation: self.degradation_params(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_agree_with_the_operators() {
        let c = Config::default();
        // The loader resolves the behavior windows that the operators leave unset (`None`):
        // scale-up 0, scale-down `scale_down_stabilization_ms`, as Kubernetes resolves them.
        let mut expected = AutoscalerConfig::default();
        expected.behavior.scale_up.stabilization_window_ms = Some(0);
        expected.behavior.scale_down.stabilization_window_ms =
            Some(expected.scale_down_stabilization_ms);
        assert_eq!(c.autoscaler_params().unwrap(), expected);
        assert_eq!(c.simulate_params().unwrap(), SimulateConfig::default());
    }

    #[test]
    fn operator_defaults_agree() {
        let c = Config::default();
        assert_eq!(c.breaker_params(), BreakerConfig::default());
        assert_eq!(c.red_params(), RedConfig::default());
        assert_eq!(c.aimd_params(), AimdConfig::default());
        assert_eq!(c.degradation_params(), DegradationConfig::default());
        assert_eq!(c.routing_params(), RoutingConfig::default());
        assert_eq!(c.fleet_params().pool, PoolConfig::default());
    }

    #[test]
    fn every_key_reaches_the_operators() {
        let text = r#"
            [autoscaler]
            policy = "predictive"
            max_replicas = 7
            horizon_ms = 90000
            early_scale_down = false
            flap_budget = 2
            rate_limit_scale_up = true
            [autoscaler.cost]
            enabled = true
            [autoscaler.behavior.scale_up]
            select_policy = "min"
            policies = [{ kind = "pods", value = 2, period_ms = 60000 }]
            [simulate]
            capacity_rps = 50.0
            slo_ms = 500
        "#;
        let c = crate::config::ConfigLoader::from_text("t.toml", text)
            .load()
            .unwrap();
        let a = c.autoscaler_params().unwrap();
        assert_eq!(a.policy.as_str(), "predictive");
        assert_eq!(
            (
                a.max_replicas,
                a.horizon_ms,
                a.early_scale_down,
                a.flap_budget,
                a.rate_limit_scale_up,
                a.cost.enabled
            ),
            (7, 90_000, false, 2.0, true, true)
        );
        let s = c.simulate_params().unwrap();
        assert_eq!((s.capacity_rps, s.slo_ms), (50.0, 500));
        assert_eq!(
            serde_json::to_value(&a.behavior.scale_up).unwrap()["policies"][0]["value"],
            2
        );
    }
}

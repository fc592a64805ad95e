//! From the validated `pipeline.toml` to the operators' own parameter structs.
//!
//! The operators crate owns its parameters as plain serde structs with the same key names as
//! SPEC §6 (`operators::autoscale::config`); the configuration here owns loading, ranges and
//! documentation. The bridge is a serde round trip of the section, so a key added to one side and
//! not the other fails loudly (both sides deny unknown keys), and the tests below check that the
//! defaults agree.

use echoflow_operators::autoscale::config::{AutoscalerConfig, SimulateConfig};

use super::Config;

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
    fn every_key_reaches_the_operators() {
        let text = r#"
            [autoscaler]
            policy = "predictive"
            max_replicas = 7
            horizon_ms = 90000
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
            (a.max_replicas, a.horizon_ms, a.cost.enabled),
            (7, 90_000, true)
        );
        let s = c.simulate_params().unwrap();
        assert_eq!((s.capacity_rps, s.slo_ms), (50.0, 500));
        assert_eq!(
            serde_json::to_value(&a.behavior.scale_up).unwrap()["policies"][0]["value"],
            2
        );
    }
}

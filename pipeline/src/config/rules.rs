//! Rules between keys, checked once every key is valid on its own.
//!
//! | rule | why |
//! |---|---|
//! | `red.min_th < red.max_th` | the drop ramp of SPEC §3 runs from `min_th` to `max_th` |
//! | `aimd.exit < aimd.enter <= aimd.emergency` | the hysteresis of SPEC §3 (exit below enter) |
//! | `degradation.<resource>`: `partial < minimal < emergency < offline` | levels are ordered |
//! | `autoscaler.min_replicas <= autoscaler.max_replicas` | the clamp range is not empty |
//! | `autoscaler.scale_down_threshold < autoscaler.scale_up_threshold` | no band where both fire |
//! | `reservoir.reduced_units <= reservoir.units` | the reduced profile is a sub-reservoir |
//! | `breaker.min_calls <= breaker.window` | a count window of `window` calls can reach `min_calls` (Resilience4j would never open otherwise) |
//! | `pipeline.workers <= pipeline.logical_shards` | state is split by shards; a worker without a shard would idle (Flink requires parallelism ≤ max-parallelism too) |
//! | the seven `topics.*` differ | an output written to an input topic would loop |
//! | `autoscaler.behavior.<dir>.policies` not empty unless `select_policy = "disabled"` | Kubernetes requires at least one policy |
//! | `simulate.step_ms <= autoscaler.interval_ms` | the simulator steps at least once per evaluation |
//!
//! A rule that involves a key which already failed its own check is skipped, so one bad value
//! gives one error, not a cascade.

use super::render::render_float;
use super::types::{Config, LevelThresholds, ScalingRules, SelectPolicy};
use std::collections::BTreeSet;

/// One broken rule: the keys involved (the first one locates the error) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub keys: Vec<String>,
    pub message: String,
}

/// Every rule that `config` breaks, skipping rules that involve a key in `failed`.
pub fn check(config: &Config, failed: &BTreeSet<String>) -> Vec<Broken> {
    let mut out = Vec::new();
    let mut rule = |keys: &[&str], broken: bool, message: String| {
        if broken && !keys.iter().any(|k| failed.contains(*k)) {
            out.push(Broken {
                keys: keys.iter().map(|k| k.to_string()).collect(),
                message,
            });
        }
    };
    let f = render_float;

    let red = &config.red;
    rule(
        &["red.min_th", "red.max_th"],
        red.min_th >= red.max_th,
        format!(
            "red.min_th = {} must be below red.max_th = {}",
            f(red.min_th),
            f(red.max_th)
        ),
    );

    let aimd = &config.aimd;
    rule(
        &["aimd.exit", "aimd.enter"],
        aimd.exit >= aimd.enter,
        format!(
            "aimd.exit = {} must be below aimd.enter = {} (exit < enter <= emergency)",
            f(aimd.exit),
            f(aimd.enter)
        ),
    );
    rule(
        &["aimd.enter", "aimd.emergency"],
        aimd.enter > aimd.emergency,
        format!(
            "aimd.enter = {} must not be above aimd.emergency = {} (exit < enter <= emergency)",
            f(aimd.enter),
            f(aimd.emergency)
        ),
    );

    for (resource, t) in [
        ("cpu", &config.degradation.cpu),
        ("memory", &config.degradation.memory),
    ] {
        for (lower, upper) in level_pairs(t) {
            let lk = format!("degradation.{resource}.{}", lower.0);
            let uk = format!("degradation.{resource}.{}", upper.0);
            rule(
                &[lk.as_str(), uk.as_str()],
                lower.1 >= upper.1,
                format!(
                    "{uk} = {} must be above {lk} = {} (partial < minimal < emergency < offline)",
                    f(upper.1),
                    f(lower.1)
                ),
            );
        }
    }

    let a = &config.autoscaler;
    rule(
        &["autoscaler.min_replicas", "autoscaler.max_replicas"],
        a.min_replicas > a.max_replicas,
        format!(
            "autoscaler.min_replicas = {} must not be above autoscaler.max_replicas = {}",
            a.min_replicas, a.max_replicas
        ),
    );
    rule(
        &[
            "autoscaler.scale_down_threshold",
            "autoscaler.scale_up_threshold",
        ],
        a.scale_down_threshold >= a.scale_up_threshold,
        format!(
            "autoscaler.scale_down_threshold = {} must be below autoscaler.scale_up_threshold = {}",
            f(a.scale_down_threshold),
            f(a.scale_up_threshold)
        ),
    );

    let r = &config.reservoir;
    rule(
        &["reservoir.reduced_units", "reservoir.units"],
        r.reduced_units > r.units,
        format!(
            "reservoir.reduced_units = {} must not be above reservoir.units = {}",
            r.reduced_units, r.units
        ),
    );

    let b = &config.breaker;
    rule(
        &["breaker.min_calls", "breaker.window"],
        b.min_calls > b.window,
        format!(
            "breaker.min_calls = {} must not be above breaker.window = {} (the window could never hold enough calls)",
            b.min_calls, b.window
        ),
    );

    let p = &config.pipeline;
    rule(
        &["pipeline.workers", "pipeline.logical_shards"],
        p.workers > p.logical_shards,
        format!(
            "pipeline.workers = {} must not be above pipeline.logical_shards = {} (state is split by shards)",
            p.workers, p.logical_shards
        ),
    );

    let t = &config.topics;
    let topics = [
        ("topics.requests", &t.requests),
        ("topics.telemetry", &t.telemetry),
        ("topics.admitted", &t.admitted),
        ("topics.rejections", &t.rejections),
        ("topics.decisions", &t.decisions),
        ("topics.control", &t.control),
        ("topics.dead_letter", &t.dead_letter),
    ];
    for (i, (ka, a)) in topics.iter().enumerate() {
        if let Some((kb, _)) = topics[..i].iter().find(|(_, b)| b == a) {
            rule(
                &[ka, kb],
                true,
                format!("{ka} = {a:?} is also {kb}: every stream needs its own topic"),
            );
        }
    }

    for (dir, rules) in [
        ("scale_up", &a.behavior.scale_up),
        ("scale_down", &a.behavior.scale_down),
    ] {
        let pk = format!("autoscaler.behavior.{dir}.policies");
        let sk = format!("autoscaler.behavior.{dir}.select_policy");
        rule(
            &[pk.as_str(), sk.as_str()],
            no_policies(rules),
            format!("{pk} is empty: give at least one policy, or set {sk} = \"disabled\""),
        );
    }

    rule(
        &["simulate.step_ms", "autoscaler.interval_ms"],
        config.simulate.step_ms > a.interval_ms,
        format!(
            "simulate.step_ms = {} must not be above autoscaler.interval_ms = {}",
            config.simulate.step_ms, a.interval_ms
        ),
    );

    out
}

fn no_policies(rules: &ScalingRules) -> bool {
    rules.policies.is_empty() && rules.select_policy != SelectPolicy::Disabled
}

type Level = (&'static str, f64);

fn level_pairs(t: &LevelThresholds) -> [(Level, Level); 3] {
    let levels = [
        ("partial", t.partial),
        ("minimal", t.minimal),
        ("emergency", t.emergency),
        ("offline", t.offline),
    ];
    [
        (levels[0], levels[1]),
        (levels[1], levels[2]),
        (levels[2], levels[3]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(c: &Config) -> Vec<String> {
        check(c, &BTreeSet::new())
            .into_iter()
            .map(|b| b.message)
            .collect()
    }

    #[test]
    fn defaults_break_no_rule() {
        assert!(broken(&Config::default()).is_empty());
    }

    #[test]
    fn each_rule_fires_with_its_message() {
        let mut c = Config::default();
        c.red.min_th = 0.9;
        c.red.max_th = 0.8;
        c.aimd.exit = 0.8;
        c.degradation.memory.minimal = 0.75;
        c.autoscaler.min_replicas = 11;
        c.topics.admitted = "echoflow.requests".into();
        c.autoscaler.behavior.scale_down.policies.clear();
        assert_eq!(
            broken(&c),
            vec![
                "red.min_th = 0.9 must be below red.max_th = 0.8",
                "aimd.exit = 0.8 must be below aimd.enter = 0.7 (exit < enter <= emergency)",
                "degradation.memory.minimal = 0.75 must be above degradation.memory.partial = 0.75 (partial < minimal < emergency < offline)",
                "autoscaler.min_replicas = 11 must not be above autoscaler.max_replicas = 10",
                "topics.admitted = \"echoflow.requests\" is also topics.requests: every stream needs its own topic",
                "autoscaler.behavior.scale_down.policies is empty: give at least one policy, or set autoscaler.behavior.scale_down.select_policy = \"disabled\"",
            ]
        );
    }

    #[test]
    fn disabled_direction_needs_no_policy() {
        let mut c = Config::default();
        c.autoscaler.behavior.scale_down.policies.clear();
        c.autoscaler.behavior.scale_down.select_policy = SelectPolicy::Disabled;
        assert!(broken(&c).is_empty());
    }

    #[test]
    fn rules_on_failed_keys_are_skipped() {
        let mut c = Config::default();
        c.red.min_th = 0.9;
        c.red.max_th = 0.8;
        let failed: BTreeSet<String> = ["red.max_th".to_string()].into();
        assert!(check(&c, &failed).is_empty());
    }
}

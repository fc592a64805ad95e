//! The schema: every key of `pipeline.toml`, its type and what values it allows.
//!
//! This table is what the loader checks a file against, key by key, and what
//! `docs/configuration.md` is tested against (every key here has its entry there, with the same
//! type, default and allowed values, and nothing else is documented). Defaults are not repeated
//! here: they come from [`Config::default`](super::Config), so the schema, the types and the
//! reference cannot drift apart unnoticed (`pipeline/tests/config_reference.rs`).
//!
//! Ranges are echoflow's choice where SPEC §6 gives none; they follow the meaning of each key:
//! fractions of a capacity lie in [0, 1] (open at 0 where 0 would disable the mechanism without
//! saying so), durations are bounded by a day (86,400,000 ms) or, where Kubernetes bounds the
//! same setting, by Kubernetes' bound (stabilisation windows ≤ 3,600 s, policy periods
//! ≤ 1,800 s: `pkg/apis/autoscaling/validation`), `logical_shards` by Flink's largest
//! max-parallelism (32,768), Kafka topic names by Kafka's own rule (`org.apache.kafka.common.
//! internals.Topic`: 1–249 of `[a-zA-Z0-9._-]`, not `.` or `..`).
//!
//! ```
//! use echoflow_pipeline::config::schema::{self, Kind};
//! let spec = schema::find("red.max_p").unwrap();
//! assert_eq!(spec.kind, Kind::Float);
//! assert_eq!(spec.rule.describe(), "(0, 1]");
//! assert_eq!(spec.rule.requirement(), "must be in (0, 1]");
//! assert!(schema::is_table("degradation.cpu"));
//! ```

use super::render::{render_float, render_value};
use super::types::{
    AutoscalerPolicy, BreakerWindowType, RoutingStrategy, ScalingPolicyKind, SelectPolicy,
};

/// The TOML type a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Integer,
    /// A float; an integer is accepted and converted.
    Float,
    String,
    /// `kafka.client`: a table of librdkafka settings.
    StringMap,
    /// HPA scaling policies: an array of `{ kind, value, period_ms }` tables.
    Policies,
}

impl Kind {
    /// The type's name as the reference writes it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Integer => "integer",
            Kind::Float => "float",
            Kind::String => "string",
            Kind::StringMap => "table of strings",
            Kind::Policies => "array of tables",
        }
    }

    fn with_article(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }
}

/// What values a key allows, beyond its type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// `true` or `false`.
    Bool,
    /// A file path; empty means "none" (the key's documentation says what then).
    Path,
    /// An integer in `[min, max]`.
    Int { min: i64, max: i64 },
    /// A finite float between `lo` and `hi`, each bound open or closed.
    Float {
        lo: f64,
        lo_open: bool,
        hi: f64,
        hi_open: bool,
    },
    /// One of these names.
    OneOf(&'static [&'static str]),
    /// A non-empty string.
    NonEmpty,
    /// A comma-separated list of broker addresses, none empty.
    Brokers,
    /// A Kafka topic name.
    Topic,
    /// An `IP:port` socket address.
    SocketAddr,
    /// `kafka.client`'s settings.
    ClientMap,
    /// HPA scaling policies.
    Policies,
}

/// The range of a policy's `value` (Kubernetes: any positive int32; echoflow caps it lower).
pub const POLICY_VALUE: Rule = Rule::Int {
    min: 1,
    max: 1_000_000,
};
/// The range of a policy's `period_ms` (Kubernetes: 1 to 1,800 s).
pub const POLICY_PERIOD_MS: Rule = Rule::Int {
    min: 1,
    max: 1_800_000,
};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const SEED: Rule = Rule::Int {
    min: 0,
    max: i64::MAX,
};
const BOOL: Rule = Rule::Bool;

const fn ms(min: i64, max: i64) -> Rule {
    Rule::Int { min, max }
}
const fn count(min: i64, max: i64) -> Rule {
    Rule::Int { min, max }
}
const fn float(lo: f64, lo_open: bool, hi: f64, hi_open: bool) -> Rule {
    Rule::Float {
        lo,
        lo_open,
        hi,
        hi_open,
    }
}
/// (0, 1]
const FRACTION: Rule = float(0.0, true, 1.0, false);
/// [0, 1)
const FRACTION_BELOW_1: Rule = float(0.0, false, 1.0, true);

fn fmt_bound(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{}", x as i64)
    } else {
        render_float(x)
    }
}

impl Rule {
    /// What is allowed, as the reference's "allowed" column writes it.
    pub fn describe(&self) -> String {
        match self {
            Rule::Bool => "true or false".into(),
            Rule::Path => "a path, or empty".into(),
            Rule::Int { min, max } => format!("[{min}, {max}]"),
            Rule::Float {
                lo,
                lo_open,
                hi,
                hi_open,
            } => format!(
                "{}{}, {}{}",
                if *lo_open { '(' } else { '[' },
                fmt_bound(*lo),
                fmt_bound(*hi),
                if *hi_open { ')' } else { ']' }
            ),
            Rule::OneOf(names) => format!("one of {}", names.join(", ")),
            Rule::NonEmpty => "non-empty".into(),
            Rule::Brokers => "comma-separated host[:port] list, no empty entry".into(),
            Rule::Topic => "Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -, not . or ..".into(),
            Rule::SocketAddr => "IP:port".into(),
            Rule::ClientMap => "librdkafka settings; not bootstrap.servers or group.id".into(),
            Rule::Policies => format!(
                "kind: one of {}; value: {}; period_ms: {}; at least one unless select_policy is disabled",
                ScalingPolicyKind::NAMES.join(", "),
                POLICY_VALUE.describe(),
                POLICY_PERIOD_MS.describe()
            ),
        }
    }

    /// What an error message says is required: `must be in (0, 1]`.
    pub fn requirement(&self) -> String {
        match self {
            Rule::Int { .. } | Rule::Float { .. } => format!("must be in {}", self.describe()),
            Rule::OneOf(names) => format!("must be one of {}", names.join(", ")),
            Rule::NonEmpty => "must not be empty".into(),
            Rule::Brokers => {
                "must be a comma-separated list of host[:port] entries, none empty".into()
            }
            Rule::Topic => {
                "must be a Kafka topic name: 1 to 249 characters of a-z A-Z 0-9 . _ -, not . or .."
                    .into()
            }
            Rule::SocketAddr => "must be a socket address IP:port, e.g. 127.0.0.1:9898".into(),
            Rule::Bool | Rule::Path | Rule::ClientMap | Rule::Policies => self.describe(),
        }
    }

    /// Whether a value that already has the key's type is allowed.
    pub fn allows(&self, value: &toml::Value) -> bool {
        match (self, value) {
            (Rule::Bool, toml::Value::Boolean(_)) | (Rule::Path, toml::Value::String(_)) => true,
            (Rule::ClientMap | Rule::Policies, _) => true,
            (Rule::Int { min, max }, toml::Value::Integer(i)) => min <= i && i <= max,
            (
                Rule::Float {
                    lo,
                    lo_open,
                    hi,
                    hi_open,
                },
                toml::Value::Float(f),
            ) => {
                let above = if *lo_open { f > lo } else { f >= lo };
                let below = if *hi_open { f < hi } else { f <= hi };
                f.is_finite() && above && below
            }
            (Rule::OneOf(names), toml::Value::String(s)) => names.contains(&s.as_str()),
            (Rule::NonEmpty, toml::Value::String(s)) => !s.is_empty(),
            (Rule::Brokers, toml::Value::String(s)) => {
                !s.trim().is_empty()
                    && s.split(',').all(|b| {
                        let b = b.trim();
                        !b.is_empty() && !b.contains(char::is_whitespace)
                    })
            }
            (Rule::Topic, toml::Value::String(s)) => {
                (1..=249).contains(&s.len())
                    && s != "."
                    && s != ".."
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            }
            (Rule::SocketAddr, toml::Value::String(s)) => s.parse::<std::net::SocketAddr>().is_ok(),
            _ => false,
        }
    }
}

/// One key of `pipeline.toml`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeySpec {
    /// Full dotted key, e.g. `degradation.cpu.partial`.
    pub path: &'static str,
    pub kind: Kind,
    pub rule: Rule,
}

const fn key(path: &'static str, kind: Kind, rule: Rule) -> KeySpec {
    KeySpec { path, kind, rule }
}

use Kind::{Bool as B, Float as F, Integer as I, String as S};

/// Every key, in SPEC §6 order (the added `[autoscaler.behavior]` keys after `[autoscaler.cost]`).
pub const KEYS: &[KeySpec] = &[
    key("kafka.brokers", S, Rule::Brokers),
    key("kafka.group_id", S, Rule::NonEmpty),
    key("kafka.client", Kind::StringMap, Rule::ClientMap),
    key("topics.requests", S, Rule::Topic),
    key("topics.telemetry", S, Rule::Topic),
    key("topics.admitted", S, Rule::Topic),
    key("topics.rejections", S, Rule::Topic),
    key("topics.decisions", S, Rule::Topic),
    key("topics.control", S, Rule::Topic),
    key("topics.dead_letter", S, Rule::Topic),
    key("pipeline.workers", I, count(1, 1024)),
    key("pipeline.logical_shards", I, count(1, 32_768)),
    key("metrics.address", S, Rule::SocketAddr),
    key("time.tick_ms", I, ms(1, 60_000)),
    key("time.allowed_lateness_ms", I, ms(0, DAY_MS)),
    key("time.idle_timeout_ms", I, ms(1, DAY_MS)),
    key("red.enabled", B, BOOL),
    key("red.min_th", F, FRACTION_BELOW_1),
    key("red.max_th", F, FRACTION),
    key("red.max_p", F, FRACTION),
    key("red.weight", F, FRACTION),
    key("red.count_spacing", B, BOOL),
    key("red.seed", I, SEED),
    key("aimd.enabled", B, BOOL),
    key("aimd.enter", F, FRACTION),
    key("aimd.exit", F, FRACTION_BELOW_1),
    key("aimd.emergency", F, FRACTION),
    key("aimd.decrease", F, float(0.0, true, 1.0, true)),
    key("aimd.increase", F, FRACTION),
    key("aimd.min_scale", F, FRACTION),
    key("aimd.cooldown_ms", I, ms(0, DAY_MS)),
    key("aimd.max_rate", F, float(0.0, true, 1e9, false)),
    key("aimd.burst_ms", I, ms(1, HOUR_MS)),
    key("aimd.process_memory", B, BOOL),
    key("degradation.enabled", B, BOOL),
    key("degradation.recovery_delay_ms", I, ms(0, DAY_MS)),
    key("degradation.cpu.partial", F, FRACTION),
    key("degradation.cpu.minimal", F, FRACTION),
    key("degradation.cpu.emergency", F, FRACTION),
    key("degradation.cpu.offline", F, FRACTION),
    key("degradation.memory.partial", F, FRACTION),
    key("degradation.memory.minimal", F, FRACTION),
    key("degradation.memory.emergency", F, FRACTION),
    key("degradation.memory.offline", F, FRACTION),
    key("reservoir.model", S, Rule::Path),
    key("reservoir.units", I, count(1, 100_000)),
    key("reservoir.reduced_units", I, count(1, 100_000)),
    key("reservoir.seed", I, SEED),
    key("reservoir.max_steps", I, count(1, 1_048_576)),
    key("reservoir.session_ttl_ms", I, ms(0, DAY_MS)),
    key("reservoir.sessions_per_shard", I, count(1, 1_000_000)),
    key("routing.strategy", S, Rule::OneOf(&RoutingStrategy::NAMES)),
    key("routing.seed", I, SEED),
    key("routing.hash_epsilon", F, float(0.0, true, 100.0, false)),
    key("routing.membrane_ttl_ms", I, ms(1, DAY_MS)),
    key("breaker.failure_rate", F, FRACTION),
    key("breaker.min_calls", I, count(1, 1_000_000)),
    key("breaker.window", I, count(1, 1_000_000)),
    key("breaker.permitted_calls", I, count(1, 1_000_000)),
    key("breaker.open_ms", I, ms(1, DAY_MS)),
    key("breaker.slow_call_ms", I, ms(0, DAY_MS)),
    key("breaker.slow_call_rate", F, FRACTION),
    key(
        "breaker.window_type",
        S,
        Rule::OneOf(&BreakerWindowType::NAMES),
    ),
    key("breaker.window_ms", I, ms(1, DAY_MS)),
    key(
        "autoscaler.policy",
        S,
        Rule::OneOf(&AutoscalerPolicy::NAMES),
    ),
    key("autoscaler.resource", S, Rule::NonEmpty),
    key("autoscaler.interval_ms", I, ms(1, DAY_MS)),
    key("autoscaler.min_replicas", I, count(1, 100_000)),
    key("autoscaler.max_replicas", I, count(1, 100_000)),
    key("autoscaler.target_utilization", F, FRACTION),
    key("autoscaler.scale_up_threshold", F, FRACTION),
    key("autoscaler.scale_down_threshold", F, FRACTION_BELOW_1),
    key("autoscaler.scale_up_cooldown_ms", I, ms(0, DAY_MS)),
    key("autoscaler.scale_down_cooldown_ms", I, ms(0, DAY_MS)),
    key("autoscaler.adaptive_thresholds", B, BOOL),
    key("autoscaler.tolerance", F, FRACTION_BELOW_1),
    key("autoscaler.scale_down_stabilization_ms", I, ms(0, HOUR_MS)),
    key("autoscaler.horizon_ms", I, ms(0, DAY_MS)),
    key("autoscaler.early_scale_down", B, BOOL),
    key(
        "autoscaler.flap_budget",
        F,
        float(0.0, false, 1000.0, false),
    ),
    key("autoscaler.rate_limit_scale_up", B, BOOL),
    key("autoscaler.cost.enabled", B, BOOL),
    key(
        "autoscaler.cost.replica_minute",
        F,
        float(0.0, false, 1e12, false),
    ),
    key(
        "autoscaler.cost.violation_minute",
        F,
        float(0.0, false, 1e12, false),
    ),
    key(
        "autoscaler.behavior.scale_up.stabilization_window_ms",
        I,
        ms(0, HOUR_MS),
    ),
    key(
        "autoscaler.behavior.scale_up.select_policy",
        S,
        Rule::OneOf(&SelectPolicy::NAMES),
    ),
    key(
        "autoscaler.behavior.scale_up.policies",
        Kind::Policies,
        Rule::Policies,
    ),
    key(
        "autoscaler.behavior.scale_down.stabilization_window_ms",
        I,
        ms(0, HOUR_MS),
    ),
    key(
        "autoscaler.behavior.scale_down.select_policy",
        S,
        Rule::OneOf(&SelectPolicy::NAMES),
    ),
    key(
        "autoscaler.behavior.scale_down.policies",
        Kind::Policies,
        Rule::Policies,
    ),
    key("simulate.capacity_rps", F, float(0.0, true, 1e9, false)),
    key("simulate.startup_ms", I, ms(0, DAY_MS)),
    key(
        "simulate.peak_utilization",
        F,
        float(0.0, true, 10.0, false),
    ),
    key("simulate.peak_quantile", F, FRACTION),
    key("simulate.row_ms", I, ms(0, DAY_MS)),
    key("simulate.slo_ms", I, ms(1, DAY_MS)),
    key("simulate.step_ms", I, ms(1, HOUR_MS)),
];

/// The key at this full dotted path.
pub fn find(path: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.path == path)
}

/// Whether `path` is a table (section) of the schema: a proper prefix of some key. The empty
/// path is the document itself.
pub fn is_table(path: &str) -> bool {
    path.is_empty()
        || KEYS.iter().any(|k| {
            k.path
                .strip_prefix(path)
                .is_some_and(|rest| rest.starts_with('.'))
        })
}

/// The names allowed directly inside the table at `path` ("" = top level), in schema order.
pub fn children(path: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KEYS {
        let rest = if path.is_empty() {
            Some(k.path)
        } else {
            k.path
                .strip_prefix(path)
                .and_then(|rest| rest.strip_prefix('.'))
        };
        if let Some(rest) = rest {
            let child = rest.split('.').next().unwrap_or(rest);
            if !out.contains(&child) {
                out.push(child);
            }
        }
    }
    out
}

/// Converts `value` to `kind` where TOML allows it (an integer where a float is expected),
/// or says what was expected: `expected a float, found a string`.
pub fn coerce(kind: Kind, value: &toml::Value) -> Result<toml::Value, String> {
    let ok = match (kind, value) {
        (Kind::Bool, toml::Value::Boolean(_))
        | (Kind::Integer, toml::Value::Integer(_))
        | (Kind::String, toml::Value::String(_))
        | (Kind::StringMap, toml::Value::Table(_))
        | (Kind::Policies, toml::Value::Array(_)) => Some(value.clone()),
        // -0.0 + 0.0 == +0.0: equal values render (and hash) equally.
        (Kind::Float, toml::Value::Float(f)) => Some(toml::Value::Float(f + 0.0)),
        (Kind::Float, toml::Value::Integer(i)) => Some(toml::Value::Float(*i as f64)),
        _ => None,
    };
    ok.ok_or_else(|| format!("expected {}, found {}", kind.with_article(), type_of(value)))
}

/// A value's TOML type with its article: `an integer`, `a string`.
pub fn type_of(value: &toml::Value) -> String {
    let name = value.type_str();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}

/// One problem with one value: the full key, and the message naming key, value and rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    fn new(key: &str, value: &toml::Value, what: &str) -> Self {
        Problem {
            key: key.to_string(),
            message: format!("{key} = {}: {what}", render_value(value)),
        }
    }
}

/// Checks one value against its key's type and rule; returns the value in its canonical type.
pub fn check(spec: &KeySpec, value: &toml::Value) -> Result<toml::Value, Vec<Problem>> {
    let value_ok =
        coerce(spec.kind, value).map_err(|what| vec![Problem::new(spec.path, value, &what)])?;
    if spec.kind == Kind::Policies {
        return check_policies(spec.path, &value_ok);
    }
    if spec.rule.allows(&value_ok) {
        Ok(value_ok)
    } else {
        Err(vec![Problem::new(
            spec.path,
            &value_ok,
            &spec.rule.requirement(),
        )])
    }
}

fn check_policies(path: &str, value: &toml::Value) -> Result<toml::Value, Vec<Problem>> {
    let items = match value {
        toml::Value::Array(items) => items,
        other => {
            return Err(vec![Problem::new(
                path,
                other,
                "expected an array of tables",
            )]);
        }
    };
    let mut problems = Vec::new();
    let fields: [(&str, Kind, Rule); 3] = [
        ("kind", Kind::String, Rule::OneOf(&ScalingPolicyKind::NAMES)),
        ("value", Kind::Integer, POLICY_VALUE),
        ("period_ms", Kind::Integer, POLICY_PERIOD_MS),
    ];
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(table) = item.as_table() else {
            problems.push(Problem::new(
                &at,
                item,
                &format!(
                    "expected a table {{ kind, value, period_ms }}, found {}",
                    type_of(item)
                ),
            ));
            continue;
        };
        for name in table.keys() {
            if !fields.iter().any(|(f, _, _)| f == name) {
                problems.push(Problem {
                    key: format!("{at}.{name}"),
                    message: format!(
                        "unknown key {at}.{}; allowed: kind, value, period_ms",
                        super::render::render_key(name)
                    ),
                });
            }
        }
        for (name, kind, rule) in fields {
            let key = format!("{at}.{name}");
            match table.get(name) {
                None => problems.push(Problem {
                    message: format!("{key} is missing; a policy needs kind, value and period_ms"),
                    key,
                }),
                Some(v) => match coerce(kind, v) {
                    Err(what) => problems.push(Problem::new(&key, v, &what)),
                    Ok(v) if !rule.allows(&v) => {
                        problems.push(Problem::new(&key, &v, &rule.requirement()))
                    }
                    Ok(_) => {}
                },
            }
        }
    }
    if problems.is_empty() {
        Ok(value.clone())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_tables_are_not_keys() {
        for (i, a) in KEYS.iter().enumerate() {
            assert!(
                !KEYS[i + 1..].iter().any(|b| b.path == a.path),
                "{} twice",
                a.path
            );
            assert!(!is_table(a.path), "{} is both a key and a table", a.path);
        }
    }

    #[test]
    fn children_follow_schema_order() {
        assert_eq!(
            children("degradation"),
            vec!["enabled", "recovery_delay_ms", "cpu", "memory"]
        );
        assert_eq!(children("")[..3], ["kafka", "topics", "pipeline"]);
        assert!(children("red.max_p").is_empty());
    }

    #[test]
    fn describe_matches_interval_notation() {
        assert_eq!(FRACTION.describe(), "(0, 1]");
        assert_eq!(FRACTION_BELOW_1.describe(), "[0, 1)");
        assert_eq!(float(0.0, true, 1e9, false).describe(), "(0, 1000000000]");
        assert_eq!(ms(1, 60_000).describe(), "[1, 60000]");
    }

    #[test]
    fn float_rules_reject_nan_and_bounds() {
        let v = |f: f64| toml::Value::Float(f);
        assert!(FRACTION.allows(&v(1.0)));
        assert!(!FRACTION.allows(&v(0.0)));
        assert!(!FRACTION.allows(&v(f64::NAN)));
        assert!(FRACTION_BELOW_1.allows(&v(0.0)));
        assert!(!FRACTION_BELOW_1.allows(&v(1.0)));
    }

    #[test]
    fn topic_rule_is_kafkas() {
        let s = |t: &str| toml::Value::String(t.into());
        assert!(Rule::Topic.allows(&s("echoflow.scaling-decisions")));
        assert!(!Rule::Topic.allows(&s("")));
        assert!(!Rule::Topic.allows(&s("..")));
        assert!(!Rule::Topic.allows(&s("a b")));
        assert!(!Rule::Topic.allows(&s(&"x".repeat(250))));
    }

    #[test]
    fn coerce_names_expected_and_found_types() {
        let e = coerce(Kind::Float, &toml::Value::String("x".into())).unwrap_err();
        assert_eq!(e, "expected a float, found a string");
        let e = coerce(Kind::Integer, &toml::Value::Float(2.0)).unwrap_err();
        assert_eq!(e, "expected an integer, found a float");
        assert_eq!(
            coerce(Kind::Float, &toml::Value::Integer(2)),
            Ok(toml::Value::Float(2.0))
        );
    }

    #[test]
    fn policies_report_every_bad_field() {
        let spec = find("autoscaler.behavior.scale_up.policies").unwrap();
        let v: toml::Value = "[{ kind = 'pod', value = 0, period_ms = 1000 }, { kind = 'pods', value = 1, periodSeconds = 15 }]"
            .parse()
            .unwrap();
        let problems = check(spec, &v).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "autoscaler.behavior.scale_up.policies[0].kind = \"pod\": must be one of pods, percent",
                "autoscaler.behavior.scale_up.policies[0].value = 0: must be in [1, 1000000]",
                "unknown key autoscaler.behavior.scale_up.policies[1].periodSeconds; allowed: kind, value, period_ms",
                "autoscaler.behavior.scale_up.policies[1].period_ms is missing; a policy needs kind, value and period_ms",
            ]
        );
    }
}

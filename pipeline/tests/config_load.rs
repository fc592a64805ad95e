//! Loading `pipeline.toml`: SPEC §6's defaults, every kind of error with its exact message,
//! precedence, environment overrides, redaction and the fingerprint; property tests that no
//! input panics the loader and that the effective configuration round-trips.

use echoflow_pipeline::config::schema::{self, Kind, Rule};
use echoflow_pipeline::config::{
    AutoscalerPolicy, Config, ConfigLoader, LoadError, REDACTED, RoutingStrategy,
    ScalingPolicyKind, SelectPolicy, render_value,
};
use proptest::prelude::*;

/// SPEC §6's listing, verbatim: it must load to exactly the defaults.
const SPEC_LISTING: &str = r#"
[kafka]
brokers = "127.0.0.1:9092"
group_id = "echoflow"
[kafka.client]            # passed through to librdkafka as-is
[topics]
requests = "echoflow.requests"
telemetry = "echoflow.telemetry"
admitted = "echoflow.admitted"
rejections = "echoflow.rejections"
decisions = "echoflow.scaling-decisions"
control = "echoflow.control-events"
dead_letter = "echoflow.dead-letter"
[pipeline]
workers = 1               # --workers overrides
logical_shards = 128
[metrics]
address = "127.0.0.1:9898"
[time]
tick_ms = 50
allowed_lateness_ms = 0
idle_timeout_ms = 5000
[red]
enabled = true
min_th = 0.6
max_th = 1.0
max_p = 0.3
weight = 0.2              # per telemetry report
count_spacing = false
seed = 0
[aimd]
enabled = true
enter = 0.70
exit = 0.55
emergency = 0.90
decrease = 0.5
increase = 0.05
min_scale = 0.1
cooldown_ms = 1000        # least time between two halvings above `emergency`
max_rate = 100000.0       # requests per second of event time at scale 1.0
burst_ms = 100
process_memory = true     # `run` only
[degradation]
enabled = true
recovery_delay_ms = 60000
[degradation.cpu]
partial = 0.70
minimal = 0.80
emergency = 0.90
offline = 0.95
[degradation.memory]
partial = 0.75
minimal = 0.85
emergency = 0.90
offline = 0.95
[reservoir]
model = ""                # .npz path; empty = a model fitted at start-up on built-in Mackey–Glass data
units = 100
reduced_units = 25
seed = 0
max_steps = 1024
[routing]
strategy = "least_loaded" # round_robin | weighted | least_connections | least_loaded | p2c | consistent_hash
seed = 0
hash_epsilon = 0.25       # consistent_hash: no membrane above ceil((1 + ε) · average) in flight
membrane_ttl_ms = 30000
[breaker]
failure_rate = 0.5
min_calls = 20
window = 100              # calls in the count-based sliding window
permitted_calls = 10      # in Half-Open
open_ms = 60000
slow_call_ms = 0          # 0 = slow calls do not count
slow_call_rate = 1.0
[autoscaler]
policy = "threshold"      # threshold | hpa | predictive
resource = "membranes"
interval_ms = 15000
min_replicas = 1
max_replicas = 10
target_utilization = 0.7  # hpa and predictive
scale_up_threshold = 0.8  # threshold
scale_down_threshold = 0.3
scale_up_cooldown_ms = 60000
scale_down_cooldown_ms = 300000
adaptive_thresholds = true
tolerance = 0.1
scale_down_stabilization_ms = 300000
horizon_ms = 75000        # predictive: how far ahead to provision
[autoscaler.cost]
enabled = false
replica_minute = 1.0
violation_minute = 50.0
[simulate]
capacity_rps = 100.0
startup_ms = 60000
peak_utilization = 0.8
peak_quantile = 0.99
row_ms = 0                # 0 = the median spacing of the trace's timestamps
slo_ms = 1000
step_ms = 1000
"#;

fn load(text: &str) -> Result<Config, LoadError> {
    ConfigLoader::from_text("p.toml", text).load()
}

fn lines(text: &str, env: &[(&str, &str)]) -> Vec<String> {
    match ConfigLoader::from_text("p.toml", text)
        .env(env.iter().copied())
        .load()
    {
        Ok(_) => Vec::new(),
        Err(e) => e.lines(),
    }
}

#[test]
fn spec_listing_and_empty_file_are_the_defaults() {
    let spec = load(SPEC_LISTING).unwrap();
    assert_eq!(spec, Config::default());
    assert_eq!(load("").unwrap(), Config::default());
    assert_eq!(load("# only a comment\n").unwrap(), Config::default());
    let d = Config::default();
    assert_eq!(d.routing.strategy, RoutingStrategy::LeastLoaded);
    assert_eq!(d.autoscaler.policy, AutoscalerPolicy::Threshold);
    assert_eq!(d.metrics.address.to_string(), "127.0.0.1:9898");
    assert_eq!(d.aimd.max_rate, 100_000.0);
}

#[test]
fn behavior_defaults_are_kubernetes() {
    let b = load("").unwrap().autoscaler.behavior;
    assert_eq!(b.scale_up.stabilization_window_ms, 0);
    assert_eq!(b.scale_up.select_policy, SelectPolicy::Max);
    let up: Vec<_> = b
        .scale_up
        .policies
        .iter()
        .map(|p| (p.kind, p.value, p.period_ms))
        .collect();
    assert_eq!(
        up,
        vec![
            (ScalingPolicyKind::Pods, 4, 15_000),
            (ScalingPolicyKind::Percent, 100, 15_000)
        ]
    );
    assert_eq!(b.scale_down.stabilization_window_ms, 300_000);
    let down: Vec<_> = b
        .scale_down
        .policies
        .iter()
        .map(|p| (p.kind, p.value, p.period_ms))
        .collect();
    assert_eq!(down, vec![(ScalingPolicyKind::Percent, 100, 15_000)]);
}

#[test]
fn every_kind_of_error_is_reported_with_its_message() {
    let text = r#"
[pipeline]
workers = 0
logical_shards = "many"
[red]
min_th = 0.9
max_th = 0.8
max_p = 1.5
[aimd]
exit = 0.8
[degradation.cpu]
minimal = 0.7
[routing]
strategy = "fastest"
[autoscaler]
policy = "magic"
min_replicas = 5
max_replicas = 3
[metrics]
address = "localhost"
[reds]
x = 1
[autoscaler.behavior.scale_up]
policies = [{ kind = "pods", value = 0, period_ms = 3600000 }]
"#;
    let env = [
        ("ECHOFLOW_AIMD__ENTR", "0.8"),
        ("ECHOFLOW_BREAKER__WINDOW", "ten"),
    ];
    assert_eq!(
        lines(text, &env),
        vec![
            "p.toml:3: pipeline.workers = 0: must be in [1, 1024]",
            "p.toml:4: pipeline.logical_shards = \"many\": expected an integer, found a string",
            "p.toml:6: red.min_th = 0.9 must be below red.max_th = 0.8",
            "p.toml:8: red.max_p = 1.5: must be in (0, 1]",
            "p.toml:10: aimd.exit = 0.8 must be below aimd.enter = 0.7 (exit < enter <= emergency)",
            "p.toml:12: degradation.cpu.minimal = 0.7 must be above degradation.cpu.partial = 0.7 (partial < minimal < emergency < offline)",
            "p.toml:14: routing.strategy = \"fastest\": must be one of round_robin, weighted, least_connections, least_loaded, p2c, consistent_hash",
            "p.toml:16: autoscaler.policy = \"magic\": must be one of threshold, hpa, predictive",
            "p.toml:17: autoscaler.min_replicas = 5 must not be above autoscaler.max_replicas = 3",
            "p.toml:20: metrics.address = \"localhost\": must be a socket address IP:port, e.g. 127.0.0.1:9898",
            "p.toml:21: unknown section reds; sections: kafka, topics, pipeline, metrics, time, red, aimd, degradation, reservoir, routing, breaker, autoscaler, simulate",
            "p.toml:24: autoscaler.behavior.scale_up.policies[0].value = 0: must be in [1, 1000000]",
            "p.toml:24: autoscaler.behavior.scale_up.policies[0].period_ms = 3600000: must be in [1, 1800000]",
            "p.toml: ECHOFLOW_AIMD__ENTR: unknown key aimd.entr; [aimd] allows: enabled, enter, exit, emergency, decrease, increase, min_scale, cooldown_ms, max_rate, burst_ms, process_memory",
            "p.toml: ECHOFLOW_BREAKER__WINDOW: breaker.window = \"ten\": expected an integer, found a string",
        ]
    );
}

#[test]
fn precedence_is_flags_then_environment_then_file_then_defaults() {
    let text = "[pipeline]\nworkers = 2\n[red]\nmax_p = 0.25\nweight = 0.5\n";
    let c = ConfigLoader::from_text("p.toml", text)
        .env([
            ("ECHOFLOW_PIPELINE__WORKERS", "3"),
            ("ECHOFLOW_RED__MAX_P", "0.2"),
        ])
        .flag("--workers", "pipeline.workers", 4u32)
        .load()
        .unwrap();
    assert_eq!(c.pipeline.workers, 4, "flag beats environment and file");
    assert_eq!(c.red.max_p, 0.2, "environment beats file");
    assert_eq!(c.red.weight, 0.5, "file beats default");
    assert_eq!(c.red.min_th, 0.6, "default where nothing is set");
}

#[test]
fn a_bad_flag_value_names_the_flag() {
    let e = ConfigLoader::from_text("p.toml", "")
        .flag("--workers", "pipeline.workers", 0u32)
        .load()
        .unwrap_err();
    assert_eq!(
        e.lines(),
        vec!["p.toml: --workers: pipeline.workers = 0: must be in [1, 1024]"]
    );
}

#[test]
fn environment_sets_kafka_client_settings_and_they_stay_secret() {
    let c = ConfigLoader::from_text("p.toml", "[kafka.client]\nsasl.username = \"alice\"")
        .env([
            ("ECHOFLOW_KAFKA__CLIENT__SASL_PASSWORD", "hunter2"),
            ("ECHOFLOW_KAFKA__CLIENT__SECURITY_PROTOCOL", "SASL_SSL"),
        ])
        .load()
        .unwrap();
    assert_eq!(c.kafka.client.get("sasl.password"), Some("hunter2"));
    assert_eq!(c.kafka.client.get("security.protocol"), Some("SASL_SSL"));
    assert_eq!(c.kafka.client.get("sasl.username"), Some("alice"));
    let shown = c.to_redacted_toml().unwrap();
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains(REDACTED));
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!c.canonical().contains("hunter2"));

    let other = ConfigLoader::from_text("p.toml", "[kafka.client]\nsasl.username = \"alice\"")
        .env([
            ("ECHOFLOW_KAFKA__CLIENT__SASL_PASSWORD", "correct horse"),
            ("ECHOFLOW_KAFKA__CLIENT__SECURITY_PROTOCOL", "SASL_SSL"),
        ])
        .load()
        .unwrap();
    assert_eq!(c.fingerprint(), other.fingerprint());
}

#[test]
fn error_messages_do_not_show_secret_values() {
    let e = lines(
        "[kafka.client]\n\"ssl.key.pem\" = [\"BEGIN PRIVATE\"]\n",
        &[],
    );
    assert_eq!(
        e,
        vec![
            "p.toml:2: kafka.client.\"ssl.key.pem\" = <redacted>: expected a string (or a number or boolean), found an array"
        ]
    );
}

#[test]
fn equal_configurations_give_equal_fingerprints_however_written() {
    let a = load("[red]\nmax_p = 0.2\nmin_th = 0.6\n[aimd]\nmax_rate = 5000\n").unwrap();
    let b = load("[aimd]\nmax_rate = 5000.0\nenter = 0.70\n\n[red]\nmin_th = 6e-1\nmax_p = 0.20\n")
        .unwrap();
    let c = ConfigLoader::from_text("p.toml", "[aimd]\nmax_rate = 5e3")
        .env([("ECHOFLOW_RED__MAX_P", "0.2")])
        .load()
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint(), c.fingerprint());
    assert_ne!(a.fingerprint(), Config::default().fingerprint());
}

#[test]
fn missing_file_is_one_clear_error() {
    let e = ConfigLoader::from_path("/nonexistent/pipeline.toml")
        .load()
        .unwrap_err();
    assert!(matches!(e, LoadError::Read { .. }));
    let lines = e.lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("cannot read /nonexistent/pipeline.toml: "),
        "{lines:?}"
    );
}

#[test]
fn policies_set_from_the_environment() {
    let c = ConfigLoader::from_text("p.toml", "")
        .env([(
            "ECHOFLOW_AUTOSCALER__BEHAVIOR__SCALE_UP__POLICIES",
            "[{ kind = \"pods\", value = 2, period_ms = 60000 }]",
        )])
        .load()
        .unwrap();
    let p = &c.autoscaler.behavior.scale_up.policies;
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p[0].kind, p[0].value, p[0].period_ms),
        (ScalingPolicyKind::Pods, 2, 60_000)
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests.

/// A TOML value of any type, biased towards the boundaries of the schema's ranges.
fn any_value() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        any::<bool>().prop_map(toml::Value::Boolean),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(1024),
            Just(1025),
            Just(i64::MAX),
            -10i64..2_000_000
        ]
        .prop_map(toml::Value::Integer),
        prop_oneof![
            Just(0.0f64),
            Just(1.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            -2.0f64..2.0
        ]
        .prop_map(toml::Value::Float),
        prop_oneof![
            Just("p2c".to_string()),
            Just("hpa".to_string()),
            Just("max".to_string()),
            Just("127.0.0.1:1".to_string()),
            "[a-z0-9._:-]{0,12}",
        ]
        .prop_map(toml::Value::String),
        proptest::collection::vec(
            (
                prop_oneof![Just("pods"), Just("percent"), Just("x")],
                0i64..3_000_000,
                0i64..3_000_000
            ),
            0..3
        )
        .prop_map(|ps| {
            toml::Value::Array(
                ps.into_iter()
                    .map(|(k, v, p)| {
                        let mut t = toml::Table::new();
                        t.insert("kind".into(), toml::Value::String(k.into()));
                        t.insert("value".into(), toml::Value::Integer(v));
                        t.insert("period_ms".into(), toml::Value::Integer(p));
                        toml::Value::Table(t)
                    })
                    .collect(),
            )
        }),
    ]
}

/// A file setting some schema keys (and sometimes an unknown one) to arbitrary values.
fn assignments() -> impl Strategy<Value = String> {
    proptest::collection::vec((0..schema::KEYS.len() + 1, any_value()), 0..12).prop_map(|sets| {
        let mut out = String::new();
        for (i, v) in sets {
            let path = schema::KEYS.get(i).map_or("red.unknown_key", |k| k.path);
            let (table, key) = path.rsplit_once('.').unwrap_or(("", path));
            if schema::KEYS
                .get(i)
                .is_some_and(|k| k.kind == Kind::StringMap)
            {
                continue;
            }
            out.push_str(&format!("[{table}]\n{key} = {}\n", render_value(&v)));
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary TOML-ish text never panics the loader, and every error is one line naming
    /// the file.
    #[test]
    fn tomlish_text_never_panics(text in "[\\[\\]a-z_.=\"' 0-9\n{},#:+-]{0,300}") {
        if let Err(LoadError::Invalid { errors, .. }) = load(&text) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                let line = e.render(Some("p.toml"));
                prop_assert!(!line.contains('\n'));
                prop_assert!(line.starts_with("p.toml"));
            }
        }
    }

    /// Arbitrary assignments to real keys either load, or fail with errors that each name a
    /// key; what loads round-trips through its printed TOML with the same fingerprint.
    #[test]
    fn assignments_load_or_name_the_key(text in assignments()) {
        match load(&text) {
            Ok(c) => {
                let printed = c.to_redacted_toml().map_err(|e| TestCaseError::fail(e.to_string()))?;
                let again = load(&printed).map_err(|e| TestCaseError::fail(format!("{e}\n{printed}")))?;
                prop_assert_eq!(&again, &c);
                prop_assert_eq!(again.fingerprint(), c.fingerprint());
            }
            Err(LoadError::Invalid { errors, .. }) => {
                for e in errors {
                    prop_assert!(!e.key.is_empty() || e.message.starts_with("TOML syntax"), "{:?}", e);
                    prop_assert!(e.message.contains(e.key.split('[').next().unwrap_or("")), "{:?}", e);
                }
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    /// Setting a key in the environment or in the file gives the same configuration.
    #[test]
    fn environment_equals_file(i in 0..schema::KEYS.len(), v in any_value()) {
        let spec = &schema::KEYS[i];
        prop_assume!(spec.kind != Kind::StringMap && spec.kind != Kind::Policies);
        prop_assume!(!matches!(&v, toml::Value::Float(f) if !f.is_finite()));
        let (table, key) = spec.path.rsplit_once('.').unwrap_or(("", spec.path));
        let from_file = load(&format!("[{table}]\n{key} = {}\n", render_value(&v)));
        let var = format!("ECHOFLOW_{}", spec.path.replace('.', "__").to_uppercase());
        let raw = match &v {
            toml::Value::String(s) => s.clone(),
            other => render_value(other),
        };
        let from_env = ConfigLoader::from_text("p.toml", "").env([(var, raw)]).load();
        match (from_file, from_env) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.fingerprint(), b.fingerprint()),
            (Err(_), Err(_)) => {}
            (a, b) => {
                // The only allowed differences: a string key given a non-string in the file is a
                // type error, while the same text in the environment is a verbatim string; and a
                // string in the file (`"5"`) is a type error for a non-string key, while in the
                // environment its text is parsed as TOML (`5`).
                prop_assert!((spec.kind == Kind::String) != v.is_str(), "{:?} vs {:?}", a.err(), b.err());
            }
        }
    }

    /// Values inside a float key's range always load (with the other keys at their defaults,
    /// unless a rule between keys says otherwise) and keep their value.
    #[test]
    fn in_range_floats_load(i in 0..schema::KEYS.len(), t in 0.0f64..=1.0) {
        let spec = &schema::KEYS[i];
        let Rule::Float { lo, lo_open, hi, hi_open } = spec.rule else { return Ok(()); };
        let mut x = lo + t * (hi - lo);
        if (lo_open && x <= lo) || (hi_open && x >= hi) { x = (lo + hi) / 2.0; }
        let (table, key) = spec.path.rsplit_once('.').unwrap_or(("", spec.path));
        let text = format!("[{table}]\n{key} = {}\n", render_value(&toml::Value::Float(x)));
        match load(&text) {
            Ok(c) => {
                let v = toml::Value::try_from(&c).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut got = &v;
                for level in spec.path.split('.') { got = &got[level]; }
                prop_assert_eq!(got.as_float(), Some(x));
            }
            Err(e) => {
                // Only a rule between keys may refuse an in-range value.
                for line in e.lines() {
                    prop_assert!(line.contains(" must "), "{}", line);
                    prop_assert!(!line.contains("must be in"), "{}", line);
                }
            }
        }
    }
}

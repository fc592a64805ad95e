//! Property tests: the decoders never panic, and every input ends as a value or a dead letter
//! whose error names a field.

use echoflow_connectors::dead_letter::{DeadLetter, Origin};
use echoflow_connectors::schema::{Request, RequestLimits, decode_telemetry};
use proptest::prelude::*;

fn origin() -> Origin {
    Origin {
        source: "echoflow.requests".into(),
        partition: 0,
        offset: 1,
    }
}

/// JSON-ish objects built from the real field names with arbitrary values, so the generator
/// reaches the per-field checks instead of failing at the parser.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|x| x.to_string()),
        any::<f64>().prop_map(|x| format!("{x:?}")),
        "[a-z]{0,5}".prop_map(|s| format!("\"{s}\"")),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("[[1,2],[3]]".to_string()),
        Just("[[1e308,2],[3,4]]".to_string()),
        Just("\"critical\"".to_string()),
        prop::collection::vec(-1e6f64..1e6, 0..4).prop_map(|v| format!("{v:?}")),
    ]
}

fn object() -> impl Strategy<Value = Vec<u8>> {
    let names = prop::sample::select(vec![
        "id",
        "ts",
        "tenant",
        "feature",
        "priority",
        "session",
        "input",
        "membrane",
        "cpu",
        "memory",
        "queue_depth",
        "queue_capacity",
        "in_flight",
        "latency_ms",
        "requests",
        "errors",
        "healthy",
        "capacity_weight",
    ]);
    prop::collection::vec((names, field_value()), 0..20).prop_map(|fields| {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(",")).into_bytes()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let limits = RequestLimits { max_steps: 4, input_dim: None };
        for result in [Request::decode(&bytes, &limits).map(|_| ()), decode_telemetry(&bytes).map(|_| ())] {
            if let Err(e) = result {
                prop_assert!(!e.field.is_empty());
                let d = DeadLetter::new(&origin(), e.to_string(), &bytes);
                prop_assert_eq!(d.raw_bytes().unwrap(), bytes.clone());
            }
        }
    }

    #[test]
    fn field_soup_is_a_value_or_names_a_field(bytes in object()) {
        let limits = RequestLimits { max_steps: 4, input_dim: Some(2) };
        match Request::decode(&bytes, &limits) {
            Ok(r) => {
                prop_assert!(!r.id.is_empty() && r.id.len() <= 256);
                prop_assert!(r.steps() >= 1 && r.steps() <= 4 && r.dim == 2);
                prop_assert!(r.input.iter().all(|x| x.is_finite()));
            }
            Err(e) => prop_assert!(e.to_string().starts_with("field '") || e.field == "$"),
        }
        if let Ok(t) = decode_telemetry(&bytes) {
            prop_assert!((0.0..=1.0).contains(&t.cpu) && (0.0..=1.0).contains(&t.memory));
            prop_assert!(t.queue_capacity >= 1 && t.errors <= t.requests);
            prop_assert!(t.latency_ms.is_finite() && t.latency_ms >= 0.0);
        }
    }
}

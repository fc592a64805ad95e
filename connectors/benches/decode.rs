//! Criterion micro-benchmark of the request decoder (`Request::decode`, SPEC §2), issue #7:
//! nanoseconds per record for the request shapes the dataflow sees. Figures in BENCHMARKS.md,
//! "The dataflow end to end".
//!
//! - `decode/request/passthrough`: the record of `benches/passthrough.rs` (3 steps × 2 values,
//!   a session);
//! - `decode/request/scenario8`: a `pipeline::scenario` record (8 steps × 1 value, no session);
//! - `decode/request/steps64`: 64 steps × 1 value (the decoder's per-number cost);
//! - `decode/request/invalid_ts`: a record rejected at `ts` (the dead-letter path);
//! - `decode/floor/*`: the same valid records into a plain `#[derive(Deserialize)]` struct
//!   (borrowed strings, `Vec<Vec<f64>>`, no checks): what `serde_json` itself costs.
//!
//! Run: `cargo bench -p echoflow-connectors --bench decode -- --warm-up-time 1 --measurement-time 3`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echoflow_connectors::schema::{Request, RequestLimits};

fn records() -> Vec<(&'static str, String)> {
    let steps = |n: usize| {
        let rows: Vec<String> = (0..n)
            .map(|s| format!("[{}]", ((s as f64) * 0.3).sin() * 0.5 + 0.5))
            .collect();
        format!("[{}]", rows.join(","))
    };
    vec![
        (
            "passthrough",
            r#"{"id":"req-0000012345","ts":1700000012345,"tenant":"tenant-5","feature":"chat","priority":"medium","session":"s-17","input":[[0.125,0.5],[0.25,0.75],[0.5,1.0]]}"#
                .to_string(),
        ),
        (
            "scenario8",
            format!(
                r#"{{"feature":"chat","id":"r-000042","input":{},"priority":"high","tenant":"tenant-2","ts":1700000000420}}"#,
                steps(8)
            ),
        ),
        (
            "steps64",
            format!(
                r#"{{"id":"r-000043","ts":1700000000430,"tenant":"tenant-3","feature":"embed","priority":"low","input":{}}}"#,
                steps(64)
            ),
        ),
        (
            "invalid_ts",
            r#"{"id":"r-000044","ts":-5,"tenant":"tenant-0","feature":"chat","priority":"low","input":[[0.5]]}"#
                .to_string(),
        ),
    ]
}

fn decode(c: &mut Criterion) {
    let limits = RequestLimits::default();
    let mut g = c.benchmark_group("decode/request");
    g.throughput(Throughput::Elements(1));
    for (name, line) in records() {
        let bytes = line.into_bytes();
        g.bench_function(name, |b| {
            b.iter(|| Request::decode(std::hint::black_box(&bytes), &limits))
        });
    }
    g.finish();
    // The parser's floor: the same bytes into plain serde types, no checks, no error paths.
    let mut g = c.benchmark_group("decode/floor");
    g.throughput(Throughput::Elements(1));
    for (name, line) in records().into_iter().filter(|(n, _)| *n != "invalid_ts") {
        g.bench_function(name, |b| {
            b.iter(|| serde_json::from_str::<Floor<'_>>(std::hint::black_box(&line)))
        });
    }
    g.finish();
}

/// The request's fields as plain serde types (strings borrowed where possible), for the floor.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Floor<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    ts: u64,
    #[serde(borrow)]
    tenant: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    feature: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    priority: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    session: Option<std::borrow::Cow<'a, str>>,
    input: Vec<Vec<f64>>,
}

criterion_group!(benches, decode);
criterion_main!(benches);

//! `echoflow loadgen`: a [`Scenario`]'s requests and telemetry produced to Kafka in real time.
//!
//! The scenario starts now: every record's `ts` is the wall-clock time (ms) at which it is due,
//! and it is produced when that time comes (requests keyed by id, telemetry keyed by membrane,
//! librdkafka's partitioner on the key, so each partition is in ts order). With `realtime =
//! false` everything is produced as fast as the broker takes it (same records, same `ts`).

use crate::scenario::Scenario;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::producer::{ProduceError, ToolProducer};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to produce where.
#[derive(Clone)]
pub struct LoadgenOptions {
    pub scenario: Scenario,
    pub client: KafkaClient,
    pub requests_topic: String,
    pub telemetry_topic: String,
    /// Pace records to their `ts`; otherwise produce as fast as possible.
    pub realtime: bool,
    pub shutdown: Option<Arc<AtomicBool>>,
}

/// What was produced.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadgenStats {
    pub requests: u64,
    pub telemetry: u64,
    /// Event time of the first record (ms since the epoch).
    pub start_ms: u64,
    pub seconds: f64,
}

/// The wall clock in ms since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Produces the scenario, starting now; returns once every record is acknowledged.
pub fn run(options: LoadgenOptions) -> Result<LoadgenStats, ProduceError> {
    let producer = ToolProducer::new(&options.client)?;
    let start_ms = now_ms();
    let scenario = Scenario {
        start_ms,
        ..options.scenario.clone()
    };
    let started = Instant::now();
    let mut requests = scenario.requests_keyed().peekable();
    let mut telemetry = scenario.telemetry_keyed().peekable();
    let mut stats = LoadgenStats {
        start_ms,
        ..LoadgenStats::default()
    };
    let stop = || {
        options
            .shutdown
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    };
    loop {
        let next_req = requests.peek().map(|r| r.0);
        let next_tel = telemetry.peek().map(|r| r.0);
        let (from_requests, ts) = match (next_req, next_tel) {
            (None, None) => break,
            // Telemetry first at equal times (SPEC §4's order within a timestamp).
            (Some(a), Some(b)) => (b > a, a.min(b)),
            (Some(a), None) => (true, a),
            (None, Some(b)) => (false, b),
        };
        if options.realtime {
            let due = Duration::from_millis(ts.saturating_sub(start_ms));
            let elapsed = started.elapsed();
            if due > elapsed {
                std::thread::sleep((due - elapsed).min(Duration::from_millis(5)));
                if stop() {
                    break;
                }
                continue;
            }
        }
        if stop() {
            break;
        }
        let (topic, item) = if from_requests {
            stats.requests += 1;
            (&options.requests_topic, requests.next())
        } else {
            stats.telemetry += 1;
            (&options.telemetry_topic, telemetry.next())
        };
        if let Some((_, key, line)) = item {
            producer.send(topic, None, key.as_bytes(), line.as_bytes())?;
        }
    }
    producer.flush(Duration::from_secs(120))?;
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

//! `echoflow run`: the dataflow against Kafka (SPEC §4, §5).
//!
//! Each worker consumes its share of the requests and telemetry topics (partition `p` → worker
//! `p mod peers`), runs the same dataflow as `replay` ([`crate::dataflow`]) and produces the five
//! outputs to their topics. Offsets are committed only once every output caused by the records
//! before them has been acknowledged by the broker (at-least-once, nothing lost: see
//! [`echoflow_connectors::kafka`]). With `aimd.process_memory` the process's own memory pressure
//! joins the AIMD input (a wall-clock input, so `run` only).
//!
//! Metrics (SPEC §7, [`crate::metrics`]): the sources are labelled `requests` and `telemetry`
//! for `echoflow_watermark_lag_seconds`, report `echoflow_consumer_lag` from librdkafka's
//! statistics, and only the requests source stamps arrivals, so
//! `echoflow_end_to_end_latency_seconds` observes exactly the request outcomes.
//!
//! Shutdown (SIGTERM, or the end of every partition in a bounded run): the sources stop
//! consuming and release their capabilities, the dataflow drains, the sink waits for every
//! acknowledgement, the final offsets are committed synchronously, and `run` returns.

use crate::dataflow::outputs::OutputTopics;
use crate::dataflow::{self, Params};
pub use crate::layout::TimelyLayout;
use crate::metrics::Readiness;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::sink::{SinkError, kafka_sink};
use echoflow_connectors::kafka::source::{SourceConfig, SourceError, kafka_source};
use echoflow_connectors::schema::{Request, decode_telemetry};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;

/// Where and how to run.
#[derive(Clone)]
pub struct RunOptions {
    pub params: Params,
    pub client: KafkaClient,
    pub group_id: String,
    pub requests_topic: String,
    pub telemetry_topic: String,
    pub outputs: OutputTopics,
    /// Timely's configuration: threads of this process, or a cluster of processes.
    pub timely: TimelyLayout,
    pub allowed_lateness_ms: u64,
    pub idle_timeout: Duration,
    /// Stop once every partition has been read to the end it had at start-up.
    pub stop_at_eof: bool,
    pub shutdown: Option<Arc<AtomicBool>>,
    /// Told when each worker has built its dataflow and taken a step (`/ready`).
    pub readiness: Option<Arc<Readiness>>,
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("timely: {0}")]
    Timely(String),
}

/// Runs until shutdown (or the end of the input in a bounded run).
pub fn run(options: RunOptions) -> Result<(), RunError> {
    let config = options.timely.config();
    let guards = timely::execute(config, move |worker| run_worker(worker, &options))
        .map_err(RunError::Timely)?;
    for r in guards.join() {
        r.map_err(RunError::Timely)??;
    }
    Ok(())
}

fn run_worker(worker: &mut timely::worker::Worker, o: &RunOptions) -> Result<(), RunError> {
    let acked = ProbeHandle::new();
    let limits = o.params.limits;
    let source_config = |topic: &str, stream: &str| {
        let mut c = SourceConfig::new(o.client.clone(), topic, &o.group_id);
        c.stream = stream.to_string();
        // End-to-end latency is measured per request (SPEC §7): only requests are stamped.
        c.stamp_arrivals = stream == "requests";
        c.stop_at_eof = o.stop_at_eof;
        c.idle_timeout = o.idle_timeout;
        c.allowed_lateness_ms = o.allowed_lateness_ms;
        c.shutdown = o.shutdown.clone();
        c
    };
    let built = worker.dataflow::<u64, _, _>(|scope| {
        let (requests, req_handle) = kafka_source(
            scope,
            source_config(&o.requests_topic, "requests"),
            acked.clone(),
            move |raw: &[u8]| Request::decode(raw, &limits).map(|r| (r.ts, r)),
        )?;
        let (telemetry, tel_handle) = kafka_source(
            scope,
            source_config(&o.telemetry_topic, "telemetry"),
            acked.clone(),
            |raw: &[u8]| decode_telemetry(raw).map(|t| (t.ts, t)),
        )?;
        let records = dataflow::build(requests, telemetry, &o.params).records(&o.outputs);
        let t = &o.outputs;
        let topics = [
            t.admitted.as_str(),
            t.rejections.as_str(),
            t.decisions.as_str(),
            t.control.as_str(),
            t.dead_letter.as_str(),
        ];
        let (acks, health) = kafka_sink(records, &o.client, &topics)?;
        acks.probe_with(&acked);
        Ok::<_, RunError>(([req_handle, tel_handle], health))
    });
    let (handles, health) = built?;
    worker.step();
    if let Some(r) = &o.readiness {
        r.worker_ready();
    }
    while !acked.done() {
        if let Some(e) = health.error() {
            return Err(e.into());
        }
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
    for h in &handles {
        h.final_commit();
    }
    Ok(())
}

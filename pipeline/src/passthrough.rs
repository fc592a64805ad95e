//! The Kafka passthrough: requests from the source topic to the sink topic, unchanged.
//!
//! Not a product feature: it exercises the connectors end to end (tests, and the benchmark that
//! compares it with a raw rdkafka loop). Each record is decoded and validated as a request;
//! valid, on-time records are produced to the output topic with their original key and bytes,
//! late ones become `late` rejections, and invalid ones dead letters. Offsets are committed only
//! after the broker acknowledged every output of the records before them.

use echoflow_connectors::dead_letter::DeadLetter;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::sink::{OutRecord, kafka_sink};
use echoflow_connectors::kafka::source::{Ingested, SourceConfig, kafka_source};
use echoflow_connectors::schema::{Request, RequestLimits};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::vec::Map;

/// What to move where.
#[derive(Debug, Clone)]
pub struct PassthroughOptions {
    pub client: KafkaClient,
    pub group_id: String,
    pub input: String,
    pub output: String,
    pub rejections: String,
    pub dead_letter: String,
    pub workers: usize,
    /// Stop once every partition has been read to its end.
    pub stop_at_eof: bool,
    pub idle_timeout: Duration,
    pub allowed_lateness_ms: u64,
    pub shutdown: Option<Arc<AtomicBool>>,
}

/// Counts of one run, summed over workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassthroughStats {
    pub forwarded: u64,
    pub late: u64,
    pub dead_letters: u64,
}

/// Errors of a passthrough run.
#[derive(Debug, thiserror::Error)]
pub enum PassthroughError {
    #[error(transparent)]
    Source(#[from] echoflow_connectors::kafka::source::SourceError),
    #[error(transparent)]
    Sink(#[from] echoflow_connectors::kafka::sink::SinkError),
    #[error("timely: {0}")]
    Timely(String),
}

/// Runs the passthrough with `options.workers` worker threads until the input ends (bounded) or
/// the shutdown flag is set.
pub fn run(options: PassthroughOptions) -> Result<PassthroughStats, PassthroughError> {
    let workers = options.workers.max(1);
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        run_worker(worker, &options)
    })
    .map_err(PassthroughError::Timely)?;
    let mut total = PassthroughStats::default();
    for r in guards.join() {
        let s = r.map_err(PassthroughError::Timely)??;
        total.forwarded += s.forwarded;
        total.late += s.late;
        total.dead_letters += s.dead_letters;
    }
    Ok(total)
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    o: &PassthroughOptions,
) -> Result<PassthroughStats, PassthroughError> {
    let acked = ProbeHandle::new();
    let counts = std::rc::Rc::new(std::cell::Cell::new(PassthroughStats::default()));
    let built = worker.dataflow::<u64, _, _>(|scope| {
        let mut cfg = SourceConfig::new(o.client.clone(), &o.input, &o.group_id);
        cfg.stop_at_eof = o.stop_at_eof;
        cfg.idle_timeout = o.idle_timeout;
        cfg.allowed_lateness_ms = o.allowed_lateness_ms;
        cfg.shutdown = o.shutdown.clone();
        let limits = RequestLimits::default();
        let (stream, handle) = kafka_source(scope, cfg, acked.clone(), move |raw: &[u8]| {
            Request::decode(raw, &limits).map(|r| (r.ts, (r.id, raw.to_vec())))
        })?;
        let (output, rejections, dead) = (
            Arc::<str>::from(o.output.as_str()),
            Arc::<str>::from(o.rejections.as_str()),
            Arc::<str>::from(o.dead_letter.as_str()),
        );
        let tally = std::rc::Rc::clone(&counts);
        let out = stream.map(move |item| {
            let mut s = tally.get();
            let rec = match item {
                Ingested::OnTime(r) => {
                    s.forwarded += 1;
                    OutRecord {
                        topic: Arc::clone(&output),
                        key: r.key,
                        payload: r.value.1,
                    }
                }
                Ingested::Late { record, .. } => {
                    s.late += 1;
                    let body = serde_json::json!({
                        "id": record.value.0, "ts": record.ts, "reason": "late",
                    });
                    OutRecord {
                        topic: Arc::clone(&rejections),
                        key: record.key,
                        payload: body.to_string().into_bytes(),
                    }
                }
                Ingested::Invalid(d) => {
                    s.dead_letters += 1;
                    dead_letter_record(&dead, &d)
                }
            };
            tally.set(s);
            rec
        });
        let topics = [
            o.output.as_str(),
            o.rejections.as_str(),
            o.dead_letter.as_str(),
        ];
        let (acks, health) = kafka_sink(out, &o.client, &topics)?;
        acks.probe_with(&acked);
        Ok::<_, PassthroughError>((handle, health))
    });
    let (handle, health) = built?;
    while !acked.done() {
        if let Some(e) = health.error() {
            return Err(e.into());
        }
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
    handle.final_commit();
    Ok(counts.get())
}

/// A dead letter as a record for the dead-letter topic, keyed by its source.
pub fn dead_letter_record(topic: &Arc<str>, d: &DeadLetter) -> OutRecord {
    OutRecord {
        topic: Arc::clone(topic),
        key: Some(format!("{}/{}/{}", d.source, d.partition, d.offset).into_bytes()),
        payload: d.to_json().into_bytes(),
    }
}

//! The Kafka source operator.
//!
//! Per activation it polls up to `max_batch` records without blocking, decodes each with the
//! caller's decoder, classifies it ([`Ingested`]), sends it at its event time, then moves the
//! worker's capability to the watermark and commits what the sink has acknowledged. It asks to
//! be scheduled again at once when the poll stopped at `max_batch` (more is waiting), else after
//! 1 ms, so a backlog is read without a pause per batch and an idle consumer does not spin.
//!
//! * Assignment: partition `p` → worker `p mod peers`, resumed from the group's committed offset
//!   (the earliest offset when there is none). The source reads the committed offsets itself,
//!   retrying transient errors ([`super::retry`]), and assigns them explicitly: librdkafka's own
//!   fetch for `Offset::Stored` does not retry a request-level NOT_COORDINATOR and then never
//!   fetches the partition (confluentinc/librdkafka#5586). A worker that owns no partition
//!   releases its capability at once.
//! * Idleness: a partition that has been caught up (at its end: no record left to read) for
//!   `idle_timeout` of wall-clock time stops holding the watermark; its next record makes it
//!   active again (and is late if behind the capability). A partition with unread records is
//!   never idle, however slowly it is fetched, so a slow fetch cannot make records late. When
//!   all of a worker's partitions are idle (or empty) its capability follows the wall clock less
//!   the allowed lateness ([`crate::watermark::Watermarks::watermark_or_idle`]), so it never
//!   holds back the workers that have data.
//! * Bounded mode (`stop_at_eof`): each partition is read up to its high watermark at start-up
//!   ([`super::bounds`]); once all are there the capability is released. Used by tests, benches
//!   and `replay`-like runs against Kafka.
//! * Shutdown: when the shared flag is set the source stops consuming and releases its
//!   capability, so the dataflow drains; the caller then calls [`SourceHandle::final_commit`].
//!
//! Observability (SPEC §7, through the `metrics` facade: free when no recorder is installed):
//!
//! * `echoflow_watermark_lag_seconds{stream, worker}`: the wall clock minus the event time the
//!   worker's capability has been released to, set on every activation that holds one. It
//!   measures how far behind real time the dataflow's event-time progress is (a replay of old
//!   data shows its age; a live stream its delay plus `allowed_lateness_ms`).
//! * `echoflow_consumer_lag{topic, partition}`: from librdkafka's statistics, which the consumer's
//!   own non-blocking `poll` delivers every `stats_interval` ([`super::lag`]); nothing waits on
//!   the broker.
//! * Arrivals: with `stamp_arrivals` each record carries the wall clock at which this source
//!   received it (read once per activation: the records of one poll batch share it), for the
//!   sink's end-to-end latency ([`crate::ingest::ReceivedAt`]). `run` stamps requests only.

use super::KafkaClient;
use super::bounds::Bounds;
use super::lag::consumer_lags;
use super::ledger::OffsetLedger;
use super::retry;
use crate::dead_letter::Origin;
pub use crate::ingest::{IngestStream, Ingested, Record};
use crate::ingest::{ReceivedAt, classify, give_by_time};
use crate::schema::FieldError;
use crate::watermark::Watermarks;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{ProbeHandle, Scope};

/// Settings of one Kafka source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub client: KafkaClient,
    pub topic: String,
    pub group_id: String,
    pub allowed_lateness_ms: u64,
    /// Wall-clock silence after which a partition stops holding the watermark.
    pub idle_timeout: Duration,
    /// Stop once every owned partition has reached its end (bounded runs).
    pub stop_at_eof: bool,
    /// Most records consumed per activation.
    pub max_batch: usize,
    /// Least wall-clock time between two asynchronous offset commits.
    pub commit_interval: Duration,
    /// Set to stop consuming (SIGTERM).
    pub shutdown: Option<Arc<AtomicBool>>,
    /// The `stream` label of this source's metrics (`requests`, `telemetry`; default the topic).
    pub stream: String,
    /// Stamp each record with the wall clock at which it was received (end-to-end latency).
    pub stamp_arrivals: bool,
    /// How often librdkafka reports statistics, the basis of `echoflow_consumer_lag` (`None`:
    /// never). A `statistics.interval.ms` in the client settings overrides it.
    pub stats_interval: Option<Duration>,
}

impl SourceConfig {
    pub fn new(client: KafkaClient, topic: impl Into<String>, group_id: impl Into<String>) -> Self {
        let topic = topic.into();
        SourceConfig {
            client,
            topic: topic.clone(),
            group_id: group_id.into(),
            allowed_lateness_ms: 0,
            idle_timeout: Duration::from_millis(5000),
            stop_at_eof: false,
            max_batch: 4096,
            commit_interval: Duration::from_millis(200),
            shutdown: None,
            stream: topic,
            stamp_arrivals: false,
            stats_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// Errors that stop a source from starting.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot create a Kafka consumer for {brokers}: {source}")]
    Consumer { brokers: String, source: KafkaError },
    #[error("cannot read metadata of topic {topic}: {detail}")]
    Metadata { topic: String, detail: String },
    #[error("cannot assign partitions of {topic}: {source}")]
    Assign { topic: String, source: KafkaError },
    /// The group's committed offsets: `partitions` names the partition whose answer carried
    /// the error, or every partition asked for when the request itself failed.
    #[error(
        "cannot read group {group}'s committed offsets of {topic} partition(s) {partitions}: {source}"
    )]
    Committed {
        group: String,
        topic: String,
        partitions: String,
        source: Box<KafkaError>,
    },
    #[error("cannot read the watermarks of {topic} partition {partition}: {source}")]
    Watermarks {
        topic: String,
        partition: i32,
        source: KafkaError,
    },
}

/// The consumer's context. librdkafka also reports partition EOF (which the source asks for, to
/// know when a partition is caught up) through the global error callback; that is not an error.
/// Its statistics become the consumer-lag gauges of the partitions this source owns.
struct SourceContext {
    topic: String,
    /// Set once the partitions are assigned.
    owned: OnceLock<Vec<i32>>,
}

impl ClientContext for SourceContext {
    fn stats_raw(&self, statistics: &[u8]) {
        let Some(owned) = self.owned.get() else {
            return;
        };
        match consumer_lags(statistics, &self.topic, owned) {
            Ok(lags) => {
                for (p, lag) in lags {
                    metrics::gauge!("echoflow_consumer_lag", "topic" => self.topic.clone(), "partition" => p.to_string())
                        .set(lag as f64);
                }
            }
            Err(e) => {
                tracing::debug!(topic = %self.topic, error = %e, "unreadable librdkafka statistics")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(
            error,
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
        );
        if !eof {
            tracing::error!(error = %error, reason, "librdkafka error");
        }
    }
}

impl ConsumerContext for SourceContext {}

struct Shared {
    consumer: BaseConsumer<SourceContext>,
    ledger: OffsetLedger,
    topic: String,
    acked: ProbeHandle<u64>,
    committed: u64,
}

impl Shared {
    /// Commits what the acknowledged frontier allows. `sync` waits for the broker.
    fn commit(&mut self, sync: bool) {
        let frontier = self.acked.with_frontier(|f| f.first().copied());
        self.ledger.advance(frontier);
        let ready = self.ledger.take_ready();
        if ready.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &next) in &ready {
            if let Err(e) = tpl.add_partition_offset(&self.topic, p, Offset::Offset(next)) {
                tracing::error!(topic = %self.topic, partition = p, error = %e, "cannot list offset for commit");
            }
        }
        let mode = if sync {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        match self.consumer.commit(&tpl, mode) {
            Ok(()) => self.committed += ready.len() as u64,
            Err(e) => {
                tracing::warn!(topic = %self.topic, error = %e, "offset commit failed; will retry with the next")
            }
        }
        // The commit result arrives on the consumer queue and is served by the source's own
        // polling: never poll here, a message taken here would be lost.
    }
}

/// The driver's handle on a source: the final commit after the dataflow has drained.
#[derive(Clone)]
pub struct SourceHandle {
    shared: Rc<RefCell<Option<Shared>>>,
}

impl SourceHandle {
    /// Commits, synchronously, every offset the sink's acknowledgements allow. Call after the
    /// dataflow has finished (the acknowledgement probe is then empty: everything is durable).
    pub fn final_commit(&self) {
        if let Some(s) = self.shared.borrow_mut().as_mut() {
            s.commit(true);
        }
    }

    /// Records consumed whose outputs are not all acknowledged yet.
    pub fn in_flight(&self) -> usize {
        self.shared
            .borrow()
            .as_ref()
            .map_or(0, |s| s.ledger.in_flight())
    }
}

/// Builds the source for this worker. `decode` turns a payload into `(ts, value)` or an error
/// naming the field; `acked` is the probe on the sinks' acknowledgement streams.
pub fn kafka_source<'scope, T, D>(
    scope: Scope<'scope, u64>,
    config: SourceConfig,
    acked: ProbeHandle<u64>,
    decode: D,
) -> Result<(IngestStream<'scope, T>, SourceHandle), SourceError>
where
    T: Clone + 'static,
    D: Fn(&[u8]) -> Result<(u64, T), FieldError> + 'static,
{
    let index = scope.index();
    let peers = scope.peers();
    let mut cc = config.client.config();
    cc.set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // EOF events tell when a partition is caught up: the basis of idleness and of bounded runs.
        .set("enable.partition.eof", "true");
    if let Some(every) = config.stats_interval {
        cc.set(
            "statistics.interval.ms",
            every.as_millis().max(1).to_string(),
        );
    }
    for (k, v) in &config.client.settings {
        cc.set(k, v);
    }
    let context = SourceContext {
        topic: config.topic.clone(),
        owned: OnceLock::new(),
    };
    let consumer: BaseConsumer<SourceContext> =
        cc.create_with_context(context)
            .map_err(|source| SourceError::Consumer {
                brokers: config.client.brokers.clone(),
                source,
            })?;
    let metadata = retry::topic_metadata(consumer.client(), &config.topic, Duration::from_secs(30))
        .map_err(|e| SourceError::Metadata {
            topic: config.topic.clone(),
            detail: e.to_string(),
        })?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .find(|t| t.name() == config.topic)
        .filter(|t| t.error().is_none())
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .ok_or_else(|| SourceError::Metadata {
            topic: config.topic.clone(),
            detail: "topic does not exist (create it first: deploy/local/kafka.sh topics)".into(),
        })?;
    let mine: Vec<i32> = partitions
        .into_iter()
        .filter(|p| (*p as usize) % peers == index)
        .collect();
    // Where each partition resumes: the group's committed offset, read here (with retries) and
    // assigned explicitly, never as `Offset::Stored`. librdkafka's own fetch of the committed
    // offsets at assignment does not retry a request-level NOT_COORDINATOR and then never starts
    // fetching the partition (confluentinc/librdkafka#5586; seen here on a fresh broker while
    // `__consumer_offsets` was being created: a bounded run waited forever).
    let committed = committed_offsets(&consumer, &config.group_id, &config.topic, &mine)?;
    let mut tpl = TopicPartitionList::new();
    for &p in &mine {
        let start = committed
            .get(&p)
            .map_or(Offset::Beginning, |&o| Offset::Offset(o));
        tpl.add_partition_offset(&config.topic, p, start)
            .map_err(|source| SourceError::Assign {
                topic: config.topic.clone(),
                source,
            })?;
    }
    consumer
        .assign(&tpl)
        .map_err(|source| SourceError::Assign {
            topic: config.topic.clone(),
            source,
        })?;
    // Set once, just after creation: it cannot already hold a value.
    let _ = consumer.context().owned.set(mine.clone());
    let mut bounds = if config.stop_at_eof {
        Some(read_bounds(&consumer, &config.topic, &committed, &mine)?)
    } else {
        None
    };

    let shared = Rc::new(RefCell::new(Some(Shared {
        consumer,
        ledger: OffsetLedger::new(),
        topic: config.topic.clone(),
        acked,
        committed: 0,
    })));
    let handle = SourceHandle {
        shared: Rc::clone(&shared),
    };

    let name = format!("KafkaSource({})", config.topic);
    let stream = source(scope, &name, move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = if mine.is_empty() {
            None
        } else {
            Some(capability)
        };
        let mut marks = Watermarks::new(config.allowed_lateness_ms);
        // Per partition: since when it has been caught up (at its end), if it is.
        let mut caught_up: BTreeMap<i32, Option<Instant>> = BTreeMap::new();
        for &p in &mine {
            marks.add_partition(p);
            caught_up.insert(p, None);
        }
        let mut activations: u64 = 0;
        let mut consumed: u64 = 0;
        let mut last_commit = Instant::now();
        let mut batch: Vec<(u64, Ingested<T>)> = Vec::new();
        let watermark_lag = metrics::gauge!(
            "echoflow_watermark_lag_seconds",
            "stream" => config.stream.clone(),
            "worker" => index.to_string()
        );

        move |output| {
            let mut guard = shared.borrow_mut();
            let Some(state) = guard.as_mut() else { return };
            let stopping = config
                .shutdown
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed));

            // Whether this activation's poll stopped at `max_batch` (more is likely waiting).
            let mut full = false;
            if let (Some(c), false) = (cap.as_ref(), stopping) {
                let now_time = *c.time();
                let now = Instant::now();
                let received = if config.stamp_arrivals {
                    ReceivedAt::now()
                } else {
                    ReceivedAt::NONE
                };
                full = true;
                for _ in 0..config.max_batch {
                    let Some(polled) = state.consumer.poll(Duration::ZERO) else {
                        full = false;
                        break;
                    };
                    let msg = match polled {
                        Ok(m) => m,
                        Err(KafkaError::PartitionEOF(p)) => {
                            caught_up.insert(p, Some(now));
                            if let Some(b) = bounds.as_mut()
                                && b.pending().any(|q| q == p)
                            {
                                note_position(&state.consumer, &config.topic, p, b);
                            }
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!(topic = %config.topic, error = %e, "consumer error");
                            continue;
                        }
                    };
                    let p = msg.partition();
                    let origin = Origin {
                        source: config.topic.clone(),
                        partition: p,
                        offset: msg.offset(),
                    };
                    caught_up.insert(p, None);
                    if let Some(b) = bounds.as_mut() {
                        b.consumed(p, msg.offset());
                    }
                    consumed += 1;
                    let raw = msg.payload().unwrap_or(&[]);
                    let key = msg.key().map(<[u8]>::to_vec);
                    let (time, mut item) =
                        classify(decode(raw), origin, key, raw, &mut marks, p, now_time);
                    item.set_received(received);
                    state.ledger.consumed(p, msg.offset(), time);
                    batch.push((time, item));
                }
                give_by_time(&mut batch, c, output);
                for (&p, since) in &caught_up {
                    if since.is_some_and(|t| now.duration_since(t) >= config.idle_timeout) {
                        marks.set_idle(p, true);
                    }
                }
            }

            activations += 1;
            let finished = stopping || bounds.as_ref().is_some_and(Bounds::done);
            if finished && cap.is_some() {
                tracing::debug!(topic = %config.topic, worker = index, consumed, activations, "source finished");
                cap = None;
            } else if let Some(c) = cap.as_mut() {
                let wall = wall_ms();
                if let Some(w) =
                    marks.watermark_or_idle(wall.saturating_sub(config.allowed_lateness_ms))
                    && w > *c.time()
                {
                    c.downgrade(&w);
                }
                watermark_lag.set((wall as f64 - *c.time() as f64) / 1e3);
            }

            if last_commit.elapsed() >= config.commit_interval {
                state.commit(false);
                last_commit = Instant::now();
            }
            // Keep polling while consuming (at once after a full batch, else after 1 ms);
            // afterwards keep committing until all is durable.
            if cap.is_some() && full {
                activator.activate();
            } else if cap.is_some() {
                activator.activate_after(Duration::from_millis(1));
            } else if state.ledger.in_flight() > 0 {
                activator.activate_after(config.commit_interval);
            }
        }
    });
    Ok((stream, handle))
}

/// The group's committed offset of each partition in `mine` that has one (retried through the
/// protocol's transient errors, [`retry::until`]).
fn committed_offsets(
    consumer: &BaseConsumer<SourceContext>,
    group: &str,
    topic: &str,
    mine: &[i32],
) -> Result<BTreeMap<i32, i64>, SourceError> {
    if mine.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut query = TopicPartitionList::new();
    for &p in mine {
        query.add_partition(topic, p);
    }
    // The partition whose answer carried the error of the last attempt, if it was one.
    let mut failed = None;
    retry::until(Duration::from_secs(30), |left| {
        failed = None;
        let list = consumer.committed_offsets(query.clone(), left)?;
        let mut found = BTreeMap::new();
        for e in list.elements_for_topic(topic) {
            e.error().inspect_err(|_| failed = Some(e.partition()))?;
            if let Offset::Offset(o) = e.offset() {
                found.insert(e.partition(), o);
            }
        }
        Ok(found)
    })
    .map_err(|source| SourceError::Committed {
        group: group.to_string(),
        topic: topic.to_string(),
        partitions: failed.map_or_else(|| partition_list(mine), |p| p.to_string()),
        source: Box::new(source),
    })
}

/// `0, 1, 2` for the error messages.
fn partition_list(partitions: &[i32]) -> String {
    partitions
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a bounded read of `mine` starts (the group's committed offset, else the low watermark)
/// and ends (the high watermark now).
fn read_bounds(
    consumer: &BaseConsumer<SourceContext>,
    topic: &str,
    committed: &BTreeMap<i32, i64>,
    mine: &[i32],
) -> Result<Bounds, SourceError> {
    let mut parts = Vec::with_capacity(mine.len());
    for &p in mine {
        let (low, high) = retry::watermarks(consumer.client(), topic, p, Duration::from_secs(30))
            .map_err(|source| SourceError::Watermarks {
            topic: topic.to_string(),
            partition: p,
            source,
        })?;
        let start = match committed.get(&p) {
            Some(&o) if o >= low => o,
            _ => low,
        };
        parts.push((p, start, high));
    }
    Ok(Bounds::new(parts))
}

/// After an EOF on `partition`: the consumer's position there, which also counts records it
/// skipped without delivering (transaction markers).
fn note_position(
    consumer: &BaseConsumer<SourceContext>,
    topic: &str,
    partition: i32,
    bounds: &mut Bounds,
) {
    match consumer.position() {
        Ok(tpl) => {
            if let Some(Offset::Offset(o)) =
                tpl.find_partition(topic, partition).map(|e| e.offset())
            {
                bounds.position(partition, o);
            }
        }
        Err(e) => tracing::warn!(topic, partition, error = %e, "cannot read the consumer position"),
    }
}

/// The wall clock in ms since the epoch: the watermark floor of a worker whose partitions are
/// all idle.
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn a_committed_offsets_error_names_the_group_topic_and_partitions() {
        let e = SourceError::Committed {
            group: "echoflow".into(),
            topic: "echoflow.requests".into(),
            partitions: partition_list(&[0, 3, 7]),
            source: Box::new(KafkaError::OffsetFetch(
                RDKafkaErrorCode::GroupAuthorizationFailed,
            )),
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "cannot read group echoflow's committed offsets of echoflow.requests partition(s) 0, 3, 7: "
            ),
            "{text}"
        );
        assert!(text.contains("authoriz"), "{text}");
        assert_eq!(partition_list(&[]), "");
    }
}

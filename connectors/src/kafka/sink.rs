//! The Kafka sink operator: produce with delivery reports, acknowledge by frontier.
//!
//! Records arrive at timely times. For each time the sink keeps a capability on its (data-less)
//! output and a count of records sent but not yet acknowledged by the broker. The capability is
//! dropped once the input frontier has passed that time and its count is zero, so the output's
//! frontier is exactly "everything before this is durable in Kafka" — the frontier that the
//! source's offset commits follow ([`super::ledger`]).
//!
//! Delivery failures are not dropped: the record is produced again (librdkafka has already
//! retried it for `message.timeout.ms`), and its time stays unacknowledged until it succeeds.
//! A full local queue makes the sink poll and retry instead of failing.
//!
//! End-to-end latency (SPEC §7 `echoflow_end_to_end_latency_seconds`): a record may carry the
//! wall-clock instant its request reached the Kafka source ([`Outgoing::received`]). The sink
//! passes it, with the record's time, as the delivery opaque (one small box per record) and, when
//! the broker acknowledges the record, observes `now − received` in the histogram. A redelivered
//! record keeps its arrival, so retries count in its latency. Records without an arrival (control
//! events, decisions, anything from files) observe nothing. The payload is never touched.

use super::KafkaClient;
use crate::ingest::{Received, ReceivedAt};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;

/// One record to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecord {
    pub topic: Arc<str>,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

/// What the sink produces: an [`OutRecord`] and, when it answers a request that came from a
/// Kafka source, that request's arrival.
pub trait Outgoing {
    fn record(&self) -> &OutRecord;
    fn received(&self) -> ReceivedAt {
        ReceivedAt::NONE
    }
}

impl Outgoing for OutRecord {
    fn record(&self) -> &OutRecord {
        self
    }
}

impl Outgoing for Received<OutRecord> {
    fn record(&self) -> &OutRecord {
        &self.value
    }
    fn received(&self) -> ReceivedAt {
        self.received
    }
}

/// Errors of a sink: at start-up, or a record the broker refuses for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error("cannot create a Kafka producer for {brokers}: {detail}")]
    Producer { brokers: String, detail: String },
    #[error("output topic {topic} does not exist (create it first: deploy/local/kafka.sh topics)")]
    NoTopic { topic: String },
    #[error("cannot read metadata of output topic {topic}: {detail}")]
    Metadata { topic: String, detail: String },
    #[error(
        "cannot produce a record to {topic}: {detail}; its time stays unacknowledged, so no offset past it is committed"
    )]
    Produce { topic: String, detail: String },
}

/// The driver's view of a sink's health: the first permanent produce error, if any. A driver
/// stops the dataflow when it sees one (nothing is lost: the offsets stay uncommitted).
#[derive(Clone, Default)]
pub struct SinkHealth(std::rc::Rc<std::cell::RefCell<Option<SinkError>>>);

impl SinkHealth {
    pub fn error(&self) -> Option<SinkError> {
        self.0.borrow().clone()
    }
}

/// What a delivery report needs to know of its record: its time and its request's arrival.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    time: u64,
    received: ReceivedAt,
}

#[derive(Default)]
struct Deliveries {
    /// Acknowledged records per time.
    acked: BTreeMap<u64, u64>,
    /// Records to produce again.
    failed: Vec<(Delivery, OutRecord)>,
}

struct Context {
    deliveries: Arc<Mutex<Deliveries>>,
    latency: metrics::Histogram,
}

impl ClientContext for Context {}

impl ProducerContext for Context {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Box<Delivery>) {
        if result.is_ok()
            && let Some(s) = delivery.received.seconds_until(ReceivedAt::now())
        {
            self.latency.record(s);
        }
        let Ok(mut d) = self.deliveries.lock() else {
            return;
        };
        match result {
            Ok(_) => *d.acked.entry(delivery.time).or_default() += 1,
            Err((e, msg)) => {
                tracing::warn!(topic = msg.topic(), error = %e, "delivery failed; producing again");
                d.failed.push((
                    *delivery,
                    OutRecord {
                        topic: Arc::from(msg.topic()),
                        key: msg.key().map(<[u8]>::to_vec),
                        payload: msg.payload().unwrap_or(&[]).to_vec(),
                    },
                ));
            }
        }
    }
}

/// Produces `stream` to Kafka and returns the acknowledgement stream (no data; its frontier is
/// the durable frontier) and the sink's health. `topics` are the topics the stream may name:
/// each must exist. Records are [`OutRecord`]s, or [`Received`] ones whose latency is observed.
pub fn kafka_sink<'scope, R>(
    stream: Stream<'scope, u64, Vec<R>>,
    client: &KafkaClient,
    topics: &[&str],
) -> Result<(Stream<'scope, u64, Vec<()>>, SinkHealth), SinkError>
where
    R: Outgoing + Clone + 'static,
{
    let deliveries = Arc::new(Mutex::new(Deliveries::default()));
    let mut cc = client.config();
    cc.set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("compression.type", "lz4");
    for (k, v) in &client.settings {
        cc.set(k, v);
    }
    let producer: BaseProducer<Context> = cc
        .create_with_context(Context {
            deliveries: Arc::clone(&deliveries),
            latency: metrics::histogram!("echoflow_end_to_end_latency_seconds"),
        })
        .map_err(|e| SinkError::Producer {
            brokers: client.brokers.clone(),
            detail: e.to_string(),
        })?;
    for &topic in topics {
        let md = super::retry::topic_metadata(producer.client(), topic, Duration::from_secs(30))
            .map_err(|e| SinkError::Metadata {
                topic: topic.to_string(),
                detail: e.to_string(),
            })?;
        if !md
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        {
            return Err(SinkError::NoTopic {
                topic: topic.to_string(),
            });
        }
    }
    let health = SinkHealth::default();
    let health_in = health.clone();
    let scope = stream.scope();
    let acks = stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Pipeline,
        "KafkaSink",
        move |_cap, info| {
            let activator = scope.activator_for(info.address);
            // time → (capability, records sent, records acknowledged)
            let mut pending: BTreeMap<u64, (Capability<u64>, u64, u64)> = BTreeMap::new();
            move |(input, frontier), _output| {
                input.for_each_stamp(|cap, data| {
                    let Some(cap) = cap.retain_least(0) else {
                        return;
                    };
                    let time = *cap.time();
                    let entry = pending.entry(time).or_insert_with(|| (cap, 0, 0));
                    for batch in data {
                        for rec in batch.drain(..) {
                            let d = Delivery {
                                time,
                                received: rec.received(),
                            };
                            if let Err(e) = produce(&producer, d, rec.record()) {
                                health_in.0.borrow_mut().get_or_insert(e);
                            }
                            entry.1 += 1;
                        }
                    }
                });
                producer.poll(Duration::ZERO);
                let failed = match deliveries.lock() {
                    Ok(mut d) => {
                        for (t, n) in std::mem::take(&mut d.acked) {
                            if let Some(e) = pending.get_mut(&t) {
                                e.2 += n;
                            }
                        }
                        std::mem::take(&mut d.failed)
                    }
                    Err(_) => Vec::new(),
                };
                for (d, rec) in failed {
                    if let Err(e) = produce(&producer, d, &rec) {
                        health_in.0.borrow_mut().get_or_insert(e);
                    }
                }
                let input_frontier = frontier.frontier();
                pending.retain(|t, (_, sent, acked)| input_frontier.less_equal(t) || acked < sent);
                if !pending.is_empty() {
                    activator.activate_after(Duration::from_millis(1));
                }
            }
        },
    );
    Ok((acks, health))
}

fn produce(
    producer: &BaseProducer<Context>,
    delivery: Delivery,
    rec: &OutRecord,
) -> Result<(), SinkError> {
    let mut record: BaseRecord<'_, [u8], [u8], Box<Delivery>> =
        BaseRecord::with_opaque_to(&rec.topic, Box::new(delivery)).payload(&rec.payload[..]);
    if let Some(k) = &rec.key {
        record = record.key(&k[..]);
    }
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(10));
            }
            Err((e, _)) => {
                // Not retriable (e.g. larger than message.max.bytes): report it; the driver stops.
                tracing::error!(topic = %rec.topic, error = %e, "cannot produce record");
                return Err(SinkError::Produce {
                    topic: rec.topic.to_string(),
                    detail: e.to_string(),
                });
            }
        }
    }
}

//! A plain producer for tools that write input topics (`loadgen`, benches): idempotent, waits
//! out a full local queue, and counts what the broker did not take.

use super::KafkaClient;
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Errors of the tool producer.
#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error("cannot create a Kafka producer for {brokers}: {source}")]
    Create { brokers: String, source: KafkaError },
    #[error("cannot produce to {topic}: {detail}")]
    Send { topic: String, detail: String },
    #[error("cannot read the metadata of {topic}: {source}")]
    Metadata { topic: String, source: KafkaError },
    #[error("{failed} records were not delivered (last error: {last})")]
    Undelivered { failed: u64, last: String },
}

#[derive(Default)]
struct Counting {
    acked: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(e.to_string());
                }
            }
        }
    }
}

/// See the module documentation.
pub struct ToolProducer {
    inner: BaseProducer<Counting>,
}

impl ToolProducer {
    pub fn new(client: &KafkaClient) -> Result<Self, ProduceError> {
        let mut cc = client.config();
        cc.set("enable.idempotence", "true")
            .set("linger.ms", "2")
            .set("queue.buffering.max.messages", "1000000");
        for (k, v) in &client.settings {
            cc.set(k, v);
        }
        let inner = cc
            .create_with_context(Counting::default())
            .map_err(|source| ProduceError::Create {
                brokers: client.brokers.clone(),
                source,
            })?;
        Ok(ToolProducer { inner })
    }

    /// Connects and reads the metadata of `topics` (their partitions and leaders) now, so that
    /// the first records sent are not held while the producer finds the brokers: a paced load
    /// generator starts its clock after this.
    pub fn warm_up(&self, topics: &[&str], timeout: Duration) -> Result<(), ProduceError> {
        for &topic in topics {
            super::retry::topic_metadata(self.inner.client(), topic, timeout).map_err(
                |source| ProduceError::Metadata {
                    topic: topic.to_string(),
                    source,
                },
            )?;
        }
        Ok(())
    }

    /// Queues one record (`partition` None = librdkafka's partitioner on the key).
    pub fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &[u8],
        payload: &[u8],
    ) -> Result<(), ProduceError> {
        let mut rec = BaseRecord::to(topic).key(key).payload(payload);
        if let Some(p) = partition {
            rec = rec.partition(p);
        }
        loop {
            match self.inner.send(rec) {
                Ok(()) => {
                    self.inner.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    self.inner.poll(Duration::from_millis(5));
                }
                Err((e, _)) => {
                    return Err(ProduceError::Send {
                        topic: topic.to_string(),
                        detail: e.to_string(),
                    });
                }
            }
        }
    }

    /// Records acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.inner.poll(Duration::ZERO);
        self.inner.context().acked.load(Ordering::Relaxed)
    }

    /// Waits until everything queued is acknowledged; an error if any record was not delivered.
    pub fn flush(&self, timeout: Duration) -> Result<u64, ProduceError> {
        self.inner.flush(timeout).map_err(|e| ProduceError::Send {
            topic: "(flush)".into(),
            detail: e.to_string(),
        })?;
        let ctx = self.inner.context();
        let failed = ctx.failed.load(Ordering::Relaxed);
        if failed > 0 {
            let last = ctx
                .last_error
                .lock()
                .ok()
                .and_then(|l| l.clone())
                .unwrap_or_default();
            return Err(ProduceError::Undelivered { failed, last });
        }
        Ok(ctx.acked.load(Ordering::Relaxed))
    }
}

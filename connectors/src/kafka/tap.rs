//! A plain consumer for tools that watch output topics (`loadgen`'s simulated membranes): every
//! partition of the given topics assigned from its current end (no consumer group rebalance, no
//! commits), payloads handed out as they arrive.

use super::KafkaClient;
use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use std::time::Duration;

/// Errors of the tap.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("cannot create a Kafka consumer for {brokers}: {source}")]
    Create { brokers: String, source: KafkaError },
    #[error("cannot read the partitions of {topic}: {source}")]
    Metadata { topic: String, source: KafkaError },
    #[error("topic {topic} does not exist (create it first, e.g. deploy/local/kafka.sh up)")]
    NoTopic { topic: String },
    #[error("cannot assign {topics:?}: {source}")]
    Assign {
        topics: Vec<String>,
        source: KafkaError,
    },
    #[error("consuming: {0}")]
    Poll(KafkaError),
}

/// See the module documentation.
pub struct TopicTap {
    inner: BaseConsumer,
}

impl TopicTap {
    /// Reads `topics` from their end: only what is produced from now on.
    pub fn from_end(client: &KafkaClient, topics: &[&str]) -> Result<Self, TapError> {
        let mut cc = client.config();
        cc.set("group.id", "echoflow-tap")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false");
        let inner: BaseConsumer = cc.create().map_err(|source| TapError::Create {
            brokers: client.brokers.clone(),
            source,
        })?;
        let mut list = TopicPartitionList::new();
        for topic in topics {
            let md = super::retry::topic_metadata(inner.client(), topic, Duration::from_secs(10))
                .map_err(|source| TapError::Metadata {
                topic: topic.to_string(),
                source,
            })?;
            let parts = md
                .topics()
                .iter()
                .find(|t| t.name() == *topic)
                .map(|t| t.partitions().len())
                .unwrap_or(0);
            if parts == 0 {
                return Err(TapError::NoTopic {
                    topic: topic.to_string(),
                });
            }
            for p in 0..parts as i32 {
                list.add_partition_offset(topic, p, Offset::End)
                    .map_err(|source| TapError::Assign {
                        topics: vec![topic.to_string()],
                        source,
                    })?;
            }
        }
        inner.assign(&list).map_err(|source| TapError::Assign {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            source,
        })?;
        Ok(TopicTap { inner })
    }

    /// The next record's `(topic, payload)`, waiting at most `timeout`.
    pub fn poll(&self, timeout: Duration) -> Result<Option<(String, Vec<u8>)>, TapError> {
        match self.inner.poll(timeout) {
            None => Ok(None),
            Some(Err(e)) => Err(TapError::Poll(e)),
            Some(Ok(m)) => Ok(Some((
                m.topic().to_string(),
                m.payload().unwrap_or_default().to_vec(),
            ))),
        }
    }
}

//! Topic administration: create topics that do not exist yet (tests, `loadgen`, benches).

use super::KafkaClient;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use std::time::Duration;

/// Errors from topic administration.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("cannot create a Kafka admin client for {brokers}: {source}")]
    Client {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("creating topic {topic}: {detail}")]
    Create { topic: String, detail: String },
}

/// Creates each `(topic, partitions)` that does not exist (replication factor 1). Existing topics
/// are left as they are.
pub fn ensure_topics(client: &KafkaClient, topics: &[(&str, i32)]) -> Result<(), AdminError> {
    let admin: AdminClient<DefaultClientContext> =
        client
            .config()
            .create()
            .map_err(|source| AdminError::Client {
                brokers: client.brokers.clone(),
                source,
            })?;
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = futures_executor::block_on(admin.create_topics(&new, &opts)).map_err(|e| {
        AdminError::Create {
            topic: topics.iter().map(|t| t.0).collect::<Vec<_>>().join(","),
            detail: e.to_string(),
        }
    })?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(AdminError::Create {
                    topic,
                    detail: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

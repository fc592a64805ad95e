//! Kafka source and sink as timely operators, tied together so that nothing is lost.
//!
//! * [`source::kafka_source`]: partition `p` of a topic belongs to worker `p mod peers` (manual
//!   assignment; the group id only commits offsets). Records enter the dataflow at their event
//!   time; the worker's capability follows its [`crate::watermark::Watermarks`]; late records and
//!   undecodable ones are not dropped but handed on as such.
//! * [`sink::kafka_sink`]: produces with delivery reports and holds a capability for every time
//!   whose output the broker has not acknowledged; its output stream (no data) therefore has, as
//!   its frontier, the times below which everything is durable.
//! * The source watches that frontier through a [`timely::dataflow::ProbeHandle`] and commits,
//!   per partition, only offsets whose every consequence is acknowledged ([`ledger`]).
//!
//! A `kill -9` at any point loses nothing: the next run restarts from the committed offsets and
//! at worst reprocesses (and re-emits) records whose outputs were not all acknowledged.

pub mod admin;
pub mod bounds;
pub mod lag;
pub mod ledger;
pub mod producer;
pub mod retry;
pub mod sink;
pub mod source;
pub mod tap;

use std::collections::BTreeMap;

/// Connection settings shared by sources and sinks.
#[derive(Debug, Clone)]
pub struct KafkaClient {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Any librdkafka setting, passed through as-is (security settings included).
    pub settings: BTreeMap<String, String>,
}

impl KafkaClient {
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaClient {
            brokers: brokers.into(),
            settings: BTreeMap::new(),
        }
    }

    pub(crate) fn config(&self) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }
}

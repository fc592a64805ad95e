//! The raw rdkafka peer of the Kafka benchmarks: one thread consuming every partition of a topic
//! and producing each record to another, no timely, no decoding. Shared by `passthrough` and
//! `pipeline` (included with `#[path]`).

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::Duration;

pub fn producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("enable.idempotence", "true")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer")
}

pub fn send(p: &BaseProducer, topic: &str, part: Option<i32>, key: &[u8], payload: &[u8]) {
    let mut rec = BaseRecord::to(topic).key(key).payload(payload);
    rec.partition = part;
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                rec = back;
                p.poll(Duration::from_millis(5));
            }
            Err((e, _)) => panic!("produce: {e}"),
        }
    }
}

/// The peer: one thread, one consumer of every partition, one producer, no timely.
pub fn raw_loop(brokers: &str, input: &str, output: &str, partitions: i32, n: u64) -> u64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("raw-{output}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(input, p, Offset::Beginning)
            .expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    let p = producer(brokers);
    let mut moved = 0;
    while moved < n {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                send(
                    &p,
                    output,
                    None,
                    m.key().unwrap_or(&[]),
                    m.payload().unwrap_or(&[]),
                );
                moved += 1;
                if moved % 1024 == 0 {
                    p.poll(Duration::ZERO);
                }
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
    p.flush(Duration::from_secs(120)).expect("flush");
    consumer
        .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
        .ok();
    moved
}

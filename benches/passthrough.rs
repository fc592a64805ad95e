//! Raw rdkafka consume→produce loop versus the timely passthrough (1 and 2 workers), on the same
//! broker and the same records, in one run. Needs the broker: `deploy/local/kafka.sh up`.
//!
//! ```text
//! cargo bench --bench passthrough -- [RECORDS]      # default 1,000,000 records of ~200 bytes
//! ```
//! Prints a Markdown table (records/s, MB/s, ratio to raw) for BENCHMARKS.md.

use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::admin::ensure_topics;
use echoflow_pipeline::passthrough::{self, PassthroughOptions};

#[path = "common/raw_kafka.rs"]
mod raw_kafka;
use raw_kafka::{producer, raw_loop, send};
use rdkafka::producer::Producer;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PARTITIONS: i32 = 8;

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let brokers =
        std::env::var("ECHOFLOW_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let input = format!("bench.passthrough.{run}.in");
    let client = KafkaClient::new(&brokers);
    ensure_topics(&client, &[(&input, PARTITIONS)]).expect("create input topic");

    eprintln!("producing {n} records to {input}");
    let bytes = produce_input(&brokers, &input, n);
    eprintln!("{} MB of payload", bytes as f64 / 1e6);

    let mut rows = Vec::new();
    let raw = {
        let out = format!("bench.passthrough.{run}.raw");
        ensure_topics(&client, &[(&out, PARTITIONS)]).expect("topic");
        let t = Instant::now();
        let moved = raw_loop(&brokers, &input, &out, PARTITIONS, n);
        assert_eq!(moved, n);
        t.elapsed().as_secs_f64()
    };
    rows.push(("raw rdkafka loop (1 thread)".to_string(), raw));
    for workers in [1usize, 2] {
        let names: Vec<String> = ["out", "rej", "dl"]
            .iter()
            .map(|s| format!("bench.passthrough.{run}.w{workers}.{s}"))
            .collect();
        let list: Vec<(&str, i32)> = names.iter().map(|s| (s.as_str(), PARTITIONS)).collect();
        ensure_topics(&client, &list).expect("topics");
        let t = Instant::now();
        let stats = passthrough::run(PassthroughOptions {
            client: client.clone(),
            group_id: format!("bench-{run}-{workers}"),
            input: input.clone(),
            output: names[0].clone(),
            rejections: names[1].clone(),
            dead_letter: names[2].clone(),
            workers,
            stop_at_eof: true,
            idle_timeout: Duration::from_secs(5),
            allowed_lateness_ms: 0,
            shutdown: None,
        })
        .expect("passthrough");
        assert_eq!(stats.forwarded, n);
        rows.push((
            format!("timely passthrough, {workers} worker(s)"),
            t.elapsed().as_secs_f64(),
        ));
    }
    println!("| pipeline | records | seconds | records/s | MB/s | × raw |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, secs) in &rows {
        println!(
            "| {name} | {n} | {secs:.2} | {:.0} | {:.1} | {:.2} |",
            n as f64 / secs,
            bytes as f64 / 1e6 / secs,
            raw / secs
        );
    }
}

fn record(i: u64) -> Vec<u8> {
    format!(
        r#"{{"id":"req-{i:010}","ts":{},"tenant":"tenant-{}","feature":"chat","priority":"medium","session":"s-{}","input":[[0.125,0.5],[0.25,0.75],[0.5,1.0]]}}"#,
        1_700_000_000_000u64 + i,
        i % 7,
        i % 101
    )
    .into_bytes()
}

fn produce_input(brokers: &str, topic: &str, n: u64) -> u64 {
    let p = producer(brokers);
    let mut bytes = 0;
    for i in 0..n {
        let payload = record(i);
        bytes += payload.len() as u64;
        send(
            &p,
            topic,
            Some((i % PARTITIONS as u64) as i32),
            format!("req-{i}").as_bytes(),
            &payload,
        );
        if i % 1024 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(120)).expect("flush");
    bytes
}

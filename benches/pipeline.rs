//! End-to-end figures of the dataflow (issue #7), in one run on one machine:
//!
//! 1. `replay` on files, 1 and 2 workers (no broker);
//! 2. on the real broker, bounded: the raw rdkafka loop over the same requests (the peer), and
//!    `run` with 1 and 2 workers over requests + telemetry;
//! 3. on the real broker, live: `run` with 2 workers while `loadgen` produces in real time; the
//!    latency of each outcome is the broker's append time of the outcome record
//!    (`LogAppendTime`, i.e. when it became durable) minus the request's `ts` (the time it was
//!    due and produced): arrival at the source → acknowledged outcome, plus the input produce.
//!    Quantiles over every outcome, and over the steady part: requests whose `ts` is at least
//!    1 s after the first and 1 s before the last (leaving out the start-up — the consumers'
//!    first fetches — and the tail, which waits for `time.idle_timeout_ms`).
//!
//! ```text
//! deploy/local/kafka.sh up
//! cargo bench --bench pipeline -- [REQUESTS] [LIVE_RATES]   # default 300000 and 10000,50000
//! ```
//!
//! Environment: `ECHOFLOW_BENCH_TELEMETRY_HZ` (reports per second per membrane in the live part,
//! default 20), `ECHOFLOW_BENCH_KAFKA=linger.ms=1,...` (librdkafka settings for every client, as
//! `[kafka.client]` would pass them). The live part also prints, per second of `ts`, the outcome
//! latency and the *produce* delay (the request's own append time − its `ts`: the load
//! generator's share), and keeps the membranes reporting for 1 s after the load stops.
//! Prints Markdown tables for BENCHMARKS.md. Reservoirs are the default (100 units, built-in model).

#[path = "common/raw_kafka.rs"]
mod raw_kafka;

use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::producer::ToolProducer;
use echoflow_pipeline::config::Config;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::dataflow::outputs::OutputTopics;
use echoflow_pipeline::loadgen::{self, LoadgenOptions};
use echoflow_pipeline::replay::{self, ReplayOptions};
use echoflow_pipeline::run::{self, RunOptions, TimelyLayout};
use echoflow_pipeline::scenario::{Scenario, Shape};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The allocator the `echoflow` binary ships with (src/main.rs), so the bench measures what
/// runs; the raw loop gets it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PARTITIONS: i32 = 4;
const MEMBRANES: u32 = 8;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(300_000);
    let rates: Vec<f64> = args
        .get(1)
        .map(|a| a.split(',').filter_map(|r| r.parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000.0, 50_000.0]);
    let brokers =
        std::env::var("ECHOFLOW_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut config = Config::default();
    config.aimd.process_memory = false;
    let params = Params::from_config(&config).expect("params");
    // Steady fleet: everything admitted, so every request pays for its reservoir evaluation.
    let scenario = Scenario {
        rate: 20_000.0,
        duration_ms: n * 1000 / 20_000,
        membranes: MEMBRANES,
        telemetry_hz: 20.0,
        ..Scenario::new(Shape::Steady)
    };
    let events = n + scenario.telemetry().count() as u64;

    // 1. replay on files.
    let dir = std::env::temp_dir().join(format!("echoflow-bench-pipeline-{stamp}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    write(&dir.join("requests.jsonl"), scenario.requests());
    write(&dir.join("telemetry.jsonl"), scenario.telemetry());
    let mut rows = Vec::new();
    for workers in [1usize, 2] {
        let t = Instant::now();
        replay::run(ReplayOptions {
            params: params.clone(),
            requests: dir.join("requests.jsonl"),
            telemetry: dir.join("telemetry.jsonl"),
            out: dir.join(format!("out{workers}")),
            timely: TimelyLayout::Process { workers },
            allowed_lateness_ms: 0,
        })
        .expect("replay");
        rows.push((
            format!("replay (files), {workers} worker(s)"),
            t.elapsed().as_secs_f64(),
            events,
        ));
    }

    // 2. bounded runs on the broker.
    let mut client = KafkaClient::new(&brokers);
    // `[kafka.client]` settings for every client of the run (e.g. `linger.ms=1`), as
    // `ECHOFLOW_BENCH_KAFKA=key=value,key=value`.
    if let Ok(extra) = std::env::var("ECHOFLOW_BENCH_KAFKA") {
        for kv in extra.split(',').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .expect("ECHOFLOW_BENCH_KAFKA: key=value pairs");
            client.settings.insert(k.to_string(), v.to_string());
        }
    }
    let topic = |s: &str| format!("bench.pipeline.{stamp}.{s}");
    let (req, tel) = (topic("requests"), topic("telemetry"));
    create(&brokers, &[&req, &tel], false);
    let producer = ToolProducer::new(&client).expect("producer");
    for (_, key, line) in scenario.requests_keyed() {
        producer
            .send(&req, None, key.as_bytes(), line.as_bytes())
            .expect("send");
    }
    for (_, key, line) in scenario.telemetry_keyed() {
        producer
            .send(&tel, None, key.as_bytes(), line.as_bytes())
            .expect("send");
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    let raw_out = topic("raw");
    create(&brokers, &[&raw_out], false);
    let t = Instant::now();
    assert_eq!(
        raw_kafka::raw_loop(&brokers, &req, &raw_out, PARTITIONS, n),
        n
    );
    let raw = t.elapsed().as_secs_f64();
    rows.push(("raw rdkafka loop, requests only (1 thread)".into(), raw, n));
    for workers in [1usize, 2] {
        let outputs = output_topics(&brokers, &format!("{stamp}.w{workers}"), false);
        let t = Instant::now();
        run::run(RunOptions {
            params: params.clone(),
            client: client.clone(),
            group_id: format!("bench-{stamp}-{workers}"),
            requests_topic: req.clone(),
            telemetry_topic: tel.clone(),
            outputs,
            timely: TimelyLayout::Process { workers },
            allowed_lateness_ms: 0,
            idle_timeout: Duration::from_secs(5),
            stop_at_eof: true,
            shutdown: None,
            readiness: None,
        })
        .expect("run");
        rows.push((
            format!("`run` on Kafka, {workers} worker(s)"),
            t.elapsed().as_secs_f64(),
            events,
        ));
    }
    println!("| pipeline | events | seconds | events/s | × raw records/s |");
    println!("|---|---:|---:|---:|---:|");
    let raw_rate = n as f64 / raw;
    for (name, secs, ev) in &rows {
        let rate = *ev as f64 / secs;
        println!(
            "| {name} | {ev} | {secs:.2} | {rate:.0} | {:.2} |",
            rate / raw_rate
        );
    }

    // 3. live latency.
    println!();
    println!(
        "| offered requests/s | telemetry | seconds | outcomes | p50 ms | p99 ms | max ms | steady p50 ms | steady p99 ms | steady max ms | produce p50 / p99 / max ms |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let telemetry_hz: f64 = std::env::var("ECHOFLOW_BENCH_TELEMETRY_HZ")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20.0);
    for rate in rates {
        let tag = format!("{stamp}.live{}", rate as u64);
        let (lreq, ltel) = (
            topic(&format!("live{}.requests", rate as u64)),
            topic(&format!("live{}.telemetry", rate as u64)),
        );
        // Input topics too stamp the broker's append time: the produce delay is measured apart.
        create(&brokers, &[&lreq, &ltel], true);
        let outputs = output_topics(&brokers, &tag, true);
        let shutdown = Arc::new(AtomicBool::new(false));
        let opts = RunOptions {
            params: params.clone(),
            client: client.clone(),
            group_id: format!("bench-{tag}"),
            requests_topic: lreq.clone(),
            telemetry_topic: ltel.clone(),
            outputs: outputs.clone(),
            timely: TimelyLayout::Process { workers: 2 },
            allowed_lateness_ms: 0,
            idle_timeout: Duration::from_secs(5),
            stop_at_eof: false,
            shutdown: Some(Arc::clone(&shutdown)),
            readiness: None,
        };
        let runner = std::thread::spawn(move || run::run(opts));
        std::thread::sleep(Duration::from_secs(2));
        let seconds = 20;
        let stats = loadgen::run(LoadgenOptions {
            scenario: Scenario {
                rate,
                duration_ms: seconds * 1000,
                membranes: MEMBRANES,
                telemetry_hz,
                ..Scenario::new(Shape::Steady)
            },
            client: client.clone(),
            requests_topic: lreq.clone(),
            telemetry_topic: ltel.clone(),
            realtime: true,
            shutdown: None,
            // The membranes keep reporting when the load stops (a fleet does not go quiet), so
            // the last requests' timestamps are released by telemetry, not the idle timeout.
            telemetry_tail_ms: 1_000,
        })
        .expect("loadgen");
        // Let the pipeline catch up, then stop it (SIGTERM's path).
        let expected = stats.requests;
        let deadline = Instant::now() + Duration::from_secs(120);
        while count(&brokers, &[&outputs.admitted, &outputs.rejections]) < expected
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(500));
        }
        shutdown.store(true, Ordering::Relaxed);
        runner.join().expect("run thread").expect("run");
        let pairs = latencies(&brokers, &[&outputs.admitted, &outputs.rejections]);
        let first = pairs.iter().map(|p| p.0).min().unwrap_or(0);
        let last = pairs.iter().map(|p| p.0).max().unwrap_or(0);
        let all: Vec<u64> = pairs.iter().map(|p| p.1).collect();
        let steady: Vec<u64> = pairs
            .iter()
            .filter(|(ts, _)| *ts >= first + 1_000 && ts + 1_000 <= last)
            .map(|p| p.1)
            .collect();
        let (a, st) = (quantiles(all), quantiles(steady));
        let produced = latencies(&brokers, &[&lreq]);
        let pr = quantiles(produced.iter().map(|p| p.1).collect());
        println!(
            "| {rate:.0} | {MEMBRANES} × {telemetry_hz} Hz | {seconds} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} |",
            pairs.len(),
            a.0,
            a.1,
            a.2,
            st.0,
            st.1,
            st.2,
            pr.0,
            pr.1,
            pr.2
        );
        // Per second of `ts`: where the tails are.
        for k in 0..=seconds {
            let in_second = |v: &[(u64, u64)]| -> Vec<u64> {
                v.iter()
                    .filter(|(ts, _)| ts.saturating_sub(first) / 1_000 == k)
                    .map(|p| p.1)
                    .collect()
            };
            let (o, i) = (
                quantiles(in_second(&pairs)),
                quantiles(in_second(&produced)),
            );
            eprintln!(
                "  second {k:>2}: outcome p50/p99/max {} / {} / {} ms, produce {} / {} / {} ms",
                o.0, o.1, o.2, i.0, i.1, i.2
            );
        }
        let _ = std::io::stdout().flush();
    }
}

fn write(path: &std::path::Path, lines: impl Iterator<Item = String>) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for l in lines {
        writeln!(w, "{l}").expect("write");
    }
    w.flush().expect("flush");
}

fn create(brokers: &str, topics: &[&str], log_append_time: bool) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin");
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| {
            let n = NewTopic::new(t, PARTITIONS, TopicReplication::Fixed(1));
            if log_append_time {
                n.set("message.timestamp.type", "LogAppendTime")
            } else {
                n
            }
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in futures_executor::block_on(admin.create_topics(&new, &opts)).expect("create topics") {
        r.expect("topic created");
    }
}

fn output_topics(brokers: &str, tag: &str, log_append_time: bool) -> OutputTopics {
    let t = |s: &str| format!("bench.pipeline.{tag}.{s}");
    let o = OutputTopics {
        admitted: t("admitted"),
        rejections: t("rejections"),
        decisions: t("decisions"),
        control: t("control"),
        dead_letter: t("dead"),
    };
    create(
        brokers,
        &[
            &o.admitted,
            &o.rejections,
            &o.decisions,
            &o.control,
            &o.dead_letter,
        ],
        log_append_time,
    );
    o
}

fn consumer(brokers: &str, topics: &[&str]) -> BaseConsumer {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "bench-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        for p in 0..PARTITIONS {
            tpl.add_partition_offset(t, p, Offset::Beginning)
                .expect("tpl");
        }
    }
    c.assign(&tpl).expect("assign");
    c
}

/// Records in `topics` now (sum of high watermarks).
fn count(brokers: &str, topics: &[&str]) -> u64 {
    let c = consumer(brokers, topics);
    let mut n = 0;
    for t in topics {
        for p in 0..PARTITIONS {
            if let Ok((lo, hi)) = c.fetch_watermarks(t, p, Duration::from_secs(10)) {
                n += (hi - lo).max(0) as u64;
            }
        }
    }
    n
}

/// p50, p99 and max of latencies in ms.
fn quantiles(mut lat: Vec<u64>) -> (u64, u64, u64) {
    lat.sort_unstable();
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    (q(0.5), q(0.99), lat.last().copied().unwrap_or(0))
}

/// (request ts, append time − request ts) per outcome record, in ms.
fn latencies(brokers: &str, topics: &[&str]) -> Vec<(u64, u64)> {
    let total = count(brokers, topics);
    let c = consumer(brokers, topics);
    let mut out = Vec::with_capacity(total as usize);
    while (out.len() as u64) < total {
        match c.poll(Duration::from_secs(10)) {
            Some(Ok(m)) => {
                let appended = m.timestamp().to_millis().unwrap_or(0).max(0) as u64;
                let ts = m
                    .payload()
                    .and_then(|p| serde_json::from_slice::<serde_json::Value>(p).ok())
                    .and_then(|v| v["ts"].as_u64())
                    .unwrap_or(appended);
                out.push((ts, appended.saturating_sub(ts)));
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => break,
        }
    }
    out
}

//! `echoflow passthrough` (hidden): moves requests from one topic to another through the Kafka
//! connectors. A test and benchmark harness, not a product feature.

use anyhow::Context;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_pipeline::passthrough::{self, PassthroughOptions};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:9092")]
    brokers: String,
    #[arg(long, default_value = "echoflow-passthrough")]
    group: String,
    #[arg(long, default_value = "echoflow.requests")]
    input: String,
    #[arg(long, default_value = "echoflow.admitted")]
    output: String,
    #[arg(long, default_value = "echoflow.rejections")]
    rejections: String,
    #[arg(long, default_value = "echoflow.dead-letter")]
    dead_letter: String,
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Stop once every partition has been read to its end (otherwise run until SIGTERM/SIGINT).
    #[arg(long)]
    until_eof: bool,
    #[arg(long, default_value_t = 5000)]
    idle_timeout_ms: u64,
    #[arg(long, default_value_t = 0)]
    allowed_lateness_ms: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.workers >= 1, "--workers must be at least 1, got 0");
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .with_context(|| format!("cannot install a handler for signal {signal}"))?;
    }
    let started = Instant::now();
    let stats = passthrough::run(PassthroughOptions {
        client: KafkaClient::new(&args.brokers),
        group_id: args.group,
        input: args.input,
        output: args.output,
        rejections: args.rejections,
        dead_letter: args.dead_letter,
        workers: args.workers,
        stop_at_eof: args.until_eof,
        idle_timeout: Duration::from_millis(args.idle_timeout_ms),
        allowed_lateness_ms: args.allowed_lateness_ms,
        shutdown: Some(Arc::clone(&shutdown)),
    })
    .context("passthrough")?;
    let secs = started.elapsed().as_secs_f64();
    let n = stats.forwarded + stats.late + stats.dead_letters;
    println!(
        "{{\"forwarded\":{},\"late\":{},\"dead_letters\":{},\"seconds\":{secs:.3},\"records_per_s\":{:.0}}}",
        stats.forwarded,
        stats.late,
        stats.dead_letters,
        n as f64 / secs.max(1e-9)
    );
    Ok(())
}

//! `echoflow loadgen` (SPEC §5): a synthetic fleet's telemetry and requests
//! ([`echoflow_pipeline::scenario`]) produced to the configured Kafka topics in real time
//! ([`echoflow_pipeline::loadgen`]), or written as JSONL files for `replay` (`--files DIR`).

use anyhow::Context;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_pipeline::config::Config;
use echoflow_pipeline::fleet_sim::FleetSimConfig;
use echoflow_pipeline::loadgen::{self, ClosedLoopOptions, LoadgenOptions};
use echoflow_pipeline::scenario::{Scenario, Shape};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Produce a scenario's load, with simulated membranes.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline.toml (for topic names and brokers).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Requests per second of event time.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Event-time length of the run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Simulated membranes.
    #[arg(long, default_value_t = 3)]
    membranes: u32,
    /// steady | cpu_spike | memory_ramp | queue_fill | error_burst | load_step | mixed
    #[arg(long, default_value = "steady")]
    scenario: String,
    /// Telemetry reports per second per membrane.
    #[arg(long, default_value_t = 10.0)]
    telemetry_hz: f64,
    /// Seed of the keyed draws (priorities, jitter).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write requests.jsonl and telemetry.jsonl into this folder instead of producing to Kafka.
    #[arg(long)]
    files: Option<PathBuf>,
    /// Produce as fast as the broker takes it instead of pacing records to their ts.
    #[arg(long)]
    burst: bool,
    /// Play the demo's story with simulated membranes that consume the admitted and
    /// scaling-decision topics and report the load they receive (run `echoflow run` against the
    /// same broker and config). `--rate` is the offered load outside the surge; `--scenario`,
    /// `--telemetry-hz`, `--files` and `--burst` do not apply. Each membrane serves
    /// rate / membranes / 0.625 requests/s (62.5 % busy outside the surge).
    #[arg(long)]
    closed_loop: bool,
}

impl Args {
    fn scenario(&self) -> anyhow::Result<Scenario> {
        let shape: Shape = self.scenario.parse().context("--scenario")?;
        anyhow::ensure!(
            self.rate.is_finite() && self.rate > 0.0,
            "--rate = {}: allowed is a number > 0",
            self.rate
        );
        anyhow::ensure!(self.seconds > 0, "--seconds = 0: allowed is an integer ≥ 1");
        anyhow::ensure!(
            self.membranes > 0,
            "--membranes = 0: allowed is an integer ≥ 1"
        );
        anyhow::ensure!(
            self.telemetry_hz.is_finite() && self.telemetry_hz > 0.0,
            "--telemetry-hz = {}: allowed is a number > 0",
            self.telemetry_hz
        );
        Ok(Scenario {
            duration_ms: self.seconds * 1000,
            membranes: self.membranes,
            telemetry_hz: self.telemetry_hz,
            rate: self.rate,
            seed: self.seed,
            ..Scenario::new(shape)
        })
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let scenario = args.scenario()?;
    if args.closed_loop {
        anyhow::ensure!(
            args.files.is_none() && !args.burst,
            "--closed-loop plays live against the broker: --files and --burst do not apply"
        );
        return closed_loop(&args);
    }
    let Some(dir) = &args.files else {
        return to_kafka(&args, scenario);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, lines: &mut dyn Iterator<Item = String>| -> anyhow::Result<u64> {
        let path = dir.join(name);
        let f = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = std::io::BufWriter::new(f);
        let mut n = 0;
        for l in lines {
            writeln!(w, "{l}").with_context(|| format!("cannot write {}", path.display()))?;
            n += 1;
        }
        w.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(n)
    };
    let r = write("requests.jsonl", &mut scenario.requests())?;
    let t = write("telemetry.jsonl", &mut scenario.telemetry())?;
    eprintln!(
        "loadgen: {} scenario, {r} requests and {t} telemetry reports → {}",
        scenario.shape,
        dir.display()
    );
    Ok(())
}

/// The client from the configuration, and a flag raised by SIGTERM / SIGINT.
fn connect(config: &Config) -> anyhow::Result<(KafkaClient, Arc<AtomicBool>)> {
    let mut client = KafkaClient::new(&config.kafka.brokers);
    for (k, v) in config.kafka.client.iter() {
        client.settings.insert(k.to_string(), v.to_string());
    }
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .with_context(|| format!("cannot install a handler for signal {signal}"))?;
    }
    Ok((client, shutdown))
}

fn closed_loop(args: &Args) -> anyhow::Result<()> {
    let config = super::config::load_optional(args.config.as_deref())?;
    let (client, shutdown) = connect(&config)?;
    let t = &config.topics;
    let service_rate = args.rate / f64::from(args.membranes) / 0.625;
    eprintln!(
        "loadgen: the demo's story live for {} s, {} requests/s offered ({}× in the surge), {} simulated membranes → {} and {}, watching {} and {} on {}",
        args.seconds,
        args.rate,
        echoflow_pipeline::story::SURGE,
        args.membranes,
        t.requests,
        t.telemetry,
        t.admitted,
        t.decisions,
        config.kafka.brokers
    );
    let stats = loadgen::run_closed_loop(ClosedLoopOptions {
        client,
        requests_topic: t.requests.clone(),
        telemetry_topic: t.telemetry.clone(),
        admitted_topic: t.admitted.clone(),
        decisions_topic: t.decisions.clone(),
        duration_ms: args.seconds * 1000,
        rate: args.rate,
        membranes: args.membranes,
        // As in the demo: the offered load keeps each membrane 62.5 % busy outside the surge,
        // with a second of queue.
        fleet: FleetSimConfig {
            service_rate,
            queue_capacity: service_rate.ceil() as u64,
            ..FleetSimConfig::default()
        },
        input_steps: 8,
        seed: args.seed,
        shutdown: Some(shutdown),
    })?;
    eprintln!(
        "loadgen: {} requests and {} telemetry reports acknowledged in {:.2} s; the membranes received {} admitted requests and answered {} calls; {} scale decisions followed, {} membranes at the end",
        stats.requests,
        stats.telemetry,
        stats.seconds,
        stats.admitted_seen,
        stats.served,
        stats.scale_changes,
        stats.replicas
    );
    Ok(())
}

fn to_kafka(args: &Args, scenario: Scenario) -> anyhow::Result<()> {
    let config = super::config::load_optional(args.config.as_deref())?;
    let (client, shutdown) = connect(&config)?;
    eprintln!(
        "loadgen: {} scenario, {} requests/s for {} s, {} membranes → {} and {} on {}",
        scenario.shape,
        scenario.rate,
        scenario.duration_ms / 1000,
        scenario.membranes,
        config.topics.requests,
        config.topics.telemetry,
        config.kafka.brokers
    );
    let stats = loadgen::run(LoadgenOptions {
        scenario,
        client,
        requests_topic: config.topics.requests.clone(),
        telemetry_topic: config.topics.telemetry.clone(),
        realtime: !args.burst,
        shutdown: Some(shutdown),
        telemetry_tail_ms: 0,
    })?;
    eprintln!(
        "loadgen: {} requests and {} telemetry reports acknowledged in {:.2} s",
        stats.requests, stats.telemetry, stats.seconds
    );
    Ok(())
}

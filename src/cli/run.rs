//! `echoflow run` (SPEC §5): the dataflow against Kafka until SIGTERM (or, with `--until-eof`,
//! until every partition has been read to the end it had at start-up).

use anyhow::Context;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_pipeline::config::Config;
use echoflow_pipeline::dataflow::outputs::OutputTopics;
use echoflow_pipeline::dataflow::{Params, PressureSource};
use echoflow_pipeline::memory_probe::MemoryProbe;
use echoflow_pipeline::metrics::{self, Readiness};
use echoflow_pipeline::run::{self, RunOptions, TimelyLayout};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Run the dataflow against Kafka.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline.toml (environment overrides applied); the defaults when left out.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    layout: super::cluster::Layout,
    /// Stop once every partition has been read to the end it had at start-up (bounded runs).
    #[arg(long)]
    until_eof: bool,
}

fn options(
    config: &Config,
    params: Params,
    layout: TimelyLayout,
    until_eof: bool,
    shutdown: Arc<AtomicBool>,
) -> RunOptions {
    let mut client = KafkaClient::new(&config.kafka.brokers);
    for (k, v) in config.kafka.client.iter() {
        client.settings.insert(k.to_string(), v.to_string());
    }
    let t = &config.topics;
    RunOptions {
        params,
        client,
        group_id: config.kafka.group_id.clone(),
        requests_topic: t.requests.clone(),
        telemetry_topic: t.telemetry.clone(),
        outputs: OutputTopics {
            admitted: t.admitted.clone(),
            rejections: t.rejections.clone(),
            decisions: t.decisions.clone(),
            control: t.control.clone(),
            dead_letter: t.dead_letter.clone(),
        },
        timely: layout,
        allowed_lateness_ms: config.time.allowed_lateness_ms,
        idle_timeout: Duration::from_millis(config.time.idle_timeout_ms),
        stop_at_eof: until_eof,
        shutdown: Some(shutdown),
        readiness: None,
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::config::load_optional(args.config.as_deref())?;
    let layout = args.layout.resolve(config.pipeline.workers)?;
    let mut params = Params::from_config(&config)?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    params.config_event = Some((now_ms, config.fingerprint()));
    if config.aimd.enabled && config.aimd.process_memory {
        params.pressure = PressureSource::Process(MemoryProbe::default());
    }
    let shutdown = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&shutdown))
            .with_context(|| format!("cannot install a handler for signal {signal}"))?;
    }
    let workers = match &layout {
        TimelyLayout::Process { workers } | TimelyLayout::Cluster { workers, .. } => *workers,
    };
    let readiness = Readiness::new(workers);
    let bound = metrics::serve(config.metrics.address, Arc::clone(&readiness))?;
    eprintln!("run: metrics, /healthz and /ready on http://{bound}");
    let started = Instant::now();
    tracing::info!(fingerprint = %config.fingerprint(), ?layout, "echoflow run starting");
    let mut opts = options(&config, params, layout, args.until_eof, shutdown);
    opts.readiness = Some(readiness);
    run::run(opts).context("run")?;
    eprintln!(
        "run: stopped after {:.2} s; offsets committed",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

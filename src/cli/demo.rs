//! `echoflow demo` (SPEC §5): the embedded demo — a synthetic fleet through the whole dataflow,
//! no external service. See `echoflow_pipeline::demo`.

use anyhow::Context;
use echoflow_pipeline::config::Config;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::demo::{self, DemoOptions};
use echoflow_pipeline::scenario::{Scenario, Shape};
use std::path::PathBuf;

/// Run the embedded demo: a simulated fleet, no external service needed.
#[derive(clap::Args)]
pub struct Args {
    /// Event-time length of the simulated run.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Where the input and the five output files go.
    #[arg(long, default_value = "echoflow-demo")]
    out: PathBuf,
    /// Requests per second of event time.
    #[arg(long, default_value_t = 20_000.0)]
    rate: f64,
    /// Simulated membranes.
    #[arg(long, default_value_t = 8)]
    membranes: u32,
    /// steady | cpu_spike | memory_ramp | queue_fill | error_burst | load_step | mixed
    #[arg(long, default_value = "mixed")]
    scenario: String,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    workers: Option<usize>,
    /// A pipeline.toml for the operators' parameters (the defaults when left out).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let shape: Shape = args.scenario.parse().context("--scenario")?;
    anyhow::ensure!(args.seconds > 0, "--seconds = 0: allowed is an integer ≥ 1");
    anyhow::ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate = {}: allowed is a number > 0",
        args.rate
    );
    anyhow::ensure!(
        args.membranes > 0,
        "--membranes = 0: allowed is an integer ≥ 1"
    );
    let config: Config = super::config::load_optional(args.config.as_deref())?;
    let mut params = Params::from_config(&config)?;
    params.config_event = Some((0, config.fingerprint()));
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let scenario = Scenario {
        duration_ms: args.seconds * 1000,
        rate: args.rate,
        membranes: args.membranes,
        ..Scenario::new(shape)
    };
    eprintln!(
        "echoflow demo: {} scenario, {} s of event time, {} requests/s, {} membranes at 10 Hz, {workers} workers",
        shape, args.seconds, args.rate, args.membranes
    );
    let s = demo::run(&DemoOptions {
        scenario,
        params,
        out: args.out.clone(),
        workers,
    })?;
    println!(
        "{} requests + {} telemetry reports in {:.2} s: {:.0} events/s (input written in {:.2} s)",
        s.requests,
        s.telemetry,
        s.replay.as_secs_f64(),
        s.events_per_s(),
        s.generate.as_secs_f64()
    );
    let show = |title: &str, m: &std::collections::BTreeMap<String, u64>| {
        let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("{title:<10} {}", parts.join(", "));
    };
    show("outcomes", &s.outcomes);
    show("control", &s.control);
    show("decisions", &s.decisions);
    println!(
        "files      {}/{{admitted,rejections,decisions,control,dead_letter}}.jsonl (input in {}/input/)",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

//! `echoflow loadgen` (SPEC §5): a synthetic fleet's telemetry and requests
//! ([`echoflow_pipeline::scenario`]), written as JSONL files for `replay` (`--files DIR`).

use anyhow::Context;
use echoflow_pipeline::scenario::{Scenario, Shape};
use std::io::Write;
use std::path::PathBuf;

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
    let Some(dir) = &args.files else {
        return super::not_built::fail("loadgen (to Kafka; use --files DIR)", 8);
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

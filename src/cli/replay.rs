//! `echoflow replay` (SPEC §5): the dataflow over a requests file and a telemetry file (JSONL),
//! every output stream written, sorted, into a folder.

use anyhow::Context;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::layout::TimelyLayout;
use echoflow_pipeline::replay::{self, FILES, ReplayOptions};
use std::path::PathBuf;
use std::time::Instant;

/// Run the dataflow over JSONL files and write every output stream into a folder.
#[derive(clap::Args)]
pub struct Args {
    /// The pipeline.toml (environment overrides applied); the defaults when left out.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Requests, one JSON object per line (SPEC §2 `echoflow.requests`).
    #[arg(long)]
    requests: PathBuf,
    /// Telemetry, one JSON object per line (SPEC §2 `echoflow.telemetry`).
    #[arg(long)]
    telemetry: PathBuf,
    /// The folder for admitted.jsonl, rejections.jsonl, decisions.jsonl, control.jsonl and
    /// dead_letter.jsonl (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    layout: super::cluster::Layout,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    // The layout flags pick the process layout only: the outputs, and so the fingerprint in the
    // `config` event, do not depend on them.
    let config = super::config::load_optional(args.config.as_deref())?;
    let layout = args.layout.resolve(config.pipeline.workers)?;
    let mut params = Params::from_config(&config)?;
    params.config_event = Some((0, config.fingerprint()));
    let started = Instant::now();
    replay::run(ReplayOptions {
        params,
        requests: args.requests.clone(),
        telemetry: args.telemetry.clone(),
        out: args.out.clone(),
        timely: layout.clone(),
        allowed_lateness_ms: config.time.allowed_lateness_ms,
    })
    .with_context(|| format!("replay into {}", args.out.display()))?;
    // In cluster mode the outputs are written by process 0.
    if let TimelyLayout::Cluster { process, .. } = layout
        && process != 0
    {
        return Ok(());
    }
    let mut counts = Vec::new();
    for f in FILES {
        let path = args.out.join(f);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read back {}", path.display()))?;
        counts.push(format!(
            "{} {}",
            text.lines().count(),
            f.trim_end_matches(".jsonl")
        ));
    }
    eprintln!(
        "replay: {} in {:.2} s ({layout:?}) → {}",
        counts.join(", "),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

//! `echoflow simulate --trace T.csv --policy threshold|hpa|predictive [--config FILE] [--out DIR]`
//! (SPEC §5): drives one autoscaling policy against the modelled fleet and writes
//! `summary.json`, `decisions.jsonl`, `timeline.csv` and `chart.png` into `--out`.
//!
//! Parameters come from `--config` (`[autoscaler]`, `[simulate]`, environment overrides applied,
//! validated like `echoflow validate`), or are the SPEC §6 defaults without it (environment
//! overrides applied, as for `run` and `demo`); `--policy` overrides `autoscaler.policy`.

use std::path::PathBuf;

use echoflow_operators::autoscale::config::{AutoscalerConfig, PolicyKind};
use echoflow_pipeline::simulate::{self, Options};

/// Arguments of `echoflow simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Demand trace: CSV with the header `timestamp,value`.
    #[arg(long, value_name = "T.csv")]
    pub trace: PathBuf,
    /// The autoscaling policy.
    #[arg(long, value_parser = parse_policy)]
    pub policy: PolicyKind,
    /// pipeline.toml with `[autoscaler]` and `[simulate]` (environment overrides applied).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "simulate-out")]
    pub out: PathBuf,
    /// Write every decision to decisions.jsonl, holds included.
    #[arg(long)]
    pub all_decisions: bool,
}

fn parse_policy(s: &str) -> Result<PolicyKind, String> {
    s.parse()
        .map_err(|e: echoflow_operators::autoscale::config::UnknownPolicy| e.to_string())
}

/// Runs the simulation and prints the summary.
pub fn run(args: Args) -> anyhow::Result<()> {
    // Without a file: the defaults with the environment applied, through the same loader, so
    // `summary.json` echoes the resolved parameters (behavior windows included) either way.
    let config = super::config::load_optional(args.config.as_deref())?;
    let (auto, sim) = (config.autoscaler_params()?, config.simulate_params()?);
    let auto = AutoscalerConfig {
        policy: args.policy,
        ..auto
    };
    let options = Options {
        all_decisions: args.all_decisions,
        no_chart: false,
    };
    // The errors name the file, line and field themselves.
    let report = simulate::run(&args.trace, &auto, &sim, &args.out, options)?;
    let text = serde_json::to_string_pretty(&report.summary_json)?;
    println!("{text}");
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

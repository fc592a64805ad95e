//! Subcommands of the `echoflow` binary (SPEC §5), one module each.

mod cluster;
mod config;
mod demo;
mod loadgen;
mod passthrough;
mod replay;
mod reservoir;
mod run;
mod simulate;
mod validate;

use clap::{Parser, Subcommand};

/// A deterministic stream-processing control plane for fleets of model-serving backends.
#[derive(Parser)]
#[command(name = "echoflow", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded demo: a simulated fleet, no external service needed.
    Demo(demo::Args),
    /// Run the dataflow against Kafka.
    Run(run::Args),
    /// Run the dataflow over JSONL files and write every output stream into a folder.
    Replay(replay::Args),
    /// Check a pipeline.toml (environment overrides applied) and report every error.
    Validate(validate::Args),
    /// Produce a scenario's load to Kafka, with simulated membranes.
    Loadgen(loadgen::Args),
    /// Fit and evaluate Echo State Network models.
    #[command(subcommand)]
    Reservoir(reservoir::Command),
    /// Drive one autoscaling policy against a modelled fleet fed by a real trace.
    Simulate(simulate::Args),
    /// Move requests between Kafka topics through the connectors (test and benchmark harness).
    #[command(hide = true)]
    Passthrough(passthrough::Args),
}

/// Runs the chosen subcommand.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => run::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Loadgen(args) => loadgen::run(args),
        Command::Reservoir(cmd) => reservoir::run(cmd),
        Command::Simulate(args) => simulate::run(args),
        Command::Passthrough(args) => passthrough::run(args),
    }
}

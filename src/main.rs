//! The `echoflow` command line: a thin layer over the pipeline crate.
//!
//! Every subcommand lives in its own module under `cli/`; errors surface as one clear line on
//! standard error and a non-zero exit status.

/// mimalloc instead of glibc malloc: the dataflow allocates and frees many small strings and
/// vectors per record, where glibc's bin consolidation cost a third of replay time
/// (BENCHMARKS.md, "The dataflow").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ECHOFLOW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    if let Err(err) = cli::dispatch(cli) {
        eprintln!("echoflow: error: {err:#}");
        std::process::exit(1);
    }
}

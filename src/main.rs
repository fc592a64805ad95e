//! The `echoflow` command line: a thin layer over the pipeline crate.
//!
//! Every subcommand lives in its own module under `cli/`; errors surface as one clear line on
//! standard error and a non-zero exit status.

mod cli;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = cli::dispatch(cli) {
        eprintln!("echoflow: error: {err:#}");
        std::process::exit(1);
    }
}

//! `echoflow validate FILE` (SPEC §5, §6): checks a `pipeline.toml` with the environment's
//! `ECHOFLOW_…__…` overrides applied, exactly as start-up would.
//!
//! On success it prints one line with the fingerprint (the SHA-256 that `run` and `replay` emit
//! as their start-up `config` control event) and the overrides applied; `--print` adds the
//! effective configuration as TOML, secrets redacted. On failure it prints every problem, one
//! line each naming the file (and the line, variable or flag), and exits non-zero. A file that
//! cannot be read is one line.

use echoflow_pipeline::config::ConfigLoader;
use std::path::PathBuf;

/// Check a pipeline.toml (environment overrides applied) and report every error.
#[derive(clap::Args)]
pub struct Args {
    /// The configuration file.
    file: PathBuf,
    /// Also print the effective configuration (defaults filled in, secrets redacted).
    #[arg(long)]
    print: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let loader = ConfigLoader::from_path(&args.file).env(super::config::process_env());
    let name = loader.source_name();
    match loader.load_detailed() {
        Ok(loaded) => {
            let mut line = format!("{name}: valid; fingerprint {}", loaded.config.fingerprint());
            if !loaded.overrides.is_empty() {
                line.push_str(&format!(
                    "; overrides applied: {}",
                    loaded.overrides.join(", ")
                ));
            }
            println!("{line}");
            if args.print {
                print!("{}", loaded.config.to_redacted_toml()?);
            }
            Ok(())
        }
        Err(err) => Err(super::config::report(&name, err)),
    }
}

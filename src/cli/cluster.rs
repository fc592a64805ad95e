//! The timely layout flags shared by `run` and `replay`: `--workers`, and timely's cluster mode
//! with `--processes N --process I --hostfile F`.

use anyhow::{Context, bail};
use echoflow_pipeline::layout::TimelyLayout;
use std::path::{Path, PathBuf};

/// Worker threads and processes.
#[derive(clap::Args, Debug, Clone)]
pub struct Layout {
    /// Worker threads per process (overrides pipeline.workers); outputs do not depend on it.
    #[arg(long)]
    pub workers: Option<u32>,
    /// Processes in the cluster (timely cluster mode); needs --hostfile.
    #[arg(long)]
    pub processes: Option<usize>,
    /// This process's index in the hostfile (default: the ordinal at the end of $HOSTNAME, as a
    /// Kubernetes StatefulSet names its pods).
    #[arg(long)]
    pub process: Option<usize>,
    /// One `host:port` per line, one line per process.
    #[arg(long)]
    pub hostfile: Option<PathBuf>,
}

impl Layout {
    /// The layout, with `pipeline.workers` as the default thread count.
    pub fn resolve(&self, configured_workers: u32) -> anyhow::Result<TimelyLayout> {
        let workers = self.workers.unwrap_or(configured_workers);
        anyhow::ensure!(workers >= 1, "--workers = 0: allowed is an integer ≥ 1");
        let workers = workers as usize;
        let Some(n) = self.processes.filter(|n| *n > 1) else {
            return Ok(TimelyLayout::Process { workers });
        };
        let Some(hostfile) = &self.hostfile else {
            bail!("--processes {n} needs --hostfile FILE (one host:port per process)");
        };
        let addresses = read_hostfile(hostfile)?;
        if addresses.len() != n {
            bail!(
                "--hostfile {}: {} addresses for --processes {n}; allowed: exactly one per process",
                hostfile.display(),
                addresses.len()
            );
        }
        let process = match self.process {
            Some(p) => p,
            None => hostname_ordinal().context(
                "--process not given and $HOSTNAME does not end in -<ordinal>; pass --process I",
            )?,
        };
        if process >= n {
            bail!("--process {process}: allowed is 0..{}", n - 1);
        }
        Ok(TimelyLayout::Cluster {
            workers,
            process,
            addresses,
        })
    }
}

fn read_hostfile(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --hostfile {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

fn hostname_ordinal() -> Option<usize> {
    let h = std::env::var("HOSTNAME").ok()?;
    h.rsplit('-').next()?.parse().ok()
}

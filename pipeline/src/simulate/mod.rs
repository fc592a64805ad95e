//! `echoflow simulate` (SPEC §5): one autoscaling policy against the modelled fleet of
//! [`echoflow_operators::autoscale::fleet_model`], fed by a real trace.
//!
//! [`run`] reads the trace ([`trace`]), resolves the playback spacing (`simulate.row_ms`, or the
//! median spacing of the timestamps when 0, so gaps and jitter are ignored), drives the policy
//! over the whole trace and writes into the output folder ([`output`], [`chart`]):
//! - `summary.json`: the SPEC §5 totals plus the trace, the spacing, the scale and the parameters;
//! - `decisions.jsonl`: the decisions that changed the replica count and any cost veto, one JSON
//!   object per line in time order, `ts` = the trace's first timestamp + simulated time. echoflow deviation: every evaluation makes a decision (a
//!   15,000-row trace at 5 min makes 300,000, almost all holds), so holds are written only with
//!   [`Options::all_decisions`]; `summary.json` gives the count of evaluations either way;
//! - `timeline.csv`: one row per simulated minute;
//! - `chart.png`: demand, ready capacity, replicas and SLO-violation minutes over time.
//!
//! Parameters come as plain structs ([`AutoscalerConfig`], [`SimulateConfig`]) with SPEC §6
//! defaults; reading them from `pipeline.toml` is the configuration loader's job.

pub mod chart;
pub mod output;
pub mod trace;

use std::path::{Path, PathBuf};

use echoflow_operators::autoscale::config::{AutoscalerConfig, SimulateConfig};
use echoflow_operators::autoscale::decision::Action;
use echoflow_operators::autoscale::fleet_model::{self, ModelError, RunOutput, median_spacing_ms};
use echoflow_operators::autoscale::policy::build;

/// Options beyond the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Write every decision to `decisions.jsonl`, holds included.
    pub all_decisions: bool,
    /// Skip `chart.png` (for benchmarks of the model alone).
    pub no_chart: bool,
}

/// Why a simulation failed.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The trace cannot be read.
    #[error(transparent)]
    Trace(#[from] trace::TraceError),
    /// The trace and parameters do not make a model.
    #[error("{file}: {error}")]
    Model {
        /// The trace file.
        file: String,
        /// Why.
        error: ModelError,
    },
    /// An output file cannot be written.
    #[error("{}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The chart cannot be drawn.
    #[error("{}: cannot draw the chart: {message}", path.display())]
    Chart {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The model's output (summary and timeline).
    pub output: RunOutput,
    /// The `summary.json` document.
    pub summary_json: serde_json::Value,
    /// Decisions written to `decisions.jsonl`.
    pub decisions_written: u64,
}

/// Runs `auto.policy` over the trace at `trace_path` and writes the results into `out_dir`
/// (created if missing).
pub fn run(
    trace_path: &Path,
    auto: &AutoscalerConfig,
    sim: &SimulateConfig,
    out_dir: &Path,
    options: Options,
) -> Result<Report, SimulateError> {
    let file = trace_path.display().to_string();
    let trace = trace::read(trace_path)?;
    let row_ms = if sim.row_ms > 0 {
        sim.row_ms
    } else {
        median_spacing_ms(&trace.timestamps_ms).unwrap_or(0)
    };
    std::fs::create_dir_all(out_dir).map_err(|error| SimulateError::Write {
        path: out_dir.to_path_buf(),
        error,
    })?;
    let decisions_path = out_dir.join("decisions.jsonl");
    let mut decisions = output::JsonLines::create(&decisions_path)?;
    let mut policy = build(auto);
    // Decisions carry event time: the trace's first timestamp plus the simulated time.
    let start_ms = trace.timestamps_ms.first().map_or(0, |&t| t.max(0) as u64);
    let mut write_error = None;
    let out = fleet_model::run(&trace.values, row_ms, sim, auto, &mut policy, &mut |d| {
        let keep =
            options.all_decisions || d.action != Action::Hold || d.reason.starts_with("cost_veto");
        if keep && write_error.is_none() {
            let mut d = d.clone();
            d.ts += start_ms;
            if let Err(e) = decisions.write(&d) {
                write_error = Some(e);
            }
        }
    })
    .map_err(|error| SimulateError::Model {
        file: file.clone(),
        error,
    })?;
    if let Some(e) = write_error {
        return Err(e);
    }
    let decisions_written = decisions.finish()?;
    let name = trace_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.clone());
    let summary_json = output::summary_json(&out.summary, &name, decisions_written, auto, sim);
    output::write_json(&out_dir.join("summary.json"), &summary_json)?;
    output::write_timeline(&out_dir.join("timeline.csv"), &out.timeline)?;
    if !options.no_chart {
        let title = format!("{name} — {}", auto.policy);
        chart::draw(&out_dir.join("chart.png"), &title, &out.timeline)?;
    }
    Ok(Report {
        output: out,
        summary_json,
        decisions_written,
    })
}

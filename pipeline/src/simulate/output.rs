//! The files `simulate` writes: `summary.json`, `decisions.jsonl`, `timeline.csv`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use echoflow_operators::autoscale::config::{AutoscalerConfig, SimulateConfig};
use echoflow_operators::autoscale::decision::Decision;
use echoflow_operators::autoscale::fleet_model::{MinuteRow, Summary};
use serde_json::json;

use super::SimulateError;

fn werr(path: &Path) -> impl FnOnce(std::io::Error) -> SimulateError + '_ {
    move |error| SimulateError::Write {
        path: path.to_path_buf(),
        error,
    }
}

/// A JSON-lines file written as decisions arrive.
pub struct JsonLines {
    path: PathBuf,
    out: BufWriter<File>,
    lines: u64,
}

impl JsonLines {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self, SimulateError> {
        let f = File::create(path).map_err(werr(path))?;
        Ok(JsonLines {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
            lines: 0,
        })
    }

    /// Appends one decision.
    pub fn write(&mut self, d: &Decision) -> Result<(), SimulateError> {
        serde_json::to_writer(&mut self.out, d)
            .map_err(std::io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(werr(&self.path))?;
        self.lines += 1;
        Ok(())
    }

    /// Flushes; returns the number of lines.
    pub fn finish(mut self) -> Result<u64, SimulateError> {
        self.out.flush().map_err(werr(&self.path))?;
        Ok(self.lines)
    }
}

/// The `summary.json` document: the SPEC §5 fields, the trace's name and the parameters.
pub fn summary_json(
    s: &Summary,
    trace: &str,
    decisions_written: u64,
    auto: &AutoscalerConfig,
    sim: &SimulateConfig,
) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("trace".into(), json!(trace));
        obj.insert("decisions_written".into(), json!(decisions_written));
        obj.insert("forecast_nrmse".into(), json!(s.forecast_nrmse));
        obj.insert(
            "parameters".into(),
            json!({ "autoscaler": auto, "simulate": sim }),
        );
    }
    v
}

/// Writes a JSON document (pretty, with a final newline).
pub fn write_json(path: &Path, v: &serde_json::Value) -> Result<(), SimulateError> {
    let mut text = serde_json::to_string_pretty(v).map_err(|e| SimulateError::Write {
        path: path.to_path_buf(),
        error: std::io::Error::other(e),
    })?;
    text.push('\n');
    std::fs::write(path, text).map_err(werr(path))
}

/// The header of `timeline.csv`.
pub const TIMELINE_HEADER: &str = "minute,demand_rps,ready_capacity_rps,replicas,ready_replicas,replica_minutes,max_delay_s,delay_over_slo_s,violation,backlog";

/// Writes `timeline.csv`: one row per simulated minute.
pub fn write_timeline(path: &Path, rows: &[MinuteRow]) -> Result<(), SimulateError> {
    let f = File::create(path).map_err(werr(path))?;
    let mut w = BufWriter::new(f);
    let mut go = || -> std::io::Result<()> {
        writeln!(w, "{TIMELINE_HEADER}")?;
        for r in rows {
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{}",
                r.minute,
                r.demand_rps,
                r.ready_capacity_rps,
                r.replicas,
                r.ready_replicas,
                r.replica_minutes,
                r.max_delay_s,
                r.delay_over_slo_s,
                u8::from(r.violation),
                r.backlog
            )?;
        }
        w.flush()
    };
    go().map_err(werr(path))
}

//! `echoflow demo`: the whole dataflow on a synthetic fleet, embedded — no Kafka, no service.
//!
//! The demo writes a [`Scenario`] (by default `mixed`: a cpu spike, a memory ramp, an error
//! burst on one membrane and one malformed request in 500) into `OUT/input/`, replays it through
//! the same dataflow `run` uses ([`crate::replay`]) into `OUT/`, and summarises what happened:
//! outcomes by reason, control events by kind, scaling decisions, and the throughput in events
//! (requests + telemetry) per second of wall-clock time.

use crate::dataflow::Params;
use crate::layout::TimelyLayout;
use crate::replay::{self, FILES, ReplayError, ReplayOptions};
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone)]
pub struct DemoOptions {
    pub scenario: Scenario,
    pub params: Params,
    pub out: PathBuf,
    pub workers: usize,
}

/// What the demo did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    pub requests: u64,
    pub telemetry: u64,
    /// Outcome → count: `admitted`, each rejection reason, `dead_letter`.
    pub outcomes: BTreeMap<String, u64>,
    /// Control event kind → count.
    pub control: BTreeMap<String, u64>,
    /// Decision action → count.
    pub decisions: BTreeMap<String, u64>,
    pub generate: Duration,
    pub replay: Duration,
}

impl DemoSummary {
    /// Input events per second of the replay.
    pub fn events_per_s(&self) -> f64 {
        (self.requests + self.telemetry) as f64 / self.replay.as_secs_f64().max(1e-9)
    }
}

/// Errors of the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read back {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Replay(#[from] ReplayError),
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<u64, DemoError> {
    let err = |error| DemoError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(err)?);
    let mut n = 0;
    for l in lines {
        w.write_all(l.as_bytes()).map_err(err)?;
        w.write_all(b"\n").map_err(err)?;
        n += 1;
    }
    w.flush().map_err(err)?;
    Ok(n)
}

/// Generates the input, replays it and counts the outputs.
pub fn run(o: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let input = o.out.join("input");
    std::fs::create_dir_all(&input).map_err(|error| DemoError::Write {
        path: input.clone(),
        error,
    })?;
    let started = Instant::now();
    let requests = write_lines(&input.join("requests.jsonl"), o.scenario.requests())?;
    let telemetry = write_lines(&input.join("telemetry.jsonl"), o.scenario.telemetry())?;
    let generate = started.elapsed();
    let started = Instant::now();
    replay::run(ReplayOptions {
        params: o.params.clone(),
        requests: input.join("requests.jsonl"),
        telemetry: input.join("telemetry.jsonl"),
        out: o.out.clone(),
        timely: TimelyLayout::Process { workers: o.workers },
        allowed_lateness_ms: 0,
    })?;
    let replay = started.elapsed();
    let mut s = DemoSummary {
        requests,
        telemetry,
        generate,
        replay,
        ..DemoSummary::default()
    };
    let count = |file: &str, field: Option<&str>, into: &mut BTreeMap<String, u64>| {
        let path = o.out.join(file);
        let text = std::fs::read_to_string(&path).map_err(|error| DemoError::Read {
            path: path.clone(),
            error,
        })?;
        for line in text.lines() {
            let key = match field {
                None => file.trim_end_matches(".jsonl").to_string(),
                Some(f) => serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v[f].as_str().map(str::to_string))
                    .unwrap_or_default(),
            };
            *into.entry(key).or_default() += 1;
        }
        Ok::<_, DemoError>(())
    };
    let mut outcomes = BTreeMap::new();
    count(FILES[0], None, &mut outcomes)?;
    count(FILES[1], Some("reason"), &mut outcomes)?;
    count(FILES[4], None, &mut outcomes)?;
    let mut decisions = BTreeMap::new();
    count(FILES[2], Some("action"), &mut decisions)?;
    let mut control = BTreeMap::new();
    count(FILES[3], Some("kind"), &mut control)?;
    s.outcomes = outcomes;
    s.decisions = decisions;
    s.control = control;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::scenario::Shape;

    #[test]
    fn the_demo_accounts_for_every_request() {
        let out = std::env::temp_dir().join(format!("echoflow-demo-test-{}", std::process::id()));
        let scenario = Scenario {
            duration_ms: 5_000,
            ..Scenario::new(Shape::Mixed)
        };
        let params = Params::from_config(&Config::default()).unwrap();
        let s = run(&DemoOptions {
            scenario,
            params,
            out: out.clone(),
            workers: 2,
        })
        .unwrap();
        assert_eq!(s.requests, 5_000);
        assert_eq!(s.telemetry, 150);
        // Every request once: admitted + rejections + request dead letters (telemetry is clean).
        assert_eq!(s.outcomes.values().sum::<u64>(), s.requests);
        assert_eq!(s.outcomes["dead_letter"], 10);
        assert!(s.control["membrane"] >= 3);
        assert!(s.events_per_s() > 0.0);
    }
}

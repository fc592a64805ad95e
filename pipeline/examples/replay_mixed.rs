//! The whole dataflow in one process, on files: generate the `mixed` scenario (a fleet that
//! goes through a CPU spike, a memory ramp, a filling queue, an error burst and a load step,
//! with one malformed request in 500), replay it with one and with two timely workers, and
//! check the two promises every run makes:
//!
//! - **nothing is lost**: every request id ends in exactly one of `admitted.jsonl` and
//!   `rejections.jsonl`, and every malformed line in `dead_letter.jsonl`;
//! - **determinism**: the output files are the same, sorted, for any number of workers.
//!
//! It then prints how the requests ended, by reason. The configuration is a TOML text with one
//! override (`[routing] strategy`), loaded through the same loader as `pipeline.toml`, so every
//! other key has its SPEC §6 default.
//!
//! ```text
//! cargo run --release -p echoflow-pipeline --example replay_mixed
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use echoflow_pipeline::config::ConfigLoader;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::replay::{self, ReplayOptions};
use echoflow_pipeline::run::TimelyLayout;
use echoflow_pipeline::scenario::{Scenario, Shape};
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("echoflow-example-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let scenario = Scenario {
        duration_ms: 30_000,
        rate: 500.0,
        ..Scenario::new(Shape::Mixed)
    };
    write_lines(&dir.join("requests.jsonl"), scenario.requests())?;
    write_lines(&dir.join("telemetry.jsonl"), scenario.telemetry())?;

    let config =
        ConfigLoader::from_text("example.toml", "[routing]\nstrategy = \"p2c\"\n").load()?;
    let params = Params::from_config(&config)?;
    let mut outputs = Vec::new();
    for workers in [1, 2] {
        let out = dir.join(format!("out{workers}"));
        replay::run(ReplayOptions {
            params: params.clone(),
            requests: dir.join("requests.jsonl"),
            telemetry: dir.join("telemetry.jsonl"),
            out: out.clone(),
            timely: TimelyLayout::Process { workers },
            allowed_lateness_ms: 0,
        })?;
        outputs.push(out);
    }

    // Determinism: the same files, sorted, for 1 and 2 workers.
    for name in [
        "admitted",
        "rejections",
        "decisions",
        "control",
        "dead_letter",
    ] {
        let one = sorted_lines(&outputs[0].join(format!("{name}.jsonl")))?;
        let two = sorted_lines(&outputs[1].join(format!("{name}.jsonl")))?;
        assert_eq!(one, two, "{name}.jsonl differs between 1 and 2 workers");
    }

    // Conservation: every request id exactly once across admitted and rejections.
    let out = &outputs[0];
    let admitted = records(&out.join("admitted.jsonl"))?;
    let rejections = records(&out.join("rejections.jsonl"))?;
    let dead = records(&out.join("dead_letter.jsonl"))?;
    let mut seen = BTreeSet::new();
    for r in admitted.iter().chain(&rejections) {
        let id = r["id"].as_str().ok_or("an outcome without an id")?;
        assert!(seen.insert(id.to_string()), "{id} ended twice");
    }
    let requests = scenario.requests().count();
    assert_eq!(
        seen.len() + dead.len(),
        requests,
        "every request line ends once"
    );

    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rejections {
        *by_reason
            .entry(r["reason"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    println!(
        "{requests} request lines over {} s of event time:",
        scenario.duration_ms / 1000
    );
    println!("  admitted     {:>6}", admitted.len());
    for (reason, n) in &by_reason {
        println!("  {reason:<12} {n:>6}");
    }
    println!(
        "  dead letter  {:>6}  (e.g. {})",
        dead.len(),
        dead.first()
            .map_or(String::new(), |d| d["error"].to_string())
    );
    println!(
        "{} scaling decisions, {} control events; identical for 1 and 2 workers",
        records(&out.join("decisions.jsonl"))?.len(),
        records(&out.join("control.jsonl"))?.len()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<(), Error> {
    let text: String = lines.map(|l| l + "\n").collect();
    std::fs::write(path, text)?;
    Ok(())
}

fn sorted_lines(path: &PathBuf) -> Result<Vec<String>, Error> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    Ok(lines)
}

fn records(path: &Path) -> Result<Vec<Value>, Error> {
    std::fs::read_to_string(path)?
        .lines()
        .map(|l| serde_json::from_str(l).map_err(Error::from))
        .collect()
}

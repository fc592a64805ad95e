//! `echoflow loadgen --closed-loop` against `echoflow run` on the real broker (issue #8): the
//! simulated membranes consume `echoflow.admitted` and report the load they received, so the
//! telemetry echoflow reads back is shaped by what echoflow admitted.

mod common;

use common::*;
use std::process::Command;

#[test]
fn loadgen_membranes_serve_what_run_admits() {
    let Some(b) = broker() else { return };
    let t = pipeline_topics(&b, "loop");
    let (config, _) = run_config(
        &b,
        "loadgen",
        &t,
        "[autoscaler]\npolicy = \"hpa\"\ninterval_ms = 2000\n",
    );
    let cfg = config.to_str().expect("UTF-8 path");
    let mut run = spawn_run(&config);
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_echoflow"))
            .args(["loadgen", "--config", cfg, "--closed-loop"])
            .args(["--seconds", "10", "--rate", "400", "--membranes", "2"]),
        "echoflow loadgen",
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "loadgen failed: {stderr}");
    // Let run finish the last outcomes, then stop it.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let exit = sigterm_within(&mut run, "echoflow run");
    assert!(exit.success(), "echoflow run exited with {exit}");

    let requests = count(&b, &t[0]);
    let admitted = read_all(&b, &t[2]);
    let rejected = count(&b, &t[3]);
    assert!(requests > 3_000, "{requests} requests produced; {stderr}");
    assert!(!admitted.is_empty(), "nothing admitted; {stderr}");
    assert!(admitted.len() as i64 + rejected <= requests + 1);
    // The telemetry's `requests` are calls the simulated membranes answered: only requests that
    // echoflow admitted to them, so more than none and at most what was admitted in all.
    let served: u64 = read_all(&b, &t[1])
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.payload).expect("telemetry JSON");
            v["requests"].as_u64().expect("requests")
        })
        .sum();
    assert!(served > 0, "the membranes served nothing; {stderr}");
    assert!(
        served <= admitted.len() as u64,
        "served {served} > admitted {}",
        admitted.len()
    );
    // Each membrane served its own share: the admitted records name the membranes that report.
    let named: std::collections::BTreeSet<String> = admitted
        .iter()
        .filter_map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.payload).ok()?["membrane"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert!(named.iter().all(|m| m.starts_with("m-")), "{named:?}");
    let _ = config.parent().map(std::fs::remove_dir_all);
}

//! Graceful shutdown (SPEC §7, issue #8): SIGTERM mid-stream makes `echoflow run` drain, flush,
//! commit and exit 0; a restart resumes from the committed offsets and every request ends up with
//! an outcome (at least once: a restart may repeat what was not yet committed).

mod common;

use common::*;
use echoflow_pipeline::scenario::{Scenario, Shape};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn sigterm_drains_commits_and_exits_zero_and_nothing_is_lost() {
    let Some(b) = broker() else { return };
    let t = pipeline_topics(&b, "term");
    let sc = Scenario {
        duration_ms: 60_000,
        rate: 2_000.0,
        ..Scenario::new(Shape::Steady)
    };
    let (requests, telemetry) = scenario_records(&sc);
    produce(&b, &t[0], &requests);
    produce(&b, &t[1], &telemetry);
    let (config, port) = run_config(&b, "sigterm", &t, "");
    let mut child = spawn_run(&config);
    // Mid-stream: some outcomes are out, not all.
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&b, &t[2]) + count(&b, &t[3]) < 5_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // SPEC §7 while it runs: alive, ready, and the series a dashboard needs.
    assert!(http_get(port, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(http_get(port, "/ready").starts_with("HTTP/1.1 200"));
    let scrape = http_get(port, "/metrics");
    for series in [
        "echoflow_requests_total{outcome=\"admitted\"}",
        "echoflow_aimd_scale 1",
        "echoflow_degradation_level 0",
        "echoflow_breaker_state{membrane=\"m-0\"} 0",
        "echoflow_red_avg_fill{membrane=\"m-2\"}",
        "echoflow_reservoir_eval_seconds",
    ] {
        assert!(
            scrape.contains(series),
            "{series} missing from /metrics:\n{scrape}"
        );
    }
    assert!(http_get(port, "/nope").starts_with("HTTP/1.1 404"));
    let exit = sigterm_within(&mut child, "echoflow run");
    assert!(
        exit.success(),
        "echoflow run exited with {exit} after SIGTERM"
    );
    let first = (count(&b, &t[2]) + count(&b, &t[3])) as usize;

    // Restart, bounded: it resumes from the committed offsets.
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_echoflow"))
            .args(["run", "--workers", "2", "--until-eof", "--config"])
            .arg(&config),
        "the restarted echoflow run",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ids = BTreeSet::new();
    let mut outcomes = 0usize;
    for topic in [&t[2], &t[3]] {
        for r in read_all(&b, topic) {
            let v: serde_json::Value = serde_json::from_slice(&r.payload).expect("JSON");
            ids.insert(v["id"].as_str().unwrap_or_default().to_string());
            outcomes += 1;
        }
    }
    let expected: BTreeSet<String> = requests.iter().map(|r| r.1.clone()).collect();
    assert_eq!(
        ids, expected,
        "every request has an outcome after the restart"
    );
    eprintln!(
        "SIGTERM after {first} outcomes; {} outcomes in all for {} requests ({} repeated)",
        outcomes,
        expected.len(),
        outcomes - expected.len()
    );
    assert_eq!(count(&b, &t[6]), 0);
}

/// One HTTP/1.1 GET against the metrics listener; the whole response.
fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics listener");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("send request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read response");
    out
}

//! SPEC §7 metrics against reality: `echoflow run` on a produced scenario, `/metrics` scraped over
//! HTTP. The new series (watermark lag, consumer lag, end-to-end latency) are present with sane
//! values, and every metric that a query of the Grafana dashboard names is in the scrape, so the
//! dashboard cannot drift from what echoflow exports.

mod common;

use common::*;
use echoflow_pipeline::scenario::{Scenario, Shape};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

const DASHBOARD: &str = "deploy/grafana/dashboards/echoflow.json";

/// Every `expr` of every panel of the dashboard.
fn dashboard_exprs() -> Vec<(String, Vec<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DASHBOARD);
    let text = std::fs::read_to_string(&path).expect("read the dashboard");
    let d: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    d["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .map(|p| {
            let title = p["title"].as_str().unwrap_or_default().to_string();
            let exprs = p["targets"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .filter_map(|t| t["expr"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (title, exprs)
        })
        .collect()
}

/// The identifiers `echoflow_[a-z0-9_]+` of a PromQL expression.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("echoflow_") {
        let boundary = rest[..i]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let tail = &rest[i..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        if boundary {
            names.insert(tail[..len].to_string());
        }
        rest = &tail[len..];
    }
    names
}

/// The series names of a Prometheus text scrape (histograms appear as `_bucket`, `_sum`,
/// `_count`, which is what a query names).
fn scraped_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// The values of the series whose line starts with `prefix`.
fn values(scrape: &str, prefix: &str) -> Vec<f64> {
    scrape
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn the_dashboard_parses_and_every_panel_queries_an_echoflow_metric() {
    let panels = dashboard_exprs();
    assert!(panels.len() >= 12, "{} panels", panels.len());
    for (title, exprs) in &panels {
        assert!(!exprs.is_empty(), "panel {title:?} has no expr");
        for e in exprs {
            assert!(
                !metric_names(e).is_empty(),
                "{title:?}: {e} names no metric"
            );
        }
    }
    let all: BTreeSet<String> = panels
        .iter()
        .flat_map(|(_, es)| es.iter().flat_map(|e| metric_names(e)))
        .collect();
    for needed in [
        "echoflow_requests_total",
        "echoflow_dead_letters_total",
        "echoflow_degradation_level",
        "echoflow_aimd_scale",
        "echoflow_aimd_state",
        "echoflow_red_avg_fill",
        "echoflow_red_drop_probability",
        "echoflow_breaker_state",
        "echoflow_desired_replicas",
        "echoflow_watermark_lag_seconds",
        "echoflow_consumer_lag",
        "echoflow_reservoir_eval_seconds_bucket",
        "echoflow_end_to_end_latency_seconds_bucket",
    ] {
        assert!(all.contains(needed), "no panel shows {needed}");
    }
}

#[test]
fn metric_names_are_whole_identifiers() {
    let names = metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(echoflow_a_bucket[5m]))) / not_echoflow_b + echoflow_c2",
    );
    assert_eq!(
        names,
        BTreeSet::from(["echoflow_a_bucket".to_string(), "echoflow_c2".to_string()])
    );
}

#[test]
fn a_live_run_exports_every_series_the_dashboard_queries() {
    let Some(b) = broker() else { return };
    let t = pipeline_topics(&b, "metrics");
    let sc = Scenario {
        duration_ms: 40_000,
        rate: 500.0,
        ..Scenario::new(Shape::Steady)
    };
    let (mut requests, telemetry) = scenario_records(&sc);
    // One undecodable request: a dead letter with an arrival.
    requests.push((0, "bad".into(), b"{not json".to_vec()));
    produce(&b, &t[0], &requests);
    produce(&b, &t[1], &telemetry);
    let (config, port) = run_config(&b, "metrics", &t, "");
    let mut child = spawn_run(&config);

    // Every request has its outcome in Kafka, then the series settle (statistics come each second).
    let expected = (requests.len() - 1) as i64;
    let deadline = Instant::now() + Duration::from_secs(180);
    while count(&b, &t[2]) + count(&b, &t[3]) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(&b, &t[2]) + count(&b, &t[3]), expected);
    let lag_series = format!(
        "echoflow_consumer_lag{{topic=\"{}\",partition=\"0\"}}",
        t[0]
    );
    let mut scrape = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        scrape = http_get(port, "/metrics");
        let caught_up = values(&scrape, &lag_series) == vec![0.0];
        let acked = values(&scrape, "echoflow_end_to_end_latency_seconds_count")
            .first()
            .is_some_and(|n| *n as i64 > expected);
        if caught_up && acked && scrape.contains("echoflow_desired_replicas") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let exit = sigterm_within(&mut child, "echoflow run");
    assert!(exit.success(), "echoflow run exited with {exit}");

    // (a) The new series, with sane values.
    for topic in [&t[0], &t[1]] {
        for p in 0..2 {
            let series = format!("echoflow_consumer_lag{{topic=\"{topic}\",partition=\"{p}\"}}");
            let v = values(&scrape, &series);
            assert!(v.len() == 1 && v[0] >= 0.0, "{series}: {v:?} in\n{scrape}");
        }
    }
    assert_eq!(
        values(&scrape, &lag_series),
        vec![0.0],
        "caught up:\n{scrape}"
    );
    for stream in ["requests", "telemetry"] {
        let v = values(
            &scrape,
            &format!("echoflow_watermark_lag_seconds{{stream=\"{stream}\""),
        );
        assert!(
            !v.is_empty() && v.iter().all(|s| s.is_finite()),
            "watermark lag of {stream}: {v:?}\n{scrape}"
        );
    }
    // Every outcome (admitted, rejected) and the request's dead letter was observed once its
    // acknowledgement came back; control events and decisions carry no arrival.
    let n = values(&scrape, "echoflow_end_to_end_latency_seconds_count");
    assert_eq!(n, vec![(expected + 1) as f64], "latency count:\n{scrape}");
    let sum = values(&scrape, "echoflow_end_to_end_latency_seconds_sum");
    assert!(
        sum.len() == 1 && sum[0] > 0.0 && sum[0].is_finite(),
        "latency sum {sum:?}"
    );
    assert!(scrape.contains("echoflow_end_to_end_latency_seconds_bucket{le=\"+Inf\"}"));

    // (b) Every metric any dashboard query names is exported.
    let exported = scraped_names(&scrape);
    for (title, exprs) in dashboard_exprs() {
        for e in exprs {
            for name in metric_names(&e) {
                assert!(
                    exported.contains(&name),
                    "panel {title:?} queries {name}, which /metrics does not export:\n{scrape}"
                );
            }
        }
    }
}

/// One HTTP/1.1 GET against the metrics listener; the whole response.
fn http_get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics listener");
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("send request");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read response");
    out
}

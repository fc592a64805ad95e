//! The product end to end (issue #7): a scenario produced to the real broker, `echoflow run` with
//! 2 workers, and the same input through `echoflow replay` from files give the same records.

mod common;

use common::*;
use echoflow_pipeline::scenario::{Scenario, Shape};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("echoflow-kafka-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn echoflow(args: &[&str]) {
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_echoflow"))
            .args(args)
            .env("ECHOFLOW_LOG", "warn"),
        "echoflow",
    );
    assert!(
        out.status.success(),
        "echoflow {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sorted_lines(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = lines.collect();
    v.sort();
    v
}

fn file_lines(path: &Path) -> Vec<String> {
    sorted_lines(
        std::fs::read_to_string(path)
            .expect("replay output")
            .lines()
            .map(str::to_string),
    )
}

fn topic_lines(brokers: &str, topic: &str) -> Vec<String> {
    sorted_lines(
        read_all(brokers, topic)
            .into_iter()
            .map(|r| String::from_utf8(r.payload).expect("UTF-8 output")),
    )
}

#[test]
fn run_on_kafka_with_two_workers_equals_replay_on_files() {
    let Some(b) = broker() else { return };
    let sc = Scenario {
        duration_ms: 20_000,
        ..Scenario::new(Shape::Mixed)
    };
    let names = TOPIC_ROLES;
    let t: BTreeMap<&str, String> = names
        .iter()
        .map(|n| (*n, unique(&format!("run.{n}"))))
        .collect();
    create(&b, &[t["requests"].as_str()], 4);
    create(&b, &[t["telemetry"].as_str()], 2);
    let outs: Vec<&str> = names[2..].iter().map(|n| t[n].as_str()).collect();
    create(&b, &outs, 3);

    // Each partition in ts order (SPEC §4: then Kafka ≡ replay holds).
    let requests: Vec<String> = sc.requests().collect();
    let telemetry: Vec<String> = sc.telemetry().collect();
    let req_records: Vec<_> = requests
        .iter()
        .enumerate()
        .map(|(i, l)| ((i % 4) as i32, format!("k{i}"), l.clone().into_bytes()))
        .collect();
    let tel_records: Vec<_> = telemetry
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("telemetry JSON");
            let m = v["membrane"].as_str().unwrap_or_default().to_string();
            let p = m.bytes().last().map_or(0, |c| i32::from(c % 2));
            (p, m, l.clone().into_bytes())
        })
        .collect();
    produce(&b, &t["requests"], &req_records);
    produce(&b, &t["telemetry"], &tel_records);

    let d = dir("equals-replay");
    let config = d.join("pipeline.toml");
    let topics = TOPIC_ROLES.map(|n| t[n].as_str());
    std::fs::write(&config, pipeline_toml(&b, &unique("group"), topics)).expect("write config");
    let cfg = config.to_str().expect("UTF-8 path");
    echoflow(&["run", "--config", cfg, "--workers", "2", "--until-eof"]);

    std::fs::write(d.join("requests.jsonl"), requests.join("\n") + "\n").expect("write");
    std::fs::write(d.join("telemetry.jsonl"), telemetry.join("\n") + "\n").expect("write");
    let out = d.join("out");
    echoflow(&[
        "replay",
        "--config",
        cfg,
        "--requests",
        d.join("requests.jsonl").to_str().expect("UTF-8"),
        "--telemetry",
        d.join("telemetry.jsonl").to_str().expect("UTF-8"),
        "--out",
        out.to_str().expect("UTF-8"),
    ]);

    for (topic, file) in [
        ("admitted", "admitted.jsonl"),
        ("rejections", "rejections.jsonl"),
        ("decisions", "decisions.jsonl"),
    ] {
        let kafka = topic_lines(&b, &t[topic]);
        let files = file_lines(&out.join(file));
        assert!(!files.is_empty(), "{file} is empty");
        assert_eq!(kafka.len(), files.len(), "{topic}: record counts");
        assert!(kafka == files, "{topic}: Kafka and replay records differ");
    }
    // Control events: the same, except the start-up config event's timestamp (wall clock in
    // `run`, 0 in `replay`); its fingerprint is the same.
    let not_config = |v: &Vec<String>| -> Vec<String> {
        v.iter()
            .filter(|l| !l.contains("\"kind\":\"config\""))
            .cloned()
            .collect()
    };
    let kc = topic_lines(&b, &t["control"]);
    let fc = file_lines(&out.join("control.jsonl"));
    assert_eq!(not_config(&kc), not_config(&fc));
    let fp = |v: &Vec<String>| -> BTreeSet<String> {
        v.iter()
            .filter(|l| l.contains("\"kind\":\"config\""))
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON")["to"].to_string())
            .collect()
    };
    assert_eq!(fp(&kc), fp(&fc));
    assert_eq!(fp(&kc).len(), 1);
    // Dead letters: the same errors and raw bytes; the source is the topic or the file.
    let errors = |v: Vec<String>| -> Vec<(String, String)> {
        let mut e: Vec<_> = v
            .iter()
            .map(|l| {
                let d: serde_json::Value = serde_json::from_str(l).expect("JSON");
                (d["error"].to_string(), d["raw"].to_string())
            })
            .collect();
        e.sort();
        e
    };
    let kd = topic_lines(&b, &t["dead"]);
    assert_eq!(kd.len(), 40, "one malformed line in 500");
    assert_eq!(
        errors(kd),
        errors(file_lines(&out.join("dead_letter.jsonl")))
    );
    // Conservation on Kafka: every valid request exactly once across admitted and rejections.
    let mut ids = BTreeMap::new();
    for topic in ["admitted", "rejections"] {
        for l in topic_lines(&b, &t[topic]) {
            let v: serde_json::Value = serde_json::from_str(&l).expect("JSON");
            *ids.entry(v["id"].as_str().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
    }
    assert_eq!(ids.len(), requests.len() - 40);
    assert!(ids.values().all(|n| *n == 1), "a request with two outcomes");
}

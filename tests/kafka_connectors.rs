//! The Kafka connectors end to end against the real broker (deploy/local/kafka.sh):
//! no loss across workers, dead letters for malformed input, `kill -9` recovery, idle partitions.

mod common;

use common::*;
use echoflow_connectors::dead_letter::DeadLetter;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_pipeline::passthrough::{self, PassthroughOptions};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

fn options(
    brokers: &str,
    input: &str,
    out: &str,
    rej: &str,
    dl: &str,
    workers: usize,
) -> PassthroughOptions {
    PassthroughOptions {
        client: KafkaClient::new(brokers),
        group_id: unique("group"),
        input: input.into(),
        output: out.into(),
        rejections: rej.into(),
        dead_letter: dl.into(),
        workers,
        stop_at_eof: true,
        idle_timeout: Duration::from_secs(5),
        allowed_lateness_ms: 0,
        shutdown: None,
    }
}

fn topics(brokers: &str, name: &str) -> [String; 4] {
    let t = [
        unique(&format!("{name}.in")),
        unique(&format!("{name}.out")),
        unique(&format!("{name}.rej")),
        unique(&format!("{name}.dl")),
    ];
    create(
        brokers,
        &t.iter().map(String::as_str).collect::<Vec<_>>(),
        8,
    );
    t
}

/// Ids in the output payloads with how often each appears.
fn id_counts(records: &[ReadBack]) -> HashMap<String, u32> {
    let mut m = HashMap::new();
    for r in records {
        let v: serde_json::Value = serde_json::from_slice(&r.payload).expect("output is JSON");
        let id = v["id"].as_str().expect("output has an id").to_string();
        *m.entry(id).or_default() += 1;
    }
    m
}

#[test]
fn hundred_thousand_records_two_workers_none_lost() {
    let Some(b) = broker() else { return };
    let [input, out, rej, dl] = topics(&b, "bulk");
    let n = 100_000u64;
    let records: Vec<_> = (0..n)
        .map(|i| {
            (
                (i % 8) as i32,
                format!("r{i}"),
                request(&format!("r{i}"), 1_000_000 + i),
            )
        })
        .collect();
    produce(&b, &input, &records);

    let opts = options(&b, &input, &out, &rej, &dl, 2);
    let stats = within("passthrough", move || passthrough::run(opts)).expect("passthrough");
    let ids = id_counts(&read_all(&b, &out));
    let mut missing_by_partition = BTreeMap::new();
    for i in (0..n).filter(|i| !ids.contains_key(&format!("r{i}"))) {
        *missing_by_partition.entry(i % 8).or_insert(0u64) += 1;
    }
    let missing: u64 = missing_by_partition.values().sum();
    let duplicates: u32 = ids.values().map(|c| c - 1).sum();
    eprintln!(
        "100k/8 partitions/2 workers: forwarded {}, missing {missing} {missing_by_partition:?}, duplicates {duplicates}",
        stats.forwarded
    );
    assert_eq!(
        missing, 0,
        "records missing from the output, by partition: {missing_by_partition:?}"
    );
    assert_eq!(stats.forwarded, n, "every record forwarded once by the run");
    assert_eq!((stats.late, stats.dead_letters), (0, 0));
    assert_eq!(ids.len() as u64, n);
    assert_eq!(count(&b, &rej) + count(&b, &dl), 0);
}

#[test]
fn malformed_records_become_dead_letters_naming_the_field() {
    let Some(b) = broker() else { return };
    let [input, out, rej, dl] = topics(&b, "malformed");
    // Every 100th record is malformed, cycling through several kinds; each names its field.
    let kinds: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "record"),
        (
            br#"{"id":"x","tenant":"t","feature":"f","priority":"low","input":[1]}"#.to_vec(),
            "'ts'",
        ),
        (
            br#"{"id":"x","ts":-3,"tenant":"t","feature":"f","priority":"low","input":[1]}"#
                .to_vec(),
            "'ts'",
        ),
        (
            br#"{"id":"x","ts":3,"tenant":"t","feature":"f","priority":"urgent","input":[1]}"#
                .to_vec(),
            "'priority'",
        ),
        (
            br#"{"id":"x","ts":3,"tenant":"t","feature":"f","priority":"low","input":[[1,2],[3]]}"#
                .to_vec(),
            "'input[1]'",
        ),
        (
            br#"{"id":"x","ts":3,"tenant":"t","feature":"f","priority":"low","input":[]}"#.to_vec(),
            "'input'",
        ),
        (
            br#"{"id":"","ts":3,"tenant":"t","feature":"f","priority":"low","input":[1]}"#.to_vec(),
            "'id'",
        ),
        (vec![0xff, 0xfe, 0x00, 0x7b], "record"),
        (br#"[1,2,3]"#.to_vec(), "record"),
        (
            br#"{"id":"x","ts":3,"tenant":7,"feature":"f","priority":"low","input":[1]}"#.to_vec(),
            "'tenant'",
        ),
    ];
    let n = 10_000u64;
    let mut records = Vec::new();
    let mut bad: BTreeMap<(i32, String), &str> = BTreeMap::new();
    for i in 0..n {
        let p = (i % 8) as i32;
        let key = format!("k{i}");
        if i % 100 == 37 {
            let (payload, field) = &kinds[(i / 100) as usize % kinds.len()];
            bad.insert((p, key.clone()), field);
            records.push((p, key, payload.clone()));
        } else {
            records.push((p, key.clone(), request(&key, 5_000 + i)));
        }
    }
    produce(&b, &input, &records);
    let opts = options(&b, &input, &out, &rej, &dl, 2);
    let stats = within("passthrough", move || passthrough::run(opts)).expect("passthrough");
    assert_eq!(stats.dead_letters, bad.len() as u64);
    assert_eq!(stats.forwarded, n - bad.len() as u64);

    // The dead letters are exactly the malformed records: match them by their source offset.
    let inputs = read_all(&b, &input);
    let by_offset: HashMap<(i32, i64), &ReadBack> = inputs
        .iter()
        .map(|r| ((r.partition, r.offset), r))
        .collect();
    let letters = read_all(&b, &dl);
    assert_eq!(
        letters.len(),
        bad.len(),
        "one dead letter per malformed record"
    );
    for l in &letters {
        let d: DeadLetter = serde_json::from_slice(&l.payload).expect("dead letter JSON");
        assert_eq!(d.source, input);
        let original = by_offset[&(d.partition, d.offset)];
        let key = String::from_utf8(original.key.clone().unwrap_or_default()).unwrap_or_default();
        let field = bad
            .get(&(d.partition, key.clone()))
            .unwrap_or_else(|| panic!("dead letter for a valid record {key}: {}", d.error));
        assert!(
            d.error.contains(field),
            "error {:?} should name {field}",
            d.error
        );
        assert_eq!(
            d.raw_bytes().expect("raw decodes"),
            original.payload,
            "raw bytes kept exactly"
        );
    }
    assert_eq!(
        id_counts(&read_all(&b, &out)).len() as u64,
        n - bad.len() as u64
    );
}

#[test]
fn kill_nine_mid_stream_then_restart_loses_nothing() {
    let Some(b) = broker() else { return };
    let [input, out, rej, dl] = topics(&b, "kill");
    let n = 200_000u64;
    let records: Vec<_> = (0..n)
        .map(|i| {
            (
                (i % 8) as i32,
                format!("r{i}"),
                request(&format!("r{i}"), 10_000 + i),
            )
        })
        .collect();
    produce(&b, &input, &records);
    let group = unique("killgroup");
    let exe = env!("CARGO_BIN_EXE_echoflow");
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = [
            "passthrough",
            "--brokers",
            &b,
            "--group",
            &group,
            "--input",
            &input,
            "--output",
            &out,
            "--rejections",
            &rej,
            "--dead-letter",
            &dl,
            "--workers",
            "2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let mut child = std::process::Command::new(exe)
        .args(args(&[]))
        .spawn()
        .expect("start passthrough");
    // Wait until part of the stream is through, then kill -9 mid-stream.
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let done = count(&b, &out);
        if done >= (n / 5) as i64 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "passthrough made no progress ({done})"
        );
        assert!(
            child.try_wait().expect("poll child").is_none(),
            "passthrough exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9"); // SIGKILL
    child.wait().expect("reap");
    let before = count(&b, &out);
    assert!(
        before < n as i64,
        "the kill came after the end; nothing was tested"
    );

    let status = std::process::Command::new(exe)
        .args(args(&["--until-eof"]))
        .status()
        .expect("restart passthrough");
    assert!(status.success());
    let ids = id_counts(&read_all(&b, &out));
    let missing = (0..n)
        .filter(|i| !ids.contains_key(&format!("r{i}")))
        .count();
    let duplicates: u32 = ids.values().map(|c| c - 1).sum();
    eprintln!(
        "kill -9 after {before} of {n} outputs: missing {missing}, duplicates from the restart {duplicates}"
    );
    assert_eq!(missing, 0, "records lost across kill -9");
}

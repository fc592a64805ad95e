//! JSONL source → sink through timely: same decoders as Kafka, dead letters with file name and
//! line, late records flagged, sorted output identical for 1 and 2 workers.

use echoflow_connectors::jsonl::{jsonl_sink, jsonl_source};
use echoflow_connectors::kafka::source::Ingested;
use echoflow_connectors::schema::{Request, RequestLimits};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use timely::dataflow::operators::vec::Map;

fn write_input(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    for i in 0..500u64 {
        let ts = 1000 + (i / 3) * 10;
        lines.push(format!(
            r#"{{"id":"r{i:03}","ts":{ts},"tenant":"t","feature":"f","priority":"high","input":[1,2]}}"#
        ));
        if i == 100 {
            lines.push("{broken".to_string());
        }
        if i == 200 {
            // Late: far behind the largest ts seen so far in this (single) partition.
            lines.push(
                r#"{"id":"late-1","ts":5,"tenant":"t","feature":"f","priority":"low","input":[1,2]}"#
                    .to_string(),
            );
        }
        if i == 300 {
            lines.push(String::new()); // blank lines are skipped, but still counted
        }
        if i == 400 {
            lines.push(
                r#"{"id":"x","ts":9999,"tenant":"t","feature":"f","priority":"low","input":[1,"a"]}"#
                    .to_string(),
            );
        }
    }
    let path = dir.join("requests.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write input");
    path
}

fn run(input: &Path, out: &Path, workers: usize) {
    let (input, out) = (input.to_path_buf(), out.to_path_buf());
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let errors = Rc::new(RefCell::new(Vec::new()));
        let probe = timely::dataflow::ProbeHandle::new();
        worker.dataflow::<u64, _, _>(|scope| {
            let limits = RequestLimits::default();
            let stream = jsonl_source(
                scope,
                &input,
                0,
                move |raw: &[u8]| Request::decode(raw, &limits).map(|r| (r.ts, r.id)),
                Rc::clone(&errors),
            )
            .expect("open input");
            let lines = stream.map(|item| match item {
                Ingested::OnTime(r) => (
                    (0u8, r.ts, r.value.clone()),
                    format!("ok {} {}", r.ts, r.value),
                ),
                Ingested::Late { record, .. } => (
                    (1, record.ts, record.value.clone()),
                    format!("late {} {}", record.ts, record.value),
                ),
                Ingested::Invalid(d) => (
                    (2, d.offset as u64, String::new()),
                    format!("dead {}:{}:{} {}", d.source, d.partition, d.offset, d.error),
                ),
            });
            use timely::dataflow::operators::Probe;
            jsonl_sink(lines, &out, Rc::clone(&errors)).probe_with(&probe);
        });
        while !probe.done() {
            worker.step();
        }
        assert!(errors.borrow().is_empty(), "{:?}", errors.borrow());
    })
    .expect("timely");
    for g in guards.join() {
        g.expect("worker");
    }
}

#[test]
fn file_round_trip_with_dead_letters_and_late_records() {
    let dir = std::env::temp_dir().join(format!("echoflow-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = write_input(&dir);
    let one = dir.join("one.jsonl");
    let two = dir.join("two.jsonl");
    run(&input, &one, 1);
    run(&input, &two, 2);
    let a = std::fs::read_to_string(&one).expect("output 1");
    let b = std::fs::read_to_string(&two).expect("output 2");
    assert_eq!(a, b, "1 and 2 workers give byte-identical files");
    let lines: Vec<&str> = a.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.starts_with("ok ")).count(), 500);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("late "))
            .collect::<Vec<_>>(),
        vec![&"late 5 late-1"]
    );
    let dead: Vec<&&str> = lines.iter().filter(|l| l.starts_with("dead ")).collect();
    assert_eq!(dead.len(), 2);
    // Line numbers are 1-based and count every line: r000..r100 are lines 1..101.
    assert!(
        dead[0].starts_with("dead requests.jsonl:0:102 record: not valid JSON"),
        "{}",
        dead[0]
    );
    assert!(dead[1].contains("field 'input[1]'"), "{}", dead[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

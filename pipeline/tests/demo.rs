//! The embedded demo end to end: the closed loop visibly acts (every control loop fires in its
//! phase), every request is accounted for, the outputs do not depend on the number of workers,
//! and `replay` of the inputs the demo recorded reproduces its outputs byte for byte.
//!
//! The demo is run at 1/20 of its default scale (1,000 requests/s offered, membranes of 400
//! requests/s, `aimd.max_rate` 1,800) so a debug-built test stays quick; the story and the
//! configuration are otherwise the built-in ones.

use echoflow_pipeline::config::ConfigLoader;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::demo::{self, DEMO_TOML, DemoOptions, DemoRun};
use echoflow_pipeline::layout::TimelyLayout;
use echoflow_pipeline::replay::{self, FILES, ReplayOptions};
use std::path::{Path, PathBuf};

fn params() -> Params {
    let toml = DEMO_TOML.replace("max_rate = 36000.0", "max_rate = 1800.0");
    assert_ne!(toml, DEMO_TOML, "the demo config sets aimd.max_rate");
    let config = ConfigLoader::from_text("demo.toml", toml).load().unwrap();
    let mut p = Params::from_config(&config).unwrap();
    p.config_event = Some((0, config.fingerprint()));
    p
}

fn out(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("echoflow-demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn small(out: PathBuf, workers: usize) -> DemoOptions {
    let mut o = DemoOptions::new(params(), out);
    o.workers = workers;
    o.rate = 1_000.0;
    o.fleet.service_rate = 400.0;
    o.fleet.queue_capacity = 400;
    o
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

fn lines(dir: &Path, file: &str) -> usize {
    read(dir, file).lines().count()
}

#[test]
fn the_closed_loop_acts_accounts_for_everything_and_replays_identically() {
    let dir = out("one");
    let run: DemoRun = demo::run(&small(dir.clone(), 1)).unwrap();
    let s = &run.summary;

    // Conservation: every offered request once in admitted, rejections or dead letters.
    assert_eq!(s.offered, 82_500); // 45 s × 1,000 + 15 s of surge × 2,500
    assert_eq!(run.requests, s.offered);
    assert_eq!(s.outcomes.values().sum::<u64>(), s.offered);
    let files = lines(&dir, FILES[0]) + lines(&dir, FILES[1]) + lines(&dir, FILES[4]);
    assert_eq!(files as u64, s.offered);
    assert_eq!(s.outcomes["dead_letter"], 82, "one in 1,000 is malformed");

    // Every loop acted in its phase.
    assert!(s.level_changes >= 2, "degradation: {s:?}");
    assert!(s.scale_range.0 <= 0.5, "AIMD halved: {s:?}");
    assert!(
        s.tripped.contains(&"m-1".to_string()),
        "m-1's breaker: {s:?}"
    );
    assert!(
        s.decisions.get("scale_up").copied().unwrap_or(0) >= 1,
        "autoscaler: {s:?}"
    );
    assert!(s.replica_range.1 > 4, "the fleet grew: {s:?}");
    assert!(s.outcomes.get("rate_limited").copied().unwrap_or(0) > 0);
    // The surge is shed, not admitted wholesale: admitted per second stays under the offer.
    let surge = &run.recorder.seconds[15];
    assert_eq!(surge.offered, 2_500);
    assert!(surge.admitted < surge.offered, "{surge:?}");

    // Files: the timeline has one row per second (+ header), the chart exists.
    assert_eq!(lines(&dir, "timeline.csv"), 61);
    assert!(std::fs::metadata(dir.join("chart.png")).unwrap().len() > 10_000);

    // Two workers: the same files.
    let two = out("two");
    demo::run(&small(two.clone(), 2)).unwrap();
    for f in FILES.iter().chain(["timeline.csv"].iter()) {
        assert!(read(&dir, f) == read(&two, f), "{f} differs with 2 workers");
    }

    // Replay of the recorded inputs: the same outputs.
    let replayed = out("replayed");
    replay::run(ReplayOptions {
        params: params(),
        requests: dir.join("input/requests.jsonl"),
        telemetry: dir.join("input/telemetry.jsonl"),
        out: replayed.clone(),
        timely: TimelyLayout::Process { workers: 2 },
        allowed_lateness_ms: 0,
    })
    .unwrap();
    for f in FILES {
        assert!(read(&dir, f) == read(&replayed, f), "{f} differs in replay");
    }
    for d in [dir, two, replayed] {
        let _ = std::fs::remove_dir_all(d);
    }
}

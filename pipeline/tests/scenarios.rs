//! Scenario tests through `replay` (issue #7): each operator's visible behaviour on a synthetic
//! fleet, conservation of requests, and byte-identical outputs for 1, 2 and 4 workers.

use echoflow_pipeline::config::ConfigLoader;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::layout::TimelyLayout;
use echoflow_pipeline::replay::{self, FILES, ReplayOptions};
use echoflow_pipeline::scenario::{Scenario, Shape};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh folder under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "echoflow-scenario-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for l in lines {
        writeln!(w, "{l}").unwrap();
    }
    w.flush().unwrap();
}

struct Outputs {
    dir: PathBuf,
    admitted: Vec<Value>,
    rejections: Vec<Value>,
    decisions: Vec<Value>,
    control: Vec<Value>,
    dead: Vec<Value>,
}

fn read(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Writes the scenario's files and replays them with `toml` as the configuration.
fn replay_with(s: &Scenario, toml: &str, workers: usize) -> Outputs {
    let dir = temp_dir(s.shape.as_str());
    write_lines(&dir.join("requests.jsonl"), s.requests());
    write_lines(&dir.join("telemetry.jsonl"), s.telemetry());
    replay_files(&dir, toml, workers, "out")
}

fn replay_files(dir: &Path, toml: &str, workers: usize, out: &str) -> Outputs {
    let config = ConfigLoader::from_text("test.toml", toml).load().unwrap();
    let mut params = Params::from_config(&config).unwrap();
    params.config_event = Some((0, config.fingerprint()));
    let out = dir.join(out);
    replay::run(ReplayOptions {
        params,
        requests: dir.join("requests.jsonl"),
        telemetry: dir.join("telemetry.jsonl"),
        out: out.clone(),
        timely: TimelyLayout::Process { workers },
        allowed_lateness_ms: config.time.allowed_lateness_ms,
    })
    .unwrap();
    Outputs {
        dir: out.clone(),
        admitted: read(&out.join(FILES[0])),
        rejections: read(&out.join(FILES[1])),
        decisions: read(&out.join(FILES[2])),
        control: read(&out.join(FILES[3])),
        dead: read(&out.join(FILES[4])),
    }
}

fn scenario(shape: Shape, seconds: u64) -> Scenario {
    Scenario {
        duration_ms: seconds * 1000,
        ..Scenario::new(shape)
    }
}

fn ts(v: &Value) -> u64 {
    v["ts"].as_u64().unwrap()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// Request id → priority, from the scenario's lines.
fn priorities(sc: &Scenario) -> BTreeMap<String, String> {
    sc.requests()
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .map(|v| (s(&v, "id"), s(&v, "priority")))
        .collect()
}

fn events<'a>(o: &'a Outputs, kind: &str) -> Vec<&'a Value> {
    o.control.iter().filter(|e| e["kind"] == kind).collect()
}

#[test]
fn every_request_ends_once_and_every_bad_line_once_in_dead_letter() {
    let sc = scenario(Shape::Mixed, 20);
    let o = replay_with(&sc, "", 2);
    let mut valid = BTreeSet::new();
    let mut bad_lines = BTreeSet::new();
    for (i, line) in sc.requests().enumerate() {
        let v: Value = serde_json::from_str(&line).unwrap();
        if line.contains("urgent") {
            bad_lines.insert(i as i64 + 1);
        } else {
            valid.insert(s(&v, "id"));
        }
    }
    assert!(!bad_lines.is_empty());
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for r in o.admitted.iter().chain(&o.rejections) {
        *seen.entry(s(r, "id")).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "ids with more than one outcome: {twice:?}"
    );
    assert_eq!(seen.keys().cloned().collect::<BTreeSet<_>>(), valid);
    let dead: BTreeSet<i64> = o
        .dead
        .iter()
        .map(|d| {
            assert_eq!(d["source"], "requests.jsonl");
            assert!(s(d, "error").contains('\''), "error names a field: {d}");
            d["offset"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(dead, bad_lines);
    assert_eq!(o.dead.len(), bad_lines.len());
    for r in &o.rejections {
        assert!(r["reason"].is_string() && r["level"].is_string(), "{r}");
    }
}

#[test]
fn one_two_and_four_workers_write_identical_files() {
    let sc = scenario(Shape::Mixed, 15);
    let one = replay_with(&sc, "", 1);
    let dir = one.dir.parent().unwrap().to_path_buf();
    for (w, name) in [(2, "out2"), (4, "out4")] {
        let other = replay_files(&dir, "", w, name);
        for f in FILES {
            let a = std::fs::read(one.dir.join(f)).unwrap();
            let b = std::fs::read(other.dir.join(f)).unwrap();
            assert!(a == b, "{f} differs between 1 and {w} workers");
        }
    }
    assert!(!one.admitted.is_empty() && !one.rejections.is_empty() && !one.dead.is_empty());
    assert!(events(&one, "aimd").len() > 3 && !events(&one, "breaker").is_empty());
}

#[test]
fn red_drops_at_the_fraction_its_average_fill_gives() {
    // m-0's queue is full; m-1 and m-2 sit at 85 % (± 2 % jitter) in the middle third.
    let sc = scenario(Shape::QueueFill, 60);
    let o = replay_with(&sc, "[routing]\nstrategy = \"round_robin\"", 1);
    let (from, to) = (sc.start_ms + 25_000, sc.start_ms + 40_000);
    let window = |v: &&Value| (from..to).contains(&ts(v));
    let mut routed = 0u32;
    let mut dropped = 0u32;
    let mut probabilities = Vec::new();
    for a in o.admitted.iter().filter(window) {
        if s(a, "membrane") != "m-0" && s(a, "priority") != "critical" {
            routed += 1;
        }
    }
    for r in o.rejections.iter().filter(window) {
        match s(r, "reason").as_str() {
            // m-0 reports 98–100 % full: red_drop while its average is below 1, else queue_full.
            "red_drop" if s(r, "membrane") == "m-0" => {}
            "red_drop" => {
                routed += 1;
                dropped += 1;
                probabilities.push(r["drop_probability"].as_f64().unwrap());
                let fill = r["avg_fill"].as_f64().unwrap();
                assert!((0.8..0.9).contains(&fill), "avg_fill {fill}");
            }
            "queue_full" => assert_eq!(s(r, "membrane"), "m-0", "{r}"),
            other => panic!("unexpected reason {other}: {r}"),
        }
    }
    // p = max_p · (fill − min_th) / (max_th − min_th) = 0.3 · 0.25 / 0.4 = 0.1875 at 85 %.
    let mean_p = probabilities.iter().sum::<f64>() / probabilities.len() as f64;
    assert!(
        (0.16..0.215).contains(&mean_p),
        "mean drop probability {mean_p}"
    );
    let fraction = f64::from(dropped) / f64::from(routed);
    assert!(
        (fraction - mean_p).abs() < 0.03,
        "dropped {dropped} of {routed} = {fraction}, expected ≈ {mean_p}"
    );
    let priority = priorities(&sc);
    assert!(
        o.rejections
            .iter()
            .filter(|r| r["reason"] == "red_drop")
            .all(|r| priority[&s(r, "id")] != "critical"),
        "a critical request was RED-dropped"
    );
    // Nothing is RED-dropped before the queues fill.
    assert!(
        o.rejections.iter().all(|r| ts(r) >= sc.start_ms + 20_000),
        "rejections before the queues filled"
    );
}

#[test]
fn aimd_halves_under_a_memory_ramp_and_recovers_by_ticks() {
    let sc = scenario(Shape::MemoryRamp, 60);
    let toml = "[degradation]\nenabled = false\n[aimd]\nmax_rate = 20000.0";
    let o = replay_with(&sc, toml, 2);
    let aimd = events(&o, "aimd");
    let scale = |e: &Value| e["scale"].as_f64().unwrap();
    assert_eq!(
        (s(aimd[0], "from"), s(aimd[0], "to")),
        ("normal".into(), "degraded".into())
    );
    assert_eq!(scale(aimd[0]), 0.5);
    // Further halvings above `emergency`, at least `cooldown_ms` (1 s) apart, never below 0.1.
    let halvings: Vec<_> = aimd.iter().take_while(|e| e["to"] == "degraded").collect();
    assert!(halvings.len() >= 3, "{halvings:?}");
    for w in halvings.windows(2).skip(1) {
        assert!(ts(w[1]) - ts(w[0]) >= 1_000);
        assert_eq!(scale(w[1]), (scale(w[0]) / 2.0).max(0.1));
    }
    assert_eq!(scale(halvings.last().unwrap()), 0.1);
    // Then recovering by +0.05 per 50 ms tick (holding while the pressure is in the band) to normal.
    let rest = &aimd[halvings.len()..];
    assert_eq!(s(rest[0], "to"), "recovering");
    for w in rest.windows(2) {
        assert!(
            (scale(w[1]) - scale(w[0]) - 0.05).abs() < 1e-9,
            "{} → {}",
            w[0],
            w[1]
        );
        assert_eq!(
            (ts(w[1]) - ts(rest[0])) % 50,
            0,
            "ticks at 50 ms steps: {}",
            w[1]
        );
    }
    let last = rest.last().unwrap();
    assert_eq!((s(last, "to"), scale(last)), ("normal".into(), 1.0));
    // The scale drives the token buckets: rate_limited only while the scale is below 1.
    let limited: Vec<_> = o
        .rejections
        .iter()
        .filter(|r| r["reason"] == "rate_limited")
        .collect();
    assert!(!limited.is_empty());
    for r in &limited {
        assert!((ts(aimd[0])..=ts(last)).contains(&ts(r)), "{r}");
        assert!(r["scale"].as_f64().unwrap() < 1.0);
    }
}

#[test]
fn degradation_gates_priorities_and_recovers_one_level_at_a_time() {
    let sc = scenario(Shape::CpuSpike, 60);
    let toml = "[aimd]\nenabled = false\n[degradation]\nrecovery_delay_ms = 3000";
    let o = replay_with(&sc, toml, 1);
    let deg = events(&o, "degradation");
    let steps: Vec<(String, String)> = deg.iter().map(|e| (s(e, "from"), s(e, "to"))).collect();
    let expected = [
        ("normal", "emergency"),
        ("emergency", "minimal"),
        ("minimal", "partial"),
        ("partial", "normal"),
    ];
    assert_eq!(
        steps,
        expected
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .to_vec()
    );
    assert_eq!(ts(deg[0]), sc.start_ms + 20_000);
    for w in deg[1..].windows(2) {
        assert_eq!(ts(w[1]) - ts(w[0]), 3_000, "one level per recovery delay");
    }
    assert!(ts(deg[1]) >= sc.start_ms + 40_000 + 3_000);
    let allowed = |t: u64| -> &[&str] {
        if t < ts(deg[0]) || t >= ts(deg[3]) {
            &["critical", "high", "medium", "low", "optional"]
        } else if t < ts(deg[1]) {
            &["critical"]
        } else if t < ts(deg[2]) {
            &["critical", "high"]
        } else {
            &["critical", "high", "medium", "low"]
        }
    };
    for a in &o.admitted {
        assert!(allowed(ts(a)).contains(&s(a, "priority").as_str()), "{a}");
        let expected_profile = if s(a, "level") == "normal" {
            "full"
        } else {
            "reduced"
        };
        assert_eq!(s(a, "profile"), expected_profile);
    }
    let priority = priorities(&sc);
    for r in &o.rejections {
        assert_eq!(r["reason"], "feature_disabled", "{r}");
        assert!(
            !allowed(ts(r)).contains(&priority[&s(r, "id")].as_str()),
            "{r}"
        );
    }
    assert!(o.rejections.len() > 1_000);
}

#[test]
fn breaker_opens_on_an_error_burst_and_traffic_moves_away() {
    let sc = scenario(Shape::ErrorBurst, 60);
    let o = replay_with(&sc, "[breaker]\nopen_ms = 5000", 2);
    let br: Vec<_> = events(&o, "breaker")
        .into_iter()
        .filter(|e| e["subject"] == "m-0")
        .collect();
    assert_eq!(
        (s(br[0], "from"), s(br[0], "to")),
        ("closed".into(), "open".into())
    );
    assert!(ts(br[0]) >= sc.start_ms + 20_000 && ts(br[0]) < sc.start_ms + 21_000);
    // Open → HalfOpen after exactly open_ms; during the burst HalfOpen fails back to Open.
    assert_eq!(s(br[1], "to"), "half_open");
    assert_eq!(ts(br[1]) - ts(br[0]), 5_000);
    let last = br.last().unwrap();
    assert_eq!(
        (s(last, "from"), s(last, "to")),
        ("half_open".into(), "closed".into())
    );
    assert!(ts(last) >= sc.start_ms + 40_000);
    // No request reaches m-0 while it is open.
    let mut open_since = None;
    let mut open_spans = Vec::new();
    for e in &br {
        match s(e, "to").as_str() {
            "open" => open_since = Some(ts(e)),
            _ => {
                if let Some(a) = open_since.take() {
                    open_spans.push(a..ts(e));
                }
            }
        }
    }
    for a in o.admitted.iter().filter(|a| a["membrane"] == "m-0") {
        assert!(!open_spans.iter().any(|sp| sp.contains(&ts(a))), "{a}");
    }
    assert!(
        o.admitted
            .iter()
            .any(|a| a["membrane"] == "m-0" && ts(a) > ts(last))
    );
    assert_eq!(
        o.rejections.len(),
        0,
        "the other membranes take the traffic"
    );
}

#[test]
fn hpa_scales_up_after_a_utilisation_step() {
    let sc = scenario(Shape::LoadStep, 60);
    let o = replay_with(
        &sc,
        "[autoscaler]\npolicy = \"hpa\"\n[degradation]\nenabled = false",
        1,
    );
    let at = |k: u64| {
        o.decisions
            .iter()
            .find(|d| ts(d) == sc.start_ms + k * 15_000)
            .unwrap_or_else(|| panic!("no decision at {k} × 15 s: {:?}", o.decisions))
    };
    assert_eq!(o.decisions.len(), 3, "one decision per 15 s interval");
    for d in &o.decisions {
        assert_eq!(
            (s(d, "policy"), s(d, "resource")),
            ("hpa".into(), "membranes".into())
        );
        assert_eq!(d["from"], 3);
    }
    let after = at(3);
    assert_eq!(s(after, "action"), "scale_up", "{after}");
    // ceil(3 · 0.95 / 0.7) = 5
    assert_eq!(after["to"], 5, "{after}");
    assert!(after["utilization"].as_f64().unwrap() > 0.9);
    assert_ne!(s(at(1), "action"), "scale_up");
}

#[test]
fn the_autoscaler_counts_shed_demand_as_demand() {
    let sc = scenario(Shape::Steady, 31);
    let util = |o: &Outputs| o.decisions[1]["utilization"].as_f64().unwrap();
    let calm = replay_with(&sc, "[autoscaler]\npolicy = \"hpa\"", 1);
    let shed = replay_with(
        &sc,
        "[autoscaler]\npolicy = \"hpa\"\n[aimd]\nmax_rate = 500.0",
        1,
    );
    assert!(calm.rejections.is_empty());
    let limited = shed
        .rejections
        .iter()
        .filter(|r| r["reason"] == "rate_limited")
        .count();
    assert!(limited > 5_000, "{limited}");
    assert!((util(&calm) - 0.4).abs() < 0.02, "{}", util(&calm));
    // cpu × (1 + shed / admitted): about half the demand is shed, so about twice the cpu.
    assert!(
        util(&shed) > 1.5 * util(&calm),
        "{} vs {}",
        util(&shed),
        util(&calm)
    );
    assert_eq!(s(&shed.decisions[1], "action"), "scale_up");
}

#[test]
fn a_time_window_breaker_opens_on_the_burst_too() {
    let sc = scenario(Shape::ErrorBurst, 30);
    let toml = "[breaker]\nwindow_type = \"time\"\nwindow_ms = 2000\nopen_ms = 5000";
    let o = replay_with(&sc, toml, 1);
    let opened: Vec<_> = events(&o, "breaker")
        .into_iter()
        .filter(|e| e["subject"] == "m-0" && e["to"] == "open")
        .collect();
    assert!(!opened.is_empty());
    let at = ts(opened[0]) - sc.start_ms;
    // 90 % failures from 10 s: the 2 s window reaches a 50 % failure rate about 1 s later.
    assert!(
        (10_500..=12_000).contains(&at),
        "opened {at} ms into the run"
    );
}

/// The slow loop's fleet view (differential collections: membranes alive with TTL expiry as
/// retractions, windowed cpu sums) against an oracle computed here from the telemetry lines:
/// `from` = membranes with a report at `t < E` and `t + ttl > E`; the utilisation = mean over the
/// ready ones of their mean cpu in `[E − interval, E)`. One membrane falls silent, one joins late.
#[test]
fn the_fleet_view_follows_membranes_coming_and_going() {
    let sc = Scenario {
        membranes: 4,
        ..scenario(Shape::Steady, 95)
    };
    let (ttl, interval) = (5_000u64, 15_000u64);
    let lines: Vec<(u64, String, String)> = sc
        .telemetry_keyed()
        .filter(|(t, m, _)| {
            let k = t - sc.start_ms;
            let silent = m == "m-3" && k >= 20_000;
            let not_yet = m == "m-2" && k < 40_000;
            !(silent || not_yet)
        })
        .collect();
    let dir = temp_dir("fleet-view");
    write_lines(&dir.join("requests.jsonl"), sc.requests());
    write_lines(
        &dir.join("telemetry.jsonl"),
        lines.iter().map(|(_, _, l)| l.clone()),
    );
    let toml = format!(
        "[autoscaler]\npolicy = \"hpa\"\n[degradation]\nenabled = false\n\
         [routing]\nmembrane_ttl_ms = {ttl}"
    );
    let o = replay_files(&dir, &toml, 2, "out");
    assert!(o.rejections.is_empty(), "{:?}", o.rejections.first());
    let reports: Vec<(u64, String, f64, f64, bool)> = lines
        .iter()
        .map(|(t, m, l)| {
            let v: Value = serde_json::from_str(l).unwrap();
            let (depth, cap) = (v["queue_depth"].as_f64(), v["queue_capacity"].as_f64());
            (
                *t,
                m.clone(),
                v["cpu"].as_f64().unwrap(),
                depth.unwrap() / cap.unwrap(),
                v["healthy"] == true,
            )
        })
        .collect();
    let request_times: Vec<u64> = sc
        .requests()
        .map(|l| {
            serde_json::from_str::<Value>(&l).unwrap()["ts"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(o.decisions.len(), 6, "{:?}", o.decisions);
    let mut counts_seen = BTreeSet::new();
    for d in &o.decisions {
        let e = ts(d);
        let mut last: BTreeMap<&str, (u64, bool)> = BTreeMap::new();
        let mut sums: BTreeMap<&str, (f64, f64, u32)> = BTreeMap::new();
        for (t, m, cpu, queue, healthy) in &reports {
            if *t < e {
                last.insert(m, (*t, *healthy));
                if *t + interval >= e {
                    let s = sums.entry(m).or_default();
                    *s = (s.0 + cpu, s.1 + queue, s.2 + 1);
                }
            }
        }
        let registered: Vec<&str> = last
            .iter()
            .filter(|(_, (t, _))| t + ttl > e)
            .map(|(m, _)| *m)
            .collect();
        assert_eq!(d["from"], registered.len(), "at {e}: {registered:?} {d}");
        counts_seen.insert(registered.len());
        let means: Vec<(f64, f64)> = registered
            .iter()
            .filter(|m| last[*m].1)
            .filter_map(|m| {
                sums.get(m)
                    .map(|(c, q, n)| (c / f64::from(*n), q / f64::from(*n)))
            })
            .collect();
        let mean =
            |f: fn(&(f64, f64)) -> f64| means.iter().map(f).sum::<f64>() / means.len() as f64;
        let want = mean(|m| m.0);
        let got = d["utilization"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-9, "at {e}: {got} vs {want}");
        // The queue and the outcome counts over the same window.
        let (want_queue, got_queue) = (mean(|m| m.1), d["interval"]["queue_fill"].as_f64());
        assert!(
            (got_queue.unwrap() - want_queue).abs() < 1e-9,
            "at {e}: {got_queue:?} vs {want_queue}"
        );
        let in_window = request_times
            .iter()
            .filter(|&&t| t < e && t + interval >= e);
        assert_eq!(d["interval"]["admitted"], in_window.count(), "at {e}: {d}");
        assert_eq!(d["interval"]["shed"], 0, "at {e}: {d}");
    }
    // The fleet was 3, then 2 after m-3's expiry, then 3 again when m-2 joined.
    assert_eq!(counts_seen, BTreeSet::from([2, 3]), "{:?}", o.decisions);
}

/// A session's requests are one sequence cut into pieces: each starts from the state the
/// previous one left (two at the same time run one after the other, in id order), a session idle
/// for `reservoir.session_ttl_ms` starts afresh, and requests without a session start from zero.
/// Expected outputs are computed here by running the model over the same inputs.
#[test]
fn sessions_carry_reservoir_state_between_requests() {
    use echoflow_operators::reservoir::{ArrayView2, Profile};
    use echoflow_pipeline::scenario::request_line;
    let sc = scenario(Shape::Steady, 10);
    let t0 = sc.start_ms;
    // (i, offset ms, id, session)
    let plan: [(u64, u64, &str, Option<&str>); 7] = [
        (1, 100, "r-1", Some("s-a")),
        (2, 200, "r-2", Some("s-a")),
        (3, 200, "r-3", Some("s-a")),
        (4, 200, "r-4", None),
        (5, 300, "r-5", Some("s-b")),
        (6, 400, "r-6", Some("s-a")),
        (7, 2_000, "r-7", Some("s-a")), // 1.6 s idle > the 1 s TTL: from zero
    ];
    let lines: Vec<String> = plan
        .iter()
        .map(|(i, dt, id, s)| request_line(7, *i, t0 + dt, id, 3, *s))
        .collect();
    let dir = temp_dir("sessions");
    write_lines(&dir.join("requests.jsonl"), lines.iter().cloned());
    write_lines(&dir.join("telemetry.jsonl"), sc.telemetry());
    let toml = "[degradation]\nenabled = false\n[reservoir]\nsession_ttl_ms = 1000";
    let o = replay_files(&dir, toml, 2, "out");
    assert_eq!(o.admitted.len(), plan.len(), "{:?}", o.rejections);

    let config = ConfigLoader::from_text("test.toml", toml).load().unwrap();
    let params = Params::from_config(&config).unwrap();
    let esn = params.model.get(Profile::Full);
    let input = |line: &str| -> Vec<f64> {
        let v: Value = serde_json::from_str(line).unwrap();
        let rows = v["input"].as_array().unwrap();
        rows.iter().map(|r| r[0].as_f64().unwrap()).collect()
    };
    let mut states: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((_, _, id, session), line) in plan.iter().zip(&lines) {
        let x = input(line);
        let x = ArrayView2::from_shape((x.len(), 1), &x[..]).unwrap();
        let mut state = esn.zero_state();
        if *id != "r-7"
            && let Some(s) = session
            && let Some(carried) = states.get(s)
        {
            state.clone_from(carried);
        }
        let want = esn.run_last(x, &mut state).unwrap();
        if let Some(s) = session {
            states.insert(s, state);
        }
        let got = o.admitted.iter().find(|a| a["id"] == *id).unwrap();
        let got: Vec<f64> = got["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y.as_f64().unwrap())
            .collect();
        assert_eq!(got, want, "{id}");
    }
    // Carrying state matters: r-2 differs from the same input evaluated from zero.
    let x = input(&lines[1]);
    let x = ArrayView2::from_shape((x.len(), 1), &x[..]).unwrap();
    let fresh = esn.run_last(x, &mut esn.zero_state()).unwrap();
    let r2 = &o.admitted.iter().find(|a| a["id"] == "r-2").unwrap()["output"];
    assert_ne!(r2[0].as_f64().unwrap(), fresh[0]);
}

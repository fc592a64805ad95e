//! `echoflow simulate` end to end through the built binary (SPEC §5): every trace in
//! `../shared/traces` (beside the repository, as CI clones it) × every policy — the files are
//! written, the summary has its fields and agrees with the timeline (replica-minutes are the
//! integral of replicas over the timeline), and the decisions file is consistent with the
//! summary. Plus the CLI's errors.

use std::path::{Path, PathBuf};
use std::process::Command;

const POLICIES: [&str; 3] = ["threshold", "hpa", "predictive"];

/// `../shared/traces` beside the repository; `ECHOFLOW_TRACES_DIR` overrides it (for checkouts,
/// such as git worktrees, that do not have `shared/` beside them).
fn traces_dir() -> PathBuf {
    match std::env::var_os("ECHOFLOW_TRACES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces"),
    }
}

fn traces() -> Vec<PathBuf> {
    let dir = traces_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "the real traces are missing: cannot read {} ({e}); put the shared/ folder beside the repository or set ECHOFLOW_TRACES_DIR",
            dir.display()
        )
    });
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no .csv trace in {}", dir.display());
    v
}

fn echoflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_echoflow"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "echoflow-simulate-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn num(v: &serde_json::Value, k: &str) -> f64 {
    v.get(k)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("summary field `{k}` missing or not a number: {v}"))
}

#[test]
fn simulate_every_trace_with_every_policy() {
    for trace in traces() {
        let stem = trace
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for policy in POLICIES {
            let out = out_dir(&format!("{stem}-{policy}"));
            let run = echoflow()
                .args(["simulate", "--policy", policy, "--trace"])
                .arg(&trace)
                .arg("--out")
                .arg(&out)
                .output()
                .expect("run echoflow");
            assert!(
                run.status.success(),
                "{policy} on {}: {}",
                trace.display(),
                String::from_utf8_lossy(&run.stderr)
            );
            for f in [
                "summary.json",
                "decisions.jsonl",
                "timeline.csv",
                "chart.png",
            ] {
                let meta = std::fs::metadata(out.join(f))
                    .unwrap_or_else(|e| panic!("{f} not written for {policy} on {stem}: {e}"));
                if f != "decisions.jsonl" {
                    assert!(meta.len() > 0, "{f} is empty");
                }
            }
            let png = std::fs::read(out.join("chart.png")).expect("chart");
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "chart.png is a PNG");

            let summary: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary"))
                    .expect("summary.json is JSON");
            assert_eq!(summary["policy"], policy);
            assert_eq!(
                summary["trace"].as_str(),
                trace.file_name().and_then(|n| n.to_str())
            );
            for k in [
                "simulated_minutes",
                "slo_violation_minutes",
                "delay_seconds_over_slo",
                "replica_minutes",
                "replica_minutes_above_min",
                "scale_ups",
                "scale_downs",
                "reversals",
                "max_replicas_used",
            ] {
                num(&summary, k);
            }
            if policy == "predictive" {
                assert!(num(&summary, "forecast_nrmse") > 0.0);
            }
            let minutes = num(&summary, "simulated_minutes");
            let rm = num(&summary, "replica_minutes");
            assert!(
                (num(&summary, "replica_minutes_above_min") - (rm - minutes)).abs()
                    < 1e-6 * rm.max(1.0)
            );
            assert!(num(&summary, "max_replicas_used") <= 10.0);

            // The timeline: one row per minute; its replica integral is the summary's.
            let timeline = std::fs::read_to_string(out.join("timeline.csv")).expect("timeline");
            let mut lines = timeline.lines();
            let header: Vec<&str> = lines.next().expect("header").split(',').collect();
            let col = |name: &str| {
                header
                    .iter()
                    .position(|h| *h == name)
                    .unwrap_or_else(|| panic!("column {name}"))
            };
            let (c_rm, c_rep, c_viol) = (col("replica_minutes"), col("replicas"), col("violation"));
            let (mut integral, mut mean_integral, mut rows, mut violations) =
                (0.0, 0.0, 0u64, 0u64);
            for l in lines {
                let f: Vec<&str> = l.split(',').collect();
                integral += f[c_rm].parse::<f64>().expect("replica_minutes");
                mean_integral += f[c_rep].parse::<f64>().expect("replicas");
                violations += u64::from(f[c_viol] == "1");
                rows += 1;
            }
            assert_eq!(rows as f64, minutes.ceil(), "one row per simulated minute");
            assert!((integral - rm).abs() < 1e-6 * rm, "{integral} vs {rm}");
            assert!(
                (mean_integral - rm).abs() < 1e-6 * rm,
                "replicas column integrates to {mean_integral}, not {rm}"
            );
            assert_eq!(violations as f64, num(&summary, "slo_violation_minutes"));

            // The decisions written are the scale events, in time order.
            let decisions =
                std::fs::read_to_string(out.join("decisions.jsonl")).expect("decisions");
            let (mut ups, mut downs, mut last_ts) = (0.0, 0.0, 0u64);
            for l in decisions.lines() {
                let d: serde_json::Value = serde_json::from_str(l).expect("a JSON decision");
                let ts = d["ts"].as_u64().expect("ts");
                assert!(ts >= last_ts);
                last_ts = ts;
                assert_eq!(d["policy"], policy);
                assert_eq!(d["resource"], "membranes");
                match d["action"].as_str() {
                    Some("scale_up") => ups += 1.0,
                    Some("scale_down") => downs += 1.0,
                    other => panic!("unexpected action {other:?}"),
                }
            }
            assert_eq!(ups, num(&summary, "scale_ups"));
            assert_eq!(downs, num(&summary, "scale_downs"));
            let _ = std::fs::remove_dir_all(&out);
        }
    }
}

#[test]
fn simulate_is_deterministic() {
    let trace = traces_dir().join("elb_request_count_8c0756.csv");
    let go = |n: &str| {
        let out = out_dir(n);
        let run = echoflow()
            .args(["simulate", "--policy", "predictive", "--trace"])
            .arg(&trace)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run echoflow");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let files: Vec<Vec<u8>> = ["summary.json", "decisions.jsonl", "timeline.csv"]
            .iter()
            .map(|f| std::fs::read(out.join(f)).expect("output"))
            .collect();
        let _ = std::fs::remove_dir_all(&out);
        files
    };
    assert_eq!(go("det-a"), go("det-b"));
}

#[test]
fn simulate_errors_are_one_clear_line() {
    let dir = out_dir("errors");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "timestamp,value\n2014-04-10 00:04:00,1\n2014-04-10 00:09:00,oops\n",
    )
    .expect("write");
    let run = echoflow()
        .args(["simulate", "--policy", "hpa", "--trace"])
        .arg(&bad)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .expect("run");
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("bad.csv:3: field `value`"), "{err}");

    let run = echoflow()
        .args([
            "simulate",
            "--policy",
            "hpa",
            "--config",
            "no-such-pipeline.toml",
            "--trace",
        ])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!run.status.success());
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("cannot read no-such-pipeline.toml"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let run = echoflow()
        .args(["simulate", "--policy", "vpa", "--trace"])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown policy"));

    let run = echoflow()
        .args(["simulate", "--policy", "hpa", "--trace"])
        .arg(dir.join("missing.csv"))
        .output()
        .expect("run");
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("missing.csv"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `simulate --policy hpa` on `trace` with `--config cfg`, in an empty environment.
fn simulate_hpa_with(trace: &Path, cfg: &Path, out: &Path) -> std::process::Output {
    simulate_with("hpa", trace, cfg, out)
}

/// `simulate --policy policy` on `trace` with `--config cfg`, in an empty environment.
fn simulate_with(policy: &str, trace: &Path, cfg: &Path, out: &Path) -> std::process::Output {
    echoflow()
        .args(["simulate", "--policy", policy, "--trace"])
        .arg(trace)
        .arg("--config")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .env_clear()
        .output()
        .expect("run simulate")
}

#[test]
fn simulate_reads_autoscaler_and_simulate_from_the_config() {
    let trace = traces_dir().join("elb_request_count_8c0756.csv");
    let dir = out_dir("config");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cfg = dir.join("pipeline.toml");
    std::fs::write(
        &cfg,
        "[autoscaler]\nmax_replicas = 4\n[simulate]\nslo_ms = 500\n",
    )
    .expect("write config");
    let out = dir.join("out");
    let status = simulate_hpa_with(&trace, &cfg, &out);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("summary is JSON");
    assert!(num(&summary, "max_replicas_used") <= 4.0, "{summary}");
    assert_eq!(summary["parameters"]["simulate"]["slo_ms"], 500);

    std::fs::write(&cfg, "[autoscaler]\nmax_replicas = 0\n").expect("write config");
    let bad = simulate_hpa_with(&trace, &cfg, &out);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("autoscaler.max_replicas = 0"), "{err}");
}

/// Runs `predictive` on `trace` with `[autoscaler] key = value` (files under `dir`); returns
/// the output folder and its summary.json.
fn predictive_with(
    dir: &Path,
    trace: &Path,
    key: &str,
    value: bool,
) -> (PathBuf, serde_json::Value) {
    let cfg = dir.join(format!("{key}_{value}.toml"));
    std::fs::write(&cfg, format!("[autoscaler]\n{key} = {value}\n")).expect("write config");
    let out = dir.join(format!("out_{key}_{value}"));
    let run = simulate_with("predictive", trace, &cfg, &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    let summary = serde_json::from_str(&text).expect("summary is JSON");
    (out, summary)
}

#[test]
fn early_scale_down_false_reaches_the_predictive_policy() {
    let trace = traces_dir().join("elb_request_count_8c0756.csv");
    let dir = out_dir("early");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let summary = |early: bool| predictive_with(&dir, &trace, "early_scale_down", early).1;
    let (early, late) = (summary(true), summary(false));
    assert_eq!(early["parameters"]["autoscaler"]["early_scale_down"], true);
    assert_eq!(late["parameters"]["autoscaler"]["early_scale_down"], false);
    // Holding for the stabilisation window changes the run (the early release is what wins
    // predictive its replica-minutes on this trace: BENCHMARKS.md).
    assert!(
        num(&late, "replica_minutes") > num(&early, "replica_minutes"),
        "late {} vs early {}",
        num(&late, "replica_minutes"),
        num(&early, "replica_minutes")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rate_limit_scale_up_reaches_the_predictive_policy() {
    // One-minute rows: a quiet half hour at a tenth of the peak, then the peak for ten minutes.
    // The burst finds a fleet of one or two replicas whose raw HPA recommendation is far above
    // what HPA's scale-up rules (max(+4, +100 %) per 15 s) allow in one step.
    let dir = out_dir("rate-limit");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trace = dir.join("burst.csv");
    let rows: String = (0..60)
        .map(|m| {
            let v = if (30..40).contains(&m) { 100 } else { 10 };
            format!("2024-01-01 00:{m:02}:00,{v}\n")
        })
        .collect();
    std::fs::write(&trace, format!("timestamp,value\n{rows}")).expect("write trace");
    let decisions = |limited: bool| {
        let (out, summary) = predictive_with(&dir, &trace, "rate_limit_scale_up", limited);
        assert_eq!(
            summary["parameters"]["autoscaler"]["rate_limit_scale_up"],
            limited
        );
        std::fs::read_to_string(out.join("decisions.jsonl"))
            .expect("decisions.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON decision"))
            .filter(|d| d["action"] == "scale_up")
            .map(|d| {
                let (from, to) = (num(&d, "from"), num(&d, "to"));
                (
                    from,
                    to,
                    d["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let allowed = |from: f64| (2.0 * from).max(from + 4.0);
    let (raw, limited) = (decisions(false), decisions(true));
    assert!(
        raw.iter().any(|&(from, to, _)| to > allowed(from)),
        "the raw floor jumps past HPA's rate limit: {raw:?}"
    );
    assert!(
        limited.iter().all(|&(from, to, _)| to <= allowed(from)),
        "{limited:?}"
    );
    assert!(
        limited
            .iter()
            .any(|(_, _, why)| why.contains("scale-up rules allow")),
        "{limited:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without `--config`, `simulate` takes the defaults through the same loader as `run`: the
/// environment applies, the echoed parameters are the resolved ones, and the summary equals
/// the one an empty `pipeline.toml` gives.
#[test]
fn simulate_without_a_config_reads_the_defaults_and_the_environment() {
    let trace = traces_dir().join("elb_request_count_8c0756.csv");
    let dir = out_dir("no-config");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let run = |config: Option<&Path>, env: &[(&str, &str)], out: &Path| {
        let mut cmd = echoflow();
        cmd.args(["simulate", "--policy", "hpa", "--trace"])
            .arg(&trace)
            .arg("--out")
            .arg(out)
            .env_clear()
            .envs(env.iter().copied());
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        let o = cmd.output().expect("run simulate");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
        serde_json::from_str::<serde_json::Value>(&text).expect("summary is JSON")
    };
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").expect("write config");
    let bare = run(None, &[], &dir.join("bare"));
    assert_eq!(bare, run(Some(&empty), &[], &dir.join("empty")));
    let behavior = &bare["parameters"]["autoscaler"]["behavior"];
    assert_eq!(behavior["scale_up"]["stabilization_window_ms"], 0);
    assert_eq!(behavior["scale_down"]["stabilization_window_ms"], 300_000);
    let env = run(
        None,
        &[("ECHOFLOW_SIMULATE__SLO_MS", "500")],
        &dir.join("env"),
    );
    assert_eq!(env["parameters"]["simulate"]["slo_ms"], 500);
    assert!(
        num(&env, "slo_violation_minutes") >= num(&bare, "slo_violation_minutes"),
        "a tighter SLO cannot be violated less: {env} vs {bare}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! End to end through the built binary: `echoflow reservoir fit` then `eval` (SPEC §5), and the
//! one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use echoflow_operators::reservoir::mackey_glass;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "echoflow-reservoir-cli-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn echoflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echoflow"))
        .args(args)
        .output()
        .expect("run echoflow")
}

fn write_series(path: &Path, rows: impl Iterator<Item = f64>) {
    let text: String = rows.map(|v| format!("{v}\n")).collect();
    std::fs::write(path, text).expect("write series");
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn fit_then_eval_predicts_unseen_mackey_glass() {
    let d = dir("fit-eval");
    let series = mackey_glass(3000, 0);
    let (train, test, model, pred) = (
        d.join("train.csv"),
        d.join("test.csv"),
        d.join("m.npz"),
        d.join("p.csv"),
    );
    write_series(&train, series.iter().take(2001).copied());
    write_series(&test, series.iter().skip(2000).copied());

    let fit = echoflow(&[
        "reservoir",
        "fit",
        "--series",
        s(&train),
        "--out",
        s(&model),
        "--units",
        "60",
        "--seed",
        "3",
    ]);
    assert!(
        fit.status.success(),
        "{}",
        String::from_utf8_lossy(&fit.stderr)
    );
    assert!(String::from_utf8_lossy(&fit.stdout).contains("training NRMSE"));

    let eval = echoflow(&[
        "reservoir",
        "eval",
        "--model",
        s(&model),
        "--series",
        s(&test),
        "--out",
        s(&pred),
        "--warmup",
        "200",
    ]);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let out = String::from_utf8_lossy(&eval.stdout);
    let score: f64 = out
        .trim()
        .strip_prefix("NRMSE ")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unexpected eval output: {out}"));
    assert!(score < 0.05, "next-step NRMSE {score}");
    let rows = std::fs::read_to_string(&pred).expect("predictions");
    assert_eq!(rows.lines().count(), 1000);
    // Row t is the forecast of row t + 1.
    let last_pred: f64 = rows
        .lines()
        .nth(998)
        .and_then(|l| l.parse().ok())
        .expect("number");
    assert!((last_pred - series[(2999, 0)]).abs() < 0.05);
}

#[test]
fn errors_are_one_line_naming_the_culprit() {
    let d = dir("errors");
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "0.1,0.2\n0.3,x\n").expect("write");
    let missing = d.join("missing.npz");
    let garbage = d.join("garbage.npz");
    std::fs::write(&garbage, "not a zip").expect("write");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "reservoir",
                "fit",
                "--series",
                s(&bad),
                "--out",
                s(&garbage),
            ],
            "line 2, column 2",
        ),
        (
            vec![
                "reservoir",
                "fit",
                "--series",
                s(&bad),
                "--out",
                s(&garbage),
                "--lr",
                "1.5",
            ],
            "--lr",
        ),
        (
            vec![
                "reservoir",
                "eval",
                "--model",
                s(&missing),
                "--series",
                s(&bad),
            ],
            "missing.npz",
        ),
        (
            vec![
                "reservoir",
                "eval",
                "--model",
                s(&garbage),
                "--series",
                s(&bad),
            ],
            "garbage.npz",
        ),
    ];
    for (args, needle) in cases {
        let o = echoflow(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

//! `echoflow validate FILE` through the built binary: each kind of bad configuration gives its
//! precise message (naming the file) and a non-zero exit; a valid one prints its fingerprint.
//! The binary runs with a cleared environment plus exactly the variables each case sets.

use echoflow_pipeline::config::{Config, ConfigLoader};
use std::path::PathBuf;
use std::process::{Command, Output};

fn write(name: &str, text: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("validate-{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn validate(path: &PathBuf, env: &[(&str, &str)], extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_echoflow"))
        .arg("validate")
        .args(extra)
        .arg(path)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_valid_file_prints_its_fingerprint() {
    let path = write("valid", "[red]\nmax_p = 0.25\n");
    let out = validate(&path, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
    let expected = ConfigLoader::from_path(&path).load().unwrap().fingerprint();
    assert_eq!(
        stdout(&out),
        format!("{}: valid; fingerprint {expected}\n", path.display())
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn the_example_and_an_empty_file_are_valid_with_the_default_fingerprint() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/pipeline.example.toml");
    let empty = write("empty", "");
    let fingerprint = Config::default().fingerprint();
    for path in [example, empty] {
        let out = validate(&path, &[], &[]);
        assert_eq!(out.status.code(), Some(0), "{:?}", stderr_lines(&out));
        assert!(stdout(&out).contains(&fingerprint), "{}", stdout(&out));
    }
}

#[test]
fn environment_overrides_are_applied_and_listed() {
    let path = write("env", "");
    let out = validate(&path, &[("ECHOFLOW_RED__MAX_P", "0.2")], &[]);
    assert_eq!(out.status.code(), Some(0));
    let with_env = ConfigLoader::from_text("x", "[red]\nmax_p = 0.2")
        .load()
        .unwrap()
        .fingerprint();
    assert_eq!(
        stdout(&out),
        format!(
            "{}: valid; fingerprint {with_env}; overrides applied: ECHOFLOW_RED__MAX_P\n",
            path.display()
        )
    );
}

#[test]
fn print_shows_the_effective_configuration_redacted() {
    let path = write("print", "[kafka.client]\n\"sasl.username\" = \"alice\"\n");
    let out = validate(
        &path,
        &[("ECHOFLOW_KAFKA__CLIENT__SASL_PASSWORD", "hunter2")],
        &["--print"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("\"sasl.password\" = \"<redacted>\""),
        "{text}"
    );
    assert!(text.contains("\"sasl.username\" = \"alice\""), "{text}");
    assert!(text.contains("[degradation.cpu]"), "{text}");
    // The printed configuration is itself a valid file with the same fingerprint.
    let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let reloaded = ConfigLoader::from_text("printed", body).load().unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.contains(&reloaded.fingerprint()), "{first}");
}

/// Environment variables a case sets.
type Env = &'static [(&'static str, &'static str)];

/// One bad configuration per kind of error: (case, file text, environment, the exact line).
const CASES: &[(&str, &str, Env, &str)] = &[
    (
        "unknown-key",
        "[red]\nmax_pp = 0.2\n",
        &[],
        ":2: unknown key red.max_pp; [red] allows: enabled, min_th, max_th, max_p, weight, count_spacing, seed",
    ),
    (
        "unknown-section",
        "[redd]\nmax_p = 0.2\n",
        &[],
        ":1: unknown section redd; sections: kafka, topics, pipeline, metrics, time, red, aimd, degradation, reservoir, routing, breaker, autoscaler, simulate",
    ),
    (
        "ill-typed",
        "[pipeline]\nworkers = \"four\"\n",
        &[],
        ":2: pipeline.workers = \"four\": expected an integer, found a string",
    ),
    (
        "out-of-range",
        "[red]\nmax_p = 1.5\n",
        &[],
        ":2: red.max_p = 1.5: must be in (0, 1]",
    ),
    (
        "one-of",
        "[autoscaler]\npolicy = \"reactive\"\n",
        &[],
        ":2: autoscaler.policy = \"reactive\": must be one of threshold, hpa, predictive",
    ),
    (
        "cross-key",
        "[aimd]\nenter = 0.95\n",
        &[],
        ":2: aimd.enter = 0.95 must not be above aimd.emergency = 0.9 (exit < enter <= emergency)",
    ),
    (
        "socket-address",
        "[metrics]\naddress = \"9898\"\n",
        &[],
        ":2: metrics.address = \"9898\": must be a socket address IP:port, e.g. 127.0.0.1:9898",
    ),
    (
        "syntax",
        "[red\nmax_p = 0.2\n",
        &[],
        ":1: TOML syntax error: ",
    ),
    (
        "env-unknown",
        "",
        &[("ECHOFLOW_RED__MAXP", "0.2")],
        ": ECHOFLOW_RED__MAXP: unknown key red.maxp; [red] allows: enabled, min_th, max_th, max_p, weight, count_spacing, seed",
    ),
    (
        "env-out-of-range",
        "",
        &[("ECHOFLOW_DEGRADATION__CPU__PARTIAL", "1.2")],
        ": ECHOFLOW_DEGRADATION__CPU__PARTIAL: degradation.cpu.partial = 1.2: must be in (0, 1]",
    ),
];

#[test]
fn each_kind_of_bad_config_gives_its_message_and_fails() {
    for (case, text, env, expected) in CASES {
        let path = write(case, text);
        let out = validate(&path, env, &[]);
        assert_eq!(out.status.code(), Some(1), "{case}");
        assert!(out.stdout.is_empty(), "{case}: {}", stdout(&out));
        let lines = stderr_lines(&out);
        let file = path.display().to_string();
        assert_eq!(lines.len(), 2, "{case}: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("{file}{expected}")),
            "{case}: got {:?}, expected it to start with {file}{expected}",
            lines[0]
        );
        assert_eq!(
            lines[1],
            format!("echoflow: error: {file} is invalid: 1 error"),
            "{case}"
        );
    }
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let path = write(
        "many",
        "[red]\nmax_p = 1.5\nweight = 0\n[pipeline]\nworkers = 0\n",
    );
    let out = validate(&path, &[("ECHOFLOW_AIMD__EXIT", "0.9")], &[]);
    assert_eq!(out.status.code(), Some(1));
    let f = path.display().to_string();
    assert_eq!(
        stderr_lines(&out),
        vec![
            format!("{f}:2: red.max_p = 1.5: must be in (0, 1]"),
            format!("{f}:3: red.weight = 0.0: must be in (0, 1]"),
            format!("{f}:5: pipeline.workers = 0: must be in [1, 1024]"),
            format!(
                "{f}: ECHOFLOW_AIMD__EXIT: aimd.exit = 0.9 must be below aimd.enter = 0.7 (exit < enter <= emergency)"
            ),
            format!("echoflow: error: {f} is invalid: 4 errors"),
        ]
    );
}

#[test]
fn a_missing_file_is_one_clear_line() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("validate-does-not-exist.toml");
    let out = validate(&path, &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    let lines = stderr_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!(
            "echoflow: error: cannot read {}: ",
            path.display()
        )),
        "{lines:?}"
    );
}

/// The fleet settings the autoscaling benchmarks run (`benches/autoscale_settings/`, used by
/// `benches/autoscale_holdout.py --config`) stay valid configurations as keys change.
#[test]
fn the_benchmark_settings_are_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/autoscale_settings");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 11, "{files:?}");
    for f in &files {
        let out = validate(f, &[], &[]);
        assert!(
            out.status.success(),
            "{}: {:?}",
            f.display(),
            stderr_lines(&out)
        );
    }
}

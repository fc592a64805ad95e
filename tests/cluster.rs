//! Timely's cluster mode (issue #8): `replay` as 2 processes × 2 workers on loopback writes the
//! same files as 1 process with 1 worker.

mod common;

use common::wait_within;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("echoflow-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn echoflow() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_echoflow"));
    c.env("ECHOFLOW_LOG", "warn");
    c
}

#[test]
fn two_processes_write_what_one_process_writes() {
    let d = dir();
    let input = d.join("in");
    let status = echoflow()
        .args([
            "loadgen",
            "--scenario",
            "mixed",
            "--seconds",
            "20",
            "--files",
            p(&input),
        ])
        .status()
        .expect("loadgen");
    assert!(status.success());
    let (req, tel) = (input.join("requests.jsonl"), input.join("telemetry.jsonl"));
    let replay = |out: &Path, extra: &[&str]| {
        let mut c = echoflow();
        c.args([
            "replay",
            "--requests",
            p(&req),
            "--telemetry",
            p(&tel),
            "--out",
            p(out),
        ])
        .args(extra);
        c
    };
    let one = d.join("one");
    assert!(
        replay(&one, &["--workers", "1"])
            .status()
            .expect("replay")
            .success()
    );

    let hosts = d.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .expect("hostfile");
    let two = d.join("two");
    let spawn = |i: &str| {
        replay(
            &two,
            &[
                "--workers",
                "2",
                "--processes",
                "2",
                "--process",
                i,
                "--hostfile",
                p(&hosts),
            ],
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn a process")
    };
    let mut second = spawn("1");
    let mut first = spawn("0");
    assert!(wait_within(&mut first, "process 0").success());
    assert!(wait_within(&mut second, "process 1").success());
    for f in [
        "admitted",
        "rejections",
        "decisions",
        "control",
        "dead_letter",
    ] {
        let a = std::fs::read(one.join(format!("{f}.jsonl"))).expect("1-process output");
        let b = std::fs::read(two.join(format!("{f}.jsonl"))).expect("2-process output");
        assert!(!a.is_empty(), "{f} is empty");
        assert!(
            a == b,
            "{f}.jsonl differs between 1 process and 2 processes"
        );
    }
}

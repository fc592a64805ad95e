//! `echoflow demo` (SPEC §5): the embedded demo — the dataflow against a simulated fleet that
//! answers to what echoflow admits, no external service. See `echoflow_pipeline::demo`.

use anyhow::Context;
use echoflow_pipeline::dataflow::Params;
use echoflow_pipeline::demo::{self, DEMO_TOML, DemoOptions, DemoRun, Progress};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Run the embedded demo: a simulated fleet, no external service needed.
#[derive(clap::Args)]
pub struct Args {
    /// Event-time length of the story (normal → surge → a failing membrane → memory squeeze →
    /// recovery).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Where the outputs, the input files, timeline.csv and chart.png go.
    #[arg(long, default_value = "echoflow-demo")]
    out: PathBuf,
    /// Offered requests per second of event time outside the surge (2.5× during it).
    #[arg(long, default_value_t = 20_000.0)]
    rate: f64,
    /// Simulated membranes at the start (each serves 8,000 requests/s).
    #[arg(long, default_value_t = 4)]
    membranes: u32,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    workers: Option<usize>,
    /// A pipeline.toml for the operators' parameters (default: deploy/demo.toml, built in).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.seconds > 0, "--seconds = 0: allowed is an integer ≥ 1");
    anyhow::ensure!(
        args.rate.is_finite() && args.rate > 0.0,
        "--rate = {}: allowed is a number > 0",
        args.rate
    );
    anyhow::ensure!(
        args.membranes > 0,
        "--membranes = 0: allowed is an integer ≥ 1"
    );
    let config = super::config::load_or_text(
        args.config.as_deref(),
        "deploy/demo.toml (built in)",
        DEMO_TOML,
    )?;
    let mut params = Params::from_config(&config)?;
    params.config_event = Some((0, config.fingerprint()));
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let mut o = DemoOptions::new(params, args.out.clone());
    o.workers = workers;
    o.duration_ms = args.seconds * 1000;
    o.rate = args.rate;
    o.membranes = args.membranes;
    o.progress = Some(progress_bar());
    eprintln!(
        "echoflow demo: {} s of event time, {} requests/s offered ({}× in the surge), {} membranes, {workers} worker{}, config {}",
        args.seconds,
        args.rate,
        echoflow_pipeline::story::SURGE,
        args.membranes,
        if workers == 1 { "" } else { "s" },
        args.config
            .as_deref()
            .map_or("deploy/demo.toml (built in)".into(), |p| p
                .display()
                .to_string()),
    );
    let run = demo::run(&o).with_context(|| format!("demo into {}", args.out.display()))?;
    print_summary(&run, &args.out);
    Ok(())
}

/// A bar on a terminal (redrawn at most every percent), a line per phase otherwise.
fn progress_bar() -> demo::ProgressFn {
    let tty = std::io::stderr().is_terminal();
    let last = AtomicU64::new(u64::MAX);
    Arc::new(move |p: &Progress| {
        let pct = (p.done * 100.0).floor() as u64;
        let mut err = std::io::stderr().lock();
        if tty {
            if last.swap(pct, Ordering::Relaxed) == pct && p.done < 1.0 {
                return;
            }
            let filled = (p.done * 30.0).round() as usize;
            let _ = write!(
                err,
                "\r[{}{}] {pct:>3}% {:<8} offered {:>9} admitted {:>9} replicas {:>2}",
                "#".repeat(filled),
                ".".repeat(30 - filled.min(30)),
                p.phase.as_str(),
                p.offered,
                p.admitted,
                p.replicas
            );
            if p.done >= 1.0 {
                let _ = writeln!(err);
            }
        } else {
            let phase = p.phase as u64;
            if last.swap(phase, Ordering::Relaxed) != phase {
                let _ = writeln!(
                    err,
                    "{pct:>3}% {}: offered {} admitted {} replicas {}",
                    p.phase, p.offered, p.admitted, p.replicas
                );
            }
        }
    })
}

fn print_summary(run: &DemoRun, out: &std::path::Path) {
    let s = &run.summary;
    let pct = |n: u64| 100.0 * n as f64 / s.offered.max(1) as f64;
    println!();
    println!(
        "{} requests + {} telemetry reports in {:.2} s: {:.0} events/s",
        run.requests,
        run.telemetry,
        run.wall.as_secs_f64(),
        run.events_per_s()
    );
    println!();
    println!("{:<22} {:>10} {:>7}", "outcome", "requests", "share");
    let mut outcomes: Vec<_> = s.outcomes.iter().filter(|(_, n)| **n > 0).collect();
    outcomes.sort_by(|a, b| b.1.cmp(a.1));
    for (k, n) in outcomes {
        println!("{k:<22} {n:>10} {:>6.1}%", pct(*n));
    }
    println!("{:<22} {:>10} {:>6.1}%", "total", s.offered, 100.0);
    println!();
    let decisions: Vec<String> = s
        .decisions
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let rows = [
        (
            "degradation",
            format!("{} level changes, worst {}", s.level_changes, s.worst_level),
        ),
        (
            "AIMD",
            format!(
                "{} state changes, scale {:.3} … {:.3}",
                s.aimd_changes, s.scale_range.0, s.scale_range.1
            ),
        ),
        (
            "circuit breakers",
            format!(
                "{} trips{}",
                s.breaker_trips,
                if s.tripped.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.tripped.join(", "))
                }
            ),
        ),
        (
            "scaling decisions",
            format!(
                "{}; replicas {} … {}",
                decisions.join(", "),
                s.replica_range.0,
                s.replica_range.1
            ),
        ),
        (
            "membranes",
            format!("{} up, {} down", s.membranes_up, s.membranes_down),
        ),
    ];
    for (k, v) in rows {
        println!("{k:<22} {v}");
    }
    println!();
    println!(
        "files: {0}/{{admitted,rejections,decisions,control,dead_letter}}.jsonl, {0}/timeline.csv, {0}/chart.png, inputs in {0}/input/",
        out.display()
    );
}

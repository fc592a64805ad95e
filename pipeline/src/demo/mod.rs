//! `echoflow demo`: the whole dataflow against a simulated fleet that answers to what echoflow
//! admits — embedded, no Kafka, no service.
//!
//! ```text
//!   story (offered load, failure, squeeze) ─► requests ─┐
//!                                                        ├─► embedded transport ─► dataflow ─► outputs
//!   fleet_sim (queues, cpu, memory, latency) ─► telemetry┘                          │
//!        ▲   admitted per membrane, decisions (replicas)                            │
//!        └──────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Event time advances in steps of the telemetry period (100 ms). Each step, on worker 0: the
//! simulated membranes ([`crate::fleet_sim`]) serve what was admitted to them during the previous
//! step and report; the autoscaler's decisions so far resize the fleet; the [`crate::story`]'s
//! offered load for the step becomes requests. Every worker then advances its inputs to the end
//! of the step and runs the dataflow until everything before it is done, so the next step's
//! telemetry reflects this step's admissions. The loop is deterministic: the same options give
//! the same output files for any number of workers, and `echoflow replay` of the input files the
//! demo writes reproduces them.
//!
//! The run writes the five output files (as `replay` does), `input/requests.jsonl` and
//! `input/telemetry.jsonl`, `timeline.csv` (one row per second) and `chart.png`, and returns a
//! [`Summary`] with the throughput in events (requests + telemetry) per second of wall time.

pub mod chart;
pub mod embedded;
pub mod recorder;

use crate::dataflow::{self, Params};
use crate::fleet_sim::{FleetSim, FleetSimConfig};
use crate::layout::TimelyLayout;
use crate::replay;
use crate::scenario::{malformed_request_line, request_line};
use crate::story::{Arrivals, Phase, Story};
use echoflow_connectors::jsonl::JsonlError;
use echoflow_connectors::schema::{Request, decode_telemetry};
use echoflow_operators::autoscale::decision::Action;
use embedded::Feeder;
use recorder::Recorder;
pub use recorder::Summary;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Exchange, Inspect, Probe};

/// `deploy/demo.toml`: the demo's configuration when none is given (the operators' clocks
/// shortened so every loop acts and recovers within a minute of event time).
pub const DEMO_TOML: &str = include_str!("../../../deploy/demo.toml");

/// Where the progress goes: called on worker 0 after every step.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The run so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Fraction of the event time done.
    pub done: f64,
    pub phase: Phase,
    pub offered: u64,
    pub admitted: u64,
    pub replicas: u32,
}

/// What to run.
#[derive(Clone)]
pub struct DemoOptions {
    pub params: Params,
    pub out: PathBuf,
    pub workers: usize,
    /// Event time start (ms since the epoch) and length.
    pub start_ms: u64,
    pub duration_ms: u64,
    /// Offered requests per second outside the surge.
    pub rate: f64,
    /// Membranes at the start.
    pub membranes: u32,
    pub fleet: FleetSimConfig,
    /// Steps per request input.
    pub input_steps: usize,
    /// One request in this many is malformed (0: none).
    pub malformed_every: u64,
    pub seed: u64,
    pub progress: Option<ProgressFn>,
}

impl DemoOptions {
    /// 60 s from 2026-01-01T00:00:00Z at 20,000 requests/s offered, 4 membranes of 8,000
    /// requests/s each with a second of queue, 8 input steps, one malformed request in 1,000.
    pub fn new(params: Params, out: PathBuf) -> Self {
        DemoOptions {
            params,
            out,
            workers: 1,
            start_ms: 1_767_225_600_000,
            duration_ms: 60_000,
            rate: 20_000.0,
            membranes: 4,
            fleet: FleetSimConfig {
                service_rate: 8_000.0,
                queue_capacity: 8_000,
                ..FleetSimConfig::default()
            },
            input_steps: 8,
            malformed_every: 1_000,
            seed: 0,
            progress: None,
        }
    }

    fn story(&self) -> Story {
        Story {
            start_ms: self.start_ms,
            duration_ms: self.duration_ms,
            base_rate: self.rate,
        }
    }
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoRun {
    pub summary: Summary,
    pub recorder: Recorder,
    pub requests: u64,
    pub telemetry: u64,
    pub wall: Duration,
}

impl DemoRun {
    /// Input events (requests + telemetry) per second of wall time.
    pub fn events_per_s(&self) -> f64 {
        (self.requests + self.telemetry) as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Errors of the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Jsonl(#[from] JsonlError),
    #[error("cannot draw {path}: {message}")]
    Chart { path: PathBuf, message: String },
    #[error("timely: {0}")]
    Timely(String),
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |error| DemoError::Write {
        path: path.to_path_buf(),
        error,
    }
}

/// Worker 0's result.
struct Recorded {
    recorder: Recorder,
    requests: u64,
    telemetry: u64,
}

/// Runs the demo to the end of its event time.
pub fn run(o: &DemoOptions) -> Result<DemoRun, DemoError> {
    let input = o.out.join("input");
    std::fs::create_dir_all(&input).map_err(write_err(&input))?;
    let started = Instant::now();
    let result: Arc<Mutex<Option<Recorded>>> = Arc::default();
    let opts = o.clone();
    let slot = Arc::clone(&result);
    let layout = TimelyLayout::Process { workers: o.workers };
    let guards = timely::execute(layout.config(), move |worker| {
        run_worker(worker, &opts, &slot)
    })
    .map_err(DemoError::Timely)?;
    for r in guards.join() {
        r.map_err(DemoError::Timely)??;
    }
    let wall = started.elapsed();
    let recorded = result
        .lock()
        .map_err(|_| DemoError::Timely("worker 0 panicked".into()))?
        .take()
        .ok_or_else(|| DemoError::Timely("worker 0 left no record".into()))?;
    let mut recorder = recorded.recorder;
    recorder.settle();
    write_timeline(&o.out.join("timeline.csv"), &recorder)?;
    chart::draw(&o.out.join("chart.png"), &recorder, &o.story())?;
    Ok(DemoRun {
        summary: recorder.summary(),
        recorder,
        requests: recorded.requests,
        telemetry: recorded.telemetry,
        wall,
    })
}

/// What worker 0 hears back from the dataflow during a step.
#[derive(Default)]
struct Feedback {
    /// `(ts, membrane)` → admitted requests, drained step by step.
    admitted: BTreeMap<(u64, String), u64>,
    /// Replica counts the autoscaler asked for, by decision time.
    scale: Vec<(u64, u32)>,
}

fn run_worker(
    worker: &mut timely::worker::Worker,
    o: &DemoOptions,
    slot: &Mutex<Option<Recorded>>,
) -> Result<(), DemoError> {
    let index = worker.index();
    let errors: Rc<RefCell<Vec<JsonlError>>> = Rc::default();
    let story = o.story();
    let recorder = Rc::new(RefCell::new(Recorder::new(
        o.start_ms,
        o.duration_ms.div_ceil(1000),
    )));
    let feedback: Rc<RefCell<Feedback>> = Rc::default();
    let limits = o.params.limits;
    let mut requests = Feeder::new("requests.jsonl", move |raw: &[u8]| {
        Request::decode(raw, &limits).map(|r| (r.ts, r))
    });
    let mut telemetry = Feeder::new("telemetry.jsonl", |raw: &[u8]| {
        decode_telemetry(raw).map(|t| (t.ts, t))
    });
    if index == 0 {
        let dir = o.out.join("input");
        let (rp, tp) = (dir.join("requests.jsonl"), dir.join("telemetry.jsonl"));
        requests.copy_to(&rp).map_err(write_err(&rp))?;
        telemetry.copy_to(&tp).map_err(write_err(&tp))?;
    }
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let outputs = dataflow::build(
            requests.input.to_stream(scope),
            telemetry.input.to_stream(scope),
            &o.params,
        );
        // Taps to worker 0: the fleet's feedback and the recorder.
        let (fb, rec) = (Rc::clone(&feedback), Rc::clone(&recorder));
        outputs
            .admitted
            .clone()
            .map(|a| (a.value.ts, a.value.membrane))
            .exchange(|_| 0)
            .inspect(move |(ts, m)| {
                rec.borrow_mut().admitted(*ts);
                *fb.borrow_mut()
                    .admitted
                    .entry((*ts, m.clone()))
                    .or_default() += 1;
            })
            .probe_with(&probe);
        let rec = Rc::clone(&recorder);
        outputs
            .rejections
            .clone()
            .map(|r| (r.ts, r.reason))
            .exchange(|_| 0)
            .inspect(move |(ts, reason)| rec.borrow_mut().rejected(*ts, reason.as_str()))
            .probe_with(&probe);
        let rec = Rc::clone(&recorder);
        let start = o.start_ms;
        outputs
            .dead_letter
            .clone()
            .map(|_| ())
            .exchange(|_| 0)
            .inspect_core(move |event| {
                if let Ok((stamp, data)) = event {
                    let t = stamp.elements().first().copied().unwrap_or(start);
                    let mut rec = rec.borrow_mut();
                    for _ in data {
                        rec.dead(t.max(start));
                    }
                }
            })
            .probe_with(&probe);
        let rec = Rc::clone(&recorder);
        outputs
            .control
            .clone()
            .exchange(|_| 0)
            .inspect(move |c| rec.borrow_mut().control.push(c.clone()))
            .probe_with(&probe);
        let (fb, rec) = (Rc::clone(&feedback), Rc::clone(&recorder));
        outputs
            .decisions
            .clone()
            .exchange(|_| 0)
            .inspect(move |d| {
                if d.action != Action::Hold && d.resource == "membranes" {
                    fb.borrow_mut().scale.push((d.ts, d.to));
                }
                rec.borrow_mut().decisions.push(d.clone());
            })
            .probe_with(&probe);
        replay::write_files(outputs.lines(), &o.out, &errors, &probe);
    });

    let mut fleet = FleetSim::new(o.fleet.clone(), o.membranes, o.start_ms);
    let period = o.fleet.period_ms.max(1);
    let end = o.start_ms + o.duration_ms;
    let mut next_id: u64 = 0;
    let mut arrivals = Arrivals::default();
    let mut t = o.start_ms;
    while t < end {
        let next = (t + period).min(end);
        if index == 0 {
            // The membranes serve what was admitted before `t`, the fleet follows the decisions.
            let admitted = {
                let mut fb = feedback.borrow_mut();
                let later = fb.admitted.split_off(&(t, String::new()));
                let before = std::mem::replace(&mut fb.admitted, later);
                let mut per: BTreeMap<String, u64> = BTreeMap::new();
                for ((_, m), n) in before {
                    *per.entry(m).or_default() += n;
                }
                for (_, to) in fb.scale.drain(..) {
                    fleet.scale_to(t, to);
                }
                per
            };
            for report in fleet.step(t, &admitted, &story.conditions(t)) {
                let line = echoflow_connectors::schema::outputs::to_line(&report);
                telemetry
                    .send(t, &line)
                    .map_err(|(path, error)| DemoError::Write { path, error })?;
            }
            recorder
                .borrow_mut()
                .fleet(t, fleet.replicas(), fleet.ready());
            // The story's offered load for the step, spread evenly over it.
            let first = next_id;
            for ts in arrivals.step(&story, t, next) {
                let i = next_id;
                next_id += 1;
                let id = format!("r-{i:09}");
                let line =
                    if o.malformed_every > 0 && i % o.malformed_every == o.malformed_every - 1 {
                        malformed_request_line(&id, ts)
                    } else {
                        request_line(o.seed, i, ts, &id, o.input_steps, None)
                    };
                requests
                    .send(ts, &line)
                    .map_err(|(path, error)| DemoError::Write { path, error })?;
            }
            recorder.borrow_mut().offered(t, next_id - first);
        }
        requests.advance_to(next);
        telemetry.advance_to(next);
        while probe.less_than(&next) {
            worker.step();
        }
        if index == 0
            && let Some(p) = o.progress.as_ref()
        {
            p(&Progress {
                done: (next - o.start_ms) as f64 / o.duration_ms.max(1) as f64,
                phase: story.phase(t),
                offered: requests.sent(),
                admitted: recorder.borrow().seconds.iter().map(|s| s.admitted).sum(),
                replicas: fleet.replicas(),
            });
        }
        t = next;
    }
    requests
        .finish()
        .map_err(|(path, error)| DemoError::Write { path, error })?;
    telemetry
        .finish()
        .map_err(|(path, error)| DemoError::Write { path, error })?;
    let (sent_requests, sent_telemetry) = (requests.sent(), telemetry.sent());
    drop(requests);
    drop(telemetry);
    while !probe.done() {
        worker.step();
    }
    if let Some(e) = errors.borrow_mut().drain(..).next() {
        return Err(e.into());
    }
    if index == 0 {
        let recorder = recorder.borrow().clone();
        if let Ok(mut s) = slot.lock() {
            *s = Some(Recorded {
                recorder,
                requests: sent_requests,
                telemetry: sent_telemetry,
            });
        }
    }
    Ok(())
}

/// `timeline.csv`: one row per second of event time.
fn write_timeline(path: &Path, r: &Recorder) -> Result<(), DemoError> {
    use std::io::Write;
    let reasons: Vec<&str> = echoflow_connectors::schema::outputs::Reason::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(write_err(path))?);
    let mut header = String::from("second,offered,admitted");
    for reason in &reasons {
        header.push(',');
        header.push_str(reason);
    }
    header.push_str(",dead_letter,aimd_scale,level,replicas,ready\n");
    w.write_all(header.as_bytes()).map_err(write_err(path))?;
    for (i, s) in r.seconds.iter().enumerate() {
        let mut row = format!("{i},{},{}", s.offered, s.admitted);
        for reason in &reasons {
            row.push_str(&format!(",{}", s.shed.get(*reason).copied().unwrap_or(0)));
        }
        row.push_str(&format!(
            ",{},{},{},{},{}\n",
            s.dead,
            s.aimd_scale,
            recorder::LEVELS[s.level],
            s.replicas,
            s.ready
        ));
        w.write_all(row.as_bytes()).map_err(write_err(path))?;
    }
    w.flush().map_err(write_err(path))
}

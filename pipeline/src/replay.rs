//! `echoflow replay`: the dataflow over JSONL files (SPEC §5).
//!
//! The requests file and the telemetry file are one partition each, read in line order
//! ([`echoflow_connectors::jsonl`]); the five outputs are written into the output folder as
//! `admitted.jsonl`, `rejections.jsonl`, `decisions.jsonl`, `control.jsonl` and
//! `dead_letter.jsonl`, each sorted by its SPEC §4 key, so the files are byte-identical for any
//! number of workers or processes (in cluster mode the first worker of process 0 reads the files
//! and writes the outputs). The process's memory pressure is left out (SPEC §3), and the start-up
//! `config` event is stamped `ts = 0` so a replay is a pure function of its inputs and
//! configuration.

use crate::dataflow::outputs::Lines;
use crate::dataflow::{self, Params};
use crate::layout::TimelyLayout;
use echoflow_connectors::jsonl::{JsonlError, jsonl_sink, jsonl_source};
use echoflow_connectors::schema::{Request, decode_telemetry};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;

/// The output files, in the order [`run`] writes them.
pub const FILES: [&str; 5] = [
    "admitted.jsonl",
    "rejections.jsonl",
    "decisions.jsonl",
    "control.jsonl",
    "dead_letter.jsonl",
];

/// What to replay.
#[derive(Clone)]
pub struct ReplayOptions {
    pub params: Params,
    pub requests: PathBuf,
    pub telemetry: PathBuf,
    pub out: PathBuf,
    pub timely: TimelyLayout,
    pub allowed_lateness_ms: u64,
}

/// Errors of a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Jsonl(#[from] JsonlError),
    #[error("cannot create the output folder {path}: {source}")]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("timely: {0}")]
    Timely(String),
}

/// Runs the replay to the end of both files.
pub fn run(options: ReplayOptions) -> Result<(), ReplayError> {
    std::fs::create_dir_all(&options.out).map_err(|source| ReplayError::OutDir {
        path: options.out.clone(),
        source,
    })?;
    let config = options.timely.config();
    let guards = timely::execute(config, move |worker| run_worker(worker, &options))
        .map_err(ReplayError::Timely)?;
    for r in guards.join() {
        r.map_err(ReplayError::Timely)??;
    }
    Ok(())
}

/// Writes the five outputs as sorted files [`FILES`] into `out` (worker 0 writes), each sink
/// probed by `probe`; write errors land in `errors`.
pub(crate) fn write_files(
    lines: Lines<'_>,
    out: &Path,
    errors: &Rc<RefCell<Vec<JsonlError>>>,
    probe: &ProbeHandle<u64>,
) {
    let sink = |s, name: &str| {
        jsonl_sink(s, &out.join(name), Rc::clone(errors)).probe_with(probe);
    };
    sink(lines.admitted, FILES[0]);
    sink(lines.rejections, FILES[1]);
    sink(lines.decisions, FILES[2]);
    sink(lines.control, FILES[3]);
    sink(lines.dead_letter, FILES[4]);
}

fn run_worker(worker: &mut timely::worker::Worker, o: &ReplayOptions) -> Result<(), ReplayError> {
    let errors: Rc<RefCell<Vec<JsonlError>>> = Rc::default();
    let probe = ProbeHandle::new();
    let limits = o.params.limits;
    worker.dataflow::<u64, _, _>(|scope| {
        let requests = jsonl_source(
            scope,
            &o.requests,
            o.allowed_lateness_ms,
            move |raw: &[u8]| Request::decode(raw, &limits).map(|r| (r.ts, r)),
            Rc::clone(&errors),
        )?;
        let telemetry = jsonl_source(
            scope,
            &o.telemetry,
            o.allowed_lateness_ms,
            |raw: &[u8]| decode_telemetry(raw).map(|t| (t.ts, t)),
            Rc::clone(&errors),
        )?;
        let lines = dataflow::build(requests, telemetry, &o.params).lines();
        write_files(lines, &o.out, &errors, &probe);
        Ok::<_, ReplayError>(())
    })?;
    while !probe.done() {
        worker.step();
    }
    if let Some(e) = errors.borrow_mut().drain(..).next() {
        return Err(e.into());
    }
    Ok(())
}

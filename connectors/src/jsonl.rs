//! JSONL files as a timely source and sink, with the same decoders as Kafka.
//!
//! * [`jsonl_source`]: a file is one partition read in line order by worker 0 (partition 0 belongs
//!   to worker `0 mod peers`); the other workers release their capability at once. Records enter
//!   at their event time; lateness follows SPEC §4 with the line order as arrival order; a bad
//!   line is a dead letter whose source is the file's base name, partition 0 and offset its
//!   1-based line number. Blank lines are skipped. At end of file the capability is released.
//! * [`jsonl_sink`]: gathers lines on worker 0 and, once the input is complete, writes them
//!   sorted by their key (the SPEC §4 sort keys) to a temporary file renamed into place, so a
//!   reader never sees half a file and the same input gives byte-identical files for any number
//!   of workers.

use crate::dead_letter::Origin;
use crate::ingest::{IngestStream, Ingested};
use crate::ingest::{classify, give_by_time};
use crate::schema::FieldError;
use crate::watermark::Watermarks;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, Stream};

/// Errors of JSONL files.
#[derive(Debug, thiserror::Error)]
pub enum JsonlError {
    #[error("cannot open {path}: {error}")]
    Open {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Lines read per activation.
const BATCH: usize = 4096;

/// Reads `path` as one partition. The file is opened when the dataflow is built (so a missing
/// file is an error at once); read errors mid-file are reported through `errors`.
pub fn jsonl_source<'scope, T, D>(
    scope: Scope<'scope, u64>,
    path: &Path,
    allowed_lateness_ms: u64,
    decode: D,
    errors: Rc<RefCell<Vec<JsonlError>>>,
) -> Result<IngestStream<'scope, T>, JsonlError>
where
    T: Clone + 'static,
    D: Fn(&[u8]) -> Result<(u64, T), FieldError> + 'static,
{
    let reader = if scope.index() == 0 {
        let f = File::open(path).map_err(|error| JsonlError::Open {
            path: path.to_path_buf(),
            error,
        })?;
        Some(BufReader::new(f))
    } else {
        None
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let path = path.to_path_buf();
    Ok(source(
        scope,
        &format!("JsonlSource({name})"),
        move |cap, info| {
            let activator = scope.activator_for(info.address);
            let mut cap = reader.is_some().then_some(cap);
            let mut reader = reader;
            let mut marks = Watermarks::new(allowed_lateness_ms);
            marks.add_partition(0);
            let mut line_no: i64 = 0;
            let mut line = Vec::new();
            let mut batch: Vec<(u64, Ingested<T>)> = Vec::new();
            move |output| {
                let (Some(c), Some(r)) = (cap.as_mut(), reader.as_mut()) else {
                    return;
                };
                let now_time = *c.time();
                let mut eof = false;
                for _ in 0..BATCH {
                    line.clear();
                    match r.read_until(b'\n', &mut line) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(error) => {
                            errors.borrow_mut().push(JsonlError::Read {
                                path: path.clone(),
                                error,
                            });
                            eof = true;
                            break;
                        }
                    }
                    line_no += 1;
                    let raw = trim_line(&line);
                    if raw.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let origin = Origin {
                        source: name.clone(),
                        partition: 0,
                        offset: line_no,
                    };
                    batch.push(classify(
                        decode(raw),
                        origin,
                        None,
                        raw,
                        &mut marks,
                        0,
                        now_time,
                    ));
                }
                give_by_time(&mut batch, c, output);
                if eof {
                    cap = None;
                } else {
                    if let Some(w) = marks.watermark()
                        && w > *c.time()
                    {
                        c.downgrade(&w);
                    }
                    activator.activate();
                }
            }
        },
    ))
}

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// Writes `(key, line)` pairs to `path`, sorted by key, once the stream is complete. Returns a
/// stream (no data) that completes after the file is written; errors land in `errors`.
pub fn jsonl_sink<'scope, K>(
    stream: Stream<'scope, u64, Vec<(K, String)>>,
    path: &Path,
    errors: Rc<RefCell<Vec<JsonlError>>>,
) -> Stream<'scope, u64, Vec<()>>
where
    K: Ord + Clone + Serialize + DeserializeOwned + Send + 'static,
{
    let path = path.to_path_buf();
    let name = format!("JsonlSink({})", path.display());
    let mut lines: Vec<(K, String)> = Vec::new();
    let mut written = false;
    let is_writer = stream.scope().index() == 0;
    stream.unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
        Exchange::new(|_: &(K, String)| 0u64),
        &name,
        move |_cap, _info| {
            move |(input, frontier), _output| {
                input.for_each(|_cap, data| lines.append(data));
                if is_writer && !written && frontier.frontier().is_empty() {
                    written = true;
                    lines.sort_by(|a, b| a.0.cmp(&b.0));
                    if let Err(e) = write_lines(&path, &lines) {
                        errors.borrow_mut().push(e);
                    }
                    lines = Vec::new();
                }
            }
        },
    )
}

fn write_lines<K>(path: &Path, lines: &[(K, String)]) -> Result<(), JsonlError> {
    let tmp = path.with_extension("jsonl.tmp");
    let werr = |error| JsonlError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut w = BufWriter::new(File::create(&tmp).map_err(werr)?);
    for (_, l) in lines {
        w.write_all(l.as_bytes()).map_err(werr)?;
        w.write_all(b"\n").map_err(werr)?;
    }
    w.flush().map_err(werr)?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(werr)
}

//! The embedded transport: JSON lines handed to the dataflow in-process, through the same
//! decoders and the same on-time/late/invalid classification as the Kafka and file sources.
//!
//! Each stream is one partition (`source` = the name of the file it is recorded to, `requests.jsonl`
//! or `telemetry.jsonl`, offsets count lines from
//! 1, as for files), sent in event-time order: a line at `ts` advances the input to `ts` first,
//! so nothing is late. Optionally every line is also written to a JSONL file, so that
//! `echoflow replay` of those files reproduces the run.

use echoflow_connectors::dead_letter::Origin;
use echoflow_connectors::ingest::{Ingested, classify};
use echoflow_connectors::schema::FieldError;
use echoflow_connectors::watermark::Watermarks;
use std::io::Write;
use std::path::{Path, PathBuf};
use timely::dataflow::InputHandleVec;

type Decoder<T> = Box<dyn Fn(&[u8]) -> Result<(u64, T), FieldError>>;

/// One input of the dataflow fed with lines.
pub struct Feeder<T: Clone + 'static> {
    pub input: InputHandleVec<u64, Ingested<T>>,
    source: String,
    decode: Decoder<T>,
    marks: Watermarks,
    offset: i64,
    copy: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
}

impl<T: Clone + 'static> Feeder<T> {
    /// A feeder for `source`, decoding with `decode`.
    pub fn new(
        source: &str,
        decode: impl Fn(&[u8]) -> Result<(u64, T), FieldError> + 'static,
    ) -> Self {
        let mut marks = Watermarks::new(0);
        marks.add_partition(0);
        Feeder {
            input: InputHandleVec::new(),
            source: source.to_string(),
            decode: Box::new(decode),
            marks,
            offset: 0,
            copy: None,
        }
    }

    /// Also writes every line to `path`.
    pub fn copy_to(&mut self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::File::create(path)?;
        self.copy = Some((path.to_path_buf(), std::io::BufWriter::new(file)));
        Ok(())
    }

    /// Sends one line due at `ts` (≥ every earlier line's `ts`).
    pub fn send(&mut self, ts: u64, line: &str) -> Result<(), (PathBuf, std::io::Error)> {
        if *self.input.time() < ts {
            self.input.advance_to(ts);
        }
        if let Some((path, w)) = self.copy.as_mut() {
            w.write_all(line.as_bytes())
                .and_then(|()| w.write_all(b"\n"))
                .map_err(|e| (path.clone(), e))?;
        }
        self.offset += 1;
        let origin = Origin {
            source: self.source.clone(),
            partition: 0,
            offset: self.offset,
        };
        let raw = line.as_bytes();
        let now = *self.input.time();
        let (_, item) = classify(
            (self.decode)(raw),
            origin,
            None,
            raw,
            &mut self.marks,
            0,
            now,
        );
        self.input.send(item);
        Ok(())
    }

    /// Lines sent so far.
    pub fn sent(&self) -> u64 {
        self.offset as u64
    }

    /// Advances the input to `t` (nothing earlier will be sent).
    pub fn advance_to(&mut self, t: u64) {
        if *self.input.time() < t {
            self.input.advance_to(t);
        }
    }

    /// Flushes the copy, if any.
    pub fn finish(&mut self) -> Result<(), (PathBuf, std::io::Error)> {
        if let Some((path, w)) = self.copy.as_mut() {
            w.flush().map_err(|e| (path.clone(), e))?;
        }
        Ok(())
    }
}

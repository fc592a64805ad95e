//! The five output streams, their wire lines and SPEC §4 sort keys.
//!
//! Sort keys (for files, and for comparing runs): admitted and rejections by (ts, id), decisions
//! by (ts, resource), control events by (ts, kind, subject, seq) and dead letters by (source,
//! partition, offset). Lines are the records' JSON; the Kafka key is the request id for outcomes,
//! the resource for decisions, the subject for control events and `source/partition/offset` for
//! dead letters. Each record type says all three through [`OutputRecord`]; the five streams are
//! then handled alike.
//!
//! Outcomes and dead letters arrive as [`Received`] values (the request's arrival beside the
//! record): [`Outputs::lines`] drops the arrival, [`Outputs::records`] hands it to the Kafka sink
//! for the end-to-end latency. Neither changes a byte of any line or payload.

use echoflow_connectors::dead_letter::DeadLetter;
use echoflow_connectors::ingest::Received;
use echoflow_connectors::kafka::sink::OutRecord;
use echoflow_connectors::schema::outputs::{Admitted, ControlEvent, Rejection, to_line};
use echoflow_operators::autoscale::decision::Decision;
use std::sync::Arc;
use timely::dataflow::StreamVec;
use timely::dataflow::operators::Concatenate;
use timely::dataflow::operators::vec::Map;

/// The dataflow's outputs.
pub struct Outputs<'scope> {
    pub admitted: StreamVec<'scope, u64, Received<Admitted>>,
    pub rejections: StreamVec<'scope, u64, Received<Rejection>>,
    pub decisions: StreamVec<'scope, u64, Decision>,
    pub control: StreamVec<'scope, u64, ControlEvent>,
    pub dead_letter: StreamVec<'scope, u64, Received<DeadLetter>>,
}

/// Sort key of a line: every output's key fits (ts or source, text, text, number).
pub type LineKey = (u64, String, String, u64, i64);

/// One output as sorted-file lines.
pub struct Lines<'scope> {
    pub admitted: StreamVec<'scope, u64, (LineKey, String)>,
    pub rejections: StreamVec<'scope, u64, (LineKey, String)>,
    pub decisions: StreamVec<'scope, u64, (LineKey, String)>,
    pub control: StreamVec<'scope, u64, (LineKey, String)>,
    pub dead_letter: StreamVec<'scope, u64, (LineKey, String)>,
}

/// Topic names of the five outputs.
#[derive(Debug, Clone)]
pub struct OutputTopics {
    pub admitted: String,
    pub rejections: String,
    pub decisions: String,
    pub control: String,
    pub dead_letter: String,
}

/// What the sinks need of an output record.
pub trait OutputRecord: Clone + 'static {
    /// The SPEC §4 sort key.
    fn sort_key(&self) -> LineKey;
    /// The Kafka record key.
    fn kafka_key(&self) -> Vec<u8>;
    /// The JSON line (also the Kafka payload).
    fn line(&self) -> String;
}

/// The request outcomes: sorted by (ts, id), keyed by the request id.
macro_rules! outcome_record {
    ($($t:ty),*) => {$(
        impl OutputRecord for $t {
            fn sort_key(&self) -> LineKey {
                (self.ts, self.id.clone(), String::new(), 0, 0)
            }
            fn kafka_key(&self) -> Vec<u8> {
                self.id.clone().into_bytes()
            }
            fn line(&self) -> String {
                to_line(self)
            }
        }
    )*};
}

outcome_record!(Admitted, Rejection);

impl OutputRecord for Decision {
    fn sort_key(&self) -> LineKey {
        (self.ts, self.resource.clone(), String::new(), 0, 0)
    }
    fn kafka_key(&self) -> Vec<u8> {
        self.resource.clone().into_bytes()
    }
    fn line(&self) -> String {
        to_line(self)
    }
}

impl OutputRecord for ControlEvent {
    fn sort_key(&self) -> LineKey {
        (
            self.ts,
            self.kind.clone(),
            self.subject.clone(),
            self.seq,
            0,
        )
    }
    fn kafka_key(&self) -> Vec<u8> {
        self.subject.clone().into_bytes()
    }
    fn line(&self) -> String {
        to_line(self)
    }
}

impl OutputRecord for DeadLetter {
    fn sort_key(&self) -> LineKey {
        let partition = u64::try_from(self.partition).unwrap_or(0);
        (
            0,
            self.source.clone(),
            String::new(),
            partition,
            self.offset,
        )
    }
    fn kafka_key(&self) -> Vec<u8> {
        format!("{}/{}/{}", self.source, self.partition, self.offset).into_bytes()
    }
    fn line(&self) -> String {
        self.to_json()
    }
}

fn lines_of<'scope, R: OutputRecord>(
    s: StreamVec<'scope, u64, Received<R>>,
) -> StreamVec<'scope, u64, (LineKey, String)> {
    s.map(|r| (r.sort_key(), r.line()))
}

fn records_of<'scope, R: OutputRecord>(
    s: StreamVec<'scope, u64, Received<R>>,
    topic: &str,
) -> StreamVec<'scope, u64, Received<OutRecord>> {
    let topic = Arc::<str>::from(topic);
    s.map(move |r| {
        r.map(|v| OutRecord {
            topic: Arc::clone(&topic),
            key: Some(v.kafka_key()),
            payload: v.line().into_bytes(),
        })
    })
}

impl<'scope> Outputs<'scope> {
    /// The outputs as `(sort key, JSON line)` pairs.
    pub fn lines(self) -> Lines<'scope> {
        Lines {
            admitted: lines_of(self.admitted),
            rejections: lines_of(self.rejections),
            decisions: lines_of(self.decisions.map(Received::from)),
            control: lines_of(self.control.map(Received::from)),
            dead_letter: lines_of(self.dead_letter),
        }
    }

    /// The outputs as Kafka records, one stream for the sink, each with its request's arrival.
    pub fn records(self, topics: &OutputTopics) -> StreamVec<'scope, u64, Received<OutRecord>> {
        let scope = self.admitted.scope();
        scope.concatenate([
            records_of(self.admitted, &topics.admitted),
            records_of(self.rejections, &topics.rejections),
            records_of(self.decisions.map(Received::from), &topics.decisions),
            records_of(self.control.map(Received::from), &topics.control),
            records_of(self.dead_letter, &topics.dead_letter),
        ])
    }
}

//! The five output streams, their wire lines and SPEC §4 sort keys.
//!
//! Sort keys (for files, and for comparing runs): admitted and rejections by (ts, id), decisions
//! by (ts, resource), control events by (ts, kind, subject, seq) and dead letters by (source,
//! partition, offset). Lines are the records' JSON; the Kafka key is the request id for outcomes,
//! the resource for decisions, the subject for control events and `source/partition/offset` for
//! dead letters.
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
use timely::dataflow::operators::Concat;
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

impl<'scope> Outputs<'scope> {
    /// The outputs as `(sort key, JSON line)` pairs.
    pub fn lines(self) -> Lines<'scope> {
        Lines {
            admitted: self
                .admitted
                .map(|a| ((a.ts, a.id.clone(), String::new(), 0, 0), to_line(&a.value))),
            rejections: self
                .rejections
                .map(|r| ((r.ts, r.id.clone(), String::new(), 0, 0), to_line(&r.value))),
            decisions: self
                .decisions
                .map(|d| ((d.ts, d.resource.clone(), String::new(), 0, 0), to_line(&d))),
            control: self.control.map(|c| {
                (
                    (c.ts, c.kind.clone(), c.subject.clone(), c.seq, 0),
                    to_line(&c),
                )
            }),
            dead_letter: self.dead_letter.map(|d| {
                let key = (
                    0,
                    d.source.clone(),
                    String::new(),
                    u64::try_from(d.partition).unwrap_or(0),
                    d.offset,
                );
                (key, d.to_json())
            }),
        }
    }

    /// The outputs as Kafka records, one stream for the sink, each with its request's arrival.
    pub fn records(self, topics: &OutputTopics) -> StreamVec<'scope, u64, Received<OutRecord>> {
        let t = |s: &str| Arc::<str>::from(s);
        let (ta, tr, td, tc, tl) = (
            t(&topics.admitted),
            t(&topics.rejections),
            t(&topics.decisions),
            t(&topics.control),
            t(&topics.dead_letter),
        );
        let admitted = self.admitted.map(move |a| {
            a.map(|a| OutRecord {
                topic: Arc::clone(&ta),
                key: Some(a.id.clone().into_bytes()),
                payload: to_line(&a).into_bytes(),
            })
        });
        let rejections = self.rejections.map(move |r| {
            r.map(|r| OutRecord {
                topic: Arc::clone(&tr),
                key: Some(r.id.clone().into_bytes()),
                payload: to_line(&r).into_bytes(),
            })
        });
        let decisions = self.decisions.map(move |d| {
            Received::from(OutRecord {
                topic: Arc::clone(&td),
                key: Some(d.resource.clone().into_bytes()),
                payload: to_line(&d).into_bytes(),
            })
        });
        let control = self.control.map(move |c| {
            Received::from(OutRecord {
                topic: Arc::clone(&tc),
                key: Some(c.subject.clone().into_bytes()),
                payload: to_line(&c).into_bytes(),
            })
        });
        let dead = self.dead_letter.map(move |d| {
            d.map(|d| OutRecord {
                topic: Arc::clone(&tl),
                key: Some(format!("{}/{}/{}", d.source, d.partition, d.offset).into_bytes()),
                payload: d.to_json().into_bytes(),
            })
        });
        admitted
            .concat(rejections)
            .concat(decisions)
            .concat(control)
            .concat(dead)
    }
}

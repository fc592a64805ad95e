//! What a source makes of each record it reads, shared by the Kafka and JSONL sources.
//!
//! A decoded record is on time or late by SPEC §4 ([`crate::watermark`]): on time records enter
//! the dataflow at their own event time; late ones (behind their partition's maximum by more
//! than the allowed lateness, or behind the worker's released watermark) enter at the worker's
//! current time, marked late, with their raw bytes so a non-request stream can dead-letter them.
//! An undecodable record becomes a dead letter at the current time. Nothing is dropped.

use crate::dead_letter::{DeadLetter, Origin};
use crate::schema::FieldError;
use crate::watermark::{Arrival, Watermarks};
use timely::dataflow::Stream;

/// One consumed record with where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record<T> {
    pub origin: Origin,
    pub key: Option<Vec<u8>>,
    /// Event time (`ts`).
    pub ts: u64,
    pub value: T,
}

/// What the source makes of one Kafka record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Ingested<T> {
    /// Decoded and on time: sent at its own event time.
    OnTime(Record<T>),
    /// Decoded but late (SPEC §4): sent at the worker's current time, with its raw bytes so a
    /// non-request stream can dead-letter it.
    Late { record: Record<T>, raw: Vec<u8> },
    /// Undecodable or invalid: a dead letter.
    Invalid(DeadLetter),
}

/// The stream a source produces.
pub type IngestStream<'scope, T> = Stream<'scope, u64, Vec<Ingested<T>>>;

/// Classifies one read record. `now_time` is the worker's current capability time; returns the
/// time to send the item at and the item.
pub fn classify<T>(
    decoded: Result<(u64, T), FieldError>,
    origin: Origin,
    key: Option<Vec<u8>>,
    raw: &[u8],
    marks: &mut Watermarks,
    partition: i32,
    now_time: u64,
) -> (u64, Ingested<T>) {
    match decoded {
        Err(e) => (
            now_time,
            Ingested::Invalid(DeadLetter::new(&origin, e.to_string(), raw)),
        ),
        Ok((ts, value)) => {
            let record = Record {
                origin,
                key,
                ts,
                value,
            };
            match marks.observe(partition, ts) {
                Arrival::OnTime if ts >= now_time => (ts, Ingested::OnTime(record)),
                _ => (
                    now_time,
                    Ingested::Late {
                        record,
                        raw: raw.to_vec(),
                    },
                ),
            }
        }
    }
}

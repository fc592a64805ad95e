//! What a source makes of each record it reads, shared by the Kafka and JSONL sources.
//!
//! A decoded record is on time or late by SPEC §4 ([`crate::watermark`]): on time records enter
//! the dataflow at their own event time; late ones (behind their partition's maximum by more
//! than the allowed lateness, or behind the worker's released watermark) enter at the worker's
//! current time, marked late, with their raw bytes so a non-request stream can dead-letter them.
//! An undecodable record becomes a dead letter at the current time. Nothing is dropped.
//!
//! Each record also carries its [`ReceivedAt`]: the wall-clock instant the Kafka source received it,
//! for the end-to-end latency of SPEC §7 (arrival → the broker's acknowledgement of the outcome).
//! It is metadata beside the record, never part of an output line: [`Received`] serializes as its
//! value alone, and file sources ([`classify`]) leave it empty, so replays stay deterministic.

use crate::dead_letter::{DeadLetter, Origin};
use crate::schema::FieldError;
use crate::watermark::{Arrival, Watermarks};
use std::num::NonZeroU64;
use std::ops::{Deref, DerefMut};
use std::time::{SystemTime, UNIX_EPOCH};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::Stream;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::OutputBuilderSession;

/// When a record arrived at its source: wall-clock microseconds since the Unix epoch, or none.
///
/// Wall clock (not [`std::time::Instant`]) so it means the same in every process of a cluster on
/// one host and can cross timely's exchange; 8 bytes (`Option<NonZeroU64>`). Only the Kafka source
/// stamps it; file sources and replays leave it empty, and nothing is measured for them.
///
/// ```
/// use echoflow_connectors::ingest::ReceivedAt;
/// let a = ReceivedAt::from_micros(1_000_000);
/// assert_eq!(a.seconds_until(ReceivedAt::from_micros(1_250_000)), Some(0.25));
/// assert_eq!(ReceivedAt::NONE.seconds_until(a), None);
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct ReceivedAt(Option<NonZeroU64>);

impl ReceivedAt {
    /// No arrival known (files, replay, derived records).
    pub const NONE: ReceivedAt = ReceivedAt(None);

    /// The wall clock now (none if the clock is before 1970).
    pub fn now() -> Self {
        let us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        ReceivedAt::from_micros(us)
    }

    /// An arrival `us` microseconds after the epoch (0 means none).
    pub fn from_micros(us: u64) -> Self {
        ReceivedAt(NonZeroU64::new(us))
    }

    /// Microseconds since the epoch, if known.
    pub fn micros(self) -> Option<u64> {
        self.0.map(NonZeroU64::get)
    }

    /// Seconds from this arrival to `later`, when both are known (0 if the clock stepped back).
    pub fn seconds_until(self, later: ReceivedAt) -> Option<f64> {
        let (a, b) = (self.micros()?, later.micros()?);
        Some(b.saturating_sub(a) as f64 / 1e6)
    }
}

/// A value with the arrival of the request it answers: an outcome on its way to the sink.
///
/// Serializes as the value alone (`serde(transparent)`, arrival skipped), so wrapping an output
/// can never change its bytes; it dereferences to the value.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Received<T> {
    pub value: T,
    #[serde(skip)]
    pub received: ReceivedAt,
}

impl<T> Received<T> {
    pub fn new(value: T, received: ReceivedAt) -> Self {
        Received { value, received }
    }

    /// Keeps the arrival, transforms the value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Received<U> {
        Received {
            value: f(self.value),
            received: self.received,
        }
    }
}

impl<T> From<T> for Received<T> {
    fn from(value: T) -> Self {
        Received::new(value, ReceivedAt::NONE)
    }
}

impl<T> Deref for Received<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Received<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// One consumed record with where it came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record<T> {
    pub origin: Origin,
    pub key: Option<Vec<u8>>,
    /// Event time (`ts`).
    pub ts: u64,
    pub value: T,
    /// When the source received it (Kafka only; see [`ReceivedAt`]).
    #[serde(default)]
    pub received: ReceivedAt,
}

/// What the source makes of one Kafka record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Ingested<T> {
    /// Decoded and on time: sent at its own event time.
    OnTime(Record<T>),
    /// Decoded but late (SPEC §4): sent at the worker's current time, with its raw bytes so a
    /// non-request stream can dead-letter it.
    Late { record: Record<T>, raw: Vec<u8> },
    /// Undecodable or invalid: a dead letter (with the record's arrival).
    Invalid(Received<DeadLetter>),
}

impl<T> Ingested<T> {
    /// Stamps the record's arrival (the Kafka source, as it receives it).
    pub fn set_received(&mut self, at: ReceivedAt) {
        match self {
            Ingested::OnTime(r) | Ingested::Late { record: r, .. } => r.received = at,
            Ingested::Invalid(d) => d.received = at,
        }
    }

    /// The record's arrival.
    pub fn received(&self) -> ReceivedAt {
        match self {
            Ingested::OnTime(r) | Ingested::Late { record: r, .. } => r.received,
            Ingested::Invalid(d) => d.received,
        }
    }
}

/// The stream a source produces.
pub type IngestStream<'scope, T> = Stream<'scope, u64, Vec<Ingested<T>>>;

/// Hands a source's batch of `(time, item)` to its output: sorted by time (stable, so read
/// order within a time is kept), one session per timestamp, in one pass (draining a prefix at a
/// time would shift the rest of the batch each time: quadratic in the timestamps per batch).
/// Leaves `batch` empty, its capacity kept for the next activation.
pub(crate) fn give_by_time<D: 'static>(
    batch: &mut Vec<(u64, D)>,
    cap: &Capability<u64>,
    output: &mut OutputBuilderSession<'_, u64, CapacityContainerBuilder<Vec<D>>>,
) {
    batch.sort_by_key(|(t, _)| *t);
    let mut items = batch.drain(..).peekable();
    while let Some((t, first)) = items.next() {
        let at = cap.delayed(&t);
        let mut session = output.session(&at);
        session.give(first);
        while let Some((_, item)) = items.next_if(|(u, _)| *u == t) {
            session.give(item);
        }
    }
}

/// Classifies one read record. `now_time` is the worker's current capability time; returns the
/// time to send the item at and the item, with no arrival ([`Ingested::set_received`] adds one).
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
            Ingested::Invalid(DeadLetter::new(&origin, e.to_string(), raw).into()),
        ),
        Ok((ts, value)) => {
            let record = Record {
                origin,
                key,
                ts,
                value,
                received: ReceivedAt::NONE,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Wrapping an output never changes its bytes, whatever the arrival.
        #[test]
        fn received_serializes_as_its_value(id in "[a-z0-9-]{1,20}", ts in 0u64..u64::MAX, us in 0u64..u64::MAX) {
            let value = serde_json::json!({"id": id, "ts": ts});
            let wrapped = Received::new(value.clone(), ReceivedAt::from_micros(us));
            prop_assert_eq!(serde_json::to_string(&wrapped).ok(), serde_json::to_string(&value).ok());
        }

        #[test]
        fn seconds_until_is_never_negative(a in 1u64..u64::MAX, b in 1u64..u64::MAX) {
            let s = ReceivedAt::from_micros(a).seconds_until(ReceivedAt::from_micros(b));
            prop_assert!(s.is_some_and(|s| s >= 0.0));
            prop_assert_eq!(s == Some(0.0), b <= a);
        }
    }

    #[test]
    fn classify_leaves_the_arrival_empty_and_set_received_stamps_every_kind() {
        let origin = Origin {
            source: "t".into(),
            partition: 0,
            offset: 7,
        };
        let mut marks = Watermarks::new(0);
        marks.add_partition(0);
        let at = ReceivedAt::from_micros(42);
        let (_, mut ok) = classify(Ok((100, 1u8)), origin.clone(), None, b"x", &mut marks, 0, 0);
        let (_, mut late) = classify(Ok((10, 2u8)), origin.clone(), None, b"y", &mut marks, 0, 50);
        let (_, mut bad) = classify::<u8>(
            Err(FieldError::new("ts", "missing")),
            origin,
            None,
            b"z",
            &mut marks,
            0,
            0,
        );
        assert!(matches!(late, Ingested::Late { .. }));
        assert!(matches!(bad, Ingested::Invalid(_)));
        for item in [&mut ok, &mut late, &mut bad] {
            assert_eq!(item.received(), ReceivedAt::NONE);
            item.set_received(at);
            assert_eq!(item.received(), at);
        }
        assert_eq!(
            ReceivedAt::now()
                .micros()
                .map(|us| us > 1_600_000_000_000_000),
            Some(true)
        );
    }
}

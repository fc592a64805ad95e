//! Consumer lag per partition from librdkafka's statistics (SPEC §7 `echoflow_consumer_lag`).
//!
//! librdkafka emits a JSON statistics document every `statistics.interval.ms` (the Kafka source
//! sets 1000 ms by default; a `kafka.client` setting overrides it, 0 turns it off) and rust-rdkafka
//! hands it to `ClientContext::stats_raw` from inside the consumer's own `poll`, so no broker round
//! trip and no extra thread is involved: the numbers are the ones the fetcher already has.
//!
//! Lag of a partition = its end − the consumer's position, never negative, where (field names of
//! librdkafka's STATISTICS.md, `topics.<t>.partitions.<p>`):
//!
//! * end = `ls_offset` (the last stable offset: a `read_committed` consumer, librdkafka's default,
//!   cannot read past it), else `hi_offset` (the high watermark) when `ls_offset` is unknown;
//! * position = `app_offset` (the offset after the last record handed to the application), else
//!   `committed_offset` (nothing read since the assignment), else `lo_offset` (no commit:
//!   `auto.offset.reset = earliest` starts there).
//!
//! Unknown values are negative in librdkafka (−1001); a partition whose end or position is unknown
//! reports nothing rather than a made-up number. Deviation from librdkafka's own `consumer_lag`
//! field: that one is measured from the *committed* offset, so it would include records read but
//! not yet acknowledged by the sink; echoflow reports the fetch position, as Kafka's
//! `records-lag` metric does, and lists only the partitions this source owns (the statistics also
//! name partitions that metadata made known but that are not assigned).
//!
//! ```
//! use echoflow_connectors::kafka::lag::consumer_lags;
//! let json = br#"{"topics": {"echoflow.requests": {"partitions": {
//!     "0": {"partition": 0, "ls_offset": 120, "hi_offset": 120, "app_offset": 100,
//!           "committed_offset": 90, "lo_offset": 0},
//!     "-1": {"partition": -1, "ls_offset": -1001, "hi_offset": -1001, "app_offset": -1001,
//!            "committed_offset": -1001, "lo_offset": -1001}}}}}"#;
//! let lags = consumer_lags(json, "echoflow.requests", &[0]).unwrap();
//! assert_eq!(lags, vec![(0, 20)]);
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;

/// The part of the statistics document the lag needs (serde skips the rest).
#[derive(Debug, Deserialize)]
struct Stats {
    #[serde(default)]
    topics: BTreeMap<String, TopicStats>,
}

#[derive(Debug, Deserialize)]
struct TopicStats {
    #[serde(default)]
    partitions: BTreeMap<String, PartitionStats>,
}

#[derive(Debug, Deserialize)]
struct PartitionStats {
    partition: i32,
    #[serde(default = "unknown")]
    ls_offset: i64,
    #[serde(default = "unknown")]
    hi_offset: i64,
    #[serde(default = "unknown")]
    app_offset: i64,
    #[serde(default = "unknown")]
    committed_offset: i64,
    #[serde(default = "unknown")]
    lo_offset: i64,
}

/// librdkafka's "invalid offset".
fn unknown() -> i64 {
    -1001
}

impl PartitionStats {
    fn lag(&self) -> Option<i64> {
        let end = [self.ls_offset, self.hi_offset]
            .into_iter()
            .find(|o| *o >= 0)?;
        let position = [self.app_offset, self.committed_offset, self.lo_offset]
            .into_iter()
            .find(|o| *o >= 0)?;
        Some((end - position).max(0))
    }
}

/// `(partition, lag)` for each of `owned` partitions of `topic` that the statistics document
/// `json` knows both ends of, in partition order.
pub fn consumer_lags(
    json: &[u8],
    topic: &str,
    owned: &[i32],
) -> Result<Vec<(i32, i64)>, serde_json::Error> {
    let stats: Stats = serde_json::from_slice(json)?;
    let Some(t) = stats.topics.get(topic) else {
        return Ok(Vec::new());
    };
    let mut lags: Vec<(i32, i64)> = t
        .partitions
        .values()
        .filter(|p| owned.contains(&p.partition))
        .filter_map(|p| p.lag().map(|l| (p.partition, l)))
        .collect();
    lags.sort_unstable();
    Ok(lags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(parts: &[(i32, i64, i64, i64, i64, i64)]) -> String {
        let body: Vec<String> = parts
            .iter()
            .map(|(p, ls, hi, app, committed, lo)| {
                format!(
                    r#""{p}": {{"partition": {p}, "fetch_state": "active", "ls_offset": {ls},
                       "hi_offset": {hi}, "app_offset": {app}, "committed_offset": {committed},
                       "lo_offset": {lo}, "consumer_lag": 999}}"#
                )
            })
            .collect();
        format!(
            r#"{{"name": "rdkafka#consumer-1", "type": "consumer", "brokers": {{}},
                "topics": {{"t": {{"topic": "t", "partitions": {{{}}}}}}}}}"#,
            body.join(",")
        )
    }

    #[test]
    fn position_falls_back_from_app_to_committed_to_low() {
        let json = doc(&[
            (0, 50, 50, 40, 30, 0),           // read up to 40
            (1, 50, 50, -1001, 30, 0),        // nothing read yet: the commit
            (2, 50, 50, -1001, -1001, 5),     // no commit: the low watermark
            (3, -1001, 70, 60, -1001, 0),     // no stable offset known: the high watermark
            (4, -1001, -1001, 10, 10, 0),     // end unknown: nothing reported
            (5, 50, 50, -1001, -1001, -1001), // position unknown: nothing reported
        ]);
        let lags = consumer_lags(json.as_bytes(), "t", &[0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(lags, vec![(0, 10), (1, 20), (2, 45), (3, 10)]);
    }

    #[test]
    fn only_owned_partitions_of_the_topic_are_reported() {
        let json = doc(&[(0, 9, 9, 1, 1, 0), (1, 9, 9, 2, 2, 0), (-1, 0, 0, 0, 0, 0)]);
        assert_eq!(
            consumer_lags(json.as_bytes(), "t", &[1]).unwrap(),
            vec![(1, 7)]
        );
        assert!(
            consumer_lags(json.as_bytes(), "other", &[0, 1])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_document_without_topics_has_no_lag_and_garbage_is_an_error() {
        assert!(
            consumer_lags(br#"{"type": "consumer"}"#, "t", &[0])
                .unwrap()
                .is_empty()
        );
        assert!(consumer_lags(b"not json", "t", &[0]).is_err());
    }

    proptest! {
        #[test]
        fn lag_is_never_negative_and_is_end_minus_position(
            end in 0i64..1_000_000, app in 0i64..2_000_000, lo in 0i64..10
        ) {
            let json = doc(&[(0, end, end, app, -1001, lo)]);
            let lags = consumer_lags(json.as_bytes(), "t", &[0]).unwrap();
            prop_assert_eq!(lags, vec![(0, (end - app).max(0))]);
        }
    }
}

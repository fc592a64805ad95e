//! Retrying the one-shot broker requests a client makes while starting (committed offsets,
//! watermarks, metadata) through the transient errors a healthy cluster still returns.
//!
//! A consumer group's coordinator can move or still be loading (`NOT_COORDINATOR`,
//! `COORDINATOR_LOAD_IN_PROGRESS`, `COORDINATOR_NOT_AVAILABLE`, e.g. right after the broker
//! created `__consumer_offsets`), a partition's leader can be changing (`LEADER_NOT_AVAILABLE`,
//! `NOT_LEADER_OR_FOLLOWER`), a request can time out. The Kafka protocol marks these retriable;
//! librdkafka retries them inside its own consumer loop, but its synchronous calls such as
//! `committed_offsets` return the first such error to the caller. [`until`] retries them with
//! exponential back-off (50 ms doubling to 1 s) until a deadline, and returns any other error at
//! once: a missing topic or a refused authorisation is not retried. [`topic_metadata`] does the
//! same for errors the broker reports *inside* a metadata answer (a topic whose leader is being
//! elected).

use std::thread;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::client::Client;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;

/// The first back-off; it doubles after each retry up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Whether `error` is one the protocol lets a client retry (see the module doc).
pub fn is_transient(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            NotCoordinator
                | CoordinatorNotAvailable
                | CoordinatorLoadInProgress
                | LeaderNotAvailable
                | NotLeaderForPartition
                | RequestTimedOut
                | OperationTimedOut
                | NetworkException
                | BrokerTransportFailure
        )
    )
}

/// Calls `attempt` with the time left until `budget` has passed, again after a back-off while it
/// fails with a transient error and time is left; returns its first success, its first
/// non-transient error, or its last error once the budget is spent.
pub fn until<T>(
    budget: Duration,
    mut attempt: impl FnMut(Duration) -> KafkaResult<T>,
) -> KafkaResult<T> {
    let deadline = Instant::now() + budget;
    let mut backoff = FIRST_BACKOFF;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match attempt(left) {
            Err(e) if is_transient(&e) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(e);
                }
                tracing::debug!(error = %e, ?backoff, "transient Kafka error; retrying");
                thread::sleep(backoff.min(left));
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            done => return done,
        }
    }
}

/// The metadata of `topic`, asked for again while the broker answers with a transient error,
/// for the request or inside the answer for the topic itself (a topic created a moment ago can
/// report LEADER_NOT_AVAILABLE until its leader is elected). Any other answer, an unknown topic
/// included, is returned as it is for the caller to report; errors of single partitions are
/// left to librdkafka, which keeps fetching the others and retries those.
pub fn topic_metadata<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    budget: Duration,
) -> KafkaResult<Metadata> {
    until(budget, |left| {
        let md = client.fetch_metadata(Some(topic), left)?;
        let pending = md
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .find_map(|t| t.error())
            .map(|e| KafkaError::MetadataFetch(RDKafkaErrorCode::from(e)));
        match pending {
            Some(e) if is_transient(&e) => Err(e),
            _ => Ok(md),
        }
    })
}

/// The low and high watermarks of `topic`'s `partition`, retried through transient errors.
pub fn watermarks<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partition: i32,
    budget: Duration,
) -> KafkaResult<(i64, i64)> {
    until(budget, |left| {
        client.fetch_watermarks(topic, partition, left)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch_error(code: RDKafkaErrorCode) -> KafkaError {
        KafkaError::MetadataFetch(code)
    }

    #[test]
    fn transient_errors_are_retried_until_success() {
        let mut calls = 0;
        let got = until(Duration::from_secs(30), |_| {
            calls += 1;
            match calls {
                1 => Err(fetch_error(RDKafkaErrorCode::NotCoordinator)),
                2 => Err(fetch_error(RDKafkaErrorCode::CoordinatorLoadInProgress)),
                _ => Ok(calls),
            }
        });
        assert_eq!(got.ok(), Some(3));
        assert_eq!(calls, 3);
    }

    #[test]
    fn a_permanent_error_is_returned_at_once() {
        let mut calls = 0;
        let got: KafkaResult<()> = until(Duration::from_secs(30), |_| {
            calls += 1;
            Err(fetch_error(RDKafkaErrorCode::UnknownTopicOrPartition))
        });
        assert_eq!(
            got.err().and_then(|e| e.rdkafka_error_code()),
            Some(RDKafkaErrorCode::UnknownTopicOrPartition)
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_last_transient_error_is_returned_once_the_budget_is_spent() {
        let mut calls = 0;
        let got: KafkaResult<()> = until(Duration::ZERO, |left| {
            calls += 1;
            assert_eq!(left, Duration::ZERO);
            Err(fetch_error(RDKafkaErrorCode::NotCoordinator))
        });
        assert_eq!(
            got.err().and_then(|e| e.rdkafka_error_code()),
            Some(RDKafkaErrorCode::NotCoordinator)
        );
        assert_eq!(calls, 1);
    }

    #[test]
    fn classification_follows_the_protocol() {
        assert!(is_transient(&fetch_error(RDKafkaErrorCode::NotCoordinator)));
        assert!(is_transient(&fetch_error(
            RDKafkaErrorCode::RequestTimedOut
        )));
        assert!(!is_transient(&fetch_error(
            RDKafkaErrorCode::TopicAuthorizationFailed
        )));
        assert!(!is_transient(&KafkaError::Canceled));
    }
}

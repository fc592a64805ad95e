//! Where a bounded read stops: each partition's end offset, fixed when the source starts.
//!
//! A bounded run (`stop_at_eof`) reads every record that was in its partitions when it started
//! and then finishes. The end of a partition is its high watermark at start-up; the partition is
//! done once the next offset to read has reached it. Partition-EOF events are *not* the basis:
//! librdkafka reports "end of partition" for a fetch position that was the end at some moment of
//! prefetching, which says nothing definite about what was there when the run began.
//!
//! One exception keeps the rule total: the last offsets of a partition can be transaction markers
//! (control records), which are never delivered. When the consumer reports EOF and its own
//! position has reached the end, the partition is done even if no delivered record reached it.
//!
//! ```
//! use echoflow_connectors::kafka::bounds::Bounds;
//! // Partition 0 holds offsets 0..3 and is read from the start; partition 1 is already consumed.
//! let mut b = Bounds::new([(0, 0, 3), (1, 5, 5)]);
//! assert!(!b.done());
//! b.consumed(0, 1);
//! assert!(!b.done());
//! b.consumed(0, 2);
//! assert!(b.done());
//! ```

use std::collections::BTreeMap;

/// Per partition: the next offset to read and the end to reach.
#[derive(Debug, Clone, Default)]
pub struct Bounds {
    partitions: BTreeMap<i32, (i64, i64)>,
}

impl Bounds {
    /// `(partition, start, end)`: reading starts at `start` (the committed offset, or the low
    /// watermark without one) and must reach `end` (the high watermark at start-up).
    pub fn new(parts: impl IntoIterator<Item = (i32, i64, i64)>) -> Self {
        Bounds {
            partitions: parts
                .into_iter()
                .map(|(p, start, end)| (p, (start, end)))
                .collect(),
        }
    }

    /// Notes that `offset` of `partition` was read.
    pub fn consumed(&mut self, partition: i32, offset: i64) {
        if let Some((next, _)) = self.partitions.get_mut(&partition) {
            *next = (*next).max(offset + 1);
        }
    }

    /// Notes the consumer's own position for `partition` (after an EOF): it counts records the
    /// consumer skipped without delivering, such as transaction markers.
    pub fn position(&mut self, partition: i32, position: i64) {
        self.consumed(partition, position - 1);
    }

    /// Partitions with records still to read before their end.
    pub fn pending(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions
            .iter()
            .filter(|(_, (next, end))| next < end)
            .map(|(p, _)| *p)
    }

    /// Every partition has reached its end.
    pub fn done(&self) -> bool {
        self.pending().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_early_eof_does_not_end_the_read() {
        // The consumer may say EOF for an earlier end; only offsets count.
        let mut b = Bounds::new([(0, 0, 10)]);
        for o in 0..9 {
            b.consumed(0, o);
        }
        assert_eq!(b.pending().collect::<Vec<_>>(), vec![0]);
        b.consumed(0, 9);
        assert!(b.done());
    }

    #[test]
    fn empty_and_already_committed_partitions_are_done_at_once() {
        let b = Bounds::new([(0, 0, 0), (1, 7, 7), (2, 9, 4)]);
        assert!(b.done());
        assert!(Bounds::new([]).done());
    }

    #[test]
    fn records_past_the_end_do_not_undo_it() {
        let mut b = Bounds::new([(0, 0, 2), (1, 0, 1)]);
        b.consumed(0, 5);
        assert_eq!(b.pending().collect::<Vec<_>>(), vec![1]);
        b.consumed(1, 0);
        assert!(b.done());
        b.consumed(1, 3);
        assert!(b.done());
    }

    #[test]
    fn position_covers_undelivered_control_records() {
        let mut b = Bounds::new([(0, 0, 12)]);
        b.consumed(0, 9);
        assert!(!b.done());
        b.position(0, 12);
        assert!(b.done());
    }

    #[test]
    fn unknown_partitions_are_ignored() {
        let mut b = Bounds::new([(0, 0, 1)]);
        b.consumed(3, 100);
        assert!(!b.done());
    }
}

//! The offset ledger: which consumed offsets may be committed, given how far the sink has
//! acknowledged its output.
//!
//! The source records, for every partition, each consumed offset with the timely time at which it
//! entered the dataflow. Everything the dataflow derives from a record carries a time at or after
//! the record's own, and the sink holds a capability for every time whose outputs the broker has
//! not yet acknowledged. So once the acknowledged frontier `F` (the frontier of the sink's
//! acknowledgement stream) has passed a record's time, every output caused by that record is
//! durable. The ledger commits, per partition, the longest prefix of consumed offsets whose
//! times are all before `F`: offsets are committed in consumption order, never past a record
//! whose output may still be in flight. A restart resumes from the committed offset, so
//! nothing is lost; records after it may be processed twice (at-least-once).

use std::collections::{BTreeMap, VecDeque};

/// Consumed offsets per partition with the time each entered the dataflow.
#[derive(Debug, Default)]
pub struct OffsetLedger {
    pending: BTreeMap<i32, VecDeque<(i64, u64)>>,
    /// Next offset to commit per partition (last committable offset + 1), not yet committed.
    ready: BTreeMap<i32, i64>,
}

impl OffsetLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes that `offset` of `partition` entered the dataflow at `time`.
    pub fn consumed(&mut self, partition: i32, offset: i64, time: u64) {
        self.pending
            .entry(partition)
            .or_default()
            .push_back((offset, time));
    }

    /// Releases every prefix whose times are all before `acked` (`None` = everything acked, the
    /// frontier is empty). Returns true if anything new became committable.
    pub fn advance(&mut self, acked: Option<u64>) -> bool {
        let mut changed = false;
        for (&p, queue) in self.pending.iter_mut() {
            let mut last = None;
            while let Some(&(offset, time)) = queue.front() {
                if acked.is_some_and(|f| time >= f) {
                    break;
                }
                last = Some(offset);
                queue.pop_front();
            }
            if let Some(o) = last {
                self.ready.insert(p, o + 1);
                changed = true;
            }
        }
        changed
    }

    /// Takes the offsets to commit: partition → next offset to read.
    pub fn take_ready(&mut self) -> BTreeMap<i32, i64> {
        std::mem::take(&mut self.ready)
    }

    /// Records consumed but not yet committable.
    pub fn in_flight(&self) -> usize {
        self.pending.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_acknowledged_prefixes() {
        let mut l = OffsetLedger::new();
        l.consumed(0, 10, 100);
        l.consumed(0, 11, 300); // out of order in time: blocks 12 until acked
        l.consumed(0, 12, 200);
        l.consumed(1, 5, 150);
        assert!(l.advance(Some(250)));
        assert_eq!(l.take_ready(), BTreeMap::from([(0, 11), (1, 6)]));
        assert_eq!(l.in_flight(), 2);
        assert!(!l.advance(Some(300)));
        assert!(l.advance(Some(301)));
        assert_eq!(l.take_ready(), BTreeMap::from([(0, 13)]));
        assert_eq!(l.in_flight(), 0);
    }

    #[test]
    fn empty_frontier_releases_everything() {
        let mut l = OffsetLedger::new();
        l.consumed(3, 0, u64::MAX - 1);
        assert!(l.advance(None));
        assert_eq!(l.take_ready(), BTreeMap::from([(3, 1)]));
    }
}

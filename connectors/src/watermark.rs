//! Lateness and the worker watermark (SPEC §4), as plain state: no clock, no Kafka.
//!
//! * A record is **late** when its `ts` < (the largest `ts` seen earlier in its own partition) −
//!   `allowed_lateness_ms`. The first record of a partition is never late by this rule.
//! * The **watermark** of a worker is the minimum over its partitions of (max ts −
//!   allowed lateness). It drives timely capabilities only: a record that is not late by the rule
//!   above always has `ts` ≥ the watermark, so it can be sent at its own event time.
//! * A partition that has seen no record holds the watermark at 0. A partition the caller marks
//!   **idle** (no record for `idle_timeout_ms` of wall-clock time, which only `run` measures) stops
//!   holding it. When every partition is idle the watermark is just past the largest of their
//!   bounds, so the tail of a quiet stream completes; with [`Watermarks::watermark_or_idle`] the
//!   caller also gives a floor (`run`: the wall clock), so a worker whose partitions are all idle
//!   — or empty — never holds back the others. A record that then arrives behind the released
//!   watermark is late as well (the source checks `ts` against its capability).
//!
//! ```
//! use echoflow_connectors::watermark::{Arrival, Watermarks};
//! let mut w = Watermarks::new(10);
//! w.add_partition(0);
//! w.add_partition(1);
//! assert_eq!(w.observe(0, 100), Arrival::OnTime);
//! assert_eq!(w.observe(0, 95), Arrival::OnTime);   // within the allowed 10 ms
//! assert_eq!(w.observe(0, 80), Arrival::Late);     // 80 < 100 - 10
//! assert_eq!(w.watermark(), Some(0));              // partition 1 has seen nothing yet
//! w.set_idle(1, true);
//! assert_eq!(w.watermark(), Some(90));
//! ```

use std::collections::BTreeMap;

/// Whether a record arrived on time or late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    OnTime,
    Late,
}

#[derive(Debug, Clone, Default)]
struct Partition {
    max_ts: Option<u64>,
    idle: bool,
}

/// Per-partition maxima and the watermark they imply.
#[derive(Debug, Clone)]
pub struct Watermarks {
    allowed_lateness_ms: u64,
    partitions: BTreeMap<i32, Partition>,
}

impl Watermarks {
    pub fn new(allowed_lateness_ms: u64) -> Self {
        Watermarks {
            allowed_lateness_ms,
            partitions: BTreeMap::new(),
        }
    }

    /// Starts tracking a partition (it holds the watermark at 0 until it sees a record or idles).
    pub fn add_partition(&mut self, partition: i32) {
        self.partitions.entry(partition).or_default();
    }

    /// The partitions tracked.
    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.partitions.keys().copied()
    }

    /// Records an arrival and says whether it is late. A record makes its partition active again.
    pub fn observe(&mut self, partition: i32, ts: u64) -> Arrival {
        let p = self.partitions.entry(partition).or_default();
        p.idle = false;
        match p.max_ts {
            Some(max) if ts.saturating_add(self.allowed_lateness_ms) < max => Arrival::Late,
            Some(max) => {
                p.max_ts = Some(max.max(ts));
                Arrival::OnTime
            }
            None => {
                p.max_ts = Some(ts);
                Arrival::OnTime
            }
        }
    }

    /// Marks a partition idle (it stops holding the watermark) or active again.
    pub fn set_idle(&mut self, partition: i32, idle: bool) {
        self.partitions.entry(partition).or_default().idle = idle;
    }

    fn bound(&self, p: &Partition) -> u64 {
        p.max_ts
            .map_or(0, |m| m.saturating_sub(self.allowed_lateness_ms))
    }

    /// The watermark; when every partition is idle, at least `idle_floor` (in `run` the wall
    /// clock less the allowed lateness, so idle and empty partitions follow real time).
    pub fn watermark_or_idle(&self, idle_floor: u64) -> Option<u64> {
        let w = self.watermark()?;
        if self.partitions.values().all(|p| p.idle) {
            Some(w.max(idle_floor))
        } else {
            Some(w)
        }
    }

    /// The watermark, or `None` when no partition is tracked.
    pub fn watermark(&self) -> Option<u64> {
        let active = self
            .partitions
            .values()
            .filter(|p| !p.idle)
            .map(|p| self.bound(p))
            .min();
        // All idle: everything read is complete, including its latest time (+1), so the tail
        // of a stream that has gone quiet is processed without waiting for more input.
        active.or_else(|| {
            self.partitions
                .values()
                .map(|p| self.bound(p).saturating_add(1))
                .max()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_per_partition() {
        let mut w = Watermarks::new(0);
        assert_eq!(w.observe(0, 100), Arrival::OnTime);
        assert_eq!(w.observe(1, 50), Arrival::OnTime);
        assert_eq!(w.observe(1, 60), Arrival::OnTime);
        assert_eq!(w.observe(0, 99), Arrival::Late);
        assert_eq!(w.observe(0, 100), Arrival::OnTime);
        assert_eq!(w.watermark(), Some(60));
    }

    #[test]
    fn all_idle_releases_just_past_the_largest_bound() {
        let mut w = Watermarks::new(5);
        w.observe(0, 100);
        w.observe(1, 20);
        w.set_idle(0, true);
        assert_eq!(w.watermark(), Some(15));
        w.set_idle(1, true);
        assert_eq!(w.watermark(), Some(96));
        w.observe(1, 30);
        assert_eq!(w.watermark(), Some(25));
    }

    #[test]
    fn an_idle_floor_moves_only_an_all_idle_worker() {
        let mut w = Watermarks::new(0);
        w.add_partition(0);
        w.add_partition(1);
        w.observe(0, 100);
        w.set_idle(1, true);
        assert_eq!(w.watermark_or_idle(5_000), Some(100));
        w.set_idle(0, true);
        assert_eq!(w.watermark_or_idle(5_000), Some(5_000));
        assert_eq!(w.watermark_or_idle(50), Some(101));
    }

    #[test]
    fn no_partitions_no_watermark() {
        assert_eq!(Watermarks::new(0).watermark(), None);
    }
}

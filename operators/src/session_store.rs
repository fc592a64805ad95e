//! Reservoir state carried between the requests of a session (SPEC §2's optional `session`;
//! SPEC §4: sessions are state split by `logical_shards` key groups, never by worker).
//!
//! A request with a `session` starts its reservoir from the state in which the session's previous
//! request left it, and leaves its own final state for the next: the requests of a session are
//! one long input sequence cut into pieces, as a membrane serving a conversation would keep its
//! recurrent state (ReservoirPy's `Reservoir.run(..., from_state=...)` / `reset=False`). A
//! request without a session starts from the zero state, as before.
//!
//! One [`SessionStore`] per key group holds, per key (the dataflow uses `(session, profile)`:
//! the `full` and `reduced` profiles have different state sizes, so each carries its own), the
//! state and the event time it was written. Defaults (SPEC §6 `[reservoir]`): a state is kept
//! for `session_ttl_ms` = 300 s of event-time inactivity, at most `sessions_per_shard` = 256
//! per key group.
//!
//! Every rule depends only on the key group's own requests and their event times, so the same
//! input gives the same states for any number of workers:
//! * **freshness is decided at use**: a state written at `w` serves a request at `t` only if
//!   `t < w + ttl` ([`SessionStore::get`]); dropping stale entries is housekeeping;
//! * **capacity**: [`SessionStore::put`] first drops the stale entries, then, while the store is
//!   over capacity, evicts the least recently written entry (smallest `(written, key)`), the
//!   LRU rule of a bounded session cache made deterministic by the key as tie-break;
//! * `ttl = 0` turns sessions off: nothing is stored, every request starts from zero.
//!
//! ```
//! use echoflow_operators::session_store::SessionStore;
//! let mut s = SessionStore::new(1_000, 2);
//! s.put("a", 10, vec![0.5]);
//! assert_eq!(s.get(&"a", 500), Some(&[0.5][..]));
//! assert_eq!(s.get(&"a", 1_010), None); // idle for the whole TTL: starts afresh
//! s.put("b", 20, vec![1.0]);
//! s.put("c", 30, vec![2.0]); // over capacity: "a", the least recently written, goes
//! assert_eq!((s.len(), s.get(&"a", 40)), (2, None));
//! ```

use std::collections::{BTreeMap, BTreeSet};

/// Default `reservoir.session_ttl_ms`: 5 minutes of event time.
pub const DEFAULT_SESSION_TTL_MS: u64 = 300_000;

/// Default `reservoir.sessions_per_shard`.
pub const DEFAULT_SESSIONS_PER_SHARD: usize = 256;

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    state: Vec<f64>,
    written_ms: u64,
}

/// The carried states of one key group's sessions.
#[derive(Debug, Clone)]
pub struct SessionStore<K: Ord + Clone> {
    ttl_ms: u64,
    capacity: usize,
    entries: BTreeMap<K, Entry>,
    /// `(written, key)` of every entry: the eviction and expiry order.
    by_age: BTreeSet<(u64, K)>,
}

impl<K: Ord + Clone> SessionStore<K> {
    /// A store keeping states for `ttl_ms` of inactivity, at most `capacity` (≥ 1) of them.
    pub fn new(ttl_ms: u64, capacity: usize) -> Self {
        SessionStore {
            ttl_ms,
            capacity: capacity.max(1),
            entries: BTreeMap::new(),
            by_age: BTreeSet::new(),
        }
    }

    /// The state `key` carries into a request at `t`, if one was written less than the TTL ago.
    pub fn get(&self, key: &K, t: u64) -> Option<&[f64]> {
        self.entries
            .get(key)
            .filter(|e| t < e.written_ms.saturating_add(self.ttl_ms))
            .map(|e| e.state.as_slice())
    }

    /// Stores the state `key` ended in at `t` (replacing its previous one), then drops stale
    /// entries and evicts the least recently written ones beyond the capacity.
    pub fn put(&mut self, key: K, t: u64, state: Vec<f64>) {
        if self.ttl_ms == 0 {
            return;
        }
        if let Some(old) = self.entries.insert(
            key.clone(),
            Entry {
                state,
                written_ms: t,
            },
        ) {
            self.by_age.remove(&(old.written_ms, key.clone()));
        }
        self.by_age.insert((t, key));
        self.expire(t);
        while self.entries.len() > self.capacity {
            let Some((_, k)) = self.by_age.pop_first() else {
                break;
            };
            self.entries.remove(&k);
        }
    }

    /// Drops every entry that can no longer serve a request at `t` or later.
    pub fn expire(&mut self, t: u64) {
        while let Some((w, _)) = self.by_age.first() {
            if t < w.saturating_add(self.ttl_ms) {
                break;
            }
            if let Some((_, k)) = self.by_age.pop_first() {
                self.entries.remove(&k);
            }
        }
    }

    /// Entries held (fresh or not yet dropped).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_new_state_replaces_the_old_and_refreshes_it() {
        let mut s = SessionStore::new(100, 4);
        s.put("a", 0, vec![1.0]);
        s.put("a", 90, vec![2.0]);
        assert_eq!(s.get(&"a", 150), Some(&[2.0][..]));
        assert_eq!(s.len(), 1);
        s.expire(190);
        assert!(s.is_empty());
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let mut s = SessionStore::new(0, 4);
        s.put("a", 0, vec![1.0]);
        assert_eq!(s.get(&"a", 0), None);
        assert!(s.is_empty());
    }

    #[test]
    fn ties_in_age_evict_the_smallest_key() {
        let mut s = SessionStore::new(100, 2);
        s.put("b", 5, vec![1.0]);
        s.put("a", 5, vec![2.0]);
        s.put("c", 5, vec![3.0]);
        assert_eq!(s.get(&"a", 5), None);
        assert!(s.get(&"b", 5).is_some() && s.get(&"c", 5).is_some());
    }

    proptest! {
        /// The indexed store against a naive model of the same rules (linear scans, no age
        /// index), with housekeeping (`expire`) run at random moments in the store only: what a
        /// request can read never depends on when housekeeping ran.
        #[test]
        fn the_store_serves_what_the_rules_say(
            ops in proptest::collection::vec((0u8..6, 0u64..40, any::<bool>()), 1..200),
            ttl in 1u64..60,
            cap in 1usize..5,
        ) {
            let mut store = SessionStore::new(ttl, cap);
            let mut model: BTreeMap<u8, (f64, u64)> = BTreeMap::new();
            let mut t = 0u64;
            for (k, dt, housekeep) in ops {
                t += dt;
                for j in 0u8..6 {
                    let want = model.get(&j).filter(|(_, w)| t < w + ttl).map(|(v, _)| vec![*v]);
                    prop_assert_eq!(store.get(&j, t).map(<[f64]>::to_vec), want);
                }
                store.put(k, t, vec![t as f64]);
                if housekeep {
                    store.expire(t);
                }
                model.insert(k, (t as f64, t));
                model.retain(|_, (_, w)| t < *w + ttl);
                while model.len() > cap {
                    let oldest = model.iter().map(|(j, (_, w))| (*w, *j)).min();
                    if let Some((_, j)) = oldest {
                        model.remove(&j);
                    }
                }
                prop_assert!(store.len() <= cap);
            }
        }
    }
}

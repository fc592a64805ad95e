//! The membrane pool: fleet membership and the latest state of every membrane (SPEC §3).
//!
//! # Algorithm
//!
//! * A membrane **registers** with its first telemetry report ([`Telemetry`], mirroring SPEC §2's
//!   `echoflow.telemetry` record) and **deregisters** after `membrane_ttl_ms` (30 s, SPEC §6
//!   `routing.membrane_ttl_ms`) of event-time silence: the expiry is a timer at exactly
//!   `last report + ttl`. Both are reported as `membrane` events `up` / `down`. Deregistration
//!   forgets the membrane's state (breaker, RED average) as a service registry does: a membrane
//!   that comes back registers afresh.
//! * Per membrane the pool keeps the latest reading, its [`CircuitBreaker`] (fed with the report's
//!   `requests`/`errors`/`latency_ms`) and its RED [`QueueAverage`] (fed with
//!   `queue_depth`/`queue_capacity`), because all three change exactly when telemetry arrives.
//! * **Ready** (healthy) = the report's `healthy` flag, fresh (`now < last report + ttl`) and the
//!   breaker not Open (SPEC §3). [`MembranePool::fleet`] gives the means over the ready membranes
//!   of cpu, memory, RED average fill and latency (the inputs of degradation, AIMD and the
//!   autoscaler), or `None` when no membrane is ready.
//! * Timers (TTL expiries, breaker Open → HalfOpen) are kept in one ordered set and fired by
//!   [`MembranePool::advance_to`] in (deadline, membrane id, breaker-before-expiry) order, each
//!   stamped with its deadline; timers due at `t` fire before a report at `t` is applied.
//! * Iteration is by membrane id (byte order) everywhere, so results never depend on hash order.
//!   Membranes live in slots addressed by a small copyable [`MemberRef`]; per-shard state that is
//!   keyed by membrane (routing's in-flight counts, RED's Floyd counts) lives in a
//!   [`PerMembrane`] the caller keeps per logical shard.
//! * For consistent hashing the pool keeps a hash ring of [`VNODES`] points per registered
//!   membrane (`keyed::hash64(0, id ‖ vnode)`), updated on registration and expiry only.
//!
//! The source documents describe a Redis-backed registry with TTLs and 30 s health checks
//! ("Backend Service Integration", `service_discovery.py`); echoflow derives membership and
//! health from the telemetry stream alone, in event time, so a replay rebuilds the same pool.
//!
//! ```
//! use echoflow_operators::membrane_pool::{MembranePool, PoolConfig, Telemetry};
//! let mut pool = MembranePool::new(PoolConfig::default());
//! let ev = pool.on_telemetry(&Telemetry { membrane: "m-1".into(), ts: 1_000, ..Telemetry::default() });
//! assert_eq!(ev[0].to_control_event().to, "up");
//! assert_eq!(pool.ready(1_000).count(), 1);
//! let ev = pool.advance_to(40_000);                 // 30 s of silence
//! assert_eq!((ev[0].at_ms(), ev[0].to_control_event().to), (31_000, "down"));
//! assert!(pool.is_empty());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::circuit_breaker::{BreakerConfig, BreakerTransition, CircuitBreaker};
use crate::config_error::{ConfigError, check_min_u64};
use crate::event::{ControlEvent, EventKind};
use crate::keyed;
use crate::red::QueueAverage;

/// Points per membrane on the consistent-hashing ring.
pub const VNODES: u32 = 40;

/// Latency at which the `least_loaded` latency term is 0.5 (see [`Membrane::load_base`]).
pub const LATENCY_REF_MS: f64 = 100.0;

/// One telemetry report (SPEC §2 `echoflow.telemetry`); the wire decoder converts into it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Telemetry {
    pub membrane: String,
    /// Event time (ms).
    pub ts: u64,
    pub cpu: f64,
    pub memory: f64,
    pub queue_depth: u64,
    pub queue_capacity: u64,
    pub in_flight: u64,
    pub latency_ms: f64,
    /// Calls since this membrane's previous report.
    pub requests: u64,
    /// Failed calls since the previous report (≤ `requests`).
    pub errors: u64,
    pub healthy: bool,
    /// Relative capacity for `weighted` routing (1.0 when absent).
    pub capacity_weight: Option<f64>,
}

impl Default for Telemetry {
    /// An idle, healthy membrane with an empty queue of capacity 100 (for tests and examples).
    fn default() -> Self {
        Telemetry {
            membrane: String::new(),
            ts: 0,
            cpu: 0.0,
            memory: 0.0,
            queue_depth: 0,
            queue_capacity: 100,
            in_flight: 0,
            latency_ms: 0.0,
            requests: 0,
            errors: 0,
            healthy: true,
            capacity_weight: None,
        }
    }
}

/// What the pool needs: the TTL (`routing.membrane_ttl_ms`), RED's EWMA weight (`red.weight`)
/// and the breaker settings (`[breaker]`).
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    pub membrane_ttl_ms: u64,
    pub red_weight: f64,
    pub breaker: BreakerConfig,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            membrane_ttl_ms: 30_000,
            red_weight: 0.2,
            breaker: BreakerConfig::default(),
        }
    }
}

impl PoolConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_min_u64("routing.membrane_ttl_ms", self.membrane_ttl_ms, 1)?;
        if !(self.red_weight.is_finite() && self.red_weight > 0.0 && self.red_weight <= 1.0) {
            return Err(ConfigError::new(
                "red.weight",
                self.red_weight,
                "a number in (0, 1]",
            ));
        }
        self.breaker.validate()
    }
}

/// A handle on one registration of a membrane: stays valid until it expires, and never aliases
/// a later registration (even of the same id in the same slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberRef {
    slot: u32,
    registration: u64,
}

impl MemberRef {
    /// The slot index (dense, reused after expiry).
    pub fn slot(self) -> usize {
        self.slot as usize
    }
}

/// The few numbers routing reads per membrane, kept densely in id order
/// ([`MembranePool::candidates`]) so that a routing decision scans a small contiguous array
/// instead of the full membrane records. Refreshed whenever the membrane's report, breaker or
/// registration changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub member: MemberRef,
    /// [`Membrane::reading_seq`].
    pub reading_seq: u64,
    /// `last report + ttl` when the `healthy` flag is set and the breaker is not Open, else 0:
    /// the membrane is ready at `now` iff `now < ready_until`.
    pub ready_until: u64,
    pub queue_depth: u64,
    pub queue_capacity: u64,
    pub in_flight: u64,
    /// [`Membrane::load_base`].
    pub load_base: f64,
    /// [`Membrane::weight`].
    pub weight: f64,
}

impl Candidate {
    /// Ready at `now_ms` (same rule as [`Membrane::is_ready`]).
    #[inline]
    pub fn is_ready(&self, now_ms: u64) -> bool {
        now_ms < self.ready_until
    }
}

/// One registered membrane.
#[derive(Debug, Clone)]
pub struct Membrane {
    reading: Telemetry,
    member: MemberRef,
    last_seen_ms: u64,
    reading_seq: u64,
    breaker: CircuitBreaker,
    breaker_timer: Option<u64>,
    queue: QueueAverage,
    load_base: f64,
    weight: f64,
}

impl Membrane {
    pub fn id(&self) -> &str {
        &self.reading.membrane
    }

    /// The latest report.
    pub fn reading(&self) -> &Telemetry {
        &self.reading
    }

    pub fn member(&self) -> MemberRef {
        self.member
    }

    /// Event time of the latest report.
    pub fn last_seen_ms(&self) -> u64 {
        self.last_seen_ms
    }

    /// Unique per report applied to the pool: per-shard counts "since the last telemetry" are
    /// valid while it is unchanged.
    pub fn reading_seq(&self) -> u64 {
        self.reading_seq
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// RED's average of this membrane's queue.
    pub fn queue(&self) -> &QueueAverage {
        &self.queue
    }

    /// `cpu + latency/(latency + LATENCY_REF_MS)`: the request-independent part of the
    /// `least_loaded` score (routing adds the queue fill).
    pub fn load_base(&self) -> f64 {
        self.load_base
    }

    /// `capacity_weight`, 1.0 when absent, 0 when negative or not finite.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// The routing view of this membrane for a pool with TTL `ttl_ms`.
    pub fn candidate(&self, ttl_ms: u64) -> Candidate {
        let r = &self.reading;
        Candidate {
            member: self.member,
            reading_seq: self.reading_seq,
            ready_until: if r.healthy && self.breaker.is_routable() {
                self.last_seen_ms.saturating_add(ttl_ms)
            } else {
                0
            },
            queue_depth: r.queue_depth,
            queue_capacity: r.queue_capacity,
            in_flight: r.in_flight,
            load_base: self.load_base,
            weight: self.weight,
        }
    }

    /// Ready = `healthy` flag, fresh at `now_ms` for `ttl_ms`, breaker not Open.
    #[inline]
    pub fn is_ready(&self, now_ms: u64, ttl_ms: u64) -> bool {
        self.reading.healthy
            && now_ms < self.last_seen_ms.saturating_add(ttl_ms)
            && self.breaker.is_routable()
    }
}

/// A membrane came (`up`) or went (`down`).
#[derive(Debug, Clone, PartialEq)]
pub struct MembraneChange {
    pub at_ms: u64,
    pub membrane: String,
    pub up: bool,
}

/// What the pool reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolEvent {
    Membrane(MembraneChange),
    Breaker {
        membrane: String,
        transition: BreakerTransition,
    },
}

impl PoolEvent {
    pub fn at_ms(&self) -> u64 {
        match self {
            PoolEvent::Membrane(c) => c.at_ms,
            PoolEvent::Breaker { transition, .. } => transition.at_ms,
        }
    }

    /// The SPEC §2 control event.
    pub fn to_control_event(&self) -> ControlEvent {
        match self {
            PoolEvent::Membrane(c) => ControlEvent {
                at_ms: c.at_ms,
                kind: EventKind::Membrane,
                subject: c.membrane.clone(),
                from: if c.up { "down" } else { "up" },
                to: if c.up { "up" } else { "down" },
                extra: Vec::new(),
            },
            PoolEvent::Breaker {
                membrane,
                transition,
            } => transition.to_control_event(membrane),
        }
    }
}

/// Means over the ready membranes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetReadings {
    pub ready: usize,
    pub registered: usize,
    pub cpu: f64,
    pub memory: f64,
    /// Mean RED average fill.
    pub avg_fill: f64,
    pub latency_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    BreakerHalfOpen,
    Expiry,
}

/// The pool. See the module documentation.
#[derive(Debug, Clone)]
pub struct MembranePool {
    cfg: PoolConfig,
    slots: Vec<Option<Membrane>>,
    free: Vec<u32>,
    by_id: BTreeMap<String, u32>,
    /// Occupied slots in membrane-id order.
    order: Vec<u32>,
    /// The routing view, parallel to `order`.
    view: Vec<Candidate>,
    timers: BTreeSet<(u64, String, TimerKind)>,
    /// `(point hash, slot)`, sorted.
    ring: Vec<(u64, u32)>,
    next_registration: u64,
    next_seq: u64,
    now_ms: u64,
}

impl MembranePool {
    pub fn new(cfg: PoolConfig) -> Self {
        MembranePool {
            cfg,
            slots: Vec::new(),
            free: Vec::new(),
            by_id: BTreeMap::new(),
            order: Vec::new(),
            view: Vec::new(),
            timers: BTreeSet::new(),
            ring: Vec::new(),
            next_registration: 1,
            next_seq: 1,
            now_ms: 0,
        }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    /// Registered membranes.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The latest event time seen.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The membrane a handle refers to, if that registration is still live.
    #[inline]
    pub fn get(&self, m: MemberRef) -> Option<&Membrane> {
        self.slots
            .get(m.slot as usize)?
            .as_ref()
            .filter(|x| x.member == m)
    }

    /// The membrane registered under `id`.
    pub fn by_id(&self, id: &str) -> Option<&Membrane> {
        let slot = *self.by_id.get(id)?;
        self.slots[slot as usize].as_ref()
    }

    /// Every registered membrane, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Membrane> + '_ {
        self.order
            .iter()
            .filter_map(move |s| self.slots[*s as usize].as_ref())
    }

    /// The routing view of every registered membrane, in id order.
    #[inline]
    pub fn candidates(&self) -> &[Candidate] {
        &self.view
    }

    /// The position of `id` in id order.
    fn position(&self, id: &str) -> Option<usize> {
        let slots = &self.slots;
        self.order
            .binary_search_by(|s| {
                let other = slots[*s as usize]
                    .as_ref()
                    .map(|m| m.reading.membrane.as_str())
                    .unwrap_or("");
                other.cmp(id)
            })
            .ok()
    }

    /// Re-derives the routing view of the membrane in `slot`.
    fn refresh(&mut self, slot: u32) {
        let ttl = self.cfg.membrane_ttl_ms;
        let Some(m) = self.slots[slot as usize].as_ref() else {
            return;
        };
        if let Some(pos) = self.position(&m.reading.membrane) {
            self.view[pos] = m.candidate(ttl);
        }
    }

    /// The ready membranes at `now_ms`, in id order.
    pub fn ready(&self, now_ms: u64) -> impl Iterator<Item = &Membrane> + '_ {
        let ttl = self.cfg.membrane_ttl_ms;
        self.iter().filter(move |m| m.is_ready(now_ms, ttl))
    }

    /// The consistent-hashing ring: `(point, membrane)` sorted by point.
    pub fn ring(&self) -> impl Iterator<Item = (u64, &Membrane)> + '_ {
        self.ring
            .iter()
            .filter_map(move |(h, s)| self.slots[*s as usize].as_ref().map(|m| (*h, m)))
    }

    /// The index of the first ring point ≥ `h` (wrapping to 0).
    pub fn ring_start(&self, h: u64) -> usize {
        let i = self.ring.partition_point(|(p, _)| *p < h);
        if i == self.ring.len() { 0 } else { i }
    }

    /// The ring point at `i` (taken modulo the ring size) and its membrane.
    #[inline]
    pub fn ring_at(&self, i: usize) -> Option<(u64, &Membrane)> {
        if self.ring.is_empty() {
            return None;
        }
        let (h, s) = self.ring[i % self.ring.len()];
        self.slots[s as usize].as_ref().map(|m| (h, m))
    }

    /// Number of ring points.
    pub fn ring_len(&self) -> usize {
        self.ring.len()
    }

    /// Is `m` ready at `now_ms`?
    #[inline]
    pub fn is_ready(&self, m: &Membrane, now_ms: u64) -> bool {
        m.is_ready(now_ms, self.cfg.membrane_ttl_ms)
    }

    /// The earliest pending timer (TTL expiry or breaker Open → HalfOpen).
    pub fn next_deadline(&self) -> Option<u64> {
        self.timers.first().map(|(t, _, _)| *t)
    }

    /// Fires every timer due by `now_ms` in (deadline, membrane, kind) order.
    pub fn advance_to(&mut self, now_ms: u64) -> Vec<PoolEvent> {
        let mut out = Vec::new();
        while self.timers.first().is_some_and(|(t, _, _)| *t <= now_ms) {
            let Some((t, id, kind)) = self.timers.pop_first() else {
                break;
            };
            let Some(&slot) = self.by_id.get(&id) else {
                continue;
            };
            match kind {
                TimerKind::BreakerHalfOpen => {
                    if let Some(m) = self.slots[slot as usize].as_mut() {
                        m.breaker_timer = None;
                        if let Some(tr) = m.breaker.advance_to(t) {
                            out.push(PoolEvent::Breaker {
                                membrane: id,
                                transition: tr,
                            });
                        }
                    }
                    self.refresh(slot);
                }
                TimerKind::Expiry => {
                    self.remove(slot);
                    out.push(PoolEvent::Membrane(MembraneChange {
                        at_ms: t,
                        membrane: id,
                        up: false,
                    }));
                }
            }
        }
        self.now_ms = self.now_ms.max(now_ms);
        out
    }

    /// Applies one report at its ts (after the timers due by then): registers the membrane if it
    /// is new, stores the reading, feeds its breaker and RED average, re-arms its TTL.
    pub fn on_telemetry(&mut self, r: &Telemetry) -> Vec<PoolEvent> {
        let mut out = self.advance_to(r.ts);
        let t = self.now_ms;
        let ttl = self.cfg.membrane_ttl_ms;
        let slot = match self.by_id.get(&r.membrane) {
            Some(&slot) => slot,
            None => {
                let slot = self.register(r);
                out.push(PoolEvent::Membrane(MembraneChange {
                    at_ms: t,
                    membrane: r.membrane.clone(),
                    up: true,
                }));
                slot
            }
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let weight = self.cfg.red_weight;
        let Some(m) = self.slots[slot as usize].as_mut() else {
            return out;
        };
        let old_expiry = m.last_seen_ms.saturating_add(ttl);
        let old_breaker_timer = m.breaker_timer;
        m.reading.clone_from(r);
        m.last_seen_ms = t;
        m.reading_seq = seq;
        m.queue.update(weight, r.queue_depth, r.queue_capacity);
        m.load_base = finite_or(r.cpu, 1.0) + latency_term(finite_or(r.latency_ms, f64::INFINITY));
        m.weight = match r.capacity_weight {
            None => 1.0,
            Some(w) if w.is_finite() && w > 0.0 => w,
            Some(_) => 0.0,
        };
        for tr in m.breaker.on_report(t, r.requests, r.errors, r.latency_ms) {
            out.push(PoolEvent::Breaker {
                membrane: r.membrane.clone(),
                transition: tr,
            });
        }
        let new_breaker_timer = m.breaker.next_deadline();
        m.breaker_timer = new_breaker_timer;
        if old_breaker_timer != new_breaker_timer {
            if let Some(d) = old_breaker_timer {
                self.timers
                    .remove(&(d, r.membrane.clone(), TimerKind::BreakerHalfOpen));
            }
            if let Some(d) = new_breaker_timer {
                self.timers
                    .insert((d, r.membrane.clone(), TimerKind::BreakerHalfOpen));
            }
        }
        let new_expiry = t.saturating_add(ttl);
        if new_expiry != old_expiry {
            self.timers
                .remove(&(old_expiry, r.membrane.clone(), TimerKind::Expiry));
        }
        self.timers
            .insert((new_expiry, r.membrane.clone(), TimerKind::Expiry));
        self.refresh(slot);
        out
    }

    /// Means over the ready membranes at `now_ms`; `None` when none is ready.
    pub fn fleet(&self, now_ms: u64) -> Option<FleetReadings> {
        let (mut n, mut cpu, mut memory, mut fill, mut latency) = (0usize, 0.0, 0.0, 0.0, 0.0);
        for m in self.ready(now_ms) {
            n += 1;
            cpu += m.reading.cpu;
            memory += m.reading.memory;
            fill += m.queue.avg_fill();
            latency += m.reading.latency_ms;
        }
        (n > 0).then(|| {
            let k = n as f64;
            FleetReadings {
                ready: n,
                registered: self.len(),
                cpu: cpu / k,
                memory: memory / k,
                avg_fill: fill / k,
                latency_ms: latency / k,
            }
        })
    }

    fn register(&mut self, r: &Telemetry) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let member = MemberRef {
            slot,
            registration: self.next_registration,
        };
        self.next_registration += 1;
        self.slots[slot as usize] = Some(Membrane {
            reading: r.clone(),
            member,
            last_seen_ms: self.now_ms,
            reading_seq: 0,
            breaker: CircuitBreaker::new(self.cfg.breaker.clone()),
            breaker_timer: None,
            queue: QueueAverage::default(),
            load_base: 0.0,
            weight: 1.0,
        });
        self.by_id.insert(r.membrane.clone(), slot);
        let slots = &self.slots;
        let id_of = |s: &u32| {
            slots[*s as usize]
                .as_ref()
                .map(|m| m.reading.membrane.as_str())
        };
        let pos = self
            .order
            .partition_point(|s| id_of(s) < Some(r.membrane.as_str()));
        self.order.insert(pos, slot);
        let ttl = self.cfg.membrane_ttl_ms;
        let candidate = self.slots[slot as usize].as_ref().map(|m| m.candidate(ttl));
        if let Some(c) = candidate {
            self.view.insert(pos, c);
        }
        let mut key = r.membrane.as_bytes().to_vec();
        let n = key.len();
        for v in 0..VNODES {
            key.truncate(n);
            key.extend_from_slice(&v.to_le_bytes());
            let point = (keyed::hash64(0, &key), slot);
            let i = self.ring.partition_point(|p| *p < point);
            self.ring.insert(i, point);
        }
        slot
    }

    fn remove(&mut self, slot: u32) {
        let Some(m) = self.slots[slot as usize].take() else {
            return;
        };
        if let Some(d) = m.breaker_timer {
            self.timers
                .remove(&(d, m.reading.membrane.clone(), TimerKind::BreakerHalfOpen));
        }
        self.by_id.remove(&m.reading.membrane);
        if let Some(pos) = self.order.iter().position(|s| *s == slot) {
            self.order.remove(pos);
            self.view.remove(pos);
        }
        self.ring.retain(|(_, s)| *s != slot);
        self.free.push(slot);
    }
}

fn finite_or(x: f64, default: f64) -> f64 {
    if x.is_finite() { x } else { default }
}

/// `latency / (latency + LATENCY_REF_MS)` in `[0, 1]`; 1 for an infinite latency.
pub fn latency_term(latency_ms: f64) -> f64 {
    if latency_ms.is_infinite() {
        1.0
    } else {
        let l = latency_ms.max(0.0);
        l / (l + LATENCY_REF_MS)
    }
}

/// Per-membrane state kept per logical shard by the caller (routing's in-flight counts, RED's
/// Floyd counts). An entry resets to `T::default()` when its slot is taken by a new registration.
///
/// ```
/// use echoflow_operators::membrane_pool::{MembranePool, PerMembrane, PoolConfig, Telemetry};
/// let mut pool = MembranePool::new(PoolConfig::default());
/// pool.on_telemetry(&Telemetry { membrane: "a".into(), ..Telemetry::default() });
/// let m = pool.by_id("a").unwrap().member();
/// let mut counts: PerMembrane<u32> = PerMembrane::default();
/// *counts.get_mut(m) += 3;
/// assert_eq!(counts.get(m), Some(&3));
/// ```
#[derive(Debug, Clone)]
pub struct PerMembrane<T> {
    entries: Vec<(u64, T)>,
}

impl<T> Default for PerMembrane<T> {
    fn default() -> Self {
        PerMembrane {
            entries: Vec::new(),
        }
    }
}

impl<T: Default> PerMembrane<T> {
    /// The entry for `m`, created (or reset, if its slot held an older registration) on demand.
    #[inline]
    pub fn get_mut(&mut self, m: MemberRef) -> &mut T {
        let i = m.slot as usize;
        if self.entries.len() <= i {
            self.entries.resize_with(i + 1, || (0, T::default()));
        }
        let e = &mut self.entries[i];
        if e.0 != m.registration {
            *e = (m.registration, T::default());
        }
        &mut e.1
    }

    /// The entry for `m` if one exists for that registration.
    #[inline]
    pub fn get(&self, m: MemberRef) -> Option<&T> {
        self.entries
            .get(m.slot as usize)
            .filter(|e| e.0 == m.registration)
            .map(|e| &e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit_breaker::BreakerState;
    use proptest::prelude::*;

    fn t(id: &str, ts: u64) -> Telemetry {
        Telemetry {
            membrane: id.to_string(),
            ts,
            ..Telemetry::default()
        }
    }

    fn kinds(ev: &[PoolEvent]) -> Vec<(u64, String, &'static str)> {
        ev.iter()
            .map(|e| {
                let c = e.to_control_event();
                (c.at_ms, c.subject, c.to)
            })
            .collect()
    }

    #[test]
    fn register_refresh_expire() {
        let mut pool = MembranePool::new(PoolConfig::default());
        assert_eq!(
            kinds(&pool.on_telemetry(&t("b", 0))),
            [(0, "b".into(), "up")]
        );
        assert_eq!(
            kinds(&pool.on_telemetry(&t("a", 10))),
            [(10, "a".into(), "up")]
        );
        assert!(pool.on_telemetry(&t("b", 20_000)).is_empty());
        assert_eq!(pool.next_deadline(), Some(30_010));
        let ids: Vec<&str> = pool.iter().map(|m| m.id()).collect();
        assert_eq!(ids, ["a", "b"]);
        // "a" expires at exactly 30 010; "b" at 50 000.
        assert!(pool.advance_to(30_009).is_empty());
        assert_eq!(
            kinds(&pool.advance_to(60_000)),
            [(30_010, "a".into(), "down"), (50_000, "b".into(), "down")]
        );
        assert!(pool.is_empty());
        assert_eq!(pool.ring_len(), 0);
        // A report at exactly the deadline: down first, then up again.
        pool.on_telemetry(&t("c", 100_000));
        assert_eq!(
            kinds(&pool.on_telemetry(&t("c", 130_000))),
            [(130_000, "c".into(), "down"), (130_000, "c".into(), "up")]
        );
    }

    #[test]
    fn ready_needs_flag_freshness_and_closed_breaker() {
        let mut pool = MembranePool::new(PoolConfig::default());
        pool.on_telemetry(&t("a", 0));
        pool.on_telemetry(&Telemetry {
            healthy: false,
            ..t("b", 0)
        });
        pool.on_telemetry(&Telemetry {
            requests: 40,
            errors: 30,
            ..t("c", 0)
        });
        assert_eq!(
            pool.by_id("c").unwrap().breaker().state(),
            BreakerState::Open
        );
        let ready: Vec<&str> = pool.ready(0).map(|m| m.id()).collect();
        assert_eq!(ready, ["a"]);
        // Not fresh at the TTL even before advance_to runs.
        assert_eq!(pool.ready(30_000).count(), 0);
        // The breaker timer fires before the expiry timer of the same membrane.
        let mut ev = pool.on_telemetry(&t("c", 29_000));
        ev.extend(pool.on_telemetry(&t("c", 58_000)));
        ev.extend(pool.advance_to(60_000));
        assert_eq!(
            kinds(&ev),
            [
                (30_000, "a".into(), "down"),
                (30_000, "b".into(), "down"),
                (60_000, "c".into(), "half_open")
            ]
        );
        assert_eq!(pool.ready(60_000).count(), 1);
    }

    #[test]
    fn fleet_means_over_ready_membranes() {
        let mut pool = MembranePool::new(PoolConfig::default());
        assert_eq!(pool.fleet(0), None);
        pool.on_telemetry(&Telemetry {
            cpu: 0.2,
            memory: 0.4,
            queue_depth: 50,
            ..t("a", 0)
        });
        pool.on_telemetry(&Telemetry {
            cpu: 0.6,
            memory: 0.8,
            queue_depth: 10,
            ..t("b", 0)
        });
        pool.on_telemetry(&Telemetry {
            cpu: 1.0,
            memory: 1.0,
            healthy: false,
            ..t("c", 0)
        });
        let f = pool.fleet(0).unwrap();
        assert_eq!((f.ready, f.registered), (2, 3));
        assert!((f.cpu - 0.4).abs() < 1e-12);
        assert!((f.memory - 0.6).abs() < 1e-12);
        assert!((f.avg_fill - 0.3).abs() < 1e-12);
    }

    #[test]
    fn member_refs_do_not_alias_after_reuse() {
        let mut pool = MembranePool::new(PoolConfig::default());
        pool.on_telemetry(&t("a", 0));
        let old = pool.by_id("a").unwrap().member();
        let mut counts: PerMembrane<u32> = PerMembrane::default();
        *counts.get_mut(old) = 7;
        pool.advance_to(40_000);
        pool.on_telemetry(&t("b", 40_000)); // takes the freed slot
        let new = pool.by_id("b").unwrap().member();
        assert_eq!(old.slot(), new.slot());
        assert!(pool.get(old).is_none());
        assert_eq!(counts.get(new), None);
        assert_eq!(*counts.get_mut(new), 0);
    }

    #[test]
    fn ring_has_vnodes_per_membrane_in_order() {
        let mut pool = MembranePool::new(PoolConfig::default());
        for i in 0..10 {
            pool.on_telemetry(&t(&format!("m{i}"), 0));
        }
        assert_eq!(pool.ring_len(), 10 * VNODES as usize);
        let points: Vec<u64> = pool.ring().map(|(h, _)| h).collect();
        assert!(points.windows(2).all(|w| w[0] <= w[1]));
    }

    proptest! {
        /// After any sequence of reports and timers, the pool holds exactly the membranes heard
        /// from within the TTL, in id order, with `VNODES` ring points each, and up/down events
        /// alternate per membrane.
        #[test]
        fn membership_matches_a_simple_model(
            input in proptest::collection::vec((0u64..20_000, 0usize..6), 1..80)
        ) {
            let ttl = 30_000;
            let mut pool = MembranePool::new(PoolConfig::default());
            let mut last: BTreeMap<String, u64> = BTreeMap::new();
            let mut up: BTreeMap<String, bool> = BTreeMap::new();
            let mut now = 0;
            for (dt, k) in input {
                now += dt;
                let id = format!("m{k}");
                for e in pool.on_telemetry(&t(&id, now)) {
                    if let PoolEvent::Membrane(c) = e {
                        let was = up.insert(c.membrane.clone(), c.up).unwrap_or(false);
                        prop_assert_ne!(was, c.up);
                    }
                }
                last.insert(id, now);
                let expected: Vec<&String> = last
                    .iter()
                    .filter(|(_, seen)| **seen + ttl > now)
                    .map(|(id, _)| id)
                    .collect();
                let ids: Vec<&str> = pool.iter().map(|m| m.id()).collect();
                prop_assert_eq!(ids.len(), expected.len());
                for (a, b) in ids.iter().zip(expected) {
                    prop_assert_eq!(*a, b.as_str());
                }
                prop_assert_eq!(pool.ring_len(), pool.len() * VNODES as usize);
                let view: Vec<Candidate> = pool.iter().map(|m| m.candidate(ttl)).collect();
                prop_assert_eq!(pool.candidates(), &view[..]);
            }
        }
    }
}

//! Routing strategies over the ready membranes (SPEC §3).
//!
//! Defaults (SPEC §6 `[routing]`): `strategy = "least_loaded"`, `seed = 0`, `hash_epsilon = 0.25`,
//! `membrane_ttl_ms = 30000`. The strategies are the source documents' ("round-robin, weighted,
//! least-connections, CPU-based routing", "Deep Tree Echo Scalability Framework") plus `p2c` and
//! `consistent_hash` named by SPEC §3.
//!
//! Every strategy considers only membranes that are ready at the request's event time (the
//! `healthy` flag, fresh within the TTL, breaker not Open) and answers [`NoHealthyMembrane`]
//! (reason `no_healthy_membrane`) when there is none. Candidates are visited in membrane-id order,
//! ties go to the first in that order, and every random choice is a keyed draw
//! ([`crate::keyed`]) of the request id, so a decision is a pure function of (configuration,
//! pool, [`RouterState`], request).
//!
//! Mutable routing state — the round-robin cursor and the requests this shard has sent to each
//! membrane since that membrane's last report — lives in a small [`RouterState`] that the caller
//! keeps **per logical shard** (SPEC §4), never per worker, so decisions do not depend on the
//! number of workers. Call [`RouterState::assign`] when a routed request is actually admitted.
//!
//! | strategy | choice | load used |
//! |---|---|---|
//! | `round_robin` | the `(cursor mod n)`-th ready membrane; cursor + 1 per request | — |
//! | `weighted` | a keyed draw in proportion to `capacity_weight` (1.0 when absent) | — |
//! | `least_connections` | the least `queue_depth + in_flight + assigned` | connections |
//! | `least_loaded` | the least composite score (below) | composite |
//! | `p2c` | two distinct keyed draws, the one with fewer connections (tower's p2c) | connections |
//! | `consistent_hash` | ring walk from `hash(session or id)`, first membrane under the bound | `in_flight + assigned` |
//!
//! * **least_loaded** score = `cpu + min(1, (queue_depth + assigned) / queue_capacity) +
//!   latency_ms / (latency_ms + 100)`: three terms in `[0, 1]` with equal weights — cpu, queue fill
//!   and latency mapped so that 100 ms counts 0.5 (`membrane_pool::LATENCY_REF_MS`). The source
//!   documents only say "considers CPU, memory, and response time" / "prefers membranes with lower
//!   queue sizes"; SPEC §3 names cpu, queue fill and latency, and gives no weights, so equal ones
//!   are used. A queue of capacity 0 counts as full.
//! * **p2c** (Mitzenmacher's power of two choices, as in tower's `balance::p2c`): two distinct
//!   candidates drawn uniformly with `Draws(domain_seed(routing.seed, "p2c"), request id)`, the less
//!   loaded wins, ties to the first draw.
//! * **weighted**: echoflow draws instead of keeping a smooth-weighted-round-robin cursor per
//!   membrane: stateless, and in expectation the same shares. A weight of 0 (or negative) drains a
//!   membrane; when every ready membrane has weight 0 the choice is uniform.
//! * **consistent_hash with bounded loads** (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing
//!   with Bounded Loads", SODA 2018): the key (`session`, or the request id when absent) is hashed
//!   with `domain_seed(routing.seed, "ring")` onto the pool's ring ([`VNODES`](crate::membrane_pool::VNODES) points per
//!   membrane); the walk goes clockwise to the first ready membrane whose load is below
//!   `c = ⌈(1 + ε)·(L + 1)/n⌉`, with `L` the total load of the `n` ready membranes and `ε =
//!   hash_epsilon` (0.25). Since `L + 1 ≤ n·c/(1+ε) < n·c + 1`, some ready membrane is below `c`,
//!   so the walk always succeeds and the chosen one is at most `c` after the assignment.
//!
//! ```
//! use echoflow_operators::membrane_pool::{MembranePool, PoolConfig, Telemetry};
//! use echoflow_operators::routing::{Router, RouterState, RoutingConfig, Strategy};
//! let mut pool = MembranePool::new(PoolConfig::default());
//! for (id, depth) in [("a", 30), ("b", 5), ("c", 10)] {
//!     pool.on_telemetry(&Telemetry { membrane: id.into(), queue_depth: depth, ..Telemetry::default() });
//! }
//! let router = Router::new(RoutingConfig { strategy: Strategy::LeastConnections, ..RoutingConfig::default() });
//! let mut state = RouterState::default();
//! let m = router.route(&pool, &mut state, 0, b"req-1", None).unwrap();
//! assert_eq!(pool.get(m).unwrap().id(), "b");
//! ```

use std::fmt;
use std::str::FromStr;

use crate::config_error::{ConfigError, check_min_u64};
use crate::keyed::{self, Draws};
use crate::membrane_pool::{Candidate, MemberRef, Membrane, MembranePool, PerMembrane};

/// The routing strategies of SPEC §6 `routing.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    RoundRobin,
    Weighted,
    LeastConnections,
    #[default]
    LeastLoaded,
    P2c,
    ConsistentHash,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::RoundRobin,
        Strategy::Weighted,
        Strategy::LeastConnections,
        Strategy::LeastLoaded,
        Strategy::P2c,
        Strategy::ConsistentHash,
    ];

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::Weighted => "weighted",
            Strategy::LeastConnections => "least_connections",
            Strategy::LeastLoaded => "least_loaded",
            Strategy::P2c => "p2c",
            Strategy::ConsistentHash => "consistent_hash",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                ConfigError::new(
                    "routing.strategy",
                    format!("{s:?}"),
                    "one of round_robin, weighted, least_connections, least_loaded, p2c, consistent_hash",
                )
            })
    }
}

/// `[routing]` of SPEC §6.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingConfig {
    pub strategy: Strategy,
    pub seed: u64,
    pub hash_epsilon: f64,
    pub membrane_ttl_ms: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            strategy: Strategy::LeastLoaded,
            seed: 0,
            hash_epsilon: 0.25,
            membrane_ttl_ms: 30_000,
        }
    }
}

impl RoutingConfig {
    /// Checks `hash_epsilon > 0` (finite) and `membrane_ttl_ms ≥ 1`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.hash_epsilon.is_finite() && self.hash_epsilon > 0.0) {
            return Err(ConfigError::new(
                "routing.hash_epsilon",
                self.hash_epsilon,
                "a finite number > 0",
            ));
        }
        check_min_u64("routing.membrane_ttl_ms", self.membrane_ttl_ms, 1)
    }
}

/// No ready membrane: the request is rejected `no_healthy_membrane`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no_healthy_membrane")]
pub struct NoHealthyMembrane;

/// Requests sent to one membrane since its report number `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Assigned {
    seq: u64,
    count: u64,
}

/// The routing state of one logical shard.
#[derive(Debug, Clone, Default)]
pub struct RouterState {
    cursor: u64,
    assigned: PerMembrane<Assigned>,
}

impl RouterState {
    /// Requests this shard sent to `member` since its report number `reading_seq`.
    #[inline]
    pub fn count(&self, member: MemberRef, reading_seq: u64) -> u64 {
        match self.assigned.get(member) {
            Some(a) if a.seq == reading_seq => a.count,
            _ => 0,
        }
    }

    /// Requests this shard sent to `m` since its latest report.
    #[inline]
    pub fn assigned(&self, m: &Membrane) -> u64 {
        self.count(m.member(), m.reading_seq())
    }

    /// Records that a request was sent to `m` (call it when the routed request is admitted).
    pub fn assign(&mut self, m: &Membrane) {
        let a = self.assigned.get_mut(m.member());
        if a.seq != m.reading_seq() {
            *a = Assigned {
                seq: m.reading_seq(),
                count: 0,
            };
        }
        a.count += 1;
    }

    /// The round-robin cursor (requests routed round-robin so far).
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    #[inline]
    fn of(&self, c: &Candidate) -> u64 {
        self.count(c.member, c.reading_seq)
    }
}

/// The router: a configuration and its derived seeds.
#[derive(Debug, Clone)]
pub struct Router {
    cfg: RoutingConfig,
    p2c_seed: u64,
    weighted_seed: u64,
    ring_seed: u64,
}

impl Router {
    pub fn new(cfg: RoutingConfig) -> Self {
        Router {
            p2c_seed: keyed::domain_seed(cfg.seed, "p2c"),
            weighted_seed: keyed::domain_seed(cfg.seed, "weighted"),
            ring_seed: keyed::domain_seed(cfg.seed, "ring"),
            cfg,
        }
    }

    pub fn config(&self) -> &RoutingConfig {
        &self.cfg
    }

    /// Picks a ready membrane for the request `request_id` (with optional `session`) at `now_ms`.
    /// Only `round_robin` changes `state` here (its cursor).
    pub fn route(
        &self,
        pool: &MembranePool,
        state: &mut RouterState,
        now_ms: u64,
        request_id: &[u8],
        session: Option<&[u8]>,
    ) -> Result<MemberRef, NoHealthyMembrane> {
        // The pool's view already applies its TTL; a shorter routing TTL is applied here.
        let slack = pool
            .config()
            .membrane_ttl_ms
            .saturating_sub(self.cfg.membrane_ttl_ms);
        let now = now_ms.saturating_add(slack);
        let cands = pool.candidates();
        let ready = |c: &&Candidate| c.is_ready(now);
        let chosen = match self.cfg.strategy {
            Strategy::RoundRobin => {
                let n = cands.iter().filter(ready).count();
                if n == 0 {
                    return Err(NoHealthyMembrane);
                }
                let k = (state.cursor % n as u64) as usize;
                state.cursor = state.cursor.wrapping_add(1);
                cands.iter().filter(ready).nth(k)
            }
            Strategy::Weighted => self.weighted(cands, now, request_id),
            Strategy::LeastConnections => {
                min_by_key(cands.iter().filter(ready), |c| connections(c, state) as f64)
            }
            Strategy::LeastLoaded => {
                min_by_key(cands.iter().filter(ready), |c| least_loaded_score(c, state))
            }
            Strategy::P2c => {
                let n = cands.iter().filter(ready).count();
                match n {
                    0 => None,
                    1 => cands.iter().find(ready),
                    _ => {
                        let d = Draws::new(self.p2c_seed, request_id);
                        let i = d.index(0, n);
                        let mut j = d.index(1, n - 1);
                        if j >= i {
                            j += 1;
                        }
                        let (a, b) = if n == cands.len() {
                            (cands.get(i), cands.get(j))
                        } else {
                            let mut it = cands.iter().filter(ready);
                            let (lo, hi) = (i.min(j), i.max(j));
                            let first = it.nth(lo);
                            let second = it.nth(hi - lo - 1);
                            if i < j {
                                (first, second)
                            } else {
                                (second, first)
                            }
                        };
                        match (a, b) {
                            (Some(a), Some(b)) if connections(b, state) < connections(a, state) => {
                                Some(b)
                            }
                            (a, _) => a,
                        }
                    }
                }
            }
            Strategy::ConsistentHash => {
                return self.bounded_hash(pool, state, now, session.unwrap_or(request_id));
            }
        };
        chosen.map(|c| c.member).ok_or(NoHealthyMembrane)
    }

    fn weighted<'a>(
        &self,
        cands: &'a [Candidate],
        now: u64,
        request_id: &[u8],
    ) -> Option<&'a Candidate> {
        let (n, total) = cands
            .iter()
            .filter(|c| c.is_ready(now))
            .fold((0usize, 0.0), |(n, w), c| (n + 1, w + c.weight));
        if n == 0 {
            return None;
        }
        let u = keyed::unit_draw(self.weighted_seed, request_id);
        if total <= 0.0 {
            let k = ((u * n as f64) as usize).min(n - 1);
            return cands.iter().filter(|c| c.is_ready(now)).nth(k);
        }
        let target = u * total;
        let mut acc = 0.0;
        let mut last = None;
        for c in cands.iter().filter(|c| c.is_ready(now) && c.weight > 0.0) {
            acc += c.weight;
            last = Some(c);
            if target < acc {
                return Some(c);
            }
        }
        last
    }

    /// The bound `⌈(1 + ε)·(L + 1)/n⌉` for the ready membranes at `now_ms`, with their count.
    pub fn load_bound(
        &self,
        pool: &MembranePool,
        state: &RouterState,
        now_ms: u64,
    ) -> (u64, usize) {
        let slack = pool
            .config()
            .membrane_ttl_ms
            .saturating_sub(self.cfg.membrane_ttl_ms);
        self.bound_at(pool, state, now_ms.saturating_add(slack))
    }

    fn bound_at(&self, pool: &MembranePool, state: &RouterState, now: u64) -> (u64, usize) {
        let (n, total) = pool
            .candidates()
            .iter()
            .filter(|c| c.is_ready(now))
            .fold((0usize, 0u64), |(n, l), c| (n + 1, l + hash_load(c, state)));
        if n == 0 {
            return (0, 0);
        }
        let avg = (total + 1) as f64 / n as f64;
        (((1.0 + self.cfg.hash_epsilon) * avg).ceil() as u64, n)
    }

    fn bounded_hash(
        &self,
        pool: &MembranePool,
        state: &RouterState,
        now: u64,
        key: &[u8],
    ) -> Result<MemberRef, NoHealthyMembrane> {
        let (cap, n) = self.bound_at(pool, state, now);
        if n == 0 {
            return Err(NoHealthyMembrane);
        }
        let ttl = pool.config().membrane_ttl_ms;
        let start = pool.ring_start(keyed::hash64(self.ring_seed, key));
        (0..pool.ring_len())
            .filter_map(|k| pool.ring_at(start + k))
            .map(|(_, m)| m)
            .find(|m| m.is_ready(now, ttl) && m.reading().in_flight + state.assigned(m) < cap)
            .map(|m| m.member())
            .ok_or(NoHealthyMembrane)
    }
}

/// `queue_depth + in_flight + assigned`.
#[inline]
pub fn connections(c: &Candidate, state: &RouterState) -> u64 {
    c.queue_depth + c.in_flight + state.of(c)
}

/// `in_flight + assigned`: the load bounded by `consistent_hash`.
#[inline]
pub fn hash_load(c: &Candidate, state: &RouterState) -> u64 {
    c.in_flight + state.of(c)
}

/// The `least_loaded` score (lower is better), see the module documentation.
#[inline]
pub fn least_loaded_score(c: &Candidate, state: &RouterState) -> f64 {
    let fill = if c.queue_capacity == 0 {
        1.0
    } else {
        ((c.queue_depth + state.of(c)) as f64 / c.queue_capacity as f64).min(1.0)
    };
    c.load_base + fill
}

/// The first element with the least key (ties to the earliest).
#[inline]
fn min_by_key<'a>(
    it: impl Iterator<Item = &'a Candidate>,
    key: impl Fn(&Candidate) -> f64,
) -> Option<&'a Candidate> {
    let mut best: Option<(&Candidate, f64)> = None;
    for m in it {
        let k = key(m);
        match best {
            Some((_, b)) if k >= b => {}
            _ => best = Some((m, k)),
        }
    }
    best.map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::Strategy;
    use super::*;
    use crate::membrane_pool::{PoolConfig, Telemetry};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn tel(id: &str) -> Telemetry {
        Telemetry {
            membrane: id.to_string(),
            ..Telemetry::default()
        }
    }

    fn router(strategy: Strategy) -> Router {
        Router::new(RoutingConfig {
            strategy,
            ..RoutingConfig::default()
        })
    }

    fn id(pool: &MembranePool, m: MemberRef) -> String {
        pool.get(m).map(|m| m.id().to_string()).unwrap_or_default()
    }

    fn pool_of(readings: &[Telemetry]) -> MembranePool {
        let mut pool = MembranePool::new(PoolConfig::default());
        for r in readings {
            pool.on_telemetry(r);
        }
        pool
    }

    #[test]
    fn none_ready_is_no_healthy_membrane() {
        let pool = pool_of(&[Telemetry {
            healthy: false,
            ..tel("a")
        }]);
        for s in Strategy::ALL {
            let r = router(s).route(&pool, &mut RouterState::default(), 0, b"x", None);
            assert_eq!(r, Err(NoHealthyMembrane), "{s}");
        }
        let empty = pool_of(&[]);
        assert_eq!(
            router(Strategy::P2c).route(&empty, &mut RouterState::default(), 0, b"x", None),
            Err(NoHealthyMembrane)
        );
    }

    #[test]
    fn round_robin_cycles_in_id_order_skipping_unready() {
        let pool = pool_of(&[
            tel("c"),
            tel("a"),
            Telemetry {
                healthy: false,
                ..tel("b")
            },
        ]);
        let r = router(Strategy::RoundRobin);
        let mut s = RouterState::default();
        let picks: Vec<String> = (0..4)
            .map(|i| {
                id(
                    &pool,
                    r.route(&pool, &mut s, 0, format!("{i}").as_bytes(), None)
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(picks, ["a", "c", "a", "c"]);
    }

    #[test]
    fn least_connections_counts_assignments_since_last_report() {
        let mut pool = pool_of(&[
            Telemetry {
                queue_depth: 2,
                in_flight: 1,
                ..tel("a")
            },
            Telemetry {
                queue_depth: 0,
                in_flight: 1,
                ..tel("b")
            },
        ]);
        let r = router(Strategy::LeastConnections);
        let mut s = RouterState::default();
        let mut picks = Vec::new();
        for i in 0..5 {
            let m = r
                .route(&pool, &mut s, 0, format!("{i}").as_bytes(), None)
                .unwrap();
            picks.push(id(&pool, m));
            let mem = pool.get(m).unwrap();
            s.assign(mem);
        }
        // b: 1, 2, 3 (ties go to a, first in id order) …
        assert_eq!(picks, ["b", "b", "a", "b", "a"]);
        // A new report from b resets what this shard counted for b.
        pool.on_telemetry(&Telemetry {
            queue_depth: 0,
            in_flight: 0,
            ts: 1,
            ..tel("b")
        });
        assert_eq!(s.assigned(pool.by_id("b").unwrap()), 0);
        assert_eq!(s.assigned(pool.by_id("a").unwrap()), 2);
    }

    #[test]
    fn least_loaded_uses_the_composite() {
        let pool = pool_of(&[
            Telemetry {
                cpu: 0.9,
                ..tel("a")
            },
            Telemetry {
                cpu: 0.1,
                latency_ms: 300.0, // latency term 0.75
                ..tel("b")
            },
            Telemetry {
                cpu: 0.3,
                queue_depth: 20,  // fill 0.2
                latency_ms: 25.0, // 0.2
                ..tel("c")
            },
        ]);
        // Scores: a 0.9, b 0.85, c 0.7.
        let m = router(Strategy::LeastLoaded)
            .route(&pool, &mut RouterState::default(), 0, b"r", None)
            .unwrap();
        assert_eq!(id(&pool, m), "c");
        let c = pool.by_id("c").unwrap().candidate(30_000);
        assert!((least_loaded_score(&c, &RouterState::default()) - 0.7).abs() < 1e-12);
    }

    #[test]
    fn weighted_shares_follow_capacity_weight() {
        let pool = pool_of(&[
            Telemetry {
                capacity_weight: Some(3.0),
                ..tel("a")
            },
            tel("b"),
            Telemetry {
                capacity_weight: Some(0.0),
                ..tel("c")
            },
        ]);
        let r = router(Strategy::Weighted);
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for i in 0..8000 {
            let m = r
                .route(
                    &pool,
                    &mut RouterState::default(),
                    0,
                    format!("q{i}").as_bytes(),
                    None,
                )
                .unwrap();
            *counts.entry(id(&pool, m)).or_default() += 1;
        }
        assert_eq!(counts.get("c"), None);
        let a = f64::from(counts["a"]) / 8000.0;
        assert!((a - 0.75).abs() < 0.03, "{a}");
    }

    #[test]
    fn p2c_picks_the_less_loaded_of_two() {
        let pool = pool_of(&[
            Telemetry {
                in_flight: 50,
                ..tel("a")
            },
            Telemetry {
                in_flight: 0,
                ..tel("b")
            },
        ]);
        let r = router(Strategy::P2c);
        for i in 0..50 {
            let m = r
                .route(
                    &pool,
                    &mut RouterState::default(),
                    0,
                    format!("{i}").as_bytes(),
                    None,
                )
                .unwrap();
            assert_eq!(id(&pool, m), "b");
        }
        // With three equal membranes every one is chosen sometimes.
        let pool = pool_of(&[tel("x"), tel("y"), tel("z")]);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            let m = r
                .route(
                    &pool,
                    &mut RouterState::default(),
                    0,
                    format!("{i}").as_bytes(),
                    None,
                )
                .unwrap();
            seen.insert(id(&pool, m));
        }
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn consistent_hash_is_sticky_per_session_and_bounded() {
        let readings: Vec<Telemetry> = (0..8).map(|i| tel(&format!("m{i}"))).collect();
        let pool = pool_of(&readings);
        let r = router(Strategy::ConsistentHash);
        let mut s = RouterState::default();
        let first = r
            .route(&pool, &mut s, 0, b"r1", Some(b"session-7"))
            .unwrap();
        for i in 0..5 {
            let m = r
                .route(
                    &pool,
                    &mut s,
                    0,
                    format!("r{i}").as_bytes(),
                    Some(b"session-7"),
                )
                .unwrap();
            assert_eq!(m, first);
        }
        // Sending everything of one session: the bound spills it to other membranes.
        let mut loads: BTreeMap<String, u64> = BTreeMap::new();
        for i in 0..400 {
            let (cap, _) = r.load_bound(&pool, &s, 0);
            let m = r
                .route(
                    &pool,
                    &mut s,
                    0,
                    format!("r{i}").as_bytes(),
                    Some(b"session-7"),
                )
                .unwrap();
            let mem = pool.get(m).unwrap();
            assert!(hash_load(&mem.candidate(30_000), &s) < cap);
            s.assign(mem);
            *loads.entry(mem.id().to_string()).or_default() += 1;
        }
        assert!(loads.len() >= 7, "{loads:?}"); // 6 · 63 < 400
        // ⌈1.25 · 400/8⌉ = 63.
        assert!(loads.values().all(|l| *l <= 63), "{loads:?}");
        // Removing a membrane moves only the keys that mapped to it (consistency).
        let before: Vec<String> = (0..300)
            .map(|i| {
                let k = format!("k{i}");
                id(
                    &pool,
                    r.route(&pool, &mut RouterState::default(), 0, k.as_bytes(), None)
                        .unwrap(),
                )
            })
            .collect();
        let smaller = pool_of(&readings[1..]);
        for (i, b) in before.iter().enumerate() {
            let k = format!("k{i}");
            let a = id(
                &smaller,
                r.route(&smaller, &mut RouterState::default(), 0, k.as_bytes(), None)
                    .unwrap(),
            );
            if b != "m0" {
                assert_eq!(&a, b);
            }
        }
    }

    #[test]
    fn strategy_names_parse() {
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>(), Ok(s));
        }
        let err = "random".parse::<Strategy>().unwrap_err();
        assert_eq!(err.field, "routing.strategy");
        assert!(RoutingConfig::default().validate().is_ok());
        let bad = RoutingConfig {
            hash_epsilon: 0.0,
            ..RoutingConfig::default()
        };
        assert_eq!(
            bad.validate().map_err(|e| e.field),
            Err("routing.hash_epsilon")
        );
    }

    /// One membrane: (healthy, failing breaker, stale, cpu, depth, in_flight, weight).
    type Spec = (bool, bool, bool, f64, u64, u64, Option<f64>);

    fn fleet() -> impl proptest::strategy::Strategy<Value = Vec<Spec>> {
        proptest::collection::vec(
            (
                any::<bool>(),
                proptest::bool::weighted(0.2),
                proptest::bool::weighted(0.2),
                0.0f64..1.0,
                0u64..150,
                0u64..40,
                proptest::option::of(0.0f64..4.0),
            ),
            0..30,
        )
    }

    fn build(f: &[Spec]) -> MembranePool {
        let mut pool = MembranePool::new(PoolConfig::default());
        // Stale membranes report at 9 500 and are past the TTL at 40 000 without having been
        // expired (the pool was only advanced to 39 000); the others report at 39 000.
        let mut order: Vec<usize> = (0..f.len()).collect();
        order.sort_by_key(|i| !f[*i].2); // stale ones first, in time order
        for i in order {
            let (healthy, failing, stale, cpu, depth, inflight, w) = &f[i];
            pool.on_telemetry(&Telemetry {
                membrane: format!("m{i:02}"),
                ts: if *stale { 9_500 } else { 39_000 },
                healthy: *healthy,
                cpu: *cpu,
                queue_depth: *depth,
                in_flight: *inflight,
                capacity_weight: *w,
                requests: if *failing { 30 } else { 0 },
                errors: if *failing { 30 } else { 0 },
                ..Telemetry::default()
            });
        }
        pool
    }

    proptest! {
        #[test]
        fn never_routes_to_unready(f in fleet(), ids in proptest::collection::vec("[a-z0-9]{1,12}", 1..20), k in 0usize..6) {
            let pool = build(&f);
            let now = 40_000;
            let strategy = Strategy::ALL[k];
            let r = router(strategy);
            let mut s = RouterState::default();
            let any_ready = pool.ready(now).count() > 0;
            for id in ids {
                match r.route(&pool, &mut s, now, id.as_bytes(), None) {
                    Ok(m) => {
                        let mem = pool.get(m).unwrap();
                        prop_assert!(mem.reading().healthy);
                        prop_assert!(mem.breaker().is_routable());
                        prop_assert!(now < mem.last_seen_ms() + 30_000);
                        s.assign(mem);
                    }
                    Err(NoHealthyMembrane) => prop_assert!(!any_ready),
                }
            }
        }

        #[test]
        fn consistent_hash_keeps_loads_under_the_bound(f in fleet(), keys in proptest::collection::vec("[a-c]{1,2}", 1..200), eps in 0.05f64..1.0) {
            let pool = build(&f);
            let now = 40_000;
            let r = Router::new(RoutingConfig { strategy: Strategy::ConsistentHash, hash_epsilon: eps, ..RoutingConfig::default() });
            let mut s = RouterState::default();
            for (i, key) in keys.iter().enumerate() {
                let (cap, n) = r.load_bound(&pool, &s, now);
                match r.route(&pool, &mut s, now, format!("r{i}").as_bytes(), Some(key.as_bytes())) {
                    Ok(m) => {
                        let mem = pool.get(m).unwrap();
                        s.assign(mem);
                        let load = hash_load(&mem.candidate(30_000), &s);
                        prop_assert!(load <= cap, "load {} above bound {}", load, cap);
                    }
                    Err(_) => prop_assert_eq!(n, 0),
                }
            }
        }

        #[test]
        fn same_inputs_same_decisions(f in fleet(), ids in proptest::collection::vec("[a-z0-9]{1,12}", 1..30), k in 0usize..6, seed: u64) {
            let pool = build(&f);
            let r = Router::new(RoutingConfig { strategy: Strategy::ALL[k], seed, ..RoutingConfig::default() });
            let run = || {
                let mut s = RouterState::default();
                ids.iter()
                    .map(|id| {
                        let m = r.route(&pool, &mut s, 40_000, id.as_bytes(), None);
                        if let Some(mem) = m.ok().and_then(|m| pool.get(m)) {
                            s.assign(mem);
                        }
                        m
                    })
                    .collect::<Vec<_>>()
            };
            prop_assert_eq!(run(), run());
        }
    }
}

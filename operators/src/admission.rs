//! The per-request fast path: SPEC §4's check order over the operators of this crate.
//!
//! For one request (already known not to be `late`), in this order, the first failing check
//! names the rejection reason:
//!
//! 1. `offline` — the degradation level is Offline ([`crate::degradation::gate`]);
//! 2. `feature_disabled` — the request's priority is disabled at the level;
//! 3. `rate_limited` — the shard's AIMD [`TokenBucket`] has no token (a token is spent here);
//! 4. `no_healthy_membrane` — the [`Router`] finds no ready membrane;
//! 5. `queue_full` / 6. `red_drop` — [`Red::decide`] on the chosen membrane's queue;
//!
//! and otherwise the request is admitted to that membrane (reservoir evaluation follows in the
//! caller) and counted in the shard's [`RouterState`]. Everything mutable per request lives in a
//! [`ShardState`] the caller keeps per logical shard (key group of the request id, see
//! [`crate::keyed::key_group`]); the pool, the degradation level and the bucket's scale are
//! inputs. Nothing here reads a clock: `ts` is the request's event time.
//!
//! ```
//! use echoflow_operators::admission::{Admission, Reason, Request, ShardState, Verdict};
//! use echoflow_operators::aimd::AimdConfig;
//! use echoflow_operators::degradation::Level;
//! use echoflow_operators::membrane_pool::{MembranePool, PoolConfig, Telemetry};
//! use echoflow_operators::priority::Priority;
//! use echoflow_operators::red::RedConfig;
//! use echoflow_operators::routing::RoutingConfig;
//!
//! let mut pool = MembranePool::new(PoolConfig::default());
//! pool.on_telemetry(&Telemetry { membrane: "m-1".into(), ..Telemetry::default() });
//! let adm = Admission::new(RoutingConfig::default(), RedConfig::default());
//! let mut shard = ShardState::new(&AimdConfig::default(), 128);
//! let req = Request { id: b"r-1", ts: 0, priority: Priority::Low, session: None };
//! assert!(matches!(adm.decide(&pool, Level::Normal, &mut shard, &req), Verdict::Admitted { .. }));
//! let v = adm.decide(&pool, Level::Minimal, &mut shard, &req);
//! assert_eq!(v.rejection().map(|r| r.reason), Some(Reason::FeatureDisabled));
//! ```

use crate::aimd::{AimdConfig, TokenBucket};
use crate::degradation::{GateReject, Level, gate};
use crate::membrane_pool::{MemberRef, MembranePool, PerMembrane};
use crate::priority::Priority;
use crate::red::{Red, RedConfig, RedOutcome};
use crate::routing::{Router, RouterState, RoutingConfig};

/// The fields of a request the fast path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub id: &'a [u8],
    /// Event time (ms).
    pub ts: u64,
    pub priority: Priority,
    pub session: Option<&'a [u8]>,
}

/// A rejection reason of SPEC §2 decided here (`late` is decided before, by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Offline,
    FeatureDisabled,
    RateLimited,
    NoHealthyMembrane,
    QueueFull,
    RedDrop,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Offline => "offline",
            Reason::FeatureDisabled => "feature_disabled",
            Reason::RateLimited => "rate_limited",
            Reason::NoHealthyMembrane => "no_healthy_membrane",
            Reason::QueueFull => "queue_full",
            Reason::RedDrop => "red_drop",
        }
    }
}

/// A rejection and the numbers behind it (SPEC §2: `membrane`, `avg_fill`, `drop_probability`,
/// `scale`, `level`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rejection {
    pub reason: Reason,
    pub level: Level,
    pub scale: f64,
    /// Set for `queue_full` and `red_drop`.
    pub membrane: Option<MemberRef>,
    pub avg_fill: Option<f64>,
    pub drop_probability: Option<f64>,
}

/// The outcome of the fast path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Admitted {
        membrane: MemberRef,
        level: Level,
        avg_fill: f64,
    },
    Rejected(Rejection),
}

impl Verdict {
    /// The rejection, if any.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Verdict::Rejected(r) => Some(r),
            Verdict::Admitted { .. } => None,
        }
    }
}

/// Everything the fast path mutates, for one logical shard.
#[derive(Debug, Clone)]
pub struct ShardState {
    pub router: RouterState,
    pub bucket: TokenBucket,
    /// Floyd counts for RED's count spacing.
    pub red_counts: PerMembrane<u32>,
}

impl ShardState {
    /// A fresh shard: full token bucket at scale 1.
    pub fn new(aimd: &AimdConfig, logical_shards: u32) -> Self {
        ShardState {
            router: RouterState::default(),
            bucket: TokenBucket::new(aimd, logical_shards),
            red_counts: PerMembrane::default(),
        }
    }
}

/// The request-independent parts of the fast path.
#[derive(Debug, Clone)]
pub struct Admission {
    router: Router,
    red: Red,
}

impl Admission {
    pub fn new(routing: RoutingConfig, red: RedConfig) -> Self {
        Admission {
            router: Router::new(routing),
            red: Red::new(red),
        }
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn red(&self) -> &Red {
        &self.red
    }

    /// Runs the checks for `req` at degradation `level` against `pool`.
    pub fn decide(
        &self,
        pool: &MembranePool,
        level: Level,
        shard: &mut ShardState,
        req: &Request<'_>,
    ) -> Verdict {
        let reject = |reason, scale, membrane, avg_fill, drop_probability| {
            Verdict::Rejected(Rejection {
                reason,
                level,
                scale,
                membrane,
                avg_fill,
                drop_probability,
            })
        };
        let scale = shard.bucket.scale();
        match gate(level, req.priority) {
            Err(GateReject::Offline) => return reject(Reason::Offline, scale, None, None, None),
            Err(GateReject::FeatureDisabled) => {
                return reject(Reason::FeatureDisabled, scale, None, None, None);
            }
            Ok(()) => {}
        }
        if !shard.bucket.try_take(req.ts) {
            return reject(Reason::RateLimited, scale, None, None, None);
        }
        let Ok(member) = self
            .router
            .route(pool, &mut shard.router, req.ts, req.id, req.session)
        else {
            return reject(Reason::NoHealthyMembrane, scale, None, None, None);
        };
        let Some(m) = pool.get(member) else {
            return reject(Reason::NoHealthyMembrane, scale, None, None, None);
        };
        let count = shard.red_counts.get_mut(member);
        let d = self.red.decide(m.queue(), req.priority, req.id, count);
        match d.outcome {
            RedOutcome::QueueFull => reject(
                Reason::QueueFull,
                scale,
                Some(member),
                Some(d.avg_fill),
                Some(d.drop_probability),
            ),
            RedOutcome::RedDrop => reject(
                Reason::RedDrop,
                scale,
                Some(member),
                Some(d.avg_fill),
                Some(d.drop_probability),
            ),
            RedOutcome::Admit => {
                shard.router.assign(m);
                Verdict::Admitted {
                    membrane: member,
                    level,
                    avg_fill: d.avg_fill,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membrane_pool::{PoolConfig, Telemetry};

    fn setup(depth: u64) -> (MembranePool, Admission, ShardState) {
        let mut pool = MembranePool::new(PoolConfig::default());
        pool.on_telemetry(&Telemetry {
            membrane: "m".into(),
            queue_depth: depth,
            ..Telemetry::default()
        });
        let adm = Admission::new(RoutingConfig::default(), RedConfig::default());
        // 1000/s over 1 shard, burst 100 ms = 100 tokens.
        let aimd = AimdConfig {
            max_rate: 1000.0,
            ..AimdConfig::default()
        };
        (pool, adm, ShardState::new(&aimd, 1))
    }

    fn reason(v: Verdict) -> Option<Reason> {
        v.rejection().map(|r| r.reason)
    }

    fn req(id: &[u8], priority: Priority) -> Request<'_> {
        Request {
            id,
            ts: 0,
            priority,
            session: None,
        }
    }

    #[test]
    fn checks_run_in_spec_order() {
        let (pool, adm, mut shard) = setup(100); // a full queue
        let r = req(b"a", Priority::Low);
        assert_eq!(
            reason(adm.decide(&pool, Level::Offline, &mut shard, &r)),
            Some(Reason::Offline)
        );
        assert_eq!(
            reason(adm.decide(&pool, Level::Emergency, &mut shard, &r)),
            Some(Reason::FeatureDisabled)
        );
        // No token was spent by the gate rejections.
        assert_eq!(shard.bucket.tokens(), 100.0);
        let v = adm.decide(&pool, Level::Normal, &mut shard, &r);
        let rej = v.rejection().copied().unwrap();
        assert_eq!(rej.reason, Reason::QueueFull);
        assert_eq!((rej.avg_fill, rej.scale), (Some(1.0), 1.0));
        assert_eq!(shard.bucket.tokens(), 99.0); // queue_full comes after the token
        let empty = MembranePool::new(PoolConfig::default());
        assert_eq!(
            reason(adm.decide(&empty, Level::Normal, &mut shard, &r)),
            Some(Reason::NoHealthyMembrane)
        );
        for _ in 0..98 {
            adm.decide(&empty, Level::Normal, &mut shard, &r);
        }
        assert_eq!(
            reason(adm.decide(&pool, Level::Normal, &mut shard, &r)),
            Some(Reason::RateLimited)
        );
    }

    #[test]
    fn red_drops_some_and_admits_the_rest() {
        let (pool, adm, mut shard) = setup(90); // avg 0.9: p = 0.225
        let mut drops = 0;
        for i in 0..100 {
            let id = format!("r{i}");
            let v = adm.decide(
                &pool,
                Level::Normal,
                &mut shard,
                &req(id.as_bytes(), Priority::Low),
            );
            match v {
                Verdict::Admitted { avg_fill, .. } => assert_eq!(avg_fill, 0.9),
                Verdict::Rejected(r) => {
                    assert_eq!(r.reason, Reason::RedDrop);
                    assert!((r.drop_probability.unwrap() - 0.225).abs() < 1e-12);
                    drops += 1;
                }
            }
        }
        assert!((5..50).contains(&drops), "{drops}");
        let m = pool.by_id("m").unwrap();
        assert_eq!(shard.router.assigned(m), 100 - drops);
        // Critical requests are never RED-dropped.
        for i in 0..100u64 {
            let id = format!("c{i}");
            let r = Request {
                ts: 1000 + i, // one token refilled per ms
                ..req(id.as_bytes(), Priority::Critical)
            };
            let v = adm.decide(&pool, Level::Emergency, &mut shard, &r);
            assert!(matches!(v, Verdict::Admitted { .. }), "{v:?}");
        }
    }
}

//! The fast path as one timely operator per worker (SPEC §3–§4).
//!
//! Inputs: all on-time telemetry (broadcast: every worker sees every report) and the requests of
//! the key groups this worker owns. Records are held by event time until both input frontiers
//! have passed it; then, for each time `t` in order:
//!
//! 1. the fleet's timers due by `t` fire at their exact deadlines, then the telemetry at `t` is
//!    applied in (membrane, partition, offset) order and the fleet readings feed degradation and
//!    AIMD ([`FleetState`]); AIMD scale changes are applied to this worker's token buckets at
//!    their exact times;
//! 2. the requests at `t` run in id (byte) order: `late` first (decided by the source), then
//!    [`Admission::decide`] against the key group's [`ShardState`] (offline → feature_disabled →
//!    rate_limited → no_healthy_membrane → queue_full → red_drop);
//! 3. the admitted requests of `t` are evaluated in batches ([`BatchEvaluator`]) with the
//!    profile the level calls for: `full` at `normal`, `reduced` at any degraded level; a request
//!    with a `session` starts from the state its session's previous request left (a
//!    [`SessionStore`] per key group, `reservoir.session_ttl_ms` / `sessions_per_shard`), so
//!    the `k`-th request of a session at `t` runs in batch round `k`; the rest start from zero;
//! 4. worker 0 emits the control events (every worker computes the same ones), numbered per
//!    (ts, kind, subject) in emission order; every worker emits its outcome counts at `t` for the
//!    autoscaler.
//!
//! Outcomes (admitted, rejected, dead-lettered) leave as [`Received`] values: the request's
//! arrival at its Kafka source rides beside the wire record, for the sink's end-to-end latency
//! (SPEC §7); it is never part of an output line and is empty in replays.
//!
//! Timers fire up to the latest event time processed, never beyond: a replay ends where its
//! input ends, so the same input gives the same events whatever the sources' pacing.

use super::params::{Params, PressureSource};
use super::{RequestItem, drain_input, shard_key, sort_telemetry};
use echoflow_connectors::dead_letter::DeadLetter;
use echoflow_connectors::ingest::{Received, Record};
use echoflow_connectors::schema::Request;
use echoflow_connectors::schema::outputs::{Admitted, ControlEvent, Reason, Rejection};
use echoflow_operators::admission::{self, Admission, ShardState, Verdict};
use echoflow_operators::aimd::GovernorState;
use echoflow_operators::circuit_breaker::BreakerState;
use echoflow_operators::degradation::Level;
use echoflow_operators::event;
use echoflow_operators::fleet::FleetState;
use echoflow_operators::keyed::{key_group, worker_for_group};
use echoflow_operators::membrane_pool::Telemetry;
use echoflow_operators::red::drop_probability;
use echoflow_operators::reservoir::{self, ArrayView2, BatchEvaluator, Profile, ProfiledModel};
use echoflow_operators::session_store::SessionStore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{ParallelizationContract, Pipeline};
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::{Stream, StreamVec};

/// Request outcomes of one event time on one worker, for the autoscaler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub ts: u64,
    pub admitted: u64,
    /// Rejected as `rate_limited`, `red_drop`, `queue_full` or `no_healthy_membrane`.
    pub shed: u64,
}

/// What the control operator emits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Out {
    Admitted(Received<Admitted>),
    Rejected(Received<Rejection>),
    Control(ControlEvent),
    Counts(Counts),
    /// A request the reservoir could not evaluate (its error names why).
    Dead(Received<DeadLetter>),
}

#[derive(Default)]
struct Pending {
    telemetry: Vec<Record<Telemetry>>,
    requests: Vec<RequestItem>,
}

/// The per-worker state of the fast path.
struct Worker {
    fleet: FleetState,
    admission: Admission,
    shards: BTreeMap<u32, ShardState>,
    logical_shards: u32,
    model: Arc<ProfiledModel>,
    evaluator: BatchEvaluator,
    /// Carried reservoir state of the sessions, per key group.
    sessions: BTreeMap<u32, SessionStore<(String, Profile)>>,
    /// (`reservoir.session_ttl_ms`, `reservoir.sessions_per_shard`).
    session_params: (u64, usize),
    pressure: PressureSource,
    emits_control: bool,
    /// (ts, kind, subject) → events emitted so far (the fourth sort key).
    seq: HashMap<(u64, &'static str, String), u64>,
    last_t: Option<u64>,
}

impl Worker {
    fn process(&mut self, t: u64, mut p: Pending, out: &mut Vec<Out>) {
        let mut step = self.fleet.advance_to(t);
        if !p.telemetry.is_empty() {
            sort_telemetry(&mut p.telemetry);
            for r in &p.telemetry {
                self.fleet.on_telemetry(&r.value, &mut step);
            }
            self.fleet.settle(t, self.pressure.read(), &mut step);
        }
        for c in &step.scale_changes {
            for shard in self.shards.values_mut() {
                shard.bucket.set_scale(c.at_ms, c.scale);
            }
        }
        if self.emits_control && !p.telemetry.is_empty() {
            self.record_gauges();
        }
        if self.emits_control {
            // Every event still to come is later than the previous time processed.
            let last = self.last_t;
            self.seq.retain(|(ts, _, _), _| Some(*ts) > last);
            self.last_t = Some(t);
            for e in step.events {
                let n = self
                    .seq
                    .entry((e.at_ms, e.kind.as_str(), e.subject.clone()))
                    .or_insert(0);
                out.push(Out::Control(wire_event(&e, *n)));
                *n += 1;
            }
        }
        if p.requests.is_empty() {
            return;
        }
        p.requests
            .sort_by(|a, b| a.0.value.id.as_bytes().cmp(b.0.value.id.as_bytes()));
        let level = self.fleet.level();
        let mut counts = Counts {
            ts: t,
            ..Counts::default()
        };
        let mut admitted: Vec<(Record<Request>, String)> = Vec::new();
        for (r, late) in p.requests {
            let q = &r.value;
            if late {
                metrics::counter!("echoflow_requests_total", "outcome" => "rejected", "reason" => "late")
                    .increment(1);
                let mut rej = Rejection::new(q.id.clone(), q.ts, Reason::Late);
                rej.level = Some(level.as_str().to_string());
                out.push(Out::Rejected(Received::new(rej, r.received)));
                continue;
            }
            let group = key_group(shard_key(q), self.logical_shards);
            let shard = self.shards.entry(group).or_insert_with(|| {
                // Only reached if the exchange and the ownership disagree (a bug): stay correct.
                ShardState::new(self.fleet.governor().config(), self.logical_shards)
            });
            let req = admission::Request {
                id: q.id.as_bytes(),
                ts: q.ts,
                priority: q.priority,
                session: q.session.as_deref().map(str::as_bytes),
            };
            match self.admission.decide(self.fleet.pool(), level, shard, &req) {
                Verdict::Admitted { membrane, .. } => {
                    let name = self
                        .fleet
                        .pool()
                        .get(membrane)
                        .map(|m| m.id().to_string())
                        .unwrap_or_default();
                    admitted.push((r, name));
                }
                Verdict::Rejected(x) => {
                    let reason = wire_reason(x.reason);
                    metrics::counter!("echoflow_requests_total", "outcome" => "rejected", "reason" => reason.as_str())
                        .increment(1);
                    if reason.is_shed() {
                        counts.shed += 1;
                    }
                    let rej = Rejection {
                        id: q.id.clone(),
                        ts: q.ts,
                        reason,
                        membrane: x
                            .membrane
                            .and_then(|m| self.fleet.pool().get(m))
                            .map(|m| m.id().to_string()),
                        avg_fill: x.avg_fill,
                        drop_probability: x.drop_probability,
                        scale: Some(x.scale),
                        level: Some(x.level.as_str().to_string()),
                    };
                    out.push(Out::Rejected(Received::new(rej, r.received)));
                }
            }
        }
        counts.admitted = self.evaluate(t, level, admitted, out);
        metrics::counter!("echoflow_requests_total", "outcome" => "admitted")
            .increment(counts.admitted);
        out.push(Out::Counts(counts));
    }

    /// The fleet gauges of SPEC §7 (worker 0, after telemetry).
    fn record_gauges(&self) {
        let g = self.fleet.governor();
        metrics::gauge!("echoflow_aimd_scale").set(g.scale());
        let state = match g.state() {
            GovernorState::Normal => 0.0,
            GovernorState::Degraded => 1.0,
            GovernorState::Recovering => 2.0,
        };
        metrics::gauge!("echoflow_aimd_state").set(state);
        let level = Level::ALL
            .iter()
            .position(|l| *l == self.fleet.level())
            .unwrap_or(0);
        metrics::gauge!("echoflow_degradation_level").set(level as f64);
        let red = self.admission.red().config();
        for m in self.fleet.pool().iter() {
            let id = m.id().to_string();
            let fill = m.queue().avg_fill();
            metrics::gauge!("echoflow_red_avg_fill", "membrane" => id.clone()).set(fill);
            metrics::gauge!("echoflow_red_drop_probability", "membrane" => id.clone())
                .set(drop_probability(red, fill));
            let breaker = match m.breaker().state() {
                BreakerState::Closed => 0.0,
                BreakerState::Open => 1.0,
                BreakerState::HalfOpen => 2.0,
            };
            metrics::gauge!("echoflow_breaker_state", "membrane" => id).set(breaker);
        }
    }

    /// Evaluates the admitted requests of one time in batches; returns how many were admitted.
    ///
    /// A request with a `session` starts from the state its session's previous request left
    /// (see [`SessionStore`]) and leaves its own; so the `k`-th request of a session at this time
    /// (in id order) goes into batch round `k`, after the round that wrote its starting state.
    /// Requests without a session all go into round 0 and start from zero.
    fn evaluate(
        &mut self,
        t: u64,
        level: Level,
        batch: Vec<(Record<Request>, String)>,
        out: &mut Vec<Out>,
    ) -> u64 {
        if batch.is_empty() {
            return 0;
        }
        let profile = if level == Level::Normal {
            Profile::Full
        } else {
            Profile::Reduced
        };
        let model = Arc::clone(&self.model);
        let esn = model.get(profile);
        let (shards, (ttl, capacity)) = (self.logical_shards, self.session_params);
        // (round, key group of the session) per request.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let place: Vec<(usize, Option<u32>)> = batch
            .iter()
            .map(|(r, _)| match r.value.session.as_deref() {
                Some(s) => {
                    let n = seen.entry(s).or_insert(0);
                    *n += 1;
                    (*n - 1, Some(key_group(s.as_bytes(), shards)))
                }
                None => (0, None),
            })
            .collect();
        let rounds = place.iter().map(|p| p.0).max().unwrap_or(0) + 1;
        let mut results: Vec<Option<Result<Vec<f64>, String>>> = vec![None; batch.len()];
        let started = std::time::Instant::now();
        for round in 0..rounds {
            let idx: Vec<usize> = (0..batch.len()).filter(|&i| place[i].0 == round).collect();
            // The session store key of each request in the round (built once).
            let keys: Vec<Option<((String, Profile), u32)>> = idx
                .iter()
                .map(|&i| {
                    let s = batch[i].0.value.session.as_deref()?;
                    Some(((s.to_string(), profile), place[i].1?))
                })
                .collect();
            let outcome = {
                let requests: Result<Vec<_>, _> = idx
                    .iter()
                    .zip(&keys)
                    .map(|(&i, key)| {
                        let q = &batch[i].0.value;
                        let state = key.as_ref().and_then(|(key, g)| {
                            self.sessions.get(g).and_then(|st| st.get(key, t))
                        });
                        ArrayView2::from_shape((q.steps(), q.dim), &q.input[..])
                            .map(|input| reservoir::Request { input, state })
                    })
                    .collect();
                match requests {
                    Ok(reqs) => self
                        .evaluator
                        .evaluate(esn, &reqs)
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(format!("'input': {e}")),
                }
            };
            match outcome {
                Ok(outcomes) => {
                    for ((&i, key), o) in idx.iter().zip(keys).zip(outcomes) {
                        if let Some((key, g)) = key {
                            self.sessions
                                .entry(g)
                                .or_insert_with(|| SessionStore::new(ttl, capacity))
                                .put(key, t, o.state);
                        }
                        results[i] = Some(Ok(o.output));
                    }
                }
                Err(e) => idx.iter().for_each(|&i| results[i] = Some(Err(e.clone()))),
            }
        }
        metrics::histogram!("echoflow_reservoir_eval_seconds", "profile" => profile.as_str())
            .record(started.elapsed().as_secs_f64());
        let mut n = 0;
        for ((r, membrane), result) in batch.into_iter().zip(results) {
            match result {
                Some(Ok(output)) => {
                    n += 1;
                    let q = r.value;
                    let admitted = Admitted {
                        id: q.id,
                        ts: q.ts,
                        membrane,
                        output,
                        level: level.as_str().to_string(),
                        profile: profile.as_str().to_string(),
                        tenant: q.tenant,
                        feature: q.feature,
                        priority: q.priority.as_str().to_string(),
                    };
                    out.push(Out::Admitted(Received::new(admitted, r.received)));
                }
                // The decoder checks every input against the model, so this is not expected; if
                // it happens the request is not lost but dead-lettered with the evaluator's error.
                other => {
                    let e = match other {
                        Some(Err(e)) => e,
                        _ => "not evaluated".to_string(),
                    };
                    let raw = serde_json::to_vec(&r.value).unwrap_or_default();
                    let dead = DeadLetter::new(
                        &r.origin,
                        format!("'input': reservoir evaluation failed: {e}"),
                        &raw,
                    );
                    out.push(Out::Dead(Received::new(dead, r.received)));
                }
            }
        }
        n
    }
}

fn wire_reason(r: admission::Reason) -> Reason {
    match r {
        admission::Reason::Offline => Reason::Offline,
        admission::Reason::FeatureDisabled => Reason::FeatureDisabled,
        admission::Reason::RateLimited => Reason::RateLimited,
        admission::Reason::NoHealthyMembrane => Reason::NoHealthyMembrane,
        admission::Reason::QueueFull => Reason::QueueFull,
        admission::Reason::RedDrop => Reason::RedDrop,
    }
}

fn wire_event(e: &event::ControlEvent, seq: u64) -> ControlEvent {
    ControlEvent {
        ts: e.at_ms,
        kind: e.kind.as_str().to_string(),
        subject: e.subject.clone(),
        from: e.from.to_string(),
        to: e.to.to_string(),
        scale: e.extra.iter().find(|(k, _)| *k == "scale").map(|(_, v)| *v),
        seq,
    }
}

/// The start-up `config` event (SPEC §2): `to` is the configuration's fingerprint.
pub fn config_event(ts: u64, fingerprint: &str) -> ControlEvent {
    ControlEvent {
        ts,
        kind: "config".into(),
        subject: "pipeline".into(),
        from: String::new(),
        to: fingerprint.to_string(),
        scale: None,
        seq: 0,
    }
}

/// Builds the control operator. `route` sends each request to the worker owning its key group.
pub fn control<'scope, P>(
    telemetry: StreamVec<'scope, u64, Record<Telemetry>>,
    requests: StreamVec<'scope, u64, RequestItem>,
    route: P,
    params: &Params,
) -> Stream<'scope, u64, Vec<Out>>
where
    P: ParallelizationContract<u64, Vec<RequestItem>>,
{
    let scope = telemetry.scope();
    let index = scope.index() as u32;
    let peers = scope.peers() as u32;
    let shards = params.logical_shards;
    let mut worker = Worker {
        fleet: FleetState::new(params.fleet.clone()),
        admission: params.admission.clone(),
        shards: (0..shards)
            .filter(|g| worker_for_group(*g, shards, peers) == index)
            .map(|g| (g, ShardState::new(&params.aimd, shards)))
            .collect(),
        logical_shards: shards,
        model: Arc::clone(&params.model),
        evaluator: BatchEvaluator::default(),
        sessions: BTreeMap::new(),
        session_params: params.sessions,
        pressure: params.pressure.clone(),
        emits_control: index == 0,
        seq: HashMap::new(),
        last_t: None,
    };
    let startup = params.config_event.clone().filter(|_| index == 0);
    telemetry.binary_frontier::<_, CapacityContainerBuilder<Vec<Out>>, _, _, _, _>(
        requests,
        Pipeline,
        route,
        "Control",
        move |cap, _info| {
            let mut first: Option<Capability<u64>> = Some(cap);
            let mut pending: BTreeMap<u64, (Capability<u64>, Pending)> = BTreeMap::new();
            let mut out: Vec<Out> = Vec::new();
            move |(tel, tel_frontier), (req, req_frontier), output| {
                if let Some(c) = first.take()
                    && let Some((ts, fp)) = &startup
                {
                    output.session(&c).give(Out::Control(config_event(*ts, fp)));
                }
                drain_input(tel, |cap, batch| {
                    let entry = pending
                        .entry(*cap.time())
                        .or_insert_with(|| (cap.clone(), Pending::default()));
                    entry.1.telemetry.append(batch);
                });
                drain_input(req, |cap, batch| {
                    let entry = pending
                        .entry(*cap.time())
                        .or_insert_with(|| (cap.clone(), Pending::default()));
                    entry.1.requests.append(batch);
                });
                while let Some((&t, _)) = pending.first_key_value() {
                    if tel_frontier.less_equal(&t) || req_frontier.less_equal(&t) {
                        break;
                    }
                    let Some((_, (cap, p))) = pending.pop_first() else {
                        break;
                    };
                    worker.process(t, p, &mut out);
                    if !out.is_empty() {
                        output.session(&cap).give_iterator(out.drain(..));
                    }
                }
            }
        },
    )
}

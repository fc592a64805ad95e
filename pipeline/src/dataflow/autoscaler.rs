//! The slow loop: one autoscaler evaluation per `autoscaler.interval_ms` of event time, on
//! worker 0 (SPEC §3 "Autoscaling").
//!
//! Inputs: every on-time telemetry report (worker 0's copy of the broadcast) and the request
//! outcome counts of every worker (exchanged to worker 0). Evaluations fall at the multiples of
//! the interval (epoch-aligned, so they do not depend on where the input starts); the one at `E`
//! covers the interval `[E − interval, E)` and runs when the dataflow first processes a time
//! `≥ E`, before the data at that time:
//!
//! * current replicas = registered membranes at `E` (a membrane pool of its own, fed by the same
//!   telemetry, so it agrees with the fast path's); a membrane is a ready pod when ready at `E`
//!   (healthy, fresh, breaker not open), else an unready pod; a registered membrane that did not
//!   report in the interval has missing metrics;
//! * per ready membrane, utilisation = its mean cpu over the interval × (1 + shed / max(admitted,
//!   1)) ([`IntervalAggregator`]);
//! * the configured [`Policy`] decides; the decision, holds included, goes to
//!   `echoflow.scaling-decisions` stamped `E`.
//!
//! Like the fast path's timers, evaluations run up to the latest event time processed.

use super::control::Counts;
use super::params::Params;
use super::{drain_input, sort_telemetry};
use echoflow_connectors::ingest::Record;
use echoflow_operators::autoscale::decision::Decision;
use echoflow_operators::autoscale::policy::{Policy, build};
use echoflow_operators::autoscale::utilization::{IntervalAggregator, PodPhase};
use echoflow_operators::membrane_pool::{MembranePool, Telemetry};
use std::collections::BTreeMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract};
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::{Stream, StreamVec};

struct Slow {
    pool: MembranePool,
    policy: Box<dyn Policy>,
    agg: IntervalAggregator,
    interval: u64,
    resource: String,
    next_eval: Option<u64>,
}

impl Slow {
    /// Runs every evaluation due by `t`, then takes the data at `t`.
    fn process(
        &mut self,
        t: u64,
        mut telemetry: Vec<Record<Telemetry>>,
        counts: &[Counts],
        out: &mut Vec<Decision>,
    ) {
        let next = *self
            .next_eval
            .get_or_insert_with(|| (t / self.interval + 1) * self.interval);
        let mut e = next;
        while e <= t {
            self.pool.advance_to(e);
            let phases: Vec<(String, PodPhase)> = self
                .pool
                .iter()
                .map(|m| {
                    let phase = if self.pool.is_ready(m, e) {
                        PodPhase::Ready
                    } else {
                        PodPhase::NotReady
                    };
                    (m.id().to_string(), phase)
                })
                .collect();
            let view = self
                .agg
                .finish(phases.iter().map(|(id, p)| (id.as_str(), *p)));
            let mut d = self.policy.evaluate(e, &view);
            d.resource.clone_from(&self.resource);
            metrics::gauge!("echoflow_desired_replicas", "resource" => self.resource.clone())
                .set(f64::from(d.to));
            out.push(d);
            e += self.interval;
        }
        self.next_eval = Some(e);
        sort_telemetry(&mut telemetry);
        for r in &telemetry {
            self.pool.on_telemetry(&r.value);
            self.agg
                .telemetry(&r.value.membrane, r.value.cpu, r.value.latency_ms);
        }
        self.pool.advance_to(t);
        for c in counts {
            self.agg.outcomes(c.admitted, c.shed);
        }
    }
}

/// Builds the autoscaler. `telemetry` is each worker's copy of the broadcast telemetry (`pact`
/// keeps it local); only worker 0 evaluates.
pub fn autoscaler<'scope, P>(
    telemetry: StreamVec<'scope, u64, Record<Telemetry>>,
    counts: StreamVec<'scope, u64, Counts>,
    pact: P,
    params: &Params,
) -> Stream<'scope, u64, Vec<Decision>>
where
    P: ParallelizationContract<u64, Vec<Record<Telemetry>>>,
{
    let active = telemetry.scope().index() == 0;
    let mut slow = Slow {
        pool: MembranePool::new(params.fleet.pool.clone()),
        policy: build(&params.autoscaler),
        agg: IntervalAggregator::default(),
        interval: params.autoscaler.interval_ms.max(1),
        resource: params.autoscaler.resource.clone(),
        next_eval: None,
    };
    telemetry.binary_frontier::<_, CapacityContainerBuilder<Vec<Decision>>, _, _, _, _>(
        counts,
        pact,
        Exchange::new(|_: &Counts| 0u64),
        "Autoscaler",
        move |_cap, _info| {
            type Held = (Capability<u64>, Vec<Record<Telemetry>>, Vec<Counts>);
            let mut pending: BTreeMap<u64, Held> = BTreeMap::new();
            let mut out: Vec<Decision> = Vec::new();
            move |(tel, tel_frontier), (cnt, cnt_frontier), output| {
                drain_input(tel, |cap, batch| {
                    if active {
                        let entry = pending
                            .entry(*cap.time())
                            .or_insert_with(|| (cap.clone(), Vec::new(), Vec::new()));
                        entry.1.append(batch);
                    }
                });
                drain_input(cnt, |cap, batch| {
                    let entry = pending
                        .entry(*cap.time())
                        .or_insert_with(|| (cap.clone(), Vec::new(), Vec::new()));
                    entry.2.append(batch);
                });
                while let Some((&t, _)) = pending.first_key_value() {
                    if tel_frontier.less_equal(&t) || cnt_frontier.less_equal(&t) {
                        break;
                    }
                    let Some((_, (cap, tel, counts))) = pending.pop_first() else {
                        break;
                    };
                    slow.process(t, tel, &counts, &mut out);
                    if !out.is_empty() {
                        output.session(&cap).give_iterator(out.drain(..));
                    }
                }
            }
        },
    )
}

//! The slow loop: one autoscaler evaluation per `autoscaler.interval_ms` of event time, on
//! worker 0 (SPEC §3 "Autoscaling").
//!
//! Inputs: every on-time telemetry report (worker 0's copy of the broadcast) and the changes of
//! the differential fleet view ([`super::fleet_view`]: registered membranes, per-membrane window
//! sums, the fleet's windowed outcome counts), exchanged to worker 0. Evaluations fall at the
//! multiples of the interval (epoch-aligned, so they do not depend on where the input starts);
//! the one at `E` covers the interval `[E − interval, E)` and runs when the dataflow first
//! processes a time `≥ E` (a time with telemetry or request outcomes), before the data at that
//! time, once every change of the fleet view at a time `≤ E` has arrived:
//!
//! * current replicas = the registered membranes at `E` (the `alive` collection); a membrane is
//!   a ready pod when ready at `E` (healthy, fresh, breaker not open: a [`MembranePool`] of its
//!   own, fed by the same telemetry, since breakers are state machines and not collections), else
//!   an unready pod; a registered membrane that did not report in the interval has missing
//!   metrics;
//! * per ready membrane, utilisation = its mean cpu over the interval × (1 + shed / max(admitted,
//!   1)) (the `window` and `outcomes` collections through [`IntervalAggregator::finish`]);
//! * the configured [`Policy`] decides; the decision, holds included, goes to
//!   `echoflow.scaling-decisions` stamped `E`, with the interval's admitted and shed counts and
//!   the ready membranes' mean queue fill (the `window` collection) as its `interval` field.
//!
//! Like the fast path's timers, evaluations run up to the latest event time processed.
//!
//! [`IntervalAggregator::finish`]: echoflow_operators::autoscale::utilization::IntervalAggregator::finish

use super::fleet_view::{FleetViewState, Update};
use super::params::Params;
use super::{drain_input, sort_telemetry};
use echoflow_connectors::ingest::Record;
use echoflow_operators::autoscale::decision::Decision;
use echoflow_operators::autoscale::policy::{Policy, build};
use echoflow_operators::autoscale::utilization::PodPhase;
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
    view: FleetViewState,
    interval: u64,
    resource: String,
    next_eval: Option<u64>,
}

impl Slow {
    /// Runs every evaluation due by `t`, then takes the telemetry at `t`.
    fn process(&mut self, t: u64, mut telemetry: Vec<Record<Telemetry>>, out: &mut Vec<Decision>) {
        let next = *self
            .next_eval
            .get_or_insert_with(|| (t / self.interval + 1) * self.interval);
        let mut e = next;
        while e <= t {
            self.view.advance_to(e);
            self.pool.advance_to(e);
            debug_assert!(
                self.view.registered().eq(self.pool.iter().map(|m| m.id())),
                "fleet view and membrane pool disagree on the registered membranes at {e}"
            );
            let phases: Vec<(&str, PodPhase)> = self
                .view
                .registered()
                .map(|id| {
                    let ready = self
                        .pool
                        .by_id(id)
                        .is_some_and(|m| self.pool.is_ready(m, e));
                    (
                        id,
                        if ready {
                            PodPhase::Ready
                        } else {
                            PodPhase::NotReady
                        },
                    )
                })
                .collect();
            let signals = self.view.signals(|id| {
                phases
                    .iter()
                    .any(|&(m, phase)| m == id && phase == PodPhase::Ready)
            });
            let view = self.view.interval().finish(phases);
            let mut d = self.policy.evaluate(e, &view);
            d.resource.clone_from(&self.resource);
            d.interval = Some(signals);
            metrics::gauge!("echoflow_desired_replicas", "resource" => self.resource.clone())
                .set(f64::from(d.to));
            out.push(d);
            e += self.interval;
        }
        self.next_eval = Some(e);
        sort_telemetry(&mut telemetry);
        for r in &telemetry {
            self.pool.on_telemetry(&r.value);
        }
        self.pool.advance_to(t);
    }
}

/// Builds the autoscaler. `telemetry` is each worker's copy of the broadcast telemetry (`pact`
/// keeps it local); `updates` are the fleet view's changes ([`super::fleet_view::fleet_view`]),
/// exchanged here to worker 0, which alone evaluates.
pub fn autoscaler<'scope, P>(
    telemetry: StreamVec<'scope, u64, Record<Telemetry>>,
    updates: StreamVec<'scope, u64, (u64, Update)>,
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
        view: FleetViewState::default(),
        interval: params.autoscaler.interval_ms.max(1),
        resource: params.autoscaler.resource.clone(),
        next_eval: None,
    };
    telemetry.binary_frontier::<_, CapacityContainerBuilder<Vec<Decision>>, _, _, _, _>(
        updates,
        pact,
        Exchange::new(|_: &(u64, Update)| 0u64),
        "Autoscaler",
        move |_cap, _info| {
            type Held = (Capability<u64>, Vec<Record<Telemetry>>);
            let mut pending: BTreeMap<u64, Held> = BTreeMap::new();
            let mut out: Vec<Decision> = Vec::new();
            move |(tel, tel_frontier), (upd, upd_frontier), output| {
                drain_input(tel, |cap, batch| {
                    if active {
                        let entry = pending
                            .entry(*cap.time())
                            .or_insert_with(|| (cap.clone(), Vec::new()));
                        entry.1.append(batch);
                    }
                });
                drain_input(upd, |cap, batch| {
                    for (time, u) in batch.drain(..) {
                        if u == Update::Tick {
                            pending
                                .entry(time)
                                .or_insert_with(|| (cap.delayed(&time), Vec::new()));
                        } else {
                            slow.view.push(time, u);
                        }
                    }
                });
                while let Some((&t, _)) = pending.first_key_value() {
                    if tel_frontier.less_equal(&t) || upd_frontier.less_equal(&t) {
                        break;
                    }
                    let Some((_, (cap, tel))) = pending.pop_first() else {
                        break;
                    };
                    slow.process(t, tel, &mut out);
                    if !out.is_empty() {
                        output.session(&cap).give_iterator(out.drain(..));
                    }
                }
            }
        },
    )
}

//! The echoflow dataflow: requests and telemetry in, every outcome out (SPEC §2–§4).
//!
//! ```text
//!  telemetry ─► split ─┬─ on time ─┬─ broadcast ─┬──────────► control (every worker) ─► admitted
//!                      │           │             │             ▲   fast path            rejections
//!                      │           │             │             │                        control events (worker 0)
//!                      │           │             │             │                        counts ─┐
//!                      │           └─────────────┼─────────────┼───► fleet view ◄───────────┘
//!                      │                         │             │     (differential: alive, window, outcomes)
//!                      └─ late, invalid ─► dead  │             │            │ changes
//!  requests ──► split ─┬─ on time, late ─► exchange by key group            ▼
//!                      └─ invalid ─► dead letters  telemetry (worker 0) ─► autoscaler (worker 0) ─► decisions
//! ```
//!
//! * [`control`] — the fast path, a plain timely operator: per event time `t`, in order, timers
//!   due by `t`, telemetry at `t`, the fleet readings, then requests at `t` by id through
//!   [`echoflow_operators::admission::Admission::decide`] and batched reservoir evaluation. Every
//!   worker receives all telemetry, so every worker holds the same fleet view
//!   ([`echoflow_operators::fleet::FleetState`]); requests are exchanged by key group (SPEC §4:
//!   `logical_shards`, Flink's contiguous ranges) of their [`shard_key`] (the `session` if any,
//!   else the id), and the state split for parallelism (token buckets, round-robin cursors,
//!   Floyd counts, sessions' reservoir states) lives per key group, so the outputs do not depend
//!   on the number of workers.
//! * [`fleet_view`] — the slow loop's view of the fleet as differential-dataflow collections:
//!   membranes alive (each report inserts its membrane and retracts it a TTL later), per-membrane
//!   cpu/latency/queue-fill sums over the autoscaler interval and the fleet's admitted/shed
//!   counts over the same window (each input enters the window and is retracted one interval
//!   later), consolidated across workers.
//! * [`autoscaler`] — the slow loop on worker 0: per `autoscaler.interval_ms` of event time, the
//!   fleet view at that time (shed demand counts as demand) becomes a
//!   [`echoflow_operators::autoscale::utilization::FleetView`]; the configured policy decides.
//! * [`outputs`] — the wire records and the SPEC §4 sort keys.
//!
//! Which is differential and why: differential earns its place where state is a collection whose
//! members are later retracted — windowed aggregates and membership with expiry, the slow loop.
//! The fast path is plain timely because every step there is a per-timestamp state machine whose
//! next state depends on the previous one in event-time order (token buckets, breakers, EWMA,
//! hysteresis): there is nothing to retract, and arranging each request would only add cost to
//! the path whose latency matters.
//!
//! [`build`] wires the dataflow inside a timely scope from any sources; [`crate::replay`] feeds it
//! files and [`crate::run`] Kafka.

pub mod autoscaler;
pub mod control;
pub mod fleet_view;
pub mod outputs;
pub mod params;

use echoflow_connectors::dead_letter::DeadLetter;
use echoflow_connectors::ingest::{IngestStream, Ingested, Received, Record};
use echoflow_connectors::schema::Request;
use echoflow_operators::keyed::{key_group, worker_for_group};
use echoflow_operators::membrane_pool::Telemetry;
use timely::dataflow::Stream;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::vec::{Broadcast, Map, Partition};

pub use outputs::Outputs;
pub use params::{Params, PressureSource};

/// A request on its way to the control operator: the record and whether its source found it late.
pub type RequestItem = (Record<Request>, bool);

/// Wires the dataflow over the two ingest streams. Returns the five output streams.
pub fn build<'scope>(
    requests: IngestStream<'scope, Request>,
    telemetry: IngestStream<'scope, Telemetry>,
    params: &Params,
) -> Outputs<'scope> {
    let scope = requests.scope();
    let peers = scope.peers() as u32;
    let shards = params.logical_shards;

    // Requests: decoded ones (late or not) to their key group's worker; invalid ones are dead.
    let mut parts = requests.partition(2, |item| match item {
        Ingested::OnTime(r) => (0, Ingested::OnTime(r)),
        Ingested::Late { record, raw } => (0, Ingested::Late { record, raw }),
        Ingested::Invalid(d) => (1, Ingested::Invalid(d)),
    });
    let req_dead = parts.pop().map(dead_only);
    let req_ok = parts
        .pop()
        .map(|s| {
            s.flat_map(|item| match item {
                Ingested::OnTime(r) => Some((r, false)),
                Ingested::Late { record, .. } => Some((record, true)),
                Ingested::Invalid(_) => None,
            })
        })
        .expect("partition(2) gives two streams");

    // Telemetry: on-time reports to every worker; late ones (SPEC §4) and invalid ones are dead.
    let mut tparts = telemetry.partition(2, |item| match item {
        Ingested::OnTime(r) => (0, Ingested::OnTime(r)),
        other => (1, other),
    });
    let tel_dead = tparts.pop().map(dead_only);
    let tel_ok = tparts
        .pop()
        .map(|s| {
            s.flat_map(|item| match item {
                Ingested::OnTime(r) => Some(r),
                _ => None,
            })
        })
        .expect("partition(2) gives two streams");
    let tel_all = tel_ok.clone().broadcast();

    let route = Exchange::new(move |(r, _): &RequestItem| {
        u64::from(worker_for_group(
            key_group(shard_key(&r.value), shards),
            shards,
            peers,
        ))
    });
    let out = control::control(tel_all.clone(), req_ok, route, params);
    let mut split = out.partition(4, |o| match o {
        control::Out::Admitted(a) => (0, control::Out::Admitted(a)),
        control::Out::Rejected(r) => (1, control::Out::Rejected(r)),
        control::Out::Control(c) => (2, control::Out::Control(c)),
        control::Out::Counts(c) => (3, control::Out::Counts(c)),
        control::Out::Dead(d) => (1, control::Out::Dead(d)),
    });
    let counts = split.pop().expect("4 parts").flat_map(|o| match o {
        control::Out::Counts(c) => Some(c),
        _ => None,
    });
    let control_events = split.pop().expect("4 parts").flat_map(|o| match o {
        control::Out::Control(c) => Some(c),
        _ => None,
    });
    let rejected_or_dead = split.pop().expect("4 parts");
    let admitted = split.pop().expect("4 parts").flat_map(|o| match o {
        control::Out::Admitted(a) => Some(a),
        _ => None,
    });
    let mut rd = rejected_or_dead.partition(2, |o| match o {
        control::Out::Dead(d) => (1, control::Out::Dead(d)),
        other => (0, other),
    });
    let eval_dead = rd.pop().expect("2 parts").flat_map(|o| match o {
        control::Out::Dead(d) => Some(d),
        _ => None,
    });
    let rejections = rd.pop().expect("2 parts").flat_map(|o| match o {
        control::Out::Rejected(r) => Some(r),
        _ => None,
    });

    let updates = fleet_view::fleet_view(
        tel_ok,
        counts,
        params.fleet.pool.membrane_ttl_ms,
        params.autoscaler.interval_ms,
    );
    let decisions = autoscaler::autoscaler(tel_all, updates, Pipeline, params);
    let mut dead = eval_dead;
    for d in [req_dead, tel_dead].into_iter().flatten() {
        dead = dead.concat(d);
    }
    let dead = dead.inspect(|_| metrics::counter!("echoflow_dead_letters_total").increment(1));
    Outputs {
        admitted,
        rejections,
        decisions,
        control: control_events,
        dead_letter: dead,
    }
}

/// The key that places a request in a key group (SPEC §4): its `session` when it has one, so
/// that a session's requests meet the state they carry; else its id.
pub fn shard_key(q: &Request) -> &[u8] {
    q.session.as_deref().unwrap_or(&q.id).as_bytes()
}

/// Drains an input, handing each batch to `put` with a capability for its time (output 0): the
/// first step of the operators that hold records by event time.
pub(crate) fn drain_input<D, P>(
    input: &mut InputHandleCore<u64, Vec<D>, P>,
    mut put: impl FnMut(&Capability<u64>, &mut Vec<D>),
) where
    P: Pull<Message<u64, Vec<D>>>,
{
    input.for_each_stamp(|cap, data| {
        let Some(cap) = cap.retain_least(0) else {
            return;
        };
        for batch in data {
            put(&cap, batch);
        }
    });
}

/// SPEC §4's order of telemetry within one timestamp: by membrane, then input position
/// (partition, offset), so every worker applies the same reports in the same order.
pub(crate) fn sort_telemetry(reports: &mut [Record<Telemetry>]) {
    reports.sort_by(|a, b| {
        (&a.value.membrane, a.origin.partition, a.origin.offset).cmp(&(
            &b.value.membrane,
            b.origin.partition,
            b.origin.offset,
        ))
    });
}

fn dead_only<'scope, T: 'static>(
    s: IngestStream<'scope, T>,
) -> Stream<'scope, u64, Vec<Received<DeadLetter>>> {
    s.flat_map(|item| match item {
        Ingested::Invalid(d) => Some(d),
        Ingested::Late { record, raw } => Some(Received::new(
            DeadLetter::new(
                &record.origin,
                format!(
                    "late: ts {} is behind its partition's watermark (SPEC §4)",
                    record.ts
                ),
                &raw,
            ),
            record.received,
        )),
        Ingested::OnTime(_) => None,
    })
}

use timely::communication::Pull;
use timely::dataflow::channels::Message;
use timely::dataflow::operators::generic::InputHandleCore;
use timely::dataflow::operators::{Capability, Concat, Inspect};

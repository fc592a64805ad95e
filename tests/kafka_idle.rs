//! An idle partition stops holding the watermark once `idle_timeout` passes (SPEC §4).

mod common;

use common::*;
use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::source::{SourceConfig, kafka_source};
use echoflow_connectors::schema::{Request, RequestLimits};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::Probe;

#[test]
fn idle_partition_releases_the_watermark() {
    let Some(b) = broker() else { return };
    let topic = unique("idle");
    create(&b, &[&topic], 2);
    // Partition 0 gets records up to ts 2000; partition 1 stays empty for the whole test.
    let records: Vec<_> = (0..100u64)
        .map(|i| {
            (
                0,
                format!("r{i}"),
                request(&format!("r{i}"), 1_000 + 10 * i),
            )
        })
        .collect();
    produce(&b, &topic, &records);

    let stop = Arc::new(AtomicBool::new(false));
    let reached = timely::execute_directly(move |worker| {
        let probe = ProbeHandle::new();
        worker.dataflow::<u64, _, _>(|scope| {
            let mut cfg = SourceConfig::new(KafkaClient::new(&b), &topic, unique("idlegroup"));
            cfg.idle_timeout = Duration::from_millis(500);
            cfg.shutdown = Some(Arc::clone(&stop));
            let (stream, _handle) = kafka_source(scope, cfg, probe.clone(), |raw: &[u8]| {
                Request::decode(raw, &RequestLimits::default()).map(|r| (r.ts, ()))
            })
            .expect("source");
            stream.probe_with(&probe);
        });
        // The frontier is held at 0 by the empty partition until it idles, then moves to the
        // largest ts of partition 0 (allowed lateness 0). Bounded wait: fail, never hang.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut frontier = 0;
        while Instant::now() < deadline {
            worker.step_or_park(Some(Duration::from_millis(5)));
            frontier = probe.with_frontier(|f| f.first().copied().unwrap_or(u64::MAX));
            if frontier >= 1_990 {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        while !probe.done() {
            worker.step_or_park(Some(Duration::from_millis(5)));
        }
        frontier
    });
    assert_eq!(
        reached, 1_990,
        "the watermark should reach partition 0's max ts"
    );
}

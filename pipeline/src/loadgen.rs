//! `echoflow loadgen`: a [`Scenario`]'s requests and telemetry produced to Kafka in real time.
//!
//! The scenario starts now: every record's `ts` is the wall-clock time (ms) at which it is due,
//! and it is produced when that time comes (requests keyed by id, telemetry keyed by membrane,
//! librdkafka's partitioner on the key, so each partition is in ts order). With `realtime =
//! false` everything is produced as fast as the broker takes it (same records, same `ts`).
//!
//! [`run_closed_loop`] plays the demo's [`Story`] live instead: the requests follow the story's
//! offered load, and the telemetry comes from simulated membranes ([`FleetSim`]) that consume
//! `echoflow.admitted` (each admitted record is a request routed to its `membrane`) and
//! `echoflow.scaling-decisions` (scale-ups start membranes, scale-downs stop them), so an
//! `echoflow run` against the same broker closes the loop as the embedded demo does — in wall
//! clock time, so not reproducibly. Each report period (100 ms) the membranes report what they
//! were sent since the last one, and that period's requests are produced, spread over it by `ts`.

use crate::fleet_sim::{FleetSim, FleetSimConfig};
use crate::scenario::{Scenario, request_line};
use crate::story::{Arrivals, Story};
use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::producer::{ProduceError, ToolProducer};
use echoflow_connectors::kafka::tap::{TapError, TopicTap};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to produce where.
#[derive(Clone)]
pub struct LoadgenOptions {
    pub scenario: Scenario,
    pub client: KafkaClient,
    pub requests_topic: String,
    pub telemetry_topic: String,
    /// Pace records to their `ts`; otherwise produce as fast as possible.
    pub realtime: bool,
    pub shutdown: Option<Arc<AtomicBool>>,
    /// The membranes keep reporting this long (ms of event time) after the last request, as a
    /// live fleet does when the load stops; so the last requests' timestamps are released by
    /// telemetry rather than by the sources' idle timeout.
    pub telemetry_tail_ms: u64,
}

/// What was produced.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadgenStats {
    pub requests: u64,
    pub telemetry: u64,
    /// Event time of the first record (ms since the epoch).
    pub start_ms: u64,
    pub seconds: f64,
}

/// The wall clock in ms since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Produces the scenario, starting now; returns once every record is acknowledged.
pub fn run(options: LoadgenOptions) -> Result<LoadgenStats, ProduceError> {
    let producer = ToolProducer::new(&options.client)?;
    let topics = [
        options.requests_topic.as_str(),
        options.telemetry_topic.as_str(),
    ];
    producer.warm_up(&topics, Duration::from_secs(30))?;
    let start_ms = now_ms();
    let scenario = Scenario {
        start_ms,
        ..options.scenario.clone()
    };
    let started = Instant::now();
    let mut requests = scenario.requests_keyed().peekable();
    let tail = Scenario {
        start_ms: start_ms + scenario.duration_ms,
        duration_ms: options.telemetry_tail_ms,
        ..scenario.clone()
    };
    let mut telemetry = scenario
        .telemetry_keyed()
        .chain(tail.telemetry_keyed())
        .peekable();
    let mut stats = LoadgenStats {
        start_ms,
        ..LoadgenStats::default()
    };
    let stop = || {
        options
            .shutdown
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    };
    loop {
        let next_req = requests.peek().map(|r| r.0);
        let next_tel = telemetry.peek().map(|r| r.0);
        let (from_requests, ts) = match (next_req, next_tel) {
            (None, None) => break,
            // Telemetry first at equal times (SPEC §4's order within a timestamp).
            (Some(a), Some(b)) => (b > a, a.min(b)),
            (Some(a), None) => (true, a),
            (None, Some(b)) => (false, b),
        };
        if options.realtime {
            let due = Duration::from_millis(ts.saturating_sub(start_ms));
            let elapsed = started.elapsed();
            if due > elapsed {
                std::thread::sleep((due - elapsed).min(Duration::from_millis(5)));
                if stop() {
                    break;
                }
                continue;
            }
        }
        if stop() {
            break;
        }
        let (topic, item) = if from_requests {
            stats.requests += 1;
            (&options.requests_topic, requests.next())
        } else {
            stats.telemetry += 1;
            (&options.telemetry_topic, telemetry.next())
        };
        if let Some((_, key, line)) = item {
            producer.send(topic, None, key.as_bytes(), line.as_bytes())?;
        }
    }
    producer.flush(Duration::from_secs(120))?;
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

/// Errors of the closed-loop load generator.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error(transparent)]
    Produce(#[from] ProduceError),
    #[error(transparent)]
    Tap(#[from] TapError),
}

/// The closed loop: where to produce, what to watch, what to play.
#[derive(Clone)]
pub struct ClosedLoopOptions {
    pub client: KafkaClient,
    pub requests_topic: String,
    pub telemetry_topic: String,
    pub admitted_topic: String,
    pub decisions_topic: String,
    pub duration_ms: u64,
    /// Offered requests per second outside the surge.
    pub rate: f64,
    /// Membranes at the start.
    pub membranes: u32,
    pub fleet: FleetSimConfig,
    pub input_steps: usize,
    pub seed: u64,
    pub shutdown: Option<Arc<AtomicBool>>,
}

/// What the closed loop did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClosedLoopStats {
    pub requests: u64,
    pub telemetry: u64,
    /// Admitted records the membranes received, and calls they answered in their reports.
    pub admitted_seen: u64,
    pub served: u64,
    /// Scale decisions followed, and the replicas at the end.
    pub scale_changes: u64,
    pub replicas: u32,
    pub seconds: f64,
}

/// What the watcher thread heard since the last report period.
#[derive(Default)]
struct Heard {
    admitted: BTreeMap<String, u64>,
    total: u64,
    scale: Vec<u32>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct AdmittedTo {
    membrane: String,
}

#[derive(serde::Deserialize)]
struct ScaleTo {
    resource: String,
    action: String,
    to: u32,
}

/// Plays the story against `echoflow run` on the broker (see the module documentation).
pub fn run_closed_loop(o: ClosedLoopOptions) -> Result<ClosedLoopStats, LoadgenError> {
    let tap = TopicTap::from_end(&o.client, &[&o.admitted_topic, &o.decisions_topic])?;
    let producer = ToolProducer::new(&o.client)?;
    let heard: Arc<Mutex<Heard>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (heard, done, admitted) = (
            Arc::clone(&heard),
            Arc::clone(&done),
            o.admitted_topic.clone(),
        );
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let got = tap.poll(Duration::from_millis(50));
                let Ok(mut h) = heard.lock() else { return };
                match got {
                    Ok(None) => {}
                    Ok(Some((topic, payload))) if topic == admitted => {
                        if let Ok(a) = serde_json::from_slice::<AdmittedTo>(&payload) {
                            *h.admitted.entry(a.membrane).or_default() += 1;
                            h.total += 1;
                        }
                    }
                    Ok(Some((_, payload))) => {
                        if let Ok(d) = serde_json::from_slice::<ScaleTo>(&payload)
                            && d.resource == "membranes"
                            && d.action != "hold"
                        {
                            h.scale.push(d.to);
                        }
                    }
                    Err(e) => h.error = Some(e.to_string()),
                }
            }
        })
    };
    let start_ms = now_ms();
    let started = Instant::now();
    let story = Story {
        start_ms,
        duration_ms: o.duration_ms,
        base_rate: o.rate,
    };
    let mut fleet = FleetSim::new(o.fleet.clone(), o.membranes, start_ms);
    let period = o.fleet.period_ms.max(1);
    let end = start_ms + o.duration_ms;
    let mut stats = ClosedLoopStats::default();
    let (mut t, mut arrivals, mut next_id) = (start_ms, Arrivals::default(), 0u64);
    let stop = || {
        o.shutdown
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    };
    while t < end && !stop() {
        let due = Duration::from_millis(t - start_ms);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let admitted = match heard.lock() {
            Ok(mut h) => {
                for to in h.scale.drain(..) {
                    fleet.scale_to(t, to);
                    stats.scale_changes += 1;
                }
                if let Some(e) = h.error.take() {
                    tracing::warn!("loadgen: reading {}: {e}", o.admitted_topic);
                }
                std::mem::take(&mut h.admitted)
            }
            Err(_) => BTreeMap::new(),
        };
        for report in fleet.step(t, &admitted, &story.conditions(t)) {
            stats.served += report.requests;
            let line = echoflow_connectors::schema::outputs::to_line(&report);
            producer.send(
                &o.telemetry_topic,
                None,
                report.membrane.as_bytes(),
                line.as_bytes(),
            )?;
            stats.telemetry += 1;
        }
        let next = (t + period).min(end);
        for ts in arrivals.step(&story, t, next) {
            let id = format!("r-{start_ms}-{next_id:09}");
            let line = request_line(o.seed, next_id, ts, &id, o.input_steps, None);
            next_id += 1;
            producer.send(&o.requests_topic, None, id.as_bytes(), line.as_bytes())?;
            stats.requests += 1;
        }
        t = next;
    }
    producer.flush(Duration::from_secs(120))?;
    done.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    stats.admitted_seen = heard.lock().map_or(0, |h| h.total);
    stats.replicas = fleet.replicas();
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

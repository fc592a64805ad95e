//! Simulated membranes that answer to the load echoflow admits to them: the closed loop of the
//! demo and of `loadgen`.
//!
//! Each membrane is a single-server queue served at `service_rate` requests per second. Every
//! report period `p` (the telemetry period, 100 ms by default) a membrane takes the requests
//! admitted to it since its last report, serves at most `service_rate · p` of its backlog, and
//! reports what that did to it:
//!
//! | field | model |
//! |---|---|
//! | `requests` | calls answered in the period (served + refused because the queue overflowed) |
//! | `errors` | refused calls + `error_rate` × served (a failing membrane) |
//! | `queue_depth` | the backlog left, at most `queue_capacity` |
//! | `cpu` | `0.1 + 0.68 · served / (service_rate · p)`: 0.78 when saturated |
//! | `latency_ms` | `base_latency_ms · (1 + cpu²)` + the backlog's waiting time, `queue / service_rate` |
//! | `memory` | `0.3 + 0.25 · queue fill` + the squeeze in force |
//! | `in_flight` | `min(queue, concurrency)` |
//! | `healthy` | `false` while starting (for `startup_ms` after it was asked for), then `true` |
//!
//! so the loops close: admitting more than the fleet serves grows queues, latency and cpu, which
//! raise RED's average fill, the degradation level and the autoscaler's utilisation, which cut
//! what is admitted or add membranes. Scaling follows the autoscaler's decisions: a scale-up starts
//! membranes that report `healthy = false` for `startup_ms` (a pod that is not ready yet); a
//! scale-down stops the newest ones, which fall silent and leave the pool after its TTL.
//!
//! The model is a pure function of its inputs (cpu and memory carry a small jitter drawn from
//! `(seed, membrane, ts)`), so a demo run is reproducible. The numbers are illustrative, not
//! measured from a real serving backend: they make the control loops' effects visible.
//!
//! ```
//! use echoflow_pipeline::fleet_sim::{Conditions, FleetSim, FleetSimConfig};
//! use std::collections::BTreeMap;
//! let mut fleet = FleetSim::new(FleetSimConfig { service_rate: 1_000.0, ..FleetSimConfig::default() }, 2, 0);
//! // 300 requests in 100 ms to m-0: three times what it serves, so its queue grows.
//! let admitted = BTreeMap::from([("m-0".to_string(), 300)]);
//! let reports = fleet.step(100, &admitted, &Conditions::default());
//! assert_eq!(reports.len(), 2);
//! assert_eq!(reports[0].queue_depth, 200);
//! assert_eq!(reports[1].queue_depth, 0);
//! ```

use echoflow_operators::keyed::unit_draw;
use echoflow_operators::membrane_pool::Telemetry;
use std::collections::BTreeMap;

/// The model's constants.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSimConfig {
    /// Requests per second one membrane serves at full cpu.
    pub service_rate: f64,
    /// Queue slots per membrane; admitted requests beyond them are refused (errors).
    pub queue_capacity: u64,
    /// Latency of an idle membrane (ms).
    pub base_latency_ms: f64,
    /// How long a new membrane reports `healthy = false` (ms).
    pub startup_ms: u64,
    /// Report period (ms): telemetry at this rate per membrane.
    pub period_ms: u64,
    /// Concurrent requests a membrane works on (`in_flight` is at most this).
    pub concurrency: u64,
    /// Seed of the cpu/memory jitter.
    pub seed: u64,
}

impl Default for FleetSimConfig {
    /// 2,500 requests/s per membrane, 1,000 queue slots, 20 ms idle latency, 5 s start-up, 10 Hz.
    fn default() -> Self {
        FleetSimConfig {
            service_rate: 2_500.0,
            queue_capacity: 1_000,
            base_latency_ms: 20.0,
            startup_ms: 5_000,
            period_ms: 100,
            concurrency: 16,
            seed: 0,
        }
    }
}

/// What the fleet's environment does to it during a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// Membranes (by index) failing this fraction of the calls they serve.
    pub failing: BTreeMap<u32, f64>,
    /// Added to every membrane's memory reading (a memory squeeze: a noisy neighbour, a leak).
    pub memory_squeeze: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Membrane {
    index: u32,
    name: String,
    queue: f64,
    /// Event time from which it is ready.
    ready_at: u64,
}

/// The simulated fleet (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSim {
    config: FleetSimConfig,
    membranes: Vec<Membrane>,
    next_index: u32,
    now: u64,
}

impl FleetSim {
    /// `initial` membranes, ready at once, at event time `t0`.
    pub fn new(config: FleetSimConfig, initial: u32, t0: u64) -> Self {
        let mut fleet = FleetSim {
            config,
            membranes: Vec::new(),
            next_index: 0,
            now: t0,
        };
        for _ in 0..initial {
            fleet.start(t0);
        }
        fleet
    }

    fn start(&mut self, ready_at: u64) {
        let index = self.next_index;
        self.next_index += 1;
        self.membranes.push(Membrane {
            index,
            name: format!("m-{index}"),
            queue: 0.0,
            ready_at,
        });
    }

    /// The model's constants.
    pub fn config(&self) -> &FleetSimConfig {
        &self.config
    }

    /// Membranes running (ready or starting).
    pub fn replicas(&self) -> u32 {
        self.membranes.len() as u32
    }

    /// Membranes that are ready at the last step's time.
    pub fn ready(&self) -> u32 {
        self.membranes
            .iter()
            .filter(|m| m.ready_at <= self.now)
            .count() as u32
    }

    /// Requests per second the ready membranes serve together.
    pub fn ready_capacity(&self) -> f64 {
        f64::from(self.ready()) * self.config.service_rate
    }

    /// Scales to `replicas` (at least 1) at event time `t`: new membranes are ready at
    /// `t + startup_ms`; a scale-down stops the newest membranes first.
    pub fn scale_to(&mut self, t: u64, replicas: u32) {
        let replicas = replicas.max(1) as usize;
        while self.membranes.len() < replicas {
            self.start(t + self.config.startup_ms);
        }
        self.membranes.truncate(replicas);
    }

    /// One report period ending at `t`: `admitted` counts the requests routed to each membrane
    /// (by name) since the previous step. Returns one report per running membrane, by index.
    /// Requests for a membrane that no longer runs are lost with it (as on a stopped pod).
    pub fn step(
        &mut self,
        t: u64,
        admitted: &BTreeMap<String, u64>,
        conditions: &Conditions,
    ) -> Vec<Telemetry> {
        self.now = t;
        let c = &self.config;
        let per_period = c.service_rate * c.period_ms as f64 / 1000.0;
        let cap = c.queue_capacity as f64;
        let mut out = Vec::with_capacity(self.membranes.len());
        for m in &mut self.membranes {
            let arrived = admitted.get(&m.name).copied().unwrap_or(0) as f64;
            let ready = m.ready_at <= t;
            let backlog = m.queue + arrived;
            let served = if ready { backlog.min(per_period) } else { 0.0 };
            let mut queue = backlog - served;
            let refused = (queue - cap).max(0.0);
            queue -= refused;
            m.queue = queue;
            let error_rate = conditions.failing.get(&m.index).copied().unwrap_or(0.0);
            let served_n = served.round() as u64;
            let refused_n = refused.round() as u64;
            let errors = refused_n + (served * error_rate.clamp(0.0, 1.0)).round() as u64;
            let key = format!("{}/{t}", m.name);
            let jitter = (unit_draw(c.seed, key.as_bytes()) - 0.5) * 0.02;
            let busy = if per_period > 0.0 {
                served / per_period
            } else {
                0.0
            };
            let cpu = (0.1 + 0.68 * busy + jitter).clamp(0.0, 1.0);
            let fill = if cap > 0.0 { queue / cap } else { 1.0 };
            let memory = (0.3 + 0.25 * fill + conditions.memory_squeeze + jitter).clamp(0.0, 1.0);
            let wait_ms = if c.service_rate > 0.0 {
                queue / c.service_rate * 1000.0
            } else {
                0.0
            };
            out.push(Telemetry {
                membrane: m.name.clone(),
                ts: t,
                cpu,
                memory,
                queue_depth: queue.round() as u64,
                queue_capacity: c.queue_capacity,
                in_flight: (queue.round() as u64).min(c.concurrency),
                latency_ms: c.base_latency_ms * (1.0 + cpu * cpu) + wait_ms,
                requests: served_n + refused_n,
                errors: errors.min(served_n + refused_n),
                healthy: ready,
                capacity_weight: None,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(n: u32) -> FleetSim {
        FleetSim::new(
            FleetSimConfig {
                service_rate: 1_000.0,
                queue_capacity: 500,
                ..FleetSimConfig::default()
            },
            n,
            0,
        )
    }

    #[test]
    fn an_overloaded_membrane_queues_then_refuses_and_recovers_when_the_load_stops() {
        let mut f = fleet(1);
        let load = BTreeMap::from([("m-0".to_string(), 250)]);
        let mut last = Vec::new();
        for k in 1..=4 {
            last = f.step(k * 100, &load, &Conditions::default());
        }
        // 150 more than it serves each period: 150, 300, 450, then 600 → 500 and 100 refused.
        assert_eq!(last[0].queue_depth, 500);
        assert_eq!(last[0].requests, 200);
        assert_eq!(last[0].errors, 100);
        assert!(last[0].cpu > 0.75);
        assert!(last[0].latency_ms > 500.0, "{}", last[0].latency_ms);
        let none = BTreeMap::new();
        for k in 5..=10 {
            last = f.step(k * 100, &none, &Conditions::default());
        }
        assert_eq!(last[0].queue_depth, 0);
        assert!(last[0].cpu < 0.15);
    }

    #[test]
    fn failing_membranes_report_errors_and_the_squeeze_raises_memory() {
        let mut f = fleet(2);
        let load = BTreeMap::from([("m-0".to_string(), 50), ("m-1".to_string(), 50)]);
        let cond = Conditions {
            failing: BTreeMap::from([(1, 0.9)]),
            memory_squeeze: 0.4,
        };
        let r = f.step(100, &load, &cond);
        assert_eq!((r[0].errors, r[1].errors), (0, 45));
        assert!(r.iter().all(|t| t.memory > 0.65 && t.errors <= t.requests));
    }

    #[test]
    fn new_membranes_are_unready_for_the_start_up_time_and_scale_down_stops_the_newest() {
        let mut f = fleet(2);
        f.scale_to(1_000, 4);
        assert_eq!((f.replicas(), f.ready()), (4, 2));
        let r = f.step(1_100, &BTreeMap::new(), &Conditions::default());
        assert_eq!(r.iter().filter(|t| !t.healthy).count(), 2);
        assert_eq!(r[3].membrane, "m-3");
        f.step(6_000, &BTreeMap::new(), &Conditions::default());
        assert_eq!(f.ready(), 4);
        f.scale_to(6_000, 3);
        let r = f.step(6_100, &BTreeMap::new(), &Conditions::default());
        let names: Vec<_> = r.iter().map(|t| t.membrane.as_str()).collect();
        assert_eq!(names, ["m-0", "m-1", "m-2"]);
        f.scale_to(6_100, 0);
        assert_eq!(f.replicas(), 1, "never below one");
    }

    #[test]
    fn the_same_inputs_give_the_same_reports() {
        let load = BTreeMap::from([("m-0".to_string(), 120)]);
        let run = || {
            let mut f = fleet(3);
            (1..50)
                .flat_map(|k| f.step(k * 100, &load, &Conditions::default()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}

//! Synthetic fleets: deterministic telemetry and request streams for the demo, `loadgen`, the
//! scenario tests and the benchmarks.
//!
//! A [`Scenario`] is `membranes` simulated membranes reporting telemetry every `1000 /
//! telemetry_hz` ms of event time each, and `rate` requests per second spread evenly over the
//! run, from `start_ms` for `duration_ms`. What the membranes report follows the scenario's
//! [`Shape`]:
//!
//! | shape | what happens | what it shows |
//! |---|---|---|
//! | `steady` | cpu 0.4, memory 0.4, queues 20 % full | everything admitted |
//! | `cpu_spike` | cpu 0.92 during the middle third | degradation gates priorities, then steps back one level per `recovery_delay` |
//! | `memory_ramp` | memory rises to 0.95 and falls back | AIMD halves the scale, then recovers by ticks |
//! | `queue_fill` | queues 85 % full in the middle third | RED drops, `queue_full` for full queues |
//! | `error_burst` | membrane `m-0` fails 90 % of calls in the middle third | its breaker opens, traffic moves to the others |
//! | `load_step` | cpu steps from 0.35 to 0.95 at a third of the run | the autoscaler scales up |
//! | `mixed` | the spike, the ramp and the burst at once, and one malformed line in 500 | everything, dead letters included |
//!
//! Priorities are drawn per request from a keyed draw (critical 10 %, high 20 %, medium 30 %,
//! low 25 %, optional 15 %); inputs are `input_steps` steps of a 1-dimensional sine, the shape
//! the built-in Mackey–Glass model takes. Same scenario, same lines.
//!
//! ```
//! use echoflow_pipeline::scenario::{Scenario, Shape};
//! let s = Scenario { duration_ms: 2_000, rate: 10.0, ..Scenario::new(Shape::Steady) };
//! assert_eq!(s.requests().count(), 20);
//! assert_eq!(s.telemetry().count(), 3 * 2 * 10); // 3 membranes × 2 s × 10 Hz
//! ```

use echoflow_operators::keyed::unit_draw;
use serde_json::json;
use std::fmt;
use std::str::FromStr;

const FEATURES: [&str; 3] = ["chat", "search", "summarise"];

/// What the simulated fleet does (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Steady,
    CpuSpike,
    MemoryRamp,
    QueueFill,
    ErrorBurst,
    LoadStep,
    Mixed,
}

impl Shape {
    pub const ALL: [Shape; 7] = [
        Shape::Steady,
        Shape::CpuSpike,
        Shape::MemoryRamp,
        Shape::QueueFill,
        Shape::ErrorBurst,
        Shape::LoadStep,
        Shape::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Steady => "steady",
            Shape::CpuSpike => "cpu_spike",
            Shape::MemoryRamp => "memory_ramp",
            Shape::QueueFill => "queue_fill",
            Shape::ErrorBurst => "error_burst",
            Shape::LoadStep => "load_step",
            Shape::Mixed => "mixed",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown scenario name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario {0:?}; allowed: steady, cpu_spike, memory_ramp, queue_fill, error_burst, load_step, mixed"
)]
pub struct UnknownShape(pub String);

impl FromStr for Shape {
    type Err = UnknownShape;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shape::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownShape(s.to_string()))
    }
}

/// A synthetic fleet and its load.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub shape: Shape,
    /// Event time of the first record (ms since the epoch).
    pub start_ms: u64,
    pub duration_ms: u64,
    pub membranes: u32,
    /// Reports per second per membrane.
    pub telemetry_hz: f64,
    /// Requests per second of event time.
    pub rate: f64,
    /// Steps per request input.
    pub input_steps: usize,
    pub seed: u64,
}

impl Scenario {
    /// 3 membranes at 10 Hz, 1,000 requests/s of 8 steps for 60 s from 2026-01-01T00:00:00Z.
    pub fn new(shape: Shape) -> Self {
        Scenario {
            shape,
            start_ms: 1_767_225_600_000,
            duration_ms: 60_000,
            membranes: 3,
            telemetry_hz: 10.0,
            rate: 1_000.0,
            input_steps: 8,
            seed: 0,
        }
    }

    /// The fraction of the run at event time `t` (0 at the start, 1 at the end).
    fn phase(&self, t: u64) -> f64 {
        (t.saturating_sub(self.start_ms)) as f64 / self.duration_ms.max(1) as f64
    }

    fn middle_third(&self, t: u64) -> bool {
        let p = self.phase(t);
        (1.0 / 3.0..2.0 / 3.0).contains(&p)
    }

    /// One report of membrane `m` at `t`, as a JSON line.
    fn report(&self, m: u32, t: u64, period_ms: u64) -> String {
        let p = self.phase(t);
        let jitter = (unit_draw(self.seed, format!("tel/{m}/{t}").as_bytes()) - 0.5) * 0.04;
        let mut cpu: f64 = 0.4;
        let mut memory: f64 = 0.4;
        let mut fill: f64 = 0.2;
        let mut error_rate = 0.0;
        let spike = matches!(self.shape, Shape::CpuSpike | Shape::Mixed) && self.middle_third(t);
        if spike {
            cpu = 0.92;
        }
        if matches!(self.shape, Shape::MemoryRamp | Shape::Mixed) {
            // Up from 0.3 to 0.95 over the first half, back down over the second.
            let x = if p < 0.5 { p * 2.0 } else { (1.0 - p) * 2.0 };
            memory = 0.3 + 0.65 * x.clamp(0.0, 1.0);
        }
        if self.shape == Shape::QueueFill && self.middle_third(t) {
            fill = if m == 0 { 1.0 } else { 0.85 };
        }
        if matches!(self.shape, Shape::ErrorBurst | Shape::Mixed) && m == 0 && self.middle_third(t)
        {
            error_rate = 0.9;
        }
        if self.shape == Shape::LoadStep {
            cpu = if p < 1.0 / 3.0 { 0.35 } else { 0.95 };
        }
        let capacity = 100u64;
        let calls = ((self.rate / f64::from(self.membranes.max(1))) * period_ms as f64 / 1000.0)
            .round() as u64;
        let calls = calls.max(20);
        json!({
            "membrane": format!("m-{m}"),
            "ts": t,
            "cpu": (cpu + jitter).clamp(0.0, 1.0),
            "memory": (memory + jitter).clamp(0.0, 1.0),
            "queue_depth": ((fill + jitter).clamp(0.0, 1.0) * capacity as f64).round() as u64,
            "queue_capacity": capacity,
            "in_flight": (cpu * 10.0).round() as u64,
            "latency_ms": 20.0 + 200.0 * cpu * cpu,
            "requests": calls,
            "errors": (calls as f64 * error_rate).round() as u64,
            "healthy": true,
        })
        .to_string()
    }

    /// Every telemetry line in event-time order (by time, then membrane).
    pub fn telemetry(&self) -> impl Iterator<Item = String> + '_ {
        self.telemetry_keyed().map(|(_, _, l)| l)
    }

    /// Every request line in event-time order. `mixed` makes one line in 500 malformed.
    pub fn requests(&self) -> impl Iterator<Item = String> + '_ {
        self.requests_keyed().map(|(_, _, l)| l)
    }

    /// `(ts, membrane, line)` of every telemetry report, in event-time order.
    pub fn telemetry_keyed(&self) -> impl Iterator<Item = (u64, String, String)> + '_ {
        let period = (1000.0 / self.telemetry_hz.max(0.001)).round().max(1.0) as u64;
        let n = self.duration_ms / period;
        (0..n).flat_map(move |k| {
            let t = self.start_ms + k * period;
            (0..self.membranes).map(move |m| (t, format!("m-{m}"), self.report(m, t, period)))
        })
    }

    /// `(ts, id, line)` of every request, in event-time order.
    pub fn requests_keyed(&self) -> impl Iterator<Item = (u64, String, String)> + '_ {
        let n = (self.rate * self.duration_ms as f64 / 1000.0).round() as u64;
        let spacing = self.duration_ms as f64 / n.max(1) as f64;
        (0..n).map(move |i| {
            let t = self.start_ms + (i as f64 * spacing) as u64;
            let id = format!("r-{i:08}");
            (t, id.clone(), self.request(i, t, &id))
        })
    }

    fn request(&self, i: u64, t: u64, id: &str) -> String {
        if self.shape == Shape::Mixed && i % 500 == 499 {
            return malformed_request_line(id, t);
        }
        // `mixed` also carries sessions: every fourth request belongs to one of 29, so their
        // reservoir state runs on from request to request.
        let session =
            (self.shape == Shape::Mixed && i.is_multiple_of(4)).then(|| format!("s-{}", i % 29));
        request_line(self.seed, i, t, id, self.input_steps, session.as_deref())
    }
}

/// Request number `i` at `t` (id `id`): its priority a keyed draw of the id (critical 10 %, high
/// 20 %, medium 30 %, low 25 %, optional 15 %), tenant and feature by `i`, `input_steps` steps of
/// a sine.
pub fn request_line(
    seed: u64,
    i: u64,
    t: u64,
    id: &str,
    input_steps: usize,
    session: Option<&str>,
) -> String {
    let d = unit_draw(seed, id.as_bytes());
    let priority = match d {
        x if x < 0.10 => "critical",
        x if x < 0.30 => "high",
        x if x < 0.60 => "medium",
        x if x < 0.85 => "low",
        _ => "optional",
    };
    // Written directly (not through a `serde_json::Value`): the demo generates its load inside
    // the measured loop. Ids and names need no escaping; `{}` prints the shortest f64 that
    // round-trips, so the decoder reads back exactly these values.
    use std::fmt::Write;
    let mut line = String::with_capacity(140 + 24 * input_steps);
    let _ = write!(
        line,
        r#"{{"id":"{id}","ts":{t},"tenant":"tenant-{}","feature":"{}","priority":"{priority}","#,
        i % 4,
        FEATURES[(i % 3) as usize]
    );
    if let Some(s) = session {
        let _ = write!(line, r#""session":"{s}","#);
    }
    line.push_str(r#""input":["#);
    for s in 0..input_steps {
        let x = ((i + s as u64) as f64 * 0.3).sin() * 0.5 + 0.5;
        let _ = write!(line, "{}[{x}]", if s == 0 { "" } else { "," });
    }
    line.push_str("]}");
    line
}

/// A request line without `feature` and `input` and with an unknown `priority`: a dead letter
/// naming the first bad field (`feature`).
pub fn malformed_request_line(id: &str, t: u64) -> String {
    format!(r#"{{"id":"{id}","ts":{t},"tenant":"acme","priority":"urgent"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_in_time_order_and_deterministic() {
        let s = Scenario {
            duration_ms: 3_000,
            ..Scenario::new(Shape::Mixed)
        };
        let ts = |l: &String| -> u64 {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["ts"]
                .as_u64()
                .unwrap()
        };
        let req: Vec<_> = s.requests().collect();
        assert_eq!(req.len(), 3_000);
        assert!(req.windows(2).all(|w| ts(&w[0]) <= ts(&w[1])));
        let tel: Vec<_> = s.telemetry().collect();
        assert!(tel.windows(2).all(|w| ts(&w[0]) <= ts(&w[1])));
        assert_eq!(req, s.requests().collect::<Vec<_>>());
        assert_eq!(req.iter().filter(|l| l.contains("urgent")).count(), 6);
    }

    #[test]
    fn request_lines_decode_to_exactly_the_generated_values() {
        use echoflow_connectors::schema::{Request, RequestLimits};
        for i in [0u64, 1, 7, 499, 123_456] {
            let id = format!("r-{i}");
            let line = request_line(3, i, 1_000 + i, &id, 5, None);
            let r = Request::decode(line.as_bytes(), &RequestLimits::default()).unwrap();
            assert_eq!(
                (r.id.as_str(), r.ts, r.dim, r.steps()),
                (id.as_str(), 1_000 + i, 1, 5)
            );
            assert_eq!(r.tenant, format!("tenant-{}", i % 4));
            for s in 0..5 {
                let x = ((i + s as u64) as f64 * 0.3).sin() * 0.5 + 0.5;
                assert_eq!(r.step(s)[0].to_bits(), x.to_bits(), "{line}");
            }
        }
        let bad = malformed_request_line("r-9", 5);
        let e = Request::decode(bad.as_bytes(), &RequestLimits::default()).unwrap_err();
        assert_eq!(e.field, "feature", "the first bad field");
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_allowed() {
        for s in Shape::ALL {
            assert_eq!(s.as_str().parse::<Shape>(), Ok(s));
        }
        let e = "spiky".parse::<Shape>().unwrap_err().to_string();
        assert!(e.contains("\"spiky\"") && e.contains("memory_ramp"), "{e}");
    }
}

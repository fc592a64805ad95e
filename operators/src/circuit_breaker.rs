//! A circuit breaker per membrane with Resilience4j's semantics, fed by telemetry (SPEC §3).
//!
//! # Algorithm (after resilience4j `CircuitBreakerStateMachine` and
//! `SlidingWindowCircuitBreakerMetrics`)
//!
//! * **Closed**: outcomes go into a sliding window — count-based, the last `window` calls (100),
//!   or time-based (`window_type = "time"`), the calls of the last `window_ms`. Once the window
//!   holds at least `min_calls` calls (20; capped at `window` for a count window, as Resilience4j
//!   does), the breaker opens when the failure rate is ≥ `failure_rate` (0.5) or, with slow calls
//!   enabled (`slow_call_ms > 0`), when the share of calls with latency ≥ `slow_call_ms` is ≥
//!   `slow_call_rate` (1.0). Rates are evaluated after each telemetry report.
//! * **Open**: reports are ignored (no calls are permitted); after `open_ms` (60 s) of event time the
//!   breaker goes HalfOpen — a timer at that exact deadline ([`CircuitBreaker::advance_to`]).
//! * **HalfOpen**: the first `permitted_calls` (10) calls reported are evaluated on their own: a
//!   failure (or slow-call) rate at or above threshold → Open again, else → Closed with an empty
//!   window.
//!
//! Defaults are SPEC §6's `[breaker]`: Resilience4j's own defaults (50 %, window 100, minimum
//! 100 → 20 here, 10 permitted calls, 60 s wait, slow-call rate 100 %), and the 60 s timeout of
//! the source document "Backend Service Integration" (`circuit_breaker.py`, `timeout=60.0`).
//!
//! # How telemetry becomes calls
//!
//! The breaker is fed by the membranes' telemetry, not by calls the pipeline makes. A report with
//! `requests = N`, `errors = E` (counted since that membrane's previous report) and `latency_ms = L`
//! becomes **N calls** in the window, in one batch at the report's ts:
//!
//! * the E failures are spread evenly through the N calls (call `i`, 0-based, is a failure when
//!   `⌊(i+1)·E/N⌋ > ⌊i·E/N⌋`): the report gives no order, and even spreading keeps the failure
//!   share of every run of calls — in particular of the ones that stay in a count window when
//!   older calls slide out — as close to E/N as integers allow;
//! * every call of the report has latency `L`, so they are all slow or all not;
//! * only the last `window` calls of a large report enter a count window (the others would slide
//!   out at once); in HalfOpen only the first calls up to `permitted_calls` are counted;
//! * `E > N` is treated as `E = N`; a report with N = 0 changes nothing.
//!
//! # Deviations
//!
//! Resilience4j evaluates after every call; echoflow evaluates once per report, so a report
//! is atomic (it cannot open the breaker "half way through"). In HalfOpen, Resilience4j rejects
//! calls beyond `permitted_calls`; echoflow cannot limit calls it only hears about, so the router
//! treats HalfOpen membranes as routable (SPEC §3: ready = breaker not open) and the evaluation
//! uses the first `permitted_calls` reported. The time window keeps one bucket per report (not
//! one per second) and drops the buckets with `ts ≤ now − window_ms` when a report arrives.
//!
//! ```
//! use echoflow_operators::circuit_breaker::{BreakerConfig, BreakerState, CircuitBreaker};
//! let mut b = CircuitBreaker::new(BreakerConfig::default());
//! let ev = b.on_report(1_000, 20, 10, 5.0);       // 50 % of 20 calls failed
//! assert_eq!(ev[0].to, BreakerState::Open);
//! assert_eq!(b.next_deadline(), Some(61_000));
//! let ev = b.on_report(61_000, 10, 0, 5.0);       // HalfOpen at 61 s, then 10 good calls
//! assert_eq!(ev.iter().map(|e| e.to).collect::<Vec<_>>(), [BreakerState::HalfOpen, BreakerState::Closed]);
//! ```

use std::collections::VecDeque;

use crate::config_error::{ConfigError, check_min_u64};
use crate::event::{ControlEvent, EventKind};

/// Which sliding window the Closed state uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowType {
    /// The last `window` calls.
    #[default]
    Count,
    /// The calls reported in the last `window_ms`.
    Time,
}

impl WindowType {
    /// The configuration name (`count`, `time`).
    pub fn as_str(self) -> &'static str {
        match self {
            WindowType::Count => "count",
            WindowType::Time => "time",
        }
    }
}

/// `[breaker]` of SPEC §6, plus `window_type` and `window_ms` for the time-based option.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    pub failure_rate: f64,
    pub min_calls: u32,
    /// Calls in the count-based window.
    pub window: u32,
    pub permitted_calls: u32,
    pub open_ms: u64,
    /// 0 = slow calls do not count.
    pub slow_call_ms: u64,
    pub slow_call_rate: f64,
    /// `count` (default) or `time`.
    pub window_type: WindowType,
    /// Length of the time-based window (default 100 s: Resilience4j's size 100 read as seconds).
    pub window_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_rate: 0.5,
            min_calls: 20,
            window: 100,
            permitted_calls: 10,
            open_ms: 60_000,
            slow_call_ms: 0,
            slow_call_rate: 1.0,
            window_type: WindowType::Count,
            window_ms: 100_000,
        }
    }
}

impl BreakerConfig {
    /// Checks rates in `(0, 1]` and counts/durations ≥ 1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rate = |field, v: f64| {
            if v.is_finite() && v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(ConfigError::new(field, v, "a number in (0, 1]"))
            }
        };
        rate("breaker.failure_rate", self.failure_rate)?;
        rate("breaker.slow_call_rate", self.slow_call_rate)?;
        for (field, v) in [
            ("breaker.min_calls", u64::from(self.min_calls)),
            ("breaker.window", u64::from(self.window)),
            ("breaker.permitted_calls", u64::from(self.permitted_calls)),
            ("breaker.open_ms", self.open_ms),
            ("breaker.window_ms", self.window_ms),
        ] {
            check_min_u64(field, v, 1)?;
        }
        Ok(())
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The wire name (`closed`, `open`, `half_open`).
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// A state change, with the rates that caused it (0 for the Open → HalfOpen timer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerTransition {
    pub at_ms: u64,
    pub from: BreakerState,
    pub to: BreakerState,
    pub failure_rate: f64,
    pub slow_call_rate: f64,
}

impl BreakerTransition {
    /// The control event for membrane `subject`.
    pub fn to_control_event(&self, subject: &str) -> ControlEvent {
        ControlEvent {
            at_ms: self.at_ms,
            kind: EventKind::Breaker,
            subject: subject.to_string(),
            from: self.from.as_str(),
            to: self.to.as_str(),
            extra: vec![
                ("failure_rate", self.failure_rate),
                ("slow_call_rate", self.slow_call_rate),
            ],
        }
    }
}

/// Aggregated outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Counts {
    calls: u64,
    failures: u64,
    slow: u64,
}

impl Counts {
    fn rates(&self) -> (f64, f64) {
        if self.calls == 0 {
            (0.0, 0.0)
        } else {
            let n = self.calls as f64;
            (self.failures as f64 / n, self.slow as f64 / n)
        }
    }
}

const FAILED: u8 = 1;
const SLOW: u8 = 2;

/// Whether call `i` of a report of `n` calls with `e` failures is a failure (even spread).
#[inline]
fn is_failure(i: u64, n: u64, e: u64) -> bool {
    let a = u128::from(i) * u128::from(e) / u128::from(n);
    let b = (u128::from(i) + 1) * u128::from(e) / u128::from(n);
    b > a
}

/// The Closed state's sliding window.
#[derive(Debug, Clone)]
enum Window {
    Count {
        ring: Vec<u8>,
        head: usize,
        counts: Counts,
    },
    Time {
        buckets: VecDeque<(u64, Counts)>,
        counts: Counts,
    },
}

impl Window {
    fn new(cfg: &BreakerConfig) -> Self {
        match cfg.window_type {
            WindowType::Count => Window::Count {
                ring: Vec::with_capacity(cfg.window as usize),
                head: 0,
                counts: Counts::default(),
            },
            WindowType::Time => Window::Time {
                buckets: VecDeque::new(),
                counts: Counts::default(),
            },
        }
    }

    fn counts(&self) -> Counts {
        match self {
            Window::Count { counts, .. } | Window::Time { counts, .. } => *counts,
        }
    }

    fn record(&mut self, cfg: &BreakerConfig, now_ms: u64, n: u64, e: u64, slow: bool) {
        match self {
            Window::Count { ring, head, counts } => {
                let cap = cfg.window as usize;
                for i in n.saturating_sub(cap as u64)..n {
                    let outcome =
                        if is_failure(i, n, e) { FAILED } else { 0 } | if slow { SLOW } else { 0 };
                    if ring.len() < cap {
                        ring.push(outcome);
                        counts.calls += 1;
                    } else {
                        let old = ring[*head];
                        counts.failures -= u64::from(old & FAILED);
                        counts.slow -= u64::from((old & SLOW) >> 1);
                        ring[*head] = outcome;
                        *head = (*head + 1) % cap;
                    }
                    counts.failures += u64::from(outcome & FAILED);
                    counts.slow += u64::from((outcome & SLOW) >> 1);
                }
            }
            Window::Time { buckets, counts } => {
                let horizon = now_ms.saturating_sub(cfg.window_ms);
                while let Some((ts, c)) = buckets.front().copied() {
                    if ts > horizon || now_ms < cfg.window_ms {
                        break;
                    }
                    counts.calls -= c.calls;
                    counts.failures -= c.failures;
                    counts.slow -= c.slow;
                    buckets.pop_front();
                }
                let add = Counts {
                    calls: n,
                    failures: e,
                    slow: if slow { n } else { 0 },
                };
                match buckets.back_mut() {
                    Some((ts, c)) if *ts == now_ms => {
                        c.calls += add.calls;
                        c.failures += add.failures;
                        c.slow += add.slow;
                    }
                    _ => buckets.push_back((now_ms, add)),
                }
                counts.calls += add.calls;
                counts.failures += add.failures;
                counts.slow += add.slow;
            }
        }
    }

    fn min_calls(&self, cfg: &BreakerConfig) -> u64 {
        match self {
            Window::Count { .. } => u64::from(cfg.min_calls.min(cfg.window)),
            Window::Time { .. } => u64::from(cfg.min_calls),
        }
    }
}

/// One membrane's breaker.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    state: BreakerState,
    window: Window,
    half_open: Counts,
    open_until: u64,
    now_ms: u64,
}

impl CircuitBreaker {
    /// A Closed breaker with an empty window.
    pub fn new(cfg: BreakerConfig) -> Self {
        let window = Window::new(&cfg);
        CircuitBreaker {
            cfg,
            state: BreakerState::Closed,
            window,
            half_open: Counts::default(),
            open_until: 0,
            now_ms: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether requests may be routed to the membrane (Closed or HalfOpen).
    pub fn is_routable(&self) -> bool {
        self.state != BreakerState::Open
    }

    /// The failure and slow-call rates of the Closed window (0 when empty).
    pub fn window_rates(&self) -> (f64, f64) {
        self.window.counts().rates()
    }

    /// Calls currently in the Closed window.
    pub fn window_calls(&self) -> u64 {
        self.window.counts().calls
    }

    /// The Open → HalfOpen deadline while Open.
    pub fn next_deadline(&self) -> Option<u64> {
        (self.state == BreakerState::Open).then_some(self.open_until)
    }

    /// Fires the Open → HalfOpen timer if it is due by `now_ms`, stamped with its deadline.
    pub fn advance_to(&mut self, now_ms: u64) -> Option<BreakerTransition> {
        self.now_ms = self.now_ms.max(now_ms);
        let deadline = self.next_deadline().filter(|d| *d <= now_ms)?;
        self.state = BreakerState::HalfOpen;
        self.half_open = Counts::default();
        Some(BreakerTransition {
            at_ms: deadline,
            from: BreakerState::Open,
            to: BreakerState::HalfOpen,
            failure_rate: 0.0,
            slow_call_rate: 0.0,
        })
    }

    /// Applies one telemetry report (`requests`, `errors` since the previous report, mean
    /// `latency_ms`) at `now_ms`, after firing a due timer. Returns the transitions, in order.
    pub fn on_report(
        &mut self,
        now_ms: u64,
        requests: u64,
        errors: u64,
        latency_ms: f64,
    ) -> Vec<BreakerTransition> {
        let mut out: Vec<BreakerTransition> = self.advance_to(now_ms).into_iter().collect();
        let t = self.now_ms;
        let n = requests;
        let e = errors.min(n);
        if n == 0 {
            return out;
        }
        let slow = self.cfg.slow_call_ms > 0 && latency_ms >= self.cfg.slow_call_ms as f64;
        match self.state {
            BreakerState::Open => {}
            BreakerState::Closed => {
                self.window.record(&self.cfg, t, n, e, slow);
                let counts = self.window.counts();
                if counts.calls >= self.window.min_calls(&self.cfg) && self.exceeded(counts) {
                    out.push(self.open(t, BreakerState::Closed, counts));
                }
            }
            BreakerState::HalfOpen => {
                let room = u64::from(self.cfg.permitted_calls) - self.half_open.calls;
                let take = room.min(n);
                let failures = (0..take).filter(|i| is_failure(*i, n, e)).count() as u64;
                self.half_open.calls += take;
                self.half_open.failures += failures;
                self.half_open.slow += if slow { take } else { 0 };
                if self.half_open.calls >= u64::from(self.cfg.permitted_calls) {
                    let counts = self.half_open;
                    if self.exceeded(counts) {
                        out.push(self.open(t, BreakerState::HalfOpen, counts));
                    } else {
                        let (failure_rate, slow_call_rate) = counts.rates();
                        self.state = BreakerState::Closed;
                        self.window = Window::new(&self.cfg);
                        out.push(BreakerTransition {
                            at_ms: t,
                            from: BreakerState::HalfOpen,
                            to: BreakerState::Closed,
                            failure_rate,
                            slow_call_rate,
                        });
                    }
                }
            }
        }
        out
    }

    fn exceeded(&self, counts: Counts) -> bool {
        let (failure_rate, slow_rate) = counts.rates();
        failure_rate >= self.cfg.failure_rate
            || (self.cfg.slow_call_ms > 0 && slow_rate >= self.cfg.slow_call_rate)
    }

    fn open(&mut self, t: u64, from: BreakerState, counts: Counts) -> BreakerTransition {
        let (failure_rate, slow_call_rate) = counts.rates();
        self.state = BreakerState::Open;
        self.open_until = t.saturating_add(self.cfg.open_ms);
        self.half_open = Counts::default();
        BreakerTransition {
            at_ms: t,
            from,
            to: BreakerState::Open,
            failure_rate,
            slow_call_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BreakerState::*;
    use proptest::prelude::*;

    fn states(ev: &[BreakerTransition]) -> Vec<(BreakerState, BreakerState)> {
        ev.iter().map(|e| (e.from, e.to)).collect()
    }

    #[test]
    fn closed_open_half_open_closed() {
        let mut b = CircuitBreaker::new(BreakerConfig::default());
        // 19 calls all failing: below min_calls, stays Closed.
        assert!(b.on_report(0, 19, 19, 1.0).is_empty());
        // One more good call: 20 calls, 19 failures → Open.
        let ev = b.on_report(100, 1, 0, 1.0);
        assert_eq!(states(&ev), [(Closed, Open)]);
        assert_eq!(ev[0].failure_rate, 0.95);
        assert!(!b.is_routable());
        // Reports while Open are ignored.
        assert!(b.on_report(30_000, 50, 50, 1.0).is_empty());
        // The timer fires at exactly 60 s after opening, whenever it is noticed.
        let t = b.advance_to(90_000).expect("due");
        assert_eq!((t.at_ms, t.from, t.to), (60_100, Open, HalfOpen));
        assert!(b.is_routable());
        // 10 permitted calls, 3 failures (30 % < 50 %) → Closed with an empty window.
        assert!(b.on_report(90_500, 6, 2, 1.0).is_empty());
        let ev = b.on_report(91_000, 8, 2, 1.0); // only the first 4 count: 1 failure
        assert_eq!(states(&ev), [(HalfOpen, Closed)]);
        assert_eq!(ev[0].failure_rate, 0.3);
        assert_eq!(b.window_calls(), 0);
    }

    #[test]
    fn half_open_failures_reopen() {
        let mut b = CircuitBreaker::new(BreakerConfig::default());
        b.on_report(0, 100, 60, 1.0);
        assert_eq!(b.state(), Open);
        let ev = b.on_report(60_000, 10, 5, 1.0);
        assert_eq!(states(&ev), [(Open, HalfOpen), (HalfOpen, Open)]);
        assert_eq!(ev[1].at_ms, 60_000);
        assert_eq!(b.next_deadline(), Some(120_000));
    }

    #[test]
    fn failure_rate_below_threshold_stays_closed() {
        let mut b = CircuitBreaker::new(BreakerConfig::default());
        for t in 0..50 {
            assert!(b.on_report(t * 1000, 30, 14, 1.0).is_empty()); // 46.7 %
        }
        assert_eq!(b.window_calls(), 100);
        let (fr, _) = b.window_rates();
        assert!(fr < 0.5 && fr > 0.4, "{fr}");
    }

    #[test]
    fn count_window_slides() {
        let mut b = CircuitBreaker::new(BreakerConfig::default());
        b.on_report(0, 100, 45, 1.0);
        assert_eq!(b.window_rates().0, 0.45);
        // 100 new good calls push every old one out.
        b.on_report(1, 100, 0, 1.0);
        assert_eq!(b.window_rates().0, 0.0);
        // A report larger than the window keeps only its last 100 calls (evenly spread).
        b.on_report(2, 1000, 490, 1.0);
        assert_eq!(b.window_calls(), 100);
        assert!((b.window_rates().0 - 0.49).abs() <= 0.01);
        assert_eq!(b.state(), Closed);
    }

    #[test]
    fn even_spread_of_failures() {
        let fails = |n: u64, e: u64| (0..n).filter(|i| is_failure(*i, n, e)).count() as u64;
        for (n, e) in [(10, 0), (10, 3), (10, 10), (7, 5), (1000, 333)] {
            assert_eq!(fails(n, e), e);
        }
        // Any run of k consecutive calls holds ⌊k·E/N⌋ or ⌈k·E/N⌉ failures.
        let (n, e) = (97u64, 31u64);
        for start in 0..n {
            for k in 1..=(n - start) {
                let f = (start..start + k).filter(|i| is_failure(*i, n, e)).count() as f64;
                let exact = k as f64 * e as f64 / n as f64;
                assert!((f - exact).abs() < 1.0 + 1e-9);
            }
        }
    }

    #[test]
    fn slow_calls_open_when_enabled() {
        let cfg = BreakerConfig {
            slow_call_ms: 500,
            slow_call_rate: 0.8,
            ..BreakerConfig::default()
        };
        let mut b = CircuitBreaker::new(cfg);
        assert!(b.on_report(0, 70, 0, 499.9).is_empty());
        assert!(b.on_report(1, 30, 0, 500.0).is_empty()); // 30 % slow
        let ev = b.on_report(2, 50, 0, 800.0); // last 100: 20 fast, 80 slow
        assert_eq!(states(&ev), [(Closed, Open)]);
        assert_eq!(ev[0].slow_call_rate, 0.8);
        // Off by default.
        let mut b = CircuitBreaker::new(BreakerConfig::default());
        assert!(b.on_report(0, 100, 0, 1e9).is_empty());
    }

    #[test]
    fn time_window_forgets_old_reports() {
        let cfg = BreakerConfig {
            window_type: WindowType::Time,
            window_ms: 10_000,
            ..BreakerConfig::default()
        };
        let mut b = CircuitBreaker::new(cfg);
        assert!(b.on_report(0, 15, 15, 1.0).is_empty()); // 15 < min_calls
        assert!(b.on_report(10_000, 10, 0, 1.0).is_empty()); // the first report slid out
        assert_eq!(b.window_calls(), 10);
        let ev = b.on_report(10_001, 10, 10, 1.0);
        assert_eq!(states(&ev), [(Closed, Open)]);
        assert_eq!(ev[0].failure_rate, 0.5);
    }

    #[test]
    fn validate_names_the_field() {
        assert_eq!(BreakerConfig::default().validate(), Ok(()));
        let bad = BreakerConfig {
            failure_rate: 0.0,
            ..BreakerConfig::default()
        };
        assert_eq!(
            bad.validate().map_err(|e| e.field),
            Err("breaker.failure_rate")
        );
        let bad = BreakerConfig {
            permitted_calls: 0,
            ..BreakerConfig::default()
        };
        assert_eq!(
            bad.validate().map_err(|e| e.field),
            Err("breaker.permitted_calls")
        );
    }

    #[test]
    fn control_event_names() {
        let mut b = CircuitBreaker::new(BreakerConfig::default());
        let ev = b.on_report(5, 20, 20, 1.0)[0].to_control_event("m-1");
        assert_eq!(
            (ev.kind.as_str(), ev.subject.as_str(), ev.from, ev.to),
            ("breaker", "m-1", "closed", "open")
        );
        let ev = b.advance_to(60_005).expect("due").to_control_event("m-1");
        assert_eq!(ev.to, "half_open");
    }

    fn reports() -> impl Strategy<Value = Vec<(u64, u64, u64, f64)>> {
        proptest::collection::vec((0u64..30_000, 0u64..60, 0u64..60, 0.0f64..1000.0), 1..120)
            .prop_map(|v| {
                let mut t = 0;
                v.into_iter()
                    .map(|(dt, n, e, l)| {
                        t += dt;
                        (t, n, e.min(n), l)
                    })
                    .collect()
            })
    }

    proptest! {
        /// Only Closed→Open, Open→HalfOpen (exactly `open_ms` later), HalfOpen→Closed and
        /// HalfOpen→Open happen, each starting from the state the previous one ended in.
        #[test]
        fn only_legal_transitions(input in reports(), time_window: bool, slow_ms in 0u64..800) {
            let cfg = BreakerConfig {
                window_type: if time_window { WindowType::Time } else { WindowType::Count },
                window_ms: 20_000,
                slow_call_ms: slow_ms,
                slow_call_rate: 0.7,
                ..BreakerConfig::default()
            };
            let mut b = CircuitBreaker::new(cfg.clone());
            let mut state = Closed;
            let mut opened_at = 0;
            let mut last_t = 0;
            for (t, n, e, l) in input {
                for tr in b.on_report(t, n, e, l) {
                    prop_assert_eq!(tr.from, state);
                    prop_assert!(tr.at_ms >= last_t);
                    match (tr.from, tr.to) {
                        (Closed, Open) | (HalfOpen, Open) => opened_at = tr.at_ms,
                        (Open, HalfOpen) => prop_assert_eq!(tr.at_ms, opened_at + cfg.open_ms),
                        (HalfOpen, Closed) => prop_assert!(tr.failure_rate < cfg.failure_rate),
                        other => prop_assert!(false, "illegal transition {:?}", other),
                    }
                    state = tr.to;
                    last_t = tr.at_ms;
                }
                prop_assert_eq!(b.state(), state);
                prop_assert!(b.window_calls() <= u64::from(cfg.window) || time_window);
            }
        }

        #[test]
        fn same_reports_same_transitions(input in reports()) {
            let run = || {
                let mut b = CircuitBreaker::new(BreakerConfig::default());
                input.iter().flat_map(|(t, n, e, l)| b.on_report(*t, *n, *e, *l)).collect::<Vec<_>>()
            };
            prop_assert_eq!(run(), run());
        }
    }
}

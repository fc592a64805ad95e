//! The AIMD governor (SPEC §3) and the token bucket it drives.
//!
//! # Governor
//!
//! States `Normal` / `Degraded` / `Recovering`; a scale in `[min_scale, 1]`; input = a pressure in
//! `0..1` (the pipeline passes the max of the fleet's mean memory, the fleet's mean RED average fill
//! and, in `run`, the process's own memory pressure). Defaults (SPEC §6 `[aimd]`, taken from the
//! earlier Go governor's `config.go` as described in the source document "Phase 2 Implementation
//! Progress": enter 70 %, exit 55 %, ×0.5, +0.05 per 50 ms tick):
//!
//! | state | pressure | effect |
//! |---|---|---|
//! | Normal | `> enter` (0.70) | → Degraded, scale × `decrease` (0.5) |
//! | Degraded | `> emergency` (0.90) and ≥ `cooldown_ms` (1000) since the previous halving | scale × 0.5 again |
//! | Degraded | `< exit` (0.55) | → Recovering (the pressure episode ends) |
//! | Recovering | `< exit` at a tick | scale + `increase` (0.05) per `tick_ms` (50 ms); at 1.0 → Normal |
//! | Recovering | `> enter` | → Degraded, scale × 0.5 (a new episode) |
//!
//! The scale never goes below `min_scale` (0.1). Every state change and every scale change is an
//! [`AimdEvent`] carrying the new scale. Ticks are timers: while Recovering they fall at
//! `t₀ + k·tick_ms` where `t₀` is when recovery began; [`Governor::advance_to`] fires every tick
//! up to `now` in order, each stamped with its own deadline, so a gap in the input catches up
//! exactly (SPEC §4). Timers due at `t` fire before a reading at `t` is applied.
//!
//! ```
//! use echoflow_operators::aimd::{AimdConfig, Governor, GovernorState};
//! let mut g = Governor::new(AimdConfig::default());
//! g.on_pressure(0, 0.701);
//! assert_eq!((g.state(), g.scale()), (GovernorState::Degraded, 0.5));
//! g.on_pressure(1_000, 0.2);                     // the episode ends
//! let ev = g.advance_to(1_100);                  // two 50 ms ticks
//! assert_eq!(ev.iter().map(|e| (e.at_ms, e.scale)).collect::<Vec<_>>(), [(1_050, 0.55), (1_100, 0.6)]);
//! ```
//!
//! # Deviations from the source document, and why
//!
//! * **Cooldown.** The Go governor halved on every 50 ms poll above 90 %, reaching the floor within
//!   a few polls (its log: 0.5 → 0.25 → 0.1). echoflow halves again above `emergency` at most once
//!   per `cooldown_ms` of event time, measured from the previous halving of the episode (the
//!   entering one included), so a burst of readings from many membranes cannot collapse the scale
//!   in one instant and the outcome does not depend on how often telemetry arrives.
//! * **Once per episode.** Above `enter` but not above `emergency`, the scale is halved once per
//!   pressure episode (the Go code's state machine did the same; SPEC §3 makes it explicit).
//! * **Recovery holds in the hysteresis band.** The source's state diagram adds +0.05 per tick only
//!   while pressure is below 55 %; SPEC §3 is silent on a pressure between `exit` and `enter` while
//!   Recovering. echoflow follows the source: ticks in that band leave the scale unchanged (no
//!   event), ticks resume adding once pressure is below `exit` again.
//! * **Rounding.** The scale is rounded to 9 decimals after each step so that 0.5 + 10 × 0.05 is
//!   exactly 1.0 and events print clean numbers.
//!
//! # Token bucket
//!
//! One [`TokenBucket`] per logical shard (kept by the caller; SPEC §4): rate = scale × `max_rate` /
//! `logical_shards` requests per second of event time, capacity (burst) = `burst_ms` of that rate,
//! starting full, refilled continuously by event time. Deviation: the burst is at least one token,
//! because at small per-shard rates (e.g. 1000/s × 0.1 / 128 shards × 100 ms ≈ 0.08 tokens) a
//! bucket that can never hold a whole token would admit nothing at all.

use crate::config_error::{ConfigError, check_min_u64, check_range};
use crate::event::{ControlEvent, EventKind};

/// `[aimd]` of SPEC §6 plus `time.tick_ms`. Durations in ms, rates in requests per second.
#[derive(Debug, Clone, PartialEq)]
pub struct AimdConfig {
    /// When false the scale stays 1.0 (the token bucket still limits at `max_rate`).
    pub enabled: bool,
    pub enter: f64,
    pub exit: f64,
    pub emergency: f64,
    pub decrease: f64,
    pub increase: f64,
    pub min_scale: f64,
    pub cooldown_ms: u64,
    pub max_rate: f64,
    pub burst_ms: u64,
    /// Whether `run` feeds the process's own memory pressure (not used by the governor itself).
    pub process_memory: bool,
    /// `time.tick_ms`: the recovery tick.
    pub tick_ms: u64,
}

impl Default for AimdConfig {
    fn default() -> Self {
        AimdConfig {
            enabled: true,
            enter: 0.70,
            exit: 0.55,
            emergency: 0.90,
            decrease: 0.5,
            increase: 0.05,
            min_scale: 0.1,
            cooldown_ms: 1000,
            max_rate: 100_000.0,
            burst_ms: 100,
            process_memory: true,
            tick_ms: 50,
        }
    }
}

impl AimdConfig {
    /// Checks ranges and the ordering `exit < enter ≤ emergency`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("aimd.enter", self.enter, 0.0, 1.0)?;
        check_range("aimd.exit", self.exit, 0.0, 1.0)?;
        check_range("aimd.emergency", self.emergency, 0.0, 1.0)?;
        if self.exit >= self.enter {
            return Err(ConfigError::new(
                "aimd.exit",
                self.exit,
                format!("a number below aimd.enter ({})", self.enter),
            ));
        }
        if self.emergency < self.enter {
            return Err(ConfigError::new(
                "aimd.emergency",
                self.emergency,
                format!("a number at or above aimd.enter ({})", self.enter),
            ));
        }
        if !(self.decrease.is_finite() && self.decrease > 0.0 && self.decrease < 1.0) {
            return Err(ConfigError::new(
                "aimd.decrease",
                self.decrease,
                "a number in (0, 1)",
            ));
        }
        if !(self.increase.is_finite() && self.increase > 0.0 && self.increase <= 1.0) {
            return Err(ConfigError::new(
                "aimd.increase",
                self.increase,
                "a number in (0, 1]",
            ));
        }
        if !(self.min_scale.is_finite() && self.min_scale > 0.0 && self.min_scale <= 1.0) {
            return Err(ConfigError::new(
                "aimd.min_scale",
                self.min_scale,
                "a number in (0, 1]",
            ));
        }
        if !(self.max_rate.is_finite() && self.max_rate > 0.0) {
            return Err(ConfigError::new(
                "aimd.max_rate",
                self.max_rate,
                "a finite number > 0",
            ));
        }
        check_min_u64("aimd.burst_ms", self.burst_ms, 1)?;
        check_min_u64("time.tick_ms", self.tick_ms, 1)
    }
}

/// The governor's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GovernorState {
    Normal,
    Degraded,
    Recovering,
}

impl GovernorState {
    /// The wire name (`normal`, `degraded`, `recovering`).
    pub fn as_str(self) -> &'static str {
        match self {
            GovernorState::Normal => "normal",
            GovernorState::Degraded => "degraded",
            GovernorState::Recovering => "recovering",
        }
    }
}

/// A state change and/or scale change of the governor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AimdEvent {
    /// Event time: the reading's ts, or a tick's exact deadline.
    pub at_ms: u64,
    pub from: GovernorState,
    pub to: GovernorState,
    /// The scale after the change.
    pub scale: f64,
    /// The pressure in force when it happened.
    pub pressure: f64,
}

impl From<AimdEvent> for ControlEvent {
    fn from(e: AimdEvent) -> Self {
        ControlEvent {
            at_ms: e.at_ms,
            kind: EventKind::Aimd,
            subject: "governor".to_string(),
            from: e.from.as_str(),
            to: e.to.as_str(),
            extra: vec![("scale", e.scale), ("pressure", e.pressure)],
        }
    }
}

fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// The AIMD governor: a pure state machine over event time.
#[derive(Debug, Clone)]
pub struct Governor {
    cfg: AimdConfig,
    state: GovernorState,
    scale: f64,
    pressure: f64,
    now_ms: u64,
    last_halving_ms: u64,
    /// While Recovering: when recovery began (ticks fall at `since + k·tick_ms`).
    recovering_since: u64,
    /// While Recovering: the next tick's deadline.
    next_tick: Option<u64>,
}

impl Governor {
    /// A governor in `Normal` at scale 1.0. The config should have passed [`AimdConfig::validate`].
    pub fn new(cfg: AimdConfig) -> Self {
        Governor {
            cfg,
            state: GovernorState::Normal,
            scale: 1.0,
            pressure: 0.0,
            now_ms: 0,
            last_halving_ms: 0,
            recovering_since: 0,
            next_tick: None,
        }
    }

    pub fn state(&self) -> GovernorState {
        self.state
    }

    /// The current scale, in `[min_scale, 1]`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The latest pressure applied.
    pub fn pressure(&self) -> f64 {
        self.pressure
    }

    pub fn config(&self) -> &AimdConfig {
        &self.cfg
    }

    /// The next timer deadline (a recovery tick), if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.next_tick
    }

    /// Fires every recovery tick with deadline ≤ `now_ms`, in order, each stamped with its
    /// deadline. Time never goes backwards: an earlier `now_ms` than seen before does nothing.
    pub fn advance_to(&mut self, now_ms: u64) -> Vec<AimdEvent> {
        let mut out = Vec::new();
        while let Some(t) = self.next_tick.filter(|t| *t <= now_ms) {
            if self.pressure < self.cfg.exit {
                let from = self.state;
                let scale = round9(self.scale + self.cfg.increase);
                if scale >= 1.0 {
                    self.scale = 1.0;
                    self.state = GovernorState::Normal;
                    self.next_tick = None;
                } else {
                    self.scale = scale;
                    self.next_tick = Some(t + self.cfg.tick_ms);
                }
                out.push(self.event(t, from));
            } else {
                // Holding in the hysteresis band: skip straight to the first tick after `now`.
                let k = (now_ms - self.recovering_since) / self.cfg.tick_ms + 1;
                self.next_tick = Some(self.recovering_since + k * self.cfg.tick_ms);
            }
        }
        self.now_ms = self.now_ms.max(now_ms);
        out
    }

    /// Applies a pressure reading at `now_ms` (after firing the ticks due by then). Non-finite
    /// readings are ignored.
    pub fn on_pressure(&mut self, now_ms: u64, pressure: f64) -> Vec<AimdEvent> {
        let mut out = self.advance_to(now_ms);
        if !self.cfg.enabled || !pressure.is_finite() {
            return out;
        }
        let t = self.now_ms;
        self.pressure = pressure;
        let from = self.state;
        match self.state {
            GovernorState::Normal | GovernorState::Recovering if pressure > self.cfg.enter => {
                self.state = GovernorState::Degraded;
                self.next_tick = None;
                self.halve(t);
                out.push(self.event(t, from));
            }
            GovernorState::Degraded if pressure < self.cfg.exit => {
                self.state = GovernorState::Recovering;
                self.recovering_since = t;
                self.next_tick = Some(t + self.cfg.tick_ms);
                out.push(self.event(t, from));
            }
            GovernorState::Degraded
                if pressure > self.cfg.emergency
                    && t >= self.last_halving_ms.saturating_add(self.cfg.cooldown_ms) =>
            {
                let before = self.scale;
                self.halve(t);
                if self.scale != before {
                    out.push(self.event(t, from));
                }
            }
            _ => {}
        }
        out
    }

    fn halve(&mut self, t: u64) {
        self.scale = round9((self.scale * self.cfg.decrease).max(self.cfg.min_scale));
        self.last_halving_ms = t;
    }

    fn event(&self, at_ms: u64, from: GovernorState) -> AimdEvent {
        AimdEvent {
            at_ms,
            from,
            to: self.state,
            scale: self.scale,
            pressure: self.pressure,
        }
    }
}

/// A token bucket refilled by event time; one per logical shard, kept by the caller.
///
/// ```
/// use echoflow_operators::aimd::{AimdConfig, TokenBucket};
/// // 100 000/s over 100 shards = 1 per ms per shard; burst 100 ms = 100 tokens.
/// let mut b = TokenBucket::new(&AimdConfig::default(), 100);
/// assert_eq!((0..150).filter(|_| b.try_take(0)).count(), 100); // starts full
/// assert!(b.try_take(1));                                      // 1 ms refills one token
/// assert!(!b.try_take(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    /// Tokens per ms at scale 1.
    base_rate_per_ms: f64,
    burst_ms: f64,
    scale: f64,
    tokens: f64,
    last_ms: Option<u64>,
}

impl TokenBucket {
    /// A full bucket at scale 1.0 for one of `logical_shards` shards (0 is treated as 1).
    pub fn new(cfg: &AimdConfig, logical_shards: u32) -> Self {
        let base_rate_per_ms = cfg.max_rate / f64::from(logical_shards.max(1)) / 1000.0;
        let mut b = TokenBucket {
            base_rate_per_ms,
            burst_ms: cfg.burst_ms as f64,
            scale: 1.0,
            tokens: 0.0,
            last_ms: None,
        };
        b.tokens = b.capacity();
        b
    }

    /// The bucket's capacity at the current scale: `burst_ms` of the rate, at least one token.
    pub fn capacity(&self) -> f64 {
        (self.base_rate_per_ms * self.scale * self.burst_ms).max(1.0)
    }

    /// Tokens available after the last update.
    pub fn tokens(&self) -> f64 {
        self.tokens
    }

    /// The scale in force.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    fn refill(&mut self, now_ms: u64) {
        if let Some(last) = self.last_ms {
            if now_ms > last {
                let add = (now_ms - last) as f64 * self.base_rate_per_ms * self.scale;
                self.tokens = (self.tokens + add).min(self.capacity());
                self.last_ms = Some(now_ms);
            }
        } else {
            self.last_ms = Some(now_ms);
        }
    }

    /// Changes the rate at `now_ms`: refills up to `now_ms` at the old rate first, then caps the
    /// tokens at the new capacity. Call it at the ts of every AIMD scale event for exact refills.
    pub fn set_scale(&mut self, now_ms: u64, scale: f64) {
        self.refill(now_ms);
        if scale.is_finite() && scale > 0.0 {
            self.scale = scale;
        }
        self.tokens = self.tokens.min(self.capacity());
    }

    /// Takes one token at `now_ms` if there is one.
    pub fn try_take(&mut self, now_ms: u64) -> bool {
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GovernorState::*;
    use proptest::prelude::*;

    fn scales(events: &[AimdEvent]) -> Vec<f64> {
        events.iter().map(|e| e.scale).collect()
    }

    /// The source document's container run: 70.1 % → 0.5, 90.1 % → 0.25 → … → 0.1 (clamped).
    #[test]
    fn source_run_halves_to_the_floor() {
        let mut g = Governor::new(AimdConfig::default());
        let e = g.on_pressure(0, 0.701);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].from, e[0].to, e[0].scale), (Normal, Degraded, 0.5));
        // Above `enter` again: no second halving in the same episode.
        assert!(g.on_pressure(500, 0.80).is_empty());
        // Above `emergency` but inside the cooldown since the entering halving: nothing.
        assert!(g.on_pressure(999, 0.901).is_empty());
        assert_eq!(scales(&g.on_pressure(1000, 0.901)), [0.25]);
        assert!(g.on_pressure(1500, 0.901).is_empty());
        assert_eq!(scales(&g.on_pressure(2000, 0.901)), [0.125]);
        assert_eq!(scales(&g.on_pressure(3000, 0.901)), [0.1]);
        // At the floor a further halving changes nothing and reports nothing.
        assert!(g.on_pressure(4000, 0.95).is_empty());
        assert_eq!((g.state(), g.scale()), (Degraded, 0.1));
    }

    /// Below 55 %: Recovering, then +0.05 per 50 ms tick until 1.0 → Normal.
    #[test]
    fn recovery_adds_per_tick_to_normal() {
        let mut g = Governor::new(AimdConfig::default());
        g.on_pressure(0, 0.75);
        let e = g.on_pressure(10_000, 0.5);
        assert_eq!(
            (e[0].from, e[0].to, e[0].scale),
            (Degraded, Recovering, 0.5)
        );
        assert_eq!(g.next_deadline(), Some(10_050));
        // Catch up 10 ticks in one call, each stamped at its own deadline.
        let e = g.advance_to(10_600);
        let times: Vec<u64> = e.iter().map(|e| e.at_ms).collect();
        assert_eq!(times, (1..=10).map(|k| 10_000 + 50 * k).collect::<Vec<_>>());
        assert_eq!(
            scales(&e),
            [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
        );
        assert_eq!((e[9].from, e[9].to), (Recovering, Normal));
        assert!(
            e[..9]
                .iter()
                .all(|e| e.from == Recovering && e.to == Recovering)
        );
        assert_eq!(
            (g.state(), g.scale(), g.next_deadline()),
            (Normal, 1.0, None)
        );
    }

    #[test]
    fn pressure_while_recovering_degrades_again() {
        let mut g = Governor::new(AimdConfig::default());
        g.on_pressure(0, 0.75);
        g.on_pressure(100, 0.3);
        g.advance_to(200); // 0.5 → 0.6
        assert_eq!(g.scale(), 0.6);
        let e = g.on_pressure(210, 0.71);
        assert_eq!(
            (e[0].from, e[0].to, e[0].scale),
            (Recovering, Degraded, 0.3)
        );
        assert_eq!(g.next_deadline(), None);
    }

    #[test]
    fn recovery_holds_in_the_hysteresis_band() {
        let mut g = Governor::new(AimdConfig::default());
        g.on_pressure(0, 0.75);
        g.on_pressure(1000, 0.5); // Recovering, ticks at 1050, 1100, …
        g.on_pressure(1060, 0.6); // tick at 1050 applied first, then hold
        assert_eq!(g.scale(), 0.55);
        assert!(g.advance_to(5000).is_empty());
        assert_eq!(g.next_deadline(), Some(5050));
        let e = g.on_pressure(5010, 0.4);
        assert!(e.is_empty());
        assert_eq!(scales(&g.advance_to(5050)), [0.6]);
    }

    #[test]
    fn timers_fire_before_a_reading_at_the_same_time() {
        let mut g = Governor::new(AimdConfig::default());
        g.on_pressure(0, 0.75);
        g.on_pressure(1000, 0.5);
        // The tick at 1050 fires (0.55) before the reading at 1050 degrades (× 0.5).
        let e = g.on_pressure(1050, 0.8);
        assert_eq!(scales(&e), [0.55, 0.275]);
    }

    #[test]
    fn disabled_governor_keeps_scale_one() {
        let cfg = AimdConfig {
            enabled: false,
            ..AimdConfig::default()
        };
        let mut g = Governor::new(cfg);
        assert!(g.on_pressure(0, 0.99).is_empty());
        assert_eq!(g.scale(), 1.0);
    }

    #[test]
    fn validate_names_the_field() {
        assert_eq!(AimdConfig::default().validate(), Ok(()));
        let bad = AimdConfig {
            exit: 0.8,
            ..AimdConfig::default()
        };
        assert_eq!(bad.validate().map_err(|e| e.field), Err("aimd.exit"));
        let bad = AimdConfig {
            tick_ms: 0,
            ..AimdConfig::default()
        };
        let err = bad.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "time.tick_ms = 0: allowed is an integer ≥ 1"
        );
    }

    #[test]
    fn control_event_carries_scale() {
        let mut g = Governor::new(AimdConfig::default());
        let ev: ControlEvent = g.on_pressure(7, 0.9)[0].into();
        assert_eq!(
            (ev.kind.as_str(), ev.from, ev.to),
            ("aimd", "normal", "degraded")
        );
        assert_eq!(ev.extra[0], ("scale", 0.5));
        assert_eq!(ev.at_ms, 7);
    }

    #[test]
    fn bucket_refills_by_event_time_and_follows_scale() {
        let cfg = AimdConfig::default();
        let mut b = TokenBucket::new(&cfg, 100); // 1 token/ms, burst 100
        for _ in 0..100 {
            assert!(b.try_take(0));
        }
        assert!(!b.try_take(0));
        assert!(b.try_take(10));
        assert!((b.tokens() - 9.0).abs() < 1e-9);
        b.set_scale(10, 0.5); // capacity 50, rate 0.5/ms
        assert!((b.tokens() - 9.0).abs() < 1e-9);
        b.set_scale(20, 0.5);
        assert!((b.tokens() - 14.0).abs() < 1e-9);
        assert!(b.try_take(1_000_000));
        assert!((b.tokens() - 49.0).abs() < 1e-9);
        // Capacity never below one token.
        let tiny = AimdConfig {
            max_rate: 1000.0,
            ..AimdConfig::default()
        };
        let mut b = TokenBucket::new(&tiny, 128);
        b.set_scale(0, 0.1);
        assert_eq!(b.capacity(), 1.0);
        assert!(b.try_take(0));
        assert!(!b.try_take(0));
    }

    fn pressures() -> impl Strategy<Value = Vec<(u64, f64)>> {
        proptest::collection::vec((0u64..400, 0.0f64..1.0), 1..200).prop_map(|v| {
            let mut t = 0;
            v.into_iter()
                .map(|(dt, p)| {
                    t += dt;
                    (t, p)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn scale_stays_in_bounds(input in pressures()) {
            let cfg = AimdConfig::default();
            let mut g = Governor::new(cfg.clone());
            for (t, p) in input {
                for e in g.on_pressure(t, p) {
                    prop_assert!(e.scale >= cfg.min_scale && e.scale <= 1.0);
                }
                prop_assert!(g.scale() >= cfg.min_scale && g.scale() <= 1.0);
                prop_assert_eq!(g.state() == Normal, g.scale() == 1.0);
            }
        }

        /// Within one pressure episode, a halving after the first one needs pressure above
        /// `emergency`, and two halvings are at least `cooldown_ms` apart.
        #[test]
        fn one_halving_per_episode_below_emergency(input in pressures()) {
            let cfg = AimdConfig::default();
            let mut g = Governor::new(cfg.clone());
            let mut last_halving: Option<u64> = None;
            for (t, p) in input {
                for e in g.on_pressure(t, p) {
                    let halved = e.to == Degraded;
                    if halved && e.from == Degraded {
                        prop_assert!(e.pressure > cfg.emergency);
                        let prev = last_halving.expect("an episode starts with a halving");
                        prop_assert!(e.at_ms >= prev + cfg.cooldown_ms);
                    }
                    if halved {
                        last_halving = Some(e.at_ms);
                    }
                    if e.to != Degraded {
                        last_halving = None;
                    }
                }
            }
        }

        #[test]
        fn same_inputs_same_events(input in pressures()) {
            let run = || {
                let mut g = Governor::new(AimdConfig::default());
                input.iter().flat_map(|(t, p)| g.on_pressure(*t, *p)).collect::<Vec<_>>()
            };
            prop_assert_eq!(run(), run());
        }

        /// Processing ticks in one big `advance_to` or in many small ones gives the same events.
        #[test]
        fn catch_up_equals_step_by_step(gap in 0u64..2000, step in 1u64..97) {
            let mut a = Governor::new(AimdConfig::default());
            let mut b = a.clone();
            for g in [&mut a, &mut b] {
                g.on_pressure(0, 0.95);
                g.on_pressure(100, 0.1);
            }
            let big = a.advance_to(100 + gap);
            let mut small = Vec::new();
            let mut t = 100;
            while t < 100 + gap {
                t = (t + step).min(100 + gap);
                small.extend(b.advance_to(t));
            }
            prop_assert_eq!(big, small);
        }

        #[test]
        fn bucket_never_exceeds_capacity(takes in proptest::collection::vec((0u64..50, 0.05f64..1.0), 1..300)) {
            let mut b = TokenBucket::new(&AimdConfig::default(), 128);
            let mut t = 0;
            for (dt, s) in takes {
                t += dt;
                b.set_scale(t, s);
                b.try_take(t);
                prop_assert!(b.tokens() >= 0.0 && b.tokens() <= b.capacity() + 1e-9);
            }
        }
    }
}

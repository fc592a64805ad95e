//! Degradation levels and feature-priority gating (SPEC §3).
//!
//! # Algorithm
//!
//! Levels, best to worst: `Normal < Partial < Minimal < Emergency < Offline`. Each resource (fleet
//! mean cpu, fleet mean memory) has thresholds; a reading **at or above** a threshold puts that
//! resource at that level, a reading **above** `offline` puts it Offline. The fleet's level target
//! is the worst over resources. Defaults (SPEC §6, from the source document "Backend Service
//! Integration", `service_degradation.py` thresholds and its 60 s recovery stability period):
//!
//! | resource | partial | minimal | emergency | offline (above) |
//! |---|---|---|---|---|
//! | cpu | 0.70 | 0.80 | 0.90 | 0.95 |
//! | memory | 0.75 | 0.85 | 0.90 | 0.95 |
//!
//! * **Down at once**: a reading whose target is worse than the current level moves there at its ts.
//! * **Up one level at a time**: the step from `L` to `L − 1` happens `recovery_delay_ms` (60 s)
//!   after the later of (a) the previous level change and (b) the first reading of the current run
//!   of readings that are all at `L − 1` or better. It is a timer ([`Degradation::advance_to`]): it
//!   fires at that exact deadline, several steps are caught up in order when time jumps, and a
//!   reading at the deadline is applied after the step. So the level never improves faster than
//!   one step per `recovery_delay_ms`, and only after every reading in that span was good enough.
//!
//! # Gate
//!
//! [`gate`]: Normal admits every priority; Partial disables `optional`; Minimal keeps `critical`
//! and `high`; Emergency keeps `critical`; Offline admits nothing. A request refused at Offline is
//! rejected `offline`, otherwise `feature_disabled` (SPEC §2 reasons).
//!
//! ```
//! use echoflow_operators::degradation::{Degradation, DegradationConfig, Level};
//! let mut d = Degradation::new(DegradationConfig::default());
//! d.on_reading(0, 0.91, 0.10);                  // cpu at the emergency threshold
//! assert_eq!(d.level(), Level::Emergency);
//! d.on_reading(1_000, 0.10, 0.10);              // all clear from t = 1 s
//! let steps = d.advance_to(200_000);
//! let at: Vec<u64> = steps.iter().map(|e| e.at_ms).collect();
//! assert_eq!(at, [61_000, 121_000, 181_000]);   // one level per 60 s
//! assert_eq!(d.level(), Level::Normal);
//! ```
//!
//! # Deviations
//!
//! The Python manager polled resources every `check_interval` (30 s) and checked stability on the
//! next poll; echoflow works on event time and recovers at the exact deadline. Its thresholds were
//! described as ranges ("70–80 % → Partial"); SPEC §3's "at or above" rule is what is built (0.70
//! exactly is Partial, 0.95 exactly is Emergency, above 0.95 Offline). With `enabled = false` the
//! level stays Normal.

use crate::config_error::{ConfigError, check_range};
use crate::event::{ControlEvent, EventKind};
use crate::priority::Priority;

/// A degradation level; `Ord` follows severity (`Offline` is the greatest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Normal,
    Partial,
    Minimal,
    Emergency,
    Offline,
}

impl Level {
    /// Every level, best first.
    pub const ALL: [Level; 5] = [
        Level::Normal,
        Level::Partial,
        Level::Minimal,
        Level::Emergency,
        Level::Offline,
    ];

    /// The wire name (`normal`, `partial`, `minimal`, `emergency`, `offline`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Partial => "partial",
            Level::Minimal => "minimal",
            Level::Emergency => "emergency",
            Level::Offline => "offline",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The next better level (`Normal` stays `Normal`).
    pub fn better(self) -> Level {
        Level::ALL[self.index().saturating_sub(1)]
    }
}

/// The thresholds of one resource (`[degradation.cpu]`, `[degradation.memory]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub partial: f64,
    pub minimal: f64,
    pub emergency: f64,
    pub offline: f64,
}

impl Thresholds {
    /// The level a reading of this resource puts it at.
    pub fn level(&self, reading: f64) -> Level {
        if reading > self.offline {
            Level::Offline
        } else if reading >= self.emergency {
            Level::Emergency
        } else if reading >= self.minimal {
            Level::Minimal
        } else if reading >= self.partial {
            Level::Partial
        } else {
            Level::Normal
        }
    }

    fn validate(&self, names: [&'static str; 4]) -> Result<(), ConfigError> {
        let values = [self.partial, self.minimal, self.emergency, self.offline];
        for (i, (name, v)) in names.iter().zip(values).enumerate() {
            check_range(name, v, 0.0, 1.0)?;
            if i > 0 && v < values[i - 1] {
                return Err(ConfigError::new(
                    name,
                    v,
                    format!("a number at or above {} ({})", names[i - 1], values[i - 1]),
                ));
            }
        }
        Ok(())
    }
}

/// `[degradation]` of SPEC §6.
#[derive(Debug, Clone, PartialEq)]
pub struct DegradationConfig {
    pub enabled: bool,
    pub recovery_delay_ms: u64,
    pub cpu: Thresholds,
    pub memory: Thresholds,
}

impl Default for DegradationConfig {
    fn default() -> Self {
        DegradationConfig {
            enabled: true,
            recovery_delay_ms: 60_000,
            cpu: Thresholds {
                partial: 0.70,
                minimal: 0.80,
                emergency: 0.90,
                offline: 0.95,
            },
            memory: Thresholds {
                partial: 0.75,
                minimal: 0.85,
                emergency: 0.90,
                offline: 0.95,
            },
        }
    }
}

impl DegradationConfig {
    /// Checks every threshold is in `[0, 1]` and non-decreasing from `partial` to `offline`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.cpu.validate([
            "degradation.cpu.partial",
            "degradation.cpu.minimal",
            "degradation.cpu.emergency",
            "degradation.cpu.offline",
        ])?;
        self.memory.validate([
            "degradation.memory.partial",
            "degradation.memory.minimal",
            "degradation.memory.emergency",
            "degradation.memory.offline",
        ])
    }

    /// The worst level over the two resources for one reading.
    pub fn target(&self, cpu: f64, memory: f64) -> Level {
        self.cpu.level(cpu).max(self.memory.level(memory))
    }
}

/// A level change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelChange {
    /// The reading's ts (down) or the recovery deadline (up).
    pub at_ms: u64,
    pub from: Level,
    pub to: Level,
}

impl From<LevelChange> for ControlEvent {
    fn from(e: LevelChange) -> Self {
        ControlEvent {
            at_ms: e.at_ms,
            kind: EventKind::Degradation,
            subject: "fleet".to_string(),
            from: e.from.as_str(),
            to: e.to.as_str(),
            extra: Vec::new(),
        }
    }
}

/// The degradation state machine.
#[derive(Debug, Clone)]
pub struct Degradation {
    cfg: DegradationConfig,
    level: Level,
    last_change_ms: u64,
    now_ms: u64,
    /// `good_since[k]`: ts of the first reading of the current run of readings at level ≤ k.
    good_since: [Option<u64>; 5],
}

impl Degradation {
    /// Starts at `Normal`.
    pub fn new(cfg: DegradationConfig) -> Self {
        Degradation {
            cfg,
            level: Level::Normal,
            last_change_ms: 0,
            now_ms: 0,
            good_since: [None; 5],
        }
    }

    pub fn level(&self) -> Level {
        self.level
    }

    pub fn config(&self) -> &DegradationConfig {
        &self.cfg
    }

    /// When the next one-level recovery step is due, if the readings allow one.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.level == Level::Normal {
            return None;
        }
        let since = self.good_since[self.level.better().index()]?;
        Some(since.max(self.last_change_ms) + self.cfg.recovery_delay_ms)
    }

    /// Fires every recovery step due by `now_ms`, in order, each at its exact deadline.
    pub fn advance_to(&mut self, now_ms: u64) -> Vec<LevelChange> {
        let mut out = Vec::new();
        while let Some(t) = self.next_deadline().filter(|t| *t <= now_ms) {
            let from = self.level;
            self.level = from.better();
            self.last_change_ms = t;
            out.push(LevelChange {
                at_ms: t,
                from,
                to: self.level,
            });
        }
        self.now_ms = self.now_ms.max(now_ms);
        out
    }

    /// Applies one fleet reading (mean cpu, mean memory over the healthy membranes) at `now_ms`,
    /// after firing the recovery steps due by then. Non-finite readings are ignored.
    pub fn on_reading(&mut self, now_ms: u64, cpu: f64, memory: f64) -> Vec<LevelChange> {
        let mut out = self.advance_to(now_ms);
        if !self.cfg.enabled || !cpu.is_finite() || !memory.is_finite() {
            return out;
        }
        let t = self.now_ms;
        let target = self.cfg.target(cpu, memory);
        for (k, since) in self.good_since.iter_mut().enumerate() {
            if target.index() > k {
                *since = None;
            } else if since.is_none() {
                *since = Some(t);
            }
        }
        if target > self.level {
            out.push(LevelChange {
                at_ms: t,
                from: self.level,
                to: target,
            });
            self.level = target;
            self.last_change_ms = t;
        }
        out
    }
}

/// Why the gate refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateReject {
    /// Level Offline: reason `offline`.
    Offline,
    /// The priority is disabled at this level: reason `feature_disabled`.
    FeatureDisabled,
}

impl GateReject {
    /// The SPEC §2 rejection reason.
    pub fn reason(self) -> &'static str {
        match self {
            GateReject::Offline => "offline",
            GateReject::FeatureDisabled => "feature_disabled",
        }
    }
}

/// The lowest priority admitted at `level` (`None` at Offline).
pub fn lowest_admitted(level: Level) -> Option<Priority> {
    match level {
        Level::Normal => Some(Priority::Optional),
        Level::Partial => Some(Priority::Low),
        Level::Minimal => Some(Priority::High),
        Level::Emergency => Some(Priority::Critical),
        Level::Offline => None,
    }
}

/// Whether a request of `priority` passes at `level`.
///
/// ```
/// use echoflow_operators::degradation::{gate, GateReject, Level};
/// use echoflow_operators::priority::Priority;
/// assert_eq!(gate(Level::Minimal, Priority::High), Ok(()));
/// assert_eq!(gate(Level::Minimal, Priority::Medium), Err(GateReject::FeatureDisabled));
/// assert_eq!(gate(Level::Offline, Priority::Critical), Err(GateReject::Offline));
/// ```
pub fn gate(level: Level, priority: Priority) -> Result<(), GateReject> {
    match lowest_admitted(level) {
        None => Err(GateReject::Offline),
        Some(lowest) if priority >= lowest => Ok(()),
        Some(_) => Err(GateReject::FeatureDisabled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;
    use proptest::prelude::*;

    #[test]
    fn documented_thresholds() {
        let cfg = DegradationConfig::default();
        for (cpu, level) in [
            (0.0, Normal),
            (0.6999, Normal),
            (0.70, Partial),
            (0.79, Partial),
            (0.80, Minimal),
            (0.90, Emergency),
            (0.95, Emergency),
            (0.9501, Offline),
            (1.0, Offline),
        ] {
            assert_eq!(cfg.target(cpu, 0.0), level, "cpu {cpu}");
        }
        for (mem, level) in [
            (0.7499, Normal),
            (0.75, Partial),
            (0.85, Minimal),
            (0.90, Emergency),
            (0.96, Offline),
        ] {
            assert_eq!(cfg.target(0.0, mem), level, "memory {mem}");
        }
        // Worst resource wins.
        assert_eq!(cfg.target(0.71, 0.86), Minimal);
        assert_eq!(cfg.target(0.91, 0.76), Emergency);
    }

    #[test]
    fn down_at_once_up_one_step_per_delay() {
        let mut d = Degradation::new(DegradationConfig::default());
        let e = d.on_reading(100, 0.97, 0.0);
        assert_eq!(
            e,
            [LevelChange {
                at_ms: 100,
                from: Normal,
                to: Offline
            }]
        );
        // Clear readings every 10 s from t = 1000.
        let mut all = Vec::new();
        for t in (1000..=300_000).step_by(10_000) {
            all.extend(d.on_reading(t, 0.2, 0.2));
        }
        let steps: Vec<(u64, Level)> = all.iter().map(|e| (e.at_ms, e.to)).collect();
        assert_eq!(
            steps,
            [
                (61_000, Emergency),
                (121_000, Minimal),
                (181_000, Partial),
                (241_000, Normal)
            ]
        );
    }

    #[test]
    fn a_bad_reading_restarts_the_wait() {
        let mut d = Degradation::new(DegradationConfig::default());
        d.on_reading(0, 0.85, 0.0); // Minimal
        d.on_reading(10_000, 0.5, 0.0);
        d.on_reading(50_000, 0.75, 0.0); // Partial-level reading: not good enough for Normal…
        // …but good enough for Minimal → Partial, whose window began at 10 s.
        assert_eq!(d.advance_to(70_000).len(), 1);
        assert_eq!(d.level(), Partial);
        d.on_reading(80_000, 0.5, 0.0);
        // Partial → Normal needs 60 s from the last change (70 s) and from the first Normal
        // reading after the Partial one (80 s): due at 140 s.
        assert_eq!(d.next_deadline(), Some(140_000));
        d.on_reading(130_000, 0.81, 0.0); // worse again: down at once
        assert_eq!(d.level(), Minimal);
        assert_eq!(d.next_deadline(), None);
    }

    #[test]
    fn step_fires_before_a_reading_at_its_deadline() {
        let mut d = Degradation::new(DegradationConfig::default());
        d.on_reading(0, 0.75, 0.0);
        d.on_reading(1, 0.1, 0.0);
        let e = d.on_reading(60_001, 0.72, 0.0);
        assert_eq!(
            e.iter().map(|e| (e.at_ms, e.to)).collect::<Vec<_>>(),
            [(60_001, Normal), (60_001, Partial)]
        );
    }

    #[test]
    fn gate_by_level() {
        use Priority::*;
        let admitted = |level| -> Vec<Priority> {
            Priority::ALL
                .into_iter()
                .filter(|p| gate(level, *p).is_ok())
                .collect()
        };
        assert_eq!(admitted(Normal), Priority::ALL);
        assert_eq!(admitted(Partial), [Low, Medium, High, Critical]);
        assert_eq!(admitted(Minimal), [High, Critical]);
        assert_eq!(admitted(Emergency), [Critical]);
        assert!(admitted(Offline).is_empty());
        assert_eq!(
            gate(Partial, Optional).unwrap_err().reason(),
            "feature_disabled"
        );
        assert_eq!(gate(Offline, Optional).unwrap_err().reason(), "offline");
    }

    #[test]
    fn validate_names_the_field() {
        assert_eq!(DegradationConfig::default().validate(), Ok(()));
        let mut bad = DegradationConfig::default();
        bad.memory.minimal = 0.7;
        let err = bad.validate().unwrap_err();
        assert_eq!(err.field, "degradation.memory.minimal");
        assert!(err.to_string().contains("degradation.memory.partial"));
    }

    #[test]
    fn disabled_stays_normal() {
        let mut d = Degradation::new(DegradationConfig {
            enabled: false,
            ..DegradationConfig::default()
        });
        assert!(d.on_reading(0, 1.0, 1.0).is_empty());
        assert_eq!(d.level(), Normal);
    }

    fn readings() -> impl Strategy<Value = Vec<(u64, f64, f64)>> {
        proptest::collection::vec((0u64..40_000, 0.0f64..1.0, 0.0f64..1.0), 1..150).prop_map(|v| {
            let mut t = 0;
            v.into_iter()
                .map(|(dt, c, m)| {
                    t += dt;
                    (t, c, m)
                })
                .collect()
        })
    }

    proptest! {
        /// Improvements are single steps, at least `recovery_delay` after the previous change,
        /// and every reading in the `recovery_delay` before the step was at the new level or
        /// better; worsening goes straight to the reading's level.
        #[test]
        fn never_improves_faster_than_one_step_per_delay(input in readings()) {
            let cfg = DegradationConfig::default();
            let delay = cfg.recovery_delay_ms;
            let mut d = Degradation::new(cfg.clone());
            let mut last_change = 0u64;
            let mut seen: Vec<(u64, Level)> = Vec::new();
            for (t, c, m) in input {
                for e in d.on_reading(t, c, m) {
                    if e.to < e.from {
                        prop_assert_eq!(e.to, e.from.better());
                        prop_assert!(e.at_ms >= last_change + delay);
                        for (ts, l) in &seen {
                            if *ts + delay > e.at_ms {
                                prop_assert!(*l <= e.to, "reading {:?} at {} within the window", l, ts);
                            }
                        }
                    } else {
                        prop_assert_eq!(e.to, cfg.target(c, m));
                    }
                    last_change = e.at_ms;
                }
                seen.push((t, cfg.target(c, m)));
                prop_assert!(d.level() >= cfg.target(c, m));
            }
        }

        #[test]
        fn same_inputs_same_levels(input in readings()) {
            let run = || {
                let mut d = Degradation::new(DegradationConfig::default());
                input.iter().flat_map(|(t, c, m)| d.on_reading(*t, *c, *m)).collect::<Vec<_>>()
            };
            prop_assert_eq!(run(), run());
        }
    }
}

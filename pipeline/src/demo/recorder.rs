//! What the demo saw, second by second of event time, and the summary drawn from it.
//!
//! Worker 0 receives every outcome (as `(ts, what)`), every control event and every decision of
//! the run, and the fleet's size after each step. Per second it keeps the requests offered,
//! admitted, shed by reason and dead-lettered, and the AIMD scale, degradation level and
//! replicas in force at the end of that second; [`Recorder::summary`] condenses the run into the
//! table `echoflow demo` prints.

use echoflow_connectors::schema::outputs::ControlEvent;
use echoflow_operators::autoscale::decision::Decision;
use std::collections::BTreeMap;

/// Degradation levels in order (SPEC §2's names).
pub const LEVELS: [&str; 5] = ["normal", "partial", "minimal", "emergency", "offline"];

/// One second of event time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Second {
    pub offered: u64,
    pub admitted: u64,
    /// Rejections by reason.
    pub shed: BTreeMap<String, u64>,
    pub dead: u64,
    /// At the end of the second.
    pub aimd_scale: f64,
    /// Index into [`LEVELS`], at the end of the second.
    pub level: usize,
    pub replicas: u32,
    pub ready: u32,
}

/// The run's record.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    start_ms: u64,
    pub seconds: Vec<Second>,
    pub control: Vec<ControlEvent>,
    pub decisions: Vec<Decision>,
}

/// The run condensed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// `admitted`, each rejection reason, `dead_letter` → requests.
    pub outcomes: BTreeMap<String, u64>,
    pub offered: u64,
    /// Degradation level changes, and the worst level reached.
    pub level_changes: u64,
    pub worst_level: &'static str,
    /// Lowest and highest AIMD scale.
    pub scale_range: (f64, f64),
    pub aimd_changes: u64,
    /// Breaker transitions to `open`, and membranes whose breaker opened.
    pub breaker_trips: u64,
    pub tripped: Vec<String>,
    /// Decisions by action, and the replicas range the fleet ran at.
    pub decisions: BTreeMap<String, u64>,
    pub replica_range: (u32, u32),
    /// Membranes that registered / left the pool.
    pub membranes_up: u64,
    pub membranes_down: u64,
}

impl Recorder {
    pub fn new(start_ms: u64, seconds: u64) -> Self {
        Recorder {
            start_ms,
            seconds: vec![
                Second {
                    aimd_scale: 1.0,
                    ..Second::default()
                };
                seconds.max(1) as usize
            ],
            control: Vec::new(),
            decisions: Vec::new(),
        }
    }

    fn at(&mut self, ts: u64) -> &mut Second {
        let i = (ts.saturating_sub(self.start_ms) / 1000) as usize;
        let last = self.seconds.len() - 1;
        &mut self.seconds[i.min(last)]
    }

    pub fn offered(&mut self, ts: u64, n: u64) {
        self.at(ts).offered += n;
    }

    pub fn admitted(&mut self, ts: u64) {
        self.at(ts).admitted += 1;
    }

    pub fn rejected(&mut self, ts: u64, reason: &str) {
        *self.at(ts).shed.entry(reason.to_string()).or_default() += 1;
    }

    pub fn dead(&mut self, ts: u64) {
        self.at(ts).dead += 1;
    }

    /// The fleet's size after a step at `ts`.
    pub fn fleet(&mut self, ts: u64, replicas: u32, ready: u32) {
        let s = self.at(ts);
        s.replicas = replicas;
        s.ready = ready;
    }

    /// Fills each second's AIMD scale and level from the control events (call once, at the end).
    pub fn settle(&mut self) {
        self.control.sort_by(|a, b| {
            (a.ts, &a.kind, &a.subject, a.seq).cmp(&(b.ts, &b.kind, &b.subject, b.seq))
        });
        self.decisions
            .sort_by(|a, b| (a.ts, &a.resource).cmp(&(b.ts, &b.resource)));
        let (mut scale, mut level) = (1.0, 0);
        let mut events = self.control.iter().peekable();
        for (i, s) in self.seconds.iter_mut().enumerate() {
            let end = self.start_ms + (i as u64 + 1) * 1000;
            while let Some(e) = events.next_if(|e| e.ts < end) {
                match e.kind.as_str() {
                    "aimd" => scale = e.scale.unwrap_or(scale),
                    "degradation" => {
                        level = LEVELS.iter().position(|l| *l == e.to).unwrap_or(level);
                    }
                    _ => {}
                }
            }
            s.aimd_scale = scale;
            s.level = level;
        }
    }

    /// The run condensed (after [`Recorder::settle`]).
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            scale_range: (1.0, 1.0),
            worst_level: LEVELS[0],
            replica_range: (u32::MAX, 0),
            ..Summary::default()
        };
        for sec in &self.seconds {
            s.offered += sec.offered;
            *s.outcomes.entry("admitted".into()).or_default() += sec.admitted;
            for (r, n) in &sec.shed {
                *s.outcomes.entry(r.clone()).or_default() += n;
            }
            *s.outcomes.entry("dead_letter".into()).or_default() += sec.dead;
            if sec.replicas > 0 {
                s.replica_range.0 = s.replica_range.0.min(sec.replicas);
                s.replica_range.1 = s.replica_range.1.max(sec.replicas);
            }
        }
        if s.replica_range.0 == u32::MAX {
            s.replica_range = (0, 0);
        }
        let mut worst = 0;
        for e in &self.control {
            match (e.kind.as_str(), e.to.as_str()) {
                ("aimd", _) => {
                    s.aimd_changes += 1;
                    if let Some(x) = e.scale {
                        s.scale_range.0 = s.scale_range.0.min(x);
                        s.scale_range.1 = s.scale_range.1.max(x);
                    }
                }
                ("degradation", to) => {
                    s.level_changes += 1;
                    worst = worst.max(LEVELS.iter().position(|l| *l == to).unwrap_or(0));
                }
                ("breaker", "open") => {
                    s.breaker_trips += 1;
                    if !s.tripped.contains(&e.subject) {
                        s.tripped.push(e.subject.clone());
                    }
                }
                ("membrane", "up") => s.membranes_up += 1,
                ("membrane", "down") => s.membranes_down += 1,
                _ => {}
            }
        }
        s.worst_level = LEVELS[worst];
        for d in &self.decisions {
            *s.decisions
                .entry(d.action.as_str().to_string())
                .or_default() += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ts: u64, kind: &str, subject: &str, to: &str, scale: Option<f64>) -> ControlEvent {
        ControlEvent {
            ts,
            kind: kind.into(),
            subject: subject.into(),
            from: String::new(),
            to: to.into(),
            scale,
            seq: 0,
        }
    }

    #[test]
    fn seconds_carry_the_state_in_force_and_the_summary_counts_changes() {
        let mut r = Recorder::new(10_000, 4);
        r.offered(10_000, 10);
        r.admitted(10_500);
        r.rejected(11_200, "red_drop");
        r.rejected(19_000, "red_drop"); // past the end: counted in the last second
        r.dead(12_000);
        r.fleet(12_100, 3, 2);
        r.control
            .push(event(12_300, "degradation", "fleet", "minimal", None));
        r.control
            .push(event(11_000, "aimd", "governor", "degraded", Some(0.5)));
        r.control
            .push(event(13_000, "degradation", "fleet", "partial", None));
        r.control
            .push(event(12_000, "breaker", "m-1", "open", None));
        r.settle();
        let scales: Vec<f64> = r.seconds.iter().map(|s| s.aimd_scale).collect();
        let levels: Vec<usize> = r.seconds.iter().map(|s| s.level).collect();
        assert_eq!(scales, [1.0, 0.5, 0.5, 0.5]);
        assert_eq!(levels, [0, 0, 2, 1]);
        let s = r.summary();
        assert_eq!(s.outcomes["admitted"], 1);
        assert_eq!(s.outcomes["red_drop"], 2);
        assert_eq!(s.outcomes["dead_letter"], 1);
        assert_eq!((s.level_changes, s.worst_level), (2, "minimal"));
        assert_eq!(s.scale_range, (0.5, 1.0));
        assert_eq!(
            (s.breaker_trips, s.tripped.clone()),
            (1, vec!["m-1".to_string()])
        );
        assert_eq!(s.replica_range, (3, 3));
    }
}

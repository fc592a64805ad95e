//! The HPA controller's normalisation of a recommendation with `behavior` rules, as Kubernetes
//! computes it (`pkg/controller/podautoscaler/horizontal.go`:
//! `stabilizeRecommendationWithBehaviors`, `convertDesiredReplicasWithBehaviorRate`,
//! `calculateScaleUpLimitWithScalingRules`, `calculateScaleDownLimitWithBehaviors`,
//! `getReplicasChangePerPeriod`, `storeScaleEvent`, `markScaleEventsOutdated`).
//!
//! 1. **Stabilisation.** Every raw recommendation is recorded with its time. The stabilised count
//!    is the current count raised to the *lowest* recommendation within the scale-up window and
//!    lowered to the *highest* within the scale-down window (windows are half-open: a record
//!    exactly `window` old is outside). A record older than both windows is reused for the next
//!    one (the last such slot), so the log stays bounded.
//! 2. **Rate limits.** For each policy, the replicas at the start of its period are the current
//!    count minus the scale-ups and plus the scale-downs recorded within the period; a `pods`
//!    policy allows ±value from there, a `percent` policy ×(1 ± value/100) (rounded up for
//!    scale-up, truncated for scale-down). `select_policy = max` takes the most permissive
//!    limit, `min` the least, `disabled` freezes that direction. A limit that would move against
//!    the direction is the current count. Then `[min, max]` clamps; the reason names what bound
//!    (`ScaleUpLimit`, `TooManyReplicas`, `ScaleDownLimit`, `TooFewReplicas`,
//!    `DesiredWithinRange`).
//! 3. **Events.** After a change, its size is stored as a scale-up or scale-down event; events
//!    older than the direction's longest period are marked outdated and their slot reused.
//!
//! Time is event time in ms passed by the caller (Kubernetes uses `time.Now()`).

use crate::autoscale::config::{PolicyUnit, ResolvedRules, SelectPolicy};

/// A recorded raw recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedRecommendation {
    /// The recommendation.
    pub replicas: u32,
    /// When (ms).
    pub ts: u64,
}

/// A recorded scaling change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent {
    /// Replicas added (in the up log) or removed (in the down log).
    pub change: u32,
    /// When (ms).
    pub ts: u64,
    /// Older than the longest period: its slot may be reused.
    pub outdated: bool,
}

/// `true` when `ts` is strictly after `now − window` (Go's `Time.After(cutoff)`).
fn within(ts: u64, now: u64, window: u64) -> bool {
    i128::from(ts) > i128::from(now) - i128::from(window)
}

/// Stabilisation window state and scale-event logs of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalizer {
    /// Raw recommendations (the stabilisation log).
    pub recommendations: Vec<TimedRecommendation>,
    /// Scale-up events.
    pub up_events: Vec<ScaleEvent>,
    /// Scale-down events.
    pub down_events: Vec<ScaleEvent>,
}

/// A bounded recommendation with the reason that bound it.
pub type Bounded = (u32, &'static str);

impl Normalizer {
    /// Stabilises `desired` against the recent recommendations and records it.
    /// Returns the stabilised count and `ScaleUpStabilized` / `ScaleDownStabilized`.
    pub fn stabilize(
        &mut self,
        now: u64,
        current: u32,
        desired: u32,
        up_window_ms: u64,
        down_window_ms: u64,
    ) -> Bounded {
        let mut up_rec = desired;
        let mut down_rec = desired;
        let mut old_slot = None;
        for (i, r) in self.recommendations.iter().enumerate() {
            let in_up = within(r.ts, now, up_window_ms);
            let in_down = within(r.ts, now, down_window_ms);
            if in_up {
                up_rec = up_rec.min(r.replicas);
            }
            if in_down {
                down_rec = down_rec.max(r.replicas);
            }
            // Go: Before(upCutoff) && Before(downCutoff): strictly older than both.
            if i128::from(r.ts) < i128::from(now) - i128::from(up_window_ms)
                && i128::from(r.ts) < i128::from(now) - i128::from(down_window_ms)
            {
                old_slot = Some(i);
            }
        }
        let recommendation = current.max(up_rec).min(down_rec);
        let rec = TimedRecommendation {
            replicas: desired,
            ts: now,
        };
        match old_slot {
            Some(i) => self.recommendations[i] = rec,
            None => self.recommendations.push(rec),
        }
        let reason = if desired >= current {
            "ScaleUpStabilized"
        } else {
            "ScaleDownStabilized"
        };
        (recommendation, reason)
    }

    /// Applies the scale-up / scale-down rate limits and `[min, max]` (`bounds = (min, max)`).
    pub fn convert_with_rate(
        &self,
        now: u64,
        current: u32,
        desired: u32,
        (min, max): (u32, u32),
        up: &ResolvedRules,
        down: &ResolvedRules,
    ) -> Bounded {
        if desired > current {
            let limit = scale_up_limit(now, current, &self.up_events, &self.down_events, up)
                .max(i64::from(current));
            let (allowed, reason) = if i64::from(max) > limit {
                (limit, "ScaleUpLimit")
            } else {
                (i64::from(max), "TooManyReplicas")
            };
            if i64::from(desired) > allowed {
                return (allowed as u32, reason);
            }
        } else if desired < current {
            let limit = scale_down_limit(now, current, &self.up_events, &self.down_events, down)
                .min(i64::from(current));
            let (allowed, reason) = if i64::from(min) < limit {
                (limit, "ScaleDownLimit")
            } else {
                (i64::from(min), "TooFewReplicas")
            };
            if i64::from(desired) < allowed {
                return (allowed.max(0) as u32, reason);
            }
        }
        (desired, "DesiredWithinRange")
    }

    /// Records a change from `prev` to `new` replicas (`storeScaleEvent`).
    pub fn store_event(
        &mut self,
        now: u64,
        prev: u32,
        new: u32,
        up: &ResolvedRules,
        down: &ResolvedRules,
    ) {
        let (log, rules, change) = if new > prev {
            (&mut self.up_events, up, new - prev)
        } else if new < prev {
            (&mut self.down_events, down, prev - new)
        } else {
            return;
        };
        let longest = rules.longest_period_ms();
        let mut slot = None;
        for (i, e) in log.iter_mut().enumerate() {
            if i128::from(e.ts) < i128::from(now) - i128::from(longest) {
                e.outdated = true;
            }
            if e.outdated {
                slot = Some(i);
            }
        }
        let event = ScaleEvent {
            change,
            ts: now,
            outdated: false,
        };
        match slot {
            Some(i) => log[i] = event,
            None => log.push(event),
        }
    }
}

/// Replicas changed by the events within `period_ms` of `now` (`getReplicasChangePerPeriod`).
pub fn change_in_period(now: u64, period_ms: u64, events: &[ScaleEvent]) -> i64 {
    events
        .iter()
        .filter(|e| within(e.ts, now, period_ms))
        .map(|e| i64::from(e.change))
        .sum()
}

/// The most replicas the scale-up rules allow now (`calculateScaleUpLimitWithScalingRules`).
pub fn scale_up_limit(
    now: u64,
    current: u32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &ResolvedRules,
) -> i64 {
    let current = i64::from(current);
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i64::from(i32::MAX), i64::min),
        SelectPolicy::Max => (i64::from(i32::MIN), i64::max),
    };
    for p in &rules.policies {
        let start = current - change_in_period(now, p.period_ms, up_events)
            + change_in_period(now, p.period_ms, down_events);
        let proposed = match p.kind {
            PolicyUnit::Pods => start + i64::from(p.value),
            PolicyUnit::Percent => {
                (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// The fewest replicas the scale-down rules allow now (`calculateScaleDownLimitWithBehaviors`).
pub fn scale_down_limit(
    now: u64,
    current: u32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &ResolvedRules,
) -> i64 {
    let current = i64::from(current);
    let (mut result, pick): (i64, fn(i64, i64) -> i64) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i64::from(i32::MIN), i64::max),
        SelectPolicy::Max => (i64::from(i32::MAX), i64::min),
    };
    for p in &rules.policies {
        let start = current - change_in_period(now, p.period_ms, up_events)
            + change_in_period(now, p.period_ms, down_events);
        let proposed = match p.kind {
            PolicyUnit::Pods => start - i64::from(p.value),
            PolicyUnit::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        };
        result = pick(result, proposed);
    }
    result
}

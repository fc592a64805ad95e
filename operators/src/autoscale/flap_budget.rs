//! The flap budget of `predictive`: reverse a scale-up of its own within 10 minutes only while
//! it has flapped less than `autoscaler.flap_budget` (1.25) times as often as the Kubernetes
//! HPA would have on the same load.
//!
//! A *flap* (a reversal) is a move opposite to the previous move within [`REVERSAL_WINDOW_MS`]
//! (10 minutes) of it; `echoflow simulate` counts reversals with the same [`Reversals`]. The
//! budget runs a shadow [`Hpa`] on the load `predictive` observes (in replicas' worth, so it does
//! not depend on how many replicas serve it): the shadow keeps its own replica count, sees each
//! of its replicas ready at the load's share (load / count: no start-up, no backlog of its own),
//! and counts its flaps. A scale-down of `predictive` that would be a flap (its last move was a
//! scale-up less than the window ago) goes ahead only if, counting it, `predictive`'s flaps are
//! at most `flap_budget` × the shadow's; otherwise `predictive` holds its whole count, and
//! scales down once the window has passed, when that is no longer a flap.
//!
//! Why (measured, BENCHMARKS.md "Fourteenth round (session 16)"): after a one-replica scale-up
//! that HPA's raw recommendation forces (load between HPA's band at 0.70 and `predictive`'s
//! provisioning target 0.72), HPA holds the replica for its 300 s stabilisation window and then
//! while its raw recommendation still asks for it, while `predictive` releases it as soon as its
//! forecast no longer does. Mostly that is replica-minutes won; on the 1998 World Cup's
//! flash-crowd weeks it is a release 300–600 s after the scale-up where HPA's lands just past
//! 600 s, a flap HPA does not make (weeks 7 and 9: 13 against 4 and 9 against 7 reversals).
//! Holding every such replica for the window loses the replica-minute edge elsewhere (measured
//! in session 15: 72 of 81 traces dominated instead of 76); the budget holds only where
//! `predictive` would otherwise flap more than HPA. Default 1.25: the bound on reversals that
//! issue #6 accepts (at most 1.25× hpa's); with 1.0 `predictive` held releases it could afford
//! on traces where it flaps 1–3 % more than HPA and lost their replica-minute edge (38 of 55
//! NAB traces dominated with one-minute rows instead of 45). 0 turns the budget off.
//!
//! ```
//! use echoflow_operators::autoscale::config::AutoscalerConfig;
//! use echoflow_operators::autoscale::decision::Action;
//! use echoflow_operators::autoscale::flap_budget::FlapBudget;
//! let mut b = FlapBudget::new(1.25, &AutoscalerConfig::default());
//! b.observe(15_000, 2, 1.0);              // the shadow HPA starts at 2 replicas
//! b.record(15_000, Action::ScaleUp);      // predictive scaled up
//! assert!(!b.allows_down(315_000));       // a release now would flap, and HPA has not flapped
//! assert!(b.allows_down(630_000));        // over 600 s after the scale-up: not a flap
//! ```

use crate::autoscale::config::AutoscalerConfig;
use crate::autoscale::decision::Action;
use crate::autoscale::hpa::Hpa;
use crate::autoscale::utilization::{FleetView, PodSample};

/// Window within which an opposite move counts as a reversal (a flap): 10 minutes.
pub const REVERSAL_WINDOW_MS: u64 = 600_000;

/// The default ratio (`autoscaler.flap_budget`): issue #6's bound on reversals.
pub const DEFAULT_RATIO: f64 = 1.25;

/// Counts reversals: moves opposite to the previous move within [`REVERSAL_WINDOW_MS`] of it.
///
/// ```
/// use echoflow_operators::autoscale::decision::Action;
/// use echoflow_operators::autoscale::flap_budget::Reversals;
/// let mut r = Reversals::default();
/// r.record(0, Action::ScaleUp);
/// r.record(30_000, Action::Hold);          // holds are not moves
/// r.record(600_000, Action::ScaleDown);    // 600 s after the scale-up: a reversal
/// r.record(1_300_000, Action::ScaleUp);    // 700 s after the scale-down: not one
/// assert_eq!(r.count(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reversals {
    last: Option<(Action, u64)>,
    count: u64,
}

impl Reversals {
    /// Whether `action` at `now` would reverse the last move within the window.
    pub fn would_reverse(&self, now: u64, action: Action) -> bool {
        action != Action::Hold
            && self.last.is_some_and(|(prev, t)| {
                prev != action && now.saturating_sub(t) <= REVERSAL_WINDOW_MS
            })
    }

    /// Records the decision at `now` (holds change nothing).
    pub fn record(&mut self, now: u64, action: Action) {
        if action == Action::Hold {
            return;
        }
        if self.would_reverse(now, action) {
            self.count += 1;
        }
        self.last = Some((action, now));
    }

    /// Reversals so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// A shadow HPA, its reversals and `predictive`'s own.
#[derive(Debug, Clone)]
pub struct FlapBudget {
    ratio: f64,
    shadow: Hpa,
    shadow_replicas: Option<u32>,
    /// The shadow's view, kept to reuse its pods' buffer.
    view: FleetView,
    shadow_reversals: Reversals,
    own: Reversals,
}

impl FlapBudget {
    /// A budget of `ratio` × the reversals of a shadow HPA with `config`'s parameters.
    pub fn new(ratio: f64, config: &AutoscalerConfig) -> Self {
        FlapBudget {
            ratio,
            shadow: Hpa::new(config),
            shadow_replicas: None,
            view: FleetView::default(),
            shadow_reversals: Reversals::default(),
            own: Reversals::default(),
        }
    }

    /// Runs the shadow HPA's evaluation at `now` on `load` (replicas' worth); the shadow starts
    /// at `current` (the real fleet's count) the first time.
    pub fn observe(&mut self, now: u64, current: u32, load: f64) {
        let n = *self.shadow_replicas.get_or_insert(current.max(1));
        self.view.current_replicas = n;
        self.view.pods.clear();
        self.view
            .pods
            .resize(n as usize, PodSample::ready(load / f64::from(n)));
        let to = self.shadow.next_replicas(now, &self.view);
        self.shadow_reversals.record(now, Action::between(n, to));
        self.shadow_replicas = Some(to.max(1));
    }

    /// Whether a scale-down at `now` is within the budget: it is not a reversal, or counting
    /// it `predictive`'s reversals are at most `ratio` × the shadow HPA's.
    pub fn allows_down(&self, now: u64) -> bool {
        self.room(now, false)
    }

    /// Whether the budget could pay for a scale-down at `now` *and* for the scale-up that would
    /// take it back (itself a reversal): what `predictive`'s overshoot cap asks before it gives
    /// back part of a jump, since the load the jump answered may return within the window.
    pub fn allows_down_and_back(&self, now: u64) -> bool {
        self.room(now, true)
    }

    /// Whether `predictive`'s reversals, counting a scale-down at `now` (if it is one) and, with
    /// `and_back`, a scale-up reversing it, stay within `ratio` × the shadow HPA's.
    fn room(&self, now: u64, and_back: bool) -> bool {
        let flaps = u64::from(self.own.would_reverse(now, Action::ScaleDown)) + u64::from(and_back);
        flaps == 0
            || (self.own.count() + flaps) as f64
                <= self.ratio * self.shadow_reversals.count() as f64
    }

    /// Records `predictive`'s decision at `now`.
    pub fn record(&mut self, now: u64, action: Action) {
        self.own.record(now, action);
    }

    /// (`predictive`'s reversals, the shadow HPA's) so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.own.count(), self.shadow_reversals.count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reversal_is_an_opposite_move_within_ten_minutes() {
        let mut r = Reversals::default();
        r.record(0, Action::ScaleUp);
        assert!(!r.would_reverse(10_000, Action::ScaleUp), "same direction");
        assert!(
            r.would_reverse(REVERSAL_WINDOW_MS, Action::ScaleDown),
            "at 600 s"
        );
        assert!(
            !r.would_reverse(REVERSAL_WINDOW_MS + 1, Action::ScaleDown),
            "after 600 s"
        );
        r.record(REVERSAL_WINDOW_MS + 1, Action::ScaleDown);
        r.record(REVERSAL_WINDOW_MS + 2, Action::ScaleUp);
        r.record(REVERSAL_WINDOW_MS + 3, Action::ScaleDown);
        assert_eq!(r.count(), 2);
    }

    /// A shadow that flaps: up on a spike, down once HPA's 300 s window has passed.
    fn flap_shadow(b: &mut FlapBudget, from_s: u64) -> u64 {
        let mut t = from_s;
        for load in [1.0, 4.0] {
            b.observe(t * 1000, 2, load);
            t += 15;
        }
        while t < from_s + 400 {
            b.observe(t * 1000, 2, 1.0);
            t += 15;
        }
        t
    }

    #[test]
    fn the_budget_follows_the_shadow_hpas_reversals() {
        let cfg = AutoscalerConfig::default();
        let mut b = FlapBudget::new(1.0, &cfg);
        let t = flap_shadow(&mut b, 15);
        assert_eq!(
            b.counts(),
            (0, 1),
            "the shadow scaled up and back down within 600 s"
        );
        b.record(t * 1000, Action::ScaleUp);
        assert!(
            b.allows_down((t + 60) * 1000),
            "one reversal against HPA's one"
        );
        b.record((t + 60) * 1000, Action::ScaleDown);
        b.record((t + 120) * 1000, Action::ScaleUp);
        assert_eq!(b.counts(), (2, 1));
        assert!(
            !b.allows_down((t + 180) * 1000),
            "a third against HPA's one"
        );
        assert!(b.allows_down((t + 721) * 1000), "no longer a reversal");
    }

    #[test]
    fn down_and_back_needs_room_for_two_reversals() {
        let cfg = AutoscalerConfig::default();
        let mut b = FlapBudget::new(2.0, &cfg);
        let t = flap_shadow(&mut b, 15);
        b.record(t * 1000, Action::ScaleUp);
        assert_eq!(b.counts(), (0, 1));
        let soon = (t + 60) * 1000;
        assert!(b.allows_down(soon), "1 ≤ 2.0 × 1");
        assert!(b.allows_down_and_back(soon), "2 ≤ 2.0 × 1");
        b.record(soon, Action::ScaleDown);
        b.record(soon + 15_000, Action::ScaleUp);
        assert_eq!(b.counts(), (2, 1));
        let later = soon + 30_000;
        assert!(!b.allows_down(later), "3 > 2.0 × 1");
        let mut loose = FlapBudget::new(3.0, &cfg);
        flap_shadow(&mut loose, 15);
        for (i, a) in [Action::ScaleUp, Action::ScaleDown, Action::ScaleUp]
            .into_iter()
            .enumerate()
        {
            loose.record(t * 1000 + i as u64 * 15_000, a);
        }
        assert_eq!(loose.counts(), (2, 1));
        assert!(loose.allows_down(later), "3 ≤ 3.0 × 1");
        assert!(!loose.allows_down_and_back(later), "4 > 3.0 × 1");
        // Not a reversal (the last scale-up over 600 s ago): only the way back would be one.
        let free = later + REVERSAL_WINDOW_MS + 1;
        assert!(loose.allows_down(free));
        assert!(loose.allows_down_and_back(free), "3 ≤ 3.0 × 1");
    }

    #[test]
    fn the_ratio_scales_the_budget() {
        let cfg = AutoscalerConfig::default();
        let (mut strict, mut loose) = (FlapBudget::new(1.0, &cfg), FlapBudget::new(1.25, &cfg));
        let mut t = 15;
        for _ in 0..4 {
            flap_shadow(&mut strict, t);
            t = flap_shadow(&mut loose, t) + 600;
        }
        for b in [&mut strict, &mut loose] {
            // up, down, up, down, up: four reversals, and a scale-down now would be the fifth.
            for (i, a) in [Action::ScaleUp, Action::ScaleDown].repeat(3)[..5]
                .iter()
                .enumerate()
            {
                b.record((t + i as u64) * 1000, *a);
            }
            assert_eq!(b.counts(), (4, 4));
        }
        assert!(!strict.allows_down((t + 10) * 1000), "5 > 1.0 × 4");
        assert!(loose.allows_down((t + 10) * 1000), "5 ≤ 1.25 × 4");
    }
}

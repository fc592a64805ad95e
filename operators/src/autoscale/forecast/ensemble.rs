//! Online accuracy tracking and the choice among forecasters.
//!
//! Every observation first scores the forecasts each member made `horizon` observations earlier
//! (the error at the horizon the policy provisions for), as an exponentially weighted mean squared
//! error with weight `decay` (0.1: about the last ten evaluations, 2.5 min at 15 s), then feeds the
//! members and records their new forecasts. The ensemble's forecast is either the member with the
//! lowest tracked error ([`Selection::Best`]) or the blend weighted by 1 / (MSE + ε)
//! ([`Selection::Blend`], the default; members not yet scored share equal weights). The
//! ensemble scores its own forecasts the same way; that error sizes the predictive policy's
//! safety margin and gives
//! - `confidence` = 1 − min(1, RMSE / mean |y|) (EWMA of |y| with the same decay): 1 when the
//!   horizon forecasts are exact, 0 when their error is as large as the signal;
//! - `nrmse` over the whole run = RMSE / population standard deviation of the targets (SPEC §5).
//!
//! It also tracks the expected under-forecast max(0, y − ŷ) at the horizon (the predictive
//! policy's scale-down margin), optionally measured on values clipped at a cap (the full
//! fleet's capacity: [`Ensemble::with_under_forecast_cap`]) and, when asked for
//! ([`Ensemble::with_path_tracking`]), over the whole forecast path
//! ([`Ensemble::under_forecast_path`]: the largest excess of the load over F_t(k), k = 1..h).
//! Both are echoflow's own measures (session 6, BENCHMARKS.md "Fourth round"), off by default.

use std::collections::VecDeque;

use super::Forecaster;

/// How the members are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// The member with the lowest tracked error.
    Best,
    /// Inverse-MSE weighted blend.
    #[default]
    Blend,
}

struct Member {
    f: Box<dyn Forecaster + Send>,
    pending: VecDeque<Option<f64>>,
    mse: Option<f64>,
}

/// Forecasters with online accuracy tracking.
///
/// ```
/// use echoflow_operators::autoscale::forecast::{default_forecasters, ensemble::{Ensemble, Selection}};
/// let mut e = Ensemble::new(default_forecasters(), 5, Selection::Blend, 0.1);
/// for _ in 0..50 { e.observe(4.0); }
/// assert!((e.forecast(5).unwrap() - 4.0).abs() < 1e-9);
/// assert!(e.confidence() > 0.999);
/// ```
pub struct Ensemble {
    members: Vec<Member>,
    horizon: usize,
    selection: Selection,
    decay: f64,
    pending: VecDeque<Option<f64>>,
    mse: Option<f64>,
    mean_abs: Option<f64>,
    n: u64,
    sum_y: f64,
    sum_y2: f64,
    sum_e2: f64,
    history: VecDeque<f64>,
    persistence_mse: Option<f64>,
    /// [`Ensemble::rise_skill`]'s errors: the blend's and persistence's, on predicted rises.
    rise_mse: Option<f64>,
    rise_persistence_mse: Option<f64>,
    under_mean: Option<f64>,
    under_cap: Option<f64>,
    /// Forecast paths F_t(1..=h) not yet fully realised, with the largest excess y − F so far.
    paths: VecDeque<(Vec<f64>, f64)>,
    under_path_mean: Option<f64>,
    track_paths: bool,
    last_under: Option<f64>,
    last_under_path: Option<f64>,
}

impl std::fmt::Debug for Ensemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ensemble")
            .field(
                "members",
                &self.members.iter().map(|m| m.f.name()).collect::<Vec<_>>(),
            )
            .field("horizon", &self.horizon)
            .field("selection", &self.selection)
            .field("mse", &self.mse)
            .finish()
    }
}

fn ewma(prev: Option<f64>, x: f64, decay: f64) -> f64 {
    match prev {
        None => x,
        Some(p) => p + decay * (x - p),
    }
}

impl Ensemble {
    /// An ensemble scored at `horizon` (≥ 1) observations ahead with EWMA weight `decay`.
    pub fn new(
        members: Vec<Box<dyn Forecaster + Send>>,
        horizon: usize,
        selection: Selection,
        decay: f64,
    ) -> Self {
        let horizon = horizon.max(1);
        Ensemble {
            members: members
                .into_iter()
                .map(|mut f| {
                    f.reserve_horizon(horizon);
                    Member {
                        f,
                        pending: VecDeque::with_capacity(horizon + 1),
                        mse: None,
                    }
                })
                .collect(),
            horizon,
            selection,
            decay: decay.clamp(1e-6, 1.0),
            pending: VecDeque::with_capacity(horizon + 1),
            mse: None,
            mean_abs: None,
            n: 0,
            sum_y: 0.0,
            sum_y2: 0.0,
            sum_e2: 0.0,
            history: VecDeque::with_capacity(horizon + 1),
            persistence_mse: None,
            rise_mse: None,
            rise_persistence_mse: None,
            under_mean: None,
            under_cap: None,
            paths: VecDeque::with_capacity(horizon + 1),
            under_path_mean: None,
            track_paths: false,
            last_under: None,
            last_under_path: None,
        }
    }

    /// Measures the under-forecast ([`Ensemble::under_forecast`]) on values clipped at `cap`:
    /// max(0, min(y, cap) − min(ŷ, cap)). The other scores are unaffected.
    pub fn with_under_forecast_cap(mut self, cap: Option<f64>) -> Self {
        self.under_cap = cap;
        self
    }

    /// Tracks [`Ensemble::under_forecast_path`] (h combined forecasts per observation, so off
    /// unless asked for).
    pub fn with_path_tracking(mut self, on: bool) -> Self {
        self.track_paths = on;
        self
    }

    /// The horizon the members are scored at.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Consumes the next observation.
    pub fn observe(&mut self, y: f64) {
        let decay = self.decay;
        let h = self.horizon;
        for m in &mut self.members {
            if m.pending.len() >= h
                && let Some(Some(p)) = m.pending.pop_front()
            {
                m.mse = Some(ewma(m.mse, (y - p) * (y - p), decay));
            }
        }
        // The observation the scored forecast was made after (what persistence forecast).
        let then = (self.history.len() >= h)
            .then(|| self.history.front().copied())
            .flatten();
        if self.pending.len() >= h
            && let Some(Some(p)) = self.pending.pop_front()
        {
            let e2 = (y - p) * (y - p);
            if let Some(o) = then.filter(|&o| p > o) {
                self.rise_mse = Some(ewma(self.rise_mse, e2, decay));
                self.rise_persistence_mse =
                    Some(ewma(self.rise_persistence_mse, (y - o) * (y - o), decay));
            }
            self.mse = Some(ewma(self.mse, e2, decay));
            let under = match self.under_cap {
                Some(c) => (y.min(c) - p.min(c)).max(0.0),
                None => (y - p).max(0.0),
            };
            self.under_mean = Some(ewma(self.under_mean, under, decay));
            self.last_under = Some(under);
            self.n += 1;
            self.sum_y += y;
            self.sum_y2 += y * y;
            self.sum_e2 += e2;
        }
        // Realise the pending paths: path j (oldest first) was made len − j observations ago.
        let len = self.paths.len();
        for (j, (path, excess)) in self.paths.iter_mut().enumerate() {
            let k = len - j; // steps ahead this observation is for that path
            if let Some(&f) = path.get(k - 1) {
                *excess = excess.max(y - f);
            }
        }
        if self.paths.len() >= h
            && let Some((_, excess)) = self.paths.pop_front()
        {
            self.under_path_mean = Some(ewma(self.under_path_mean, excess.max(0.0), decay));
            self.last_under_path = Some(excess.max(0.0));
        }
        self.mean_abs = Some(ewma(self.mean_abs, y.abs(), decay));
        if self.history.len() >= h
            && let Some(old) = self.history.pop_front()
        {
            self.persistence_mse = Some(ewma(self.persistence_mse, (y - old) * (y - old), decay));
        }
        self.history.push_back(y);
        for m in &mut self.members {
            m.f.observe(y);
            let p = m.f.forecast(h);
            m.pending.push_back(p);
        }
        let p = self.forecast(h);
        self.pending.push_back(p);
        if !self.track_paths {
            return;
        }
        let path: Vec<f64> = (1..=h).map_while(|k| self.forecast(k)).collect();
        if path.len() == h {
            self.paths.push_back((path, f64::NEG_INFINITY));
        } else {
            self.paths.clear();
        }
    }

    /// Weights of the members (summing to 1 over those with a forecast), in member order.
    pub fn weights(&self, k: usize) -> Vec<f64> {
        let avail: Vec<bool> = self
            .members
            .iter()
            .map(|m| m.f.forecast(k).is_some())
            .collect();
        let scored = self
            .members
            .iter()
            .zip(&avail)
            .any(|(m, &a)| a && m.mse.is_some());
        let raw: Vec<f64> = match self.selection {
            Selection::Blend => self
                .members
                .iter()
                .zip(&avail)
                .map(|(m, &a)| match (a, scored, m.mse) {
                    (false, _, _) => 0.0,
                    (true, false, _) => 1.0,
                    (true, true, Some(mse)) => 1.0 / (mse + 1e-9),
                    (true, true, None) => 0.0,
                })
                .collect(),
            Selection::Best => {
                let best = self
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| avail[*i])
                    .min_by(|(_, a), (_, b)| {
                        let ka = a.mse.unwrap_or(f64::INFINITY);
                        let kb = b.mse.unwrap_or(f64::INFINITY);
                        ka.total_cmp(&kb)
                    })
                    .map(|(i, _)| i);
                (0..self.members.len())
                    .map(|i| if Some(i) == best { 1.0 } else { 0.0 })
                    .collect()
            }
        };
        let total: f64 = raw.iter().sum();
        if total > 0.0 {
            raw.iter().map(|w| w / total).collect()
        } else {
            raw
        }
    }

    /// The combined forecast `k ≥ 1` observations ahead.
    pub fn forecast(&self, k: usize) -> Option<f64> {
        let w = self.weights(k);
        let mut sum = 0.0;
        let mut any = false;
        for (m, w) in self.members.iter().zip(w) {
            if w > 0.0
                && let Some(p) = m.f.forecast(k)
            {
                sum += w * p;
                any = true;
            }
        }
        any.then_some(sum)
    }

    /// Tracked RMSE of the combined forecast at the horizon, once scored.
    pub fn rmse(&self) -> Option<f64> {
        self.mse.map(f64::sqrt)
    }

    /// Tracked RMSE of each member, by name.
    pub fn member_rmse(&self) -> Vec<(&'static str, Option<f64>)> {
        self.members
            .iter()
            .map(|m| (m.f.name(), m.mse.map(f64::sqrt)))
            .collect()
    }

    /// Tracked MSE at the horizon of persistence ("the load stays as it is now": the forecast
    /// of yₜ₊ₕ is yₜ), the naive reference every forecaster has to beat.
    pub fn persistence_rmse(&self) -> Option<f64> {
        self.persistence_mse.map(f64::sqrt)
    }

    /// Skill of the combined forecast against persistence at the horizon, clamped to [0, 1]:
    /// 1 − MSE / MSE(persistence) (the MSE skill score; Murphy 1988). 0 before both are
    /// scored, and 0 when the load has not moved at all over the horizon lately (then there is
    /// nothing to forecast beyond persistence).
    pub fn skill(&self) -> f64 {
        match (self.mse, self.persistence_mse) {
            (Some(m), Some(p)) if p > 1e-12 => (1.0 - m / p).clamp(0.0, 1.0),
            _ => 0.0,
        }
    }

    /// [`Ensemble::skill`] measured only on the forecasts that predicted a rise (ŷₜ₊ₕ > yₜ):
    /// 1 − MSE / MSE(persistence) over those evaluations (same EWMA weight), clamped to [0, 1];
    /// 0 before the first of them is scored. It answers the question a forecast-driven
    /// scale-up asks — have the rises this blend predicted lately come true better than "no
    /// change"? — which the skill over every evaluation does not: a spike's large errors, which
    /// the blend tracks better than persistence, can make that skill high while every rise it
    /// predicted after the spike failed.
    pub fn rise_skill(&self) -> f64 {
        match (self.rise_mse, self.rise_persistence_mse) {
            (Some(m), Some(p)) if p > 1e-12 => (1.0 - m / p).clamp(0.0, 1.0),
            _ => 0.0,
        }
    }

    /// Expected under-forecast at the horizon: the tracked mean (same EWMA weight as the
    /// errors) of max(0, y − ŷ) over the combined forecasts, i.e. by how much the load has
    /// lately come in above what was forecast for it. 0 before the first score.
    pub fn under_forecast(&self) -> f64 {
        self.under_mean.unwrap_or(0.0)
    }

    /// Expected under-forecast over the whole horizon path: the tracked mean (same EWMA weight)
    /// of max(0, max_{k=1..h} (y_{t+k} − F_t(k))), by how much the load lately came in above the
    /// forecast at *some* step of the next horizon. 0 before the first full path, and always 0
    /// without [`Ensemble::with_path_tracking`].
    pub fn under_forecast_path(&self) -> f64 {
        self.under_path_mean.unwrap_or(0.0)
    }

    /// The under-forecasts scored by the last observation: at the horizon point and (with path
    /// tracking) over the path that ended with it; `None` until scored.
    pub fn last_under_forecasts(&self) -> (Option<f64>, Option<f64>) {
        (self.last_under, self.last_under_path)
    }

    /// 1 − min(1, RMSE / mean |y|); 0 before the first score.
    pub fn confidence(&self) -> f64 {
        match (self.rmse(), self.mean_abs) {
            (Some(r), Some(a)) if a > 1e-12 => 1.0 - (r / a).min(1.0),
            (Some(r), Some(_)) if r <= 1e-12 => 1.0,
            _ => 0.0,
        }
    }

    /// NRMSE of the combined horizon forecasts over the whole run (RMSE / population standard
    /// deviation of the targets); `None` before any score or for a constant target.
    pub fn nrmse(&self) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let n = self.n as f64;
        let var = self.sum_y2 / n - (self.sum_y / n).powi(2);
        (var > 1e-12).then(|| (self.sum_e2 / n).sqrt() / var.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::forecast::default_forecasters;
    use crate::autoscale::forecast::moving_average::MovingAverage;
    use crate::autoscale::forecast::persistence::Persistence;

    #[test]
    fn best_picks_the_exact_member_on_a_line() {
        let mut e = Ensemble::new(default_forecasters(), 3, Selection::Best, 0.2);
        for x in 0..200 {
            e.observe(0.5 * x as f64);
        }
        let w = e.weights(3);
        // The moving average lags a line; linear regression and Holt are exact.
        assert_eq!(w[1], 0.0);
        assert!((e.forecast(3).unwrap() - 0.5 * 202.0).abs() < 1e-6);
        assert!(e.rmse().unwrap() < 1e-6);
    }

    #[test]
    fn the_esn_wins_the_selection_and_the_blend_on_a_sine() {
        let sine = |t: usize| 200.0 + 50.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin();
        let mut best = Ensemble::new(default_forecasters(), 5, Selection::Best, 0.1);
        let mut blend = Ensemble::new(default_forecasters(), 5, Selection::Blend, 0.1);
        for t in 0..600 {
            best.observe(sine(t));
            blend.observe(sine(t));
        }
        let names: Vec<&str> = best.member_rmse().iter().map(|(n, _)| *n).collect();
        assert_eq!(names[3], "esn");
        assert_eq!(best.weights(5), vec![0.0, 0.0, 0.0, 1.0, 0.0]);
        let w = blend.weights(5);
        assert!(w[3] > 0.9, "blend weights {w:?}");
        let rmse: Vec<f64> = best
            .member_rmse()
            .iter()
            .map(|(_, r)| r.expect("scored"))
            .collect();
        let others = [rmse[0], rmse[1], rmse[2], rmse[4]];
        assert!(rmse[3] < 0.1 * others.iter().copied().fold(f64::INFINITY, f64::min));
        // The blend's own horizon error follows its best member's.
        assert!(blend.rmse().expect("scored") < 0.2 * rmse[1], "{rmse:?}");
        let p = best.forecast(5).expect("forecast");
        assert!((p - sine(604)).abs() < 2.0, "{p} vs {}", sine(604));
    }

    #[test]
    fn nrmse_is_rmse_over_std() {
        // Persistence (a moving average of 1) on 1, 3, 1, 3, …: every horizon-1 error is 2.
        let y = |x: usize| if x.is_multiple_of(2) { 1.0 } else { 3.0 };
        let members: Vec<Box<dyn Forecaster + Send>> = vec![Box::new(MovingAverage::new(1))];
        let mut e = Ensemble::new(members, 1, Selection::Blend, 0.1);
        for x in 0..200 {
            e.observe(y(x));
        }
        let targets: Vec<f64> = (1..200).map(y).collect();
        let mean = targets.iter().sum::<f64>() / 199.0;
        let std = (targets.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / 199.0).sqrt();
        let nrmse = e.nrmse().expect("scored");
        assert!((nrmse - 2.0 / std).abs() < 1e-9, "{nrmse} vs {}", 2.0 / std);
        // RMSE 2 against a mean |y| of about 2 (its EWMA oscillates around 2).
        assert!(e.confidence() < 0.1, "{}", e.confidence());
    }

    #[test]
    fn the_esn_learns_an_alternating_series_the_others_cannot() {
        let classic: Vec<Box<dyn Forecaster + Send>> =
            default_forecasters().into_iter().take(3).collect();
        let mut classic = Ensemble::new(classic, 1, Selection::Blend, 0.1);
        let mut all = Ensemble::new(default_forecasters(), 1, Selection::Blend, 0.1);
        for x in 0..400usize {
            let y = if x.is_multiple_of(2) { 1.0 } else { 3.0 };
            classic.observe(y);
            all.observe(y);
        }
        assert!(classic.nrmse().expect("scored") > 0.3);
        assert!(classic.confidence() < 0.9);
        assert!(all.rmse().expect("scored") < 0.01 * classic.rmse().expect("scored"));
        assert!(all.confidence() > 0.99, "{}", all.confidence());
        assert!(all.weights(1)[3] > 0.99);
    }

    #[test]
    fn skill_against_persistence_is_1_when_exact_and_0_for_persistence_itself() {
        // On a line, linear regression is exact at the horizon and persistence is off by
        // slope × h, so the blend (which weights the exact member ~1) has skill 1 (up to what
        // is left in the EWMA of the errors made before the line's window filled: 0.9⁹⁰).
        let line = |x: usize| 2.0 + 0.5 * x as f64;
        let lin: Vec<Box<dyn Forecaster + Send>> = vec![
            Box::new(crate::autoscale::forecast::linear::LinearRegression::new(8)),
            Box::new(Persistence::default()),
        ];
        let mut e = Ensemble::new(lin, 4, Selection::Blend, 0.1);
        for x in 0..100 {
            e.observe(line(x));
        }
        assert!((e.persistence_rmse().expect("scored") - 2.0).abs() < 1e-9);
        assert!(e.skill() > 0.9999, "{}", e.skill());
        // Persistence alone has no skill over itself, and under-forecasts the line by
        // slope × h = 2 at every step.
        let only: Vec<Box<dyn Forecaster + Send>> = vec![Box::new(Persistence::default())];
        let mut p = Ensemble::new(only, 4, Selection::Blend, 0.1);
        for x in 0..100 {
            p.observe(line(x));
        }
        assert!(p.skill().abs() < 1e-12);
        assert!((p.under_forecast() - 2.0).abs() < 1e-9);
        // A falling line is over-forecast, never under-forecast.
        let only: Vec<Box<dyn Forecaster + Send>> = vec![Box::new(Persistence::default())];
        let mut f = Ensemble::new(only, 4, Selection::Blend, 0.1);
        for x in 0..100 {
            f.observe(100.0 - line(x));
        }
        assert_eq!(f.under_forecast(), 0.0);
    }

    #[test]
    fn rise_skill_counts_only_predicted_rises() {
        let lin = || -> Vec<Box<dyn Forecaster + Send>> {
            vec![
                Box::new(crate::autoscale::forecast::linear::LinearRegression::new(8)),
                Box::new(Persistence::default()),
            ]
        };
        // A rising line: every forecast predicts a rise and linear regression gets it right.
        let mut up = Ensemble::new(lin(), 4, Selection::Blend, 0.1);
        assert_eq!(up.rise_skill(), 0.0);
        for x in 0..100 {
            up.observe(2.0 + 0.5 * x as f64);
        }
        assert!(up.rise_skill() > 0.9999, "{}", up.rise_skill());
        // A falling line is forecast as well, but no rise was ever predicted.
        let mut down = Ensemble::new(lin(), 4, Selection::Blend, 0.1);
        for x in 0..100 {
            down.observe(100.0 - 0.5 * x as f64);
        }
        assert!(down.skill() > 0.9999, "{}", down.skill());
        assert_eq!(down.rise_skill(), 0.0);
        // A step up held flat (a 5-minute row at 15 s evaluations): after the step the trend
        // member predicts a rise that does not come, while persistence is exact.
        let mut step = Ensemble::new(lin(), 4, Selection::Blend, 0.1);
        for x in 0..60 {
            step.observe(if x < 30 { 0.0 } else { 1.0 });
        }
        assert!(step.rise_skill() < 0.05, "{}", step.rise_skill());
    }

    #[test]
    fn skill_is_0_on_a_constant_and_before_scoring() {
        let mut e = Ensemble::new(default_forecasters(), 5, Selection::Blend, 0.1);
        assert_eq!(e.skill(), 0.0);
        for _ in 0..50 {
            e.observe(3.0);
        }
        assert_eq!(e.skill(), 0.0);
        assert_eq!(e.under_forecast(), 0.0);
    }

    fn persistence_only(horizon: usize) -> Ensemble {
        Ensemble::new(
            vec![Box::new(Persistence::default())],
            horizon,
            Selection::Blend,
            1.0, // EWMA weight 1: the tracked means are the last values
        )
        .with_path_tracking(true)
    }

    #[test]
    fn the_path_under_forecast_sees_an_excess_inside_the_horizon() {
        // Persistence at h = 2 on 1, 1, 1, 5, 1: the forecast made at the third 1 (for the
        // next two steps: 1, 1) is exceeded by 4 one step ahead, though not at the horizon
        // point itself (the 1 two steps ahead). The point measure sees 0, the path measure 4.
        let mut e = persistence_only(2);
        for y in [1.0, 1.0, 1.0, 5.0, 1.0] {
            e.observe(y);
        }
        assert_eq!(e.under_forecast(), 0.0);
        assert_eq!(e.under_forecast_path(), 4.0);
        // The next path (made at the 5: forecast 5, 5) sees 1, 1: no excess.
        e.observe(1.0);
        assert_eq!(e.under_forecast_path(), 0.0);
    }

    #[test]
    fn the_under_forecast_cap_clips_both_sides_at_the_cap() {
        // Persistence at h = 1 on 2 then 30: the error is 28, clipped at 10 it is 10 − 2 = 8.
        let mut plain = persistence_only(1);
        let mut capped = persistence_only(1).with_under_forecast_cap(Some(10.0));
        for y in [2.0, 30.0] {
            plain.observe(y);
            capped.observe(y);
        }
        assert_eq!(plain.under_forecast(), 28.0);
        assert_eq!(capped.under_forecast(), 8.0);
        // Only the under-forecast is clipped: the squared error is the same.
        assert_eq!(plain.rmse(), capped.rmse());
    }
}

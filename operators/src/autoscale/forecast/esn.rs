//! The Echo State Network forecaster of the predictive policy (SPEC §3 lists an ESN among its
//! forecasters): [`crate::reservoir::EsnForecaster`] behind the [`Forecaster`] trait, refitting
//! its readouts online on the series it has seen.
//!
//! Algorithm. The adapter keeps the last `window` observations. Once it holds `min_history` of
//! them, and then every `refit_every` observations, it refits the ESN's ridge readouts on that
//! window (one pass of the reservoir over it, a `units × units` Gram matrix and a Cholesky
//! solve, see [`crate::reservoir::forecaster`]); in between it only advances the reservoir state
//! by each new observation ([`EsnForecaster::observe`], one reservoir step). The readouts are
//! direct ([`Strategy::Direct`]): one per horizon `1..=h`, `h` being the horizon announced by
//! [`Forecaster::reserve_horizon`] (the predictive policy's, 5 evaluations); after every
//! observation the `h` forecasts are one readout of the current state, cached, so a
//! [`Forecaster::forecast`] call is a lookup. With [`Strategy::Recursive`] instead the path costs
//! `h` reservoir steps per observation.
//!
//! Cost per evaluation with the defaults: one reservoir step of 50 units (10 recurrent and 1
//! input weight per unit), one readout of 50 × 5 weights, and the refit amortised over 64
//! evaluations (256 steps, a 246 × 50 Gram matrix, a 50 × 50 solve); measured by
//! `operators/benches/autoscale.rs` (BENCHMARKS.md).
//!
//! Defaults ([`EsnParams::default`], echoflow's, not from a reference): the reservoir of
//! [`ForecasterParams::default`] (50 units, lr 0.5, sr 0.9, ridge 1e-4, warm-up 10; the choices
//! for short noisy demand series are argued there) with seed [`EsnParams::DEFAULT_SEED`] and
//! direct readouts; a window of 256 evaluations (64 min at the 15 s interval: enough rows to fit
//! 51 weights per readout with ridge, short enough to follow a change of regime); a refit every
//! 64 evaluations (16 min); the first fit after 40 evaluations (10 min).
//!
//! Guard (echoflow's): a forecast is clamped to the window's range widened by that range on
//! each side, `[min − (max − min), max + (max − min)]`. The readout of a fit on a near-singular
//! window can be large; the clamp bounds the damage of one bad refit until the ensemble's
//! accuracy tracking has weighted the member down. On a constant window the forecast is that
//! constant. A refit that fails (a singular system) keeps the previous readout.
//!
//! Determinism: the reservoir is a pure function of the seed (ChaCha20 streams keyed by seed,
//! layer and matrix, see [`crate::reservoir::init`]); the refit schedule depends only on the
//! number of observations; so the same series gives the same forecasts bit for bit.

use std::collections::VecDeque;

use super::Forecaster;
use crate::reservoir::forecaster::Strategy;
use crate::reservoir::{EsnForecaster, ForecasterParams, ReservoirError};

/// Tunables of the ESN forecaster.
#[derive(Debug, Clone, PartialEq)]
pub struct EsnParams {
    /// The reservoir, readout and seed.
    pub model: ForecasterParams,
    /// Observations kept for refitting (at least `min_history`).
    pub window: usize,
    /// Observations between refits (at least 1).
    pub refit_every: usize,
    /// Observations before the first fit (at least the model's warm-up + 3).
    pub min_history: usize,
}

impl EsnParams {
    /// The default seed of the reservoir.
    pub const DEFAULT_SEED: u64 = 0x0EC0_F10E;
}

impl Default for EsnParams {
    fn default() -> Self {
        EsnParams {
            model: ForecasterParams {
                seed: Self::DEFAULT_SEED,
                strategy: Strategy::Direct { horizon: 1 },
                ..ForecasterParams::default()
            },
            window: 256,
            refit_every: 64,
            min_history: 40,
        }
    }
}

/// An ESN forecaster refitted online.
///
/// ```
/// use echoflow_operators::autoscale::forecast::{Forecaster, esn::{Esn, EsnParams}};
/// let s = |t: usize| 100.0 + 30.0 * (t as f64 * std::f64::consts::TAU / 20.0).sin();
/// let mut f = Esn::new(EsnParams::default()).unwrap();
/// f.reserve_horizon(5);
/// for t in 0..400 { f.observe(s(t)); }
/// assert!((f.forecast(5).unwrap() - s(404)).abs() < 3.0);
/// ```
#[derive(Debug, Clone)]
pub struct Esn {
    params: EsnParams,
    model: EsnForecaster,
    history: VecDeque<f64>,
    since_fit: usize,
    horizon: usize,
    path: Vec<f64>,
}

impl Esn {
    /// Draws the reservoir; fails only on invalid reservoir parameters.
    pub fn new(params: EsnParams) -> Result<Self, ReservoirError> {
        let min_history = params.min_history.max(params.model.warmup + 3);
        let params = EsnParams {
            window: params.window.max(min_history),
            refit_every: params.refit_every.max(1),
            min_history,
            ..params
        };
        let model = EsnForecaster::new(params.model.clone())?;
        Ok(Esn {
            history: VecDeque::with_capacity(params.window + 1),
            params,
            model,
            since_fit: 0,
            horizon: 1,
            path: Vec::new(),
        })
    }

    /// The effective parameters (bounds applied).
    pub fn params(&self) -> &EsnParams {
        &self.params
    }

    /// The window's range widened by itself on each side (the clamp of the guard).
    fn bounds(&self) -> (f64, f64) {
        let (lo, hi) = self
            .history
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &y| {
                (lo.min(y), hi.max(y))
            });
        let r = hi - lo;
        (lo - r, hi + r)
    }

    fn refresh_path(&mut self) {
        self.path.clear();
        if !self.model.is_fitted() {
            return;
        }
        let (lo, hi) = self.bounds();
        if let Ok(p) = self.model.forecast(self.horizon)
            && p.iter().all(|v| v.is_finite())
        {
            self.path.extend(p.into_iter().map(|v| v.clamp(lo, hi)));
        }
    }
}

impl Forecaster for Esn {
    fn name(&self) -> &'static str {
        "esn"
    }

    fn reserve_horizon(&mut self, h: usize) {
        self.horizon = self.horizon.max(h);
        if let Strategy::Direct { horizon } = self.model.params().strategy
            && horizon < self.horizon
        {
            // Discards the fit; the next observation refits with the longer horizon.
            self.model.set_strategy(Strategy::Direct {
                horizon: self.horizon,
            });
        }
        self.refresh_path();
    }

    fn observe(&mut self, y: f64) {
        if !y.is_finite() {
            return;
        }
        self.history.push_back(y);
        if self.history.len() > self.params.window {
            self.history.pop_front();
        }
        self.since_fit += 1;
        let due = if self.model.is_fitted() {
            self.since_fit >= self.params.refit_every
        } else {
            self.history.len() >= self.params.min_history
        };
        let refitted = due && {
            let h: Vec<f64> = self.history.iter().copied().collect();
            self.model.fit(&h).is_ok()
        };
        if refitted {
            self.since_fit = 0;
        } else if self.model.is_fitted() {
            // Cannot fail: the model is fitted and y is finite.
            let _ = self.model.observe(y);
        }
        self.refresh_path();
    }

    fn forecast(&self, h: usize) -> Option<f64> {
        if h == 0 {
            return None;
        }
        if let Some(&v) = self.path.get(h - 1) {
            return Some(v);
        }
        if self.path.is_empty() {
            return None;
        }
        // Beyond the announced horizon: the recursive path (h reservoir steps); direct
        // readouts refuse it.
        let (lo, hi) = self.bounds();
        let p = self.model.forecast(h).ok()?;
        p.last().filter(|v| v.is_finite()).map(|v| v.clamp(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autoscale::forecast::moving_average::MovingAverage;

    fn sine(t: usize) -> f64 {
        200.0 + 50.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin()
    }

    /// Mean squared error of `f`'s `h`-step forecasts over observations `from..n` of `s`.
    fn horizon_mse(f: &mut dyn Forecaster, s: impl Fn(usize) -> f64, n: usize, h: usize) -> f64 {
        f.reserve_horizon(h);
        let (mut sum, mut count) = (0.0, 0usize);
        for t in 0..n {
            f.observe(s(t));
            if t >= 100 && t + h < n {
                let p = f.forecast(h).expect("forecast after 100 observations");
                sum += (p - s(t + h)).powi(2);
                count += 1;
            }
        }
        sum / count as f64
    }

    #[test]
    fn beats_the_moving_average_on_a_sine() {
        let mut esn = Esn::new(EsnParams::default()).expect("esn");
        let mut ma = MovingAverage::new(4);
        let e = horizon_mse(&mut esn, sine, 600, 5);
        let m = horizon_mse(&mut ma, sine, 600, 5);
        assert!(e < 0.05 * m, "esn mse {e}, moving average mse {m}");
    }

    #[test]
    fn forecasts_a_constant() {
        let mut f = Esn::new(EsnParams::default()).expect("esn");
        f.reserve_horizon(5);
        for _ in 0..39 {
            f.observe(42.0);
        }
        assert_eq!(f.forecast(1), None, "no fit before min_history");
        for _ in 0..100 {
            f.observe(42.0);
        }
        for h in 1..=5 {
            assert_eq!(f.forecast(h), Some(42.0), "h={h}");
        }
        assert_eq!(
            f.forecast(6),
            None,
            "direct readouts stop at the reserved horizon"
        );
    }

    #[test]
    fn same_seed_same_forecasts_other_seed_other_forecasts() {
        let run = |seed: u64| {
            let mut p = EsnParams::default();
            p.model.seed = seed;
            let mut f = Esn::new(p).expect("esn");
            f.reserve_horizon(3);
            let mut out = Vec::new();
            for t in 0..300 {
                f.observe(sine(t) + (t % 7) as f64);
                out.push(f.forecast(3).map(f64::to_bits));
            }
            out
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn cached_path_equals_the_model_forecast() {
        for strategy in [Strategy::Recursive, Strategy::Direct { horizon: 1 }] {
            let mut p = EsnParams::default();
            p.model.strategy = strategy;
            let mut f = Esn::new(p).expect("esn");
            f.reserve_horizon(4);
            for t in 0..150 {
                f.observe(sine(t));
            }
            let direct = f.model.forecast(4).expect("forecast");
            for h in 1..=4 {
                assert_eq!(f.forecast(h), Some(direct[h - 1]), "{strategy:?} h={h}");
            }
            match strategy {
                Strategy::Recursive => {
                    let longer = f.model.forecast(6).expect("forecast");
                    assert_eq!(f.forecast(6), Some(longer[5]));
                }
                Strategy::Direct { .. } => assert_eq!(f.forecast(6), None),
            }
        }
    }

    #[test]
    fn recursive_strategy_also_beats_the_moving_average_on_a_sine() {
        let mut p = EsnParams::default();
        p.model.strategy = Strategy::Recursive;
        let mut esn = Esn::new(p).expect("esn");
        let mut ma = MovingAverage::new(4);
        let e = horizon_mse(&mut esn, sine, 600, 5);
        let m = horizon_mse(&mut ma, sine, 600, 5);
        assert!(e < 0.05 * m, "esn mse {e}, moving average mse {m}");
    }

    #[test]
    fn forecasts_stay_within_the_guard() {
        let mut f = Esn::new(EsnParams::default()).expect("esn");
        f.reserve_horizon(5);
        // A series with a jump near the end of each window: hard to fit.
        for t in 0..500 {
            let y = if (t / 37) % 2 == 0 {
                10.0
            } else {
                90.0 + (t % 3) as f64
            };
            f.observe(y);
            f.observe(f64::NAN); // ignored
            if let Some(p) = f.forecast(5) {
                let (lo, hi) = f.bounds();
                assert!((lo..=hi).contains(&p), "{p} outside [{lo}, {hi}]");
            }
        }
        assert!(f.forecast(0).is_none());
    }

    #[test]
    fn parameters_are_bounded() {
        let p = EsnParams {
            window: 3,
            refit_every: 0,
            min_history: 0,
            ..EsnParams::default()
        };
        let f = Esn::new(p).expect("esn");
        assert_eq!(f.params().min_history, 13);
        assert_eq!(f.params().window, 13);
        assert_eq!(f.params().refit_every, 1);
    }
}

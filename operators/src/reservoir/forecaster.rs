//! A univariate ESN forecaster: fit on a history, forecast `h` steps ahead. The building block
//! for the autoscaler's `predictive` policy (SPEC §3 lists an ESN among its forecasters); it
//! depends on nothing outside this module tree.
//!
//! Method (Jaeger's echo state network used as a forecaster): the series is standardised with
//! the history's mean and population standard deviation (demand counts would saturate `tanh`
//! otherwise), a reservoir is driven by it (teacher forcing, one pass, first `warmup` states
//! dropped) and ridge readouts are fitted on the states. Two multi-step strategies
//! ([`Strategy`]; Taieb et al., "A review and comparison of strategies for multi-step ahead time
//! series forecasting", 2012):
//! - [`Strategy::Recursive`] (the default; Jaeger's "generative mode"): one readout predicts the
//!   next value; to forecast, its output is fed back as the next input, `h` reservoir steps for
//!   `h` values;
//! - [`Strategy::Direct`]: one readout output per horizon `k = 1..=H`, each fitted to the value
//!   `k` steps after the state; a forecast of up to `H` values is one readout of the current
//!   state, no reservoir step. echoflow's autoscaler uses this: it forecasts every evaluation,
//!   and no fed-back error accumulates over the horizon.
//!
//! Refitting is cheap: the reservoir is drawn once in [`EsnForecaster::new`] (seeded) and kept,
//! so [`EsnForecaster::fit`] costs one pass over the history (`nnz(W)` multiply-adds and `units`
//! `tanh` per value), one `units × units` Gram matrix and one Cholesky solve. Between fits,
//! [`EsnForecaster::observe`] advances the state by each new observation with the readout kept,
//! so an online user (the autoscaler's `autoscale::forecast::esn` adapter) refits only every few
//! observations.
//!
//! Defaults ([`ForecasterParams::default`]) are echoflow's choice for short, noisy demand series,
//! not ReservoirPy's: 50 units, lr 0.5, sr 0.9 (short memory, stable free-running), every unit
//! reads the input (`input_connectivity = 1`, since one input feeding 10% of 50 units would leave
//! the readout 5 driven units), input scaling 0.5, ridge 1e-4, warm-up 10, recursive strategy.

use ndarray::Array2;

use super::deep::{Reservoir, Workspace};
use super::error::{ReservoirError, Result};
use super::init::{LayerInit, init_reservoir};
use super::readout::Readout;
use super::ridge::RidgeAccumulator;

/// How forecasts beyond one step are made (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// One next-value readout, fed back `h` times.
    #[default]
    Recursive,
    /// One readout per horizon `1..=horizon`; forecasts beyond `horizon` are refused.
    Direct {
        /// The longest horizon fitted (at least 1).
        horizon: usize,
    },
}

/// Hyper-parameters of the forecaster.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecasterParams {
    /// Reservoir layer.
    pub layer: LayerInit,
    /// Ridge λ.
    pub ridge: f64,
    /// States dropped at the start of each fit.
    pub warmup: usize,
    /// Seed of the reservoir.
    pub seed: u64,
    /// Multi-step strategy.
    pub strategy: Strategy,
}

impl Default for ForecasterParams {
    fn default() -> Self {
        ForecasterParams {
            layer: LayerInit {
                units: 50,
                lr: 0.5,
                sr: 0.9,
                input_scaling: 0.5,
                input_connectivity: 1.0,
                rc_connectivity: 0.2,
                bias_scaling: 0.0,
            },
            ridge: 1e-4,
            warmup: 10,
            seed: 0,
            strategy: Strategy::Recursive,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Fitted {
    readout: Readout,
    mean: f64,
    scale: f64,
    state: Vec<f64>,
}

/// A univariate ESN forecaster.
///
/// ```
/// use echoflow_operators::reservoir::{EsnForecaster, ForecasterParams};
/// let history: Vec<f64> = (0..300).map(|t| 100.0 + 20.0 * (t as f64 * 0.2).sin()).collect();
/// let mut f = EsnForecaster::new(ForecasterParams::default()).unwrap();
/// f.fit(&history).unwrap();
/// let next = f.forecast(5).unwrap();
/// let truth = 100.0 + 20.0 * (300.0f64 * 0.2).sin();
/// assert!((next[0] - truth).abs() < 2.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EsnForecaster {
    params: ForecasterParams,
    reservoir: Reservoir,
    fitted: Option<Fitted>,
}

impl EsnForecaster {
    /// Draws the reservoir (one input).
    pub fn new(params: ForecasterParams) -> Result<Self> {
        let reservoir = init_reservoir(&params.layer, 1, 1, params.seed)?;
        Ok(EsnForecaster {
            params,
            reservoir,
            fitted: None,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &ForecasterParams {
        &self.params
    }

    /// True once [`EsnForecaster::fit`] succeeded.
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    /// The number of readout outputs and the steps between a state and its last target.
    fn outputs(&self) -> usize {
        match self.params.strategy {
            Strategy::Recursive => 1,
            Strategy::Direct { horizon } => horizon.max(1),
        }
    }

    /// Changes the strategy; a change discards the fit.
    pub fn set_strategy(&mut self, strategy: Strategy) {
        if strategy != self.params.strategy {
            self.params.strategy = strategy;
            self.fitted = None;
        }
    }

    /// Fits the readout on `history` (oldest first), replacing any previous fit. Needs at least
    /// `warmup + 2 + outputs` values (`outputs` = 1, or the direct horizon).
    pub fn fit(&mut self, history: &[f64]) -> Result<()> {
        let n = history.len();
        let outs = self.outputs();
        let need = self.params.warmup + 2 + outs;
        if n < need {
            return Err(ReservoirError::Input(format!(
                "history of {n} values, the forecaster needs at least warm-up + 2 + horizon = \
                 {need}"
            )));
        }
        if let Some(i) = history.iter().position(|v| !v.is_finite()) {
            return Err(ReservoirError::Input(format!(
                "history value {i} is not finite"
            )));
        }
        let mean = history.iter().sum::<f64>() / n as f64;
        let var = history.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let scale = if var.sqrt() > 1e-12 * (1.0 + mean.abs()) {
            var.sqrt()
        } else {
            1.0
        };
        let z: Vec<f64> = history.iter().map(|v| (v - mean) / scale).collect();
        // Rows: the states after z[t] for t in warmup..n − outs, targets z[t + 1..=t + outs].
        let units = self.reservoir.state_len();
        let rows = n - outs - self.params.warmup;
        let mut x = Array2::zeros((rows, units));
        let y = Array2::from_shape_fn((rows, outs), |(r, k)| z[self.params.warmup + r + 1 + k]);
        let mut state = vec![0.0; units];
        let mut ws = Workspace::default();
        for (t, &v) in z.iter().enumerate() {
            self.reservoir.step(&mut state, &[v], &mut ws)?;
            if t >= self.params.warmup && t - self.params.warmup < rows {
                x.row_mut(t - self.params.warmup)
                    .iter_mut()
                    .zip(&state)
                    .for_each(|(a, &b)| *a = b);
            }
        }
        let mut acc = RidgeAccumulator::new(units, outs);
        acc.add_rows(x.view(), y.view())?;
        let readout = acc.solve(self.params.ridge)?;
        self.fitted = Some(Fitted {
            readout,
            mean,
            scale,
            state,
        });
        Ok(())
    }

    /// Consumes one more observation after the history last fitted without refitting the
    /// readout: the reservoir state is advanced by the value (teacher forcing, standardised with
    /// the fit's mean and scale), so the next [`EsnForecaster::forecast`] starts after it. This
    /// is how an online user refits only every few observations.
    ///
    /// ```
    /// use echoflow_operators::reservoir::{EsnForecaster, ForecasterParams};
    /// let s = |t: usize| 10.0 + (t as f64 * 0.3).sin();
    /// let history: Vec<f64> = (0..200).map(s).collect();
    /// let mut f = EsnForecaster::new(ForecasterParams::default()).unwrap();
    /// f.fit(&history).unwrap();
    /// for t in 200..210 { f.observe(s(t)).unwrap(); }
    /// assert!((f.forecast(1).unwrap()[0] - s(210)).abs() < 0.1);
    /// ```
    pub fn observe(&mut self, y: f64) -> Result<()> {
        if !y.is_finite() {
            return Err(ReservoirError::Input(format!(
                "observation {y} is not finite"
            )));
        }
        let f = self
            .fitted
            .as_mut()
            .ok_or_else(|| ReservoirError::Input("observe before fit".into()))?;
        let z = (y - f.mean) / f.scale;
        let mut ws = Workspace::default();
        self.reservoir.step(&mut f.state, &[z], &mut ws)
    }

    /// Forecasts the next `horizon` values after the last observation. With
    /// [`Strategy::Direct`], `horizon` may not exceed the fitted horizon.
    pub fn forecast(&self, horizon: usize) -> Result<Vec<f64>> {
        let f = self
            .fitted
            .as_ref()
            .ok_or_else(|| ReservoirError::Input("forecast before fit".into()))?;
        if let Strategy::Direct { .. } = self.params.strategy {
            let outs = self.outputs();
            if horizon > outs {
                return Err(ReservoirError::Input(format!(
                    "forecast of {horizon} values from direct readouts fitted up to {outs}"
                )));
            }
            let y = f.readout.apply(&f.state)?;
            return Ok(y[..horizon].iter().map(|v| v * f.scale + f.mean).collect());
        }
        let mut state = f.state.clone();
        let mut ws = Workspace::default();
        let mut out = Vec::with_capacity(horizon);
        for h in 0..horizon {
            if h > 0 {
                let prev = (out[h - 1] - f.mean) / f.scale;
                self.reservoir.step(&mut state, &[prev], &mut ws)?;
            }
            let y = f.readout.apply(&state)?[0];
            out.push(y * f.scale + f.mean);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forecasts_a_periodic_series_ahead() {
        let s = |t: usize| 500.0 + 100.0 * (t as f64 * 2.0 * std::f64::consts::PI / 24.0).sin();
        let history: Vec<f64> = (0..480).map(s).collect();
        let mut f = EsnForecaster::new(ForecasterParams::default()).expect("new");
        f.fit(&history).expect("fit");
        let fc = f.forecast(12).expect("forecast");
        for (h, v) in fc.iter().enumerate() {
            assert!(
                (v - s(480 + h)).abs() < 10.0,
                "h={h}: {v} vs {}",
                s(480 + h)
            );
        }
    }

    #[test]
    fn constant_history_forecasts_the_constant() {
        let mut f = EsnForecaster::new(ForecasterParams::default()).expect("new");
        f.fit(&[7.0; 50]).expect("fit");
        for v in f.forecast(3).expect("forecast") {
            assert!((v - 7.0).abs() < 1e-6, "{v}");
        }
    }

    #[test]
    fn observing_equals_fitting_the_longer_history_with_the_same_readout() {
        let s = |t: usize| 50.0 + 10.0 * (t as f64 * 0.37).sin() + 0.1 * t as f64;
        let history: Vec<f64> = (0..120).map(s).collect();
        let mut f = EsnForecaster::new(ForecasterParams::default()).expect("new");
        f.fit(&history[..100]).expect("fit");
        let mut g = f.clone();
        for &y in &history[100..] {
            g.observe(y).expect("observe");
        }
        // Same readout and standardisation, state driven over all 120 values: forecasting from g
        // equals driving f's state by hand.
        let fitted = f.fitted.as_ref().expect("fitted");
        let mut state = fitted.state.clone();
        let mut ws = Workspace::default();
        for &y in &history[100..] {
            let z = (y - fitted.mean) / fitted.scale;
            f.reservoir.step(&mut state, &[z], &mut ws).expect("step");
        }
        let y = fitted.readout.apply(&state).expect("apply")[0] * fitted.scale + fitted.mean;
        assert_eq!(g.forecast(1).expect("forecast")[0], y);
        assert_ne!(
            g.forecast(1).expect("forecast"),
            f.forecast(1).expect("forecast")
        );
    }

    #[test]
    fn direct_readouts_forecast_a_periodic_series() {
        let s = |t: usize| 500.0 + 100.0 * (t as f64 * 2.0 * std::f64::consts::PI / 24.0).sin();
        let history: Vec<f64> = (0..480).map(s).collect();
        let mut f = EsnForecaster::new(ForecasterParams {
            strategy: Strategy::Direct { horizon: 6 },
            ..ForecasterParams::default()
        })
        .expect("new");
        f.fit(&history).expect("fit");
        let fc = f.forecast(6).expect("forecast");
        for (h, v) in fc.iter().enumerate() {
            assert!((v - s(480 + h)).abs() < 5.0, "h={h}: {v} vs {}", s(480 + h));
        }
        assert_eq!(f.forecast(3).expect("forecast"), fc[..3].to_vec());
        assert!(f.forecast(7).is_err(), "beyond the fitted horizon");
        f.set_strategy(Strategy::Direct { horizon: 8 });
        assert!(!f.is_fitted(), "a new strategy discards the fit");
    }

    #[test]
    fn errors_before_fit_and_on_bad_history() {
        let mut f = EsnForecaster::new(ForecasterParams::default()).expect("new");
        assert!(f.forecast(1).is_err());
        assert!(f.observe(1.0).is_err());
        assert!(f.fit(&[1.0; 5]).is_err());
        let mut h = vec![1.0; 40];
        h[3] = f64::NAN;
        assert!(f.fit(&h).is_err());
        assert!(!f.is_fitted());
        f.fit(&[1.0; 40]).expect("fit");
        assert!(f.observe(f64::INFINITY).is_err());
    }
}

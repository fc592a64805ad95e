//! A univariate ESN forecaster: fit on a history, forecast `h` steps ahead recursively. The
//! building block for the autoscaler's `predictive` policy (SPEC §3 lists an ESN among its
//! forecasters); it depends on nothing outside this module tree.
//!
//! Method (Jaeger's "generative mode"): the series is standardised with the history's mean and
//! population standard deviation (demand counts would saturate `tanh` otherwise), a reservoir is
//! driven by it and a ridge readout is fitted to predict the next value (teacher forcing, first
//! `warmup` states dropped). To forecast, the readout of the state after the last observation is
//! the one-step forecast; it is fed back as the next input, and so on for `h` steps.
//!
//! Refitting is cheap: the reservoir is drawn once in [`EsnForecaster::new`] (seeded) and kept,
//! so [`EsnForecaster::fit`] costs one pass over the history (`nnz(W)` multiply-adds per value)
//! and one `units × units` Cholesky solve — tens of microseconds for 50 units and a few hundred
//! points in release mode.
//!
//! Defaults ([`ForecasterParams::default`]) are echoflow's choice for short, noisy demand series,
//! not ReservoirPy's: 50 units, lr 0.5, sr 0.9 (short memory, stable free-running), every unit
//! reads the input (`input_connectivity = 1`, since one input feeding 10% of 50 units would leave
//! the readout 5 driven units), input scaling 0.5, ridge 1e-4, warm-up 10.

use ndarray::Array2;

use super::deep::{Reservoir, Workspace};
use super::error::{ReservoirError, Result};
use super::esn::fit_readout;
use super::init::{LayerInit, init_reservoir};
use super::readout::Readout;

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

    /// Fits the readout on `history` (oldest first), replacing any previous fit.
    pub fn fit(&mut self, history: &[f64]) -> Result<()> {
        let n = history.len();
        if n < self.params.warmup + 3 {
            return Err(ReservoirError::Input(format!(
                "history of {n} values, the forecaster needs at least warm-up + 3 = {}",
                self.params.warmup + 3
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
        let z = Array2::from_shape_fn((n, 1), |(t, _)| (history[t] - mean) / scale);
        let readout = fit_readout(
            &self.reservoir,
            z.slice(ndarray::s![..n - 1, ..]),
            z.slice(ndarray::s![1.., ..]),
            self.params.warmup,
            self.params.ridge,
        )?;
        let mut state = vec![0.0; self.reservoir.state_len()];
        let mut ws = Workspace::default();
        for v in z.iter() {
            self.reservoir.step(&mut state, &[*v], &mut ws)?;
        }
        self.fitted = Some(Fitted {
            readout,
            mean,
            scale,
            state,
        });
        Ok(())
    }

    /// Forecasts the next `horizon` values after the history last fitted.
    pub fn forecast(&self, horizon: usize) -> Result<Vec<f64>> {
        let f = self
            .fitted
            .as_ref()
            .ok_or_else(|| ReservoirError::Input("forecast before fit".into()))?;
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
    fn errors_before_fit_and_on_bad_history() {
        let mut f = EsnForecaster::new(ForecasterParams::default()).expect("new");
        assert!(f.forecast(1).is_err());
        assert!(f.fit(&[1.0; 5]).is_err());
        let mut h = vec![1.0; 40];
        h[3] = f64::NAN;
        assert!(f.fit(&h).is_err());
        assert!(!f.is_fitted());
    }
}

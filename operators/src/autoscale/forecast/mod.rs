//! Forecasters of the predictive policy (SPEC §3 `predictive`: linear regression, moving average,
//! Holt exponential smoothing and an ESN), behind one trait.
//!
//! The series is one value per autoscaler evaluation (the offered load in replicas' worth, see
//! [`crate::autoscale::utilization::FleetView::load_in_replicas`]). Each forecaster predicts `h`
//! evaluations ahead from what it has observed. The earlier system's `ScalingOptimizer`
//! (`shared/sources/001_*.txt`) names linear regression, moving average and exponential
//! smoothing with prediction-accuracy monitoring; the models here are the textbook ones
//! (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, §8.2 for Holt's linear
//! trend method; Jaeger's echo state network in generative mode for the ESN), their defaults
//! echoflow's:
//! - [`linear::LinearRegression`]: least squares line over the last `window` (8) points,
//!   extrapolated;
//! - [`moving_average::MovingAverage`]: mean of the last `window` (4) points, flat;
//! - [`holt::Holt`]: double exponential smoothing, α = 0.5, β = 0.2, damped extrapolation off;
//! - [`esn::Esn`]: a 50-unit ESN on [`crate::reservoir`], direct readouts refitted every 64 evaluations
//!   on the last 256;
//! - [`persistence::Persistence`]: the last value, flat (the naive forecast; echoflow addition
//!   beyond SPEC §3's four, so that the blend can fall back to "the load stays as now", which
//!   on step-held load is exact except at the steps);
//! - [`ensemble::Ensemble`]: online accuracy of each at the horizon and the best or an
//!   error-weighted blend, with a confidence.

pub mod ensemble;
pub mod esn;
pub mod holt;
pub mod linear;
pub mod moving_average;
pub mod persistence;

/// A one-dimensional forecaster. Implementations are deterministic state machines.
pub trait Forecaster {
    /// A short name (`linear`, `moving_average`, `holt`, `esn`, …).
    fn name(&self) -> &'static str;
    /// Announces the largest horizon that will be asked for, so that a forecaster whose
    /// forecasts are costly can compute them once per observation (the ESN does). Optional:
    /// the default ignores it, and any horizon may still be asked for.
    fn reserve_horizon(&mut self, _h: usize) {}
    /// Consumes the next observation.
    fn observe(&mut self, y: f64);
    /// The forecast `h ≥ 1` steps after the last observation; `None` until it has enough data.
    fn forecast(&self, h: usize) -> Option<f64>;
}

impl<F: Forecaster + ?Sized> Forecaster for Box<F> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn reserve_horizon(&mut self, h: usize) {
        (**self).reserve_horizon(h)
    }
    fn observe(&mut self, y: f64) {
        (**self).observe(y)
    }
    fn forecast(&self, h: usize) -> Option<f64> {
        (**self).forecast(h)
    }
}

/// The built-in forecasters with their defaults: linear regression, moving average, Holt, the
/// ESN (which is left out only if its reservoir cannot be drawn, which the defaults rule out; a
/// test checks that all five are present) and persistence.
pub fn default_forecasters() -> Vec<Box<dyn Forecaster + Send>> {
    let mut v: Vec<Box<dyn Forecaster + Send>> = vec![
        Box::new(linear::LinearRegression::new(8)),
        Box::new(moving_average::MovingAverage::new(4)),
        Box::new(holt::Holt::new(0.5, 0.2)),
    ];
    if let Ok(esn) = esn::Esn::new(esn::EsnParams::default()) {
        v.push(Box::new(esn));
    }
    v.push(Box::new(persistence::Persistence::default()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_ensemble_has_all_five_forecasters() {
        let names: Vec<&str> = default_forecasters().iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            ["linear", "moving_average", "holt", "esn", "persistence"]
        );
    }
}

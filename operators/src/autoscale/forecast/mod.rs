//! Forecasters of the predictive policy (SPEC §3 `predictive`), behind one trait so that an
//! Echo State Network forecaster built on [`crate::reservoir`] plugs in later.
//!
//! The series is one value per autoscaler evaluation (the offered load in replicas' worth, see
//! [`crate::autoscale::utilization::FleetView::load_in_replicas`]). Each forecaster predicts `h`
//! evaluations ahead from what it has observed. The earlier system's `ScalingOptimizer`
//! (`shared/sources/001_*.txt`) names the same three models — linear regression, moving average,
//! exponential smoothing — with prediction-accuracy monitoring; the models here are the textbook
//! ones (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, §8.2 for Holt's linear
//! trend method), their defaults echoflow's:
//! - [`linear::LinearRegression`]: least squares line over the last `window` (8) points,
//!   extrapolated;
//! - [`moving_average::MovingAverage`]: mean of the last `window` (4) points, flat;
//! - [`holt::Holt`]: double exponential smoothing, α = 0.5, β = 0.2, damped extrapolation off;
//! - [`ensemble::Ensemble`]: online accuracy of each at the horizon and the best or an
//!   error-weighted blend, with a confidence.

pub mod ensemble;
pub mod holt;
pub mod linear;
pub mod moving_average;

/// A one-dimensional forecaster. Implementations are deterministic state machines.
pub trait Forecaster {
    /// A short name (`linear`, `moving_average`, `holt`, `esn`, …).
    fn name(&self) -> &'static str;
    /// Consumes the next observation.
    fn observe(&mut self, y: f64);
    /// The forecast `h ≥ 1` steps after the last observation; `None` until it has enough data.
    fn forecast(&self, h: usize) -> Option<f64>;
}

impl<F: Forecaster + ?Sized> Forecaster for Box<F> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn observe(&mut self, y: f64) {
        (**self).observe(y)
    }
    fn forecast(&self, h: usize) -> Option<f64> {
        (**self).forecast(h)
    }
}

/// The three built-in forecasters with their defaults.
pub fn default_forecasters() -> Vec<Box<dyn Forecaster + Send>> {
    vec![
        Box::new(linear::LinearRegression::new(8)),
        Box::new(moving_average::MovingAverage::new(4)),
        Box::new(holt::Holt::new(0.5, 0.2)),
    ]
}

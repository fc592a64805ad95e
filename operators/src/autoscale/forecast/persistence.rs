//! Persistence (the naive forecast): the load stays as it is now, ŷₜ₊ₕ = yₜ at every horizon
//! (Hyndman & Athanasopoulos, FPP3 §5.2, "naïve method"). It is the benchmark a forecaster has
//! to beat on a random walk, and on step-held load (SPEC §5 plays each trace row as a step)
//! it is exact except at the steps. As an ensemble member it lets the inverse-error blend fall
//! back to "no change" when the trend models extrapolate steps they cannot predict.

use super::Forecaster;

/// The last observation, forecast flat.
///
/// ```
/// use echoflow_operators::autoscale::forecast::{Forecaster, persistence::Persistence};
/// let mut f = Persistence::default();
/// assert_eq!(f.forecast(1), None);
/// for y in [1.0, 5.0, 2.0] { f.observe(y); }
/// assert_eq!(f.forecast(7), Some(2.0));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Persistence {
    last: Option<f64>,
}

impl Forecaster for Persistence {
    fn name(&self) -> &'static str {
        "persistence"
    }

    fn observe(&mut self, y: f64) {
        self.last = Some(y);
    }

    fn forecast(&self, _h: usize) -> Option<f64> {
        self.last
    }
}

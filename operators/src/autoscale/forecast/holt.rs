//! Holt's linear trend method (double exponential smoothing; Hyndman & Athanasopoulos, FPP3
//! §8.2): level ℓₜ = α·yₜ + (1 − α)(ℓₜ₋₁ + bₜ₋₁), trend bₜ = β(ℓₜ − ℓₜ₋₁) + (1 − β)·bₜ₋₁,
//! forecast ŷₜ₊ₕ = ℓₜ + h·bₜ. Initialised with ℓ₁ = y₁, b₁ = y₂ − y₁ at the second point (the
//! usual simple initialisation). Exact on a line and on a constant once initialised.

use super::Forecaster;

/// Holt double exponential smoothing.
///
/// ```
/// use echoflow_operators::autoscale::forecast::{Forecaster, holt::Holt};
/// let mut f = Holt::new(0.5, 0.2);
/// for x in 0..20 { f.observe(3.0 * x as f64); }
/// assert!((f.forecast(2).unwrap() - 63.0).abs() < 1e-9);
/// ```
#[derive(Debug, Clone)]
pub struct Holt {
    alpha: f64,
    beta: f64,
    level: f64,
    trend: f64,
    first: Option<f64>,
    n: u64,
}

impl Holt {
    /// Smoothing factors α (level) and β (trend), each clamped to [0, 1].
    pub fn new(alpha: f64, beta: f64) -> Self {
        Holt {
            alpha: alpha.clamp(0.0, 1.0),
            beta: beta.clamp(0.0, 1.0),
            level: 0.0,
            trend: 0.0,
            first: None,
            n: 0,
        }
    }
}

impl Forecaster for Holt {
    fn name(&self) -> &'static str {
        "holt"
    }

    fn observe(&mut self, y: f64) {
        self.n += 1;
        match (self.n, self.first) {
            (1, _) => self.first = Some(y),
            (2, Some(y1)) => {
                self.level = y;
                self.trend = y - y1;
            }
            _ => {
                let prev = self.level;
                self.level = self.alpha * y + (1.0 - self.alpha) * (prev + self.trend);
                self.trend = self.beta * (self.level - prev) + (1.0 - self.beta) * self.trend;
            }
        }
    }

    fn forecast(&self, h: usize) -> Option<f64> {
        match self.n {
            0 => None,
            1 => self.first,
            _ => Some(self.level + h as f64 * self.trend),
        }
    }
}

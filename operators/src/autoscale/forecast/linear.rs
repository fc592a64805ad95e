//! Linear regression over a sliding window: the least-squares line through the last `window`
//! points (x = 0, 1, …), extrapolated `h` steps past the last one. Exact on a line; on a constant
//! it returns the constant. Needs two points.

use std::collections::VecDeque;

use super::Forecaster;

/// Least-squares line over the last `window` observations.
///
/// ```
/// use echoflow_operators::autoscale::forecast::{Forecaster, linear::LinearRegression};
/// let mut f = LinearRegression::new(8);
/// for x in 0..10 { f.observe(2.0 * x as f64 + 1.0); }
/// assert!((f.forecast(3).unwrap() - 25.0).abs() < 1e-9); // x = 12
/// ```
#[derive(Debug, Clone)]
pub struct LinearRegression {
    window: usize,
    buf: VecDeque<f64>,
}

impl LinearRegression {
    /// A regression over the last `window` points (at least 2).
    pub fn new(window: usize) -> Self {
        let window = window.max(2);
        LinearRegression {
            window,
            buf: VecDeque::with_capacity(window + 1),
        }
    }
}

impl Forecaster for LinearRegression {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn observe(&mut self, y: f64) {
        self.buf.push_back(y);
        if self.buf.len() > self.window {
            self.buf.pop_front();
        }
    }

    fn forecast(&self, h: usize) -> Option<f64> {
        let n = self.buf.len();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let mean_x = (nf - 1.0) / 2.0;
        let mean_y = self.buf.iter().sum::<f64>() / nf;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (i, y) in self.buf.iter().enumerate() {
            let dx = i as f64 - mean_x;
            sxy += dx * (y - mean_y);
            sxx += dx * dx;
        }
        let slope = sxy / sxx;
        Some(mean_y + slope * (nf - 1.0 + h as f64 - mean_x))
    }
}

//! Moving average: the mean of the last `window` observations, forecast flat at every horizon.
//! Exact on a constant; lags a trend by (window − 1) / 2 + h steps.

use std::collections::VecDeque;

use super::Forecaster;

/// Mean of the last `window` observations.
///
/// ```
/// use echoflow_operators::autoscale::forecast::{Forecaster, moving_average::MovingAverage};
/// let mut f = MovingAverage::new(4);
/// for y in [1.0, 2.0, 3.0, 4.0, 5.0] { f.observe(y); }
/// assert_eq!(f.forecast(5), Some(3.5));
/// ```
#[derive(Debug, Clone)]
pub struct MovingAverage {
    window: usize,
    buf: VecDeque<f64>,
}

impl MovingAverage {
    /// A mean over the last `window` points (at least 1).
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        MovingAverage {
            window,
            buf: VecDeque::with_capacity(window + 1),
        }
    }
}

impl Forecaster for MovingAverage {
    fn name(&self) -> &'static str {
        "moving_average"
    }

    fn observe(&mut self, y: f64) {
        self.buf.push_back(y);
        if self.buf.len() > self.window {
            self.buf.pop_front();
        }
    }

    fn forecast(&self, _h: usize) -> Option<f64> {
        (!self.buf.is_empty()).then(|| self.buf.iter().sum::<f64>() / self.buf.len() as f64)
    }
}

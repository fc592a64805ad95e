//! Forecast accuracy: NRMSE as SPEC §5 defines it, RMSE divided by the population standard
//! deviation of the targets, over every element (all rows and columns pooled).
//!
//! ReservoirPy's `observables.nrmse` divides by `max − min` by default; echoflow follows the SPEC
//! (the same definition is used for `reservoir eval` and the simulator's `forecast_nrmse`).

use ndarray::{ArrayView2, s};

/// `sqrt(mean((y − p)²)) / std(y)`; `NaN` when there is nothing to score, `∞` for constant
/// targets predicted with an error.
pub fn nrmse(targets: ArrayView2<'_, f64>, predictions: ArrayView2<'_, f64>) -> f64 {
    let n = targets.len().min(predictions.len());
    if n == 0 || targets.dim() != predictions.dim() {
        return f64::NAN;
    }
    let mean = targets.iter().sum::<f64>() / n as f64;
    let var = targets.iter().map(|y| (y - mean) * (y - mean)).sum::<f64>() / n as f64;
    let mse = targets
        .iter()
        .zip(predictions.iter())
        .map(|(y, p)| (y - p) * (y - p))
        .sum::<f64>()
        / n as f64;
    mse.sqrt() / var.sqrt()
}

/// The NRMSE of next-step predictions (SPEC §5, `reservoir eval`): `predictions` row `t` is the
/// forecast of `series` row `t + 1`; rows `warmup..T−1` of the predictions are scored against rows
/// `warmup+1..T` of the series. `None` when no row is left to score or the shapes differ.
pub fn next_step_nrmse(
    series: ArrayView2<'_, f64>,
    predictions: ArrayView2<'_, f64>,
    warmup: usize,
) -> Option<f64> {
    let t = series.nrows();
    if warmup + 1 >= t || predictions.dim() != series.dim() {
        return None;
    }
    Some(nrmse(
        series.slice(s![warmup + 1..t, ..]),
        predictions.slice(s![warmup..t - 1, ..]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_the_definition() {
        let y = array![[1.0], [2.0], [3.0], [4.0]];
        let p = array![[1.5], [2.0], [3.0], [3.5]];
        // RMSE = sqrt(0.5 / 4), population std = sqrt(1.25).
        let want = (0.125f64).sqrt() / 1.25f64.sqrt();
        assert!((nrmse(y.view(), p.view()) - want).abs() < 1e-15);
        assert_eq!(nrmse(y.view(), y.view()), 0.0);
        assert!(nrmse(y.view(), array![[1.0]].view()).is_nan());
        // Next-step: prediction row t scores against row t + 1.
        let shifted = array![[2.0], [3.0], [4.0], [0.0]];
        assert_eq!(next_step_nrmse(y.view(), shifted.view(), 0), Some(0.0));
        assert_eq!(next_step_nrmse(y.view(), shifted.view(), 3), None);
    }
}

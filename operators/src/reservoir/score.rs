//! Forecast accuracy: NRMSE as SPEC §5 defines it, RMSE divided by the population standard
//! deviation of the targets, over every element (all rows and columns pooled).
//!
//! ReservoirPy's `observables.nrmse` divides by `max − min` by default; echoflow follows the SPEC
//! (the same definition is used for `reservoir eval` and the simulator's `forecast_nrmse`).

use ndarray::ArrayView2;

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
    }
}

//! Ridge (Tikhonov) regression of the readout, with a bias, as ReservoirPy 0.4.2's `Ridge` node
//! computes it (`reservoirpy/nodes/ridge.py`, `worker`/`master`).
//!
//! Over the training rows (states `x`, targets `y`, warm-up rows left out by the caller):
//!
//! ```text
//! XXᵀ = Σ xxᵀ − n·μₓμₓᵀ        YXᵀ = Σ xyᵀ − n·μₓμ_yᵀ
//! Wout = (XXᵀ + λI)⁻¹ · YXᵀ      bout = μ_y − μₓ·Wout
//! ```
//!
//! i.e. the bias is fitted by centring (not by a column of ones), and `λ` does not shrink it.
//! ReservoirPy solves with `scipy.linalg.solve(assume_a="sym")` (LAPACK `sysv`); echoflow uses a
//! Cholesky factorisation from nalgebra (the matrix is symmetric positive definite for λ > 0),
//! falls back to an SVD least-squares solve when Cholesky fails (λ = 0 with collinear states), and
//! then checks the solution numerically: the relative residual
//! `‖A·W − B‖ / (‖A‖·‖W‖ + ‖B‖)` must stay below [`RESIDUAL_TOLERANCE`], otherwise the fit is an
//! error rather than a silently wrong readout.
//!
//! Rows are added in blocks ([`RidgeAccumulator::add_rows`]); the sums use GEMMs per block, so
//! the result depends on the blocks the caller uses, deterministically. `Σ xxᵀ` is symmetric:
//! only its upper triangle is accumulated, in strips of 128 columns (each GEMM computes rows
//! `i0..i0 + 128`, columns `i0..`), which halves the work of the fit's largest product; each
//! entry is the same dot product in the same order as in the full product.

use nalgebra::DMatrix;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};

use super::error::{ReservoirError, Result};
use super::readout::Readout;

/// Columns per strip of the symmetric Σ xxᵀ update ([`RidgeAccumulator::add_rows`]).
const GRAM_STRIP: usize = 128;

/// Largest relative residual accepted from the solver.
pub const RESIDUAL_TOLERANCE: f64 = 1e-8;

/// Running sums for a ridge fit.
#[derive(Clone, Debug)]
pub struct RidgeAccumulator {
    xtx: Array2<f64>,
    xty: Array2<f64>,
    x_sum: Array1<f64>,
    y_sum: Array1<f64>,
    rows: usize,
}

impl RidgeAccumulator {
    /// An empty accumulator for `features` state entries and `outputs` targets.
    pub fn new(features: usize, outputs: usize) -> Self {
        RidgeAccumulator {
            xtx: Array2::zeros((features, features)),
            xty: Array2::zeros((features, outputs)),
            x_sum: Array1::zeros(features),
            y_sum: Array1::zeros(outputs),
            rows: 0,
        }
    }

    /// Rows added so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds a block of rows: `x` is rows × features, `y` rows × outputs.
    pub fn add_rows(&mut self, x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<()> {
        if x.nrows() != y.nrows() || x.ncols() != self.xtx.nrows() || y.ncols() != self.xty.ncols()
        {
            return Err(ReservoirError::Input(format!(
                "ridge block of {:?} states and {:?} targets, expected (n, {}) and (n, {})",
                x.dim(),
                y.dim(),
                self.xtx.nrows(),
                self.xty.ncols()
            )));
        }
        // Σ xxᵀ is symmetric: only the strips on and above the diagonal blocks are computed
        // (rows i0..i1, columns i0..), about half the multiply-adds of the full product.
        let f = x.ncols();
        for i0 in (0..f).step_by(GRAM_STRIP) {
            let i1 = (i0 + GRAM_STRIP).min(f);
            general_mat_mul(
                1.0,
                &x.slice(s![.., i0..i1]).t(),
                &x.slice(s![.., i0..]),
                1.0,
                &mut self.xtx.slice_mut(s![i0..i1, i0..]),
            );
        }
        general_mat_mul(1.0, &x.t(), &y, 1.0, &mut self.xty);
        self.x_sum += &x.sum_axis(Axis(0));
        self.y_sum += &y.sum_axis(Axis(0));
        self.rows += x.nrows();
        Ok(())
    }

    /// Solves for the readout with regularisation `ridge` (λ ≥ 0).
    pub fn solve(&self, ridge: f64) -> Result<Readout> {
        if !(ridge >= 0.0 && ridge.is_finite()) {
            return Err(ReservoirError::Parameter {
                name: "ridge",
                value: ridge.to_string(),
                allowed: "a finite number ≥ 0",
            });
        }
        if self.rows == 0 {
            return Err(ReservoirError::Input(
                "no training rows left after the warm-up".into(),
            ));
        }
        let (f, o) = self.xty.dim();
        let n = self.rows as f64;
        let mx = &self.x_sum / n;
        let my = &self.y_sum / n;
        // Only the upper triangle of xtx is accumulated (add_rows).
        let a = DMatrix::from_fn(f, f, |i, j| {
            let (i, j) = (i.min(j), i.max(j));
            self.xtx[(i, j)] - n * (mx[i] * mx[j]) + if i == j { ridge } else { 0.0 }
        });
        let b = DMatrix::from_fn(f, o, |i, j| self.xty[(i, j)] - n * (mx[i] * my[j]));
        let w = solve_checked(&a, &b)?;
        let wout = Array2::from_shape_fn((f, o), |(i, j)| w[(i, j)]);
        let bout = (0..o)
            .map(|j| my[j] - (0..f).fold(0.0, |acc, i| acc + mx[i] * wout[(i, j)]))
            .collect();
        Readout::new(wout, bout)
    }
}

fn relative_residual(a: &DMatrix<f64>, w: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    let r = a * w - b;
    r.norm() / (a.norm() * w.norm() + b.norm()).max(f64::MIN_POSITIVE)
}

/// Solves the symmetric system `a · w = b`: Cholesky, else SVD; then the residual check.
fn solve_checked(a: &DMatrix<f64>, b: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    if !a.iter().chain(b.iter()).all(|v| v.is_finite()) {
        return Err(ReservoirError::Solve(
            "non-finite states or targets in the normal equations".into(),
        ));
    }
    let w = match a.clone().cholesky() {
        Some(ch) => ch.solve(b),
        None => a
            .clone()
            .svd(true, true)
            .solve(b, f64::EPSILON * a.norm())
            .map_err(|e| ReservoirError::Solve(format!("SVD fallback failed: {e}")))?,
    };
    let res = relative_residual(a, &w, b);
    if res.is_nan() || res > RESIDUAL_TOLERANCE {
        return Err(ReservoirError::Solve(format!(
            "relative residual {res:.3e} above {RESIDUAL_TOLERANCE:.0e}: the states are too \
             ill-conditioned; raise --ridge"
        )));
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn recovers_a_linear_map_with_bias() {
        // y = 2·x0 − x1 + 3, exactly.
        let x = array![[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 5.0], [-1.0, 2.0]];
        let y = x
            .map_axis(Axis(1), |r| 2.0 * r[0] - r[1] + 3.0)
            .insert_axis(Axis(1));
        let mut acc = RidgeAccumulator::new(2, 1);
        acc.add_rows(x.slice(ndarray::s![..2, ..]), y.slice(ndarray::s![..2, ..]))
            .expect("block");
        acc.add_rows(x.slice(ndarray::s![2.., ..]), y.slice(ndarray::s![2.., ..]))
            .expect("block");
        let r = acc.solve(0.0).expect("solve");
        assert!((r.wout()[(0, 0)] - 2.0).abs() < 1e-12);
        assert!((r.wout()[(1, 0)] + 1.0).abs() < 1e-12);
        assert!((r.bout()[0] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_upper_triangle_is_the_full_products() {
        // 300 features: three strips, the last one partial; 1,100 rows: several of the GEMM's
        // depth panels.
        let x = Array2::from_shape_fn((1100, 300), |(r, c)| ((r * 31 + c * 17) as f64).sin() * 1.7);
        let y = Array2::from_shape_fn((1100, 2), |(r, c)| (r + c) as f64);
        let mut acc = RidgeAccumulator::new(300, 2);
        acc.add_rows(x.view(), y.view()).expect("block");
        acc.add_rows(x.view(), y.view()).expect("block");
        let mut full = Array2::zeros((300, 300));
        general_mat_mul(1.0, &x.t(), &x, 1.0, &mut full);
        general_mat_mul(1.0, &x.t(), &x, 1.0, &mut full);
        for i in 0..300 {
            for j in i..300 {
                assert_eq!(
                    acc.xtx[(i, j)].to_bits(),
                    full[(i, j)].to_bits(),
                    "({i}, {j})"
                );
            }
        }
    }

    #[test]
    fn ridge_shrinks_weights_not_the_bias() {
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let y = array![[10.0], [10.0], [10.0], [10.0]];
        let mut acc = RidgeAccumulator::new(1, 1);
        acc.add_rows(x.view(), y.view()).expect("block");
        let r = acc.solve(100.0).expect("solve");
        assert_eq!(r.wout()[(0, 0)], 0.0);
        assert_eq!(r.bout()[0], 10.0);
    }

    #[test]
    fn collinear_states_without_ridge_fall_back_to_svd() {
        let x = array![[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]];
        let y = array![[1.0], [2.0], [3.0]];
        let mut acc = RidgeAccumulator::new(2, 1);
        acc.add_rows(x.view(), y.view()).expect("block");
        let r = acc.solve(0.0).expect("pseudo-inverse solution");
        let pred = 1.0 * r.wout()[(0, 0)] + 2.0 * r.wout()[(1, 0)] + r.bout()[0];
        assert!((pred - 1.0).abs() < 1e-9);
    }

    #[test]
    fn errors_on_bad_input() {
        let mut acc = RidgeAccumulator::new(2, 1);
        assert!(acc.solve(1.0).is_err());
        assert!(
            acc.add_rows(array![[1.0]].view(), array![[1.0]].view())
                .is_err()
        );
        acc.add_rows(array![[1.0, f64::NAN]].view(), array![[1.0]].view())
            .expect("shape is fine");
        assert!(acc.solve(1.0).is_err());
        assert!(RidgeAccumulator::new(1, 1).solve(-1.0).is_err());
    }
}

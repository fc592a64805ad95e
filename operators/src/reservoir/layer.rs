//! One leaky-integrator reservoir layer (ReservoirPy's `Reservoir` node, 0.4.2).
//!
//! The update is SPEC §3's, in ReservoirPy's orientation (`Win` is units × inputs):
//!
//! ```text
//! x ← (1 − lr) · x + lr · tanh(W · x + Win · u + bias)
//! ```
//!
//! evaluated as ReservoirPy's `Reservoir._step` writes it (`reservoirpy/nodes/reservoir.py`):
//! `pre = (W·x + Win·u) + bias`, then `(1 − lr)·x + lr·tanh(pre)`, element by element, with
//! `lr` and `bias` per unit (a scalar in the model file is broadcast). Only `tanh` is supported,
//! ReservoirPy's default activation.
//!
//! The step is done in three passes over the block — pre-activations, then [`super::tanh`]'s
//! branch-free `tanh` over the whole block, then the leaky blend — so that each pass vectorises.
//! Deviation: that `tanh` is within 1e-15 of libm's rather than correctly rounded (see its
//! module); the parity tests against ReservoirPy (1e-9) are unaffected.
//!
//! States are processed as a block of `n` columns laid out unit-major (see
//! [`super::weights`]); one column is one independent sequence, and each column's arithmetic is
//! the same whatever `n` is.

use super::error::{ReservoirError, Result};
use super::tanh::tanh_in_place;
use super::weights::Weights;

/// Model-file key of `base` for layer `k` (`W`, `W_1`, …).
pub(crate) fn key(base: &str, k: usize) -> String {
    if k == 0 {
        base.to_string()
    } else {
        format!("{base}_{k}")
    }
}

/// One reservoir layer: recurrent weights, input weights, bias and leak rate per unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    w: Weights,
    win: Weights,
    bias: Vec<f64>,
    lr: Vec<f64>,
}

impl Layer {
    /// Builds layer `k` of a model (`k` only names the keys in errors), checking shapes:
    /// `W` is u×u, `Win` u×d, `bias` and `lr` have u entries and every `lr` is in \[0, 1\].
    pub fn new(k: usize, w: Weights, win: Weights, bias: Vec<f64>, lr: Vec<f64>) -> Result<Self> {
        let (u, c) = w.shape();
        if u != c {
            return Err(ReservoirError::Shape {
                key: key("W", k),
                expected: format!("({u}, {u})"),
                found: format!("({u}, {c})"),
            });
        }
        let (wr, d) = win.shape();
        if wr != u {
            return Err(ReservoirError::Shape {
                key: key("Win", k),
                expected: format!("({u}, d) to match {} ({u}, {u})", key("W", k)),
                found: format!("({wr}, {d})"),
            });
        }
        for (name, v) in [("bias", &bias), ("lr", &lr)] {
            if v.len() != u {
                return Err(ReservoirError::Shape {
                    key: key(name, k),
                    expected: format!("() or ({u},) to match {} ({u}, {u})", key("W", k)),
                    found: format!("({},)", v.len()),
                });
            }
        }
        if let Some(bad) = lr.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(ReservoirError::Array {
                key: key("lr", k),
                reason: format!("leak rate {bad} is outside [0, 1]"),
            });
        }
        let finite = w.is_finite() && win.is_finite() && bias.iter().all(|v| v.is_finite());
        if !finite {
            return Err(ReservoirError::Array {
                key: format!("{}/{}/{}", key("W", k), key("Win", k), key("bias", k)),
                reason: "non-finite weight".into(),
            });
        }
        Ok(Layer {
            w: w.compact(),
            win: win.compact(),
            bias,
            lr,
        })
    }

    /// Number of units.
    pub fn units(&self) -> usize {
        self.bias.len()
    }

    /// Input dimension (columns of `Win`).
    pub fn input_dim(&self) -> usize {
        self.win.shape().1
    }

    /// Recurrent weights (u×u).
    pub fn w(&self) -> &Weights {
        &self.w
    }

    /// Input weights (u×d).
    pub fn win(&self) -> &Weights {
        &self.win
    }

    /// Bias per unit.
    pub fn bias(&self) -> &[f64] {
        &self.bias
    }

    /// Leak rate per unit.
    pub fn lr(&self) -> &[f64] {
        &self.lr
    }

    /// The sub-layer made of the first `units` units (and all inputs), `W` rescaled by `w_scale`.
    pub(crate) fn sub_layer(&self, units: usize, w_scale: f64) -> Layer {
        let mut w = self.w.block(units, units);
        w.scale(w_scale);
        Layer {
            w: w.compact(),
            win: self.win.block(units, self.input_dim()).compact(),
            bias: self.bias[..units].to_vec(),
            lr: self.lr[..units].to_vec(),
        }
    }

    /// Rows `lo..hi` of one step of one sequence, out of place: `x_new[i − lo]` gets unit `i`'s
    /// new value from the old state `x_old` (all `units` values) and `input` (`input_dim`
    /// values); `pre`, `tmp`: scratch of at least `hi − lo`. The same operations, value for
    /// value, as [`Layer::step_cols`] with one column (the row-parallel step's share; `lo`,
    /// `hi` from [`Layer::row_split`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step_rows(
        &self,
        lo: usize,
        hi: usize,
        x_old: &[f64],
        input: &[f64],
        x_new: &mut [f64],
        pre: &mut [f64],
        tmp: &mut [f64],
    ) {
        let k = hi - lo;
        let (pre, tmp) = (&mut pre[..k], &mut tmp[..k]);
        self.w.mul_unit_rows(lo, hi, x_old, pre);
        self.win.mul_unit_rows(lo, hi, input, tmp);
        for ((p, &t), &b) in pre.iter_mut().zip(&*tmp).zip(&self.bias[lo..hi]) {
            *p = (*p + t) + b;
        }
        tanh_in_place(pre);
        for (((xn, &a), &lr), &xo) in x_new[..k]
            .iter_mut()
            .zip(&*pre)
            .zip(&self.lr[lo..hi])
            .zip(&x_old[lo..hi])
        {
            *xn = (1.0 - lr) * xo + lr * a;
        }
    }

    /// `t + 1` unit boundaries splitting this layer into `t` contiguous row ranges for
    /// [`Layer::step_rows`], balanced by the stored entries of `W` (some may be empty).
    pub(crate) fn row_split(&self, t: usize) -> Vec<usize> {
        self.w.row_split(t)
    }

    /// Advances `n` state columns by one step.
    ///
    /// `x`: `units` rows of stride `ld`; `input`: `input_dim` rows of stride `ld_in`;
    /// `pre`, `tmp`: scratch of at least `units × n`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step_cols(
        &self,
        x: &mut [f64],
        ld: usize,
        input: &[f64],
        ld_in: usize,
        n: usize,
        pre: &mut [f64],
        tmp: &mut [f64],
    ) {
        if n == 0 {
            return;
        }
        let u = self.units();
        self.w.mul_cols(x, ld, n, pre, n);
        self.win.mul_cols(input, ld_in, n, tmp, n);
        let pre = &mut pre[..u * n];
        if n == 1 {
            // The general passes below with one column, without the per-unit inner loops.
            for ((p, &t), &b) in pre.iter_mut().zip(&tmp[..u]).zip(&self.bias) {
                *p = (*p + t) + b;
            }
            tanh_in_place(pre);
            for (i, (&a, &lr)) in pre.iter().zip(&self.lr).enumerate() {
                x[i * ld] = (1.0 - lr) * x[i * ld] + lr * a;
            }
            return;
        }
        for ((p, t), &b) in pre
            .chunks_exact_mut(n)
            .zip(tmp.chunks_exact(n))
            .zip(&self.bias)
        {
            for (pc, &tc) in p.iter_mut().zip(t) {
                *pc = (*pc + tc) + b;
            }
        }
        // The whole pre-activation block at once, so that the branch-free tanh vectorises even
        // for one column (n = 1, sequential evaluation).
        tanh_in_place(pre);
        for (i, (a, &lr)) in pre.chunks_exact(n).zip(&self.lr).enumerate() {
            let keep = 1.0 - lr;
            for (xc, &ac) in x[i * ld..i * ld + n].iter_mut().zip(a) {
                *xc = keep * *xc + lr * ac;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservoir::tanh::tanh;
    use ndarray::array;

    fn layer() -> Layer {
        Layer::new(
            0,
            Weights::Dense(array![[0.5, -0.2], [0.1, 0.3]]),
            Weights::Dense(array![[1.0], [-1.0]]),
            vec![0.1, 0.0],
            vec![0.3, 1.0],
        )
        .expect("valid layer")
    }

    #[test]
    fn one_step_matches_the_formula() {
        let l = layer();
        let mut x = [0.2, -0.4];
        let (mut pre, mut tmp) = ([0.0; 2], [0.0; 2]);
        l.step_cols(&mut x, 1, &[0.5], 1, 1, &mut pre, &mut tmp);
        let p0 = (0.5 * 0.2 + -0.2 * -0.4 + 0.5) + 0.1;
        let p1 = 0.1 * 0.2 + 0.3 * -0.4 - 0.5;
        assert_eq!(x[0], 0.7 * 0.2 + 0.3 * tanh(p0));
        assert_eq!(x[1], 0.0 * -0.4 + tanh(p1));
        assert!((x[0] - (0.7 * 0.2 + 0.3 * f64::tanh(p0))).abs() <= 1e-15);
        assert!((x[1] - f64::tanh(p1)).abs() <= 1e-15);
    }

    #[test]
    fn columns_are_independent() {
        let l = layer();
        let mut both = [0.2, 0.9, -0.4, 0.1]; // 2 units × 2 columns
        let (mut pre, mut tmp) = ([0.0; 4], [0.0; 4]);
        l.step_cols(&mut both, 2, &[0.5, -2.0], 2, 2, &mut pre, &mut tmp);
        let mut a = [0.2, -0.4];
        let mut b = [0.9, 0.1];
        l.step_cols(&mut a, 1, &[0.5], 1, 1, &mut pre, &mut tmp);
        l.step_cols(&mut b, 1, &[-2.0], 1, 1, &mut pre, &mut tmp);
        assert_eq!(both, [a[0], b[0], a[1], b[1]]);
    }

    #[test]
    fn shape_errors_name_the_key_and_both_shapes() {
        let e = Layer::new(
            1,
            Weights::Dense(ndarray::Array2::zeros((3, 3))),
            Weights::Dense(ndarray::Array2::zeros((2, 1))),
            vec![0.0; 3],
            vec![1.0; 3],
        )
        .expect_err("Win rows differ from units");
        let msg = e.to_string();
        assert!(
            msg.contains("Win_1") && msg.contains("(2, 1)") && msg.contains("(3, 3)"),
            "{msg}"
        );
        let e = Layer::new(
            0,
            Weights::Dense(ndarray::Array2::zeros((2, 2))),
            Weights::Dense(ndarray::Array2::zeros((2, 1))),
            vec![0.0; 2],
            vec![1.5; 2],
        )
        .expect_err("lr out of range");
        assert!(e.to_string().contains("lr"));
    }
}

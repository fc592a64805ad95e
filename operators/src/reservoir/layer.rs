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
use super::kernels::Leak;
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
        self.win.mul_unit_rows(lo, hi, input, tmp);
        if !self
            .w
            .leaky_unit_rows(lo, hi, x_old, self.leak(lo, hi, tmp), x_new)
        {
            self.step_rows_unfused(lo, hi, x_old, tmp, x_new, pre);
        }
    }

    /// [`Layer::step_rows`] in three passes (`W·x` into `pre`, pre-activation and `tanh` over
    /// the block, leaky blend), `Win·u` already in `winu`: the path of dense `W` and of CPUs
    /// without the fused kernel, and the reference the fused kernel is tested against.
    fn step_rows_unfused(
        &self,
        lo: usize,
        hi: usize,
        x_old: &[f64],
        winu: &[f64],
        x_new: &mut [f64],
        pre: &mut [f64],
    ) {
        let k = hi - lo;
        let (pre, tmp) = (&mut pre[..k], &winu[..k]);
        self.w.mul_unit_rows(lo, hi, x_old, pre);
        for ((p, &t), &b) in pre.iter_mut().zip(tmp).zip(&self.bias[lo..hi]) {
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

    /// The terms that follow `W·x` in rows `lo..hi` of a one-column step, `Win·u` in `winu`.
    fn leak<'a>(&'a self, lo: usize, hi: usize, winu: &'a [f64]) -> Leak<'a> {
        Leak {
            winu: &winu[..hi - lo],
            bias: &self.bias[lo..hi],
            lr: &self.lr[lo..hi],
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
        self.win.mul_cols(input, ld_in, n, tmp, n);
        if n == 1
            && ld == 1
            && self
                .w
                .leaky_unit_rows(0, u, &x[..u], self.leak(0, u, tmp), &mut pre[..u])
        {
            // Fused into `pre` (the old state is read until the last row): copy it back.
            x[..u].copy_from_slice(&pre[..u]);
            return;
        }
        self.w.mul_cols(x, ld, n, pre, n);
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
    use crate::reservoir::weights::Csr;
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

    /// A random sparse layer: `u` units (up to four SELL windows), row lengths 0..=40 (empty
    /// rows, odd lengths, short last slices), repeated column indices, weights in ±2, bias in
    /// ±3, leak rates 0, 1 or between; `Win` u × d with about half its entries stored.
    fn sparse_layer(u: usize, d: usize, seed: u64) -> Layer {
        let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            (z >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut csr = |rows: usize, cols: usize, max_len: usize, scale: f64| {
            let (mut indptr, mut idx, mut data) = (vec![0], Vec::new(), Vec::new());
            for _ in 0..rows {
                for _ in 0..(next() * (max_len + 1) as f64) as usize {
                    idx.push(((next() * cols as f64) as usize).min(cols - 1));
                    data.push(scale * (2.0 * next() - 1.0));
                }
                indptr.push(data.len());
            }
            Weights::Sparse(Csr::new(rows, cols, indptr, idx, data).expect("valid CSR"))
        };
        let w = csr(u, u, 40.min(u + 3), 2.0);
        let win = csr(u, d, d, 1.0);
        let bias: Vec<f64> = (0..u).map(|_| 6.0 * next() - 3.0).collect();
        let lr: Vec<f64> = (0..u)
            .map(|i| match i % 5 {
                0 => 0.0,
                1 => 1.0,
                _ => next(),
            })
            .collect();
        Layer { w, win, bias, lr }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The fused step (AVX2 and SELL where the CPU has them) gives the bits of the three
        /// unfused passes: one step over the whole layer (`step_cols`, one column), and over
        /// the row-parallel split (`step_rows`), for random sparse layers, start states
        /// (`scale` up to 1e3 saturates `tanh`; 1e300 overflows the products to ±∞) and inputs.
        #[test]
        fn fused_step_equals_unfused_bit_for_bit(
            u in 1usize..=200,
            d in 1usize..=3,
            seed in 0u64..10_000,
            scale in proptest::prop_oneof![
                proptest::strategy::Just(1.0f64),
                proptest::strategy::Just(1e3),
                proptest::strategy::Just(1e300),
            ],
        ) {
            use crate::reservoir::kernels::sell::WINDOW;
            let l = sparse_layer(u, d, seed);
            let mix = |i: usize| {
                let h = (i as u64 ^ seed).wrapping_mul(0xD1B5_4A32_D192_ED03);
                ((h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * scale
            };
            let x_old: Vec<f64> = (0..u).map(mix).collect();
            let input: Vec<f64> = (0..d).map(|i| mix(u + i)).collect();
            // NaN (∞ − ∞ at 1e300) counts as one value: payloads are not part of the contract.
            let bits = |v: &[f64]| {
                v.iter().map(|f| if f.is_nan() { u64::MAX } else { f.to_bits() }).collect::<Vec<_>>()
            };
            let mut winu = vec![0.0; u];
            l.win.mul_unit_rows(0, u, &input, &mut winu);
            let mut want = vec![f64::NAN; u];
            l.step_rows_unfused(0, u, &x_old, &winu, &mut want, &mut vec![0.0; u]);
            // One column through step_cols (fused where it applies).
            let mut x = x_old.clone();
            let (mut pre, mut tmp) = (vec![0.0; u], vec![0.0; u]);
            l.step_cols(&mut x, 1, &input, 1, 1, &mut pre, &mut tmp);
            proptest::prop_assert_eq!(bits(&x), bits(&want));
            // Two identical columns (the batched, unfused path): the same bits again.
            let mut x2: Vec<f64> = x_old.iter().flat_map(|&v| [v, v]).collect();
            let in2: Vec<f64> = input.iter().flat_map(|&v| [v, v]).collect();
            let (mut pre2, mut tmp2) = (vec![0.0; 2 * u], vec![0.0; 2 * u]);
            l.step_cols(&mut x2, 2, &in2, 2, 2, &mut pre2, &mut tmp2);
            proptest::prop_assert_eq!(bits(&x2.iter().step_by(2).copied().collect::<Vec<_>>()), bits(&want));
            // Row ranges of whole windows (the row-parallel step's shares).
            for t in 1..=3 {
                let b = l.row_split(t);
                let mut got = vec![f64::NAN; u];
                for k in 0..t {
                    let (lo, hi) = (b[k], b[k + 1]);
                    proptest::prop_assert!(lo == hi || lo % WINDOW == 0);
                    l.step_rows(lo, hi, &x_old, &input, &mut got[lo..hi], &mut pre, &mut tmp);
                }
                proptest::prop_assert_eq!(bits(&got), bits(&want));
            }
        }
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

//! The linear readout `y = x · Wout + bout` (ReservoirPy's `Ridge` node orientation: `Wout` is
//! state_len × outputs, `bout` has one entry per output).
//!
//! Each output is `Σ_i x_i·w_i` in `super::kernels`'s fixed order (term `i` into partial sum
//! `i mod 8`, a fixed pairwise combine; portable and AVX2 kernels give the same bits), then
//! `+ bout`, whatever the number of state columns, so batched and one-at-a-time readouts agree bit
//! for bit. (Until the 8-lane kernels the sum was one serial chain `0 + x₀·w₀ + x₁·w₁ + …`: the
//! same value to rounding, ReservoirPy's NumPy `dot` being a third order again.)

use ndarray::Array2;

use super::error::{ReservoirError, Result};
use super::kernels::dense_dot;

/// Trained output weights and bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    wout: Array2<f64>,
    wout_t: Vec<f64>,
    bout: Vec<f64>,
}

impl Readout {
    /// Builds a readout from `Wout` (state_len × o) and `bout` (o).
    pub fn new(wout: Array2<f64>, bout: Vec<f64>) -> Result<Self> {
        let (s, o) = wout.dim();
        if bout.len() != o {
            return Err(ReservoirError::Shape {
                key: "bout".into(),
                expected: format!("() or ({o},) or (1, {o}) to match Wout ({s}, {o})"),
                found: format!("({},)", bout.len()),
            });
        }
        if !wout.iter().chain(&bout).all(|v| v.is_finite()) {
            return Err(ReservoirError::Array {
                key: "Wout/bout".into(),
                reason: "non-finite weight".into(),
            });
        }
        let wout_t = wout.t().iter().copied().collect();
        Ok(Readout { wout, wout_t, bout })
    }

    /// `Wout` (state_len × o).
    pub fn wout(&self) -> &Array2<f64> {
        &self.wout
    }

    /// `bout` (o).
    pub fn bout(&self) -> &[f64] {
        &self.bout
    }

    /// Number of state entries read.
    pub fn input_len(&self) -> usize {
        self.wout.nrows()
    }

    /// Number of outputs.
    pub fn output_dim(&self) -> usize {
        self.bout.len()
    }

    /// `out[o][c] = Σ_i state[i][c] · Wout[i][o] + bout[o]` for `n` columns; `state` has
    /// `input_len` rows of stride `ld`, `out` has `output_dim` rows of stride `n`.
    pub(crate) fn apply_cols(&self, state: &[f64], ld: usize, n: usize, out: &mut [f64]) {
        let s = self.input_len();
        for (o, &b) in self.bout.iter().enumerate() {
            let w = &self.wout_t[o * s..(o + 1) * s];
            for (c, r) in out[o * n..(o + 1) * n].iter_mut().enumerate() {
                *r = dense_dot(w, &state[c..], ld) + b;
            }
        }
    }

    /// The readout of one state.
    pub fn apply(&self, state: &[f64]) -> Result<Vec<f64>> {
        if state.len() != self.input_len() {
            return Err(ReservoirError::Input(format!(
                "state of {} values, the readout reads {}",
                state.len(),
                self.input_len()
            )));
        }
        let mut out = vec![0.0; self.output_dim()];
        self.apply_cols(state, 1, 1, &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn applies_weights_then_bias() {
        let r = Readout::new(array![[1.0, 0.5], [2.0, -1.0]], vec![0.25, 1.0]).expect("readout");
        assert_eq!(r.apply(&[1.0, 3.0]).expect("apply"), vec![7.25, -1.5]);
        assert!(r.apply(&[1.0]).is_err());
    }

    #[test]
    fn bout_length_is_checked() {
        let e = Readout::new(array![[1.0], [2.0]], vec![0.0, 0.0]).expect_err("bad bout");
        assert!(e.to_string().contains("bout"));
    }
}

//! Stacked ("deep") reservoirs: layer `k ≥ 1` is driven by the new state of layer `k − 1`, and the
//! readout reads the concatenation of every layer's state.
//!
//! This is the deep ESN of Gallicchio, Micheli & Pedrelli (2017), written in ReservoirPy as
//! `r1 >> r2 >> …` with the readout fed `[r1, r2, …]`: at each step layer 0 consumes the input,
//! then layer 1 consumes layer 0's state of the same step, and so on. A one-layer [`Reservoir`] is
//! the ordinary (shallow) ESN. The model file stores layer `k`'s arrays under the keys suffixed
//! `_k` (SPEC §5), so `Win_k` is `u_k × u_{k−1}`.
//!
//! The state of a reservoir is one vector of `state_len() = Σ u_k` entries, layer 0 first: the
//! order in which the readout's `Wout` rows are laid out. A block of `n` states is stored
//! unit-major (`state_len` rows of stride `ld`), see [`super::weights`].

use super::error::{ReservoirError, Result};
use super::layer::{Layer, key};

/// Scratch buffers for stepping a reservoir; reuse one per thread to avoid allocations.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pre: Vec<f64>,
    tmp: Vec<f64>,
}

impl Workspace {
    fn ensure(&mut self, len: usize) {
        if self.pre.len() < len {
            self.pre.resize(len, 0.0);
            self.tmp.resize(len, 0.0);
        }
    }
}

/// A stack of one or more layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Reservoir {
    layers: Vec<Layer>,
    offsets: Vec<usize>,
}

impl Reservoir {
    /// Stacks `layers`; layer `k ≥ 1` must take `units(k − 1)` inputs.
    pub fn new(layers: Vec<Layer>) -> Result<Self> {
        if layers.is_empty() {
            return Err(ReservoirError::MissingKey { key: "W".into() });
        }
        for k in 1..layers.len() {
            let (prev, this) = (layers[k - 1].units(), &layers[k]);
            if this.input_dim() != prev {
                return Err(ReservoirError::Shape {
                    key: key("Win", k),
                    expected: format!(
                        "({}, {prev}): layer {k} reads the {prev} units of layer {}",
                        this.units(),
                        k - 1
                    ),
                    found: format!("({}, {})", this.units(), this.input_dim()),
                });
            }
        }
        let mut offsets = vec![0];
        for l in &layers {
            offsets.push(offsets[offsets.len() - 1] + l.units());
        }
        Ok(Reservoir { layers, offsets })
    }

    /// The layers, input side first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Input dimension of the first layer (what each request step must provide).
    pub fn input_dim(&self) -> usize {
        self.layers[0].input_dim()
    }

    /// Length of the concatenated state (Σ units).
    pub fn state_len(&self) -> usize {
        self.offsets[self.layers.len()]
    }

    /// Where each layer's units start in the concatenated state (`depth + 1` entries).
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The first `depth` layers (at least one).
    pub fn truncated(&self, depth: usize) -> Reservoir {
        let depth = depth.clamp(1, self.depth());
        Reservoir {
            layers: self.layers[..depth].to_vec(),
            offsets: self.offsets[..=depth].to_vec(),
        }
    }

    /// A one-layer reservoir made of the first `units` units of layer 0, its `W` multiplied by
    /// `w_scale`.
    pub(crate) fn sub_reservoir(&self, units: usize, w_scale: f64) -> Reservoir {
        let units = units.clamp(1, self.layers[0].units());
        Reservoir {
            layers: vec![self.layers[0].sub_layer(units, w_scale)],
            offsets: vec![0, units],
        }
    }

    /// Advances `n` state columns by one step: `state` has `state_len` rows of stride `ld`,
    /// `input` has `input_dim` rows of stride `ld_in`.
    pub(crate) fn step_cols(
        &self,
        state: &mut [f64],
        ld: usize,
        input: &[f64],
        ld_in: usize,
        n: usize,
        ws: &mut Workspace,
    ) {
        let widest = self.layers.iter().map(Layer::units).max().unwrap_or(0);
        ws.ensure(widest * n);
        for (k, layer) in self.layers.iter().enumerate() {
            let (before, rest) = state.split_at_mut(self.offsets[k] * ld);
            let x = &mut rest[..layer.units() * ld];
            if k == 0 {
                layer.step_cols(x, ld, input, ld_in, n, &mut ws.pre, &mut ws.tmp);
            } else {
                let prev = &before[self.offsets[k - 1] * ld..];
                layer.step_cols(x, ld, prev, ld, n, &mut ws.pre, &mut ws.tmp);
            }
        }
    }

    /// Advances one state (length `state_len`) by one input step (length `input_dim`).
    pub fn step(&self, state: &mut [f64], input: &[f64], ws: &mut Workspace) -> Result<()> {
        if state.len() != self.state_len() || input.len() != self.input_dim() {
            return Err(ReservoirError::Input(format!(
                "state of {} and input of {} values, expected {} and {}",
                state.len(),
                input.len(),
                self.state_len(),
                self.input_dim()
            )));
        }
        self.step_cols(state, 1, input, 1, 1, ws);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservoir::tanh::tanh;
    use crate::reservoir::weights::Weights;
    use ndarray::{Array2, array};

    fn layer(u: usize, d: usize, w: f64) -> Layer {
        Layer::new(
            0,
            Weights::Dense(Array2::from_elem((u, u), w)),
            Weights::Dense(Array2::from_elem((u, d), 0.5)),
            vec![0.0; u],
            vec![0.5; u],
        )
        .expect("valid layer")
    }

    #[test]
    fn second_layer_reads_the_first_layers_new_state() {
        let r = Reservoir::new(vec![layer(2, 1, 0.1), layer(3, 2, -0.2)]).expect("stack");
        assert_eq!((r.state_len(), r.offsets()), (5, &[0, 2, 5][..]));
        let mut s = vec![0.0; 5];
        let mut ws = Workspace::default();
        r.step(&mut s, &[1.0], &mut ws).expect("step");
        let a = 0.5 * tanh(0.5);
        assert_eq!(&s[..2], &[a, a]);
        let b = 0.5 * tanh(0.5 * a + 0.5 * a);
        assert_eq!(&s[2..], &[b, b, b]);
    }

    #[test]
    fn mismatched_stack_names_the_key() {
        let e = Reservoir::new(vec![layer(2, 1, 0.1), layer(3, 4, 0.1)]).expect_err("mismatch");
        assert!(e.to_string().contains("Win_1"), "{e}");
    }

    #[test]
    fn truncation_and_sub_reservoir_keep_leading_units() {
        let r = Reservoir::new(vec![layer(4, 1, 0.1), layer(3, 4, 0.1)]).expect("stack");
        assert_eq!(r.truncated(1).state_len(), 4);
        let s = r.sub_reservoir(2, 2.0);
        assert_eq!(s.state_len(), 2);
        assert_eq!(s.layers()[0].w().to_dense(), array![[0.2, 0.2], [0.2, 0.2]]);
    }
}

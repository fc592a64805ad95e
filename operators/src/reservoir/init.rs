//! Seeded initialisation of reservoir layers, following ReservoirPy 0.4.2's defaults
//! (`reservoirpy/nodes/reservoir.py`, `reservoirpy/mat_gen.py`).
//!
//! | matrix | ReservoirPy 0.4.2 | echoflow |
//! |---|---|---|
//! | `W` (u×u) | `normal`: `round(rc_connectivity·u²)` positions drawn without replacement, values N(0, 1), CSR; scaled to `sr` | the same |
//! | `Win` (u×d) | `bernoulli`: `round(input_connectivity·u·d)` positions, values ±1 with p = ½, × `input_scaling` | the same |
//! | `bias` | `0.0` (scalar) | `0.0`, or ±`bias_scaling` on every unit when that is not 0 (ReservoirPy's `bernoulli` bias initialiser) |
//!
//! ReservoirPy's own defaults are `lr = 1.0`, `sr = 1.0`, `input_scaling = 1.0`,
//! `input_connectivity = rc_connectivity = 0.1`. echoflow's [`LayerInit::default`] keeps them
//! except `lr = 0.3` and `sr = 1.25`, the Mackey–Glass settings of issue #5 (and of ReservoirPy's
//! own Mackey–Glass tutorial), because echoflow's built-in model forecasts Mackey–Glass.
//!
//! ## Spectral radius
//!
//! `W` is scaled by `sr / ρ(W)`, with `ρ` the largest eigenvalue modulus of the non-symmetric
//! `W`. ReservoirPy asks ARPACK (`scipy.sparse.linalg.eigs(k=1, which="LM")`) for it. echoflow:
//! - up to [`SCHUR_MAX_UNITS`] (64) units, every eigenvalue of the dense `W` from nalgebra's real
//!   Schur decomposition (Hessenberg reduction + Francis double-shift QR), O(u³) but instant at
//!   that size ([`spectral_radius_schur`]);
//! - above, the Krylov–Schur method (Arnoldi with thick restarts, [`spectral`]) on the sparse
//!   `W`: complex arithmetic, so a dominant complex-conjugate pair is found like a real
//!   eigenvalue; a residual test, not a step count, ends it; and if it does not converge it
//!   falls back to the dense Schur form, so the radius is never a power-iteration guess. At
//!   2,000 units this replaced a 110 s dense Schur decomposition (BENCHMARKS.md, "Reservoir
//!   engine"); `operators/tests/reservoir_spectral.rs` checks both methods agree to 1e-8.
//!
//! Where ReservoirPy clamps a zero radius to 1e-8 and scales by `sr / 1e-8`, echoflow leaves a
//! nilpotent `W` unscaled (scaling it would only saturate every unit).
//!
//! ## Randomness (deviation)
//!
//! ReservoirPy draws from NumPy's PCG64; echoflow draws from ChaCha20 (`rand_chacha`), one
//! stream per (seed, layer, matrix), so matrices are a pure function of those three and do not
//! depend on the order they are built in. The same seed therefore gives a different (equally
//! distributed) reservoir than ReservoirPy: to reproduce a ReservoirPy model exactly, load its
//! `.npz` (see [`super::npz`]).

use nalgebra::{DMatrix, Schur};
use rand::seq::index::sample;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::deep::Reservoir;
use super::error::{ReservoirError, Result};
use super::layer::Layer;
use super::weights::{Csr, Weights};

pub mod spectral;

/// Largest reservoir whose spectral radius is computed by the dense Schur form; above it,
/// Krylov–Schur ([`spectral::largest_modulus`]).
pub const SCHUR_MAX_UNITS: usize = 64;

/// Hyper-parameters of one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInit {
    /// Number of units (`--units`; config `reservoir.units`, default 100).
    pub units: usize,
    /// Leak rate in (0, 1] (`--lr`, default 0.3).
    pub lr: f64,
    /// Spectral radius of `W` (`--sr`, default 1.25).
    pub sr: f64,
    /// Scale of the ±1 input weights (default 1.0).
    pub input_scaling: f64,
    /// Fraction of non-zero input weights in (0, 1] (default 0.1).
    pub input_connectivity: f64,
    /// Fraction of non-zero recurrent weights in (0, 1] (default 0.1).
    pub rc_connectivity: f64,
    /// Magnitude of the ±1 bias per unit; 0 gives ReservoirPy's default zero bias.
    pub bias_scaling: f64,
}

impl Default for LayerInit {
    fn default() -> Self {
        LayerInit {
            units: 100,
            lr: 0.3,
            sr: 1.25,
            input_scaling: 1.0,
            input_connectivity: 0.1,
            rc_connectivity: 0.1,
            bias_scaling: 0.0,
        }
    }
}

impl LayerInit {
    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: f64, allowed| {
            Err(ReservoirError::Parameter {
                name,
                value: value.to_string(),
                allowed,
            })
        };
        if self.units == 0 {
            return Err(ReservoirError::Parameter {
                name: "units",
                value: "0".into(),
                allowed: "at least 1",
            });
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return bad("lr", self.lr, "in (0, 1]");
        }
        if !(self.sr >= 0.0 && self.sr.is_finite()) {
            return bad("sr", self.sr, "a finite number ≥ 0");
        }
        if !self.input_scaling.is_finite() {
            return bad("input_scaling", self.input_scaling, "a finite number");
        }
        if !self.bias_scaling.is_finite() {
            return bad("bias_scaling", self.bias_scaling, "a finite number");
        }
        for (name, c) in [
            ("input_connectivity", self.input_connectivity),
            ("rc_connectivity", self.rc_connectivity),
        ] {
            if !(c > 0.0 && c <= 1.0) {
                return bad(name, c, "in (0, 1]");
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Matrix {
    W = 0,
    Win = 1,
    Bias = 2,
}

/// The random stream of one matrix of one layer: a pure function of (seed, layer, matrix).
fn stream(seed: u64, layer: usize, m: Matrix) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(layer as u64 * 4 + m as u64);
    rng
}

/// A standard normal draw (Box–Muller, cosine branch).
fn normal(rng: &mut ChaCha20Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `round(connectivity · rows · cols)` distinct positions, values from `value`, as CSR.
fn random_sparse(
    rows: usize,
    cols: usize,
    connectivity: f64,
    rng: &mut ChaCha20Rng,
    mut value: impl FnMut(&mut ChaCha20Rng) -> f64,
) -> Csr {
    let total = rows * cols;
    let k = ((connectivity * total as f64).round() as usize).min(total);
    let mut pos = sample(rng, total, k).into_vec();
    pos.sort_unstable();
    let mut indptr = vec![0usize; rows + 1];
    let mut indices = Vec::with_capacity(k);
    let mut data = Vec::with_capacity(k);
    for &p in &pos {
        indptr[p / cols + 1] += 1;
        indices.push(p % cols);
        data.push(value(rng));
    }
    for i in 0..rows {
        indptr[i + 1] += indptr[i];
    }
    // Positions are distinct, sorted and in range, so the arrays are consistent by construction.
    Csr::new(rows, cols, indptr, indices, data)
        .unwrap_or_else(|e| panic!("random_sparse built an inconsistent CSR: {e}"))
}

/// The spectral radius `max |λ|` of a square matrix: the dense Schur form up to
/// [`SCHUR_MAX_UNITS`], Krylov–Schur above (falling back to the Schur form if it does not
/// converge).
///
/// ```
/// use echoflow_operators::reservoir::{Weights, spectral_radius};
/// // A rotation by 90° scaled by 2: eigenvalues ±2i, which power iteration cannot separate.
/// let w = Weights::Dense(ndarray::array![[0.0, -2.0], [2.0, 0.0]]);
/// assert!((spectral_radius(&w).unwrap() - 2.0).abs() < 1e-12);
/// ```
pub fn spectral_radius(w: &Weights) -> Result<f64> {
    let n = check_square_finite(w)?;
    if n > SCHUR_MAX_UNITS
        && let Some(rho) = spectral::largest_modulus(w, &spectral::ArnoldiParams::default())
    {
        return Ok(rho);
    }
    spectral_radius_schur(w)
}

fn check_square_finite(w: &Weights) -> Result<usize> {
    let (r, c) = w.shape();
    if r != c {
        return Err(ReservoirError::Eigen(format!(
            "matrix is {r}×{c}, not square"
        )));
    }
    if !w.is_finite() {
        return Err(ReservoirError::Eigen(
            "matrix has non-finite entries".into(),
        ));
    }
    Ok(r)
}

/// The spectral radius from every eigenvalue of the dense matrix (real Schur form), at any
/// size: O(u³) time and a dense u × u copy.
pub fn spectral_radius_schur(w: &Weights) -> Result<f64> {
    let r = check_square_finite(w)?;
    if r == 0 {
        return Ok(0.0);
    }
    let dense = w.to_dense();
    let m = DMatrix::from_fn(r, r, |i, j| dense[(i, j)]);
    let schur = Schur::try_new(m, f64::EPSILON, 1000 * r.max(10)).ok_or_else(|| {
        ReservoirError::Eigen(format!("Schur iteration did not converge ({r}×{r})"))
    })?;
    Ok(schur
        .complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .fold(0.0, f64::max))
}

/// Below this radius `W` is treated as nilpotent and left unscaled.
const MIN_RADIUS: f64 = 1e-8;

/// Initialises layer `layer` of a reservoir (its index keys the random streams).
pub fn init_layer(p: &LayerInit, input_dim: usize, seed: u64, layer: usize) -> Result<Layer> {
    p.validate()?;
    if input_dim == 0 {
        return Err(ReservoirError::Input("input dimension 0".into()));
    }
    let u = p.units;
    let mut rng = stream(seed, layer, Matrix::W);
    let mut w = Weights::Sparse(random_sparse(u, u, p.rc_connectivity, &mut rng, normal));
    let rho = spectral_radius(&w)?;
    if rho > MIN_RADIUS {
        w.scale(p.sr / rho);
    }
    let mut rng = stream(seed, layer, Matrix::Win);
    let scale = p.input_scaling;
    let win = random_sparse(u, input_dim, p.input_connectivity, &mut rng, |r| {
        if r.random::<bool>() { scale } else { -scale }
    });
    let mut rng = stream(seed, layer, Matrix::Bias);
    let bias = (0..u)
        .map(|_| match p.bias_scaling {
            0.0 => 0.0,
            s if rng.random::<bool>() => s,
            s => -s,
        })
        .collect();
    Layer::new(layer, w, Weights::Sparse(win), bias, vec![p.lr; u])
}

/// Initialises a stack of `depth` identical-parameter layers (`depth = 1`: a plain ESN); layer
/// `k ≥ 1` reads layer `k − 1`'s units.
pub fn init_reservoir(
    p: &LayerInit,
    depth: usize,
    input_dim: usize,
    seed: u64,
) -> Result<Reservoir> {
    if depth == 0 {
        return Err(ReservoirError::Parameter {
            name: "depth",
            value: "0".into(),
            allowed: "at least 1",
        });
    }
    let layers = (0..depth)
        .map(|k| init_layer(p, if k == 0 { input_dim } else { p.units }, seed, k))
        .collect::<Result<Vec<_>>>()?;
    Reservoir::new(layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn spectral_radius_of_known_matrices() {
        let diag = Weights::Dense(array![[3.0, 0.0], [0.0, -4.0]]);
        assert!((spectral_radius(&diag).expect("eig") - 4.0).abs() < 1e-12);
        // Companion matrix of λ² − 2λ + 5: λ = 1 ± 2i, |λ| = √5.
        let comp = Weights::Dense(array![[2.0, -5.0], [1.0, 0.0]]);
        assert!((spectral_radius(&comp).expect("eig") - 5f64.sqrt()).abs() < 1e-12);
        let nil = Weights::Dense(array![[0.0, 1.0], [0.0, 0.0]]);
        assert!(spectral_radius(&nil).expect("eig") < 1e-12);
    }

    #[test]
    fn initialised_layer_has_the_requested_radius_and_density() {
        let p = LayerInit {
            units: 60,
            ..LayerInit::default()
        };
        let l = init_layer(&p, 2, 7, 0).expect("layer");
        assert_eq!(l.w().nnz(), 360);
        assert_eq!(l.win().nnz(), 12);
        let rho = spectral_radius(l.w()).expect("eig");
        assert!((rho - 1.25).abs() < 1e-10, "{rho}");
        assert!(
            l.win()
                .to_dense()
                .iter()
                .all(|&v| v == 0.0 || v.abs() == 1.0)
        );
        assert!(l.bias().iter().all(|&b| b == 0.0));
    }

    #[test]
    fn streams_are_keyed_by_seed_and_layer() {
        let p = LayerInit {
            units: 20,
            ..LayerInit::default()
        };
        let a = init_layer(&p, 1, 1, 0).expect("layer");
        assert_eq!(a, init_layer(&p, 1, 1, 0).expect("layer"));
        assert_ne!(a.w(), init_layer(&p, 1, 2, 0).expect("layer").w());
        assert_ne!(a.w(), init_layer(&p, 1, 1, 1).expect("layer").w());
    }

    #[test]
    fn rejects_bad_parameters() {
        for p in [
            LayerInit {
                units: 0,
                ..LayerInit::default()
            },
            LayerInit {
                lr: 0.0,
                ..LayerInit::default()
            },
            LayerInit {
                sr: f64::NAN,
                ..LayerInit::default()
            },
            LayerInit {
                rc_connectivity: 1.5,
                ..LayerInit::default()
            },
        ] {
            assert!(init_layer(&p, 1, 0, 0).is_err(), "{p:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn radius_is_invariant_to_scaling(seed in 0u64..1000, s in 0.1f64..10.0) {
            let mut rng = stream(seed, 0, Matrix::W);
            let mut w = Weights::Sparse(random_sparse(12, 12, 0.4, &mut rng, normal));
            let r = spectral_radius(&w).expect("eig");
            w.scale(s);
            let rs = spectral_radius(&w).expect("eig");
            prop_assert!((rs - s * r).abs() <= 1e-9 * (1.0 + s * r));
        }
    }
}

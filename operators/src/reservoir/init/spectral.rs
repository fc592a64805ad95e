//! The largest eigenvalue modulus of a large (sparse) non-symmetric matrix by the Krylov–Schur
//! method: Arnoldi with thick restarts (Stewart, "A Krylov–Schur algorithm for large
//! eigenproblems", SIAM J. Matrix Anal. Appl. 23(3), 2001; the same family as ARPACK's
//! implicitly restarted Arnoldi that ReservoirPy calls through `scipy.sparse.linalg.eigs(k=1,
//! which="LM")`).
//!
//! Algorithm. The Krylov decomposition `A·V = V·H + v·bᵀ` (V orthonormal, n × j) is extended by
//! Arnoldi steps — one product with the sparse `A` each, classical Gram–Schmidt applied twice —
//! up to `krylov_dim` columns. The small matrix `H` gets a complex Schur decomposition
//! `H = Q·T·Qᴴ` (nalgebra), whose diagonal is reordered by decreasing modulus with Givens swaps
//! (LAPACK `ztrexc`'s swap of adjacent diagonal entries). The first Ritz value `T₀₀` is an
//! eigenvalue of `A + E` with `‖E‖ = |(bᵀQ)₀|`; it is accepted when that residual is at most
//! `tol · |T₀₀|`. Otherwise the decomposition is truncated to the `keep` leading Schur vectors
//! (`V ← V·Q[:, ..keep]`, `H ← T[..keep, ..keep]`, `bᵀ ← (bᵀQ)[..keep]`) and extended again.
//!
//! Complex arithmetic throughout (the basis is complex): a complex-conjugate dominant pair needs
//! no 2 × 2 blocks, and the Schur form is triangular, so reordering is a sequence of 1 × 1 swaps.
//! The start vector is a fixed pseudo-random real vector (ChaCha20, seed
//! [`ArnoldiParams::START_SEED`]), so the result is deterministic.
//!
//! Defaults ([`ArnoldiParams::default`]): `krylov_dim` 64 and `keep` 32 (ARPACK's guidance is
//! `ncv ≥ 2·nev + 1`; a wide subspace and a thick restart matter here because the eigenvalues
//! of a random reservoir fill a disk and the largest is barely separated from the next), `tol`
//! 1e-13 (the eigenvalue's error is the residual times its condition number, which stays far
//! below 1e-8 relative for reservoir matrices; the tests check agreement with the full Schur
//! form to 1e-8), at most 2,000 restarts. Cost: `krylov_dim − keep` sparse products and
//! O(n · krylov_dim²) orthogonalisation per restart, against O(n³) for the dense Schur form.
//!
//! [`largest_modulus`] returns `None` when it does not converge (matrices whose dominant
//! eigenvalues are many and of equal modulus, e.g. a permutation): the caller falls back to the
//! dense Schur form, so the answer is never a guess. An exactly invariant Krylov subspace
//! (breakdown) ends the iteration with the exact eigenvalues of `H`.

use nalgebra::{Complex, DMatrix, Schur};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::reservoir::weights::Weights;

type C = Complex<f64>;

/// Tunables of [`largest_modulus`].
#[derive(Clone, Debug, PartialEq)]
pub struct ArnoldiParams {
    /// Largest Krylov subspace (capped at the matrix size).
    pub krylov_dim: usize,
    /// Schur vectors kept at a restart (at least 1, below `krylov_dim`).
    pub keep: usize,
    /// Relative residual at which the largest Ritz value is accepted.
    pub tol: f64,
    /// Restarts before giving up.
    pub max_restarts: usize,
}

impl ArnoldiParams {
    /// Seed of the start vector.
    pub const START_SEED: u64 = 0x5EC7_2A1D;
}

impl Default for ArnoldiParams {
    fn default() -> Self {
        ArnoldiParams {
            krylov_dim: 64,
            keep: 32,
            tol: 1e-13,
            max_restarts: 2000,
        }
    }
}

/// `y = A·x` for a real `A` and complex `x`.
fn matvec(a: &Weights, x: &[C], y: &mut [C]) {
    match a {
        Weights::Sparse(csr) => {
            let (ip, ix, d) = (csr.indptr(), csr.indices(), csr.data());
            for (i, yi) in y.iter_mut().enumerate() {
                let mut acc = C::new(0.0, 0.0);
                for p in ip[i]..ip[i + 1] {
                    acc += x[ix[p] as usize] * d[p];
                }
                *yi = acc;
            }
        }
        Weights::Dense(m) => {
            for (row, yi) in m.rows().into_iter().zip(y.iter_mut()) {
                let mut acc = C::new(0.0, 0.0);
                for (&aij, &xj) in row.iter().zip(x) {
                    acc += xj * aij;
                }
                *yi = acc;
            }
        }
    }
}

/// `Σ conj(a_i)·b_i`.
fn dot(a: &[C], b: &[C]) -> C {
    a.iter()
        .zip(b)
        .fold(C::new(0.0, 0.0), |s, (x, y)| s + x.conj() * y)
}

fn norm(a: &[C]) -> f64 {
    a.iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt()
}

/// Givens rotation of LAPACK `zlartg`: real `c`, complex `s` with
/// `[c s; −conj(s) c]·[f; g] = [r; 0]`.
fn lartg(f: C, g: C) -> (f64, C) {
    let (af, ag) = (f.norm(), g.norm());
    if ag == 0.0 {
        return (1.0, C::new(0.0, 0.0));
    }
    if af == 0.0 {
        return (0.0, g.conj() / ag);
    }
    let d = af.hypot(ag);
    (af / d, (f / af) * g.conj() / d)
}

/// `(x, y) ← (c·x + s·y, c·y − conj(s)·x)` elementwise (LAPACK `zrot`).
fn rot(x: &mut C, y: &mut C, c: f64, s: C) {
    let (a, b) = (*x, *y);
    *x = a * c + s * b;
    *y = b * c - s.conj() * a;
}

/// Swaps the adjacent diagonal entries `j`, `j + 1` of the upper-triangular `t`, keeping
/// `q·t·qᴴ` unchanged (LAPACK `ztrexc`, one step).
fn swap(t: &mut DMatrix<C>, q: &mut DMatrix<C>, j: usize) {
    let n = t.nrows();
    let (t11, t22) = (t[(j, j)], t[(j + 1, j + 1)]);
    let (c, s) = lartg(t[(j, j + 1)], t22 - t11);
    for col in j + 2..n {
        let (mut x, mut y) = (t[(j, col)], t[(j + 1, col)]);
        rot(&mut x, &mut y, c, s);
        t[(j, col)] = x;
        t[(j + 1, col)] = y;
    }
    for row in 0..j {
        let (mut x, mut y) = (t[(row, j)], t[(row, j + 1)]);
        rot(&mut x, &mut y, c, s.conj());
        t[(row, j)] = x;
        t[(row, j + 1)] = y;
    }
    t[(j, j)] = t22;
    t[(j + 1, j + 1)] = t11;
    for row in 0..q.nrows() {
        let (mut x, mut y) = (q[(row, j)], q[(row, j + 1)]);
        rot(&mut x, &mut y, c, s.conj());
        q[(row, j)] = x;
        q[(row, j + 1)] = y;
    }
}

/// Complex Schur form `h = q·t·qᴴ` with the diagonal of `t` in decreasing modulus; `None` if
/// the QR iteration does not converge or leaves `t` not triangular.
fn sorted_schur(h: DMatrix<C>) -> Option<(DMatrix<C>, DMatrix<C>)> {
    let m = h.nrows();
    let scale = h.iter().map(|z| z.norm()).fold(0.0, f64::max);
    let (mut q, mut t) = Schur::try_new(h, f64::EPSILON, 1000 * m.max(10))?.unpack();
    for j in 0..m.saturating_sub(1) {
        if t[(j + 1, j)].norm() > 1e-12 * scale {
            return None;
        }
        t[(j + 1, j)] = C::new(0.0, 0.0);
    }
    // Insertion sort by adjacent swaps: stable, O(m²) swaps of O(m) each.
    for i in 1..m {
        let mut j = i;
        while j > 0 && t[(j, j)].norm() > t[(j - 1, j - 1)].norm() {
            swap(&mut t, &mut q, j - 1);
            j -= 1;
        }
    }
    Some((q, t))
}

/// Largest modulus among the eigenvalues of a small complex matrix.
fn max_modulus(h: DMatrix<C>) -> Option<f64> {
    let m = h.nrows();
    if m == 0 {
        return Some(0.0);
    }
    let (_, t) = Schur::try_new(h, f64::EPSILON, 1000 * m.max(10))?.unpack();
    Some((0..m).map(|i| t[(i, i)].norm()).fold(0.0, f64::max))
}

/// The largest eigenvalue modulus of the square matrix `a` by Krylov–Schur; `None` when it did
/// not converge within `p.max_restarts` (see the module documentation). `a` must be square and
/// finite (the caller checks).
///
/// ```
/// use echoflow_operators::reservoir::Weights;
/// use echoflow_operators::reservoir::init::spectral::{ArnoldiParams, largest_modulus};
/// // Eigenvalues 0.5 and 1 ± 2i (a rotation block): |λ|max = √5.
/// let w = Weights::Dense(ndarray::array![[1.0, -2.0, 0.0], [2.0, 1.0, 0.0], [0.3, 0.1, 0.5]]);
/// let rho = largest_modulus(&w, &ArnoldiParams::default()).unwrap();
/// assert!((rho - 5f64.sqrt()).abs() < 1e-12);
/// ```
pub fn largest_modulus(a: &Weights, p: &ArnoldiParams) -> Option<f64> {
    let n = a.shape().0;
    if n == 0 {
        return Some(0.0);
    }
    let m = p.krylov_dim.clamp(2, n.max(2)).min(n);
    let k = p.keep.clamp(1, m.saturating_sub(1).max(1));
    let a_scale = match a {
        Weights::Sparse(c) => c.data().iter().map(|v| v * v).sum::<f64>().sqrt(),
        Weights::Dense(d) => d.iter().map(|v| v * v).sum::<f64>().sqrt(),
    };
    if a_scale == 0.0 {
        return Some(0.0);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(ArnoldiParams::START_SEED);
    let mut v0: Vec<C> = (0..n)
        .map(|_| C::new(rng.random::<f64>() - 0.5, 0.0))
        .collect();
    let n0 = norm(&v0);
    v0.iter_mut().for_each(|z| *z /= n0);
    let mut v: Vec<Vec<C>> = Vec::with_capacity(m + 1);
    v.push(v0);
    let mut h = DMatrix::<C>::zeros(m + 1, m);
    let mut w = vec![C::new(0.0, 0.0); n];
    let mut j0 = 0;
    for _ in 0..p.max_restarts {
        for j in j0..m {
            matvec(a, &v[j], &mut w);
            for _ in 0..2 {
                let coeffs: Vec<C> = v[..=j].iter().map(|vi| dot(vi, &w)).collect();
                for (vi, &c) in v[..=j].iter().zip(&coeffs) {
                    w.iter_mut().zip(vi).for_each(|(wk, &x)| *wk -= c * x);
                }
                for (i, c) in coeffs.into_iter().enumerate() {
                    h[(i, j)] += c;
                }
            }
            let beta = norm(&w);
            if beta <= 1e-14 * a_scale {
                // Invariant subspace: the eigenvalues of H are eigenvalues of A.
                return max_modulus(h.view((0, 0), (j + 1, j + 1)).into_owned());
            }
            h[(j + 1, j)] = C::new(beta, 0.0);
            v.push(w.iter().map(|z| z / beta).collect());
        }
        let (q, t) = sorted_schur(h.view((0, 0), (m, m)).into_owned())?;
        let b = h.view((m, 0), (1, m)) * &q;
        let theta = t[(0, 0)].norm();
        if b[(0, 0)].norm() <= p.tol * theta.max(f64::MIN_POSITIVE) {
            return Some(theta);
        }
        if m == n {
            // The whole space was spanned: H is similar to A.
            return Some(theta);
        }
        let last = v.pop()?;
        let kept: Vec<Vec<C>> = (0..k)
            .map(|c| {
                let mut x = vec![C::new(0.0, 0.0); n];
                for (l, vl) in v.iter().enumerate() {
                    let qlc = q[(l, c)];
                    x.iter_mut().zip(vl).for_each(|(xk, &y)| *xk += y * qlc);
                }
                x
            })
            .collect();
        v = kept;
        v.push(last);
        h.fill(C::new(0.0, 0.0));
        h.view_mut((0, 0), (k, k))
            .copy_from(&t.view((0, 0), (k, k)));
        for c in 0..k {
            h[(k, c)] = b[(0, c)];
        }
        j0 = k;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cplx(re: f64, im: f64) -> C {
        C::new(re, im)
    }

    #[test]
    fn sorted_schur_reconstructs_and_orders() {
        let h = DMatrix::from_fn(7, 7, |i, j| {
            cplx(
                ((i * 7 + j * 3) % 11) as f64 - 5.0,
                ((i + 2 * j) % 5) as f64 - 2.0,
            )
        });
        let (q, t) = sorted_schur(h.clone()).expect("schur");
        let back = &q * &t * q.adjoint();
        let err = (&back - &h).iter().map(|z| z.norm()).fold(0.0, f64::max);
        assert!(err < 1e-10, "reconstruction error {err}");
        for i in 1..7 {
            assert!(t[(i, i)].norm() <= t[(i - 1, i - 1)].norm());
            for j in 0..i {
                assert_eq!(t[(i, j)], cplx(0.0, 0.0));
            }
        }
        let unit = (&q.adjoint() * &q - DMatrix::<C>::identity(7, 7))
            .iter()
            .map(|z| z.norm())
            .fold(0.0, f64::max);
        assert!(unit < 1e-12, "{unit}");
    }

    #[test]
    fn lartg_zeroes_the_second_entry() {
        for (f, g) in [
            (cplx(1.0, 2.0), cplx(-3.0, 0.5)),
            (cplx(0.0, 0.0), cplx(2.0, -1.0)),
            (cplx(4.0, 0.0), cplx(0.0, 0.0)),
        ] {
            let (c, s) = lartg(f, g);
            let zero = -s.conj() * f + g * c;
            assert!(zero.norm() < 1e-14, "{zero}");
            assert!((c * c + s.norm_sqr() - 1.0).abs() < 1e-14);
        }
    }

    #[test]
    fn diagonal_nilpotent_and_zero_matrices() {
        let p = ArnoldiParams::default();
        let d = Weights::Dense(ndarray::Array2::from_diag(&ndarray::arr1(&[
            0.5, -3.0, 2.0, 1.0,
        ])));
        assert!((largest_modulus(&d, &p).expect("converges") - 3.0).abs() < 1e-13);
        let z = Weights::Dense(ndarray::Array2::zeros((5, 5)));
        assert_eq!(largest_modulus(&z, &p), Some(0.0));
        // A shift matrix: nilpotent, the Krylov space is invariant after n steps. The eigenvalue 0
        // of a 6 × 6 Jordan block is only determined to about ε^(1/6) ≈ 2e-3 by any method (the
        // dense Schur form included).
        let s = Weights::Dense(ndarray::Array2::from_shape_fn((6, 6), |(i, j)| {
            if j == i + 1 { 1.0 } else { 0.0 }
        }));
        assert!(largest_modulus(&s, &p).expect("converges") < 1e-2);
    }

    #[test]
    fn restarts_on_a_matrix_larger_than_the_subspace() {
        // Diagonal 1..=200 scaled, with a dominant rotation pair 250·(cos, sin) at the end.
        let n = 202;
        let mut a = ndarray::Array2::<f64>::zeros((n, n));
        for i in 0..200 {
            a[(i, i)] = (i + 1) as f64;
            a[(i, (i + 1) % 200)] = 0.5;
        }
        a[(200, 200)] = 150.0;
        a[(200, 201)] = -200.0;
        a[(201, 200)] = 200.0;
        a[(201, 201)] = 150.0;
        let p = ArnoldiParams {
            krylov_dim: 20,
            keep: 8,
            ..ArnoldiParams::default()
        };
        let rho = largest_modulus(&Weights::Dense(a), &p).expect("converges");
        assert!((rho - 250.0).abs() < 1e-9 * 250.0, "{rho}");
    }
}

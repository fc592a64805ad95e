//! Weight matrices of a reservoir: dense or CSR, and their products with a block of state columns.
//!
//! ReservoirPy keeps `W` (and `Win`) as SciPy CSR arrays when they are sparse and as NumPy arrays
//! otherwise; [`Weights`] mirrors that. Both representations compute the same numbers: a CSR
//! product sums only the stored entries of a row (SciPy's `csr_matvec` sums them left to right;
//! echoflow in eight interleaved partial sums, see below: the same value up to rounding), and a
//! dense product that skips exact zeros would add exact zeros only.
//!
//! ## Products and their reduction order (the batch-invariance contract)
//!
//! `Weights::mul_cols` computes `out = self · x` where `x` holds `n` state columns laid out
//! unit-major (row `j` of `x` is unit `j` of every column). Every output element is a sum whose
//! order depends only on the matrix, never on `n`, on the column's position or on the thread that
//! runs it:
//! - CSR: the row's stored entries in their stored order, entry `q` added to partial sum
//!   `q mod 8` (each starting at 0, no fused multiply-add), then
//!   `((s₀ + s₄) + (s₂ + s₆)) + ((s₁ + s₅) + (s₃ + s₇))`: eight independent dependency chains
//!   instead of one, which is what makes the one-sequence product fast; the batched product keeps
//!   the same eight partial sums per element. The kernels (portable and AVX2, bit-identical) are
//!   `super::kernels`'s; they rely on every stored column index being `< cols`, which every
//!   constructor of [`Csr`] guarantees;
//! - dense: `matrixmultiply`'s `dgemm` (through `ndarray::linalg::general_mat_mul`), whose
//!   micro-kernel accumulates each element over `k` in fixed blocks whatever the number of
//!   columns; the tests check it for 1 to 1000 columns.
//!
//! So evaluating one sequence alone (`n = 1`) or inside any batch gives bit-for-bit the same state.
//!
//! [`Weights::compact`] picks the representation: CSR when at most [`SPARSE_DENSITY`] of the
//! entries are non-zero (ReservoirPy's default `rc_connectivity` is 0.1), dense otherwise.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};

use super::kernels::sell::Sell;
use super::kernels::{self, CsrView, csr_mul_cols, csr_mul_unit_rows};

/// Rows per block of a row range (`Weights::mul_unit_rows`): the SELL layout's window.
pub const ROW_BLOCK: usize = kernels::sell::WINDOW;

/// Density at or below which [`Weights::compact`] stores a matrix as CSR.
pub const SPARSE_DENSITY: f64 = 0.3;

/// A compressed-sparse-row matrix (SciPy's layout: `indptr`, `indices`, `data`).
///
/// Column indices need not be sorted and may repeat (repeats add up), as in SciPy.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    /// The SELL-C-σ copy for the one-sequence AVX2 kernel (see [`super::kernels::sell`]);
    /// `None` when `cols > 65,536`. Rebuilt whenever `data` changes.
    sell: Option<Sell>,
    data: Vec<f64>,
}

impl Csr {
    /// The one place a `Csr` is assembled: every index must already be `< cols` (the kernels'
    /// unchecked gathers rely on it).
    fn assemble(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<f64>,
    ) -> Self {
        debug_assert!(indices.iter().all(|&j| (j as usize) < cols));
        let sell = Sell::new(rows, cols, &indptr, &indices, &data);
        Csr {
            rows,
            cols,
            indptr,
            indices,
            sell,
            data,
        }
    }

    /// Builds a CSR matrix, checking that the arrays are consistent.
    ///
    /// Returns the reason when they are not (the caller adds the key name).
    pub fn new(
        rows: usize,
        cols: usize,
        indptr: Vec<usize>,
        indices: Vec<usize>,
        data: Vec<f64>,
    ) -> Result<Self, String> {
        if indptr.len() != rows + 1 {
            return Err(format!(
                "indptr has {} entries, expected rows + 1 = {}",
                indptr.len(),
                rows + 1
            ));
        }
        if indices.len() != data.len() {
            return Err(format!(
                "indices has {} entries but data has {}",
                indices.len(),
                data.len()
            ));
        }
        if indptr[0] != 0 || indptr[rows] != data.len() {
            return Err(format!(
                "indptr must start at 0 and end at nnz = {}, found {}..{}",
                data.len(),
                indptr[0],
                indptr[rows]
            ));
        }
        if let Some(w) = indptr.windows(2).position(|w| w[0] > w[1]) {
            return Err(format!("indptr decreases at row {w}"));
        }
        if cols > u32::MAX as usize {
            return Err(format!("{cols} columns is more than supported"));
        }
        if let Some(&bad) = indices.iter().find(|&&j| j >= cols) {
            return Err(format!(
                "column index {bad} out of range for {cols} columns"
            ));
        }
        let indices = indices.into_iter().map(|j| j as u32).collect();
        Ok(Csr::assemble(rows, cols, indptr, indices, data))
    }

    /// The CSR form of a dense matrix, keeping its non-zero entries in row-major order.
    pub fn from_dense(a: ArrayView2<'_, f64>) -> Self {
        let (rows, cols) = a.dim();
        let mut indptr = Vec::with_capacity(rows + 1);
        let mut indices = Vec::new();
        let mut data = Vec::new();
        indptr.push(0);
        for row in a.rows() {
            for (j, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    indices.push(j as u32);
                    data.push(v);
                }
            }
            indptr.push(data.len());
        }
        Csr::assemble(rows, cols, indptr, indices, data)
    }

    /// The dense form (repeated entries added up).
    pub fn to_dense(&self) -> Array2<f64> {
        let mut a = Array2::zeros((self.rows, self.cols));
        for i in 0..self.rows {
            for p in self.indptr[i]..self.indptr[i + 1] {
                a[(i, self.indices[p] as usize)] += self.data[p];
            }
        }
        a
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// Row pointers (`rows + 1` entries).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Column index of each stored entry.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Value of each stored entry.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    fn view(&self) -> CsrView<'_> {
        CsrView {
            rows: self.rows,
            cols: self.cols,
            indptr: &self.indptr,
            indices: &self.indices,
            sell: self.sell.as_ref(),
            data: &self.data,
        }
    }
}

/// A weight matrix, dense or CSR.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// Row-major dense matrix.
    Dense(Array2<f64>),
    /// Compressed sparse rows.
    Sparse(Csr),
}

impl Weights {
    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Weights::Dense(a) => a.dim(),
            Weights::Sparse(c) => c.shape(),
        }
    }

    /// Stored entries (all of them for a dense matrix).
    pub fn nnz(&self) -> usize {
        match self {
            Weights::Dense(a) => a.len(),
            Weights::Sparse(c) => c.nnz(),
        }
    }

    /// The dense form.
    pub fn to_dense(&self) -> Array2<f64> {
        match self {
            Weights::Dense(a) => a.clone(),
            Weights::Sparse(c) => c.to_dense(),
        }
    }

    /// True when every entry is finite.
    pub fn is_finite(&self) -> bool {
        match self {
            Weights::Dense(a) => a.iter().all(|v| v.is_finite()),
            Weights::Sparse(c) => c.data.iter().all(|v| v.is_finite()),
        }
    }

    /// Multiplies every entry by `factor`.
    pub fn scale(&mut self, factor: f64) {
        match self {
            Weights::Dense(a) => a.mapv_inplace(|v| v * factor),
            Weights::Sparse(c) => {
                c.data.iter_mut().for_each(|v| *v *= factor);
                c.sell = Sell::new(c.rows, c.cols, &c.indptr, &c.indices, &c.data);
            }
        }
    }

    /// Chooses the representation by density (see [`SPARSE_DENSITY`]); the numbers are unchanged.
    pub fn compact(self) -> Self {
        let (r, c) = self.shape();
        let total = (r * c).max(1) as f64;
        match self {
            Weights::Dense(a) => {
                let nz = a.iter().filter(|&&v| v != 0.0).count();
                if nz as f64 / total <= SPARSE_DENSITY {
                    Weights::Sparse(Csr::from_dense(a.view()))
                } else {
                    Weights::Dense(a)
                }
            }
            Weights::Sparse(s) => {
                if s.nnz() as f64 / total <= SPARSE_DENSITY {
                    Weights::Sparse(s)
                } else {
                    Weights::Dense(s.to_dense())
                }
            }
        }
    }

    /// The top-left `rows × cols` block, in the same representation.
    pub fn block(&self, rows: usize, cols: usize) -> Weights {
        match self {
            Weights::Dense(a) => Weights::Dense(a.slice(ndarray::s![..rows, ..cols]).to_owned()),
            Weights::Sparse(c) => {
                let mut indptr = vec![0];
                let mut indices = Vec::new();
                let mut data = Vec::new();
                for i in 0..rows.min(c.rows) {
                    for p in c.indptr[i]..c.indptr[i + 1] {
                        if (c.indices[p] as usize) < cols {
                            indices.push(c.indices[p]);
                            data.push(c.data[p]);
                        }
                    }
                    indptr.push(data.len());
                }
                Weights::Sparse(Csr::assemble(
                    rows.min(c.rows),
                    cols.min(c.cols),
                    indptr,
                    indices,
                    data,
                ))
            }
        }
    }

    /// Rows `lo..hi` of `self · x` for one unit-stride column `x` (`cols` values) into
    /// `out[..hi − lo]`: the row-parallel step's share. Each row's value has the bits of the
    /// same row of [`Weights::mul_cols`] with `n = 1`: CSR rows by the same kernels (`lo`, `hi`
    /// whole windows of [`ROW_BLOCK`] rows, or `hi = rows`); dense rows by the same `dgemm`
    /// on the row block (its per-element sum over `k` does not depend on the rows around it;
    /// `operators/tests/reservoir_parallel.rs` checks it).
    pub(crate) fn mul_unit_rows(&self, lo: usize, hi: usize, x: &[f64], out: &mut [f64]) {
        match self {
            Weights::Sparse(c) => csr_mul_unit_rows(c.view(), lo, hi, x, out),
            Weights::Dense(a) => {
                let cols = a.ncols();
                let xv = ArrayView2::from_shape((cols, 1), &x[..cols])
                    .unwrap_or_else(|e| panic!("state column ({cols}, 1): {e}"));
                let mut ov = ArrayViewMut2::from_shape((hi - lo, 1), &mut out[..hi - lo])
                    .unwrap_or_else(|e| panic!("output column ({}, 1): {e}", hi - lo));
                general_mat_mul(1.0, &a.slice(ndarray::s![lo..hi, ..]), &xv, 0.0, &mut ov);
            }
        }
    }

    /// `t + 1` row boundaries splitting this matrix's rows into `t` contiguous ranges of
    /// whole [`ROW_BLOCK`]s, balanced by stored entries (some may be empty).
    pub(crate) fn row_split(&self, t: usize) -> Vec<usize> {
        match self {
            Weights::Sparse(c) => kernels::row_split(&c.indptr, t),
            Weights::Dense(a) => {
                let (rows, cols) = a.dim();
                let indptr: Vec<usize> = (0..=rows).map(|i| i * cols).collect();
                kernels::row_split(&indptr, t)
            }
        }
    }

    /// `out[.., ..n] = self · x[.., ..n]`: `x` is `cols` rows of stride `ld_x`, `out` is `rows`
    /// rows of stride `ld_out`; only the first `n` entries of each row are read or written.
    ///
    /// Each output element's reduction order is independent of `n` (see the module docs).
    pub(crate) fn mul_cols(
        &self,
        x: &[f64],
        ld_x: usize,
        n: usize,
        out: &mut [f64],
        ld_out: usize,
    ) {
        if n == 0 {
            return;
        }
        match self {
            Weights::Sparse(c) => csr_mul_cols(c.view(), x, ld_x, n, out, ld_out),
            Weights::Dense(a) => {
                let (rows, cols) = a.dim();
                // The slices are sized by the callers in this module tree; the shapes are fixed
                // by the model, so a mismatch here is a bug, not bad input.
                let xv = ArrayView2::from_shape((cols, n).strides((ld_x, 1)), x)
                    .unwrap_or_else(|e| panic!("state block ({cols}, {n}) stride {ld_x}: {e}"));
                let mut ov = ArrayViewMut2::from_shape((rows, n).strides((ld_out, 1)), out)
                    .unwrap_or_else(|e| panic!("output block ({rows}, {n}) stride {ld_out}: {e}"));
                general_mat_mul(1.0, a, &xv, 0.0, &mut ov);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn csr_round_trips_through_dense() {
        let a = array![[0.0, 2.0, 0.0], [1.0, 0.0, -3.0]];
        let c = Csr::from_dense(a.view());
        assert_eq!(c.nnz(), 3);
        assert_eq!(c.indptr(), &[0, 1, 3]);
        assert_eq!(c.to_dense(), a);
    }

    #[test]
    fn csr_new_rejects_inconsistent_arrays() {
        assert!(Csr::new(2, 2, vec![0, 1], vec![0], vec![1.0]).is_err());
        assert!(Csr::new(2, 2, vec![0, 1, 1], vec![2], vec![1.0]).is_err());
        assert!(Csr::new(2, 2, vec![0, 2, 1], vec![0], vec![1.0]).is_err());
        assert!(Csr::new(1, 2, vec![0, 1], vec![0, 1], vec![1.0]).is_err());
        let ok = Csr::new(2, 2, vec![0, 2, 2], vec![1, 1], vec![1.0, 2.0]);
        assert_eq!(ok.map(|c| c.to_dense()), Ok(array![[0.0, 3.0], [0.0, 0.0]]));
    }

    #[test]
    fn sparse_and_dense_products_agree() {
        let a = array![[0.5, 0.0, -1.0], [0.0, 2.0, 0.25]];
        let x = [1.0, 2.0, 3.0, -1.0, 0.5, 4.0]; // 3 units × 2 columns
        let mut d = [0.0; 4];
        let mut s = [0.0; 4];
        Weights::Dense(a.clone()).mul_cols(&x, 2, 2, &mut d, 2);
        Weights::Sparse(Csr::from_dense(a.view())).mul_cols(&x, 2, 2, &mut s, 2);
        assert_eq!(d, [0.5 - 0.5, 1.0 - 4.0, 6.0 + 0.125, -2.0 + 1.0]);
        assert_eq!(s, d);
    }

    #[test]
    fn compact_chooses_by_density() {
        let mut a = Array2::<f64>::zeros((10, 10));
        a[(0, 1)] = 1.0;
        assert!(matches!(Weights::Dense(a).compact(), Weights::Sparse(_)));
        let b = Array2::<f64>::ones((3, 3));
        assert!(matches!(Weights::Dense(b).compact(), Weights::Dense(_)));
    }

    #[test]
    fn block_keeps_the_top_left_entries() {
        let a = array![[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [4.0, 0.0, 5.0]];
        let s = Weights::Sparse(Csr::from_dense(a.view())).block(2, 2);
        assert_eq!(s.to_dense(), array![[1.0, 0.0], [0.0, 3.0]]);
        assert_eq!(Weights::Dense(a).block(2, 2).to_dense(), s.to_dense());
    }
}

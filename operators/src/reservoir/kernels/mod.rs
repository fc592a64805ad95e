//! The reservoir's inner-loop reductions in one fixed, ISA-independent order: CSR rows times
//! state columns (`W·x`, `Win·u`) and dense dot products (the readout), each with a portable
//! kernel and an AVX2 kernel that give bit-for-bit the same numbers.
//!
//! ## The reduction order (the contract every kernel implements)
//!
//! A sum `Σ_q a_q · x_q` over `len` terms (a CSR row's stored entries in stored order, or a dense
//! row) is accumulated in [`LANES`] = 8 partial sums: term `q` is added to lane `q mod 8`; every
//! lane starts at `+0.0`; each term is one rounded product then one rounded addition (never a
//! fused multiply-add). The lanes are then combined pairwise as
//!
//! ```text
//! ((s₀ + s₄) + (s₂ + s₆)) + ((s₁ + s₅) + (s₃ + s₇))
//! ```
//!
//! which is what an AVX2 kernel gets from two 4-wide accumulators (`s₀..s₃`, `s₄..s₇`) by
//! adding them, then the two 128-bit halves, then the two remaining values. Eight lanes are
//! eight independent dependency chains: an addition's latency (3–4 cycles) no longer bounds the
//! loop, the loads do. Shortcuts that cannot change a bit: a lane that starts at `+0.0` is never
//! `-0.0` afterwards (in round-to-nearest `a + b` is `-0.0` only when both are), so adding `+0.0`
//! to it is exact and padding a short tail with `0.0 · 0.0` terms changes nothing; an empty sum is
//! `+0.0` and a one-term sum is `0.0 + a₀·x₀`.
//!
//! Before this module the CSR product used 4 lanes and `(s₀ + s₁) + (s₂ + s₃)` (the four
//! interleaved partial sums of the original `weights.rs`), and the readout one serial sum; SciPy's
//! `csr_matvec` and NumPy's `dot` (ReservoirPy) sum in other orders again, so all of these agree
//! only to rounding: the ReservoirPy parity fixtures (1e-9) are unaffected.
//!
//! ## Batches
//!
//! The state of `n` sequences is a unit-major block (row `j` holds unit `j` of every column,
//! stride `ld`). Each column's sum follows the order above whatever `n` is, so one sequence alone
//! and the same sequence inside any batch get the same bits (`operators/tests/reservoir_batch.rs`).
//! The batched CSR kernel works on blocks of [`COLS`] = 4 columns: it packs the block's 4 values
//! of every unit into a contiguous buffer (L1-resident: 16 KiB at 500 units), then for each row
//! and stored entry adds `a·x` into the entry's lane, 8 lanes × 4 columns of accumulators held in
//! registers (eight 256-bit registers on AVX2); columns left over (`n mod 4`) go through the
//! one-column kernel.
//!
//! ## Kernels and dispatch (one concept per file)
//!
//! - [`portable`]: plain Rust, any CPU; also the `#[inline(always)]` bodies of the batched CSR
//!   product and the dense dot that [`avx2`] compiles a second time with AVX2 enabled.
//! - [`avx2`]: `std::arch` kernels, chosen once per product by [`super::isa::avx2`]. The
//!   one-sequence product (one unit-stride column: sequential evaluation's `W·x` and `Win·u`)
//!   runs over [`sell`]'s SELL-C-σ copy of the matrix (4 rows per vector, eight 4-wide
//!   accumulators, same order per row); other one-column products over CSR rows.
//! - [`sell`]: the SELL-C-σ layout (rows sorted by length in windows of 64, slices of 4).
//!
//! [`csr_mul_unit_rows`] computes a range of whole windows of rows (what the row-parallel step
//! splits on); per-row sums do not depend on the range, so any split gives the same bits.
//! Measured in BENCHMARKS.md, "8-lane kernels with run-time AVX2 dispatch" and "SELL-C-σ
//! kernel and row-parallel steps".
//!
//! Column indices are checked `< cols` when a [`super::weights::Csr`] is built (every
//! constructor), and the entry points below check the lengths of `x` and `out` against the
//! shape once per call: that is what makes the unchecked gathers inside the loops sound.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod portable;
pub(crate) mod sell;

use super::isa;
use sell::{Sell, WINDOW};

/// Partial sums per reduction: term `q` goes to lane `q mod LANES`.
pub(crate) const LANES: usize = 8;
/// Columns per register block of the batched CSR product.
pub(crate) const COLS: usize = 4;

/// Borrowed CSR arrays whose column indices are all `< cols` (the invariant of
/// [`super::weights::Csr`], the only place these are made from).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CsrView<'a> {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) indptr: &'a [usize],
    pub(crate) indices: &'a [u32],
    /// The same matrix in SELL-C-σ layout ([`sell`]), absent when `cols > 65,536`.
    pub(crate) sell: Option<&'a Sell>,
    pub(crate) data: &'a [f64],
}

/// `((s₀ + s₄) + (s₂ + s₆)) + ((s₁ + s₅) + (s₃ + s₇))`.
#[inline(always)]
fn combine(s: &[f64; LANES]) -> f64 {
    ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}
/// Checks the lengths that make the unchecked gathers of a product sound: `x` holds `cols` rows
/// of stride `ld_x` (the first `n` entries of each read), `out` `rows` rows of stride `ld_out`.
/// The callers size these from the model's shapes, so a failure is a bug, not bad input.
fn check_shapes(m: &CsrView<'_>, x: &[f64], ld_x: usize, n: usize, out: &[f64], ld_out: usize) {
    assert!(
        m.cols == 0 || x.len() >= (m.cols - 1) * ld_x + n,
        "x has {} values, a ({}, {n}) block of stride {ld_x} needs more",
        x.len(),
        m.cols
    );
    assert!(
        m.rows == 0 || out.len() >= (m.rows - 1) * ld_out + n,
        "out has {} values, a ({}, {n}) block of stride {ld_out} needs more",
        out.len(),
        m.rows
    );
    assert_eq!(m.indptr.len(), m.rows + 1, "indptr length");
}

/// `out[i·ld_out + c] = Σ_q data[q] · x[indices[q]·ld_x + c]` over row `i`'s entries, for every
/// row `i` and column `c < n`, in the order of the module docs.
pub(crate) fn csr_mul_cols(
    m: CsrView<'_>,
    x: &[f64],
    ld_x: usize,
    n: usize,
    out: &mut [f64],
    ld_out: usize,
) {
    if n == 0 {
        return;
    }
    if n == 1 && ld_x == 1 && ld_out == 1 {
        csr_mul_unit_rows(m, 0, m.rows, x, out);
        return;
    }
    check_shapes(&m, x, ld_x, n, out, ld_out);
    #[cfg(target_arch = "x86_64")]
    if isa::avx2() {
        // SAFETY: the CPU has AVX2 (checked at run time); the shapes were checked above and
        // every index is < cols (CsrView's invariant).
        unsafe { avx2::csr_mul_cols_avx2(m, x, ld_x, n, out, ld_out) };
        return;
    }
    // SAFETY: shapes checked above, indices < cols (CsrView's invariant).
    unsafe { portable::csr_mul_cols_portable(m, x, ld_x, n, out, ld_out) };
}

/// Rows `lo..hi` of `m` times one unit-stride column: `out[i − lo] = Σ_q data[q]·x[indices[q]]`
/// over row `i`'s entries, in the order of the module docs. Unless empty, the range must start
/// at a multiple of [`WINDOW`] and end at a multiple of it or at `m.rows` (whole windows of the SELL layout; see
/// [`row_split`]); any such range gives each row the same bits.
pub(crate) fn csr_mul_unit_rows(m: CsrView<'_>, lo: usize, hi: usize, x: &[f64], out: &mut [f64]) {
    assert!(
        lo <= hi
            && hi <= m.rows
            && (lo == hi
                || lo.is_multiple_of(WINDOW) && (hi.is_multiple_of(WINDOW) || hi == m.rows)),
        "rows {lo}..{hi} of {} are not whole windows of {WINDOW}",
        m.rows
    );
    assert!(
        out.len() >= hi - lo,
        "out has {} values for {} rows",
        out.len(),
        hi - lo
    );
    if lo == hi {
        return;
    }
    assert!(
        x.len() >= m.cols,
        "x has {} values, {} columns need more",
        x.len(),
        m.cols
    );
    assert_eq!(m.indptr.len(), m.rows + 1, "indptr length");
    #[cfg(target_arch = "x86_64")]
    if let Some(s) = m.sell.filter(|_| isa::avx2()) {
        // SAFETY: the CPU has AVX2; indices < cols ≤ x.len() (checked above); the windows
        // lo/64..ceil(hi/64) are those rows, out holds hi − lo values.
        unsafe { avx2::sell_rows_avx2(s, lo / WINDOW, hi.div_ceil(WINDOW), x, out) };
        return;
    }
    // SAFETY: indices < cols ≤ x.len() (checked above); lo ≤ hi ≤ rows.
    unsafe { portable::csr_rows_portable(&m, lo, hi, x, out) };
}

/// `t + 1` row boundaries splitting `rows` rows into `t` contiguous ranges of whole
/// [`WINDOW`]s, balanced by stored entries (`indptr`): the split of the row-parallel step.
/// Ranges may be empty when there are fewer windows than `t`.
pub(crate) fn row_split(indptr: &[usize], t: usize) -> Vec<usize> {
    let rows = indptr.len().saturating_sub(1);
    let t = t.max(1);
    let nnz = indptr.last().copied().unwrap_or(0);
    let mut b = vec![0];
    for k in 1..t {
        // The first window boundary at or past k/t of the work (entries plus one per row, so
        // that empty rows still count).
        let goal = (nnz + rows) * k / t;
        let mut r = *b.last().unwrap_or(&0);
        while r < rows && indptr[r] + r < goal {
            r = (r + WINDOW).min(rows);
        }
        b.push(r);
    }
    b.push(rows);
    b
}

/// `Σ_i w[i] · x[i·ld]` in the order of the module docs (the readout of one column).
pub(crate) fn dense_dot(w: &[f64], x: &[f64], ld: usize) -> f64 {
    assert!(
        w.is_empty() || x.len() > (w.len() - 1) * ld,
        "x has {} values, {} rows of stride {ld} need more",
        x.len(),
        w.len()
    );
    #[cfg(target_arch = "x86_64")]
    if isa::avx2() {
        // SAFETY: the CPU has AVX2; the length was checked above.
        return unsafe { avx2::dense_dot_avx2(w, x, ld) };
    }
    // SAFETY: the length was checked above.
    unsafe { portable::dense_dot_body(w, x, ld) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random CSR (cols ≤ 1000, rows ≤ 150 so up to three SELL windows, row lengths 0..=40 so odd lengths and empty rows occur,
    /// repeated indices allowed) and a block of `n` state columns of stride `ld`.
    #[allow(clippy::type_complexity)]
    fn case() -> impl Strategy<
        Value = (
            usize,
            usize,
            Vec<usize>,
            Vec<u32>,
            Vec<f64>,
            usize,
            Vec<f64>,
        ),
    > {
        (1usize..=1000, 1usize..=150, 1usize..=11, 0usize..=3).prop_flat_map(
            |(cols, rows, n, pad)| {
                let row_lens = proptest::collection::vec(0usize..=40, rows);
                row_lens.prop_flat_map(move |lens| {
                    let nnz: usize = lens.iter().sum();
                    let mut indptr = vec![0];
                    for l in &lens {
                        indptr.push(indptr.last().copied().unwrap_or(0) + l);
                    }
                    let ld = n + pad;
                    (
                        Just(rows),
                        Just(cols),
                        Just(indptr),
                        proptest::collection::vec(0..cols as u32, nnz),
                        proptest::collection::vec(-2.0f64..2.0, nnz),
                        Just(n),
                        proptest::collection::vec(-1.0f64..1.0, cols * ld),
                    )
                })
            },
        )
    }

    fn serial_reference(d: &[f64], idx: &[u32], x: &[f64], ld: usize) -> f64 {
        let mut s = [0.0f64; LANES];
        for (q, (&a, &j)) in d.iter().zip(idx).enumerate() {
            s[q % LANES] += a * x[j as usize * ld];
        }
        combine(&s)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Every kernel (portable, AVX2 where the CPU has it; one column and blocks) gives the
        /// bits of the plain definition `s[q mod 8] += a·x`, then `combine`.
        #[test]
        fn kernels_agree_bit_for_bit((rows, cols, indptr, idx, data, n, x) in case()) {
            let ld = x.len() / cols;
            let sell = Sell::new(rows, cols, &indptr, &idx, &data);
            let m = CsrView { rows, cols, indptr: &indptr, indices: &idx, sell: sell.as_ref(), data: &data };
            let mut want = vec![0.0; rows * n];
            for i in 0..rows {
                let (lo, hi) = (indptr[i], indptr[i + 1]);
                for c in 0..n {
                    want[i * n + c] = serial_reference(&data[lo..hi], &idx[lo..hi], &x[c..], ld);
                }
            }
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            let mut got = vec![f64::NAN; rows * n];
            // SAFETY: shapes as built by the strategy, indices < cols.
            check_shapes(&m, &x, ld, n, &got, n);
            unsafe { portable::csr_mul_cols_portable(m, &x, ld, n, &mut got, n) };
            prop_assert_eq!(bits(&got), bits(&want));
            for c in 0..n {
                let mut one = vec![f64::NAN; rows];
                // SAFETY: as above, for column c alone.
                unsafe { portable::csr_one_col_portable(&m, &x[c..], ld, &mut one, 1) };
                let col: Vec<f64> = (0..rows).map(|i| want[i * n + c]).collect();
                prop_assert_eq!(bits(&one), bits(&col));
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut simd = vec![f64::NAN; rows * n];
                // SAFETY: AVX2 present; shapes as above.
                unsafe { avx2::csr_mul_cols_avx2(m, &x, ld, n, &mut simd, n) };
                prop_assert_eq!(bits(&simd), bits(&want));
                let mut one = vec![f64::NAN; rows];
                csr_mul_cols(m, &x, ld, 1, &mut one, 1);
                let col: Vec<f64> = (0..rows).map(|i| want[i * n]).collect();
                prop_assert_eq!(bits(&one), bits(&col));
                // Unit stride: the SELL kernel (cols ≤ 1000 here), and the CSR one without it.
                let x1: Vec<f64> = (0..cols).map(|j| x[j * ld]).collect();
                let mut sell_out = vec![f64::NAN; rows];
                csr_mul_cols(m, &x1, 1, 1, &mut sell_out, 1);
                prop_assert_eq!(bits(&sell_out), bits(&col));
                let wide = CsrView { sell: None, ..m };
                let mut csr_out = vec![f64::NAN; rows];
                csr_mul_cols(wide, &x1, 1, 1, &mut csr_out, 1);
                prop_assert_eq!(bits(&csr_out), bits(&col));
            }
            // Row ranges of whole windows (the row-parallel split), SELL or portable: same bits.
            let x1: Vec<f64> = (0..cols).map(|j| x[j * ld]).collect();
            let col: Vec<f64> = (0..rows).map(|i| want[i * n]).collect();
            for t in 1..=3 {
                let b = row_split(&indptr, t);
                prop_assert_eq!(b.len(), t + 1);
                let mut split = vec![f64::NAN; rows];
                for k in 0..t {
                    csr_mul_unit_rows(m, b[k], b[k + 1], &x1, &mut split[b[k]..b[k + 1]]);
                }
                prop_assert_eq!(bits(&split), bits(&col));
                let mut port = vec![f64::NAN; rows];
                for k in 0..t {
                    // SAFETY: indices < cols = x1.len(); the range is within rows.
                    unsafe { portable::csr_rows_portable(&m, b[k], b[k + 1], &x1, &mut port[b[k]..b[k + 1]]) };
                }
                prop_assert_eq!(bits(&port), bits(&col));
            }
        }

        /// The dense dot: portable, AVX2 and the plain definition agree bit for bit.
        #[test]
        fn dense_dots_agree_bit_for_bit(
            w in proptest::collection::vec(-3.0f64..3.0, 0..=1000),
            ld in 1usize..=3,
            seed in 0u64..1000,
        ) {
            let x: Vec<f64> = (0..w.len() * ld)
                .map(|i| ((i as u64 * 2_654_435_761 + seed) % 1000) as f64 / 500.0 - 1.0)
                .collect();
            let idx: Vec<u32> = (0..w.len() as u32).collect();
            let want = serial_reference(&w, &idx, &x, ld);
            // SAFETY: x has w.len()·ld values.
            let portable = unsafe { portable::dense_dot_body(&w, &x, ld) };
            prop_assert_eq!(portable.to_bits(), want.to_bits());
            prop_assert_eq!(dense_dot(&w, &x, ld).to_bits(), want.to_bits());
        }
    }

    #[test]
    fn short_rows_and_signed_zeros() {
        // Empty row: +0.0; a one-term row whose product is -0.0: 0.0 + (-0.0) = +0.0.
        let indptr = [0, 0, 1, 3];
        let idx = [0u32, 0, 1];
        let data = [-1.0, 2.0, -0.5];
        let sell = Sell::new(3, 2, &indptr, &idx, &data);
        let m = CsrView {
            rows: 3,
            cols: 2,
            indptr: &indptr,
            indices: &idx,
            sell: sell.as_ref(),
            data: &data,
        };
        let x = [0.0, 4.0];
        let mut out = [f64::NAN; 3];
        csr_mul_cols(m, &x, 1, 1, &mut out, 1);
        assert_eq!(out.map(f64::to_bits), [0.0f64, 0.0, -2.0].map(f64::to_bits));
        assert_eq!(dense_dot(&[], &x, 1).to_bits(), 0.0f64.to_bits());
        // An infinite x behind a padded SELL position: padding adds +0.0, never 0·∞ = NaN.
        let x_inf = [f64::INFINITY, 4.0];
        let mut out = [f64::NAN; 3];
        csr_mul_cols(m, &x_inf, 1, 1, &mut out, 1);
        assert_eq!(
            out.map(f64::to_bits),
            [0.0f64, f64::NEG_INFINITY, f64::INFINITY].map(f64::to_bits)
        );
        assert_eq!(dense_dot(&[-1.0], &[0.0], 1).to_bits(), 0.0f64.to_bits());
    }
}

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
//! ## Kernels and dispatch
//!
//! - One column, CSR: the portable kernel gathers `x[j]` with scalar loads; the AVX2 kernel
//!   (`std::arch` intrinsics) gathers with scalar loads into two 256-bit vectors per 8 entries and
//!   multiplies and adds 4 lanes at a time (`vgatherdpd` was not tried), with `u16` column
//!   indices when `cols ≤ 65,536` (fewer bytes streamed) and four rows' combines done together.
//!   Measured in BENCHMARKS.md, "8-lane kernels with run-time AVX2 dispatch".
//! - Blocks of columns, CSR, and dense dots: one `#[inline(always)]` body, compiled twice, plain
//!   and inside a `#[target_feature(enable = "avx2")]` function where LLVM vectorises it 4 wide.
//!   Element-wise IEEE operations give the same bits at any vector width, so the two are equal by
//!   construction.
//!
//! [`super::isa::avx2`] picks the kernel once per product. Column indices are checked `< cols`
//! when a [`super::weights::Csr`] is built (every constructor), and the entry points below check
//! the lengths of `x` and `out` against the shape once per call: that is what makes the unchecked
//! gathers inside the loops sound.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::isa;

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
    /// The same indices as `u16` followed by [`LANES`] zeros, or empty when `cols > 65,536`.
    pub(crate) indices16: &'a [u16],
    pub(crate) data: &'a [f64],
}

/// The `u16` copy of CSR column indices that the one-column AVX2 kernel streams (2 bytes per
/// entry instead of 4), padded with [`LANES`] zeros so that it may read a whole chunk of 8
/// indices past a row's end; empty when some index does not fit in `u16`.
pub(crate) fn indices16(cols: usize, indices: &[u32]) -> Vec<u16> {
    if cols > 1 << 16 {
        return Vec::new();
    }
    let mut v: Vec<u16> = indices.iter().map(|&j| j as u16).collect();
    v.extend([0; LANES]);
    v
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
    check_shapes(&m, x, ld_x, n, out, ld_out);
    #[cfg(target_arch = "x86_64")]
    if isa::avx2() {
        // SAFETY: the CPU has AVX2 (checked at run time); the shapes were checked above and
        // every index is < cols (CsrView's invariant).
        unsafe { csr_mul_cols_avx2(m, x, ld_x, n, out, ld_out) };
        return;
    }
    // SAFETY: shapes checked above, indices < cols (CsrView's invariant).
    unsafe { csr_mul_cols_portable(m, x, ld_x, n, out, ld_out) };
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
        return unsafe { dense_dot_avx2(w, x, ld) };
    }
    // SAFETY: the length was checked above.
    unsafe { dense_dot_body(w, x, ld) }
}

// ---------------------------------------------------------------------------------------------
// Portable kernels (also the bodies the AVX2 copies are compiled from, where marked).

/// `x[j·ld]`, unchecked.
///
/// # Safety
/// `j·ld < x.len()`.
#[inline(always)]
unsafe fn at(x: &[f64], j: u32, ld: usize) -> f64 {
    // SAFETY: guaranteed by the caller.
    unsafe { *x.get_unchecked(j as usize * ld) }
}

/// One CSR row times one column of stride `ld`.
///
/// # Safety
/// `idx.len() == d.len()` and every `j` in `idx` has `j·ld < x.len()`.
#[inline(always)]
unsafe fn row_dot_portable(d: &[f64], idx: &[u32], x: &[f64], ld: usize) -> f64 {
    match d.len() {
        0 => return 0.0,
        // SAFETY: idx[0] is in range (caller).
        1 => return 0.0 + d[0] * unsafe { at(x, idx[0], ld) },
        _ => {}
    }
    let mut s = [0.0f64; LANES];
    let (dc, ic) = (d.chunks_exact(LANES), idx.chunks_exact(LANES));
    let (dr, ir) = (dc.remainder(), ic.remainder());
    for (dd, ii) in dc.zip(ic) {
        for l in 0..LANES {
            // SAFETY: ii[l] is in range (caller).
            s[l] += dd[l] * unsafe { at(x, ii[l], ld) };
        }
    }
    if !dr.is_empty() {
        let (mut td, mut tx) = ([0.0f64; LANES], [0.0f64; LANES]);
        for (l, (&a, &j)) in dr.iter().zip(ir).enumerate() {
            td[l] = a;
            // SAFETY: j is in range (caller).
            tx[l] = unsafe { at(x, j, ld) };
        }
        for l in 0..LANES {
            s[l] += td[l] * tx[l];
        }
    }
    combine(&s)
}

/// Rows `i` of `m` times one column (`x` of stride `ld_x`) into `out[i·ld_out]`.
///
/// # Safety
/// Indices `< m.cols` and `x.len() > (m.cols − 1)·ld_x`; `out` long enough (bounds-checked).
#[inline(always)]
unsafe fn csr_one_col_portable(
    m: &CsrView<'_>,
    x: &[f64],
    ld_x: usize,
    out: &mut [f64],
    ld_out: usize,
) {
    for i in 0..m.rows {
        let (lo, hi) = (m.indptr[i], m.indptr[i + 1]);
        let (d, idx) = (&m.data[lo..hi], &m.indices[lo..hi]);
        // SAFETY: forwarded from the caller. A unit stride gets its own copy of the loop
        // without the index multiply.
        out[i * ld_out] = unsafe {
            if ld_x == 1 {
                row_dot_portable(d, idx, x, 1)
            } else {
                row_dot_portable(d, idx, x, ld_x)
            }
        };
    }
}

/// One CSR row times a packed block of [`COLS`] columns (unit `j`'s values at `x[4·j..4·j + 4]`):
/// the body of the batched kernel, compiled both plain and with AVX2.
///
/// # Safety
/// `idx.len() == d.len()` and every `j` in `idx` has `4·j + 4 ≤ x.len()`.
#[inline(always)]
unsafe fn row_block_body(d: &[f64], idx: &[u32], x: &[f64]) -> [f64; COLS] {
    let mut s = [[0.0f64; COLS]; LANES];
    let (dc, ic) = (d.chunks_exact(LANES), idx.chunks_exact(LANES));
    let (dr, ir) = (dc.remainder(), ic.remainder());
    for (dd, ii) in dc.zip(ic) {
        for l in 0..LANES {
            let o = ii[l] as usize * COLS;
            // SAFETY: o + COLS ≤ x.len() (caller).
            let xr = unsafe { x.get_unchecked(o..o + COLS) };
            for c in 0..COLS {
                s[l][c] += dd[l] * xr[c];
            }
        }
    }
    for l in 0..LANES {
        if l < dr.len() {
            let o = ir[l] as usize * COLS;
            // SAFETY: as above.
            let xr = unsafe { x.get_unchecked(o..o + COLS) };
            for c in 0..COLS {
                s[l][c] += dr[l] * xr[c];
            }
        }
    }
    let mut o = [0.0f64; COLS];
    for c in 0..COLS {
        o[c] = ((s[0][c] + s[4][c]) + (s[2][c] + s[6][c]))
            + ((s[1][c] + s[5][c]) + (s[3][c] + s[7][c]));
    }
    o
}

/// The batched product's body: every full block of [`COLS`] columns; returns how many columns
/// it did (the caller does the rest one by one). Column blocks are the outer loop: a block's
/// slice of the state is first packed into a contiguous `cols × 4` buffer (16 KiB at 500
/// units), which stays in L1 while the matrix streams past it; entry `j`'s values are then at
/// `4·j`, a shift instead of a multiply.
///
/// # Safety
/// As [`csr_mul_cols`] after [`check_shapes`].
#[inline(always)]
unsafe fn csr_blocks_body(
    m: &CsrView<'_>,
    x: &[f64],
    ld_x: usize,
    n: usize,
    out: &mut [f64],
    ld_out: usize,
) -> usize {
    let full = n / COLS * COLS;
    if full == 0 {
        return 0;
    }
    let mut packed = vec![0.0f64; m.cols * COLS];
    for cb in (0..full).step_by(COLS) {
        for (j, dst) in packed.chunks_exact_mut(COLS).enumerate() {
            dst.copy_from_slice(&x[j * ld_x + cb..j * ld_x + cb + COLS]);
        }
        for i in 0..m.rows {
            let (lo, hi) = (m.indptr[i], m.indptr[i + 1]);
            let o = if lo == hi {
                // An empty sum is +0.0 (most rows of a sparse `Win` are empty).
                [0.0; COLS]
            } else {
                // SAFETY: every index j < cols, so 4·j + 4 ≤ packed.len().
                unsafe { row_block_body(&m.data[lo..hi], &m.indices[lo..hi], &packed) }
            };
            out[i * ld_out + cb..i * ld_out + cb + COLS].copy_from_slice(&o);
        }
    }
    full
}

/// # Safety
/// As [`csr_mul_cols`] after [`check_shapes`].
unsafe fn csr_mul_cols_portable(
    m: CsrView<'_>,
    x: &[f64],
    ld_x: usize,
    n: usize,
    out: &mut [f64],
    ld_out: usize,
) {
    // SAFETY: forwarded.
    let done = unsafe { csr_blocks_body(&m, x, ld_x, n, out, ld_out) };
    for c in done..n {
        // SAFETY: j·ld_x + c < x.len() for j < cols, c < n.
        unsafe { csr_one_col_portable(&m, &x[c..], ld_x, &mut out[c..], ld_out) };
    }
}

/// The dense dot's body, compiled both plain and with AVX2.
///
/// # Safety
/// `(w.len() − 1)·ld < x.len()`.
#[inline(always)]
unsafe fn dense_dot_body(w: &[f64], x: &[f64], ld: usize) -> f64 {
    let mut s = [0.0f64; LANES];
    let (wc, wr) = (w.chunks_exact(LANES), w.chunks_exact(LANES).remainder());
    for (k, ww) in wc.enumerate() {
        for l in 0..LANES {
            // SAFETY: (k·LANES + l) < w.len() (caller).
            s[l] += ww[l] * unsafe { *x.get_unchecked((k * LANES + l) * ld) };
        }
    }
    let base = w.len() - wr.len();
    let (mut tw, mut tx) = ([0.0f64; LANES], [0.0f64; LANES]);
    for (l, &a) in wr.iter().enumerate() {
        tw[l] = a;
        // SAFETY: as above.
        tx[l] = unsafe { *x.get_unchecked((base + l) * ld) };
    }
    for l in 0..LANES {
        s[l] += tw[l] * tx[l];
    }
    combine(&s)
}

// ---------------------------------------------------------------------------------------------
// AVX2 kernels.

/// # Safety
/// The CPU has AVX2; as [`csr_mul_cols`] after [`check_shapes`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn csr_mul_cols_avx2(
    m: CsrView<'_>,
    x: &[f64],
    ld_x: usize,
    n: usize,
    out: &mut [f64],
    ld_out: usize,
) {
    // SAFETY: forwarded.
    let done = unsafe { csr_blocks_body(&m, x, ld_x, n, out, ld_out) };
    if done == n {
        return;
    }
    if ld_x == 1 && ld_out == 1 && !m.indices16.is_empty() {
        // One column of unit stride (sequential evaluation): the u16 kernel. n = 1 here.
        assert_eq!(
            m.indices16.len(),
            m.data.len() + LANES,
            "padded u16 indices"
        );
        // SAFETY: AVX2 present; indices16[lo..hi + LANES] exists (asserted above) and its values
        // are < cols ≤ x.len() (padding zeros included: nnz > 0 implies cols > 0); out has
        // rows values (check_shapes).
        unsafe { csr_unit_avx2_u16(&m, x, out) };
        return;
    }
    for c in done..n {
        let (xc, oc) = (&x[c..], &mut out[c..]);
        for i in 0..m.rows {
            let (lo, hi) = (m.indptr[i], m.indptr[i + 1]);
            // SAFETY: AVX2 present; indices in range for xc (forwarded).
            oc[i * ld_out] = unsafe {
                if ld_x == 1 {
                    row_dot_avx2(&m.data[lo..hi], &m.indices[lo..hi], xc, 1)
                } else {
                    row_dot_avx2(&m.data[lo..hi], &m.indices[lo..hi], xc, ld_x)
                }
            };
        }
    }
}

/// Lane masks of a row's tail: `TAIL_MASK[8 − r..16 − r]` selects lanes `0..r`.
#[cfg(target_arch = "x86_64")]
static TAIL_MASK: [i64; 2 * LANES] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The unit-stride, one-column product with `u16` indices, rows in groups of four so that their
/// final combines share instructions: with `v_r = (s₀ + s₄, s₁ + s₅, s₂ + s₆, s₃ + s₇)` of row
/// `r`, two 128-bit permutes and an addition give `((s₀+s₄)+(s₂+s₆), (s₁+s₅)+(s₃+s₇))` for two
/// rows at once, one horizontal addition the four sums, one permute their order: the same
/// additions, operand for operand, as the portable `combine`.
///
/// # Safety
/// The CPU has AVX2; `m.indices16` is the padded copy of `m.indices`; every index `< x.len()`;
/// `out.len() ≥ m.rows`; `m.indptr` has `rows + 1` non-decreasing entries ending at nnz.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn csr_unit_avx2_u16(m: &CsrView<'_>, x: &[f64], out: &mut [f64]) {
    // A macro rather than a closure: a closure is not compiled with the enclosing function's
    // target features, and was not inlined (its 256-bit result went through memory).
    macro_rules! row {
        ($i:expr) => {{
            let (lo, hi) = (m.indptr[$i], m.indptr[$i + 1]);
            // SAFETY: forwarded from the caller.
            unsafe { row_acc_u16(&m.data[lo..hi], m.indices16.as_ptr().add(lo), x) }
        }};
    }
    let quads = m.rows / 4 * 4;
    let mut i = 0;
    while i < quads {
        let (va, vb, vc, vd) = (row!(i), row!(i + 1), row!(i + 2), row!(i + 3));
        // (a₀+a₂, a₁+a₃, b₀+b₂, b₁+b₃) and the same for c, d.
        let ab = _mm256_add_pd(
            _mm256_permute2f128_pd::<0x20>(va, vb),
            _mm256_permute2f128_pd::<0x31>(va, vb),
        );
        let cd = _mm256_add_pd(
            _mm256_permute2f128_pd::<0x20>(vc, vd),
            _mm256_permute2f128_pd::<0x31>(vc, vd),
        );
        // hadd: (A, C, B, D); then into row order.
        let sums = _mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_hadd_pd(ab, cd));
        let o = &mut out[i..i + 4];
        // SAFETY: o has 4 values.
        unsafe { _mm256_storeu_pd(o.as_mut_ptr(), sums) };
        i += 4;
    }
    for (i, o) in out.iter_mut().enumerate().take(m.rows).skip(quads) {
        let v = row!(i);
        let t = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
        *o = _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
    }
}

/// One CSR row times one unit-stride column, AVX2, `u16` indices, up to the combine: returns
/// `(s₀ + s₄, s₁ + s₅, s₂ + s₆, s₃ + s₇)` in the portable kernel's order exactly. Per 8
/// entries: 8 index loads (2 bytes each), 8 scalar loads gather `x`, two vector products and
/// additions. The tail (`len mod 8` entries, lanes `0..r`) is one more such
/// chunk whose `data` is read with a lane mask (masked lanes read nothing) and whose products in
/// lanes `r..8` are zeroed bitwise, i.e. `+0.0` is added there, which changes no lane.
///
/// # Safety
/// The CPU has AVX2; `idx` points at `d.len() + 8` readable `u16`s, each `< x.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn row_acc_u16(d: &[f64], idx: *const u16, x: &[f64]) -> __m256d {
    let len = d.len();
    if len == 0 {
        return _mm256_setzero_pd();
    }
    let (dp, xp) = (d.as_ptr(), x.as_ptr());
    let mut a0 = _mm256_setzero_pd();
    let mut a1 = _mm256_setzero_pd();
    let full = len / LANES * LANES;
    let mut q = 0;
    // SAFETY (whole block): idx[q..q + 8] is readable for every q ≤ len (caller), d[q..q + 8]
    // for q + 8 ≤ full; every index read is < x.len() (caller).
    unsafe {
        // One load per index (`movzx`), one per gathered value.
        let g = |k: usize| *xp.add(*idx.add(k) as usize);
        let chunk = |q: usize| {
            (
                _mm256_set_pd(g(q + 3), g(q + 2), g(q + 1), g(q)),
                _mm256_set_pd(g(q + 7), g(q + 6), g(q + 5), g(q + 4)),
            )
        };
        while q < full {
            let (x0, x1) = chunk(q);
            a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_loadu_pd(dp.add(q)), x0));
            a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_loadu_pd(dp.add(q + 4)), x1));
            q += LANES;
        }
        let r = len - full;
        if r > 0 {
            let mp = TAIL_MASK.as_ptr().add(LANES - r);
            let m0 = _mm256_loadu_si256(mp.cast());
            let m1 = _mm256_loadu_si256(mp.add(4).cast());
            // Masked lanes are not read, so the addresses past the row's end are never touched.
            let d0 = _mm256_maskload_pd(dp.wrapping_add(q), m0);
            let d1 = _mm256_maskload_pd(dp.wrapping_add(q + 4), m1);
            let (x0, x1) = chunk(q);
            let p0 = _mm256_and_pd(_mm256_mul_pd(d0, x0), _mm256_castsi256_pd(m0));
            let p1 = _mm256_and_pd(_mm256_mul_pd(d1, x1), _mm256_castsi256_pd(m1));
            a0 = _mm256_add_pd(a0, p0);
            a1 = _mm256_add_pd(a1, p1);
        }
    }
    _mm256_add_pd(a0, a1)
}

/// One CSR row times one column, AVX2: the portable kernel's order exactly.
///
/// # Safety
/// The CPU has AVX2; as [`row_dot_portable`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn row_dot_avx2(d: &[f64], idx: &[u32], x: &[f64], ld: usize) -> f64 {
    let len = d.len();
    if len < 2 {
        // SAFETY: forwarded.
        return unsafe { row_dot_portable(d, idx, x, ld) };
    }
    let (dp, ip) = (d.as_ptr(), idx.as_ptr());
    let mut a0 = _mm256_setzero_pd();
    let mut a1 = _mm256_setzero_pd();
    let full = len / LANES * LANES;
    let mut q = 0;
    // SAFETY (whole block): q + 7 < full ≤ len inside the loop, so every d/idx read is in
    // bounds, and every idx value is in range for x (caller).
    unsafe {
        let g = |k: usize| at(x, *ip.add(k), ld);
        while q < full {
            let x0 = _mm256_set_pd(g(q + 3), g(q + 2), g(q + 1), g(q));
            let x1 = _mm256_set_pd(g(q + 7), g(q + 6), g(q + 5), g(q + 4));
            a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_loadu_pd(dp.add(q)), x0));
            a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_loadu_pd(dp.add(q + 4)), x1));
            q += LANES;
        }
    }
    if q < len {
        let (mut td, mut tx) = ([0.0f64; LANES], [0.0f64; LANES]);
        for (l, (&a, &j)) in d[q..].iter().zip(&idx[q..]).enumerate() {
            td[l] = a;
            // SAFETY: j is in range (caller).
            tx[l] = unsafe { at(x, j, ld) };
        }
        // SAFETY: td, tx hold 8 values each.
        unsafe {
            a0 = _mm256_add_pd(
                a0,
                _mm256_mul_pd(_mm256_loadu_pd(td.as_ptr()), _mm256_loadu_pd(tx.as_ptr())),
            );
            a1 = _mm256_add_pd(
                a1,
                _mm256_mul_pd(
                    _mm256_loadu_pd(td.as_ptr().add(4)),
                    _mm256_loadu_pd(tx.as_ptr().add(4)),
                ),
            );
        }
    }
    // (s₀+s₄, s₁+s₅, s₂+s₆, s₃+s₇) → ((s₀+s₄)+(s₂+s₆), (s₁+s₅)+(s₃+s₇)) → their sum.
    let v = _mm256_add_pd(a0, a1);
    let t = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)))
}

/// # Safety
/// The CPU has AVX2; as [`dense_dot_body`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dense_dot_avx2(w: &[f64], x: &[f64], ld: usize) -> f64 {
    // SAFETY: forwarded.
    unsafe { dense_dot_body(w, x, ld) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random CSR (rows, cols ≤ 1000, row lengths 0..=40 so odd lengths and empty rows occur,
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
        (1usize..=1000, 1usize..=60, 1usize..=11, 0usize..=3).prop_flat_map(
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
            let idx16 = indices16(cols, &idx);
            let m = CsrView { rows, cols, indptr: &indptr, indices: &idx, indices16: &idx16, data: &data };
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
            unsafe { csr_mul_cols_portable(m, &x, ld, n, &mut got, n) };
            prop_assert_eq!(bits(&got), bits(&want));
            for c in 0..n {
                let mut one = vec![f64::NAN; rows];
                // SAFETY: as above, for column c alone.
                unsafe { csr_one_col_portable(&m, &x[c..], ld, &mut one, 1) };
                let col: Vec<f64> = (0..rows).map(|i| want[i * n + c]).collect();
                prop_assert_eq!(bits(&one), bits(&col));
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut simd = vec![f64::NAN; rows * n];
                // SAFETY: AVX2 present; shapes as above.
                unsafe { csr_mul_cols_avx2(m, &x, ld, n, &mut simd, n) };
                prop_assert_eq!(bits(&simd), bits(&want));
                let mut one = vec![f64::NAN; rows];
                csr_mul_cols(m, &x, ld, 1, &mut one, 1);
                let col: Vec<f64> = (0..rows).map(|i| want[i * n]).collect();
                prop_assert_eq!(bits(&one), bits(&col));
                // Unit stride: the u16 kernel (cols ≤ 1000 here), and the u32 one without it.
                let x1: Vec<f64> = (0..cols).map(|j| x[j * ld]).collect();
                let mut u16_out = vec![f64::NAN; rows];
                csr_mul_cols(m, &x1, 1, 1, &mut u16_out, 1);
                prop_assert_eq!(bits(&u16_out), bits(&col));
                let wide = CsrView { indices16: &[], ..m };
                let mut u32_out = vec![f64::NAN; rows];
                csr_mul_cols(wide, &x1, 1, 1, &mut u32_out, 1);
                prop_assert_eq!(bits(&u32_out), bits(&col));
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
            let portable = unsafe { dense_dot_body(&w, &x, ld) };
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
        let idx16 = indices16(2, &idx);
        let m = CsrView {
            rows: 3,
            cols: 2,
            indptr: &indptr,
            indices: &idx,
            indices16: &idx16,
            data: &data,
        };
        let x = [0.0, 4.0];
        let mut out = [f64::NAN; 3];
        csr_mul_cols(m, &x, 1, 1, &mut out, 1);
        assert_eq!(out.map(f64::to_bits), [0.0f64, 0.0, -2.0].map(f64::to_bits));
        assert_eq!(dense_dot(&[], &x, 1).to_bits(), 0.0f64.to_bits());
        assert_eq!(
            indices16(1 << 16, &[65_535]),
            [65_535, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(indices16((1 << 16) + 1, &[65_536]).is_empty());
        assert_eq!(dense_dot(&[-1.0], &[0.0], 1).to_bits(), 0.0f64.to_bits());
    }
}

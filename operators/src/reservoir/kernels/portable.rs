//! The portable kernels of [`super`]'s reduction order (plain Rust, any CPU), and the
//! `#[inline(always)]` bodies that [`super::avx2`] compiles a second time with AVX2 enabled
//! (the batched CSR product and the dense dot: LLVM vectorises them 4 wide there; element-wise
//! IEEE operations give the same bits at any vector width).
//!
//! One column: [`row_dot_portable`] gathers `x[j]` with scalar loads into [`LANES`] partial sums.
//! Blocks of [`COLS`] columns: [`csr_blocks_body`] packs the block's values of every unit into a
//! contiguous buffer (L1-resident: 16 KiB at 500 units) and keeps 8 lanes × 4 columns of sums.
//! No deviation from the contract of [`super`]; the unit tests there check these against the
//! plain definition.

use super::{COLS, CsrView, LANES, combine};

/// `x[j·ld]`, unchecked.
///
/// # Safety
/// `j·ld < x.len()`.
#[inline(always)]
pub(super) unsafe fn at(x: &[f64], j: u32, ld: usize) -> f64 {
    // SAFETY: guaranteed by the caller.
    unsafe { *x.get_unchecked(j as usize * ld) }
}

/// One CSR row times one column of stride `ld`.
///
/// # Safety
/// `idx.len() == d.len()` and every `j` in `idx` has `j·ld < x.len()`.
#[inline(always)]
pub(super) unsafe fn row_dot_portable(d: &[f64], idx: &[u32], x: &[f64], ld: usize) -> f64 {
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
pub(super) unsafe fn csr_one_col_portable(
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
/// As [`super::csr_mul_cols`] after [`super::check_shapes`].
#[inline(always)]
pub(super) unsafe fn csr_blocks_body(
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
/// As [`super::csr_mul_cols`] after [`super::check_shapes`].
pub(super) unsafe fn csr_mul_cols_portable(
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
pub(super) unsafe fn dense_dot_body(w: &[f64], x: &[f64], ld: usize) -> f64 {
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

/// Rows `lo..hi` of `m` times one unit-stride column into `out[i − lo]`.
///
/// # Safety
/// Indices `< m.cols ≤ x.len()`; `lo ≤ hi ≤ m.rows`; `out.len() ≥ hi − lo` (bounds-checked).
pub(super) unsafe fn csr_rows_portable(
    m: &CsrView<'_>,
    lo: usize,
    hi: usize,
    x: &[f64],
    out: &mut [f64],
) {
    for (i, o) in (lo..hi).zip(out.iter_mut()) {
        let (a, b) = (m.indptr[i], m.indptr[i + 1]);
        // SAFETY: forwarded from the caller.
        *o = unsafe { row_dot_portable(&m.data[a..b], &m.indices[a..b], x, 1) };
    }
}

//! The AVX2 kernels of [`super`]'s reduction order (`std::arch` intrinsics, compiled with
//! `#[target_feature(enable = "avx2")]` and called only when [`super::super::isa::avx2`] says
//! the CPU has it). Each performs the same IEEE operations in the same order as its portable
//! twin in [`super::portable`] (no fused multiply-add), so the results are the same bits.
//!
//! - [`sell_rows_avx2`]: one unit-stride column (sequential evaluation, `W·x` and `Win·u`) over
//!   the SELL-C-σ copy of the matrix ([`super::sell`]): per position of a 4-row slice, one
//!   64-bit load of four `u16` indices, four scalar loads gather `x` (unpacked with shifts),
//!   one vector load of the four rows' values, one multiply and one add into accumulator
//!   `q mod 8`. Measured (BENCHMARKS.md, "SELL-C-σ kernel and row-parallel steps"): faster
//!   than the CSR row kernel below because the four rows' partial sums share every
//!   instruction and need no horizontal reduction; `vgatherdpd` (`_mm256_i32gather_pd`) was
//!   measured slower than scalar loads on the Zen 3 development machine, as AMD's
//!   optimisation guide advises, so it is not used; nor is a software prefetch of the slice
//!   data 2 KiB ahead (also measured slower: the stream is sequential, the hardware prefetcher
//!   already covers it). This replaced a CSR kernel with `u16` indices and four rows' combines
//!   done together (BENCHMARKS.md, "8-lane kernels with run-time AVX2 dispatch").
//! - [`row_dot_avx2`] (through [`csr_mul_cols_avx2`]): one CSR row times a column of any
//!   stride, scalar gathers into two 4-wide accumulators; what columns left over by the batched
//!   product and matrices without the SELL copy (`cols > 65,536`) use.
//! - The batched CSR product and the dense dot: [`super::portable`]'s bodies compiled here.

use std::arch::x86_64::*;

use super::sell::{C, Sell, Slice, WINDOW};
use super::{CsrView, LANES, portable};

/// Rows `w_lo·64 ..` of the windows `w_lo..w_hi` of `s` times one unit-stride column `x`, into
/// `out[i − w_lo·64]`.
///
/// # Safety
/// The CPU has AVX2; every index in `s.idx` is `< x.len()` (the CSR's columns, checked by
/// [`super::check_shapes`]); `w_lo ≤ w_hi ≤ s.windows()`; `out` holds the rows of those windows
/// (bounds-checked on write).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn sell_rows_avx2(
    s: &Sell,
    w_lo: usize,
    w_hi: usize,
    x: &[f64],
    out: &mut [f64],
) {
    assert!(
        w_lo <= w_hi && w_hi <= s.windows(),
        "windows {w_lo}..{w_hi}"
    );
    let row0 = w_lo * WINDOW;
    for w in w_lo..w_hi {
        let base = w * WINDOW - row0;
        for sl in &s.slices[s.window_ptr[w]..s.window_ptr[w + 1]] {
            if sl.len == 0 {
                // Four empty rows (most of a sparse `Win`'s): empty sums are +0.0.
                for &r in &sl.rows[..sl.count] {
                    out[base + r as usize] = 0.0;
                }
                continue;
            }
            // SAFETY: forwarded from the caller; the slice's positions lie inside s.data/s.idx
            // (Sell::new).
            let sums = unsafe { slice_avx2(s, sl, x) };
            let mut t = [0.0f64; C];
            // SAFETY: t holds 4 values.
            unsafe { _mm256_storeu_pd(t.as_mut_ptr(), sums) };
            for (r, &v) in t.iter().enumerate().take(sl.count) {
                out[base + sl.rows[r] as usize] = v;
            }
        }
    }
}

/// The four rows of one slice: accumulator `a_l` takes positions `q ≡ l (mod 8)`, lane `r` row
/// `r`; positions `≥ full` are masked per row (lane `r` adds `+0.0` where `q ≥ lens[r]`).
/// Returns `((a₀+a₄)+(a₂+a₆))+((a₁+a₅)+(a₃+a₇))`, the four rows' sums.
///
/// # Safety
/// The CPU has AVX2; `s.data`/`s.idx` hold `sl.start + 4·sl.len` entries; every index `< x.len()`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn slice_avx2(s: &Sell, sl: &Slice, x: &[f64]) -> __m256d {
    let mut a = [_mm256_setzero_pd(); LANES];
    let xp = x.as_ptr();
    // SAFETY (whole block): positions q < sl.len read entries start + 4q .. start + 4q + 4,
    // inside the arrays (caller); index values are < x.len() (caller).
    unsafe {
        let dp = s.data.as_ptr().add(sl.start);
        let ip = s.idx.as_ptr().add(sl.start);
        // Position q's four products, x gathered by scalar loads from one 64-bit index load.
        let prod = |q: usize| {
            let w = ip.add(q * C).cast::<u64>().read_unaligned();
            let g = |r: u32| *xp.add(((w >> (16 * r)) & 0xffff) as usize);
            _mm256_mul_pd(
                _mm256_loadu_pd(dp.add(q * C)),
                _mm256_set_pd(g(3), g(2), g(1), g(0)),
            )
        };
        let full8 = sl.full / LANES * LANES;
        let mut q = 0;
        while q < full8 {
            for (l, acc) in a.iter_mut().enumerate() {
                *acc = _mm256_add_pd(*acc, prod(q + l));
            }
            q += LANES;
        }
        // The rest: positions full8..len; those below `full` need no mask, the others have
        // each lane masked by its row's length.
        let lens = _mm256_loadu_si256(sl.lens.as_ptr().cast());
        while q < sl.len {
            for (l, acc) in a.iter_mut().enumerate() {
                let p = q + l;
                if p < sl.full {
                    *acc = _mm256_add_pd(*acc, prod(p));
                } else if p < sl.len {
                    let live = _mm256_cmpgt_epi64(lens, _mm256_set1_epi64x(p as i64));
                    let v = _mm256_and_pd(prod(p), _mm256_castsi256_pd(live));
                    *acc = _mm256_add_pd(*acc, v);
                }
            }
            q += LANES;
        }
    }
    _mm256_add_pd(
        _mm256_add_pd(_mm256_add_pd(a[0], a[4]), _mm256_add_pd(a[2], a[6])),
        _mm256_add_pd(_mm256_add_pd(a[1], a[5]), _mm256_add_pd(a[3], a[7])),
    )
}

/// # Safety
/// The CPU has AVX2; as [`super::csr_mul_cols`] after [`super::check_shapes`].
#[target_feature(enable = "avx2")]
pub(super) unsafe fn csr_mul_cols_avx2(
    m: CsrView<'_>,
    x: &[f64],
    ld_x: usize,
    n: usize,
    out: &mut [f64],
    ld_out: usize,
) {
    // SAFETY: forwarded.
    let done = unsafe { portable::csr_blocks_body(&m, x, ld_x, n, out, ld_out) };
    if done == n {
        return;
    }
    for c in done..n {
        let (xc, oc) = (&x[c..], &mut out[c..]);
        for i in 0..m.rows {
            let (lo, hi) = (m.indptr[i], m.indptr[i + 1]);
            // SAFETY: AVX2 present; indices in range for xc (forwarded). Deliberate
            // unit-stride specialisation, as in `portable::csr_one_col_portable`: with the
            // stride a literal 1 the index multiply can go when `row_dot_avx2` (`#[inline]`)
            // is inlined here. Not guaranteed (the compiler may keep it out of line); both
            // branches do the same operations, so the same bits.
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

/// One CSR row times one column, AVX2: the portable kernel's order exactly.
///
/// # Safety
/// The CPU has AVX2; as [`portable::row_dot_portable`].
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn row_dot_avx2(d: &[f64], idx: &[u32], x: &[f64], ld: usize) -> f64 {
    let len = d.len();
    if len < 2 {
        // SAFETY: forwarded.
        return unsafe { portable::row_dot_portable(d, idx, x, ld) };
    }
    let (dp, ip) = (d.as_ptr(), idx.as_ptr());
    let mut a0 = _mm256_setzero_pd();
    let mut a1 = _mm256_setzero_pd();
    let full = len / LANES * LANES;
    let mut q = 0;
    // SAFETY (whole block): q + 7 < full ≤ len inside the loop, so every d/idx read is in
    // bounds, and every idx value is in range for x (caller).
    unsafe {
        let g = |k: usize| portable::at(x, *ip.add(k), ld);
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
            tx[l] = unsafe { portable::at(x, j, ld) };
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
/// The CPU has AVX2; as [`portable::dense_dot_body`].
#[target_feature(enable = "avx2")]
pub(super) unsafe fn dense_dot_avx2(w: &[f64], x: &[f64], ld: usize) -> f64 {
    // SAFETY: forwarded.
    unsafe { portable::dense_dot_body(w, x, ld) }
}

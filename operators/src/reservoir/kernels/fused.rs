//! The fused leaky step over the SELL-C-σ copy of `W` (AVX2): per 4-row slice, `W·x` for the
//! slice's rows, then at once `+ Win·u`, `+ bias`, `tanh` and the leaky blend, writing the
//! slice's new state rows — one pass over the rows instead of three (the product into a
//! scratch block, the pre-activation and `tanh` over the block, the blend).
//!
//! The update is SPEC §3's `x ← (1 − lr)·x + lr·tanh(W·x + Win·u + bias)`, evaluated as
//! [`crate::reservoir::layer`] documents it (ReservoirPy 0.4.2's `Reservoir._step` order):
//! `pre = (W·x + Win·u) + bias`, `a = tanh(pre)`, `x_new = (1 − lr)·x_old + lr·a`, per unit.
//! Here, for the four rows of a slice in one 256-bit vector each:
//!
//! 1. the four `W·x` sums by `super::avx2`'s slice kernel (the reduction order of [`super`]:
//!    entry `q` into partial sum `q mod 8`, fixed combine), exactly the bits of the unfused
//!    product;
//! 2. `(sums + Win·u) + bias` with the four rows' `Win·u` (computed beforehand for the whole
//!    range: `Win` is units × inputs, a few entries per row at most) and `bias` gathered by
//!    row; the same two rounded additions in the same order;
//! 3. `tanh` by [`crate::reservoir::tanh`]'s 4-wide AVX2 copy, lane for lane the bits of the
//!    scalar (and of the slice loop the unfused step uses);
//! 4. `(1 − lr)·x_old + lr·a` with `lr` and the old state gathered by row, then the four values
//!    stored to their rows of the new state (the `count` real ones of a short last slice).
//!
//! Every value is therefore bit-for-bit the unfused step's
//! (`fused_step_equals_unfused_bit_for_bit` in `layer.rs`'s tests). The new state goes to a
//! buffer other than the old one (double-buffered by the caller): later slices still gather
//! the old `x`. Why fuse: the pre-activation, `tanh` and blend were ≈ 18 % of a 500-unit step
//! as separate passes, and `tanh`'s arithmetic can overlap the load-bound gathers of the next
//! slice (out-of-order execution) instead of running after them. Measured in BENCHMARKS.md,
//! "Fused step (session 6)".
//!
//! Deviation from the unfused step: none in the numbers. Only this AVX2 path is fused; the
//! portable kernels, dense `W` and batches (`n > 1` columns) keep the three passes
//! (`Layer::step_cols`).

use std::arch::x86_64::*;

use super::Leak;
use super::avx2::window_sums_avx2;
use super::sell::{C, Sell, WINDOW};
use crate::reservoir::tanh::tanh_m256;

/// The rows of windows `w_lo..w_hi` of `s` (rows `w_lo·64 ..`), one leaky step: `x_new[i − lo]`
/// from `x_old` (the whole old state, gathered by `W·x`) and `leak`'s terms at `i − lo`, where
/// `lo = w_lo·64`.
///
/// # Safety
/// The CPU has AVX2 and BMI1; every index in `s.idx` is `< x_old.len()`; `w_lo ≤ w_hi ≤ s.windows()`.
/// The lengths of `x_old` (rows `lo..` of those windows), `leak`'s slices and `x_new` (one
/// value per row of those windows) are asserted here.
#[target_feature(enable = "avx2,bmi1")]
pub(super) unsafe fn sell_leaky_avx2(
    s: &Sell,
    w_lo: usize,
    w_hi: usize,
    x_old: &[f64],
    leak: &Leak<'_>,
    x_new: &mut [f64],
) {
    assert!(
        w_lo <= w_hi && w_hi <= s.windows(),
        "windows {w_lo}..{w_hi}"
    );
    let row0 = w_lo * WINDOW;
    let k = (w_hi * WINDOW).min(s.rows) - row0.min(s.rows);
    let x_self = &x_old[row0..];
    assert!(
        x_self.len() >= k
            && leak.winu.len() >= k
            && leak.bias.len() >= k
            && leak.lr.len() >= k
            && x_new.len() >= k,
        "{k} rows"
    );
    let one = _mm256_set1_pd(1.0);
    // A window's slices' `W·x` sums, kept in registers/L1 between the two halves below.
    let mut sums = [_mm256_setzero_pd(); WINDOW / C];
    for w in w_lo..w_hi {
        let base = w * WINDOW - row0;
        // First the gathers of the whole window (load-bound), then the epilogues: each
        // epilogue is a ≈ 100-cycle dependency chain (`tanh`'s polynomial and division), and
        // one after every slice stalled the next slice's loads (measured: 22 % slower than
        // the unfused step); sixteen independent ones in a row overlap each other.
        // SAFETY: forwarded from the caller; w < s.windows().
        let count = unsafe { window_sums_avx2(s, w, x_old, &mut sums) };
        let slices = &s.slices[s.window_ptr[w]..s.window_ptr[w + 1]];
        for (&acc, sl) in sums[..count].iter().zip(slices) {
            // The slice's rows, relative to row0: `base + rows[r] < k` because `rows[r]` is
            // below the window's row count (Sell::new), and a missing row of a short last
            // slice has `rows[r] = 0` (the window's first row: valid to read; its lane is
            // computed and dropped).
            let rr: [usize; C] = sl.rows.map(|r| base + r as usize);
            // SAFETY: rr[r] < k ≤ every slice's length (asserted above).
            let g = |v: &[f64]| unsafe {
                _mm256_set_pd(
                    *v.get_unchecked(rr[3]),
                    *v.get_unchecked(rr[2]),
                    *v.get_unchecked(rr[1]),
                    *v.get_unchecked(rr[0]),
                )
            };
            let pre = _mm256_add_pd(_mm256_add_pd(acc, g(leak.winu)), g(leak.bias));
            // SAFETY: AVX2 present (caller).
            let a = unsafe { tanh_m256(pre) };
            let lr = g(leak.lr);
            let xn = _mm256_add_pd(
                _mm256_mul_pd(_mm256_sub_pd(one, lr), g(x_self)),
                _mm256_mul_pd(lr, a),
            );
            let mut t = [0.0f64; C];
            // SAFETY: t holds 4 values.
            unsafe { _mm256_storeu_pd(t.as_mut_ptr(), xn) };
            for (r, &v) in t.iter().enumerate().take(sl.count) {
                // SAFETY: rr[r] < k ≤ x_new.len() (asserted above).
                unsafe { *x_new.get_unchecked_mut(rr[r]) = v };
            }
        }
    }
}

//! Run-time choice of the instruction set for the reservoir's inner-loop kernels.
//!
//! echoflow's release binary targets plain x86-64 (SSE2; no `target-cpu` flag), so that it runs
//! on every machine of a cluster. The inner loops ([`super::kernels`], [`super::tanh`]) also
//! carry an AVX2 copy, compiled with `#[target_feature(enable = "avx2")]`, and use it when the
//! CPU has AVX2: [`avx2`] asks `is_x86_feature_detected!` once and caches the answer (std also
//! caches it; the atomic here keeps the per-call check to one relaxed load).
//!
//! The choice never changes a result: every AVX2 kernel performs the same IEEE operations in the
//! same order as its portable twin (no fused multiply-add: FMA rounds once instead of twice and
//! machines without it would disagree), so the processes of a cluster compute bit-for-bit the same
//! states whatever their CPUs. The unit tests of [`super::kernels`] and [`super::tanh`] check it.

use std::sync::atomic::{AtomicU8, Ordering};

/// 0: not asked yet, 1: portable, 2: AVX2.
static CHOICE: AtomicU8 = AtomicU8::new(0);

/// True when the AVX2 kernels may run (the CPU has AVX2).
#[inline]
pub(crate) fn avx2() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        0 => {
            let yes = has_avx2();
            CHOICE.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
        c => c == 2,
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_stable() {
        let first = avx2();
        assert_eq!(avx2(), first);
        assert_ne!(CHOICE.load(Ordering::Relaxed), 0);
    }
}

//! A branch-free `tanh` for slices of `f64`, the reservoir's activation.
//!
//! The leaky update (`x ← (1 − lr)·x + lr·tanh(pre)`, [`super::layer`]) spent about a fifth of the
//! dataflow's time in glibc's scalar `tanh` (and the `expm1` it calls). [`tanh_in_place`] computes
//! the same function with no branches, no table look-ups and no calls, so that LLVM vectorises the
//! loop on the x86-64 baseline (SSE2, two lanes), and four lanes wide in the AVX2 copy that
//! [`tanh_in_place`] picks at run time on CPUs that have it (`super::isa`; no `target-cpu` flag
//! needed). Every lane does the same IEEE operations in the same order without fused
//! multiply-adds, so a value's result does not depend on its position in the slice or on the
//! slice's length: batched and one-at-a-time evaluation stay bit-for-bit equal.
//!
//! ## Algorithm
//!
//! `tanh x = copysign(m / (m + 2), x)` with `m = expm1(2|x|)`, which has no cancellation
//! anywhere (for small `|x|`, `m ≈ 2|x|` is accurate relative to itself), so one formula serves
//! the whole range and no second branch is needed. `y = 2|x|` is clamped to 40, where `tanh`
//! is exactly 1.0 in `f64` (it already is from |x| ≈ 19.06); the comparison is written so that
//! NaN passes through and comes out as NaN.
//!
//! `expm1 y` uses Cody–Waite range reduction as in fdlibm's `e_exp.c` / `s_expm1.c`:
//! `k = round(y / ln 2)` by the 1.5·2⁵² shifter trick (the shifter's low bits are then
//! `1023 + k`, which shifted into the exponent field give `2^k` with no float→int conversion),
//! `r = (y − k·ln2_hi) − k·ln2_lo` with fdlibm's split of ln 2 (`ln2_hi` has 21 trailing zero
//! bits, so `k·ln2_hi` is exact), `|r| ≤ ln 2 / 2`; `e^r − 1 = r + r²·q(r)` with `q` the Taylor
//! polynomial to `r¹³/13!` (truncation ≤ 7e-18 relative for |r| ≤ 0.35), evaluated by Estrin's
//! scheme (short dependency chains: the latency-bound Horner form was ≈ 1.8× slower), and
//! `expm1 y = 2^k·(e^r − 1) + (2^k − 1)` (`2^k − 1` is exact). Unlike fdlibm there is no table
//! and no branch on `k`; `k ≥ 0` always because `y ≥ 0`.
//!
//! Measured accuracy against `f64::tanh` (glibc), `tests` below: 10 million points over
//! [−30, 30], a geometric sweep from 1e-300 to 1, ±0, subnormals, ±∞, NaN and ±19…±20:
//! maximum absolute error 2.2e-16 (required ≤ 1e-15) and maximum relative error 5.0e-16
//! (required ≤ 1e-12); NaN maps to NaN, ±0 to ±0, ±∞ to ±1. Speed (`benches/reservoir.rs`,
//! `reservoir/tanh500`): ≈ 3× glibc's scalar `tanh` on SSE2.
//!
//! Deviation from ReservoirPy: NumPy's `np.tanh` (libm) is correctly rounded or nearly so; this
//! one is within a few units in the last place, far inside the 1e-9 parity tolerance of
//! `operators/tests/reservoir_parity.rs`, which stays green.
//!
//! ```
//! use echoflow_operators::reservoir::tanh::tanh_in_place;
//! let mut v = [-30.0, -0.5, 0.0, 1e-3, 0.7, 19.5, f64::INFINITY];
//! let want: Vec<f64> = v.iter().map(|x| x.tanh()).collect();
//! tanh_in_place(&mut v);
//! for (a, b) in v.iter().zip(&want) {
//!     assert!((a - b).abs() <= 1e-15);
//! }
//! ```

/// `expm1(2|x|)` is evaluated at most at this argument: `tanh` is 1.0 in `f64` from |x| ≈ 19.06.
const Y_MAX: f64 = 40.0;
/// 1 / ln 2.
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// fdlibm's `ln2HI`: the high bits of ln 2, 21 trailing zero bits.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// fdlibm's `ln2LO`: ln 2 − `LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5·2⁵² + 1023: adding it rounds to an integer `k` and leaves `1023 + k` in the low bits.
const SHIFTER: f64 = 6_755_399_441_055_744.0 + 1023.0;

/// `1/n!` for n = 2 … 13: `e^r − 1 = r + r²·(C[0] + C[1]·r + … + C[11]·r¹¹)`.
const C: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `tanh x`, branch-free (see the module docs); inlined into [`tanh_in_place`]'s loop.
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    // `y > Y_MAX` is false for NaN, which therefore flows on.
    let y = 2.0 * x.abs();
    let y = if y > Y_MAX { Y_MAX } else { y };
    let t = y * LOG2_E + SHIFTER;
    let k = t - SHIFTER;
    let r = (y - k * LN2_HI) - k * LN2_LO;
    // Estrin's scheme for q(r) = C[0] + C[1]·r + … + C[11]·r¹¹.
    let r2 = r * r;
    let r4 = r2 * r2;
    let b0 = (C[0] + C[1] * r) + (C[2] + C[3] * r) * r2;
    let b1 = (C[4] + C[5] * r) + (C[6] + C[7] * r) * r2;
    let b2 = (C[8] + C[9] * r) + (C[10] + C[11] * r) * r2;
    let q = b0 + r4 * (b1 + r4 * b2);
    let em1_r = r + r2 * q;
    let scale = f64::from_bits(t.to_bits() << 52);
    let m = scale * em1_r + (scale - 1.0);
    (m / (m + 2.0)).copysign(x)
}

/// Replaces every element of `v` by its `tanh` (see [`tanh`]); the loop vectorises, 4 wide on
/// CPUs with AVX2 (chosen at run time, same bits: element-wise IEEE operations do not depend on
/// the vector width).
pub fn tanh_in_place(v: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if super::isa::avx2() {
        // SAFETY: the CPU has AVX2 (checked at run time).
        unsafe { tanh_in_place_avx2(v) };
        return;
    }
    tanh_loop(v);
}

/// The loop of [`tanh_in_place`], compiled plain and with AVX2.
#[inline(always)]
fn tanh_loop(v: &mut [f64]) {
    for x in v.iter_mut() {
        *x = tanh(*x);
    }
}

/// # Safety
/// The CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn tanh_in_place_avx2(v: &mut [f64]) {
    tanh_loop(v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (max absolute error, max relative error) of `tanh` against `f64::tanh` over `xs`.
    fn errors(xs: &[f64]) -> (f64, f64) {
        let mut v = xs.to_vec();
        tanh_in_place(&mut v);
        let (mut abs, mut rel) = (0.0f64, 0.0f64);
        for (&x, &got) in xs.iter().zip(&v) {
            let want = x.tanh();
            let e = (got - want).abs();
            abs = abs.max(e);
            if want != 0.0 {
                rel = rel.max(e / want.abs());
            }
        }
        (abs, rel)
    }

    #[test]
    fn ten_million_points_over_minus_30_to_30() {
        let n = 10_000_000usize;
        let xs: Vec<f64> = (0..=n)
            .map(|i| -30.0 + 60.0 * (i as f64) / (n as f64))
            .collect();
        let (abs, rel) = errors(&xs);
        eprintln!("[-30, 30], 10M points: max abs error {abs:e}, max rel error {rel:e}");
        assert!(abs <= 1e-15, "max abs error {abs:e}");
        assert!(rel <= 1e-12, "max rel error {rel:e}");
    }

    #[test]
    fn dense_sweep_near_zero_and_the_first_reduction_step() {
        // Geometric from 1e-300 to 1 (both signs), and around |x| = ln 2 / 4 where k becomes 1.
        let mut xs = Vec::new();
        let mut x = 1e-300f64;
        while x < 1.0 {
            xs.push(x);
            xs.push(-x);
            x *= 1.0001;
        }
        for i in 0..=200_000 {
            let x = std::f64::consts::LN_2 / 4.0 * (0.99 + 0.02 * i as f64 / 200_000.0);
            xs.push(x);
            xs.push(-x);
        }
        let (abs, rel) = errors(&xs);
        eprintln!("near 0 and ln 2 / 4: max abs error {abs:e}, max rel error {rel:e}");
        assert!(abs <= 1e-15, "max abs error {abs:e}");
        assert!(rel <= 1e-12, "max rel error {rel:e}");
    }

    #[test]
    fn cody_waite_constants() {
        assert_eq!(
            LN2_HI.to_bits() & ((1 << 21) - 1),
            0,
            "k·ln2_hi must be exact"
        );
        assert_eq!(LN2_HI + LN2_LO, std::f64::consts::LN_2);
        assert!((LN2_HI - std::f64::consts::LN_2).abs() < 2e-10);
        assert_eq!(SHIFTER.to_bits() & 0xfff, 1023);
    }

    #[test]
    fn special_values() {
        let mut v = [
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            1e-310,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::NAN,
        ];
        tanh_in_place(&mut v);
        assert_eq!(v[0].to_bits(), 0.0f64.to_bits());
        assert_eq!(v[1].to_bits(), (-0.0f64).to_bits());
        assert_eq!(v[2], f64::MIN_POSITIVE);
        assert_eq!(v[3], -f64::MIN_POSITIVE);
        assert_eq!(v[4], 5e-324);
        assert_eq!(v[5], -5e-324);
        assert_eq!(v[6], 1e-310);
        assert_eq!(&v[7..11], &[1.0, -1.0, 1.0, -1.0]);
        assert!(v[11].is_nan());
    }

    #[test]
    fn saturation_from_19_to_20_matches_libm() {
        let xs: Vec<f64> = (0..=100_000)
            .flat_map(|i| {
                let x = 19.0 + i as f64 / 100_000.0;
                [x, -x]
            })
            .collect();
        let mut v = xs.clone();
        tanh_in_place(&mut v);
        for (x, got) in xs.iter().zip(&v) {
            assert!((got - x.tanh()).abs() <= 1.2e-16, "tanh({x}) = {got}");
            assert!(got.abs() <= 1.0, "tanh({x}) = {got} beyond ±1");
        }
        assert_eq!(tanh(20.0), 1.0);
        assert_eq!(tanh(-20.0), -1.0);
    }

    #[test]
    fn result_does_not_depend_on_slice_position_or_length() {
        let xs: Vec<f64> = (0..37).map(|i| (i as f64 - 18.0) * 0.731).collect();
        let mut whole = xs.clone();
        tanh_in_place(&mut whole);
        for (i, &x) in xs.iter().enumerate() {
            let mut one = [x];
            tanh_in_place(&mut one);
            assert_eq!(one[0].to_bits(), whole[i].to_bits(), "x = {x}");
            assert_eq!(tanh(x).to_bits(), whole[i].to_bits(), "x = {x}");
        }
    }

    proptest! {
        /// The AVX2 copy (where the CPU has AVX2) and the portable loop give the same bits, for
        /// any slice length (vector body and scalar tail) and any values, NaN and ±∞ included.
        #[test]
        fn avx2_and_portable_loops_agree_bit_for_bit(
            xs in proptest::collection::vec(any::<u64>().prop_map(f64::from_bits), 0..40),
            scale in proptest::collection::vec(-25.0f64..25.0, 0..40),
        ) {
            let v: Vec<f64> = xs.into_iter().chain(scale).collect();
            let mut portable = v.clone();
            tanh_loop(&mut portable);
            let mut dispatched = v.clone();
            tanh_in_place(&mut dispatched);
            // NaN payloads are not part of the contract: every NaN counts as one value.
            let bits = |a: &[f64]| {
                a.iter().map(|f| if f.is_nan() { u64::MAX } else { f.to_bits() }).collect::<Vec<_>>()
            };
            prop_assert_eq!(bits(&dispatched), bits(&portable));
            let scalar: Vec<f64> = v.iter().map(|&x| tanh(x)).collect();
            prop_assert_eq!(bits(&portable), bits(&scalar));
        }

        #[test]
        fn close_to_libm_odd_and_bounded(x in -40.0f64..40.0) {
            let got = tanh(x);
            let want = x.tanh();
            prop_assert!((got - want).abs() <= 1e-15, "tanh({}) = {} vs {}", x, got, want);
            if want != 0.0 {
                prop_assert!((got - want).abs() / want.abs() <= 1e-12);
            }
            prop_assert_eq!(tanh(-x).to_bits(), (-got).to_bits());
            prop_assert!(got.abs() <= 1.0);
        }

        #[test]
        fn close_to_libm_on_any_bit_pattern(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            let got = tanh(x);
            let want = x.tanh();
            if want.is_nan() {
                prop_assert!(got.is_nan());
            } else {
                prop_assert!((got - want).abs() <= 1e-15, "tanh({:e}) = {:e} vs {:e}", x, got, want);
                if want != 0.0 {
                    prop_assert!((got - want).abs() / want.abs() <= 1e-12);
                }
            }
        }
    }
}

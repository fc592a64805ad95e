//! Stable keyed randomness: a 64-bit hash of `(seed, bytes)`, a uniform draw in `[0, 1)` derived
//! from it, and Flink-style key groups.
//!
//! # Algorithm
//!
//! [`hash64`] is **FNV-1a (64-bit)** over the eight little-endian bytes of the seed followed by the
//! key bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`, as published by Fowler, Noll
//! and Vo), finished with the **SplitMix64 finaliser** (`fmix`: xor-shift 30, ×`0xbf58476d1ce4e5b9`,
//! xor-shift 27, ×`0x94d049bb133111eb`, xor-shift 31; Steele, Lea and Flood, "Fast splittable
//! pseudorandom number generators", OOPSLA 2014). FNV-1a alone mixes its last bytes poorly into the
//! high bits; the finaliser gives full avalanche, so `hash64(seed, key) >> 11` is a good 53-bit
//! uniform. Both steps are fixed integer arithmetic with wrapping multiplication: the result is the
//! same on every platform, endianness and Rust version (unlike `std`'s `DefaultHasher`, whose
//! algorithm is explicitly unspecified and has changed between releases). The test
//! `known_values_are_stable` pins the outputs.
//!
//! * [`unit_draw`]`(seed, key)` = `(hash64(seed, key) >> 11) · 2⁻⁵³`, in `[0, 1)`.
//! * [`Draws`] gives further independent draws for the same key (stream `i` re-mixes the hash with
//!   SplitMix64's increment `i · 0x9e3779b97f4a7c15`), used by power-of-two-choices.
//! * [`domain_seed`] derives a per-purpose seed (`"red"`, `"p2c"`, …) so that two operators with the
//!   same configured seed (every seed defaults to 0) do not make correlated draws for one request.
//! * [`key_group`]`(key, logical_shards)` = `hash64(0, key) mod logical_shards`, and
//!   [`worker_for_group`] = `group · workers / logical_shards`: Apache Flink's key groups
//!   (`KeyGroupRangeAssignment.assignToKeyGroup` / `computeOperatorIndexForKeyGroup`), so that state
//!   split for parallelism is split by key group and never by worker (SPEC §4).
//!
//! # Deviations
//!
//! Flink hashes with `murmur3(key.hashCode())`; echoflow uses the construction above over the
//! key's bytes (there is no JVM `hashCode` to be compatible with). Not cryptographic: it is meant
//! for reproducible decisions, not for resisting adversarial keys.
//!
//! ```
//! use echoflow_operators::keyed::{unit_draw, key_group};
//! let u = unit_draw(7, b"request-42");
//! assert!((0.0..1.0).contains(&u));
//! assert_eq!(u, unit_draw(7, b"request-42")); // same (seed, key) → same draw
//! assert!(key_group(b"tenant-a", 128) < 128);
//! ```

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finaliser: a bijection on `u64` with full avalanche.
#[inline]
pub fn fmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stable 64-bit hash of `(seed, key)`: FNV-1a over `seed` (little-endian) then `key`,
/// finished by [`fmix`].
#[inline]
pub fn hash64(seed: u64, key: &[u8]) -> u64 {
    let mut h = FNV_OFFSET;
    for b in seed.to_le_bytes().iter().chain(key) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    fmix(h)
}

/// Maps a 64-bit hash to a uniform `f64` in `[0, 1)` using its top 53 bits.
#[inline]
pub fn to_unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform draw in `[0, 1)` that is a pure function of `(seed, key)`.
#[inline]
pub fn unit_draw(seed: u64, key: &[u8]) -> f64 {
    to_unit(hash64(seed, key))
}

/// A seed for one purpose (`domain`, e.g. `"red"`), derived from a configured seed.
pub fn domain_seed(seed: u64, domain: &str) -> u64 {
    hash64(seed, domain.as_bytes())
}

/// Independent 64-bit draws for one key: stream `i` is `fmix(hash + (i + 1) · φ)`.
///
/// ```
/// use echoflow_operators::keyed::Draws;
/// let d = Draws::new(1, b"id-1");
/// assert_ne!(d.u64(0), d.u64(1));
/// assert_eq!(d.u64(1), Draws::new(1, b"id-1").u64(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draws {
    hash: u64,
}

impl Draws {
    /// Hashes `(seed, key)` once; the streams are derived from that hash.
    pub fn new(seed: u64, key: &[u8]) -> Self {
        Draws {
            hash: hash64(seed, key),
        }
    }

    /// The `i`-th 64-bit draw.
    #[inline]
    pub fn u64(&self, i: u64) -> u64 {
        fmix(
            self.hash
                .wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN)),
        )
    }

    /// The `i`-th draw as an index in `0..n` (Lemire's multiply-shift; `n` must be > 0).
    #[inline]
    pub fn index(&self, i: u64, n: usize) -> usize {
        ((u128::from(self.u64(i)) * n as u128) >> 64) as usize
    }

    /// The `i`-th draw as a uniform `f64` in `[0, 1)`.
    #[inline]
    pub fn unit(&self, i: u64) -> f64 {
        to_unit(self.u64(i))
    }
}

/// The key group of `key` among `logical_shards` groups (Flink's `assignToKeyGroup`).
///
/// `logical_shards` of 0 is treated as 1 (everything in group 0).
pub fn key_group(key: &[u8], logical_shards: u32) -> u32 {
    let n = u64::from(logical_shards.max(1));
    (hash64(0, key) % n) as u32
}

/// The worker that owns `group` when `logical_shards` groups are spread over `workers` workers
/// (Flink's `computeOperatorIndexForKeyGroup`: contiguous ranges of groups per worker).
pub fn worker_for_group(group: u32, logical_shards: u32, workers: u32) -> u32 {
    let shards = u64::from(logical_shards.max(1));
    let g = u64::from(group).min(shards - 1);
    (g * u64::from(workers.max(1)) / shards) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values_are_stable() {
        // FNV-1a over (seed ‖ key) checked against a byte-by-byte reference…
        assert_eq!(hash64(0, b""), fmix(reference_fnv1a(&[0u8; 8])));
        let mut bytes = 42u64.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"echoflow");
        assert_eq!(hash64(42, b"echoflow"), fmix(reference_fnv1a(&bytes)));
        // …and the outputs pinned when the construction was written: a change breaks replays.
        assert_eq!(KNOWN, [hash64(0, b"echoflow"), hash64(42, b"echoflow")]);
    }

    // Computed independently in Python (FNV-1a + SplitMix64 finaliser) when this was written.
    const KNOWN: [u64; 2] = [0x09b9_bad6_f45a_0c1f, 0xfed5_7c33_86ac_dbf4];

    fn reference_fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
        })
    }

    #[test]
    fn seed_and_key_both_matter() {
        assert_ne!(hash64(0, b"x"), hash64(1, b"x"));
        assert_ne!(hash64(0, b"x"), hash64(0, b"y"));
        assert_ne!(domain_seed(0, "red"), domain_seed(0, "p2c"));
    }

    #[test]
    fn draws_are_roughly_uniform() {
        let n = 20_000;
        let mut buckets = [0u32; 10];
        for i in 0..n {
            let u = unit_draw(3, format!("req-{i}").as_bytes());
            buckets[(u * 10.0) as usize] += 1;
        }
        for b in buckets {
            // Expected 2000 per bucket; 5 standard deviations is about ±212.
            assert!((1750..2250).contains(&b), "bucket count {b}");
        }
    }

    #[test]
    fn key_groups_spread_and_map_to_workers() {
        let mut seen = [false; 16];
        for i in 0..1000 {
            seen[key_group(format!("k{i}").as_bytes(), 16) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(worker_for_group(0, 128, 4), 0);
        assert_eq!(worker_for_group(31, 128, 4), 0);
        assert_eq!(worker_for_group(32, 128, 4), 1);
        assert_eq!(worker_for_group(127, 128, 4), 3);
        assert_eq!(key_group(b"x", 0), 0);
    }

    proptest! {
        #[test]
        fn unit_draw_in_range(seed in any::<u64>(), key in proptest::collection::vec(any::<u8>(), 0..64)) {
            let u = unit_draw(seed, &key);
            prop_assert!((0.0..1.0).contains(&u));
            prop_assert_eq!(u, unit_draw(seed, &key));
        }

        #[test]
        fn index_in_range(seed in any::<u64>(), n in 1usize..10_000, i in 0u64..4) {
            let d = Draws::new(seed, b"k");
            prop_assert!(d.index(i, n) < n);
        }

        #[test]
        fn key_group_in_range(key in proptest::collection::vec(any::<u8>(), 0..64), shards in 1u32..1024, workers in 1u32..64) {
            let g = key_group(&key, shards);
            prop_assert!(g < shards);
            prop_assert!(worker_for_group(g, shards, workers) < workers);
        }
    }
}

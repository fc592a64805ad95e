//! A SELL-C-σ copy of a CSR matrix (C = [`C`] = 4 rows per slice, σ = [`WINDOW`] = 64 rows per
//! sorting window), the layout of the one-sequence AVX2 product `W·x`.
//!
//! SELL-C-σ is Kreutzer, Hager, Wellein, Fehske & Bishop, "A unified sparse matrix data format
//! for efficient general sparse matrix-vector multiplication on modern processors with wide
//! SIMD units", SIAM J. Sci. Comput. 36(5), 2014: rows are sorted by length inside windows of σ
//! rows, cut into slices of C rows, and each slice is stored position-major (entry `q` of the
//! slice's C rows next to each other, short rows padded), so that one SIMD lane follows one row.
//!
//! How echoflow keeps [`super`]'s reduction order: a row's entry `q` must go to partial sum
//! `q mod 8`. The kernel holds eight 4-wide accumulators `a₀..a₇`; position `q` of a slice adds
//! its four products (one per row, one per vector lane) into `a_{q mod 8}`, so lane `r` of
//! `a_l` is exactly partial sum `l` of the slice's row `r`, in stored order. The final combine
//! `((a₀+a₄)+(a₂+a₆))+((a₁+a₅)+(a₃+a₇))` is then four rows' combines at once with no horizontal
//! shuffles. Padding (a row shorter than its slice's longest) is masked: its products are
//! replaced by `+0.0` bitwise, which changes no lane (see [`super`]), whatever `x` holds
//! (a `0.0 · ∞` NaN never enters). Results are therefore bit-for-bit those of the CSR kernels.
//!
//! Defaults and why: C = 4 is one 256-bit register of `f64` (AVX2); σ = 64 keeps the sorting
//! local, so that a contiguous range of whole windows is a contiguous range of rows (what the
//! row-parallel step of [`crate::reservoir::parallel`] splits on) while the padding stays small
//! (at 500 units, density 0.1: ≈ 1.5 % padded positions with σ = 64, 7 % unsorted). Column
//! indices are `u16` (four of them are one 64-bit load); the layout is only built when
//! `cols ≤ 65,536`. Deviation from the paper: no `C`-wide padding to a multiple of 8 positions
//! (the kernel has a tail), and the row permutation is applied on the output (each slice
//! writes its four sums to their rows) rather than to the vector.
//!
//! Cost: the matrix values are stored twice (CSR for the batched and portable kernels, SELL for
//! this one): 10 bytes more per stored entry.

/// Rows per slice: one 4-wide `f64` vector.
pub(crate) const C: usize = 4;
/// Rows per sorting window; row ranges given to the product must start at a multiple of it.
pub(crate) const WINDOW: usize = 64;

/// One slice of [`C`] rows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Slice {
    /// Offset of position 0 in [`Sell::data`] / [`Sell::idx`] (each position is [`C`] entries).
    pub(crate) start: usize,
    /// Positions without padding in any row (the shortest row's length).
    pub(crate) full: usize,
    /// Positions in all (the longest row's length).
    pub(crate) len: usize,
    /// Each row's length (0 for a missing row of the last slice), as lane masks are built from it.
    pub(crate) lens: [i64; C],
    /// The rows, as indices into the window's first row; `count` of them are real.
    pub(crate) rows: [u32; C],
    /// Real rows in this slice (the last slice of a window may have fewer than [`C`]).
    pub(crate) count: usize,
}

/// The SELL-C-σ copy of a CSR matrix with `cols ≤ 65,536`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sell {
    pub(crate) rows: usize,
    /// Window `w`'s slices are `slices[window_ptr[w]..window_ptr[w + 1]]`.
    pub(crate) window_ptr: Vec<usize>,
    pub(crate) slices: Vec<Slice>,
    pub(crate) data: Vec<f64>,
    pub(crate) idx: Vec<u16>,
}

impl Sell {
    /// The SELL copy of the CSR arrays (`indptr` of `rows + 1` entries), or `None` when some
    /// column index does not fit in `u16`.
    pub(crate) fn new(
        rows: usize,
        cols: usize,
        indptr: &[usize],
        indices: &[u32],
        data: &[f64],
    ) -> Option<Sell> {
        if cols > 1 << 16 {
            return None;
        }
        let row_len = |i: usize| indptr[i + 1] - indptr[i];
        let mut s = Sell {
            rows,
            window_ptr: vec![0],
            slices: Vec::new(),
            data: Vec::with_capacity(data.len()),
            idx: Vec::with_capacity(data.len()),
        };
        for w0 in (0..rows).step_by(WINDOW) {
            let w1 = (w0 + WINDOW).min(rows);
            let mut order: Vec<usize> = (w0..w1).collect();
            // Longest first, ties by row: deterministic.
            order.sort_by_key(|&i| (std::cmp::Reverse(row_len(i)), i));
            for group in order.chunks(C) {
                let mut lens = [0i64; C];
                let mut rws = [0u32; C];
                for (r, &i) in group.iter().enumerate() {
                    lens[r] = row_len(i) as i64;
                    rws[r] = (i - w0) as u32;
                }
                let len = group.iter().map(|&i| row_len(i)).max().unwrap_or(0);
                let full = if group.len() < C {
                    0
                } else {
                    group.iter().map(|&i| row_len(i)).min().unwrap_or(0)
                };
                let start = s.data.len();
                for q in 0..len {
                    for r in 0..C {
                        let (v, j) = match group.get(r) {
                            Some(&i) if q < row_len(i) => {
                                let p = indptr[i] + q;
                                (data[p], indices[p] as u16)
                            }
                            _ => (0.0, 0),
                        };
                        s.data.push(v);
                        s.idx.push(j);
                    }
                }
                s.slices.push(Slice {
                    start,
                    full,
                    len,
                    lens,
                    rows: rws,
                    count: group.len(),
                });
            }
            s.window_ptr.push(s.slices.len());
        }
        Some(s)
    }

    /// Number of windows.
    pub(crate) fn windows(&self) -> usize {
        self.window_ptr.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_hold_every_entry_once_and_rows_sorted_in_windows() {
        // 70 rows (two windows, the second of 6 rows), lengths 0..=9 cycling.
        let rows = 70;
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        let mut data = Vec::new();
        for i in 0..rows {
            for q in 0..i % 10 {
                indices.push(((i * 7 + q) % 50) as u32);
                data.push((i * 100 + q) as f64);
            }
            indptr.push(data.len());
        }
        let s = Sell::new(rows, 50, &indptr, &indices, &data).expect("u16 indices");
        assert_eq!(s.windows(), 2);
        let mut seen = vec![0usize; rows];
        for (w, pair) in s.window_ptr.windows(2).enumerate() {
            let mut prev = usize::MAX;
            for sl in &s.slices[pair[0]..pair[1]] {
                for r in 0..sl.count {
                    let i = w * WINDOW + sl.rows[r] as usize;
                    let len = indptr[i + 1] - indptr[i];
                    assert!(len <= prev, "sorted by length, longest first");
                    prev = len;
                    assert_eq!(sl.lens[r], len as i64);
                    assert!(sl.full <= len && len <= sl.len);
                    for q in 0..len {
                        let o = sl.start + q * C + r;
                        assert_eq!(s.data[o], data[indptr[i] + q]);
                        assert_eq!(u32::from(s.idx[o]), indices[indptr[i] + q]);
                    }
                    seen[i] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&k| k == 1));
        // Padding is zeros; no more than the sorted slices need.
        assert_eq!(
            s.data.len(),
            s.slices.iter().map(|sl| sl.len * C).sum::<usize>()
        );
        assert!(Sell::new(1, (1 << 16) + 1, &[0, 0], &[], &[]).is_none());
    }
}

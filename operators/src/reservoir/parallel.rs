//! Row-parallel evaluation of one sequence: each step's rows split over `T` threads that live
//! for the whole sequence and meet at a spin barrier after every layer.
//!
//! One sequence cannot be batched (step `t + 1` needs step `t`'s whole state), but the rows of
//! a step are independent: unit `i`'s new value reads the old state and the input only. So the
//! units of each layer are cut into `T` contiguous ranges of whole 64-row windows
//! ([`super::weights::ROW_BLOCK`], balanced by stored entries of `W`), and thread `k` computes
//! its range of `Layer::step_rows` — `W·x`, `Win·u`, bias, `tanh`, leaky blend — writing
//! only its own rows of the new state. The state is double-buffered (step `t` reads buffer
//! `t mod 2`, writes buffer `(t + 1) mod 2`), so nobody writes what another thread still
//! reads; a barrier after each layer publishes the new rows (layer `k + 1` reads layer `k`'s
//! new state). Thread 0 also computes the readout of step `t − 1` at the start of step `t`
//! (it reads the buffer every thread only reads during step `t`), and owns the output.
//!
//! Determinism: each row's value is computed by the same operations as in [`Esn::run`],
//! whichever thread and range it falls in (per-row sums do not depend on the split: see
//! `super::kernels`), so the outputs and the final state are bit-for-bit those of
//! [`Esn::run`] for every `T` (`operators/tests/reservoir_parallel.rs`, `T` = 1, 2, 3).
//!
//! Defaults and where they come from: `T` = 1 (evaluation never starts threads unless asked;
//! `T` = 1 is [`Esn::run`] itself; only a fit overlaps its GEMMs with the run on one helper
//! thread, [`super::esn::fit_readout`]). The barrier spins [`SPINS`] times (`pause` is tens of
//! cycles on Zen 3, so tens of µs: several 500-unit steps) and then yields the core between checks, because the development machine is
//! shared (2 cores) and a pure spin would steal the core from the thread it waits for. This is
//! not rayon: a `rayon` join per step would add a task hand-off and a wake-up per step
//! (expected µs, not measured here), the size of the work itself at 500 units. Measured
//! (BENCHMARKS.md): on the quiet 2-vCPU development machine 2 threads are 1.8–1.9× faster
//! than 1 (500 units: 5.3 against 9.8 µs per step; 2000: 70 against 127 µs; "Quiet machine
//! (session 7)"), but slower than 1 when other processes compete for the cores ("SELL-C-σ
//! kernel and row-parallel steps"), because a step needs both threads running at once; use
//! `T` > 1 only with dedicated cores. Deviation from ReservoirPy: ReservoirPy (SciPy's
//! `csr_matvec`) runs one sequence on one thread; BENCHMARKS.md reports the 1-thread and
//! `T`-thread ratios separately.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ndarray::{Array2, ArrayView2};

use super::esn::Esn;
use super::layer::Layer;

/// Spins of the barrier before it starts yielding.
pub const SPINS: u32 = 4096;

/// A reusable barrier for `n` threads: spin, then yield; broken (every waiter panics) when a
/// participant panics, so that a bug cannot leave the others waiting for ever.
struct SpinBarrier {
    n: usize,
    arrived: Line<AtomicUsize>,
    generation: Line<AtomicUsize>,
    broken: AtomicBool,
}

/// A value on a cache line of its own (128 bytes: adjacent-line prefetch), so that arriving
/// threads (`arrived`) and spinning ones (`generation`) do not contend for one line.
#[repr(align(128))]
struct Line<T>(T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl SpinBarrier {
    fn new(n: usize) -> Self {
        SpinBarrier {
            n,
            arrived: Line(AtomicUsize::new(0)),
            generation: Line(AtomicUsize::new(0)),
            broken: AtomicBool::new(false),
        }
    }

    /// Returns when all `n` threads have called it; everything written before any thread's
    /// call is visible after every thread's return (release/acquire through `arrived` and
    /// `generation`).
    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            // Reset before releasing: no thread can arrive for the next round before the
            // generation changes.
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.broken.load(Ordering::Relaxed) {
                panic!("a row-parallel reservoir thread panicked");
            }
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Breaks the barrier when its thread unwinds.
struct BreakOnPanic<'a>(&'a SpinBarrier);

impl Drop for BreakOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.broken.store(true, Ordering::Relaxed);
        }
    }
}

/// The two state buffers, shared by the threads under the protocol of the module docs.
struct Buffers {
    ptr: [*mut f64; 2],
    len: usize,
}

// SAFETY: the threads access the buffers only as the module docs' protocol allows (disjoint
// writes, reads of what no one writes in the same phase, barriers in between).
unsafe impl Sync for Buffers {}

impl Buffers {
    /// # Safety
    /// No thread writes `b[lo..hi]` until the next barrier that all readers pass after this
    /// borrow ends.
    unsafe fn read(&self, b: usize, lo: usize, hi: usize) -> &[f64] {
        assert!(lo <= hi && hi <= self.len);
        // SAFETY: in bounds (asserted); no concurrent writer (caller).
        unsafe { std::slice::from_raw_parts(self.ptr[b].add(lo), hi - lo) }
    }

    /// # Safety
    /// No other thread reads or writes `b[lo..hi]` until the next barrier.
    #[allow(clippy::mut_from_ref)]
    unsafe fn write(&self, b: usize, lo: usize, hi: usize) -> &mut [f64] {
        assert!(lo <= hi && hi <= self.len);
        // SAFETY: in bounds (asserted); exclusive for this phase (caller).
        unsafe { std::slice::from_raw_parts_mut(self.ptr[b].add(lo), hi - lo) }
    }
}

/// [`Esn::run`] with each step's rows split over `threads` threads (`threads ≤ 1`: `Esn::run`).
/// `inputs` and `state` have been checked against the model by the caller.
pub(crate) fn run(
    esn: &Esn,
    inputs: ArrayView2<'_, f64>,
    state: &mut [f64],
    threads: usize,
) -> Array2<f64> {
    let layers = esn.reservoir().layers();
    let offsets = esn.reservoir().offsets();
    let (steps, d, o) = (inputs.nrows(), inputs.ncols(), esn.output_dim());
    let mut out = Array2::zeros((steps, o));
    if steps == 0 {
        return out;
    }
    let t = threads.max(1);
    let splits: Vec<Vec<usize>> = layers.iter().map(|l| l.row_split(t)).collect();
    let widest = splits
        .iter()
        .flat_map(|b| b.windows(2).map(|w| w[1] - w[0]))
        .max()
        .unwrap_or(0);
    let u: Vec<f64> = inputs.iter().copied().collect();
    let len = state.len();
    let mut b0 = state.to_vec();
    let mut b1 = vec![0.0; len];
    let bufs = Buffers {
        ptr: [b0.as_mut_ptr(), b1.as_mut_ptr()],
        len,
    };
    let barrier = SpinBarrier::new(t);
    // One thread's share of every step; thread 0 also does the readouts into `out`.
    let work = |k: usize, mut out: Option<&mut Array2<f64>>| {
        let _guard = BreakOnPanic(&barrier);
        let (mut pre, mut tmp) = (vec![0.0; widest], vec![0.0; widest]);
        let mut y = vec![0.0; o];
        let mut readout = |b: usize, row: usize, out: &mut Array2<f64>| {
            // SAFETY: buffer b is only read during this phase (module docs).
            let x = unsafe { bufs.read(b, 0, len) };
            esn.readout().apply_cols(x, 1, 1, &mut y);
            out.row_mut(row)
                .iter_mut()
                .zip(&y)
                .for_each(|(a, &v)| *a = v);
        };
        for s in 0..steps {
            let (cur, nxt) = (s % 2, 1 - s % 2);
            if let (true, Some(out)) = (s > 0, out.as_deref_mut()) {
                readout(cur, s - 1, out);
            }
            for (l, (layer, b)) in layers.iter().zip(&splits).enumerate() {
                let (lo, hi) = (b[k], b[k + 1]);
                if lo < hi {
                    step_share(
                        layer,
                        l,
                        offsets,
                        &bufs,
                        (cur, nxt),
                        (lo, hi),
                        &u[s * d..(s + 1) * d],
                        (&mut pre, &mut tmp),
                    );
                }
                barrier.wait();
            }
        }
        if let Some(out) = out {
            readout(steps % 2, steps - 1, out);
        }
    };
    std::thread::scope(|scope| {
        for k in 1..t {
            let work = &work;
            scope.spawn(move || work(k, None));
        }
        work(0, Some(&mut out));
    });
    let last = if steps % 2 == 0 { &b0 } else { &b1 };
    state.copy_from_slice(last);
    out
}

/// Rows `lo..hi` of layer `l` for one step: reads buffer `cur` (old state) and the input (the
/// step's row for layer 0, layer `l − 1`'s new state in buffer `nxt` otherwise), writes those
/// rows of buffer `nxt`.
#[allow(clippy::too_many_arguments)]
fn step_share(
    layer: &Layer,
    l: usize,
    offsets: &[usize],
    bufs: &Buffers,
    (cur, nxt): (usize, usize),
    (lo, hi): (usize, usize),
    u: &[f64],
    (pre, tmp): (&mut [f64], &mut [f64]),
) {
    let (a, z) = (offsets[l], offsets[l + 1]);
    // SAFETY (the three borrows): during this phase buffer `cur` is only read; layer l − 1's
    // rows of `nxt` were written before the previous barrier and are only read now; rows
    // a + lo .. a + hi of `nxt` are this thread's alone (the ranges of a split are disjoint).
    let x_old = unsafe { bufs.read(cur, a, z) };
    let input = if l == 0 {
        u
    } else {
        unsafe { bufs.read(nxt, offsets[l - 1], a) }
    };
    let x_new = unsafe { bufs.write(nxt, a + lo, a + hi) };
    layer.step_rows(lo, hi, x_old, input, x_new, pre, tmp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_barrier_orders_phases() {
        // Each thread writes its slot, waits, then reads the others' slots of the same round.
        let t = 3;
        let rounds = 200;
        let barrier = SpinBarrier::new(t);
        let slots: Vec<AtomicUsize> = (0..t).map(|_| AtomicUsize::new(0)).collect();
        std::thread::scope(|s| {
            for k in 0..t {
                let (barrier, slots) = (&barrier, &slots);
                s.spawn(move || {
                    for r in 1..=rounds {
                        slots[k].store(r, Ordering::Relaxed);
                        barrier.wait();
                        for other in slots {
                            assert_eq!(other.load(Ordering::Relaxed), r);
                        }
                        barrier.wait();
                    }
                });
            }
        });
    }

    #[test]
    fn a_panicking_thread_breaks_the_barrier() {
        let barrier = SpinBarrier::new(2);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    let _g = BreakOnPanic(&barrier);
                    panic!("boom");
                });
                barrier.wait();
            })
        }));
        assert!(r.is_err());
    }
}

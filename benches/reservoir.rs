//! Criterion benchmarks of the reservoir engine (issue #5); figures and the peer comparison are in
//! BENCHMARKS.md, "Reservoir engine (issue #5)".
//!
//! - `reservoir/steps/{100,500,2000}`: sequential evaluation (state update + readout) of 1,000
//!   Mackey–Glass steps with the 100/500/2000-unit models that
//!   `benches/peers/reservoirpy_timing.py` trained and saved with ReservoirPy 0.4.2 (lr 0.3,
//!   sr 1.25, connectivity 0.1, seed 42), read from `$ECHOFLOW_RESERVOIR_BENCH_DIR`
//!   (default `target/reservoir-bench`). Without them it fits echoflow models of the same shape
//!   and says so.
//! - `reservoir/steps_par/{500,2000}/T`: the same 1,000 steps with `Esn::run_threads`, each
//!   step's rows split over `T` = 1 or 2 long-lived threads (`T` = 1 is `reservoir/steps`).
//! - `reservoir/batch_sparse500/N` and `reservoir/batch_dense500/N`: `BatchEvaluator` over N
//!   requests of 8 steps each (N = 1 … 4096), 500 units, with the sparse ReservoirPy model and
//!   with a fully dense `W` (connectivity 1, so each step is one dense GEMM).
//! - `reservoir/gemm500/N`: the machine's GEMM rate with the same library (ndarray →
//!   matrixmultiply `dgemm`): one 500×500 by 500×N product, what one step of N dense requests
//!   multiplies.
//!
//! - `reservoir/w_floor/{100,500,2000}`: no evaluation, a memory floor: 1,000 passes that only
//!   read the stored values of the same models' `W` once each (sixteen-lane sums, the loads a
//!   perfect one-sequence kernel could not avoid: every value is needed every step). At 500
//!   units `W`'s 25,000 values (200 KB) live in L2, not L1, so this is the L2 read rate; the
//!   inner-loop goal (10× ReservoirPy) is judged against it in BENCHMARKS.md.
//! - `reservoir/tanh500/{libm,echoflow}`: `tanh` of 500 pre-activations (one 500-unit step's
//!   worth), glibc's `f64::tanh` element by element versus echoflow's branch-free
//!   `reservoir::tanh::tanh_in_place`.
//!
//! Run: `cargo bench --bench reservoir -- --warm-up-time 1 --measurement-time 3`.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::OnceLock;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use echoflow_operators::reservoir::tanh::tanh_in_place;
use echoflow_operators::reservoir::{
    BatchEvaluator, Esn, FitParams, LayerInit, Request, Weights, mackey_glass, read_model,
};
use ndarray::Array2;
use ndarray::linalg::general_mat_mul;

const BATCHES: [usize; 7] = [1, 4, 16, 64, 256, 1024, 4096];
const REQUEST_STEPS: usize = 8;

fn bench_dir() -> PathBuf {
    std::env::var_os("ECHOFLOW_RESERVOIR_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/reservoir-bench"))
}

fn fitted(units: usize, rc_connectivity: f64) -> Esn {
    let series = mackey_glass(2001, 0);
    let p = FitParams {
        layer: LayerInit {
            units,
            rc_connectivity,
            ..LayerInit::default()
        },
        seed: 42,
        ..FitParams::default()
    };
    Esn::fit(series.view(), &p).unwrap_or_else(|e| panic!("fit {units} units: {e}"))
}

fn reservoirpy_model(units: usize) -> Esn {
    let path = bench_dir().join(format!("rpy_{units}.npz"));
    match File::open(&path).map(|f| read_model(BufReader::new(f))) {
        Ok(Ok(m)) => m,
        _ => {
            eprintln!(
                "{} not found: benchmarking an echoflow-fitted model of the same shape \
                 (run benches/peers/reservoirpy_timing.py for ReservoirPy's)",
                path.display()
            );
            fitted(units, 0.1)
        }
    }
}

fn steps(c: &mut Criterion) {
    let series = mackey_glass(1000, 1);
    let mut g = c.benchmark_group("reservoir/steps");
    g.throughput(Throughput::Elements(series.nrows() as u64));
    // Loaded on first use (Criterion calls the closure once per sample): a filtered-out size
    // costs nothing.
    let models: [OnceLock<Esn>; 3] = Default::default();
    for (units, cell) in [100, 500, 2000].into_iter().zip(&models) {
        g.bench_with_input(BenchmarkId::from_parameter(units), &units, |b, &units| {
            let esn = cell.get_or_init(|| reservoirpy_model(units));
            b.iter(|| {
                let mut s = esn.zero_state();
                esn.run(series.view(), &mut s)
            })
        });
    }
    g.finish();
}

fn steps_par(c: &mut Criterion) {
    let series = mackey_glass(1000, 1);
    let mut g = c.benchmark_group("reservoir/steps_par");
    g.throughput(Throughput::Elements(series.nrows() as u64));
    let models: [OnceLock<Esn>; 2] = Default::default();
    for (units, cell) in [500, 2000].into_iter().zip(&models) {
        for threads in [1, 2] {
            let id = BenchmarkId::new(units.to_string(), threads);
            g.bench_with_input(id, &threads, |b, &threads| {
                let esn = cell.get_or_init(|| reservoirpy_model(units));
                b.iter(|| {
                    let mut s = esn.zero_state();
                    esn.run_threads(series.view(), &mut s, threads)
                })
            });
        }
    }
    g.finish();
}

fn w_floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("reservoir/w_floor");
    g.throughput(Throughput::Elements(1000));
    let models: [OnceLock<Vec<f64>>; 3] = Default::default();
    for (units, cell) in [100, 500, 2000].into_iter().zip(&models) {
        g.bench_with_input(BenchmarkId::from_parameter(units), &units, |b, &units| {
            let values = cell.get_or_init(|| {
                let esn = reservoirpy_model(units);
                match esn.reservoir().layers()[0].w() {
                    Weights::Sparse(csr) => csr.data().to_vec(),
                    Weights::Dense(w) => w.iter().copied().collect(),
                }
            });
            b.iter(|| {
                let mut lanes = [0.0f64; 16];
                for _ in 0..1000 {
                    // black_box keeps the 1,000 passes from being folded into one.
                    let values = std::hint::black_box(values.as_slice());
                    read_all_best(values, &mut lanes);
                }
                lanes
            })
        });
    }
    g.finish();
}

/// Adds every value into one of 16 lanes (four 256-bit accumulators with AVX2: the loads, not
/// the additions' latency, bound the loop).
#[inline(always)]
fn read_all(values: &[f64], lanes: &mut [f64; 16]) {
    let chunks = values.chunks_exact(16);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    for (l, v) in lanes.iter_mut().zip(tail) {
        *l += v;
    }
}

/// [`read_all`] compiled with AVX2 (the engine's kernels dispatch to AVX2 the same way).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn read_all_avx2(values: &[f64], lanes: &mut [f64; 16]) {
    read_all(values, lanes)
}

/// [`read_all`] with AVX2 when the CPU has it.
fn read_all_best(values: &[f64], lanes: &mut [f64; 16]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked on the line above).
        unsafe { read_all_avx2(values, lanes) };
        return;
    }
    read_all(values, lanes)
}

fn batch(c: &mut Criterion) {
    let series = mackey_glass(4096 + REQUEST_STEPS, 2);
    let inputs: Vec<Array2<f64>> = (0..4096)
        .map(|i| {
            series
                .slice(ndarray::s![i..i + REQUEST_STEPS, ..])
                .to_owned()
        })
        .collect();
    let ev = BatchEvaluator::default();
    // Models are made on first use, so that a filter that skips a group skips its set-up (the
    // dense fit takes seconds).
    let sparse: OnceLock<Esn> = OnceLock::new();
    let dense: OnceLock<Esn> = OnceLock::new();
    for (name, cell, make) in [
        (
            "reservoir/batch_sparse500",
            &sparse,
            (|| reservoirpy_model(500)) as fn() -> Esn,
        ),
        ("reservoir/batch_dense500", &dense, || fitted(500, 1.0)),
    ] {
        let mut g = c.benchmark_group(name);
        for n in BATCHES {
            let reqs: Vec<Request<'_>> = inputs[..n]
                .iter()
                .map(|x| Request {
                    input: x.view(),
                    state: None,
                })
                .collect();
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &reqs, |b, reqs| {
                let esn = cell.get_or_init(make);
                b.iter(|| ev.evaluate(esn, reqs))
            });
        }
        g.finish();
    }
}

fn gemm(c: &mut Criterion) {
    let u = 500;
    let w = Array2::from_shape_fn((u, u), |(i, j)| {
        ((i * 31 + j * 17) % 101) as f64 / 101.0 - 0.5
    });
    let mut g = c.benchmark_group("reservoir/gemm500");
    for n in BATCHES {
        let x = Array2::from_shape_fn((u, n), |(i, j)| ((i + 3 * j) % 7) as f64 / 7.0);
        let mut out = Array2::<f64>::zeros((u, n));
        // Elements = floating-point operations, so Criterion's rate reads as flop/s.
        g.throughput(Throughput::Elements((2 * u * u * n) as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| general_mat_mul(1.0, &w, &x, 0.0, &mut out))
        });
    }
    g.finish();
}

fn tanh(c: &mut Criterion) {
    // Pre-activations spread like a running reservoir's: mostly within ±3, some saturated.
    let xs: Vec<f64> = (0..500)
        .map(|i| ((i * 7919) % 500) as f64 / 500.0 * 8.0 - 4.0)
        .collect();
    let mut g = c.benchmark_group("reservoir/tanh500");
    g.throughput(Throughput::Elements(xs.len() as u64));
    let mut v = xs.clone();
    g.bench_function("libm", |b| {
        b.iter(|| {
            v.copy_from_slice(&xs);
            for x in v.iter_mut() {
                *x = x.tanh();
            }
            std::hint::black_box(&v);
        })
    });
    g.bench_function("echoflow", |b| {
        b.iter(|| {
            v.copy_from_slice(&xs);
            tanh_in_place(&mut v);
            std::hint::black_box(&v);
        })
    });
    g.finish();
}

criterion_group!(benches, steps, steps_par, w_floor, batch, gemm, tanh);
criterion_main!(benches);

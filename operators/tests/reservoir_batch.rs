//! Batch invariance (issue #5): batched outputs and states equal step-by-step evaluation of each
//! request, bit for bit, for batch sizes 1, 7, 64 and 1000, with 1 or 2 rayon threads, for a
//! sparse-W model (ReservoirPy's 500-unit fixture), a dense-W deep model (ReservoirPy's 2-layer
//! fixture), and random models and request mixes (proptest).

use std::fs::File;
use std::path::PathBuf;

use echoflow_operators::reservoir::{
    BatchEvaluator, Esn, FitParams, LayerInit, Outcome, Request, mackey_glass, read_model,
};
use ndarray::{Array2, s};
use proptest::prelude::*;

fn fixture_model(name: &str) -> Esn {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reservoir")
        .join(name);
    read_model(File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `count` requests of 1..=max_steps steps cut from a deterministic pseudo-random input stream,
/// every third one starting from a non-zero (session) state.
fn requests(esn: &Esn, count: usize, max_steps: usize) -> (Vec<Array2<f64>>, Vec<Vec<f64>>) {
    let d = esn.input_dim();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut inputs = Vec::with_capacity(count);
    let mut states = Vec::with_capacity(count);
    for _ in 0..count {
        let steps = 1 + (next() * max_steps as f64) as usize % max_steps;
        inputs.push(Array2::from_shape_fn((steps, d), |_| 0.4 + next()));
        states.push((0..esn.state_len()).map(|_| next() - 0.5).collect());
    }
    (inputs, states)
}

fn as_requests<'a>(inputs: &'a [Array2<f64>], states: &'a [Vec<f64>]) -> Vec<Request<'a>> {
    inputs
        .iter()
        .zip(states)
        .enumerate()
        .map(|(i, (input, st))| Request {
            input: input.view(),
            state: (i % 3 == 0).then_some(st.as_slice()),
        })
        .collect()
}

fn sequential(esn: &Esn, reqs: &[Request<'_>]) -> Vec<Outcome> {
    reqs.iter()
        .map(|r| {
            let mut state = r.state.map_or_else(|| esn.zero_state(), <[f64]>::to_vec);
            let output = esn.run_last(r.input, &mut state).expect("sequential");
            Outcome { output, state }
        })
        .collect()
}

fn bits(o: &[Outcome]) -> Vec<(Vec<u64>, Vec<u64>)> {
    o.iter()
        .map(|o| {
            (
                o.output.iter().map(|v| v.to_bits()).collect(),
                o.state.iter().map(|v| v.to_bits()).collect(),
            )
        })
        .collect()
}

fn check_invariance(esn: &Esn, max_steps: usize) {
    let (inputs, states) = requests(esn, 1000, max_steps);
    let all = as_requests(&inputs, &states);
    let reference = bits(&sequential(esn, &all));
    // Every batch size with both thread counts (default chunk), then other chunk sizes.
    let mut configs: Vec<(usize, usize, usize)> = Vec::new();
    for threads in [1, 2] {
        for batch in [1, 7, 64, 1000] {
            configs.push((threads, batch, BatchEvaluator::default().chunk()));
        }
    }
    configs.extend([(2, 1000, 1), (2, 1000, 7)]);
    for (threads, batch, chunk) in configs {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let ev = BatchEvaluator::new(chunk);
        let mut got = Vec::new();
        for b in all.chunks(batch) {
            got.extend(pool.install(|| ev.evaluate(esn, b)).expect("batch"));
        }
        assert!(
            bits(&got) == reference,
            "batch {batch}, chunk {chunk}, {threads} thread(s) differs from sequential"
        );
    }
}

#[test]
fn sparse_model_batches_equal_sequential_bit_for_bit() {
    check_invariance(&fixture_model("mg500.npz"), 4);
}

#[test]
fn dense_deep_model_batches_equal_sequential_bit_for_bit() {
    check_invariance(&fixture_model("deep.npz"), 12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn random_models_and_batches_are_invariant(
        seed in 0u64..1000,
        units in 5usize..40,
        rc in 0.05f64..1.0,
        depth in 1usize..3,
        count in 1usize..40,
        max_steps in 1usize..10,
        chunk in 1usize..20,
    ) {
        let series = mackey_glass(300, seed);
        let p = FitParams {
            layer: LayerInit { units, rc_connectivity: rc, ..LayerInit::default() },
            depth,
            seed,
            warmup: 20,
            ..FitParams::default()
        };
        let esn = Esn::fit(series.slice(s![.., ..]), &p).expect("fit");
        let (inputs, states) = requests(&esn, count, max_steps);
        let all = as_requests(&inputs, &states);
        let got = BatchEvaluator::new(chunk).evaluate(&esn, &all).expect("batch");
        prop_assert!(bits(&got) == bits(&sequential(&esn, &all)));
    }
}

//! The row-parallel single-sequence step (`Esn::run_threads`, `reservoir::parallel`) gives the
//! bits of the sequential `Esn::run` for every thread count: outputs and final state, sparse and
//! dense weights, one and two layers, zero and non-zero start states, ReservoirPy's own
//! 500-unit model. Per-row sums do not depend on which thread computes which rows.

use std::fs::File;
use std::path::PathBuf;

use echoflow_operators::reservoir::{Esn, FitParams, LayerInit, Weights, mackey_glass, read_model};
use ndarray::Array2;
use proptest::prelude::*;

fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

fn fitted(units: usize, depth: usize, rc_connectivity: f64, input_connectivity: f64) -> Esn {
    let series = mackey_glass(400, 3);
    let p = FitParams {
        layer: LayerInit {
            units,
            rc_connectivity,
            input_connectivity,
            bias_scaling: 0.2,
            ..LayerInit::default()
        },
        depth,
        seed: 7,
        warmup: 50,
        ..FitParams::default()
    };
    Esn::fit(series.view(), &p).unwrap_or_else(|e| panic!("fit: {e}"))
}

/// Runs `esn` over `inputs` from `start` with 1 thread and with each of `threads`, and checks
/// the outputs and final states are the same bits.
fn check_same_bits(esn: &Esn, inputs: &Array2<f64>, start: &[f64], threads: &[usize]) {
    let mut s1 = start.to_vec();
    let want = esn.run(inputs.view(), &mut s1).expect("run");
    for &t in threads {
        let mut st = start.to_vec();
        let got = esn
            .run_threads(inputs.view(), &mut st, t)
            .expect("run_threads");
        assert_eq!(bits(&got), bits(&want), "outputs, {t} threads");
        assert_eq!(
            st.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            s1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            "final state, {t} threads"
        );
    }
}

#[test]
fn sparse_one_layer_any_thread_count() {
    // 300 units: five windows of 64 rows, so 2 and 3 threads get different splits.
    let esn = fitted(300, 1, 0.1, 0.1);
    assert!(matches!(
        esn.reservoir().layers()[0].w(),
        Weights::Sparse(_)
    ));
    let inputs = mackey_glass(200, 5);
    check_same_bits(&esn, &inputs, &esn.zero_state(), &[1, 2, 3, 4, 8]);
}

#[test]
fn deep_and_dense_weights() {
    // Two layers (layer 1 reads layer 0's new state after a barrier); dense W and dense Win.
    let deep = fitted(150, 2, 0.1, 0.1);
    let inputs = mackey_glass(100, 6);
    check_same_bits(&deep, &inputs, &deep.zero_state(), &[2, 3]);
    let dense = fitted(140, 1, 1.0, 1.0);
    assert!(matches!(
        dense.reservoir().layers()[0].w(),
        Weights::Dense(_)
    ));
    assert!(matches!(
        dense.reservoir().layers()[0].win(),
        Weights::Dense(_)
    ));
    check_same_bits(&dense, &inputs, &dense.zero_state(), &[2, 3]);
}

#[test]
fn reservoirpy_500_unit_model() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reservoir/mg500.npz");
    let f = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let esn = read_model(f).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let inputs = mackey_glass(300, 0);
    check_same_bits(&esn, &inputs, &esn.zero_state(), &[2, 3]);
}

#[test]
fn empty_inputs_and_errors() {
    let esn = fitted(70, 1, 0.1, 0.1);
    let mut s = esn.zero_state();
    let out = esn
        .run_threads(Array2::zeros((0, 1)).view(), &mut s, 2)
        .expect("no rows");
    assert_eq!(out.dim(), (0, 1));
    assert!(
        esn.run_threads(Array2::zeros((3, 2)).view(), &mut s, 2)
            .is_err()
    );
    assert!(
        esn.run_threads(Array2::zeros((3, 1)).view(), &mut [0.0; 3], 2)
            .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random start states and inputs (including large ones that saturate `tanh`), 1 to 4
    /// threads: the same bits as sequential.
    #[test]
    fn random_states_and_inputs(
        seed in 0u64..1000,
        steps in 1usize..40,
        threads in 1usize..=4,
        scale in prop_oneof![Just(1.0f64), Just(100.0)],
    ) {
        let esn = fitted(200, 1, 0.1, 0.5);
        let mix = |i: u64| ((i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(seed)) >> 11) as f64
            / (1u64 << 53) as f64 * 2.0 - 1.0;
        let start: Vec<f64> = (0..esn.state_len() as u64).map(mix).collect();
        let inputs = Array2::from_shape_fn((steps, 1), |(i, _)| scale * mix(10_000 + i as u64));
        check_same_bits(&esn, &inputs, &start, &[threads]);
    }
}

//! An Echo State Network from scratch: fit a 300-unit reservoir on the Mackey–Glass series
//! (τ = 17), predict the next step on data it has not seen, score it, and check that batched
//! evaluation of many short sequences gives exactly the bits of running each alone.
//!
//! This is what `echoflow reservoir fit` / `eval` and the dataflow's reservoir evaluation do,
//! as library calls:
//!
//! - [`Esn::fit`]: ReservoirPy's initialisation (sparse normal `W` scaled to the spectral
//!   radius, uniform ±1 `Win` and bias), the leaky-integrator states, and a ridge readout with
//!   bias, warm-up rows left out;
//! - [`Esn::predict`]: row `t` is the readout after consuming input row `t` (zero start state);
//! - [`next_step_nrmse`]: the NRMSE `reservoir eval` prints;
//! - [`BatchEvaluator`]: one request per sequence, states as one matrix per step.
//!
//! ```text
//! cargo run --release -p echoflow-operators --example esn_forecast
//! ```

use echoflow_operators::reservoir::{
    BatchEvaluator, Esn, FitParams, LayerInit, Request, mackey_glass, next_step_nrmse,
};
use ndarray::s;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let series = mackey_glass(6_000, 42);
    let (train, test) = (series.slice(s![..4_000, ..]), series.slice(s![4_000.., ..]));

    let params = FitParams {
        layer: LayerInit {
            units: 300,
            lr: 0.3,
            sr: 1.25,
            ..LayerInit::default()
        },
        ridge: 1e-6,
        seed: 42,
        warmup: 100,
        ..FitParams::default()
    };
    let esn = Esn::fit(train, &params)?;

    // Next-step prediction on the unseen part, from a zero state (the first 100 rows warm up).
    let predictions = esn.predict(test)?;
    let nrmse = next_step_nrmse(test, predictions.view(), 100).ok_or("test series too short")?;
    // The naive forecast to beat: the next value equals this one.
    let persistence = next_step_nrmse(test, test, 100).ok_or("test series too short")?;
    println!(
        "300 units, 4,000 training rows, 2,000 unseen rows: next-step NRMSE {nrmse:.3e} \
         (persistence: {persistence:.3e})"
    );
    assert!(
        nrmse < persistence / 4.0,
        "a fitted ESN forecasts one step ahead far better than persistence"
    );

    // Batched evaluation: 64 requests of 8 steps each, as the dataflow batches one timestamp.
    let windows: Vec<_> = (0..64)
        .map(|i| test.slice(s![i * 8..i * 8 + 8, ..]))
        .collect();
    let requests: Vec<Request<'_>> = windows
        .iter()
        .map(|w| Request {
            input: w.view(),
            state: None,
        })
        .collect();
    let batched = BatchEvaluator::default().evaluate(&esn, &requests)?;
    for (w, outcome) in windows.iter().zip(&batched) {
        let mut state = esn.zero_state();
        let alone = esn.run_last(w.view(), &mut state)?;
        // Bit for bit, not approximately: the batch's summation order is each request's own.
        assert_eq!(outcome.output, alone);
        assert_eq!(outcome.state, state);
    }
    println!(
        "64 requests batched: every output and final state equals one-at-a-time evaluation, bit for bit"
    );
    Ok(())
}

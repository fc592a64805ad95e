//! Batched evaluation of many independent sequences (one per request, or one per `session`
//! carrying its state between requests), SPEC §3 "Batched evaluation over many requests with
//! rayon".
//!
//! The requests are cut into chunks of [`BatchEvaluator::chunk`] (64 by default), evaluated in
//! parallel with rayon. Within a chunk the states form one `state_len × n` matrix (unit-major,
//! one column per request), so each step of each layer is one sparse×dense (CSR `W`) or dense
//! GEMM (dense `W`, via matrixmultiply) over the chunk. Requests of different lengths are sorted
//! by length (longest first) inside the chunk so that the requests still running at step `t` are
//! a prefix of the columns; a finished request's column is left alone, and the readout is taken
//! for every column at the end.
//!
//! ## Invariance
//!
//! The result of every request is bit-for-bit the same as evaluating it alone with
//! [`Esn::run_last`], for any batch size, chunk size and number of rayon threads: each output
//! element is a sum in a fixed order that does not depend on the other columns (see
//! [`super::weights`]), and nothing is reduced across requests. Requests in one batch are
//! independent: two requests of the same session must go into successive batches (the second
//! starting from the state the first returned).

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::deep::Workspace;
use super::error::{ReservoirError, Result};
use super::esn::Esn;

/// One sequence to evaluate.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `steps × input_dim` inputs.
    pub input: ArrayView2<'a, f64>,
    /// The state to start from (a session's carried state); `None` is the zero state.
    pub state: Option<&'a [f64]>,
}

/// The result of one request.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The readout after the last step (`output_dim` values).
    pub output: Vec<f64>,
    /// The state after the last step (`state_len` values): what a session carries on.
    pub state: Vec<f64>,
}

/// Evaluates batches of requests.
#[derive(Clone, Copy, Debug)]
pub struct BatchEvaluator {
    chunk: usize,
}

impl Default for BatchEvaluator {
    fn default() -> Self {
        BatchEvaluator { chunk: 64 }
    }
}

impl BatchEvaluator {
    /// An evaluator with `chunk` requests per parallel task (at least 1).
    pub fn new(chunk: usize) -> Self {
        BatchEvaluator {
            chunk: chunk.max(1),
        }
    }

    /// Requests per parallel task.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// Evaluates every request; outcomes are in request order.
    ///
    /// ```
    /// use echoflow_operators::reservoir::{BatchEvaluator, Esn, FitParams, LayerInit, Request, mackey_glass};
    /// let series = mackey_glass(400, 0);
    /// let p = FitParams { layer: LayerInit { units: 30, ..LayerInit::default() }, warmup: 50, ..FitParams::default() };
    /// let esn = Esn::fit(series.view(), &p).unwrap();
    /// let a = series.slice(ndarray::s![0..20, ..]);
    /// let b = series.slice(ndarray::s![100..105, ..]);
    /// let out = BatchEvaluator::default()
    ///     .evaluate(&esn, &[Request { input: a, state: None }, Request { input: b, state: None }])
    ///     .unwrap();
    /// assert_eq!(out[0].output, esn.run_last(a, &mut esn.zero_state()).unwrap());
    /// ```
    pub fn evaluate(&self, esn: &Esn, requests: &[Request<'_>]) -> Result<Vec<Outcome>> {
        for (i, r) in requests.iter().enumerate() {
            if r.input.ncols() != esn.input_dim() {
                return Err(ReservoirError::Input(format!(
                    "request {i}: {} values per step, the model takes {}",
                    r.input.ncols(),
                    esn.input_dim()
                )));
            }
            if let Some(s) = r.state
                && s.len() != esn.state_len()
            {
                return Err(ReservoirError::Input(format!(
                    "request {i}: state of {} values, the model's is {}",
                    s.len(),
                    esn.state_len()
                )));
            }
        }
        let chunks: Vec<Vec<Outcome>> = requests
            .par_chunks(self.chunk)
            .map(|c| evaluate_chunk(esn, c))
            .collect();
        Ok(chunks.into_iter().flatten().collect())
    }
}

fn evaluate_chunk(esn: &Esn, requests: &[Request<'_>]) -> Vec<Outcome> {
    let n = requests.len();
    let (sl, d, o) = (esn.state_len(), esn.input_dim(), esn.output_dim());
    // Longest first: the requests still running at step t are the first `active` columns.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(requests[i].input.nrows()));
    let mut state = vec![0.0; sl * n];
    for (c, &i) in order.iter().enumerate() {
        if let Some(s) = requests[i].state {
            for (u, &v) in s.iter().enumerate() {
                state[u * n + c] = v;
            }
        }
    }
    let steps = order.first().map_or(0, |&i| requests[i].input.nrows());
    let mut input = vec![0.0; d * n];
    let mut ws = Workspace::default();
    let mut active = n;
    for t in 0..steps {
        while active > 0 && requests[order[active - 1]].input.nrows() <= t {
            active -= 1;
        }
        for (c, &i) in order[..active].iter().enumerate() {
            for (k, &v) in requests[i].input.row(t).iter().enumerate() {
                input[k * n + c] = v;
            }
        }
        esn.reservoir()
            .step_cols(&mut state, n, &input, n, active, &mut ws);
    }
    let mut out = vec![0.0; o * n];
    esn.readout().apply_cols(&state, n, n, &mut out);
    let mut outcomes = vec![None; n];
    for (c, &i) in order.iter().enumerate() {
        outcomes[i] = Some(Outcome {
            output: (0..o).map(|k| out[k * n + c]).collect(),
            state: (0..sl).map(|u| state[u * n + c]).collect(),
        });
    }
    outcomes.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservoir::datasets::mackey_glass;
    use crate::reservoir::esn::FitParams;
    use crate::reservoir::init::LayerInit;

    #[test]
    fn carried_state_continues_a_sequence() {
        let series = mackey_glass(400, 3);
        let p = FitParams {
            layer: LayerInit {
                units: 25,
                ..LayerInit::default()
            },
            warmup: 20,
            ..FitParams::default()
        };
        let esn = Esn::fit(series.view(), &p).expect("fit");
        let ev = BatchEvaluator::new(3);
        let whole = series.slice(ndarray::s![0..30, ..]);
        let first = series.slice(ndarray::s![0..12, ..]);
        let rest = series.slice(ndarray::s![12..30, ..]);
        let a = ev
            .evaluate(
                &esn,
                &[Request {
                    input: first,
                    state: None,
                }],
            )
            .expect("first");
        let b = ev
            .evaluate(
                &esn,
                &[Request {
                    input: rest,
                    state: Some(&a[0].state),
                }],
            )
            .expect("rest");
        let mut s = esn.zero_state();
        assert_eq!(b[0].output, esn.run_last(whole, &mut s).expect("whole"));
        assert_eq!(b[0].state, s);
        let bad = ndarray::Array2::zeros((2, 3));
        assert!(
            ev.evaluate(
                &esn,
                &[Request {
                    input: bad.view(),
                    state: None
                }]
            )
            .is_err()
        );
    }
}

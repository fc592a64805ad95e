//! An Echo State Network: a (possibly deep) [`Reservoir`] and a linear [`Readout`], with
//! next-step fitting and sequential evaluation.
//!
//! Fitting (what `echoflow reservoir fit` does, SPEC §5): the series' rows `0..T−1` are the
//! inputs and rows `1..T` the targets (next-step prediction); the reservoir runs from a zero state
//! over the inputs, the first `warmup` states are dropped (ReservoirPy's `fit(…, warmup=W)`), and
//! the readout is the ridge solution of [`super::ridge`]. Evaluation starts from a given state
//! (zero for `reservoir eval`) and row `t` of the output is the readout after consuming row `t`.
//!
//! [`FitParams::default`] mirrors the CLI defaults: one layer of [`LayerInit::default`] (100
//! units, lr 0.3, sr 1.25), ridge 1e-6 (issue #5's settings), seed 0, warm-up 100 rows.
//!
//! ```
//! use echoflow_operators::reservoir::{Esn, FitParams, LayerInit, mackey_glass};
//! let series = mackey_glass(1500, 0);
//! let params = FitParams { layer: LayerInit { units: 50, ..LayerInit::default() }, ..FitParams::default() };
//! let esn = Esn::fit(series.view(), &params).unwrap();
//! let pred = esn.predict(series.view()).unwrap();
//! assert_eq!(pred.dim(), (1500, 1));
//! ```

use std::sync::mpsc;

use ndarray::{Array2, ArrayView2, s};

use super::deep::{Reservoir, Workspace};
use super::error::{ReservoirError, Result};
use super::init::{LayerInit, init_reservoir};
use super::readout::Readout;
use super::ridge::RidgeAccumulator;

/// Rows per ridge accumulation block (one GEMM each).
const RIDGE_BLOCK: usize = 512;

/// Everything `fit` needs.
#[derive(Clone, Debug, PartialEq)]
pub struct FitParams {
    /// Parameters of each layer.
    pub layer: LayerInit,
    /// Number of stacked layers (1 = ordinary ESN).
    pub depth: usize,
    /// Ridge regularisation λ (default 1e-6).
    pub ridge: f64,
    /// Seed of the random streams (default 0).
    pub seed: u64,
    /// States dropped at the start of training (default 100).
    pub warmup: usize,
}

impl Default for FitParams {
    fn default() -> Self {
        FitParams {
            layer: LayerInit::default(),
            depth: 1,
            ridge: 1e-6,
            seed: 0,
            warmup: 100,
        }
    }
}

/// A reservoir and its readout.
#[derive(Clone, Debug, PartialEq)]
pub struct Esn {
    reservoir: Reservoir,
    readout: Readout,
}

impl Esn {
    /// Pairs a reservoir with a readout reading its whole state.
    pub fn new(reservoir: Reservoir, readout: Readout) -> Result<Self> {
        let (s, o) = readout.wout().dim();
        if s != reservoir.state_len() {
            return Err(ReservoirError::Shape {
                key: "Wout".into(),
                expected: format!(
                    "({}, {o}): one row per reservoir unit ({} layer(s))",
                    reservoir.state_len(),
                    reservoir.depth()
                ),
                found: format!("({s}, {o})"),
            });
        }
        Ok(Esn { reservoir, readout })
    }

    /// Initialises a reservoir for `series`' width and fits it for next-step prediction.
    pub fn fit(series: ArrayView2<'_, f64>, p: &FitParams) -> Result<Esn> {
        let reservoir = init_reservoir(&p.layer, p.depth, series.ncols(), p.seed)?;
        Self::fit_reservoir(reservoir, series, p.warmup, p.ridge)
    }

    /// Fits a readout on an existing reservoir for next-step prediction of `series`.
    pub fn fit_reservoir(
        reservoir: Reservoir,
        series: ArrayView2<'_, f64>,
        warmup: usize,
        ridge: f64,
    ) -> Result<Esn> {
        let t = series.nrows();
        if t < warmup + 2 {
            return Err(ReservoirError::Input(format!(
                "{t} rows: fitting needs more than warm-up + 1 = {} rows",
                warmup + 1
            )));
        }
        let readout = fit_readout(
            &reservoir,
            series.slice(s![..t - 1, ..]),
            series.slice(s![1.., ..]),
            warmup,
            ridge,
        )?;
        Esn::new(reservoir, readout)
    }

    /// The reservoir.
    pub fn reservoir(&self) -> &Reservoir {
        &self.reservoir
    }

    /// The readout.
    pub fn readout(&self) -> &Readout {
        &self.readout
    }

    /// Values per input step (what the wire decoder checks each step against).
    pub fn input_dim(&self) -> usize {
        self.reservoir.input_dim()
    }

    /// Values per output.
    pub fn output_dim(&self) -> usize {
        self.readout.output_dim()
    }

    /// Length of a state (Σ units over layers): what a session carries between requests.
    pub fn state_len(&self) -> usize {
        self.reservoir.state_len()
    }

    /// A zero state.
    pub fn zero_state(&self) -> Vec<f64> {
        vec![0.0; self.state_len()]
    }

    /// Consumes `inputs` (steps × input_dim) from `state`, which it updates, and returns the
    /// readout after every step (steps × output_dim).
    pub fn run(&self, inputs: ArrayView2<'_, f64>, state: &mut [f64]) -> Result<Array2<f64>> {
        self.check(inputs, state)?;
        let mut ws = Workspace::default();
        let mut out = Array2::zeros((inputs.nrows(), self.output_dim()));
        let mut u = vec![0.0; self.input_dim()];
        let mut y = vec![0.0; self.output_dim()];
        for (row, mut o) in inputs.rows().into_iter().zip(out.rows_mut()) {
            u.iter_mut().zip(row).for_each(|(a, &b)| *a = b);
            self.reservoir.step_cols(state, 1, &u, 1, 1, &mut ws);
            self.readout.apply_cols(state, 1, 1, &mut y);
            o.iter_mut().zip(&y).for_each(|(a, &b)| *a = b);
        }
        Ok(out)
    }

    /// [`Esn::run`] with each step's units split over `threads` threads that stay alive for the
    /// whole sequence ([`super::parallel`]); bit-for-bit the outputs and final state of
    /// [`Esn::run`] for every `threads` (`0` and `1` are `Esn::run` itself).
    ///
    /// ```
    /// use echoflow_operators::reservoir::{Esn, FitParams, LayerInit, mackey_glass};
    /// let series = mackey_glass(600, 0);
    /// let params = FitParams { layer: LayerInit { units: 200, ..LayerInit::default() }, ..FitParams::default() };
    /// let esn = Esn::fit(series.view(), &params).unwrap();
    /// let (mut a, mut b) = (esn.zero_state(), esn.zero_state());
    /// let one = esn.run(series.view(), &mut a).unwrap();
    /// let two = esn.run_threads(series.view(), &mut b, 2).unwrap();
    /// assert_eq!(one, two);
    /// assert_eq!(a, b);
    /// ```
    pub fn run_threads(
        &self,
        inputs: ArrayView2<'_, f64>,
        state: &mut [f64],
        threads: usize,
    ) -> Result<Array2<f64>> {
        if threads <= 1 {
            return self.run(inputs, state);
        }
        self.check(inputs, state)?;
        Ok(super::parallel::run(self, inputs, state, threads))
    }

    /// [`Esn::run_threads`] from a zero state (what `reservoir eval` would call with a
    /// thread-count flag).
    pub fn predict_threads(
        &self,
        inputs: ArrayView2<'_, f64>,
        threads: usize,
    ) -> Result<Array2<f64>> {
        self.run_threads(inputs, &mut self.zero_state(), threads)
    }

    /// Consumes `inputs` from `state` and returns only the readout after the last step (the
    /// readout of `state` itself when `inputs` has no rows).
    pub fn run_last(&self, inputs: ArrayView2<'_, f64>, state: &mut [f64]) -> Result<Vec<f64>> {
        self.check(inputs, state)?;
        let mut ws = Workspace::default();
        let mut u = vec![0.0; self.input_dim()];
        for row in inputs.rows() {
            u.iter_mut().zip(row).for_each(|(a, &b)| *a = b);
            self.reservoir.step_cols(state, 1, &u, 1, 1, &mut ws);
        }
        let mut y = vec![0.0; self.output_dim()];
        self.readout.apply_cols(state, 1, 1, &mut y);
        Ok(y)
    }

    /// [`Esn::run`] from a zero state.
    pub fn predict(&self, inputs: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.run(inputs, &mut self.zero_state())
    }

    fn check(&self, inputs: ArrayView2<'_, f64>, state: &[f64]) -> Result<()> {
        if inputs.ncols() != self.input_dim() {
            return Err(ReservoirError::Input(format!(
                "{} values per step, the model takes {}",
                inputs.ncols(),
                self.input_dim()
            )));
        }
        if state.len() != self.state_len() {
            return Err(ReservoirError::Input(format!(
                "state of {} values, the model's is {}",
                state.len(),
                self.state_len()
            )));
        }
        Ok(())
    }
}

/// Runs `reservoir` from a zero state over `inputs` and fits a ridge readout of `targets`
/// (same number of rows), leaving out the first `warmup` states.
///
/// The states are accumulated into the normal equations in blocks of `RIDGE_BLOCK` (512) rows, one
/// GEMM each ([`RidgeAccumulator::add_rows`]). With more than one block, the reservoir runs on
/// this thread while a second thread accumulates the previous block: the run is bound by
/// loads and the GEMM by multiply-adds, so the two overlap (BENCHMARKS.md, "Pipelined fit").
/// Both threads see the same blocks in the same order as one thread would, so the readout is
/// the same bits either way.
pub fn fit_readout(
    reservoir: &Reservoir,
    inputs: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    warmup: usize,
    ridge: f64,
) -> Result<Readout> {
    if inputs.nrows() != targets.nrows() || inputs.ncols() != reservoir.input_dim() {
        return Err(ReservoirError::Input(format!(
            "inputs {:?} and targets {:?}: expected the same rows and {} input columns",
            inputs.dim(),
            targets.dim(),
            reservoir.input_dim()
        )));
    }
    let (n, o) = (reservoir.state_len(), targets.ncols());
    let acc = if inputs.nrows().saturating_sub(warmup) > RIDGE_BLOCK {
        accumulate_pipelined(reservoir, inputs, targets, warmup)?
    } else {
        let mut acc = RidgeAccumulator::new(n, o);
        let mut failed = None;
        run_in_blocks(
            reservoir,
            inputs,
            warmup,
            Array2::zeros((RIDGE_BLOCK, n)),
            |block, first, filled| match add_block(&mut acc, &block, targets, first, filled) {
                Ok(()) => Some(block),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        acc
    };
    acc.solve(ridge)
}

/// Adds rows `..filled` of `block`, the states for targets `first..first + filled`.
fn add_block(
    acc: &mut RidgeAccumulator,
    block: &Array2<f64>,
    targets: ArrayView2<'_, f64>,
    first: usize,
    filled: usize,
) -> Result<()> {
    acc.add_rows(
        block.slice(s![..filled, ..]),
        targets.slice(s![first..first + filled, ..]),
    )
}

/// [`fit_readout`]'s accumulation with the reservoir run on this thread and the GEMMs on a
/// second one; two blocks circulate between them.
fn accumulate_pipelined(
    reservoir: &Reservoir,
    inputs: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    warmup: usize,
) -> Result<RidgeAccumulator> {
    let (n, o) = (reservoir.state_len(), targets.ncols());
    std::thread::scope(|scope| {
        let (to_acc, filled_blocks) = mpsc::sync_channel::<(Array2<f64>, usize, usize)>(1);
        let (to_run, empty_blocks) = mpsc::sync_channel::<Array2<f64>>(2);
        let accumulator = scope.spawn(move || -> Result<RidgeAccumulator> {
            let mut acc = RidgeAccumulator::new(n, o);
            for (block, first, filled) in filled_blocks {
                add_block(&mut acc, &block, targets, first, filled)?;
                // The run may have finished and stopped listening: nothing left to do then.
                let _ = to_run.send(block);
            }
            Ok(acc)
        });
        let mut spare = Some(Array2::zeros((RIDGE_BLOCK, n)));
        run_in_blocks(
            reservoir,
            inputs,
            warmup,
            Array2::zeros((RIDGE_BLOCK, n)),
            |block, first, filled| {
                // A send or receive fails only when the accumulator stopped on an error, which
                // its join below returns.
                to_acc.send((block, first, filled)).ok()?;
                spare.take().or_else(|| empty_blocks.recv().ok())
            },
        );
        drop(to_acc);
        accumulator
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Runs `reservoir` from a zero state over `inputs` and fills `block` with the states after the
/// first `warmup`, row by row; each time it is full (or the input ends) it goes to
/// `hand(block, first, filled)` — `first` the index of the target its row 0 predicts — which
/// returns the block to fill next, or `None` to stop.
fn run_in_blocks(
    reservoir: &Reservoir,
    inputs: ArrayView2<'_, f64>,
    warmup: usize,
    mut block: Array2<f64>,
    mut hand: impl FnMut(Array2<f64>, usize, usize) -> Option<Array2<f64>>,
) {
    let mut state = vec![0.0; reservoir.state_len()];
    let mut ws = Workspace::default();
    let mut u = vec![0.0; inputs.ncols()];
    let (mut filled, mut first) = (0, warmup);
    for (t, row) in inputs.rows().into_iter().enumerate() {
        u.iter_mut().zip(row).for_each(|(a, &b)| *a = b);
        reservoir.step_cols(&mut state, 1, &u, 1, 1, &mut ws);
        if t < warmup {
            continue;
        }
        block
            .row_mut(filled)
            .iter_mut()
            .zip(&state)
            .for_each(|(a, &b)| *a = b);
        filled += 1;
        if filled == block.nrows() || t + 1 == inputs.nrows() {
            match hand(block, first, filled) {
                Some(next) => block = next,
                None => return,
            }
            first += filled;
            filled = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reservoir::datasets::mackey_glass;
    use crate::reservoir::score::nrmse;

    fn small() -> FitParams {
        FitParams {
            layer: LayerInit {
                units: 40,
                ..LayerInit::default()
            },
            warmup: 50,
            ..FitParams::default()
        }
    }

    #[test]
    fn fits_mackey_glass_next_step() {
        let series = mackey_glass(1200, 0);
        let esn = Esn::fit(series.slice(s![..1000, ..]), &small()).expect("fit");
        let test = series.slice(s![1000.., ..]);
        let pred = esn.predict(test).expect("predict");
        let e = nrmse(
            test.slice(s![101.., ..]),
            pred.slice(s![100..pred.nrows() - 1, ..]),
        );
        assert!(e < 0.1, "NRMSE {e}");
    }

    #[test]
    fn run_last_equals_last_row_of_run() {
        let series = mackey_glass(300, 1);
        let esn = Esn::fit(series.view(), &small()).expect("fit");
        let mut a = esn.zero_state();
        let mut b = esn.zero_state();
        let all = esn.run(series.view(), &mut a).expect("run");
        let last = esn.run_last(series.view(), &mut b).expect("run_last");
        assert_eq!(all.row(299).to_vec(), last);
        assert_eq!(a, b);
    }

    #[test]
    fn pipelined_accumulation_gives_the_bits_of_one_thread() {
        // 1,999 training rows, 1,949 after the warm-up: four blocks, the last one partial.
        let series = mackey_glass(2000, 3);
        let p = small();
        let reservoir = init_reservoir(&p.layer, 1, 1, 7).expect("reservoir");
        let (inputs, targets) = (series.slice(s![..1999, ..]), series.slice(s![1.., ..]));
        let piped = accumulate_pipelined(&reservoir, inputs, targets, p.warmup).expect("piped");
        let mut one = RidgeAccumulator::new(reservoir.state_len(), 1);
        let mut blocks = Vec::new();
        run_in_blocks(
            &reservoir,
            inputs,
            p.warmup,
            Array2::zeros((RIDGE_BLOCK, reservoir.state_len())),
            |block, first, filled| {
                add_block(&mut one, &block, targets, first, filled).expect("block");
                blocks.push((first, filled));
                Some(block)
            },
        );
        assert_eq!(blocks, [(50, 512), (562, 512), (1074, 512), (1586, 413)]);
        assert_eq!(piped.rows(), 1949);
        assert_eq!(piped.rows(), one.rows());
        let want = one.solve(p.ridge).expect("solve");
        assert_eq!(piped.solve(p.ridge).expect("solve"), want);
        // And fit_readout takes the pipelined path here.
        let fitted = fit_readout(&reservoir, inputs, targets, p.warmup, p.ridge).expect("fit");
        assert_eq!(fitted, want);
    }

    #[test]
    fn fit_errors_are_clear() {
        let series = mackey_glass(51, 0);
        let e = Esn::fit(series.view(), &small())
            .map(|_| ())
            .expect_err("too short");
        assert!(e.to_string().contains("warm-up"), "{e}");
        let esn = Esn::fit(mackey_glass(300, 0).view(), &small()).expect("fit");
        assert!(esn.predict(Array2::zeros((3, 2)).view()).is_err());
    }
}

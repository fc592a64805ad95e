//! # Reservoir engine: Echo State Networks that agree with ReservoirPy 0.4.2
//!
//! The leaky-integrator ESN of SPEC §3, in ReservoirPy's orientation (`Win` is units × inputs,
//! `Wout` is units × outputs):
//!
//! ```text
//! x ← (1 − lr)·x + lr·tanh(W·x + Win·u + bias)        y = x·Wout + bout
//! ```
//!
//! Reference implementation: ReservoirPy 0.4.2 (`reservoirpy/nodes/reservoir.py`,
//! `reservoirpy/nodes/ridge.py`, `reservoirpy/mat_gen.py`, `reservoirpy/datasets/_chaos.py`). A
//! model trained in ReservoirPy and saved in the `.npz` layout of SPEC §5 loads here and gives
//! ReservoirPy's predictions to 1e-9 (`operators/tests/reservoir_parity.rs`, fixtures made by
//! `benches/peers/reservoirpy_fixtures.py`).
//!
//! | module | concept |
//! |---|---|
//! | [`weights`] | dense / CSR weight matrices and their fixed-order products |
//! | [`layer`] | one leaky-integrator layer |
//! | [`tanh`] | the branch-free, vectorisable `tanh` of the layer update |
//! | `kernels` | the inner-loop sums (CSR / SELL-C-σ rows, readout dots) in one 8-lane order, portable and AVX2, bit-identical |
//! | `isa` | run-time AVX2 detection, cached |
//! | [`deep`] | stacked layers and the concatenated state |
//! | [`readout`] | the linear readout |
//! | [`ridge`] | ridge regression of the readout (ReservoirPy's centred formulation) |
//! | [`init`] | seeded initialisers and the spectral radius (Schur form; Krylov–Schur above 64 units) |
//! | [`esn`] | reservoir + readout: next-step fit and sequential evaluation |
//! | [`parallel`] | one sequence with each step's rows split over `T` long-lived threads, bit-identical to sequential |
//! | [`batch`] | batched evaluation over many requests with rayon, batch-size invariant |
//! | [`profile`] | `full` / `reduced` profiles |
//! | [`builtin`] | the start-up model fitted on built-in Mackey–Glass data |
//! | [`forecaster`] | a univariate ESN forecaster for the autoscaler |
//! | [`npz`] | model files |
//! | [`datasets`] | Mackey–Glass as ReservoirPy generates it |
//! | [`score`] | NRMSE |
//!
//! Where echoflow deviates from ReservoirPy (each module says why): random draws come from
//! ChaCha20 rather than NumPy's PCG64, so the same seed gives a different reservoir
//! ([`init`]); the spectral radius comes from the dense Schur form up to 64 units and from
//! echoflow's own Krylov–Schur iteration above, rather than ARPACK ([`init`]); the ridge system is solved by Cholesky with a residual check rather than
//! LAPACK `sysv` ([`ridge`]); NRMSE divides by the standard deviation, per SPEC ([`score`]);
//! `tanh` is echoflow's own branch-free one, within 1e-15 of libm's ([`tanh`]).
//! This module does no I/O: model files are read from and written to any `Read + Seek` /
//! `Write + Seek` the caller opens.
//!
//! ```
//! use echoflow_operators::reservoir::{BatchEvaluator, Profile, Request, builtin_model};
//! let model = builtin_model(100, 25, 0).unwrap();
//! let esn = model.get(Profile::Full);
//! let input = ndarray::Array2::from_elem((10, esn.input_dim()), 0.9);
//! let out = BatchEvaluator::default().evaluate(esn, &[Request { input: input.view(), state: None }]).unwrap();
//! assert_eq!(out[0].output.len(), 1);
//! ```

pub mod batch;
pub mod builtin;
pub mod datasets;
pub mod deep;
pub mod error;
pub mod esn;
pub mod forecaster;
pub mod init;
mod isa;
mod kernels;
pub mod layer;
pub mod npz;
pub mod parallel;
pub mod profile;
pub mod readout;
pub mod ridge;
pub mod score;
pub mod tanh;
pub mod weights;

pub use batch::{BatchEvaluator, Outcome, Request};
pub use builtin::builtin_model;
pub use datasets::{MackeyGlass, mackey_glass};
pub use deep::{Reservoir, Workspace};
pub use error::{ReservoirError, Result};
pub use esn::{Esn, FitParams, fit_readout};
pub use forecaster::{EsnForecaster, ForecasterParams};
pub use init::{LayerInit, init_layer, init_reservoir, spectral_radius};
pub use layer::Layer;
pub use npz::{read_model, write_model};
pub use profile::{Profile, ProfiledModel, Reduction};
pub use readout::Readout;
pub use ridge::RidgeAccumulator;
pub use score::{next_step_nrmse, nrmse};
pub use weights::{Csr, Weights};

/// The array types of this API, re-exported so callers need no direct `ndarray` dependency.
pub use ndarray::{Array2, ArrayView2};

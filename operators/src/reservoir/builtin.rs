//! The built-in model: what `reservoir.model = ""` means in the configuration (SPEC §6) — a
//! model fitted at start-up on built-in Mackey–Glass data.
//!
//! `reservoir.units` (100) units, `reservoir.seed` (0), the defaults of [`FitParams`] otherwise
//! (lr 0.3, sr 1.25, connectivity 0.1, ridge 1e-6: issue #5's Mackey–Glass settings), trained for
//! next-step prediction on [`TRAIN_ROWS`] rows of [`mackey_glass`] (τ = 17) with a warm-up of
//! [`WARMUP`] rows. The `reduced` profile is the sub-reservoir of the first
//! `reservoir.reduced_units` (25) units, refitted on the same rows ([`super::profile`]). The
//! series' history is seeded with `seed` too, so the model is a pure function of
//! (units, reduced_units, seed). Input and output dimension 1. Fitting takes a few milliseconds at
//! 100 units in release mode.

use super::datasets::mackey_glass;
use super::error::Result;
use super::esn::{Esn, FitParams};
use super::init::LayerInit;
use super::profile::{ProfiledModel, Reduction};

/// Training rows of the built-in model.
pub const TRAIN_ROWS: usize = 2000;
/// Warm-up rows left out of the fit.
pub const WARMUP: usize = 100;

/// Fits the built-in model and its reduced profile.
///
/// ```
/// let m = echoflow_operators::reservoir::builtin_model(100, 25, 0).unwrap();
/// assert_eq!(m.input_dim(), 1);
/// ```
pub fn builtin_model(units: usize, reduced_units: usize, seed: u64) -> Result<ProfiledModel> {
    let series = mackey_glass(TRAIN_ROWS + 1, seed);
    let params = FitParams {
        layer: LayerInit {
            units,
            ..LayerInit::default()
        },
        seed,
        warmup: WARMUP,
        ..FitParams::default()
    };
    let full = Esn::fit(series.view(), &params)?;
    ProfiledModel::derive(
        full,
        Reduction::Units(reduced_units),
        series.view(),
        WARMUP,
        params.ridge,
    )
}

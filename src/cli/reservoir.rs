//! `echoflow reservoir fit|eval` (SPEC §5): fit an Echo State Network for next-step prediction of
//! a series and save it as `.npz`; evaluate a saved model (ReservoirPy's or echoflow's) on a
//! series.
//!
//! - Series CSV: one row per step, one column per feature, no header; every value finite.
//! - `fit`: rows `0..T−1` drive the reservoir from a zero state, rows `1..T` are the targets, the
//!   first `--warmup` states are left out of the ridge fit. Defaults where the SPEC is silent:
//!   `--units 100` (config `reservoir.units`), `--lr 0.3 --sr 1.25 --ridge 1e-6` (issue #5's
//!   Mackey–Glass settings), `--seed 0`, `--warmup 100`; connectivity 0.1 and input scaling 1 as
//!   ReservoirPy's defaults. Prints one summary line with the training NRMSE.
//! - `eval`: starts from a zero state; row `t` of `--out` is the readout after consuming row `t`
//!   (the forecast of row `t + 1`), values in Rust's shortest round-trip decimal form. Prints
//!   `NRMSE <value>` over the rows after `--warmup` (default 100) that have a next row to compare
//!   with; NRMSE = RMSE / population standard deviation of the targets. A model whose output
//!   width differs from the series' cannot be scored: it prints why instead.
//!
//! Errors are one line naming the file and the line, column, key or argument at fault.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use echoflow_operators::reservoir::{
    Array2, ArrayView2, Esn, FitParams, LayerInit, next_step_nrmse, read_model, write_model,
};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Fit an ESN readout on a series (next-step prediction) and save the model as .npz.
    Fit(FitArgs),
    /// Evaluate a saved model on a series from a zero state and print the NRMSE.
    Eval(EvalArgs),
}

#[derive(clap::Args)]
pub struct FitArgs {
    /// Series CSV: one row per step, one column per feature, no header.
    #[arg(long, value_name = "S.csv")]
    series: PathBuf,
    /// Where to write the model (.npz).
    #[arg(long, value_name = "M.npz")]
    out: PathBuf,
    /// Reservoir units.
    #[arg(long, default_value_t = 100)]
    units: usize,
    /// Leak rate, in (0, 1].
    #[arg(long, default_value_t = 0.3)]
    lr: f64,
    /// Spectral radius of the recurrent matrix.
    #[arg(long, default_value_t = 1.25)]
    sr: f64,
    /// Ridge regularisation of the readout.
    #[arg(long, default_value_t = 1e-6)]
    ridge: f64,
    /// Seed of the reservoir's random weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Leading states left out of the fit.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// Model file (.npz, SPEC §5 layout).
    #[arg(long, value_name = "M.npz")]
    model: PathBuf,
    /// Series CSV: one row per step, one column per feature, no header.
    #[arg(long, value_name = "S.csv")]
    series: PathBuf,
    /// Where to write the predictions (CSV, one row per input row).
    #[arg(long, value_name = "P.csv")]
    out: Option<PathBuf>,
    /// Leading rows left out of the NRMSE.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
}

pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Fit(a) => fit(a),
        Command::Eval(a) => eval(a),
    }
}

fn fit(a: FitArgs) -> Result<()> {
    let params = FitParams {
        layer: LayerInit {
            units: a.units,
            lr: a.lr,
            sr: a.sr,
            ..LayerInit::default()
        },
        ridge: a.ridge,
        seed: a.seed,
        warmup: a.warmup,
        ..FitParams::default()
    };
    params
        .layer
        .validate()
        .map_err(|e| anyhow::anyhow!("{}", arg_name(&e.to_string())))?;
    if !(a.ridge >= 0.0 && a.ridge.is_finite()) {
        bail!("argument `--ridge` = {}: a finite number ≥ 0", a.ridge);
    }
    let series = read_series(&a.series)?;
    let esn = Esn::fit(series.view(), &params)
        .map_err(|e| anyhow::anyhow!("{}: {}", a.series.display(), arg_name(&e.to_string())))?;
    let pred = esn.predict(series.view())?;
    let score = next_step_nrmse(series.view(), pred.view(), a.warmup);
    let file =
        File::create(&a.out).with_context(|| format!("{}: cannot create", a.out.display()))?;
    let mut w = BufWriter::new(file);
    write_model(&esn, &mut w).map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?;
    w.flush()
        .with_context(|| format!("{}: cannot write", a.out.display()))?;
    println!(
        "fitted {} units on {} rows of {} feature(s) (warm-up {}): training NRMSE {}; wrote {}",
        a.units,
        series.nrows(),
        series.ncols(),
        a.warmup,
        score.map_or_else(|| "n/a".into(), |s| format!("{s:.6e}")),
        a.out.display()
    );
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let file =
        File::open(&a.model).with_context(|| format!("{}: cannot open", a.model.display()))?;
    let esn = read_model(BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.model.display()))?;
    let series = read_series(&a.series)?;
    if series.ncols() != esn.input_dim() {
        bail!(
            "{}: {} column(s) per row, the model {} takes {} input(s)",
            a.series.display(),
            series.ncols(),
            a.model.display(),
            esn.input_dim()
        );
    }
    let pred = esn.predict(series.view())?;
    if let Some(out) = &a.out {
        write_csv(out, pred.view())?;
    }
    if esn.output_dim() != series.ncols() {
        println!(
            "NRMSE n/a: the model outputs {} value(s) per row, the series has {} column(s)",
            esn.output_dim(),
            series.ncols()
        );
        return Ok(());
    }
    match next_step_nrmse(series.view(), pred.view(), a.warmup) {
        Some(score) => println!("NRMSE {score:.6e}"),
        None => bail!(
            "--warmup {}: leaves no row to score in {} ({} rows)",
            a.warmup,
            a.series.display(),
            series.nrows()
        ),
    }
    Ok(())
}

/// Maps the library's parameter names to the CLI's flags in an error line.
fn arg_name(msg: &str) -> String {
    msg.replace("parameter `", "argument `--")
}

/// Reads a series CSV (no header, one row per step), naming the file, line and column on error.
fn read_series(path: &Path) -> Result<Array2<f64>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut values = Vec::new();
    let mut cols = 0;
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let before = values.len();
        for (j, tok) in line.split(',').enumerate() {
            let tok = tok.trim();
            let v: f64 = tok.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}: line {}, column {}: `{tok}` is not a number",
                    path.display(),
                    i + 1,
                    j + 1
                )
            })?;
            if !v.is_finite() {
                bail!(
                    "{}: line {}, column {}: `{tok}` is not finite",
                    path.display(),
                    i + 1,
                    j + 1
                );
            }
            values.push(v);
        }
        let n = values.len() - before;
        if rows == 0 {
            cols = n;
        } else if n != cols {
            bail!(
                "{}: line {} has {n} column(s), the first row has {cols}",
                path.display(),
                i + 1
            );
        }
        rows += 1;
    }
    if rows == 0 {
        bail!("{}: no rows", path.display());
    }
    Array2::from_shape_vec((rows, cols), values)
        .with_context(|| format!("{}: {rows} rows of {cols} columns", path.display()))
}

fn write_csv(path: &Path, a: ArrayView2<'_, f64>) -> Result<()> {
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = BufWriter::new(file);
    for row in a.rows() {
        let line = row
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",");
        writeln!(w, "{line}").with_context(|| format!("{}: cannot write", path.display()))?;
    }
    w.flush()
        .with_context(|| format!("{}: cannot write", path.display()))
}

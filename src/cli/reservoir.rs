//! `echoflow reservoir fit|eval` (SPEC §5). Not built yet: issue #5.

#[derive(clap::Subcommand)]
pub enum Command {
    /// Fit an ESN readout on a series and save the model as .npz.
    Fit(super::not_built::Any),
    /// Evaluate a saved model on a series.
    Eval(super::not_built::Any),
}

pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Fit(_) => super::not_built::fail("reservoir fit", 5),
        Command::Eval(_) => super::not_built::fail("reservoir eval", 5),
    }
}

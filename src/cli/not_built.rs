//! Subcommands that the SPEC names but echoflow does not have yet: they say so and exit non-zero.

/// Accepts any arguments, so `echoflow demo --seconds 5` reaches the honest error below.
#[derive(clap::Args)]
pub struct Any {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _rest: Vec<String>,
}

pub fn fail(name: &str, issue: u32) -> anyhow::Result<()> {
    anyhow::bail!(
        "`echoflow {name}` is not built yet (tracked in issue #{issue}); see README.md, \"What is missing\""
    )
}

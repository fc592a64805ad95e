//! `echoflow simulate` (SPEC §5). Not built yet: issue #6.

pub type Args = super::not_built::Any;

pub fn run(_args: Args) -> anyhow::Result<()> {
    super::not_built::fail("simulate", 6)
}

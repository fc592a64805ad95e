//! `echoflow validate FILE` (SPEC §5, §6). Not built yet: issue #7.

pub type Args = super::not_built::Any;

pub fn run(_args: Args) -> anyhow::Result<()> {
    super::not_built::fail("validate", 7)
}

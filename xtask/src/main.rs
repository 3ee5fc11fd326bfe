//! `cargo xtask`: the project's build tool (build-all, new, codegen, bench, demo, test).

fn main() -> anyhow::Result<()> {
    anyhow::bail!("no xtask commands yet")
}

//! `cargo xtask demo`: the README's one command. Builds `sandbox-apis` and every connector, starts each connector's
//! stand-in, runs a full sync of every connector through its real binary with `fivetran-local`, and prints where the
//! warehouse is and how to query it. Needs no credentials and no network; extra arguments go to
//! `fivetran-local demo` (e.g. `--records 500`, `--connector github`, `--release`).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::project::Project;

/// Runs the demo through `fivetran-local demo --build`, passing `args` on.
pub fn run(project: &Project, args: &[String]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--package",
            "fivetran-local",
            "--bin",
            "fivetran-local",
            "--",
            "demo",
            "--build",
        ])
        .args(args)
        .current_dir(project.root())
        .status()
        .context("cannot run cargo to start fivetran-local")?;
    if !status.success() {
        bail!("the demo did not finish ({status}); its output above says why");
    }
    Ok(())
}

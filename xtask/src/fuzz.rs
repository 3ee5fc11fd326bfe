//! `cargo xtask fuzz`: runs the cargo-fuzz targets in `fuzz/` (all, or the named ones) with nightly for a bounded
//! time each and reports runs and crashes. Needs `cargo install cargo-fuzz` and the nightly toolchain; CI runs the
//! same properties as proptest tests instead (`crates/fivetran-core/tests/it/properties.rs`).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::output;
use crate::project::Project;

/// The options of `cargo xtask fuzz`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds per target.
    pub seconds: u64,
    /// Targets to run (default: every file in `fuzz/fuzz_targets`).
    pub targets: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seconds: 60,
            targets: Vec::new(),
        }
    }
}

/// Runs each target for `seconds`; fails when one finds a crash.
pub fn run(project: &Project, options: &Options) -> Result<()> {
    let fuzz_dir = project.root().join("fuzz");
    let mut targets = Vec::new();
    for entry in
        std::fs::read_dir(fuzz_dir.join("fuzz_targets")).context("reading fuzz/fuzz_targets")?
    {
        let path = entry?.path();
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            targets.push(stem.to_owned());
        }
    }
    targets.sort();
    if !options.targets.is_empty() {
        for wanted in &options.targets {
            if !targets.contains(wanted) {
                bail!("no fuzz target `{wanted}` (have: {})", targets.join(", "));
            }
        }
        targets.retain(|t| options.targets.contains(t));
    }
    let logs = project.target_dir().join("fuzz");
    std::fs::create_dir_all(&logs)?;
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for target in &targets {
        output::status(&format!("fuzzing {target} for {} s", options.seconds));
        let log_path = logs.join(format!("{target}.log"));
        let log = std::fs::File::create(&log_path)?;
        // `rustup run nightly` rather than `cargo +nightly`: the latter needs rustup's proxy first on PATH.
        let status = Command::new("rustup")
            .args(["run", "nightly", "cargo", "fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={}", options.seconds))
            .current_dir(project.root())
            .stdout(Stdio::null())
            .stderr(log)
            .status()
            .context("running `rustup run nightly cargo fuzz` (cargo install cargo-fuzz)")?;
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let runs = text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("Done ")?.split_whitespace().next())
            .unwrap_or("?")
            .to_owned();
        let result = if status.success() {
            "no crash".to_owned()
        } else {
            failed.push(target.clone());
            format!(
                "FAILED ({status}); see {} and fuzz/artifacts/{target}/",
                log_path.display()
            )
        };
        rows.push(vec![target.clone(), runs, result]);
    }
    output::line(&output::table(&["target", "runs", "result"], &rows));
    if !failed.is_empty() {
        bail!("fuzz targets failed: {}", failed.join(", "));
    }
    Ok(())
}

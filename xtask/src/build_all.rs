//! `cargo xtask build-all`: release binaries for `provided.al2023`, checked and zipped per connector.
//!
//! For every selected connector and architecture: build in release mode for the Lambda target, read
//! the binary's ELF to refuse a glibc newer than 2.34 or OpenSSL linkage, and write the deterministic
//! `<target>/lambda/<connector>/bootstrap.zip` (x86_64) or `bootstrap-arm64.zip` (arm64). The same
//! bytes go to `<target>/release-assets/<connector>-<arch>.zip`, the release asset names (unique file
//! names, which the Serverless Framework needs), with a `SHA256SUMS` covering that folder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::arch::{Arch, Builder, Toolchain, ZIGBUILD_GLIBC};
use crate::project::Project;
use crate::{archive, elf, output};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Connector names; empty means every connector.
    pub connectors: Vec<String>,
    /// Architectures; empty means x86_64.
    pub archs: Vec<Arch>,
    /// Build with `cargo zigbuild` (links against glibc 2.17) even for the native architecture.
    pub zigbuild: bool,
}

/// One built artifact.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub connector: String,
    pub arch: Arch,
    pub zip_path: PathBuf,
    pub zip_size: u64,
    pub binary_size: u64,
    pub sha256: String,
    pub max_glibc: Option<elf::GlibcVersion>,
}

/// Runs the command: builds, checks, zips, and prints the table.
pub fn run(project: &Project, options: &Options) -> Result<()> {
    let started = Instant::now();
    let artifacts = build(project, options)?;
    if artifacts.is_empty() {
        output::status("no connectors under connectors/ yet: nothing to build");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = artifacts
        .iter()
        .map(|artifact| {
            vec![
                artifact.connector.clone(),
                artifact.arch.to_string(),
                output::size(artifact.binary_size),
                output::size(artifact.zip_size),
                artifact
                    .max_glibc
                    .map_or_else(|| "static".to_string(), |v| v.to_string()),
                artifact.sha256.clone(),
            ]
        })
        .collect();
    for artifact in &artifacts {
        output::status(&format!("wrote {}", artifact.zip_path.display()));
    }
    output::line(&output::table(
        &["connector", "arch", "binary", "zip", "glibc", "sha256"],
        &rows,
    ));
    output::status(&format!(
        "built {} zip(s) in {:.1} s; release assets and SHA256SUMS in {}",
        artifacts.len(),
        started.elapsed().as_secs_f64(),
        project.release_assets_dir().display()
    ));
    Ok(())
}

/// Builds the selected connectors for the selected architectures and returns the artifacts.
pub fn build(project: &Project, options: &Options) -> Result<Vec<Artifact>> {
    let connectors = select_connectors(project, &options.connectors)?;
    if connectors.is_empty() {
        return Ok(Vec::new());
    }
    let archs = if options.archs.is_empty() {
        vec![Arch::X86_64]
    } else {
        options.archs.clone()
    };
    let cargo = cargo_command();
    let toolchain = Toolchain::detect(&cargo)?;

    // Check every architecture first, so a missing toolchain is reported before a long build.
    let mut plans = Vec::new();
    for arch in archs {
        plans.push((arch, toolchain.builder(arch, options.zigbuild)?));
    }

    let mut artifacts = Vec::new();
    for (arch, builder) in plans {
        let started = Instant::now();
        output::status(&format!(
            "building {} for {arch} ({})",
            connectors.join(", "),
            describe(&builder)
        ));
        compile(project, &cargo, &builder, arch, &connectors)?;
        output::status(&format!(
            "compiled for {arch} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        for connector in &connectors {
            let binary = project
                .target_dir()
                .join(arch.triple())
                .join("release")
                .join(connector);
            artifacts.push(package(project, connector, arch, &binary)?);
        }
    }
    let expected: Vec<String> = project
        .connectors()?
        .iter()
        .flat_map(|connector| Arch::ALL.map(|arch| asset_name(connector, arch)))
        .collect();
    write_checksums(&project.release_assets_dir(), &expected)?;
    Ok(artifacts)
}

/// The release asset name of a connector's zip: `<connector>-<arch>.zip`.
pub fn asset_name(connector: &str, arch: Arch) -> String {
    format!("{connector}-{arch}.zip")
}

/// Writes `SHA256SUMS` (the `sha256sum` format) for the zips in `dir` that are `expected` (the release asset
/// names of the current connectors), sorted by name; zips of connectors that no longer exist are removed.
pub fn write_checksums(dir: &Path, expected: &[String]) -> Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .file_name();
        let name = name.to_string_lossy().into_owned();
        if !name.ends_with(".zip") {
            continue;
        }
        if expected.contains(&name) {
            names.push(name);
        } else {
            let stale = dir.join(&name);
            std::fs::remove_file(&stale)
                .with_context(|| format!("removing {}", stale.display()))?;
        }
    }
    names.sort();
    let mut sums = String::new();
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).with_context(|| format!("reading {name}"))?;
        sums.push_str(&format!("{}  {name}\n", archive::sha256_hex(&bytes)));
    }
    let path = dir.join("SHA256SUMS");
    std::fs::write(&path, sums).with_context(|| format!("writing {}", path.display()))
}

/// Checks one built binary and writes its zip.
pub fn package(project: &Project, connector: &str, arch: Arch, binary: &Path) -> Result<Artifact> {
    let bytes = std::fs::read(binary)
        .with_context(|| format!("reading the built binary {}", binary.display()))?;
    let deps = elf::read_dependencies(&bytes)
        .with_context(|| format!("reading the ELF of {}", binary.display()))?;
    elf::check_for_lambda(connector, &deps)?;
    let zip =
        archive::lambda_zip(&bytes).with_context(|| format!("zipping {}", binary.display()))?;
    let zip_path = project.lambda_dir(connector).join(arch.zip_name());
    let dir = project.lambda_dir(connector);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&zip_path, &zip).with_context(|| format!("writing {}", zip_path.display()))?;
    let assets = project.release_assets_dir();
    std::fs::create_dir_all(&assets).with_context(|| format!("creating {}", assets.display()))?;
    let asset = assets.join(asset_name(connector, arch));
    std::fs::write(&asset, &zip).with_context(|| format!("writing {}", asset.display()))?;
    Ok(Artifact {
        connector: connector.to_string(),
        arch,
        zip_size: zip.len() as u64,
        binary_size: bytes.len() as u64,
        sha256: archive::sha256_hex(&zip),
        max_glibc: deps.max_glibc(),
        zip_path,
    })
}

/// The requested connectors, checked against `connectors/`; all of them when none is named.
fn select_connectors(project: &Project, requested: &[String]) -> Result<Vec<String>> {
    let available = project.connectors()?;
    if requested.is_empty() {
        return Ok(available);
    }
    let mut selected = Vec::new();
    for name in requested {
        if !available.contains(name) {
            bail!(
                "no connector `{name}` under {} (found: {})",
                project.connectors_dir().display(),
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            );
        }
        if !selected.contains(name) {
            selected.push(name.clone());
        }
    }
    Ok(selected)
}

/// The cargo that runs xtask (`CARGO`), else `cargo` from `PATH`.
fn cargo_command() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

fn describe(builder: &Builder) -> String {
    match builder {
        Builder::Cargo { env } if env.is_empty() => "cargo build".to_string(),
        Builder::Cargo { env } => {
            let vars: Vec<String> = env
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            format!("cargo build with {}", vars.join(" "))
        }
        Builder::Zigbuild => format!("cargo zigbuild, glibc {ZIGBUILD_GLIBC}"),
    }
}

/// Runs one cargo build for all connectors of one architecture.
fn compile(
    project: &Project,
    cargo: &Path,
    builder: &Builder,
    arch: Arch,
    connectors: &[String],
) -> Result<()> {
    let mut command = Command::new(cargo);
    match builder {
        Builder::Cargo { env } => {
            command.args(["build", "--release", "--target", arch.triple()]);
            command.envs(env.iter().map(|(key, value)| (key, value)));
        }
        Builder::Zigbuild => {
            command.args(["zigbuild", "--release", "--target"]);
            command.arg(format!("{}.{ZIGBUILD_GLIBC}", arch.triple()));
        }
    }
    command.arg("--target-dir").arg(project.target_dir());
    for connector in connectors {
        command.args(["--package", connector]);
    }
    command.current_dir(project.root());
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!(
            "building {} for {arch} failed ({status}); see cargo's output above",
            connectors.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_connector_names_the_ones_there_are() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("connectors/github")).unwrap();
        std::fs::write(dir.path().join("connectors/github/Cargo.toml"), "").unwrap();
        let project = Project::at(dir.path());
        let error = select_connectors(&project, &["gitlab".into()])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("gitlab") && error.contains("found: github"),
            "{error}"
        );
        assert_eq!(select_connectors(&project, &[]).unwrap(), ["github"]);
        assert_eq!(
            select_connectors(&project, &["github".into(), "github".into()]).unwrap(),
            ["github"]
        );
    }

    /// A workspace with one connector that has no dependencies, so a release build takes a second.
    fn fixture_workspace(dir: &Path) -> Project {
        let files = [
            (
                "Cargo.toml",
                "[workspace]\nresolver = \"3\"\nmembers = [\"connectors/*\"]\n\n\
                 [profile.release]\nstrip = true\npanic = \"unwind\"\n",
            ),
            (
                "connectors/hello-fixture/Cargo.toml",
                "[package]\nname = \"hello-fixture\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n",
            ),
            (
                "connectors/hello-fixture/src/main.rs",
                "//! A fixture connector.\nfn main() {}\n",
            ),
        ];
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Project::at(dir).with_target_dir(dir.join("target"))
    }

    #[test]
    fn builds_checks_and_zips_a_fixture_connector() {
        let dir = tempfile::tempdir().unwrap();
        let project = fixture_workspace(dir.path());
        let options = Options {
            connectors: vec!["hello-fixture".into()],
            ..Options::default()
        };
        let artifacts = build(&project, &options).unwrap();
        assert_eq!(artifacts.len(), 1);
        let artifact = &artifacts[0];
        assert_eq!(artifact.arch, Arch::X86_64);
        assert_eq!(
            artifact.zip_path,
            dir.path().join("target/lambda/hello-fixture/bootstrap.zip")
        );
        let zip = std::fs::read(&artifact.zip_path).unwrap();
        assert_eq!(archive::sha256_hex(&zip), artifact.sha256);
        assert!(artifact.max_glibc.unwrap() <= elf::MAX_GLIBC);

        let asset = dir
            .path()
            .join("target/release-assets/hello-fixture-x86_64.zip");
        assert_eq!(std::fs::read(asset).unwrap(), zip);
        let sums =
            std::fs::read_to_string(dir.path().join("target/release-assets/SHA256SUMS")).unwrap();
        assert_eq!(
            sums,
            format!("{}  hello-fixture-x86_64.zip\n", artifact.sha256)
        );

        // Building again from the same source gives the same bytes.
        let again = build(&project, &options).unwrap();
        assert_eq!(again[0].sha256, artifact.sha256);
    }

    #[test]
    fn a_missing_toolchain_is_reported_before_building() {
        let dir = tempfile::tempdir().unwrap();
        let project = fixture_workspace(dir.path());
        if Toolchain::detect(Path::new("cargo"))
            .unwrap()
            .builder(Arch::Arm64, false)
            .is_ok()
        {
            return; // This machine can build arm64: nothing to report.
        }
        let options = Options {
            archs: vec![Arch::X86_64, Arch::Arm64],
            ..Options::default()
        };
        let error = build(&project, &options).unwrap_err().to_string();
        assert!(error.contains("aarch64-unknown-linux-gnu"), "{error}");
        assert!(
            !dir.path().join("target/lambda").exists(),
            "nothing is built when a target is missing"
        );
    }
}

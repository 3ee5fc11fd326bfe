//! `cargo xtask new NAME`: scaffolds `connectors/NAME` — a declaration skeleton, a README and a test
//! against a stand-in — so that `cargo test -p NAME` passes right away; then regenerates `deploy/`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::project::{Project, is_valid_connector_name};
use crate::{codegen, output};

mod template;

/// Runs the command.
pub fn run(project: &Project, name: &str) -> Result<()> {
    scaffold(project, name)?;
    output::status(&format!(
        "created connectors/{name} and regenerated deploy/; next: `cargo test -p {name}`, then fill in \
         connectors/{name}/src/main.rs and README.md"
    ));
    Ok(())
}

/// Writes `connectors/<name>/`, makes sure the workspace includes `connectors/*`, and regenerates `deploy/`.
pub fn scaffold(project: &Project, name: &str) -> Result<()> {
    if !is_valid_connector_name(name) {
        bail!(
            "`{name}` cannot be a connector name: use lowercase letters, digits and single dashes, starting \
             with a letter (it becomes the package, binary and Lambda function name)"
        );
    }
    let dir = project.connectors_dir().join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    include_connectors_in_workspace(&project.root().join("Cargo.toml"))?;
    for (path, text) in template::files(name) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    codegen::run(project, &codegen::Options::default()).context("regenerating deploy/")?;
    Ok(())
}

/// Adds `"connectors/*"` to the root manifest's `members` when it is not there yet (the first connector).
fn include_connectors_in_workspace(manifest: &Path) -> Result<()> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    if text.contains("\"connectors/*\"") {
        return Ok(());
    }
    let Some(start) = text.find("members = [") else {
        bail!(
            "{} has no `members = [...]` line to add \"connectors/*\" to",
            manifest.display()
        );
    };
    let insert_at = start + "members = [".len();
    let mut updated = text.clone();
    updated.insert_str(insert_at, "\"connectors/*\", ");
    std::fs::write(manifest, updated).with_context(|| format!("writing {}", manifest.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tidy;

    /// Copies the workspace's sources (not `target/`, `.git/`, `node_modules/`) to `to`.
    fn copy_workspace(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let (source, target) = (entry.path(), to.join(&*name));
            if entry.file_type().unwrap().is_dir() {
                if !matches!(&*name, "target" | ".git" | "node_modules" | ".serverless") {
                    copy_workspace(&source, &target);
                }
            } else if entry.file_type().unwrap().is_file() {
                std::fs::copy(&source, &target).unwrap();
            }
        }
    }

    /// Gives every workspace crate of the copy at `root` its own build artifacts in a shared target directory.
    /// Cargo names a path package's artifacts by its path relative to the workspace root, so the copy's crates
    /// would overwrite the real workspace's (same names, other sources) and a later build of the real workspace
    /// would take them as fresh: it compiled the copy's code. A profile override that changes nothing but the
    /// codegen-unit count (256 by default in dev) gives the copy's crates other names; dependencies stay shared.
    fn separate_artifacts(root: &Path) {
        let mut members = Vec::new();
        for dir in ["crates", "connectors"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                members.push(entry.path().join("Cargo.toml"));
            }
        }
        members.push(root.join("xtask").join("Cargo.toml"));
        let manifest = root.join("Cargo.toml");
        let mut text = std::fs::read_to_string(&manifest).unwrap();
        let mut overrides = String::new();
        for member in members {
            let Ok(member) = std::fs::read_to_string(&member) else {
                continue;
            };
            let name = member
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .map(|n| n.trim().trim_matches('"').to_owned())
                .unwrap();
            let table = format!("[profile.dev.package.{name}]");
            if text.contains(&table) {
                // A crate with settings of its own already (xtask); `cargo test -p demo-api` does not build it.
                continue;
            }
            overrides.push_str(&format!("\n{table}\ncodegen-units = 255\n"));
        }
        text.push_str(&overrides);
        std::fs::write(&manifest, text).unwrap();
    }

    /// The whole promise of `cargo xtask new`: in a copy of this workspace, `cargo test -p demo-api` passes right
    /// after scaffolding, and the repository rules still hold. The copy lives under the target directory (a fixed
    /// path, so later runs rebuild little) and shares its build cache for dependencies (its own crates get
    /// artifacts of their own, see [`separate_artifacts`]); nothing of it is committed.
    #[test]
    fn a_new_connector_passes_its_tests_in_a_copy_of_the_workspace() {
        let project = Project::current();
        let root = project
            .target_dir()
            .join("xtask-new-test")
            .join("workspace");
        if root.exists() {
            std::fs::remove_dir_all(&root).unwrap();
        }
        copy_workspace(project.root(), &root);
        std::fs::remove_dir_all(root.join("connectors").join("demo-api")).ok();
        let copy = Project::at(&root).with_target_dir(project.target_dir());

        scaffold(&copy, "demo-api").unwrap();
        separate_artifacts(&root);

        let status =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["test", "--package", "demo-api", "--target-dir"])
                .arg(project.target_dir())
                .current_dir(&root)
                .status()
                .unwrap();
        assert!(
            status.success(),
            "cargo test -p demo-api failed in {}",
            root.display()
        );
        let formatted =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["fmt", "--package", "demo-api", "--", "--check"])
                .current_dir(&root)
                .status()
                .unwrap();
        assert!(
            formatted.success(),
            "the scaffolded files are not rustfmt-formatted"
        );

        let mut problems = tidy::module_headers(&copy).unwrap();
        problems.extend(tidy::workspace_dependencies(&copy).unwrap());
        problems.extend(tidy::connector_independence(&copy).unwrap());
        assert!(problems.is_empty(), "{problems:?}");
        codegen::check_fresh(&copy).unwrap();
        let template = std::fs::read_to_string(root.join("deploy/template.yaml")).unwrap();
        assert!(template.contains("FunctionName: demo-api"));
    }

    #[test]
    fn refuses_bad_names_and_existing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::at(dir.path());
        let error = scaffold(&project, "Demo_API").unwrap_err().to_string();
        assert!(error.contains("lowercase"), "{error}");
        std::fs::create_dir_all(dir.path().join("connectors/demo-api")).unwrap();
        let error = scaffold(&project, "demo-api").unwrap_err().to_string();
        assert!(error.contains("already exists"), "{error}");
    }

    #[test]
    fn adds_the_connectors_glob_once() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(
            &manifest,
            "[workspace]\nmembers = [\"crates/*\", \"xtask\"]\n",
        )
        .unwrap();
        include_connectors_in_workspace(&manifest).unwrap();
        include_connectors_in_workspace(&manifest).unwrap();
        assert_eq!(
            std::fs::read_to_string(&manifest).unwrap(),
            "[workspace]\nmembers = [\"connectors/*\", \"crates/*\", \"xtask\"]\n"
        );
    }
}

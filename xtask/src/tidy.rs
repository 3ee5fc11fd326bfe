//! `cargo xtask tidy` and the tidy tests: the repository's rules, checked on every test run.
//!
//! - every `.rs` file opens with a `//!` line saying what it is for;
//! - member manifests take every dependency from `[workspace.dependencies]` (`name.workspace = true`);
//! - a connector never depends on another connector;
//! - the generated files in `deploy/` match what `cargo xtask codegen` writes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::project::Project;
use crate::{codegen, output};

/// Runs every check and reports all problems at once.
pub fn run(project: &Project) -> Result<()> {
    let mut problems = Vec::new();
    problems.extend(module_headers(project)?);
    problems.extend(workspace_dependencies(project)?);
    problems.extend(connector_independence(project)?);
    if let Err(error) = codegen::check_fresh(project) {
        problems.push(format!("{error:#}"));
    }
    if !problems.is_empty() {
        bail!(
            "{} tidy problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        );
    }
    output::status("tidy: all repository rules hold");
    Ok(())
}

/// `.rs` files whose first line is not a `//!` module comment.
pub fn module_headers(project: &Project) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for path in files_with_extension(project.root(), "rs")? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if !text.starts_with("//!") {
            problems.push(format!(
                "{}: must open with a `//!` line saying what the file is for",
                relative(project, &path)
            ));
        }
    }
    Ok(problems)
}

/// Dependencies in member manifests that are not `name.workspace = true` (or `{ workspace = true, ... }`).
pub fn workspace_dependencies(project: &Project) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for manifest in member_manifests(project)? {
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        for dependency in dependencies(&text) {
            if !dependency.from_workspace {
                problems.push(format!(
                    "{}:{}: dependency `{}` must be declared in the root [workspace.dependencies] and \
                     written `{}.workspace = true` here",
                    relative(project, &manifest),
                    dependency.line,
                    dependency.name,
                    dependency.name
                ));
            }
        }
    }
    Ok(problems)
}

/// Connectors that depend on another connector (directly, by name or `package = ...`).
pub fn connector_independence(project: &Project) -> Result<Vec<String>> {
    let connectors = project.connectors()?;
    let mut problems = Vec::new();
    for connector in &connectors {
        let manifest = project.connectors_dir().join(connector).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        for dependency in dependencies(&text) {
            let target = dependency.package.as_deref().unwrap_or(&dependency.name);
            if target != connector && connectors.iter().any(|other| other == target) {
                problems.push(format!(
                    "connectors/{connector}/Cargo.toml:{}: depends on connector `{target}`; connectors are \
                     independent, move shared code into crates/fivetran-core",
                    dependency.line
                ));
            }
        }
    }
    Ok(problems)
}

/// One dependency entry of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dependency {
    name: String,
    line: usize,
    from_workspace: bool,
    /// The `package = "..."` rename target, if any.
    package: Option<String>,
}

/// The entries of every dependency table (`[dependencies]`, `[dev-dependencies]`, `[build-dependencies]`,
/// their `[target.*.…]` forms, and `[dependencies.name]` tables), read line by line.
fn dependencies(manifest: &str) -> Vec<Dependency> {
    let mut found: Vec<Dependency> = Vec::new();
    let mut in_table = false;
    // For `[dependencies.name]` tables: the entry their keys belong to.
    let mut table_entry: Option<usize> = None;
    for (index, raw) in manifest.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let header = line.trim_matches(['[', ']']).trim();
            let kinds = ["dependencies", "dev-dependencies", "build-dependencies"];
            let last = header.rsplit('.').next().unwrap_or("");
            in_table = kinds.contains(&last) && !header.starts_with("workspace");
            table_entry = None;
            // `[dependencies.name]` / `[target.x.dependencies.name]`
            for kind in kinds {
                let Some((prefix, name)) = header.rsplit_once(&format!("{kind}.")[..]) else {
                    continue;
                };
                if (prefix.is_empty() || prefix.ends_with('.')) && !header.starts_with("workspace")
                {
                    found.push(Dependency {
                        name: name.trim_matches('"').to_string(),
                        line: index + 1,
                        from_workspace: false,
                        package: None,
                    });
                    table_entry = Some(found.len() - 1);
                }
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some(entry) = table_entry {
            match key {
                "workspace" if value == "true" => found[entry].from_workspace = true,
                "package" => found[entry].package = Some(value.trim_matches('"').to_string()),
                _ => {}
            }
            continue;
        }
        if !in_table {
            continue;
        }
        let (name, dotted_workspace) = match key.strip_suffix(".workspace") {
            Some(name) => (name, value == "true"),
            None => (key, false),
        };
        let inline_workspace =
            value.starts_with('{') && inline_table_value(value, "workspace") == Some("true");
        found.push(Dependency {
            name: name.trim_matches('"').to_string(),
            line: index + 1,
            from_workspace: dotted_workspace || inline_workspace,
            package: inline_table_value(value, "package").map(|p| p.trim_matches('"').to_string()),
        });
    }
    found
}

/// The value of `key` in an inline table such as `{ workspace = true, features = ["x"] }`.
fn inline_table_value<'a>(table: &'a str, key: &str) -> Option<&'a str> {
    let inner = table.trim().strip_prefix('{')?.strip_suffix('}')?;
    inner.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The manifests of the workspace members: `crates/*`, `connectors/*`, `xtask`.
fn member_manifests(project: &Project) -> Result<Vec<PathBuf>> {
    let mut manifests = Vec::new();
    for folder in ["crates", "connectors"] {
        let dir = project.root().join(folder);
        if !dir.is_dir() {
            continue;
        }
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let manifest = entry
                .with_context(|| format!("reading {}", dir.display()))?
                .path()
                .join("Cargo.toml");
            if manifest.is_file() {
                manifests.push(manifest);
            }
        }
    }
    let xtask = project.root().join("xtask/Cargo.toml");
    if xtask.is_file() {
        manifests.push(xtask);
    }
    manifests.sort();
    Ok(manifests)
}

/// Every file under `root` with the extension, skipping build output, dependencies and hidden folders.
fn files_with_extension(root: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let path = entry.path();
            let file_type = entry
                .file_type()
                .with_context(|| format!("reading {}", path.display()))?;
            if file_type.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == extension) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative(project: &Project, path: &Path) -> String {
    path.strip_prefix(project.root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_none(problems: Vec<String>) {
        assert!(problems.is_empty(), "\n  - {}", problems.join("\n  - "));
    }

    // The rules, on this repository.

    #[test]
    fn every_rust_file_has_a_module_header() {
        assert_none(module_headers(&Project::current()).unwrap());
    }

    #[test]
    fn members_take_dependencies_from_the_workspace() {
        assert_none(workspace_dependencies(&Project::current()).unwrap());
    }

    #[test]
    fn connectors_do_not_depend_on_connectors() {
        assert_none(connector_independence(&Project::current()).unwrap());
    }

    #[test]
    fn generated_deploy_files_are_fresh() {
        if let Err(error) = codegen::check_fresh(&Project::current()) {
            panic!("{error:#}");
        }
    }

    // The checks themselves, on small fixtures.

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_a_missing_header() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "crates/a/src/lib.rs", "//! A.\npub fn a() {}\n");
        write(
            dir.path(),
            "crates/a/src/b.rs",
            "// not a module comment\npub fn b() {}\n",
        );
        write(dir.path(), "target/debug/build/out.rs", "generated\n");
        let problems = module_headers(&Project::at(dir.path())).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("crates/a/src/b.rs:"),
            "{problems:?}"
        );
    }

    #[test]
    fn finds_inline_versions() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "crates/a/Cargo.toml",
            "[package]\nname = \"a\"\nversion = \"0.0.0\"\n\n\
             [dependencies]\nserde.workspace = true\ntokio = { workspace = true, features = [\"fs\"] }\n\
             regex = \"1\"\n\n[dev-dependencies]\nproptest = { version = \"1\" }\n\n\
             [target.'cfg(unix)'.dependencies]\nlibc = \"0.2\"\n\n[dependencies.url]\nversion = \"2\"\n\n\
             [dependencies.bytes]\nworkspace = true\n\n[lints]\nworkspace = true\n",
        );
        let problems = workspace_dependencies(&Project::at(dir.path())).unwrap();
        let named: Vec<&str> = problems
            .iter()
            .map(|problem| problem.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(named, ["regex", "proptest", "libc", "url"], "{problems:?}");
        assert!(
            problems[0].starts_with("crates/a/Cargo.toml:8:"),
            "{problems:?}"
        );
    }

    #[test]
    fn finds_a_connector_depending_on_a_connector() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "connectors/github/Cargo.toml",
            "[dependencies]\nfivetran-core.workspace = true\n",
        );
        write(
            dir.path(),
            "connectors/woocommerce/Cargo.toml",
            "[dependencies]\ngithub = { path = \"../github\" }\n",
        );
        write(
            dir.path(),
            "connectors/netsuite/Cargo.toml",
            "[dev-dependencies]\ngh = { workspace = true, package = \"github\" }\n",
        );
        let problems = connector_independence(&Project::at(dir.path())).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("connectors/netsuite/Cargo.toml:2:"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("connectors/woocommerce/Cargo.toml:2:"),
            "{problems:?}"
        );
    }
}

//! The project's layout: where the workspace root, the connectors and the build outputs are.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The workspace xtask works on. `Project::current()` is the repository xtask was compiled from;
/// tests point a `Project` at a temporary copy or a fixture workspace instead.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
    target_dir: PathBuf,
}

impl Project {
    /// The repository this xtask belongs to, found from `CARGO_MANIFEST_DIR` (`<root>/xtask`).
    pub fn current() -> Project {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .expect("xtask lives one folder below the workspace root");
        Project::at(root)
    }

    /// A project rooted at `root` (a workspace with a `connectors/` folder, possibly empty).
    /// Its target directory is `CARGO_TARGET_DIR` when set, else `<root>/target`.
    pub fn at(root: impl Into<PathBuf>) -> Project {
        let root = root.into();
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => root.join(dir),
            _ => root.join("target"),
        };
        Project { root, target_dir }
    }

    /// The same project with another target directory.
    #[cfg(test)]
    pub fn with_target_dir(self, target_dir: impl Into<PathBuf>) -> Project {
        Project {
            target_dir: target_dir.into(),
            ..self
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn connectors_dir(&self) -> PathBuf {
        self.root.join("connectors")
    }

    /// Cargo's target directory (passed to every cargo command xtask runs).
    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// Where `build-all` writes a connector's zips: `<target>/lambda/<connector>/`.
    pub fn lambda_dir(&self, connector: &str) -> PathBuf {
        self.target_dir().join("lambda").join(connector)
    }

    /// Where `build-all` also puts each zip under its release asset name, `<connector>-<arch>.zip`,
    /// with a `SHA256SUMS` file: `<target>/release-assets/`.
    pub fn release_assets_dir(&self) -> PathBuf {
        self.target_dir.join("release-assets")
    }

    /// The connectors: every folder under `connectors/` that holds a `Cargo.toml`, sorted by name.
    /// The folder name is the package, binary and Lambda function name.
    pub fn connectors(&self) -> Result<Vec<String>> {
        let dir = self.connectors_dir();
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            if !entry.path().join("Cargo.toml").is_file() {
                continue;
            }
            let name = entry.file_name().into_string().map_err(|name| {
                anyhow::anyhow!(
                    "connector folder name is not UTF-8: {}",
                    name.to_string_lossy()
                )
            })?;
            names.push(name);
        }
        names.sort();
        Ok(names)
    }
}

/// Whether `name` is usable as a connector (package, binary and Lambda function) name:
/// lowercase ASCII letters, digits and single dashes, starting with a letter, at most 64 characters.
pub fn is_valid_connector_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && !name.ends_with('-')
        && !name.contains("--")
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_project_is_the_workspace_root() {
        let project = Project::current();
        assert!(project.root().join("Cargo.toml").is_file());
        assert!(project.root().join("xtask").is_dir());
    }

    #[test]
    fn connectors_are_folders_with_a_manifest_sorted_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let connectors = dir.path().join("connectors");
        for name in ["woocommerce", "github", "not-a-crate"] {
            std::fs::create_dir_all(connectors.join(name)).unwrap();
        }
        std::fs::write(connectors.join("woocommerce/Cargo.toml"), "").unwrap();
        std::fs::write(connectors.join("github/Cargo.toml"), "").unwrap();
        std::fs::write(connectors.join("README.md"), "").unwrap();
        let project = Project::at(dir.path());
        assert_eq!(project.connectors().unwrap(), ["github", "woocommerce"]);
    }

    #[test]
    fn no_connectors_folder_means_no_connectors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Project::at(dir.path()).connectors().unwrap().is_empty());
    }

    #[test]
    fn connector_names() {
        for good in ["github", "loan-applications", "demo-api", "netsuite2"] {
            assert!(is_valid_connector_name(good), "{good}");
        }
        for bad in [
            "", "GitHub", "2fa", "demo_api", "demo-", "a--b", "-a", "a b",
        ] {
            assert!(!is_valid_connector_name(bad), "{bad}");
        }
        assert!(!is_valid_connector_name(&"a".repeat(65)));
    }
}

//! Finding the bootstrap to run: a path to a binary, a path to a `bootstrap.zip`, or a connector name.
//!
//! A connector name resolves to the newest of `<target>/lambda/<name>/bootstrap.zip` (what `cargo xtask build-all`
//! ships), `<target>/release/<name>` and `<target>/debug/<name>`, looked up in `CARGO_TARGET_DIR` and the
//! workspace's `target` folder. A zip's `bootstrap` entry is extracted (mode 0755) into a temporary folder that lives
//! as long as the [`Bootstrap`].

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A bootstrap ready to start.
#[derive(Debug)]
pub struct Bootstrap {
    /// The executable to start.
    pub path: PathBuf,
    /// Where it came from (the zip, the binary), for messages.
    pub origin: PathBuf,
    /// A name for the function: the connector name, else the file name.
    pub name: String,
    _extracted: Option<tempfile::TempDir>,
}

/// Resolves `spec` (a path or a connector name). `target_dirs` are searched for a connector name; when empty, the
/// defaults from [`default_target_dirs`] are used.
pub fn resolve(spec: &str, target_dirs: &[PathBuf]) -> Result<Bootstrap> {
    let path = Path::new(spec);
    if path.exists() {
        return from_path(path, None);
    }
    let looks_like_name = !spec.is_empty() && !spec.contains('/') && !spec.ends_with(".zip");
    let dirs = if target_dirs.is_empty() {
        default_target_dirs()
    } else {
        target_dirs.to_vec()
    };
    if !looks_like_name {
        return Err(Error::FunctionNotFound {
            spec: spec.to_owned(),
            searched: Vec::new(),
        });
    }
    let mut searched = Vec::new();
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for dir in &dirs {
        for candidate in [
            dir.join("lambda").join(spec).join("bootstrap.zip"),
            dir.join("release").join(spec),
            dir.join("debug").join(spec),
        ] {
            if let Ok(modified) = candidate.metadata().and_then(|m| m.modified())
                && best.as_ref().is_none_or(|(t, _)| modified > *t)
            {
                best = Some((modified, candidate.clone()));
            }
            searched.push(candidate);
        }
    }
    match best {
        Some((_, found)) => from_path(&found, Some(spec)),
        None => Err(Error::FunctionNotFound {
            spec: spec.to_owned(),
            searched,
        }),
    }
}

/// `CARGO_TARGET_DIR` (when set) and the `target` folder of the workspace around the current directory.
pub fn default_target_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(root) = std::env::current_dir()
        .ok()
        .as_deref()
        .and_then(workspace_root)
    {
        let target = root.join("target");
        if !dirs.contains(&target) {
            dirs.push(target);
        }
    }
    dirs
}

/// The nearest folder at or above `start` whose `Cargo.toml` declares a `[workspace]`.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        manifest
            .lines()
            .any(|l| l.trim() == "[workspace]")
            .then(|| dir.to_owned())
    })
}

fn from_path(path: &Path, name: Option<&str>) -> Result<Bootstrap> {
    let path = if path.is_dir() {
        let zip = path.join("bootstrap.zip");
        if zip.exists() {
            zip
        } else {
            path.join("bootstrap")
        }
    } else {
        path.to_owned()
    };
    let mut magic = [0_u8; 4];
    let is_zip = File::open(&path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PK\x03\x04";
    let default_name = || {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("function");
        if stem == "bootstrap" {
            // `target/lambda/<name>/bootstrap.zip`: the folder is the connector's name.
            path.parent()
                .and_then(|p| p.file_name())
                .and_then(|s| s.to_str())
                .unwrap_or(stem)
                .to_owned()
        } else {
            stem.to_owned()
        }
    };
    let name = name.map_or_else(default_name, str::to_owned);
    if is_zip || path.extension().is_some_and(|e| e == "zip") {
        let (dir, extracted) = extract(&path)?;
        return Ok(Bootstrap {
            path: extracted,
            origin: path,
            name,
            _extracted: Some(dir),
        });
    }
    check_executable(&path)?;
    Ok(Bootstrap {
        path: path.clone(),
        origin: path,
        name,
        _extracted: None,
    })
}

/// Fails with a clear message when `path` is not a regular file with an execute bit.
pub fn check_executable(path: &Path) -> Result<()> {
    let metadata = path.metadata().map_err(|e| Error::NotExecutable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if !metadata.is_file() {
        return Err(Error::NotExecutable {
            path: path.to_owned(),
            reason: "not a regular file".to_owned(),
        });
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(Error::NotExecutable {
            path: path.to_owned(),
            reason: format!(
                "its mode is {:o}, without an execute bit (chmod +x it, or pass the bootstrap.zip)",
                metadata.permissions().mode() & 0o777
            ),
        });
    }
    Ok(())
}

/// Extracts the `bootstrap` entry of a zip into a fresh temporary folder, mode 0755.
fn extract(zip_path: &Path) -> Result<(tempfile::TempDir, PathBuf)> {
    let bad = |reason: String| Error::BadZip {
        path: zip_path.to_owned(),
        reason,
    };
    let file = File::open(zip_path).map_err(|e| Error::io("open", zip_path, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let entries: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let mut entry = match archive.by_name("bootstrap") {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(Error::ZipWithoutBootstrap {
                path: zip_path.to_owned(),
                entries,
            });
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    let dir = tempfile::Builder::new()
        .prefix("fivetran-local-")
        .tempdir()
        .map_err(|e| Error::io("create a temporary folder for", zip_path, e))?;
    let target = dir.path().join("bootstrap");
    {
        let mut out = File::create(&target).map_err(|e| Error::io("write", &target, e))?;
        std::io::copy(&mut entry, &mut out)
            .map_err(|e| bad(format!("cannot extract `bootstrap`: {e}")))?;
        out.sync_all().map_err(|e| Error::io("write", &target, e))?;
    }
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("make executable", &target, e))?;
    Ok((dir, target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".zip").tempfile().unwrap();
        let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, data) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap();
        file
    }

    #[test]
    fn a_zip_without_bootstrap_names_its_entries() {
        let zip = zip_with(&[("readme.txt", b"hi")]);
        let error = resolve(zip.path().to_str().unwrap(), &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("has no `bootstrap` entry (entries: readme.txt)"),
            "{error}"
        );
    }

    #[test]
    fn a_zip_bootstrap_is_extracted_executable() {
        let zip = zip_with(&[("bootstrap", b"#!/bin/sh\n")]);
        let bootstrap = resolve(zip.path().to_str().unwrap(), &[]).unwrap();
        let mode = bootstrap.path.metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn a_file_without_execute_bit_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let error = resolve(file.path().to_str().unwrap(), &[]).unwrap_err();
        assert!(
            error.to_string().contains("without an execute bit"),
            "{error}"
        );
    }

    #[test]
    fn an_unknown_name_lists_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let error = resolve("no-such-connector", &[dir.path().to_owned()]).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("lambda/no-such-connector/bootstrap.zip"),
            "{text}"
        );
        assert!(text.contains("release/no-such-connector"), "{text}");
    }

    #[test]
    fn a_garbage_zip_is_reported() {
        let mut file = tempfile::Builder::new().suffix(".zip").tempfile().unwrap();
        file.write_all(b"not a zip at all").unwrap();
        let error = resolve(file.path().to_str().unwrap(), &[]).unwrap_err();
        assert!(
            error.to_string().contains("is not a readable zip file"),
            "{error}"
        );
    }
}

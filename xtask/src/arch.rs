//! Lambda architectures, their Rust targets, and what must be installed to build for them here.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Arm64];

    /// Parses the names Lambda and the release assets use (`x86_64`, `arm64`), plus `aarch64`.
    pub fn parse(name: &str) -> Result<Arch> {
        match name {
            "x86_64" | "amd64" => Ok(Arch::X86_64),
            "arm64" | "aarch64" => Ok(Arch::Arm64),
            other => bail!("unknown architecture `{other}`: expected x86_64 or arm64"),
        }
    }

    /// The name Lambda uses in `Architectures` and the release assets use: `x86_64`, `arm64`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The Rust target triple for Amazon Linux 2023 on this architecture.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The zip's file name: `bootstrap.zip` for x86_64 (the default), `bootstrap-arm64.zip` for arm64.
    pub fn zip_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "bootstrap.zip",
            Arch::Arm64 => "bootstrap-arm64.zip",
        }
    }

    /// The architecture of the machine xtask runs on, if it is Linux on an architecture Lambda offers.
    pub fn host() -> Option<Arch> {
        if std::env::consts::OS != "linux" {
            return None;
        }
        match std::env::consts::ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The GNU cross linker Debian and Ubuntu ship for this target (`apt-get install gcc-<prefix>`).
    fn cross_gcc(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-gnu-gcc",
            Arch::Arm64 => "aarch64-linux-gnu-gcc",
        }
    }

    /// The Cargo environment variable that names this target's linker.
    fn linker_env(self) -> &'static str {
        match self {
            Arch::X86_64 => "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
            Arch::Arm64 => "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}

/// How to invoke the compiler for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builder {
    /// `cargo build --target <triple>`, with optional environment (a cross linker).
    Cargo { env: Vec<(String, String)> },
    /// `cargo zigbuild --target <triple>.2.17`: zig links against an old glibc, for any target.
    Zigbuild,
}

/// The glibc `cargo zigbuild` links against: old enough for every Lambda runtime.
pub const ZIGBUILD_GLIBC: &str = "2.17";

/// What is available on this machine, as far as choosing a builder goes.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub host: Option<Arch>,
    pub installed_targets: Vec<String>,
    pub has_zigbuild: bool,
    pub cross_linkers: Vec<Arch>,
}

impl Toolchain {
    /// Looks at the Rust sysroot, `cargo zigbuild` and the GNU cross linkers on `PATH`.
    pub fn detect(cargo: &Path) -> Result<Toolchain> {
        Ok(Toolchain {
            host: Arch::host(),
            installed_targets: installed_targets()?,
            // `cargo zigbuild` has no `--version`; `--help` succeeds when it is installed.
            has_zigbuild: Command::new(cargo)
                .args(["zigbuild", "--help"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success()),
            cross_linkers: Arch::ALL
                .into_iter()
                .filter(|arch| find_on_path(arch.cross_gcc()).is_some())
                .collect(),
        })
    }

    /// Chooses how to build for `arch`, or explains exactly what to install.
    /// Native builds use plain cargo unless `prefer_zig`; cross builds use `cargo zigbuild` when
    /// present, else a GNU cross linker.
    pub fn builder(&self, arch: Arch, prefer_zig: bool) -> Result<Builder> {
        let mut missing = Vec::new();
        if !self
            .installed_targets
            .iter()
            .any(|target| target == arch.triple())
        {
            missing.push(format!(
                "the Rust standard library for {triple}: run `rustup target add {triple}`",
                triple = arch.triple()
            ));
        }
        let native = self.host == Some(arch);
        let builder = if prefer_zig || !native {
            if self.has_zigbuild {
                Some(Builder::Zigbuild)
            } else if prefer_zig {
                missing.push(
                    "cargo-zigbuild (asked for with --zigbuild): run `pip install cargo-zigbuild` \
                     (it brings zig as a Python package)"
                        .to_string(),
                );
                None
            } else if self.cross_linkers.contains(&arch)
                || std::env::var_os(arch.linker_env()).is_some()
            {
                let mut env = Vec::new();
                if std::env::var_os(arch.linker_env()).is_none() {
                    env.push((arch.linker_env().to_string(), arch.cross_gcc().to_string()));
                }
                Some(Builder::Cargo { env })
            } else {
                missing.push(format!(
                    "a linker for {triple}: run `pip install cargo-zigbuild` (then build-all uses \
                     `cargo zigbuild`), or `apt-get install gcc-{gcc}`",
                    triple = arch.triple(),
                    gcc = arch.cross_gcc().trim_end_matches("-gcc"),
                ));
                None
            }
        } else {
            Some(Builder::Cargo { env: Vec::new() })
        };
        let ci_note = match arch {
            Arch::Arm64 => {
                "\n(the release workflow builds the arm64 zips on GitHub's arm64 runners)"
            }
            Arch::X86_64 => "",
        };
        match builder {
            Some(builder) if missing.is_empty() => Ok(builder),
            _ => bail!(
                "cannot build for {arch} ({triple}) on this machine; install:\n  - {}{ci_note}",
                missing.join("\n  - "),
                triple = arch.triple(),
            ),
        }
    }
}

/// The targets whose standard library is in the active toolchain's sysroot.
fn installed_targets() -> Result<Vec<String>> {
    let output = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["--print", "sysroot"])
        .output()
        .context("running `rustc --print sysroot`")?;
    if !output.status.success() {
        bail!(
            "`rustc --print sysroot` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let rustlib = sysroot.join("lib").join("rustlib");
    let mut targets = Vec::new();
    for entry in
        std::fs::read_dir(&rustlib).with_context(|| format!("reading {}", rustlib.display()))?
    {
        let entry = entry.with_context(|| format!("reading {}", rustlib.display()))?;
        let has_std = std::fs::read_dir(entry.path().join("lib")).is_ok_and(|files| {
            files
                .flatten()
                .any(|file| file.file_name().to_string_lossy().starts_with("libstd-"))
        });
        if has_std {
            targets.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    targets.sort();
    Ok(targets)
}

/// The first `name` on `PATH`, if any.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain(targets: &[&str], has_zigbuild: bool, cross_linkers: &[Arch]) -> Toolchain {
        Toolchain {
            host: Some(Arch::X86_64),
            installed_targets: targets.iter().map(|t| t.to_string()).collect(),
            has_zigbuild,
            cross_linkers: cross_linkers.to_vec(),
        }
    }

    #[test]
    fn names() {
        assert_eq!(Arch::parse("x86_64").unwrap(), Arch::X86_64);
        assert_eq!(Arch::parse("arm64").unwrap(), Arch::Arm64);
        assert_eq!(Arch::parse("aarch64").unwrap(), Arch::Arm64);
        assert!(
            Arch::parse("arm65")
                .unwrap_err()
                .to_string()
                .contains("x86_64 or arm64")
        );
        assert_eq!(Arch::X86_64.zip_name(), "bootstrap.zip");
        assert_eq!(Arch::Arm64.zip_name(), "bootstrap-arm64.zip");
        assert_eq!(Arch::Arm64.triple(), "aarch64-unknown-linux-gnu");
    }

    #[test]
    fn native_uses_plain_cargo() {
        let tools = toolchain(&["x86_64-unknown-linux-gnu"], true, &[]);
        assert_eq!(
            tools.builder(Arch::X86_64, false).unwrap(),
            Builder::Cargo { env: vec![] }
        );
        assert_eq!(
            tools.builder(Arch::X86_64, true).unwrap(),
            Builder::Zigbuild
        );
    }

    #[test]
    fn missing_std_and_linker_say_what_to_install() {
        let tools = toolchain(&["x86_64-unknown-linux-gnu"], false, &[]);
        let error = tools.builder(Arch::Arm64, false).unwrap_err().to_string();
        assert!(
            error.contains("rustup target add aarch64-unknown-linux-gnu"),
            "{error}"
        );
        assert!(error.contains("pip install cargo-zigbuild"), "{error}");
        assert!(
            error.contains("apt-get install gcc-aarch64-linux-gnu"),
            "{error}"
        );
    }

    #[test]
    fn cross_prefers_zigbuild_then_a_gnu_linker() {
        let both = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];
        assert_eq!(
            toolchain(&both, true, &[Arch::Arm64])
                .builder(Arch::Arm64, false)
                .unwrap(),
            Builder::Zigbuild
        );
        if std::env::var_os(Arch::Arm64.linker_env()).is_none() {
            assert_eq!(
                toolchain(&both, false, &[Arch::Arm64])
                    .builder(Arch::Arm64, false)
                    .unwrap(),
                Builder::Cargo {
                    env: vec![(
                        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER".into(),
                        "aarch64-linux-gnu-gcc".into()
                    )]
                }
            );
        }
    }

    #[test]
    fn zigbuild_asked_for_but_missing() {
        let tools = toolchain(&["x86_64-unknown-linux-gnu"], false, &[]);
        let error = tools.builder(Arch::X86_64, true).unwrap_err().to_string();
        assert!(error.contains("pip install cargo-zigbuild"), "{error}");
    }

    #[test]
    fn detects_the_host_target_here() {
        let tools = Toolchain::detect(Path::new("cargo")).unwrap();
        if let Some(host) = tools.host {
            assert!(
                tools.installed_targets.iter().any(|t| t == host.triple()),
                "{tools:?}"
            );
        }
    }
}

//! Checks a built binary against the Lambda runtime by reading its ELF dynamic section itself:
//! the newest `GLIBC_x.y` symbol version it needs, and the shared libraries it links (`DT_NEEDED`).

use std::fmt;

use anyhow::{Context, Result, bail};
use object::elf;
use object::read::elf::FileHeader;

/// The glibc of Amazon Linux 2023, the `provided.al2023` runtime.
pub const MAX_GLIBC: GlibcVersion = GlibcVersion(2, 34, 0);

/// A glibc symbol version such as `GLIBC_2.34` or `GLIBC_2.2.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32, pub u32);

impl GlibcVersion {
    /// Parses `GLIBC_2.34` or `GLIBC_2.2.5`; other version names (`GLIBC_PRIVATE`, `GCC_3.0`) give `None`.
    pub fn parse(name: &str) -> Option<GlibcVersion> {
        let numbers = name.strip_prefix("GLIBC_")?;
        let mut parts = numbers.split('.').map(|part| part.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next().unwrap_or(Some(0))?;
        let patch = parts.next().unwrap_or(Some(0))?;
        if parts.next().is_some() {
            return None;
        }
        Some(GlibcVersion(major, minor, patch))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlibcVersion(major, minor, 0) => write!(f, "{major}.{minor}"),
            GlibcVersion(major, minor, patch) => write!(f, "{major}.{minor}.{patch}"),
        }
    }
}

/// What a binary needs from the system at load time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// The `DT_NEEDED` entries, e.g. `libc.so.6`.
    pub needed: Vec<String>,
    /// Every `GLIBC_*` version named in `.gnu.version_r`, sorted and deduplicated.
    pub glibc: Vec<GlibcVersion>,
}

impl Dependencies {
    /// The newest glibc version the binary needs, if it links glibc at all.
    pub fn max_glibc(&self) -> Option<GlibcVersion> {
        self.glibc.last().copied()
    }
}

/// Reads the dynamic dependencies of a 64-bit little-endian ELF (x86_64 or aarch64).
/// A statically linked binary has none.
pub fn read_dependencies(data: &[u8]) -> Result<Dependencies> {
    let header =
        elf::FileHeader64::<object::Endianness>::parse(data).context("not a 64-bit ELF file")?;
    let endian = header.endian().context("unsupported ELF byte order")?;
    let sections = header
        .sections(endian, data)
        .context("reading the ELF section headers")?;

    let mut deps = Dependencies::default();

    // DT_NEEDED names from the first SHT_DYNAMIC section and its linked string table.
    let dynamic = sections
        .dynamic_table(endian, data)
        .context("reading the ELF dynamic section")?;
    for entry in dynamic.iter() {
        if entry.tag == elf::DT_NEEDED {
            let name = dynamic.string(entry).context("reading a DT_NEEDED name")?;
            deps.needed.push(String::from_utf8_lossy(name).into_owned());
        }
    }

    // Version requirements from SHT_GNU_VERNEED (what `objdump -T` shows as `GLIBC_x.y`).
    if let Some((mut needs, link)) = sections
        .gnu_verneed(endian, data)
        .context("reading the ELF version requirements")?
    {
        let strings = sections
            .strings(endian, data, link)
            .context("reading the version string table")?;
        while let Some((_need, mut auxes)) =
            needs.next().context("reading a version requirement")?
        {
            while let Some(aux) = auxes.next().context("reading a version requirement")? {
                let name = aux
                    .name(endian, strings)
                    .context("reading a version name")?;
                if let Some(version) = GlibcVersion::parse(&String::from_utf8_lossy(name)) {
                    deps.glibc.push(version);
                }
            }
        }
    }
    deps.glibc.sort();
    deps.glibc.dedup();
    Ok(deps)
}

/// Refuses dependencies the Lambda runtime cannot satisfy or that the project rules out:
/// a glibc newer than `MAX_GLIBC`, and OpenSSL (the project uses rustls only).
pub fn check_for_lambda(connector: &str, deps: &Dependencies) -> Result<()> {
    let newest = deps.max_glibc().unwrap_or(MAX_GLIBC);
    if newest > MAX_GLIBC {
        let symbols: Vec<String> = deps
            .glibc
            .iter()
            .filter(|version| **version > MAX_GLIBC)
            .map(|version| format!("GLIBC_{version}"))
            .collect();
        bail!(
            "{connector}: the binary needs glibc {newest} ({}), but the Lambda runtime provided.al2023 \
             (Amazon Linux 2023) has glibc {MAX_GLIBC}; it would fail to start on Lambda. Build against \
             an older glibc: `pip install cargo-zigbuild` and run `cargo xtask build-all --zigbuild` \
             (links against glibc 2.17), or find the C dependency that raised it with \
             `objdump -T <binary> | grep GLIBC_`.",
            symbols.join(", ")
        );
    }
    let openssl: Vec<&str> = deps
        .needed
        .iter()
        .map(String::as_str)
        .filter(|name| name.starts_with("libssl.so") || name.starts_with("libcrypto.so"))
        .collect();
    if !openssl.is_empty() {
        bail!(
            "{connector}: the binary links OpenSSL ({}); the project uses rustls only and the Lambda \
             runtime does not promise an OpenSSL version. Find the crate that enables it with \
             `cargo tree -p {connector} -i openssl-sys` and switch it to its rustls feature.",
            openssl.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    #[test]
    fn parses_glibc_version_names() {
        assert_eq!(
            GlibcVersion::parse("GLIBC_2.34"),
            Some(GlibcVersion(2, 34, 0))
        );
        assert_eq!(
            GlibcVersion::parse("GLIBC_2.2.5"),
            Some(GlibcVersion(2, 2, 5))
        );
        assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("GCC_3.0"), None);
        assert_eq!(GlibcVersion::parse("GLIBC_2.3.4.5"), None);
        assert!(GlibcVersion(2, 2, 5) < GlibcVersion(2, 17, 0));
        assert!(GlibcVersion(2, 34, 0) < GlibcVersion(2, 39, 0));
        assert_eq!(GlibcVersion(2, 2, 5).to_string(), "2.2.5");
        assert_eq!(GlibcVersion(2, 34, 0).to_string(), "2.34");
    }

    #[test]
    fn reads_a_real_binary() {
        // The test executable is a dynamically linked Rust binary like the connectors.
        let deps = read_dependencies(&this_binary()).unwrap();
        assert!(
            deps.needed.iter().any(|name| name == "libc.so.6"),
            "{deps:?}"
        );
        let newest = deps.max_glibc().expect("links glibc");
        assert!(newest >= GlibcVersion(2, 2, 5), "{deps:?}");
        assert!(deps.glibc.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn refuses_a_binary_that_needs_a_newer_glibc() {
        // Rewrite the newest `GLIBC_2.NN` requirement of a real binary to `GLIBC_2.99`, in place.
        let mut binary = this_binary();
        let deps = read_dependencies(&binary).unwrap();
        let newest = format!("GLIBC_{}", deps.max_glibc().unwrap());
        let replacement = format!("GLIBC_2.{}", "9".repeat(newest.len() - "GLIBC_2.".len()));
        let at = binary
            .windows(newest.len() + 2)
            .position(|window| {
                window[0] == 0
                    && &window[1..=newest.len()] == newest.as_bytes()
                    && window[newest.len() + 1] == 0
            })
            .expect("the version name is in the string table")
            + 1;
        binary[at..at + newest.len()].copy_from_slice(replacement.as_bytes());

        let patched = read_dependencies(&binary).unwrap();
        assert!(patched.max_glibc().unwrap() > MAX_GLIBC);
        let error = check_for_lambda("demo-api", &patched)
            .unwrap_err()
            .to_string();
        assert!(error.contains("demo-api"), "{error}");
        assert!(error.contains(&replacement), "{error}");
        assert!(error.contains("provided.al2023"), "{error}");
        assert!(error.contains("2.34"), "{error}");
    }

    #[test]
    fn accepts_glibc_up_to_2_34() {
        let deps = Dependencies {
            needed: vec!["libc.so.6".into(), "libgcc_s.so.1".into()],
            glibc: vec![GlibcVersion(2, 2, 5), GlibcVersion(2, 34, 0)],
        };
        check_for_lambda("demo-api", &deps).unwrap();
        check_for_lambda("static", &Dependencies::default()).unwrap();
    }

    #[test]
    fn refuses_openssl() {
        for library in ["libssl.so.3", "libcrypto.so.3", "libssl.so.1.1"] {
            let deps = Dependencies {
                needed: vec!["libc.so.6".into(), library.into()],
                glibc: vec![GlibcVersion(2, 17, 0)],
            };
            let error = check_for_lambda("demo-api", &deps).unwrap_err().to_string();
            assert!(
                error.contains(library) && error.contains("rustls"),
                "{error}"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_elf() {
        assert!(read_dependencies(b"#!/bin/sh\necho hi\n").is_err());
    }
}

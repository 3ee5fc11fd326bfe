//! Deterministic Lambda zips: one `bootstrap` entry, mode 0755, fixed timestamp, fixed compression.
//!
//! Everything that could vary between two runs (time, file mode, entry order, extra fields) is fixed,
//! so the same binary always gives byte-identical zips and the sha256 identifies the build.

use std::io::{Cursor, Write};

use anyhow::{Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The entry name the `provided.al2023` runtime executes.
pub const ENTRY_NAME: &str = "bootstrap";
/// Unix mode of the entry: an executable regular file.
pub const ENTRY_MODE: u32 = 0o755;

/// Zips `binary` as a Lambda deployment package and returns the zip's bytes.
pub fn lambda_zip(binary: &[u8]) -> Result<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        // 1980-01-01 00:00:00, the earliest time a zip can hold.
        .last_modified_time(DateTime::default())
        .unix_permissions(ENTRY_MODE)
        .large_file(false);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file(ENTRY_NAME, options)
        .context("starting the bootstrap zip entry")?;
    writer
        .write_all(binary)
        .context("compressing the bootstrap binary")?;
    let cursor = writer.finish().context("finishing the zip")?;
    Ok(cursor.into_inner())
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn some_binary() -> Vec<u8> {
        // The first 2 MiB of the test executable: real ELF bytes of a connector's size, quick to deflate.
        let mut binary = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        binary.truncate(2 << 20);
        binary
    }

    #[test]
    fn zipping_the_same_binary_twice_gives_identical_bytes() {
        let binary = some_binary();
        let first = lambda_zip(&binary).unwrap();
        let second = lambda_zip(&binary).unwrap();
        assert_eq!(sha256_hex(&first), sha256_hex(&second));
        assert_eq!(first, second);
    }

    #[test]
    fn one_executable_bootstrap_entry_with_a_fixed_timestamp() {
        let binary = some_binary();
        let zip = lambda_zip(&binary).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        let mode = entry.unix_mode().unwrap();
        assert_eq!(mode & 0o777, 0o755, "{mode:o}");
        assert_eq!(mode & 0o170000, 0o100000, "a regular file: {mode:o}");
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        let time = entry.last_modified().unwrap();
        assert_eq!(
            (
                time.year(),
                time.month(),
                time.day(),
                time.hour(),
                time.minute(),
                time.second()
            ),
            (1980, 1, 1, 0, 0, 0)
        );
        let mut unpacked = Vec::new();
        entry.read_to_end(&mut unpacked).unwrap();
        assert!(
            unpacked == binary,
            "the entry must hold the binary unchanged"
        );
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

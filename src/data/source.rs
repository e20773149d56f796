//! Finding and reading one dataset file, raw or gzipped. A file named `name` may be stored as
//! `name` or `name.gz`; whether it is compressed is decided by its content (the gzip magic
//! bytes 1f 8b), not by its extension. The whole decompressed content is read once into memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::{Error, Result};

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest capacity taken on trust from a gzip trailer (the trailer holds the size mod 2^32).
const MAX_SIZE_HINT: usize = 1 << 30;

/// The stored file for `name` in `dir`: `dir/name` if it exists, else `dir/name.gz` if that
/// exists, else `None`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Some(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    gz.is_file().then_some(gz)
}

/// Reads `path` and returns its content, decompressed if it is gzipped.
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decompress_if_gzipped(bytes, path)
}

/// Returns `bytes` decompressed if they start with the gzip magic, else unchanged. `path` only
/// names the origin in errors.
pub fn decompress_if_gzipped(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(gzip_size_hint(&bytes));
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::format(
                path,
                "gzip",
                format!(
                    "decompression failed after {} bytes of output ({e}); the file is \
                     truncated or corrupt: delete it and fetch it again",
                    out.len()
                ),
            )
        })?;
    Ok(out)
}

/// The decompressed size recorded in a gzip trailer (ISIZE, little-endian last 4 bytes),
/// bounded so that a corrupt trailer cannot trigger a huge allocation.
fn gzip_size_hint(bytes: &[u8]) -> usize {
    match bytes.len().checked_sub(4).map(|start| &bytes[start..]) {
        Some(&[a, b, c, d]) => (u32::from_le_bytes([a, b, c, d]) as usize).min(MAX_SIZE_HINT),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn raw_and_gzipped_content_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..=255).cycle().take(5000).collect();
        // A gzipped file without the .gz extension is still recognised by its magic bytes.
        std::fs::write(dir.path().join("a"), gzip(&content)).unwrap();
        std::fs::write(dir.path().join("b.gz"), &content).unwrap();
        assert_eq!(read_decompressed(&dir.path().join("a")).unwrap(), content);
        assert_eq!(
            read_decompressed(&dir.path().join("b.gz")).unwrap(),
            content
        );
    }

    #[test]
    fn find_file_prefers_the_raw_name_then_the_gz_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_file(dir.path(), "x"), None);
        std::fs::write(dir.path().join("x.gz"), b"1").unwrap();
        assert_eq!(find_file(dir.path(), "x"), Some(dir.path().join("x.gz")));
        std::fs::write(dir.path().join("x"), b"1").unwrap();
        assert_eq!(find_file(dir.path(), "x"), Some(dir.path().join("x")));
    }

    #[test]
    fn corrupt_gzip_is_a_format_error_naming_the_file() {
        let mut bytes = gzip(&[7; 1000]);
        bytes.truncate(bytes.len() / 2);
        let err = decompress_if_gzipped(bytes, Path::new("d/f.gz")).unwrap_err();
        assert!(
            matches!(err, Error::Format { format: "gzip", .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.starts_with("d/f.gz: not a valid gzip file"), "{msg}");
        assert!(msg.contains("truncated or corrupt"), "{msg}");
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_decompressed(Path::new("/nonexistent/gped/f")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().starts_with("/nonexistent/gped/f:"));
    }
}

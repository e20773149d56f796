//! Finding and reading one dataset file, raw or gzipped. A file named `name` may be stored as
//! `name` or `name.gz`; whether it is compressed is decided by its content (the gzip magic
//! bytes 1f 8b), not by its extension. A gzip file of several members (`cat a.gz b.gz`, or
//! `gzip -c >>`) decompresses to their concatenation, as `gunzip` does. The whole decompressed
//! content is read once into memory,
//! so a gzip stream may decompress to at most [`MAX_DECOMPRESSED_LEN`] bytes (the largest real
//! dataset file, CIFAR-10's, is ~30 MB): a corrupt or hostile file fails with an error instead
//! of exhausting memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::{Error, Result};

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Largest decompressed size of a gzipped dataset file, 1 GiB; a stream that decompresses to
/// more is an error.
pub const MAX_DECOMPRESSED_LEN: usize = 1 << 30;

/// Largest ratio of decompressed to compressed size that deflate can reach (a run of one byte
/// value: 258 bytes per match of at most 2 bits), used to bound the gzip trailer's size hint.
const MAX_DEFLATE_RATIO: usize = 1032;

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
/// names the origin in errors. Decompressed content over [`MAX_DECOMPRESSED_LEN`] bytes is an
/// error.
pub fn decompress_if_gzipped(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    decompress_capped(bytes, path, MAX_DECOMPRESSED_LEN)
}

/// [`decompress_if_gzipped`] with a cap of `max_len` decompressed bytes.
fn decompress_capped(bytes: Vec<u8>, path: &Path, max_len: usize) -> Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut out = Vec::with_capacity(gzip_size_hint(&bytes).min(max_len));
    // One byte past the cap tells a stream of exactly `max_len` bytes from a longer one.
    MultiGzDecoder::new(bytes.as_slice())
        .take(max_len as u64 + 1)
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
    if out.len() > max_len {
        return Err(Error::format(
            path,
            "gzip",
            format!(
                "expected at most {max_len} bytes of decompressed content, found more from a \
                 stream of {} bytes; the file is corrupt or is not a dataset file",
                bytes.len()
            ),
        ));
    }
    Ok(out)
}

/// The decompressed size recorded in a gzip trailer (ISIZE, little-endian last 4 bytes),
/// bounded by the most that `bytes` can decompress to, so that a corrupt trailer cannot
/// trigger a huge allocation (a 20-byte file claiming 4 GiB gets at most 20 KiB).
fn gzip_size_hint(bytes: &[u8]) -> usize {
    match bytes.len().checked_sub(4).map(|start| &bytes[start..]) {
        Some(&[a, b, c, d]) => (u32::from_le_bytes([a, b, c, d]) as usize)
            .min(bytes.len().saturating_mul(MAX_DEFLATE_RATIO)),
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
    fn multi_member_gzip_reads_as_the_concatenation() {
        // `cat head.gz tail.gz` is one valid gzip file whose content is head then tail (RFC
        // 1952, 2.2: "a gzip file consists of a series of members"). Reading only the first
        // member made such a file a truncated dataset.
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..=255).cycle().take(5000).collect();
        let (head, tail) = content.split_at(1234);
        let mut bytes = gzip(head);
        bytes.extend(gzip(tail));
        std::fs::write(dir.path().join("two.gz"), bytes).unwrap();
        assert_eq!(
            read_decompressed(&dir.path().join("two.gz")).unwrap(),
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
    fn decompressed_size_is_capped() {
        let bytes = gzip(&[0; 1000]);
        let path = Path::new("d/bomb.gz");
        assert_eq!(
            decompress_capped(bytes.clone(), path, 1000).unwrap().len(),
            1000
        );
        let err = decompress_capped(bytes, path, 999).unwrap_err();
        assert!(
            matches!(err, Error::Format { format: "gzip", .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.starts_with("d/bomb.gz: not a valid gzip file"), "{msg}");
        assert!(
            msg.contains("expected at most 999 bytes of decompressed content, found more"),
            "{msg}"
        );
        // Raw content is not decompressed, so not capped.
        assert_eq!(decompress_capped(vec![0; 10], path, 5).unwrap().len(), 10);
    }

    #[test]
    fn size_hint_is_bounded_by_the_compressed_size() {
        // A trailer claiming 4 GiB on a 20-byte file.
        let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0];
        bytes.extend([0xff; 4]);
        assert_eq!(gzip_size_hint(&bytes), 20 * MAX_DEFLATE_RATIO);
        let content = gzip(&[5; 3000]);
        assert_eq!(gzip_size_hint(&content), 3000);
        assert_eq!(gzip_size_hint(&[0x1f, 0x8b]), 0);
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_decompressed(Path::new("/nonexistent/gped/f")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().starts_with("/nonexistent/gped/f:"));
    }
}

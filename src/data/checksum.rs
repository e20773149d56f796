//! MD5 checksums of dataset files. The published values are those of the decompressed
//! content, so a file re-gzipped with other settings still verifies; they are checked on load
//! and after every download.

use std::path::Path;

use md5::{Digest, Md5};

use crate::{Error, Result};

/// Whether loading a dataset checks the published checksums of its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumPolicy {
    /// Check every file that has a published checksum (the default).
    #[default]
    Verify,
    /// Skip the check (e.g. for a locally modified copy of a dataset).
    Skip,
}

/// The MD5 of `bytes` as 32 lower-case hex digits.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks that `content` (the decompressed content of the file at `path`, part of dataset
/// `dataset`) has MD5 `expected`; a mismatch says how to proceed.
pub fn verify_md5(content: &[u8], expected: &str, path: &Path, dataset: &str) -> Result<()> {
    let found = md5_hex(content);
    if found.eq_ignore_ascii_case(expected) {
        return Ok(());
    }
    Err(Error::Checksum {
        path: path.to_path_buf(),
        expected: expected.to_ascii_lowercase(),
        found,
        hint: format!(
            "(MD5 of the decompressed content) the file is corrupt or not the published one: \
             fetch it again with `gped data fetch {dataset}`, or skip verification \
             (`--set data.verify_checksums=false`) if the change is intended"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference digests from RFC 1321, appendix A.5.
    #[test]
    fn md5_matches_rfc_1321_test_suite() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn mismatch_names_file_expected_found_and_remedy() {
        assert!(
            verify_md5(
                b"abc",
                "900150983CD24FB0D6963F7D28E17F72",
                Path::new("f"),
                "x"
            )
            .is_ok()
        );
        let err = verify_md5(
            b"abd",
            "900150983cd24fb0d6963f7d28e17f72",
            Path::new("d/f"),
            "mnist",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Checksum { .. }));
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "d/f: checksum mismatch: expected MD5 900150983cd24fb0d6963f7d28e17f72, found "
            ),
            "{msg}"
        );
        assert!(msg.contains("gped data fetch mnist"), "{msg}");
        assert!(msg.contains("data.verify_checksums=false"), "{msg}");
    }
}

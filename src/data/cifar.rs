//! The CIFAR-10 binary format (`cifar-10-batches-bin/*.bin`): a file is a sequence of
//! 3073-byte records, one label byte (0..=9) then a 32x32 colour image stored channel-major
//! (1024 red, 1024 green, 1024 blue values, each plane row-major), which is already NCHW.
//! Training data are `data_batch_1.bin`..`data_batch_5.bin`, test data `test_batch.bin`.

use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::source::read_decompressed;
use crate::{Error, Result};

/// Channels, height and width of a CIFAR-10 image.
pub const CIFAR10_IMAGE_SHAPE: [usize; 3] = [3, 32, 32];
/// Bytes of one record: the label byte plus 3 * 32 * 32 pixels.
pub const CIFAR10_RECORD_LEN: usize = 1 + 3 * 32 * 32;
/// Number of CIFAR-10 classes.
pub const CIFAR10_CLASSES: usize = 10;

const FORMAT: &str = "CIFAR-10 binary";

/// The folder holding the `.bin` batches under a dataset folder `cifar10_root`
/// (`<data-dir>/cifar10`): `cifar10_root/cifar-10-batches-bin` as extracted from the official
/// tarball if it exists, else `cifar10_root` itself.
pub fn batches_dir(cifar10_root: &Path) -> PathBuf {
    let extracted = cifar10_root.join("cifar-10-batches-bin");
    if extracted.is_dir() {
        extracted
    } else {
        cifar10_root.to_path_buf()
    }
}

/// Appends the records of one batch file's content to `pixels` (`[n, 3, 32, 32]`) and
/// `labels` (`[n]`); `path` names the file in errors.
pub fn parse_batch(
    bytes: &[u8],
    path: &Path,
    pixels: &mut Vec<u8>,
    labels: &mut Vec<u8>,
) -> Result<()> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(CIFAR10_RECORD_LEN) {
        return Err(Error::format(
            path,
            FORMAT,
            format!(
                "expected a positive multiple of {CIFAR10_RECORD_LEN} bytes (1 label byte + \
                 3x32x32 pixels per record), found {} bytes ({} whole records and {} bytes over)",
                bytes.len(),
                bytes.len() / CIFAR10_RECORD_LEN,
                bytes.len() % CIFAR10_RECORD_LEN
            ),
        ));
    }
    let n = bytes.len() / CIFAR10_RECORD_LEN;
    pixels.reserve(n * (CIFAR10_RECORD_LEN - 1));
    labels.reserve(n);
    for (i, record) in bytes.chunks_exact(CIFAR10_RECORD_LEN).enumerate() {
        let label = record[0];
        if usize::from(label) >= CIFAR10_CLASSES {
            return Err(Error::format(
                path,
                FORMAT,
                format!("record {i} has label {label}, expected a class below {CIFAR10_CLASSES}"),
            ));
        }
        labels.push(label);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}

/// Reads the batch files `paths` (raw or gzipped), in order, into one [`Dataset`] of
/// `[n, 3, 32, 32]` images in [0, 1].
pub fn read_batches(paths: &[PathBuf]) -> Result<Dataset> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes = read_decompressed(path)?;
        parse_batch(&bytes, path, &mut pixels, &mut labels)?;
    }
    Dataset::from_u8(&pixels, labels, CIFAR10_IMAGE_SHAPE, CIFAR10_CLASSES)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A batch file of records with the given labels; pixel k of record r = (r + k) mod 256.
    pub(crate) fn cifar_batch(labels: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (r, &label) in labels.iter().enumerate() {
            bytes.push(label);
            bytes.extend((0..3072).map(|k| ((r + k) % 256) as u8));
        }
        bytes
    }

    #[test]
    fn batches_read_in_order_channel_major() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("data_batch_1.bin");
        let b = dir.path().join("data_batch_2.bin");
        std::fs::write(&a, cifar_batch(&[3, 9])).unwrap();
        std::fs::write(&b, cifar_batch(&[0])).unwrap();
        let d = read_batches(&[a, b]).unwrap();
        assert_eq!(d.shape(), [3, 3, 32, 32]);
        assert_eq!(d.labels(), &[3, 9, 0]);
        // Record 1, green plane (offset 1024), row 0, col 5: pixel k = 1029, value (1 + 1029) % 256.
        assert_eq!(d.image(1)[1024 + 5], ((1 + 1029) % 256) as f32 / 255.0);
        // Record 2 (first of the second file) starts again at value 0.
        assert_eq!(d.image(2)[0], 0.0);
    }

    #[test]
    fn length_not_a_multiple_of_the_record_is_reported() {
        let mut bytes = cifar_batch(&[1, 2]);
        bytes.truncate(bytes.len() - 10);
        let msg = parse_batch(
            &bytes,
            Path::new("c/test_batch.bin"),
            &mut vec![],
            &mut vec![],
        )
        .unwrap_err()
        .to_string();
        assert!(
            msg.starts_with("c/test_batch.bin: not a valid CIFAR-10 binary file"),
            "{msg}"
        );
        assert!(
            msg.contains("expected a positive multiple of 3073 bytes"),
            "{msg}"
        );
        assert!(
            msg.contains("found 6136 bytes (1 whole records and 3063 bytes over)"),
            "{msg}"
        );
    }

    #[test]
    fn empty_file_is_reported() {
        let msg = parse_batch(&[], Path::new("e.bin"), &mut vec![], &mut vec![])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("found 0 bytes"), "{msg}");
    }

    #[test]
    fn label_out_of_range_is_reported_with_its_record() {
        let bytes = cifar_batch(&[1, 2, 200]);
        let msg = parse_batch(&bytes, Path::new("b.bin"), &mut vec![], &mut vec![])
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("record 2 has label 200, expected a class below 10"),
            "{msg}"
        );
    }

    #[test]
    fn batches_dir_prefers_the_extracted_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(batches_dir(dir.path()), dir.path());
        std::fs::create_dir(dir.path().join("cifar-10-batches-bin")).unwrap();
        assert_eq!(
            batches_dir(dir.path()),
            dir.path().join("cifar-10-batches-bin")
        );
    }
}

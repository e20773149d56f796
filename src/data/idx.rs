//! The IDX format of MNIST, Fashion-MNIST and KMNIST: a big-endian header (magic number, then
//! one u32 per dimension) followed by the u8 values. Images have magic 0x00000803 and dimensions
//! `[n, rows, cols]`; labels have magic 0x00000801 and dimension `[n]`. Every check (magic,
//! dimensions, exact file length, label range, image/label count) fails with its own error
//! naming the file, the expected value and the value found.

use std::path::Path;

use super::dataset::Dataset;
use super::source::read_decompressed;
use crate::{Error, Result};

/// Magic number of an IDX file of u8 values in three dimensions (images).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of u8 values in one dimension (labels).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

const FORMAT: &str = "IDX";

/// The content of an IDX images file: `n` images of `rows x cols` u8 pixels, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    /// `[n, rows, cols]` pixels.
    pub pixels: Vec<u8>,
}

/// Parses the (decompressed) content of an IDX images file; `path` names it in errors.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    let dims = parse_header(bytes, path, IDX_IMAGES_MAGIC, "images")?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    if rows == 0 || cols == 0 {
        return Err(Error::format(
            path,
            FORMAT,
            format!("expected images of at least 1x1 pixels, found {rows}x{cols}"),
        ));
    }
    let header_len = 16;
    check_length(bytes, path, header_len, &[n, rows, cols], "images")?;
    Ok(IdxImages {
        n,
        rows,
        cols,
        pixels: bytes[header_len..].to_vec(),
    })
}

/// Parses the (decompressed) content of an IDX labels file whose labels must all be below
/// `num_classes`; `path` names it in errors.
pub fn parse_labels(bytes: &[u8], path: &Path, num_classes: usize) -> Result<Vec<u8>> {
    let dims = parse_header(bytes, path, IDX_LABELS_MAGIC, "labels")?;
    let header_len = 8;
    check_length(bytes, path, header_len, &dims, "labels")?;
    let labels = &bytes[header_len..];
    if let Some((i, &label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= num_classes)
    {
        return Err(Error::format(
            path,
            FORMAT,
            format!("label {i} is {label}, expected a class below {num_classes}"),
        ));
    }
    Ok(labels.to_vec())
}

/// Reads an images file and a labels file (raw or gzipped) into a [`Dataset`] of
/// `[n, 1, rows, cols]` images in [0, 1], checking that both hold the same number of examples.
pub fn read_dataset(images_path: &Path, labels_path: &Path, num_classes: usize) -> Result<Dataset> {
    let images = parse_images(&read_decompressed(images_path)?, images_path)?;
    let labels = parse_labels(&read_decompressed(labels_path)?, labels_path, num_classes)?;
    dataset_from_parts(&images, labels, images_path, labels_path, num_classes)
}

/// Joins parsed images and labels into a [`Dataset`], checking that their counts agree.
pub fn dataset_from_parts(
    images: &IdxImages,
    labels: Vec<u8>,
    images_path: &Path,
    labels_path: &Path,
    num_classes: usize,
) -> Result<Dataset> {
    if images.n != labels.len() {
        return Err(Error::format(
            labels_path,
            FORMAT,
            format!(
                "expected {} labels, one per image of {}, found {}",
                images.n,
                images_path.display(),
                labels.len()
            ),
        ));
    }
    Dataset::from_u8(
        &images.pixels,
        labels,
        [1, images.rows, images.cols],
        num_classes,
    )
}

/// Checks the magic number and returns the dimensions that follow it.
fn parse_header(bytes: &[u8], path: &Path, magic: u32, what: &str) -> Result<Vec<usize>> {
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let too_short = |needed: usize| {
        Error::format(
            path,
            FORMAT,
            format!(
                "expected a header of {needed} bytes for an IDX {what} file, found a file of {} \
                 bytes",
                bytes.len()
            ),
        )
    };
    let word = |k: usize| u32::from_be_bytes([bytes[k], bytes[k + 1], bytes[k + 2], bytes[k + 3]]);
    if bytes.len() < 4 {
        return Err(too_short(header_len));
    }
    let found = word(0);
    if found != magic {
        let hint = match found {
            IDX_IMAGES_MAGIC => " (an images file)",
            IDX_LABELS_MAGIC => " (a labels file)",
            _ if bytes.starts_with(&[0x1f, 0x8b]) => " (gzip data)",
            // Compression is told by content, so a `.gz` file without the gzip magic is read
            // raw: say so, since the name promises gzip.
            _ if path.extension().is_some_and(|e| e == "gz") => {
                " (the file is named .gz but is neither gzip data nor IDX)"
            }
            _ => "",
        };
        return Err(Error::format(
            path,
            FORMAT,
            format!("expected magic number {magic:#010x} ({what}), found {found:#010x}{hint}"),
        ));
    }
    if bytes.len() < header_len {
        return Err(too_short(header_len));
    }
    Ok((0..ndims).map(|d| word(4 + 4 * d) as usize).collect())
}

/// Checks that the file holds exactly the header plus the product of `dims` values.
fn check_length(
    bytes: &[u8],
    path: &Path,
    header_len: usize,
    dims: &[usize],
    what: &str,
) -> Result<()> {
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|body| body.checked_add(header_len as u64));
    let dims_text = dims
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x");
    let found = bytes.len() as u64;
    match expected {
        Some(expected) if expected == found => Ok(()),
        Some(expected) => Err(Error::format(
            path,
            FORMAT,
            format!(
                "header declares {what} of dimensions {dims_text}, so expected {expected} bytes, \
                 found {found} ({})",
                if found < expected {
                    "the file is truncated"
                } else {
                    "trailing bytes after the data"
                }
            ),
        )),
        None => Err(Error::format(
            path,
            FORMAT,
            format!("header declares {what} of dimensions {dims_text}, which is too large"),
        )),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IDX images file of `n` images of `rows x cols`, pixel k of the whole file = k mod 256.
    pub(crate) fn idx_images(n: u32, rows: u32, cols: u32) -> Vec<u8> {
        let mut bytes = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [n, rows, cols] {
            bytes.extend(d.to_be_bytes());
        }
        bytes.extend((0..n * rows * cols).map(|k| (k % 256) as u8));
        bytes
    }

    /// An IDX labels file holding `labels`.
    pub(crate) fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut bytes = IDX_LABELS_MAGIC.to_be_bytes().to_vec();
        bytes.extend((labels.len() as u32).to_be_bytes());
        bytes.extend(labels);
        bytes
    }

    fn p() -> &'static Path {
        Path::new("dir/train-images-idx3-ubyte")
    }

    #[test]
    fn images_parse_header_and_pixels() {
        let images = parse_images(&idx_images(3, 2, 4), p()).unwrap();
        assert_eq!((images.n, images.rows, images.cols), (3, 2, 4));
        assert_eq!(images.pixels, (0..24).collect::<Vec<u8>>());
    }

    #[test]
    fn labels_parse() {
        let labels = parse_labels(&idx_labels(&[0, 9, 3]), p(), 10).unwrap();
        assert_eq!(labels, vec![0, 9, 3]);
    }

    #[test]
    fn wrong_magic_names_expected_and_found() {
        let msg = parse_images(&idx_labels(&[1, 2]), p())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("dir/train-images-idx3-ubyte: not a valid IDX file"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "expected magic number 0x00000803 (images), found 0x00000801 (a labels file)"
            ),
            "{msg}"
        );
    }

    #[test]
    fn short_header_is_reported() {
        let msg = parse_labels(&[0, 0, 8], p(), 10).unwrap_err().to_string();
        assert!(msg.contains("expected a header of 8 bytes"), "{msg}");
        assert!(msg.contains("found a file of 3 bytes"), "{msg}");
        let msg = parse_labels(&[0, 0, 8, 1, 0], p(), 10)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("expected a header of 8 bytes for an IDX labels file, found a file of 5"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_and_overlong_files_are_reported() {
        let mut bytes = idx_images(3, 2, 4);
        bytes.pop();
        let msg = parse_images(&bytes, p()).unwrap_err().to_string();
        assert!(
            msg.contains("dimensions 3x2x4, so expected 40 bytes, found 39"),
            "{msg}"
        );
        assert!(msg.contains("truncated"), "{msg}");
        let mut bytes = idx_labels(&[1, 2]);
        bytes.push(0);
        let msg = parse_labels(&bytes, p(), 10).unwrap_err().to_string();
        assert!(
            msg.contains("expected 10 bytes, found 11 (trailing bytes"),
            "{msg}"
        );
    }

    #[test]
    fn zero_sized_images_are_rejected() {
        let msg = parse_images(&idx_images(0, 0, 28), p())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at least 1x1 pixels, found 0x28"), "{msg}");
    }

    #[test]
    fn label_out_of_range_is_reported_with_its_index() {
        let msg = parse_labels(&idx_labels(&[1, 2, 10]), p(), 10)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("label 2 is 10, expected a class below 10"),
            "{msg}"
        );
    }

    #[test]
    fn read_dataset_checks_counts_agree() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = (dir.path().join("img"), dir.path().join("lab"));
        std::fs::write(&ip, idx_images(3, 2, 2)).unwrap();
        std::fs::write(&lp, idx_labels(&[1, 2])).unwrap();
        let msg = read_dataset(&ip, &lp, 10).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:", lp.display())), "{msg}");
        assert!(msg.contains("expected 3 labels, one per image of"), "{msg}");
        assert!(msg.contains("found 2"), "{msg}");

        std::fs::write(&lp, idx_labels(&[1, 2, 3])).unwrap();
        let d = read_dataset(&ip, &lp, 10).unwrap();
        assert_eq!(d.shape(), [3, 1, 2, 2]);
        assert_eq!(
            d.image(1),
            &[4.0 / 255.0, 5.0 / 255.0, 6.0 / 255.0, 7.0 / 255.0]
        );
        assert_eq!(d.labels(), &[1, 2, 3]);
    }
}

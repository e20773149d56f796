//! An out-of-distribution test set given as a folder rather than a catalogue name: any folder
//! holding an IDX images file `t10k-images-idx3-ubyte` (raw or gzipped). Labels are optional
//! and never read, since OOD detection scores inputs only; the images get label 0.

use std::path::Path;

use super::dataset::Dataset;
use super::idx::parse_images;
use super::source::{find_file, read_decompressed};
use crate::{Error, Result};

/// The name of the IDX images file looked for in the folder (`.gz` also accepted).
pub const IDX_TEST_IMAGES: &str = "t10k-images-idx3-ubyte";

/// Loads the IDX test images in `dir` as a [`Dataset`] of `[n, 1, rows, cols]` images in
/// [0, 1], every label 0 of `num_classes` classes.
pub fn load_idx_images_folder(dir: &Path, num_classes: usize) -> Result<Dataset> {
    let path = find_file(dir, IDX_TEST_IMAGES).ok_or_else(|| Error::NotFound {
        what: format!("IDX test images `{IDX_TEST_IMAGES}[.gz]`"),
        path: dir.to_path_buf(),
        hint: "an OOD folder must hold an IDX images file of the run's image size".into(),
    })?;
    let images = parse_images(&read_decompressed(&path)?, &path)?;
    Dataset::from_u8(
        &images.pixels,
        vec![0; images.n],
        [1, images.rows, images.cols],
        num_classes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::idx_images;

    #[test]
    fn reads_images_without_labels() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(IDX_TEST_IMAGES), idx_images(3, 2, 2)).unwrap();
        let data = load_idx_images_folder(dir.path(), 10).unwrap();
        assert_eq!(data.shape(), [3, 1, 2, 2]);
        assert_eq!(data.labels(), &[0, 0, 0]);
    }

    #[test]
    fn missing_images_name_the_folder_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_idx_images_folder(dir.path(), 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains(IDX_TEST_IMAGES), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }
}

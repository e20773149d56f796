//! Loading a catalogued dataset split from the data directory into a [`Dataset`], verifying
//! checksums on the way, and the per-dataset health report behind `gped data check`.

use std::path::{Path, PathBuf};

use super::catalog::{DatasetFormat, DatasetSpec, FileRole, FileSpec, Split, dataset_spec};
use super::checksum::{ChecksumPolicy, verify_md5};
use super::cifar::{batches_dir, parse_batch};
use super::dataset::Dataset;
use super::idx::{IdxImages, dataset_from_parts, parse_images, parse_labels};
use super::source::{find_file, read_decompressed};
use crate::{Error, Result};

/// Loads split `split` of the catalogued dataset `name` from `data_dir`.
pub fn load(data_dir: &Path, name: &str, split: Split, policy: ChecksumPolicy) -> Result<Dataset> {
    load_spec(data_dir, dataset_spec(name)?, split, policy)
}

/// Loads split `split` of the dataset `spec` from `data_dir`: images `[n, c, h, w]` in [0, 1].
pub fn load_spec(
    data_dir: &Path,
    spec: &DatasetSpec,
    split: Split,
    policy: ChecksumPolicy,
) -> Result<Dataset> {
    let dir = files_dir(data_dir, spec)?;
    match spec.format {
        DatasetFormat::Idx => {
            let images_file = split_file(spec, split, FileRole::Images)?;
            let labels_file = split_file(spec, split, FileRole::Labels)?;
            let images_path = locate_file(&dir, spec, images_file)?;
            let labels_path = locate_file(&dir, spec, labels_file)?;
            let images = read_images(spec, images_file, &images_path, policy)?;
            let labels = read_labels(spec, labels_file, &labels_path, policy)?;
            dataset_from_parts(
                &images,
                labels,
                &images_path,
                &labels_path,
                spec.num_classes,
            )
        }
        DatasetFormat::Cifar10Binary => {
            let (mut pixels, mut labels) = (Vec::new(), Vec::new());
            for file in spec.split_files(split) {
                let path = locate_file(&dir, spec, file)?;
                let content = read_verified(spec, file, &path, policy)?;
                parse_batch(&content, &path, &mut pixels, &mut labels)?;
            }
            Dataset::from_u8(&pixels, labels, spec.image_shape, spec.num_classes)
        }
    }
}

/// Checks the decompressed `content` of one dataset file as fetched: its checksum when one is
/// published, then its format (header, length, label range, image shape).
pub fn validate_content(
    spec: &DatasetSpec,
    file: &FileSpec,
    content: &[u8],
    path: &Path,
) -> Result<()> {
    if let Some(md5) = file.md5 {
        verify_md5(content, md5, path, spec.name)?;
    }
    match file.role {
        FileRole::Images => check_image_shape(spec, &parse_images(content, path)?, path),
        FileRole::Labels => parse_labels(content, path, spec.num_classes).map(|_| ()),
        FileRole::Batch => parse_batch(content, path, &mut Vec::new(), &mut Vec::new()),
    }
}

/// The state of one dataset in the data directory, as `gped data check` reports it.
#[derive(Debug)]
pub enum DatasetStatus {
    /// None of the dataset's files is present; `dir` is where they were looked for.
    Missing { dir: PathBuf },
    /// Both splits load; shapes are `[n, c, h, w]`.
    Present {
        train_shape: [usize; 4],
        test_shape: [usize; 4],
        /// Whether every file was checked against a published checksum.
        checksums_verified: bool,
    },
    /// Some file is missing, corrupt or fails its checksum.
    Invalid(Error),
}

/// Loads both splits of `spec` from `data_dir`, verifying checksums, and reports the result.
pub fn check_dataset(data_dir: &Path, spec: &DatasetSpec) -> DatasetStatus {
    let dir = spec.files_dir(data_dir);
    if spec.files.iter().all(|f| find_file(&dir, f.name).is_none()) {
        return DatasetStatus::Missing { dir };
    }
    let shapes =
        load_spec(data_dir, spec, Split::Train, ChecksumPolicy::Verify).and_then(|train| {
            let test = load_spec(data_dir, spec, Split::Test, ChecksumPolicy::Verify)?;
            Ok((train.shape(), test.shape()))
        });
    match shapes {
        Ok((train_shape, test_shape)) => DatasetStatus::Present {
            train_shape,
            test_shape,
            checksums_verified: spec.fully_checksummed(),
        },
        Err(err) => DatasetStatus::Invalid(err),
    }
}

/// The hint of every "not found" error.
fn fetch_hint(spec: &DatasetSpec) -> String {
    format!(
        "fetch it with `gped data fetch {}`, or point --data-dir or GPED_DATA_DIR at the folder \
         that holds {}/",
        spec.name, spec.name
    )
}

/// The folder holding the dataset's files, which must exist.
fn files_dir(data_dir: &Path, spec: &DatasetSpec) -> Result<PathBuf> {
    let root = spec.dir(data_dir);
    if !root.is_dir() {
        return Err(Error::NotFound {
            what: format!("dataset `{}`", spec.name),
            path: root,
            hint: fetch_hint(spec),
        });
    }
    Ok(match spec.format {
        DatasetFormat::Idx => root,
        DatasetFormat::Cifar10Binary => batches_dir(&root),
    })
}

fn split_file(spec: &DatasetSpec, split: Split, role: FileRole) -> Result<&FileSpec> {
    spec.split_files(split)
        .find(|f| f.role == role)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "catalogue entry `{}` has no {role:?} file for the {split} split",
                spec.name
            ))
        })
}

fn locate_file(dir: &Path, spec: &DatasetSpec, file: &FileSpec) -> Result<PathBuf> {
    find_file(dir, file.name).ok_or_else(|| Error::NotFound {
        what: format!(
            "{} {} file `{}` (or `{}.gz`)",
            spec.name, file.split, file.name, file.name
        ),
        path: dir.join(file.name),
        hint: fetch_hint(spec),
    })
}

fn read_verified(
    spec: &DatasetSpec,
    file: &FileSpec,
    path: &Path,
    policy: ChecksumPolicy,
) -> Result<Vec<u8>> {
    let content = read_decompressed(path)?;
    if let (ChecksumPolicy::Verify, Some(md5)) = (policy, file.md5) {
        verify_md5(&content, md5, path, spec.name)?;
    }
    Ok(content)
}

fn read_images(
    spec: &DatasetSpec,
    file: &FileSpec,
    path: &Path,
    policy: ChecksumPolicy,
) -> Result<IdxImages> {
    let images = parse_images(&read_verified(spec, file, path, policy)?, path)?;
    check_image_shape(spec, &images, path)?;
    Ok(images)
}

fn read_labels(
    spec: &DatasetSpec,
    file: &FileSpec,
    path: &Path,
    policy: ChecksumPolicy,
) -> Result<Vec<u8>> {
    parse_labels(
        &read_verified(spec, file, path, policy)?,
        path,
        spec.num_classes,
    )
}

fn check_image_shape(spec: &DatasetSpec, images: &IdxImages, path: &Path) -> Result<()> {
    let found = [1, images.rows, images.cols];
    if found != spec.image_shape {
        let [c, h, w] = spec.image_shape;
        return Err(Error::format(
            path,
            "IDX",
            format!(
                "expected {} images of {c}x{h}x{w}, found 1x{}x{}",
                spec.name, images.rows, images.cols
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::GzEncoder};

    use super::*;
    use crate::data::cifar::tests::cifar_batch;
    use crate::data::idx::tests::{idx_images, idx_labels};

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// A kmnist folder (no checksums) of 28x28 IDX files: 3 train and 2 test examples.
    fn fake_kmnist(data_dir: &Path) {
        let dir = data_dir.join("kmnist");
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, bytes: Vec<u8>| std::fs::write(dir.join(name), bytes).unwrap();
        write("train-images-idx3-ubyte.gz", gzip(&idx_images(3, 28, 28)));
        write("train-labels-idx1-ubyte", idx_labels(&[1, 2, 3]));
        write("t10k-images-idx3-ubyte", idx_images(2, 28, 28));
        write("t10k-labels-idx1-ubyte.gz", gzip(&idx_labels(&[9, 0])));
    }

    #[test]
    fn idx_dataset_loads_raw_and_gzipped_files() {
        let dir = tempfile::tempdir().unwrap();
        fake_kmnist(dir.path());
        let train = load(dir.path(), "kmnist", Split::Train, ChecksumPolicy::Verify).unwrap();
        assert_eq!(train.shape(), [3, 1, 28, 28]);
        assert_eq!(train.labels(), &[1, 2, 3]);
        let test = load(dir.path(), "kmnist", Split::Test, ChecksumPolicy::Verify).unwrap();
        assert_eq!(test.labels(), &[9, 0]);
        match check_dataset(dir.path(), dataset_spec("kmnist").unwrap()) {
            DatasetStatus::Present {
                train_shape,
                test_shape,
                checksums_verified,
            } => {
                assert_eq!(train_shape, [3, 1, 28, 28]);
                assert_eq!(test_shape, [2, 1, 28, 28]);
                assert!(!checksums_verified);
            }
            other => panic!("expected present, found {other:?}"),
        }
    }

    #[test]
    fn missing_dataset_and_missing_file_are_not_found_with_a_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path(), "mnist", Split::Train, ChecksumPolicy::Verify).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("dataset `mnist` not found at "), "{msg}");
        assert!(msg.contains("gped data fetch mnist"), "{msg}");
        assert!(msg.contains("--data-dir"), "{msg}");
        assert!(matches!(
            check_dataset(dir.path(), dataset_spec("mnist").unwrap()),
            DatasetStatus::Missing { .. }
        ));

        fake_kmnist(dir.path());
        std::fs::remove_file(dir.path().join("kmnist/t10k-labels-idx1-ubyte.gz")).unwrap();
        let msg = load(dir.path(), "kmnist", Split::Test, ChecksumPolicy::Verify)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("kmnist test file `t10k-labels-idx1-ubyte` (or `t10k-labels-idx1-ubyte.gz`) not found"),
            "{msg}"
        );
        assert!(matches!(
            check_dataset(dir.path(), dataset_spec("kmnist").unwrap()),
            DatasetStatus::Invalid(Error::NotFound { .. })
        ));
    }

    #[test]
    fn checksum_is_verified_unless_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mnist = dir.path().join("mnist");
        std::fs::create_dir(&mnist).unwrap();
        std::fs::write(mnist.join("t10k-images-idx3-ubyte"), idx_images(2, 28, 28)).unwrap();
        std::fs::write(mnist.join("t10k-labels-idx1-ubyte"), idx_labels(&[4, 5])).unwrap();
        let err = load(dir.path(), "mnist", Split::Test, ChecksumPolicy::Verify).unwrap_err();
        match &err {
            Error::Checksum { path, expected, .. } => {
                assert_eq!(path, &mnist.join("t10k-images-idx3-ubyte"));
                assert_eq!(expected, "2646ac647ad5339dbf082846283269ea");
            }
            other => panic!("expected a checksum error, found {other:?}"),
        }
        let test = load(dir.path(), "mnist", Split::Test, ChecksumPolicy::Skip).unwrap();
        assert_eq!(test.labels(), &[4, 5]);
    }

    #[test]
    fn wrong_image_size_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        fake_kmnist(dir.path());
        std::fs::write(
            dir.path().join("kmnist/t10k-images-idx3-ubyte"),
            idx_images(2, 32, 32),
        )
        .unwrap();
        let msg = load(dir.path(), "kmnist", Split::Test, ChecksumPolicy::Verify)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("expected kmnist images of 1x28x28, found 1x32x32"),
            "{msg}"
        );
    }

    #[test]
    fn cifar10_loads_from_the_extracted_folder_or_directly() {
        for sub in ["cifar10/cifar-10-batches-bin", "cifar10"] {
            let dir = tempfile::tempdir().unwrap();
            let batches = dir.path().join(sub);
            std::fs::create_dir_all(&batches).unwrap();
            for k in 1..=5 {
                std::fs::write(
                    batches.join(format!("data_batch_{k}.bin")),
                    cifar_batch(&[k]),
                )
                .unwrap();
            }
            std::fs::write(batches.join("test_batch.bin"), cifar_batch(&[7, 8])).unwrap();
            let train = load(dir.path(), "cifar10", Split::Train, ChecksumPolicy::Verify).unwrap();
            assert_eq!(train.shape(), [5, 3, 32, 32]);
            assert_eq!(train.labels(), &[1, 2, 3, 4, 5]);
            let test = load(dir.path(), "cifar10", Split::Test, ChecksumPolicy::Verify).unwrap();
            assert_eq!(test.labels(), &[7, 8]);
        }
    }
}

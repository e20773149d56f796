//! The dataset catalogue: for each dataset gped knows (the paper's MNIST and CIFAR-10, plus
//! Fashion-MNIST and KMNIST as out-of-distribution sets), its folder under the data directory,
//! its files per split, their published checksums, and where to download it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A dataset split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split: D, and the inputs of the distillation pool D'.
    Train,
    /// The test split, used only for evaluation.
    Test,
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Split::Train => "train",
            Split::Test => "test",
        })
    }
}

/// How a dataset's files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetFormat {
    /// IDX images and labels files (MNIST family), raw or gzipped.
    Idx,
    /// CIFAR-10 binary batches.
    Cifar10Binary,
}

/// What one file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// An IDX images file.
    Images,
    /// An IDX labels file.
    Labels,
    /// A CIFAR-10 batch of labelled images.
    Batch,
}

/// One file of a dataset, named as stored once decompressed (`name` or `name.gz` on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec {
    pub name: &'static str,
    pub split: Split,
    pub role: FileRole,
    /// Published MD5 of the decompressed content, when known with certainty.
    pub md5: Option<&'static str>,
}

/// Where a dataset is downloaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    /// Each file is fetched gzipped as `mirror + name + ".gz"`.
    GzFiles { mirror: &'static str },
    /// One gzipped tar archive, `mirror + archive`, holds all files.
    Tarball {
        mirror: &'static str,
        archive: &'static str,
    },
}

/// A dataset of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetSpec {
    /// Name on the command line and folder under the data directory.
    pub name: &'static str,
    pub format: DatasetFormat,
    pub num_classes: usize,
    /// `[channels, height, width]` of one image.
    pub image_shape: [usize; 3],
    pub files: &'static [FileSpec],
    pub download: Download,
}

impl DatasetSpec {
    /// The dataset's folder under `data_dir`.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.name)
    }

    /// The folder the dataset's files are read from: its folder, or for CIFAR-10 the
    /// `cifar-10-batches-bin` folder in it when there is one.
    pub fn files_dir(&self, data_dir: &Path) -> PathBuf {
        match self.format {
            DatasetFormat::Idx => self.dir(data_dir),
            DatasetFormat::Cifar10Binary => super::cifar::batches_dir(&self.dir(data_dir)),
        }
    }

    /// The folder a fetch writes the dataset's files into (and where to put them by hand):
    /// its folder, or for CIFAR-10 `cifar-10-batches-bin` in it, as the archive holds them.
    pub fn fetch_dir(&self, data_dir: &Path) -> PathBuf {
        match self.format {
            DatasetFormat::Idx => self.dir(data_dir),
            DatasetFormat::Cifar10Binary => self.dir(data_dir).join("cifar-10-batches-bin"),
        }
    }

    /// The files of `split`, in reading order.
    pub fn split_files(&self, split: Split) -> impl Iterator<Item = &FileSpec> {
        self.files.iter().filter(move |f| f.split == split)
    }

    /// Whether every file has a published checksum.
    pub fn fully_checksummed(&self) -> bool {
        self.files.iter().all(|f| f.md5.is_some())
    }
}

const fn idx_file(
    name: &'static str,
    split: Split,
    role: FileRole,
    md5: Option<&'static str>,
) -> FileSpec {
    FileSpec {
        name,
        split,
        role,
        md5,
    }
}

/// The four standard IDX files, with the MD5s of train images, train labels, test images and
/// test labels.
const fn idx_files(md5: [Option<&'static str>; 4]) -> [FileSpec; 4] {
    [
        idx_file(
            "train-images-idx3-ubyte",
            Split::Train,
            FileRole::Images,
            md5[0],
        ),
        idx_file(
            "train-labels-idx1-ubyte",
            Split::Train,
            FileRole::Labels,
            md5[1],
        ),
        idx_file(
            "t10k-images-idx3-ubyte",
            Split::Test,
            FileRole::Images,
            md5[2],
        ),
        idx_file(
            "t10k-labels-idx1-ubyte",
            Split::Test,
            FileRole::Labels,
            md5[3],
        ),
    ]
}

// MD5s of the decompressed files as published with the datasets (and listed in
// shared/data/README.md); checked against the copies in shared/data.
const MNIST_FILES: [FileSpec; 4] = idx_files([
    Some("6bbc9ace898e44ae57da46a324031adb"),
    Some("a25bea736e30d166cdddb491f175f624"),
    Some("2646ac647ad5339dbf082846283269ea"),
    Some("27ae3e4e09519cfbb04c329615203637"),
]);
const FASHION_MNIST_FILES: [FileSpec; 4] = idx_files([
    Some("f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    Some("9018921c3c673c538a1fc5bad174d6f9"),
    Some("8181f5470baa50b63fa0f6fddb340f0a"),
    Some("15d484375f8d13e6eb1aabb0c3f46965"),
]);
// No copy of KMNIST is at hand to confirm checksums of its decompressed files, so none are
// claimed; its files are still checked for format after download and on load.
const KMNIST_FILES: [FileSpec; 4] = idx_files([None; 4]);

const fn cifar_batch(name: &'static str, split: Split) -> FileSpec {
    FileSpec {
        name,
        split,
        role: FileRole::Batch,
        md5: None,
    }
}
const CIFAR10_FILES: [FileSpec; 6] = [
    cifar_batch("data_batch_1.bin", Split::Train),
    cifar_batch("data_batch_2.bin", Split::Train),
    cifar_batch("data_batch_3.bin", Split::Train),
    cifar_batch("data_batch_4.bin", Split::Train),
    cifar_batch("data_batch_5.bin", Split::Train),
    cifar_batch("test_batch.bin", Split::Test),
];

/// Every dataset gped can load and fetch. Mirrors are torchvision's.
pub const CATALOGUE: [DatasetSpec; 4] = [
    DatasetSpec {
        name: "mnist",
        format: DatasetFormat::Idx,
        num_classes: 10,
        image_shape: [1, 28, 28],
        files: &MNIST_FILES,
        download: Download::GzFiles {
            mirror: "https://ossci-datasets.s3.amazonaws.com/mnist/",
        },
    },
    DatasetSpec {
        name: "fashion-mnist",
        format: DatasetFormat::Idx,
        num_classes: 10,
        image_shape: [1, 28, 28],
        files: &FASHION_MNIST_FILES,
        download: Download::GzFiles {
            mirror: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        },
    },
    DatasetSpec {
        name: "kmnist",
        format: DatasetFormat::Idx,
        num_classes: 10,
        image_shape: [1, 28, 28],
        files: &KMNIST_FILES,
        download: Download::GzFiles {
            mirror: "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        },
    },
    DatasetSpec {
        name: "cifar10",
        format: DatasetFormat::Cifar10Binary,
        num_classes: 10,
        image_shape: [3, 32, 32],
        files: &CIFAR10_FILES,
        download: Download::Tarball {
            mirror: "https://www.cs.toronto.edu/~kriz/",
            archive: "cifar-10-binary.tar.gz",
        },
    },
];

/// The catalogue entry named `name`.
pub fn dataset_spec(name: &str) -> Result<&'static DatasetSpec> {
    CATALOGUE.iter().find(|s| s.name == name).ok_or_else(|| {
        let known: Vec<_> = CATALOGUE.iter().map(|s| s.name).collect();
        Error::InvalidArgument(format!(
            "unknown dataset `{name}`; known datasets: {}",
            known.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_name() {
        assert_eq!(dataset_spec("fashion-mnist").unwrap().name, "fashion-mnist");
        let msg = dataset_spec("svhn").unwrap_err().to_string();
        assert!(msg.contains("unknown dataset `svhn`"), "{msg}");
        assert!(
            msg.contains("mnist, fashion-mnist, kmnist, cifar10"),
            "{msg}"
        );
    }

    #[test]
    fn every_dataset_has_files_for_both_splits_and_valid_checksums() {
        for spec in &CATALOGUE {
            assert!(spec.split_files(Split::Train).count() > 0, "{}", spec.name);
            assert!(spec.split_files(Split::Test).count() > 0, "{}", spec.name);
            for f in spec.files {
                if let Some(md5) = f.md5 {
                    assert_eq!(md5.len(), 32, "{}", f.name);
                    assert!(md5.bytes().all(|b| b.is_ascii_hexdigit()), "{}", f.name);
                }
            }
        }
        assert!(dataset_spec("mnist").unwrap().fully_checksummed());
        assert!(!dataset_spec("kmnist").unwrap().fully_checksummed());
    }
}

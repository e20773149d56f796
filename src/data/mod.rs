//! Datasets and the data manipulations of the paper: reading MNIST-family IDX files and
//! CIFAR-10 binary batches, checking and fetching them, the occlusion of appendix A.1, the
//! teacher's training subset D and its minibatches, and the distillation pool D'; and the
//! generated two-moons points of `gped demo`.

mod batches;
mod catalog;
mod checksum;
mod cifar;
mod dataset;
mod fetch;
mod folder;
mod idx;
mod load;
mod locate;
mod moons;
mod occlusion;
mod pool;
mod source;
mod subset;
mod tarball;
mod test_split;

pub use batches::EpochSampler;
pub use catalog::{
    CATALOGUE, DatasetFormat, DatasetSpec, Download, FileRole, FileSpec, Split, dataset_spec,
};
pub use checksum::{ChecksumPolicy, md5_hex, verify_md5};
pub use cifar::{
    CIFAR10_CLASSES, CIFAR10_IMAGE_SHAPE, CIFAR10_RECORD_LEN, batches_dir, parse_batch,
    read_batches,
};
pub use dataset::Dataset;
pub use fetch::{FetchReport, fetch, fetch_spec};
pub use folder::{IDX_TEST_IMAGES, load_idx_images_folder};
pub use idx::{
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, dataset_from_parts, parse_images, parse_labels,
    read_dataset,
};
pub use load::{DatasetStatus, check_dataset, load, load_spec, validate_content};
pub use locate::{
    DATA_DIR_ENV, DEFAULT_DATA_DIR, MIRROR_ENV, resolve_data_dir, resolve_data_dir_from,
    resolve_mirror,
};
pub use moons::{MOONS_NOISE, PLANE, PlaneSquare, two_moons};
pub use occlusion::{OcclusionSquares, occlude, occlusion_rate};
pub use pool::{DistillPool, InputNoise, NO_SLOT};
pub use source::{decompress_if_gzipped, find_file, read_decompressed};
pub use subset::teacher_subset;
pub use test_split::{checksum_policy, occluded_test_set, run_split};

pub use source::MAX_DECOMPRESSED_LEN;

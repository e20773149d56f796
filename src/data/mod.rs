//! Datasets and the data manipulations of the paper: reading MNIST-family IDX files and
//! CIFAR-10 binary batches, checking them, fetching them (by hand, or when a command finds
//! files it reads missing), the occlusion of appendix A.1, the teacher's training subset D and
//! its minibatches, the distillation pool D', pictures (PNG, JPEG) read for prediction, and
//! the generated two-moons points of `gped demo`.

mod batches;
mod catalog;
mod checksum;
mod cifar;
mod dataset;
mod ensure;
mod fetch;
mod folder;
mod http;
mod idx;
mod load;
mod locate;
mod missing;
mod moons;
mod needs;
mod occlusion;
mod picture;
mod pool;
mod progress;
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
pub use ensure::{DataAccess, ensure, ensure_eval_data, ensure_run_data};
pub use fetch::{FetchOptions, FetchReport, fetch, fetch_files, fetch_spec, mirror_base};
pub use folder::{IDX_TEST_IMAGES, load_idx_images_folder};
pub use http::{DEFAULT_FETCH_TIMEOUT, FETCH_TIMEOUT_ENV, fetch_timeout};
pub use idx::{
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxImages, dataset_from_parts, parse_images, parse_labels,
    read_dataset,
};
pub use load::{DatasetStatus, check_dataset, load, load_spec, validate_content};
pub use locate::{
    DATA_DIR_ENV, DEFAULT_DATA_DIR, MIRROR_ENV, absolute_data_dir, resolve_data_dir,
    resolve_data_dir_from, resolve_mirror, resolve_run_data_dir, resolve_run_data_dir_from,
};
pub use missing::{Blocked, missing_data_error};
pub use moons::{MOONS_NOISE, PLANE, PlaneSquare, two_moons};
pub use needs::{BOTH_SPLITS, Need, Shortfall, TEST_SPLIT, eval_needs, run_needs, shortfalls};
pub use occlusion::{OcclusionSquares, occlude, occlusion_rate};
pub use picture::{PICTURE_EXTENSIONS, decode_picture, is_picture, list_pictures};
pub use pool::{DistillPool, InputNoise, NO_SLOT};
pub use progress::Progress;
pub use source::{decompress_if_gzipped, find_file, read_decompressed};
pub use subset::teacher_subset;
pub use test_split::{checksum_policy, occluded_test_set, run_split};

pub use source::MAX_DECOMPRESSED_LEN;

//! The splits of a run's dataset exactly as `gped run` makes them: read from the data folder,
//! or generated from the config's seed (`two-moons`); and the occluded test split, whose
//! occlusion squares depend only on the config's seed and mask size, so that `gped eval`
//! rebuilds the same split without the training data.

use super::catalog::Split;
use super::checksum::ChecksumPolicy;
use super::dataset::Dataset;
use super::load::load;
use super::moons::two_moons;
use super::occlusion::occlude;
use crate::Result;
use crate::base::seeds;
use crate::config::{DatasetName, ValidConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::Path;

/// Split `split` of the dataset of `cfg`, unoccluded: for `two-moons`, the dataset's train or
/// test size of points generated from the config's seed (each split from its own stream, and
/// `data_dir` unused); else loaded from `data_dir`.
pub fn run_split(cfg: &ValidConfig, data_dir: &Path, split: Split) -> Result<Dataset> {
    let name = cfg.data.dataset;
    match name {
        DatasetName::TwoMoons => {
            let info = name.info();
            let (n, stream) = match split {
                Split::Train => (info.train_size, "two-moons-train"),
                Split::Test => (info.test_size, "two-moons-test"),
            };
            two_moons(n, seeds::derive(cfg.seed, stream))
        }
        _ => load(data_dir, name.as_str(), split, checksum_policy(cfg)),
    }
}

/// The occluded test split of `cfg`, exactly as `gped run` builds it (its occlusion squares
/// depend only on the seed and the mask size), without loading the training split.
pub fn occluded_test_set(cfg: &ValidConfig, data_dir: &Path) -> Result<Dataset> {
    let mut test = run_split(cfg, data_dir, Split::Test)?;
    occlude(
        &mut test,
        cfg.data.mask_size,
        &mut StdRng::seed_from_u64(seeds::derive(cfg.seed, "occlusion-test")),
    )?;
    Ok(test)
}

/// Whether `cfg` asks for the dataset files' checksums to be verified.
pub fn checksum_policy(cfg: &ValidConfig) -> ChecksumPolicy {
    if cfg.data.verify_checksums {
        ChecksumPolicy::Verify
    } else {
        ChecksumPolicy::Skip
    }
}

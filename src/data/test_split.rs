//! The occluded test split of a run, exactly as `gped run` made it: its occlusion squares
//! depend only on the config's seed and mask size, so `gped eval` rebuilds the same split
//! without the training data.

use super::catalog::Split;
use super::checksum::ChecksumPolicy;
use super::dataset::Dataset;
use super::load::load;
use super::occlusion::occlude;
use crate::Result;
use crate::base::seeds;
use crate::config::ValidConfig;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::Path;

/// The occluded test split of `cfg`, exactly as `gped run` builds it (its occlusion squares
/// depend only on the seed and the mask size), without loading the training split.
pub fn occluded_test_set(cfg: &ValidConfig, data_dir: &Path) -> Result<Dataset> {
    let mut test = load(
        data_dir,
        cfg.data.dataset.as_str(),
        Split::Test,
        checksum_policy(cfg),
    )?;
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

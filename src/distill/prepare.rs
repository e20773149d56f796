//! The data of a run, fixed before training as in the paper: the training split with one
//! random m x m occlusion square per image (the distillation pool D' is all of it), the
//! teacher's seeded subset D of n examples, the occluded test split, and an optional
//! out-of-distribution test set.

use super::seeds;
use crate::Result;
use crate::config::ValidConfig;
use crate::data::{ChecksumPolicy, Dataset, Split, load, occlude, teacher_subset};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::path::Path;

/// Everything a run reads.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The occluded training split: the pool D', and the source of the teacher's data.
    pub train: Dataset,
    /// Indices into `train` of the teacher's training set D (|D| = N).
    pub teacher_indices: Vec<usize>,
    /// The occluded test split.
    pub test: Dataset,
    /// The out-of-distribution test split, unoccluded, when configured.
    pub ood: Option<Dataset>,
}

/// Loads and prepares the data of `cfg` from `data_dir`.
pub fn prepare(cfg: &ValidConfig, data_dir: &Path) -> Result<RunData> {
    let policy = if cfg.data.verify_checksums {
        ChecksumPolicy::Verify
    } else {
        ChecksumPolicy::Skip
    };
    let name = cfg.data.dataset.as_str();
    let mut train = load(data_dir, name, Split::Train, policy)?;
    let mut test = load(data_dir, name, Split::Test, policy)?;
    let m = cfg.data.mask_size;
    occlude(
        &mut train,
        m,
        &mut StdRng::seed_from_u64(seeds::derive(cfg.seed, "occlusion-train")),
    )?;
    occlude(
        &mut test,
        m,
        &mut StdRng::seed_from_u64(seeds::derive(cfg.seed, "occlusion-test")),
    )?;
    let size = (cfg.data.train_subset > 0).then_some(cfg.data.train_subset);
    let teacher_indices = teacher_subset(
        train.len(),
        size,
        &mut StdRng::seed_from_u64(seeds::derive(cfg.seed, "teacher-subset")),
    )?;
    let ood = match cfg.data.ood {
        Some(ood) => Some(load(data_dir, ood.as_str(), Split::Test, policy)?),
        None => None,
    };
    Ok(RunData {
        train,
        teacher_indices,
        test,
        ood,
    })
}

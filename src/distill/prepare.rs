//! The data of a run, fixed before training as in the paper: the training split with one
//! random m x m occlusion square per image (the distillation pool D' is all of it), the
//! teacher's seeded subset D of n examples, the occluded test split, and an optional
//! out-of-distribution test set. With `data.holdout = k`, k training images drawn at random (seeded) are
//! set aside first, unoccluded, out of D and D': the in-distribution inputs on which the run
//! chooses its OOD threshold.

use crate::base::seeds;
use crate::config::ValidConfig;
use crate::data::{
    Dataset, Split, checksum_policy, load, occlude, occluded_test_set, run_split, teacher_subset,
};
use crate::{Error, Result};
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
    /// The held-out end of the training split (`data.holdout` images, unoccluded), when
    /// configured.
    pub holdout: Option<Dataset>,
}

/// A seeded random split of `0..n` into the indices kept for training and `k` held out, each
/// in increasing order: a random sample, since a dataset's order need not be random (MNIST's
/// training images come from two writer populations).
fn hold_out(n: usize, k: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seeds::derive(seed, "holdout"));
    let mut held = rand::seq::index::sample(&mut rng, n, k).into_vec();
    held.sort_unstable();
    let mut is_held = vec![false; n];
    held.iter().for_each(|&i| is_held[i] = true);
    let kept = (0..n).filter(|&i| !is_held[i]).collect();
    (kept, held)
}

/// Loads (or, for `two-moons`, generates) and prepares the data of `cfg` from `data_dir`.
pub fn prepare(cfg: &ValidConfig, data_dir: &Path) -> Result<RunData> {
    let policy = checksum_policy(cfg);
    let mut train = run_split(cfg, data_dir, Split::Train)?;
    let holdout = match cfg.data.holdout {
        0 => None,
        k if 2 * k > train.len() => {
            // The config check bounds it by the catalogue's size; a data folder may hold fewer.
            return Err(Error::config(
                "data.holdout",
                format!(
                    "must be <= half the {} examples of the {} training split in {}, found {k}",
                    train.len(),
                    cfg.data.dataset,
                    data_dir.display()
                ),
            ));
        }
        k => {
            let (kept, held) = hold_out(train.len(), k, cfg.seed);
            let holdout = train.subset(&held)?;
            train = train.subset(&kept)?;
            Some(holdout)
        }
    };
    occlude(
        &mut train,
        cfg.data.mask_size,
        &mut StdRng::seed_from_u64(seeds::derive(cfg.seed, "occlusion-train")),
    )?;
    let test = occluded_test_set(cfg, data_dir)?;
    let size = (cfg.data.train_subset > 0).then_some(cfg.data.train_subset);
    if let Some(size) = size.filter(|&n| n > train.len()) {
        // The config check bounds the subset by the catalogue's size; a data folder may hold
        // fewer examples than that.
        return Err(Error::config(
            "data.train_subset",
            format!(
                "must be <= the {} examples of the {} training split in {}, found {size}",
                train.len(),
                cfg.data.dataset,
                data_dir.display()
            ),
        ));
    }
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
        holdout,
    })
}

#[cfg(test)]
mod tests {
    use super::hold_out;

    #[test]
    fn the_holdout_is_a_seeded_random_sample_apart_from_the_rest() {
        let (kept, held) = hold_out(1000, 100, 7);
        assert_eq!((kept.len(), held.len()), (100 * 9, 100));
        let mut all: Vec<usize> = kept.iter().chain(&held).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>(), "a partition of 0..n");
        assert!(held.windows(2).all(|w| w[0] < w[1]));
        // Spread over the whole range, not the end: a uniform sample of 100 puts about 50 in
        // each half (binomial, sd 5).
        let low = held.iter().filter(|&&i| i < 500).count();
        assert!((35..=65).contains(&low), "{low}");
        assert_eq!(hold_out(1000, 100, 7), (kept, held.clone()));
        assert_ne!(hold_out(1000, 100, 8).1, held);
    }
}

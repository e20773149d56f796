//! The teacher's training set D as a random subset of the training split (appendix A.1-A.2:
//! 10k, 20k, 30k or 60k MNIST examples, 10k, 20k or 50k CIFAR-10 examples), drawn once without
//! replacement. The distillation pool D' keeps all training inputs whatever the subset.

use rand::Rng;
use rand::seq::index;

use crate::{Error, Result};

/// Indices of a random subset of `size` examples out of `total`, without replacement, sorted
/// increasingly; `None` (or `size == total`) keeps all `0..total` without using `rng`.
pub fn teacher_subset(total: usize, size: Option<usize>, rng: &mut impl Rng) -> Result<Vec<usize>> {
    match size {
        None => Ok((0..total).collect()),
        Some(size) if size == total => Ok((0..total).collect()),
        Some(size) if size == 0 || size > total => Err(Error::InvalidArgument(format!(
            "teacher subset of {size} examples: expected between 1 and {total}, the size of \
             the training split"
        ))),
        Some(size) => {
            let mut indices = index::sample(rng, total, size).into_vec();
            indices.sort_unstable();
            Ok(indices)
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn subset_is_distinct_in_range_and_reproducible() {
        let a = teacher_subset(1000, Some(300), &mut StdRng::seed_from_u64(5)).unwrap();
        assert_eq!(a.len(), 300);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert!(a.iter().all(|&i| i < 1000));
        let b = teacher_subset(1000, Some(300), &mut StdRng::seed_from_u64(5)).unwrap();
        assert_eq!(a, b);
        let c = teacher_subset(1000, Some(300), &mut StdRng::seed_from_u64(6)).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn subset_is_spread_over_the_whole_range() {
        // A uniform draw of 5000 of 10000 puts about 2500 in each half.
        let a = teacher_subset(10_000, Some(5000), &mut StdRng::seed_from_u64(9)).unwrap();
        let low = a.iter().filter(|&&i| i < 5000).count();
        assert!((2300..2700).contains(&low), "{low}");
    }

    #[test]
    fn all_is_the_identity() {
        let all: Vec<usize> = (0..10).collect();
        assert_eq!(
            teacher_subset(10, None, &mut StdRng::seed_from_u64(0)).unwrap(),
            all
        );
        assert_eq!(
            teacher_subset(10, Some(10), &mut StdRng::seed_from_u64(0)).unwrap(),
            all
        );
    }

    #[test]
    fn sizes_out_of_range_are_rejected() {
        let msg = teacher_subset(10, Some(11), &mut StdRng::seed_from_u64(0))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("subset of 11 examples: expected between 1 and 10"),
            "{msg}"
        );
        assert!(teacher_subset(10, Some(0), &mut StdRng::seed_from_u64(0)).is_err());
    }
}

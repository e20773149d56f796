//! The teacher's minibatches S of Algorithm 1: shuffled epochs over D, without replacement
//! within an epoch. Every batch has exactly M examples: a batch that runs past the end of an
//! epoch is completed from the next, freshly shuffled, epoch. Images and labels of a batch are
//! copied into caller buffers with [`Dataset::gather_images`] and [`Dataset::gather_labels`].
//!
//! [`Dataset::gather_images`]: super::dataset::Dataset::gather_images
//! [`Dataset::gather_labels`]: super::dataset::Dataset::gather_labels

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::{Error, Result};

/// An endless stream of example indices in shuffled epochs, with its own seeded RNG (so that
/// the batch order does not depend on how much randomness other parts of a run consume).
#[derive(Debug, Clone)]
pub struct EpochSampler {
    order: Vec<usize>,
    next: usize,
    epochs_completed: u64,
    rng: StdRng,
}

impl EpochSampler {
    /// A sampler over `indices` (e.g. the teacher subset of the training split), shuffled by an
    /// RNG seeded with `seed`. The stream is reproducible for a given seed and rand version.
    pub fn new(indices: Vec<usize>, seed: u64) -> Result<Self> {
        if indices.is_empty() {
            return Err(Error::InvalidArgument(
                "epoch sampler over an empty set of examples".into(),
            ));
        }
        let mut sampler = EpochSampler {
            order: indices,
            next: 0,
            epochs_completed: 0,
            rng: StdRng::seed_from_u64(seed),
        };
        sampler.order.shuffle(&mut sampler.rng);
        Ok(sampler)
    }

    /// Number of examples in one epoch.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Always false: a sampler is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Number of epochs fully drawn so far.
    pub fn epochs_completed(&self) -> u64 {
        self.epochs_completed
    }

    /// Writes the next `out.len()` indices of the stream into `out`, reshuffling whenever an
    /// epoch ends. Allocates nothing.
    pub fn next_batch(&mut self, out: &mut [usize]) {
        let mut filled = 0;
        while filled < out.len() {
            let take = (out.len() - filled).min(self.order.len() - self.next);
            out[filled..filled + take].copy_from_slice(&self.order[self.next..self.next + take]);
            self.next += take;
            filled += take;
            if self.next == self.order.len() {
                self.start_epoch();
            }
        }
    }

    /// Ends the current epoch, as soon as its last index is drawn, and shuffles the next.
    fn start_epoch(&mut self) {
        self.order.shuffle(&mut self.rng);
        self.next = 0;
        self.epochs_completed += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<usize>) -> Vec<usize> {
        v.sort_unstable();
        v
    }

    #[test]
    fn each_epoch_covers_every_index_exactly_once() {
        // 10 examples, batches of 4: the stream is a concatenation of permutations of the
        // indices, cut into batches regardless of epoch boundaries.
        let indices = vec![3, 14, 15, 92, 65, 35, 89, 79, 32, 38];
        let mut sampler = EpochSampler::new(indices.clone(), 1).unwrap();
        let mut stream = Vec::new();
        let mut batch = [0; 4];
        for _ in 0..10 {
            sampler.next_batch(&mut batch);
            stream.extend_from_slice(&batch);
        }
        assert_eq!(stream.len(), 40);
        assert_eq!(sampler.epochs_completed(), 4);
        for epoch in stream.chunks(10) {
            assert_eq!(sorted(epoch.to_vec()), sorted(indices.clone()));
        }
        // The epochs are shuffled differently.
        assert_ne!(stream[0..10], stream[10..20]);
    }

    #[test]
    fn divisible_epoch_is_covered_by_whole_batches() {
        let mut sampler = EpochSampler::new((0..12).collect(), 2).unwrap();
        let mut seen = Vec::new();
        let mut batch = [0; 3];
        for _ in 0..4 {
            sampler.next_batch(&mut batch);
            seen.extend_from_slice(&batch);
        }
        assert_eq!(sorted(seen), (0..12).collect::<Vec<_>>());
        assert_eq!(sampler.epochs_completed(), 1);
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let stream = |seed| {
            let mut sampler = EpochSampler::new((0..50).collect(), seed).unwrap();
            let mut batch = vec![0; 7];
            (0..20)
                .flat_map(|_| {
                    sampler.next_batch(&mut batch);
                    batch.clone()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(stream(9), stream(9));
        assert_ne!(stream(9), stream(10));
    }

    #[test]
    fn empty_index_set_is_rejected() {
        assert!(EpochSampler::new(Vec::new(), 0).is_err());
    }
}

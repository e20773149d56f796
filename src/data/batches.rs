//! The teacher's minibatches S of Algorithm 1: shuffled epochs over D, without replacement
//! within an epoch. Every batch has exactly M examples: a batch that runs past the end of an
//! epoch is completed from the next, freshly shuffled, epoch. Images and labels of a batch are
//! copied into caller buffers with [`Dataset::gather_images`] and [`Dataset::gather_labels`].
//! Epoch e's order is a shuffle of the index set by an RNG seeded from (seed, e), so the
//! sampler's whole state is two counters: a checkpoint resumes the stream exactly.
//!
//! [`Dataset::gather_images`]: super::dataset::Dataset::gather_images
//! [`Dataset::gather_labels`]: super::dataset::Dataset::gather_labels

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use crate::base::{StateReader, StateWriter, Stateful};
use crate::{Error, Result};

/// An endless stream of example indices in shuffled epochs, from its own seed (so that the
/// batch order does not depend on how much randomness other parts of a run consume).
#[derive(Debug, Clone)]
pub struct EpochSampler {
    /// The index set in its given order; each epoch shuffles a copy of it.
    indices: Vec<usize>,
    /// The current epoch's order.
    order: Vec<usize>,
    next: usize,
    epochs_completed: u64,
    seed: u64,
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
            order: indices.clone(),
            indices,
            next: 0,
            epochs_completed: 0,
            seed,
        };
        sampler.shuffle_epoch();
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
        self.next = 0;
        self.epochs_completed += 1;
        self.shuffle_epoch();
    }

    /// Sets `order` to the shuffle of epoch `epochs_completed`.
    fn shuffle_epoch(&mut self) {
        // The golden-ratio multiple spreads consecutive epochs over the seed space.
        let epoch = self.epochs_completed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = StdRng::seed_from_u64(self.seed ^ epoch);
        self.order.copy_from_slice(&self.indices);
        self.order.shuffle(&mut rng);
    }
}

impl Stateful for EpochSampler {
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.scalar(&format!("{prefix}epochs_completed"), self.epochs_completed);
        out.scalar(&format!("{prefix}next"), self.next);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        let name = format!("{prefix}next");
        let next: usize = state.scalar(&name)?;
        if next >= self.len() {
            return Err(Error::format(
                state.path(),
                "gped checkpoint",
                format!(
                    "scalar `{name}`: expected a position below the epoch length {}, found {next}",
                    self.len()
                ),
            ));
        }
        self.epochs_completed = state.scalar(&format!("{prefix}epochs_completed"))?;
        self.next = next;
        self.shuffle_epoch();
        Ok(())
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
    fn restored_sampler_continues_the_same_stream() {
        let mut a = EpochSampler::new((0..23).collect(), 4).unwrap();
        let mut batch = vec![0; 5];
        for _ in 0..7 {
            a.next_batch(&mut batch);
        }
        let mut w = StateWriter::new();
        a.save_state("s/", &mut w);
        let bytes = w.to_bytes().unwrap();
        let state = StateReader::parse(&bytes, std::path::Path::new("ck")).unwrap();
        let mut b = EpochSampler::new((0..23).collect(), 4).unwrap();
        b.load_state("s/", &state).unwrap();
        let mut other = vec![0; 5];
        for _ in 0..20 {
            a.next_batch(&mut batch);
            b.next_batch(&mut other);
            assert_eq!(batch, other);
        }
        // A position past the epoch is refused.
        let mut w = StateWriter::new();
        w.scalar("s/next", 23);
        w.scalar("s/epochs_completed", 0);
        let bytes = w.to_bytes().unwrap();
        let state = StateReader::parse(&bytes, std::path::Path::new("ck")).unwrap();
        let e = b.load_state("s/", &state).unwrap_err().to_string();
        assert!(e.contains("s/next") && e.contains("23"), "{e}");
    }

    #[test]
    fn empty_index_set_is_rejected() {
        assert!(EpochSampler::new(Vec::new(), 0).is_err());
    }
}

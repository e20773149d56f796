//! Estimators of a posterior expectation at a distillation input x_i (Algorithm 1's U):
//! U_s (Eq. 9) passes the current sample's value g(x_i, theta_t); U_o (Eq. 10) keeps the
//! running mean over the samples seen at x_i, one slot per pool index (memory linear in |D'|).

use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::data::NO_SLOT;

/// Turns the current sample's values at a batch of pool inputs into the student's targets.
/// Its memory (if any) is saved in checkpoints.
pub trait Estimator: Send + Stateful {
    /// `indices` are the pool indices of the batch, `values` the current sample's
    /// `[batch, value_width]` values of g, and `targets` receives the `[batch, width]`
    /// estimates (the widths differ only for the mutual information).
    fn update(&mut self, indices: &[usize], values: &[f32], targets: &mut [f32]);
}

/// U_s (Eq. 9): the current sample's value, no memory.
#[derive(Debug, Default, Clone)]
pub struct CurrentSample;

impl Estimator for CurrentSample {
    fn update(&mut self, _indices: &[usize], values: &[f32], targets: &mut [f32]) {
        targets.copy_from_slice(values);
    }
}

/// U_o (Eq. 10): g_hat_i <- (m_i g_hat_i + g(x_i, theta_t)) / (m_i + 1); m_i <- m_i + 1.
#[derive(Debug, Clone)]
pub struct RunningMean {
    width: usize,
    /// `[pool_size, width]` running means.
    means: Vec<f32>,
    /// Samples seen per pool index.
    counts: Vec<u32>,
}

impl RunningMean {
    /// Slots for a pool of `pool_size` inputs with `width` values each.
    pub fn new(pool_size: usize, width: usize) -> Self {
        RunningMean {
            width,
            means: vec![0.0; pool_size * width],
            counts: vec![0; pool_size],
        }
    }

    /// How many samples have been averaged at pool index `i`.
    pub fn count(&self, i: usize) -> u32 {
        self.counts[i]
    }

    /// The running mean at pool index `i`.
    pub fn mean(&self, i: usize) -> &[f32] {
        &self.means[i * self.width..(i + 1) * self.width]
    }
}

impl Estimator for RunningMean {
    fn update(&mut self, indices: &[usize], values: &[f32], targets: &mut [f32]) {
        let w = self.width;
        for (b, &i) in indices.iter().enumerate() {
            if i == NO_SLOT {
                // A mixup input has no memory: the current sample's value (U_s).
                targets[b * w..(b + 1) * w].copy_from_slice(&values[b * w..(b + 1) * w]);
                continue;
            }
            let m = self.counts[i] as f32;
            let slot = &mut self.means[i * w..(i + 1) * w];
            for ((mean, &g), out) in slot
                .iter_mut()
                .zip(&values[b * w..(b + 1) * w])
                .zip(&mut targets[b * w..(b + 1) * w])
            {
                *mean = (m * *mean + g) / (m + 1.0);
                *out = *mean;
            }
            self.counts[i] += 1;
        }
    }
}

impl Stateful for CurrentSample {
    fn save_state(&self, _prefix: &str, _out: &mut StateWriter) {}

    fn load_state(&mut self, _prefix: &str, _state: &StateReader) -> Result<()> {
        Ok(())
    }
}

impl Stateful for RunningMean {
    /// The running means `[pool_size, width]` and the counts m_i.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.f32s(&format!("{prefix}means"), &self.means);
        out.u32s(&format!("{prefix}counts"), &self.counts);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        state.f32s_into(&format!("{prefix}means"), &mut self.means)?;
        state.u32s_into(&format!("{prefix}counts"), &mut self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_sample_passes_values_through() {
        let mut u = CurrentSample;
        let mut out = [0.0; 4];
        u.update(&[3, 1], &[0.1, 0.9, 0.5, 0.5], &mut out);
        assert_eq!(out, [0.1, 0.9, 0.5, 0.5]);
    }

    #[test]
    fn running_mean_is_the_exact_mean_of_values_fed_at_each_index() {
        // Feed index 2 the values 1, 2, 6 and index 0 the value 4 (interleaved, repeated in
        // one batch): the means are (1+2+6)/3 = 3 and 4, computed here by summing directly.
        let mut u = RunningMean::new(3, 1);
        let mut out = [0.0; 2];
        u.update(&[2, 0], &[1.0, 4.0], &mut out);
        assert_eq!(out, [1.0, 4.0]);
        u.update(&[2, 2], &[2.0, 6.0], &mut out);
        assert_eq!(out, [1.5, 3.0]);
        assert_eq!(u.mean(2), &[3.0]);
        assert_eq!(u.count(2), 3);
        assert_eq!(u.mean(0), &[4.0]);
        assert_eq!(u.count(1), 0);
    }

    #[test]
    fn running_mean_passes_mixup_inputs_through_without_memory() {
        let mut u = RunningMean::new(2, 1);
        let mut out = [0.0; 2];
        u.update(&[1, NO_SLOT], &[2.0, 5.0], &mut out);
        assert_eq!(out, [2.0, 5.0]);
        u.update(&[NO_SLOT, 1], &[7.0, 4.0], &mut out);
        assert_eq!(out, [7.0, 3.0]);
        assert_eq!((u.count(0), u.count(1)), (0, 2));
    }

    #[test]
    fn running_mean_matches_direct_mean_over_long_random_sequence() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (pool, width) = (5, 3);
        let mut u = RunningMean::new(pool, width);
        let mut sums = vec![0.0f64; pool * width];
        let mut counts = vec![0usize; pool];
        let mut out = vec![0.0; 4 * width];
        for _ in 0..500 {
            let idx: Vec<usize> = (0..4).map(|_| rng.random_range(0..pool)).collect();
            let vals: Vec<f32> = (0..4 * width).map(|_| rng.random::<f32>()).collect();
            u.update(&idx, &vals, &mut out);
            for (b, &i) in idx.iter().enumerate() {
                counts[i] += 1;
                for k in 0..width {
                    sums[i * width + k] += vals[b * width + k] as f64;
                }
            }
        }
        for i in 0..pool {
            for k in 0..width {
                let direct = sums[i * width + k] / counts[i] as f64;
                assert!((u.mean(i)[k] as f64 - direct).abs() < 1e-5, "slot {i},{k}");
            }
        }
    }
}

//! The running-mean estimator of the mutual information (knowledge uncertainty)
//! MI(x) = H[E_theta p(.|x,theta)] - E_theta H[p(.|x,theta)]. MI is no expectation of one
//! sample's value, so U_s cannot estimate it; per pool input this keeps U_o's running means of
//! the sample's probabilities and of their entropy (the row (p_1..p_K, H[p]) of
//! `MutualInformation::value`) and returns H(mean p) - mean H, clamped at 0 against rounding
//! (by Jensen's inequality it is >= 0 for exact means).

use super::entropy;
use super::estimator::{Estimator, RunningMean};
use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};

/// U_o for the mutual information: running means of (p, H[p]) per pool index, target
/// H(mean p) - mean H. A mixup input (no pool slot) gets its one sample's MI, H[p] - H[p] = 0.
#[derive(Debug, Clone)]
pub struct RunningMutualInformation {
    classes: usize,
    means: RunningMean,
    /// `[batch, classes + 1]` means of the current batch.
    scratch: Vec<f32>,
}

impl RunningMutualInformation {
    /// Slots for a pool of `pool_size` inputs and `classes` classes.
    pub fn new(pool_size: usize, classes: usize) -> Self {
        RunningMutualInformation {
            classes,
            means: RunningMean::new(pool_size, classes + 1),
            scratch: Vec::new(),
        }
    }

    /// The running means (p_1..p_K, H[p]) at pool index `i`.
    pub fn mean(&self, i: usize) -> &[f32] {
        self.means.mean(i)
    }

    /// How many samples have been averaged at pool index `i`.
    pub fn count(&self, i: usize) -> u32 {
        self.means.count(i)
    }
}

/// H(mean p) - mean H of one row (mean p_1..p_K, mean H), clamped at 0. The mean H is kept
/// in f32, so one sample's MI is 0 up to its rounding (~1e-8), not exactly.
pub fn mutual_information(row: &[f32]) -> f32 {
    let (p, h) = row.split_at(row.len() - 1);
    (entropy(p) - h[0] as f64).max(0.0) as f32
}

impl Estimator for RunningMutualInformation {
    /// `values` are `[batch, classes + 1]` rows (p, H[p]); `targets` receive `[batch]`.
    fn update(&mut self, indices: &[usize], values: &[f32], targets: &mut [f32]) {
        self.scratch.resize(values.len(), 0.0);
        self.means.update(indices, values, &mut self.scratch);
        for (row, t) in self
            .scratch
            .chunks_exact(self.classes + 1)
            .zip(targets.iter_mut())
        {
            *t = mutual_information(row);
        }
    }
}

impl Stateful for RunningMutualInformation {
    /// The running means `[pool_size, classes + 1]` and the counts m_i (as [`RunningMean`]).
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.means.save_state(prefix, out);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.means.load_state(prefix, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::NO_SLOT;
    use crate::expectation::{MutualInformation, PosteriorExpectation};

    /// Rows (p, H[p]) of the teacher probabilities `probs` `[batch, 2]`.
    fn values(probs: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; probs.len() / 2 * 3];
        MutualInformation { classes: 2 }.value(probs, 2, &mut out);
        out
    }

    /// By hand, natural logs. Index 0 sees p = [0.8, 0.2] then [0.2, 0.8]: mean p = [0.5, 0.5]
    /// with H = ln 2 = 0.693147; each sample has H = -0.8 ln 0.8 - 0.2 ln 0.2
    /// = 0.178515 + 0.321888 = 0.500402; MI = 0.693147 - 0.500402 = 0.192745.
    /// Index 1 sees [1, 0] then [0, 1]: mean [0.5, 0.5], H = ln 2, each H = 0: MI = ln 2.
    /// After one sample each MI is H[p] - H[p] = 0; index 2 sees [0.5, 0.5] twice: MI = 0.
    #[test]
    fn target_is_entropy_of_mean_minus_mean_entropy() {
        let mut u = RunningMutualInformation::new(3, 2);
        let mut out = [9.0; 3];
        u.update(
            &[0, 1, 2],
            &values(&[0.8, 0.2, 1.0, 0.0, 0.5, 0.5]),
            &mut out,
        );
        // H[p] is stored in f32: the difference is 0 up to its rounding.
        assert!(out.iter().all(|v| v.abs() < 1e-6), "{out:?}");
        u.update(
            &[0, 1, 2],
            &values(&[0.2, 0.8, 0.0, 1.0, 0.5, 0.5]),
            &mut out,
        );
        assert!((out[0] - 0.192_745).abs() < 1e-5, "{out:?}");
        assert!((out[1] - std::f32::consts::LN_2).abs() < 1e-6, "{out:?}");
        assert!(out[2].abs() < 1e-6, "{out:?}");
        assert_eq!(u.count(0), 2);
        assert_eq!(&u.mean(1)[..2], &[0.5, 0.5]);
    }

    #[test]
    fn mixup_inputs_get_zero_without_memory() {
        let mut u = RunningMutualInformation::new(1, 2);
        let mut out = [9.0; 2];
        u.update(&[NO_SLOT, 0], &values(&[0.3, 0.7, 1.0, 0.0]), &mut out);
        assert!(out.iter().all(|v| v.abs() < 1e-6), "{out:?}");
        u.update(&[NO_SLOT, 0], &values(&[0.9, 0.1, 0.0, 1.0]), &mut out);
        assert!(out[0].abs() < 1e-6, "{out:?}");
        assert!((out[1] - std::f32::consts::LN_2).abs() < 1e-6);
        assert_eq!(u.count(0), 2);
    }

    /// Saved after two samples and loaded into a fresh estimator, the third sample gives the
    /// same target, bit for bit, as going on without the round trip; a fresh estimator's
    /// target differs, so the test sees whether the state was carried.
    #[test]
    fn state_round_trip_resumes_exactly() {
        let mut a = RunningMutualInformation::new(2, 2);
        let mut out = [0.0; 2];
        a.update(&[0, 1], &values(&[0.8, 0.2, 0.6, 0.4]), &mut out);
        a.update(&[0, 1], &values(&[0.2, 0.8, 0.1, 0.9]), &mut out);
        let mut w = StateWriter::new();
        a.save_state("mi/", &mut w);
        let bytes = w.to_bytes().unwrap();
        let state = StateReader::parse(&bytes, std::path::Path::new("mem")).unwrap();
        let mut b = RunningMutualInformation::new(2, 2);
        b.load_state("mi/", &state).unwrap();
        let third = values(&[1.0, 0.0, 0.3, 0.7]);
        let (mut ta, mut tb, mut fresh) = ([0.0; 2], [0.0; 2], [0.0; 2]);
        a.update(&[0, 1], &third, &mut ta);
        b.update(&[0, 1], &third, &mut tb);
        RunningMutualInformation::new(2, 2).update(&[0, 1], &third, &mut fresh);
        assert_eq!(ta.map(f32::to_bits), tb.map(f32::to_bits));
        assert_ne!(ta, fresh);
        assert_eq!((b.count(0), b.count(1)), (3, 3));
    }
}

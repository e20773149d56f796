//! The decomposition of predictive uncertainty used downstream of GPED (paper, Sec. 3 and
//! Experiment 2): total uncertainty H[E_theta p(y|x,theta)] (the entropy of the posterior
//! predictive) splits into aleatoric uncertainty E_theta H[p(y|x,theta)] (the expected
//! entropy) and knowledge (epistemic) uncertainty, their difference, which is the mutual
//! information I(y; theta | x, D) >= 0 (Jensen's inequality, entropy being concave).
//!
//! The teacher's decomposition comes from its streamed ensemble sums; the students' from one
//! forward pass of the predictive student (total = the entropy of its softmax) and one of the
//! entropy student (aleatoric = its exp output). Being two separate estimates, the students'
//! knowledge uncertainty can come out slightly negative; it is not clipped.
//!
//! A `dirichlet` student (EnD^2) gives all three from one forward pass, in closed form
//! (`dirichlet`).
//!
//! `ood_flag` turns one of these uncertainties into a yes/no out-of-distribution flag with a
//! threshold chosen on held-out in-distribution inputs.

mod dirichlet;
mod ood_flag;

pub use dirichlet::{DirichletUncertainty, dirichlet_uncertainty, expected_predictive};
pub use ood_flag::OodThreshold;

use crate::ensemble::Ensemble;
use crate::expectation::entropy;

/// Per-input uncertainties in nats, each `[n]`. `aleatoric` and `knowledge` are `None` when no
/// expected-entropy estimate is available (a predictive student without an entropy student).
#[derive(Debug, Clone, PartialEq)]
pub struct Uncertainty {
    pub total: Vec<f32>,
    pub aleatoric: Option<Vec<f32>>,
    pub knowledge: Option<Vec<f32>>,
}

impl Uncertainty {
    /// The decomposition of a teacher ensemble: total = H[mean p], aleatoric = mean H[p],
    /// knowledge = their difference, all computed in f64 from the sums.
    pub fn from_ensemble(ensemble: &Ensemble) -> Self {
        let probs = ensemble.mean_probs_f64();
        let aleatoric = ensemble.mean_entropy_f64();
        let total: Vec<f64> = probs
            .chunks_exact(ensemble.classes().max(1))
            .map(entropy_f64)
            .collect();
        let knowledge: Vec<f64> = total.iter().zip(&aleatoric).map(|(t, a)| t - a).collect();
        Uncertainty {
            total: to_f32(&total),
            aleatoric: Some(to_f32(&aleatoric)),
            knowledge: Some(to_f32(&knowledge)),
        }
    }

    /// The decomposition from a predictive distribution `probs` `[n, k]` and, when available,
    /// an estimate of the expected entropy `expected_entropy` `[n]`.
    pub fn from_predictive(probs: &[f32], k: usize, expected_entropy: Option<Vec<f32>>) -> Self {
        let total: Vec<f32> = probs.chunks_exact(k).map(|p| entropy(p) as f32).collect();
        let knowledge = expected_entropy
            .as_ref()
            .map(|a| total.iter().zip(a).map(|(t, a)| t - a).collect());
        Uncertainty {
            total,
            aleatoric: expected_entropy,
            knowledge,
        }
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.total.len()
    }

    /// Whether it covers no input.
    pub fn is_empty(&self) -> bool {
        self.total.is_empty()
    }
}

/// Entropy -sum p ln p of an f64 probability vector, with 0 ln 0 = 0.
fn entropy_f64(p: &[f64]) -> f64 {
    -p.iter()
        .map(|&p| if p > 0.0 { p * p.ln() } else { 0.0 })
        .sum::<f64>()
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A random probability vector of `k` classes, peaked to varying degrees.
    fn random_probs(rng: &mut impl Rng, k: usize) -> Vec<f32> {
        let sharp = rng.random_range(0.1f32..8.0);
        let logits: Vec<f32> = (0..k).map(|_| sharp * rng.random::<f32>()).collect();
        let z: f32 = logits.iter().map(|l| l.exp()).sum();
        logits.iter().map(|l| l.exp() / z).collect()
    }

    #[test]
    fn mutual_information_is_non_negative() {
        // Jensen: H[mean p] >= mean H[p] for any members, so MI >= 0 up to rounding.
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (n, k, members) = (200, 10, 13);
        let mut ens = Ensemble::new(n, k);
        for _ in 0..members {
            let rows: Vec<f32> = (0..n).flat_map(|_| random_probs(&mut rng, k)).collect();
            ens.add_rows(0, &rows);
            ens.finish_sample();
        }
        let u = Uncertainty::from_ensemble(&ens);
        let mi = u.knowledge.unwrap();
        assert!(
            mi.iter().all(|&m| m >= -1e-6),
            "min MI {:?}",
            mi.iter().copied().reduce(f32::min)
        );
        assert!(
            mi.iter().any(|&m| m > 1e-3),
            "random members disagree: some MI must be > 0"
        );
        // total = aleatoric + knowledge by construction, total <= ln k.
        let a = u.aleatoric.unwrap();
        for i in 0..n {
            assert!((u.total[i] - a[i] - mi[i]).abs() < 1e-5);
            assert!(u.total[i] <= (k as f32).ln() + 1e-5);
        }
    }

    #[test]
    fn identical_members_have_zero_mutual_information() {
        // Every member predicts the same p: mean p = p, mean H[p] = H[p], so MI = 0 exactly
        // up to the f64 rounding of summing 7 equal values and dividing by 7.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let (n, k) = (50, 10);
        let rows: Vec<f32> = (0..n).flat_map(|_| random_probs(&mut rng, k)).collect();
        let mut ens = Ensemble::new(n, k);
        for _ in 0..7 {
            ens.add_rows(0, &rows);
            ens.finish_sample();
        }
        let u = Uncertainty::from_ensemble(&ens);
        for (i, &m) in u.knowledge.as_ref().unwrap().iter().enumerate() {
            assert!(m.abs() < 1e-6, "input {i}: MI {m}");
            let h = entropy(&rows[i * k..(i + 1) * k]) as f32;
            assert!((u.total[i] - h).abs() < 1e-6);
        }
    }

    #[test]
    fn two_member_ensemble_by_hand() {
        // Members [1, 0] and [0, 1] on one input: mean p = [1/2, 1/2], total = ln 2, each member
        // has entropy 0, so aleatoric = 0 and all of it is knowledge: MI = ln 2.
        let mut ens = Ensemble::new(1, 2);
        for row in [[1.0, 0.0], [0.0, 1.0]] {
            ens.add_rows(0, &row);
            ens.finish_sample();
        }
        let u = Uncertainty::from_ensemble(&ens);
        let ln2 = 2f32.ln();
        assert!((u.total[0] - ln2).abs() < 1e-7);
        assert_eq!(u.aleatoric.unwrap()[0], 0.0);
        assert!((u.knowledge.unwrap()[0] - ln2).abs() < 1e-7);
    }

    #[test]
    fn student_decomposition_subtracts_the_entropy_output() {
        // Predictive [1/2, 1/2]: total ln 2; entropy student says 0.5: knowledge ln 2 - 0.5.
        let u = Uncertainty::from_predictive(&[0.5, 0.5], 2, Some(vec![0.5]));
        assert!((u.knowledge.unwrap()[0] - (2f32.ln() - 0.5)).abs() < 1e-7);
        let alone = Uncertainty::from_predictive(&[0.5, 0.5], 2, None);
        assert!(alone.aleatoric.is_none() && alone.knowledge.is_none());
    }
}

//! Uncertainty ranking (the paper's Table 4): how well a student orders inputs by uncertainty
//! compared with the teacher. For each of many trials, a random subset of test inputs is ranked
//! by the student's uncertainty and the top k are scored by nDCG@k, the relevance of an input
//! being the teacher's uncertainty value of it.
//!
//! Gain and discount are the standard ones of Järvelin and Kekäläinen ("Cumulated Gain-Based
//! Evaluation of IR Techniques", ACM TOIS 2002), as in scikit-learn's `ndcg_score`: linear gain
//! rel_i and discount 1 / log2(i + 1) for rank i = 1..k, so
//! DCG@k = sum_{i<=k} rel_{pi(i)} / log2(i + 1) with pi the student's order (descending), and
//! nDCG@k = DCG@k / IDCG@k with IDCG@k the DCG of the teacher's own order. Negative
//! relevances (a teacher's mutual information below zero by rounding) count as 0.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

/// Inputs drawn per trial (the paper: 100).
pub const RANKING_INPUTS: usize = 100;
/// Cut-off k of nDCG@k (the paper: 20).
pub const RANKING_K: usize = 20;
/// Trials (the paper: 500).
pub const RANKING_TRIALS: usize = 500;

/// Mean and standard deviation (with n - 1) of nDCG@k over trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NdcgStats {
    pub mean: f64,
    pub std: f64,
}

/// nDCG@k of the order given by `scores` (highest first; ties keep input order) against
/// relevances `relevance`, both `[n]`. An all-zero relevance gives 1 (every order is ideal).
pub fn ndcg_at_k(scores: &[f32], relevance: &[f32], k: usize) -> f64 {
    let gain = |i: usize| f64::from(relevance[i].max(0.0));
    let dcg = |order: &[usize]| -> f64 {
        order
            .iter()
            .take(k)
            .enumerate()
            .map(|(rank, &i)| gain(i) / ((rank + 2) as f64).log2())
            .sum()
    };
    let mut by_student: Vec<usize> = (0..scores.len()).collect();
    by_student.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut ideal: Vec<usize> = (0..relevance.len()).collect();
    ideal.sort_by(|&a, &b| relevance[b].total_cmp(&relevance[a]));
    let idcg = dcg(&ideal);
    if idcg > 0.0 {
        dcg(&by_student) / idcg
    } else {
        1.0
    }
}

/// nDCG@`k` of the student's uncertainties `student` against the teacher's `teacher` (both
/// `[n]`) over `trials` random subsets of `inputs` inputs (without replacement), from `seed`.
pub fn ranking_ndcg(
    student: &[f32],
    teacher: &[f32],
    inputs: usize,
    k: usize,
    trials: usize,
    seed: u64,
) -> NdcgStats {
    let n = student.len();
    let inputs = inputs.min(n);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut s, mut t) = (vec![0.0f32; inputs], vec![0.0f32; inputs]);
    let values: Vec<f64> = (0..trials)
        .map(|_| {
            let picked = rand::seq::index::sample(&mut rng, n, inputs);
            for (j, i) in picked.into_iter().enumerate() {
                s[j] = student[i];
                t[j] = teacher[i];
            }
            ndcg_at_k(&s, &t, k)
        })
        .collect();
    let m = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / m;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0).max(1.0);
    NdcgStats {
        mean,
        std: var.sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_permutation() {
        // Relevances [3, 2, 1, 0]; the student swaps the first two: order 1, 0, 2, 3.
        // nDCG@2 = (2/log2 2 + 3/log2 3) / (3/log2 2 + 2/log2 3) = 3.892789 / 4.261860
        //        = 0.913401 (numpy/by hand).
        let rel = [3.0, 2.0, 1.0, 0.0];
        let scores = [2.0, 3.0, 1.0, 0.0];
        assert!((ndcg_at_k(&scores, &rel, 2) - 0.913401).abs() < 1e-6);
        // The reversed order at k = 4: (0 + 1/log2 3 + 2/log2 4 + 3/log2 5)
        // / (3 + 2/log2 3 + 1/2 + 0) = 2.922959 / 4.761860 = 0.613827.
        let reversed = [0.0, 1.0, 2.0, 3.0];
        assert!((ndcg_at_k(&reversed, &rel, 4) - 0.613827).abs() < 1e-6);
    }

    #[test]
    fn identical_ranking_scores_one() {
        let rel = [0.3, 1.2, 0.05, 2.0, 0.7];
        assert!((ndcg_at_k(&rel, &rel, 3) - 1.0).abs() < 1e-12);
        // Any monotone transform of the relevances ranks identically.
        let scaled: Vec<f32> = rel.iter().map(|r| 10.0 * r + 1.0).collect();
        assert!((ndcg_at_k(&scaled, &rel, 3) - 1.0).abs() < 1e-12);
        // Only the top k matters: swapping two inputs below rank k changes nothing.
        let below = [0.3, 1.2, 0.7, 2.0, 0.05];
        let rel_below = [0.3, 1.2, 0.05, 2.0, 0.7];
        assert!((ndcg_at_k(&below, &rel_below, 2) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn trials_of_identical_scores_and_of_noise() {
        let teacher: Vec<f32> = (0..1000).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let same = ranking_ndcg(&teacher, &teacher, 100, 20, 50, 1);
        assert!((same.mean - 1.0).abs() < 1e-12 && same.std < 1e-12);
        // A ranking unrelated to the teacher scores clearly below 1.
        let unrelated: Vec<f32> = (0..1000).map(|i| ((i * 53) % 97) as f32).collect();
        let noise = ranking_ndcg(&unrelated, &teacher, 100, 20, 50, 1);
        assert!(noise.mean < 0.85 && noise.std > 0.0, "{noise:?}");
        // Seeded: the same seed gives the same statistics.
        assert_eq!(noise, ranking_ndcg(&unrelated, &teacher, 100, 20, 50, 1));
    }
}

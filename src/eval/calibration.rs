//! Calibration and selective prediction of a predictive distribution on labelled test inputs:
//! accuracy, NLL, the Brier score, the expected calibration error (ECE) over equal-width
//! confidence bins (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017), the
//! reliability diagram's bins, and the accuracy-rejection curve (Nadeem et al., "Accuracy-
//! Rejection Curves (ARCs) for Comparing Classification Methods with a Reject Option", 2009)
//! that rejects the most uncertain inputs first, with its area.

use crate::metrics::nll_and_accuracy;
use serde::Serialize;

/// Number of equal-width confidence bins of the ECE and the reliability diagram.
pub const ECE_BINS: usize = 15;

/// Points at which the accuracy-rejection curve is reported (rejected fractions 0, 1/100, ...,
/// 99/100 of the inputs).
pub const REJECTION_POINTS: usize = 100;

/// One confidence bin (lo, hi] of the reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    /// Inputs whose confidence (max probability) falls in the bin.
    pub count: usize,
    /// Their accuracy (0 when empty).
    pub accuracy: f64,
    /// Their mean confidence (0 when empty).
    pub confidence: f64,
}

/// The accuracy-rejection curve sampled at [`REJECTION_POINTS`] rejected fractions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectionCurve {
    /// Fraction of the inputs rejected (the most uncertain ones).
    pub rejected: Vec<f64>,
    /// Accuracy on the inputs kept.
    pub accuracy: Vec<f64>,
}

/// Calibration and selective-prediction metrics of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub accuracy: f64,
    pub nll: f64,
    /// Mean over inputs of sum_y (p_y - 1[y = label])^2 (0 perfect, 2 worst).
    pub brier: f64,
    /// Expected calibration error over [`ECE_BINS`] equal-width bins of the max probability.
    pub ece: f64,
    pub reliability: Vec<ReliabilityBin>,
    /// Area under the accuracy-rejection curve, rejecting by total uncertainty: the mean
    /// accuracy over the n retained-set sizes n, n-1, ..., 1.
    pub rejection_auc: f64,
    pub rejection_curve: RejectionCurve,
}

/// The calibration metrics of `probs` `[n, k]` on `labels` `[n]`, with `uncertainty` `[n]`
/// ordering the inputs for rejection (most uncertain rejected first).
pub fn calibration(probs: &[f32], labels: &[u8], k: usize, uncertainty: &[f32]) -> Calibration {
    let (nll, accuracy) = nll_and_accuracy(probs, labels, k);
    let correct = correctness(probs, labels, k);
    let (reliability, ece) = reliability_bins(probs, labels, k, ECE_BINS);
    let (rejection_curve, rejection_auc) = rejection_curve(uncertainty, &correct);
    Calibration {
        accuracy,
        nll,
        brier: brier(probs, labels, k),
        ece,
        reliability,
        rejection_auc,
        rejection_curve,
    }
}

/// Whether each row's argmax (first on ties, as [`nll_and_accuracy`]) is its label.
pub fn correctness(probs: &[f32], labels: &[u8], k: usize) -> Vec<bool> {
    probs
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &y)| argmax(row) == y as usize)
        .collect()
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold(0, |best, (j, &p)| if p > row[best] { j } else { best })
}

/// Brier score: mean over inputs of sum_y (p_y - onehot_y)^2.
pub fn brier(probs: &[f32], labels: &[u8], k: usize) -> f64 {
    let total: f64 = probs
        .chunks_exact(k)
        .zip(labels)
        .map(|(row, &y)| {
            row.iter()
                .enumerate()
                .map(|(j, &p)| {
                    let d = p as f64 - f64::from(u8::from(j == y as usize));
                    d * d
                })
                .sum::<f64>()
        })
        .sum();
    total / labels.len().max(1) as f64
}

/// The reliability bins (lo, hi] = ((b-1)/B, b/B] of the confidence max_y p_y, and the ECE
/// sum_b |B_b| / n |acc_b - conf_b|. A confidence of exactly 0 falls in the first bin.
pub fn reliability_bins(
    probs: &[f32],
    labels: &[u8],
    k: usize,
    bins: usize,
) -> (Vec<ReliabilityBin>, f64) {
    let mut count = vec![0usize; bins];
    let mut correct = vec![0usize; bins];
    let mut conf_sum = vec![0.0f64; bins];
    for (row, &y) in probs.chunks_exact(k).zip(labels) {
        let j = argmax(row);
        let c = row[j] as f64;
        let b = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[b] += 1;
        correct[b] += usize::from(j == y as usize);
        conf_sum[b] += c;
    }
    let n = labels.len().max(1) as f64;
    let mut ece = 0.0;
    let table = (0..bins)
        .map(|b| {
            let m = count[b].max(1) as f64;
            let (accuracy, confidence) = (correct[b] as f64 / m, conf_sum[b] / m);
            ece += count[b] as f64 / n * (accuracy - confidence).abs();
            ReliabilityBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                count: count[b],
                accuracy,
                confidence,
            }
        })
        .collect();
    (table, ece)
}

/// The accuracy-rejection curve: inputs sorted by `uncertainty` ascending (stable, so ties
/// keep input order), accuracy of the r most certain for r = n, ..., 1. Returns the curve at
/// [`REJECTION_POINTS`] rejected fractions and its area, the mean of all n accuracies.
pub fn rejection_curve(uncertainty: &[f32], correct: &[bool]) -> (RejectionCurve, f64) {
    let n = correct.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| uncertainty[a].total_cmp(&uncertainty[b]));
    // kept_correct[r] = correct among the r most certain inputs.
    let mut kept_correct = vec![0usize; n + 1];
    for (r, &i) in order.iter().enumerate() {
        kept_correct[r + 1] = kept_correct[r] + usize::from(correct[i]);
    }
    let acc = |r: usize| kept_correct[r] as f64 / r as f64;
    let area = if n == 0 {
        f64::NAN
    } else {
        (1..=n).map(acc).sum::<f64>() / n as f64
    };
    let mut curve = RejectionCurve {
        rejected: Vec::with_capacity(REJECTION_POINTS),
        accuracy: Vec::with_capacity(REJECTION_POINTS),
    };
    for p in 0..REJECTION_POINTS {
        let rejected = p * n / REJECTION_POINTS;
        if rejected < n {
            curve.rejected.push(rejected as f64 / n as f64);
            curve.accuracy.push(acc(n - rejected));
        }
    }
    (curve, area)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn ece_by_hand_with_separate_bins() {
        // Confidences 0.9 (right), 0.62 (wrong), 0.55 (right), 0.95 (wrong); with bins
        // ((b-1)/15, b/15] they fall in bins 13 (13.5), 9 (9.3), 8 (8.25) and 14 (14.25), one
        // each, so ECE = mean |acc - conf| = (0.1 + 0.62 + 0.45 + 0.95) / 4 = 0.53.
        let probs = [0.9, 0.1, 0.62, 0.38, 0.55, 0.45, 0.95, 0.05];
        let labels = [0, 1, 0, 1];
        let (bins, ece) = reliability_bins(&probs, &labels, 2, ECE_BINS);
        assert!(close(ece, 0.53), "{ece}");
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 4);
        assert_eq!(bins[13].count, 1);
        assert!(close(bins[9].confidence, 0.62) && bins[9].accuracy == 0.0);
    }

    #[test]
    fn ece_by_hand_with_a_shared_bin() {
        // 0.9 (right) and 0.88 (wrong) share bin 13 (13.5 and 13.2): acc 1/2, conf 0.89,
        // ECE = 2/2 * |0.5 - 0.89| = 0.39. A perfectly calibrated bin adds nothing.
        let (_, ece) = reliability_bins(&[0.9, 0.1, 0.88, 0.12], &[0, 1], 2, ECE_BINS);
        assert!(close(ece, 0.39), "{ece}");
        // Confidence 1 belongs to the last bin (14/15, 1].
        let (bins, _) = reliability_bins(&[1.0, 0.0], &[0], 2, ECE_BINS);
        assert_eq!(bins[ECE_BINS - 1].count, 1);
    }

    #[test]
    fn brier_by_hand() {
        // [0.9, 0.1] label 0: 0.01 + 0.01 = 0.02; [0.6, 0.4] label 1: 0.36 + 0.36 = 0.72;
        // [1/3]*3 label 2: (1/9)*2 + (4/9) = 2/3. Mean (0.02 + 0.72 + 2/3) / 3.
        let third = 1.0 / 3.0;
        let probs = [0.9, 0.1, 0.0, 0.6, 0.4, 0.0, third, third, third];
        let b = brier(&probs, &[0, 1, 2], 3);
        assert!(close(b, (0.02 + 0.72 + 2.0 / 3.0) / 3.0), "{b}");
        // One-hot on the label: 0.
        assert_eq!(brier(&[0.0, 1.0], &[1], 2), 0.0);
    }

    #[test]
    fn rejection_curve_by_hand() {
        // Uncertainties [0.1, 0.4, 0.2, 0.3], correct [yes, no, yes, no]. Most certain first:
        // 0.1 (yes), 0.2 (yes), 0.3 (no), 0.4 (no). Keeping 4, 3, 2, 1: accuracy 1/2, 2/3, 1, 1;
        // area = (1/2 + 2/3 + 1 + 1) / 4 = 19/24.
        let (curve, area) = rejection_curve(&[0.1, 0.4, 0.2, 0.3], &[true, false, true, false]);
        assert!(close(area, 19.0 / 24.0));
        assert_eq!(curve.rejected[0], 0.0);
        assert!(close(curve.accuracy[0], 0.5));
        // Rejected fraction 1/4 first reached at point 25 of 100.
        assert!(close(curve.rejected[25], 0.25) && close(curve.accuracy[25], 2.0 / 3.0));
        assert!(close(*curve.accuracy.last().unwrap(), 1.0));
    }

    #[test]
    fn calibration_collects_the_parts() {
        let probs = [0.9, 0.1, 0.62, 0.38, 0.55, 0.45, 0.95, 0.05];
        let labels = [0, 1, 0, 1];
        let c = calibration(&probs, &labels, 2, &[0.3, 0.6, 0.7, 0.2]);
        assert!(close(c.accuracy, 0.5) && close(c.ece, 0.53));
        assert_eq!(c.reliability.len(), ECE_BINS);
        // Most certain first: 0.2 (wrong), 0.3 (right), 0.6 (wrong), 0.7 (right):
        // accuracies kept 4..1: 1/2, 1/3, 1/2, 0: area 4/3 / 4 = 1/3.
        assert!(close(c.rejection_auc, (0.5 + 1.0 / 3.0 + 0.5 + 0.0) / 4.0));
    }
}

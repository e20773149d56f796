//! Out-of-distribution detection (the paper's Table 3): in-distribution test inputs against
//! an OOD set, scored by an uncertainty (total or knowledge), the OOD inputs being the
//! positive class and a higher score meaning "more likely OOD". Reported: AUROC, AUPR (average
//! precision) and the false-positive rate at 95% true-positive rate.
//!
//! Ties are handled exactly: AUROC is the Mann-Whitney U statistic with average ranks,
//! U / (n_pos n_neg) = P(score_pos > score_neg) + P(score_pos = score_neg) / 2; the curves and
//! average precision step through distinct score thresholds, so tied inputs enter together
//! (as scikit-learn's `roc_curve` and `average_precision_score` do).

use serde::Serialize;

/// The detection scores of one uncertainty measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectionScores {
    /// Area under the ROC curve (0.5 = chance, 1 = perfect separation).
    pub auroc: f64,
    /// Average precision of the OOD (positive) class: area under the precision-recall curve.
    pub aupr: f64,
    /// False-positive rate at the highest threshold reaching a true-positive rate of 95%.
    pub fpr_at_95_tpr: f64,
}

/// AUROC, AUPR and FPR at 95% TPR of scores `positives` (OOD) against `negatives` (in
/// distribution).
pub fn detection_scores(positives: &[f32], negatives: &[f32]) -> DetectionScores {
    DetectionScores {
        auroc: auroc(positives, negatives),
        aupr: average_precision(positives, negatives),
        fpr_at_95_tpr: fpr_at_tpr(positives, negatives, 0.95),
    }
}

/// AUROC by the Mann-Whitney formula with average ranks for ties:
/// (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg), R_pos the sum of the positives' ranks in
/// the pooled ascending order. NaN when either class is empty.
pub fn auroc(positives: &[f32], negatives: &[f32]) -> f64 {
    let (np, nn) = (positives.len(), negatives.len());
    if np == 0 || nn == 0 {
        return f64::NAN;
    }
    let mut pooled: Vec<(f32, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0f64;
    let mut start = 0;
    while start < pooled.len() {
        let end = tie_end(&pooled, start);
        // Ranks start+1 ..= end share their average (start + 1 + end) / 2.
        let avg = (start + 1 + end) as f64 / 2.0;
        let pos_in_group = pooled[start..end].iter().filter(|e| e.1).count();
        rank_sum += avg * pos_in_group as f64;
        start = end;
    }
    let np_f = np as f64;
    (rank_sum - np_f * (np_f + 1.0) / 2.0) / (np_f * nn as f64)
}

/// Cumulative (true positives, false positives) after each distinct threshold, scores taken
/// from the highest down; ties enter together. Starts after the first threshold.
fn threshold_counts(positives: &[f32], negatives: &[f32]) -> Vec<(usize, usize)> {
    let mut pooled: Vec<(f32, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    pooled.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut counts = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    let mut start = 0;
    while start < pooled.len() {
        let end = tie_end(&pooled, start);
        let pos = pooled[start..end].iter().filter(|e| e.1).count();
        tp += pos;
        fp += end - start - pos;
        counts.push((tp, fp));
        start = end;
    }
    counts
}

/// End (exclusive) of the run of equal scores starting at `start` in a sorted list.
fn tie_end(sorted: &[(f32, bool)], start: usize) -> usize {
    let score = sorted[start].0;
    start
        + sorted[start..]
            .iter()
            .take_while(|e| e.0.total_cmp(&score).is_eq())
            .count()
}

/// Average precision: sum over thresholds of (R_t - R_{t-1}) P_t, with recall R and
/// precision P of the positive class at each distinct threshold. NaN with no positive.
pub fn average_precision(positives: &[f32], negatives: &[f32]) -> f64 {
    let np = positives.len();
    if np == 0 {
        return f64::NAN;
    }
    let mut ap = 0.0;
    let mut prev_tp = 0;
    for (tp, fp) in threshold_counts(positives, negatives) {
        if tp > prev_tp {
            let precision = tp as f64 / (tp + fp) as f64;
            ap += (tp - prev_tp) as f64 / np as f64 * precision;
            prev_tp = tp;
        }
    }
    ap
}

/// False-positive rate at the highest threshold whose true-positive rate reaches `tpr`.
/// NaN when either class is empty.
pub fn fpr_at_tpr(positives: &[f32], negatives: &[f32], tpr: f64) -> f64 {
    let (np, nn) = (positives.len(), negatives.len());
    if np == 0 || nn == 0 {
        return f64::NAN;
    }
    threshold_counts(positives, negatives)
        .into_iter()
        .find(|&(tp, _)| tp as f64 / np as f64 >= tpr - 1e-12)
        .map_or(1.0, |(_, fp)| fp as f64 / nn as f64)
}

/// The ROC curve as (false-positive rate, true-positive rate) points from (0, 0) to (1, 1),
/// one per distinct threshold. Empty when either class is empty.
pub fn roc_curve(positives: &[f32], negatives: &[f32]) -> Vec<(f64, f64)> {
    let (np, nn) = (positives.len() as f64, negatives.len() as f64);
    if np == 0.0 || nn == 0.0 {
        return Vec::new();
    }
    std::iter::once((0.0, 0.0))
        .chain(
            threshold_counts(positives, negatives)
                .into_iter()
                .map(|(tp, fp)| (fp as f64 / nn, tp as f64 / np)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn perfect_and_inverted_separation() {
        // Every OOD score above every in-distribution score: AUROC 1, AP 1, FPR@95 0.
        let (pos, neg) = ([3.0, 4.0, 5.0], [1.0, 2.0]);
        let s = detection_scores(&pos, &neg);
        assert_eq!((s.auroc, s.aupr, s.fpr_at_95_tpr), (1.0, 1.0, 0.0));
        // Swapped: every OOD score below: AUROC 0; reaching TPR 95% needs every negative
        // above the threshold: FPR 1.
        let s = detection_scores(&neg, &pos);
        assert_eq!(s.auroc, 0.0);
        // pos [1, 2, 3], neg [4, 5, 6]: the 3 negatives rank first, the positives come at
        // ranks 4, 5, 6 with precision 1/4, 2/5, 3/6: AP = (1/4 + 2/5 + 1/2) / 3 = 23/60.
        assert!(close(
            average_precision(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]),
            23.0 / 60.0
        ));
        assert_eq!(s.fpr_at_95_tpr, 1.0);
    }

    #[test]
    fn ties_count_one_half() {
        // pos [0.8, 0.5], neg [0.5, 0.2]. Pairs: 0.8>0.5, 0.8>0.2, 0.5=0.5 (1/2), 0.5>0.2,
        // so AUROC = 3.5 / 4 = 0.875. Ranks ascending: 0.2 -> 1, the two 0.5 -> 2.5,
        // 0.8 -> 4; R_pos = 6.5, U = 6.5 - 3 = 3.5.
        let (pos, neg) = ([0.8, 0.5], [0.5, 0.2]);
        assert!(close(auroc(&pos, &neg), 0.875));
        // Thresholds: >= 0.8 gives tp 1 fp 0 (P 1, R 1/2); >= 0.5 gives tp 2 fp 1 (P 2/3,
        // R 1). AP = 1/2 * 1 + 1/2 * 2/3 = 5/6. TPR 1 >= 95% first at 0.5: FPR = 1/2.
        assert!(close(average_precision(&pos, &neg), 5.0 / 6.0));
        assert!(close(fpr_at_tpr(&pos, &neg, 0.95), 0.5));
        // All scores tied: AUROC 1/2, AP = the positive fraction 2/4.
        let s = detection_scores(&[1.0, 1.0], &[1.0, 1.0]);
        assert!(close(s.auroc, 0.5) && close(s.aupr, 0.5) && close(s.fpr_at_95_tpr, 1.0));
    }

    #[test]
    fn interleaved_scores_without_ties() {
        // Descending: 0.9 P, 0.8 N, 0.6 P, 0.5 N, 0.3 P, 0.2 N, 0.1 N.
        // AUROC: 0.9 beats 4 negatives, 0.6 beats 3, 0.3 beats 2: 9 / 12 = 0.75.
        // AP: precisions at the positives 1/1, 2/3, 3/5: (1 + 2/3 + 3/5) / 3 = 34/45.
        // TPR 95% needs all three positives (threshold 0.3): 2 of 4 negatives above: FPR 1/2.
        let (pos, neg) = ([0.9, 0.6, 0.3], [0.8, 0.5, 0.2, 0.1]);
        let s = detection_scores(&pos, &neg);
        assert!(close(s.auroc, 0.75));
        assert!(close(s.aupr, 34.0 / 45.0));
        assert!(close(s.fpr_at_95_tpr, 0.5));
        // FPR at a lower TPR: 1/3 is reached at 0.9, before any negative.
        assert!(close(fpr_at_tpr(&pos, &neg, 1.0 / 3.0), 0.0));
    }

    #[test]
    fn trapezoid_area_of_roc_equals_mann_whitney() {
        // Two independent computations of the same quantity, with many ties.
        let pos: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32).collect();
        let neg: Vec<f32> = (0..53).map(|i| ((i * 5) % 9) as f32 - 1.0).collect();
        let roc = roc_curve(&pos, &neg);
        assert_eq!(roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(roc.last(), Some(&(1.0, 1.0)));
        let area: f64 = roc
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum();
        assert!((area - auroc(&pos, &neg)).abs() < 1e-12);
    }

    #[test]
    fn empty_classes_give_nan() {
        assert!(auroc(&[], &[1.0]).is_nan());
        assert!(average_precision(&[], &[1.0]).is_nan());
        assert!(fpr_at_tpr(&[1.0], &[], 0.95).is_nan());
        assert!(roc_curve(&[1.0], &[]).is_empty());
    }
}

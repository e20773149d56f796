//! Test-set metrics of distillation, as the paper's released code computes them: the teacher
//! (the accumulated posterior ensemble) and the student are each scored by NLL and accuracy,
//! and compared by CE(teacher, student), KL, inverse KL, the mean absolute error between
//! probability vectors, and the entropy MAE of the expected-entropy student.
//! All sums run in f64; probabilities are floored at [`PROB_FLOOR`] before a log.

use serde::{Deserialize, Serialize};

/// Smallest probability a log is taken of (keeps a zero from giving an infinite NLL).
pub const PROB_FLOOR: f64 = 1e-12;

fn ln(p: f64) -> f64 {
    p.max(PROB_FLOOR).ln()
}

/// Mean negative log-likelihood and accuracy of `probs` `[n, k]` on `labels` `[n]`.
pub fn nll_and_accuracy(probs: &[f32], labels: &[u8], k: usize) -> (f64, f64) {
    let n = labels.len();
    let (mut nll, mut correct) = (0.0, 0usize);
    for (row, &y) in probs.chunks_exact(k).zip(labels) {
        nll -= ln(row[y as usize] as f64);
        let argmax = row
            .iter()
            .enumerate()
            .fold(0, |best, (j, &p)| if p > row[best] { j } else { best });
        correct += usize::from(argmax == y as usize);
    }
    (nll / n as f64, correct as f64 / n as f64)
}

/// The teacher-vs-student metrics of the paper's Table 1 and Tables 5-7.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DistillMetrics {
    pub teacher_nll: f64,
    pub teacher_acc: f64,
    pub student_nll: f64,
    pub student_acc: f64,
    /// -mean_x sum_y p_T log p_S.
    pub ce_teacher_student: f64,
    /// KL(p_T || p_S) = CE - H(p_T), mean over inputs.
    pub kl_teacher_student: f64,
    /// KL(p_S || p_T), mean over inputs.
    pub inverse_kl_teacher_student: f64,
    /// Mean over inputs and classes of |p_S - p_T|.
    pub prob_mae: f64,
}

/// Compares the teacher's predictive `teacher` with the student's `student` (both `[n, k]`)
/// on test inputs with `labels`.
pub fn compare_predictive(
    teacher: &[f32],
    student: &[f32],
    labels: &[u8],
    k: usize,
) -> DistillMetrics {
    let n = labels.len();
    let (teacher_nll, teacher_acc) = nll_and_accuracy(teacher, labels, k);
    let (student_nll, student_acc) = nll_and_accuracy(student, labels, k);
    let (mut ce, mut kl, mut ikl, mut abs) = (0.0, 0.0, 0.0, 0.0);
    for (t_row, s_row) in teacher.chunks_exact(k).zip(student.chunks_exact(k)) {
        for (&t, &s) in t_row.iter().zip(s_row) {
            let (t, s) = (t as f64, s as f64);
            ce -= t * ln(s);
            if t > 0.0 {
                kl += t * (ln(t) - ln(s));
            }
            if s > 0.0 {
                ikl += s * (ln(s) - ln(t));
            }
            abs += (s - t).abs();
        }
    }
    let n_f = n as f64;
    DistillMetrics {
        teacher_nll,
        teacher_acc,
        student_nll,
        student_acc,
        ce_teacher_student: ce / n_f,
        kl_teacher_student: kl / n_f,
        inverse_kl_teacher_student: ikl / n_f,
        prob_mae: abs / (n_f * k as f64),
    }
}

/// Mean absolute error between two per-input scalars (e.g. the student's entropy output and
/// the teacher's expected entropy).
pub fn mean_abs_error(a: &[f32], b: &[f32]) -> f64 {
    let total: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).abs())
        .sum();
    total / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_two_input_case() {
        // k = 2; teacher rows [0.8, 0.2], [0.4, 0.6]; student rows [0.5, 0.5], [0.25, 0.75];
        // labels 0, 1.
        let t = [0.8, 0.2, 0.4, 0.6];
        let s = [0.5, 0.5, 0.25, 0.75];
        let m = compare_predictive(&t, &s, &[0, 1], 2);
        let ln = f64::ln;
        // teacher NLL = -(ln 0.8 + ln 0.6)/2; both teacher rows are right: acc 1.
        assert!((m.teacher_nll - -(ln(0.8) + ln(0.6)) / 2.0).abs() < 1e-7);
        assert_eq!(m.teacher_acc, 1.0);
        // student row 0 is a tie [0.5, 0.5]: argmax takes the first, class 0 = label: acc 1.
        assert!((m.student_nll - -(ln(0.5) + ln(0.75)) / 2.0).abs() < 1e-7);
        assert_eq!(m.student_acc, 1.0);
        let ce = -(0.8 * ln(0.5) + 0.2 * ln(0.5) + 0.4 * ln(0.25) + 0.6 * ln(0.75)) / 2.0;
        assert!((m.ce_teacher_student - ce).abs() < 1e-6);
        let h_t = -(0.8 * ln(0.8) + 0.2 * ln(0.2) + 0.4 * ln(0.4) + 0.6 * ln(0.6)) / 2.0;
        assert!((m.kl_teacher_student - (ce - h_t)).abs() < 1e-6);
        let ikl = (0.5 * ln(0.5 / 0.8)
            + 0.5 * ln(0.5 / 0.2)
            + 0.25 * ln(0.25 / 0.4)
            + 0.75 * ln(0.75 / 0.6))
            / 2.0;
        assert!((m.inverse_kl_teacher_student - ikl).abs() < 1e-6);
        assert!((m.prob_mae - (0.3 + 0.3 + 0.15 + 0.15) / 4.0).abs() < 1e-7);
    }

    #[test]
    fn identical_predictions_have_zero_divergence() {
        let p = [0.1, 0.7, 0.2, 0.3, 0.3, 0.4];
        let m = compare_predictive(&p, &p, &[1, 2], 3);
        assert!(m.kl_teacher_student.abs() < 1e-9 && m.inverse_kl_teacher_student.abs() < 1e-9);
        assert_eq!(m.prob_mae, 0.0);
        assert!((m.teacher_nll - m.student_nll).abs() < 1e-12);
    }

    #[test]
    fn mean_abs_error_by_hand() {
        assert!((mean_abs_error(&[1.0, 2.0, 0.5], &[0.5, 2.5, 0.5]) - 1.0 / 3.0).abs() < 1e-9);
    }
}

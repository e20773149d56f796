//! Test-set passes: adding the teacher's current sample to the streamed ensemble, running a
//! student over a dataset, and the paper's metrics of the students against the ensemble.

use super::student::Student;
use super::teacher::Teacher;
use crate::config::Target;
use crate::data::Dataset;
use crate::ensemble::Ensemble;
use crate::metrics::{DistillMetrics, compare_predictive, mean_abs_error};
use serde::Serialize;

/// Adds the teacher's current predictive probabilities on every input of `data` to
/// `ensemble`, in chunks of `batch` inputs.
pub fn add_teacher_sample(
    teacher: &mut Teacher,
    data: &Dataset,
    ensemble: &mut Ensemble,
    batch: usize,
) {
    let len = data.image_len();
    for start in (0..data.len()).step_by(batch) {
        let rows = batch.min(data.len() - start);
        let x = &data.images()[start * len..(start + rows) * len];
        ensemble.add_rows(start, teacher.predict(x, rows));
    }
    ensemble.finish_sample();
}

/// The student's predictions `[n, width]` on every input of `data`, in chunks of `batch`.
pub fn student_predictions(student: &mut Student, data: &Dataset, batch: usize) -> Vec<f32> {
    let len = data.image_len();
    let width = student.target.width();
    let mut out = vec![0.0; data.len() * width];
    for start in (0..data.len()).step_by(batch) {
        let rows = batch.min(data.len() - start);
        let x = &data.images()[start * len..(start + rows) * len];
        student.predict(x, rows, &mut out[start * width..(start + rows) * width]);
    }
    out
}

/// The paper's test-set metrics: the predictive student against the ensemble, and the entropy
/// student's MAE against the ensemble's expected entropy, where those students exist.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestMetrics {
    #[serde(flatten)]
    pub predictive: Option<DistillMetrics>,
    pub entropy_mae: Option<f64>,
    /// Posterior samples in the ensemble.
    pub ensemble_samples: u64,
}

/// Scores the first predictive and the first entropy student on `test` against `ensemble`.
pub fn test_metrics(
    students: &mut [Student],
    test: &Dataset,
    ensemble: &Ensemble,
    batch: usize,
) -> TestMetrics {
    let classes = test.num_classes();
    let mut metrics = TestMetrics {
        ensemble_samples: ensemble.samples(),
        ..TestMetrics::default()
    };
    if ensemble.samples() == 0 {
        return metrics;
    }
    if let Some(s) = students
        .iter_mut()
        .find(|s| s.target_kind == Target::Predictive)
    {
        let student = student_predictions(s, test, batch);
        metrics.predictive = Some(compare_predictive(
            &ensemble.mean_probs(),
            &student,
            test.labels(),
            classes,
        ));
    }
    if let Some(s) = students
        .iter_mut()
        .find(|s| s.target_kind == Target::Entropy)
    {
        let student = student_predictions(s, test, batch);
        metrics.entropy_mae = Some(mean_abs_error(&student, &ensemble.mean_entropy()));
    }
    metrics
}

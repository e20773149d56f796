//! Test-set passes: adding the teacher's current sample to the streamed ensemble, running a
//! student over a dataset, and the paper's metrics of the students against the ensemble.

use super::student::Student;
use super::teacher::Teacher;
use crate::Result;
use crate::config::Target;
use crate::data::Dataset;
use crate::ensemble::Ensemble;
use crate::metrics::{DistillMetrics, compare_predictive, mean_abs_error};
use crate::uncertainty::{OodThreshold, Uncertainty};
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

/// The OOD threshold of `gped predict`'s flag, chosen on the held-out in-distribution images
/// `holdout` from the uncertainties of the first predictive student and the first entropy
/// student (the ones `infer::Distilled` answers with), as `eval.ood_score` and `eval.ood_tpr`
/// say; `None` without a predictive student (the config check asks for one when there is a
/// holdout).
pub fn ood_threshold(
    students: &mut [Student],
    holdout: &Dataset,
    cfg: &crate::config::EvalConfig,
) -> Result<Option<OodThreshold>> {
    let first = |target: Target| students.iter().position(|s| s.target_kind == target);
    let (Some(p), e) = (first(Target::Predictive), first(Target::Entropy)) else {
        return Ok(None);
    };
    let probs = student_predictions(&mut students[p], holdout, cfg.test_batch);
    let aleatoric = e.map(|e| student_predictions(&mut students[e], holdout, cfg.test_batch));
    let u = Uncertainty::from_predictive(&probs, holdout.num_classes(), aleatoric);
    match OodThreshold::scores_for(cfg.ood_score, &u) {
        Some(scores) => OodThreshold::choose(cfg.ood_score, cfg.ood_tpr, scores).map(Some),
        None => Ok(None),
    }
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
    let first = |target| students.iter().position(|s| s.target_kind == target);
    let scored = [first(Target::Predictive), first(Target::Entropy)];
    let mut all = vec![None; students.len()];
    for i in scored.into_iter().flatten() {
        all[i] = student_metrics(&mut students[i], test, ensemble, batch);
    }
    TestMetrics::of_first(&all, ensemble.samples())
}

impl TestMetrics {
    /// The metrics of the first predictive and the first entropy student among `students`'
    /// metrics, for an ensemble of `samples` posterior samples.
    pub fn of_first(students: &[Option<StudentMetrics>], samples: u64) -> Self {
        let mut metrics = TestMetrics {
            ensemble_samples: samples,
            ..TestMetrics::default()
        };
        metrics.predictive = students.iter().find_map(|m| match m {
            Some(StudentMetrics::Predictive(p)) => Some(p.clone()),
            _ => None,
        });
        metrics.entropy_mae = students.iter().find_map(|m| match m {
            Some(StudentMetrics::Entropy { entropy_mae }) => Some(*entropy_mae),
            _ => None,
        });
        metrics
    }
}

/// One student's test metrics against `ensemble`: a predictive student's
/// [`DistillMetrics`], an entropy student's MAE to the ensemble's expected entropy (none for
/// other targets, or before the ensemble has a sample).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StudentMetrics {
    Predictive(DistillMetrics),
    Entropy { entropy_mae: f64 },
}

/// [`StudentMetrics`] of `student` on `test`.
pub fn student_metrics(
    student: &mut Student,
    test: &Dataset,
    ensemble: &Ensemble,
    batch: usize,
) -> Option<StudentMetrics> {
    if ensemble.samples() == 0 {
        return None;
    }
    match student.target_kind {
        Target::Predictive => {
            let predictions = student_predictions(student, test, batch);
            Some(StudentMetrics::Predictive(compare_predictive(
                &ensemble.mean_probs(),
                &predictions,
                test.labels(),
                test.num_classes(),
            )))
        }
        Target::Entropy => {
            let predictions = student_predictions(student, test, batch);
            Some(StudentMetrics::Entropy {
                entropy_mae: mean_abs_error(&predictions, &ensemble.mean_entropy()),
            })
        }
        Target::Variance => None,
    }
}

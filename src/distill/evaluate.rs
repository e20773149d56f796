//! Test-set passes: adding the teacher's current sample to the streamed ensemble, running a
//! student over a dataset, and the metrics of the students against the ensemble: the paper's
//! for the predictive and the entropy students, and the MAE of a variance student to the
//! ensemble's E[p(1 - p)] per class and of a mutual-information student to its
//! H[E p] - E H[p]; a Dirichlet student (EnD^2) is scored as a predictive one on its expected
//! predictive alpha / alpha_0, and by the MAE of its aleatoric and knowledge parts to the
//! ensemble's E H[p] and H[E p] - E H[p]. A multi-head student is scored head by head, each
//! head as the student of its target would be.

use super::student::Student;
use super::teacher::Teacher;
use crate::Result;
use crate::config::Target;
use crate::data::Dataset;
use crate::ensemble::Ensemble;
use crate::metrics::{DistillMetrics, compare_predictive, mean_abs_error};
use crate::uncertainty::{OodThreshold, Uncertainty, expected_predictive};
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

/// The student's predictions `[n, width]` (all its heads' side by side) on every input of
/// `data`, in chunks of `batch`.
pub fn student_predictions(student: &mut Student, data: &Dataset, batch: usize) -> Vec<f32> {
    let len = data.image_len();
    let width = student.width();
    let mut out = vec![0.0; data.len() * width];
    for start in (0..data.len()).step_by(batch) {
        let rows = batch.min(data.len() - start);
        let x = &data.images()[start * len..(start + rows) * len];
        student.predict(x, rows, &mut out[start * width..(start + rows) * width]);
    }
    out
}

/// The predictions `[n, width]` of head `head` of `student` on every input of `data`.
pub fn head_predictions(
    student: &mut Student,
    head: usize,
    data: &Dataset,
    batch: usize,
) -> Vec<f32> {
    let all = student_predictions(student, data, batch);
    student.heads()[head].of(&all, student.width())
}

/// The first student (in config order) with a head distilling `target`, and that head.
fn first_head(students: &[Student], target: Target) -> Option<(usize, usize)> {
    students
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.head_of(target).map(|h| (i, h)))
}

/// The OOD threshold of `gped predict`'s flag, chosen on the held-out in-distribution images
/// `holdout` from the uncertainties of the first predictive head and the first entropy head
/// (of single- or multi-head students: the ones `infer::Distilled` answers with), as
/// `eval.ood_score` and `eval.ood_tpr` say; `None` without a predictive head (the config
/// check asks for one when there is a holdout).
pub fn ood_threshold(
    students: &mut [Student],
    holdout: &Dataset,
    cfg: &crate::config::EvalConfig,
) -> Result<Option<OodThreshold>> {
    let (Some((p, ph)), e) = (
        first_head(students, Target::Predictive),
        first_head(students, Target::Entropy),
    ) else {
        return Ok(None);
    };
    let probs = head_predictions(&mut students[p], ph, holdout, cfg.test_batch);
    let aleatoric =
        e.map(|(e, eh)| head_predictions(&mut students[e], eh, holdout, cfg.test_batch));
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

/// Scores the first predictive and the first entropy head (of single- or multi-head
/// students) on `test` against `ensemble`.
pub fn test_metrics(
    students: &mut [Student],
    test: &Dataset,
    ensemble: &Ensemble,
    batch: usize,
) -> TestMetrics {
    let scored = [Target::Predictive, Target::Entropy].map(|t| first_head(students, t));
    let mut all = Vec::new();
    for (i, s) in students.iter_mut().enumerate() {
        if scored.iter().any(|f| f.is_some_and(|(j, _)| j == i)) {
            all.extend(student_metrics(s, test, ensemble, batch));
        } else {
            all.extend(vec![None; s.heads().len()]);
        }
    }
    TestMetrics::of_first(&all, ensemble.samples())
}

impl TestMetrics {
    /// The metrics of the first predictive and the first entropy head among `heads`'
    /// metrics (every student's heads in config order), for an ensemble of `samples`
    /// posterior samples.
    pub fn of_first(heads: &[Option<StudentMetrics>], samples: u64) -> Self {
        let mut metrics = TestMetrics {
            ensemble_samples: samples,
            ..TestMetrics::default()
        };
        metrics.predictive = heads.iter().find_map(|m| match m {
            Some(StudentMetrics::Predictive(p)) => Some(p.clone()),
            _ => None,
        });
        metrics.entropy_mae = heads.iter().find_map(|m| match m {
            Some(StudentMetrics::Entropy { entropy_mae }) => Some(*entropy_mae),
            _ => None,
        });
        metrics
    }
}

/// One student's test metrics against `ensemble`: a predictive student's
/// [`DistillMetrics`], an entropy student's MAE to the ensemble's expected entropy, a variance
/// student's MAE (over inputs and classes) to the ensemble's E[p(1 - p)], a
/// mutual-information student's MAE to the ensemble's H[E p] - E H[p] (none before the
/// ensemble has a sample, nor for a variance student when the ensemble has no sums of p^2,
/// that is resumed from a checkpoint written before they were kept).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StudentMetrics {
    Predictive(DistillMetrics),
    Entropy { entropy_mae: f64 },
    Variance { variance_mae: f64 },
    MutualInformation { mutual_information_mae: f64 },
    Dirichlet(DirichletMetrics),
}

/// A Dirichlet student's scores: its expected predictive against the ensemble and the test
/// labels, and the MAE of its aleatoric (expected entropy) and knowledge (mutual
/// information) uncertainty to the ensemble's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirichletMetrics {
    #[serde(flatten)]
    pub predictive: DistillMetrics,
    pub aleatoric_mae: f64,
    pub knowledge_mae: f64,
}

/// [`StudentMetrics`] of each head of `student` on `test` (one for a single-head student).
pub fn student_metrics(
    student: &mut Student,
    test: &Dataset,
    ensemble: &Ensemble,
    batch: usize,
) -> Vec<Option<StudentMetrics>> {
    if ensemble.samples() == 0 {
        return vec![None; student.heads().len()];
    }
    let all = student_predictions(student, test, batch);
    let total = student.width();
    (student.heads().iter())
        .map(|h| head_metrics(h.kind, &h.of(&all, total), test, ensemble))
        .collect()
}

/// [`StudentMetrics`] of the `predictions` of a head distilling `target`.
fn head_metrics(
    target: Target,
    predictions: &[f32],
    test: &Dataset,
    ensemble: &Ensemble,
) -> Option<StudentMetrics> {
    match target {
        Target::Predictive => Some(StudentMetrics::Predictive(compare_predictive(
            &ensemble.mean_probs(),
            predictions,
            test.labels(),
            test.num_classes(),
        ))),
        Target::Entropy => Some(StudentMetrics::Entropy {
            entropy_mae: mean_abs_error(predictions, &ensemble.mean_entropy()),
        }),
        Target::Variance => {
            let teacher = ensemble.mean_variance()?;
            Some(StudentMetrics::Variance {
                variance_mae: mae_f64(predictions, &teacher),
            })
        }
        Target::MutualInformation => Some(StudentMetrics::MutualInformation {
            mutual_information_mae: mae_f64(predictions, &ensemble.mutual_information()),
        }),
        Target::Dirichlet => {
            let alphas = predictions;
            let k = test.num_classes();
            let u = Uncertainty::from_dirichlet(alphas, k);
            let (aleatoric, knowledge) = (u.aleatoric?, u.knowledge?);
            Some(StudentMetrics::Dirichlet(DirichletMetrics {
                predictive: compare_predictive(
                    &ensemble.mean_probs(),
                    &expected_predictive(alphas, k),
                    test.labels(),
                    k,
                ),
                aleatoric_mae: mean_abs_error(&aleatoric, &ensemble.mean_entropy()),
                knowledge_mae: mae_f64(&knowledge, &ensemble.mutual_information()),
            }))
        }
    }
}

/// Mean |a - b| of a student's f32 outputs against the ensemble's f64 values.
fn mae_f64(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "student outputs and ensemble values differ in size"
    );
    let total: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y).abs()).sum();
    total / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, Estimator, Loss, StudentConfig};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const K: usize = 10;
    const N: usize = 5;

    /// Five random 28x28 images and three random teacher samples' probabilities on them,
    /// streamed into an ensemble; the samples are kept for the recomputation.
    fn setup() -> (Dataset, Ensemble, Vec<Vec<f32>>) {
        let mut rng = StdRng::seed_from_u64(5);
        let images = (0..N * 784).map(|_| rng.random::<f32>()).collect();
        let labels = (0..N).map(|i| (i % K) as u8).collect();
        let data = Dataset::new(images, labels, [1, 28, 28], K).unwrap();
        let mut ensemble = Ensemble::new(N, K);
        let mut samples = Vec::new();
        for _ in 0..3 {
            let mut p: Vec<f32> = (0..N * K).map(|_| rng.random::<f32>().powi(3)).collect();
            for row in p.chunks_mut(K) {
                let sum: f32 = row.iter().sum();
                row.iter_mut().for_each(|v| *v /= sum);
            }
            // Two chunks, as the test pass adds them.
            ensemble.add_rows(0, &p[..2 * K]);
            ensemble.add_rows(2, &p[2 * K..]);
            ensemble.finish_sample();
            samples.push(p);
        }
        (data, ensemble, samples)
    }

    fn student(target: Target) -> Student {
        let cfg = StudentConfig {
            target,
            estimator: Estimator::RunningMean,
            loss: Loss::L1,
            width: [0.02, 0.02],
            dropout: 0.0,
            ..StudentConfig::default()
        };
        Student::new(&cfg, Arch::Fcnn, K, 10, 3).unwrap()
    }

    /// The student's outputs input by input (batch 1), `width` values each.
    fn outputs_one_by_one(s: &mut Student, data: &Dataset) -> Vec<f64> {
        let w = s.width();
        let mut all = Vec::new();
        for i in 0..data.len() {
            let mut out = vec![0.0; w];
            s.predict(data.image(i), 1, &mut out);
            all.extend(out.iter().map(|&v| v as f64));
        }
        all
    }

    /// -sum p ln p in f64, written out here.
    fn h(p: &[f64]) -> f64 {
        -p.iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| v * v.ln())
            .sum::<f64>()
    }

    /// The teacher's values recomputed here in f64 from the samples themselves (not the
    /// ensemble's sums): E p(1-p) per class, H[E p] - E H[p] and E H[p] per input.
    fn recomputed(samples: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let s = samples.len() as f64;
        let at = |sample: &Vec<f32>, i: usize| -> Vec<f64> {
            sample[i * K..(i + 1) * K]
                .iter()
                .map(|&v| v as f64)
                .collect()
        };
        let mut variance = Vec::new();
        let (mut mi, mut expected_entropy) = (Vec::new(), Vec::new());
        for i in 0..N {
            let rows: Vec<Vec<f64>> = samples.iter().map(|p| at(p, i)).collect();
            for c in 0..K {
                variance.push(rows.iter().map(|r| r[c] * (1.0 - r[c])).sum::<f64>() / s);
            }
            let mean: Vec<f64> = (0..K)
                .map(|c| rows.iter().map(|r| r[c]).sum::<f64>() / s)
                .collect();
            let eh = rows.iter().map(|r| h(r)).sum::<f64>() / s;
            expected_entropy.push(eh);
            mi.push(h(&mean) - eh);
        }
        (variance, mi, expected_entropy)
    }

    fn mae(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
    }

    /// Every target is scored, each against the teacher's value recomputed from the three
    /// samples.
    #[test]
    fn every_target_is_scored_against_a_recomputation_from_the_samples() {
        let (data, ensemble, samples) = setup();
        let (variance, mi, expected_entropy) = recomputed(&samples);
        assert!(mi.iter().all(|&v| v > 1e-3), "{mi:?}");
        for (target, teacher) in [
            (Target::Variance, &variance),
            (Target::MutualInformation, &mi),
            (Target::Entropy, &expected_entropy),
        ] {
            let mut st = student(target);
            let want = mae(&outputs_one_by_one(&mut st, &data), teacher);
            let got = match student_metrics(&mut st, &data, &ensemble, 2).remove(0) {
                Some(StudentMetrics::Variance { variance_mae }) => variance_mae,
                Some(StudentMetrics::MutualInformation {
                    mutual_information_mae,
                }) => mutual_information_mae,
                Some(StudentMetrics::Entropy { entropy_mae }) => entropy_mae,
                other => panic!("{target:?}: {other:?}"),
            };
            assert!((got - want).abs() < 1e-5, "{target:?}: {got} vs {want}");
        }
        let mut p = student(Target::Predictive);
        assert!(matches!(
            student_metrics(&mut p, &data, &ensemble, 2).as_slice(),
            [Some(StudentMetrics::Predictive(_))]
        ));
    }

    /// A Dirichlet student: its expected predictive scored as a predictive student's, its
    /// aleatoric and knowledge parts (`uncertainty::dirichlet_uncertainty` of its alphas,
    /// taken input by input) against the recomputed E H[p] and H[E p] - E H[p].
    #[test]
    fn a_dirichlet_student_is_scored_on_its_three_parts() {
        let (data, ensemble, samples) = setup();
        let (_, mi, expected_entropy) = recomputed(&samples);
        let cfg = StudentConfig {
            target: Target::Dirichlet,
            loss: Loss::DirichletNll,
            width: [0.02, 0.02],
            ..StudentConfig::default()
        };
        let mut st = Student::new(&cfg, Arch::Fcnn, K, 10, 3).unwrap();
        let alphas = outputs_one_by_one(&mut st, &data);
        let parts: Vec<_> = alphas
            .chunks(K)
            .map(crate::uncertainty::dirichlet_uncertainty)
            .collect();
        let aleatoric: Vec<f64> = parts.iter().map(|u| u.aleatoric).collect();
        let knowledge: Vec<f64> = parts.iter().map(|u| u.knowledge).collect();
        let probs: Vec<f32> = alphas
            .chunks(K)
            .flat_map(|a| {
                a.iter()
                    .map(|&v| (v / a.iter().sum::<f64>()) as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        let want = compare_predictive(&ensemble.mean_probs(), &probs, data.labels(), K);
        let Some(StudentMetrics::Dirichlet(got)) =
            student_metrics(&mut st, &data, &ensemble, 2).remove(0)
        else {
            panic!("a Dirichlet student has Dirichlet metrics");
        };
        assert!((got.predictive.student_nll - want.student_nll).abs() < 1e-5);
        assert!((got.predictive.prob_mae - want.prob_mae).abs() < 1e-5);
        assert!((got.aleatoric_mae - mae(&aleatoric, &expected_entropy)).abs() < 1e-5);
        assert!((got.knowledge_mae - mae(&knowledge, &mi)).abs() < 1e-5);
        let v = serde_json::to_value(StudentMetrics::Dirichlet(got)).unwrap();
        assert!(v.get("student_nll").is_some() && v.get("knowledge_mae").is_some());
    }

    /// The scores' JSON keys, as `metrics.json`'s `students.NAME.test` holds them.
    #[test]
    fn student_metrics_serialise_under_their_own_keys() {
        let v = serde_json::to_value(StudentMetrics::Variance { variance_mae: 0.5 }).unwrap();
        assert_eq!(v, serde_json::json!({ "variance_mae": 0.5 }));
        let m = StudentMetrics::MutualInformation {
            mutual_information_mae: 0.25,
        };
        let v = serde_json::to_value(m).unwrap();
        assert_eq!(v, serde_json::json!({ "mutual_information_mae": 0.25 }));
    }

    /// Before the ensemble has a sample no student is scored.
    #[test]
    fn no_scores_before_a_sample() {
        let (data, _, _) = setup();
        let empty = Ensemble::new(N, K);
        for target in [Target::Variance, Target::MutualInformation] {
            assert_eq!(
                student_metrics(&mut student(target), &data, &empty, 2),
                vec![None]
            );
        }
    }
}

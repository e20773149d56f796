//! Every number of an evaluation. First the models' outputs: the teacher ensemble's predictive
//! distribution and uncertainty decomposition, for each predictive student (paired with an
//! entropy student when the run has one) the same from one forward pass of each, and for each
//! Dirichlet student (EnD^2) the same from one forward pass, in closed form. Then, from
//! those, the summary written to `eval.json`: calibration, mean uncertainties, OOD detection
//! by total and knowledge uncertainty, the students' ranking against the teacher (nDCG@20) and
//! their per-input agreement with it.

use super::calibration::{Calibration, calibration};
use super::ood::{DetectionScores, detection_scores};
use super::ranking::{NdcgStats, RANKING_INPUTS, RANKING_K, RANKING_TRIALS, ranking_ndcg};
use super::run_folder::{OodSet, OodSource, RunFolder};
use crate::base::seeds;
use crate::config::Target;
use crate::data::Dataset;
use crate::metrics::mean_abs_error;
use crate::sampler::diagnostics::Diagnostics;
use crate::uncertainty::{OodThreshold, Uncertainty, expected_predictive};
use serde::Serialize;
use std::collections::BTreeMap;

/// One model's outputs on the test set (and the OOD set when it can be scored there).
pub struct ModelOutputs {
    /// `teacher`, or the predictive or Dirichlet student's name.
    pub name: String,
    /// The student's target (`predictive` or `dirichlet`; `predictive` for the teacher).
    pub target: Target,
    /// The entropy student paired with a predictive student.
    pub entropy_student: Option<String>,
    /// Predictive distribution on the test set `[n, classes]`.
    pub probs: Vec<f32>,
    pub test: Uncertainty,
    pub ood: Option<Uncertainty>,
}

/// The outputs of the teacher, of each predictive student and of each Dirichlet student. The
/// i-th predictive student is paired with the i-th single-head entropy student, or the last
/// one when there are fewer; the predictive head of a multi-head student (`NAME/predictive`)
/// with its own entropy head when it has one; a Dirichlet student needs none.
pub fn model_outputs(
    run: &mut RunFolder,
    test: &Dataset,
    ood: Option<&OodSet>,
) -> (ModelOutputs, Vec<ModelOutputs>) {
    let classes = test.num_classes();
    let batch = run.config.eval.test_batch;
    let teacher = ModelOutputs {
        name: "teacher".into(),
        target: Target::Predictive,
        entropy_student: None,
        probs: run.ensemble_test.mean_probs(),
        test: Uncertainty::from_ensemble(&run.ensemble_test),
        ood: ood
            .and_then(|o| o.teacher.as_ref())
            .map(Uncertainty::from_ensemble),
    };
    let entropy_ids = run.students.students_of(Target::Entropy);
    let predictive_ids = run.students.students_of(Target::Predictive);
    let dirichlet_ids = run.students.students_of(Target::Dirichlet);
    let students = &mut run.students.students;
    let names: Vec<String> = students.iter().map(|s| s.name.clone()).collect();
    let owners: Vec<String> = students.iter().map(|s| s.student.clone()).collect();
    let mut predict = |i: usize, data: &Dataset| -> Vec<f32> {
        students[i].predict(data.images(), data.len(), batch)
    };
    let entropy_outputs: Vec<(Vec<f32>, Option<Vec<f32>>)> = entropy_ids
        .iter()
        .map(|&i| (predict(i, test), ood.map(|o| predict(i, &o.data))))
        .collect();
    let mut students = Vec::new();
    for (j, i) in predictive_ids.into_iter().enumerate() {
        let own = entropy_ids.iter().position(|&e| owners[e] == owners[i]);
        // Else the j-th single-head entropy student (or the last): never another student's head.
        let single: Vec<usize> = (0..entropy_ids.len())
            .filter(|&p| names[entropy_ids[p]] == owners[entropy_ids[p]])
            .collect();
        let pair = own.or(single.len().checked_sub(1).map(|last| single[j.min(last)]));
        let probs = predict(i, test);
        let ood_probs = ood.map(|o| predict(i, &o.data));
        let aleatoric = |ood: bool| {
            pair.and_then(|p| match ood {
                false => Some(entropy_outputs[p].0.clone()),
                true => entropy_outputs[p].1.clone(),
            })
        };
        students.push(ModelOutputs {
            name: names[i].clone(),
            target: Target::Predictive,
            entropy_student: pair.map(|p| names[entropy_ids[p]].clone()),
            test: Uncertainty::from_predictive(&probs, classes, aleatoric(false)),
            ood: ood_probs.map(|p| Uncertainty::from_predictive(&p, classes, aleatoric(true))),
            probs,
        });
    }
    for i in dirichlet_ids {
        let alphas = predict(i, test);
        let ood_alphas = ood.map(|o| predict(i, &o.data));
        students.push(ModelOutputs {
            name: names[i].clone(),
            target: Target::Dirichlet,
            entropy_student: None,
            probs: expected_predictive(&alphas, classes),
            test: Uncertainty::from_dirichlet(&alphas, classes),
            ood: ood_alphas.map(|a| Uncertainty::from_dirichlet(&a, classes)),
        });
    }
    (teacher, students)
}

/// Mean uncertainties over a set of inputs, in nats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UncertaintyMeans {
    pub total: f64,
    pub aleatoric: Option<f64>,
    pub knowledge: Option<f64>,
}

impl UncertaintyMeans {
    fn of(u: &Uncertainty) -> Self {
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len().max(1) as f64;
        UncertaintyMeans {
            total: mean(&u.total),
            aleatoric: u.aleatoric.as_deref().map(mean),
            knowledge: u.knowledge.as_deref().map(mean),
        }
    }
}

/// OOD detection by each uncertainty (knowledge only when the model has it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OodDetection {
    pub total: DetectionScores,
    pub knowledge: Option<DetectionScores>,
}

impl OodDetection {
    fn of(test: &Uncertainty, ood: &Uncertainty) -> Self {
        OodDetection {
            total: detection_scores(&ood.total, &test.total),
            knowledge: match (&test.knowledge, &ood.knowledge) {
                (Some(t), Some(o)) => Some(detection_scores(o, t)),
                _ => None,
            },
        }
    }
}

/// The numbers of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelResults {
    pub calibration: Calibration,
    pub uncertainty_test: UncertaintyMeans,
    pub uncertainty_ood: Option<UncertaintyMeans>,
    pub ood_detection: Option<OodDetection>,
}

impl ModelResults {
    fn of(m: &ModelOutputs, labels: &[u8], classes: usize) -> Self {
        ModelResults {
            calibration: calibration(&m.probs, labels, classes, &m.test.total),
            uncertainty_test: UncertaintyMeans::of(&m.test),
            uncertainty_ood: m.ood.as_ref().map(UncertaintyMeans::of),
            ood_detection: m.ood.as_ref().map(|o| OodDetection::of(&m.test, o)),
        }
    }
}

/// nDCG@20 of a student's ranking against the teacher's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ranking {
    pub total: NdcgStats,
    pub knowledge: Option<NdcgStats>,
}

/// Per-input agreement of a student's uncertainties with the teacher's on the test set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    /// Mean |student - teacher| of total uncertainty.
    pub total_mae: f64,
    /// Mean |entropy student - teacher expected entropy| (the paper's entropy MAE).
    pub aleatoric_mae: Option<f64>,
    pub knowledge_mae: Option<f64>,
    /// Fraction of test inputs where the student's knowledge uncertainty is negative.
    pub knowledge_negative_fraction: Option<f64>,
}

/// A student's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentResults {
    /// `predictive` or `dirichlet`.
    pub target: Target,
    pub entropy_student: Option<String>,
    #[serde(flatten)]
    pub model: ModelResults,
    pub ranking: Ranking,
    pub agreement: Agreement,
}

/// How the run's OOD flag (`ood_threshold.json`, on the first predictive student paired with
/// the first entropy student, as `gped predict` answers) does on this evaluation's sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OodFlagResults {
    /// The predictive student the flag was computed with.
    pub student: String,
    #[serde(flatten)]
    pub rule: OodThreshold,
    /// The share of test inputs not flagged: the flag's true-positive rate there (the run's
    /// occluded test set when data.mask_size > 0).
    pub test_tpr: f64,
    /// The share of the OOD set flagged.
    pub ood_flagged: Option<f64>,
}

impl OodFlagResults {
    fn of(rule: &OodThreshold, student: &ModelOutputs) -> Option<Self> {
        Some(OodFlagResults {
            student: student.name.clone(),
            rule: rule.clone(),
            test_tpr: 1.0 - rule.flagged_share(&student.test)?,
            ood_flagged: student.ood.as_ref().and_then(|o| rule.flagged_share(o)),
        })
    }
}

/// The OOD set's description.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OodInfo {
    pub name: String,
    pub source: OodSource,
    pub size: usize,
    /// Whether the teacher ensemble exists on this set (only for the run's own OOD set).
    pub teacher_scored: bool,
}

/// The fixed settings of the evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalSettings {
    pub ece_bins: usize,
    pub ranking_inputs: usize,
    pub ranking_k: usize,
    pub ranking_trials: usize,
    pub ranking_seed: u64,
    pub fpr_at_tpr: f64,
}

/// Everything `eval.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalResults {
    pub run_dir: String,
    pub dataset: String,
    pub arch: String,
    pub mask_size: usize,
    pub iterations: u64,
    pub ensemble_samples: u64,
    pub test_size: usize,
    pub ood: Option<OodInfo>,
    pub settings: EvalSettings,
    pub teacher: ModelResults,
    pub students: BTreeMap<String, StudentResults>,
    /// The run's OOD flag on the test and OOD sets; null when the run chose no threshold.
    pub ood_flag: Option<OodFlagResults>,
    /// The teacher chains' split R-hat and ESS, from the run's `metrics.json`; null when it
    /// has none.
    pub diagnostics: Option<Diagnostics>,
    /// Plain-language remarks (e.g. why the teacher is not scored on the OOD set).
    pub notes: Vec<String>,
}

/// Computes the summary of `teacher` and `students` on `test`.
pub fn summarise(
    run: &RunFolder,
    test: &Dataset,
    ood: Option<&OodSet>,
    teacher: &ModelOutputs,
    students: &[ModelOutputs],
) -> EvalResults {
    let cfg = &run.config;
    let classes = test.num_classes();
    let labels = test.labels();
    let ranking_seed = seeds::derive(cfg.seed, "eval-ranking");
    let ndcg = |s: &[f32], t: &[f32]| {
        ranking_ndcg(
            s,
            t,
            RANKING_INPUTS,
            RANKING_K,
            RANKING_TRIALS,
            ranking_seed,
        )
    };
    let mut notes = Vec::new();
    let student_results = students
        .iter()
        .map(|s| {
            let knowledge_pair = s
                .test
                .knowledge
                .as_deref()
                .zip(teacher.test.knowledge.as_deref());
            let results = StudentResults {
                target: s.target,
                entropy_student: s.entropy_student.clone(),
                model: ModelResults::of(s, labels, classes),
                ranking: Ranking {
                    total: ndcg(&s.test.total, &teacher.test.total),
                    knowledge: knowledge_pair.map(|(s, t)| ndcg(s, t)),
                },
                agreement: Agreement {
                    total_mae: mean_abs_error(&s.test.total, &teacher.test.total),
                    aleatoric_mae: s
                        .test
                        .aleatoric
                        .as_deref()
                        .zip(teacher.test.aleatoric.as_deref())
                        .map(|(s, t)| mean_abs_error(s, t)),
                    knowledge_mae: knowledge_pair.map(|(s, t)| mean_abs_error(s, t)),
                    knowledge_negative_fraction: s.test.knowledge.as_deref().map(|k| {
                        k.iter().filter(|&&v| v < 0.0).count() as f64 / k.len().max(1) as f64
                    }),
                },
            };
            if s.test.aleatoric.is_none() {
                notes.push(format!(
                    "Student `{}` has no entropy student to pair with: only its total \
                     uncertainty is available.",
                    s.name
                ));
            }
            (s.name.clone(), results)
        })
        .collect();
    if students.is_empty() {
        notes.push("The run has no predictive student: only the teacher is scored.".into());
    }
    match ood {
        None => notes.push(
            "No OOD set: the run has no `data.ood` and none was given with --ood, so OOD \
             detection is not reported."
                .into(),
        ),
        Some(o) if o.teacher.is_none() && cfg.data.ood.map(|d| d.as_str()) == Some(&o.name) => {
            notes.push(format!(
                "The run folder has no teacher ensemble on `{}` \
                 (ensemble_ood.safetensors is missing): only the students are scored there.",
                o.name
            ))
        }
        Some(o) if o.teacher.is_none() => notes.push(format!(
            "The teacher ensemble was only accumulated on the run's own OOD set ({}); on `{}` \
             only the students are scored.",
            cfg.data.ood.map_or("none", |d| d.as_str()),
            o.name
        )),
        Some(_) => {}
    }
    EvalResults {
        run_dir: run.dir.display().to_string(),
        dataset: cfg.data.dataset.as_str().into(),
        arch: cfg.teacher.arch.as_str().into(),
        mask_size: cfg.data.mask_size,
        iterations: cfg.schedule.iterations,
        ensemble_samples: run.ensemble_test.samples(),
        test_size: test.len(),
        ood: ood.map(|o| OodInfo {
            name: o.name.clone(),
            source: o.source,
            size: o.data.len(),
            teacher_scored: o.teacher.is_some(),
        }),
        settings: EvalSettings {
            ece_bins: super::calibration::ECE_BINS,
            ranking_inputs: RANKING_INPUTS,
            ranking_k: RANKING_K,
            ranking_trials: RANKING_TRIALS,
            ranking_seed,
            fpr_at_tpr: 0.95,
        },
        teacher: ModelResults::of(teacher, labels, classes),
        students: student_results,
        ood_flag: run
            .students
            .ood
            .as_ref()
            .zip(students.iter().find(|s| s.target == Target::Predictive))
            .and_then(|(rule, s)| OodFlagResults::of(rule, s)),
        diagnostics: run.diagnostics.clone(),
        notes,
    }
}

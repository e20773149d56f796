//! `gped eval`: what the distilled uncertainty is for. From a finished run folder (students and
//! the teacher's streamed ensemble sums) it computes the uncertainty decomposition of teacher
//! and students, OOD detection (`ood`), the students' uncertainty ranking against the teacher
//! (`ranking`), calibration and selective prediction (`calibration`), draws the plots
//! (`plots`) and writes `report.md` and `eval.json` (`report`). `run_folder` reads the run
//! back, `results` computes every number and `pipeline` ties the steps together.

pub mod calibration;
pub mod curves;
mod figures;
pub mod ood;
pub mod pipeline;
pub mod plots;
pub mod ranking;
pub mod report;
pub mod results;
pub mod run_folder;

pub use calibration::{Calibration, ECE_BINS, RejectionCurve, ReliabilityBin, calibration};
pub use curves::LearningCurves;
pub use figures::{DrawResult, Figure, SANS};
pub use ood::{DetectionScores, auroc, average_precision, detection_scores, fpr_at_tpr, roc_curve};
pub use pipeline::{EvalOptions, EvalOutput, evaluate_run};
pub use plots::{PlotFile, render};
pub use ranking::{NdcgStats, ndcg_at_k, ranking_ndcg};
pub use results::{EvalResults, ModelOutputs, model_outputs, summarise};
pub use run_folder::{OodSet, OodSource, RunFolder, load_ood_set};

//! `gped eval`: what the distilled uncertainty is for. From a finished run folder (students and
//! the teacher's streamed ensemble sums) it computes the uncertainty decomposition of teacher
//! and students, OOD detection (`ood`), the students' uncertainty ranking against the teacher
//! (`ranking`), calibration and selective prediction (`calibration`), draws the plots
//! (`plots`) and writes `report.md` and `eval.json` (`report`). `run_folder` reads the run
//! back, `results` computes every number and `pipeline` ties the steps together.

pub mod calibration;
pub mod ood;
pub mod ranking;

pub use calibration::{Calibration, ECE_BINS, ReliabilityBin, RejectionCurve, calibration};
pub use ood::{DetectionScores, auroc, average_precision, detection_scores, fpr_at_tpr, roc_curve};
pub use ranking::{NdcgStats, ndcg_at_k, ranking_ndcg};

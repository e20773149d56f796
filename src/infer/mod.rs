//! The distilled students, for prediction only: a finished run's student networks read back
//! from `students/NAME.safetensors` (no optimiser, estimator or teacher ensemble), whose one
//! forward pass gives the posterior predictive distribution and its split into aleatoric
//! (expected entropy) and epistemic (mutual information) uncertainty (paper, Sec. 3).

mod distilled;

pub use distilled::{Distilled, DistilledStudent, Predictions, read_run_config};

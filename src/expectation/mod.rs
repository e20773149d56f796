//! Posterior expectations E_{p(theta|D)}[g(x, theta)] and their estimators. A target `g` says
//! what the teacher's value is at an input and how a student predicts and is scored against it;
//! an estimator (U_s, Eq. 9, or U_o, Eq. 10) turns the current sample's values into the
//! student's training targets. `entropy` is H[p], of one sample or of the ensemble mean.

pub mod entropy;
pub mod estimator;
pub mod target;

pub use entropy::{entropy, entropy_rows};
pub use estimator::{CurrentSample, Estimator, RunningMean};
pub use target::{ExpectedEntropy, MarginalVariance, PosteriorExpectation, PosteriorPredictive};

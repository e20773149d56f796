//! Posterior expectations E_{p(theta|D)}[g(x, theta)] and their estimators. A target `g` says
//! what the teacher's value is at an input and how a student predicts and is scored against it;
//! an estimator (U_s, Eq. 9, or U_o, Eq. 10) turns the current sample's values into the
//! student's training targets (`mutual_information`: U_o for the mutual information, which is
//! no single expectation). `entropy` is H[p], of one sample or of the ensemble mean;
//! `columns` reads and writes one head's outputs of a multi-head student. `dirichlet` is
//! EnD^2's Dirichlet target, the baseline GPED is compared with.

pub mod columns;
pub mod dirichlet;
pub mod entropy;
pub mod estimator;
pub mod mutual_information;
pub mod target;

pub use dirichlet::{Annealing, DirichletTarget};
pub use entropy::{entropy, entropy_rows};
pub use estimator::{CurrentSample, Estimator, RunningMean};
pub use mutual_information::{RunningMutualInformation, mutual_information};
pub use target::{
    ExpectedEntropy, MarginalVariance, MutualInformation, PosteriorExpectation,
    PosteriorPredictive, for_student, for_target,
};

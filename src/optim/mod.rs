//! The students' optimisers (Eq. 8 is minimised with Adam in the paper), plain SGD, and the
//! learning-rate schedule.

pub mod adam;
pub mod optimizer;
pub mod schedule;
pub mod sgd;

pub use adam::{Adam, AdamConfig};
pub use optimizer::Optimizer;
pub use schedule::StepLr;
pub use sgd::{Sgd, SgdConfig};

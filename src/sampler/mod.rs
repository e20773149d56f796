//! Samplers of the teacher's posterior p(theta | D): stochastic gradient Langevin dynamics
//! (Eq. 7 of the paper).

pub mod sgld;

pub use sgld::{Sgld, SgldCoefficients, SgldConfig, sgld_update};

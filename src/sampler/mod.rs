//! Samplers of the teacher's posterior p(theta | D) ∝ exp(-U(theta)), with the paper's
//! spherical Gaussian prior N(0, I / tau): the potential is
//! U(theta) = tau |theta|^2 / 2 - sum_i log p(y_i | x_i, theta), whose gradient every sampler
//! estimates on a minibatch as N g_bar + tau theta (g_bar: the mean minibatch NLL gradient a
//! backward pass leaves in [`ParamSet::grads`], N: the training-set size).
//!
//! One trait, [`Sampler`], and three update rules from the literature: SGLD (`sgld`, the
//! paper's Eq. 7), SGHMC (`sghmc`, with momentum and friction) and pSGLD (`psgld`, with an
//! RMSprop preconditioner). Each runs on a step-size [`Schedule`] (`schedule`): constant,
//! polynomial decay, or the cyclical schedule of cSG-MCMC, whose exploration steps drop the
//! noise and whose samples are not used (cSGLD is SGLD on it). `select` builds the sampler a
//! run's config asks for. Every update is one fused pass over the flat buffers, its noise
//! drawn a stack block at a time from a counter-based
//! [`GaussianStream`](crate::base::GaussianStream), long buffers split over rayon's threads: value i of a
//! step's noise depends only on the seed and on (step, i), so the result is bit-identical for
//! any number of threads, and a sampler's [`Stateful`] state (noise position, step count,
//! momentum or RMS average) resumes a run bit for bit. `diagnostics` tells whether chains
//! have mixed: split R-hat and the effective sample size of their draws.

pub mod diagnostics;
pub mod psgld;
pub mod schedule;
pub mod select;
pub mod sghmc;
pub mod sgld;

#[cfg(test)]
mod linear_regression;
#[cfg(test)]
mod posterior_tests;
#[cfg(test)]
mod resume_tests;
#[cfg(test)]
mod test_support;

pub use psgld::{Psgld, PsgldConfig};
pub use schedule::Schedule;
pub use select::from_config;
pub use sghmc::{Sghmc, SghmcConfig};
pub use sgld::{Sgld, SgldCoefficients, SgldConfig, sgld_update};

use crate::base::Stateful;
use crate::nn::ParamSet;
use crate::{Error, Result};

/// Values per fused block: the noise for them lives in a stack buffer (1 KiB) and stays in L1.
const FUSED_BLOCK: usize = 256;
/// Values per parallel task (a multiple of the noise block).
const PAR_CHUNK: usize = 16 * 1024;

/// A sampler of the teacher's posterior: one step per iteration of Algorithm 1.
pub trait Sampler: Stateful + Send {
    /// The step of iteration `t` on `params.values`, reading the mean minibatch NLL gradient
    /// from `params.grads` (left unchanged); eta_t is the schedule's at `t`.
    fn step(&mut self, params: &mut ParamSet, t: u64);

    /// The update rule's name in the literature (`sgld`, `sghmc`, `psgld`); a checkpoint
    /// keeps the sampler's state under it.
    fn name(&self) -> &'static str;

    /// Whether the sample after step `t` is one to use (distil, add to the ensemble): false in
    /// the exploration phase of a cyclical schedule, true otherwise. Burn-in is the caller's.
    fn collecting(&self, t: u64) -> bool;

    /// Number of steps taken.
    fn steps(&self) -> u64;
}

/// Checks what every sampler shares: eta > 0, tau >= 0 (both finite) and N >= 1.
fn check_common(step_size: f64, prior_precision: f64, data_size: usize) -> Result<()> {
    if !(step_size.is_finite() && step_size > 0.0) {
        return Err(Error::config(
            "sampler.step_size",
            format!("must be a finite positive number, found {step_size}"),
        ));
    }
    if !(prior_precision.is_finite() && prior_precision >= 0.0) {
        return Err(Error::config(
            "sampler.prior_precision",
            format!("must be finite and non-negative, found {prior_precision}"),
        ));
    }
    if data_size == 0 {
        return Err(Error::config(
            "sampler.data_size",
            "must be at least 1, found 0",
        ));
    }
    Ok(())
}

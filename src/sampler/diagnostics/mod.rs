//! Convergence diagnostics of a sampler's chains: split R-hat (`rhat`) and the effective
//! sample size (`ess`) of one scalar quantity drawn by C chains, and the record of the draws
//! a run keeps for them (`draws`) with its summary over many quantities (`summary`).
//!
//! Each function takes the chains as equal-length slices of draws, in draw order, and
//! answers `None` when they cannot be diagnosed (no chain, chains of different lengths,
//! fewer than 4 draws per chain, a non-finite draw). The formulas are those of BDA3
//! (Gelman et al. 2013, section 11.4-11.5) as Stan and ArviZ implement them (ArviZ's
//! `_rhat` on `_split_chains`, and `_ess`): plain split R-hat, not the rank-normalised one of
//! Vehtari et al. (2021); ESS on the chains as given (not split), from their autocovariances
//! and Geyer's initial positive then initial monotone sequence. One chain is a valid input to
//! both: its R-hat compares its two halves, its ESS comes from its own autocorrelation.

pub mod draws;
pub mod ess;
pub mod rhat;
pub mod summary;

#[cfg(test)]
mod tests;

pub use draws::ChainDraws;
pub use ess::ess;
pub use rhat::{rhat, split_rhat};
pub use summary::{Diagnostics, EssSummary, RhatSummary};

/// The common length of `chains`, if they are at least one, all of one length, with at least
/// `min` draws and only finite values.
fn common_len(chains: &[&[f64]], min: usize) -> Option<usize> {
    let n = chains.first()?.len();
    let usable = n >= min
        && chains.iter().all(|c| c.len() == n)
        && chains.iter().all(|c| c.iter().all(|v| v.is_finite()));
    usable.then_some(n)
}

/// The mean of `x` (not empty).
fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The sample variance of `x` (denominator len - 1; at least two values).
fn sample_variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64
}

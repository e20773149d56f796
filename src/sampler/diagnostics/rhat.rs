//! The potential scale reduction factor R-hat (BDA3, section 11.4): for m chains of n draws
//! with within-chain variance W (the mean of the chains' sample variances) and between-chain
//! variance B (n times the sample variance of the chain means),
//!
//! ```text
//! var+ = (n - 1)/n W + B/n,      R-hat = sqrt(var+ / W)
//! ```
//!
//! which tends to 1 from above as the chains forget their starts and agree. Split R-hat first
//! cuts each chain into its first and last floor(n/2) draws (the middle draw of an odd chain
//! is dropped, as ArviZ does), so that one chain, or chains that drift together, are
//! compared with themselves: C chains give 2C half-chains, one chain gives 2.
//! When every draw is equal (W = 0, B = 0) R-hat is 1; when each half-chain is constant but
//! they differ (W = 0, B > 0) it is +infinity.

use super::{common_len, mean, sample_variance};

/// Split R-hat of `chains` (each the draws of one chain, all of one length, at least 4
/// each); `None` when they cannot be diagnosed (see the module `diagnostics`).
pub fn split_rhat(chains: &[&[f64]]) -> Option<f64> {
    let n = common_len(chains, 4)?;
    let half = n / 2;
    let halves: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| [&c[..half], &c[n - half..]])
        .collect();
    rhat(&halves)
}

/// R-hat of `chains` as given (no split): at least two chains of at least two draws each.
pub fn rhat(chains: &[&[f64]]) -> Option<f64> {
    let n = common_len(chains, 2)?;
    if chains.len() < 2 {
        return None;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let within = mean(
        &chains
            .iter()
            .map(|c| sample_variance(c))
            .collect::<Vec<_>>(),
    );
    let between_over_n = sample_variance(&means);
    let n = n as f64;
    let var_plus = (n - 1.0) / n * within + between_over_n;
    Some(match (within > 0.0, between_over_n > 0.0) {
        (true, _) => (var_plus / within).sqrt(),
        (false, false) => 1.0,
        (false, true) => f64::INFINITY,
    })
}

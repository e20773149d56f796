//! The effective sample size of C chains of n draws (BDA3 section 11.5, as Stan's
//! `compute_effective_sample_size` and ArviZ's `_ess` compute it): with each chain's
//! autocovariance at lag t, acov_c(t) = 1/n sum_i (x_i - xbar_c)(x_{i+t} - xbar_c), the
//! mean within-chain variance W = mean_c acov_c(0) n/(n - 1) and
//! var+ = (n - 1)/n W (+ the sample variance of the chain means when C > 1), the combined
//! autocorrelation is
//!
//! ```text
//! rho_t = 1 - (W - mean_c acov_c(t)) / var+
//! ```
//!
//! Its sum is truncated by Geyer's initial positive sequence (pairs rho_{2k} + rho_{2k+1}
//! summed while positive) made monotone (each pair no larger than the one before), and
//! ESS = C n / tau with tau = -1 + 2 sum_t rho_t, tau at least 1/log10(C n) (so ESS is at
//! most C n log10(C n)). With one chain var+ = acov(0): ESS comes from that chain's
//! autocorrelation alone. Chains whose draws are all equal have ESS = C n (as ArviZ).
//! An AR(1) chain x_t = r x_{t-1} + e_t has tau = (1 + r)/(1 - r).
//!
//! The autocovariances are summed lag by lag, only as far as the sequence runs (Stan and
//! ArviZ use an FFT for all n lags): O(n t_max) per chain, where t_max is a few
//! autocorrelation times.

use super::{common_len, mean, sample_variance};

/// The effective sample size of `chains` (each the draws of one chain, all of one length, at
/// least 4 each); `None` when they cannot be diagnosed (see the module `diagnostics`).
pub fn ess(chains: &[&[f64]]) -> Option<f64> {
    let n = common_len(chains, 4)?;
    let total = (chains.len() * n) as f64;
    let first = chains[0][0];
    if chains.iter().all(|c| c.iter().all(|&v| v == first)) {
        return Some(total);
    }
    let centred: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let m = mean(c);
            c.iter().map(|v| v - m).collect()
        })
        .collect();
    // The mean over chains of acov_c(t).
    let mean_acov = |t: usize| -> f64 {
        let sum: f64 = centred
            .iter()
            .map(|c| {
                c[..n - t]
                    .iter()
                    .zip(&c[t..])
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
            .sum();
        sum / n as f64 / chains.len() as f64
    };
    let nf = n as f64;
    let within = mean_acov(0) * nf / (nf - 1.0);
    let mut var_plus = within * (nf - 1.0) / nf;
    if chains.len() > 1 {
        let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
        var_plus += sample_variance(&means);
    }
    let rho = |t: usize| 1.0 - (within - mean_acov(t)) / var_plus;
    let tau = geyer_tau(n, rho);
    Some(total / tau.max(1.0 / total.log10()))
}

/// tau = -1 + 2 sum_t rho_t, the sum truncated by Geyer's initial positive sequence and made
/// monotone, for a chain of `n` draws (at least 4) with autocorrelation `rho` (line for line
/// ArviZ's `_ess`).
fn geyer_tau(n: usize, rho: impl Fn(usize) -> f64) -> f64 {
    let mut rho_hat = vec![0.0; n];
    let (mut even, mut odd) = (1.0, rho(1));
    (rho_hat[0], rho_hat[1]) = (even, odd);
    // Initial positive sequence: pairs (rho_{t+1}, rho_{t+2}) kept while their sum is >= 0.
    let mut t = 1;
    while t < n - 3 && even + odd > 0.0 {
        (even, odd) = (rho(t + 1), rho(t + 2));
        if even + odd >= 0.0 {
            (rho_hat[t + 1], rho_hat[t + 2]) = (even, odd);
        }
        t += 2;
    }
    // The last pair kept ends at lag max_t + 1 (max_t = -1 when none was: rho_0 alone).
    let last = t - 1;
    // The last even lag still improves the estimate when positive.
    if even > 0.0 {
        rho_hat[last] = even;
    }
    // Initial monotone sequence: no pair larger than the one before.
    let mut t = 1;
    while t + 3 <= last {
        let (before, pair) = (rho_hat[t - 1] + rho_hat[t], rho_hat[t + 1] + rho_hat[t + 2]);
        if pair > before {
            rho_hat[t + 1] = before / 2.0;
            rho_hat[t + 2] = before / 2.0;
        }
        t += 2;
    }
    -1.0 + 2.0 * rho_hat[..last].iter().sum::<f64>() + rho_hat[last]
}

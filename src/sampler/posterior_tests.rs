//! Every sampler as a sampler: on the Bayesian linear regression of `linear_regression`, with
//! minibatch gradients (m = 5 of the n = 20 examples, shuffled epochs, as a run's teacher),
//! the chain's mean and covariance match the exact posterior mean mu and covariance S within
//! 5 batch-means standard errors, and the test could fail (5 standard errors are under 10% of
//! the posterior's scale).
//!
//! No sampler is exact at a finite step size: each test predicts its sampler's leading-order
//! bias of the covariance at its settings, and `assert_posterior` checks that this bias is
//! below one standard error, i.e. that the step size is small enough for the exact posterior
//! to be the target at this tolerance. The predictions come from one eigen-direction k of
//! the posterior precision L (eigenvalue lambda_k) at a time, where grad U = lambda_k e and
//! the minibatch adds a gradient noise of variance q_k (`Regression::minibatch_noise`):
//! each sampler is then a linear recursion whose stationary variance is solved exactly, and
//! expanded to first order in eta. The mean has no such bias (the recursions are linear with
//! an unbiased gradient, so the stationary mean is mu), except pSGLD's (see its tests: pSGLD
//! without its Gamma term is biased at any step size unless its RMS average is long).

use super::linear_regression::{Regression, run};
use super::*;

/// Minibatch size of every test: 5 of the 20 examples.
const M: usize = 5;

#[test]
fn sgld_samples_the_posterior_with_minibatches() {
    // e' = (1 - eta lambda/2) e - eta/2 zeta + sqrt(eta) xi, Var zeta = q: stationary variance
    // (eta + eta^2 q / 4) / (1 - (1 - eta lambda/2)^2) = (1 + eta q/4) / (lambda (1 - eta
    // lambda/4)), a relative bias of eta (q + lambda) / 4 (at most 2.2e-3 here: eta = 3e-3,
    // q_2 = 1.15, lambda_2 = 5.35). Autocorrelation time about 4 / (eta lambda_1) = 680 steps:
    // the 100 batches of 40,000 steps are 60 times longer.
    let reg = Regression::new();
    let eta = 3e-3;
    let config = SgldConfig {
        step_size: eta,
        prior_precision: reg.tau,
        data_size: reg.len(),
    };
    let mut sgld = Sgld::new(config, 1).unwrap();
    let moments = run(&mut sgld, &reg, M, 10_000, 4_010_000, 2);
    let q = reg.minibatch_noise(M);
    let bias = reg.cov_scaled(|k| eta * (q[k] + reg.lams[k]) / 4.0);
    moments.assert_posterior(&reg, bias, "SGLD");
}

#[test]
fn sghmc_samples_the_posterior_with_minibatches() {
    // Along eigen-direction k (h = eta lambda, beta = 1 - alpha):
    //   v' = beta v - h e - eta zeta + sqrt(2 alpha eta) xi,  e' = e + v',
    // a linear recursion in (e, v) whose stationary covariance P = F P F^T + Q solves (three
    // linear equations; solved symbolically) to
    //   Var e = (1 + eta q / (2 alpha)) / (lambda (1 - eta lambda / (2 (2 - alpha)))),
    // a relative bias of eta q / (2 alpha) + eta lambda / (2 (2 - alpha)) (at most 3.1e-3
    // here: eta = 2e-4, alpha = 0.1). (At alpha = 1 this is SGLD's at step 2 eta.) In the
    // overdamped regime (eta lambda < alpha^2 / 4) theta moves like SGLD at step 2 eta / alpha
    // = 4e-3: autocorrelation time about 2 alpha / (eta lambda_1) = 510 steps.
    let reg = Regression::new();
    let (eta, alpha) = (2e-4, 0.1);
    let config = SghmcConfig {
        step_size: eta,
        prior_precision: reg.tau,
        data_size: reg.len(),
        friction: alpha,
    };
    let mut sghmc = Sghmc::new(config, 2, 3).unwrap();
    let moments = run(&mut sghmc, &reg, M, 10_000, 4_010_000, 4);
    let q = reg.minibatch_noise(M);
    let bias =
        reg.cov_scaled(|k| eta * q[k] / (2.0 * alpha) + eta * reg.lams[k] / (2.0 * (2.0 - alpha)));
    moments.assert_posterior(&reg, bias, "SGHMC");
}

#[test]
fn sghmc_on_the_cyclical_schedule_samples_the_posterior_in_its_sampling_phases() {
    // cSGHMC (exploration: SGD with momentum), cycles as in the cSGLD test: SGHMC's bias
    // above at the largest sampling step, eta_0 s(beta L) (the step only decreases in the
    // phase), plus the variance lacking after the mode as in the cSGLD test, at the SGLD-like
    // step 2 eta / alpha.
    let reg = Regression::new();
    let (eta0, alpha, beta) = (6e-4, 0.1, 0.25);
    let (cycle, cycles) = (100_000u64, 101u64);
    let config = SghmcConfig {
        step_size: eta0,
        prior_precision: reg.tau,
        data_size: reg.len(),
        friction: alpha,
    };
    let schedule = Schedule::cyclical(cycle * cycles, cycles, beta).unwrap();
    let mut sghmc = Sghmc::new(config, 2, 5).unwrap().with_schedule(schedule);
    let moments = run(&mut sghmc, &reg, M, cycle, cycle * cycles, 6);
    assert_eq!(moments.kept as u64, (cycles - 1) * cycle * 3 / 4);
    let q = reg.minibatch_noise(M);
    let eta = eta0 * schedule.factor(cycle / 4);
    let sampling = (cycle * 3 / 4) as f64;
    let bias = reg.cov_scaled(|k| {
        eta * q[k] / (2.0 * alpha)
            + eta * reg.lams[k] / (2.0 * (2.0 - alpha))
            + 1.0 / (reg.lams[k] * (2.0 * eta / alpha) * sampling)
    });
    moments.assert_posterior(&reg, bias, "cSGHMC");
}

#[test]
fn psgld_samples_the_posterior_with_minibatches_when_its_average_is_long() {
    // With G frozen, pSGLD along eigen-direction k is SGLD at step eta G: relative bias
    // eta G (q + lambda) / 4 (bounded here with G's largest value at the end of the chain).
    // G is not frozen: V follows g_bar^2, which depends on theta, and dropping Gamma =
    // div G leaves a bias that no step size removes when V follows theta closely (the next
    // test). Here V averages over a window (1 / (1 - a) = 10^5 steps, a = 0.99999) a hundred
    // times the chain's autocorrelation time (4 / (eta G lambda_1), G about 12: 850 steps),
    // so that G hardly depends on the current theta: the regime where the paper's practice of
    // dropping Gamma is sound. V starts at 0, so the first steps are larger; the burn-in
    // covers 5 windows. (Measured on 8 x 10^6 steps: a = 0.9999 is within 2.3 standard errors
    // too; a = 0.999 has the variances 4-5% too large, 4-6 standard errors.)
    let reg = Regression::new();
    let (eta, a) = (2e-4, 0.99999);
    let mut psgld = Psgld::new(psgld_config(&reg, eta, a), 2, 7).unwrap();
    let moments = run(&mut psgld, &reg, M, 500_000, 4_500_000, 8);
    let g_max = psgld
        .mean_square()
        .iter()
        .map(|&v| 1.0 / (1e-5 + (v as f64).sqrt()))
        .fold(0.0, f64::max);
    let q = reg.minibatch_noise(M);
    let bias = reg.cov_scaled(|k| eta * g_max * (q[k] + reg.lams[k]) / 4.0);
    moments.assert_posterior(&reg, bias, "pSGLD");
}

#[test]
fn psgld_without_gamma_is_biased_when_its_average_follows_theta() {
    // A limitation, not a goal: at Li et al.'s a = 0.99 (the default `sampler.rms_decay`) V
    // averages over 100 steps, less than the chain's autocorrelation time, so G is a
    // function of the current theta and the dropped Gamma = div G matters: on this problem
    // the variances come out 20-30% too large (measured on 8 x 10^6 steps: 0.424 and 0.445
    // against 0.351 and 0.349, 15-20 standard errors; the same at eta = 1e-4, so not a
    // discretisation bias). A network's many weights share the chain's step and differ in G,
    // and Li et al. report the term negligible there; here the test keeps the regime in view.
    let reg = Regression::new();
    let mut psgld = Psgld::new(psgld_config(&reg, 2e-4, 0.99), 2, 7).unwrap();
    let moments = run(&mut psgld, &reg, M, 10_000, 4_010_000, 8);
    for r in 0..2 {
        let (got, want, se) = (moments.cov[r][r], reg.cov[r][r], moments.se_cov[r][r]);
        assert!(
            got > 1.1 * want && got - want > 5.0 * se,
            "var[{r}] {got} vs posterior {want} (se {se:.2e}): the bias is gone?"
        );
    }
}

fn psgld_config(reg: &Regression, eta: f64, a: f64) -> PsgldConfig {
    PsgldConfig {
        step_size: eta,
        prior_precision: reg.tau,
        data_size: reg.len(),
        rms_decay: a,
        rms_epsilon: 1e-5,
    }
}

#[test]
fn cyclical_sgld_samples_the_posterior_in_its_sampling_phases() {
    // cSGLD (kind = "cyclical"): cycles of L = 10^5 steps, the first quarter exploring (SGD:
    // theta goes to the mode), the rest sampling with eta_t falling from eta_0 s(L/4) =
    // 0.854 eta_0 to 0. Only the sampling phases' samples are kept (checked by their count);
    // one cycle of burn-in, then 100 cycles, one per batch of the standard errors (the
    // exploration makes cycles nearly independent). (A shorter exploration than the default
    // 0.8 keeps more of the steps, and of the larger ones, as samples: the same test with
    // beta = 0.5 needs 5 times the steps for the same standard errors.)
    // Bias: SGLD's eta (q + lambda) / 4 at the largest sampling step (the step only
    // decreases), plus the variance the chain lacks as it leaves the mode at the start of each
    // phase: relaxing from 0 at rate lambda in Langevin time (sum of eta_t), it lacks about
    // 1 / (lambda eta_s) steps' worth of variance, a relative 1 / (lambda eta_s 3L/4) of the
    // phase's 3L/4 samples.
    let reg = Regression::new();
    let (eta0, beta) = (1.2e-2, 0.25);
    let (cycle, cycles) = (100_000u64, 101u64);
    let mut cfg = crate::config::SamplerConfig {
        kind: crate::config::SamplerKind::Cyclical,
        step_size: eta0,
        prior_precision: reg.tau,
        cycles,
        exploration: beta,
        ..Default::default()
    };
    cfg.batch_size = M;
    let mut csgld = from_config(&cfg, cycle * cycles, reg.len(), 2, 9).unwrap();
    assert_eq!(csgld.name(), "sgld");
    assert!(!csgld.collecting(cycle / 4 - 1) && csgld.collecting(cycle / 4));
    assert!(csgld.collecting(cycle - 1) && !csgld.collecting(cycle));
    let moments = run(csgld.as_mut(), &reg, M, cycle, cycle * cycles, 10);
    assert_eq!(moments.kept as u64, (cycles - 1) * cycle * 3 / 4);
    let q = reg.minibatch_noise(M);
    let eta = eta0
        * Schedule::Cyclical {
            cycle,
            exploration: beta,
        }
        .factor(cycle / 4);
    let sampling = (cycle * 3 / 4) as f64;
    let bias =
        reg.cov_scaled(|k| eta * (q[k] + reg.lams[k]) / 4.0 + 1.0 / (reg.lams[k] * eta * sampling));
    moments.assert_posterior(&reg, bias, "cSGLD");
}

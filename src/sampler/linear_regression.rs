//! Test fixture: Bayesian linear regression, whose posterior is a known Gaussian, to test the
//! samplers as samplers. The model: y_i = x_i . w + eps_i, eps_i ~ N(0, s2), prior
//! w ~ N(0, I / tau), n = 20 examples, w in R^2 (the data of `sgld_tests`). Completing the
//! square in -log p(w | D) = |y - X w|^2 / (2 s2) + tau |w|^2 / 2 gives the posterior
//!   precision L = tau I + X^T X / s2,  covariance S = L^-1,  mean mu = S X^T y / s2,
//! and the mean NLL gradient of a minibatch B of m examples is
//!   g_B(w) = sum_{i in B} x_i (x_i . w - y_i) / (m s2),
//! so that N g_B + tau w with N = n is an unbiased estimate of grad U = L (w - mu).
//!
//! [`run`] drives a sampler with such minibatch gradients (shuffled epochs, as a run's
//! teacher) and keeps the samples the sampler collects; [`Moments::assert_posterior`] checks
//! the chain's mean and covariance against mu and S within 5 Monte Carlo standard errors,
//! which come from batch means (Flegal & Jones 2010): the kept samples are cut into 100
//! consecutive batches, and the standard error of an average is the standard deviation of its
//! batch averages over sqrt(100). Batches much longer than the chain's autocorrelation time
//! are nearly independent, so this accounts for the autocorrelation (equivalently, for the
//! effective sample size T / tau_int) without a model of the chain.

use super::Sampler;
use crate::data::EpochSampler;
use crate::nn::ParamSet;

/// Batches of the batch-means standard errors.
const BATCHES: usize = 100;
/// Tolerance in standard errors.
const Z: f64 = 5.0;

/// The regression problem and its exact posterior.
pub(super) struct Regression {
    xs: Vec<[f64; 2]>,
    ys: Vec<f64>,
    /// s2: the noise variance of the likelihood.
    s2: f64,
    /// tau: the prior precision.
    pub tau: f64,
    /// mu: the posterior mean.
    pub mean: [f64; 2],
    /// S: the posterior covariance.
    pub cov: [[f64; 2]; 2],
    /// Eigenvalues of L, ascending (1.950 and 5.346), and their unit eigenvectors (rows).
    pub lams: [f64; 2],
    pub vecs: [[f64; 2]; 2],
}

impl Regression {
    /// The data of `sgld_tests`: x_i = (cos i, 0.6 cos i + 0.8 sin 1.7 i),
    /// y_i = x_i . (1, -0.5) + 0.7 sin 3.1 i, s2 = 4, tau = 1. Posterior (by the formulas
    /// above): mu = (0.5702, -0.1335), S = [[0.3512, -0.1628], [-0.1628, 0.3486]]
    /// (correlation -0.47).
    pub fn new() -> Self {
        let (n, s2, tau) = (20usize, 4.0f64, 1.0f64);
        let xs: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let a = (i as f64).cos();
                [a, 0.6 * a + 0.8 * (1.7 * i as f64).sin()]
            })
            .collect();
        let ys: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| x[0] - 0.5 * x[1] + 0.7 * (3.1 * i as f64).sin())
            .collect();
        let (mut xtx, mut xty) = ([[0.0f64; 2]; 2], [0.0f64; 2]);
        for (x, &y) in xs.iter().zip(&ys) {
            for r in 0..2 {
                xty[r] += x[r] * y;
                for c in 0..2 {
                    xtx[r][c] += x[r] * x[c];
                }
            }
        }
        let l = [
            [tau + xtx[0][0] / s2, xtx[0][1] / s2],
            [xtx[1][0] / s2, tau + xtx[1][1] / s2],
        ];
        let det = l[0][0] * l[1][1] - l[0][1] * l[1][0];
        let cov = [
            [l[1][1] / det, -l[0][1] / det],
            [-l[1][0] / det, l[0][0] / det],
        ];
        let mean = [
            (cov[0][0] * xty[0] + cov[0][1] * xty[1]) / s2,
            (cov[1][0] * xty[0] + cov[1][1] * xty[1]) / s2,
        ];
        // Eigen-decomposition of the symmetric [[a, b], [b, c]] (b != 0 here):
        // l = (a + c)/2 -+ sqrt(((a - c)/2)^2 + b^2), v = (b, l - a) normalised.
        let (a, b, c) = (l[0][0], l[0][1], l[1][1]);
        let rad = (0.25 * (a - c) * (a - c) + b * b).sqrt();
        let lams = [0.5 * (a + c) - rad, 0.5 * (a + c) + rad];
        let vecs = lams.map(|lam| {
            let (x, y) = (b, lam - a);
            let norm = (x * x + y * y).sqrt();
            [x / norm, y / norm]
        });
        Regression {
            xs,
            ys,
            s2,
            tau,
            mean,
            cov,
            lams,
            vecs,
        }
    }

    /// N, the number of examples.
    pub fn len(&self) -> usize {
        self.xs.len()
    }

    /// g_B(w) into `grads`: the mean NLL gradient of the examples `batch` at `w`.
    pub fn minibatch_gradient(&self, w: &[f32], batch: &[usize], grads: &mut [f32]) {
        let mut g = [0.0f64; 2];
        for &i in batch {
            let (x, y) = (self.xs[i], self.ys[i]);
            let residual = x[0] * w[0] as f64 + x[1] * w[1] as f64 - y;
            g[0] += x[0] * residual;
            g[1] += x[1] * residual;
        }
        let scale = 1.0 / (batch.len() as f64 * self.s2);
        grads[0] = (g[0] * scale) as f32;
        grads[1] = (g[1] * scale) as f32;
    }

    /// q_k: the variance of the minibatch noise N (g_B(w) - g_D(w)) along eigenvector k,
    /// averaged over w from the posterior, for minibatches of `m` (a uniform subset: what an
    /// epoch's batch is, marginally). Per example u_i(w) = x_i (x_i . w - y_i) / s2; the mean
    /// of m of the n drawn without replacement has covariance (1 - (m-1)/(n-1)) C(w) / m,
    /// C(w) the covariance of the u_i over the examples, so N^2 times that; u_i(w) =
    /// u_i(mu) + A_i d with A_i = x_i x_i^T / s2 and d = w - mu ~ N(0, S), whence
    /// E C(w) = C(mu) + mean_i(A_i S A_i) - A_bar S A_bar. (0.24 and 1.15 for m = 5.)
    pub fn minibatch_noise(&self, m: usize) -> [f64; 2] {
        let n = self.len() as f64;
        let u: Vec<[f64; 2]> = self
            .xs
            .iter()
            .zip(&self.ys)
            .map(|(x, &y)| {
                let r = (x[0] * self.mean[0] + x[1] * self.mean[1] - y) / self.s2;
                [x[0] * r, x[1] * r]
            })
            .collect();
        let u_bar = [0, 1].map(|r| u.iter().map(|v| v[r]).sum::<f64>() / n);
        let a: Vec<[[f64; 2]; 2]> = self
            .xs
            .iter()
            .map(|x| [0, 1].map(|r| [0, 1].map(|c| x[r] * x[c] / self.s2)))
            .collect();
        let a_bar = [0, 1].map(|r| [0, 1].map(|c| a.iter().map(|m| m[r][c]).sum::<f64>() / n));
        let asa = |m: &[[f64; 2]; 2]| {
            let ms = mul(m, &self.cov);
            mul(&ms, m)
        };
        let mut c = [[0.0; 2]; 2];
        for (ui, ai) in u.iter().zip(&a) {
            let asa_i = asa(ai);
            for r in 0..2 {
                for k in 0..2 {
                    c[r][k] += ((ui[r] - u_bar[r]) * (ui[k] - u_bar[k]) + asa_i[r][k]) / n;
                }
            }
        }
        let asa_bar = asa(&a_bar);
        let factor = n * n * (1.0 - (m as f64 - 1.0) / (n - 1.0)) / m as f64;
        [0, 1].map(|k| {
            let v = self.vecs[k];
            factor
                * (0..2)
                    .map(|r| {
                        (0..2)
                            .map(|j| v[r] * (c[r][j] - asa_bar[r][j]) * v[j])
                            .sum::<f64>()
                    })
                    .sum::<f64>()
        })
    }

    /// The covariance sum_k v_k v_k^T f(k) / lambda_k: S when f = 1; with f = 1 + b_k the
    /// covariance of a chain whose variance along eigenvector k is biased by the relative b_k.
    pub fn cov_scaled(&self, f: impl Fn(usize) -> f64) -> [[f64; 2]; 2] {
        [0, 1].map(|r| {
            [0, 1].map(|c| {
                (0..2)
                    .map(|k| self.vecs[k][r] * self.vecs[k][c] * f(k) / self.lams[k])
                    .sum()
            })
        })
    }
}

fn mul(a: &[[f64; 2]; 2], b: &[[f64; 2]; 2]) -> [[f64; 2]; 2] {
    [0, 1].map(|r| [0, 1].map(|c| a[r][0] * b[0][c] + a[r][1] * b[1][c]))
}

/// A chain's sample mean and covariance, with their batch-means standard errors.
#[derive(Debug)]
pub(super) struct Moments {
    pub kept: usize,
    pub mean: [f64; 2],
    pub cov: [[f64; 2]; 2],
    pub se_mean: [f64; 2],
    pub se_cov: [[f64; 2]; 2],
}

/// Runs `sampler` from w = 0 for `steps` steps on `reg` with minibatches of `m` (shuffled
/// epochs from `seed`), and returns the moments of the samples after step `burn_in` that the
/// sampler collects (a cyclical schedule's sampling phases only). The batches of the standard
/// errors are `steps - burn_in` split in 100 equal runs of steps (whole cycles, when the
/// cycle length divides it).
pub(super) fn run(
    sampler: &mut dyn Sampler,
    reg: &Regression,
    m: usize,
    burn_in: u64,
    steps: u64,
    seed: u64,
) -> Moments {
    let mut p = ParamSet::new();
    p.add("w", &[2]);
    let mut minibatches = EpochSampler::new((0..reg.len()).collect(), seed).unwrap();
    let mut batch = vec![0usize; m];
    let per_batch = (steps - burn_in) / BATCHES as u64;
    assert!(per_batch > 0);
    let mut sums = vec![BatchSums::default(); BATCHES];
    for t in 0..burn_in + per_batch * BATCHES as u64 {
        minibatches.next_batch(&mut batch);
        reg.minibatch_gradient(&p.values, &batch, &mut p.grads);
        sampler.step(&mut p, t);
        if t < burn_in || !sampler.collecting(t) {
            continue;
        }
        let sums = &mut sums[((t - burn_in) / per_batch) as usize];
        let e = [0, 1].map(|r| p.values[r] as f64 - reg.mean[r]);
        sums.count += 1;
        for r in 0..2 {
            sums.e[r] += e[r];
            for c in 0..2 {
                sums.ee[r][c] += e[r] * e[c];
            }
        }
    }
    moments(&sums, reg)
}

/// One batch's count of samples and sums of e and of e e^T (e = w - mu).
#[derive(Debug, Clone, Default)]
struct BatchSums {
    count: usize,
    e: [f64; 2],
    ee: [[f64; 2]; 2],
}

/// The moments of the batches' sums, and the batch-means standard errors.
fn moments(sums: &[BatchSums], reg: &Regression) -> Moments {
    let kept: usize = sums.iter().map(|s| s.count).sum();
    assert!(sums.iter().all(|s| s.count > 0), "a batch without samples");
    let total = |f: &dyn Fn(&BatchSums) -> f64| sums.iter().map(f).sum::<f64>() / kept as f64;
    let mean_e = [0, 1].map(|r| total(&|s| s.e[r]));
    let second = [0, 1].map(|r| [0, 1].map(|c| total(&|s| s.ee[r][c])));
    // Standard error of an average: the spread of its per-batch averages (each weighted by
    // its share of the samples), over sqrt(batches).
    let se = |f: &dyn Fn(&BatchSums) -> f64, overall: f64| {
        let b = sums.len() as f64;
        let var = sums
            .iter()
            .map(|s| {
                let w = s.count as f64 * b / kept as f64;
                (w * (f(s) / s.count as f64 - overall)).powi(2)
            })
            .sum::<f64>()
            / (b - 1.0);
        (var / b).sqrt()
    };
    Moments {
        kept,
        mean: [0, 1].map(|r| reg.mean[r] + mean_e[r]),
        cov: [0, 1].map(|r| [0, 1].map(|c| second[r][c] - mean_e[r] * mean_e[c])),
        se_mean: [0, 1].map(|r| se(&|s| s.e[r], mean_e[r])),
        // The covariance is the average of e_r e_c less mean_e_r mean_e_c, a correction of
        // the order of se_mean^2: its error is that of the average.
        se_cov: [0, 1].map(|r| [0, 1].map(|c| se(&|s| s.ee[r][c], second[r][c]))),
    }
}

impl Moments {
    /// Checks the mean and the covariance against the exact posterior: each within 5
    /// standard errors. Also checks that the test can fail: 5 standard errors are below 10%
    /// of the posterior standard deviation (means) and of the variances (covariances), so a
    /// sampler 10% off is caught; and that `bias`, the sampler's predicted leading-order bias
    /// of the covariance at its step size (its comments derive it), is below one standard
    /// error, so that the exact posterior is the right target at this tolerance.
    pub fn assert_posterior(&self, reg: &Regression, bias: [[f64; 2]; 2], what: &str) {
        for (r, bias) in bias.iter().enumerate() {
            let (got, want, se) = (self.mean[r], reg.mean[r], self.se_mean[r]);
            assert!(
                (got - want).abs() < Z * se,
                "{what}: mean[{r}] {got} vs posterior {want} (se {se:.2e}, {self:?})"
            );
            assert!(
                Z * se < 0.1 * reg.cov[r][r].sqrt(),
                "{what}: mean[{r}] se {se:.2e} too large to test (posterior sd {})",
                reg.cov[r][r].sqrt()
            );
            for (c, bias) in bias.iter().enumerate() {
                let (got, want, se) = (self.cov[r][c], reg.cov[r][c], self.se_cov[r][c]);
                assert!(
                    (got - want).abs() < Z * se,
                    "{what}: cov[{r}][{c}] {got} vs posterior {want} (se {se:.2e}, {self:?})"
                );
                assert!(
                    Z * se < 0.1 * (reg.cov[r][r] * reg.cov[c][c]).sqrt(),
                    "{what}: cov[{r}][{c}] se {se:.2e} too large to test"
                );
                assert!(
                    bias.abs() < se,
                    "{what}: predicted bias of cov[{r}][{c}] {bias:.2e} is not below its se {se:.2e}"
                );
            }
        }
    }
}

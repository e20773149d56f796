//! The uncertainty decomposition of a Dirichlet Dir(alpha) over the class probabilities (a
//! `dirichlet` student, EnD^2; Malinin et al. 2020, Eqs. 3-5 of "Ensemble Distribution
//! Distillation"), in closed form, in f64:
//!
//! - expected predictive: E[p] = alpha / alpha_0, alpha_0 = sum_k alpha_k;
//! - total uncertainty: H[E p] = -sum_k (alpha_k / alpha_0) ln(alpha_k / alpha_0);
//! - aleatoric (expected entropy): E[H[p]] = -sum_k (alpha_k / alpha_0)
//!   (psi(alpha_k + 1) - psi(alpha_0 + 1));
//! - knowledge uncertainty (mutual information): total - aleatoric, >= 0 (Jensen).

use super::Uncertainty;
use crate::base::special::digamma;

/// Total, aleatoric and knowledge uncertainty of one Dir(alpha), in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DirichletUncertainty {
    pub total: f64,
    pub aleatoric: f64,
    pub knowledge: f64,
}

/// The decomposition of Dir(`alpha`), every alpha_k > 0.
pub fn dirichlet_uncertainty(alpha: &[f64]) -> DirichletUncertainty {
    let alpha_0: f64 = alpha.iter().sum();
    let psi_0 = digamma(alpha_0 + 1.0);
    let (mut total, mut aleatoric) = (0.0, 0.0);
    for &a in alpha {
        let mean = a / alpha_0;
        if mean > 0.0 {
            total -= mean * mean.ln();
        }
        aleatoric -= mean * (digamma(a + 1.0) - psi_0);
    }
    DirichletUncertainty {
        total,
        aleatoric,
        knowledge: total - aleatoric,
    }
}

/// The expected predictive alpha / alpha_0 of each row of `alphas` `[n, k]`.
pub fn expected_predictive(alphas: &[f32], k: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(alphas.len());
    for row in alphas.chunks_exact(k.max(1)) {
        let alpha_0: f64 = row.iter().map(|&a| a as f64).sum();
        out.extend(row.iter().map(|&a| (a as f64 / alpha_0) as f32));
    }
    out
}

impl Uncertainty {
    /// The decomposition of the Dirichlets of `alphas` `[n, k]` (a `dirichlet` student's
    /// predictions), each of its three parts computed from one forward pass.
    pub fn from_dirichlet(alphas: &[f32], k: usize) -> Self {
        let parts: Vec<DirichletUncertainty> = alphas
            .chunks_exact(k.max(1))
            .map(|row| dirichlet_uncertainty(&row.iter().map(|&a| a as f64).collect::<Vec<_>>()))
            .collect();
        let of = |f: fn(&DirichletUncertainty) -> f64| -> Vec<f32> {
            parts.iter().map(|u| f(u) as f32).collect()
        };
        Uncertainty {
            total: of(|u| u.total),
            aleatoric: Some(of(|u| u.aleatoric)),
            knowledge: Some(of(|u| u.knowledge)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expectation::entropy;
    use rand::SeedableRng;
    use rand_distr::{Dirichlet, Distribution};

    /// Dir(1, 1) is uniform on [0, 1] (Beta(1, 1)): E H[p] = 2 int_0^1 -p ln p dp = 2 (1/4)
    /// = 1/2, H[E p] = ln 2, MI = ln 2 - 1/2 = 0.193147. Dir(1, ..., 1) over K = 3 classes by
    /// the formula: -(psi(2) - psi(4)) = 1/2 + 1/3 = 5/6 (psi(n + 1) = psi(n) + 1/n).
    #[test]
    fn symmetric_cases_by_hand() {
        let u = dirichlet_uncertainty(&[1.0, 1.0]);
        assert!((u.aleatoric - 0.5).abs() < 1e-13, "{u:?}");
        assert!((u.total - 2f64.ln()).abs() < 1e-15);
        assert!((u.knowledge - (2f64.ln() - 0.5)).abs() < 1e-13);
        let u = dirichlet_uncertainty(&[1.0; 3]);
        assert!((u.aleatoric - 5.0 / 6.0).abs() < 1e-13, "{u:?}");
        assert!((u.total - 3f64.ln()).abs() < 1e-15);
        // A very sharp Dirichlet has almost no knowledge uncertainty: MI ~ (K - 1) / (2 alpha_0)
        // (the leading term of the expansion of psi(x + 1) ~ ln x + 1/(2x)).
        let u = dirichlet_uncertainty(&[1e6, 1e6]);
        assert!((u.knowledge - 1.0 / 4e6).abs() < 1e-9, "{u:?}");
    }

    /// Monte Carlo: the mean of H[p] over M = 200000 draws p ~ Dir(alpha) (rand_distr) matches
    /// the aleatoric formula within 4 standard errors of that mean (the sample standard
    /// deviation of H[p] / sqrt(M)); the mean of the draws matches alpha / alpha_0 within 4
    /// standard errors per class.
    #[test]
    fn aleatoric_part_matches_monte_carlo() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let alpha = [0.7, 2.0, 5.0, 0.3];
        let dir = Dirichlet::new(alpha).unwrap();
        let m = 200_000;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        let mut mean_p = [0.0; 4];
        for _ in 0..m {
            let p: [f64; 4] = dir.sample(&mut rng);
            let p32: Vec<f32> = p.iter().map(|&v| v as f32).collect();
            let h = entropy(&p32);
            sum += h;
            sum_sq += h * h;
            for (acc, v) in mean_p.iter_mut().zip(p) {
                *acc += v / m as f64;
            }
        }
        let mean = sum / m as f64;
        let se = ((sum_sq / m as f64 - mean * mean) / m as f64).sqrt();
        let u = dirichlet_uncertainty(&alpha);
        assert!(
            (u.aleatoric - mean).abs() < 4.0 * se,
            "formula {} vs MC {mean} +- {se}",
            u.aleatoric
        );
        let alpha_0: f64 = alpha.iter().sum();
        for (k, &a) in alpha.iter().enumerate() {
            let mu = a / alpha_0;
            // Var p_k = mu (1 - mu) / (alpha_0 + 1).
            let se_k = (mu * (1.0 - mu) / (alpha_0 + 1.0) / m as f64).sqrt();
            assert!((mean_p[k] - mu).abs() < 4.0 * se_k, "class {k}");
        }
        assert!(u.knowledge > 0.0);
    }

    /// `from_dirichlet` and `expected_predictive` apply the formulas row by row.
    #[test]
    fn rows_of_alphas() {
        let alphas = [1.0, 1.0, 3.0, 1.0];
        assert_eq!(expected_predictive(&alphas, 2), vec![0.5, 0.5, 0.75, 0.25]);
        let u = Uncertainty::from_dirichlet(&alphas, 2);
        let second = dirichlet_uncertainty(&[3.0, 1.0]);
        assert!((u.total[0] - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((u.aleatoric.as_ref().unwrap()[1] as f64 - second.aleatoric).abs() < 1e-6);
        assert!((u.knowledge.as_ref().unwrap()[1] as f64 - second.knowledge).abs() < 1e-6);
    }
}

//! Tests of the SGLD step: the exact update on hand values, the bits of the code path before
//! the other samplers, the noise-free exploration step, thread-count independence, and that
//! the chain samples a known Gaussian posterior (with full-batch gradients here, where the
//! chain is an exact AR(1); with minibatches in `posterior_tests`).

use super::*;
use crate::Error;
use crate::base::gaussian::normal_at;
use crate::base::simd::Level;
use crate::config::{SamplerConfig, SamplerKind};
use crate::sampler::linear_regression::Regression;
use crate::sampler::test_support::{assert_thread_invariant, fcnn_buffers, param_set};

#[test]
fn one_step_is_eq_7_with_the_streams_noise() {
    // theta' = theta - eta/2 (N g + tau theta) + sqrt(eta) xi, computed here in f64 with xi read
    // back from the same stream; the f32 kernel must agree to a few f32 ulps of the terms.
    let n = 1000;
    let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.11).cos()).collect();
    let config = SgldConfig {
        step_size: 1e-3,
        prior_precision: 10.0,
        data_size: 500,
    };
    let mut sgld = Sgld::new(config, 17).unwrap();
    let key = sgld.noise().key();
    let mut p = param_set(values.clone(), grads.clone());
    for step in 0..2u64 {
        let before = p.values.clone();
        sgld.step(&mut p, step);
        // Step 0 reads noise 0..1000; step 1 starts at the next block, 1024.
        let first = step * 1024;
        for i in 0..n {
            let (theta, g) = (before[i] as f64, grads[i] as f64);
            let xi = normal_at(key, first + i as u64) as f64;
            let drift = 0.5 * 1e-3 * (500.0 * g + 10.0 * theta);
            let want = theta - drift + 1e-3f64.sqrt() * xi;
            let scale = theta.abs() + drift.abs() + (1e-3f64.sqrt() * xi).abs();
            assert!(
                (p.values[i] as f64 - want).abs() <= 4.0 * f32::EPSILON as f64 * scale,
                "step {step} i {i}: {} vs {want}",
                p.values[i]
            );
        }
    }
    assert_eq!(p.grads, grads, "the step must not touch the gradients");
    assert_eq!(sgld.steps(), 2);
    assert_eq!(sgld.noise().position(), 1024 + 1000);
}

/// FNV-1a over the bits of `values`.
fn bits_hash(values: &[f32]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[test]
fn kind_sgld_gives_the_bits_of_the_code_path_before_the_other_samplers() {
    // The hash was printed by the code before `sampler.kind` existed (commit 3f3d0dc:
    // `Sgld::new(config, 7)` and five `sgld.step(&mut p)`), on this parameter set; the
    // position is 5 steps of 100,003 values, each step starting on a 32-value block.
    let n = 100_003;
    let fresh = || {
        let mut p = param_set(vec![0.0; n], vec![0.0; n]);
        GaussianStream::new(11).fill(&mut p.values);
        GaussianStream::new(12).fill(&mut p.grads);
        p
    };
    let config = SgldConfig {
        step_size: 4e-6,
        prior_precision: 10.0,
        data_size: 60_000,
    };
    let mut direct = Sgld::new(config, 7).unwrap();
    let mut p = fresh();
    for t in 0..5 {
        direct.step(&mut p, t);
    }
    assert_eq!(bits_hash(&p.values), 0x2a57_eac1_0b4c_9bfa);
    assert_eq!(direct.noise().position(), 500_131);
    // The run's path: `sampler.kind = "sgld"` (the default, with the constant schedule).
    let cfg = SamplerConfig::default();
    assert_eq!(cfg.kind, SamplerKind::Sgld);
    let mut selected = crate::sampler::from_config(&cfg, 1_000_000, 60_000, n, 7).unwrap();
    assert_eq!(selected.name(), "sgld");
    let mut q = fresh();
    for t in 0..5 {
        selected.step(&mut q, t);
        assert!(selected.collecting(t));
    }
    assert_eq!(bits_hash(&q.values), 0x2a57_eac1_0b4c_9bfa);
}

#[test]
fn an_exploring_step_is_sgd_without_noise() {
    // Cyclical schedule, T = 100, M = 4 (cycles of 25), exploration 0.8: step 3 explores with
    // eta_3 = eta (cos(3 pi / 25) + 1) / 2, and is theta - eta_3/2 (N g + tau theta), exactly
    // the kernel's f32 expression without the noise term.
    let n = 300;
    let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.11).cos()).collect();
    let config = SgldConfig {
        step_size: 1e-3,
        prior_precision: 10.0,
        data_size: 500,
    };
    let schedule = Schedule::cyclical(100, 4, 0.8).unwrap();
    let mut sgld = Sgld::new(config, 17).unwrap().with_schedule(schedule);
    let mut p = param_set(values.clone(), grads.clone());
    assert!(!sgld.collecting(3) && sgld.collecting(20));
    sgld.step(&mut p, 3);
    let eta = 1e-3 * (0.5 * ((std::f64::consts::PI * (3.0 / 25.0)).cos() + 1.0));
    let c = config.coefficients_at(eta);
    for i in 0..n {
        assert_eq!(
            p.values[i],
            c.decay * values[i] - c.grad_scale * grads[i],
            "{i}"
        );
    }
    // Its noise values are skipped all the same: the next step starts on the next block.
    assert_eq!(sgld.noise().position(), 300);
    sgld.step(&mut p, 20);
    assert_eq!(sgld.noise().position(), 320 + 300);
}

#[test]
fn same_bits_for_any_number_of_threads() {
    // 478,410 parameters (the FCNN teacher), pools of 1, 2 and 3 threads, and one serial pass
    // over the whole buffer: all bit-identical.
    let (values, grads) = fcnn_buffers();
    let config = SgldConfig {
        step_size: 4e-6,
        prior_precision: 10.0,
        data_size: 60_000,
    };
    let mut serial = values.clone();
    sgld_update_serial(
        &mut serial,
        &grads,
        config.coefficients(),
        GaussianStream::new(3).key(),
        0,
    );
    assert_thread_invariant(&values, &grads, &serial, 1, || {
        Sgld::new(config, 3).unwrap()
    });
}

#[test]
fn every_simd_level_gives_the_bits_of_the_portable_body() {
    let n = 5000 + 7;
    let values: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| (i as f32).cos()).collect();
    let c = SgldCoefficients {
        decay: 0.99,
        grad_scale: 0.5,
        noise_scale: 0.1,
    };
    let mut scalar = values.clone();
    sgld_body(&mut scalar, &grads, c, 5, 64);
    let mut dispatched = values.clone();
    sgld_update_serial(&mut dispatched, &grads, c, 5, 64);
    assert_eq!(scalar, dispatched);
    for level in Level::available() {
        let mut v = values.clone();
        sgld_update_at_level(level, &mut v, &grads, c, 5, 64);
        assert!(
            v.iter()
                .zip(&scalar)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{level:?}"
        );
    }
}

#[test]
fn invalid_configs_are_rejected_with_their_key() {
    let good = SgldConfig {
        step_size: 1e-3,
        prior_precision: 1.0,
        data_size: 10,
    };
    assert!(Sgld::new(good, 0).is_ok());
    let cases = [
        (
            SgldConfig {
                step_size: 0.0,
                ..good
            },
            "sampler.step_size",
        ),
        (
            SgldConfig {
                step_size: f64::NAN,
                ..good
            },
            "sampler.step_size",
        ),
        (
            SgldConfig {
                prior_precision: -1.0,
                ..good
            },
            "sampler.prior_precision",
        ),
        (
            SgldConfig {
                data_size: 0,
                ..good
            },
            "sampler.data_size",
        ),
    ];
    for (config, key) in cases {
        match Sgld::new(config, 0) {
            Err(Error::Config { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{config:?}: expected a config error on {key}, got {other:?}"),
        }
    }
}

#[test]
fn samples_the_gaussian_posterior_of_bayesian_linear_regression() {
    // Model: y_i = x_i . w + eps_i, eps_i ~ N(0, s2), prior w ~ N(0, I / tau), n = 20, w in R^2.
    // Posterior (complete the square in -log p(w | D) = |y - X w|^2 / (2 s2) + tau |w|^2 / 2):
    //   precision L = tau I + X^T X / s2,  covariance S = L^-1,  mean mu = S X^T y / s2.
    // Mean NLL gradient: g_bar = (X^T X w - X^T y) / (n s2), so with N = n the SGLD drift is
    // N g_bar + tau w = L (w - mu): the chain is the AR(1) process
    //   e' = (I - eta L / 2) e + sqrt(eta) xi,  e = w - mu.
    // In L's eigenbasis (eigenvalue l, coordinate c_k) each coordinate is an AR(1) with
    // rho = 1 - eta l / 2 and stationary variance eta / (1 - rho^2) = 1 / (l (1 - eta l / 4)):
    // mean exactly mu, covariance S_eta = S (I - eta L / 4)^-1, which tends to S as eta -> 0.
    // Monte Carlo error over T steps (independent eigen-coordinates, Gaussian):
    //   Var(mean of c_k)      = sigma_k^2 (1 + rho_k) / (1 - rho_k) / T
    //   Var(mean of c_k c_l)  = sigma_k^2 sigma_l^2 (1 + rho_k rho_l) / (1 - rho_k rho_l) / T
    //                           (times 2 when k = l),
    // mapped to the original coordinates with the eigenvectors. Each estimate must lie within
    // 5 standard errors of S_eta, and within 5 standard errors plus the known O(eta) bias of S.
    // The problem and its posterior: `linear_regression::Regression` (mu, S and the
    // eigen-decomposition of L = S^-1 computed there in closed form).
    let reg = Regression::new();
    let (n, tau) = (reg.len(), reg.tau);
    let (mu, s, lams, vecs) = (reg.mean, reg.cov, reg.lams, reg.vecs);
    let all: Vec<usize> = (0..n).collect();

    let eta = 0.01;
    let config = SgldConfig {
        step_size: eta,
        prior_precision: tau,
        data_size: n,
    };
    let mut sgld = Sgld::new(config, 2020).unwrap();
    let mut p = param_set(vec![0.0; 2], vec![0.0; 2]);
    let (burn_in, t) = (5_000usize, 4_000_000usize);
    let (mut m1, mut m2) = ([0.0f64; 2], [[0.0f64; 2]; 2]);
    for step in 0..burn_in + t {
        reg.minibatch_gradient(&p.values, &all, &mut p.grads);
        sgld.step(&mut p, step as u64);
        if step >= burn_in {
            let e = [p.values[0] as f64 - mu[0], p.values[1] as f64 - mu[1]];
            for r in 0..2 {
                m1[r] += e[r];
                for c in 0..2 {
                    m2[r][c] += e[r] * e[c];
                }
            }
        }
    }
    let tf = t as f64;
    let mean_err = m1.map(|v| v / tf);
    let cov = [0, 1].map(|r| [0, 1].map(|c| m2[r][c] / tf - mean_err[r] * mean_err[c]));

    let rho = lams.map(|lam| 1.0 - eta * lam / 2.0);
    let var = lams.map(|lam| 1.0 / (lam * (1.0 - eta * lam / 4.0)));
    let s_eta = [0, 1].map(|r| {
        [0, 1].map(|c| {
            (0..2)
                .map(|k| vecs[k][r] * vecs[k][c] * var[k])
                .sum::<f64>()
        })
    });
    for r in 0..2 {
        let se: f64 = (0..2)
            .map(|k| vecs[k][r].powi(2) * var[k] * (1.0 + rho[k]) / (1.0 - rho[k]) / tf)
            .sum::<f64>()
            .sqrt();
        assert!(
            mean_err[r].abs() < 5.0 * se,
            "mean[{r}]: {} vs {} (se {se:e})",
            mu[r] + mean_err[r],
            mu[r]
        );
        for c in 0..2 {
            let mut v = 0.0;
            for k in 0..2 {
                for q in k..2 {
                    let weight = if k == q {
                        vecs[k][r] * vecs[k][c]
                    } else {
                        vecs[k][r] * vecs[q][c] + vecs[q][r] * vecs[k][c]
                    };
                    let rr = rho[k] * rho[q];
                    let factor = if k == q { 2.0 } else { 1.0 };
                    v += weight * weight * factor * var[k] * var[q] * (1.0 + rr) / (1.0 - rr) / tf;
                }
            }
            let se = v.sqrt();
            assert!(
                (cov[r][c] - s_eta[r][c]).abs() < 5.0 * se,
                "cov[{r}][{c}]: {} vs S_eta {} (se {se:e})",
                cov[r][c],
                s_eta[r][c]
            );
            let bias = (s_eta[r][c] - s[r][c]).abs();
            assert!(
                (cov[r][c] - s[r][c]).abs() < 5.0 * se + bias,
                "cov[{r}][{c}]: {} vs posterior {}",
                cov[r][c],
                s[r][c]
            );
        }
    }
    // The check is informative: the correlation is far from 0 and the errors far below S.
    assert!(s[0][1].abs() > 0.2 * (s[0][0] * s[1][1]).sqrt());
}

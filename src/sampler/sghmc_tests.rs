//! Tests of the SGHMC step: the exact update on hand values, friction 1 as SGLD at twice the
//! step, thread-count independence and every SIMD level. (As a sampler: `posterior_tests`.)

use super::*;
use crate::base::gaussian::normal_at;
use crate::base::simd::Level;
use crate::sampler::test_support::{assert_thread_invariant, fcnn_buffers, param_set};
use crate::sampler::{Sgld, SgldConfig};

fn config(friction: f64) -> SghmcConfig {
    SghmcConfig {
        step_size: 1e-3,
        prior_precision: 10.0,
        data_size: 500,
        friction,
    }
}

#[test]
fn two_steps_are_chen_et_als_update_with_the_streams_noise() {
    // v' = (1 - alpha) v - eta (N g + tau theta) + sqrt(2 alpha eta) xi, theta' = theta + v',
    // computed here in f64 with xi read back from the same stream; the f32 kernel must agree
    // to a few f32 ulps of the terms.
    let n = 1000;
    let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.11).cos()).collect();
    let (eta, alpha, big_n, tau) = (1e-3, 0.1, 500.0, 10.0);
    let mut sghmc = Sghmc::new(config(alpha), n, 17).unwrap();
    let key = sghmc.noise().key();
    let mut p = param_set(values, grads.clone());
    let mut v = vec![0.0f64; n];
    for step in 0..2u64 {
        let before = p.values.clone();
        sghmc.step(&mut p, step);
        // Step 0 reads noise 0..1000; step 1 starts at the next block, 1024.
        for i in 0..n {
            let (theta, g) = (before[i] as f64, grads[i] as f64);
            let xi = normal_at(key, step * 1024 + i as u64) as f64;
            let drift = eta * (big_n * g + tau * theta);
            let noise = (2.0 * alpha * eta).sqrt() * xi;
            v[i] = (1.0 - alpha) * v[i] - drift + noise;
            let want = theta + v[i];
            let scale = theta.abs() + v[i].abs() + drift.abs() + noise.abs();
            assert!(
                (p.values[i] as f64 - want).abs() <= 8.0 * f32::EPSILON as f64 * scale,
                "step {step} i {i}: {} vs {want}",
                p.values[i]
            );
            assert!((sghmc.momentum()[i] as f64 - v[i]).abs() <= 8.0 * f32::EPSILON as f64 * scale);
        }
    }
    assert_eq!(p.grads, grads, "the step must not touch the gradients");
    assert_eq!(sghmc.steps(), 2);
    assert_eq!(sghmc.noise().position(), 1024 + 1000);
}

#[test]
fn friction_one_is_sgld_at_twice_the_step() {
    // alpha = 1: v' = -eta grad U + sqrt(2 eta) xi, theta' = theta + v', which is SGLD's
    // theta - eps/2 grad U + sqrt(eps) xi at eps = 2 eta, with the same noise (same seed, same
    // positions); equal to f32 rounding (the kernels order the operations differently).
    let n = 3000;
    let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.11).cos()).collect();
    let mut sghmc = Sghmc::new(config(1.0), n, 4).unwrap();
    let sgld_config = SgldConfig {
        step_size: 2e-3,
        prior_precision: 10.0,
        data_size: 500,
    };
    let mut sgld = Sgld::new(sgld_config, 4).unwrap();
    let mut a = param_set(values.clone(), grads.clone());
    let mut b = param_set(values, grads);
    for t in 0..3 {
        sghmc.step(&mut a, t);
        sgld.step(&mut b, t);
    }
    for (x, y) in a.values.iter().zip(&b.values) {
        assert!((x - y).abs() <= 1e-6 * (1.0 + x.abs()), "{x} vs {y}");
    }
}

#[test]
fn an_exploring_step_is_sgd_with_momentum() {
    // On the cyclical schedule's exploration (T = 100, M = 4, beta = 0.8, step 3) the noise is
    // dropped: v' = (1 - alpha) v - eta_3 (N g + tau theta), the kernel's f32 expression.
    let n = 300;
    let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.11).cos()).collect();
    let schedule = Schedule::cyclical(100, 4, 0.8).unwrap();
    let mut sghmc = Sghmc::new(config(0.1), n, 17)
        .unwrap()
        .with_schedule(schedule);
    let mut p = param_set(values.clone(), grads.clone());
    sghmc.step(&mut p, 3);
    let eta = 1e-3 * (0.5 * ((std::f64::consts::PI * (3.0 / 25.0)).cos() + 1.0));
    let c = config(0.1).coefficients_at(eta, false);
    assert_eq!(c.noise_scale, 0.0);
    for i in 0..n {
        let v = c.momentum * 0.0 - c.grad_scale * grads[i] - c.prior_scale * values[i] + 0.0;
        assert_eq!(p.values[i], values[i] + v, "{i}");
    }
}

#[test]
fn same_bits_for_any_number_of_threads() {
    // The FCNN teacher's 478,410 parameters, three steps (the momentum carries over), pools of
    // 1, 2 and 3 threads and one serial pass: all bit-identical.
    let (values, grads) = fcnn_buffers();
    let n = values.len();
    let cfg = SghmcConfig {
        step_size: 1e-7,
        prior_precision: 10.0,
        data_size: 60_000,
        friction: 0.1,
    };
    let (mut serial, mut v) = (values.clone(), vec![0.0f32; n]);
    let key = GaussianStream::new(3).key();
    for t in 0..3u64 {
        let c = cfg.coefficients_at(cfg.step_size, true);
        let start = t * n.next_multiple_of(32) as u64;
        sghmc_update(&mut serial, &grads, &mut v, c, key, start);
    }
    assert_thread_invariant(&values, &grads, &serial, 3, || {
        Sghmc::new(cfg, n, 3).unwrap()
    });
}

#[test]
fn every_simd_level_gives_the_bits_of_the_portable_body() {
    let n = 5000 + 7;
    let values: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| (i as f32).cos()).collect();
    let momentum: Vec<f32> = (0..n).map(|i| 0.01 * (i as f32 * 0.3).sin()).collect();
    for noisy in [true, false] {
        let c = config(0.1).coefficients_at(1e-3, noisy);
        let (mut scalar, mut sv) = (values.clone(), momentum.clone());
        sghmc_body(&mut scalar, &grads, &mut sv, c, 5, 64);
        for level in Level::available() {
            let (mut x, mut v) = (values.clone(), momentum.clone());
            sghmc_update_at_level(level, &mut x, &grads, &mut v, c, 5, 64);
            let same =
                |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same(&x, &scalar) && same(&v, &sv),
                "{level:?}, noisy {noisy}"
            );
        }
    }
}

#[test]
fn invalid_frictions_are_rejected_with_their_key() {
    for bad in [0.0, -0.5, 1.01, f64::NAN] {
        match Sghmc::new(config(bad), 3, 0) {
            Err(Error::Config { key, .. }) => assert_eq!(key, "sampler.friction"),
            other => panic!("friction {bad}: expected a config error, got {other:?}"),
        }
    }
    let mut bad = config(0.1);
    bad.step_size = 0.0;
    assert!(matches!(
        Sghmc::new(bad, 3, 0),
        Err(Error::Config { key, .. }) if key == "sampler.step_size"
    ));
}

//! Tests of the pSGLD step: the exact update on hand values, thread-count independence and
//! every SIMD level. (As a sampler: `posterior_tests`.)

use super::*;
use crate::base::gaussian::normal_at;
use crate::base::simd::Level;
use crate::sampler::test_support::{assert_thread_invariant, fcnn_buffers, param_set};

fn config() -> PsgldConfig {
    PsgldConfig {
        step_size: 1e-4,
        prior_precision: 10.0,
        data_size: 500,
        rms_decay: 0.99,
        rms_epsilon: 1e-5,
    }
}

#[test]
fn two_steps_are_li_et_als_update_with_the_streams_noise() {
    // V' = a V + (1 - a) g^2, G = 1 / (lambda + sqrt(V')),
    // theta' = theta - eta/2 G (N g + tau theta) + sqrt(eta G) xi (Li et al., Algorithm 1,
    // without Gamma), computed here in f64 with xi read back from the same stream.
    let n = 1000;
    let values: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| 0.1 * (i as f32 * 0.11).cos()).collect();
    let (eta, a, lambda, big_n, tau) = (1e-4, 0.99, 1e-5, 500.0, 10.0);
    let mut psgld = Psgld::new(config(), n, 17).unwrap();
    let key = psgld.noise().key();
    let mut p = param_set(values, grads.clone());
    let mut ms = vec![0.0f64; n];
    for step in 0..2u64 {
        let before = p.values.clone();
        psgld.step(&mut p, step);
        for i in 0..n {
            let (theta, g) = (before[i] as f64, grads[i] as f64);
            ms[i] = a * ms[i] + (1.0 - a) * g * g;
            let precond = 1.0 / (lambda + ms[i].sqrt());
            let xi = normal_at(key, step * 1024 + i as u64) as f64;
            let drift = 0.5 * eta * precond * (big_n * g + tau * theta);
            let noise = (eta * precond as f64).sqrt() * xi;
            let want = theta - drift + noise;
            let scale = theta.abs() + drift.abs() + noise.abs();
            assert!(
                (p.values[i] as f64 - want).abs() <= 8.0 * f32::EPSILON as f64 * scale,
                "step {step} i {i}: {} vs {want}",
                p.values[i]
            );
            assert!(
                (psgld.mean_square()[i] as f64 - ms[i]).abs() <= 4.0 * f32::EPSILON as f64 * ms[i]
            );
        }
    }
    assert_eq!(p.grads, grads, "the step must not touch the gradients");
    assert_eq!(psgld.steps(), 2);
    assert_eq!(psgld.noise().position(), 1024 + 1000);
}

#[test]
fn same_bits_for_any_number_of_threads() {
    let (values, grads) = fcnn_buffers();
    let n = values.len();
    let cfg = config();
    let (mut serial, mut ms) = (values.clone(), vec![0.0f32; n]);
    let key = GaussianStream::new(3).key();
    for t in 0..3u64 {
        let c = cfg.coefficients_at(cfg.step_size, true);
        let start = t * n.next_multiple_of(32) as u64;
        psgld_update(&mut serial, &grads, &mut ms, c, key, start);
    }
    assert_thread_invariant(&values, &grads, &serial, 3, || {
        Psgld::new(cfg, n, 3).unwrap()
    });
}

#[test]
fn every_simd_level_gives_the_bits_of_the_portable_body() {
    let n = 5000 + 7;
    let values: Vec<f32> = (0..n).map(|i| (i as f32).sin()).collect();
    let grads: Vec<f32> = (0..n).map(|i| (i as f32).cos()).collect();
    let ms0: Vec<f32> = (0..n)
        .map(|i| 0.01 * (i as f32 * 0.3).sin().abs())
        .collect();
    for noisy in [true, false] {
        let c = config().coefficients_at(1e-4, noisy);
        let (mut scalar, mut sms) = (values.clone(), ms0.clone());
        psgld_body(&mut scalar, &grads, &mut sms, c, 5, 64);
        for level in Level::available() {
            let (mut x, mut ms) = (values.clone(), ms0.clone());
            psgld_update_at_level(level, &mut x, &grads, &mut ms, c, 5, 64);
            let same =
                |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same(&x, &scalar) && same(&ms, &sms),
                "{level:?}, noisy {noisy}"
            );
        }
    }
}

#[test]
fn invalid_configs_are_rejected_with_their_key() {
    let cases = [
        (
            PsgldConfig {
                rms_decay: 1.0,
                ..config()
            },
            "sampler.rms_decay",
        ),
        (
            PsgldConfig {
                rms_decay: -0.1,
                ..config()
            },
            "sampler.rms_decay",
        ),
        (
            PsgldConfig {
                rms_epsilon: 0.0,
                ..config()
            },
            "sampler.rms_epsilon",
        ),
        (
            PsgldConfig {
                rms_epsilon: f64::INFINITY,
                ..config()
            },
            "sampler.rms_epsilon",
        ),
        (
            PsgldConfig {
                prior_precision: -1.0,
                ..config()
            },
            "sampler.prior_precision",
        ),
        (
            PsgldConfig {
                data_size: 0,
                ..config()
            },
            "sampler.data_size",
        ),
    ];
    for (cfg, key) in cases {
        match Psgld::new(cfg, 3, 0) {
            Err(Error::Config { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{cfg:?}: expected a config error on {key}, got {other:?}"),
        }
    }
}

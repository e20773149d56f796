//! Tests of Adam against an independent implementation of `torch.optim.Adam`'s documented
//! algorithm, and of its fused kernel's reproducibility.

use super::*;
use crate::base::simd::Level;

// Reference (python3, pure f64; torch is not installed here). Script:
// # Reference for gped's Adam: torch.optim.Adam's documented algorithm
// # (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html, amsgrad=False,
// # maximize=False), written out in pure-Python f64.
// import math
//
// def grad(theta):
//     a = [1.0, 0.5, 2.0, 1e-6]
//     b = [0.1, 0.2, 0.0, 0.0]
//     return [a[i] * t + b[i] * t ** 3 for i, t in enumerate(theta)]
//
// def adam(theta, lrs, beta1, beta2, eps, wd):
//     m = [0.0] * len(theta); v = [0.0] * len(theta)
//     out = []
//     for t, lr in enumerate(lrs, start=1):
//         g = grad(theta)
//         if wd != 0.0:
//             g = [gi + wd * th for gi, th in zip(g, theta)]
//         m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]
//         v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]
//         mhat = [mi / (1 - beta1 ** t) for mi in m]
//         vhat = [vi / (1 - beta2 ** t) for vi in v]
//         theta = [th - lr * mh / (math.sqrt(vh) + eps) for th, mh, vh in zip(theta, mhat, vhat)]
//         out.append(theta)
//     return out
//
// theta0 = [0.5, -1.5, 2.0, 1e-3]
// print("A", adam(theta0, [0.1] * 5, 0.9, 0.999, 1e-8, 0.0))
// print("B", adam(theta0, [0.05, 0.05, 0.025, 0.025, 0.025], 0.8, 0.99, 1e-6, 0.1))
//
// Printed:
// A [[0.4000000019512195, -1.4000000007017543, 1.90000000025, -0.008090909090909093],
//   [0.3012580769066216, -1.3005592495628064, 1.8001664861157012, 0.015914373860530004],
//   [0.2051088146074153, -1.202068004327056, 1.7006233920464653, -0.0012264853234324365],
//   [0.1134088089627641, -1.1049175829291482, 1.601504895289421, -0.012377325693693066],
//   [0.028599780466282226, -1.0094905999322268, 1.5029557812950123, -0.005163232217402577]]
// B [[0.4500000888887309, -1.4500000317460116, 1.9500000119047591, -0.048504955396481225],
//   [0.40036497528473997, -1.4001897562601184, 1.9000711715406557, -0.00998517448652591],
//   [0.3758761150197871, -1.3754430212091897, 1.8751668588409307, 0.007256497420015915],
//   [0.35168845382902275, -1.350836228649514, 1.8503167486189123, 0.017852337309670178],
//   [0.32783466545560747, -1.3263787508850635, 1.8255254462983965, 0.020097697598276298]]

const REFERENCE_A: [[f64; 4]; 5] = [
    [
        0.4000000019512195,
        -1.4000000007017543,
        1.90000000025,
        -0.008090909090909093,
    ],
    [
        0.3012580769066216,
        -1.3005592495628064,
        1.8001664861157012,
        0.015914373860530004,
    ],
    [
        0.2051088146074153,
        -1.202068004327056,
        1.7006233920464653,
        -0.0012264853234324365,
    ],
    [
        0.1134088089627641,
        -1.1049175829291482,
        1.601504895289421,
        -0.012377325693693066,
    ],
    [
        0.028599780466282226,
        -1.0094905999322268,
        1.5029557812950123,
        -0.005163232217402577,
    ],
];
const REFERENCE_B: [[f64; 4]; 5] = [
    [
        0.4500000888887309,
        -1.4500000317460116,
        1.9500000119047591,
        -0.048504955396481225,
    ],
    [
        0.40036497528473997,
        -1.4001897562601184,
        1.9000711715406557,
        -0.00998517448652591,
    ],
    [
        0.3758761150197871,
        -1.3754430212091897,
        1.8751668588409307,
        0.007256497420015915,
    ],
    [
        0.35168845382902275,
        -1.350836228649514,
        1.8503167486189123,
        0.017852337309670178,
    ],
    [
        0.32783466545560747,
        -1.3263787508850635,
        1.8255254462983965,
        0.020097697598276298,
    ],
];

/// The script's gradient: a_i theta_i + b_i theta_i^3 (the last coordinate's gradient, ~1e-9,
/// is below eps = 1e-8, so it checks where eps enters).
fn grad(theta: &[f32], out: &mut [f32]) {
    let a = [1.0, 0.5, 2.0, 1e-6];
    let b = [0.1, 0.2, 0.0, 0.0];
    for i in 0..4 {
        out[i] = a[i] * theta[i] + b[i] * theta[i].powi(3);
    }
}

fn run(config: AdamConfig, lrs: &[f32]) -> Vec<[f32; 4]> {
    let mut p = ParamSet::new();
    p.add("w", &[4]);
    p.values.copy_from_slice(&[0.5, -1.5, 2.0, 1e-3]);
    let mut adam = Adam::new(config).unwrap();
    let mut out = Vec::new();
    for &lr in lrs {
        adam.set_learning_rate(lr);
        grad(&p.values, &mut p.grads);
        adam.step(&mut p);
        out.push([p.values[0], p.values[1], p.values[2], p.values[3]]);
    }
    out
}

fn assert_close(got: &[[f32; 4]], want: &[[f64; 4]; 5], tol: f64) {
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        for i in 0..4 {
            assert!(
                (g[i] as f64 - w[i]).abs() < tol,
                "step {} param {i}: {} vs {}",
                t + 1,
                g[i],
                w[i]
            );
        }
    }
}

#[test]
fn matches_torch_adam_reference_with_defaults() {
    // Tolerance 1e-6: a few f32 ulps of theta (~2) per step over 5 steps; the updates are
    // ~0.1, so this checks every step's update to about 1e-5 relative.
    let got = run(
        AdamConfig {
            lr: 0.1,
            ..AdamConfig::default()
        },
        &[0.1; 5],
    );
    assert_close(&got, &REFERENCE_A, 1e-6);
}

#[test]
fn matches_torch_adam_reference_with_weight_decay_and_lr_changes() {
    let config = AdamConfig {
        lr: 0.05,
        beta1: 0.8,
        beta2: 0.99,
        eps: 1e-6,
        weight_decay: 0.1,
    };
    let got = run(config, &[0.05, 0.05, 0.025, 0.025, 0.025]);
    assert_close(&got, &REFERENCE_B, 1e-6);
}

#[test]
fn same_bits_for_any_number_of_threads_and_simd_level() {
    let n = 100_003;
    let mut p = ParamSet::new();
    p.add("w", &[n]);
    for i in 0..n {
        p.values[i] = (i as f32 * 0.013).sin();
        p.grads[i] = (i as f32 * 0.029).cos() * 1e-2;
    }
    let config = AdamConfig {
        weight_decay: 1e-4,
        ..AdamConfig::default()
    };
    let mut results = Vec::new();
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut q = p.clone();
        let mut adam = Adam::new(config).unwrap();
        pool.install(|| {
            adam.step(&mut q);
            adam.step(&mut q);
        });
        results.push(q.values);
    }
    // The scalar body over the whole buffer, twice.
    let mut adam = Adam::new(config).unwrap();
    let mut q = p.clone();
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..2 {
        adam.steps += 1;
        let s = adam.scalars();
        adam_body(&mut q.values, &q.grads, &mut m, &mut v, s);
    }
    for r in &results {
        assert!(
            r.iter()
                .zip(&q.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }
    // Each SIMD level this CPU has, called directly, against the same portable body.
    for level in Level::available() {
        let mut adam = Adam::new(config).unwrap();
        let mut r = p.clone();
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        for _ in 0..2 {
            adam.steps += 1;
            let s = adam.scalars();
            adam_update_at_level(level, &mut r.values, &r.grads, &mut m, &mut v, s);
        }
        assert!(
            r.values
                .iter()
                .zip(&q.values)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{level:?}"
        );
    }
}

#[test]
fn reset_restarts_the_bias_correction() {
    // After reset the first step is again lr * sign(g) (for |g| >> eps): m_hat = g, v_hat = g^2.
    let mut p = ParamSet::new();
    p.add("w", &[2]);
    p.grads.copy_from_slice(&[0.3, -2.0]);
    let mut adam = Adam::new(AdamConfig::default()).unwrap();
    adam.step(&mut p);
    adam.reset();
    assert_eq!(adam.steps(), 0);
    p.values.copy_from_slice(&[0.0, 0.0]);
    adam.step(&mut p);
    assert!((p.values[0] + 1e-3).abs() < 1e-9 && (p.values[1] - 1e-3).abs() < 1e-9);
}

#[test]
fn invalid_configs_are_rejected_with_their_key() {
    let cases = [
        (
            AdamConfig {
                lr: -1.0,
                ..AdamConfig::default()
            },
            "optimizer.lr",
        ),
        (
            AdamConfig {
                beta1: 1.0,
                ..AdamConfig::default()
            },
            "optimizer.beta1",
        ),
        (
            AdamConfig {
                beta2: -0.1,
                ..AdamConfig::default()
            },
            "optimizer.beta2",
        ),
        (
            AdamConfig {
                eps: f32::NAN,
                ..AdamConfig::default()
            },
            "optimizer.eps",
        ),
        (
            AdamConfig {
                weight_decay: -1.0,
                ..AdamConfig::default()
            },
            "optimizer.weight_decay",
        ),
    ];
    for (config, key) in cases {
        match Adam::new(config) {
            Err(Error::Config { key: k, .. }) => assert_eq!(k, key),
            other => panic!("expected a config error on {key}, got {other:?}"),
        }
    }
}

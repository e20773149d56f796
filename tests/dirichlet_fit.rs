//! The EnD^2 Dirichlet loss (`expectation::dirichlet`) as a training signal: online fitting
//! with Adam (`optim`) recovers a Dirichlet known in advance. An integration test because
//! `expectation` and `optim` sit on one line of the module graph and may not use each other.

use gped::config::DEFAULT_DIRICHLET_SMOOTHING;
use gped::expectation::{Annealing, DirichletTarget, PosteriorExpectation};
use gped::nn::ParamSet;
use gped::optim::{Adam, AdamConfig, Optimizer};
use rand::SeedableRng;
use rand_distr::{Dirichlet, Distribution};

/// Online fitting recovers a known Dirichlet: Adam on a free vector z, each step on a
/// fresh batch of 100 draws p ~ Dir(alpha*) (rand_distr), annealed from T = 10 over the
/// first 1000 steps, then 5000 steps at T = 1 with the learning rate lowered for the last
/// 2000. The maximum-likelihood alpha of 5e5 draws is within about 1% of alpha*; the
/// stochastic steps' noise is larger, so each fitted alpha_k must be within 5% of alpha*.
#[test]
fn online_fit_recovers_a_known_dirichlet() {
    let alpha_star = [2.0, 5.0, 1.0, 0.5];
    let dir = Dirichlet::new(alpha_star).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut target = DirichletTarget::new(
        4,
        Annealing {
            initial: 10.0,
            steps: 1000,
        },
        DEFAULT_DIRICHLET_SMOOTHING,
    );
    let mut params = ParamSet::new();
    params.add("z", &[4]);
    let mut adam = Adam::new(AdamConfig {
        lr: 0.02,
        ..AdamConfig::default()
    })
    .unwrap();
    let batch = 100;
    let mut raw = vec![0.0f32; batch * 4];
    let mut probs = vec![0.0f32; batch * 4];
    let mut grad = vec![0.0f32; batch * 4];
    for step in 0..6000u64 {
        if step == 4000 {
            adam = Adam::new(AdamConfig {
                lr: 0.002,
                ..AdamConfig::default()
            })
            .unwrap();
        }
        target.set_student_step(step);
        for b in 0..batch {
            let p: [f64; 4] = dir.sample(&mut rng);
            for k in 0..4 {
                probs[b * 4 + k] = p[k] as f32;
                raw[b * 4 + k] = params.values[k];
            }
        }
        target.loss(&raw, &probs, &mut grad);
        for k in 0..4 {
            params.grads[k] = (0..batch).map(|b| grad[b * 4 + k]).sum();
        }
        adam.step(&mut params);
    }
    for (k, &want) in alpha_star.iter().enumerate() {
        let got = (params.values[k] as f64).exp();
        assert!(
            (got / want - 1.0).abs() < 0.05,
            "alpha_{k}: {got} vs {want}"
        );
    }
}

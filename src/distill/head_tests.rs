//! Tests of the heads of a student: the multi-head loss and its gradient are the single
//! heads' on their columns (by hand and on random outputs), and the combined gradient through
//! a network equals central differences of an f64 reference written here.

use super::*;
use crate::config::{Arch, Loss};
use crate::expectation::for_target;
use crate::model::{ModelSpec, build};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A predictive head (cross-entropy) then an entropy head (L1), both U_s.
fn predictive_and_entropy() -> Vec<HeadConfig> {
    vec![
        HeadConfig::default(),
        HeadConfig {
            target: Target::Entropy,
            estimator: EstimatorChoice::Sample,
            loss: Loss::L1,
        },
    ]
}

/// Random teacher probabilities `[batch, classes]` (rows sum to 1).
fn random_probs(rng: &mut StdRng, batch: usize, classes: usize) -> Vec<f32> {
    let mut p: Vec<f32> = (0..batch * classes).map(|_| rng.random::<f32>()).collect();
    for row in p.chunks_mut(classes) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
    p
}

/// By hand, two classes, one input, teacher p = (1/2, 1/2), raw outputs all 0. Predictive
/// head: softmax (1/2, 1/2), cross-entropy -sum p ln q = ln 2, gradient q - p = 0. Entropy
/// head: target H(p) = ln 2, output e^0 = 1, L1 |1 - ln 2| = 1 - ln 2, gradient
/// sign(1 - ln 2) e^0 = 1. The sum is ln 2 + 1 - ln 2 = 1; the gradient (0, 0, 1).
#[test]
fn two_heads_loss_by_hand() {
    let mut heads = heads_of(&predictive_and_entropy(), &StudentConfig::default(), 2, 4).unwrap();
    assert_eq!((heads[0].columns(), heads[1].columns()), (0..2, 2..3));
    for h in &mut heads {
        h.update_targets(&[0], &[0.5, 0.5], 2, 0);
    }
    let mut grad = [f32::NAN; 3];
    let loss = crate::distill::student::heads_loss(&mut heads, &[0.0; 3], 3, &mut grad);
    assert!((loss - 1.0).abs() < 1e-6, "{loss}");
    assert!(grad[0].abs() < 1e-7 && grad[1].abs() < 1e-7, "{grad:?}");
    assert!((grad[2] - 1.0).abs() < 1e-6, "{grad:?}");
}

/// On random raw outputs, the two-headed loss is the predictive loss on columns 0..K plus
/// the entropy loss on column K, and the gradient is theirs side by side, bit for bit.
#[test]
fn multi_head_loss_is_the_sum_of_single_head_losses() {
    let (k, batch) = (10, 5);
    let mut rng = StdRng::seed_from_u64(11);
    let probs = random_probs(&mut rng, batch, k);
    let raw: Vec<f32> = (0..batch * (k + 1))
        .map(|_| rng.random_range(-2.0..2.0))
        .collect();
    let mut heads = heads_of(&predictive_and_entropy(), &StudentConfig::default(), k, 8).unwrap();
    let indices = [0, 1, 2, 3, 4];
    for h in &mut heads {
        h.update_targets(&indices, &probs, k, 0);
    }
    let mut grad = vec![f32::NAN; batch * (k + 1)];
    let loss = crate::distill::student::heads_loss(&mut heads, &raw, k + 1, &mut grad);
    // The single heads, each on its own columns, as a single-head student computes them.
    let predictive = for_target(Target::Predictive, k, Loss::CrossEntropy);
    let entropy = for_target(Target::Entropy, k, Loss::L1);
    let logits: Vec<f32> = raw.chunks(k + 1).flat_map(|r| r[..k].to_vec()).collect();
    let log_h: Vec<f32> = raw.chunks(k + 1).map(|r| r[k]).collect();
    let mut h = vec![0.0; batch];
    crate::expectation::entropy_rows(&probs, k, &mut h);
    let (mut g_p, mut g_e) = (vec![0.0; batch * k], vec![0.0; batch]);
    let l_p = predictive.loss(&logits, &probs, &mut g_p);
    let l_e = entropy.loss(&log_h, &h, &mut g_e);
    assert_eq!(loss.to_bits(), (l_p + l_e).to_bits());
    for (b, row) in grad.chunks(k + 1).enumerate() {
        assert_eq!(&row[..k], &g_p[b * k..(b + 1) * k], "row {b}");
        assert_eq!(row[k], g_e[b], "row {b}");
    }
}

/// The network's outputs `[batch, outputs]` in f64 from the parameters `theta` laid out as
/// `net`'s (each layer's `weight` `[out, in]` then `bias` `[out]`, ReLU between layers).
fn mlp_f64(specs: &[crate::nn::ParamSpec], theta: &[f64], x: &[f64], batch: usize) -> Vec<f64> {
    let mut h = x.to_vec();
    let layers: Vec<_> = specs.chunks(2).collect();
    for (l, pair) in layers.iter().enumerate() {
        let (w, b) = (&pair[0], &pair[1]);
        let (out, inp) = (w.shape[0], w.shape[1]);
        let (w, b) = (&theta[w.range()], &theta[b.range()]);
        let relu = l + 1 < layers.len();
        h = (0..batch * out)
            .map(|i| {
                let (r, o) = (i / out, i % out);
                let z = b[o]
                    + (0..inp)
                        .map(|j| w[o * inp + j] * h[r * inp + j])
                        .sum::<f64>();
                if relu { z.max(0.0) } else { z }
            })
            .collect();
    }
    h
}

/// The two heads' summed loss in f64: mean over rows of -sum_y t_y log softmax(z)_y on
/// columns 0..K plus |exp(z_K) - H(t)| on column K.
fn two_heads_loss_f64(raw: &[f64], probs: &[f32], k: usize) -> f64 {
    let batch = raw.len() / (k + 1);
    let mut total = 0.0;
    for (z, t) in raw.chunks(k + 1).zip(probs.chunks(k)) {
        let max = z[..k].iter().cloned().fold(f64::MIN, f64::max);
        let lse = max + z[..k].iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        let t: Vec<f64> = t.iter().map(|&v| v as f64).collect();
        total -= (0..k).map(|y| t[y] * (z[y] - lse)).sum::<f64>();
        let h = -t.iter().map(|&p| p * p.ln()).sum::<f64>();
        total += (z[k].exp() - h).abs();
    }
    total / batch as f64
}

/// The gradient of the summed loss of a predictive and an entropy head, through a small
/// plane MLP (2 -> 5 -> 5 -> 3 + 1 outputs), against central differences (step 1e-6) of the
/// f64 reference above, for every parameter. Tolerance as `nn::gradcheck`'s:
/// 1e-4 (1 + |g_fd|) (the analytic gradient is an f32 sum over 6 inputs).
#[test]
fn combined_gradient_matches_finite_differences_through_the_network() {
    let (k, batch) = (3, 6);
    let mut rng = StdRng::seed_from_u64(4);
    let spec = ModelSpec {
        arch: Arch::PlaneMlp,
        width: [0.05, 0.05],
        outputs: k + 1,
        dropout: 0.0,
    };
    let mut net = build(&spec, 9);
    let x: Vec<f32> = (0..batch * 2)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let probs = random_probs(&mut rng, batch, k);
    let mut heads = heads_of(
        &predictive_and_entropy(),
        &StudentConfig::default(),
        k,
        batch,
    )
    .unwrap();
    let indices: Vec<usize> = (0..batch).collect();
    for h in &mut heads {
        h.update_targets(&indices, &probs, k, 0);
    }
    net.training = true;
    net.params.zero_grads();
    let raw = net.forward(&x, batch).to_vec();
    let mut grad = vec![0.0; raw.len()];
    let loss = crate::distill::student::heads_loss(&mut heads, &raw, k + 1, &mut grad);
    net.backward(&x, &grad, batch);
    let specs = net.params.specs.clone();
    let theta: Vec<f64> = net.params.values.iter().map(|&v| v as f64).collect();
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let loss_at =
        |theta: &[f64]| two_heads_loss_f64(&mlp_f64(&specs, theta, &x64, batch), &probs, k);
    assert!((loss as f64 - loss_at(&theta)).abs() < 1e-5, "loss {loss}");
    let step = 1e-6;
    let mut worst: f64 = 0.0;
    for i in 0..theta.len() {
        let (mut up, mut down) = (theta.clone(), theta.clone());
        up[i] += step;
        down[i] -= step;
        let fd = (loss_at(&up) - loss_at(&down)) / (2.0 * step);
        let got = net.params.grads[i] as f64;
        let err = (got - fd).abs() / (1.0 + fd.abs());
        worst = worst.max(err);
        assert!(err < 1e-4, "param {i}: analytic {got} vs fd {fd}");
    }
    // Both heads' rows of the output layer carry gradient (neither head is dropped).
    let out = &specs[specs.len() - 2];
    let rows = &net.params.grads[out.range()];
    let inp = out.shape[1];
    for o in 0..k + 1 {
        assert!(
            rows[o * inp..(o + 1) * inp].iter().any(|g| g.abs() > 1e-6),
            "row {o}"
        );
    }
    assert!(worst < 1e-4);
}

/// A head's state is its estimator's memory: a U_o entropy head saved and loaded gives the
/// same next targets, bit for bit.
#[test]
fn a_heads_running_mean_round_trips() {
    let cfg = HeadConfig {
        target: Target::Entropy,
        estimator: EstimatorChoice::RunningMean,
        loss: Loss::L1,
    };
    let mut rng = StdRng::seed_from_u64(2);
    let mut a = Head::new(&cfg, &StudentConfig::default(), 4, 3, 10).unwrap();
    assert_eq!(a.columns(), 10..11);
    a.update_targets(&[0, 2], &random_probs(&mut rng, 2, 4), 4, 0);
    let mut w = StateWriter::new();
    a.save_state("h/", &mut w);
    let bytes = w.to_bytes().unwrap();
    let state = StateReader::parse(&bytes, std::path::Path::new("mem")).unwrap();
    let mut b = Head::new(&cfg, &StudentConfig::default(), 4, 3, 10).unwrap();
    b.load_state("h/", &state).unwrap();
    let next = random_probs(&mut rng, 2, 4);
    a.update_targets(&[0, 2], &next, 4, 0);
    b.update_targets(&[0, 2], &next, 4, 0);
    let mut fresh = Head::new(&cfg, &StudentConfig::default(), 4, 3, 10).unwrap();
    fresh.update_targets(&[0, 2], &next, 4, 0);
    assert_eq!(a.targets, b.targets);
    assert_ne!(a.targets, fresh.targets);
}

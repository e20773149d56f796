//! Tests of the losses: values against hand derivations and an independent Python computation,
//! gradients against central finite differences in f64, and stability at extreme logits.

use super::*;

/// Two rows, k = 2. Row 0: z = [0, ln 3], so s = [1/4, 3/4]; row 1: z = [2, -1].
const Z: [f32; 4] = [0.0, 1.098_612_3, 2.0, -1.0];
const T: [f32; 4] = [0.5, 0.5, 0.9, 0.1];
const Y: [u8; 2] = [0, 1];

// Reference values (python3, f64):
//   import math
//   Z = [[0.0, math.log(3.0)], [2.0, -1.0]]; T = [[0.5, 0.5], [0.9, 0.1]]; Y = [0, 1]
//   sm = lambda z: [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
//   S = [sm(z) for z in Z]
//   mean = lambda xs: sum(xs) / len(xs)
//   print("nll", mean([-math.log(s[y]) for s, y in zip(S, Y)]))
//   print("ce", mean([-sum(t * math.log(v) for t, v in zip(t, s)) for s, t in zip(S, T)]))
//   kl = lambda p, q: sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)
//   print("inv_kl", mean([kl(s, t) for s, t in zip(S, T)]))
//   print("sym_kl", mean([kl(s, t) + kl(t, s) for s, t in zip(S, T)]))
//   print("l1", mean([sum(abs(a - b) for a, b in zip(s, t)) for s, t in zip(S, T)]))
//   print("l1_exp", mean([abs(t - math.exp(z)) for z, t in zip([math.log(2.0), 0.5], [3.0, 1.0])]))
// Printed:
//   nll 2.2174408563468164
//   ce 0.592787784179789
//   inv_kl 0.07475643731995059
//   sym_kl 0.15842914452404272
//   l1 0.30257412682243323
//   l1_exp 0.8243606353500641

fn close(got: f32, want: f64, rel: f64) -> bool {
    (got as f64 - want).abs() <= rel * want.abs().max(1e-30)
}

#[test]
fn values_match_the_python_reference() {
    let mut g = [0.0f32; 4];
    // f32 inputs (ln 3 rounded) and an f32 result: 1e-6 relative.
    let cases: [(&str, f32, f64); 5] = [
        ("nll", nll(&Z, &Y, 2, &mut g), 2.217_440_856_346_816_4),
        (
            "ce",
            cross_entropy_soft(&Z, &T, 2, &mut g),
            0.592_787_784_179_789,
        ),
        (
            "inv_kl",
            inverse_kl(&Z, &T, 2, &mut g),
            0.074_756_437_319_950_59,
        ),
        (
            "sym_kl",
            symmetric_kl(&Z, &T, 2, &mut g),
            0.158_429_144_524_042_72,
        ),
        ("l1", l1_probs(&Z, &T, 2, &mut g), 0.302_574_126_822_433_23),
    ];
    for (name, got, want) in cases {
        assert!(close(got, want, 1e-6), "{name}: {got} vs {want}");
    }
    let mut g2 = [0.0f32; 2];
    let got = l1_exp(&[std::f32::consts::LN_2, 0.5], &[3.0, 1.0], 1, &mut g2);
    assert!(close(got, 0.824_360_635_350_064_1, 1e-6), "l1_exp: {got}");
    // By hand: row 0 f = 2 < t = 3 -> -2 / 2; row 1 f = e^0.5 > 1 -> e^0.5 / 2.
    assert!(
        close(g2[0], -1.0, 1e-6) && close(g2[1], 0.5f64.exp() / 2.0, 1e-6),
        "{g2:?}"
    );
}

#[test]
fn gradients_by_hand_on_the_two_class_row() {
    // Row 0 alone, s = [1/4, 3/4], t = [1/2, 1/2], batch 1.
    let z = &Z[..2];
    let t = &T[..2];
    let mut g = [0.0f32; 2];
    // NLL with y = 0: s - onehot = [-3/4, 3/4]; value ln 4.
    assert!(close(nll(z, &[0], 2, &mut g), 4f64.ln(), 1e-6));
    assert!(close(g[0], -0.75, 1e-6) && close(g[1], 0.75, 1e-6), "{g:?}");
    // CE: s - t = [-1/4, 1/4]; value -(ln(1/4) + ln(3/4)) / 2.
    assert!(close(
        cross_entropy_soft(z, t, 2, &mut g),
        -(0.25f64.ln() + 0.75f64.ln()) / 2.0,
        1e-6
    ));
    assert!(close(g[0], -0.25, 1e-6) && close(g[1], 0.25, 1e-6), "{g:?}");
    // L1: |s - t| = [1/4, 1/4], sigma = [-1, 1], sum sigma s = 1/2:
    // grad = [1/4 (-1 - 1/2), 3/4 (1 - 1/2)] = [-3/8, 3/8].
    assert!(close(l1_probs(z, t, 2, &mut g), 0.5, 1e-6));
    assert!(
        close(g[0], -0.375, 1e-6) && close(g[1], 0.375, 1e-6),
        "{g:?}"
    );
}

/// Deterministic test inputs: logits on a 1/256 grid in [-4, 4] (so z +- 2^-12 is exact in
/// f32) and target rows that sum to 1 with every entry at least 0.02.
fn inputs(batch: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let logits: Vec<f32> = (0..batch * k)
        .map(|_| ((next() * 8.0 - 4.0) * 256.0).round() as f32 / 256.0)
        .collect();
    let mut targets = vec![0.0f32; batch * k];
    for row in targets.chunks_exact_mut(k) {
        let raw: Vec<f64> = (0..k).map(|_| 0.1 + next()).collect();
        let sum: f64 = raw.iter().sum();
        for (t, r) in row.iter_mut().zip(&raw) {
            *t = (r / sum) as f32;
        }
    }
    (logits, targets)
}

type LossF64 = fn(&[f32], &[f32], usize, &mut [f32]) -> f64;

/// Central differences of the f64 loss with h = 2^-12: truncation error h^2/6 |f'''| ~ 1e-8,
/// rounding ~1e-16 / h ~ 1e-12; the analytic gradient is stored in f32 (relative 6e-8).
/// Tolerance 1e-6 absolute.
fn check_gradient(name: &str, loss: LossF64, logits: &[f32], targets: &[f32], k: usize) {
    let h = 2f32.powi(-12);
    let mut grad = vec![0.0f32; logits.len()];
    let mut scratch = vec![0.0f32; logits.len()];
    loss(logits, targets, k, &mut grad);
    let mut z = logits.to_vec();
    for i in 0..z.len() {
        let z0 = z[i];
        z[i] = z0 + h;
        let up = loss(&z, targets, k, &mut scratch);
        z[i] = z0 - h;
        let down = loss(&z, targets, k, &mut scratch);
        z[i] = z0;
        let fd = (up - down) / (2.0 * h as f64);
        assert!(
            (fd - grad[i] as f64).abs() < 1e-6,
            "{name} [{i}]: analytic {} vs finite difference {fd}",
            grad[i]
        );
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (batch, k) = (3, 5);
    let (logits, targets) = inputs(batch, k);
    check_gradient(
        "cross_entropy_soft",
        cross_entropy_soft_f64,
        &logits,
        &targets,
        k,
    );
    check_gradient("inverse_kl", inverse_kl_f64, &logits, &targets, k);
    check_gradient("symmetric_kl", symmetric_kl_f64, &logits, &targets, k);
    check_gradient("l1_probs", l1_probs_f64, &logits, &targets, k);
    // Targets with exact zeros (the floor is a constant in z).
    let mut sparse = targets.clone();
    for row in sparse.chunks_exact_mut(k) {
        let moved = row[0];
        row[0] = 0.0;
        row[1] += moved;
    }
    check_gradient(
        "inverse_kl (zero targets)",
        inverse_kl_f64,
        &logits,
        &sparse,
        k,
    );
    check_gradient(
        "symmetric_kl (zero targets)",
        symmetric_kl_f64,
        &logits,
        &sparse,
        k,
    );
    // NLL with labels [0, 2, 4] (a non-capturing closure, so it fits `LossF64`).
    let nll_fixed: LossF64 = |z, _t, k, g| nll_f64(z, &[0, 2, 4], k, g);
    check_gradient("nll", nll_fixed, &logits, &targets, k);
    // Exponential head, width 2: targets 2.5 away from exp(z) so no kink is crossed.
    let outputs: Vec<f32> = logits[..6].iter().map(|z| z / 4.0).collect();
    let exp_targets: Vec<f32> = outputs
        .iter()
        .enumerate()
        .map(|(i, &z)| (z.exp() + if i % 2 == 0 { 2.5 } else { -2.5 }).max(0.0))
        .collect();
    check_gradient("l1_exp", l1_exp_f64, &outputs, &exp_targets, 2);
}

#[test]
fn extreme_logits_give_finite_losses_and_gradients() {
    let logits = [1000.0f32, -1000.0, 0.0, -1000.0, 1000.0, 999.0];
    let targets = [0.2f32, 0.3, 0.5, 0.0, 0.0, 1.0];
    let mut g = [0.0f32; 6];
    let losses = [
        nll(&logits, &[1, 0], 3, &mut g),
        cross_entropy_soft(&logits, &targets, 3, &mut g),
        inverse_kl(&logits, &targets, 3, &mut g),
        symmetric_kl(&logits, &targets, 3, &mut g),
        l1_probs(&logits, &targets, 3, &mut g),
        l1_exp(&logits, &targets, 3, &mut g),
    ];
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    // NLL row 0 with y = 1: 1000 - (-1000) = 2000; row 1 with y = 0: lse - (-1000) where
    // lse = 1000 + ln(1 + e^-1): mean (2000 + 2000 + ln(1 + e^-1)) / 2.
    let mut g = [0.0f32; 6];
    let want = (4000.0 + (1.0 + (-1f64).exp()).ln()) / 2.0;
    assert!(close(nll(&logits, &[1, 0], 3, &mut g), want, 1e-6));
    assert!(g.iter().all(|x| x.is_finite()));
    let mut probs = [0.0f32; 6];
    softmax_rows(&logits, 3, &mut probs);
    assert!(probs.iter().all(|p| p.is_finite()) && (probs[0] - 1.0).abs() < 1e-6);
}

#[test]
fn softmax_and_log_softmax_helpers() {
    let mut p = [0.0f32; 4];
    softmax_rows(&Z, 2, &mut p);
    for (got, want) in p.iter().zip([
        0.25,
        0.75,
        3f64.exp() / (1.0 + 3f64.exp()),
        1.0 / (1.0 + 3f64.exp()),
    ]) {
        assert!(close(*got, want, 1e-6), "{p:?}");
    }
    let mut lp = [0.0f32; 4];
    log_softmax_rows(&Z, 2, &mut lp);
    for (l, q) in lp.iter().zip(&p) {
        assert!((l.exp() - q).abs() < 1e-6);
    }
}

#[test]
#[should_panic(expected = "label 3 out of range")]
fn nll_rejects_a_label_out_of_range() {
    let mut g = [0.0f32; 3];
    nll(&[0.0, 1.0, 2.0], &[3], 3, &mut g);
}

#[test]
#[should_panic(expected = "targets: length 3")]
fn mismatched_shapes_panic_with_the_argument_name() {
    let mut g = [0.0f32; 4];
    cross_entropy_soft(&[0.0; 4], &[0.0; 3], 2, &mut g);
}

//! Losses on a network's raw outputs, with their gradients: the teacher's NLL (the likelihood
//! term of Eq. 7) and the students' distillation losses l(g_hat, f) of Eq. 8 (cross-entropy to
//! the target distribution, inverse and symmetric KL, L1 on probabilities, L1 on an
//! exponential head).
//!
//! Every loss takes raw outputs `[batch, k]` (row-major), returns the MEAN over the batch of
//! the per-example loss (summed over the k outputs), and overwrites a caller buffer `grad`
//! `[batch, k]` with dLoss/d(raw outputs). Softmax is fused in through log-sum-exp, so logits
//! of any size give finite values; rows are computed in f64 and written in f32. Nothing is
//! allocated.
//!
//! Normalisation: Eq. 8 weights the minibatch sum by N'/M', i.e. N' times our batch mean. The
//! constant N' leaves Adam's steps unchanged (Adam is invariant to a constant scale of the
//! gradient, up to eps) but does change the balance with a regulariser lambda R(phi): a lambda
//! of the paper's scale corresponds to lambda / N' here.
//!
//! Shape mismatches are programming errors and panic (see each function's `# Panics`).

/// Floor on target probabilities inside log t (inverse and symmetric KL): a target of exactly
/// 0 would make KL(s || t) infinite; with the floor a student mass s on such a class costs
/// s ln(s / 1e-8), at most ~18.4 s. Targets at or above the floor are unaffected.
pub const TARGET_FLOOR: f64 = 1e-8;

/// Outputs of the exponential head are clamped to this before exp (exp(80) = 5.5e34, finite in
/// f32), so loss and gradient stay finite; the gradient is taken at the clamped value, so an
/// output beyond the clamp is still pulled back.
pub const EXP_HEAD_MAX: f64 = 80.0;

/// Number of rows of a `[batch, k]` buffer, checking the shapes of its companions.
fn batch_of(raw: &[f32], k: usize, companions: &[(&str, usize)]) -> usize {
    assert!(k > 0, "k must be positive");
    assert_eq!(
        raw.len() % k,
        0,
        "raw outputs: length {} is not a multiple of k = {k}",
        raw.len()
    );
    for &(name, len) in companions {
        assert_eq!(
            len,
            raw.len(),
            "{name}: length {len}, expected {} ([batch, {k}])",
            raw.len()
        );
    }
    raw.len() / k
}

/// (max, ln sum exp(z - max)) of one row, in f64: log softmax(z)_j = z_j - max - ln_sum.
#[inline]
fn log_sum_exp(row: &[f32]) -> f64 {
    let max = row.iter().fold(f32::NEG_INFINITY, |m, &z| m.max(z)) as f64;
    let sum: f64 = row.iter().map(|&z| (z as f64 - max).exp()).sum();
    max + sum.ln()
}

/// The batch mean of a soft-target loss over `[batch, k]` rows: `row(z, t, lse, scale, g)`
/// gets one row of logits and targets with its log-sum-exp and the 1/batch scale, writes the
/// row's (scaled) gradient into `g` and returns the row's loss.
fn mean_over_rows(
    logits: &[f32],
    targets: &[f32],
    k: usize,
    grad: &mut [f32],
    mut row: impl FnMut(&[f32], &[f32], f64, f64, &mut [f32]) -> f64,
) -> f64 {
    let batch = batch_of(
        logits,
        k,
        &[("targets", targets.len()), ("grad", grad.len())],
    );
    let scale = 1.0 / batch.max(1) as f64;
    let mut total = 0.0;
    for ((z, t), g) in logits
        .chunks_exact(k)
        .zip(targets.chunks_exact(k))
        .zip(grad.chunks_exact_mut(k))
    {
        total += row(z, t, log_sum_exp(z), scale, g);
    }
    total * scale
}

/// Row-wise softmax: `logits` `[batch, k]` -> `probs` `[batch, k]`.
///
/// # Panics
/// If the lengths differ or are not a multiple of `k`.
pub fn softmax_rows(logits: &[f32], k: usize, probs: &mut [f32]) {
    batch_of(logits, k, &[("probs", probs.len())]);
    for (z, p) in logits.chunks_exact(k).zip(probs.chunks_exact_mut(k)) {
        let lse = log_sum_exp(z);
        for (p, &z) in p.iter_mut().zip(z) {
            *p = (z as f64 - lse).exp() as f32;
        }
    }
}

/// Row-wise log softmax: `logits` `[batch, k]` -> `out` `[batch, k]`.
///
/// # Panics
/// If the lengths differ or are not a multiple of `k`.
pub fn log_softmax_rows(logits: &[f32], k: usize, out: &mut [f32]) {
    batch_of(logits, k, &[("out", out.len())]);
    for (z, o) in logits.chunks_exact(k).zip(out.chunks_exact_mut(k)) {
        let lse = log_sum_exp(z);
        for (o, &z) in o.iter_mut().zip(z) {
            *o = (z as f64 - lse) as f32;
        }
    }
}

/// x ln x with 0 ln 0 = 0.
#[inline]
pub(crate) fn xlnx(x: f64) -> f64 {
    if x > 0.0 { x * x.ln() } else { 0.0 }
}

/// Negative log-likelihood of integer labels, -mean_i log softmax(z_i)[y_i] (the teacher's
/// loss). `logits` `[batch, k]`, `labels` `[batch]` in 0..k, `grad` `[batch, k]` receives
/// (softmax(z) - onehot(y)) / batch.
///
/// # Panics
/// On mismatched shapes or a label >= k.
pub fn nll(logits: &[f32], labels: &[u8], k: usize, grad: &mut [f32]) -> f32 {
    nll_f64(logits, labels, k, grad) as f32
}

pub(crate) fn nll_f64(logits: &[f32], labels: &[u8], k: usize, grad: &mut [f32]) -> f64 {
    let batch = batch_of(logits, k, &[("grad", grad.len())]);
    assert_eq!(
        labels.len(),
        batch,
        "labels: length {}, expected batch = {batch}",
        labels.len()
    );
    let scale = 1.0 / batch.max(1) as f64;
    let mut total = 0.0;
    for ((z, g), &y) in logits
        .chunks_exact(k)
        .zip(grad.chunks_exact_mut(k))
        .zip(labels)
    {
        let y = y as usize;
        assert!(y < k, "label {y} out of range for k = {k}");
        let lse = log_sum_exp(z);
        total += lse - z[y] as f64;
        for (j, (g, &zj)) in g.iter_mut().zip(z).enumerate() {
            let onehot = if j == y { 1.0 } else { 0.0 };
            *g = (((zj as f64 - lse).exp() - onehot) * scale) as f32;
        }
    }
    total * scale
}

/// Cross-entropy to a target distribution, -mean_i sum_y t_iy log softmax(z_i)_y: the paper's
/// loss for the posterior predictive. `logits`, `targets` and `grad` are `[batch, k]`; the
/// gradient is (softmax(z) sum_y t_y - t) / batch (= (s - t) / batch when rows of t sum to 1).
///
/// # Panics
/// On mismatched shapes.
pub fn cross_entropy_soft(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f32 {
    cross_entropy_soft_f64(logits, targets, k, grad) as f32
}

pub(crate) fn cross_entropy_soft_f64(
    logits: &[f32],
    targets: &[f32],
    k: usize,
    grad: &mut [f32],
) -> f64 {
    mean_over_rows(logits, targets, k, grad, |z, t, lse, scale, g| {
        let mut loss = 0.0;
        let t_sum: f64 = t.iter().map(|&t| t as f64).sum();
        for ((g, &zj), &tj) in g.iter_mut().zip(z).zip(t) {
            let log_s = zj as f64 - lse;
            loss -= tj as f64 * log_s;
            *g = ((log_s.exp() * t_sum - tj as f64) * scale) as f32;
        }
        loss
    })
}

/// Inverse KL, mean_i KL(s_i || t_i) = sum_y s_y (log s_y - log t_y), s = softmax(z), with
/// log t taken as ln max(t, [`TARGET_FLOOR`]). Gradient s_j (a_j - KL) / batch with
/// a_j = log s_j - log t_j. `logits`, `targets`, `grad` are `[batch, k]`.
///
/// # Panics
/// On mismatched shapes.
pub fn inverse_kl(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f32 {
    inverse_kl_f64(logits, targets, k, grad) as f32
}

pub(crate) fn inverse_kl_f64(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f64 {
    mean_over_rows(logits, targets, k, grad, |z, t, lse, scale, g| {
        let mut loss = 0.0;
        let kl = inverse_kl_row(z, t, lse);
        loss += kl;
        for ((g, &zj), &tj) in g.iter_mut().zip(z).zip(t) {
            let log_s = zj as f64 - lse;
            let a = log_s - floored_ln(tj);
            *g = (log_s.exp() * (a - kl) * scale) as f32;
        }
        loss
    })
}

#[inline]
fn floored_ln(t: f32) -> f64 {
    (t as f64).max(TARGET_FLOOR).ln()
}

/// KL(s || t) of one row, s = softmax(z) with log-sum-exp `lse`.
#[inline]
fn inverse_kl_row(z: &[f32], t: &[f32], lse: f64) -> f64 {
    z.iter()
        .zip(t)
        .map(|(&zj, &tj)| {
            let log_s = zj as f64 - lse;
            log_s.exp() * (log_s - floored_ln(tj))
        })
        .sum()
}

/// Symmetric KL, mean_i [KL(t_i || s_i) + KL(s_i || t_i)], s = softmax(z). KL(t || s) uses
/// t ln t with 0 ln 0 = 0 (no floor needed); KL(s || t) is [`inverse_kl`]'s, floor included.
/// `logits`, `targets`, `grad` are `[batch, k]`.
///
/// # Panics
/// On mismatched shapes.
pub fn symmetric_kl(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f32 {
    symmetric_kl_f64(logits, targets, k, grad) as f32
}

pub(crate) fn symmetric_kl_f64(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f64 {
    mean_over_rows(logits, targets, k, grad, |z, t, lse, scale, g| {
        let mut loss = 0.0;
        let t_sum: f64 = t.iter().map(|&t| t as f64).sum();
        let kl_inv = inverse_kl_row(z, t, lse);
        loss += kl_inv;
        for ((g, &zj), &tj) in g.iter_mut().zip(z).zip(t) {
            let (log_s, tj) = (zj as f64 - lse, tj as f64);
            let s = log_s.exp();
            // KL(t || s) = sum t ln t - sum t log s; its gradient is s sum t - t.
            loss += xlnx(tj) - tj * log_s;
            let a = log_s - floored_ln(tj as f32);
            *g = ((s * t_sum - tj + s * (a - kl_inv)) * scale) as f32;
        }
        loss
    })
}

/// L1 distance between probability vectors, mean_i sum_y |softmax(z_i)_y - t_iy|. Gradient
/// s_j (sigma_j - sum_y sigma_y s_y) / batch with sigma = sign(s - t) (0 at a tie: a
/// subgradient). `logits`, `targets`, `grad` are `[batch, k]`.
///
/// # Panics
/// On mismatched shapes.
pub fn l1_probs(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f32 {
    l1_probs_f64(logits, targets, k, grad) as f32
}

pub(crate) fn l1_probs_f64(logits: &[f32], targets: &[f32], k: usize, grad: &mut [f32]) -> f64 {
    mean_over_rows(logits, targets, k, grad, |z, t, lse, scale, g| {
        let mut loss = 0.0;
        let prob = |zj: f32| (zj as f64 - lse).exp();
        let mut weighted_sign = 0.0;
        for (&zj, &tj) in z.iter().zip(t) {
            let d = prob(zj) - tj as f64;
            loss += d.abs();
            weighted_sign += sign(d) * prob(zj);
        }
        for ((g, &zj), &tj) in g.iter_mut().zip(z).zip(t) {
            let s = prob(zj);
            *g = (s * (sign(s - tj as f64) - weighted_sign) * scale) as f32;
        }
        loss
    })
}

/// sign(x) with sign(0) = 0.
#[inline]
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// L1 loss of an exponential head f = exp(z) (positive outputs, e.g. the expected-entropy
/// student): mean over the batch of sum over the `width` outputs of |t - exp(z)|. `outputs`,
/// `targets` and `grad` are `[batch, width]`; the gradient is sign(f - t) f / batch. Outputs are
/// clamped to [`EXP_HEAD_MAX`] before exp.
///
/// # Panics
/// On mismatched shapes.
pub fn l1_exp(outputs: &[f32], targets: &[f32], width: usize, grad: &mut [f32]) -> f32 {
    l1_exp_f64(outputs, targets, width, grad) as f32
}

pub(crate) fn l1_exp_f64(outputs: &[f32], targets: &[f32], width: usize, grad: &mut [f32]) -> f64 {
    let batch = batch_of(
        outputs,
        width,
        &[("targets", targets.len()), ("grad", grad.len())],
    );
    let scale = 1.0 / batch.max(1) as f64;
    let mut total = 0.0;
    for ((&z, &t), g) in outputs.iter().zip(targets).zip(grad.iter_mut()) {
        let f = (z as f64).min(EXP_HEAD_MAX).exp();
        let d = f - t as f64;
        total += d.abs();
        *g = (sign(d) * f * scale) as f32;
    }
    total * scale
}

#[cfg(test)]
#[path = "loss_tests.rs"]
mod tests;

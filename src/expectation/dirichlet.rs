//! EnD^2's Dirichlet target (Malinin et al. 2020, "Ensemble Distribution Distillation"), the
//! baseline of the paper's Tables 2, 3 and 8, trained online on the teacher chain: the
//! student's K outputs z are log-concentrations, alpha_k = exp(z_k / T), and each teacher
//! sample p(.|x, theta_t) is taken as one draw of Dir(alpha), so the loss is its negative
//! log-likelihood, averaged over the batch:
//!
//! l(z, p) = -ln Gamma(alpha_0) + sum_k ln Gamma(alpha_k) - sum_k (alpha_k - 1) ln p_k,
//! dl/dz_k = (alpha_k / T) (psi(alpha_k) - psi(alpha_0) - ln p_k).
//!
//! Temperature annealing, as in EnD^2's reference code: at temperature T the teacher's
//! probabilities are heated to softmax(ln p / T) and the concentrations are exp(z / T); T
//! falls linearly from T_0 to 1 over the first N student steps ([`Annealing`]), then stays
//! there. The reference code holds T_0 for a number of epochs before the linear decay; here
//! the decay starts at once. It also multiplies the loss by T^2 in one version and not in
//! another; here it is not (Adam's steps hardly depend on the loss's scale). The temperature
//! depends only on the student's step count, so a resumed run continues exactly.
//!
//! For numerical stability the teacher's (heated) probabilities are smoothed towards the
//! uniform, p <- (1 - eps) p + eps / K, so that ln p_k >= ln(eps / K). eps is the student's
//! `dirichlet_smoothing`, by default `config::DEFAULT_DIRICHLET_SMOOTHING` = 1e-7 (the
//! `teacher_prob_smoothing` default of Malinin's PriorNetworks image code; their NMT code uses
//! 1e-3). It matters beyond stability: the Dirichlet's maximum-likelihood fit matches
//! E[ln p_k], which the teacher's tiny class probabilities dominate; a larger eps raises that
//! floor and, as measured (README), the fitted Dirichlet's aleatoric uncertainty.
//!
//! The student predicts alpha = exp(z) (T = 1); `uncertainty::dirichlet` turns it into the
//! expected predictive and the total / aleatoric / knowledge uncertainty.

use super::target::PosteriorExpectation;
use crate::base::special::{digamma, ln_gamma};

/// ln alpha is clamped to [-LN_ALPHA_LIMIT, LN_ALPHA_LIMIT] in the loss (alpha within
/// [1.8e-35, 5.5e34], where ln Gamma and psi are finite), the gradient taken at the clamped
/// value so that an output beyond the limit is still pulled back.
pub const LN_ALPHA_LIMIT: f64 = 80.0;

/// The temperature schedule: T_0 at step 0, linear to 1 at step `steps`, then 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Annealing {
    pub initial: f64,
    pub steps: u64,
}

impl Annealing {
    /// No annealing: T = 1 throughout.
    pub const NONE: Annealing = Annealing {
        initial: 1.0,
        steps: 0,
    };

    /// T at the student's step `step` (0 for its first step).
    pub fn temperature(&self, step: u64) -> f64 {
        if step >= self.steps {
            return 1.0;
        }
        self.initial + (1.0 - self.initial) * step as f64 / self.steps as f64
    }
}

/// The Dirichlet target of a `dirichlet` student: K = `classes` log-concentrations.
#[derive(Debug, Clone)]
pub struct DirichletTarget {
    pub classes: usize,
    pub annealing: Annealing,
    /// eps of the teacher probabilities' smoothing towards the uniform, in (0, 1).
    pub smoothing: f64,
    /// T of the current step (set by [`PosteriorExpectation::set_student_step`]).
    temperature: f64,
}

impl DirichletTarget {
    /// The target for `classes` classes with temperature schedule `annealing` and the
    /// teacher's probabilities smoothed by `smoothing`.
    pub fn new(classes: usize, annealing: Annealing, smoothing: f64) -> Self {
        DirichletTarget {
            classes,
            annealing,
            smoothing,
            temperature: annealing.temperature(0),
        }
    }

    /// T of the current step.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }
}

impl PosteriorExpectation for DirichletTarget {
    fn width(&self) -> usize {
        self.classes
    }

    fn set_student_step(&mut self, step: u64) {
        self.temperature = self.annealing.temperature(step);
    }

    /// The teacher's probabilities, one draw of the student's Dirichlet.
    fn value(&self, probs: &[f32], _classes: usize, out: &mut [f32]) {
        out.copy_from_slice(probs);
    }

    /// alpha = exp(z), within [f32::MIN_POSITIVE, f32::MAX] so that alpha_0 > 0 and finite.
    fn predict(&self, raw: &[f32], out: &mut [f32]) {
        for (o, &z) in out.iter_mut().zip(raw) {
            *o = z.exp().clamp(f32::MIN_POSITIVE, f32::MAX);
        }
    }

    fn loss(&self, raw: &[f32], targets: &[f32], grad: &mut [f32]) -> f32 {
        let k = self.classes;
        let batch = raw.len() / k.max(1);
        let (mut z, mut p, mut g) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
        let mut total = 0.0;
        for ((raw, target), grad) in raw
            .chunks_exact(k)
            .zip(targets.chunks_exact(k))
            .zip(grad.chunks_exact_mut(k))
        {
            z.iter_mut().zip(raw).for_each(|(z, &r)| *z = r as f64);
            p.iter_mut().zip(target).for_each(|(p, &t)| *p = t as f64);
            total += dirichlet_nll(&z, &p, self.temperature, self.smoothing, &mut g);
            for (out, &v) in grad.iter_mut().zip(&g) {
                *out = (v / batch as f64) as f32;
            }
        }
        (total / batch.max(1) as f64) as f32
    }
}

/// The teacher's probabilities `p` heated to softmax(ln p / T) and smoothed towards the
/// uniform by `smoothing`: the log-probabilities ln p_k the loss uses, written to `out`.
fn heated_log_probs(p: &[f64], temperature: f64, smoothing: f64, out: &mut [f64]) {
    let k = p.len() as f64;
    let max = p.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    // (p_k / max)^(1/T), 0 for p_k = 0.
    for (o, &v) in out.iter_mut().zip(p) {
        *o = (v.max(0.0) / max).powf(1.0 / temperature);
    }
    let sum: f64 = out.iter().sum();
    for o in out.iter_mut() {
        *o = ((1.0 - smoothing) * *o / sum + smoothing / k).ln();
    }
}

/// The Dirichlet NLL of one row: log-concentrations `z` (alpha = exp(z / T)), teacher
/// probabilities `p`, temperature `temperature`, smoothing eps `smoothing`; dl/dz into `grad`
/// (which holds ln p_k until each is used, so the row needs no buffer of its own).
pub fn dirichlet_nll(
    z: &[f64],
    p: &[f64],
    temperature: f64,
    smoothing: f64,
    grad: &mut [f64],
) -> f64 {
    heated_log_probs(p, temperature, smoothing, grad);
    let alpha = |z: f64| {
        (z / temperature)
            .clamp(-LN_ALPHA_LIMIT, LN_ALPHA_LIMIT)
            .exp()
    };
    let alpha_0: f64 = z.iter().map(|&z| alpha(z)).sum();
    let psi_0 = digamma(alpha_0);
    let mut nll = -ln_gamma(alpha_0);
    for (&z, g) in z.iter().zip(grad.iter_mut()) {
        let (a, lp) = (alpha(z), *g);
        nll += ln_gamma(a) - (a - 1.0) * lp;
        *g = a / temperature * (digamma(a) - psi_0 - lp);
    }
    nll
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default smoothing (`config::DEFAULT_DIRICHLET_SMOOTHING`).
    const EPS: f64 = crate::config::DEFAULT_DIRICHLET_SMOOTHING;

    /// Beta(2, 3) at p = 0.4: density Gamma(5) / (Gamma(2) Gamma(3)) p (1 - p)^2 = 12 x 0.4 x
    /// 0.36 = 1.728, NLL = -ln 1.728 = -0.546965. Its gradient by hand with psi(2) = 1 - g,
    /// psi(3) = 3/2 - g, psi(5) = 25/12 - g (g = Euler's constant, A&S 6.3.2):
    /// 2 (1 - 25/12 - ln 0.4) = -0.334085, 3 (3/2 - 25/12 - ln 0.6) = -0.217523.
    #[test]
    fn beta_case_by_hand() {
        let mut g = [0.0; 2];
        let nll = dirichlet_nll(&[2f64.ln(), 3f64.ln()], &[0.4, 0.6], 1.0, EPS, &mut g);
        // The smoothing moves p by ~1e-8: tolerance 1e-6.
        assert!((nll + 1.728f64.ln()).abs() < 1e-6, "{nll}");
        let want = [
            2.0 * (1.0 - 25.0 / 12.0 - 0.4f64.ln()),
            3.0 * (1.5 - 25.0 / 12.0 - 0.6f64.ln()),
        ];
        assert!(
            (g[0] - want[0]).abs() < 1e-6 && (g[1] - want[1]).abs() < 1e-6,
            "{g:?}"
        );
        assert!((want[0] + 0.334_085).abs() < 1e-6 && (want[1] + 0.217_523).abs() < 1e-6);
        // Dir(1, 1) is uniform: NLL 0 anywhere.
        let nll = dirichlet_nll(&[0.0, 0.0], &[0.9, 0.1], 1.0, EPS, &mut g);
        assert!(nll.abs() < 1e-12, "{nll}");
    }

    /// At T = 2 the same Beta(2, 3) at 0.4 comes from z = 2 (ln 2, ln 3) and the teacher's
    /// p = (0.16, 0.36) / 0.52, whose heated softmax(ln p / 2) is (0.4, 0.6); the gradient is
    /// the T = 1 one divided by T.
    #[test]
    fn temperature_heats_both_sides() {
        let (mut g1, mut g2) = ([0.0; 2], [0.0; 2]);
        let cold = dirichlet_nll(&[2f64.ln(), 3f64.ln()], &[0.4, 0.6], 1.0, EPS, &mut g1);
        let p = [0.16 / 0.52, 0.36 / 0.52];
        let hot = dirichlet_nll(&[2.0 * 2f64.ln(), 2.0 * 3f64.ln()], &p, 2.0, EPS, &mut g2);
        assert!((cold - hot).abs() < 1e-9, "{cold} vs {hot}");
        assert!((g1[0] / 2.0 - g2[0]).abs() < 1e-9 && (g1[1] / 2.0 - g2[1]).abs() < 1e-9);
    }

    /// The gradient against central differences in f64 (step 1e-6: error ~1e-12 / 1e-6 from
    /// rounding plus h^2 from truncation), at T = 1 and T = 3, with near-zero teacher
    /// probabilities (where the smoothing acts) and large and small concentrations.
    #[test]
    fn gradient_matches_finite_differences() {
        let p = [0.7, 0.2, 0.0999999, 1e-7, 0.0];
        for (z, t) in [
            ([0.3, -1.2, 2.5, -4.0, 0.0], 1.0),
            ([6.0, 1.0, -2.0, 0.5, 3.0], 3.0),
        ] {
            let mut g = [0.0; 5];
            dirichlet_nll(&z, &p, t, EPS, &mut g);
            let mut scratch = [0.0; 5];
            for k in 0..5 {
                let h = 1e-6;
                let (mut up, mut down) = (z, z);
                up[k] += h;
                down[k] -= h;
                let fd = (dirichlet_nll(&up, &p, t, EPS, &mut scratch)
                    - dirichlet_nll(&down, &p, t, EPS, &mut scratch))
                    / (2.0 * h);
                assert!(
                    (g[k] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                    "k {k}: {} vs {fd}",
                    g[k]
                );
            }
        }
    }

    /// The smoothing eps is p <- (1 - eps) p + eps / K before the logs: with eps = 0.1 and
    /// K = 2, p = (1, 0) is read as (0.95, 0.05), so the NLL of Beta(2, 3) there is that of
    /// the unsmoothed loss (eps 1e-300, no effect in f64) at (0.95, 0.05), by hand
    /// -ln(12 x 0.95 x 0.05^2) = 3.558; a larger eps raises the floor of ln p_k.
    #[test]
    fn smoothing_mixes_in_the_uniform() {
        let z = [2f64.ln(), 3f64.ln()];
        let (mut g1, mut g2) = ([0.0; 2], [0.0; 2]);
        let smoothed = dirichlet_nll(&z, &[1.0, 0.0], 1.0, 0.1, &mut g1);
        let by_hand = dirichlet_nll(&z, &[0.95, 0.05], 1.0, 1e-300, &mut g2);
        let want = -(12.0f64 * 0.95 * 0.05 * 0.05).ln();
        assert!((smoothed - want).abs() < 1e-12, "{smoothed} vs {want}");
        assert!((by_hand - want).abs() < 1e-12, "{by_hand} vs {want}");
        assert!((g1[0] - g2[0]).abs() < 1e-12 && (g1[1] - g2[1]).abs() < 1e-12);
        // The target carries its eps into the loss.
        let target = DirichletTarget::new(2, Annealing::NONE, 0.1);
        let mut grad = [0.0f32; 2];
        let loss = target.loss(&[z[0] as f32, z[1] as f32], &[1.0, 0.0], &mut grad);
        assert!((loss as f64 - want).abs() < 1e-5, "{loss}");
    }

    /// The f32 batch loss is the mean of the rows' f64 NLLs and its gradient theirs / batch.
    #[test]
    fn batch_loss_is_the_mean_of_rows() {
        let target = DirichletTarget::new(2, Annealing::NONE, EPS);
        let raw = [0.5f32, -0.5, 1.0, 2.0];
        let probs = [0.3f32, 0.7, 0.9, 0.1];
        let mut grad = [0.0f32; 4];
        let loss = target.loss(&raw, &probs, &mut grad);
        let (mut g0, mut g1) = ([0.0; 2], [0.0; 2]);
        let r0 = dirichlet_nll(
            &[0.5, -0.5],
            &[0.3f32 as f64, 0.7f32 as f64],
            1.0,
            EPS,
            &mut g0,
        );
        let r1 = dirichlet_nll(
            &[1.0, 2.0],
            &[0.9f32 as f64, 0.1f32 as f64],
            1.0,
            EPS,
            &mut g1,
        );
        assert!((loss as f64 - (r0 + r1) / 2.0).abs() < 1e-6);
        for (got, want) in grad.iter().zip(g0.iter().chain(&g1)) {
            assert!((*got as f64 - want / 2.0).abs() < 1e-6);
        }
    }

    /// T_0 = 10 over 100 steps: 10 at step 0, 10 - 9 x 0.25 = 7.75 at 25, 1 from step 100 on;
    /// no annealing (N = 0) is T = 1 from the start. The target follows the step it is set to.
    #[test]
    fn annealing_schedule() {
        let a = Annealing {
            initial: 10.0,
            steps: 100,
        };
        assert_eq!(a.temperature(0), 10.0);
        assert!((a.temperature(25) - 7.75).abs() < 1e-12);
        assert!((a.temperature(99) - 1.09).abs() < 1e-12);
        assert_eq!((a.temperature(100), a.temperature(10_000)), (1.0, 1.0));
        assert_eq!(Annealing::NONE.temperature(0), 1.0);
        let none = Annealing {
            initial: 10.0,
            steps: 0,
        };
        assert_eq!(none.temperature(0), 1.0);
        let mut target = DirichletTarget::new(3, a, EPS);
        assert_eq!(target.temperature(), 10.0);
        target.set_student_step(50);
        assert!((target.temperature() - 5.5).abs() < 1e-12);
    }
}

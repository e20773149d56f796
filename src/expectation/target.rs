//! Posterior expectations g(x, theta): what the teacher's value is at an input, given its
//! predictive probabilities p(y|x, theta), and how a student predicts g and is trained on it.
//!
//! - [`PosteriorPredictive`]: g = p(y|x,theta); a 10-way softmax student; loss selectable
//!   (cross-entropy to the target distribution by default, inverse KL, symmetric KL, L1).
//! - [`ExpectedEntropy`]: g = H[p(.|x,theta)] = -sum_y p log p (the aleatoric part); a scalar
//!   exponential-head student; L1 loss.
//! - [`MarginalVariance`]: g = p(y|x,theta)(1 - p(y|x,theta)) per class, which the paper
//!   defines but never ran; an exponential head per class; L1 loss.
//! - [`MutualInformation`]: the knowledge uncertainty H[E_theta p] - E_theta H[p], no
//!   expectation of one sample's value: its per-sample value is the pair (p, H[p]), which the
//!   estimator `RunningMutualInformation` averages and turns into one target; a scalar
//!   exponential head (non-negative, like the entropy's); L1 loss.
//!
//! - [`DirichletTarget`]: EnD^2's Dirichlet over the teacher's samples (`super::dirichlet`).
//!
//! [`for_target`] builds the one a config's `target` names; [`for_student`] the one a
//! student trains (with a Dirichlet student's temperature annealing).

use super::dirichlet::{Annealing, DirichletTarget};
use crate::config::{DEFAULT_DIRICHLET_SMOOTHING, Loss, StudentConfig, Target};
use crate::nn::loss;

/// The posterior expectation of `target` for `classes` classes, trained with `loss` (only the
/// predictive's loss is selectable; the others use their own whatever `loss` says). A
/// Dirichlet has no temperature annealing here (its predictions do not need it).
pub fn for_target(target: Target, classes: usize, loss: Loss) -> Box<dyn PosteriorExpectation> {
    match target {
        Target::Predictive => Box::new(PosteriorPredictive { classes, loss }),
        Target::Entropy => Box::new(ExpectedEntropy),
        Target::Variance => Box::new(MarginalVariance { classes }),
        Target::MutualInformation => Box::new(MutualInformation { classes }),
        Target::Dirichlet => Box::new(DirichletTarget::new(
            classes,
            Annealing::NONE,
            DEFAULT_DIRICHLET_SMOOTHING,
        )),
    }
}

/// The posterior expectation the student of `cfg` trains, for `classes` classes: as
/// [`for_target`], a Dirichlet with the temperature annealing of `cfg`.
pub fn for_student(cfg: &StudentConfig, classes: usize) -> Box<dyn PosteriorExpectation> {
    match cfg.target {
        Target::Dirichlet => Box::new(DirichletTarget::new(
            classes,
            Annealing {
                initial: cfg.dirichlet_temperature,
                steps: cfg.dirichlet_anneal_steps,
            },
            cfg.dirichlet_smoothing,
        )),
        target => for_target(target, classes, cfg.loss),
    }
}

/// One posterior expectation: its value under a teacher sample and its student's head and loss.
pub trait PosteriorExpectation: Send {
    /// The student's outputs (and training targets) per input (10 for the predictive, 1 for
    /// the entropy).
    fn width(&self) -> usize;

    /// Values of one sample's g per input: `width` for an expectation, more where the
    /// estimator derives the target from several averaged values (the mutual information).
    fn value_width(&self) -> usize {
        self.width()
    }

    /// g(x, theta) for a batch: `probs` is the teacher's `[batch, classes]` predictive
    /// probabilities, `out` receives `[batch, value_width]`.
    fn value(&self, probs: &[f32], classes: usize, out: &mut [f32]);

    /// Called before each training step with the student's step count (0 for its first), for
    /// targets whose loss changes along training (the Dirichlet's temperature annealing).
    fn set_student_step(&mut self, _step: u64) {}

    /// The student's prediction from its raw outputs `[batch, width]` (softmax or exp head).
    fn predict(&self, raw: &[f32], out: &mut [f32]);

    /// Mean loss over the batch of the student's raw outputs against `targets`
    /// `[batch, width]`, writing dLoss/d raw into `grad`.
    fn loss(&self, raw: &[f32], targets: &[f32], grad: &mut [f32]) -> f32;
}

/// g = p(y|x, theta): the posterior predictive distribution.
#[derive(Debug, Clone)]
pub struct PosteriorPredictive {
    pub classes: usize,
    pub loss: Loss,
}

impl PosteriorExpectation for PosteriorPredictive {
    fn width(&self) -> usize {
        self.classes
    }

    fn value(&self, probs: &[f32], _classes: usize, out: &mut [f32]) {
        out.copy_from_slice(probs);
    }

    fn predict(&self, raw: &[f32], out: &mut [f32]) {
        loss::softmax_rows(raw, self.classes, out);
    }

    fn loss(&self, raw: &[f32], targets: &[f32], grad: &mut [f32]) -> f32 {
        let k = self.classes;
        match self.loss {
            // The Dirichlet NLL is no predictive loss (the config check refuses the pair).
            Loss::CrossEntropy | Loss::DirichletNll => {
                loss::cross_entropy_soft(raw, targets, k, grad)
            }
            Loss::InverseKl => loss::inverse_kl(raw, targets, k, grad),
            Loss::SymmetricKl => loss::symmetric_kl(raw, targets, k, grad),
            Loss::L1 => loss::l1_probs(raw, targets, k, grad),
        }
    }
}

/// g = H[p(.|x, theta)]: the expected entropy (aleatoric uncertainty).
#[derive(Debug, Clone, Default)]
pub struct ExpectedEntropy;

impl PosteriorExpectation for ExpectedEntropy {
    fn width(&self) -> usize {
        1
    }

    fn value(&self, probs: &[f32], classes: usize, out: &mut [f32]) {
        super::entropy_rows(probs, classes, out);
    }

    fn predict(&self, raw: &[f32], out: &mut [f32]) {
        exp_head(raw, out);
    }

    fn loss(&self, raw: &[f32], targets: &[f32], grad: &mut [f32]) -> f32 {
        loss::l1_exp(raw, targets, 1, grad)
    }
}

/// g = p(y|x, theta)(1 - p(y|x, theta)) per class: the marginal variance of the class indicator.
#[derive(Debug, Clone)]
pub struct MarginalVariance {
    pub classes: usize,
}

impl PosteriorExpectation for MarginalVariance {
    fn width(&self) -> usize {
        self.classes
    }

    fn value(&self, probs: &[f32], _classes: usize, out: &mut [f32]) {
        for (v, &p) in out.iter_mut().zip(probs) {
            *v = p * (1.0 - p);
        }
    }

    fn predict(&self, raw: &[f32], out: &mut [f32]) {
        exp_head(raw, out);
    }

    fn loss(&self, raw: &[f32], targets: &[f32], grad: &mut [f32]) -> f32 {
        loss::l1_exp(raw, targets, self.classes, grad)
    }
}

/// The mutual information I[y; theta | x] = H[E_theta p(.|x,theta)] - E_theta H[p(.|x,theta)]
/// (knowledge uncertainty). One sample's value is the row (p_1..p_K, H[p]) of width K + 1;
/// `RunningMutualInformation` keeps their running means and makes the target from them.
#[derive(Debug, Clone)]
pub struct MutualInformation {
    pub classes: usize,
}

impl PosteriorExpectation for MutualInformation {
    fn width(&self) -> usize {
        1
    }

    fn value_width(&self) -> usize {
        self.classes + 1
    }

    fn value(&self, probs: &[f32], classes: usize, out: &mut [f32]) {
        for (p, row) in probs
            .chunks_exact(classes)
            .zip(out.chunks_exact_mut(classes + 1))
        {
            row[..classes].copy_from_slice(p);
            row[classes] = super::entropy(p) as f32;
        }
    }

    fn predict(&self, raw: &[f32], out: &mut [f32]) {
        exp_head(raw, out);
    }

    fn loss(&self, raw: &[f32], targets: &[f32], grad: &mut [f32]) -> f32 {
        loss::l1_exp(raw, targets, 1, grad)
    }
}

/// The exponential head: a positive output exp(z).
fn exp_head(raw: &[f32], out: &mut [f32]) {
    for (o, &z) in out.iter_mut().zip(raw) {
        *o = z.exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_value_of_known_distributions() {
        // Row 0 uniform over 4 classes: ln 4 = 1.3862944. Row 1 [0.5, 0.5, 0, 0]: ln 2.
        let probs = [0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.0, 0.0];
        let mut out = [0.0; 2];
        ExpectedEntropy.value(&probs, 4, &mut out);
        assert!((out[0] - 1.386_294_4).abs() < 1e-6);
        assert!((out[1] - std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn variance_value_is_p_one_minus_p() {
        // p = [0.5, 0.3, 0.2]: p(1-p) = [0.25, 0.21, 0.16] by hand.
        let mut out = [0.0; 3];
        MarginalVariance { classes: 3 }.value(&[0.5, 0.3, 0.2], 3, &mut out);
        for (o, e) in out.iter().zip([0.25, 0.21, 0.16]) {
            assert!((o - e).abs() < 1e-7);
        }
    }

    #[test]
    fn mutual_information_value_is_probs_then_their_entropy() {
        // p = [0.5, 0.5]: the row is (0.5, 0.5, ln 2).
        let mut out = [0.0; 3];
        let mi = MutualInformation { classes: 2 };
        assert_eq!((mi.width(), mi.value_width()), (1, 3));
        mi.value(&[0.5, 0.5], 2, &mut out);
        assert_eq!(&out[..2], &[0.5, 0.5]);
        assert!((out[2] - std::f32::consts::LN_2).abs() < 1e-7);
    }

    #[test]
    fn predictive_value_is_the_teacher_distribution() {
        let p = [0.1, 0.9];
        let mut out = [0.0; 2];
        PosteriorPredictive {
            classes: 2,
            loss: Loss::CrossEntropy,
        }
        .value(&p, 2, &mut out);
        assert_eq!(out, p);
    }
}

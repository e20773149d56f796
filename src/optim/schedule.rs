//! Learning-rate schedules. The paper halves the students' Adam learning rate every 200 epochs
//! (MNIST) or 400 (CIFAR-10): PyTorch's `StepLR(step_size, gamma = 0.5)`.

use super::Optimizer;
use crate::{Error, Result};

/// `lr(epoch) = base_lr * gamma^floor(epoch / step_size)`, PyTorch's `StepLR` in closed form.
/// ("epoch" is whatever unit the caller counts; the paper counts epochs.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLr {
    base_lr: f32,
    step_size: u64,
    gamma: f32,
}

impl StepLr {
    /// A schedule from `base_lr`, multiplied by `gamma` every `step_size` epochs.
    /// Errors unless base_lr >= 0, step_size >= 1 and gamma > 0 (all finite).
    pub fn new(base_lr: f32, step_size: u64, gamma: f32) -> Result<Self> {
        if !(base_lr.is_finite() && base_lr >= 0.0) {
            return Err(Error::config(
                "schedule.base_lr",
                format!("must be finite and non-negative, found {base_lr}"),
            ));
        }
        if step_size == 0 {
            return Err(Error::config(
                "schedule.step_size",
                "must be at least 1, found 0",
            ));
        }
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(Error::config(
                "schedule.gamma",
                format!("must be finite and positive, found {gamma}"),
            ));
        }
        Ok(StepLr {
            base_lr,
            step_size,
            gamma,
        })
    }

    /// The learning rate during `epoch` (counted from 0), computed in f64.
    pub fn lr_at(&self, epoch: u64) -> f32 {
        let k = (epoch / self.step_size) as f64;
        (self.base_lr as f64 * (self.gamma as f64).powf(k)) as f32
    }

    /// The same schedule from another base learning rate (fine-tuning after pruning restarts
    /// it from the reset rate).
    pub fn with_base_lr(&self, base_lr: f32) -> Self {
        StepLr { base_lr, ..*self }
    }

    /// Sets `optimizer`'s learning rate to the one of `epoch`.
    pub fn apply(&self, epoch: u64, optimizer: &mut dyn Optimizer) {
        optimizer.set_learning_rate(self.lr_at(epoch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{Sgd, SgdConfig};

    #[test]
    fn halves_every_step_size_epochs() {
        // The paper's MNIST schedule: 1e-3 halved every 200 epochs.
        let s = StepLr::new(1e-3, 200, 0.5).unwrap();
        for (epoch, want) in [
            (0, 1e-3),
            (199, 1e-3),
            (200, 5e-4),
            (399, 5e-4),
            (400, 2.5e-4),
            (1000, 3.125e-5),
        ] {
            assert!(
                (s.lr_at(epoch) as f64 - want).abs() <= 1e-7 * want,
                "epoch {epoch}: {}",
                s.lr_at(epoch)
            );
        }
        // gamma = 0.1 every 3 epochs: 0.1 * 0.1^2 = 1e-3 at epoch 7.
        let s = StepLr::new(0.1, 3, 0.1).unwrap();
        assert!((s.lr_at(7) - 1e-3).abs() < 1e-10);
        let mut sgd = Sgd::new(SgdConfig {
            lr: 0.1,
            weight_decay: 0.0,
        })
        .unwrap();
        s.apply(3, &mut sgd);
        assert!((sgd.learning_rate() - 0.01).abs() < 1e-9);
    }

    #[test]
    fn invalid_schedules_are_rejected() {
        assert!(StepLr::new(1e-3, 0, 0.5).is_err());
        assert!(StepLr::new(1e-3, 10, 0.0).is_err());
        assert!(StepLr::new(f32::NAN, 10, 0.5).is_err());
    }
}

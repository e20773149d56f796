//! Plain stochastic gradient descent with PyTorch's semantics (`torch.optim.SGD` without
//! momentum): g = grad + weight_decay theta, theta <- theta - lr g.

use serde::{Deserialize, Serialize};

use super::Optimizer;
use crate::nn::ParamSet;
use crate::{Error, Result};

/// Settings of SGD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// The learning rate.
    pub lr: f32,
    /// L2 penalty added to the gradient (default 0).
    #[serde(default)]
    pub weight_decay: f32,
}

impl SgdConfig {
    /// Checks that lr and weight_decay are finite and non-negative.
    pub fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("optimizer.lr", self.lr),
            ("optimizer.weight_decay", self.weight_decay),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::config(
                    key,
                    format!("must be finite and non-negative, found {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// SGD without momentum (it keeps no state).
#[derive(Debug, Clone)]
pub struct Sgd {
    config: SgdConfig,
}

impl Sgd {
    /// SGD with validated settings.
    pub fn new(config: SgdConfig) -> Result<Self> {
        config.validate()?;
        Ok(Sgd { config })
    }
}

impl Optimizer for Sgd {
    /// # Panics
    /// If `params.grads` and `params.values` differ in length.
    fn step(&mut self, params: &mut ParamSet) {
        assert_eq!(
            params.values.len(),
            params.grads.len(),
            "values and grads differ in length"
        );
        let SgdConfig { lr, weight_decay } = self.config;
        for (theta, &g) in params.values.iter_mut().zip(&params.grads) {
            let g = g + weight_decay * *theta;
            *theta -= lr * g;
        }
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_step_by_hand() {
        // theta = [1, -2], grad = [0.5, 0.25], lr = 0.1, weight decay 0.2:
        // g = [0.5 + 0.2, 0.25 - 0.4] = [0.7, -0.15]; theta' = [1 - 0.07, -2 + 0.015] = [0.93, -1.985].
        let mut p = ParamSet::new();
        p.add("w", &[2]);
        p.values.copy_from_slice(&[1.0, -2.0]);
        p.grads.copy_from_slice(&[0.5, 0.25]);
        let mut sgd = Sgd::new(SgdConfig {
            lr: 0.1,
            weight_decay: 0.2,
        })
        .unwrap();
        sgd.step(&mut p);
        assert!((p.values[0] - 0.93).abs() < 1e-6);
        assert!((p.values[1] + 1.985).abs() < 1e-6);
        assert_eq!(p.grads, [0.5, 0.25]);
        sgd.set_learning_rate(0.5);
        assert_eq!(sgd.learning_rate(), 0.5);
    }

    #[test]
    fn negative_learning_rate_is_rejected() {
        let err = Sgd::new(SgdConfig {
            lr: -1.0,
            weight_decay: 0.0,
        })
        .unwrap_err();
        assert!(matches!(err, Error::Config { ref key, .. } if key == "optimizer.lr"));
    }
}

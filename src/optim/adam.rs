//! Adam (Kingma & Ba 2015) with the semantics of PyTorch's `torch.optim.Adam` (amsgrad off),
//! the students' optimiser in the paper. Per parameter, at step t:
//!
//! g <- grad + weight_decay theta (L2 penalty added to the gradient, not decoupled),
//! m <- m + (1 - beta1)(g - m),  v <- beta2 v + (1 - beta2) g^2,
//! theta <- theta - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps),
//!
//! which is the documented `theta - lr m_hat / (sqrt(v_hat) + eps)` in the order PyTorch's
//! single-tensor kernel evaluates it (bias corrections in f64, the rest in f32). One fused pass
//! over the flat buffers; long buffers are split over rayon's threads (the result does not
//! depend on their number).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Optimizer;
use crate::base::simd::simd_kernel;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::nn::ParamSet;
use crate::{Error, Result};

/// Values per parallel task.
const PAR_CHUNK: usize = 16 * 1024;

/// Settings of Adam; the defaults are PyTorch's (the paper uses lr = 1e-3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdamConfig {
    /// The learning rate (default 1e-3).
    pub lr: f32,
    /// Decay of the first-moment average (default 0.9).
    pub beta1: f32,
    /// Decay of the second-moment average (default 0.999).
    pub beta2: f32,
    /// Added to the denominator (default 1e-8).
    pub eps: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    /// Checks lr, eps, weight_decay >= 0 and 0 <= beta < 1 (all finite), as PyTorch does.
    pub fn validate(&self) -> Result<()> {
        let non_negative = [
            ("optimizer.lr", self.lr),
            ("optimizer.eps", self.eps),
            ("optimizer.weight_decay", self.weight_decay),
        ];
        for (key, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::config(
                    key,
                    format!("must be finite and non-negative, found {value}"),
                ));
            }
        }
        for (key, value) in [
            ("optimizer.beta1", self.beta1),
            ("optimizer.beta2", self.beta2),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(Error::config(
                    key,
                    format!("must be in [0, 1), found {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// Adam and its state: the moment averages m and v (one per parameter) and the step count.
#[derive(Debug, Clone)]
pub struct Adam {
    config: AdamConfig,
    m: Vec<f32>,
    v: Vec<f32>,
    steps: u64,
}

/// The per-step scalars of the fused kernel.
#[derive(Debug, Clone, Copy)]
struct AdamScalars {
    /// lr / (1 - beta1^t).
    step_size: f32,
    /// sqrt(1 - beta2^t).
    bias_correction2_sqrt: f32,
    beta2: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    eps: f32,
    weight_decay: f32,
}

impl Adam {
    /// Adam with validated settings. The state is sized on the first step (as in PyTorch).
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate()?;
        Ok(Adam {
            config,
            m: Vec::new(),
            v: Vec::new(),
            steps: 0,
        })
    }

    /// The settings (with the current learning rate).
    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Sizes the moments for `n` parameters before the first step (zeros, as the first step
    /// would), so that a saved state of that size can be loaded into a fresh optimiser.
    pub fn size_state(&mut self, n: usize) {
        if self.steps == 0 {
            self.m = vec![0.0; n];
            self.v = vec![0.0; n];
        }
    }

    /// Forgets the moments and the step count (a fresh optimiser with the same settings).
    pub fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.steps = 0;
    }

    fn scalars(&self) -> AdamScalars {
        let c = &self.config;
        let t = self.steps as f64;
        let bias_correction1 = 1.0 - (c.beta1 as f64).powf(t);
        let bias_correction2 = 1.0 - (c.beta2 as f64).powf(t);
        AdamScalars {
            step_size: (c.lr as f64 / bias_correction1) as f32,
            bias_correction2_sqrt: bias_correction2.sqrt() as f32,
            beta2: c.beta2,
            one_minus_beta1: (1.0 - c.beta1 as f64) as f32,
            one_minus_beta2: (1.0 - c.beta2 as f64) as f32,
            eps: c.eps,
            weight_decay: c.weight_decay,
        }
    }
}

impl Optimizer for Adam {
    /// # Panics
    /// If `params.grads` and `params.values` differ in length, or the number of parameters
    /// changed since the first step.
    fn step(&mut self, params: &mut ParamSet) {
        let n = params.values.len();
        assert_eq!(n, params.grads.len(), "values and grads differ in length");
        if self.steps == 0 && self.m.is_empty() {
            self.m = vec![0.0; n];
            self.v = vec![0.0; n];
        }
        assert_eq!(
            self.m.len(),
            n,
            "Adam state has {} parameters, the set has {n}",
            self.m.len()
        );
        self.steps += 1;
        let s = self.scalars();
        let (values, grads) = (&mut params.values[..], &params.grads[..]);
        if n <= PAR_CHUNK {
            adam_update(values, grads, &mut self.m, &mut self.v, s);
        } else {
            values
                .par_chunks_mut(PAR_CHUNK)
                .zip(grads.par_chunks(PAR_CHUNK))
                .zip(self.m.par_chunks_mut(PAR_CHUNK))
                .zip(self.v.par_chunks_mut(PAR_CHUNK))
                .for_each(|(((x, g), m), v)| adam_update(x, g, m, v, s));
        }
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

simd_kernel! {
    /// One thread's share, with the widest SIMD the CPU has.
    fn adam_update / adam_update_at_level(
        values: &mut [f32],
        grads: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        s: AdamScalars,
    ) = adam_body;
}

/// The fused update of one slice (all four slices have the same length).
#[inline(always)]
fn adam_body(values: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], s: AdamScalars) {
    let n = values.len();
    let (grads, m, v) = (&grads[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let theta = values[i];
        let g = grads[i] + s.weight_decay * theta;
        let mi = m[i] + s.one_minus_beta1 * (g - m[i]);
        let vi = s.beta2 * v[i] + s.one_minus_beta2 * g * g;
        let denom = vi.sqrt() / s.bias_correction2_sqrt + s.eps;
        values[i] = theta - s.step_size * (mi / denom);
        m[i] = mi;
        v[i] = vi;
    }
}

impl Stateful for Adam {
    /// The step count and the moments m and v (empty before the first step).
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.scalar(&format!("{prefix}steps"), self.steps);
        out.f32s(&format!("{prefix}m"), &self.m);
        out.f32s(&format!("{prefix}v"), &self.v);
    }

    /// Restores a state saved for a parameter set of the size this optimiser has stepped
    /// (see [`Adam::size_state`]).
    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        state.f32s_into(&format!("{prefix}m"), &mut self.m)?;
        state.f32s_into(&format!("{prefix}v"), &mut self.v)?;
        self.steps = state.scalar(&format!("{prefix}steps"))?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "adam_tests.rs"]
mod tests;

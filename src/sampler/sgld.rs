//! Stochastic gradient Langevin dynamics (Welling & Teh 2011), the teacher's sampler in
//! Algorithm 1 (Eq. 7), with the paper's spherical Gaussian prior N(0, I / tau):
//!
//! theta <- theta - eta_t/2 (N g_bar + tau theta) + sqrt(eta_t) xi,   xi ~ N(0, I),
//!
//! where g_bar is the mean minibatch gradient of the NLL (what a network's backward pass leaves
//! in [`ParamSet::grads`]) and N the training-set size, so N g_bar estimates the full-data NLL
//! gradient; eta_t = eta on the paper's constant schedule. The update is one fused pass over
//! the flat parameter and gradient buffers: noise is drawn on the fly, a small stack block at
//! a time, from a counter-based [`GaussianStream`](crate::base::GaussianStream), and long
//! buffers are split over rayon's threads. Noise value i of a step depends only on the seed
//! and on (step, i), so the result is bit-identical for any number of threads. On a cyclical
//! schedule's exploration steps the noise term is dropped (SGD on U); `kind = "cyclical"`,
//! cSGLD (Zhang et al. 2020), is this sampler on that schedule.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{FUSED_BLOCK, PAR_CHUNK, Sampler, Schedule, check_common};
use crate::Result;
use crate::base::gaussian::{self, GaussianStream};
use crate::base::simd::simd_kernel;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::nn::ParamSet;

/// Settings of the SGLD step. The paper uses eta = 4e-6 (MNIST) or 2e-6 (CIFAR-10), tau = 10,
/// and N = the number of teacher training examples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgldConfig {
    /// eta: the step size (fixed in the paper).
    pub step_size: f64,
    /// tau: the precision of the N(0, I / tau) prior on every parameter.
    pub prior_precision: f64,
    /// N: the size of the teacher's training set D.
    pub data_size: usize,
}

impl SgldConfig {
    /// Checks eta > 0, tau >= 0 (both finite) and N >= 1.
    pub fn validate(&self) -> Result<()> {
        check_common(self.step_size, self.prior_precision, self.data_size)
    }

    /// The update at the base step size eta, as theta <- decay theta - grad_scale g_bar +
    /// noise_scale xi.
    pub fn coefficients(&self) -> SgldCoefficients {
        self.coefficients_at(self.step_size)
    }

    /// The update at step size `eta` (eta_t of a schedule).
    pub fn coefficients_at(&self, eta: f64) -> SgldCoefficients {
        SgldCoefficients {
            decay: (1.0 - 0.5 * eta * self.prior_precision) as f32,
            grad_scale: (0.5 * eta * self.data_size as f64) as f32,
            noise_scale: eta.sqrt() as f32,
        }
    }
}

/// The three scalars of one SGLD step (computed in f64, applied in f32):
/// decay = 1 - eta tau / 2, grad_scale = eta N / 2, noise_scale = sqrt(eta).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgldCoefficients {
    pub decay: f32,
    pub grad_scale: f32,
    pub noise_scale: f32,
}

/// The SGLD sampler: its settings, its step-size schedule and its noise stream.
#[derive(Debug, Clone)]
pub struct Sgld {
    config: SgldConfig,
    schedule: Schedule,
    noise: GaussianStream,
    steps: u64,
}

impl Sgld {
    /// A sampler with validated `config`, on the constant schedule, whose noise comes from
    /// `seed`.
    pub fn new(config: SgldConfig, seed: u64) -> Result<Self> {
        config.validate()?;
        Ok(Sgld {
            config,
            schedule: Schedule::Constant,
            noise: GaussianStream::new(seed),
            steps: 0,
        })
    }

    /// The same sampler on `schedule` (eta_t = step_size s(t)).
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The settings.
    pub fn config(&self) -> &SgldConfig {
        &self.config
    }

    /// The noise stream (its key and position resume a run exactly).
    pub fn noise(&self) -> &GaussianStream {
        &self.noise
    }
}

impl Sampler for Sgld {
    /// One SGLD step (Eq. 7) at eta_t. Consumes `params.len()` noise values, rounded up to a
    /// whole noise block so that every step starts on a block (an exploring step, which draws
    /// none, skips them too).
    fn step(&mut self, params: &mut ParamSet, t: u64) {
        let mut coeffs = self
            .config
            .coefficients_at(self.schedule.step_size(self.config.step_size, t));
        if self.schedule.explores(t) {
            coeffs.noise_scale = 0.0;
        }
        self.noise.align_to_block();
        let (key, start) = (self.noise.key(), self.noise.position());
        sgld_update(&mut params.values, &params.grads, coeffs, key, start);
        self.noise.advance(params.len() as u64);
        self.steps += 1;
    }

    fn name(&self) -> &'static str {
        "sgld"
    }

    fn collecting(&self, t: u64) -> bool {
        self.schedule.collecting(t)
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}

/// The fused SGLD update on `values` and `grads` (same length):
/// `values[i] = decay * values[i] - grad_scale * grads[i] + noise_scale * xi[i]`,
/// with `xi[i]` = value `start + i` of the Gaussian stream `key`; no noise is drawn when
/// `noise_scale` is 0 (`values[i] = decay * values[i] - grad_scale * grads[i]`). Long buffers are split over rayon's threads; the result does not depend on their number.
///
/// # Panics
/// If `values` and `grads` differ in length.
pub fn sgld_update(
    values: &mut [f32],
    grads: &[f32],
    coeffs: SgldCoefficients,
    key: u64,
    start: u64,
) {
    assert_eq!(
        values.len(),
        grads.len(),
        "values and grads differ in length"
    );
    if values.len() <= PAR_CHUNK {
        sgld_update_serial(values, grads, coeffs, key, start);
    } else {
        values
            .par_chunks_mut(PAR_CHUNK)
            .zip(grads.par_chunks(PAR_CHUNK))
            .enumerate()
            .for_each(|(i, (v, g))| {
                sgld_update_serial(v, g, coeffs, key, start + (i * PAR_CHUNK) as u64)
            });
    }
}

simd_kernel! {
    /// One thread's share, with the widest SIMD the CPU has.
    fn sgld_update_serial / sgld_update_at_level(
        values: &mut [f32],
        grads: &[f32],
        coeffs: SgldCoefficients,
        key: u64,
        start: u64,
    ) = sgld_body;
}

/// The fused loop: a stack block of noise, then the update of the same block (or the update
/// alone, without noise).
#[inline(always)]
fn sgld_body(values: &mut [f32], grads: &[f32], coeffs: SgldCoefficients, key: u64, start: u64) {
    let SgldCoefficients {
        decay,
        grad_scale,
        noise_scale,
    } = coeffs;
    if noise_scale == 0.0 {
        for (v, &g) in values.iter_mut().zip(grads) {
            *v = decay * *v - grad_scale * g;
        }
        return;
    }
    let mut xi = [0.0f32; FUSED_BLOCK];
    for (b, (v, g)) in values
        .chunks_mut(FUSED_BLOCK)
        .zip(grads.chunks(FUSED_BLOCK))
        .enumerate()
    {
        let xi = &mut xi[..v.len()];
        gaussian::fill_at_body(key, start + (b * FUSED_BLOCK) as u64, xi);
        for ((v, &g), &x) in v.iter_mut().zip(g).zip(xi.iter()) {
            *v = decay * *v - grad_scale * g + noise_scale * x;
        }
    }
}

impl Stateful for Sgld {
    /// The noise stream's key and position, and the step count.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.scalar(&format!("{prefix}noise_key"), self.noise.key());
        out.scalar(&format!("{prefix}noise_position"), self.noise.position());
        out.scalar(&format!("{prefix}steps"), self.steps);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        let key = state.scalar(&format!("{prefix}noise_key"))?;
        let position = state.scalar(&format!("{prefix}noise_position"))?;
        self.steps = state.scalar(&format!("{prefix}steps"))?;
        self.noise = GaussianStream::from_key(key, position);
        Ok(())
    }
}

#[cfg(test)]
#[path = "sgld_tests.rs"]
mod tests;

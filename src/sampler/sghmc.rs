//! Stochastic gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014), in the "SGD with
//! momentum" parametrisation the paper gives for it, with the noise estimate beta_hat = 0:
//!
//! v <- (1 - alpha) v - eta_t (N g_bar + tau theta) + sqrt(2 alpha eta_t) xi,
//! theta <- theta + v,                                          xi ~ N(0, I),
//!
//! where eta = epsilon^2 / M (the learning rate) and alpha = epsilon C / M (the friction,
//! `sampler.friction`; the momentum term is 1 - alpha) for Hamiltonian step epsilon, mass M
//! and friction C: the mass is folded into eta and alpha, and v = epsilon r / M is the scaled
//! momentum. The gradient is taken at the current theta and theta moves with the new v, which
//! is Chen et al.'s SGHMC loop (theta_i = theta_{i-1} + v_{i-1}, then v_i from the gradient at
//! theta_i) read from one gradient to the next. v starts at 0. With beta_hat = 0 the
//! minibatch noise in eta N g_bar (variance O(eta^2)) is left uncorrected beside the injected
//! 2 alpha eta: a bias of relative order eta N^2 Var(g_bar) / (2 alpha), small at small eta.
//! alpha = 1 forgets v each step: theta <- theta - eta grad U + sqrt(2 eta) xi, SGLD at step
//! 2 eta. On a cyclical schedule's exploration steps the noise term is dropped (SGD with
//! momentum: cSGHMC, Zhang et al. 2020).
//!
//! One fused pass over the parameters, the gradients and the momentum, with the noise drawn a
//! stack block at a time from the counter-based stream as in `sgld`: bit-identical for any
//! number of threads.

use rayon::prelude::*;

use super::{FUSED_BLOCK, PAR_CHUNK, Sampler, Schedule, check_common};
use crate::base::gaussian::{self, GaussianStream};
use crate::base::simd::simd_kernel;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::nn::ParamSet;
use crate::{Error, Result};

/// Settings of SGHMC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SghmcConfig {
    /// eta: the learning rate epsilon^2 / M (the base step size of the schedule).
    pub step_size: f64,
    /// tau: the precision of the N(0, I / tau) prior on every parameter.
    pub prior_precision: f64,
    /// N: the size of the teacher's training set D.
    pub data_size: usize,
    /// alpha: the friction epsilon C / M, in (0, 1].
    pub friction: f64,
}

impl SghmcConfig {
    /// Checks eta > 0, tau >= 0, N >= 1 and alpha in (0, 1].
    pub fn validate(&self) -> Result<()> {
        check_common(self.step_size, self.prior_precision, self.data_size)?;
        if !(self.friction > 0.0 && self.friction <= 1.0) {
            return Err(Error::config(
                "sampler.friction",
                format!("must be in (0, 1], found {:?}", self.friction),
            ));
        }
        Ok(())
    }

    /// The update at learning rate `eta` (eta_t of a schedule), `noisy` or not.
    pub fn coefficients_at(&self, eta: f64, noisy: bool) -> SghmcCoefficients {
        let alpha = self.friction;
        SghmcCoefficients {
            momentum: (1.0 - alpha) as f32,
            grad_scale: (eta * self.data_size as f64) as f32,
            prior_scale: (eta * self.prior_precision) as f32,
            noise_scale: if noisy {
                (2.0 * alpha * eta).sqrt() as f32
            } else {
                0.0
            },
        }
    }
}

/// The scalars of one SGHMC step (computed in f64, applied in f32):
/// v <- momentum v - grad_scale g_bar - prior_scale theta + noise_scale xi, theta <- theta + v,
/// with momentum = 1 - alpha, grad_scale = eta N, prior_scale = eta tau,
/// noise_scale = sqrt(2 alpha eta) (0 without noise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SghmcCoefficients {
    pub momentum: f32,
    pub grad_scale: f32,
    pub prior_scale: f32,
    pub noise_scale: f32,
}

/// The SGHMC sampler: its settings, schedule, momentum v and noise stream.
#[derive(Debug, Clone)]
pub struct Sghmc {
    config: SghmcConfig,
    schedule: Schedule,
    momentum: Vec<f32>,
    noise: GaussianStream,
    steps: u64,
}

impl Sghmc {
    /// A sampler with validated `config` for `len` parameters, on the constant schedule, with
    /// v = 0 and noise from `seed`.
    pub fn new(config: SghmcConfig, len: usize, seed: u64) -> Result<Self> {
        config.validate()?;
        Ok(Sghmc {
            config,
            schedule: Schedule::Constant,
            momentum: vec![0.0; len],
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
    pub fn config(&self) -> &SghmcConfig {
        &self.config
    }

    /// The momentum v.
    pub fn momentum(&self) -> &[f32] {
        &self.momentum
    }

    /// The noise stream.
    pub fn noise(&self) -> &GaussianStream {
        &self.noise
    }
}

impl Sampler for Sghmc {
    /// One SGHMC step at eta_t. Consumes `params.len()` noise values, from the start of a
    /// noise block (as `Sgld`).
    ///
    /// # Panics
    /// If `params` is not of the length the sampler was built for.
    fn step(&mut self, params: &mut ParamSet, t: u64) {
        let n = params.len();
        assert_eq!(self.momentum.len(), n, "SGHMC momentum vs parameters");
        assert_eq!(params.grads.len(), n, "values and grads differ in length");
        let eta = self.schedule.step_size(self.config.step_size, t);
        let c = self.config.coefficients_at(eta, !self.schedule.explores(t));
        self.noise.align_to_block();
        let (key, start) = (self.noise.key(), self.noise.position());
        let (values, grads, v) = (
            &mut params.values[..],
            &params.grads[..],
            &mut self.momentum,
        );
        if n <= PAR_CHUNK {
            sghmc_update(values, grads, v, c, key, start);
        } else {
            values
                .par_chunks_mut(PAR_CHUNK)
                .zip(grads.par_chunks(PAR_CHUNK))
                .zip(v.par_chunks_mut(PAR_CHUNK))
                .enumerate()
                .for_each(|(i, ((x, g), v))| {
                    sghmc_update(x, g, v, c, key, start + (i * PAR_CHUNK) as u64)
                });
        }
        self.noise.advance(n as u64);
        self.steps += 1;
    }

    fn name(&self) -> &'static str {
        "sghmc"
    }

    fn collecting(&self, t: u64) -> bool {
        self.schedule.collecting(t)
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}

simd_kernel! {
    /// One thread's share, with the widest SIMD the CPU has: noise values `start..` of
    /// stream `key`.
    fn sghmc_update / sghmc_update_at_level(
        values: &mut [f32],
        grads: &[f32],
        momentum: &mut [f32],
        c: SghmcCoefficients,
        key: u64,
        start: u64,
    ) = sghmc_body;
}

/// The fused loop: a stack block of noise (none when `noise_scale` is 0), then the update of
/// the same block.
#[inline(always)]
fn sghmc_body(
    values: &mut [f32],
    grads: &[f32],
    momentum: &mut [f32],
    c: SghmcCoefficients,
    key: u64,
    start: u64,
) {
    let mut xi = [0.0f32; FUSED_BLOCK];
    let noisy = c.noise_scale != 0.0;
    for (b, ((x, g), v)) in values
        .chunks_mut(FUSED_BLOCK)
        .zip(grads.chunks(FUSED_BLOCK))
        .zip(momentum.chunks_mut(FUSED_BLOCK))
        .enumerate()
    {
        let xi = &mut xi[..x.len()];
        if noisy {
            gaussian::fill_at_body(key, start + (b * FUSED_BLOCK) as u64, xi);
        }
        let (g, v) = (&g[..x.len()], &mut v[..x.len()]);
        for i in 0..x.len() {
            let theta = x[i];
            let vi = c.momentum * v[i] - c.grad_scale * g[i] - c.prior_scale * theta
                + c.noise_scale * xi[i];
            v[i] = vi;
            x[i] = theta + vi;
        }
    }
}

impl Stateful for Sghmc {
    /// The noise stream's key and position, the step count and the momentum v.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.scalar(&format!("{prefix}noise_key"), self.noise.key());
        out.scalar(&format!("{prefix}noise_position"), self.noise.position());
        out.scalar(&format!("{prefix}steps"), self.steps);
        out.f32s(&format!("{prefix}momentum"), &self.momentum);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        let key = state.scalar(&format!("{prefix}noise_key"))?;
        let position = state.scalar(&format!("{prefix}noise_position"))?;
        state.f32s_into(&format!("{prefix}momentum"), &mut self.momentum)?;
        self.steps = state.scalar(&format!("{prefix}steps"))?;
        self.noise = GaussianStream::from_key(key, position);
        Ok(())
    }
}

#[cfg(test)]
#[path = "sghmc_tests.rs"]
mod tests;

//! Preconditioned SGLD (Li, Chen, Carlson & Carin 2016, Algorithm 1): SGLD with the diagonal
//! RMSprop preconditioner G, per parameter,
//!
//! V <- a V + (1 - a) g_bar^2,          G = 1 / (lambda + sqrt(V)),
//! theta <- theta - eta_t/2 G (N g_bar + tau theta) + sqrt(eta_t G) xi,   xi ~ N(0, I),
//!
//! with a = `sampler.rms_decay`, lambda = `sampler.rms_epsilon`, g_bar the mean minibatch NLL
//! gradient (Li et al.'s g_bar, the average of the minibatch's log-likelihood gradients: no
//! N, no prior) and V starting at 0 as in their Algorithm 1 (so the first steps, where V has
//! not yet grown to its level, take steps up to 1/sqrt(1 - a) times the settled ones: a
//! burn-in of several 1/(1 - a) steps covers them). As in the paper's experiments the
//! correction term Gamma(theta) = sum_j dG_ij / dtheta_j is dropped: it is small where V
//! averages over many of the chain's autocorrelation times (a close to 1), so that G hardly
//! depends on the current theta, and leaves a bias at any step size otherwise: on the 2-D
//! Bayesian linear regression of `posterior_tests`, a = 0.99 makes the posterior variances
//! 20-30% too large, a = 0.99999 leaves no measurable bias. On a cyclical
//! schedule's exploration steps the noise term is dropped (RMSprop on U); V is updated on
//! every step.
//!
//! One fused pass over the parameters, the gradients and V, with the noise drawn a stack block
//! at a time from the counter-based stream as in `sgld`: bit-identical for any number of
//! threads.

use rayon::prelude::*;

use super::{FUSED_BLOCK, PAR_CHUNK, Sampler, Schedule, check_common};
use crate::base::gaussian::{self, GaussianStream};
use crate::base::simd::simd_kernel;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::nn::ParamSet;
use crate::{Error, Result};

/// Settings of pSGLD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsgldConfig {
    /// eta: the step size (the base step size of the schedule).
    pub step_size: f64,
    /// tau: the precision of the N(0, I / tau) prior on every parameter.
    pub prior_precision: f64,
    /// N: the size of the teacher's training set D.
    pub data_size: usize,
    /// a: the decay of the squared-gradient average V, in [0, 1).
    pub rms_decay: f64,
    /// lambda: the regulariser of G = 1 / (lambda + sqrt(V)), > 0.
    pub rms_epsilon: f64,
}

impl PsgldConfig {
    /// Checks eta > 0, tau >= 0, N >= 1, a in [0, 1) and lambda > 0.
    pub fn validate(&self) -> Result<()> {
        check_common(self.step_size, self.prior_precision, self.data_size)?;
        if !(0.0..1.0).contains(&self.rms_decay) {
            return Err(Error::config(
                "sampler.rms_decay",
                format!("must be in [0, 1), found {:?}", self.rms_decay),
            ));
        }
        if !(self.rms_epsilon.is_finite() && self.rms_epsilon > 0.0) {
            return Err(Error::config(
                "sampler.rms_epsilon",
                format!("must be finite and > 0, found {:?}", self.rms_epsilon),
            ));
        }
        Ok(())
    }

    /// The update at step size `eta` (eta_t of a schedule), `noisy` or not.
    pub fn coefficients_at(&self, eta: f64, noisy: bool) -> PsgldCoefficients {
        PsgldCoefficients {
            decay: self.rms_decay as f32,
            one_minus_decay: (1.0 - self.rms_decay) as f32,
            epsilon: self.rms_epsilon as f32,
            grad_scale: (0.5 * eta * self.data_size as f64) as f32,
            prior_scale: (0.5 * eta * self.prior_precision) as f32,
            noise_scale: if noisy { eta.sqrt() as f32 } else { 0.0 },
        }
    }
}

/// The scalars of one pSGLD step (computed in f64, applied in f32):
/// V <- decay V + one_minus_decay g^2, G = 1 / (epsilon + sqrt(V)),
/// theta <- theta - G (grad_scale g + prior_scale theta) + noise_scale sqrt(G) xi,
/// with grad_scale = eta N / 2, prior_scale = eta tau / 2, noise_scale = sqrt(eta) (0
/// without noise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsgldCoefficients {
    pub decay: f32,
    pub one_minus_decay: f32,
    pub epsilon: f32,
    pub grad_scale: f32,
    pub prior_scale: f32,
    pub noise_scale: f32,
}

/// The pSGLD sampler: its settings, schedule, squared-gradient average V and noise stream.
#[derive(Debug, Clone)]
pub struct Psgld {
    config: PsgldConfig,
    schedule: Schedule,
    mean_square: Vec<f32>,
    noise: GaussianStream,
    steps: u64,
}

impl Psgld {
    /// A sampler with validated `config` for `len` parameters, on the constant schedule, with
    /// V = 0 and noise from `seed`.
    pub fn new(config: PsgldConfig, len: usize, seed: u64) -> Result<Self> {
        config.validate()?;
        Ok(Psgld {
            config,
            schedule: Schedule::Constant,
            mean_square: vec![0.0; len],
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
    pub fn config(&self) -> &PsgldConfig {
        &self.config
    }

    /// The squared-gradient average V.
    pub fn mean_square(&self) -> &[f32] {
        &self.mean_square
    }

    /// The noise stream.
    pub fn noise(&self) -> &GaussianStream {
        &self.noise
    }
}

impl Sampler for Psgld {
    /// One pSGLD step at eta_t. Consumes `params.len()` noise values, from the start of a
    /// noise block (as `Sgld`).
    ///
    /// # Panics
    /// If `params` is not of the length the sampler was built for.
    fn step(&mut self, params: &mut ParamSet, t: u64) {
        let n = params.len();
        assert_eq!(self.mean_square.len(), n, "pSGLD average vs parameters");
        assert_eq!(params.grads.len(), n, "values and grads differ in length");
        let eta = self.schedule.step_size(self.config.step_size, t);
        let c = self.config.coefficients_at(eta, !self.schedule.explores(t));
        self.noise.align_to_block();
        let (key, start) = (self.noise.key(), self.noise.position());
        let (values, grads, ms) = (
            &mut params.values[..],
            &params.grads[..],
            &mut self.mean_square,
        );
        if n <= PAR_CHUNK {
            psgld_update(values, grads, ms, c, key, start);
        } else {
            values
                .par_chunks_mut(PAR_CHUNK)
                .zip(grads.par_chunks(PAR_CHUNK))
                .zip(ms.par_chunks_mut(PAR_CHUNK))
                .enumerate()
                .for_each(|(i, ((x, g), ms))| {
                    psgld_update(x, g, ms, c, key, start + (i * PAR_CHUNK) as u64)
                });
        }
        self.noise.advance(n as u64);
        self.steps += 1;
    }

    fn name(&self) -> &'static str {
        "psgld"
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
    fn psgld_update / psgld_update_at_level(
        values: &mut [f32],
        grads: &[f32],
        mean_square: &mut [f32],
        c: PsgldCoefficients,
        key: u64,
        start: u64,
    ) = psgld_body;
}

/// The fused loop: a stack block of noise (none when `noise_scale` is 0), then the update of
/// the same block.
#[inline(always)]
fn psgld_body(
    values: &mut [f32],
    grads: &[f32],
    mean_square: &mut [f32],
    c: PsgldCoefficients,
    key: u64,
    start: u64,
) {
    let mut xi = [0.0f32; FUSED_BLOCK];
    let noisy = c.noise_scale != 0.0;
    for (b, ((x, g), ms)) in values
        .chunks_mut(FUSED_BLOCK)
        .zip(grads.chunks(FUSED_BLOCK))
        .zip(mean_square.chunks_mut(FUSED_BLOCK))
        .enumerate()
    {
        let xi = &mut xi[..x.len()];
        if noisy {
            gaussian::fill_at_body(key, start + (b * FUSED_BLOCK) as u64, xi);
        }
        let (g, ms) = (&g[..x.len()], &mut ms[..x.len()]);
        for i in 0..x.len() {
            let (theta, gi) = (x[i], g[i]);
            let vi = c.decay * ms[i] + c.one_minus_decay * gi * gi;
            let precond = 1.0 / (c.epsilon + vi.sqrt());
            ms[i] = vi;
            x[i] = theta - precond * (c.grad_scale * gi + c.prior_scale * theta)
                + c.noise_scale * precond.sqrt() * xi[i];
        }
    }
}

impl Stateful for Psgld {
    /// The noise stream's key and position, the step count and V.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.scalar(&format!("{prefix}noise_key"), self.noise.key());
        out.scalar(&format!("{prefix}noise_position"), self.noise.position());
        out.scalar(&format!("{prefix}steps"), self.steps);
        out.f32s(&format!("{prefix}mean_square"), &self.mean_square);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        let key = state.scalar(&format!("{prefix}noise_key"))?;
        let position = state.scalar(&format!("{prefix}noise_position"))?;
        state.f32s_into(&format!("{prefix}mean_square"), &mut self.mean_square)?;
        self.steps = state.scalar(&format!("{prefix}steps"))?;
        self.noise = GaussianStream::from_key(key, position);
        Ok(())
    }
}

#[cfg(test)]
#[path = "psgld_tests.rs"]
mod tests;

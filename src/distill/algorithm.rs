//! The GPED loop: Algorithm 1 of the paper, top to bottom.
//!
//! ```text
//! for t = 0..T:
//!     sample minibatch S from D, |S| = M
//!     theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi          # SGLD, Eq. 7
//!     for each student with t > B and t mod H = 0 (and theta_t collected):
//!         sample S' from D', |S'| = M' (+ input noise)
//!         g_hat_i <- U(g_hat_i, theta, m_i) for i in S'                   # U_s or U_o
//!         phi <- Adam step on sum_i l(g_hat_i, f(x_i|phi))                 # Eq. 8
//!     after burn-in, every `eval.every` steps (theta_t collected): add p(y|x,theta_t) on the
//!         test set to the ensemble
//! ```
//! The sampler is SGLD in the paper; `sampler.kind` may choose another (`sampler`). A sampler
//! collects every sample but on a cyclical schedule, whose exploration phases' samples are
//! neither distilled nor ensembled. With `sampler.chains = C` every line on theta runs for each
//! of C chains (`chains`): C sampler steps per iteration, C samples per evaluation point, and
//! S' split in C equal shares of rows, one per chain.
//! Students due at the same step share one distillation batch S' and one teacher pass on it.
//! Their step is deferred to run beside the teacher's next SGLD step, with the same result as
//! running it at once: `pipeline` says how. What is written between and after the iterations
//! (log records, checkpoints, final outputs) is in `outputs`. Phase times are measured on the
//! thread that runs each phase, so with several threads they add up to more than the wall time.

use super::chains::{record_diagnostic_draws, teachers};
use super::control::Control;
use super::evaluate::add_teacher_sample;
use super::outputs::{self, RunSummary};
use super::pipeline;
use super::prepare::RunData;
use super::prune;
use super::record::Recorder;
use super::state::RunState;
use crate::base::seeds;
use crate::config::ValidConfig;
use crate::data::{DistillPool, InputNoise};
use crate::{Error, Result};
use std::time::Instant;

/// Runs GPED as configured by `cfg` on `data`, writing outputs through `recorder`.
pub fn run(cfg: &ValidConfig, data: &RunData, recorder: &mut Recorder) -> Result<RunSummary> {
    let state = RunState::new(cfg, data)?;
    run_with(cfg, data, state, recorder, &Control::default())
}

/// Runs GPED from `state` (fresh from [`RunState::new`], or loaded from a checkpoint with
/// [`RunState::resume`]) to the end, under `control`. Checkpoints go to the run folder every
/// `output.checkpoint_every` iterations and when stopped.
pub fn run_with(
    cfg: &ValidConfig,
    data: &RunData,
    state: RunState,
    recorder: &mut Recorder,
    control: &Control,
) -> Result<RunSummary> {
    // The loop runs on a worker of the thread pool: a rayon loop or join entered from any other
    // thread hands its work over cold (wakes a worker and blocks on a latch), which every layer's
    // parallel loop in the evaluation passes and every step's join would pay.
    rayon::scope(|_| run_in_pool(cfg, data, state, recorder, control))
}

/// [`run_with`], on a worker thread.
fn run_in_pool(
    cfg: &ValidConfig,
    data: &RunData,
    mut state: RunState,
    recorder: &mut Recorder,
    control: &Control,
) -> Result<RunSummary> {
    let (t_max, burn_in) = (cfg.schedule.iterations, cfg.schedule.burn_in);
    let (wall, wall_before) = (Instant::now(), state.time.wall_s);
    let elapsed_s = || wall_before + wall.elapsed().as_secs_f64();
    let mut s_indices = vec![0usize; cfg.sampler.batch_size];
    // The distillation pool D'; batch S' of step t comes from draw t of the "pool" stream.
    let noise = InputNoise {
        std: cfg.pool.input_noise_std as f32,
        clamp: cfg.pool.clamp,
    };
    let mut pool = DistillPool::new(&data.train, noise)?.with_mixup(cfg.pool.mixup as f32)?;
    let pool_seed = seeds::derive(cfg.seed, "pool");

    for t in state.next..t_max {
        // Sample minibatch S from D, |S| = M; one sampler step (SGLD: Eq. 7). Beside it, the
        // students take their step staged at t - 1 (`pipeline`).
        state.minibatches.next_batch(&mut s_indices);
        let nll = pipeline::sampler_step(
            &mut state.teacher,
            &mut state.chains,
            &mut state.distiller,
            &data.train,
            &s_indices,
            t,
            &mut state.time,
        )?;
        state.nll_window = (state.nll_window.0 + nll, state.nll_window.1 + 1);

        // If t > B and t mod H = 0, and theta_t is a sample to use (not in a cyclical
        // schedule's exploration): sample S' from D' and record g(x_i, theta_t) for the due
        // students (Eq. 8's targets). U_s or U_o and the optimiser step are the students' own
        // step on this staged batch, taken beside the next sampler step.
        let collecting = state.teacher.collecting(t);
        if collecting && state.distiller.any_due(t) {
            let clock = Instant::now();
            let mut all = teachers(&mut state.teacher, &mut state.chains);
            state.distiller.stage(t, &mut pool, pool_seed, &mut all)?;
            state.time.student_step_s += clock.elapsed().as_secs_f64();
        }

        // After burn-in, every `eval.every` steps if theta_t is a sample to use (and at the end
        // if no sample was taken): add the current sample's predictions to the test-set
        // ensembles, each chain's in turn, and the diagnostic inputs' to the diagnostics.
        let last = t + 1 == t_max;
        if (t > burn_in && collecting && t.is_multiple_of(cfg.eval.every))
            || (last && state.ensemble.samples() == 0)
        {
            let clock = Instant::now();
            let batch = cfg.eval.test_batch;
            let mut all = teachers(&mut state.teacher, &mut state.chains);
            for teacher in all.iter_mut() {
                add_teacher_sample(teacher, &data.test, &mut state.ensemble, batch);
                if let (Some(ood), Some(ens)) = (&data.ood, state.ood_ensemble.as_mut()) {
                    add_teacher_sample(teacher, ood, ens, batch);
                }
            }
            record_diagnostic_draws(&mut all, &data.test, &mut state.diagnostics);
            state.time.eval_s += clock.elapsed().as_secs_f64();
        }

        recorder.tick(t + 1);
        // Experiment 3: prune the group-lasso students, then fine-tune them for the rest.
        if cfg.prune.enabled() && t + 1 == cfg.prune.at {
            prune::prune_students(cfg, &mut state.distiller, recorder)?;
        }
        if (t + 1).is_multiple_of(cfg.eval.log_every) || last {
            outputs::log_record(cfg, data, &mut state, recorder, t + 1, elapsed_s())?;
        }
        if last {
            break;
        }
        // A checkpoint every `output.checkpoint_every` iterations, and when asked to stop.
        control.crash_point(t + 1)?;
        let stop = control.stop_requested(t + 1);
        let every = cfg.output.checkpoint_every;
        if stop || (every > 0 && (t + 1).is_multiple_of(every)) {
            outputs::save_checkpoint(cfg, &mut state, recorder, t + 1, elapsed_s)?;
            if stop {
                return Err(Error::Interrupted {
                    iteration: t + 1,
                    total: t_max,
                    dir: recorder.dir().to_path_buf(),
                });
            }
        }
    }
    outputs::finish(cfg, data, state, recorder, elapsed_s)
}

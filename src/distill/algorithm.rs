//! The GPED loop: Algorithm 1 of the paper, top to bottom.
//!
//! ```text
//! for t = 0..T:
//!     sample minibatch S from D, |S| = M
//!     theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi          # SGLD, Eq. 7
//!     for each student with t > B and t mod H = 0:
//!         sample S' from D', |S'| = M' (+ input noise)
//!         g_hat_i <- U(g_hat_i, theta, m_i) for i in S'                   # U_s or U_o
//!         phi <- Adam step on sum_i l(g_hat_i, f(x_i|phi))                 # Eq. 8
//!     after burn-in, every `eval.every` steps: add p(y|x,theta_t) on the test set to the ensemble
//! ```
//! Students due at the same step share one distillation batch S' and one teacher pass on it.
//! Their step runs concurrently with the teacher's next SGLD step (see `distiller`); the
//! result is the same as running them one after the other. Phase times are measured on the
//! thread that runs each phase, so with several threads they add up to more than the wall time.

use super::evaluate::{TestMetrics, add_teacher_sample, test_metrics};
use super::prepare::RunData;
use super::record::Recorder;
use super::state::{RunState, Timings};
use crate::base::seeds;
use crate::base::{StateWriter, Stateful};
use crate::checkpoint::{self, Checkpoint, Header};
use crate::config::ValidConfig;
use crate::data::{DistillPool, InputNoise};
use crate::nn::weights;
use crate::{Error, Result};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub metrics: TestMetrics,
    pub timings: Timings,
    /// The full content of `metrics.json`.
    pub json: serde_json::Value,
}

/// How a run is stopped from outside. `stop` is checked after every iteration: once set (by a
/// SIGINT/SIGTERM handler, say) the run saves a checkpoint and returns
/// [`Error::Interrupted`]. The two hooks are for tests.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Stop with a checkpoint at the end of the current iteration.
    pub stop: Arc<AtomicBool>,
    /// Behave as if `stop` were set during iteration `k` (stop with `k` iterations done).
    pub stop_after: Option<u64>,
    /// Simulate a crash after `k` iterations: return an error without saving anything.
    pub crash_after: Option<u64>,
}

impl Control {
    fn stop_requested(&self, done: u64) -> bool {
        self.stop.load(Ordering::Relaxed) || self.stop_after == Some(done)
    }
}

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
    let wall = Instant::now();
    let (t_max, burn_in) = (cfg.schedule.iterations, cfg.schedule.burn_in);
    let wall_before = state.time.wall_s;
    let elapsed = || wall_before + secs(wall.elapsed());
    let mut s_indices = vec![0usize; cfg.sampler.batch_size];

    // The distillation pool D'; batch S' of step t comes from draw t of the "pool" stream.
    let noise = InputNoise {
        std: cfg.pool.input_noise_std as f32,
        clamp: cfg.pool.clamp,
    };
    let mut pool = DistillPool::new(&data.train, noise)?.with_mixup(cfg.pool.mixup as f32)?;
    let pool_seed = seeds::derive(cfg.seed, "pool");

    for t in state.next..t_max {
        // Sample minibatch S from D, |S| = M; one SGLD step (Eq. 7). Concurrently, the
        // students take the step staged at t - 1 (it reads only theta_{t-1}'s recorded values).
        // Unless exactly one student steps beside it, the teacher's gradient runs as two
        // halves (no student: a core would idle; two: three equal tasks on two cores). Decided
        // by the schedule, not by what is staged, so that a resumed run decides the same.
        let halves = t == 0 || state.distiller.due_count(t - 1) != 1;
        let (nll, distilled) = rayon::join(
            || {
                let clock = Instant::now();
                state.minibatches.next_batch(&mut s_indices);
                let nll = state.teacher.sgld_step(&data.train, &s_indices, t, halves);
                (nll, clock.elapsed())
            },
            || {
                let clock = Instant::now();
                (state.distiller.step_staged(), clock.elapsed())
            },
        );
        state.time.teacher_step_s += secs(nll.1);
        state.time.student_step_s += secs(distilled.1);
        distilled.0?;
        let nll = nll.0?;
        state.nll_window = (state.nll_window.0 + nll as f64, state.nll_window.1 + 1);

        // If t mod H == 0 and t > B: sample S' from D' and record g(x_i, theta_t) for the
        // due students (Eq. 8's targets; U_s or U_o is applied in their step).
        if state.distiller.any_due(t) {
            let clock = Instant::now();
            state
                .distiller
                .stage(t, &mut pool, pool_seed, &mut state.teacher)?;
            state.time.student_step_s += secs(clock.elapsed());
        }

        // After burn-in, every `eval.every` steps (and at the end if no sample was taken):
        // add the current sample's predictions to the test-set ensembles.
        let last = t + 1 == t_max;
        if (t > burn_in && t.is_multiple_of(cfg.eval.every))
            || (last && state.ensemble.samples() == 0)
        {
            let clock = Instant::now();
            add_teacher_sample(
                &mut state.teacher,
                &data.test,
                &mut state.ensemble,
                cfg.eval.test_batch,
            );
            if let (Some(ood), Some(ens)) = (&data.ood, state.ood_ensemble.as_mut()) {
                add_teacher_sample(&mut state.teacher, ood, ens, cfg.eval.test_batch);
            }
            state.time.eval_s += secs(clock.elapsed());
        }

        recorder.tick(t + 1);
        if (t + 1).is_multiple_of(cfg.eval.log_every) || last {
            state.distiller.step_staged()?;
            let clock = Instant::now();
            let metrics = test_metrics(
                &mut state.distiller.students,
                &data.test,
                &state.ensemble,
                cfg.eval.test_batch,
            );
            state.time.eval_s += secs(clock.elapsed());
            let minibatch_nll = state.nll_window.0 / state.nll_window.1.max(1) as f64;
            state.nll_window = (0.0, 0);
            let losses: serde_json::Map<_, _> = state
                .distiller
                .students
                .iter_mut()
                .filter_map(|s| s.take_mean_loss().map(|l| (s.name.clone(), json!(l))))
                .collect();
            let record = json!({
                "iteration": t + 1,
                "teacher_minibatch_nll": minibatch_nll,
                "student_loss": losses,
                "test": metrics,
                "elapsed_s": elapsed(),
            });
            recorder.log(
                &record,
                &summary_line(t + 1, t_max, minibatch_nll, &metrics),
            )?;
        }

        // A checkpoint every `output.checkpoint_every` iterations, and when asked to stop.
        if last {
            break;
        }
        if control.crash_after == Some(t + 1) {
            return Err(Error::InvalidArgument(format!(
                "simulated crash after iteration {}",
                t + 1
            )));
        }
        let stop = control.stop_requested(t + 1);
        let every = cfg.output.checkpoint_every;
        if stop || (every > 0 && (t + 1).is_multiple_of(every)) {
            // The staged step does not depend on when it runs: take it now, so that the
            // checkpoint holds no staged batch.
            state.distiller.step_staged()?;
            let clock = Instant::now();
            state.time.wall_s = elapsed();
            state.next = t + 1;
            state_checkpoint(cfg, &state, recorder)?;
            state.time.checkpoint_s += secs(clock.elapsed());
            if stop {
                return Err(Error::Interrupted {
                    iteration: t + 1,
                    total: t_max,
                    dir: recorder.dir().to_path_buf(),
                });
            }
        }
    }
    let RunState {
        teacher,
        distiller,
        ensemble,
        ood_ensemble,
        time,
        ..
    } = &mut state;

    // Final metrics, weights and ensemble sums.
    let clock = Instant::now();
    let students = &mut distiller.students;
    let metrics = test_metrics(students, &data.test, ensemble, cfg.eval.test_batch);
    time.eval_s += secs(clock.elapsed());
    for s in students.iter() {
        weights::save(&s.net.params, &recorder.student_path(&s.name), None)?;
    }
    ensemble.save(&recorder.dir().join("ensemble_test.safetensors"))?;
    if let Some(ens) = ood_ensemble {
        ens.save(&recorder.dir().join("ensemble_ood.safetensors"))?;
    }
    time.wall_s = elapsed();
    time.ms_per_iteration = 1e3 * time.wall_s / t_max as f64;
    let student_info: serde_json::Map<_, _> = students
        .iter()
        .map(|s| {
            let info = json!({
                "target": s.target_kind,
                "params": s.net.params.len(),
                "flops": s.net.flops_per_example(),
                "steps": s.steps,
            });
            (s.name.clone(), info)
        })
        .collect();
    let mut json =
        serde_json::to_value(&metrics).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("iterations".into(), json!(t_max));
        obj.insert("teacher_params".into(), json!(teacher.net.params.len()));
        obj.insert("students".into(), json!(student_info));
        obj.insert("time".into(), json!(time));
    }
    recorder.write_json("metrics.json", &json)?;
    // The outputs are complete: the run needs no checkpoint any more.
    let ck = Checkpoint::path_in(recorder.dir());
    if ck.exists() {
        std::fs::remove_file(&ck).map_err(|e| Error::io(&ck, e))?;
    }
    recorder.finish();
    Ok(RunSummary {
        metrics,
        timings: time.clone(),
        json,
    })
}

/// Saves `state` as the run folder's checkpoint.
fn state_checkpoint(cfg: &ValidConfig, state: &RunState, recorder: &mut Recorder) -> Result<()> {
    let mut out = StateWriter::new();
    state.save_state("", &mut out);
    let header = Header {
        iteration: state.next,
        config: (**cfg).clone(),
        metrics_jsonl_bytes: recorder.jsonl_bytes(),
    };
    checkpoint::write(&Checkpoint::path_in(recorder.dir()), &header, out)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// One line of progress: iteration, minibatch NLL and the headline test metrics.
fn summary_line(t: u64, total: u64, minibatch_nll: f64, m: &TestMetrics) -> String {
    let mut line = format!("iter {t}/{total} minibatch_nll {minibatch_nll:.4}");
    if let Some(p) = &m.predictive {
        line += &format!(
            " teacher_nll {:.4} student_nll {:.4} student_acc {:.4}",
            p.teacher_nll, p.student_nll, p.student_acc
        );
    }
    if let Some(mae) = m.entropy_mae {
        line += &format!(" entropy_mae {mae:.4}");
    }
    line
}

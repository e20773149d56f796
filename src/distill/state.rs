//! The state Algorithm 1 carries from one iteration to the next: the teacher's current sample
//! and its SGLD noise stream, the minibatch order (of each chain, with `sampler.chains`), the
//! diagnostics' draws, the students (weights, Adam moments, U_o
//! memories), the streamed test-set ensembles, the running sums of the log window and the
//! time spent so far. A run builds it fresh from its config and data; a checkpoint saves it
//! whole and a resumed run loads it back into a fresh one. Every other random draw of a step
//! (pool batch S', its noise, dropout masks) is derived from (seed, iteration), so this is all
//! a run needs to continue bit for bit.

use super::chains::{Chain, diagnostic_draws, other_chains};
use super::distiller::Distiller;
use super::prepare::RunData;
use super::prune::restore_pruned;
use super::student::Student;
use super::teacher::Teacher;
use crate::base::seeds;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::checkpoint::Checkpoint;
use crate::config::ValidConfig;
use crate::data::EpochSampler;
use crate::ensemble::Ensemble;
use crate::sampler::diagnostics::ChainDraws;
use crate::{Error, Result};

/// Seconds spent in each phase of a run (over all its sessions, when resumed).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timings {
    pub teacher_step_s: f64,
    pub student_step_s: f64,
    pub eval_s: f64,
    /// Writing checkpoints.
    pub checkpoint_s: f64,
    pub wall_s: f64,
    /// Wall time per iteration, in milliseconds.
    pub ms_per_iteration: f64,
}

impl Stateful for Timings {
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.scalar(&format!("{prefix}teacher_step_s"), self.teacher_step_s);
        out.scalar(&format!("{prefix}student_step_s"), self.student_step_s);
        out.scalar(&format!("{prefix}eval_s"), self.eval_s);
        out.scalar(&format!("{prefix}checkpoint_s"), self.checkpoint_s);
        out.scalar(&format!("{prefix}wall_s"), self.wall_s);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.teacher_step_s = state.scalar(&format!("{prefix}teacher_step_s"))?;
        self.student_step_s = state.scalar(&format!("{prefix}student_step_s"))?;
        self.eval_s = state.scalar(&format!("{prefix}eval_s"))?;
        self.checkpoint_s = state.scalar(&format!("{prefix}checkpoint_s"))?;
        self.wall_s = state.scalar(&format!("{prefix}wall_s"))?;
        Ok(())
    }
}

/// Everything that changes from one iteration of a run to the next.
pub struct RunState {
    /// The next iteration to run (0 for a fresh run).
    pub next: u64,
    /// The teacher p(y|x,theta_t) and its SGLD sampler.
    pub teacher: Teacher,
    /// The teacher's minibatches S from D.
    pub minibatches: EpochSampler,
    /// Chains 1..C (`sampler.chains`); `teacher` and `minibatches` are chain 0.
    pub chains: Vec<Chain>,
    /// Every chain's class probabilities on the diagnostic test inputs, at the evaluation
    /// points kept.
    pub diagnostics: ChainDraws,
    /// The students f(y,x|phi) and their staged distillation batch.
    pub distiller: Distiller,
    /// The teacher's streamed test-set ensemble.
    pub ensemble: Ensemble,
    /// The teacher's streamed ensemble on the OOD set, when the run has one.
    pub ood_ensemble: Option<Ensemble>,
    /// Sum and count of teacher minibatch NLLs since the last log line.
    pub nll_window: (f64, u64),
    /// Time spent so far.
    pub time: Timings,
}

impl RunState {
    /// The state before iteration 0 of the run `cfg` on `data`.
    pub fn new(cfg: &ValidConfig, data: &RunData) -> Result<Self> {
        let seed = |label: &str| seeds::derive(cfg.seed, label);
        let (teacher, students) =
            build_networks(cfg, data.teacher_indices.len(), data.train.len())?;
        let classes = teacher.classes();
        let minibatches = EpochSampler::new(data.teacher_indices.clone(), seed("minibatches"))?;
        let distiller = Distiller::new(
            students,
            cfg.schedule.burn_in,
            classes,
            cfg.pool.batch_size,
            data.train.image_len(),
        );
        Ok(RunState {
            next: 0,
            teacher,
            minibatches,
            chains: other_chains(cfg, &data.teacher_indices)?,
            diagnostics: diagnostic_draws(cfg, classes, data.test.len()),
            distiller,
            ensemble: Ensemble::new(data.test.len(), classes),
            ood_ensemble: data.ood.as_ref().map(|d| Ensemble::new(d.len(), classes)),
            nll_window: (0.0, 0),
            time: Timings::default(),
        })
    }
}

/// The teacher and the students of the run `cfg`, freshly initialised from its seed, for a
/// teacher trained on `data_size` examples and a distillation pool of `pool_size` inputs (the
/// U_o memories): every network and optimiser state a run allocates.
pub fn build_networks(
    cfg: &ValidConfig,
    data_size: usize,
    pool_size: usize,
) -> Result<(Teacher, Vec<Student>)> {
    let seed = |label: &str| seeds::derive(cfg.seed, label);
    let teacher = Teacher::new(cfg, data_size, seed("teacher-init"), seed("sgld-noise"))?;
    let students = cfg
        .students
        .iter()
        .map(|s| {
            let student_seed = seed(&format!("student-{}", s.name));
            Student::new(
                s,
                cfg.teacher.arch,
                teacher.classes(),
                pool_size,
                student_seed,
            )
        })
        .collect::<Result<_>>()?;
    Ok((teacher, students))
}

impl RunState {
    /// The state saved in `checkpoint`, for the run `cfg` on `data` (the checkpoint's config:
    /// see `checkpoint::differences`). Fails, naming the file and the tensor, on any tensor
    /// that does not fit the run.
    pub fn resume(cfg: &ValidConfig, data: &RunData, checkpoint: &Checkpoint) -> Result<Self> {
        let (at, total) = (checkpoint.header.iteration, cfg.schedule.iterations);
        if at >= total {
            return Err(Error::format(
                checkpoint.path(),
                "gped checkpoint",
                format!("expected an iteration below the run's {total}, found {at}"),
            ));
        }
        let mut state = RunState::new(cfg, data)?;
        let saved = checkpoint.state()?;
        restore_pruned(cfg, &mut state.distiller, &saved, at)?;
        state.load_state("", &saved)?;
        state.next = at;
        Ok(state)
    }
}

/// Everything but the iteration counter, which the checkpoint's header holds.
impl Stateful for RunState {
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.teacher.save_state(&format!("{prefix}teacher/"), out);
        self.minibatches
            .save_state(&format!("{prefix}minibatches/"), out);
        self.chains.save_state(prefix, out);
        self.diagnostics
            .save_state(&format!("{prefix}diagnostics/"), out);
        self.distiller
            .save_state(&format!("{prefix}students/"), out);
        self.ensemble
            .save_state(&format!("{prefix}ensemble_test/"), out);
        if let Some(ood) = &self.ood_ensemble {
            ood.save_state(&format!("{prefix}ensemble_ood/"), out);
        }
        out.scalar(&format!("{prefix}nll_window_sum"), self.nll_window.0);
        out.scalar(&format!("{prefix}nll_window_count"), self.nll_window.1);
        self.time.save_state(&format!("{prefix}time/"), out);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.teacher
            .load_state(&format!("{prefix}teacher/"), state)?;
        self.minibatches
            .load_state(&format!("{prefix}minibatches/"), state)?;
        self.chains.load_state(prefix, state)?;
        self.diagnostics
            .load_state(&format!("{prefix}diagnostics/"), state)?;
        self.distiller
            .load_state(&format!("{prefix}students/"), state)?;
        self.ensemble
            .load_state(&format!("{prefix}ensemble_test/"), state)?;
        if let Some(ood) = &mut self.ood_ensemble {
            ood.load_state(&format!("{prefix}ensemble_ood/"), state)?;
        }
        self.nll_window = (
            state.scalar(&format!("{prefix}nll_window_sum"))?,
            state.scalar(&format!("{prefix}nll_window_count"))?,
        );
        self.time.load_state(&format!("{prefix}time/"), state)
    }
}

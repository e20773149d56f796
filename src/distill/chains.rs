//! Several chains in one run (`sampler.chains = C`): chain 0 is the run's `teacher` and
//! `minibatches`, exactly those of a one-chain run (same seeds, same checkpoint keys
//! `teacher/`, `minibatches/`); chains 1..C are [`Chain`]s here, each a teacher network with
//! its own initial weights, its own noise stream and its own minibatch order (independent
//! chains, as R-hat assumes), seeded from the labels of chain 0 with `/chain-c` appended and
//! saved under `chain-c/`. Every iteration each chain takes its sampler step on its own
//! minibatch S of size M; all chains share the schedule, so they collect their samples at the
//! same steps. What the chains feed (the same students and ensemble) is the loop's
//! (`algorithm`): every chain's sample enters the ensemble at an evaluation point, and each
//! distillation batch takes an equal share of its rows from each chain (`Distiller::stage`).
//! At each evaluation point every chain's class probabilities on the first
//! `eval.diagnostic_inputs` test inputs go to the diagnostics' draws.

use super::teacher::{GradientSplit, Teacher};
use crate::base::seeds;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::config::ValidConfig;
use crate::data::{Dataset, EpochSampler};
use crate::sampler::diagnostics::ChainDraws;
use crate::{Error, Result};
use rayon::prelude::*;
use std::time::Instant;

/// Draws kept per chain for the diagnostics (see `ChainDraws`): 512 points x 100 inputs x
/// 10 classes x 4 bytes = 2 MB per chain.
pub const DIAGNOSTIC_DRAWS: usize = 512;

/// The seed label of stream `label` for chain `chain`: `label` itself for chain 0 (a one-chain
/// run's), `label/chain-c` for the others.
pub fn chain_label(label: &str, chain: usize) -> String {
    match chain {
        0 => label.to_string(),
        c => format!("{label}/chain-{c}"),
    }
}

/// One chain beyond the first: its teacher and its minibatch order.
pub struct Chain {
    pub teacher: Teacher,
    pub minibatches: EpochSampler,
    indices: Vec<usize>,
}

/// Chains 1..C of the run `cfg`, for a teacher trained on the examples `teacher_indices` of
/// its training split.
pub fn other_chains(cfg: &ValidConfig, teacher_indices: &[usize]) -> Result<Vec<Chain>> {
    let seed = |label: &str, c: usize| seeds::derive(cfg.seed, &chain_label(label, c));
    (1..cfg.sampler.chains)
        .map(|c| {
            Ok(Chain {
                teacher: Teacher::new(
                    cfg,
                    teacher_indices.len(),
                    seed("teacher-init", c),
                    seed("sgld-noise", c),
                )?,
                minibatches: EpochSampler::new(teacher_indices.to_vec(), seed("minibatches", c))?,
                indices: vec![0; cfg.sampler.batch_size],
            })
        })
        .collect()
}

/// Iteration `t`'s sampler step of every chain in `chains` (concurrently), each on its own
/// next minibatch of `train`, with the gradient split `split`. Returns the sum of their
/// minibatch NLLs and of their step times (each measured on its own thread).
pub(super) fn step_all(
    chains: &mut [Chain],
    train: &Dataset,
    t: u64,
    split: GradientSplit,
) -> Result<(f64, f64)> {
    let results: Vec<Result<(f64, f64)>> = chains
        .par_iter_mut()
        .enumerate()
        .map(|(i, chain)| {
            let clock = Instant::now();
            chain.minibatches.next_batch(&mut chain.indices);
            let nll = chain
                .teacher
                .sampler_step(train, &chain.indices, t, split)
                .map_err(|e| name_chain(e, i + 1))?;
            Ok((nll as f64, clock.elapsed().as_secs_f64()))
        })
        .collect();
    results.into_iter().try_fold((0.0, 0.0), |(nll, s), r| {
        let (n, secs) = r?;
        Ok((nll + n, s + secs))
    })
}

/// `error` with the chain it happened in named in its quantity.
fn name_chain(error: Error, chain: usize) -> Error {
    match error {
        Error::NonFinite {
            iteration,
            quantity,
            hint,
        } => Error::NonFinite {
            iteration,
            quantity: format!("{quantity} of chain {chain}"),
            hint,
        },
        other => other,
    }
}

/// Every chain's teacher, chain 0 (`first`) first.
pub fn teachers<'a>(first: &'a mut Teacher, others: &'a mut [Chain]) -> Vec<&'a mut Teacher> {
    std::iter::once(first)
        .chain(others.iter_mut().map(|c| &mut c.teacher))
        .collect()
}

/// The diagnostics' record for the run `cfg` with `classes` classes and a test set of
/// `test_size` inputs: `eval.diagnostic_inputs` inputs (at most the test set) per chain.
pub fn diagnostic_draws(cfg: &ValidConfig, classes: usize, test_size: usize) -> ChainDraws {
    let inputs = cfg.eval.diagnostic_inputs.min(test_size);
    ChainDraws::new(cfg.sampler.chains, inputs * classes, DIAGNOSTIC_DRAWS)
}

/// One evaluation point of the diagnostics: each of `teachers`' class probabilities on the
/// first inputs of `test` (as many as `draws` holds), if `draws` keeps this point.
pub fn record_diagnostic_draws(
    teachers: &mut [&mut Teacher],
    test: &Dataset,
    draws: &mut ChainDraws,
) {
    let classes = teachers.first().map_or(1, |t| t.classes());
    let inputs = draws.width() / classes;
    draws.record(|| {
        let x = &test.images()[..inputs * test.image_len()];
        teachers
            .iter_mut()
            .flat_map(|t| t.predict(x, inputs).to_vec())
            .collect()
    });
}

/// Chain c under `chain-c/` (c from 1): its teacher under `teacher/`, its minibatch order
/// under `minibatches/`.
impl Stateful for Vec<Chain> {
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        for (i, chain) in self.iter().enumerate() {
            let at = format!("{prefix}chain-{}/", i + 1);
            chain.teacher.save_state(&format!("{at}teacher/"), out);
            chain
                .minibatches
                .save_state(&format!("{at}minibatches/"), out);
        }
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        for (i, chain) in self.iter_mut().enumerate() {
            let at = format!("{prefix}chain-{}/", i + 1);
            chain.teacher.load_state(&format!("{at}teacher/"), state)?;
            chain
                .minibatches
                .load_state(&format!("{at}minibatches/"), state)?;
        }
        Ok(())
    }
}

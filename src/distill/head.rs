//! One head of a student: a posterior expectation g with its estimator (U_s, or U_o with its
//! own memory per pool input) and its columns of the student's output layer. A single-head
//! student has one head over all its outputs; a multi-head student (`students[].heads`) has
//! its heads side by side in the config's order. At a step each head makes its targets from
//! the teacher's current probabilities, reads its columns of the raw outputs, and adds its
//! loss's gradient into its columns of the output gradient; the student sums the losses.

use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::config::{Estimator as EstimatorChoice, HeadConfig, StudentConfig, Target};
use crate::expectation::{
    CurrentSample, Estimator, PosteriorExpectation, RunningMean, RunningMutualInformation, columns,
    for_student,
};
use std::ops::Range;

/// One head: target, estimator, columns and the buffers of a step.
pub struct Head {
    pub kind: Target,
    pub target: Box<dyn PosteriorExpectation>,
    estimator: Box<dyn Estimator>,
    /// The head's first column in the student's outputs.
    offset: usize,
    values: Vec<f32>,
    targets: Vec<f32>,
    /// The head's columns of the raw outputs `[batch, width]` and dLoss/d them.
    raw: Vec<f32>,
    grad: Vec<f32>,
}

impl Head {
    /// The head of `cfg` at column `offset` of the student `of` (its name in errors, its
    /// other settings, such as a Dirichlet target's annealing), for `classes` classes and a
    /// pool of `pool_size` inputs (for U_o).
    pub fn new(
        cfg: &HeadConfig,
        of: &StudentConfig,
        classes: usize,
        pool_size: usize,
        offset: usize,
    ) -> Result<Self> {
        let student = &of.name;
        let as_student = StudentConfig {
            target: cfg.target,
            estimator: cfg.estimator,
            loss: cfg.loss,
            heads: Vec::new(),
            ..of.clone()
        };
        let target = for_student(&as_student, classes);
        let width = target.width();
        let estimator: Box<dyn Estimator> = match (cfg.target, cfg.estimator) {
            (Target::Dirichlet, EstimatorChoice::RunningMean) => {
                return Err(crate::Error::config(
                    "students[].estimator",
                    format!(
                        "must be `sample` for target `dirichlet` (student `{student}`), found \
                         `running-mean`"
                    ),
                ));
            }
            (Target::MutualInformation, EstimatorChoice::Sample) => {
                return Err(crate::Error::config(
                    "students[].estimator",
                    format!(
                        "must be `running-mean` for target `mutual-information` (student `{student}`), \
                         found `sample`"
                    ),
                ));
            }
            (Target::MutualInformation, EstimatorChoice::RunningMean) => {
                Box::new(RunningMutualInformation::new(pool_size, classes))
            }
            (_, EstimatorChoice::Sample) => Box::new(CurrentSample),
            (_, EstimatorChoice::RunningMean) => Box::new(RunningMean::new(pool_size, width)),
        };
        Ok(Head {
            kind: cfg.target,
            target,
            estimator,
            offset,
            values: Vec::new(),
            targets: Vec::new(),
            raw: Vec::new(),
            grad: Vec::new(),
        })
    }

    /// The head's outputs per input.
    pub fn width(&self) -> usize {
        self.target.width()
    }

    /// The head's columns of the student's outputs.
    pub fn columns(&self) -> Range<usize> {
        self.offset..self.offset + self.width()
    }

    /// g_hat_i <- U(g_hat_i, theta, m_i) for the pool indices `indices` of a batch, from the
    /// teacher's current probabilities `probs` `[batch, classes]`.
    /// `steps` is the student's optimiser steps so far (a Dirichlet target's annealing).
    pub fn update_targets(&mut self, indices: &[usize], probs: &[f32], classes: usize, steps: u64) {
        let batch = indices.len();
        self.target.set_student_step(steps);
        self.values.resize(batch * self.target.value_width(), 0.0);
        self.targets.resize(batch * self.width(), 0.0);
        self.target.value(probs, classes, &mut self.values);
        self.estimator
            .update(indices, &self.values, &mut self.targets);
    }

    /// The head's mean loss over the batch against its last targets, from the student's raw
    /// outputs `raw` `[batch, total]`; its gradient is written into its columns of `grad`
    /// `[batch, total]`.
    pub fn loss(&mut self, raw: &[f32], total: usize, grad: &mut [f32]) -> f32 {
        if self.width() == total {
            // The only head (a single-head student): its columns are the rows themselves.
            return self.target.loss(raw, &self.targets, grad);
        }
        self.raw.resize(self.targets.len(), 0.0);
        self.grad.resize(self.targets.len(), 0.0);
        columns::gather(raw, total, self.columns(), &mut self.raw);
        let loss = self.target.loss(&self.raw, &self.targets, &mut self.grad);
        columns::scatter(&self.grad, total, self.columns(), grad);
        loss
    }

    /// The head's predictions (softmax or exp) from the student's raw outputs `raw`
    /// `[batch, total]`, written into its columns of `out` `[batch, total]`.
    pub fn predict(&mut self, raw: &[f32], total: usize, out: &mut [f32]) {
        if self.width() == total {
            return self.target.predict(raw, out);
        }
        let n = raw.len() / total * self.width();
        self.raw.resize(n, 0.0);
        self.grad.resize(n, 0.0);
        columns::gather(raw, total, self.columns(), &mut self.raw);
        self.target.predict(&self.raw, &mut self.grad);
        columns::scatter(&self.grad, total, self.columns(), out);
    }

    /// The head's columns of a student's predictions `[n, total]`, as `[n, width]`.
    pub fn of(&self, predictions: &[f32], total: usize) -> Vec<f32> {
        let mut out = vec![0.0; predictions.len() / total * self.width()];
        columns::gather(predictions, total, self.columns(), &mut out);
        out
    }
}

impl Stateful for Head {
    /// The estimator's memory (U_o).
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.estimator
            .save_state(&format!("{prefix}estimator/"), out);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.estimator
            .load_state(&format!("{prefix}estimator/"), state)
    }
}

/// The heads `heads` of the student `student`, side by side from column 0.
pub fn heads_of(
    heads: &[HeadConfig],
    student: &StudentConfig,
    classes: usize,
    pool_size: usize,
) -> Result<Vec<Head>> {
    let mut offset = 0;
    heads
        .iter()
        .map(|cfg| {
            let head = Head::new(cfg, student, classes, pool_size, offset)?;
            offset += head.width();
            Ok(head)
        })
        .collect()
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;

//! The students' side of Algorithm 1: at a step t with t > B and t mod H = 0, a distillation
//! batch S' is drawn from D' and the teacher's current values at it are recorded ("staged");
//! each due student then takes its optimiser step on the staged batch. Because a staged step
//! depends only on theta_t's recorded values, it can run concurrently with the teacher's next
//! SGLD step (and due students with each other) without changing any result.

use super::student::Student;
use super::teacher::Teacher;
use crate::base::seeds;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::data::DistillPool;
use crate::{Error, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;

/// The students and the distillation batch staged for them.
pub struct Distiller {
    pub students: Vec<Student>,
    burn_in: u64,
    classes: usize,
    /// Pool indices of S', `[M']`.
    indices: Vec<usize>,
    /// The inputs of S' with their noise, `[M', input_size]`.
    inputs: Vec<f32>,
    /// The teacher's p(y|x_i, theta_t) at S', `[M', classes]`.
    probs: Vec<f32>,
    /// The iteration whose batch is staged and not yet distilled.
    staged: Option<u64>,
}

impl Distiller {
    /// Students updated after burn-in `burn_in`, with batches of `batch` inputs of
    /// `input_size` values.
    pub fn new(
        students: Vec<Student>,
        burn_in: u64,
        classes: usize,
        batch: usize,
        input_size: usize,
    ) -> Self {
        Distiller {
            students,
            burn_in,
            classes,
            indices: vec![0; batch],
            inputs: vec![0.0; batch * input_size],
            probs: vec![0.0; batch * classes],
            staged: None,
        }
    }

    /// Whether any student is updated at step `t` (t > B and t mod H = 0).
    pub fn any_due(&self, t: u64) -> bool {
        self.students.iter().any(|s| s.is_due(t, self.burn_in))
    }

    /// How many students are due at step `t` (0 before burn-in ends).
    pub fn due_count(&self, t: u64) -> usize {
        self.students
            .iter()
            .filter(|s| s.is_due(t, self.burn_in))
            .count()
    }

    /// Draws S' from the pool D' (with input noise, from draw `t` of the stream `pool_seed`)
    /// and records the teachers' current predictive probabilities at it, for the students due
    /// at step `t`. With C chains (`teachers`, chain 0 first) rows [c M'/C, (c+1) M'/C) of S'
    /// take chain c's values: every chain gives its share of each batch, a fixed rule that
    /// needs no state to resume; one chain gives all rows.
    pub fn stage(
        &mut self,
        t: u64,
        pool: &mut DistillPool,
        pool_seed: u64,
        teachers: &mut [&mut Teacher],
    ) -> Result<()> {
        assert!(self.staged.is_none(), "a staged batch was not distilled");
        let mut rng = StdRng::seed_from_u64(seeds::at(pool_seed, t));
        pool.sample_batch(&mut rng, &mut self.indices, &mut self.inputs)?;
        let (batch, chains, k) = (self.indices.len(), teachers.len(), self.classes);
        let input_size = self.inputs.len() / batch.max(1);
        for (c, teacher) in teachers.iter_mut().enumerate() {
            let (lo, hi) = (c * batch / chains, (c + 1) * batch / chains);
            if hi > lo {
                let x = &self.inputs[lo * input_size..hi * input_size];
                self.probs[lo * k..hi * k].copy_from_slice(teacher.predict(x, hi - lo));
            }
        }
        self.staged = Some(t);
        Ok(())
    }

    /// Each student due at the staged step takes one optimiser step on the staged batch
    /// (students in parallel). Does nothing when no batch is staged.
    pub fn step_staged(&mut self) -> Result<()> {
        let Some(t) = self.staged.take() else {
            return Ok(());
        };
        let (indices, inputs, probs, classes) =
            (&self.indices, &self.inputs, &self.probs, self.classes);
        let burn_in = self.burn_in;
        let diverged = self
            .students
            .par_iter_mut()
            .filter(|s| s.is_due(t, burn_in))
            .map(|s| (s.step(t, indices, inputs, probs, classes), s.name.as_str()))
            .find_first(|(loss, _)| !loss.is_finite())
            .map(|(_, name)| name.to_string());
        match diverged {
            Some(name) => Err(Error::NonFinite {
                iteration: t,
                quantity: format!("loss of student `{name}`"),
                hint: "lower the student's learning_rate".into(),
            }),
            None => Ok(()),
        }
    }
}

impl Stateful for Distiller {
    /// Every student under `students/NAME/`. Take the staged step first: a staged batch is
    /// not saved (its step does not depend on when it runs).
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        assert!(self.staged.is_none(), "checkpoint with a staged batch");
        for s in &self.students {
            s.save_state(&format!("{prefix}{}/", s.name), out);
        }
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.staged = None;
        for s in &mut self.students {
            s.load_state(&format!("{prefix}{}/", s.name), state)?;
        }
        Ok(())
    }
}

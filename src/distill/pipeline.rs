//! How Algorithm 1's lines share the cores without changing any result. Two things, both
//! decided by the schedule alone (never by timing or thread count), so a resumed run decides
//! the same:
//!
//! - The deferred student step. At a step t with t > B and t mod H = 0 (whose sample the
//!   sampler collects) the loop only *stages* the distillation batch: S' and the teacher's
//!   values at theta_t on it (`Distiller::stage`). The students' optimiser step on it reads
//!   nothing else, so it runs during iteration t + 1, beside the teacher's sampler step
//!   ([`sampler_step`]); the result is the one of running it at t. Before anything reads the
//!   students (a log line's test metrics, a checkpoint, the end of the run) the loop takes a
//!   staged step at once (`Distiller::step_staged`).
//! - The teacher's gradient in halves. Unless exactly one student steps beside the sampler
//!   step, the teacher's minibatch gradient runs as two half minibatches on the network and
//!   its twin (no student: a core would idle; two: three equal tasks on two cores). The same
//!   gradient to f32 rounding (tested in `teacher`). With several chains every chain's step
//!   runs beside the students' step, the chains concurrently, each split the same way.

use super::chains::{self, Chain};
use super::distiller::Distiller;
use super::state::Timings;
use super::teacher::{GradientSplit, Teacher};
use crate::Result;
use crate::data::Dataset;
use std::time::Instant;

/// Iteration `t`'s sampler step (SGLD: Eq. 7) of chain 0 (`teacher`) on the minibatch
/// `indices` of `train` and of the other `chains` on theirs, with the students' step staged at
/// `t - 1` (if any) running beside them. Returns the minibatch NLL averaged over the chains
/// (chain 0's alone, exactly, with one chain); adds each side's time to `time` (measured on its
/// own thread).
pub fn sampler_step(
    teacher: &mut Teacher,
    chains: &mut [Chain],
    distiller: &mut Distiller,
    train: &Dataset,
    indices: &[usize],
    t: u64,
    time: &mut Timings,
) -> Result<f64> {
    // Students were staged at t - 1 only if its sample is collected (`algorithm`).
    let staged = t > 0 && teacher.collecting(t - 1);
    let split = if staged && distiller.due_count(t - 1) == 1 {
        GradientSplit::Whole
    } else {
        GradientSplit::Halves
    };
    let ((nll, teacher_s), (distilled, student_s)) = rayon::join(
        || {
            let mut first_step = || {
                let clock = Instant::now();
                let nll = teacher.sampler_step(train, indices, t, split);
                (nll, clock.elapsed().as_secs_f64())
            };
            // One chain (the paper's): no second task to hand to the pool.
            let (first, others) = if chains.is_empty() {
                (first_step(), Ok((0.0, 0.0)))
            } else {
                rayon::join(first_step, || chains::step_all(chains, train, t, split))
            };
            let (nll, first_s) = first;
            match (nll, others) {
                (Ok(nll), Ok((sum, others_s))) => {
                    let mean = (nll as f64 + sum) / (1 + chains.len()) as f64;
                    (Ok(mean), first_s + others_s)
                }
                (Err(e), _) | (_, Err(e)) => (Err(e), first_s),
            }
        },
        || {
            let clock = Instant::now();
            (distiller.step_staged(), clock.elapsed().as_secs_f64())
        },
    );
    time.teacher_step_s += teacher_s;
    time.student_step_s += student_s;
    distilled?;
    nll
}

//! The optimiser contract the students' training uses (after candle-nn's `Optimizer`): one
//! update of a [`ParamSet`] from the gradients its backward pass left, and a learning rate that
//! a schedule may change between steps.

use crate::nn::ParamSet;

/// A first-order optimiser over the flat buffers of a [`ParamSet`].
pub trait Optimizer {
    /// One update of `params.values` from `params.grads` (left unchanged).
    fn step(&mut self, params: &mut ParamSet);

    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate used by the next steps (for a schedule such as
    /// [`StepLr`](super::StepLr)).
    fn set_learning_rate(&mut self, lr: f32);
}

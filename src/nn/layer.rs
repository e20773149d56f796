//! The contract every layer of the engine follows: a forward pass over a batch and an explicit
//! backward pass that accumulates parameter gradients into preallocated buffers. Activations are
//! row-major `[batch, features]` where `features = channels * height * width` (NCHW per
//! example, as in PyTorch). A layer owns the scratch it needs (im2col columns, pooling argmax,
//! dropout masks) and grows it only when it sees a larger batch, so a training step allocates
//! nothing once the buffers exist.

use std::ops::Range;

/// The units of a layer with parameters (a Linear layer's output units, a Conv2d layer's
/// output channels), each with one contiguous block of incoming weights: unit `u`'s weights are
/// `weight.start + u * fan_in ..` (a row of `[out, in]`, or one output channel's slice of
/// `[out_c, in_c, kh, kw]`) and its bias is `bias.start + u`, offsets in the network's flat
/// parameter buffer. These are the groups of the group lasso and the units pruning removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitGroups {
    pub weight: Range<usize>,
    pub bias: Range<usize>,
    /// Incoming weights per unit (without the bias).
    pub fan_in: usize,
}

impl UnitGroups {
    /// Number of units.
    pub fn units(&self) -> usize {
        self.bias.len()
    }

    /// Range of unit `u`'s incoming weights in the flat buffer.
    pub fn unit_weights(&self, u: usize) -> Range<usize> {
        let start = self.weight.start + u * self.fan_in;
        start..start + self.fan_in
    }

    /// Index of unit `u`'s bias in the flat buffer.
    pub fn unit_bias(&self, u: usize) -> usize {
        self.bias.start + u
    }
}

/// Shape of one example's activation: channels x height x width (a flat vector is `[n, 1, 1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl Shape {
    /// An image-shaped activation.
    pub const fn image(channels: usize, height: usize, width: usize) -> Self {
        Shape {
            channels,
            height,
            width,
        }
    }

    /// A flat vector of `n` features.
    pub const fn flat(n: usize) -> Self {
        Shape::image(n, 1, 1)
    }

    /// Number of scalars per example.
    pub fn size(&self) -> usize {
        self.channels * self.height * self.width
    }
}

/// One layer of a feed-forward network.
///
/// `params` and `grads` are the whole network's flat buffers (see
/// [`ParamSet`](super::params::ParamSet)); a layer with parameters knows the ranges of its own
/// tensors inside them.
pub trait Layer: Send {
    /// Shape of one example of the output.
    fn output_shape(&self) -> Shape;

    /// `input` is `[batch, in_size]`, `output` is `[batch, out_size]` (overwritten).
    /// `train` switches dropout on.
    fn forward(
        &mut self,
        params: &[f32],
        input: &[f32],
        output: &mut [f32],
        batch: usize,
        train: bool,
    );

    /// Given the forward pass's `input` and `output` and `grad_output` = dL/d output,
    /// adds dL/d params into `grads` and, when `grad_input` is given, overwrites it with
    /// dL/d input. Must follow a `forward` on the same batch.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &mut self,
        params: &[f32],
        grads: &mut [f32],
        input: &[f32],
        output: &[f32],
        grad_output: &[f32],
        grad_input: Option<&mut [f32]>,
        batch: usize,
    );

    /// Multiply-accumulate count of one example's forward pass (for FLOPs: 2 x this).
    fn macs_per_example(&self) -> usize {
        0
    }

    /// The layer's units and their incoming weights, for layers with parameters.
    fn unit_groups(&self) -> Option<UnitGroups> {
        None
    }

    /// Restarts the layer's random stream (dropout masks) at stream number `stream` of its
    /// seed, e.g. the iteration, so that the masks of a step depend only on (seed, step) and
    /// a resumed run draws the same ones. Layers without randomness ignore it.
    fn reseed(&mut self, _stream: u64) {}
}

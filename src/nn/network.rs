//! A feed-forward network: a stack of [`Layer`]s over one [`ParamSet`], with the activation
//! and gradient buffers of the whole stack owned here and grown only when a larger batch
//! arrives. `forward` returns the raw outputs (logits, or the pre-activation of an exponential
//! head); the losses in `nn::loss` take it from there with the softmax or exp fused in.

use super::layer::{Layer, Shape, UnitGroups};
use super::params::ParamSet;

/// A stack of layers and their parameters.
pub struct Network {
    /// Parameter values and gradients of every layer.
    pub params: ParamSet,
    layers: Vec<Box<dyn Layer>>,
    /// `shapes[0]` is the input shape, `shapes[i + 1]` the output shape of layer `i`.
    shapes: Vec<Shape>,
    /// `acts[i]`: output of layer `i` for the last forward batch, `[capacity, shapes[i+1]]`.
    acts: Vec<Vec<f32>>,
    /// Ping-pong buffers for dL/d activation during backward.
    grad_out: Vec<f32>,
    grad_in: Vec<f32>,
    capacity: usize,
    /// Whether dropout is active.
    pub training: bool,
}

impl Network {
    /// An empty network taking inputs of shape `input`; add layers with [`Network::push`].
    pub fn new(input: Shape, params: ParamSet) -> Self {
        Network {
            params,
            layers: Vec::new(),
            shapes: vec![input],
            acts: Vec::new(),
            grad_out: Vec::new(),
            grad_in: Vec::new(),
            capacity: 0,
            training: true,
        }
    }

    /// Appends a layer whose input is the current output shape.
    pub fn push(&mut self, layer: impl Layer + 'static) {
        self.shapes.push(layer.output_shape());
        self.layers.push(Box::new(layer));
        self.acts.push(Vec::new());
        self.capacity = 0;
    }

    /// Restarts every layer's random stream at `stream` (see [`Layer::reseed`]).
    pub fn reseed(&mut self, stream: u64) {
        for layer in &mut self.layers {
            layer.reseed(stream);
        }
    }

    /// Shape of one input example.
    pub fn input_shape(&self) -> Shape {
        self.shapes[0]
    }

    /// Shape of one example of the output of the last layer (the input shape when empty).
    pub fn output_shape(&self) -> Shape {
        self.shapes[self.shapes.len() - 1]
    }

    /// Number of outputs per example.
    pub fn output_size(&self) -> usize {
        self.shapes.last().map_or(0, Shape::size)
    }

    /// Multiply-accumulates of one example's forward pass.
    pub fn macs_per_example(&self) -> usize {
        self.layers.iter().map(|l| l.macs_per_example()).sum()
    }

    /// Floating-point operations of one example's forward pass (2 per multiply-accumulate).
    pub fn flops_per_example(&self) -> usize {
        2 * self.macs_per_example()
    }

    /// The units of every layer with parameters, input to output.
    pub fn unit_groups(&self) -> Vec<UnitGroups> {
        self.layers.iter().filter_map(|l| l.unit_groups()).collect()
    }

    /// The units of every hidden layer with parameters (all but the output layer, whose units
    /// are the network's outputs and can be neither penalised away nor pruned).
    pub fn hidden_unit_groups(&self) -> Vec<UnitGroups> {
        let mut groups = self.unit_groups();
        groups.pop();
        groups
    }

    /// The number of units of every hidden layer with parameters, input to output (its
    /// neurons or channels).
    pub fn hidden_widths(&self) -> Vec<usize> {
        self.hidden_unit_groups()
            .iter()
            .map(|g| g.units())
            .collect()
    }

    /// Grows the buffers to hold `batch` examples. Allocates only when `batch` exceeds every
    /// batch seen before.
    pub fn reserve(&mut self, batch: usize) {
        if batch <= self.capacity {
            return;
        }
        let mut widest = 0;
        for (act, shape) in self.acts.iter_mut().zip(&self.shapes[1..]) {
            act.resize(batch * shape.size(), 0.0);
            widest = widest.max(shape.size());
        }
        widest = widest.max(self.shapes[0].size());
        self.grad_out.resize(batch * widest, 0.0);
        self.grad_in.resize(batch * widest, 0.0);
        self.capacity = batch;
    }

    /// Forward pass of `batch` examples; `input` is `[batch, input_size]`.
    /// Returns the raw outputs `[batch, output_size]`.
    pub fn forward(&mut self, input: &[f32], batch: usize) -> &[f32] {
        assert_eq!(
            input.len(),
            batch * self.shapes[0].size(),
            "network input length"
        );
        self.reserve(batch);
        let train = self.training;
        for i in 0..self.layers.len() {
            let (done, rest) = self.acts.split_at_mut(i);
            let x = if i == 0 {
                input
            } else {
                &done[i - 1][..batch * self.shapes[i].size()]
            };
            let y = &mut rest[0][..batch * self.shapes[i + 1].size()];
            self.layers[i].forward(&self.params.values, x, y, batch, train);
        }
        self.output(batch)
    }

    /// The raw outputs of the last forward pass, `[batch, output_size]`.
    pub fn output(&self, batch: usize) -> &[f32] {
        match self.acts.last() {
            Some(out) => &out[..batch * self.output_size()],
            None => &[],
        }
    }

    /// Backward pass after `forward` on the same `input`: `grad_output` is dL/d outputs
    /// `[batch, output_size]`; dL/d params is ADDED to `params.grads` (zero them first with
    /// [`ParamSet::zero_grads`] for a fresh gradient).
    pub fn backward(&mut self, input: &[f32], grad_output: &[f32], batch: usize) {
        let n = self.layers.len();
        assert_eq!(
            grad_output.len(),
            batch * self.output_size(),
            "grad_output length"
        );
        let out_len = grad_output.len();
        self.grad_out[..out_len].copy_from_slice(grad_output);
        for i in (0..n).rev() {
            let x = if i == 0 {
                input
            } else {
                &self.acts[i - 1][..batch * self.shapes[i].size()]
            };
            let y = &self.acts[i][..batch * self.shapes[i + 1].size()];
            let dy = &self.grad_out[..batch * self.shapes[i + 1].size()];
            let dx = if i == 0 {
                None
            } else {
                Some(&mut self.grad_in[..batch * self.shapes[i].size()])
            };
            self.layers[i].backward(
                &self.params.values,
                &mut self.params.grads,
                x,
                y,
                dy,
                dx,
                batch,
            );
            std::mem::swap(&mut self.grad_out, &mut self.grad_in);
        }
    }
}

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
        // The values leave the set for the pass (a pointer swap), so that the layers can read
        // them while the network's buffers are written.
        let values = std::mem::take(&mut self.params.values);
        self.forward_with(&values, input, batch);
        self.params.values = values;
        self.output(batch)
    }

    /// [`forward`](Self::forward) on parameter values `values` instead of the network's own:
    /// those of another network of the same architecture (a twin that runs half a batch on
    /// the original's weights without copying them). Only the activations are this network's.
    ///
    /// # Panics
    /// If `values` does not hold this network's number of parameters.
    pub fn forward_with(&mut self, values: &[f32], input: &[f32], batch: usize) -> &[f32] {
        assert_eq!(values.len(), self.param_count(), "parameter values length");
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
            self.layers[i].forward(values, x, y, batch, train);
        }
        self.output(batch)
    }

    /// The number of scalar parameters of the architecture (the end of the last tensor), read
    /// from the layout, so it holds while the values are lent out.
    fn param_count(&self) -> usize {
        self.params.specs.last().map_or(0, |s| s.range().end)
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
        let values = std::mem::take(&mut self.params.values);
        let mut grads = std::mem::take(&mut self.params.grads);
        self.backward_with(&values, &mut grads, input, grad_output, batch);
        self.params.values = values;
        self.params.grads = grads;
    }

    /// [`backward`](Self::backward) after [`forward_with`](Self::forward_with) on the same
    /// `values` and `input`, adding dL/d params to `grads` (both laid out like this
    /// network's parameters).
    ///
    /// # Panics
    /// If `values` or `grads` does not hold this network's number of parameters.
    pub fn backward_with(
        &mut self,
        values: &[f32],
        grads: &mut [f32],
        input: &[f32],
        grad_output: &[f32],
        batch: usize,
    ) {
        let n = self.layers.len();
        assert_eq!(values.len(), self.param_count(), "parameter values length");
        assert_eq!(
            grads.len(),
            self.param_count(),
            "parameter gradients length"
        );
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
            self.layers[i].backward(values, grads, x, y, dy, dx, batch);
            std::mem::swap(&mut self.grad_out, &mut self.grad_in);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Linear, Relu};
    use rand::{SeedableRng, rngs::SmallRng};

    /// A 6-5-3 network with weights from `seed`.
    fn net(seed: u64) -> Network {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut ps = ParamSet::new();
        let fc1 = Linear::new(&mut ps, "fc1", 6, 5);
        let fc2 = Linear::new(&mut ps, "fc2", 5, 3);
        fc1.init(&mut ps.values, &mut rng);
        fc2.init(&mut ps.values, &mut rng);
        let mut net = Network::new(Shape::flat(6), ps);
        net.push(fc1);
        net.push(Relu::new(Shape::flat(5)));
        net.push(fc2);
        net
    }

    #[test]
    fn a_network_on_another_networks_values_computes_what_that_network_does() {
        // Bit for bit: the same layers on the same values and inputs, only other buffers.
        let (mut a, mut b) = (net(1), net(2));
        let own_b = b.params.values.clone();
        assert_ne!(a.params.values, own_b);
        let x: Vec<f32> = (0..4 * 6).map(|i| (i as f32 * 0.37).sin()).collect();
        let dy: Vec<f32> = (0..4 * 3).map(|i| (i as f32 * 0.71).cos()).collect();
        let ya = a.forward(&x, 4).to_vec();
        a.params.zero_grads();
        a.backward(&x, &dy, 4);
        let yb = b.forward_with(&a.params.values, &x, 4).to_vec();
        let mut gb = vec![0.0; a.params.len()];
        b.backward_with(&a.params.values, &mut gb, &x, &dy, 4);
        assert_eq!(ya, yb);
        assert_eq!(a.params.grads, gb);
        // b's own weights and gradients are untouched; on them it computes something else.
        assert_eq!(b.params.values, own_b);
        assert!(b.params.grads.iter().all(|g| *g == 0.0));
        assert_ne!(b.forward(&x, 4), &ya[..]);
    }

    #[test]
    #[should_panic(expected = "parameter values length")]
    fn values_of_another_architecture_are_refused() {
        let mut a = net(1);
        let short = vec![0.0; a.params.len() - 1];
        a.forward_with(&short, &[0.0; 6], 1);
    }
}

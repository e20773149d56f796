//! Test support for the layers: a layer's f32 forward pass is compared with an f64 reference
//! written independently in the test (direct loops, no im2col, no GEMM), and its backward pass
//! with central differences of that reference, for every parameter and every input scalar.
//!
//! The loss is L = sum_i y_i R_i for a random R, so dL/dy = R is the `grad_output` given to the
//! backward pass. Tolerances:
//! - forward: |y_f32 - y_f64| <= 1e-5 (1 + |y_f64|). Outputs are sums of at most a few hundred
//!   products of O(1) values; f32 rounding then errs by ~1e-6 relative, while any indexing
//!   mistake changes an output by O(0.1).
//! - gradients: |g_analytic - g_fd| <= 1e-4 (1 + |g_fd|). The differences are taken in f64 with
//!   step h = 1e-6, so their own error is ~1e-9 (rounding: 1e-16 |L| / h; truncation: none for
//!   the piecewise-linear layers here, unless a ReLU input or a pooling tie lies within h of a
//!   kink, which the fixed seeds avoid). The analytic gradient is an f32 sum over the batch and
//!   positions (up to ~1e3 terms): ~1e-5 relative error at worst. A missing or misplaced term
//!   is O(0.1).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::Layer;

pub(crate) const FORWARD_TOL: f64 = 1e-5;
pub(crate) const GRAD_TOL: f64 = 1e-4;
const FD_STEP: f64 = 1e-6;

/// Uniform random values in [lo, hi).
pub(crate) fn random_vec(rng: &mut SmallRng, len: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(lo..hi)).collect()
}

pub(crate) fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// An f64 reference forward pass: (all params, input) -> output.
pub(crate) type Reference<'a> = &'a dyn Fn(&[f64], &[f64]) -> Vec<f64>;

/// The largest errors a check saw, scaled as in the tolerances (for reporting).
#[derive(Debug)]
pub(crate) struct CheckReport {
    pub forward: f64,
    pub params: f64,
    pub input: f64,
}

fn scaled_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / (1.0 + want.abs())
}

/// Runs `layer` forward and backward on `input` and checks both against `reference`
/// (params, input) -> output, computed in f64. Also checks the contract: parameter gradients
/// are added to what `grads` held, and `grad_input` is overwritten (it starts as NaN).
pub(crate) fn check_layer(
    layer: &mut dyn Layer,
    params: &[f32],
    input: &[f32],
    batch: usize,
    train: bool,
    reference: Reference,
) -> CheckReport {
    check_layer_sampled(layer, params, input, batch, train, reference, usize::MAX)
}

/// As [`check_layer`], but differentiates at most `max_coords` evenly spaced parameters and as
/// many input scalars (for layers too large to check every coordinate).
pub(crate) fn check_layer_sampled(
    layer: &mut dyn Layer,
    params: &[f32],
    input: &[f32],
    batch: usize,
    train: bool,
    reference: Reference,
    max_coords: usize,
) -> CheckReport {
    let out_len = batch * layer.output_shape().size();
    let mut rng = SmallRng::seed_from_u64(0x6772_6164);
    let mut output = vec![0f32; out_len];
    layer.forward(params, input, &mut output, batch, train);

    let p64 = to_f64(params);
    let x64 = to_f64(input);
    let want = reference(&p64, &x64);
    assert_eq!(want.len(), out_len, "reference output length");
    let mut report = CheckReport {
        forward: 0.0,
        params: 0.0,
        input: 0.0,
    };
    for (i, (&y, &w)) in output.iter().zip(&want).enumerate() {
        let e = scaled_err(y as f64, w);
        assert!(e <= FORWARD_TOL, "forward output {i}: {y} vs reference {w}");
        report.forward = report.forward.max(e);
    }

    let r = random_vec(&mut rng, out_len, -1.0, 1.0);
    let r64 = to_f64(&r);
    let prior = 0.25f32;
    let mut grads = vec![prior; params.len()];
    let mut grad_input = vec![f32::NAN; input.len()];
    layer.backward(
        params,
        &mut grads,
        input,
        &output,
        &r,
        Some(&mut grad_input),
        batch,
    );

    let loss = |p: &[f64], x: &[f64]| -> f64 {
        reference(p, x).iter().zip(&r64).map(|(y, r)| y * r).sum()
    };
    // Evenly spaced coordinates with an odd stride, so that they fall on varied positions.
    let coords = |len: usize| {
        let step = if len <= max_coords {
            1
        } else {
            (len / max_coords) | 1
        };
        (0..len).step_by(step)
    };
    let mut p = p64.clone();
    for j in coords(p.len()) {
        let orig = p[j];
        p[j] = orig + FD_STEP;
        let up = loss(&p, &x64);
        p[j] = orig - FD_STEP;
        let down = loss(&p, &x64);
        p[j] = orig;
        let fd = (up - down) / (2.0 * FD_STEP);
        let got = (grads[j] - prior) as f64;
        let e = scaled_err(got, fd);
        assert!(
            e <= GRAD_TOL,
            "d/dparam[{j}]: analytic {got} vs finite difference {fd}"
        );
        report.params = report.params.max(e);
    }
    let mut x = x64.clone();
    for j in coords(x.len()) {
        let orig = x[j];
        x[j] = orig + FD_STEP;
        let up = loss(&p64, &x);
        x[j] = orig - FD_STEP;
        let down = loss(&p64, &x);
        x[j] = orig;
        let fd = (up - down) / (2.0 * FD_STEP);
        let got = grad_input[j] as f64;
        let e = scaled_err(got, fd);
        assert!(
            e <= GRAD_TOL,
            "d/dinput[{j}]: analytic {got} vs finite difference {fd}"
        );
        report.input = report.input.max(e);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{
        Conv2d, Flatten, Linear, MaxPool2d, ParamSet, Relu, Shape, conv2d, linear, pool,
    };

    /// A minimal sequential container for the end-to-end check: keeps every activation and
    /// chains the backward passes in reverse.
    struct Stack {
        layers: Vec<Box<dyn Layer>>,
        acts: Vec<Vec<f32>>,
    }

    impl Layer for Stack {
        fn output_shape(&self) -> Shape {
            self.layers.last().unwrap().output_shape()
        }

        fn forward(
            &mut self,
            params: &[f32],
            input: &[f32],
            output: &mut [f32],
            batch: usize,
            train: bool,
        ) {
            self.acts = vec![input.to_vec()];
            for layer in &mut self.layers {
                let mut y = vec![0f32; batch * layer.output_shape().size()];
                layer.forward(params, self.acts.last().unwrap(), &mut y, batch, train);
                self.acts.push(y);
            }
            output.copy_from_slice(self.acts.last().unwrap());
        }

        fn backward(
            &mut self,
            params: &[f32],
            grads: &mut [f32],
            _input: &[f32],
            _output: &[f32],
            grad_output: &[f32],
            grad_input: Option<&mut [f32]>,
            batch: usize,
        ) {
            let mut dy = grad_output.to_vec();
            for (i, layer) in self.layers.iter_mut().enumerate().rev() {
                let mut dx = vec![0f32; self.acts[i].len()];
                layer.backward(
                    params,
                    grads,
                    &self.acts[i],
                    &self.acts[i + 1],
                    &dy,
                    Some(&mut dx),
                    batch,
                );
                dy = dx;
            }
            if let Some(gi) = grad_input {
                gi.copy_from_slice(&dy);
            }
        }
    }

    #[test]
    fn conv_relu_pool_flatten_linear_end_to_end() {
        let mut rng = SmallRng::seed_from_u64(71);
        let (input, batch) = (Shape::image(2, 8, 8), 3);
        let mut ps = ParamSet::new();
        let conv = Conv2d::new(&mut ps, "conv1", input, 3, 3, 1, 1);
        let conv_shape = conv.output_shape();
        let pool = MaxPool2d::new(conv_shape, 2);
        let pool_shape = pool.output_shape();
        let fc = Linear::new(&mut ps, "fc1", pool_shape.size(), 5);
        conv.init(&mut ps.values, &mut rng);
        fc.init(&mut ps.values, &mut rng);
        let (conv_off, fc_off) = (conv.weight_range().start, fc.weight_range().start);
        let mut stack = Stack {
            layers: vec![
                Box::new(conv),
                Box::new(Relu::new(conv_shape)),
                Box::new(pool),
                Box::new(Flatten::new(pool_shape)),
                Box::new(fc),
            ],
            acts: Vec::new(),
        };
        let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
        let reference = |p: &[f64], x: &[f64]| {
            let h = conv2d::tests::reference(p, conv_off, x, input, 3, 3, 1, 1);
            let h: Vec<f64> = h.into_iter().map(|v| v.max(0.0)).collect();
            let h = pool::tests::reference(&h, conv_shape, 2);
            linear::tests::reference(&p[..fc_off + 5 * 48 + 5], fc_off, &h, pool_shape.size(), 5)
        };
        let rep = check_layer(&mut stack, &ps.values, &x, batch, true, &reference);
        eprintln!("stack: {rep:?}");
    }
}

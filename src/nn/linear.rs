//! A fully connected layer, y = x W^T + b, laid out as PyTorch's `nn.Linear` (`weight` is
//! `[out, in]`, `bias` is `[out]`): the FC layers of the paper's FCNN and CNN teachers and
//! students. Forward and backward are one GEMM each (plus one for the input gradient); on a
//! mostly-zero input (the FCNN's first layer on MNIST pixels) the forward product and the
//! weight gradient skip the zeros instead (`nn::sparse`, `nn::sparse_grad`).

use std::ops::Range;

use rand::Rng;

use super::gemm::matmul;
use super::init::{torch_default_bias, torch_default_weight};
use super::sparse::{SparseScratch, matmul_sparse_x};
use super::sparse_grad::{SparseGradScratch, matmul_sparse_x_grad};
use super::{Layer, ParamSet, Shape, UnitGroups};

/// `[batch, in]` -> `[batch, out]`, y = x W^T + b.
#[derive(Debug, Clone)]
pub struct Linear {
    in_features: usize,
    out_features: usize,
    weight: Range<usize>,
    bias: Range<usize>,
    /// The buffers of the sparse-input forward product and weight gradient.
    sparse: SparseScratch,
    sparse_grad: SparseGradScratch,
}

impl Linear {
    /// Registers `{prefix}.weight` `[out, in]` and `{prefix}.bias` `[out]` in `params` (zeroed;
    /// see [`Linear::init`]).
    pub fn new(
        params: &mut ParamSet,
        prefix: &str,
        in_features: usize,
        out_features: usize,
    ) -> Self {
        assert!(
            in_features > 0 && out_features > 0,
            "Linear {prefix}: sizes must be positive"
        );
        let weight = params.add(&format!("{prefix}.weight"), &[out_features, in_features]);
        let bias = params.add(&format!("{prefix}.bias"), &[out_features]);
        Linear {
            in_features,
            out_features,
            weight,
            bias,
            sparse: SparseScratch::default(),
            sparse_grad: SparseGradScratch::default(),
        }
    }

    /// PyTorch's default init (see [`super::init`]) of this layer's tensors inside the
    /// network's flat `params`.
    pub fn init<R: Rng + ?Sized>(&self, params: &mut [f32], rng: &mut R) {
        torch_default_weight(&mut params[self.weight.clone()], self.in_features, rng);
        torch_default_bias(&mut params[self.bias.clone()], self.in_features, rng);
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Range of `weight` (`[out, in]`, row `o` = unit `o`'s incoming weights) in the flat buffers.
    pub fn weight_range(&self) -> Range<usize> {
        self.weight.clone()
    }

    /// Range of `bias` (`[out]`) in the flat buffers.
    pub fn bias_range(&self) -> Range<usize> {
        self.bias.clone()
    }
}

impl Layer for Linear {
    fn output_shape(&self) -> Shape {
        Shape::flat(self.out_features)
    }

    fn forward(
        &mut self,
        params: &[f32],
        input: &[f32],
        output: &mut [f32],
        batch: usize,
        _train: bool,
    ) {
        let (n_in, n_out) = (self.in_features, self.out_features);
        let bias = &params[self.bias.clone()];
        for row in output.chunks_exact_mut(n_out) {
            row.copy_from_slice(bias);
        }
        // y [batch, out] += x [batch, in] . W^T, with W stored [out, in]: skipping the zeros
        // of x where it is sparse enough, else dense.
        let weight = &params[self.weight.clone()];
        if matmul_sparse_x(&mut self.sparse, output, input, weight, batch, n_out, n_in) {
            return;
        }
        matmul(output, input, weight, batch, n_out, n_in, false, true, true);
    }

    fn backward(
        &mut self,
        params: &[f32],
        grads: &mut [f32],
        input: &[f32],
        _output: &[f32],
        grad_output: &[f32],
        grad_input: Option<&mut [f32]>,
        batch: usize,
    ) {
        let (n_in, n_out) = (self.in_features, self.out_features);
        // dW [out, in] += dy^T . x, with dy stored [batch, out]: skipping the zeros of x where
        // it is sparse enough, else dense.
        let dw = &mut grads[self.weight.clone()];
        let shape = (batch, n_out, n_in);
        if !matmul_sparse_x_grad(&mut self.sparse_grad, dw, grad_output, input, shape) {
            matmul(
                dw,
                grad_output,
                input,
                n_out,
                n_in,
                batch,
                true,
                false,
                true,
            );
        }
        // db [out] += column sums of dy (the inner loop vectorises across units).
        let db = &mut grads[self.bias.clone()];
        for row in grad_output.chunks_exact(n_out) {
            for (g, &d) in db.iter_mut().zip(row) {
                *g += d;
            }
        }
        if let Some(dx) = grad_input {
            // dx [batch, in] = dy [batch, out] . W [out, in].
            matmul(
                dx,
                grad_output,
                &params[self.weight.clone()],
                batch,
                n_in,
                n_out,
                false,
                false,
                false,
            );
        }
    }

    fn macs_per_example(&self) -> usize {
        self.in_features * self.out_features
    }

    fn unit_groups(&self) -> Option<UnitGroups> {
        Some(UnitGroups {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            fan_in: self.in_features,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, random_vec};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    /// Direct f64 y[b][o] = b[o] + sum_i x[b][i] W[o][i], with W at `w_off`, bias right after.
    pub(crate) fn reference(
        p: &[f64],
        w_off: usize,
        x: &[f64],
        n_in: usize,
        n_out: usize,
    ) -> Vec<f64> {
        let batch = x.len() / n_in;
        let (w, b) = (&p[w_off..w_off + n_out * n_in], &p[w_off + n_out * n_in..]);
        let mut y = vec![0.0; batch * n_out];
        for s in 0..batch {
            for o in 0..n_out {
                y[s * n_out + o] = b[o]
                    + (0..n_in)
                        .map(|i| x[s * n_in + i] * w[o * n_in + i])
                        .sum::<f64>();
            }
        }
        y
    }

    #[test]
    fn registers_torch_names_and_shapes() {
        let mut ps = ParamSet::new();
        let fc = Linear::new(&mut ps, "fc1", 784, 400);
        assert_eq!(ps.spec("fc1.weight").unwrap().shape, vec![400, 784]);
        assert_eq!(ps.spec("fc1.bias").unwrap().shape, vec![400]);
        assert_eq!(fc.macs_per_example(), 784 * 400);
        assert_eq!(ps.len(), 784 * 400 + 400);
    }

    #[test]
    fn forward_hand_computed() {
        // W = [[1, 2], [3, 4], [-1, 0.5]], b = [0.5, -1, 2], x = [[1, -1], [2, 3]]:
        // row 0: 1-2+0.5 = -0.5; 3-4-1 = -2; -1-0.5+2 = 0.5
        // row 1: 2+6+0.5 = 8.5; 6+12-1 = 17; -2+1.5+2 = 1.5
        let mut ps = ParamSet::new();
        let mut fc = Linear::new(&mut ps, "fc", 2, 3);
        ps.values
            .copy_from_slice(&[1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.5, -1.0, 2.0]);
        let mut y = vec![f32::NAN; 6];
        fc.forward(&ps.values, &[1.0, -1.0, 2.0, 3.0], &mut y, 2, false);
        assert_eq!(y, vec![-0.5, -2.0, 0.5, 8.5, 17.0, 1.5]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SmallRng::seed_from_u64(11);
        let (n_in, n_out, batch) = (13, 7, 5);
        let mut ps = ParamSet::new();
        // A tensor before the layer's, so the layer must honour its offsets.
        ps.add("other", &[3]);
        let mut fc = Linear::new(&mut ps, "fc", n_in, n_out);
        fc.init(&mut ps.values, &mut rng);
        let x = random_vec(&mut rng, batch * n_in, -1.0, 1.0);
        let off = fc.weight_range().start;
        let rep = check_layer(&mut fc, &ps.values, &x, batch, true, &|p, x| {
            reference(p, off, x, n_in, n_out)
        });
        eprintln!("linear: {rep:?}");
    }

    #[test]
    fn a_sparse_input_takes_the_sparse_products_and_matches_finite_differences() {
        // An input like an MNIST batch's: 1 pixel in 20 nonzero, with a blank border, so the
        // forward product and the weight gradient skip its zeros (nn::sparse, nn::sparse_grad).
        let mut rng = SmallRng::seed_from_u64(12);
        let (n_in, n_out, batch) = (64, 9, 7);
        let mut ps = ParamSet::new();
        let mut fc = Linear::new(&mut ps, "fc", n_in, n_out);
        fc.init(&mut ps.values, &mut rng);
        let x: Vec<f32> = (0..batch * n_in)
            .map(|i| {
                let c = i % n_in;
                if c >= 8 && rng.random_bool(0.05) {
                    rng.random_range(-1.0..1.0)
                } else {
                    0.0
                }
            })
            .collect();
        let (w, b) = (fc.weight_range(), fc.bias_range());
        let (mut y, mut dw) = (vec![0.0f32; batch * n_out], vec![0.0f32; n_out * n_in]);
        let (mut scratch, mut grad_scratch) = Default::default();
        let dy = random_vec(&mut rng, batch * n_out, -1.0, 1.0);
        let shape = (batch, n_out, n_in);
        let weight = &ps.values[w.clone()];
        let taken = matmul_sparse_x(&mut scratch, &mut y, &x, weight, batch, n_out, n_in);
        let grad_taken = matmul_sparse_x_grad(&mut grad_scratch, &mut dw, &dy, &x, shape);
        // Taken wherever they pay: not with AVX-512 (nn::sparse::worth_it), so on such a CPU
        // the layer's use of them is tested by the portable build's run of this test.
        let pays = crate::nn::sparse::worth_it(crate::base::simd::Level::detected());
        assert_eq!((taken, grad_taken), (pays, pays));
        let mut out = vec![0.0f32; batch * n_out];
        fc.forward(&ps.values, &x, &mut out, batch, false);
        let mut grads = vec![0.0f32; ps.len()];
        fc.backward(&ps.values, &mut grads, &x, &out, &dy, None, batch);
        if pays {
            // The layer's forward output and weight gradient are those products' (bias aside).
            for (i, (o, y)) in out.iter().zip(&y).enumerate() {
                assert_eq!(*o, y + ps.values[b.start + i % n_out], "y[{i}]");
            }
            assert_eq!(&grads[w.clone()], &dw[..]);
        }
        let off = w.start;
        let rep = check_layer(&mut fc, &ps.values, &x, batch, true, &|p, x| {
            reference(p, off, x, n_in, n_out)
        });
        eprintln!("linear, sparse input: {rep:?}");
    }
}

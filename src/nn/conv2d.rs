//! A 2-D convolution laid out as PyTorch's `nn.Conv2d` (cross-correlation, NCHW activations,
//! `weight` `[out_ch, in_ch, k, k]`, `bias` `[out_ch]`, square kernel, any stride and zero
//! padding): the convolutional layers of the paper's MNIST and CIFAR-10 CNNs.
//!
//! The batch is unfolded (im2col, [`super::im2col`]) a chunk of n examples at a time into
//! columns `[in_ch*k*k, n*P]`, P = out_h * out_w, so each chunk's forward pass is one GEMM
//! `[out_ch, in_ch*k*k] x [in_ch*k*k, n*P]`, wide enough to run at full speed even for the tiny
//! MNIST kernels, while the columns stay in cache (n is chosen from their size); the
//! `[out_ch, n*P]` product is scattered to NCHW with the bias added. The backward pass unfolds
//! the chunk again, gathers dL/dy into the same `[out_ch, n*P]` layout, takes dW += dY cols^T
//! and dcols = W^T dY (over the columns), and folds dcols back onto the input (col2im).

use std::ops::Range;

use rand::Rng;
use rayon::prelude::*;

use super::gemm::{matmul, parallel_elementwise};
use super::im2col::Unfold;
use super::init::{torch_default_bias, torch_default_weight};
use super::scratch::{prefix, sum};
use super::{Layer, ParamSet, Shape};

/// NCHW convolution, `[batch, in_ch, h, w]` -> `[batch, out_ch, out_h, out_w]` with
/// out_h = (h + 2 padding - k) / stride + 1 (floor), likewise out_w.
#[derive(Debug, Clone)]
pub struct Conv2d {
    unfold: Unfold,
    output: Shape,
    weight: Range<usize>,
    bias: Range<usize>,
    /// One chunk's im2col columns `[in_ch*k*k, n*P]`; in the backward pass, then dL/dcols.
    cols: Vec<f32>,
    /// `[out_ch, n*P]`: the GEMM's product in forward, dL/dy regrouped in backward.
    rows: Vec<f32>,
}

impl Conv2d {
    /// Registers `{prefix}.weight` `[out_ch, in_ch, k, k]` and `{prefix}.bias` `[out_ch]` in
    /// `params` (zeroed; see [`Conv2d::init`]). `input` is one example's shape.
    pub fn new(
        params: &mut ParamSet,
        prefix: &str,
        input: Shape,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        assert!(
            out_channels > 0,
            "Conv2d {prefix}: out_channels must be positive"
        );
        let unfold = Unfold::new(input, kernel, stride, padding);
        let weight = params.add(
            &format!("{prefix}.weight"),
            &[out_channels, input.channels, kernel, kernel],
        );
        let bias = params.add(&format!("{prefix}.bias"), &[out_channels]);
        Conv2d {
            unfold,
            output: Shape::image(out_channels, unfold.out_h, unfold.out_w),
            weight,
            bias,
            cols: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// PyTorch's default init (see [`super::init`]), fan_in = in_ch * k * k.
    pub fn init<R: Rng + ?Sized>(&self, params: &mut [f32], rng: &mut R) {
        torch_default_weight(&mut params[self.weight.clone()], self.fan_in(), rng);
        torch_default_bias(&mut params[self.bias.clone()], self.fan_in(), rng);
    }

    /// in_ch * k * k: the length of one output channel's filter.
    pub fn fan_in(&self) -> usize {
        self.unfold.rows()
    }

    /// Range of `weight` (`[out_ch, in_ch, k, k]`, row `o` = channel `o`'s filter).
    pub fn weight_range(&self) -> Range<usize> {
        self.weight.clone()
    }

    /// Range of `bias` (`[out_ch]`).
    pub fn bias_range(&self) -> Range<usize> {
        self.bias.clone()
    }
}

impl Conv2d {
    /// How many examples are unfolded at a time: enough that each GEMM is wide (n times P
    /// columns), few enough that the columns stay in cache between im2col, the GEMMs and
    /// col2im. Unfolding the whole batch at once made the CIFAR-10 first layer (3x32x32, k5:
    /// 235 KB of columns per example, 23 MB per batch of 100) memory-bound: forward + backward
    /// at batch 100 on one thread took 10.7 ms, against 4.9 ms in 512 KiB chunks (MNIST's
    /// first layer: 1.19 ms against 0.71 ms).
    fn chunk_examples(&self, batch: usize) -> usize {
        let per_example = self.fan_in() * self.unfold.positions() * std::mem::size_of::<f32>();
        (COLUMN_BYTES / per_example).clamp(1, batch.max(1))
    }

    /// rows [out_ch, n*P] = W . im2col(x) for `n` examples `x`, then y (NCHW) = rows + bias.
    fn forward_chunk(
        &self,
        params: &[f32],
        x: &[f32],
        y: &mut [f32],
        n: usize,
        cols: &mut Vec<f32>,
        rows: &mut Vec<f32>,
    ) {
        let (fan_in, out_ch, plane) =
            (self.fan_in(), self.output.channels, self.unfold.positions());
        let len = n * plane;
        let c = prefix(cols, fan_in * len);
        self.unfold.im2col(x, c, n);
        let r = prefix(rows, out_ch * len);
        matmul(
            r,
            &params[self.weight.clone()],
            c,
            out_ch,
            len,
            fan_in,
            false,
            false,
            false,
        );
        let r = &*r;
        let bias = &params[self.bias.clone()];
        let scatter = |(b, y): (usize, &mut [f32])| {
            for (o, dst) in y.chunks_exact_mut(plane).enumerate() {
                for (d, &v) in dst.iter_mut().zip(&r[o * len + b * plane..][..plane]) {
                    *d = v + bias[o];
                }
            }
        };
        if parallel_elementwise(y.len()) {
            y.par_chunks_mut(self.output.size())
                .enumerate()
                .for_each(scatter);
        } else {
            y.chunks_mut(self.output.size())
                .enumerate()
                .for_each(scatter);
        }
    }

    /// For `n` examples: regroups dL/dy to [out_ch, n*P] (adding its row sums to db), adds
    /// dY . cols^T to dW and, when asked, folds W^T . dY back onto dL/dx.
    #[allow(clippy::too_many_arguments)]
    fn backward_chunk(
        &self,
        params: &[f32],
        grads: &mut [f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        n: usize,
        cols: &mut Vec<f32>,
        rows: &mut Vec<f32>,
    ) {
        let (fan_in, out_ch, plane) =
            (self.fan_in(), self.output.channels, self.unfold.positions());
        let len = n * plane;
        // Unfolding again is cheaper than keeping a whole batch of columns from the forward
        // pass: the chunk's columns are written to cache, not memory.
        let c = prefix(cols, fan_in * len);
        self.unfold.im2col(x, c, n);
        let r = prefix(rows, out_ch * len);
        let size = self.output.size();
        let gather = |(o, (row, db)): (usize, (&mut [f32], &mut f32))| {
            for (b, dst) in row.chunks_exact_mut(plane).enumerate() {
                dst.copy_from_slice(&dy[b * size + o * plane..][..plane]);
            }
            *db += sum(row);
        };
        let db = &mut grads[self.bias.clone()];
        if parallel_elementwise(r.len()) {
            r.par_chunks_mut(len)
                .zip(db.par_iter_mut())
                .enumerate()
                .for_each(gather);
        } else {
            r.chunks_mut(len)
                .zip(db.iter_mut())
                .enumerate()
                .for_each(gather);
        }
        // dW [out_ch, in_ch*k*k] += dY [out_ch, n*P] . cols^T.
        matmul(
            &mut grads[self.weight.clone()],
            r,
            c,
            out_ch,
            fan_in,
            len,
            false,
            true,
            true,
        );
        if let Some(dx) = dx {
            // dcols [in_ch*k*k, n*P] = W^T . dY, written over the columns.
            matmul(
                c,
                &params[self.weight.clone()],
                r,
                fan_in,
                len,
                out_ch,
                true,
                false,
                false,
            );
            self.unfold.col2im(c, dx, n);
        }
    }
}

/// Target size of one chunk's im2col columns: about half of a core's L2 cache on current
/// x86 server parts, so columns, the GEMM's packed panels and dL/dy fit together.
const COLUMN_BYTES: usize = 512 * 1024;

impl Layer for Conv2d {
    fn output_shape(&self) -> Shape {
        self.output
    }

    fn forward(
        &mut self,
        params: &[f32],
        input: &[f32],
        output: &mut [f32],
        batch: usize,
        _train: bool,
    ) {
        let (in_size, out_size) = (self.unfold.input.size(), self.output.size());
        assert_eq!(input.len(), batch * in_size, "Conv2d: input length");
        assert_eq!(output.len(), batch * out_size, "Conv2d: output length");
        let chunk = self.chunk_examples(batch);
        let (mut cols, mut rows) = (
            std::mem::take(&mut self.cols),
            std::mem::take(&mut self.rows),
        );
        for (x, y) in input
            .chunks(chunk * in_size)
            .zip(output.chunks_mut(chunk * out_size))
        {
            self.forward_chunk(params, x, y, x.len() / in_size, &mut cols, &mut rows);
        }
        (self.cols, self.rows) = (cols, rows);
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
        let (in_size, out_size) = (self.unfold.input.size(), self.output.size());
        assert_eq!(input.len(), batch * in_size, "Conv2d: input length");
        assert_eq!(
            grad_output.len(),
            batch * out_size,
            "Conv2d: grad_output length"
        );
        let chunk = self.chunk_examples(batch);
        let (mut cols, mut rows) = (
            std::mem::take(&mut self.cols),
            std::mem::take(&mut self.rows),
        );
        let xs = input
            .chunks(chunk * in_size)
            .zip(grad_output.chunks(chunk * out_size));
        match grad_input {
            Some(dx) => {
                assert_eq!(dx.len(), input.len(), "Conv2d: grad_input length");
                for ((x, dy), dx) in xs.zip(dx.chunks_mut(chunk * in_size)) {
                    self.backward_chunk(
                        params,
                        grads,
                        x,
                        dy,
                        Some(dx),
                        x.len() / in_size,
                        &mut cols,
                        &mut rows,
                    );
                }
            }
            None => {
                for (x, dy) in xs {
                    self.backward_chunk(
                        params,
                        grads,
                        x,
                        dy,
                        None,
                        x.len() / in_size,
                        &mut cols,
                        &mut rows,
                    );
                }
            }
        }
        (self.cols, self.rows) = (cols, rows);
    }

    fn macs_per_example(&self) -> usize {
        self.output.size() * self.fan_in()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, check_layer_sampled, random_vec};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    /// Direct 7-loop f64 convolution (cross-correlation with zero padding), the independent
    /// reference for im2col + GEMM: y[b][o][i][j] = bias[o] + sum_{c,u,v} W[o][c][u][v]
    /// x[b][c][i*s+u-pad][j*s+v-pad]. The weight starts at `w_off`, the bias right after.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn reference(
        p: &[f64],
        w_off: usize,
        x: &[f64],
        input: Shape,
        out_ch: usize,
        k: usize,
        s: usize,
        pad: usize,
    ) -> Vec<f64> {
        let (c_in, h, w) = (input.channels, input.height, input.width);
        let (oh, ow) = ((h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1);
        let batch = x.len() / input.size();
        let wt = &p[w_off..w_off + out_ch * c_in * k * k];
        let bias = &p[w_off + wt.len()..];
        let mut y = vec![0.0; batch * out_ch * oh * ow];
        for b in 0..batch {
            for o in 0..out_ch {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut acc = bias[o];
                        for c in 0..c_in {
                            for u in 0..k {
                                for v in 0..k {
                                    let (r, q) = (
                                        (i * s + u) as isize - pad as isize,
                                        (j * s + v) as isize - pad as isize,
                                    );
                                    if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                                        acc += wt[((o * c_in + c) * k + u) * k + v]
                                            * x[((b * c_in + c) * h + r as usize) * w + q as usize];
                                    }
                                }
                            }
                        }
                        y[((b * out_ch + o) * oh + i) * ow + j] = acc;
                    }
                }
            }
        }
        y
    }

    fn forward_3x3(stride: usize, padding: usize, bias: f32) -> Vec<f32> {
        let mut ps = ParamSet::new();
        let mut conv = Conv2d::new(
            &mut ps,
            "conv",
            Shape::image(1, 3, 3),
            1,
            2,
            stride,
            padding,
        );
        ps.values.copy_from_slice(&[1.0, 2.0, 3.0, 4.0, bias]);
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut y = vec![f32::NAN; conv.output_shape().size()];
        conv.forward(&ps.values, &x, &mut y, 1, false);
        y
    }

    #[test]
    fn forward_hand_computed() {
        // x = [[1,2,3],[4,5,6],[7,8,9]], W = [[1,2],[3,4]], cross-correlation (no flip):
        // y00 = 1*1+2*2+3*4+4*5 = 37, y01 = 1*2+2*3+3*5+4*6 = 47,
        // y10 = 1*4+2*5+3*7+4*8 = 67, y11 = 1*5+2*6+3*8+4*9 = 77; bias -1.
        // (A flipped kernel would give y00 = 4*1+3*2+2*4+1*5 = 23.)
        assert_eq!(forward_3x3(1, 0, -1.0), vec![36.0, 46.0, 66.0, 76.0]);
        // Padding 1, stride 2: padded 5x5, out (3+2-2)/2+1 = 2. Window (0,0) sees only x00 under
        // W11: 4*1 = 4. Window (0,2) sees x01, x02 under W10, W11: 3*2+4*3 = 18. Window (2,0)
        // sees x10, x20 under W01, W11: 2*4+4*7 = 36. Window (2,2) sees x11, x12, x21, x22:
        // 1*5+2*6+3*8+4*9 = 77.
        assert_eq!(forward_3x3(2, 1, 0.0), vec![4.0, 18.0, 36.0, 77.0]);
    }

    #[test]
    fn registers_torch_names_shapes_and_macs() {
        // MNIST CNN's first layer: 1x28x28, 10 filters of 4x4 -> 10x25x25.
        let mut ps = ParamSet::new();
        let conv = Conv2d::new(&mut ps, "conv1", Shape::image(1, 28, 28), 10, 4, 1, 0);
        assert_eq!(ps.spec("conv1.weight").unwrap().shape, vec![10, 1, 4, 4]);
        assert_eq!(ps.spec("conv1.bias").unwrap().shape, vec![10]);
        assert_eq!(conv.output_shape(), Shape::image(10, 25, 25));
        assert_eq!(conv.macs_per_example(), 10 * 25 * 25 * 16);
    }

    /// (input, out_ch, kernel, stride, padding, batch)
    const CASES: [(Shape, usize, usize, usize, usize, usize); 4] = [
        (
            Shape {
                channels: 3,
                height: 7,
                width: 6,
            },
            4,
            3,
            1,
            0,
            2,
        ),
        (
            Shape {
                channels: 2,
                height: 7,
                width: 8,
            },
            3,
            3,
            2,
            1,
            3,
        ),
        (
            Shape {
                channels: 1,
                height: 5,
                width: 5,
            },
            2,
            4,
            3,
            2,
            2,
        ),
        (
            Shape {
                channels: 2,
                height: 4,
                width: 5,
            },
            2,
            1,
            1,
            0,
            2,
        ),
    ];

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = SmallRng::seed_from_u64(21);
        for (input, out_ch, k, s, pad, batch) in CASES {
            let mut ps = ParamSet::new();
            ps.add("other", &[2]);
            let mut conv = Conv2d::new(&mut ps, "conv", input, out_ch, k, s, pad);
            conv.init(&mut ps.values, &mut rng);
            let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
            let off = conv.weight_range().start;
            let rep = check_layer(&mut conv, &ps.values, &x, batch, true, &|p, x| {
                reference(p, off, x, input, out_ch, k, s, pad)
            });
            eprintln!("conv {input:?} k{k} s{s} p{pad}: {rep:?}");
        }
    }

    #[test]
    fn large_batch_takes_parallel_paths_and_matches() {
        // im2col columns 27 x (16*256) = 110k scalars: above the rayon threshold.
        let mut rng = SmallRng::seed_from_u64(22);
        let (input, out_ch, k, s, pad, batch) = (Shape::image(3, 16, 16), 5, 3, 1, 1, 16);
        let mut ps = ParamSet::new();
        let mut conv = Conv2d::new(&mut ps, "conv", input, out_ch, k, s, pad);
        conv.init(&mut ps.values, &mut rng);
        let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
        let rep = check_layer_sampled(
            &mut conv,
            &ps.values,
            &x,
            batch,
            true,
            &|p, x| reference(p, 0, x, input, out_ch, k, s, pad),
            60,
        );
        eprintln!("conv large: {rep:?}");
    }

    #[test]
    fn batch_split_into_chunks_matches() {
        // 3x40x40, k3, pad 1: 27 * 1600 * 4 B = 172.8 KB of columns per example, so 512 KiB
        // chunks hold 3 examples and a batch of 5 runs as 3 + 2.
        let mut rng = SmallRng::seed_from_u64(24);
        let (input, out_ch, k, s, pad, batch) = (Shape::image(3, 40, 40), 2, 3, 1, 1, 5);
        let mut ps = ParamSet::new();
        let mut conv = Conv2d::new(&mut ps, "conv", input, out_ch, k, s, pad);
        assert_eq!(conv.chunk_examples(batch), 3);
        conv.init(&mut ps.values, &mut rng);
        let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
        let rep = check_layer_sampled(
            &mut conv,
            &ps.values,
            &x,
            batch,
            true,
            &|p, x| reference(p, 0, x, input, out_ch, k, s, pad),
            60,
        );
        eprintln!("conv chunked: {rep:?}");
    }

    #[test]
    fn scratch_is_reused_across_steps() {
        let mut rng = SmallRng::seed_from_u64(23);
        let input = Shape::image(2, 9, 9);
        let mut ps = ParamSet::new();
        let mut conv = Conv2d::new(&mut ps, "conv", input, 3, 3, 1, 1);
        conv.init(&mut ps.values, &mut rng);
        let mut step = |conv: &mut Conv2d, batch: usize| {
            let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
            let mut y = vec![0f32; batch * conv.output_shape().size()];
            let mut dx = vec![0f32; x.len()];
            let mut g = vec![0f32; ps.len()];
            conv.forward(&ps.values, &x, &mut y, batch, true);
            conv.backward(&ps.values, &mut g, &x, &y, &y.clone(), Some(&mut dx), batch);
            (
                conv.cols.capacity(),
                conv.cols.as_ptr(),
                conv.rows.capacity(),
                conv.rows.as_ptr(),
            )
        };
        let first = step(&mut conv, 8);
        assert_eq!(step(&mut conv, 8), first);
        assert_eq!(step(&mut conv, 3), first);
    }
}

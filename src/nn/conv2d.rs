//! A 2-D convolution laid out as PyTorch's `nn.Conv2d` (cross-correlation, NCHW activations,
//! `weight` `[out_ch, in_ch, k, k]`, `bias` `[out_ch]`, square kernel, any stride and zero
//! padding): the convolutional layers of the paper's MNIST and CIFAR-10 CNNs, optionally with
//! the max-pooling that follows them fused in ([`Conv2d::with_max_pool`]).
//!
//! The batch is unfolded (im2col, [`super::im2col`]) a chunk of n examples at a time into
//! columns `[in_ch*k*k, n*P]` (P columns per example), so each chunk's forward pass is one
//! GEMM `[out_ch, in_ch*k*k] x [in_ch*k*k, n*P]`, wide enough to run at full speed even for the
//! tiny MNIST kernels, while the columns stay in cache (n is chosen from their size). The
//! `[out_ch, n*P]` product is then either copied to NCHW with the bias added, or, when pooling
//! is fused, max-pooled straight from it (the bias added as each value is read), so the
//! full-size convolution output is never written out and read back. The backward
//! pass unfolds the chunk again, lays dL/dy out as `[out_ch, n*P]` (with pooling: zeros, and
//! each pooled gradient at its window's maximum), takes dW += dY cols^T and
//! dcols = W^T dY, and folds dcols back onto the input (col2im).

use std::ops::Range;

use rand::Rng;
use rayon::prelude::*;

use super::gemm::{for_each_chunk, matmul, parallel_elementwise};
use super::im2col::Unfold;
use super::init::{torch_default_bias, torch_default_weight};
use super::pool::{max_pool_plane, route_plane};
use super::scratch::{prefix, sum};
use super::{Layer, ParamSet, Shape, UnitGroups};

/// NCHW convolution, `[batch, in_ch, h, w]` -> `[batch, out_ch, out_h, out_w]` with
/// out_h = (h + 2 padding - k) / stride + 1 (floor), likewise out_w; with a fused max-pool of
/// window p, `[batch, out_ch, out_h / p, out_w / p]`.
#[derive(Debug, Clone)]
pub struct Conv2d {
    unfold: Unfold,
    /// Window (and stride) of the fused max-pool, if any.
    pool: Option<usize>,
    output: Shape,
    weight: Range<usize>,
    bias: Range<usize>,
    /// One chunk's im2col columns `[in_ch*k*k, n*P]`; in the backward pass, then dL/dcols.
    cols: Vec<f32>,
    /// `[out_ch, n*P]`: the GEMM's product in forward, dL/dy laid out alike in backward.
    rows: Vec<f32>,
    /// With pooling: for each output of the batch, the offset of its window's maximum within
    /// its (example, channel) plane of `rows` (P columns).
    argmax: Vec<u32>,
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
            pool: None,
            output: Shape::image(out_channels, unfold.out_h, unfold.out_w),
            weight,
            bias,
            cols: Vec::new(),
            rows: Vec::new(),
            argmax: Vec::new(),
        }
    }

    /// Fuses a [`MaxPool2d`](super::MaxPool2d) of `window` x `window` at stride `window` into
    /// this layer's output: same values and gradients (including where ties and NaN go), in
    /// one pass over the GEMM's product.
    ///
    /// # Panics
    /// If the window is zero or larger than the convolution's output.
    pub fn with_max_pool(mut self, window: usize) -> Self {
        let conv = self.output;
        assert!(
            window > 0 && window <= conv.height && window <= conv.width,
            "Conv2d: max-pool window {window} does not fit the output {conv:?}"
        );
        self.pool = Some(window);
        self.output = Shape::image(conv.channels, conv.height / window, conv.width / window);
        self
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

    /// rows [out_ch, n*P] = W . im2col(x) for the `n` examples `x`, then the output `y` (NCHW):
    /// rows + bias, or the pooled rows + bias. `argmax` is the chunk's part of the pooling
    /// argmax.
    #[allow(clippy::too_many_arguments)]
    fn forward_chunk(
        &self,
        params: &[f32],
        x: &[f32],
        y: &mut [f32],
        argmax: &mut [u32],
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
        let (size, out_plane) = (self.output.size(), self.output.height * self.output.width);
        let (out_w, row_len) = (self.output.width, self.unfold.row_len);
        let parallel = parallel_elementwise(n * out_ch * plane);
        // One task per example: its out_ch output planes from its P columns of each row.
        match self.pool {
            Some(k) => {
                let pool_example = |(b, (y, arg)): (usize, (&mut [f32], &mut [u32]))| {
                    let planes = y
                        .chunks_exact_mut(out_plane)
                        .zip(arg.chunks_exact_mut(out_plane));
                    for (o, (dst, arg)) in planes.enumerate() {
                        let src = &r[o * len + b * plane..][..plane];
                        max_pool_plane(src, row_len, k, out_w, bias[o], dst, arg);
                    }
                };
                if parallel {
                    let argmax = argmax.par_chunks_mut(size);
                    y.par_chunks_mut(size)
                        .zip(argmax)
                        .enumerate()
                        .for_each(pool_example);
                } else {
                    let argmax = argmax.chunks_mut(size);
                    y.chunks_mut(size)
                        .zip(argmax)
                        .enumerate()
                        .for_each(pool_example);
                }
            }
            None => {
                let copy_example = |(b, y): (usize, &mut [f32])| {
                    for (o, dst) in y.chunks_exact_mut(out_plane).enumerate() {
                        let src = r[o * len + b * plane..][..plane].chunks(row_len);
                        for (d, s) in dst.chunks_exact_mut(out_w).zip(src) {
                            for (d, &v) in d.iter_mut().zip(s) {
                                *d = v + bias[o];
                            }
                        }
                    }
                };
                for_each_chunk(y, size, parallel, copy_example);
            }
        }
    }

    /// For `n` examples: lays dL/dy out as [out_ch, n*P] (zero where no output is, and with
    /// pooling, zero except at each window's maximum), adds its sums to db and
    /// dY . cols^T to dW, and, when asked, folds W^T . dY back onto dL/dx.
    #[allow(clippy::too_many_arguments)]
    fn backward_chunk(
        &self,
        params: &[f32],
        grads: &mut [f32],
        x: &[f32],
        dy: &[f32],
        argmax: &[u32],
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
        let (size, out_plane) = (self.output.size(), self.output.height * self.output.width);
        let (out_w, row_len) = (self.output.width, self.unfold.row_len);
        // One task per output channel: its row of dY, from that channel's plane of each example.
        let gather = |(o, (row, db)): (usize, (&mut [f32], &mut f32))| {
            for (b, dst) in row.chunks_exact_mut(plane).enumerate() {
                let g = &dy[b * size + o * out_plane..][..out_plane];
                *db += sum(g);
                if self.pool.is_some() {
                    route_plane(g, &argmax[b * size + o * out_plane..][..out_plane], dst);
                    continue;
                }
                for (d, s) in dst.chunks_mut(row_len).zip(g.chunks_exact(out_w)) {
                    d[..out_w].copy_from_slice(s);
                    d[out_w..].fill(0.0);
                }
            }
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

impl Conv2d {
    /// The argmax entries of examples `examples` (none without pooling).
    fn argmax_range(&self, examples: Range<usize>) -> Range<usize> {
        match self.pool {
            Some(_) => examples.start * self.output.size()..examples.end * self.output.size(),
            None => 0..0,
        }
    }

    /// The batch in chunks of [`Conv2d::chunk_examples`]: each chunk's range of examples.
    fn chunks(&self, batch: usize) -> impl Iterator<Item = Range<usize>> {
        let chunk = self.chunk_examples(batch);
        (0..batch)
            .step_by(chunk)
            .map(move |start| start..(start + chunk).min(batch))
    }
}

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
        let (mut cols, mut rows, mut argmax) = (
            std::mem::take(&mut self.cols),
            std::mem::take(&mut self.rows),
            std::mem::take(&mut self.argmax),
        );
        prefix(&mut argmax, self.argmax_range(0..batch).len());
        for ex in self.chunks(batch) {
            self.forward_chunk(
                params,
                &input[ex.start * in_size..ex.end * in_size],
                &mut output[ex.start * out_size..ex.end * out_size],
                &mut argmax[self.argmax_range(ex.clone())],
                ex.len(),
                &mut cols,
                &mut rows,
            );
        }
        (self.cols, self.rows, self.argmax) = (cols, rows, argmax);
    }

    fn backward(
        &mut self,
        params: &[f32],
        grads: &mut [f32],
        input: &[f32],
        _output: &[f32],
        grad_output: &[f32],
        mut grad_input: Option<&mut [f32]>,
        batch: usize,
    ) {
        let (in_size, out_size) = (self.unfold.input.size(), self.output.size());
        assert_eq!(input.len(), batch * in_size, "Conv2d: input length");
        assert_eq!(
            grad_output.len(),
            batch * out_size,
            "Conv2d: grad_output length"
        );
        if let Some(dx) = &grad_input {
            assert_eq!(dx.len(), input.len(), "Conv2d: grad_input length");
        }
        let (mut cols, mut rows) = (
            std::mem::take(&mut self.cols),
            std::mem::take(&mut self.rows),
        );
        for ex in self.chunks(batch) {
            let inputs = ex.start * in_size..ex.end * in_size;
            self.backward_chunk(
                params,
                grads,
                &input[inputs.clone()],
                &grad_output[ex.start * out_size..ex.end * out_size],
                &self.argmax[self.argmax_range(ex.clone())],
                grad_input.as_deref_mut().map(|dx| &mut dx[inputs]),
                ex.len(),
                &mut cols,
                &mut rows,
            );
        }
        (self.cols, self.rows) = (cols, rows);
    }

    fn macs_per_example(&self) -> usize {
        self.output.channels * self.unfold.out_h * self.unfold.out_w * self.fan_in()
    }

    fn unit_groups(&self) -> Option<UnitGroups> {
        Some(UnitGroups {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            fan_in: self.fan_in(),
        })
    }
}

#[cfg(test)]
#[path = "conv2d_tests.rs"]
pub(crate) mod tests;

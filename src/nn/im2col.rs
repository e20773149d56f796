//! im2col and col2im: the unfolding that turns a convolution into one matrix product
//! ([`super::Conv2d`]). Every k x k window of an NCHW batch, at the given stride and zero
//! padding, becomes one column of a `[in_ch*k*k, batch*P]` matrix (P = out_h * out_w output
//! positions per example; row (c, u, v) holds input channel c at window offset (u, v)).
//! col2im is its adjoint: it sums each column entry back onto the input pixel it was read from,
//! which is exactly the input gradient of the unfolding.
//!
//! Stride 1 without padding (every convolution of the paper) uses a *wide* layout: each output
//! row gets `in_w` columns instead of `out_w`; the last `k - 1` are not outputs (their windows
//! wrap into the next image rows, or past the plane's end, where they read zeros). A
//! column row of one example is then a single contiguous run of its input plane (`out_h * in_w`
//! values from offset `u * in_w + v`), copied and folded back in one pass instead of `out_h`
//! short copies of `out_w` values, which made im2col the largest cost of a CNN step. The extra
//! columns cost `in_w / out_w` more GEMM width (1.12x for MNIST's first layer); the layer that
//! reads the product ignores them, and a gradient that is zero there makes them add nothing.

use std::ops::Range;

use super::Shape;
use super::gemm::{for_each_chunk, parallel_elementwise};

/// The geometry of a square-kernel convolution over one example shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unfold {
    pub input: Shape,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub out_h: usize,
    pub out_w: usize,
    /// Columns per output row: `in_w` in the wide layout (stride 1, no padding), else `out_w`.
    pub row_len: usize,
}

/// The outputs `o` along one axis whose input index `o*stride + offset - padding` lies in
/// `0..in_len`, as a range `lo..hi` of `0..out_len`.
fn valid_outputs(
    out_len: usize,
    in_len: usize,
    offset: usize,
    stride: usize,
    padding: usize,
) -> Range<usize> {
    let lo = padding.saturating_sub(offset).div_ceil(stride).min(out_len);
    let hi = (in_len + padding)
        .saturating_sub(offset)
        .div_ceil(stride)
        .min(out_len);
    lo..hi.max(lo)
}

impl Unfold {
    /// out_h = (h + 2 padding - k) / stride + 1 (floor), likewise out_w.
    ///
    /// # Panics
    /// If the kernel is larger than the padded input, or a size is zero.
    pub fn new(input: Shape, kernel: usize, stride: usize, padding: usize) -> Self {
        assert!(
            kernel > 0 && stride > 0,
            "convolution kernel and stride must be positive"
        );
        assert!(
            input.height + 2 * padding >= kernel && input.width + 2 * padding >= kernel,
            "kernel {kernel} larger than the padded input {input:?}"
        );
        let out_w = (input.width + 2 * padding - kernel) / stride + 1;
        Unfold {
            input,
            kernel,
            stride,
            padding,
            out_h: (input.height + 2 * padding - kernel) / stride + 1,
            out_w,
            row_len: if stride == 1 && padding == 0 {
                input.width
            } else {
                out_w
            },
        }
    }

    /// Whether the columns use the wide layout (see the module documentation).
    pub fn is_wide(&self) -> bool {
        self.row_len != self.out_w
    }

    /// in_ch * k * k: rows of the column matrix.
    pub fn rows(&self) -> usize {
        self.input.channels * self.kernel * self.kernel
    }

    /// out_h * row_len: columns per example (output position (i, j) is column i * row_len + j).
    pub fn positions(&self) -> usize {
        self.out_h * self.row_len
    }

    /// Where column row `r` (input channel c, window offset (u, v)) of one example starts in
    /// that example's input, and how many of its `positions()` values lie inside the image, in
    /// the wide layout: `x[c][u * in_w + v + p]` for p below that count, zero after.
    fn wide_run(&self, r: usize) -> (usize, usize) {
        let (h, w, k) = (self.input.height, self.input.width, self.kernel);
        let (c, ki, kj) = (r / (k * k), r / k % k, r % k);
        let start = ki * w + kj;
        (c * h * w + start, self.positions().min(h * w - start))
    }

    /// Unfolds `input` into `cols` (`[in_ch*k*k, batch*P]`), one column per output position.
    pub(crate) fn im2col(&self, input: &[f32], cols: &mut [f32], batch: usize) {
        let fill_row = |(r, row): (usize, &mut [f32])| match self.is_wide() {
            true => self.fill_row_wide(input, r, row, batch),
            false => self.fill_row(input, r, row, batch),
        };
        let parallel = parallel_elementwise(cols.len());
        for_each_chunk(cols, batch * self.positions(), parallel, fill_row);
    }

    /// Column row `r` of the `batch` examples of `input` (exact layout).
    fn fill_row(&self, input: &[f32], r: usize, row: &mut [f32], batch: usize) {
        let (h, w, k) = (self.input.height, self.input.width, self.kernel);
        let (oh, ow, s, pad) = (self.out_h, self.out_w, self.stride, self.padding);
        let plane = oh * ow;
        let (c, ki, kj) = (r / (k * k), r / k % k, r % k);
        let ws = valid_outputs(ow, w, kj, s, pad);
        let hs = valid_outputs(oh, h, ki, s, pad);
        for b in 0..batch {
            let x = &input[(b * self.input.channels + c) * h * w..][..h * w];
            for (y, dst) in row[b * plane..][..plane].chunks_exact_mut(ow).enumerate() {
                if !hs.contains(&y) {
                    dst.fill(0.0);
                    continue;
                }
                if ws.is_empty() {
                    dst.fill(0.0);
                    continue;
                }
                let src = &x[(y * s + ki - pad) * w..][..w];
                dst[..ws.start].fill(0.0);
                dst[ws.end..].fill(0.0);
                let first = ws.start * s + kj - pad;
                if s == 1 {
                    copy_short(&mut dst[ws.clone()], &src[first..first + ws.len()]);
                } else {
                    for (d, &v) in dst[ws.clone()]
                        .iter_mut()
                        .zip(src[first..].iter().step_by(s))
                    {
                        *d = v;
                    }
                }
            }
        }
    }

    /// Column row `r` of the `batch` examples of `input` in the wide layout: one contiguous
    /// copy per example.
    fn fill_row_wide(&self, input: &[f32], r: usize, row: &mut [f32], batch: usize) {
        let (size, plane) = (self.input.size(), self.positions());
        let (start, inside) = self.wide_run(r);
        for (b, dst) in row.chunks_exact_mut(plane).take(batch).enumerate() {
            dst[..inside].copy_from_slice(&input[b * size + start..][..inside]);
            dst[inside..].fill(0.0);
        }
    }

    /// Folds `cols` (dL/dcols, `[in_ch*k*k, batch*P]`) back onto the input: overwrites
    /// `grad_input` with the sum, for each input pixel, of the columns entries that read it.
    pub(crate) fn col2im(&self, cols: &[f32], grad_input: &mut [f32], batch: usize) {
        // One task per (example, input channel) plane: only the column rows of that channel and
        // the columns of that example touch it, so planes are independent.
        let channels = self.input.channels;
        let fold_plane = |(bc, dx): (usize, &mut [f32])| {
            let (b, c) = (bc / channels, bc % channels);
            dx.fill(0.0);
            match self.is_wide() {
                true => self.fold_plane_wide(cols, batch, (b, c), dx),
                false => self.fold_plane(cols, batch, (b, c), dx),
            }
        };
        let (plane, k) = (self.input.height * self.input.width, self.kernel);
        let parallel = parallel_elementwise(grad_input.len() * k * k);
        for_each_chunk(grad_input, plane, parallel, fold_plane);
    }

    /// Adds the column entries of example `b` that read input channel `c` onto `dx`, that
    /// plane's gradient (exact layout).
    fn fold_plane(&self, cols: &[f32], batch: usize, (b, c): (usize, usize), dx: &mut [f32]) {
        let (h, w, k) = (self.input.height, self.input.width, self.kernel);
        let (oh, ow, s, pad) = (self.out_h, self.out_w, self.stride, self.padding);
        let (plane, len) = (oh * ow, batch * oh * ow);
        for ki in 0..k {
            let hs = valid_outputs(oh, h, ki, s, pad);
            for kj in 0..k {
                let ws = valid_outputs(ow, w, kj, s, pad);
                if ws.is_empty() {
                    continue;
                }
                let row = &cols[((c * k + ki) * k + kj) * len + b * plane..][..plane];
                for y in hs.clone() {
                    let src = &row[y * ow..][ws.clone()];
                    let first = ws.start * s + kj - pad;
                    let dst = &mut dx[(y * s + ki - pad) * w..][..w];
                    if s == 1 {
                        for (d, &v) in dst[first..first + ws.len()].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (d, &v) in dst[first..].iter_mut().step_by(s).zip(src) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }

    /// [`Unfold::fold_plane`] in the wide layout: each column row is added back as one
    /// contiguous run.
    fn fold_plane_wide(&self, cols: &[f32], batch: usize, (b, c): (usize, usize), dx: &mut [f32]) {
        let (h, w, k) = (self.input.height, self.input.width, self.kernel);
        let (plane, len) = (self.positions(), batch * self.positions());
        for r in c * k * k..(c + 1) * k * k {
            let (start, inside) = self.wide_run(r);
            let start = start - c * h * w;
            let src = &cols[r * len + b * plane..][..inside];
            for (d, &v) in dx[start..start + inside].iter_mut().zip(src) {
                *d += v;
            }
        }
    }
}

/// Copies a short row (an output row of a few dozen values) inline, eight lanes at a time:
/// `copy_from_slice` becomes a libc `memmove` call per row, whose fixed cost dominated
/// im2col for the paper's small images.
#[inline]
fn copy_short(dst: &mut [f32], src: &[f32]) {
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (d, s) in (&mut d).zip(&mut s) {
        let lanes: [f32; 8] = s.try_into().unwrap_or([0.0; 8]);
        d.copy_from_slice(&lanes);
    }
    for (d, &s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::random_vec;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    /// (input, kernel, stride, padding, batch): stride 1 and > 1, stride larger than the
    /// kernel (skipped pixels), and padding as large as the kernel (windows wholly in padding).
    const CASES: [(Shape, usize, usize, usize, usize); 4] = [
        (
            Shape {
                channels: 2,
                height: 5,
                width: 6,
            },
            3,
            1,
            0,
            2,
        ),
        (
            Shape {
                channels: 3,
                height: 7,
                width: 5,
            },
            3,
            2,
            1,
            2,
        ),
        (
            Shape {
                channels: 1,
                height: 8,
                width: 7,
            },
            2,
            3,
            0,
            3,
        ),
        (
            Shape {
                channels: 2,
                height: 3,
                width: 3,
            },
            2,
            1,
            2,
            2,
        ),
    ];

    #[test]
    fn im2col_matches_definition() {
        // cols[(c, u, v)][(b, i, j)] = x[b][c][i*s+u-pad][j*s+v-pad], or 0 in the padding.
        let mut rng = SmallRng::seed_from_u64(81);
        let mut layouts = [0, 0];
        for (input, k, s, pad, batch) in CASES {
            let u = Unfold::new(input, k, s, pad);
            layouts[u.is_wide() as usize] += 1;
            let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
            let mut cols = vec![f32::NAN; u.rows() * batch * u.positions()];
            u.im2col(&x, &mut cols, batch);
            let (h, w) = (input.height as isize, input.width as isize);
            let mut idx = 0;
            for c in 0..input.channels {
                for ku in 0..k {
                    for kv in 0..k {
                        for b in 0..batch {
                            let plane = &x
                                [(b * input.channels + c) * input.size() / input.channels..]
                                [..(h * w) as usize];
                            for i in 0..u.out_h {
                                for j in 0..u.row_len {
                                    let r = (i * s + ku) as isize - pad as isize;
                                    let q = (j * s + kv) as isize - pad as isize;
                                    let want = if j >= u.out_w {
                                        // Wide layout: past the output row, the columns go on
                                        // reading the plane row-major, then zeros past its end.
                                        let flat = r * w + q;
                                        plane.get(flat as usize).copied().unwrap_or(0.0)
                                    } else if r >= 0 && q >= 0 && r < h && q < w {
                                        plane[(r * w + q) as usize]
                                    } else {
                                        0.0
                                    };
                                    assert_eq!(cols[idx], want, "{input:?} k{k} s{s} p{pad}");
                                    idx += 1;
                                }
                            }
                        }
                    }
                }
            }
            assert_eq!(idx, cols.len());
        }
        assert!(
            layouts[0] > 0 && layouts[1] > 0,
            "both layouts tested: {layouts:?}"
        );
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), C> = <x, col2im(C)> for all x, C: col2im is the transpose of the (linear)
        // unfolding, hence its gradient. Both sides in f64 from f32 data; they agree to f32
        // rounding of col2im's sums (tolerance 1e-5 relative).
        let mut rng = SmallRng::seed_from_u64(82);
        for (input, k, s, pad, batch) in CASES {
            let u = Unfold::new(input, k, s, pad);
            let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
            let c = random_vec(&mut rng, u.rows() * batch * u.positions(), -1.0, 1.0);
            let mut cols = vec![0f32; c.len()];
            u.im2col(&x, &mut cols, batch);
            let mut folded = vec![f32::NAN; x.len()];
            u.col2im(&c, &mut folded, batch);
            let dot = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum::<f64>()
            };
            let (lhs, rhs) = (dot(&cols, &c), dot(&x, &folded));
            assert!(
                (lhs - rhs).abs() <= 1e-5 * (1.0 + lhs.abs()),
                "{input:?} k{k} s{s} p{pad}: {lhs} vs {rhs}"
            );
        }
    }
}

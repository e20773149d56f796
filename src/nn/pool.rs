//! Max pooling over non-overlapping square windows (PyTorch's `nn.MaxPool2d(k)`, whose stride
//! defaults to the window size; the paper's CNNs use k = 2). Odd sizes are floored: trailing
//! rows and columns that do not fill a window are dropped. The position of each window's
//! maximum is kept for the backward pass, which routes dL/dy to it alone.

use rayon::prelude::*;

use super::gemm::{for_each_chunk, parallel_elementwise};
use super::pool2x2;
use super::scratch::prefix;
use super::{Layer, Shape};

/// `[batch, c, h, w]` -> `[batch, c, h / k, w / k]`.
#[derive(Debug, Clone)]
pub struct MaxPool2d {
    input: Shape,
    output: Shape,
    kernel: usize,
    /// For each output, the offset within its input plane (`row * w + col`) of the maximum.
    argmax: Vec<u32>,
}

impl MaxPool2d {
    /// Pools `input`-shaped examples with `kernel` x `kernel` windows at stride `kernel`.
    pub fn new(input: Shape, kernel: usize) -> Self {
        assert!(kernel > 0, "MaxPool2d: kernel must be positive");
        assert!(
            input.height >= kernel && input.width >= kernel,
            "MaxPool2d: input {input:?} smaller than the {kernel}x{kernel} window"
        );
        assert!(
            input.height * input.width <= u32::MAX as usize,
            "MaxPool2d: plane too large"
        );
        MaxPool2d {
            input,
            output: Shape::image(input.channels, input.height / kernel, input.width / kernel),
            kernel,
            argmax: Vec::new(),
        }
    }
}

/// The running maximum after seeing `cand`: like PyTorch, a strictly larger value replaces it
/// (so the first maximum in row-major order is kept) and a NaN wins (and propagates).
#[inline(always)]
pub(crate) fn first_max(best: (f32, usize), cand: (f32, usize)) -> (f32, usize) {
    let take = cand.0 > best.0 || cand.0.is_nan();
    (
        if take { cand.0 } else { best.0 },
        if take { cand.1 } else { best.1 },
    )
}

/// Max-pools one plane whose rows lie `row_stride` values apart in `x`, shifted by `bias`,
/// with k x k windows at stride k: output (i, j) of `y` (`[y.len() / out_w, out_w]`) is the
/// maximum of `x + bias` over rows i*k..(i+1)*k, columns j*k..(j+1)*k, and `arg` gets its
/// offset in `x` (row * row_stride + column). Shared by [`MaxPool2d`] (bias 0) and the
/// pooling fused into [`super::Conv2d`], which adds the convolution's bias here, before the
/// comparisons, so that ties after rounding go where they go in an unfused pair of layers.
pub(crate) fn max_pool_plane(
    x: &[f32],
    row_stride: usize,
    k: usize,
    out_w: usize,
    bias: f32,
    y: &mut [f32],
    arg: &mut [u32],
) {
    if k == 2 {
        return pool2x2::pool_plane(x, row_stride, out_w, bias, y, arg);
    }
    let rows = y.chunks_exact_mut(out_w).zip(arg.chunks_exact_mut(out_w));
    for (orow, (y, arg)) in rows.enumerate() {
        let first_row = orow * k * row_stride;
        for (ocol, (yv, av)) in y.iter_mut().zip(arg.iter_mut()).enumerate() {
            let first = first_row + ocol * k;
            let mut best = (x[first] + bias, first);
            for r in 0..k {
                let row = first + r * row_stride;
                for (c, &v) in x[row..row + k].iter().enumerate() {
                    best = first_max(best, (v + bias, row + c));
                }
            }
            *yv = best.0;
            *av = best.1 as u32;
        }
    }
}

/// Sends each pooled gradient back to its window's maximum: `dx` (one input plane) is
/// overwritten with zeros and `dy[i]` added at offset `arg[i]`.
pub(crate) fn route_plane(dy: &[f32], arg: &[u32], dx: &mut [f32]) {
    dx.fill(0.0);
    for (&g, &a) in dy.iter().zip(arg) {
        dx[a as usize] += g;
    }
}

impl Layer for MaxPool2d {
    fn output_shape(&self) -> Shape {
        self.output
    }

    fn forward(
        &mut self,
        _params: &[f32],
        input: &[f32],
        output: &mut [f32],
        batch: usize,
        _train: bool,
    ) {
        let (w, k) = (self.input.width, self.kernel);
        let (in_plane, out_plane) = (
            self.input.height * w,
            self.output.height * self.output.width,
        );
        let ow = self.output.width;
        assert_eq!(
            input.len(),
            batch * self.input.size(),
            "MaxPool2d: input length"
        );
        assert_eq!(
            output.len(),
            batch * self.output.size(),
            "MaxPool2d: output length"
        );
        let argmax = prefix(&mut self.argmax, output.len());
        let pool_plane = |(p, (y, arg)): (usize, (&mut [f32], &mut [u32]))| {
            max_pool_plane(&input[p * in_plane..][..in_plane], w, k, ow, 0.0, y, arg);
        };
        if parallel_elementwise(input.len()) {
            output
                .par_chunks_mut(out_plane)
                .zip(argmax.par_chunks_mut(out_plane))
                .enumerate()
                .for_each(pool_plane);
        } else {
            output
                .chunks_mut(out_plane)
                .zip(argmax.chunks_mut(out_plane))
                .enumerate()
                .for_each(pool_plane);
        }
    }

    fn backward(
        &mut self,
        _params: &[f32],
        _grads: &mut [f32],
        _input: &[f32],
        _output: &[f32],
        grad_output: &[f32],
        grad_input: Option<&mut [f32]>,
        batch: usize,
    ) {
        let Some(dx) = grad_input else { return };
        let in_plane = self.input.height * self.input.width;
        let out_plane = self.output.height * self.output.width;
        assert_eq!(
            dx.len(),
            batch * self.input.size(),
            "MaxPool2d: grad_input length"
        );
        assert_eq!(
            grad_output.len(),
            batch * self.output.size(),
            "MaxPool2d: grad_output length"
        );
        let argmax = &self.argmax[..grad_output.len()];
        let route = |(p, d): (usize, &mut [f32])| {
            let at = p * out_plane..(p + 1) * out_plane;
            route_plane(&grad_output[at.clone()], &argmax[at], d);
        };
        let parallel = parallel_elementwise(dx.len());
        for_each_chunk(dx, in_plane, parallel, route);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, random_vec};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    /// Direct f64 max over each k x k window of each plane (floor for odd sizes).
    pub(crate) fn reference(x: &[f64], input: Shape, k: usize) -> Vec<f64> {
        let (h, w) = (input.height, input.width);
        let (oh, ow) = (h / k, w / k);
        let planes = x.len() / (h * w);
        let mut y = Vec::with_capacity(planes * oh * ow);
        for p in 0..planes {
            for i in 0..oh {
                for j in 0..ow {
                    let window =
                        (0..k * k).map(|t| x[p * h * w + (i * k + t / k) * w + j * k + t % k]);
                    y.push(window.fold(f64::NEG_INFINITY, f64::max));
                }
            }
        }
        y
    }

    #[test]
    fn forward_hand_computed_odd_size() {
        // One 3x5 plane, 2x2 windows at stride 2 -> 1x2 (the last row and column are dropped):
        // [[1, 5, 2, 0, 9],
        //  [3, 4, 7, 1, 9],
        //  [9, 9, 9, 9, 9]]  windows {1,5,3,4} -> 5, {2,0,7,1} -> 7.
        let x = [
            1.0, 5.0, 2.0, 0.0, 9.0, 3.0, 4.0, 7.0, 1.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0,
        ];
        let mut pool = MaxPool2d::new(Shape::image(1, 3, 5), 2);
        assert_eq!(pool.output_shape(), Shape::image(1, 1, 2));
        let mut y = [0f32; 2];
        pool.forward(&[], &x, &mut y, 1, false);
        assert_eq!(y, [5.0, 7.0]);
        // The gradient goes to the maxima only (offsets 1 and 7); dropped pixels get 0.
        let mut dx = [f32::NAN; 15];
        pool.backward(&[], &mut [], &x, &y, &[10.0, 20.0], Some(&mut dx), 1);
        let mut want = [0f32; 15];
        want[1] = 10.0;
        want[7] = 20.0;
        assert_eq!(dx, want);
    }

    #[test]
    fn ties_route_to_the_first_maximum() {
        // PyTorch's CPU kernel updates the max only on `val > maxval`, so of a window
        // [[3, 3], [3, 0]] the gradient goes to the first 3 (offset 0) alone.
        let x = [3.0, 3.0, 3.0, 0.0];
        let mut pool = MaxPool2d::new(Shape::image(1, 2, 2), 2);
        let mut y = [0f32; 1];
        pool.forward(&[], &x, &mut y, 1, true);
        let mut dx = [f32::NAN; 4];
        pool.backward(&[], &mut [], &x, &y, &[1.0], Some(&mut dx), 1);
        assert_eq!(dx, [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Distinct random values: ties (where max is not differentiable) have probability 0.
        let mut rng = SmallRng::seed_from_u64(31);
        for (input, k, batch) in [(Shape::image(3, 6, 7), 2, 2), (Shape::image(2, 7, 9), 3, 2)] {
            let mut pool = MaxPool2d::new(input, k);
            let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
            let rep = check_layer(&mut pool, &[], &x, batch, true, &|_, x| {
                reference(x, input, k)
            });
            eprintln!("maxpool {input:?} k{k}: {rep:?}");
        }
    }

    #[test]
    fn large_batch_takes_parallel_path_and_matches() {
        let mut rng = SmallRng::seed_from_u64(32);
        let (input, batch) = (Shape::image(10, 25, 25), 20); // 125k inputs: above the threshold
        let mut pool = MaxPool2d::new(input, 2);
        let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
        let mut y = vec![0f32; batch * pool.output_shape().size()];
        pool.forward(&[], &x, &mut y, batch, true);
        let want = reference(&crate::nn::gradcheck::to_f64(&x), input, 2);
        assert!(y.iter().zip(&want).all(|(&a, &b)| a as f64 == b));
        let cap = (pool.argmax.capacity(), pool.argmax.as_ptr());
        pool.forward(&[], &x, &mut y, batch, true);
        assert_eq!((pool.argmax.capacity(), pool.argmax.as_ptr()), cap);
    }
}

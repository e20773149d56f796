//! Tests of [`super::Conv2d`]: hand-computed outputs, finite differences against a direct f64
//! convolution, both column layouts, chunked and parallel paths, and the fused max-pool.

use super::*;
use crate::nn::MaxPool2d;
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

/// Finite differences (60 sampled coordinates) of a layer too large to check whole, asserting
/// first that it unfolds `chunk` examples at a time.
fn check_sampled(
    seed: u64,
    (input, out_ch, k, s, pad, batch): (Shape, usize, usize, usize, usize, usize),
    chunk: usize,
) -> crate::nn::gradcheck::CheckReport {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut ps = ParamSet::new();
    let mut conv = Conv2d::new(&mut ps, "conv", input, out_ch, k, s, pad);
    assert_eq!(conv.chunk_examples(batch), chunk);
    conv.init(&mut ps.values, &mut rng);
    let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
    let reference = |p: &[f64], x: &[f64]| reference(p, 0, x, input, out_ch, k, s, pad);
    check_layer_sampled(&mut conv, &ps.values, &x, batch, true, &reference, 60)
}

#[test]
fn large_batch_takes_parallel_paths_and_matches() {
    // im2col columns 27 x (16*256) = 110k scalars: above the rayon threshold.
    let rep = check_sampled(22, (Shape::image(3, 16, 16), 5, 3, 1, 1, 16), 16);
    eprintln!("conv large: {rep:?}");
}

#[test]
fn batch_split_into_chunks_matches() {
    // 3x40x40, k3, pad 1: 27 * 1600 * 4 B = 172.8 KB of columns per example, so 512 KiB
    // chunks hold 3 examples and a batch of 5 runs as 3 + 2.
    let rep = check_sampled(24, (Shape::image(3, 40, 40), 2, 3, 1, 1, 5), 3);
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

/// (input, out_ch, kernel, stride, padding, pool window, batch) for the fused max-pool: the
/// MNIST CNN's two layers (wide columns, even and odd outputs), an exact-layout layer with
/// stride and padding, a window of 3 over an output that does not divide by it, and a batch
/// that runs as two chunks (3x40x40, k3: 164 KB of wide columns per example, 3 per chunk).
const POOL_CASES: [(Shape, usize, usize, usize, usize, usize, usize); 5] = [
    (Shape::image(1, 28, 28), 10, 4, 1, 0, 2, 3),
    (Shape::image(10, 12, 12), 20, 4, 1, 0, 2, 2),
    (Shape::image(2, 9, 8), 3, 3, 2, 1, 2, 2),
    (Shape::image(2, 10, 9), 3, 2, 1, 0, 3, 2),
    (Shape::image(3, 40, 40), 2, 3, 1, 0, 2, 5),
];

fn pooled_conv(
    ps: &mut ParamSet,
    (input, out_ch, k, s, pad, window): (Shape, usize, usize, usize, usize, usize),
) -> (Conv2d, Conv2d, MaxPool2d) {
    let conv = Conv2d::new(ps, "conv", input, out_ch, k, s, pad);
    let pool = MaxPool2d::new(conv.output_shape(), window);
    (conv.clone().with_max_pool(window), conv, pool)
}

#[test]
fn fused_pool_matches_conv_then_max_pool() {
    // The fused layer against the two layers it replaces, on the same parameters, inputs and
    // dL/dy: outputs, dL/dx and dL/dW equal (the same GEMMs on the same columns and the same
    // dY rows), db to f32 rounding (the fused layer sums the pooled gradients, the pair the
    // full plane with its zeros, in another order).
    let mut rng = SmallRng::seed_from_u64(25);
    for (input, out_ch, k, s, pad, window, batch) in POOL_CASES {
        let mut ps = ParamSet::new();
        let (mut fused, mut conv, mut pool) =
            pooled_conv(&mut ps, (input, out_ch, k, s, pad, window));
        fused.init(&mut ps.values, &mut rng);
        let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
        let mut y = vec![0f32; batch * fused.output_shape().size()];
        fused.forward(&ps.values, &x, &mut y, batch, true);
        let mut h = vec![0f32; batch * conv.output_shape().size()];
        let mut y2 = vec![0f32; y.len()];
        conv.forward(&ps.values, &x, &mut h, batch, true);
        pool.forward(&[], &h, &mut y2, batch, true);
        assert_eq!(y, y2, "{input:?} k{k} s{s} p{pad} pool {window}: forward");

        let dy = random_vec(&mut rng, y.len(), -1.0, 1.0);
        let (mut g, mut g2) = (vec![0f32; ps.len()], vec![0f32; ps.len()]);
        let (mut dx, mut dx2) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
        fused.backward(&ps.values, &mut g, &x, &y, &dy, Some(&mut dx), batch);
        let mut dh = vec![f32::NAN; h.len()];
        pool.backward(&[], &mut [], &h, &y2, &dy, Some(&mut dh), batch);
        conv.backward(&ps.values, &mut g2, &x, &h, &dh, Some(&mut dx2), batch);
        assert_eq!(dx, dx2, "{input:?} k{k}: dL/dx");
        let (w, b) = (fused.weight_range(), fused.bias_range());
        assert_eq!(g[w.clone()], g2[w], "{input:?} k{k}: dL/dW");
        for (a, b) in g[b.clone()].iter().zip(&g2[b]) {
            assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "db: {a} vs {b}");
        }
    }
}

#[test]
fn fused_pool_gradients_match_finite_differences() {
    let mut rng = SmallRng::seed_from_u64(26);
    for (input, out_ch, k, s, pad, window, batch) in POOL_CASES {
        let mut ps = ParamSet::new();
        ps.add("other", &[2]);
        let (mut fused, conv, _) = pooled_conv(&mut ps, (input, out_ch, k, s, pad, window));
        fused.init(&mut ps.values, &mut rng);
        let x = random_vec(&mut rng, batch * input.size(), -1.0, 1.0);
        let off = fused.weight_range().start;
        let conv_shape = conv.output_shape();
        let reference = |p: &[f64], x: &[f64]| {
            let h = reference(p, off, x, input, out_ch, k, s, pad);
            crate::nn::pool::tests::reference(&h, conv_shape, window)
        };
        let rep = check_layer_sampled(&mut fused, &ps.values, &x, batch, true, &reference, 80);
        eprintln!("conv+pool {input:?} k{k} s{s} p{pad} pool {window}: {rep:?}");
    }
}

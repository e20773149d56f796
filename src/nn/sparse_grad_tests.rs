//! Tests of the sparse-input weight gradient against an f64 reference, across SIMD levels and
//! batches, and the inputs it must decline.

use super::*;
use crate::nn::sparse_test_support::{fused_levels, rng, sparse_input, uniform};

/// `dw0 + dy^T x` by the definition, in f64 (the independent reference).
fn reference(dw0: &[f32], dy: &[f32], x: &[f32], (m, n, k): (usize, usize, usize)) -> Vec<f64> {
    let mut dw: Vec<f64> = dw0.iter().map(|&v| v as f64).collect();
    for j in 0..n {
        for c in 0..k {
            dw[j * k + c] += (0..m)
                .map(|i| dy[i * n + j] as f64 * x[i * k + c] as f64)
                .sum::<f64>();
        }
    }
    dw
}

fn gradient(
    level: Level,
    dw0: &[f32],
    dy: &[f32],
    x: &[f32],
    shape: (usize, usize, usize),
) -> Vec<f32> {
    let mut dw = dw0.to_vec();
    let mut scratch = SparseGradScratch::default();
    assert!(
        matmul_sparse_x_grad_at_level(level, &mut scratch, &mut dw, dy, x, shape),
        "{level:?} {shape:?}: an input of this density must take the sparse path"
    );
    dw
}

#[test]
fn every_level_matches_the_f64_definition() {
    // n not a multiple of UNITS (a short last panel of units), k not a multiple of BLOCK (a
    // short last block), k < BLOCK, and the FCNN's first layer on an SGLD minibatch half.
    let mut rng = rng(21);
    for &(m, n, k, from) in &[
        (13, 17, 37, 3),
        (5, 2, 7, 0),
        (4, 12, 32, 16),
        (50, 400, 784, 90),
    ] {
        let x = sparse_input(&mut rng, m, k, 0.03, from);
        let (dy, dw0) = (uniform(&mut rng, m * n), uniform(&mut rng, n * k));
        let want = reference(&dw0, &dy, &x, (m, n, k));
        for level in Level::available() {
            let got = gradient(level, &dw0, &dy, &x, (m, n, k));
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                // At most m = 50 products of size <= 1 in f32: error ~ 2^-24 sqrt(m); a wrong
                // unit, row or block is off by O(0.1).
                assert!(
                    (*g as f64 - r).abs() < 1e-5,
                    "{level:?} {m}x{n}x{k}: dw[{i}] = {g}, want {r}"
                );
            }
        }
    }
}

#[test]
fn fused_levels_give_the_sequential_sum_of_the_nonzero_terms_bit_for_bit() {
    // The definition the module doc states: dw0 + (the f32 chain of fused multiply-adds over
    // the rows with a nonzero x, in ascending order, from 0), computed here entry by entry.
    let mut rng = rng(22);
    let (m, n, k) = (20, 14, 40);
    let x = sparse_input(&mut rng, m, k, 0.04, 5);
    let (dy, dw0) = (uniform(&mut rng, m * n), uniform(&mut rng, n * k));
    let want: Vec<f32> = (0..n * k)
        .map(|e| {
            let (j, c) = (e / k, e % k);
            let chain = (0..m)
                .filter(|&i| x[i * k + c] != 0.0)
                .fold(0.0f32, |s, i| dy[i * n + j].mul_add(x[i * k + c], s));
            dw0[e] + chain
        })
        .collect();
    for level in fused_levels() {
        let got = gradient(level, &dw0, &dy, &x, (m, n, k));
        for (e, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "{level:?}: dw[{e}] = {g}, want {w}"
            );
        }
    }
}

#[test]
fn dense_inputs_are_declined_and_leave_dw_untouched() {
    let mut rng = rng(23);
    let (m, n, k) = (12, 10, 64);
    let dy = uniform(&mut rng, m * n);
    let dw0 = uniform(&mut rng, n * k);
    // Half the entries nonzero: over MAX_DENSITY.
    let dense = sparse_input(&mut rng, m, k, 0.5, 0);
    // One entry in eight nonzero, one in every block of every row: every (row, block)
    // pair is kept (over MAX_PANEL_DENSITY).
    let spread: Vec<f32> = (0..m * k)
        .map(|i| if i % BLOCK == 0 { 1.0 } else { 0.0 })
        .collect();
    for x in [dense, spread] {
        let mut dw = dw0.clone();
        let mut scratch = SparseGradScratch::default();
        assert!(!matmul_sparse_x_grad(
            &mut scratch,
            &mut dw,
            &dy,
            &x,
            (m, n, k)
        ));
        assert_eq!(dw, dw0);
    }
}

#[test]
fn a_scratch_reused_after_a_larger_batch_gives_the_same_bits_as_a_fresh_one() {
    // The buffers keep stale entries past what a smaller call writes; they must not be read.
    let mut rng = rng(24);
    let (n, k) = (14, 40);
    let mut scratch = SparseGradScratch::default();
    for m in [30, 7] {
        let x = sparse_input(&mut rng, m, k, 0.04, 5);
        let (dy, dw0) = (uniform(&mut rng, m * n), uniform(&mut rng, n * k));
        let mut reused = dw0.clone();
        let level = Level::Scalar;
        assert!(matmul_sparse_x_grad_at_level(
            level,
            &mut scratch,
            &mut reused,
            &dy,
            &x,
            (m, n, k)
        ));
        let fresh = gradient(level, &dw0, &dy, &x, (m, n, k));
        assert_eq!(reused, fresh, "m = {m}");
    }
}

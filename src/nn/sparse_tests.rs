//! Tests of the sparse-input product against an f64 reference, across SIMD levels, batches
//! and the inputs it must decline.

use super::*;
use crate::nn::sparse_test_support::{fused_levels, rng, sparse_input, uniform};

/// `y0 + x W^T` by the definition, in f64 (the independent reference).
fn reference(y0: &[f32], x: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut y: Vec<f64> = y0.iter().map(|&v| v as f64).collect();
    for i in 0..m {
        for j in 0..n {
            y[i * n + j] += (0..k)
                .map(|c| x[i * k + c] as f64 * w[j * k + c] as f64)
                .sum::<f64>();
        }
    }
    y
}

fn product(
    level: Level,
    y0: &[f32],
    x: &[f32],
    w: &[f32],
    m: usize,
    n: usize,
    k: usize,
) -> Vec<f32> {
    let mut y = y0.to_vec();
    let mut scratch = SparseScratch::default();
    assert!(
        matmul_sparse_x_at_level(level, &mut scratch, &mut y, x, w, (m, n, k)),
        "{level:?}: a {m}x{k} input of this density must take the sparse path"
    );
    y
}

#[test]
fn every_level_matches_the_f64_definition() {
    // m not a multiple of ROWS (a short last panel), n not a multiple of LANES (a short last
    // tile), n < LANES, and an MNIST-sized case with a blank border.
    let mut rng = rng(3);
    for &(m, n, k, empty) in &[
        (17, 37, 50, 5),
        (1, 3, 9, 0),
        (6, 16, 64, 0),
        (100, 400, 784, 60),
    ] {
        let x = sparse_input(&mut rng, m, k, 0.15, empty);
        let w = uniform(&mut rng, n * k);
        let y0 = uniform(&mut rng, m * n);
        let want = reference(&y0, &x, &w, m, n, k);
        for level in Level::available() {
            let got = product(level, &y0, &x, &w, m, n, k);
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                // About 0.15 k products of size <= 1 added in f32: error ~ sqrt(k) 2^-24, far
                // below 1e-5 at k = 784; a wrong column, tile or row is off by O(0.1).
                assert!(
                    (*g as f64 - r).abs() < 1e-5,
                    "{level:?} {m}x{n}x{k}: y[{i}] = {g}, want {r}"
                );
            }
        }
    }
}

#[test]
fn a_row_gets_the_same_bits_alone_as_in_any_batch_and_fused_levels_agree() {
    let mut rng = rng(8);
    let (m, n, k) = (23, 40, 70);
    let x = sparse_input(&mut rng, m, k, 0.08, 4);
    let w = uniform(&mut rng, n * k);
    let y0 = uniform(&mut rng, m * n);
    let mut fused: Vec<Vec<f32>> = Vec::new();
    for level in Level::available() {
        let batch = product(level, &y0, &x, &w, m, n, k);
        for i in 0..m {
            let alone = product(level, &y0[i * n..][..n], &x[i * k..][..k], &w, 1, n, k);
            let same = alone
                .iter()
                .zip(&batch[i * n..])
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(
                same,
                "{level:?}: row {i} alone differs from row {i} of the batch"
            );
        }
        if fused_levels().any(|l| l == level) {
            fused.push(batch);
        }
    }
    if let Some((first, others)) = fused.split_first() {
        for other in others {
            let same = other
                .iter()
                .zip(first)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "two fused levels disagree");
        }
    }
}

#[test]
fn fused_levels_give_the_sequential_sum_of_the_nonzero_terms_bit_for_bit() {
    // The definition the module doc states: y0 + (the f32 chain of fused multiply-adds over
    // the row's nonzero columns, in ascending order, from 0), computed here entry by entry.
    let mut rng = rng(9);
    let (m, n, k) = (15, 21, 90);
    let x = sparse_input(&mut rng, m, k, 0.06, 10);
    let (w, y0) = (uniform(&mut rng, n * k), uniform(&mut rng, m * n));
    let want: Vec<f32> = (0..m * n)
        .map(|e| {
            let (i, j) = (e / n, e % n);
            let chain = (0..k)
                .filter(|&c| x[i * k + c] != 0.0)
                .fold(0.0f32, |s, c| x[i * k + c].mul_add(w[j * k + c], s));
            y0[e] + chain
        })
        .collect();
    for level in fused_levels() {
        let got = product(level, &y0, &x, &w, m, n, k);
        for (e, (g, want)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.to_bits(),
                want.to_bits(),
                "{level:?}: y[{e}] = {g}, want {want}"
            );
        }
    }
}

#[test]
fn dense_inputs_are_declined_and_leave_y_untouched() {
    let mut rng = rng(4);
    let (m, n, k) = (12, 20, 60);
    let w = uniform(&mut rng, n * k);
    let y0 = uniform(&mut rng, m * n);
    // Half the entries nonzero: over MAX_DENSITY.
    let dense = sparse_input(&mut rng, m, k, 0.5, 0);
    // A sixth of the entries nonzero, but row r only in the columns c = r (mod 6): each panel
    // of 6 rows walks every column (over MAX_PANEL_DENSITY).
    let spread: Vec<f32> = (0..m * k)
        .map(|i| {
            if (i % k) % ROWS == (i / k) % ROWS {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    for x in [dense, spread] {
        let mut y = y0.clone();
        let mut scratch = SparseScratch::default();
        assert!(!matmul_sparse_x(&mut scratch, &mut y, &x, &w, m, n, k));
        assert_eq!(y, y0);
    }
}

#[test]
fn a_nan_in_the_input_reaches_the_output() {
    let (m, n, k) = (6, 16, 32);
    let mut x = vec![0.0f32; m * k];
    x[2 * k + 5] = f32::NAN;
    x[3 * k + 7] = 1.0;
    let w = vec![0.5f32; n * k];
    for level in Level::available() {
        let y = product(level, &vec![0.0; m * n], &x, &w, m, n, k);
        assert!(y[2 * n..3 * n].iter().all(|v| v.is_nan()), "{level:?}");
        assert!(y[3 * n..4 * n].iter().all(|&v| v == 0.5), "{level:?}");
        assert!(y[..2 * n].iter().all(|&v| v == 0.0), "{level:?}");
    }
}

#[test]
fn a_scratch_reused_after_a_larger_batch_gives_the_same_bits_as_a_fresh_one() {
    // The buffers keep stale entries past what a smaller call writes; they must not be read.
    let mut rng = rng(10);
    let (n, k) = (21, 90);
    let w = uniform(&mut rng, n * k);
    let mut scratch = SparseScratch::default();
    for m in [40, 9] {
        let x = sparse_input(&mut rng, m, k, 0.06, 10);
        let y0 = uniform(&mut rng, m * n);
        let mut reused = y0.clone();
        let level = Level::Scalar;
        assert!(matmul_sparse_x_at_level(
            level,
            &mut scratch,
            &mut reused,
            &x,
            &w,
            (m, n, k)
        ));
        assert_eq!(reused, product(level, &y0, &x, &w, m, n, k), "m = {m}");
    }
}

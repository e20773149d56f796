//! Test support for the sparse products' tests (`nn::sparse`, `nn::sparse_grad`): inputs with
//! a given share of exact zeros, and the SIMD levels that fuse their multiply-adds.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::base::simd::Level;

/// A generator for a test, from its seed.
pub(crate) fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// `x [m, k]` with each entry nonzero (uniform in [-1, 1]) with probability `density` inside
/// the columns `from..` (the columns before are blank in every row, like an image's border).
pub(crate) fn sparse_input(
    rng: &mut SmallRng,
    m: usize,
    k: usize,
    density: f64,
    from: usize,
) -> Vec<f32> {
    (0..m * k)
        .map(|i| {
            if i % k >= from && rng.random_bool(density) {
                rng.random_range(-1.0..1.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// `len` values uniform in [-1, 1].
pub(crate) fn uniform(rng: &mut SmallRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// The levels this CPU has whose kernels fuse multiply-adds: the x86 SIMD levels, and the
/// portable one off x86.
pub(crate) fn fused_levels() -> impl Iterator<Item = Level> {
    Level::available().filter(|&l| l > Level::Scalar || !cfg!(target_arch = "x86_64"))
}

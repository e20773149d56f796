//! The one matrix product the engine is built on: a safe, row-major f32 wrapper over the `gemm`
//! crate's strided kernels (run-time dispatched AVX-512 / AVX2), with either operand optionally
//! transposed and the result either overwriting or accumulating into the destination. Every
//! dense and convolutional layer's forward and backward pass goes through [`matmul`].
//!
//! Parallelism is process-wide: [`set_threads`] picks how many rayon threads a product may use
//! (default: all cores), and only products of at least [`PARALLEL_MIN_MACS`] multiply-adds are
//! split across threads; smaller ones run on the calling thread, where the fork-join overhead
//! would cost more than it saves. The same setting gates the layers' own rayon loops.

use std::sync::atomic::{AtomicUsize, Ordering};

use gemm::Parallelism;
use rayon::prelude::*;

/// Smallest product (m * n * k multiply-adds) that is split across threads. Measured with what
/// is now the benchmark `gemm_threads` (`benches/gemm_shapes.rs`) on the 2-vCPU AMD EPYC
/// development machine (AVX-512, one thread does ~95 GMAC/s): two threads lost at 1M-16M MACs
/// (e.g. 100x200x800: 175 us alone vs 300 us threaded) and were at best even at 26M-31M (quiet
/// machine: 100x400x784: 331 us alone vs 374 us threaded; 20x8100x160: 312 vs 270 us). The
/// GPED loop already runs the teacher's and the students' steps on separate threads, so
/// training-size products (batch 100) stay on their thread; test-set passes (batch 1000: 313M
/// MACs for the FCNN's first layer) are split. gemm itself never threads below 48*48*256 =
/// 590k. On a machine with many physical cores the break-even is lower; rerun that benchmark
/// there.
pub const PARALLEL_MIN_MACS: usize = 1 << 26;

/// 0 means "not set": use all available cores.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads a large product may use (`n = 0` restores the default, all cores).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// Sets the number of worker threads of the whole process (`n = 0`: all cores): the
/// products' limit and rayon's global pool, which runs the concurrent teacher and student steps
/// and the parallel elementwise passes. Call once, before any parallel work.
pub fn init_threads(n: usize) {
    set_threads(n);
    if n > 0 {
        // The global pool can be built only once; a second call keeps the first pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
}

/// The number of cores, read once: `available_parallelism` reads cgroup files on every call,
/// which cost more than a small product when it was asked before each one.
fn all_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// How many threads a large product may use.
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => all_cores(),
        n => n,
    }
}

/// Whether elementwise or copying work over `elems` scalars (im2col, pooling, ReLU) should be
/// split across rayon threads: only with more than one thread allowed and enough work to repay
/// the fork-join (a few microseconds), i.e. about 64k scalars.
pub(crate) fn parallel_elementwise(elems: usize) -> bool {
    elems >= 1 << 16 && threads() > 1
}

/// Calls `f` with each `len`-long chunk of `buf` and its index, spread over the thread pool
/// when `parallel`.
pub(crate) fn for_each_chunk<F>(buf: &mut [f32], len: usize, parallel: bool, f: F)
where
    F: Fn((usize, &mut [f32])) + Sync + Send,
{
    if parallel {
        buf.par_chunks_mut(len).enumerate().for_each(f);
    } else {
        buf.chunks_mut(len).enumerate().for_each(f);
    }
}

fn parallelism(m: usize, n: usize, k: usize) -> Parallelism {
    let t = threads();
    if t > 1 && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN_MACS {
        Parallelism::Rayon(t)
    } else {
        Parallelism::None
    }
}

/// `C = op(A) op(B)` (or `C += op(A) op(B)` when `accumulate`), all row-major f32.
///
/// Shapes: `C` is `[m, n]`; `op(A)` is `[m, k]`, so `A` is stored `[m, k]`, or `[k, m]` when
/// `trans_a`; `op(B)` is `[k, n]`, so `B` is stored `[k, n]`, or `[n, k]` when `trans_b`.
///
/// # Panics
/// If a slice's length differs from its shape's size.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    accumulate: bool,
) {
    let shape = (m, n, k);
    matmul_with(
        c,
        a,
        b,
        shape,
        trans_a,
        trans_b,
        accumulate,
        parallelism(m, n, k),
    );
}

/// [`matmul`] with the split across threads given (not chosen by [`PARALLEL_MIN_MACS`]):
/// `shape` is (m, n, k). For the tests and the `gemm_threads` benchmark.
#[allow(clippy::too_many_arguments)]
pub fn matmul_with(
    c: &mut [f32],
    a: &[f32],
    b: &[f32],
    (m, n, k): (usize, usize, usize),
    trans_a: bool,
    trans_b: bool,
    accumulate: bool,
    parallelism: Parallelism,
) {
    // These checks are what makes the unsafe call below sound, so they stay in release builds;
    // they cost three comparisons per product.
    assert_eq!(c.len(), m * n, "matmul: C must be [m={m}, n={n}]");
    assert_eq!(a.len(), m * k, "matmul: A must hold m*k = {m}*{k}");
    assert_eq!(b.len(), k * n, "matmul: B must hold k*n = {k}*{n}");
    if m == 0 || n == 0 {
        return;
    }
    // Strides in elements (row stride, column stride) of C, op(A) and op(B).
    let (c_rs, c_cs) = (n as isize, 1);
    let (a_rs, a_cs) = if trans_a {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if trans_b {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the slices have exactly the lengths asserted above; with the strides chosen, every
    // index the kernel touches, (i * rs + j * cs) over i < rows, j < cols, lies inside its slice.
    // `c` is a unique borrow, so it cannot alias `a` or `b`. gemm computes
    // dst = alpha * dst + beta * lhs * rhs and reads dst only when `read_dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// Naive triple loop in f64, reading A and B through the same storage conventions as the
    /// documentation of `matmul` (the independent reference).
    #[allow(clippy::too_many_arguments)]
    fn naive(
        c0: &[f32],
        a: &[f32],
        b: &[f32],
        m: usize,
        n: usize,
        k: usize,
        ta: bool,
        tb: bool,
        acc: bool,
    ) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = if acc { c0[i * n + j] as f64 } else { 0.0 };
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av as f64 * bv as f64;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    fn random(rng: &mut SmallRng, len: usize) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn products_split_across_threads_equal_the_unsplit_ones_bit_for_bit() {
        // Shapes above PARALLEL_MIN_MACS as the engine runs them: the FCNN's first layer on an
        // evaluation batch (forward, and dW = dY^T X with its long k), the CIFAR-10 CNN's first
        // layer over a batch's columns; all transposes, overwriting and accumulating.
        let mut rng = SmallRng::seed_from_u64(5);
        let shapes = [(1000, 400, 784), (400, 784, 1000), (16, 80_000, 75)];
        for (case, &(m, n, k)) in shapes.iter().enumerate() {
            assert!(m * n * k >= PARALLEL_MIN_MACS);
            let (ta, tb, acc) = (case == 1, case == 1, case == 2);
            let (a, b) = (random(&mut rng, m * k), random(&mut rng, k * n));
            let c0 = random(&mut rng, m * n);
            let run = |par| {
                let mut c = c0.clone();
                matmul_with(&mut c, &a, &b, (m, n, k), ta, tb, acc, par);
                c
            };
            let (alone, split) = (run(Parallelism::None), run(Parallelism::Rayon(2)));
            let same = alone
                .iter()
                .zip(&split)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{m}x{n}x{k}: the split changed the product");
        }
    }

    #[test]
    fn all_transposes_and_modes_match_naive_loop() {
        let mut rng = SmallRng::seed_from_u64(1);
        // Odd sizes (not multiples of any SIMD width), a degenerate k = 1, and one product
        // large enough (400*240*180 = 17.3M MACs) to take the threaded path.
        for &(m, n, k) in &[
            (1, 1, 1),
            (3, 5, 7),
            (17, 1, 33),
            (1, 29, 13),
            (37, 41, 1),
            (400, 240, 180),
        ] {
            for ta in [false, true] {
                for tb in [false, true] {
                    for acc in [false, true] {
                        let a = random(&mut rng, m * k);
                        let b = random(&mut rng, k * n);
                        let c0 = random(&mut rng, m * n);
                        let mut c = c0.clone();
                        matmul(&mut c, &a, &b, m, n, k, ta, tb, acc);
                        let want = naive(&c0, &a, &b, m, n, k, ta, tb, acc);
                        for (got, want) in c.iter().zip(&want) {
                            // An f32 dot product of k terms in [-1, 1] typically errs by about
                            // k * 2^-24 ~ 1e-5 at k = 180 (gemm's blocked order differs from
                            // ours); a wrong stride or transpose is off by O(0.1) or more.
                            assert!(
                                (*got as f64 - want).abs() < 1e-4,
                                "m={m} n={n} k={k} ta={ta} tb={tb} acc={acc}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zero_k_overwrites_with_zero_or_keeps() {
        let mut c = vec![3.0f32; 6];
        matmul(&mut c, &[], &[], 2, 3, 0, false, false, true);
        assert!(c.iter().all(|&v| v == 3.0));
        matmul(&mut c, &[], &[], 2, 3, 0, false, false, false);
        assert!(c.iter().all(|&v| v == 0.0));
    }

    #[test]
    #[should_panic(expected = "matmul: B")]
    fn wrong_length_panics() {
        let mut c = vec![0f32; 4];
        matmul(&mut c, &[0.0; 4], &[0.0; 3], 2, 2, 2, false, false, false);
    }
}

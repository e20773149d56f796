//! The weight gradient of a Linear layer whose input is mostly exact zeros (the FCNN's first
//! layer on MNIST pixels): `dW [n, k] += dY^T x`, with dY stored `[m, n]` and x `[m, k]`.
//! x's columns are cut into blocks of [`BLOCK`]; for each block only the rows of x that have a
//! nonzero in it are multiplied in, [`UNITS`] units of dW at a time. Each entry of dW gets the
//! sum of its nonzero terms in ascending row order, one fused multiply-add at a time (a term
//! with an exact 0 in x adds nothing but, at most, the sign of a zero sum): the same bits
//! whatever the blocks, and within f32 rounding of the dense `dY^T x`. Declines (returns
//! false, writes nothing) with AVX-512 and on dense inputs, as the forward product
//! ([`worth_it`], [`sparse_enough`]), and
//! when more than [`MAX_PANEL_DENSITY`] of the (row, block) pairs are nonzero.

use super::gemm::{PARALLEL_MIN_MACS, for_each_chunk, threads};
use super::scratch::prefix;
use super::sparse::{MAX_PANEL_DENSITY, add_tile, outer_add, sparse_enough, worth_it};
use crate::base::simd::{Level, simd_kernel};

/// Columns of x per block: one AVX2 vector. A block of 8 MNIST pixels is nonzero in 39% of
/// the images, one of 16 in 58% (2,000 training images).
pub(crate) const BLOCK: usize = 8;
/// Units of dW per kernel call: 12 accumulators of [`BLOCK`] lanes.
pub(crate) const UNITS: usize = 12;

/// The buffers of [`matmul_sparse_x_grad`], grown to the largest call and reused.
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseGradScratch {
    /// The rows of x with a nonzero in each block, block after block.
    rows: Vec<u32>,
    /// `[rows.len()][BLOCK]`: those rows' values in the block (0 past k).
    vals: Vec<f32>,
    /// Block `b` holds `rows[starts[b]..starts[b + 1]]`.
    starts: Vec<usize>,
}

/// `dw [n, k] += dy^T x` (dy `[m, n]`, x `[m, k]`), skipping x's exact zeros, if x is sparse
/// enough (see the module doc); otherwise returns false and leaves `dw` as it was.
///
/// # Panics
/// If a slice's length differs from its shape's size.
pub(crate) fn matmul_sparse_x_grad(
    scratch: &mut SparseGradScratch,
    dw: &mut [f32],
    dy: &[f32],
    x: &[f32],
    (m, n, k): (usize, usize, usize),
) -> bool {
    let level = Level::detected();
    worth_it(level) && matmul_sparse_x_grad_at_level(level, scratch, dw, dy, x, (m, n, k))
}

/// [`matmul_sparse_x_grad`] at a given SIMD level.
///
/// # Panics
/// As [`matmul_sparse_x_grad`], and if the CPU does not have `level`.
pub(crate) fn matmul_sparse_x_grad_at_level(
    level: Level,
    scratch: &mut SparseGradScratch,
    dw: &mut [f32],
    dy: &[f32],
    x: &[f32],
    (m, n, k): (usize, usize, usize),
) -> bool {
    assert_eq!(
        dw.len(),
        n * k,
        "sparse gradient: dW must be [n={n}, k={k}]"
    );
    assert_eq!(
        dy.len(),
        m * n,
        "sparse gradient: dY must be [m={m}, n={n}]"
    );
    assert_eq!(x.len(), m * k, "sparse gradient: x must be [m={m}, k={k}]");
    if m == 0 || n == 0 || k == 0 {
        return true;
    }
    if !sparse_enough(x, (m, k), 1, BLOCK) {
        return false;
    }
    let kept = gather_blocks(scratch, x, m, k);
    if kept as f64 > MAX_PANEL_DENSITY * (k.div_ceil(BLOCK) * m) as f64 {
        return false;
    }
    let blocks = Blocks {
        rows: &scratch.rows[..kept],
        vals: &scratch.vals[..kept * BLOCK],
        starts: &scratch.starts,
    };
    // At most AVX2: compiled for AVX-512, the compiler vectorises the 8-lane body across the
    // units instead, with gathers and scatters (the FCNN's burn-in went from 1.7 to 5.3 ms per
    // iteration). Both levels fuse, so they give the same bits.
    let level = level.min(Level::Avx2);
    let run = |(p, dw_units): (usize, &mut [f32])| {
        units_gradient_at_level(level, dw_units, dy, p * UNITS, (n, k), blocks);
    };
    // Split across threads where the dense GEMM would be (as the forward product).
    let parallel = threads() > 1 && m * n * k >= PARALLEL_MIN_MACS;
    for_each_chunk(dw, UNITS * k, parallel, run);
    true
}

/// Fills `scratch` with each block's rows of x that are nonzero in it; returns how many
/// (row, block) pairs were kept.
fn gather_blocks(scratch: &mut SparseGradScratch, x: &[f32], m: usize, k: usize) -> usize {
    let SparseGradScratch { rows, vals, starts } = scratch;
    let blocks = k.div_ceil(BLOCK);
    // Room for every row in every block (grown once, as in the forward product's gathering);
    // `starts` says what was written.
    let rows = prefix(rows, blocks * m);
    let vals = prefix(vals, blocks * m * BLOCK);
    starts.clear();
    starts.push(0);
    let mut kept = 0;
    for b in 0..blocks {
        let (c0, width) = (b * BLOCK, BLOCK.min(k - b * BLOCK));
        for (i, row) in x.chunks_exact(k).enumerate() {
            let block = &row[c0..c0 + width];
            let dst = &mut vals[kept * BLOCK..][..BLOCK];
            dst[..width].copy_from_slice(block);
            dst[width..].iter_mut().for_each(|v| *v = 0.0);
            rows[kept] = i as u32;
            // Branch-free compaction, as in the forward product's gathering.
            kept += block.iter().fold(false, |any, &v| any | (v != 0.0)) as usize;
        }
        starts.push(kept);
    }
    kept
}

/// The gathered blocks of x, as the kernel reads them (see [`SparseGradScratch`]).
#[derive(Clone, Copy)]
struct Blocks<'a> {
    rows: &'a [u32],
    vals: &'a [f32],
    starts: &'a [usize],
}

simd_kernel! {
    /// Units `j0..` of dW (`dw` holds their rows), with the widest SIMD the CPU has (unused:
    /// the level is chosen once per product).
    #[allow(dead_code)]
    fn units_gradient / units_gradient_at_level(
        dw: &mut [f32],
        dy: &[f32],
        j0: usize,
        nk: (usize, usize),
        blocks: Blocks<'_>,
    ) = fused_units, portable = portable_units;
}

/// The x86 SIMD levels, which have FMA.
#[inline(always)]
#[cfg_attr(not(x86_simd), allow(dead_code))] // no x86 levels in a portable build
fn fused_units(dw: &mut [f32], dy: &[f32], j0: usize, nk: (usize, usize), blocks: Blocks<'_>) {
    units_body::<true>(dw, dy, j0, nk, blocks)
}

/// The portable level: fused where the target's baseline has FMA (ARM), not on x86.
#[inline(always)]
fn portable_units(dw: &mut [f32], dy: &[f32], j0: usize, nk: (usize, usize), blocks: Blocks<'_>) {
    units_body::<{ !cfg!(target_arch = "x86_64") }>(dw, dy, j0, nk, blocks)
}

/// `dw[u][b * BLOCK + l] += sum over block b's rows i of dy[i][j0 + u] * x[i][b * BLOCK + l]`
/// for the (up to [`UNITS`]) units `dw` holds, in ascending row order.
#[inline(always)]
fn units_body<const FUSED: bool>(
    dw: &mut [f32],
    dy: &[f32],
    j0: usize,
    (n, k): (usize, usize),
    Blocks { rows, vals, starts }: Blocks<'_>,
) {
    let units = dw.len() / k;
    let m = dy.len() / n;
    // What makes the unchecked reads below sound: every row is inside dY and, for a full
    // panel of units, j0 + UNITS <= n; there are BLOCK values per row.
    assert!(
        units <= UNITS && j0 + units <= n,
        "sparse gradient: units out of range"
    );
    assert!(
        rows.iter().all(|&i| (i as usize) < m),
        "sparse gradient: row out of range"
    );
    assert_eq!(
        vals.len(),
        rows.len() * BLOCK,
        "sparse gradient: values per row"
    );
    if units == UNITS {
        // SAFETY (of the read): i < m and j0 + UNITS <= n, so start + UNITS <= m n = dy.len().
        let full = |start: usize| unsafe { *dy.as_ptr().add(start).cast::<[f32; UNITS]>() };
        blocks_loop::<FUSED>(dw, (n, k), j0, units, Blocks { rows, vals, starts }, full);
    } else {
        // The short last panel of units: a padded copy (a branch inside the loop of the full
        // panels made the compiler keep their accumulators on the stack).
        let short =
            |start: usize| std::array::from_fn(|u| if u < units { dy[start + u] } else { 0.0 });
        blocks_loop::<FUSED>(dw, (n, k), j0, units, Blocks { rows, vals, starts }, short);
    }
}

/// The loop of [`units_body`] over the blocks and their rows; `dy_units(start)` reads the
/// panel's units of dY's row from index `start`.
#[inline(always)]
fn blocks_loop<const FUSED: bool>(
    dw: &mut [f32],
    (n, k): (usize, usize),
    j0: usize,
    units: usize,
    Blocks { rows, vals, starts }: Blocks<'_>,
    dy_units: impl Fn(usize) -> [f32; UNITS],
) {
    for (b, range) in starts.windows(2).enumerate() {
        let mut acc = [[0.0f32; BLOCK]; UNITS];
        let block_rows = &rows[range[0]..range[1]];
        let block_vals = &vals[range[0] * BLOCK..range[1] * BLOCK];
        for (&i, xv) in block_rows.iter().zip(block_vals.chunks_exact(BLOCK)) {
            let d = dy_units(i as usize * n + j0);
            outer_add::<FUSED, UNITS, BLOCK>(&mut acc, &d, xv);
        }
        let (c0, width) = (b * BLOCK, BLOCK.min(k - b * BLOCK));
        add_tile(dw, (k, c0), (units, width), &acc);
    }
}

#[cfg(test)]
#[path = "sparse_grad_tests.rs"]
mod tests;

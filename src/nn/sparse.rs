//! The product of a Linear layer whose input is mostly exact zeros: the FCNN's first layer on
//! MNIST pixels (81% of them are 0; a panel of 6 test images has 42% of its 784 columns with a
//! nonzero pixel). `y [m, n] += x [m, k] . W^T` (W stored `[n, k]`, as `nn.Linear`) walks, for
//! each panel of [`ROWS`] rows of x, only the columns where one of them is nonzero, and
//! multiplies them into [`LANES`]-wide tiles of W^T packed once per call. The dense GEMM does
//! every multiply-add; this one skips those by an exact 0, so each output is the sum of its
//! row's nonzero terms in ascending column order, one fused multiply-add at a time: the same
//! bits whatever the batch, the panel or the tile (tested), and within f32 rounding of the
//! dense product.
//!
//! [`matmul_sparse_x`] declines (returns false, writes nothing) on a CPU with AVX-512, whose
//! dense GEMM is faster ([`worth_it`]), and when the input is too dense
//! to gain: more than [`MAX_DENSITY`] of the entries of its first [`DENSITY_ROWS`] rows
//! nonzero, or panels that walk more than [`MAX_PANEL_DENSITY`] of the columns
//! (Fashion-MNIST, noisy inputs, hidden activations). A weight whose column of x is all zeros
//! is never read, as in any sparse product: a NaN there does not reach the output (a NaN or
//! infinity in x does). The layer's weight gradient, `dW += dY^T x`, skips x's zeros the same
//! way (`sparse_grad`).

use super::gemm::{PARALLEL_MIN_MACS, for_each_chunk, threads};
use super::scratch::prefix;
use crate::base::simd::{Level, simd_kernel};

/// Rows of x per panel: the columns a panel walks are the union of its rows' nonzeros.
pub(crate) const ROWS: usize = 6;
/// Output columns per packed tile of W^T (two AVX2 vectors, one AVX-512 vector).
pub(crate) const LANES: usize = 16;
/// Inputs with more nonzeros than this fraction go to the dense GEMM.
pub(crate) const MAX_DENSITY: f64 = 0.35;
/// How many of the first rows that density is read from: two panels (with eight, the check
/// took 3.9% of an FCNN run's CPU time under `perf`, as much as the forward kernel).
pub(crate) const DENSITY_ROWS: usize = 2 * ROWS;
/// ... and so do inputs whose panels walk more than this fraction of their columns (a margin
/// chosen, not tuned: a walked multiply-add costs more than a dense one, its share of the
/// work must be well under 1).
pub(crate) const MAX_PANEL_DENSITY: f64 = 0.6;

/// The buffers of [`matmul_sparse_x`], grown to the largest call and reused.
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseScratch {
    /// W^T in tiles: `[n / LANES (rounded up)][k][LANES]`, zero past `n`.
    packed_w: Vec<f32>,
    /// The columns every panel walks, panel after panel (past `starts`' last: stale).
    cols: Vec<u32>,
    /// `[cols.len()][ROWS]`: the panel's rows at each of its columns (0 for a short last panel).
    vals: Vec<f32>,
    /// Panel `p` walks `cols[starts[p]..starts[p + 1]]`.
    starts: Vec<usize>,
    /// `[k][ROWS]`: the panel being gathered, transposed.
    panel_t: Vec<f32>,
}

/// `y [m, n] += x [m, k] . W^T` with `w` stored `[n, k]`, skipping the exact zeros of `x`, if
/// `x` is sparse enough (see the module doc); otherwise returns false and leaves `y` as it was.
///
/// # Panics
/// If a slice's length differs from its shape's size.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_sparse_x(
    scratch: &mut SparseScratch,
    y: &mut [f32],
    x: &[f32],
    w: &[f32],
    m: usize,
    n: usize,
    k: usize,
) -> bool {
    let level = Level::detected();
    worth_it(level) && matmul_sparse_x_at_level(level, scratch, y, x, w, (m, n, k))
}

/// Whether the sparse products pay at `level`: not with AVX-512, whose dense GEMM does twice
/// AVX2's multiply-adds per cycle. Measured on an Intel Xeon (family 6, model 207), FCNN
/// loop of `benches/pytorch/gped_loop.toml`: burn-in 1.78 / 1.83 -> 2.11 / 2.08 ms per
/// iteration and the 10k test pass 36 / 38 -> 39 / 40 ms with them, where on the AVX2 path
/// they took the test pass from 72 to 49-54 ms.
pub(crate) fn worth_it(level: Level) -> bool {
    level < Level::Avx512
}

/// [`matmul_sparse_x`] at a given SIMD level; `shape` is (m, n, k).
///
/// # Panics
/// As [`matmul_sparse_x`], and if the CPU does not have `level`.
pub(crate) fn matmul_sparse_x_at_level(
    level: Level,
    scratch: &mut SparseScratch,
    y: &mut [f32],
    x: &[f32],
    w: &[f32],
    (m, n, k): (usize, usize, usize),
) -> bool {
    assert_eq!(y.len(), m * n, "sparse matmul: y must be [m={m}, n={n}]");
    assert_eq!(x.len(), m * k, "sparse matmul: x must be [m={m}, k={k}]");
    assert_eq!(w.len(), n * k, "sparse matmul: W must be [n={n}, k={k}]");
    if m == 0 || n == 0 || k == 0 {
        return true;
    }
    if !sparse_enough(x, (m, k), ROWS, 1) {
        return false;
    }
    let panels = m.div_ceil(ROWS);
    let walked = gather_panels(scratch, x, m, k);
    if walked as f64 > MAX_PANEL_DENSITY * (panels * k) as f64 {
        return false;
    }
    // Split across threads where the dense GEMM would be (its m n k, not the walked part):
    // the same products go parallel on either path.
    let parallel = threads() > 1 && m * n * k >= PARALLEL_MIN_MACS;
    pack_w_transposed(&mut scratch.packed_w, w, n, k, parallel);
    let SparseScratch {
        packed_w,
        cols,
        vals,
        starts,
        ..
    } = scratch;
    let (packed_w, cols, vals, starts) = (&packed_w[..], &cols[..], &vals[..], &starts[..]);
    let run = |(p, y_panel): (usize, &mut [f32])| {
        let (c0, c1) = (starts[p], starts[p + 1]);
        panel_product_at_level(
            level,
            y_panel,
            &cols[c0..c1],
            &vals[c0 * ROWS..c1 * ROWS],
            packed_w,
            n,
            k,
        );
    };
    for_each_chunk(y, ROWS * n, parallel, run);
    true
}

/// Whether the first [`DENSITY_ROWS`] rows of `x [m, k]` have at most [`MAX_DENSITY`] of
/// their entries nonzero and, cut into groups of `group` columns, at most
/// [`MAX_PANEL_DENSITY`] of their (`rows` rows, group) pairs with a nonzero: the forward
/// product's panels (`rows` = [`ROWS`], `group` = 1) or the gradient's blocks (1, its block).
/// Read from the first rows only (a count over all of x cost a quarter of the gathering), it
/// sends a dense input, or hidden activations whose panels would walk most columns, on to the
/// GEMM before any gathering. `!= 0.0` counts a NaN as nonzero, so it is multiplied in and
/// shows in the output.
pub(crate) fn sparse_enough(x: &[f32], (m, k): (usize, usize), rows: usize, group: usize) -> bool {
    let head = &x[..m.min(DENSITY_ROWS) * k];
    let nonzero = head.iter().filter(|v| **v != 0.0).count();
    if nonzero as f64 > MAX_DENSITY * head.len() as f64 {
        return false;
    }
    let (mut pairs, mut kept) = (0, 0);
    for panel in head.chunks(rows * k) {
        for c0 in (0..k).step_by(group) {
            let width = group.min(k - c0);
            pairs += 1;
            kept += panel
                .chunks_exact(k)
                .any(|row| row[c0..c0 + width].iter().any(|&v| v != 0.0))
                as usize;
        }
    }
    kept as f64 <= MAX_PANEL_DENSITY * pairs as f64
}

/// Fills `scratch.cols`, `vals` and `starts` for the panels of x; returns how many columns
/// they walk in all.
fn gather_panels(scratch: &mut SparseScratch, x: &[f32], m: usize, k: usize) -> usize {
    let SparseScratch {
        cols,
        vals,
        starts,
        panel_t,
        ..
    } = scratch;
    let panels = m.div_ceil(ROWS);
    // Room for every column of every panel (grown once: a resize after cutting to what was
    // walked refilled ~60% of it with zeros at every call); `starts` says what was written.
    let cols = prefix(cols, panels * k);
    let vals = prefix(vals, panels * k * ROWS);
    let panel_t = prefix(panel_t, k * ROWS);
    starts.clear();
    starts.push(0);
    let mut walked = 0;
    for panel in x.chunks(ROWS * k) {
        if panel.len() < ROWS * k {
            // A short last panel: its missing rows are zeros.
            panel_t.iter_mut().for_each(|v| *v = 0.0);
        }
        // The panel transposed, [k][ROWS]: each column's values side by side.
        for (r, row) in panel.chunks_exact(k).enumerate() {
            for (column, &v) in panel_t.chunks_exact_mut(ROWS).zip(row) {
                column[r] = v;
            }
        }
        // Branch-free compaction: every column is written at the next free place, and the
        // place advances only past a walked one (a branch per column mispredicts about half
        // the time on MNIST, whose panels walk 42% of the columns).
        for (c, column) in panel_t.chunks_exact(ROWS).enumerate() {
            cols[walked] = c as u32;
            vals[walked * ROWS..][..ROWS].copy_from_slice(column);
            walked += column.iter().fold(false, |any, &v| any | (v != 0.0)) as usize;
        }
        starts.push(walked);
    }
    walked
}

/// `packed[t][c][l] = W[t * LANES + l][c]`, zero for units past `n`.
fn pack_w_transposed(packed: &mut Vec<f32>, w: &[f32], n: usize, k: usize, parallel: bool) {
    let tiles = n.div_ceil(LANES);
    packed.resize(tiles * k * LANES, 0.0);
    let pack = |(t, tile): (usize, &mut [f32])| {
        // The tile's units' rows of W, read side by side, one column at a time: each column
        // of the tile is one contiguous store (a unit past n reads a row of zeros).
        let zeros = [0.0f32; 0];
        let rows: [&[f32]; LANES] = std::array::from_fn(|l| {
            let unit = t * LANES + l;
            if unit < n {
                &w[unit * k..(unit + 1) * k]
            } else {
                &zeros[..]
            }
        });
        for (c, column) in tile.chunks_exact_mut(LANES).enumerate() {
            for (dst, row) in column.iter_mut().zip(&rows) {
                *dst = row.get(c).copied().unwrap_or(0.0);
            }
        }
    };
    for_each_chunk(&mut packed[..tiles * k * LANES], k * LANES, parallel, pack);
}

simd_kernel! {
    /// One panel's rows of y, with the widest SIMD the CPU has (unused: the level is chosen
    /// once per product, by `matmul_sparse_x`).
    #[allow(dead_code)]
    fn panel_product / panel_product_at_level(
        y: &mut [f32],
        cols: &[u32],
        vals: &[f32],
        packed_w: &[f32],
        n: usize,
        k: usize,
    ) = fused_panel, portable = portable_panel;
}

/// The x86 SIMD levels, which have FMA.
#[inline(always)]
#[cfg_attr(not(x86_simd), allow(dead_code))] // no x86 levels in a portable build
fn fused_panel(y: &mut [f32], cols: &[u32], vals: &[f32], w: &[f32], n: usize, k: usize) {
    panel_body::<true>(y, cols, vals, w, n, k)
}

/// The portable level: fused multiply-adds where the target has them in its baseline (ARM),
/// a multiply and an add on x86 without FMA (where `mul_add` would be a software call).
#[inline(always)]
fn portable_panel(y: &mut [f32], cols: &[u32], vals: &[f32], w: &[f32], n: usize, k: usize) {
    panel_body::<{ !cfg!(target_arch = "x86_64") }>(y, cols, vals, w, n, k)
}

/// `y[r][t * LANES + l] += sum over the panel's columns c of vals[c][r] * W^T[c][t*LANES + l]`,
/// one tile of accumulators at a time, in the columns' (ascending) order.
#[inline(always)]
fn panel_body<const FUSED: bool>(
    y: &mut [f32],
    cols: &[u32],
    vals: &[f32],
    packed_w: &[f32],
    n: usize,
    k: usize,
) {
    let rows = y.len() / n;
    // What makes the unchecked reads below sound: every column is inside a tile, and there is
    // a value for each row of each column. (A checked read in the loop keeps the compiler from
    // holding the accumulators in registers: it stored all twelve at every column.)
    assert!(
        cols.iter().all(|&c| (c as usize) < k),
        "sparse matmul: column out of range"
    );
    assert_eq!(
        vals.len(),
        cols.len() * ROWS,
        "sparse matmul: values per column"
    );
    for (t, tile) in packed_w.chunks_exact(k * LANES).enumerate() {
        let mut acc = [[0.0f32; LANES]; ROWS];
        for (&c, v) in cols.iter().zip(vals.chunks_exact(ROWS)) {
            // SAFETY: c < k (asserted above) and the tile holds k * LANES values.
            let wc = unsafe { &*tile.as_ptr().add(c as usize * LANES).cast::<[f32; LANES]>() };
            outer_add::<FUSED, ROWS, LANES>(&mut acc, v, wc);
        }
        let (j0, width) = (t * LANES, LANES.min(n - t * LANES));
        add_tile(y, (n, j0), (rows, width), &acc);
    }
}

/// `acc[r][l] += a[r] * b[l]`: one column's outer product into a tile of accumulators, fused
/// or not (the inner step of both sparse kernels).
#[inline(always)]
pub(crate) fn outer_add<const FUSED: bool, const R: usize, const L: usize>(
    acc: &mut [[f32; L]; R],
    a: &[f32],
    b: &[f32],
) {
    for (acc_r, &a) in acc.iter_mut().zip(a) {
        for (s, &b) in acc_r.iter_mut().zip(b) {
            *s = if FUSED { a.mul_add(b, *s) } else { a * b + *s };
        }
    }
}

/// `dst[r * stride + offset + l] += acc[r][l]` for the first `rows` rows and `width` lanes:
/// a finished tile into a row-major matrix.
#[inline(always)]
pub(crate) fn add_tile<const R: usize, const L: usize>(
    dst: &mut [f32],
    (stride, offset): (usize, usize),
    (rows, width): (usize, usize),
    acc: &[[f32; L]; R],
) {
    for (r, acc_r) in acc.iter().enumerate().take(rows) {
        for (d, s) in dst[r * stride + offset..][..width].iter_mut().zip(acc_r) {
            *d += s;
        }
    }
}

#[cfg(test)]
#[path = "sparse_tests.rs"]
mod tests;

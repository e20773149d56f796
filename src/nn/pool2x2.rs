//! The 2x2 max-pool kernel (window 2, stride 2) of the paper's CNNs, on one plane at a time.
//!
//! Each output row reads two input rows; its maxima and their offsets are found by scanning
//! each window in row-major order with [`first_max`]'s rule (a strictly larger value or a NaN
//! replaces the running maximum, as in PyTorch). The pooled rows are short (12 and 4 outputs
//! in the MNIST CNN), too short for the compiler's vectorised loop to start, so with AVX-512
//! one row is a single pass of 16 lanes: masked loads of the two input rows, a permute that
//! splits even and odd columns, three compare-and-blend steps, masked stores. With AVX2 the
//! same in passes of 8 lanes (a shuffle and a 64-bit permute split the columns). Other CPUs
//! run the portable body, which the tests check both kernels against.

#[cfg(test)]
use super::pool::first_max;
use crate::base::simd::Level;

/// Pools a plane whose rows lie `row_stride` values apart in `x`: `y` (`[y.len() / out_w,
/// out_w]`) gets the maximum of `x + bias` over each 2x2 window, `arg` its offset in `x`.
pub(crate) fn pool_plane(
    x: &[f32],
    row_stride: usize,
    out_w: usize,
    bias: f32,
    y: &mut [f32],
    arg: &mut [u32],
) {
    pool_plane_at_level(Level::detected(), x, row_stride, out_w, bias, y, arg)
}

/// [`pool_plane`] with the kernel of `level`.
///
/// # Panics
/// If the CPU lacks `level`, or `y` and `arg` differ in length.
fn pool_plane_at_level(
    level: Level,
    x: &[f32],
    row_stride: usize,
    out_w: usize,
    bias: f32,
    y: &mut [f32],
    arg: &mut [u32],
) {
    assert_eq!(
        y.len(),
        arg.len(),
        "2x2 pool: outputs and argmax differ in length"
    );
    assert!(
        u32::try_from(x.len()).is_ok(),
        "2x2 pool: plane too large for u32 offsets"
    );
    assert!(
        level <= Level::detected(),
        "2x2 pool: the CPU lacks {level:?}"
    );
    match level {
        // SAFETY: the CPU has the features the function enables (checked above).
        #[cfg(x86_simd)]
        Level::Avx512 => unsafe { plane_avx512(x, row_stride, out_w, bias, y, arg) },
        // SAFETY: as above.
        #[cfg(x86_simd)]
        Level::Avx2 => unsafe { plane_avx2(x, row_stride, out_w, bias, y, arg) },
        _ => for_each_row(x, row_stride, out_w, y, arg, |rows, y, arg| {
            row_portable(rows, bias, y, arg)
        }),
    }
}

/// The two input rows of one output row: `top` (at offset `base` of the plane) and
/// `bottom` (`stride` values later), each `2 * out_w` long.
struct RowPair<'a> {
    top: &'a [f32],
    bottom: &'a [f32],
    base: u32,
    stride: u32,
}

/// Calls `row` for each output row of the plane with its input rows.
#[inline(always)]
fn for_each_row(
    x: &[f32],
    row_stride: usize,
    out_w: usize,
    y: &mut [f32],
    arg: &mut [u32],
    mut row: impl FnMut(RowPair, &mut [f32], &mut [u32]),
) {
    let rows = y.chunks_exact_mut(out_w).zip(arg.chunks_exact_mut(out_w));
    for (i, (y, arg)) in rows.enumerate() {
        let first = 2 * i * row_stride;
        let pair = RowPair {
            top: &x[first..][..2 * out_w],
            bottom: &x[first + row_stride..][..2 * out_w],
            base: first as u32,
            stride: row_stride as u32,
        };
        row(pair, y, arg);
    }
}

/// One output row, portable: the row-major scan of each window as selects on comparisons.
fn row_portable(rows: RowPair, bias: f32, y: &mut [f32], arg: &mut [u32]) {
    for (j, (yv, av)) in y.iter_mut().zip(arg.iter_mut()).enumerate() {
        let (top, bottom) = (&rows.top[2 * j..][..2], &rows.bottom[2 * j..][..2]);
        let (mut best, mut at) = (top[0] + bias, 0);
        for (v, offset) in [
            (top[1], 1),
            (bottom[0], rows.stride),
            (bottom[1], rows.stride + 1),
        ] {
            let v = v + bias;
            let take = v > best || v.is_nan();
            best = if take { v } else { best };
            at = if take { offset } else { at };
        }
        *yv = best;
        *av = rows.base + 2 * j as u32 + at;
    }
}

#[cfg(x86_simd)]
#[target_feature(enable = "avx512f")]
fn plane_avx512(
    x: &[f32],
    row_stride: usize,
    out_w: usize,
    bias: f32,
    y: &mut [f32],
    arg: &mut [u32],
) {
    // The closure inherits this function's target features, so it may call the row kernel.
    for_each_row(x, row_stride, out_w, y, arg, |rows, y, arg| {
        row_avx512(rows, bias, y, arg)
    })
}

/// One output row, 16 outputs per pass (the last pass masked).
#[cfg(x86_simd)]
#[target_feature(enable = "avx512f")]
fn row_avx512(rows: RowPair, bias: f32, y: &mut [f32], arg: &mut [u32]) {
    use std::arch::x86_64::*;
    let n = y.len();
    assert!(rows.top.len() >= 2 * n && rows.bottom.len() >= 2 * n && arg.len() == n);
    let mask = |count: usize| -> __mmask16 { ((1u32 << count.min(16)) - 1) as __mmask16 };
    // Lane l of the pair (lo, hi) of loaded vectors holds input column 2 l (even) or 2 l + 1.
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    let bias = _mm512_set1_ps(bias);
    let offsets = [
        _mm512_set1_epi32(1),
        _mm512_set1_epi32(rows.stride as i32),
        _mm512_set1_epi32(rows.stride as i32 + 1),
    ];
    let mut j = 0;
    while j < n {
        let (outputs, inputs) = (mask(n - j), 2 * (n - j));
        let (lo, hi) = (mask(inputs), mask(inputs.saturating_sub(16)));
        // SAFETY: the masked loads touch only lanes below `inputs`, i.e. indices
        // 2j .. 2n of rows that are at least 2n long; masked-off lanes are not read (nor
        // can they fault), so the wrapping pointer past the end is never dereferenced.
        let load = |row: &[f32]| unsafe {
            let p = row.as_ptr().wrapping_add(2 * j);
            let (a, b) = (
                _mm512_maskz_loadu_ps(lo, p),
                _mm512_maskz_loadu_ps(hi, p.wrapping_add(16)),
            );
            (
                _mm512_add_ps(_mm512_permutex2var_ps(a, even, b), bias),
                _mm512_add_ps(_mm512_permutex2var_ps(a, odd, b), bias),
            )
        };
        let ((a, b), (c, d)) = (load(rows.top), load(rows.bottom));
        let (mut best, mut at) = (a, _mm512_setzero_si512());
        for (v, offset) in [b, c, d].into_iter().zip(offsets) {
            let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best)
                | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
            best = _mm512_mask_blend_ps(take, best, v);
            at = _mm512_mask_blend_epi32(take, at, offset);
        }
        let first = _mm512_set1_epi32((rows.base + 2 * j as u32) as i32);
        let index = _mm512_add_epi32(_mm512_add_epi32(first, even), at);
        // SAFETY: the masked stores write only lanes below n - j, inside y[j..] and arg[j..].
        unsafe {
            _mm512_mask_storeu_ps(y.as_mut_ptr().add(j), outputs, best);
            _mm512_mask_storeu_epi32(arg.as_mut_ptr().add(j).cast(), outputs, index);
        }
        j += 16;
    }
}

#[cfg(x86_simd)]
#[target_feature(enable = "avx2,fma")]
fn plane_avx2(
    x: &[f32],
    row_stride: usize,
    out_w: usize,
    bias: f32,
    y: &mut [f32],
    arg: &mut [u32],
) {
    // The closure inherits this function's target features, so it may call the row kernel.
    for_each_row(x, row_stride, out_w, y, arg, |rows, y, arg| {
        row_avx2(rows, bias, y, arg)
    })
}

/// One output row, 8 outputs per pass (the last pass masked): the AVX2 form of
/// [`row_avx512`].
#[cfg(x86_simd)]
#[target_feature(enable = "avx2,fma")]
fn row_avx2(rows: RowPair, bias: f32, y: &mut [f32], arg: &mut [u32]) {
    use std::arch::x86_64::*;
    let n = y.len();
    assert!(rows.top.len() >= 2 * n && rows.bottom.len() >= 2 * n && arg.len() == n);
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    // Lanes below `count` (at most 8) set: the mask of maskload and maskstore.
    let mask = |count: usize| _mm256_cmpgt_epi32(_mm256_set1_epi32(count.min(8) as i32), lanes);
    let even = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    let bias = _mm256_set1_ps(bias);
    let offsets = [
        _mm256_set1_epi32(1),
        _mm256_set1_epi32(rows.stride as i32),
        _mm256_set1_epi32(rows.stride as i32 + 1),
    ];
    let mut j = 0;
    while j < n {
        let (outputs, inputs) = (mask(n - j), 2 * (n - j));
        let (lo, hi) = (mask(inputs), mask(inputs.saturating_sub(8)));
        // SAFETY: the masked loads read only lanes below `inputs`, i.e. indices 2j .. 2n of
        // rows that are at least 2n long; masked-off lanes are neither read nor can they
        // fault, so the wrapping pointer past the end is never dereferenced.
        let load = |row: &[f32]| unsafe {
            let p = row.as_ptr().wrapping_add(2 * j);
            let (a, b) = (
                _mm256_maskload_ps(p, lo),
                _mm256_maskload_ps(p.wrapping_add(8), hi),
            );
            // Per 128-bit half: (a0 a2 b0 b2 | a4 a6 b4 b6); the 64-bit permute (0 2 1 3)
            // puts the columns in order: a0 a2 a4 a6 b0 b2 b4 b6 (and the odd ones alike).
            let order = |v: __m256| {
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
            };
            (
                _mm256_add_ps(order(_mm256_shuffle_ps::<0b10_00_10_00>(a, b)), bias),
                _mm256_add_ps(order(_mm256_shuffle_ps::<0b11_01_11_01>(a, b)), bias),
            )
        };
        let ((a, b), (c, d)) = (load(rows.top), load(rows.bottom));
        let (mut best, mut at) = (a, _mm256_setzero_ps());
        for (v, offset) in [b, c, d].into_iter().zip(offsets) {
            let take = _mm256_or_ps(
                _mm256_cmp_ps::<_CMP_GT_OQ>(v, best),
                _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
            );
            best = _mm256_blendv_ps(best, v, take);
            at = _mm256_blendv_ps(at, _mm256_castsi256_ps(offset), take);
        }
        let first = _mm256_set1_epi32((rows.base + 2 * j as u32) as i32);
        let index = _mm256_add_epi32(_mm256_add_epi32(first, even), _mm256_castps_si256(at));
        // SAFETY: the masked stores write only lanes below n - j, inside y[j..] and arg[j..].
        unsafe {
            _mm256_maskstore_ps(y.as_mut_ptr().add(j), outputs, best);
            _mm256_maskstore_epi32(arg.as_mut_ptr().add(j).cast(), outputs, index);
        }
        j += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::random_vec;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// Direct scan of each window with [`first_max`] (the rule of the generic k x k path).
    fn reference(
        x: &[f32],
        row_stride: usize,
        out_w: usize,
        rows: usize,
        bias: f32,
    ) -> Vec<(f32, u32)> {
        let mut out = Vec::new();
        for i in 0..rows {
            for j in 0..out_w {
                let first = 2 * i * row_stride + 2 * j;
                let mut best = (x[first] + bias, first);
                for at in [first + 1, first + row_stride, first + row_stride + 1] {
                    best = first_max(best, (x[at] + bias, at));
                }
                out.push((best.0, best.1 as u32));
            }
        }
        out
    }

    /// Random planes with ties (values from a small set), NaNs and infinities, for row
    /// lengths around the 8- and 16-lane passes (1..=40 outputs: up to 5 passes with every
    /// mask), odd and even row strides with unused columns, through the kernel of every
    /// level the CPU has (portable, AVX2, AVX-512) and the dispatched one.
    #[test]
    fn kernels_match_the_row_major_scan() {
        let mut rng = SmallRng::seed_from_u64(33);
        let mut checked = 0;
        for out_w in 1..=40 {
            for extra in [0, 1, 3] {
                let (row_stride, rows) = (2 * out_w + extra, 3);
                let mut x = random_vec(&mut rng, (2 * rows + 1) * row_stride, -1.0, 1.0);
                for v in x.iter_mut() {
                    match rng.random_range(0..20) {
                        0 => *v = f32::NAN,
                        1 => *v = f32::INFINITY,
                        2 => *v = f32::NEG_INFINITY,
                        3..=9 => *v = (*v * 2.0).round(), // ties
                        _ => {}
                    }
                }
                let bias = rng.random_range(-1.0..1.0);
                let want = reference(&x, row_stride, out_w, rows, bias);
                let mut outputs = Vec::new();
                let run = |level: Option<Level>| {
                    let mut y = vec![0f32; rows * out_w];
                    let mut arg = vec![u32::MAX; rows * out_w];
                    match level {
                        Some(l) => {
                            pool_plane_at_level(l, &x, row_stride, out_w, bias, &mut y, &mut arg)
                        }
                        None => pool_plane(&x, row_stride, out_w, bias, &mut y, &mut arg),
                    }
                    (y, arg)
                };
                outputs.push(run(None));
                outputs.extend(Level::available().map(|l| run(Some(l))));
                for (got, arg) in &outputs {
                    for (i, &(v, a)) in want.iter().enumerate() {
                        assert_eq!(arg[i], a, "w {out_w} stride {row_stride} output {i}");
                        assert!(
                            got[i].to_bits() == v.to_bits() || (got[i].is_nan() && v.is_nan()),
                            "w {out_w} output {i}: {} vs {v}",
                            got[i]
                        );
                        checked += 1;
                    }
                }
            }
        }
        let kernels = 1 + Level::available().count();
        assert_eq!(checked, kernels * 3 * 3 * (1..=40).sum::<usize>());
    }
}

//! A counter-based standard-normal generator: the xi ~ N(0, I) of the SGLD step (Eq. 7), and
//! any other Gaussian noise the engine needs.
//!
//! Value `i` of the stream with key `k` is a pure function of `(k, i)`, so a buffer can be filled
//! in any number of pieces, in any order, by any number of threads, and come out bit-identical.
//! Values are made in blocks of [`BLOCK`] = 32: block `b` holds the Box-Muller pairs
//! `16 b .. 16 b + 16`, the 16 cosine halves first, then the 16 sine halves. Pair `p` is
//! drawn from one 64-bit word `SplitMix64(k + (p + 1) * golden)` (Steele, Lea & Flood, "Fast
//! splittable pseudorandom number generators", OOPSLA 2014; the finaliser is Stafford's
//! "Mix13"), whose high 32 bits give the radius uniform `u1` in (0, 1] and whose top 24 low
//! bits give the angle uniform `u2` in [0, 1). The radius `sqrt(-2 ln u1)` and the angle
//! `2 pi u2` use branch-free f32 polynomials (Cephes `logf`, `sinf`, `cosf`, by S. L. Moshier)
//! that the compiler vectorises; wider SIMD versions of the same body are chosen at run time.
//! No fused multiply-add is used, so every code path gives the same bits.
//!
//! With 32 bits for `u1` the largest possible |value| is sqrt(64 ln 2) = 6.66: the tails
//! beyond are cut (mass 2.7e-11), which is harmless for SGLD noise.

use rayon::prelude::*;

use super::simd::simd_kernel;

/// Values per block: 16 Box-Muller pairs, stored as 16 cosine then 16 sine values.
pub const BLOCK: usize = 32;
const PAIRS: usize = BLOCK / 2;

/// The golden-ratio increment of SplitMix64's Weyl sequence.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Chunk length of [`GaussianStream::fill_par`]'s parallel split (a multiple of [`BLOCK`]).
const PAR_CHUNK: usize = 16 * 1024;

/// SplitMix64's finaliser (Stafford's Mix13): a bijective 64-bit mixer.
#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream key derived from a user seed.
pub fn key_from_seed(seed: u64) -> u64 {
    mix64(seed ^ 0x6A09_E667_F3BC_C909)
}

/// Natural log of `x` in [2^-32, 1] (positive, normal): Cephes `logf`. The mantissa is reduced
/// to [sqrt(1/2), sqrt(2)), ln(1 + t) is a degree-9 polynomial in t, and e ln 2 is added in two
/// parts. Relative error about 1e-7 (tested against f64 `ln`).
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn ln_approx(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits();
    // x = m * 2^e with m in [0.5, 1).
    let e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let small = m < SQRT_HALF;
    let e = (e - small as i32) as f32;
    let t = if small { m + m } else { m } - 1.0;
    let z = t * t;
    let mut p = 7.037_683_629_2e-2_f32;
    p = p * t - 1.151_461_031_0e-1;
    p = p * t + 1.167_699_874_0e-1;
    p = p * t - 1.242_014_084_6e-1;
    p = p * t + 1.424_932_278_7e-1;
    p = p * t - 1.666_805_766_5e-1;
    p = p * t + 2.000_071_476_5e-1;
    p = p * t - 2.499_999_399_3e-1;
    p = p * t + 3.333_333_117_4e-1;
    let mut y = p * t * z;
    y += -2.121_944_40e-4 * e;
    y += -0.5 * z;
    t + y + 0.693_359_375 * e
}

/// (sin, cos) of `pi/2 * f` for f in [-1/2, 1/2]: Cephes `sinf`/`cosf` polynomials on
/// [-pi/4, pi/4]. Absolute error about 1e-7.
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn sincos_octant(f: f32) -> (f32, f32) {
    let x = f * std::f32::consts::FRAC_PI_2;
    let z = x * x;
    let s = ((-1.951_529_589_1e-4 * z + 8.332_160_873_6e-3) * z - 1.666_665_461_1e-1) * z * x + x;
    let c = ((2.443_315_711_809_948e-5 * z - 1.388_731_625_493_765e-3) * z
        + 4.166_664_568_298_827e-2)
        * z
        * z
        - 0.5 * z
        + 1.0;
    (s, c)
}

/// The radius uniform u1 in (0, 1] of a pair's word: its high 31 bits (below the top one),
/// offset by half a step so that it is never 0.
#[inline(always)]
fn radius_uniform(h: u64) -> f32 {
    const TWO_POW_M31: f32 = 1.0 / 2_147_483_648.0;
    (((h >> 33) as i32) as f32 + 0.5) * TWO_POW_M31
}

/// The angle's 24-bit integer n (angle 2 pi n / 2^24) of a pair's word: bits 8..32.
#[inline(always)]
fn angle_bits(h: u64) -> i32 {
    ((h as u32) >> 8) as i32
}

/// The radius sqrt(-2 ln u1).
#[inline(always)]
fn radius(u1: f32) -> f32 {
    (-2.0 * ln_approx(u1)).sqrt()
}

/// (cos, sin) of the angle 2 pi n / 2^24, scaled by `r`.
#[inline(always)]
fn rotate(r: f32, n: i32) -> (f32, f32) {
    const TWO_POW_M22: f32 = 1.0 / 4_194_304.0;
    // Split n = q 2^22 + f 2^22, q = round(n / 2^22) in 0..=4 (the quadrant) and f in
    // [-1/2, 1/2); all in integers, so exact.
    let q = (n + (1 << 21)) >> 22;
    let f = (n - (q << 22)) as f32 * TWO_POW_M22;
    let (s, c) = sincos_octant(f);
    // Rotate by q quarter turns: q odd swaps sin and cos; the signs follow the quadrant.
    let swap = 0u32.wrapping_sub((q & 1) as u32);
    let (sb, cb) = (s.to_bits(), c.to_bits());
    let cos_bits = (sb & swap) | (cb & !swap);
    let sin_bits = (cb & swap) | (sb & !swap);
    let cos_sign = (((q + 1) & 2) as u32) << 30;
    let sin_sign = ((q & 2) as u32) << 30;
    (
        r * f32::from_bits(cos_bits ^ cos_sign),
        r * f32::from_bits(sin_bits ^ sin_sign),
    )
}

/// Box-Muller on one 64-bit word: the pair (r cos a, r sin a).
#[cfg(test)]
#[inline(always)]
fn box_muller(h: u64) -> (f32, f32) {
    rotate(radius(radius_uniform(h)), angle_bits(h))
}

/// Blocks filled together: each pass of [`fill_blocks_body`] runs over this many blocks' pairs,
/// so that the long dependency chains of the polynomials (18 dependent operations in `ln`)
/// have enough independent vectors in flight to fill the pipelines (with 8 AVX2 lanes, one
/// block is only two vectors).
const GROUP: usize = 2;
const GROUP_PAIRS: usize = GROUP * PAIRS;

/// `j * golden` for the pairs of a group: the Weyl sums of a group's pairs are its first
/// pair's plus these (additions instead of a 64-bit multiply per pair, which AVX2 lacks).
const PAIR_STEPS: [u64; GROUP_PAIRS] = {
    let mut steps = [0u64; GROUP_PAIRS];
    let mut j = 0;
    while j < GROUP_PAIRS {
        steps[j] = (j as u64).wrapping_mul(GOLDEN);
        j += 1;
    }
    steps
};

/// Fills whole blocks: `out.len()` is a multiple of [`BLOCK`], starting at block `first_block`.
/// [`GROUP`] blocks at a time (then one at a time for the rest), in three passes over their
/// pairs (the words and their uniforms, the radii, the rotations), so that each pass keeps its
/// few constants in registers and runs many independent vectors; the arithmetic of every value
/// is that of the tests' `box_muller` on `mix64(key + (p + 1) golden)`, bit for bit.
#[inline(always)]
fn fill_blocks_body(key: u64, first_block: u64, out: &mut [f32]) {
    assert_eq!(out.len() % BLOCK, 0, "whole blocks only");
    let weyl = |block: usize| {
        let first_pair = (first_block + block as u64) * PAIRS as u64;
        key.wrapping_add((first_pair + 1).wrapping_mul(GOLDEN))
    };
    let done = out.len() / (GROUP * BLOCK) * GROUP;
    let mut groups = out.chunks_exact_mut(GROUP * BLOCK);
    for (g, group) in groups.by_ref().enumerate() {
        fill_pairs::<GROUP_PAIRS>(weyl(g * GROUP), group);
    }
    for (b, block) in groups.into_remainder().chunks_exact_mut(BLOCK).enumerate() {
        fill_pairs::<PAIRS>(weyl(done + b), block);
    }
}

/// `P` consecutive pairs (whole blocks: `out.len() = 2 P`), the first drawn from Weyl sum
/// `weyl`.
#[inline(always)]
fn fill_pairs<const P: usize>(weyl: u64, out: &mut [f32]) {
    let mut r = [0.0f32; P];
    let mut n = [0i32; P];
    for j in 0..P {
        let h = mix64(weyl.wrapping_add(PAIR_STEPS[j]));
        r[j] = radius_uniform(h);
        n[j] = angle_bits(h);
    }
    for r in &mut r {
        *r = radius(*r);
    }
    for ((block, r), n) in out
        .chunks_exact_mut(BLOCK)
        .zip(r.chunks_exact(PAIRS))
        .zip(n.chunks_exact(PAIRS))
    {
        let (cos_half, sin_half) = block.split_at_mut(PAIRS);
        for l in 0..PAIRS {
            let (c, s) = rotate(r[l], n[l]);
            cos_half[l] = c;
            sin_half[l] = s;
        }
    }
}

/// Values `start .. start + out.len()` of stream `key`, any alignment.
#[inline(always)]
pub(crate) fn fill_at_body(key: u64, start: u64, out: &mut [f32]) {
    let mut pos = start;
    let mut rest = out;
    let head = (pos % BLOCK as u64) as usize;
    if head != 0 && !rest.is_empty() {
        let mut tmp = [0.0f32; BLOCK];
        fill_blocks_body(key, pos / BLOCK as u64, &mut tmp);
        let n = (BLOCK - head).min(rest.len());
        rest[..n].copy_from_slice(&tmp[head..head + n]);
        rest = &mut rest[n..];
        pos += n as u64;
    }
    let whole = rest.len() / BLOCK * BLOCK;
    let (body, tail) = rest.split_at_mut(whole);
    fill_blocks_body(key, pos / BLOCK as u64, body);
    pos += whole as u64;
    if !tail.is_empty() {
        let mut tmp = [0.0f32; BLOCK];
        fill_blocks_body(key, pos / BLOCK as u64, &mut tmp);
        let n = tail.len();
        tail.copy_from_slice(&tmp[..n]);
    }
}

simd_kernel! {
    /// Writes values `start .. start + out.len()` of the standard-normal stream with key `key`.
    /// The result depends only on `(key, start + j)` for each `out[j]`: any split of a range
    /// into pieces gives the same values as one call.
    pub fn fill_at / fill_at_level(key: u64, start: u64, out: &mut [f32]) = fill_at_body;
}

/// Value `index` of the stream with key `key` (one value; for tests and spot checks).
pub fn normal_at(key: u64, index: u64) -> f32 {
    let mut one = [0.0f32];
    fill_at(key, index, &mut one);
    one[0]
}

/// A seeded standard-normal stream: a key and a position that every fill advances. The two
/// numbers are its whole state (serialisable, to resume a run exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GaussianStream {
    key: u64,
    position: u64,
}

impl GaussianStream {
    /// The stream of `seed`, at position 0.
    pub fn new(seed: u64) -> Self {
        Self::from_key(key_from_seed(seed), 0)
    }

    /// A stream with an explicit key and position (to resume a saved stream).
    pub fn from_key(key: u64, position: u64) -> Self {
        GaussianStream { key, position }
    }

    /// The stream's key.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Index of the next value the stream will give.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Skips `n` values.
    pub fn advance(&mut self, n: u64) {
        self.position += n;
    }

    /// Skips to the next multiple of [`BLOCK`], so that the next fill starts on a block.
    pub fn align_to_block(&mut self) {
        self.position = self.position.next_multiple_of(BLOCK as u64);
    }

    /// Fills `out` with the next `out.len()` values.
    pub fn fill(&mut self, out: &mut [f32]) {
        fill_at(self.key, self.position, out);
        self.position += out.len() as u64;
    }

    /// Like [`fill`](Self::fill), split over rayon's threads for long buffers; the values are
    /// the same as `fill`'s whatever the number of threads.
    pub fn fill_par(&mut self, out: &mut [f32]) {
        let (key, start) = (self.key, self.position);
        out.par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| fill_at(key, start + (i * PAR_CHUNK) as u64, chunk));
        self.position += out.len() as u64;
    }
}

#[cfg(test)]
#[path = "gaussian_tests.rs"]
mod tests;

//! Tests of the Gaussian generator: the polynomial pieces against f64 `std`, the distribution
//! (moments, tail mass, Kolmogorov-Smirnov), and reproducibility under any split.

use super::*;
use crate::base::simd::Level;

/// erfc(x) in f64: Numerical Recipes in C (2nd ed., section 6.2) `erfcc`, a Chebyshev fit with
/// fractional error below 1.2e-7 everywhere.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// Standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2.
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

#[test]
fn erfc_matches_known_values() {
    // Phi(0) = 1/2, Phi(1) = 0.841344746, Phi(-3) = 0.001349898 (standard normal tables).
    assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
    assert!((normal_cdf(1.0) - 0.841_344_746).abs() < 1e-7);
    assert!((normal_cdf(-3.0) - 0.001_349_898).abs() < 1e-9);
}

#[test]
fn ln_approx_is_accurate_on_the_radius_range() {
    // Every input Box-Muller can give: (k + 1/2) 2^-31 for 31-bit k, sampled geometrically
    // and near 1. Bound: 2 f32 ulps relative (2.4e-7) plus 1e-12 absolute.
    let mut worst: f64 = 0.0;
    let mut x = 2f64.powi(-32);
    while x <= 1.0 {
        for xf in [x as f32, (1.0 - x) as f32] {
            if xf <= 0.0 {
                continue;
            }
            let got = ln_approx(xf) as f64;
            let exact = (xf as f64).ln();
            let err = (got - exact).abs() / (exact.abs() + 1e-12 / 2.4e-7);
            worst = worst.max(err);
        }
        x *= 1.000_37;
    }
    assert!(worst < 2.4e-7, "worst relative error {worst:e}");
    assert_eq!(ln_approx(1.0), 0.0);
}

#[test]
fn sincos_is_accurate_on_the_octant() {
    let mut worst: f64 = 0.0;
    for i in 0..=1_000_000 {
        let f = (i as f64 / 1e6 - 0.5) as f32;
        let (s, c) = sincos_octant(f);
        let a = f as f64 * std::f64::consts::FRAC_PI_2;
        worst = worst
            .max((s as f64 - a.sin()).abs())
            .max((c as f64 - a.cos()).abs());
    }
    assert!(worst < 2e-7, "worst absolute error {worst:e}");
}

#[test]
fn box_muller_matches_the_f64_formula_in_every_quadrant() {
    // Independent reference: u1 and u2 from the same bits, then f64 ln, sqrt, cos and sin.
    // u1 is part of the generator's definition, f32 rounding of the 31-bit integer included
    // (it sets the resolution of small radii: steps of 2^-24 in u1 near 1).
    let mut h = 0x1234_5678_9abc_def0_u64;
    for _ in 0..200_000 {
        h = mix64(h.wrapping_add(GOLDEN));
        let (c, s) = box_muller(h);
        let u1 = (((h >> 33) as f32 + 0.5) as f64) / 2f64.powi(31);
        let u2 = ((h as u32) >> 8) as f64 / 2f64.powi(24);
        let r = (-2.0 * u1.ln()).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        // f32 arithmetic: a few ulps of r (<= 6.7) and of the unit vector.
        let tol = 1e-6 * r.max(1.0);
        assert!(
            (c as f64 - r * a.cos()).abs() < tol,
            "h={h:x}: {c} vs {}",
            r * a.cos()
        );
        assert!(
            (s as f64 - r * a.sin()).abs() < tol,
            "h={h:x}: {s} vs {}",
            r * a.sin()
        );
    }
}

#[test]
fn moments_and_tail_mass_match_the_standard_normal() {
    // n = 10^7 draws. Standard errors under N(0, 1):
    //   mean:            sqrt(1 / n)                         = 3.16e-4
    //   variance:        sqrt((mu4 - sigma^4) / n) = sqrt(2/n) = 4.47e-4
    //   excess kurtosis: sqrt(24 / n)                         = 1.55e-3
    //   P(|x| > 3):      sqrt(p (1 - p) / n), p = 0.0026998  = 1.64e-5
    // Each must lie within 5 standard errors (a false alarm has probability 6e-7 per check).
    let n = 10_000_000usize;
    let mut stream = GaussianStream::new(2020);
    let mut buf = vec![0.0f32; 1 << 20];
    let (mut s1, mut s2, mut s3, mut s4, mut tail) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0usize);
    let mut left = n;
    while left > 0 {
        let m = left.min(buf.len());
        stream.fill(&mut buf[..m]);
        for &x in &buf[..m] {
            let x = x as f64;
            let x2 = x * x;
            s1 += x;
            s2 += x2;
            s3 += x2 * x;
            s4 += x2 * x2;
            tail += (x.abs() > 3.0) as usize;
        }
        left -= m;
    }
    let nf = n as f64;
    let mean = s1 / nf;
    let var = s2 / nf - mean * mean;
    // Central fourth moment from raw moments.
    let m4 = s4 / nf - 4.0 * mean * s3 / nf + 6.0 * mean * mean * s2 / nf - 3.0 * mean.powi(4);
    let excess_kurtosis = m4 / (var * var) - 3.0;
    let p3 = 0.002_699_796;
    let tail_mass = tail as f64 / nf;
    let checks = [
        ("mean", mean, 0.0, (1.0 / nf).sqrt()),
        ("variance", var, 1.0, (2.0 / nf).sqrt()),
        ("excess kurtosis", excess_kurtosis, 0.0, (24.0 / nf).sqrt()),
        ("P(|x|>3)", tail_mass, p3, (p3 * (1.0 - p3) / nf).sqrt()),
    ];
    for (name, got, want, se) in checks {
        assert!(
            (got - want).abs() < 5.0 * se,
            "{name}: {got} vs {want} (se {se:e})"
        );
    }
}

#[test]
fn kolmogorov_smirnov_below_the_one_percent_critical_value() {
    // D_n = sup |F_n(x) - Phi(x)| on n = 10^6 draws; the asymptotic 1% critical value of the
    // one-sample test is 1.628 / sqrt(n) = 1.628e-3.
    let n = 1_000_000;
    let mut xs = vec![0.0f32; n];
    GaussianStream::new(7).fill(&mut xs);
    let mut xs: Vec<f64> = xs.into_iter().map(f64::from).collect();
    xs.sort_by(f64::total_cmp);
    let nf = n as f64;
    let d = xs
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = normal_cdf(x);
            (f - i as f64 / nf).max((i + 1) as f64 / nf - f)
        })
        .fold(0.0, f64::max);
    assert!(d < 1.628 / nf.sqrt(), "KS statistic {d}");
}

#[test]
fn neighbours_are_uncorrelated() {
    // Lag-1 and lag-16 (the cosine/sine partner) sample correlations of 10^6 draws; each has
    // standard error 1/sqrt(n) = 1e-3 under independence; bound 5e-3.
    let n = 1_000_000;
    let mut xs = vec![0.0f32; n + 16];
    GaussianStream::new(99).fill(&mut xs);
    for lag in [1, 16] {
        let c: f64 = (0..n)
            .map(|i| xs[i] as f64 * xs[i + lag] as f64)
            .sum::<f64>()
            / n as f64;
        assert!(c.abs() < 5e-3, "lag {lag}: correlation {c}");
    }
}

#[test]
fn same_seed_same_values_and_different_seeds_differ() {
    let (mut a, mut b, mut c) = (vec![0.0f32; 1000], vec![0.0f32; 1000], vec![0.0f32; 1000]);
    GaussianStream::new(1).fill(&mut a);
    GaussianStream::new(1).fill(&mut b);
    GaussianStream::new(2).fill(&mut c);
    assert_eq!(a, b);
    let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
    assert_eq!(same, 0, "seeds 1 and 2 share {same} values");
    // Successive fills continue the stream rather than repeat it.
    let mut s = GaussianStream::new(1);
    s.fill(&mut b[..500]);
    s.fill(&mut c[..500]);
    assert_eq!(&c[..500], &a[500..]);
}

#[test]
fn split_and_parallel_fills_equal_one_fill() {
    let n = 100_003;
    let mut one = vec![0.0f32; n];
    GaussianStream::from_key(42, 5).fill(&mut one);

    // Odd-sized pieces at odd offsets.
    let mut pieces = vec![0.0f32; n];
    let mut s = GaussianStream::from_key(42, 5);
    let mut at = 0;
    for len in [1, 31, 32, 33, 7, 1000, 5].into_iter().cycle() {
        let end = (at + len).min(n);
        s.fill(&mut pieces[at..end]);
        at = end;
        if at == n {
            break;
        }
    }
    assert_eq!(one, pieces);
    assert_eq!(s.position(), 5 + n as u64);

    // Parallel fills under pools of 1, 2 and 3 threads.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut par = vec![0.0f32; n];
        let mut s = GaussianStream::from_key(42, 5);
        pool.install(|| s.fill_par(&mut par));
        assert_eq!(one, par, "{threads} threads");
        assert_eq!(s.position(), 5 + n as u64);
    }

    // Single values agree with the bulk fill.
    for i in [0usize, 1, 26, 27, 31, 32, 99_999] {
        assert_eq!(normal_at(42, 5 + i as u64), one[i]);
    }
}

#[test]
fn every_simd_level_gives_the_bits_of_the_portable_body() {
    let n = 4096 + 13;
    let mut scalar = vec![0.0f32; n];
    fill_at_body(0xDEAD_BEEF, 3, &mut scalar);
    let mut dispatched = vec![0.0f32; n];
    fill_at(0xDEAD_BEEF, 3, &mut dispatched);
    assert_eq!(scalar, dispatched);
    for level in Level::available() {
        let mut v = vec![0.0f32; n];
        fill_at_level(level, 0xDEAD_BEEF, 3, &mut v);
        assert!(
            v.iter()
                .zip(&scalar)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{level:?}"
        );
    }
}

/// Value `i` of stream `key` straight from the definition in the module doc, one value at a
/// time: pair p = 16 (i / 32) + (i mod 16), drawn from mix64(key + (p + 1) golden); the cosine
/// half for i mod 32 < 16, else the sine half.
fn normal_by_definition(key: u64, i: u64) -> f32 {
    let (block, j) = (i / BLOCK as u64, i % BLOCK as u64);
    let pair = block * PAIRS as u64 + j % PAIRS as u64;
    let (c, s) = box_muller(mix64(key.wrapping_add((pair + 1).wrapping_mul(GOLDEN))));
    if j < PAIRS as u64 { c } else { s }
}

#[test]
fn the_block_fill_at_every_level_is_the_definition() {
    // Any key: the Weyl sum key + (p + 1) golden wraps modulo 2^64 for most pairs.
    for key in [0, 0xDEAD_BEEF, u64::MAX - 5, key_from_seed(7)] {
        let (start, n) = (1_000_003u64, 3 * BLOCK + 7);
        let want: Vec<u32> = (0..n as u64)
            .map(|i| normal_by_definition(key, start + i).to_bits())
            .collect();
        for level in Level::available() {
            let mut v = vec![0.0f32; n];
            fill_at_level(level, key, start, &mut v);
            let got: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, want, "key {key:#x}, {level:?}");
        }
    }
}

/// The stream is part of a run's state: a checkpoint holds only its key and position, so a
/// resumed run (or one run again from its config) gives the same noise only while these bits
/// stay the same. Pinned from the generator of commit 2531824 (the first 2^20 values of seed
/// 0's stream, their bits hashed with FNV-1a 64); a change that alters any value fails here
/// and must say so as a break of exact resume across versions.
#[test]
fn the_stream_of_seed_0_is_the_pinned_one() {
    let mut v = vec![0.0f32; 1 << 20];
    GaussianStream::new(0).fill(&mut v);
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for x in &v {
        for byte in x.to_bits().to_le_bytes() {
            hash = (hash ^ byte as u64).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    assert_eq!(
        hash, 0x9568_e603_c8ee_1abd,
        "FNV-1a of the first 2^20 values: {hash:#018x}"
    );
}

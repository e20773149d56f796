//! The diagnostics against values known in closed form, computed by hand, or computed once by
//! ArviZ 0.23.4 (numpy 2.4.6) offline.

use super::*;
use crate::base::{StateReader, StateWriter, Stateful};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let (u, v) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// `n` draws of the stationary AR(1) process x_t = r x_{t-1} + e_t, e_t ~ N(0, 1).
fn ar1(r: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x = normal(&mut rng) / (1.0 - r * r).sqrt();
    (0..n)
        .map(|_| {
            let now = x;
            x = r * x + normal(&mut rng);
            now
        })
        .collect()
}

fn views(chains: &[Vec<f64>]) -> Vec<&[f64]> {
    chains.iter().map(Vec::as_slice).collect()
}

#[test]
fn ess_of_an_ar1_chain_is_n_times_1_minus_r_over_1_plus_r() {
    // ESS/N -> (1 - r)/(1 + r). Tolerance: 5 standard deviations of ESS/N over 300
    // simulated chains of N = 20,000 (ArviZ's `_ess`, the same estimator, offline):
    // r = 0.5: sd 0.0133; r = -0.5: sd 0.143; r = 0.9: sd 0.0044.
    for (r, sd, seed) in [(0.5, 0.0133, 1), (-0.5, 0.143, 2), (0.9, 0.0044, 3)] {
        let n = 20_000;
        let chain = ar1(r, n, seed);
        let got = ess(&[&chain]).unwrap() / n as f64;
        let want = (1.0 - r) / (1.0 + r);
        assert!(
            (got - want).abs() < 5.0 * sd,
            "r = {r}: ESS/N {got}, want {want}"
        );
    }
}

#[test]
fn ess_of_several_ar1_chains_adds_up() {
    // Four chains of 5,000 at r = 0.5: ESS/(C N) -> 1/3, sd 0.0128 (300 simulations with
    // ArviZ, offline); 5 sd.
    let chains: Vec<Vec<f64>> = (0..4).map(|c| ar1(0.5, 5000, 10 + c)).collect();
    let got = ess(&views(&chains)).unwrap() / 20_000.0;
    assert!((got - 1.0 / 3.0).abs() < 5.0 * 0.0128, "{got}");
}

#[test]
fn iid_draws_have_ess_n_and_rhat_1() {
    // iid = AR(1) with r = 0: ESS/N -> 1, sd 0.033 at N = 10,000 (ArviZ, offline); 5 sd.
    let one = ar1(0.0, 10_000, 4);
    let got = ess(&[&one]).unwrap() / 10_000.0;
    assert!((got - 1.0).abs() < 5.0 * 0.033, "{got}");
    // Four iid chains of 1,000: 8 half-chains of n = 500, and var+/W = (n-1)/n + F/n with
    // F ~ chi2_7/7 (sd 0.53), so R-hat ~ 1 + (F - 1)/(2n), sd 0.0005; 0.003 is ~5 sd.
    let chains: Vec<Vec<f64>> = (0..4).map(|c| ar1(0.0, 1000, 20 + c)).collect();
    let rhat = split_rhat(&views(&chains)).unwrap();
    assert!((rhat - 1.0).abs() < 0.003, "{rhat}");
}

#[test]
fn chains_with_different_means_have_rhat_well_above_1() {
    // By hand: chains [1, 2, 3, 4] and [5, 6, 7, 8] split into [1,2] [3,4] [5,6] [7,8]
    // (n = 2): means 1.5 3.5 5.5 7.5, each variance 0.5 = W; the means' sample variance is
    // (9 + 1 + 1 + 9)/3 = 20/3 = B/n; var+ = W/2 + 20/3 = 83/12; R-hat = sqrt(83/6).
    let rhat = split_rhat(&[&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]]).unwrap();
    assert!((rhat - (83.0f64 / 6.0).sqrt()).abs() < 1e-12, "{rhat}");
    // Two iid N(0, 1) chains of 2,000, the second shifted by 3: half-chain means ~ 0 0 3 3,
    // sample variance 3 = B/n, W ~ 1: R-hat ~ sqrt(1 + 3) = 2 (to ~1/sqrt(n) of W).
    let a = ar1(0.0, 2000, 30);
    let b: Vec<f64> = ar1(0.0, 2000, 31).iter().map(|v| v + 3.0).collect();
    let rhat = split_rhat(&[&a, &b]).unwrap();
    assert!((rhat - 2.0).abs() < 0.1, "{rhat}");
}

#[test]
fn constant_chains() {
    // All equal: nothing disagrees (R-hat 1) and every draw counts (ESS = C n, as ArviZ).
    let same = [0.25; 8];
    assert_eq!(split_rhat(&[&same, &same]), Some(1.0));
    assert_eq!(ess(&[&same, &same]), Some(16.0));
    // Constant at different values: W = 0 < B, R-hat infinite.
    assert_eq!(split_rhat(&[&[0.0; 6], &[1.0; 6]]), Some(f64::INFINITY));
}

#[test]
fn what_cannot_be_diagnosed_is_none() {
    assert_eq!(split_rhat(&[]), None);
    assert_eq!(ess(&[]), None);
    let short = [1.0, 2.0, 3.0];
    assert_eq!(split_rhat(&[&short]), None, "fewer than 4 draws");
    assert_eq!(ess(&[&short]), None);
    let uneven: [&[f64]; 2] = [&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0, 5.0]];
    assert_eq!(split_rhat(&uneven), None);
    assert_eq!(ess(&uneven), None);
    let nan = [1.0, f64::NAN, 3.0, 4.0];
    assert_eq!(split_rhat(&[&nan]), None);
    assert_eq!(ess(&[&nan]), None);
    assert_eq!(rhat(&[&[1.0, 2.0]]), None, "R-hat needs two chains");
}

/// The fixed series the ArviZ numbers were computed on:
/// x[c][t] = sin(0.3 t + c) + ((7 t + 3 c) mod 11)/11 + 0.2 c.
fn fixed_series(chains: usize, n: usize) -> Vec<Vec<f64>> {
    (0..chains)
        .map(|c| {
            (0..n)
                .map(|t| {
                    let wave = (0.3 * t as f64 + c as f64).sin();
                    wave + ((t * 7 + c * 3) % 11) as f64 / 11.0 + 0.2 * c as f64
                })
                .collect()
        })
        .collect()
}

#[test]
fn agrees_with_arviz() {
    // ArviZ 0.23.4, offline: `_ess(a)` (ESS of the chains as given) and
    // `_rhat(_split_chains(a))` (= `az.rhat(a, method="split")` for 2+ chains), on
    // `fixed_series`. One chain of 51 draws also checks that the middle draw is dropped.
    for (chains, n, want_ess, want_rhat) in [
        (3, 50, 27.028434212391577, 1.0011550041004158),
        (1, 51, 9.175834777776194, 0.9839608680253286),
        (4, 200, 131.66723700502814, 1.0331946457417576),
    ] {
        let series = fixed_series(chains, n);
        let got_ess = ess(&views(&series)).unwrap();
        let got_rhat = split_rhat(&views(&series)).unwrap();
        assert!(
            (got_ess - want_ess).abs() < 1e-9 * want_ess,
            "{chains}x{n}: {got_ess}"
        );
        assert!(
            (got_rhat - want_rhat).abs() < 1e-12,
            "{chains}x{n}: {got_rhat}"
        );
    }
}

#[test]
fn draws_keep_at_most_capacity_evenly_spaced() {
    // Two chains, one quantity, capacity 4: point k holds k (chain 0) and -k (chain 1).
    let mut draws = ChainDraws::new(2, 1, 4);
    for k in 0..11 {
        draws.record(|| vec![k as f32, -(k as f32)]);
    }
    // Points 0-3 fill it: keep 0 2, stride 2; points 4 6 fill it again: keep 0 4, stride
    // 4; point 8 is kept, points 9 and 10 are not.
    assert_eq!(draws.series(0, 0), vec![0.0, 4.0, 8.0]);
    assert_eq!(draws.series(1, 0), vec![0.0, -4.0, -8.0]);
    assert_eq!((draws.kept(), draws.stride()), (3, 4));
}

#[test]
fn draws_resume_from_their_state() {
    let mut draws = ChainDraws::new(2, 3, 6);
    for k in 0..9 {
        draws.record(|| (0..6).map(|i| (k * 6 + i) as f32).collect());
    }
    let mut out = StateWriter::new();
    draws.save_state("d/", &mut out);
    let bytes = out.to_bytes().unwrap();
    let state = StateReader::parse(&bytes, std::path::Path::new("mem")).unwrap();
    let mut fresh = ChainDraws::new(2, 3, 6);
    fresh.load_state("d/", &state).unwrap();
    assert_eq!(fresh, draws);
    // Empty, and from a state without draws (a checkpoint from before they were kept).
    let empty = ChainDraws::new(2, 3, 6);
    let mut out = StateWriter::new();
    empty.save_state("d/", &mut out);
    let bytes = out.to_bytes().unwrap();
    let state = StateReader::parse(&bytes, std::path::Path::new("mem")).unwrap();
    fresh.load_state("d/", &state).unwrap();
    assert_eq!(fresh, empty);
    fresh.record(|| vec![1.0; 6]);
    fresh.load_state("other/", &state).unwrap();
    assert_eq!(fresh, empty);
}

#[test]
fn summary_takes_the_median_and_the_worst() {
    // Three quantities from two chains of 8 draws: q0 iid-like and equal in both chains,
    // q1 shifted in chain 1, q2 constant. R-hat: q2 = 1, q1 largest.
    let mut draws = ChainDraws::new(2, 3, 64);
    let wiggle = [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2, 0.6];
    for w in wiggle {
        draws.record(|| vec![w, w, 0.5, w, w + 1.0, 0.5]);
    }
    let d = Diagnostics::of(&draws, 1).unwrap();
    assert_eq!(
        (d.chains, d.draws_per_chain, d.quantities, d.diagnosed),
        (2, 8, 3, 3)
    );
    let each: Vec<(f64, f64)> = (0..3)
        .map(|q| {
            let s = [draws.series(0, q), draws.series(1, q)];
            (split_rhat(&views(&s)).unwrap(), ess(&views(&s)).unwrap())
        })
        .collect();
    assert_eq!(each[2], (1.0, 16.0), "constant: R-hat 1, ESS = C n");
    assert!(each[1].0 > 2.0, "{each:?}");
    // Median of three = the middle value.
    let mut r: Vec<f64> = each.iter().map(|e| e.0).collect();
    r.sort_by(f64::total_cmp);
    assert_eq!((d.rhat.median, d.rhat.max), (Some(r[1]), Some(r[2])));
    let mut e: Vec<f64> = each.iter().map(|e| e.1).collect();
    e.sort_by(f64::total_cmp);
    assert_eq!((d.ess.median, d.ess.min), (e[1], e[0]));
    assert_eq!(Diagnostics::of(&ChainDraws::new(2, 3, 64), 1), None);
}

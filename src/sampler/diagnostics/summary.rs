//! The diagnostics of many quantities at once, summarised: split R-hat and ESS of each
//! quantity of a [`ChainDraws`] record, and their median and worst value (largest R-hat,
//! smallest ESS) over the quantities that can be diagnosed. A run's quantities are the
//! teacher's class probabilities p(y = k | x_i, theta) on its diagnostic test inputs x_i.

use super::{ChainDraws, ess, split_rhat};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// R-hat's median and worst (largest) value over the quantities; `None` (JSON `null`) when
/// infinite (half-chains each constant, at different values).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RhatSummary {
    pub median: Option<f64>,
    pub max: Option<f64>,
}

/// ESS's median and worst (smallest) value over the quantities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EssSummary {
    pub median: f64,
    pub min: f64,
}

/// What `metrics.json`'s `diagnostics` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// C: the teacher's chains.
    pub chains: usize,
    /// Draws of each chain diagnosed (at most the record's capacity).
    pub draws_per_chain: usize,
    /// Evaluation points between two draws kept (1 until the record first filled up).
    pub draw_stride: u64,
    /// Inputs whose class probabilities are the quantities.
    pub inputs: usize,
    /// Quantities per chain (inputs x classes).
    pub quantities: usize,
    /// Quantities that could be diagnosed (the others have a non-finite draw).
    pub diagnosed: usize,
    /// Split R-hat over the C chains' 2C halves.
    pub rhat: RhatSummary,
    /// ESS over the C chains' draws (of C x draws_per_chain).
    pub ess: EssSummary,
}

impl Diagnostics {
    /// The diagnostics of every quantity of `draws`, the class probabilities of `inputs`
    /// inputs; `None` before 4 draws per chain, or when no quantity can be diagnosed.
    pub fn of(draws: &ChainDraws, inputs: usize) -> Option<Self> {
        let per_quantity: Vec<(f64, f64)> = (0..draws.width())
            .into_par_iter()
            .filter_map(|q| {
                let series: Vec<Vec<f64>> =
                    (0..draws.chains()).map(|c| draws.series(c, q)).collect();
                let chains: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
                Some((split_rhat(&chains)?, ess(&chains)?))
            })
            .collect();
        let (mut rhats, mut esses): (Vec<f64>, Vec<f64>) = per_quantity.into_iter().unzip();
        let finite = |v: f64| v.is_finite().then_some(v);
        let rhat = RhatSummary {
            median: finite(median(&mut rhats)?),
            max: finite(rhats.iter().copied().fold(f64::MIN, f64::max)),
        };
        let ess = EssSummary {
            median: median(&mut esses)?,
            min: esses.iter().copied().fold(f64::MAX, f64::min),
        };
        Some(Diagnostics {
            chains: draws.chains(),
            draws_per_chain: draws.kept(),
            draw_stride: draws.stride(),
            inputs,
            quantities: draws.width(),
            diagnosed: rhats.len(),
            rhat,
            ess,
        })
    }
}

/// The median of `x` (the mean of the middle two for an even count); `None` when empty.
fn median(x: &mut [f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    x.sort_by(f64::total_cmp);
    let mid = x.len() / 2;
    Some(if x.len() % 2 == 1 {
        x[mid]
    } else {
        (x[mid - 1] + x[mid]) / 2.0
    })
}

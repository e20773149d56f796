//! Independent recomputations of `gped eval`'s numbers, for `tests/eval_cli.rs`: a run
//! folder's files are read here (the teacher's ensemble sums and the students' weights with the
//! `safetensors` crate, IDX files with `flate2`), and the numbers are computed in f64 from
//! their definitions, without gped's code: the network's forward pass, softmax, entropy, NLL,
//! accuracy, Brier score, and AUROC by counting pairs.

use std::io::Read;
use std::path::Path;

use safetensors::SafeTensors;
use safetensors::tensor::Dtype;

/// Probability floor of gped's NLL (`metrics::PROB_FLOOR`, documented there).
const PROB_FLOOR: f64 = 1e-12;

/// The dimensions and bytes of an IDX file, `path` or else `path.gz`.
pub fn read_idx(path: &Path) -> (Vec<usize>, Vec<u8>) {
    let gz = path.with_file_name(format!(
        "{}.gz",
        path.file_name().unwrap().to_string_lossy()
    ));
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(_) => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
                .read_to_end(&mut out)
                .unwrap();
            out
        }
    };
    // Magic 0x0000_08TT with TT = 0x08 (u8 values) and the number of dimensions in its last byte.
    assert_eq!(
        &bytes[..3],
        &[0, 0, 8],
        "{}: not an IDX u8 file",
        path.display()
    );
    let rank = bytes[3] as usize;
    let dims: Vec<usize> = (0..rank)
        .map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().unwrap()) as usize)
        .collect();
    let data = bytes[4 + 4 * rank..].to_vec();
    assert_eq!(data.len(), dims.iter().product::<usize>());
    (dims, data)
}

/// The images of an IDX file as rows of 784 pixels in [0, 1].
pub fn read_idx_images(path: &Path) -> Vec<Vec<f64>> {
    let (dims, data) = read_idx(path);
    data.chunks_exact(dims[1] * dims[2])
        .map(|row| row.iter().map(|&v| f64::from(v) / 255.0).collect())
        .collect()
}

/// A teacher ensemble file: the posterior means, from the sums and the sample count.
pub struct EnsembleMeans {
    pub samples: u64,
    /// Mean predictive distribution p(y|x,D), one row per input.
    pub probs: Vec<Vec<f64>>,
    /// Mean entropy E[H[p(y|x,theta)]] per input.
    pub expected_entropy: Vec<f64>,
    /// Mean p(y|x,theta)^2, one row per input (files with `prob_sq_sums`).
    pub squares: Option<Vec<Vec<f64>>>,
}

impl EnsembleMeans {
    /// Reads `ensemble_*.safetensors`: F64 `prob_sums` `[n, classes]`, F64 `entropy_sums`
    /// `[n]`, F64 `prob_sq_sums` `[n, classes]` where present, and the sample count in the metadata's `samples` (layout of `src/ensemble.rs`).
    pub fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap();
        let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
        let samples: u64 = meta.metadata().as_ref().unwrap()["samples"]
            .parse()
            .unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let f64s = |name: &str| {
            let t = file.tensor(name).unwrap();
            assert_eq!(t.dtype(), Dtype::F64, "{name}");
            let v: Vec<f64> = t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()) / samples as f64)
                .collect();
            (t.shape().to_vec(), v)
        };
        let (shape, probs) = f64s("prob_sums");
        let (_, expected_entropy) = f64s("entropy_sums");
        let rows = |v: Vec<f64>| v.chunks_exact(shape[1]).map(<[f64]>::to_vec).collect();
        let squares = file
            .tensor("prob_sq_sums")
            .ok()
            .map(|_| rows(f64s("prob_sq_sums").1));
        EnsembleMeans {
            samples,
            probs: rows(probs),
            expected_entropy,
            squares,
        }
    }
}

/// A fully connected ReLU network read from safetensors weights in PyTorch's layout
/// (`NAME.weight` `[out, in]`, `NAME.bias` `[out]`).
pub struct Mlp {
    /// Per layer: the weights transposed to `[in][out]`, and the bias.
    layers: Vec<(Vec<Vec<f64>>, Vec<f64>)>,
}

impl Mlp {
    /// The layers `names`, in order, of the weights file `path`.
    pub fn read(path: &Path, names: &[&str]) -> Self {
        let bytes = std::fs::read(path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let tensor = |name: String| {
            let t = file.tensor(&name).unwrap();
            assert_eq!(t.dtype(), Dtype::F32, "{name}");
            let v: Vec<f64> = t
                .data()
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
                .collect();
            (t.shape().to_vec(), v)
        };
        let layers = names
            .iter()
            .map(|name| {
                let (shape, w) = tensor(format!("{name}.weight"));
                let (_, b) = tensor(format!("{name}.bias"));
                let (outs, ins) = (shape[0], shape[1]);
                let wt = (0..ins)
                    .map(|i| (0..outs).map(|o| w[o * ins + i]).collect())
                    .collect();
                (wt, b)
            })
            .collect();
        Mlp { layers }
    }

    /// The raw outputs of input `x` (dropout off): ReLU after every layer but the last.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        let mut h = x.to_vec();
        for (l, (wt, bias)) in self.layers.iter().enumerate() {
            let mut out = bias.clone();
            for (&xi, row) in h.iter().zip(wt) {
                if xi != 0.0 {
                    out.iter_mut().zip(row).for_each(|(o, &w)| *o += xi * w);
                }
            }
            if l + 1 < self.layers.len() {
                out.iter_mut().for_each(|o| *o = o.max(0.0));
            }
            h = out;
        }
        h
    }
}

pub fn softmax(z: &[f64]) -> Vec<f64> {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&v| (v - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

/// -sum p ln p, with 0 ln 0 = 0.
pub fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| v * v.ln())
        .sum::<f64>()
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// NLL, accuracy and Brier score of predictive distributions on `labels`.
pub struct Classification {
    pub nll: f64,
    pub accuracy: f64,
    pub brier: f64,
    /// Inputs whose two largest probabilities are within `tie` (relative) of each other: the
    /// argmax of these may differ from that of a slightly perturbed copy.
    pub near_ties: usize,
}

pub fn classification(probs: &[Vec<f64>], labels: &[u8], tie: f64) -> Classification {
    let n = labels.len() as f64;
    let (mut nll, mut correct, mut brier, mut near_ties) = (0.0, 0, 0.0, 0);
    for (p, &y) in probs.iter().zip(labels) {
        let y = y as usize;
        nll -= p[y].max(PROB_FLOOR).ln();
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        correct += usize::from(order[0] == y);
        near_ties += usize::from(p[order[0]] - p[order[1]] <= tie * p[order[0]]);
        brier += p
            .iter()
            .enumerate()
            .map(|(c, &v)| (v - f64::from(u8::from(c == y))).powi(2))
            .sum::<f64>();
    }
    Classification {
        nll: nll / n,
        accuracy: correct as f64 / n,
        brier: brier / n,
        near_ties,
    }
}

/// AUROC of scores `positives` (OOD) against `negatives`: the fraction of (positive, negative)
/// pairs ordered correctly, ties counted one half. Counted per positive with binary searches
/// in the sorted negatives.
pub fn auroc(positives: &[f64], negatives: &[f64]) -> f64 {
    let mut neg = negatives.to_vec();
    neg.sort_by(f64::total_cmp);
    let pairs: f64 = positives
        .iter()
        .map(|&s| {
            let below = neg.partition_point(|&v| v < s);
            let not_above = neg.partition_point(|&v| v <= s);
            below as f64 + 0.5 * (not_above - below) as f64
        })
        .sum();
    pairs / (positives.len() * negatives.len()) as f64
}

/// The (positive, negative) pairs whose scores lie within `slack(a) + slack(b)` of each other:
/// the only pairs whose order can change when every score `s` moves by at most `slack(s)`,
/// each changing AUROC by at most 1 / (pairs).
pub fn near_pairs(positives: &[f64], negatives: &[f64], slack: impl Fn(f64) -> f64) -> usize {
    let mut neg = negatives.to_vec();
    neg.sort_by(f64::total_cmp);
    let widest = neg.iter().map(|&v| slack(v)).fold(0.0, f64::max);
    positives
        .iter()
        .map(|&s| {
            let (lo, hi) = (s - slack(s) - widest, s + slack(s) + widest);
            let window = &neg[neg.partition_point(|&v| v < lo)..neg.partition_point(|&v| v <= hi)];
            window
                .iter()
                .filter(|&&v| (v - s).abs() <= slack(s) + slack(v))
                .count()
        })
        .sum()
}

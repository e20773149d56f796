//! The teacher's test-set ensemble, streamed: after burn-in the teacher's predictive
//! probabilities and their entropies on a fixed set of inputs are added to running sums every
//! `eval.every` steps, never storing a sample. The means are the Monte Carlo estimates of the
//! posterior predictive p(y|x,D) and the expected entropy E[H[p(y|x,theta)]]; with the sums of
//! p^2 also the expected marginal variance E[p(1 - p)] = E p - E p^2 per class, and from the
//! first two the mutual information H[E p] - E H[p].
//!
//! Sums of p^2 came later: a checkpoint or ensemble file without `prob_sq_sums` loads without
//! them (they would miss the samples before), and the ensemble then has no variance
//! ([`Ensemble::mean_variance`] is `None`) for the rest of the run.

use crate::base::write_atomic;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::expectation::entropy;

/// -sum p ln p of an f64 distribution, with 0 ln 0 = 0.
fn entropy_f64(p: &[f64]) -> f64 {
    -p.iter().map(|&p| crate::nn::loss::xlnx(p)).sum::<f64>()
}
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// Running sums of a teacher's predictions over posterior samples on `n` inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    classes: usize,
    /// `[n, classes]` sums of p(y|x, theta_s).
    prob_sums: Vec<f64>,
    /// `[n]` sums of H[p(.|x, theta_s)].
    entropy_sums: Vec<f64>,
    /// `[n, classes]` sums of p(y|x, theta_s)^2; `None` when loaded from a checkpoint or file
    /// written before they were kept.
    prob_sq_sums: Option<Vec<f64>>,
    samples: u64,
}

impl Ensemble {
    /// Empty sums for `n` inputs and `classes` classes.
    pub fn new(n: usize, classes: usize) -> Self {
        Ensemble {
            classes,
            prob_sums: vec![0.0; n * classes],
            entropy_sums: vec![0.0; n],
            prob_sq_sums: Some(vec![0.0; n * classes]),
            samples: 0,
        }
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.entropy_sums.len()
    }

    /// Whether it covers no input.
    pub fn is_empty(&self) -> bool {
        self.entropy_sums.is_empty()
    }

    /// Posterior samples added so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Adds the predictive probabilities `[len, classes]` of inputs `start..start+rows` of one
    /// posterior sample. Call [`Ensemble::finish_sample`] once all inputs of the sample are in.
    pub fn add_rows(&mut self, start: usize, probs: &[f32]) {
        let k = self.classes;
        for (r, row) in probs.chunks_exact(k).enumerate() {
            let i = start + r;
            for (sum, &p) in self.prob_sums[i * k..(i + 1) * k].iter_mut().zip(row) {
                *sum += p as f64;
            }
            if let Some(sq) = &mut self.prob_sq_sums {
                for (sum, &p) in sq[i * k..(i + 1) * k].iter_mut().zip(row) {
                    *sum += p as f64 * p as f64;
                }
            }
            self.entropy_sums[i] += entropy(row);
        }
    }

    /// Counts one more posterior sample.
    pub fn finish_sample(&mut self) {
        self.samples += 1;
    }

    /// The ensemble's predictive distribution `[len, classes]` (zeros before any sample).
    pub fn mean_probs(&self) -> Vec<f32> {
        let s = self.samples.max(1) as f64;
        self.prob_sums.iter().map(|&v| (v / s) as f32).collect()
    }

    /// The ensemble's expected entropy per input `[len]`.
    pub fn mean_entropy(&self) -> Vec<f32> {
        let s = self.samples.max(1) as f64;
        self.entropy_sums.iter().map(|&v| (v / s) as f32).collect()
    }

    /// The ensemble's predictive distribution `[len, classes]` in f64.
    pub fn mean_probs_f64(&self) -> Vec<f64> {
        let s = self.samples.max(1) as f64;
        self.prob_sums.iter().map(|&v| v / s).collect()
    }

    /// The ensemble's expected entropy per input `[len]` in f64.
    pub fn mean_entropy_f64(&self) -> Vec<f64> {
        let s = self.samples.max(1) as f64;
        self.entropy_sums.iter().map(|&v| v / s).collect()
    }

    /// The expected marginal variance E[p(1 - p)] = E p - E p^2 per input and class
    /// `[len, classes]`, in f64; `None` without the sums of p^2 (see the module's note).
    pub fn mean_variance(&self) -> Option<Vec<f64>> {
        let s = self.samples.max(1) as f64;
        let sq = self.prob_sq_sums.as_ref()?;
        Some(
            self.prob_sums
                .iter()
                .zip(sq)
                .map(|(&p, &q)| (p / s - q / s).max(0.0))
                .collect(),
        )
    }

    /// The mutual information H[E p] - E H[p] per input `[len]`, in f64 (clamped at 0 against
    /// rounding; >= 0 for exact means by Jensen's inequality).
    pub fn mutual_information(&self) -> Vec<f64> {
        let k = self.classes.max(1);
        let probs = self.mean_probs_f64();
        probs
            .chunks_exact(k)
            .zip(self.mean_entropy_f64())
            .map(|(p, h)| (entropy_f64(p) - h).max(0.0))
            .collect()
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Serialises the sums as safetensors (F64 `prob_sums` `[n, classes]`, `entropy_sums`
    /// `[n]`, `prob_sq_sums` `[n, classes]` where kept, and the sample count in the metadata).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let probs: Vec<u8> = self
            .prob_sums
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let ents: Vec<u8> = self
            .entropy_sums
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let squares: Option<Vec<u8>> = self
            .prob_sq_sums
            .as_ref()
            .map(|sq| sq.iter().flat_map(|v| v.to_le_bytes()).collect());
        let n = self.len();
        let err =
            |e: safetensors::SafeTensorError| Error::InvalidArgument(format!("ensemble: {e}"));
        let mut views = vec![
            (
                "prob_sums",
                TensorView::new(Dtype::F64, vec![n, self.classes], &probs).map_err(err)?,
            ),
            (
                "entropy_sums",
                TensorView::new(Dtype::F64, vec![n], &ents).map_err(err)?,
            ),
        ];
        if let Some(sq) = &squares {
            views.push((
                "prob_sq_sums",
                TensorView::new(Dtype::F64, vec![n, self.classes], sq).map_err(err)?,
            ));
        }
        let meta = HashMap::from([("samples".to_string(), self.samples.to_string())]);
        safetensors::serialize(views, Some(meta)).map_err(err)
    }

    /// Writes the sums to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// Reads sums written by [`Ensemble::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |detail: String| Error::format(path, "ensemble safetensors", detail);
        let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        let file = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let samples = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("samples"))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("metadata `samples` missing or not a number".into()))?;
        let read = |name: &str, rank: usize| -> Result<(Vec<usize>, Vec<f64>)> {
            let t = file.tensor(name).map_err(|_| Error::MissingTensor {
                path: path.to_path_buf(),
                name: name.into(),
            })?;
            if t.dtype() != Dtype::F64 || t.shape().len() != rank {
                return Err(bad(format!("`{name}`: expected F64 of rank {rank}")));
            }
            let v = t
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            Ok((t.shape().to_vec(), v))
        };
        let (shape, prob_sums) = read("prob_sums", 2)?;
        let (eshape, entropy_sums) = read("entropy_sums", 1)?;
        if eshape[0] != shape[0] {
            return Err(bad(format!(
                "`entropy_sums` has {} rows, `prob_sums` {}",
                eshape[0], shape[0]
            )));
        }
        let prob_sq_sums = match file.tensor("prob_sq_sums") {
            Err(_) => None,
            Ok(_) => {
                let (sq_shape, sq) = read("prob_sq_sums", 2)?;
                if sq_shape != shape {
                    return Err(bad(format!(
                        "`prob_sq_sums` has shape {sq_shape:?}, `prob_sums` {shape:?}"
                    )));
                }
                Some(sq)
            }
        };
        Ok(Ensemble {
            classes: shape[1],
            prob_sums,
            entropy_sums,
            prob_sq_sums,
            samples,
        })
    }
}

impl Stateful for Ensemble {
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        out.f64s(&format!("{prefix}prob_sums"), &self.prob_sums);
        out.f64s(&format!("{prefix}entropy_sums"), &self.entropy_sums);
        if let Some(sq) = &self.prob_sq_sums {
            out.f64s(&format!("{prefix}prob_sq_sums"), sq);
        }
        out.scalar(&format!("{prefix}samples"), self.samples);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        state.f64s_into(&format!("{prefix}prob_sums"), &mut self.prob_sums)?;
        state.f64s_into(&format!("{prefix}entropy_sums"), &mut self.entropy_sums)?;
        // A checkpoint from before the sums of p^2: no variance for the rest of the run.
        let sq_name = format!("{prefix}prob_sq_sums");
        match (state.shape(&sq_name), &mut self.prob_sq_sums) {
            (Some(_), Some(sq)) => state.f64s_into(&sq_name, sq)?,
            (Some(_), None) => {
                let mut sq = vec![0.0; self.prob_sums.len()];
                state.f64s_into(&sq_name, &mut sq)?;
                self.prob_sq_sums = Some(sq);
            }
            (None, _) => self.prob_sq_sums = None,
        }
        self.samples = state.scalar(&format!("{prefix}samples"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_are_averages_over_samples() {
        // Two inputs, two classes; samples [0.2,0.8 | 1,0] and [0.6,0.4 | 0,1]:
        // mean probs [0.4,0.6 | 0.5,0.5]; mean entropy of input 1 = (0 + 0)/2 = 0,
        // of input 0 = (H(0.2) + H(0.6))/2 with H(p) = -p ln p - (1-p) ln(1-p).
        let mut e = Ensemble::new(2, 2);
        e.add_rows(0, &[0.2, 0.8, 1.0, 0.0]);
        e.finish_sample();
        e.add_rows(0, &[0.6, 0.4]);
        e.add_rows(1, &[0.0, 1.0]);
        e.finish_sample();
        let p = e.mean_probs();
        for (a, b) in p.iter().zip([0.4, 0.6, 0.5, 0.5]) {
            assert!((a - b).abs() < 1e-7);
        }
        let h = |p: f64| -p * p.ln() - (1.0 - p) * (1.0 - p).ln();
        let ent = e.mean_entropy();
        assert!((ent[0] as f64 - (h(0.2) + h(0.6)) / 2.0).abs() < 1e-6);
        assert_eq!(ent[1], 0.0);
    }

    /// One input, two classes, samples p = [0.2, 0.8] and [0.6, 0.4], by hand:
    /// E p(1-p) per class = (0.2*0.8 + 0.6*0.4)/2 = (0.16 + 0.24)/2 = 0.2 (the same for both
    /// classes of a two-class input); MI = H([0.4, 0.6]) - (H(0.2) + H(0.6))/2.
    #[test]
    fn variance_and_mutual_information_from_the_sums() {
        let mut e = Ensemble::new(1, 2);
        e.add_rows(0, &[0.2, 0.8]);
        e.finish_sample();
        e.add_rows(0, &[0.6, 0.4]);
        e.finish_sample();
        let v = e.mean_variance().unwrap();
        for x in v {
            assert!((x - 0.2).abs() < 1e-7, "{x}");
        }
        let h = |p: f64| -p * p.ln() - (1.0 - p) * (1.0 - p).ln();
        let mi = h(0.4) - (h(0.2) + h(0.6)) / 2.0;
        assert!(mi > 0.01);
        assert!((e.mutual_information()[0] - mi).abs() < 1e-7);
    }

    /// A file or checkpoint written before the sums of p^2 loads without them: no variance,
    /// and adding samples does not bring back sums that would miss the earlier ones.
    #[test]
    fn old_formats_load_without_variance() {
        let mut e = Ensemble::new(2, 2);
        e.add_rows(0, &[0.1, 0.9, 0.5, 0.5]);
        e.finish_sample();
        let mut old = e.clone();
        old.prob_sq_sums = None;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.safetensors");
        old.save(&path).unwrap();
        let mut loaded = Ensemble::load(&path).unwrap();
        assert_eq!(loaded, old);
        loaded.add_rows(0, &[0.3, 0.7, 0.2, 0.8]);
        loaded.finish_sample();
        assert_eq!(loaded.mean_variance(), None);
        // The checkpoint state: old (no key) into a fresh ensemble, and new round trip.
        for (source, want_variance) in [(&old, false), (&e, true)] {
            let mut w = StateWriter::new();
            source.save_state("ens/", &mut w);
            let bytes = w.to_bytes().unwrap();
            let state = StateReader::parse(&bytes, Path::new("mem")).unwrap();
            let mut fresh = Ensemble::new(2, 2);
            fresh.load_state("ens/", &state).unwrap();
            assert_eq!(&fresh, source);
            assert_eq!(fresh.mean_variance().is_some(), want_variance);
        }
    }

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ens.safetensors");
        let mut e = Ensemble::new(3, 2);
        e.add_rows(0, &[0.1, 0.9, 0.5, 0.5, 0.3, 0.7]);
        e.finish_sample();
        e.save(&path).unwrap();
        assert_eq!(Ensemble::load(&path).unwrap(), e);
    }
}

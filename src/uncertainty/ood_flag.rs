//! The OOD flag: an input is flagged as out of distribution when the students' uncertainty
//! (`eval.ood_score`: total, or epistemic) exceeds a threshold. The run chooses the threshold
//! on its held-out in-distribution images (`data.holdout`) as the `eval.ood_tpr` quantile of
//! their scores, so that this share of in-distribution inputs passes unflagged (the flag's
//! true-positive rate, in-distribution being the positive class). It is saved in the run
//! folder as `ood_threshold.json` and read back by `infer::Distilled`.

use super::Uncertainty;
use crate::base::write_atomic;
use crate::config::OodScore;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A threshold on one uncertainty, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OodThreshold {
    /// The uncertainty thresholded.
    pub score: OodScore,
    /// The stated true-positive rate: the share of in-distribution inputs meant to pass.
    pub tpr: f64,
    /// Inputs whose score is above this (nats; an f32 score, held as f64 so that every JSON
    /// writer prints it alike) are flagged.
    pub threshold: f64,
    /// Number of held-out in-distribution inputs it was chosen on.
    pub holdout: usize,
    /// The share of those inputs that pass (>= `tpr`; above it only by ties and rounding).
    pub holdout_tpr: f64,
}

impl OodThreshold {
    /// The file name in a run folder.
    pub const FILE: &'static str = "ood_threshold.json";

    /// The threshold on `score` that lets a share `tpr` of the held-out `scores` pass: the
    /// ceil(tpr * n)-th smallest score (so at least that share is <= it).
    pub fn choose(score: OodScore, tpr: f64, scores: &[f32]) -> Result<Self> {
        if scores.is_empty() || !(tpr > 0.0 && tpr < 1.0) {
            return Err(Error::InvalidArgument(format!(
                "an OOD threshold needs held-out scores and a rate in (0, 1), found {} scores \
                 and rate {tpr}",
                scores.len()
            )));
        }
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "held-out input {i} has a non-finite {score} uncertainty ({}); no OOD \
                 threshold can be chosen",
                scores[i]
            )));
        }
        let mut sorted = scores.to_vec();
        sorted.sort_by(f32::total_cmp);
        let n = sorted.len();
        let k = ((tpr * n as f64).ceil() as usize).clamp(1, n);
        let threshold = f64::from(sorted[k - 1]);
        let passed = sorted
            .iter()
            .filter(|&&s| f64::from(s) <= threshold)
            .count();
        Ok(OodThreshold {
            score,
            tpr,
            threshold,
            holdout: n,
            holdout_tpr: passed as f64 / n as f64,
        })
    }

    /// The `score` uncertainties out of `u`; `None` for the epistemic score without an
    /// aleatoric estimate.
    pub fn scores_for(score: OodScore, u: &Uncertainty) -> Option<&[f32]> {
        match score {
            OodScore::Total => Some(&u.total),
            OodScore::Epistemic => u.knowledge.as_deref(),
        }
    }

    /// The scores this threshold applies to, out of `u` (see [`OodThreshold::scores_for`]).
    pub fn scores<'a>(&self, u: &'a Uncertainty) -> Option<&'a [f32]> {
        Self::scores_for(self.score, u)
    }

    /// Per input, whether it is flagged (its score above the threshold).
    pub fn flags(&self, u: &Uncertainty) -> Option<Vec<bool>> {
        self.scores(u)
            .map(|s| s.iter().map(|&s| f64::from(s) > self.threshold).collect())
    }

    /// The share of `u`'s inputs that are flagged.
    pub fn flagged_share(&self, u: &Uncertainty) -> Option<f64> {
        let flags = self.flags(u)?;
        let n = flags.len().max(1);
        Some(flags.iter().filter(|&&f| f).count() as f64 / n as f64)
    }

    /// Writes `dir/ood_threshold.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(Self::FILE);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        write_atomic(&path, format!("{text}\n").as_bytes())
    }

    /// Reads `dir/ood_threshold.json`; `None` when the run has none (no data.holdout).
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(Self::FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let t: OodThreshold = serde_json::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            format: "OOD threshold (JSON: score, tpr, threshold, holdout, holdout_tpr)",
            detail: e.to_string(),
        })?;
        if !(t.threshold.is_finite() && t.tpr > 0.0 && t.tpr < 1.0) {
            return Err(Error::Format {
                path,
                format: "OOD threshold",
                detail: format!(
                    "expected a finite threshold and a rate in (0, 1), found {} and {}",
                    t.threshold, t.tpr
                ),
            });
        }
        Ok(Some(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_the_tpr_quantile_of_the_held_out_scores() {
        // Scores 1..=100 (shuffled): 95% must pass, so the 95th smallest, 95, is the threshold
        // and exactly 95 of them are <= it.
        let scores: Vec<f32> = (1..=100).map(|i| ((i * 37) % 100 + 1) as f32).collect();
        let t = OodThreshold::choose(OodScore::Total, 0.95, &scores).unwrap();
        assert_eq!(t.threshold, 95.0);
        assert_eq!(t.holdout, 100);
        assert_eq!(t.holdout_tpr, 0.95);
        // 10 scores at 0.9: ceil(9) = the 9th smallest.
        let t = OodThreshold::choose(
            OodScore::Total,
            0.9,
            &[5.0, 1., 2., 3., 4., 6., 7., 8., 9., 10.],
        )
        .unwrap();
        assert_eq!(t.threshold, 9.0);
        // 3 scores at 0.5: ceil(1.5) = the 2nd smallest; 2 of 3 pass.
        let t = OodThreshold::choose(OodScore::Total, 0.5, &[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((t.threshold, t.holdout_tpr), (2.0, 2.0 / 3.0));
    }

    #[test]
    fn flags_are_scores_above_the_threshold() {
        let t = OodThreshold::choose(OodScore::Total, 0.5, &[1.0, 2.0]).unwrap();
        let u = Uncertainty::from_predictive(&[0.5, 0.5, 1.0, 0.0], 2, Some(vec![0.1, 0.0]));
        // Totals: ln 2 (0.69) and 0: neither above 1.0.
        assert_eq!(t.flags(&u), Some(vec![false, false]));
        let t = OodThreshold {
            threshold: 0.5,
            ..t
        };
        assert_eq!(t.flags(&u), Some(vec![true, false]));
        assert_eq!(t.flagged_share(&u), Some(0.5));
        // Epistemic: ln 2 - 0.1 = 0.59 > 0.5; 0 - 0 = 0.
        let e = OodThreshold {
            score: OodScore::Epistemic,
            ..t.clone()
        };
        assert_eq!(e.flags(&u), Some(vec![true, false]));
        let alone = Uncertainty::from_predictive(&[0.5, 0.5], 2, None);
        assert_eq!(e.flags(&alone), None);
    }

    #[test]
    fn bad_scores_and_rates_are_refused() {
        let err = OodThreshold::choose(OodScore::Total, 0.95, &[0.1, f32::NAN])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("held-out input 1") && err.contains("NaN"),
            "{err}"
        );
        assert!(OodThreshold::choose(OodScore::Total, 1.0, &[0.1]).is_err());
        assert!(OodThreshold::choose(OodScore::Total, 0.9, &[]).is_err());
    }

    #[test]
    fn it_saves_and_loads_and_a_bad_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(OodThreshold::load(dir.path()).unwrap(), None);
        let t = OodThreshold::choose(OodScore::Epistemic, 0.95, &[0.3, 0.1, 0.2]).unwrap();
        t.save(dir.path()).unwrap();
        assert_eq!(OodThreshold::load(dir.path()).unwrap(), Some(t));
        let path = dir.path().join(OodThreshold::FILE);
        std::fs::write(&path, "{\"score\": \"total\"}").unwrap();
        let err = OodThreshold::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("missing field"), "{err}");
        std::fs::write(
            &path,
            r#"{"score":"total","tpr":1.5,"threshold":0.3,"holdout":3,"holdout_tpr":1.0}"#,
        )
        .unwrap();
        let err = OodThreshold::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a rate in (0, 1), found 0.3 and 1.5"), "{err}");
    }
}

//! Learning curves read back from a run's `metrics.jsonl` (one JSON record per logged
//! iteration): the teacher's minibatch NLL, the test NLL of the teacher ensemble and of the
//! predictive student, the entropy student's MAE and each student's mean training loss, each as
//! a series of (iteration, value) points. Records without a value (before burn-in) are skipped.

use crate::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Named series of (iteration, value) points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearningCurves {
    /// Negative log-likelihoods: `teacher minibatch NLL`, `teacher test NLL`, `student test NLL`.
    pub nll: BTreeMap<String, Vec<(f64, f64)>>,
    /// `entropy MAE` and `loss NAME` of each student.
    pub distillation: BTreeMap<String, Vec<(f64, f64)>>,
}

impl LearningCurves {
    /// Reads `metrics.jsonl` at `path`; a missing file gives empty curves.
    pub fn read(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Parses the lines of a `metrics.jsonl`; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut curves = LearningCurves::default();
        for (line_no, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let record: Value = serde_json::from_str(line).map_err(|e| {
                Error::format(path, "metrics JSONL", format!("line {}: {e}", line_no + 1))
            })?;
            let Some(t) = record["iteration"].as_f64() else {
                continue;
            };
            let push = |map: &mut BTreeMap<String, Vec<(f64, f64)>>, name: &str, v: &Value| {
                if let Some(v) = v.as_f64().filter(|v| v.is_finite()) {
                    map.entry(name.to_string()).or_default().push((t, v));
                }
            };
            push(
                &mut curves.nll,
                "teacher minibatch NLL",
                &record["teacher_minibatch_nll"],
            );
            push(
                &mut curves.nll,
                "teacher test NLL",
                &record["test"]["teacher_nll"],
            );
            push(
                &mut curves.nll,
                "student test NLL",
                &record["test"]["student_nll"],
            );
            push(
                &mut curves.distillation,
                "entropy MAE",
                &record["test"]["entropy_mae"],
            );
            if let Some(losses) = record["student_loss"].as_object() {
                for (name, v) in losses {
                    push(&mut curves.distillation, &format!("loss {name}"), v);
                }
            }
        }
        Ok(curves)
    }

    /// Whether no series has a point.
    pub fn is_empty(&self) -> bool {
        self.nll
            .values()
            .chain(self.distillation.values())
            .all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_and_skips_missing_values() {
        let text = r#"{"iteration":1000,"student_loss":{},"teacher_minibatch_nll":0.4,"test":{"ensemble_samples":0,"entropy_mae":null}}
{"iteration":2000,"student_loss":{"entropy":0.15,"predictive":0.35},"teacher_minibatch_nll":0.15,"test":{"entropy_mae":0.11,"student_nll":0.148,"teacher_nll":0.13}}
"#;
        let c = LearningCurves::parse(text, Path::new("metrics.jsonl")).unwrap();
        assert_eq!(
            c.nll["teacher minibatch NLL"],
            vec![(1000.0, 0.4), (2000.0, 0.15)]
        );
        assert_eq!(c.nll["teacher test NLL"], vec![(2000.0, 0.13)]);
        assert_eq!(c.distillation["entropy MAE"], vec![(2000.0, 0.11)]);
        assert_eq!(c.distillation["loss predictive"], vec![(2000.0, 0.35)]);
        assert!(!c.is_empty());
    }

    #[test]
    fn bad_line_names_file_and_line() {
        let err = LearningCurves::parse("{}\nnot json\n", Path::new("m.jsonl")).unwrap_err();
        assert!(err.to_string().contains("m.jsonl") && err.to_string().contains("line 2"));
    }
}

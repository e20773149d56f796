//! What a run folder records of a student's heads: in `metrics.json`, the student's
//! `target` (its heads' targets joined by `+` for a multi-head student), its `test` scores
//! (a multi-head student's heads' scores merged into one object: each target scores under
//! keys of its own) and, for a multi-head student, `heads.TARGET` with the head's output
//! columns `[start, end)` and its own scores; in the weights file's safetensors metadata, a
//! multi-head student's `heads` as JSON (the output layer `fc3` holds the heads' outputs
//! side by side). A single-head student's records are as before heads existed.

use super::evaluate::StudentMetrics;
use super::student::Student;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `metrics.json`'s `students.NAME.target`.
pub fn target_label(s: &Student) -> String {
    let names: Vec<&str> = s.heads().iter().map(|h| h.kind.as_str()).collect();
    names.join("+")
}

/// `students.NAME.test` from the scores of the student's heads: the one head's, or the
/// heads' merged; `null` when no head is scored.
pub fn merged(scores: &[Option<StudentMetrics>]) -> Value {
    if let [one] = scores {
        return json!(one);
    }
    let mut all = serde_json::Map::new();
    for score in scores.iter().flatten() {
        if let Value::Object(keys) = json!(score) {
            all.extend(keys);
        }
    }
    match all.is_empty() {
        true => Value::Null,
        false => Value::Object(all),
    }
}

/// `students.NAME.heads`: per target, the head's output columns and scores.
pub fn heads_json(s: &Student, scores: &[Option<StudentMetrics>]) -> Value {
    let heads: serde_json::Map<_, _> = s
        .heads()
        .iter()
        .zip(scores)
        .map(|(h, score)| {
            let c = h.columns();
            let info = json!({ "columns": [c.start, c.end], "test": score });
            (h.kind.as_str().to_string(), info)
        })
        .collect();
    Value::Object(heads)
}

/// The weights file's metadata: `heads` (JSON: each head's target and output columns) for a
/// multi-head student, none for a single-head one.
pub fn weights_metadata(s: &Student) -> Option<HashMap<String, String>> {
    if s.heads().len() < 2 {
        return None;
    }
    let heads: Vec<Value> = (s.heads().iter())
        .map(|h| json!({ "target": h.kind, "columns": [h.columns().start, h.columns().end] }))
        .collect();
    Some(HashMap::from([(
        "heads".to_string(),
        json!(heads).to_string(),
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::DistillMetrics;

    #[test]
    fn one_heads_scores_are_the_students_and_several_merge() {
        let entropy = Some(StudentMetrics::Entropy { entropy_mae: 0.25 });
        assert_eq!(
            merged(std::slice::from_ref(&entropy)),
            json!({"entropy_mae": 0.25})
        );
        assert_eq!(merged(&[None]), Value::Null);
        assert_eq!(merged(&[None, None]), Value::Null);
        let predictive = Some(StudentMetrics::Predictive(DistillMetrics::default()));
        let both = merged(&[predictive.clone(), entropy]);
        let mut want = json!(predictive);
        want["entropy_mae"] = json!(0.25);
        assert_eq!(both, want);
    }
}

//! What `gped run` prints when a run ends: a few readable lines (the teacher ensemble's and
//! each student's test numbers, the time, the OOD threshold), where the full numbers are
//! (`metrics.json`), and the commands that use the run next (`gped eval`, `gped predict`).

use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

/// The closing lines of the run in `out` whose `metrics.json` content is `json`.
pub fn finished_text(json: &Value, out: &Path) -> String {
    let num = |v: &Value, key: &str| v.get(key).and_then(Value::as_f64);
    let mut text = String::new();
    let iterations = json.get("iterations").and_then(Value::as_u64).unwrap_or(0);
    let time = json.get("time").unwrap_or(&Value::Null);
    if let (Some(wall), Some(ms)) = (num(time, "wall_s"), num(time, "ms_per_iteration")) {
        let _ = writeln!(
            text,
            "finished {iterations} iterations in {} ({ms:.2} ms per iteration)",
            duration(wall)
        );
    }
    if let (Some(nll), Some(acc)) = (num(json, "teacher_nll"), num(json, "teacher_acc")) {
        let samples = json.get("ensemble_samples").and_then(Value::as_u64);
        let _ = writeln!(
            text,
            "teacher ensemble ({} samples): test NLL {nll:.4}, accuracy {:.2}%",
            samples.unwrap_or(0),
            100.0 * acc
        );
    }
    if let Some(students) = json.get("students").and_then(Value::as_object) {
        for (name, s) in students {
            let test = s.get("test").unwrap_or(&Value::Null);
            // A two-headed student's `test` has both the predictive and the entropy scores.
            let mut scores = Vec::new();
            if let (Some(nll), Some(acc)) = (num(test, "student_nll"), num(test, "student_acc")) {
                scores.push(format!("test NLL {nll:.4}, accuracy {:.2}%", 100.0 * acc));
            }
            if let Some(mae) = num(test, "entropy_mae") {
                scores.push(format!("entropy MAE {mae:.4} nats"));
            }
            let scores = match scores.is_empty() {
                true => "not scored on the test set".to_string(),
                false => scores.join(", "),
            };
            let target = s.get("target").and_then(Value::as_str).unwrap_or("?");
            let _ = writeln!(text, "student {name} ({target}): {scores}");
        }
    }
    if let Some(t) = json.get("ood_threshold") {
        let _ = writeln!(
            text,
            "OOD flag: {} uncertainty above {:.4} nats ({:.0}% of {} held-out images pass)",
            t.get("score").and_then(Value::as_str).unwrap_or("?"),
            num(t, "threshold").unwrap_or(f64::NAN),
            100.0 * num(t, "tpr").unwrap_or(f64::NAN),
            t.get("holdout").and_then(Value::as_u64).unwrap_or(0)
        );
    }
    let dir = out.display();
    let _ = writeln!(
        text,
        "run folder: {dir} (every number in {dir}/metrics.json)"
    );
    let _ = writeln!(
        text,
        "next: `gped eval {dir}` (uncertainty, OOD detection, calibration, figures) or \
         `gped predict {dir} IMAGES...`"
    );
    text
}

/// Seconds as `1 h 2 min 3 s`, `2 min 3 s` or `4.2 s`.
fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let s = seconds.round() as u64;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, s) => format!("{h} h {m} min {s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_lines_name_every_number_and_the_next_commands() {
        let json = json!({
            "iterations": 30000,
            "teacher_nll": 0.05123, "teacher_acc": 0.9842, "ensemble_samples": 290,
            "students": {
                "entropy": {"target": "entropy", "test": {"entropy_mae": 0.0213}},
                "predictive": {"target": "predictive",
                               "test": {"student_nll": 0.0601, "student_acc": 0.9811}},
                "var": {"target": "variance", "test": null}
            },
            "ood_threshold": {"score": "total", "threshold": 0.35, "tpr": 0.95, "holdout": 1000},
            "time": {"wall_s": 124.4, "ms_per_iteration": 4.147}
        });
        let text = finished_text(&json, Path::new("runs/q-1"));
        for line in [
            "finished 30000 iterations in 2 min 4 s (4.15 ms per iteration)",
            "teacher ensemble (290 samples): test NLL 0.0512, accuracy 98.42%",
            "student entropy (entropy): entropy MAE 0.0213 nats",
            "student predictive (predictive): test NLL 0.0601, accuracy 98.11%",
            "student var (variance): not scored on the test set",
            "OOD flag: total uncertainty above 0.3500 nats (95% of 1000 held-out images pass)",
            "run folder: runs/q-1 (every number in runs/q-1/metrics.json)",
            "next: `gped eval runs/q-1`",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration(4.24), "4.2 s");
        assert_eq!(duration(124.4), "2 min 4 s");
        assert_eq!(duration(3725.0), "1 h 2 min 5 s");
    }
}

//! `[prune]`: pruning and fine-tuning inside a run (the paper's Experiment 3, student
//! architecture search). Students distilled with a group lasso (`students.N.group_lasso > 0`)
//! lose their dead hidden units and channels once `at` iterations are done (a unit is dead
//! when its incoming weights and bias are all below `epsilon` in magnitude), and the run
//! continues the GPED loop for the remaining `fine_tune_iterations` with the smaller networks,
//! a fresh Adam at the reset learning rate, and no group lasso. This module holds the table
//! and its checks; `distill::prune` does the work.

use serde::{Deserialize, Serialize};

use super::schema::RunConfig;
use crate::{Error, Result};

/// `[prune]`: when and how the run prunes its group-lasso students.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PruneConfig {
    /// Prune once this many iterations are done, 0 = never (unless `fine_tune_iterations`
    /// says when). Must be after burn-in and before the run's end. Default 0.
    pub at: u64,
    /// Iterations of fine-tuning after pruning: the rest of the run, so
    /// `at + fine_tune_iterations = schedule.iterations`. Give either key and the other
    /// follows (the validated config records both); 0 = follows from `at`. Default 0.
    pub fine_tune_iterations: u64,
    /// epsilon: a hidden unit (a Linear layer's row with its bias, a Conv2d output channel
    /// with its bias) is removed when all its incoming weights are below this in magnitude,
    /// > 0. Default 1e-3 (the paper).
    pub epsilon: f64,
    /// The pruned students' Adam learning rate while fine-tuning (the paper resets it to 1e-4
    /// for the FCNN, 1e-3 for the CNNs), 0 = each student's own `learning_rate`. Its StepLR
    /// schedule, if any, starts again at pruning. Default 0.
    pub learning_rate: f64,
    /// The students to prune, by name; empty = every student with `group_lasso > 0` (none
    /// is allowed: the run then prunes nothing). Each needs dropout 0. Default [].
    pub students: Vec<String>,
}

impl Default for PruneConfig {
    fn default() -> Self {
        PruneConfig {
            at: 0,
            fine_tune_iterations: 0,
            epsilon: 1e-3,
            learning_rate: 0.0,
            students: Vec::new(),
        }
    }
}

impl PruneConfig {
    /// Whether the run prunes at all.
    pub fn enabled(&self) -> bool {
        self.at > 0
    }

    /// Whether the student `name` with group lasso `lambda` is pruned (when pruning is on).
    pub fn prunes(&self, name: &str, lambda: f64) -> bool {
        if self.students.is_empty() {
            lambda > 0.0
        } else {
            self.students.iter().any(|s| s == name)
        }
    }
}

/// Checks `[prune]` against the rest of `c` and fills in whichever of `at` and
/// `fine_tune_iterations` was left 0 (both stay 0 when pruning is off).
pub(super) fn check_prune(c: &mut RunConfig) -> Result<()> {
    let total = c.schedule.iterations;
    let p = &mut c.prune;
    if !(p.epsilon.is_finite() && p.epsilon > 0.0) {
        return Err(Error::config(
            "prune.epsilon",
            format!("must be finite and > 0, found {:?}", p.epsilon),
        ));
    }
    if !(p.learning_rate.is_finite() && p.learning_rate >= 0.0) {
        return Err(Error::config(
            "prune.learning_rate",
            format!("must be finite and >= 0, found {:?}", p.learning_rate),
        ));
    }
    match (p.at, p.fine_tune_iterations) {
        (0, 0) => {
            if !p.students.is_empty() {
                return Err(Error::config(
                    "prune.students",
                    "names students to prune, but neither prune.at nor \
                     prune.fine_tune_iterations says when",
                ));
            }
            return Ok(());
        }
        (0, f) if f >= total => {
            return Err(Error::config(
                "prune.fine_tune_iterations",
                format!("must be < schedule.iterations ({total}), found {f}"),
            ));
        }
        (0, f) => p.at = total - f,
        (at, 0) if at < total => p.fine_tune_iterations = total - at,
        (at, f) if at.checked_add(f) != Some(total) => {
            return Err(Error::config(
                "prune.fine_tune_iterations",
                format!(
                    "prune.at + prune.fine_tune_iterations must equal schedule.iterations \
                     ({total}): found {at} + {f}; give one of them and the other follows"
                ),
            ));
        }
        _ => {}
    }
    if p.at >= total || p.at <= c.schedule.burn_in {
        return Err(Error::config(
            "prune.at",
            format!(
                "must be after burn-in ({}) and before schedule.iterations ({total}), found {}",
                c.schedule.burn_in, p.at
            ),
        ));
    }
    for name in &p.students {
        if !c.students.iter().any(|s| &s.name == name) {
            return Err(Error::config(
                "prune.students",
                format!("names `{name}`, which is not a student of the run"),
            ));
        }
    }
    // No student to prune is allowed: a sweep over lambda has cells with lambda = 0, whose
    // runs then distil without pruning (prune.json lists no student).
    let pruned: Vec<_> = c
        .students
        .iter()
        .enumerate()
        .filter(|(_, s)| p.prunes(&s.name, s.group_lasso))
        .collect();
    if let Some((i, s)) = pruned.iter().find(|(_, s)| s.dropout > 0.0) {
        return Err(Error::config(
            format!("students[{i}].dropout"),
            format!(
                "must be 0 for a student that is pruned (`{}`; the paper prunes and \
                 fine-tunes without dropout), found {:?}",
                s.name, s.dropout
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StudentConfig;

    /// A 1000-iteration run (burn-in 100) whose first student has a group lasso.
    fn config() -> RunConfig {
        let mut c = RunConfig::default();
        (c.schedule.iterations, c.schedule.burn_in) = (1000, 100);
        c.students[0] = StudentConfig {
            group_lasso: 1e-4,
            dropout: 0.0,
            ..StudentConfig::default()
        };
        c
    }

    /// A change to the config and the parts of the error it must cause.
    type Case = (fn(&mut RunConfig), &'static [&'static str]);

    fn error(c: &RunConfig) -> String {
        c.validate().unwrap_err().to_string()
    }

    #[test]
    fn either_key_gives_the_other() {
        let mut c = config();
        c.prune.at = 600;
        let v = c.validate().unwrap();
        assert_eq!((v.prune.at, v.prune.fine_tune_iterations), (600, 400));
        let mut c = config();
        c.prune.fine_tune_iterations = 300;
        let v = c.validate().unwrap();
        assert_eq!((v.prune.at, v.prune.fine_tune_iterations), (700, 300));
        let mut c = config();
        (c.prune.at, c.prune.fine_tune_iterations) = (200, 800);
        assert!(c.validate().is_ok());
        // Off: both stay 0.
        let v = config().validate().unwrap();
        assert!(!v.prune.enabled());
        assert_eq!(v.prune.fine_tune_iterations, 0);
    }

    #[test]
    fn bad_settings_name_their_key() {
        let cases: Vec<Case> = vec![
            (|c| c.prune.at = 1000, &["prune.at", "found 1000"]),
            (|c| c.prune.at = 100, &["prune.at", "burn-in (100)"]),
            (
                |c| (c.prune.at, c.prune.fine_tune_iterations) = (500, 400),
                &["prune.fine_tune_iterations", "500 + 400"],
            ),
            (
                |c| c.prune.fine_tune_iterations = 1000,
                &["prune.fine_tune_iterations", "found 1000"],
            ),
            (|c| c.prune.epsilon = 0.0, &["prune.epsilon", "found 0.0"]),
            (
                |c| c.prune.learning_rate = f64::NAN,
                &["prune.learning_rate", "NaN"],
            ),
            (
                |c| c.prune.students = vec!["entropy".into()],
                &["prune.students", "neither"],
            ),
            (
                |c| (c.prune.at, c.prune.students) = (500, vec!["nobody".into()]),
                &["prune.students", "`nobody`"],
            ),
            (
                |c| {
                    (c.prune.at, c.students[1].dropout, c.prune.students) =
                        (500, 0.5, vec!["entropy".into()])
                },
                &["students[1].dropout", "`entropy`", "found 0.5"],
            ),
        ];
        for (change, parts) in cases {
            let mut c = config();
            change(&mut c);
            let err = error(&c);
            for part in parts {
                assert!(err.contains(part), "{part}: {err}");
            }
        }
    }

    #[test]
    fn named_students_are_pruned_whatever_their_lambda() {
        let mut c = config();
        (c.prune.at, c.prune.students) = (500, vec!["entropy".into()]);
        let v = c.validate().unwrap();
        assert!(v.prune.prunes("entropy", 0.0));
        assert!(!v.prune.prunes("predictive", 1e-4));
    }

    /// A sweep over lambda has cells with lambda = 0: their runs prune nothing.
    #[test]
    fn a_run_with_no_lasso_student_may_prune_nothing() {
        let mut c = config();
        (c.prune.at, c.students[0].group_lasso) = (500, 0.0);
        assert!(c.validate().is_ok());
    }
}

//! `students[].heads`: a student with several heads on one trunk (as the seed code's
//! `models.py`: predictive and entropy heads sharing the hidden layers). Each head has its
//! own target, estimator (U_s or U_o, with its own memory) and loss; the student is trained on
//! the sum of its heads' losses. Its output layer holds the heads' outputs side by side, in
//! the order of `heads` (predictive 10 + entropy 1 = 11 outputs). Here: the head table, the
//! heads of any student (a single-head student is one head made of its own fields) and the
//! checks of a student's target, estimator and loss, per head.

use super::choices::{Estimator, Loss, Target};
use super::schema::StudentConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// `{ target = "...", estimator = "...", loss = "..." }`: one head of a student. A missing
/// field takes the value of the default predictive student's (`predictive`, `sample`,
/// `cross-entropy`), as a student's does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeadConfig {
    /// The expectation g of the head: `predictive`, `entropy`, `variance` or
    /// `mutual-information` (the last only with `running-mean`); no two heads of a student
    /// may share one. Default `predictive`.
    pub target: Target,
    /// The head's estimator U: `sample` (U_s) or `running-mean` (U_o). Default `sample`.
    pub estimator: Estimator,
    /// The head's loss, as a student's for its target. Default `cross-entropy`.
    pub loss: Loss,
}

impl Default for HeadConfig {
    fn default() -> Self {
        let s = StudentConfig::default();
        HeadConfig {
            target: s.target,
            estimator: s.estimator,
            loss: s.loss,
        }
    }
}

impl StudentConfig {
    /// The student's heads: `heads` when given, else the one head of its own target,
    /// estimator and loss.
    pub fn head_configs(&self) -> Vec<HeadConfig> {
        if self.heads.is_empty() {
            vec![HeadConfig {
                target: self.target,
                estimator: self.estimator,
                loss: self.loss,
            }]
        } else {
            self.heads.clone()
        }
    }

    /// Whether one of the student's heads distils `target`.
    pub fn has_target(&self, target: Target) -> bool {
        self.head_configs().iter().any(|h| h.target == target)
    }

    /// Outputs of the student's network for `classes` classes: the sum of its heads'.
    pub fn outputs(&self, classes: usize) -> usize {
        self.head_configs()
            .iter()
            .map(|h| h.target.outputs(classes))
            .sum()
    }
}

/// The checks of student `i`'s target, estimator and loss: of its own fields when it has no
/// `heads`; else its own must be left at their defaults, and the heads must be distinct
/// targets, each checked as a student's.
pub fn check_student_heads(i: usize, s: &StudentConfig) -> Result<()> {
    let key = |field: &str| format!("students[{i}].{field}");
    if s.heads.is_empty() {
        return check_head(&key, &s.head_configs()[0]);
    }
    let own = HeadConfig {
        target: s.target,
        estimator: s.estimator,
        loss: s.loss,
    };
    let default = HeadConfig::default();
    for (field, set, found) in [
        ("target", own.target != default.target, own.target.as_str()),
        (
            "estimator",
            own.estimator != default.estimator,
            estimator_name(own.estimator),
        ),
        ("loss", own.loss != default.loss, own.loss.as_str()),
    ] {
        if set {
            return Err(Error::config(
                key(field),
                format!(
                    "is set per head by {}: leave it out of a student with heads, found `{found}`",
                    key("heads")
                ),
            ));
        }
    }
    for (j, head) in s.heads.iter().enumerate() {
        let head_key = |field: &str| format!("students[{i}].heads[{j}].{field}");
        check_head(&head_key, head)?;
        if let Some(k) = s.heads[..j].iter().position(|h| h.target == head.target) {
            return Err(Error::config(
                head_key("target"),
                format!(
                    "must differ from the other heads' targets, found `{}` as in heads[{k}]",
                    head.target.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// The estimator's name as written in a config file.
fn estimator_name(e: Estimator) -> &'static str {
    match e {
        Estimator::Sample => "sample",
        Estimator::RunningMean => "running-mean",
    }
}

/// One head's (or single-head student's) loss suits its target and its estimator can
/// estimate it; `key` names a field of the table.
fn check_head(key: &dyn Fn(&str) -> String, h: &HeadConfig) -> Result<()> {
    if !h.target.allowed_losses().contains(&h.loss) {
        let allowed: Vec<&str> = h
            .target
            .allowed_losses()
            .iter()
            .map(|l| l.as_str())
            .collect();
        return Err(Error::config(
            key("loss"),
            format!(
                "must be one of {} for target `{}`, found `{}`",
                allowed.join(", "),
                h.target.as_str(),
                h.loss.as_str()
            ),
        ));
    }
    if h.estimator == Estimator::Sample && !h.target.allows_sample_estimator() {
        return Err(Error::config(
            key("estimator"),
            format!(
                "must be `running-mean` for target `{}` (H[E p] - E H[p] is no expectation \
                 of one sample's value, so U_s cannot estimate it), found `sample`",
                h.target.as_str()
            ),
        ));
    }
    if h.estimator == Estimator::RunningMean && !h.target.allows_running_mean_estimator() {
        return Err(Error::config(
            key("estimator"),
            format!(
                "must be `sample` for target `{}` (each teacher sample is one draw of the \
                 student's Dirichlet; a running mean of them is none), found `running-mean`",
                h.target.as_str()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    /// The suggested two-headed student, read from TOML as a user writes it.
    const TWO_HEADED: &str = r#"
[[students]]
name = "two-headed"
thinning = 1
heads = [
  { target = "predictive", estimator = "sample", loss = "cross-entropy" },
  { target = "entropy", estimator = "running-mean", loss = "l1" },
]
"#;

    fn two_headed() -> RunConfig {
        RunConfig::from_toml_str(TWO_HEADED, "test").unwrap()
    }

    /// Validates `c`; returns the error's key and message.
    fn error_of(c: RunConfig) -> (String, String) {
        match c.validate() {
            Err(Error::Config { key, message }) => (key, message),
            other => panic!("expected a config error, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_two_headed_student_reads_validates_and_round_trips() {
        let c = two_headed();
        let s = &c.students[0];
        assert_eq!(s.heads.len(), 2);
        assert_eq!(
            (s.heads[1].target, s.heads[1].estimator, s.heads[1].loss),
            (Target::Entropy, Estimator::RunningMean, Loss::L1)
        );
        // Predictive 10 + entropy 1 outputs, side by side.
        assert_eq!(s.outputs(10), 11);
        assert!(s.has_target(Target::Entropy) && !s.has_target(Target::Variance));
        let text = toml::to_string(&c).unwrap();
        assert_eq!(RunConfig::from_toml_str(&text, "saved").unwrap(), c);
        c.validate().unwrap();
    }

    /// A student without heads is one head of its own fields, and its saved config does not
    /// mention heads (a run folder's config.toml is unchanged).
    #[test]
    fn a_single_head_student_is_its_own_head() {
        let c = RunConfig::default();
        let e = &c.students[1];
        assert_eq!(
            e.head_configs(),
            vec![HeadConfig {
                target: Target::Entropy,
                estimator: Estimator::RunningMean,
                loss: Loss::L1
            }]
        );
        assert_eq!(e.outputs(10), 1);
        assert!(!toml::to_string(&c).unwrap().contains("heads"));
    }

    #[test]
    fn a_student_with_heads_leaves_its_own_target_estimator_and_loss() {
        let mut c = two_headed();
        c.students[0].target = Target::Entropy;
        let (key, message) = error_of(c);
        assert_eq!(key, "students[0].target");
        assert!(message.contains("students[0].heads") && message.contains("`entropy`"));
        let mut c = two_headed();
        c.students[0].estimator = Estimator::RunningMean;
        assert_eq!(error_of(c).0, "students[0].estimator");
        let mut c = two_headed();
        c.students[0].loss = Loss::L1;
        assert_eq!(error_of(c).0, "students[0].loss");
    }

    #[test]
    fn heads_are_checked_one_by_one() {
        let mut c = two_headed();
        c.students[0].heads[1].loss = Loss::CrossEntropy;
        let (key, message) = error_of(c);
        assert_eq!(key, "students[0].heads[1].loss");
        assert!(message.contains("must be one of l1 for target `entropy`, found `cross-entropy`"));
        let mut c = two_headed();
        c.students[0].heads[1] = HeadConfig {
            target: Target::MutualInformation,
            estimator: Estimator::Sample,
            loss: Loss::L1,
        };
        let (key, message) = error_of(c);
        assert_eq!(key, "students[0].heads[1].estimator");
        assert!(message.contains("must be `running-mean`"), "{message}");
        let mut c = two_headed();
        c.students[0].heads[1].target = Target::Predictive;
        c.students[0].heads[1].loss = Loss::L1;
        let (key, message) = error_of(c);
        assert_eq!(key, "students[0].heads[1].target");
        assert!(message.contains("`predictive` as in heads[0]"), "{message}");
    }

    #[test]
    fn unknown_head_fields_are_named() {
        let text = TWO_HEADED.replace("loss = \"l1\"", "los = \"l1\"");
        let err = RunConfig::from_toml_str(&text, "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("los"), "{err}");
    }
}

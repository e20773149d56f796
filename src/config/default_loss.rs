//! The loss of a `[[students]]` table that leaves `loss` out: its target's own
//! (`Target::default_loss`: cross-entropy for the predictive, the Dirichlet NLL for the
//! Dirichlet, L1 for the others), so that a table with only `name` and `target` is complete.
//! serde fills a missing field from the default (predictive) student, whose cross-entropy
//! would not suit the other targets; this pass, run on the TOML table the config was read
//! from, puts the target's loss in its place.

use super::schema::RunConfig;

/// Sets the loss of each student whose table in `table` (the TOML `config` was read from)
/// has no `loss` key to its target's default loss.
pub(super) fn fill_default_losses(config: &mut RunConfig, table: &toml::Table) {
    let Some(toml::Value::Array(students)) = table.get("students") else {
        return;
    };
    for (student, raw) in config.students.iter_mut().zip(students) {
        if raw.as_table().is_some_and(|t| !t.contains_key("loss")) {
            student.loss = student.target.default_loss();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Loss, RunConfig, Target};

    fn parse(text: &str) -> RunConfig {
        RunConfig::from_toml_str(text, "test.toml").unwrap()
    }

    /// A table with only `name` and `target` gets the target's loss; a written loss stays.
    #[test]
    fn a_table_without_loss_gets_its_targets_loss() {
        let c = parse(
            "[[students]]\nname = \"d\"\ntarget = \"dirichlet\"\n\
             [[students]]\nname = \"e\"\ntarget = \"entropy\"\n\
             [[students]]\nname = \"p\"\n\
             [[students]]\nname = \"q\"\nloss = \"inverse-kl\"\n",
        );
        let losses: Vec<(Target, Loss)> = c.students.iter().map(|s| (s.target, s.loss)).collect();
        assert_eq!(
            losses,
            [
                (Target::Dirichlet, Loss::DirichletNll),
                (Target::Entropy, Loss::L1),
                (Target::Predictive, Loss::CrossEntropy),
                (Target::Predictive, Loss::InverseKl),
            ]
        );
        assert!(c.validate().is_ok());
    }

    /// A student added by `--set students=[...]` without `loss` gets its target's too; one
    /// whose target an override changes keeps its written loss (the config check then
    /// names the mismatch).
    #[test]
    fn overrides_fill_new_tables_only() {
        let c = RunConfig::default()
            .with_overrides(&["students=[{name = \"d\", target = \"dirichlet\"}]".into()])
            .unwrap();
        assert_eq!(c.students[0].loss, Loss::DirichletNll);
        let c = RunConfig::default()
            .with_overrides(&["students.0.target=dirichlet".into()])
            .unwrap();
        assert_eq!(c.students[0].loss, Loss::CrossEntropy);
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("students[0].loss"), "{err}");
    }
}

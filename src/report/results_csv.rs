//! `results.csv`: one row per (cell, student of the cell) of every finished cell, in the order
//! of `sweep.json`'s cells, then the cell's students by name (cells not finished are listed in
//! `report.md`, not here). Columns, in order: `cell`; one per varied axis, named by its key,
//! with the value as it reads in TOML (arrays joined by `;`: `0.5;0.5`); then [`COLUMNS`].
//! Numbers are written in Rust's shortest round-trip form; an absent number (no such student,
//! no `eval.json`, a metric that was not finite) is an empty field.
//!
//! Times are only in the columns whose names end in `_s`, `_us` or `ms_per_iteration`
//! (`chain_wall_s`, `chain_ms_per_iteration`, the students' measured inference times per
//! example `inference_batch1_us` and `inference_large_batch_us`): everything else is a function of the sweep's
//! configs and seeds, so two sweeps of one spec give the same file apart from those columns,
//! and a comparison of two sweeps' CSVs skips exactly them. Keep it so when adding columns.

use super::rows::{Row, SweepRows, estimator_name};
use crate::base::write_atomic;
use crate::{Error, Result};
use std::path::Path;

/// The columns after `cell` and the varied axes.
pub const COLUMNS: [&str; 36] = [
    "mask_size",
    "mask_rate",
    "train_subset",
    "seed",
    "student",
    "chain_student",
    "target",
    "estimator",
    "width",
    "teacher_nll",
    "teacher_acc",
    "student_nll",
    "student_acc",
    "entropy_mae",
    "ood_auroc_total_student",
    "ood_auroc_knowledge_student",
    "ood_auroc_total_teacher",
    "ood_auroc_knowledge_teacher",
    "params",
    "flops",
    "iterations",
    "ensemble_samples",
    "chain_wall_s",
    "chain_ms_per_iteration",
    "chain",
    "group_lasso",
    "group_lasso_layers",
    "group_lasso_groups",
    "hidden_widths",
    "pruned",
    "params_before_pruning",
    "flops_before_pruning",
    "pareto_flops",
    "pareto_params",
    "inference_batch1_us",
    "inference_large_batch_us",
];

/// Whether column `name` holds a time (and so differs between two runs of one sweep).
pub fn is_time_column(name: &str) -> bool {
    name.ends_with("_s") || name.ends_with("_us") || name.ends_with("ms_per_iteration")
}

/// The header: `cell`, the varied keys, [`COLUMNS`].
pub fn header(varied: &[String]) -> Vec<String> {
    std::iter::once("cell".to_string())
        .chain(varied.iter().cloned())
        .chain(COLUMNS.iter().map(|c| c.to_string()))
        .collect()
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// The fields of `r` after `cell` and its settings, in the order of [`COLUMNS`].
fn fields(r: &Row) -> [String; 36] {
    [
        r.mask_size.to_string(),
        r.mask_rate.to_string(),
        r.train_subset.to_string(),
        r.seed.to_string(),
        r.student.clone(),
        r.chain_student.clone(),
        r.target.as_str().to_string(),
        estimator_name(r.estimator).to_string(),
        format!("{:?};{:?}", r.width[0], r.width[1]),
        opt(r.teacher_nll),
        opt(r.teacher_acc),
        opt(r.student_nll),
        opt(r.student_acc),
        opt(r.entropy_mae),
        opt(r.ood_student.total),
        opt(r.ood_student.knowledge),
        opt(r.ood_teacher.total),
        opt(r.ood_teacher.knowledge),
        r.params.to_string(),
        r.flops.to_string(),
        r.iterations.to_string(),
        r.ensemble_samples.to_string(),
        r.chain_wall_s.to_string(),
        r.chain_ms_per_iteration.to_string(),
        r.chain.clone(),
        r.group_lasso.to_string(),
        r.group_lasso_layers
            .iter()
            .map(|m| format!("{m:?}"))
            .collect::<Vec<_>>()
            .join(";"),
        r.group_lasso_groups.as_str().to_string(),
        r.hidden_widths
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(";"),
        r.pruned_from.is_some().to_string(),
        opt(r.pruned_from.map(|p| p.params_before as f64)),
        opt(r.pruned_from.map(|p| p.flops_before as f64)),
        r.front.flops.to_string(),
        r.front.params.to_string(),
        opt(r.inference.map(|t| t.batch_1_us)),
        opt(r.inference.map(|t| t.batch_n_us)),
    ]
}

/// The CSV text of `rows`.
pub fn csv_text(rows: &SweepRows) -> Result<String> {
    let fail = |e: String| Error::InvalidArgument(format!("results.csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header(&rows.varied))
        .map_err(|e| fail(e.to_string()))?;
    for r in &rows.rows {
        let record = std::iter::once(r.cell.clone())
            .chain(r.settings.iter().map(|(_, v)| v.clone()))
            .chain(fields(r));
        w.write_record(record).map_err(|e| fail(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| fail(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| fail(e.to_string()))
}

/// Writes `rows` as `path` (atomically).
pub fn write_csv(path: &Path, rows: &SweepRows) -> Result<()> {
    write_atomic(path, csv_text(rows)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_time_columns_end_in_s() {
        let times: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| is_time_column(c))
            .collect();
        assert_eq!(
            times,
            [
                "chain_wall_s",
                "chain_ms_per_iteration",
                "inference_batch1_us",
                "inference_large_batch_us"
            ]
        );
        assert!(!is_time_column("cell") && !is_time_column("students.0.width"));
    }
}

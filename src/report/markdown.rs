//! `report.md`: a sweep's report, readable on its own. What the sweep is (its spec and axes),
//! the cells not finished (each with its chain and the chain's state: never silently left
//! out), one table row per (cell, student), the mean ± std over seeds when `seed` is an axis,
//! the paper's Tables 5/6/7 with our numbers beside the published ones, the architecture
//! search's students by size with their Pareto fronts, the heatmaps, and what the columns
//! mean.

use super::folder::SweepFile;
use super::heatmap_figure::Heatmap;
use super::paper::{COLUMNS, LaidTable};
use super::pareto::{ParetoFigure, chain_students};
use super::rows::{Row, SweepRows, estimator_symbol};
use super::summary::{SeedGroup, text_or_dash};
use crate::config::LassoGroups;
use crate::eval::report::write_figure;
use std::fmt::Write;

/// Everything `report.md` shows.
pub struct ReportParts<'a> {
    /// The sweep folder as given.
    pub dir: &'a str,
    pub sweep: &'a SweepFile,
    pub rows: &'a SweepRows,
    pub seeds: &'a [SeedGroup],
    pub tables: &'a [LaidTable],
    pub heatmaps: &'a [Heatmap],
    pub pareto: &'a [ParetoFigure],
}

/// The Markdown text of the report.
pub fn markdown(p: &ReportParts) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = write_markdown(&mut md, p);
    md
}

/// A number with `d` decimals, `-` when absent or not finite.
fn num(v: Option<f64>, d: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.d$}"),
        _ => "-".into(),
    }
}

fn write_markdown(md: &mut String, p: &ReportParts) -> std::fmt::Result {
    let (sweep, rows) = (p.sweep, p.rows);
    let finished = sweep.cells.len() - rows.missing.len();
    writeln!(md, "# GPED sweep report\n")?;
    writeln!(
        md,
        "Sweep folder: `{}` ({}): {} cells on {} teacher chains; {finished} cells finished, {} not \
         finished. Cells that differ only in student settings share one chain.\n",
        p.dir,
        sweep.format,
        sweep.cells.len(),
        sweep.chains.len(),
        rows.missing.len()
    )?;
    write_sweep(md, sweep)?;

    writeln!(md, "## Cells not finished\n")?;
    if rows.missing.is_empty() {
        writeln!(md, "None: every cell is finished.\n")?;
    }
    for m in &rows.missing {
        writeln!(
            md,
            "- not finished: `{}`, chain `{}` (`{}`): {}",
            m.cell, m.chain, m.chain_dir, m.state
        )?;
    }
    if !rows.missing.is_empty() {
        writeln!(md, "\nThey have no rows below, nor in `results.csv`.\n")?;
    }

    write_cells(md, &rows.rows)?;
    write_seeds(md, p.seeds)?;
    write_tables(md, p.tables)?;
    for figure in p.pareto {
        write_search(md, &rows.rows, figure)?;
    }

    if !p.heatmaps.is_empty() {
        writeln!(md, "## Figures\n")?;
    }
    for h in p.heatmaps {
        write_figure(md, &h.title, &h.stem, &h.caption)?;
    }

    writeln!(md, "## Definitions\n")?;
    for line in DEFINITIONS {
        writeln!(md, "- {line}")?;
    }
    Ok(())
}

/// The architecture search of one chain: its distinct predictive students by FLOPs, with
/// their size, measured speed, test NLL and front marks, then the figure.
fn write_search(md: &mut String, rows: &[Row], figure: &ParetoFigure) -> std::fmt::Result {
    writeln!(
        md,
        "## Architecture search: chain `{}`
",
        figure.chain
    )?;
    let mut students = chain_students(rows, &figure.chain);
    students.sort_by_key(|r| (r.flops, r.params));
    writeln!(
        md,
        "| student | K1, K2 | lambda | hidden widths | params | FLOPs | FLOPs before pruning | \
         us/example, batch 1 / large | student NLL | student acc. | front (FLOPs / params) |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    let mark = |on: bool| if on { "yes" } else { "-" };
    for r in students {
        let widths: Vec<String> = r.hidden_widths.iter().map(|w| w.to_string()).collect();
        let speed = r.inference.map_or("-".to_string(), |t| {
            format!("{:.2} / {:.3}", t.batch_1_us, t.batch_n_us)
        });
        writeln!(
            md,
            "| `{}` | {}, {} | {} | {} | {} | {} | {} | {speed} | {} | {} | {} / {} |",
            r.chain_student,
            r.width[0],
            r.width[1],
            lambda_text(r.group_lasso, &r.group_lasso_layers, r.group_lasso_groups),
            widths.join(", "),
            r.params,
            r.flops,
            r.pruned_from
                .map_or("-".to_string(), |p| p.flops_before.to_string()),
            num(r.student_nll, 4),
            num(r.student_acc, 4),
            mark(r.front.flops),
            mark(r.front.params),
        )?;
    }
    writeln!(
        md,
        "\nInference times are measured by the run at its end, on its machine and under its \
         load: compare them within a chain.\n"
    )?;
    write_figure(md, &figure.title, &figure.stem, &figure.caption)
}

/// A student's lambda as the table shows it: `0.005`, `0.005 x [1, 3.1, 4.3]` with per-layer
/// multipliers, either followed by `, in-out` for groups with outgoing weights.
fn lambda_text(lambda: f64, layers: &[f64], groups: LassoGroups) -> String {
    let mut text = lambda.to_string();
    if !layers.is_empty() {
        let list: Vec<String> = layers.iter().map(|m| m.to_string()).collect();
        text = format!("{text} x [{}]", list.join(", "));
    }
    if groups == LassoGroups::IncomingOutgoing {
        text.push_str(", in-out");
    }
    text
}

fn write_sweep(md: &mut String, sweep: &SweepFile) -> std::fmt::Result {
    writeln!(md, "## The sweep\n")?;
    writeln!(md, "| axis | values | varied |\n|---|---|---|")?;
    for (key, values) in &sweep.axes {
        let list = match values {
            serde_json::Value::Array(v) => v.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
            other => vec![other.to_string()],
        };
        let varied = if sweep.varied.contains(key) {
            "yes"
        } else {
            "no"
        };
        writeln!(md, "| `{key}` | {} | {varied} |", list.join(", "))?;
    }
    // The spec as TOML, as it was written (JSON when it does not fit TOML).
    let spec = toml::to_string(&sweep.spec)
        .map(|t| ("toml", t))
        .unwrap_or_else(|_| {
            let json = serde_json::to_string_pretty(&sweep.spec).unwrap_or_default();
            ("json", json)
        });
    writeln!(
        md,
        "\nThe spec:\n\n```{}\n{}\n```\n",
        spec.0,
        spec.1.trim_end()
    )
}

fn write_cells(md: &mut String, rows: &[Row]) -> std::fmt::Result {
    writeln!(md, "## Results per cell (test set)\n")?;
    if rows.is_empty() {
        return writeln!(md, "No cell is finished yet.\n");
    }
    writeln!(
        md,
        "| cell | student | target | U | mask rate (m) | n | seed | teacher NLL | student NLL | \
         student acc. | entropy MAE | OOD AUROC total, student / teacher | OOD AUROC knowledge, \
         student / teacher | params | iterations |"
    )?;
    writeln!(
        md,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )?;
    for r in rows {
        let pair = |s: Option<f64>, t: Option<f64>| match (s, t) {
            (None, None) => "-".to_string(),
            (s, t) => format!("{} / {}", num(s, 3), num(t, 3)),
        };
        writeln!(
            md,
            "| `{}` | {} | {} | {} | {:.2} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.cell,
            r.student,
            r.target.as_str(),
            estimator_symbol(r.estimator),
            r.mask_rate,
            r.mask_size,
            r.train_subset,
            r.seed,
            num(r.teacher_nll, 4),
            num(r.student_nll, 4),
            num(r.student_acc, 4),
            num(r.entropy_mae, 4),
            pair(r.ood_student.total, r.ood_teacher.total),
            pair(r.ood_student.knowledge, r.ood_teacher.knowledge),
            r.params,
            r.iterations
        )?;
    }
    writeln!(md)
}

fn write_seeds(md: &mut String, seeds: &[SeedGroup]) -> std::fmt::Result {
    if seeds.is_empty() {
        return Ok(());
    }
    writeln!(md, "## Over seeds (mean ± std)\n")?;
    writeln!(
        md,
        "The rows above that differ only in `seed`; std is the sample standard deviation \
         (n - 1).\n"
    )?;
    writeln!(
        md,
        "| settings | student | seeds | teacher NLL | student NLL | student acc. | entropy MAE |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|")?;
    for g in seeds {
        let settings: Vec<String> = g
            .settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        let seeds: Vec<String> = g.seeds.iter().map(u64::to_string).collect();
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            if settings.is_empty() {
                "-".into()
            } else {
                settings.join(", ")
            },
            g.student,
            seeds.join(", "),
            text_or_dash(g.teacher_nll, 4),
            text_or_dash(g.student_nll, 4),
            text_or_dash(g.student_acc, 4),
            text_or_dash(g.entropy_mae, 4)
        )?;
    }
    writeln!(md)
}

fn write_tables(md: &mut String, tables: &[LaidTable]) -> std::fmt::Result {
    writeln!(md, "## The paper's tables\n")?;
    if tables.is_empty() {
        return writeln!(
            md,
            "No finished cell is on a model of the paper's Tables 5-7 (MNIST with the FCNN or \
             the CNN, CIFAR-10 with the CNN).\n"
        );
    }
    writeln!(
        md,
        "Ours (test set) beside the published number (Vadera et al. 2020, supplementary \
         Tables 5-7, 10^6 iterations). U_o: running-mean estimator (Eq. 10), U_s: sample \
         estimator (Eq. 9); `-`: no student of that kind in the sweep.\n"
    )?;
    for t in tables {
        let group: Vec<String> = t.group.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        let suffix = match group.is_empty() {
            true => String::new(),
            false => format!(", {}", group.join(", ")),
        };
        writeln!(
            md,
            "### Table {} layout: {}{suffix}\n",
            t.paper.number, t.paper.model
        )?;
        writeln!(md, "| n | mask rate (m) | {} |", COLUMNS.join(" | "))?;
        writeln!(md, "|---|---|---|---|---|---|---|")?;
        for r in &t.rows {
            writeln!(
                md,
                "| {} | {:.2} ({}) | {} |",
                r.train_subset,
                r.mask_rate,
                r.mask_size,
                r.cells.join(" | ")
            )?;
        }
        writeln!(md)?;
    }
    Ok(())
}

const DEFINITIONS: &[&str] = &[
    "**Cell**: one point of the grid (one value of each axis); its name is `key-value` of each axis joined by `__`. **Chain**: one teacher run (SGLD, Eq. 7) whose students are those of all the cells it serves; a cell's student may have another name in its chain.",
    "**Teacher NLL**: the test-set NLL of the teacher ensemble (the average of p(y|x,θ_s) over the posterior samples after burn-in). **Student NLL**: the predictive student's. **Entropy MAE**: mean |entropy student − teacher's expected entropy| over the test set.",
    "**Mask rate**: m²/(image side²) for the occluded m x m square of every image (m²/784 on MNIST). **n**: the teacher's training subset (the whole training set when the config says 0).",
    "**OOD AUROC**: from `gped eval` of the chain (`eval/eval.json`), with total or knowledge uncertainty as the score; `-` where the chain was not evaluated.",
    "`results.csv` holds every row above and more columns (FLOPs, posterior samples, time per chain); its columns are listed in `src/report/results_csv.rs`.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_shows_its_layer_multipliers() {
        let (paper, in_out) = (LassoGroups::Incoming, LassoGroups::IncomingOutgoing);
        assert_eq!(lambda_text(0.005, &[], paper), "0.005");
        assert_eq!(
            lambda_text(0.005, &[1.0, 3.1, 4.3], paper),
            "0.005 x [1, 3.1, 4.3]"
        );
        assert_eq!(lambda_text(0.005, &[], in_out), "0.005, in-out");
        assert_eq!(
            lambda_text(0.005, &[1.0, 2.0], in_out),
            "0.005 x [1, 2], in-out"
        );
    }
}

//! `gped report DIR [--out OUT]` from end to end: read the sweep folder, make its rows, write
//! `results.csv`, the heatmaps and the architecture search's Pareto fronts (PNG and SVG) and
//! `report.md` into OUT (default DIR).

use super::folder::SweepFolder;
use super::heatmaps::heatmaps;
use super::markdown::{ReportParts, markdown};
use super::paper::lay_out;
use super::pareto::pareto_figures;
use super::results_csv::write_csv;
use super::rows::SweepRows;
use super::summary::seed_groups;
use crate::base::write_atomic;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What a report wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOutput {
    /// The folder written to.
    pub out: PathBuf,
    /// Rows of `results.csv`.
    pub rows: usize,
    /// Cells not finished, each with its state (`cell: chain: state`).
    pub missing: Vec<String>,
    /// Paper tables laid out.
    pub tables: usize,
    /// Stems of the figures (each as `.png` and `.svg`).
    pub figures: Vec<String>,
}

/// Reports the sweep in `dir` into `out` (default `dir`, made if missing).
pub fn report_sweep(dir: &Path, out: Option<&Path>) -> Result<ReportOutput> {
    let folder = SweepFolder::read(dir)?;
    let rows = SweepRows::of(&folder)?;
    let seeds = seed_groups(&rows);
    // The paper's tables and Figure 1 are about unpruned students without a group lasso.
    let plain = rows.without_searched();
    let tables = lay_out(&plain);
    let maps = heatmaps(&plain);
    let fronts = pareto_figures(&rows.rows);
    let out = out.unwrap_or(dir);
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    write_csv(&out.join("results.csv"), &rows)?;
    for map in &maps {
        crate::eval::render(map, out, &map.stem)?;
    }
    for front in &fronts {
        crate::eval::render(front, out, &front.stem)?;
    }
    let parts = ReportParts {
        dir: &dir.display().to_string(),
        sweep: &folder.sweep,
        rows: &rows,
        seeds: &seeds,
        tables: &tables,
        heatmaps: &maps,
        pareto: &fronts,
    };
    write_atomic(&out.join("report.md"), markdown(&parts).as_bytes())?;
    Ok(ReportOutput {
        out: out.to_path_buf(),
        rows: rows.rows.len(),
        missing: rows
            .missing
            .iter()
            .map(|m| format!("{}: chain {}: {}", m.cell, m.chain, m.state))
            .collect(),
        tables: tables.len(),
        figures: maps
            .iter()
            .map(|m| m.stem.clone())
            .chain(fronts.iter().map(|f| f.stem.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{
        Run, entropy, finished_chain, predictive, searched, stopped_chain, sweep_json,
    };
    use serde_json::json;

    /// The grid of `gped sweep`'s example: mask side {0, 10} x predictive width {0.5, 1.0}
    /// (FCNN, MNIST). The widths share a chain per mask; a chain holds `predictive` (K 0.5),
    /// `predictive-1` (K 1.0) and `entropy`.
    fn mask_by_width(dir: &Path) {
        let cell = |m: u32, k: &str| format!("data.mask_size-{m}__students.0.width-{k}_{k}");
        let settings = |m: u32, k: f64| json!({"data.mask_size": m, "students.0.width": [k, k]});
        let small = json!({"predictive": "predictive", "entropy": "entropy"});
        let large = json!({"predictive": "predictive-1", "entropy": "entropy"});
        let (c0, c10) = ("data.mask_size-0", "data.mask_size-10");
        sweep_json(
            dir,
            json!({"data.mask_size": [0, 10], "students.0.width": [[0.5, 0.5], [1.0, 1.0]]}),
            &["data.mask_size", "students.0.width"],
            &[
                (&cell(0, "0.5"), settings(0, 0.5), c0, small.clone()),
                (&cell(0, "1.0"), settings(0, 1.0), c0, large.clone()),
                (&cell(10, "0.5"), settings(10, 0.5), c10, small),
                (&cell(10, "1.0"), settings(10, 1.0), c10, large),
            ],
        );
        let chain = |teacher: f64, (small, large): (f64, f64), mae: f64| {
            vec![
                predictive("predictive", "sample", [0.5, 0.5], 100, (teacher, small)),
                entropy("entropy", 300, mae),
                predictive("predictive-1", "sample", [1.0, 1.0], 400, (teacher, large)),
            ]
        };
        let m0 = "chains/data.mask_size-0";
        finished_chain(
            dir,
            m0,
            &Run::fcnn(0, 0),
            0.052,
            &chain(0.052, (0.090, 0.060), 0.017),
        );
        let m10 = "chains/data.mask_size-10";
        finished_chain(
            dir,
            m10,
            &Run::fcnn(10, 0),
            0.150,
            &chain(0.150, (0.250, 0.200), 0.045),
        );
        // `gped eval` ran on the mask-0 chain only.
        std::fs::create_dir_all(dir.join(m0).join("eval")).unwrap();
        let det = |t: f64, k: f64| json!({"total": {"auroc": t}, "knowledge": {"auroc": k}});
        let eval = json!({"teacher": {"ood_detection": det(0.97, 0.95)},
                          "students": {"predictive": {"ood_detection": det(0.93, 0.90)}}});
        std::fs::write(dir.join(m0).join("eval/eval.json"), eval.to_string()).unwrap();
    }

    fn read_csv(path: &Path) -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(path).unwrap();
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        std::iter::once(header)
            .chain(
                r.records()
                    .map(|rec| rec.unwrap().iter().map(String::from).collect()),
            )
            .collect()
    }

    #[test]
    fn mask_by_width_sweep_gives_its_csv_tables_and_heatmaps() {
        let dir = tempfile::tempdir().unwrap();
        mask_by_width(dir.path());
        let out = dir.path().join("report");
        let done = report_sweep(dir.path(), Some(&out)).unwrap();
        // 4 cells x 2 students each; nothing missing.
        assert_eq!((done.rows, done.missing.len(), done.tables), (8, 0, 2));

        let csv = read_csv(&out.join("results.csv"));
        let col = |name: &str| csv[0].iter().position(|c| c == name).unwrap();
        assert_eq!(
            csv[0][..4],
            ["cell", "data.mask_size", "students.0.width", "mask_size"]
        );
        assert_eq!(csv.len(), 9);
        // Row order: the cells in sweep.json's order, then their students by name.
        let order: Vec<(&str, &str)> = csv[1..]
            .iter()
            .map(|r| (r[0].as_str(), r[col("student")].as_str()))
            .collect();
        assert_eq!(
            order[0],
            ("data.mask_size-0__students.0.width-0.5_0.5", "entropy")
        );
        assert_eq!(
            order[1],
            ("data.mask_size-0__students.0.width-0.5_0.5", "predictive")
        );
        assert_eq!(
            order[3],
            ("data.mask_size-0__students.0.width-1.0_1.0", "predictive")
        );
        assert_eq!(order[7].0, "data.mask_size-10__students.0.width-1.0_1.0");

        // Cell (m 0, K 1.0), student `predictive` = the chain's `predictive-1`.
        let r = &csv[4];
        let get = |name: &str| r[col(name)].as_str();
        assert_eq!(
            (get("data.mask_size"), get("students.0.width")),
            ("0", "1.0;1.0")
        );
        assert_eq!(
            (get("chain_student"), get("target"), get("estimator")),
            ("predictive-1", "predictive", "sample")
        );
        assert_eq!(
            (
                get("width"),
                get("mask_rate"),
                get("train_subset"),
                get("seed")
            ),
            ("1.0;1.0", "0", "60000", "0")
        );
        assert_eq!(
            (get("teacher_nll"), get("student_nll"), get("entropy_mae")),
            ("0.052", "0.06", "")
        );
        assert_eq!(
            (
                get("params"),
                get("flops"),
                get("iterations"),
                get("ensemble_samples")
            ),
            ("400", "800", "30000", "289")
        );
        // eval.json has the teacher and `predictive` only: no AUROC of `predictive-1`.
        assert_eq!(
            (
                get("ood_auroc_total_student"),
                get("ood_auroc_total_teacher")
            ),
            ("", "0.97")
        );
        assert_eq!(
            (
                get("chain_wall_s"),
                get("chain_ms_per_iteration"),
                get("chain")
            ),
            ("120.5", "4", "data.mask_size-0")
        );
        // Cell (m 0, K 0.5), `predictive`: its own AUROCs.
        assert_eq!(
            (
                csv[2][col("ood_auroc_knowledge_student")].as_str(),
                csv[2][col("ood_auroc_knowledge_teacher")].as_str()
            ),
            ("0.9", "0.95")
        );
        // The entropy row: the MAE, no student NLL.
        assert_eq!(
            (
                csv[1][col("entropy_mae")].as_str(),
                csv[1][col("student_nll")].as_str()
            ),
            ("0.017", "")
        );
        // m = 10: rate 100/784 = 25/196 = 0.127551020408...; the mask-10 chain has no eval.json.
        assert!(
            csv[5][col("mask_rate")].starts_with("0.1275510204"),
            "{}",
            csv[5][col("mask_rate")]
        );
        assert_eq!(csv[6][col("ood_auroc_total_teacher")], "");

        // Table 6 layout, one table per predictive width (U_s students; U_o entropy).
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        let small = "### Table 6 layout: FCNN-MNIST, students.0.width = 0.5;0.5";
        let large = "### Table 6 layout: FCNN-MNIST, students.0.width = 1.0;1.0";
        assert!(md.contains(small) && md.contains(large), "{md}");
        let rows_of = |heading: &str| -> Vec<String> {
            let t = md.split(heading).nth(1).unwrap();
            let t = t.split("\n#").next().unwrap();
            t.lines()
                .filter(|l| l.starts_with("| 60000"))
                .map(String::from)
                .collect()
        };
        assert_eq!(
            rows_of(small),
            [
                "| 60000 | 0.00 (0) | 0.052 (paper 0.052) | - | 0.090 (paper 0.082) | 0.017 (paper 0.016) | - |",
                "| 60000 | 0.13 (10) | 0.150 (paper 0.155) | - | 0.250 (paper 0.240) | 0.045 (paper 0.043) | - |",
            ]
        );
        assert_eq!(
            rows_of(large),
            [
                "| 60000 | 0.00 (0) | 0.052 (paper 0.052) | - | 0.060 (paper 0.082) | 0.017 (paper 0.016) | - |",
                "| 60000 | 0.13 (10) | 0.150 (paper 0.155) | - | 0.200 (paper 0.240) | 0.045 (paper 0.043) | - |",
            ]
        );
        assert!(md.contains("None: every cell is finished."));
        assert!(md.contains("| `data.mask_size` | 0, 10 | yes |"), "{md}");

        // Heatmaps: mask x subset, one per width; width x mask for `predictive` only (the
        // entropy student's width does not change).
        assert_eq!(
            done.figures,
            [
                "heatmap_mask_subset_1",
                "heatmap_mask_subset_2",
                "heatmap_width_mask_students_0_width",
            ]
        );
        for stem in &done.figures {
            assert!(
                out.join(format!("{stem}.png")).is_file()
                    && out.join(format!("{stem}.svg")).is_file()
            );
            assert!(md.contains(&format!("]({stem}.png)")));
        }
        let svg =
            std::fs::read_to_string(out.join("heatmap_width_mask_students_0_width.svg")).unwrap();
        // Gaps student - teacher: K 0.5: 0.090 - 0.052, 0.250 - 0.150; K 1.0: 0.060 - 0.052,
        // 0.200 - 0.150.
        for gap in ["0.038", "0.100", "0.008", "0.050"] {
            assert!(svg.contains(gap), "{gap}");
        }
        assert!(!svg.contains("entropy MAE"));
    }

    /// An architecture search on one chain: lambda 0 (unpruned, 478,410 parameters, NLL
    /// 0.40), 1e-3 (pruned to 200,000, NLL 0.41), 3e-3 (pruned to 250,000, NLL 0.45: larger
    /// and worse than the 1e-3 student, so off the front) and 1e-2 (pruned to 50,000, NLL
    /// 0.60).
    #[test]
    fn an_architecture_search_marks_and_draws_its_pareto_front() {
        let dir = tempfile::tempdir().unwrap();
        let lambdas = [
            (0.0, "0.0"),
            (1e-3, "0.001"),
            (3e-3, "0.003"),
            (1e-2, "0.01"),
        ];
        let names = ["predictive", "predictive-1", "predictive-2", "predictive-3"];
        let cells: Vec<(String, serde_json::Value, serde_json::Value)> = lambdas
            .iter()
            .zip(names)
            .map(|((l, text), chain_name)| {
                (
                    format!("students.0.group_lasso-{text}"),
                    json!({ "students.0.group_lasso": l }),
                    json!({ "predictive": chain_name }),
                )
            })
            .collect();
        sweep_json(
            dir.path(),
            json!({"students.0.group_lasso": [0.0, 1e-3, 3e-3, 1e-2]}),
            &["students.0.group_lasso"],
            &cells
                .iter()
                .map(|(n, s, st)| (n.as_str(), s.clone(), "all", st.clone()))
                .collect::<Vec<_>>(),
        );
        let students = [
            searched("predictive", 478_410, 0.0, None, 0.40),
            searched("predictive-1", 200_000, 1e-3, Some(478_410), 0.41),
            searched("predictive-2", 250_000, 3e-3, Some(478_410), 0.45),
            searched("predictive-3", 50_000, 1e-2, Some(478_410), 0.60),
        ];
        finished_chain(dir.path(), "chains/all", &Run::fcnn(15, 0), 0.36, &students);
        let done = report_sweep(dir.path(), None).unwrap();
        // The searched students stay out of the paper's tables: one table, the lambda = 0 row.
        assert_eq!(done.tables, 1);
        assert_eq!(done.figures, ["pareto_front"]);
        for ext in ["png", "svg"] {
            assert!(dir.path().join(format!("pareto_front.{ext}")).is_file());
        }
        let csv = read_csv(&dir.path().join("results.csv"));
        let col = |name: &str| csv[0].iter().position(|c| c == name).unwrap();
        let fronts: Vec<(&str, &str, &str, &str)> = csv[1..]
            .iter()
            .map(|r| {
                (
                    r[col("chain_student")].as_str(),
                    r[col("pareto_flops")].as_str(),
                    r[col("pruned")].as_str(),
                    r[col("flops_before_pruning")].as_str(),
                )
            })
            .collect();
        assert_eq!(
            fronts,
            [
                ("predictive", "true", "false", ""),
                ("predictive-1", "true", "true", "956820"),
                ("predictive-2", "false", "true", "956820"),
                ("predictive-3", "true", "true", "956820"),
            ]
        );
        // 1 us per 1,000 parameters at batch 1 (the fixture's times).
        assert_eq!(csv[2][col("inference_batch1_us")], "200");
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(md.contains("## Architecture search: chain `all`"), "{md}");
        // Sorted by FLOPs: the 1e-2 student first.
        let first = md.find("`predictive-3`").unwrap();
        assert!(first < md.find("`predictive-1`").unwrap());
        assert!(md.contains("| `predictive-2` | 1, 1 | 0.003 |"), "{md}");
        assert!(md.contains("![Student size against test NLL (chain all)](pareto_front.png)"));
    }

    /// Seeds 0..3 of one FCNN cell: seeds 0 and 1 finished, seed 2 stopped at a checkpoint,
    /// seed 3 not started.
    fn seeds(dir: &Path) {
        let cells: Vec<(String, serde_json::Value)> = (0..4)
            .map(|s| (format!("seed-{s}"), json!({ "seed": s })))
            .collect();
        let students = json!({"predictive": "predictive", "entropy": "entropy"});
        sweep_json(
            dir,
            json!({"seed": [0, 1, 2, 3]}),
            &["seed"],
            &cells
                .iter()
                .map(|(n, s)| (n.as_str(), s.clone(), n.as_str(), students.clone()))
                .collect::<Vec<_>>(),
        );
        let chain = |teacher: f64, nll: f64, mae: f64| {
            vec![
                predictive("predictive", "sample", [1.0, 1.0], 100, (teacher, nll)),
                entropy("entropy", 300, mae),
            ]
        };
        finished_chain(
            dir,
            "chains/seed-0",
            &Run::fcnn(0, 0),
            0.050,
            &chain(0.050, 0.06, 0.016),
        );
        finished_chain(
            dir,
            "chains/seed-1",
            &Run::fcnn(0, 1),
            0.054,
            &chain(0.054, 0.08, 0.018),
        );
        stopped_chain(
            dir,
            "chains/seed-2",
            &Run::fcnn(0, 2),
            &chain(0.0, 0.0, 0.0),
            2000,
        );
    }

    #[test]
    fn missing_cells_are_listed_and_seeds_summarised() {
        let dir = tempfile::tempdir().unwrap();
        seeds(dir.path());
        let done = report_sweep(dir.path(), None).unwrap();
        assert_eq!(done.rows, 4);
        assert_eq!(
            done.missing,
            [
                "seed-2: chain seed-2: checkpoint at iteration 2000 of 30000",
                "seed-3: chain seed-3: no folder",
            ]
        );
        // No mask, subset or width axis: no heatmap.
        assert!(done.figures.is_empty());
        let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(
            md.contains("4 cells on 4 teacher chains; 2 cells finished, 2 not finished"),
            "{md}"
        );
        assert!(md.contains("- not finished: `seed-2`, chain `seed-2` (`chains/seed-2`): checkpoint at iteration 2000 of 30000"), "{md}");
        assert!(
            md.contains("- not finished: `seed-3`, chain `seed-3` (`chains/seed-3`): no folder"),
            "{md}"
        );
        // Over seeds 0 and 1: NLL 0.06, 0.08 -> 0.0700 ± 0.0141 (sample std sqrt(2e-4));
        // teacher 0.050, 0.054 -> 0.0520 ± 0.0028; MAE 0.016, 0.018 -> 0.0170 ± 0.0014.
        assert!(md.contains("| - | predictive | 0, 1 | 0.0520 ± 0.0028 | 0.0700 ± 0.0141 | 0.9700 ± 0.0000 | - |"), "{md}");
        assert!(
            md.contains("| - | entropy | 0, 1 | 0.0520 ± 0.0028 | - | - | 0.0170 ± 0.0014 |"),
            "{md}"
        );
        // The paper table: one row, seeds pooled.
        assert!(md.contains("| 60000 | 0.00 (0) | 0.052 ± 0.003 (paper 0.052) | - | 0.070 ± 0.014 (paper 0.082) | 0.017 ± 0.001 (paper 0.016) | - |"), "{md}");
        let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
        assert_eq!(csv.lines().count(), 5);
        assert!(!csv.contains("seed-2") && !csv.contains("seed-3"));
    }

    #[test]
    fn a_malformed_chain_file_stops_the_report_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        seeds(dir.path());
        let metrics = dir.path().join("chains/seed-1/metrics.json");
        std::fs::write(&metrics, r#"{"iterations": "many"}"#).unwrap();
        let e = report_sweep(dir.path(), None).unwrap_err().to_string();
        assert!(e.starts_with(&metrics.display().to_string()), "{e}");
        assert!(e.contains("not a valid gped metrics.json file"), "{e}");
        assert!(!dir.path().join("report.md").exists());

        // A student the cell names that its chain does not have.
        seeds(dir.path());
        let cfg = dir.path().join("chains/seed-1/config.toml");
        let text = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("\"entropy\"\ntarget", "\"aleatoric\"\ntarget");
        std::fs::write(&cfg, text).unwrap();
        let e = report_sweep(dir.path(), None).unwrap_err().to_string();
        assert!(e.starts_with(&cfg.display().to_string()), "{e}");
        assert!(e.contains("cell `seed-1`: expected its student `entropy`, found students `predictive`, `aleatoric`"), "{e}");
    }
}

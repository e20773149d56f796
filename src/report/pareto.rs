//! The speed-storage-accuracy trade-off of a student architecture search (the paper's
//! Experiment 3): within each teacher chain, the predictive students with a test NLL form a
//! cloud of (size, NLL) points, size being FLOPs per example or parameters. A student is on
//! the Pareto front when no other student of its chain is at most as large and at most as bad
//! with one of the two strictly better. The report marks the fronts in `results.csv` and
//! `report.md` and draws them ([`pareto_figures`]) for every chain that distilled a student
//! under a group lasso or pruned one, beside that chain's unpruned students.

use super::rows::Row;
use crate::config::Target;
use crate::eval::{DrawResult, Figure, SANS};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Whether a student is on its chain's fronts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Front {
    /// NLL against FLOPs per example.
    pub flops: bool,
    /// NLL against parameters.
    pub params: bool,
}

/// For points (size, loss), whether each is on the Pareto front (lower is better in both):
/// no other point is <= in both and < in one. Equal points are all on it.
pub fn on_front(points: &[(f64, f64)]) -> Vec<bool> {
    points
        .iter()
        .map(|&(s, l)| {
            !points
                .iter()
                .any(|&(s2, l2)| s2 <= s && l2 <= l && (s2 < s || l2 < l))
        })
        .collect()
}

/// Whether row `r` takes part in a front: a predictive student with a finite test NLL.
fn ranked(r: &Row) -> Option<f64> {
    r.student_nll
        .filter(|v| v.is_finite() && r.target == Target::Predictive)
}

/// The predictive students of chain `chain`, each once (a chain student shared by several
/// cells has a row per cell), in row order.
pub fn chain_students<'a>(rows: &'a [Row], chain: &str) -> Vec<&'a Row> {
    let mut seen: Vec<&str> = Vec::new();
    rows.iter()
        .filter(|r| r.chain == chain && r.target == Target::Predictive)
        .filter(|r| {
            let new = !seen.contains(&r.chain_student.as_str());
            seen.push(&r.chain_student);
            new
        })
        .collect()
}

/// Marks [`Row::front`] of every row, chain by chain (a student of several cells counts once
/// per cell; its duplicates are equal points, all on the front or none).
pub fn mark_fronts(rows: &mut [Row]) {
    let mut chains: Vec<String> = rows.iter().map(|r| r.chain.clone()).collect();
    chains.sort();
    chains.dedup();
    for chain in chains {
        let members: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].chain == chain && ranked(&rows[i]).is_some())
            .collect();
        let points = |size: fn(&Row) -> u64| -> Vec<(f64, f64)> {
            members
                .iter()
                .map(|&i| (size(&rows[i]) as f64, ranked(&rows[i]).unwrap_or(f64::NAN)))
                .collect()
        };
        let by_flops = on_front(&points(|r| r.flops));
        let by_params = on_front(&points(|r| r.params));
        for (k, &i) in members.iter().enumerate() {
            rows[i].front = Front {
                flops: by_flops[k],
                params: by_params[k],
            };
        }
    }
}

/// One student in a Pareto figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub flops: f64,
    pub params: f64,
    pub nll: f64,
    pub pruned: bool,
    pub front: Front,
}

/// The Pareto figure of one chain: NLL against FLOPs and against parameters;
/// pruned students filled, unpruned ones hollow, each front as a line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoFigure {
    /// The file name without extension.
    pub stem: String,
    pub chain: String,
    pub title: String,
    pub caption: String,
    pub points: Vec<Point>,
}

/// The figures of the chains with a group-lasso or pruned predictive student, each from the
/// chain's ranked rows (one point per distinct chain student).
pub fn pareto_figures(rows: &[Row]) -> Vec<ParetoFigure> {
    let mut chains: Vec<&str> = Vec::new();
    for r in rows {
        let searched = r.group_lasso > 0.0 || r.pruned_from.is_some();
        if searched && ranked(r).is_some() && !chains.contains(&r.chain.as_str()) {
            chains.push(&r.chain);
        }
    }
    chains
        .iter()
        .enumerate()
        .map(|(i, chain)| {
            let points = chain_students(rows, chain)
                .into_iter()
                .filter(|r| ranked(r).is_some())
                .map(|r| Point {
                    flops: r.flops as f64,
                    params: r.params as f64,
                    nll: ranked(r).unwrap_or(f64::NAN),
                    pruned: r.pruned_from.is_some(),
                    front: r.front,
                })
                .collect();
            let stem = match chains.len() {
                1 => "pareto_front".to_string(),
                _ => format!("pareto_front_{}", i + 1),
            };
            ParetoFigure {
                stem,
                chain: chain.to_string(),
                title: format!("Student size against test NLL (chain {chain})"),
                caption: format!(
                    "The predictive students of chain `{chain}`: test NLL against FLOPs per \
                     example (left) and parameters (right). Filled: pruned after \
                     distillation with a group lasso; hollow: not pruned. The line joins the \
                     Pareto front (no other student is both smaller and better)."
                ),
                points,
            }
        })
        .collect()
}

/// A linear axis range from 0 to 5% past the largest of `values`.
fn size_span(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let hi = values.filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    0.0..if hi > 0.0 { hi * 1.05 } else { 1.0 }
}

/// A size as the axis labels show it: `250k`, `1.2M`.
fn size_label(v: f64) -> String {
    match v.abs() {
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e3 => format!("{:.0}k", v / 1e3),
        _ => format!("{v:.0}"),
    }
}

impl Figure for ParetoFigure {
    fn size(&self) -> (u32, u32) {
        (1100, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let root = root.titled(&self.title, (SANS, 22))?;
        let panels = root.split_evenly((1, 2));
        let flops = |p: &Point| (p.flops, p.front.flops);
        let params = |p: &Point| (p.params, p.front.params);
        self.draw_panel(&panels[0], "FLOPs per example", flops)?;
        self.draw_panel(&panels[1], "parameters", params)
    }
}

impl ParetoFigure {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        desc: &str,
        size: impl Fn(&Point) -> (f64, bool),
    ) -> DrawResult<DB> {
        let x = size_span(self.points.iter().map(|p| size(p).0));
        let nlls: Vec<f64> = self.points.iter().map(|p| p.nll).collect();
        let (lo, hi) = nlls
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let pad = ((hi - lo) * 0.08).max(1e-3);
        let y = if lo.is_finite() {
            lo - pad..hi + pad
        } else {
            0.0..1.0
        };
        let mut chart = ChartBuilder::on(area)
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc(desc)
            .x_label_formatter(&|v| size_label(*v))
            .y_desc("test NLL")
            .label_style((SANS, 13))
            .axis_desc_style((SANS, 14))
            .draw()?;
        let red = RGBColor(214, 39, 40);
        let mut front: Vec<(f64, f64)> = self
            .points
            .iter()
            .filter(|p| size(p).1)
            .map(|p| (size(p).0, p.nll))
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(front, red.stroke_width(2)))?
            .label("Pareto front")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], red.stroke_width(2)));
        let blue = RGBColor(31, 119, 180);
        let (pruned, whole): (Vec<&Point>, Vec<&Point>) =
            self.points.iter().partition(|p| p.pruned);
        chart
            .draw_series(
                pruned
                    .iter()
                    .map(|p| Circle::new((size(p).0, p.nll), 5, blue.filled())),
            )?
            .label("pruned")
            .legend(move |(x, y)| Circle::new((x + 9, y), 5, blue.filled()));
        chart
            .draw_series(
                whole
                    .iter()
                    .map(|p| Circle::new((size(p).0, p.nll), 5, BLACK.stroke_width(2))),
            )?
            .label("not pruned")
            .legend(|(x, y)| Circle::new((x + 9, y), 5, BLACK.stroke_width(2)));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.9))
            .label_font((SANS, 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: (1, 5) and (4, 1) are each best in one coordinate; (2, 3) beats neither
    /// but is beaten by none (smaller than (4, 1), better than (1, 5)); (3, 4) is beaten by
    /// (2, 3); the duplicate (2, 3) stays on the front with its twin.
    #[test]
    fn the_front_is_the_points_nothing_beats() {
        let points = [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0), (4.0, 1.0), (2.0, 3.0)];
        assert_eq!(on_front(&points), [true, true, false, true, true]);
        assert_eq!(on_front(&[]), Vec::<bool>::new());
    }

    #[test]
    fn a_pareto_figure_renders_as_png_and_svg() {
        let point = |flops: f64, nll: f64, pruned: bool, on: bool| Point {
            flops,
            params: flops / 2.0,
            nll,
            pruned,
            front: Front {
                flops: on,
                params: on,
            },
        };
        let fig = ParetoFigure {
            stem: "pareto_front".into(),
            chain: "all".into(),
            title: "Student size against test NLL (chain all)".into(),
            caption: String::new(),
            points: vec![
                point(956_000.0, 0.40, false, true),
                point(240_000.0, 0.41, true, true),
                point(480_000.0, 0.45, true, false),
            ],
        };
        crate::eval::plots::assert_rendered(
            &fig,
            &[
                "Student size against test NLL (chain all)",
                "test NLL",
                "pruned",
            ],
        );
    }
}

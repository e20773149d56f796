//! The demo's figure: maps over the plane's square of the teacher's (top row) and the
//! students' (bottom row) total, aleatoric and epistemic uncertainty, all six on one colour
//! scale (viridis, from 0 to ln 2 nats, the largest entropy of two classes) shown by the bar
//! at the right, with the training points on each map (class 0 white, class 1 orange, ringed
//! in black). An `eval::Figure`, so `eval::render` writes it as PNG and SVG. Each map's cells
//! are coloured at one of [`LEVELS`] levels, and the cells of one level next to each other in
//! a row are drawn as one rectangle, which keeps the SVG small.

use super::grid::plane_point;
use super::maps::{Decomposition, Maps};
use crate::data::{Dataset, PLANE};
use crate::eval::{DrawResult, Figure, SANS};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::f64::consts::LN_2;

/// The figure's file name, without extension.
pub const MAPS_STEM: &str = "uncertainty_maps";
/// Colour levels of the maps and the bar.
pub const LEVELS: usize = 32;
/// Maps per row.
const COLUMNS: usize = 3;
/// Pixel size of one map with its title and axes.
const PANEL: (u32, u32) = (380, 400);
/// Pixel width of the colour bar with its labels.
const BAR_WIDTH: u32 = 120;
/// Height of the figure's title.
const TITLE_HEIGHT: u32 = 50;

/// One map: its title and one value per grid cell, row by row from the bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPanel {
    pub title: String,
    pub values: Vec<f32>,
}

/// Maps over one grid of `side x side` cells, [`COLUMNS`] a row, with the training points.
#[derive(Debug, Clone, PartialEq)]
pub struct UncertaintyMaps {
    pub title: String,
    pub side: usize,
    pub panels: Vec<MapPanel>,
    /// The training points (x, y) in the plane and their classes.
    pub points: Vec<(f64, f64, u8)>,
}

/// The colour level of `value` (nats) on the scale [0, ln 2], clamped.
fn level(value: f32) -> usize {
    let h = (f64::from(value) / LN_2).clamp(0.0, 1.0);
    (h * (LEVELS - 1) as f64).round() as usize
}

/// The colour of level `level`.
fn colour(level: usize) -> RGBColor {
    ViridisRGB.get_color_normalized(level as f64, 0.0, (LEVELS - 1) as f64)
}

/// The runs of equal level in one row of `levels`: (first column, end column, level).
fn runs(levels: &[usize]) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    for (col, &l) in levels.iter().enumerate() {
        match out.last_mut() {
            Some(run) if run.2 == l => run.1 = col + 1,
            _ => out.push((col, col + 1, l)),
        }
    }
    out
}

impl Figure for UncertaintyMaps {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(COLUMNS).max(1) as u32;
        (
            COLUMNS as u32 * PANEL.0 + BAR_WIDTH,
            TITLE_HEIGHT + rows * PANEL.1,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let root = root.titled(&self.title, (SANS, 22))?;
        let (maps, bar) = root.split_horizontally(COLUMNS as u32 * PANEL.0);
        let rows = self.panels.len().div_ceil(COLUMNS).max(1);
        for (panel, area) in self.panels.iter().zip(&maps.split_evenly((rows, COLUMNS))) {
            self.draw_map(panel, area)?;
        }
        draw_colour_bar(&bar)
    }
}

impl UncertaintyMaps {
    /// The demo's figure of `maps` over a grid of `side` cells a side, with the points of
    /// `training`.
    pub fn of(maps: &Maps, side: usize, training: &Dataset) -> Self {
        let row = |who: &str, d: &Decomposition, sources: [&str; 2]| {
            let panel = |title: String, values: &Vec<f32>| MapPanel {
                title,
                values: values.clone(),
            };
            [
                panel(format!("{who}: total ({})", sources[0]), &d.total),
                panel(format!("{who}: aleatoric ({})", sources[1]), &d.aleatoric),
                panel(format!("{who}: epistemic (difference)"), &d.epistemic),
            ]
        };
        let panels = row("Teacher", &maps.grid.teacher, ["ensemble", "ensemble"])
            .into_iter()
            .chain(row(
                "Student",
                &maps.grid.student,
                ["predictive", "entropy student"],
            ))
            .collect();
        UncertaintyMaps {
            title: format!(
                "GPED on two moons: the teacher's {} posterior samples (top) and two distilled \
                 students (bottom)",
                maps.ensemble_samples
            ),
            side,
            panels,
            points: (0..training.len())
                .map(|i| {
                    let (x, y) = plane_point(training, i);
                    (x, y, training.label(i))
                })
                .collect(),
        }
    }

    fn draw_map<DB: DrawingBackend>(
        &self,
        panel: &MapPanel,
        area: &DrawingArea<DB, Shift>,
    ) -> DrawResult<DB> {
        let (x0, y0) = (PLANE.x_min, PLANE.y_min);
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (SANS, 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(x0..x0 + PLANE.side, y0..y0 + PLANE.side)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(6)
            .y_labels(6)
            .label_style((SANS, 12))
            .draw()?;
        let cell = PLANE.side / self.side.max(1) as f64;
        let mut cells = Vec::new();
        for (row, values) in panel.values.chunks(self.side.max(1)).enumerate() {
            let levels: Vec<usize> = values.iter().map(|&v| level(v)).collect();
            let y = y0 + row as f64 * cell;
            for (start, end, l) in runs(&levels) {
                let corners = [
                    (x0 + start as f64 * cell, y),
                    (x0 + end as f64 * cell, y + cell),
                ];
                cells.push(Rectangle::new(corners, colour(l).filled()));
            }
        }
        chart.draw_series(cells)?;
        let orange = RGBColor(255, 140, 0);
        chart.draw_series(self.points.iter().flat_map(|&(x, y, class)| {
            let fill = if class == 0 { WHITE } else { orange };
            [
                Circle::new((x, y), 3, BLACK.filled()),
                Circle::new((x, y), 2, fill.filled()),
            ]
        }))?;
        Ok(())
    }
}

/// The colour bar: the scale's [`LEVELS`] colours from 0 (bottom) to ln 2 nats.
fn draw_colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let area = area.margin(60, 80, 10, 10);
    let mut chart = ChartBuilder::on(&area)
        .set_label_area_size(LabelAreaPosition::Right, 60)
        .build_cartesian_2d(0f64..1f64, 0f64..LN_2)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_desc("nats")
        .label_style((SANS, 12))
        .axis_desc_style((SANS, 13))
        .draw()?;
    let step = LN_2 / LEVELS as f64;
    chart.draw_series((0..LEVELS).map(|l| {
        let y = l as f64 * step;
        Rectangle::new([(0.0, y), (1.0, y + step)], colour(l).filled())
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_span_the_scale_and_clamp() {
        assert_eq!(level(0.0), 0);
        assert_eq!(level(LN_2 as f32), LEVELS - 1);
        assert_eq!(level(-0.1), 0);
        assert_eq!(level(5.0), LEVELS - 1);
    }

    #[test]
    fn runs_merge_equal_neighbours() {
        assert_eq!(
            runs(&[1, 1, 2, 2, 2, 1]),
            vec![(0, 2, 1), (2, 5, 2), (5, 6, 1)]
        );
        assert_eq!(runs(&[]), vec![]);
    }

    #[test]
    fn the_maps_render_as_png_and_svg() {
        let side = 4;
        let fig = UncertaintyMaps {
            title: "Uncertainty maps".into(),
            side,
            panels: (0..6)
                .map(|p| MapPanel {
                    title: format!("map {p}"),
                    values: (0..side * side).map(|i| i as f32 / 25.0).collect(),
                })
                .collect(),
            points: vec![(0.0, 0.0, 0), (1.0, 0.5, 1)],
        };
        crate::eval::plots::assert_rendered(&fig, &["Uncertainty maps", "map 5", "nats"]);
    }
}

//! A heatmap figure as a plotters drawing (an `eval::Figure`, so `eval::render` writes it as
//! PNG and SVG): panels side by side, two per row, each a grid of coloured cells over two
//! categorical axes (the mask rate across, the training subset or the student's width up)
//! with the value written in each cell. The colour scale (viridis) spans each panel's own
//! range; an empty cell (no finished run there) is grey and marked `-`.

use crate::eval::{DrawResult, Figure, SANS};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// One panel: a title and its values, `values[y][x]` (y = 0 at the bottom).
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub values: Vec<Vec<Option<f64>>>,
}

/// Panels over the same two categorical axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// The file name without extension.
    pub stem: String,
    pub title: String,
    pub caption: String,
    pub x_desc: String,
    pub y_desc: String,
    pub x_labels: Vec<String>,
    pub y_labels: Vec<String>,
    pub panels: Vec<Panel>,
}

/// `n` categories on an axis: category i spans [i, i + 1]; its key point (label) is the
/// centre i + 0.5.
#[derive(Clone)]
struct Categories(usize);

impl Ranged for Categories {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = (limit.1 - limit.0) as f64;
        limit.0 + (span * value / self.0.max(1) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.0 as f64
    }
}

/// The label of the category whose centre is `v`.
fn label_at(labels: &[String], v: f64) -> String {
    labels
        .get(v.floor().max(0.0) as usize)
        .cloned()
        .unwrap_or_default()
}

/// The panel's colour range: its finite values' minimum and maximum (a unit range when flat
/// or empty).
fn value_range(values: &[Vec<Option<f64>>]) -> (f64, f64) {
    let (lo, hi) = values
        .iter()
        .flatten()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    match lo < hi {
        true => (lo, hi),
        false if lo.is_finite() => (lo - 0.5, lo + 0.5),
        false => (0.0, 1.0),
    }
}

/// A value with three significant digits after the point as the tables show it.
fn value_text(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

impl Figure for Heatmap {
    fn size(&self) -> (u32, u32) {
        let (nx, ny) = (self.x_labels.len() as u32, self.y_labels.len() as u32);
        let columns = self.panels.len().clamp(1, 2) as u32;
        let rows = self.panels.len().div_ceil(2).max(1) as u32;
        let panel_w = (170 + 95 * nx).max(480);
        let panel_h = (130 + 48 * ny).max(260);
        // Wide enough for the title (about 12 pixels a character at 22 points).
        let title_w = 12 * self.title.chars().count() as u32 + 60;
        ((columns * panel_w).max(title_w), 50 + rows * panel_h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let root = root.titled(&self.title, (SANS, 22))?;
        let columns = self.panels.len().clamp(1, 2);
        let cells = root.split_evenly((self.panels.len().div_ceil(2).max(1), columns));
        for (panel, area) in self.panels.iter().zip(&cells) {
            self.draw_panel(panel, area)?;
        }
        Ok(())
    }
}

impl Heatmap {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
    ) -> DrawResult<DB> {
        let (nx, ny) = (self.x_labels.len(), self.y_labels.len());
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (SANS, 17))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(95)
            .build_cartesian_2d(Categories(nx), Categories(ny))?;
        let x_fmt = |v: &f64| label_at(&self.x_labels, *v);
        let y_fmt = |v: &f64| label_at(&self.y_labels, *v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x_desc.as_str())
            .y_desc(self.y_desc.as_str())
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((SANS, 13))
            .axis_desc_style((SANS, 14))
            .draw()?;
        let (lo, hi) = value_range(&panel.values);
        let centre = Pos::new(HPos::Center, VPos::Center);
        for (y, row) in panel.values.iter().enumerate() {
            for (x, value) in row.iter().enumerate() {
                let (x0, y0) = (x as f64, y as f64);
                let corners = [(x0, y0), (x0 + 1.0, y0 + 1.0)];
                let (fill, text, ink) = match value.filter(|v| v.is_finite()) {
                    Some(v) => {
                        let h = (v - lo) / (hi - lo);
                        let colour: RGBColor = ViridisRGB.get_color_normalized(h, 0.0, 1.0);
                        // Dark text on the light (yellow-green) end of viridis.
                        let ink = if h > 0.6 { BLACK } else { WHITE };
                        (colour, value_text(v), ink)
                    }
                    None => (RGBColor(215, 215, 215), "-".to_string(), BLACK),
                };
                chart.draw_series([
                    Rectangle::new(corners, fill.filled()),
                    Rectangle::new(corners, WHITE.stroke_width(2)),
                ])?;
                let style = (SANS, 15).into_font().color(&ink).pos(centre);
                chart.draw_series([Text::new(text, (x0 + 0.5, y0 + 0.5), style)])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_put_labels_at_the_centres() {
        let c = Categories(4);
        assert_eq!(c.key_points(10usize), vec![0.5, 1.5, 2.5, 3.5]);
        // [0, 4] onto pixels 100..500: category 1 spans 200..300.
        assert_eq!(
            (c.map(&1.0, (100, 500)), c.map(&2.0, (100, 500))),
            (200, 300)
        );
        let labels = ["a".to_string(), "b".to_string()];
        assert_eq!(
            (label_at(&labels, 1.5), label_at(&labels, 7.5)),
            ("b".into(), "".into())
        );
    }

    #[test]
    fn colour_range_ignores_gaps_and_widens_a_flat_panel() {
        assert_eq!(
            value_range(&[vec![Some(0.2), None], vec![Some(0.5), Some(f64::NAN)]]),
            (0.2, 0.5)
        );
        assert_eq!(value_range(&[vec![Some(1.0)]]), (0.5, 1.5));
        assert_eq!(value_range(&[vec![None]]), (0.0, 1.0));
    }

    #[test]
    fn a_heatmap_renders_as_png_and_svg() {
        let fig = Heatmap {
            stem: "h".into(),
            title: "Teacher NLL over mask and subset".into(),
            caption: String::new(),
            x_desc: "mask rate".into(),
            y_desc: "n".into(),
            x_labels: vec!["0 (m = 0)".into(), "0.13 (m = 10)".into()],
            y_labels: vec!["60000".into()],
            panels: vec![Panel {
                title: "teacher NLL".into(),
                values: vec![vec![Some(0.052), None]],
            }],
        };
        crate::eval::plots::assert_rendered(
            &fig,
            &[
                "Teacher NLL over mask and subset",
                "0.052",
                "0.13 (m = 10)",
                "60000",
            ],
        );
    }
}

//! The figures of an evaluation as plotters drawings, each generic over the backend so that the
//! same code draws the PNG and the SVG: the reliability diagram, the ROC curves, the
//! uncertainty histograms, the learning curves and the teacher-vs-student scatter.

use super::curves::LearningCurves;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;

/// The font family every text style of the figures uses.
pub const SANS: &str = "sans-serif";
/// Most points drawn per scatter set and per ROC curve (keeps the SVG files small).
pub(super) const MAX_POINTS: usize = 2000;

/// Points of a series, (x, y).
pub(super) type Points = Vec<(f64, f64)>;

/// What drawing on a backend `DB` returns.
pub type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that draws itself on any plotters backend (so one drawing gives the PNG and the
/// SVG; see `plots::render`).
pub trait Figure {
    /// Pixel size (width, height).
    fn size(&self) -> (u32, u32);
    /// Draws on `root`, already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// Series colours: black (the teacher), then matplotlib's "tab10" cycle.
const COLOURS: [RGBColor; 8] = [
    RGBColor(0, 0, 0),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The colour of series `i` (0 = the teacher, black).
fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// Colours of the in-distribution and OOD sets.
const IN_COLOUR: RGBColor = RGBColor(31, 119, 180);
const OUT_COLOUR: RGBColor = RGBColor(214, 39, 40);

/// The range of `values` with a 5% margin (a unit-free default when empty or flat).
fn padded_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad)..(hi + pad)
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((SANS, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
}

/// A chart on the unit square with its mesh, axis descriptions and a grey diagonal labelled
/// `diagonal` (perfect calibration, or chance).
fn unit_square_chart<'a, DB: DrawingBackend + 'a>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    (x_desc, y_desc): (&str, &str),
    diagonal: &str,
) -> std::result::Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (SANS, 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((SANS, 14))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], grey))?
        .label(diagonal)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey));
    Ok(chart)
}

pub(super) struct Reliability {
    pub(super) series: Vec<(String, Points)>,
}

impl Figure for Reliability {
    fn size(&self) -> (u32, u32) {
        (800, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut chart = unit_square_chart(
            root,
            "Reliability diagram (test set)",
            ("confidence (max probability)", "accuracy"),
            "perfect calibration",
        )?;
        for (i, (name, pts)) in self.series.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

pub(super) struct Roc {
    /// Per curve: label, model index (its colour), whether it is knowledge (dashed), points.
    pub(super) curves: Vec<(String, usize, bool, Points)>,
}

impl Figure for Roc {
    fn size(&self) -> (u32, u32) {
        (800, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut chart = unit_square_chart(
            root,
            "ROC: OOD detection",
            ("false-positive rate", "true-positive rate"),
            "chance",
        )?;
        for (name, model, dashed, pts) in &self.curves {
            let c = colour(*model);
            let step = pts.len().div_ceil(MAX_POINTS).max(1);
            let thinned = pts.iter().step_by(step).chain(pts.last()).copied();
            let style = c.stroke_width(2);
            let series = if *dashed {
                chart.draw_series(DashedLineSeries::new(thinned, 6, 4, style))?
            } else {
                chart.draw_series(LineSeries::new(thinned, style))?
            };
            let dashed = *dashed;
            series.label(name).legend(move |(x, y)| {
                let end = if dashed { x + 10 } else { x + 20 };
                PathElement::new([(x, y), (end, y)], style)
            });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// Per model: name, total (test, OOD) and knowledge (test, OOD) uncertainties.
pub(super) type HistRow = (
    String,
    (Vec<f32>, Option<Vec<f32>>),
    Option<(Vec<f32>, Option<Vec<f32>>)>,
);

pub(super) struct Histograms {
    pub(super) rows: Vec<HistRow>,
}

impl Figure for Histograms {
    fn size(&self) -> (u32, u32) {
        (1100, 330 * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let cells = root.split_evenly((self.rows.len().max(1), 2));
        for (r, (name, total, knowledge)) in self.rows.iter().enumerate() {
            draw_histogram(&cells[2 * r], &format!("{name}: total"), Some(total))?;
            draw_histogram(
                &cells[2 * r + 1],
                &format!("{name}: knowledge"),
                knowledge.as_ref(),
            )?;
        }
        Ok(())
    }
}

/// Bins of a histogram: (lo, hi, fraction of the inputs).
type Bins = Vec<(f64, f64, f64)>;

/// The histogram of `values` over `range` in `bins` equal bins (values outside go to the ends).
fn histogram(values: &[f32], range: &Range<f64>, bins: usize) -> Bins {
    let width = (range.end - range.start) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &v in values {
        let b = ((v as f64 - range.start) / width).floor();
        counts[(b.max(0.0) as usize).min(bins - 1)] += 1;
    }
    let n = values.len().max(1) as f64;
    (0..bins)
        .map(|b| {
            let lo = range.start + b as f64 * width;
            (lo, lo + width, counts[b] as f64 / n)
        })
        .collect()
}

fn draw_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    sets: Option<&(Vec<f32>, Option<Vec<f32>>)>,
) -> DrawResult<DB> {
    let Some((test, ood)) = sets else {
        area.titled(&format!("{title}: not available"), (SANS, 18))?;
        return Ok(());
    };
    let all = test.iter().chain(ood.iter().flatten()).map(|&v| v as f64);
    let range = padded_range(all);
    let bins = 40;
    let parts: Vec<(&str, RGBColor, Bins)> = std::iter::once(("test", IN_COLOUR, test))
        .chain(ood.iter().map(|o| ("OOD", OUT_COLOUR, o)))
        .map(|(n, c, v)| (n, c, histogram(v, &range, bins)))
        .collect();
    let top = parts
        .iter()
        .flat_map(|p| p.2.iter().map(|b| b.2))
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (SANS, 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(range, 0f64..(top * 1.08).max(1e-3))?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("nats")
        .y_desc("fraction")
        .label_style((SANS, 12))
        .draw()?;
    for (name, c, bars) in parts {
        chart
            .draw_series(
                bars.iter()
                    .map(|&(lo, hi, f)| Rectangle::new([(lo, 0.0), (hi, f)], c.mix(0.45).filled())),
            )?
            .label(name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 15, y + 5)], c.mix(0.45).filled())
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

pub(super) struct Learning<'a> {
    pub(super) curves: &'a LearningCurves,
}

impl Figure for Learning<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (upper, lower) = root.split_vertically(450);
        draw_curves(
            &upper,
            "Negative log-likelihood",
            "NLL (nats)",
            &self.curves.nll,
        )?;
        draw_curves(
            &lower,
            "Distillation",
            "entropy MAE / loss",
            &self.curves.distillation,
        )
    }
}

fn draw_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    series: &std::collections::BTreeMap<String, Points>,
) -> DrawResult<DB> {
    let xs = padded_range(series.values().flatten().map(|p| p.0));
    let ys = padded_range(series.values().flatten().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, (SANS, 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xs, ys)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("iteration")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(y_desc)
        .label_style((SANS, 13))
        .draw()?;
    for (i, (name, pts)) in series.iter().filter(|(_, p)| !p.is_empty()).enumerate() {
        let c = colour(i + 1);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.filled())))?;
    }
    if series.values().any(|p| !p.is_empty()) {
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

pub(super) struct Scatter {
    /// Per panel: title, test points and OOD points, (teacher, student).
    pub(super) panels: Vec<(String, Points, Points)>,
}

impl Figure for Scatter {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(2).max(1) as u32;
        (1100, 520 * rows)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        if self.panels.is_empty() {
            root.titled("no predictive student: nothing to compare", (SANS, 20))?;
            return Ok(());
        }
        let cells = root.split_evenly((self.panels.len().div_ceil(2), 2));
        for ((title, test, ood), cell) in self.panels.iter().zip(&cells) {
            let range = padded_range(test.iter().chain(ood).flat_map(|p| [p.0, p.1]));
            let mut chart = ChartBuilder::on(cell)
                .caption(title, (SANS, 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(range.clone(), range.clone())?;
            chart
                .configure_mesh()
                .light_line_style(TRANSPARENT)
                .x_desc("teacher (nats)")
                .y_desc("student (nats)")
                .label_style((SANS, 12))
                .draw()?;
            chart.draw_series(LineSeries::new(
                [(range.start, range.start), (range.end, range.end)],
                RGBColor(150, 150, 150),
            ))?;
            for (name, c, pts) in [("test", IN_COLOUR, test), ("OOD", OUT_COLOUR, ood)] {
                if pts.is_empty() {
                    continue;
                }
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.mix(0.35).filled())))?
                    .label(name)
                    .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
            }
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_fractions_sum_to_one_and_clamp_the_ends() {
        // Values 0.1, 0.2 in bin 0 of [0, 1) split in 2; 0.7 and 1.0 (the end) in bin 1;
        // -5 below the range goes to bin 0.
        let bins = histogram(&[0.1, 0.2, 0.7, 1.0, -5.0], &(0.0..1.0), 2);
        assert_eq!(bins, vec![(0.0, 0.5, 0.6), (0.5, 1.0, 0.4)]);
    }

    #[test]
    fn padded_range_handles_flat_and_empty_input() {
        let r = padded_range([1.0, 3.0].into_iter());
        assert!((r.start - 0.9).abs() < 1e-12 && (r.end - 3.1).abs() < 1e-12);
        let flat = padded_range([2.0, 2.0].into_iter());
        assert!(flat.start < 2.0 && flat.end > 2.0);
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
        assert_eq!(padded_range([f64::NAN].into_iter()), 0.0..1.0);
    }
}

//! The evaluation's figures, each written as PNG (plotters' bitmap backend, encoded with the
//! `png` crate) and SVG: the reliability diagram, the ROC curves of OOD detection, histograms
//! of total and knowledge uncertainty in and out of distribution, the learning curves of
//! `metrics.jsonl`, and the teacher-vs-student scatter of per-input entropies. Text is drawn
//! with DejaVu Sans, embedded in the binary (`assets/DejaVuSans.ttf`, licence alongside), so no
//! system font library is needed.

use super::curves::LearningCurves;
use super::results::{EvalResults, ModelOutputs};
use crate::io::write_atomic;
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The font family every text style of the figures uses.
const SANS: &str = "sans-serif";
/// Most points drawn per scatter set and per ROC curve (keeps the SVG files small).
const MAX_POINTS: usize = 2000;

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A figure that draws itself on any plotters backend.
trait Figure {
    /// Pixel size (width, height).
    fn size(&self) -> (u32, u32);
    /// Draws on `root`, already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// A figure written by [`draw_all`]: `stem.png` and `stem.svg`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotFile {
    pub stem: String,
    pub title: String,
    pub caption: String,
}

/// Registers the embedded font with plotters (once).
fn register_font() -> Result<()> {
    static ONCE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *ONCE.get_or_init(|| plotters::style::register_font(SANS, FontStyle::Normal, FONT).is_ok());
    ok.then_some(()).ok_or_else(|| Error::Plot {
        path: "assets/DejaVuSans.ttf".into(),
        detail: "the embedded font does not parse".into(),
    })
}

/// Writes `fig` as `dir/stem.png` and `dir/stem.svg`, each atomically.
fn render(fig: &impl Figure, dir: &Path, stem: &str) -> Result<()> {
    let (w, h) = fig.size();
    let png_path = dir.join(format!("{stem}.png"));
    let plot_err = |path: &Path, e: String| Error::Plot {
        path: path.to_path_buf(),
        detail: e,
    };
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|_| fig.draw(&root))
            .and_then(|_| root.present())
            .map_err(|e| plot_err(&png_path, e.to_string()))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&rgb))
            .map_err(|e| plot_err(&png_path, e.to_string()))?;
    }
    write_atomic(&png_path, &png_bytes)?;
    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|_| fig.draw(&root))
            .and_then(|_| root.present())
            .map_err(|e| plot_err(&svg_path, e.to_string()))?;
    }
    write_atomic(&svg_path, svg.as_bytes())
}

/// Draws every figure of an evaluation into `dir`; returns what was written, in report order.
pub fn draw_all(
    dir: &Path,
    results: &EvalResults,
    teacher: &ModelOutputs,
    students: &[ModelOutputs],
    curves: &LearningCurves,
) -> Result<Vec<PlotFile>> {
    register_font()?;
    let models: Vec<&ModelOutputs> = std::iter::once(teacher).chain(students).collect();
    let mut files = Vec::new();
    let mut add = |stem: &str, title: &str, caption: String| {
        files.push(PlotFile {
            stem: stem.into(),
            title: title.into(),
            caption,
        })
    };

    let reliability = Reliability {
        series: std::iter::once(("teacher".to_string(), &results.teacher.calibration))
            .chain(results.students.iter().map(|(n, s)| (label(n), &s.model.calibration)))
            .map(|(n, c)| {
                let pts = c.reliability.iter().filter(|b| b.count > 0);
                (n, pts.map(|b| (b.confidence, b.accuracy)).collect())
            })
            .collect(),
    };
    render(&reliability, dir, "reliability")?;
    add(
        "reliability",
        "Reliability diagram",
        format!(
            "Accuracy against mean confidence (max probability) in {} equal-width bins on the \
             test set; the diagonal is perfect calibration.",
            results.settings.ece_bins
        ),
    );

    if let Some(ood) = &results.ood {
        let mut roc = Roc { curves: Vec::new() };
        for (i, m) in models.iter().enumerate() {
            let Some(o) = &m.ood else { continue };
            let name = display_name(i, m);
            let total = super::ood::roc_curve(&o.total, &m.test.total);
            roc.curves.push((format!("{name}: total"), i, false, total));
            if let (Some(t), Some(k)) = (&m.test.knowledge, &o.knowledge) {
                let knowledge = super::ood::roc_curve(k, t);
                roc.curves.push((format!("{name}: knowledge"), i, true, knowledge));
            }
        }
        render(&roc, dir, "roc")?;
        add(
            "roc",
            "ROC curves of OOD detection",
            format!(
                "{} (OOD, positive) against the test set, scored by total and knowledge \
                 uncertainty.{}",
                ood.name,
                if ood.teacher_scored { "" } else { " The teacher has no ensemble on this set." }
            ),
        );
    }

    let hist = Histograms {
        rows: models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let name = display_name(i, m);
                let total = (m.test.total.clone(), m.ood.as_ref().map(|o| o.total.clone()));
                let knowledge = m.test.knowledge.clone().map(|k| {
                    (k, m.ood.as_ref().and_then(|o| o.knowledge.clone()))
                });
                (name, total, knowledge)
            })
            .collect(),
    };
    render(&hist, dir, "uncertainty_histograms")?;
    add(
        "uncertainty_histograms",
        "Uncertainty in and out of distribution",
        "Fraction of inputs per bin of total (left) and knowledge (right) uncertainty, in nats, \
         on the test set (blue) and the OOD set (red), for each model."
            .into(),
    );

    render(&Learning { curves }, dir, "learning_curves")?;
    add(
        "learning_curves",
        "Learning curves",
        "From metrics.jsonl: the teacher's minibatch NLL and the test NLL of the teacher \
         ensemble and the predictive student (top); the entropy MAE and the students' mean \
         training losses (bottom), against the iteration."
            .into(),
    );

    let scatter = Scatter {
        panels: students
            .iter()
            .flat_map(|s| {
                let mut panels = vec![scatter_panel(
                    format!("total: {}", label(&s.name)),
                    (&teacher.test.total, &s.test.total),
                    teacher.ood.as_ref().zip(s.ood.as_ref()).map(|(t, o)| (&t.total, &o.total)),
                )];
                if let (Some(ta), Some(sa)) = (&teacher.test.aleatoric, &s.test.aleatoric) {
                    let ood = teacher.ood.as_ref().zip(s.ood.as_ref()).and_then(|(t, o)| {
                        t.aleatoric.as_ref().zip(o.aleatoric.as_ref())
                    });
                    panels.push(scatter_panel(
                        format!("expected entropy: {}", s.entropy_student.as_deref().unwrap_or("")),
                        (ta, sa),
                        ood,
                    ));
                }
                panels
            })
            .collect(),
    };
    render(&scatter, dir, "entropy_scatter")?;
    add(
        "entropy_scatter",
        "Teacher vs student, per input",
        format!(
            "Per-input total uncertainty (entropy of the predictive) and expected entropy, \
             teacher (x) against student (y), in nats; test inputs blue, OOD red, at most {MAX_POINTS} \
             of each (every k-th input); the diagonal is perfect agreement."
        ),
    );
    Ok(files)
}

/// The label in legends and titles of model `i` of [teacher, students...].
fn display_name(i: usize, m: &ModelOutputs) -> String {
    if i == 0 { "teacher".into() } else { label(&m.name) }
}

/// A student's label in legends.
fn label(name: &str) -> String {
    format!("student {name}")
}

/// Every k-th index of `0..n` so that at most [`MAX_POINTS`] remain.
fn thin(n: usize) -> impl Iterator<Item = usize> {
    (0..n).step_by(n.div_ceil(MAX_POINTS).max(1))
}

type Points = Vec<(f64, f64)>;

fn scatter_panel(
    title: String,
    (tx, sy): (&Vec<f32>, &Vec<f32>),
    ood: Option<(&Vec<f32>, &Vec<f32>)>,
) -> (String, Points, Points) {
    let pts = |x: &[f32], y: &[f32]| thin(x.len()).map(|i| (x[i] as f64, y[i] as f64)).collect();
    (title, pts(tx, sy), ood.map_or_else(Vec::new, |(x, y)| pts(x, y)))
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
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
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

struct Reliability {
    series: Vec<(String, Points)>,
}

impl Figure for Reliability {
    fn size(&self) -> (u32, u32) {
        (800, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut chart = ChartBuilder::on(root)
            .caption("Reliability diagram (test set)", (SANS, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("confidence (max probability)")
            .y_desc("accuracy")
            .label_style((SANS, 14))
            .draw()?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], RGBColor(150, 150, 150)))?
            .label("perfect calibration")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(150, 150, 150)));
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

struct Roc {
    /// Per curve: label, model index (its colour), whether it is knowledge (dashed), points.
    curves: Vec<(String, usize, bool, Points)>,
}

impl Figure for Roc {
    fn size(&self) -> (u32, u32) {
        (800, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let mut chart = ChartBuilder::on(root)
            .caption("ROC: OOD detection", (SANS, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_desc("false-positive rate")
            .y_desc("true-positive rate")
            .label_style((SANS, 14))
            .draw()?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], RGBColor(150, 150, 150)))?
            .label("chance")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(150, 150, 150)));
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
type HistRow = (String, (Vec<f32>, Option<Vec<f32>>), Option<(Vec<f32>, Option<Vec<f32>>)>);

struct Histograms {
    rows: Vec<HistRow>,
}

impl Figure for Histograms {
    fn size(&self) -> (u32, u32) {
        (1100, 330 * self.rows.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let cells = root.split_evenly((self.rows.len().max(1), 2));
        for (r, (name, total, knowledge)) in self.rows.iter().enumerate() {
            draw_histogram(&cells[2 * r], &format!("{name}: total"), Some(total))?;
            draw_histogram(&cells[2 * r + 1], &format!("{name}: knowledge"), knowledge.as_ref())?;
        }
        Ok(())
    }
}

/// Bins of a histogram: (lo, hi, fraction of the inputs).
fn histogram(values: &[f32], range: &Range<f64>, bins: usize) -> Vec<(f64, f64, f64)> {
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
    let parts: Vec<(&str, RGBColor, Vec<(f64, f64, f64)>)> = std::iter::once(("test", IN_COLOUR, test))
        .chain(ood.iter().map(|o| ("OOD", OUT_COLOUR, o)))
        .map(|(n, c, v)| (n, c, histogram(v, &range, bins)))
        .collect();
    let top = parts.iter().flat_map(|p| p.2.iter().map(|b| b.2)).fold(0.0, f64::max);
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
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], c.mix(0.45).filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

struct Learning<'a> {
    curves: &'a LearningCurves,
}

impl Figure for Learning<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (upper, lower) = root.split_vertically(450);
        draw_curves(&upper, "Negative log-likelihood", "NLL (nats)", &self.curves.nll)?;
        draw_curves(&lower, "Distillation", "entropy MAE / loss", &self.curves.distillation)
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

struct Scatter {
    /// Per panel: title, test points and OOD points, (teacher, student).
    panels: Vec<(String, Points, Points)>,
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

//! The evaluation's figures, each written as PNG (plotters' bitmap backend, encoded with the
//! `png` crate) and SVG: the reliability diagram, the ROC curves of OOD detection, histograms
//! of total and knowledge uncertainty in and out of distribution, the learning curves of
//! `metrics.jsonl`, and the teacher-vs-student scatter of per-input entropies ([`render`]
//! writes any [`Figure`], `report`'s heatmaps included). Text is drawn
//! with DejaVu Sans, embedded in the binary (`assets/DejaVuSans.ttf`, licence alongside), so no
//! system font library is needed.

use super::curves::LearningCurves;
use super::figures::{
    Figure, Histograms, Learning, MAX_POINTS, Points, Reliability, Roc, SANS, Scatter,
};
use super::results::{EvalResults, ModelOutputs};
use crate::base::write_atomic;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

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
    let ok =
        *ONCE.get_or_init(|| plotters::style::register_font(SANS, FontStyle::Normal, FONT).is_ok());
    ok.then_some(()).ok_or_else(|| Error::Plot {
        path: "assets/DejaVuSans.ttf".into(),
        detail: "the embedded font does not parse".into(),
    })
}

/// Writes `fig` as `dir/stem.png` and `dir/stem.svg`, each atomically (the embedded font is
/// registered first). `report` draws its heatmaps with it too.
pub fn render(fig: &impl Figure, dir: &Path, stem: &str) -> Result<()> {
    register_font()?;
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
        // Flat areas (heatmap cells, maps) compress several times better with a filter chosen
        // per row and the best deflate level; the pixels are the same.
        encoder.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        encoder.set_compression(png::Compression::Best);
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
            .chain(
                results
                    .students
                    .iter()
                    .map(|(n, s)| (label(n), &s.model.calibration)),
            )
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
                roc.curves
                    .push((format!("{name}: knowledge"), i, true, knowledge));
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
                if ood.teacher_scored {
                    ""
                } else {
                    " The teacher has no ensemble on this set."
                }
            ),
        );
    }

    let hist = Histograms {
        rows: models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let name = display_name(i, m);
                let total = (
                    m.test.total.clone(),
                    m.ood.as_ref().map(|o| o.total.clone()),
                );
                let knowledge = m
                    .test
                    .knowledge
                    .clone()
                    .map(|k| (k, m.ood.as_ref().and_then(|o| o.knowledge.clone())));
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
                    teacher
                        .ood
                        .as_ref()
                        .zip(s.ood.as_ref())
                        .map(|(t, o)| (&t.total, &o.total)),
                )];
                if let (Some(ta), Some(sa)) = (&teacher.test.aleatoric, &s.test.aleatoric) {
                    let ood = teacher
                        .ood
                        .as_ref()
                        .zip(s.ood.as_ref())
                        .and_then(|(t, o)| t.aleatoric.as_ref().zip(o.aleatoric.as_ref()));
                    panels.push(scatter_panel(
                        format!(
                            "expected entropy: {}",
                            s.entropy_student.as_deref().unwrap_or(&s.name)
                        ),
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
    if i == 0 {
        "teacher".into()
    } else {
        label(&m.name)
    }
}

/// A student's label in legends.
fn label(name: &str) -> String {
    format!("student {name}")
}

/// Every k-th index of `0..n` so that at most [`MAX_POINTS`] remain.
fn thin(n: usize) -> impl Iterator<Item = usize> {
    (0..n).step_by(n.div_ceil(MAX_POINTS).max(1))
}

fn scatter_panel(
    title: String,
    (tx, sy): (&Vec<f32>, &Vec<f32>),
    ood: Option<(&Vec<f32>, &Vec<f32>)>,
) -> (String, Points, Points) {
    let pts = |x: &[f32], y: &[f32]| thin(x.len()).map(|i| (x[i] as f64, y[i] as f64)).collect();
    (
        title,
        pts(tx, sy),
        ood.map_or_else(Vec::new, |(x, y)| pts(x, y)),
    )
}

/// Renders `fig` into a temporary folder and checks the outputs: a PNG of the figure's size,
/// an SVG holding every one of `texts`, and no other file (no temporary left behind). The
/// test of every figure type (eval's, report's heatmaps, the demo's maps) goes through it.
#[cfg(test)]
pub(crate) fn assert_rendered(fig: &impl Figure, texts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    render(fig, dir.path(), "fig").unwrap();
    let png = std::fs::read(dir.path().join("fig.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let info = png::Decoder::new(std::io::Cursor::new(&png))
        .read_info()
        .unwrap();
    assert_eq!((info.info().width, info.info().height), fig.size());
    let svg = std::fs::read_to_string(dir.path().join("fig.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "not an SVG");
    for text in texts {
        assert!(svg.contains(text), "{text} missing from the SVG");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_writes_png_and_svg_with_text() {
        let fig = Reliability {
            series: vec![("teacher".into(), vec![(0.5, 0.4), (0.9, 0.95)])],
        };
        assert_rendered(&fig, &["Reliability diagram"]);
    }

    #[test]
    fn thinning_keeps_at_most_max_points() {
        assert_eq!(thin(10).count(), 10);
        assert!(thin(10_000).count() <= MAX_POINTS);
        assert_eq!(thin(10_000).nth(1), Some(5));
    }
}

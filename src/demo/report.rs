//! The demo's own report: `report.md`, readable on its own (what was run, the settings, the
//! numbers, the figure and how to read it), and `demo.json`, the same numbers for programs:
//! `seed`, `wall_s` (the whole demo), `train_wall_s` (the GPED run), `test` (the run's test
//! metrics, as in `metrics.json`) and `maps` (the means of `maps::Summary`: `teacher` and
//! `student`, each `on_data` and `far`, each {`total`, `aleatoric`, `epistemic`}; `grid_mae`;
//! `far_distance`, `far_cells`, `grid_cells`, `test_points`, `ensemble_samples`).

use super::figure::MAPS_STEM;
use super::maps::Summary;
use super::train::POOL_POINTS;
use crate::base::write_atomic;
use crate::config::{Estimator, StudentConfig, ValidConfig};
use crate::data::{MOONS_NOISE, PLANE};
use crate::distill::RunSummary;
use crate::eval::report::write_figure;
use crate::model::ModelSpec;
use crate::{Error, Result};
use serde_json::json;
use std::fmt::Write;
use std::path::Path;

/// What the report is made of.
pub struct DemoReport<'a> {
    pub cfg: &'a ValidConfig,
    pub run: &'a RunSummary,
    pub maps: &'a Summary,
    /// Cells along each side of the map.
    pub grid_side: usize,
    /// Seconds for the whole demo and for its GPED run.
    pub wall_s: f64,
}

impl DemoReport<'_> {
    /// Writes `report.md` and `demo.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = json!({
            "seed": self.cfg.seed,
            "wall_s": self.wall_s,
            "train_wall_s": self.run.timings.wall_s,
            "test": self.run.metrics,
            "maps": self.maps,
        });
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| Error::InvalidArgument(format!("demo.json: {e}")))?;
        write_atomic(&dir.join("demo.json"), text.as_bytes())?;
        let mut md = String::new();
        // Writing to a String cannot fail.
        let _ = self.markdown(&mut md);
        write_atomic(&dir.join("report.md"), md.as_bytes())
    }

    fn markdown(&self, md: &mut String) -> std::fmt::Result {
        let (cfg, m) = (self.cfg, self.maps);
        let info = cfg.dataset_info();
        writeln!(md, "# gped demo: GPED on two moons\n")?;
        writeln!(
            md,
            "`gped demo` (seed {}) ran Algorithm 1 of GPED, the same loop as `gped run`, on \
             points of the plane generated from the seed (no data files), in {:.1} s ({:.1} s \
             of them the GPED run). This folder is the run folder (`config.toml`, \
             `metrics.json`, `students/`, the teacher's ensemble sums), so `gped eval` and \
             `infer::Distilled` read it like any other; the demo added this report, \
             `demo.json`, the figure, and the per-input numbers `grid.csv` (the map's cells) \
             and `points.csv` (the test points).\n",
            cfg.seed, self.wall_s, self.run.timings.wall_s
        )?;
        writeln!(md, "## What was run\n")?;
        writeln!(
            md,
            "A teacher network was sampled from its posterior by SGLD on {} labelled points \
             of two interleaving half circles. After burn-in, each student took one Adam step \
             towards the teacher's current value of its posterior expectation (U_s) or the \
             running mean of its values at that input (U_o), on a batch of inputs from the distillation pool D': \
             the {} training points and {POOL_POINTS} unlabelled points spread uniformly over \
             the plane's square, so that the students also learn what the teacher says away \
             from the data. The teacher's current sample was added to its ensembles over the \
             {} test points and a grid of {side} x {side} cells over the square every {} \
             steps ({} \
             posterior samples in all): the maps' teacher. The students' maps are one forward \
             pass of each.\n",
            info.train_size,
            info.train_size,
            info.test_size,
            cfg.eval.every,
            m.ensemble_samples,
            side = self.grid_side,
        )?;
        self.settings(md)?;
        self.numbers(md)?;
        writeln!(md, "## Figure\n")?;
        write_figure(
            md,
            "Uncertainty over the plane: teacher and students",
            MAPS_STEM,
            "Top: the teacher (the posterior ensemble); bottom: the distilled students. Left \
             to right: total uncertainty (the entropy of the predictive distribution), \
             aleatoric (the expected entropy) and epistemic (their difference, the mutual \
             information between the label and the weights), in nats on one colour scale from \
             0 to ln 2. Dots: the training points (white: class 0, orange: class 1).",
        )?;
        writeln!(md, "## How to read it\n")?;
        writeln!(
            md,
            "Total uncertainty is high wherever the class is in doubt, for two reasons. Where \
             the two classes meet, between the moons, each posterior sample hesitates itself: \
             that is aleatoric uncertainty, the expected entropy, and it shows only along that \
             boundary. Away from the data each posterior sample is confident, but they \
             continue the boundary out of the data in different directions and so disagree \
             about the class: there the expected entropy stays low while the entropy of their \
             average is high, and the difference, the epistemic uncertainty, lights up, in \
             wide wedges around the boundary's continuations (straight out beyond either moon \
             the samples agree, as ReLU networks, linear far out, tend to). For the teacher \
             its mean is {:.3} nats on the cells farther than {} (the moons' radius) from \
             every training point, against {:.3} on the test points. That is what the \
             teacher's many samples know and one network fitted to the labels does not: \
             \"I have not seen anything like this\". The bottom row is the point of GPED: two \
             ordinary networks, distilled while the teacher was sampled, give the same split \
             in one forward pass each ({:.3} far against {:.3} on the data; a mean absolute \
             difference to the teacher over the map of {:.3} nats in the total and {:.3} in \
             the epistemic uncertainty), with no posterior sample kept.",
            m.teacher.far.epistemic,
            m.far_distance,
            m.teacher.on_data.epistemic,
            m.student.far.epistemic,
            m.student.on_data.epistemic,
            m.grid_mae.total,
            m.grid_mae.epistemic,
        )
    }

    fn settings(&self, md: &mut String) -> std::fmt::Result {
        let cfg = self.cfg;
        let info = cfg.dataset_info();
        let teacher = ModelSpec::teacher(cfg.teacher.arch, info.classes);
        writeln!(md, "## Settings\n")?;
        writeln!(
            md,
            "From `configs/demo.toml` (embedded), with seed {}.\n",
            cfg.seed
        )?;
        writeln!(md, "| setting | value |\n|---|---|")?;
        writeln!(
            md,
            "| data | two moons (arcs of radius 1, noise {MOONS_NOISE}): {} training and {} \
             test points, scaled from the square x in [{}, {}], y in [{}, {}] |",
            info.train_size,
            info.test_size,
            PLANE.x_min,
            PLANE.x_min + PLANE.side,
            PLANE.y_min,
            PLANE.y_min + PLANE.side
        )?;
        writeln!(
            md,
            "| teacher | `{}`, {} |",
            cfg.teacher.arch.as_str(),
            layers(&teacher)
        )?;
        writeln!(
            md,
            "| sampler | `{}` on the `{}` schedule, step size eta = {}, prior precision tau = {}, \
             minibatch M = {} |",
            cfg.sampler.kind,
            cfg.sampler.step_schedule(),
            cfg.sampler.step_size,
            cfg.sampler.prior_precision,
            cfg.sampler.batch_size
        )?;
        writeln!(
            md,
            "| schedule | T = {} iterations, burn-in B = {}, ensemble sample every {} |",
            cfg.schedule.iterations, cfg.schedule.burn_in, cfg.eval.every
        )?;
        writeln!(
            md,
            "| pool D' | {} training + {POOL_POINTS} uniform points, batches of M' = {}, input \
             noise std {} |",
            info.train_size, cfg.pool.batch_size, cfg.pool.input_noise_std
        )?;
        for s in &cfg.students {
            writeln!(md, "| student `{}` | {} |", s.name, student(cfg, s))?;
        }
        writeln!(
            md,
            "| map | {side} x {side} cells over the square; \"far\": farther than {} from \
             every training point ({} of {} cells) |\n",
            self.maps.far_distance,
            self.maps.far_cells,
            self.maps.grid_cells,
            side = self.grid_side
        )
    }

    fn numbers(&self, md: &mut String) -> std::fmt::Result {
        let m = self.maps;
        writeln!(md, "## Numbers\n")?;
        writeln!(
            md,
            "Means in nats: \"on the data\" over the {} test points (drawn as the training \
             points), \"far\" over the {} cells farther than {} from every training point.\n",
            m.test_points, m.far_cells, m.far_distance
        )?;
        writeln!(
            md,
            "| | teacher | students | students - teacher: mean absolute difference over the map |"
        )?;
        writeln!(md, "|---|---|---|---|")?;
        let [t_data, t_far, s_data, s_far, mae] = [
            m.teacher.on_data,
            m.teacher.far,
            m.student.on_data,
            m.student.far,
            m.grid_mae,
        ]
        .map(|v| v.named());
        for k in 0..3 {
            writeln!(
                md,
                "| {}, on the data / far | {:.3} / {:.3} | {:.3} / {:.3} | {:.3} |",
                t_data[k].0, t_data[k].1, t_far[k].1, s_data[k].1, s_far[k].1, mae[k].1
            )?;
        }
        if let Some(p) = &self.run.metrics.predictive {
            writeln!(
                md,
                "| test accuracy | {:.3} | {:.3} | |",
                p.teacher_acc, p.student_acc
            )?;
            writeln!(
                md,
                "| test NLL | {:.3} | {:.3} | |",
                p.teacher_nll, p.student_nll
            )?;
        }
        if let Some(mae) = self.run.metrics.entropy_mae {
            writeln!(
                md,
                "| expected-entropy MAE on the test points | | {mae:.3} | |"
            )?;
        }
        writeln!(md)
    }
}

/// "2-100-100-2 fully connected, ReLU": the layer widths of `spec`.
fn layers(spec: &ModelSpec) -> String {
    let (k1, k2) = spec.hidden_widths();
    let shape = spec.arch.input_shape();
    let inputs = shape.channels * shape.height * shape.width;
    let widths: Vec<String> = std::iter::once(inputs)
        .chain(k1)
        .chain(k2)
        .chain([spec.outputs])
        .map(|w| w.to_string())
        .collect();
    format!("{} fully connected, ReLU", widths.join("-"))
}

/// A student's settings in one line.
fn student(cfg: &ValidConfig, s: &StudentConfig) -> String {
    let classes = cfg.dataset_info().classes;
    let outputs = s.outputs(classes);
    let spec = ModelSpec {
        arch: cfg.teacher.arch,
        width: s.width,
        outputs,
        dropout: s.dropout as f32,
    };
    let estimator = match s.estimator {
        Estimator::Sample => "U_s",
        Estimator::RunningMean => "U_o",
    };
    format!(
        "{} ({estimator}, {} loss), {}, H = {}, Adam lr {}, dropout {}, weight decay {}",
        s.target.as_str(),
        s.loss.as_str(),
        layers(&spec),
        s.thinning,
        s.learning_rate,
        s.dropout,
        s.weight_decay
    )
}

//! Pruning inside a run (Experiment 3): once `prune.at` iterations are done, each student that
//! `[prune]` names (by default those with a group lasso) loses its dead hidden units and
//! channels ([`crate::model::prune`]) and goes on, for the remaining
//! `prune.fine_tune_iterations`, as a smaller dense network with a fresh Adam at the reset
//! learning rate and no group lasso: the paper's fine-tuning, with the teacher chain and the
//! distillation loop running on as before. What pruning did goes to `prune.json` in the run
//! folder (and into `metrics.json` at the end). A checkpoint taken after pruning holds the
//! smaller networks; a resumed run rebuilds them at the widths of the checkpoint's tensors.

use super::distiller::Distiller;
use super::record::Recorder;
use super::student::Student;
use crate::base::StateReader;
use crate::config::{StudentConfig, ValidConfig};
use crate::model::{HiddenWidths, PruneReport, build_sized, prune};
use crate::{Error, Result};
use serde_json::{Value, json};
use std::path::Path;

/// The file in the run folder that records what pruning did.
pub const PRUNE_JSON: &str = "prune.json";

/// Prunes the students of `cfg.prune` in `distiller` (whose staged step, if any, is taken
/// first) and records what it did in the run folder's `prune.json`.
pub fn prune_students(
    cfg: &ValidConfig,
    distiller: &mut Distiller,
    recorder: &Recorder,
) -> Result<()> {
    distiller.step_staged()?;
    let p = &cfg.prune;
    let mut reports = serde_json::Map::new();
    for (s, sc) in pruned_students(cfg, distiller) {
        let (net, report) = prune(&s.net, cfg.teacher.arch, p.epsilon as f32)?;
        let origin = s.steps_before(p.at, cfg.schedule.burn_in);
        debug_assert_eq!(origin, s.steps, "student `{}`", s.name);
        s.install_pruned(net, fine_tune_lr(cfg, sc), origin)?;
        reports.insert(s.name.clone(), report_json(&report));
    }
    let record = json!({
        "at": p.at,
        "fine_tune_iterations": p.fine_tune_iterations,
        "epsilon": p.epsilon,
        "students": reports,
    });
    recorder.write_json(PRUNE_JSON, &record)
}

/// Rebuilds the pruned students of `distiller` at the widths of their tensors in the
/// checkpoint `state` of iteration `iteration` (before its state is loaded), when the run
/// pruned at or before it; does nothing otherwise.
pub fn restore_pruned(
    cfg: &ValidConfig,
    distiller: &mut Distiller,
    state: &StateReader,
    iteration: u64,
) -> Result<()> {
    let p = &cfg.prune;
    if !p.enabled() || iteration < p.at {
        return Ok(());
    }
    let arch = cfg.teacher.arch;
    for (s, sc) in pruned_students(cfg, distiller) {
        let prefix = format!("students/{}/params/", s.name);
        let widths =
            HiddenWidths::from_shapes(arch, |name| state.shape(&format!("{prefix}{name}")))
                .map_err(|name| Error::MissingTensor {
                    path: state.path().to_path_buf(),
                    name: format!("{prefix}{name}"),
                })?;
        let net = build_sized(arch, &widths, s.net.output_size(), 0.0, 0);
        let origin = s.steps_before(p.at, cfg.schedule.burn_in);
        s.install_pruned(net, fine_tune_lr(cfg, sc), origin)?;
    }
    Ok(())
}

/// What pruning recorded in the run folder `dir`, if the run pruned (`None` before pruning or
/// without it).
pub fn read_record(dir: &Path) -> Result<Option<Value>> {
    let path = dir.join(PRUNE_JSON);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::format(&path, "JSON", e.to_string()))
}

/// The students of `distiller` that `cfg.prune` prunes, with their configs.
fn pruned_students<'a>(
    cfg: &'a ValidConfig,
    distiller: &'a mut Distiller,
) -> impl Iterator<Item = (&'a mut Student, &'a StudentConfig)> {
    distiller
        .students
        .iter_mut()
        .zip(&cfg.students)
        .filter(|(_, sc)| cfg.prune.prunes(&sc.name, sc.group_lasso))
}

/// The fine-tuning learning rate of the student `sc`: `prune.learning_rate`, else its own.
fn fine_tune_lr(cfg: &ValidConfig, sc: &StudentConfig) -> f32 {
    match cfg.prune.learning_rate {
        0.0 => sc.learning_rate as f32,
        lr => lr as f32,
    }
}

/// `report` as JSON: each hidden layer's units before and after, the widths, the parameters
/// and FLOPs per example before and after.
fn report_json(report: &PruneReport) -> Value {
    let layers: Vec<Value> = report
        .layers
        .iter()
        .map(|l| json!({"name": l.name, "before": l.before, "after": l.after()}))
        .collect();
    json!({
        "layers": layers,
        "widths": report.widths.all().collect::<Vec<_>>(),
        "params_before": report.params_before,
        "params_after": report.params_after,
        "flops_before": report.flops_before,
        "flops_after": report.flops_after,
    })
}

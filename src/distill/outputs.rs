//! What the loop writes between and after its iterations: a log record of the test metrics
//! (`metrics.jsonl` and the progress line), the checkpoint, and the run's final outputs (the
//! students' weights, the ensemble sums and `metrics.json`, with each student's size, hidden
//! widths and, when pruned, what pruning did; its measured inference time is with the other
//! times, under `time.inference`; and the chains' convergence diagnostics, under
//! `diagnostics`, once each chain has 4 draws). Each first takes any staged
//! student step (see `pipeline`), since each reads or saves the students.

use super::evaluate::{StudentMetrics, TestMetrics, ood_threshold, student_metrics, test_metrics};
use super::head_record as heads;
use super::prepare::RunData;
use super::prune;
use super::record::Recorder;
use super::state::RunState;
use crate::base::machine::machine_summary;
use crate::base::{StateWriter, Stateful};
use crate::checkpoint::{self, Checkpoint, Header};
use crate::config::ValidConfig;
use crate::nn::{time_inference, weights};
use crate::sampler::diagnostics::Diagnostics;
use crate::{Error, Result};
use serde_json::json;
use std::time::Instant;

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub metrics: TestMetrics,
    pub timings: super::state::Timings,
    /// The full content of `metrics.json`.
    pub json: serde_json::Value,
}

/// Logs the test metrics after iteration `done` of the run, the log window's mean teacher
/// minibatch NLL and student losses (then restarts the window); `elapsed_s` is the wall time
/// so far.
pub fn log_record(
    cfg: &ValidConfig,
    data: &RunData,
    state: &mut RunState,
    recorder: &mut Recorder,
    done: u64,
    elapsed_s: f64,
) -> Result<()> {
    state.distiller.step_staged()?;
    let clock = Instant::now();
    let metrics = test_metrics(
        &mut state.distiller.students,
        &data.test,
        &state.ensemble,
        cfg.eval.test_batch,
    );
    state.time.eval_s += clock.elapsed().as_secs_f64();
    let minibatch_nll = state.nll_window.0 / state.nll_window.1.max(1) as f64;
    state.nll_window = (0.0, 0);
    let losses: serde_json::Map<_, _> = state
        .distiller
        .students
        .iter_mut()
        .filter_map(|s| s.take_mean_loss().map(|l| (s.name.clone(), json!(l))))
        .collect();
    let record = json!({
        "iteration": done,
        "teacher_minibatch_nll": minibatch_nll,
        "student_loss": losses,
        "test": metrics,
        "elapsed_s": elapsed_s,
    });
    let line = summary_line(done, cfg.schedule.iterations, minibatch_nll, &metrics);
    recorder.log(&record, &line)
}

/// Saves `state`, with `done` iterations done, as the run folder's checkpoint (the time it
/// takes goes to `time.checkpoint_s`); `elapsed_s` gives the wall time so far.
pub fn save_checkpoint(
    cfg: &ValidConfig,
    state: &mut RunState,
    recorder: &Recorder,
    done: u64,
    elapsed_s: impl Fn() -> f64,
) -> Result<()> {
    // The staged step does not depend on when it runs: take it now, so that the checkpoint
    // holds no staged batch.
    state.distiller.step_staged()?;
    let clock = Instant::now();
    state.time.wall_s = elapsed_s();
    state.next = done;
    let mut out = StateWriter::new();
    state.save_state("", &mut out);
    let header = Header {
        iteration: done,
        config: (**cfg).clone(),
        metrics_jsonl_bytes: recorder.jsonl_bytes(),
    };
    checkpoint::write(&Checkpoint::path_in(recorder.dir()), &header, out)?;
    state.time.checkpoint_s += clock.elapsed().as_secs_f64();
    Ok(())
}

/// The end of a run: final test metrics, the students' weights, the ensemble sums and
/// `metrics.json`; then the checkpoint is removed (the outputs are complete). `elapsed_s`
/// gives the wall time so far.
pub fn finish(
    cfg: &ValidConfig,
    data: &RunData,
    mut state: RunState,
    recorder: &mut Recorder,
    elapsed_s: impl Fn() -> f64,
) -> Result<RunSummary> {
    state.distiller.step_staged()?;
    let RunState {
        teacher,
        distiller,
        ensemble,
        ood_ensemble,
        diagnostics,
        time,
        ..
    } = &mut state;
    let clock = Instant::now();
    let students = &mut distiller.students;
    let batch = cfg.eval.test_batch;
    let each: Vec<Vec<Option<StudentMetrics>>> = students
        .iter_mut()
        .map(|s| student_metrics(s, &data.test, ensemble, batch))
        .collect();
    let metrics = TestMetrics::of_first(&each.concat(), ensemble.samples());
    time.eval_s += clock.elapsed().as_secs_f64();
    for s in students.iter() {
        weights::save(
            &s.net.params,
            &recorder.student_path(&s.name),
            heads::weights_metadata(s),
        )?;
    }
    let ood_threshold = match &data.holdout {
        Some(holdout) => ood_threshold(students, holdout, &cfg.eval)?,
        None => None,
    };
    if let Some(t) = &ood_threshold {
        t.save(recorder.dir())?;
    }
    ensemble.save(&recorder.dir().join("ensemble_test.safetensors"))?;
    if let Some(ens) = ood_ensemble {
        ens.save(&recorder.dir().join("ensemble_ood.safetensors"))?;
    }
    let t_max = cfg.schedule.iterations;
    time.wall_s = elapsed_s();
    time.ms_per_iteration = 1e3 * time.wall_s / t_max as f64;
    let pruned = prune::read_record(recorder.dir())?;
    // Measured here, on this machine: with the other times, not with the results.
    let clock = Instant::now();
    let inference: serde_json::Map<_, _> = students
        .iter_mut()
        .map(|s| {
            let speed = time_inference(&mut s.net, data.test.images(), data.test.image_len());
            (s.name.clone(), json!(speed))
        })
        .collect();
    time.eval_s += clock.elapsed().as_secs_f64();
    let student_info: serde_json::Map<_, _> = students
        .iter()
        .zip(&each)
        .map(|(s, test)| {
            let mut info = json!({
                "target": heads::target_label(s),
                "params": s.net.params.len(),
                "flops": s.net.flops_per_example(),
                "hidden_widths": s.net.hidden_widths(),
                "steps": s.steps,
                "test": heads::merged(test),
            });
            if s.heads().len() > 1 {
                info["heads"] = heads::heads_json(s, test);
            }
            if let Some(report) = pruned.as_ref().and_then(|p| p["students"].get(&s.name)) {
                info["pruned"] = report.clone();
            }
            (s.name.clone(), info)
        })
        .collect();
    let mut json =
        serde_json::to_value(&metrics).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("iterations".into(), json!(t_max));
        obj.insert("teacher_params".into(), json!(teacher.net.params.len()));
        obj.insert("students".into(), json!(student_info));
        if let Some(t) = &ood_threshold {
            obj.insert("ood_threshold".into(), json!(t));
        }
        let inputs = diagnostics.width() / teacher.classes();
        if let Some(d) = Diagnostics::of(diagnostics, inputs) {
            obj.insert("diagnostics".into(), json!(d));
        }
        let mut times = json!(time);
        times["inference"] = json!(inference);
        times["machine"] = json!(machine_summary(rayon::current_num_threads()));
        obj.insert("time".into(), times);
    }
    recorder.write_json("metrics.json", &json)?;
    let ck = Checkpoint::path_in(recorder.dir());
    if ck.exists() {
        std::fs::remove_file(&ck).map_err(|e| Error::io(&ck, e))?;
    }
    recorder.finish();
    Ok(RunSummary {
        metrics,
        timings: time.clone(),
        json,
    })
}

/// One line of progress: iteration, minibatch NLL and the headline test metrics.
fn summary_line(t: u64, total: u64, minibatch_nll: f64, m: &TestMetrics) -> String {
    let mut line = format!("iter {t}/{total} minibatch_nll {minibatch_nll:.4}");
    if let Some(p) = &m.predictive {
        line += &format!(
            " teacher_nll {:.4} student_nll {:.4} student_acc {:.4}",
            p.teacher_nll, p.student_nll, p.student_acc
        );
    }
    if let Some(mae) = m.entropy_mae {
        line += &format!(" entropy_mae {mae:.4}");
    }
    line
}

//! `gped eval` from start to end: open the run folder, find its data (in the folder the run
//! recorded unless told otherwise, fetching missing files when allowed), rebuild its test set
//! (and the OOD set), run the students, compute every number, draw the figures and write the
//! report, into `RUN_DIR/eval` unless told otherwise.

use super::curves::LearningCurves;
use super::plots::{PlotFile, draw_all};
use super::report::write_report;
use super::results::{EvalResults, model_outputs, summarise};
use super::run_folder::{RunFolder, load_ood_set};
use crate::data::{DataAccess, FetchOptions, ensure_eval_data, resolve_run_data_dir};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What to evaluate and where to write it.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// The run folder written by `gped run`.
    pub run_dir: PathBuf,
    /// OOD set: a catalogue name or a folder of IDX test images; default the run's `data.ood`.
    pub ood: Option<String>,
    /// Folder holding the datasets; default the folder the run recorded (its `data.dir`) if
    /// it is still a folder, else `$GPED_DATA_DIR`, else `./data`.
    pub data_dir: Option<PathBuf>,
    /// How missing data files are fetched (`None`: never).
    pub fetch: Option<FetchOptions>,
    /// Output folder; default `RUN_DIR/eval`.
    pub out: Option<PathBuf>,
}

/// What an evaluation produced.
#[derive(Debug, Clone)]
pub struct EvalOutput {
    pub out_dir: PathBuf,
    pub results: EvalResults,
    pub plots: Vec<PlotFile>,
}

/// Evaluates the run of `opts` and writes `eval.json`, `report.md` and the figures.
pub fn evaluate_run(opts: &EvalOptions) -> Result<EvalOutput> {
    let mut run = RunFolder::open(&opts.run_dir)?;
    crate::nn::gemm::set_threads(run.config.threads);
    let data_dir = resolve_run_data_dir(opts.data_dir.as_deref(), None, Some(&run.config.data.dir));
    let access = DataAccess {
        dir: data_dir.clone(),
        fetch: opts.fetch.clone(),
    };
    ensure_eval_data(&run.config, &access, opts.ood.as_deref())?;
    let test = run.test_set(&data_dir)?;
    let ood = load_ood_set(&run, opts.ood.as_deref(), &data_dir)?;
    // On a worker of the thread pool, so the layers' parallel loops start hot (as the
    // distillation loop does; entered from the main thread, each hands its work over cold).
    let (teacher, students) = rayon::scope(|_| model_outputs(&mut run, &test, ood.as_ref()));
    let results = summarise(&run, &test, ood.as_ref(), &teacher, &students);
    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| opts.run_dir.join("eval"));
    create_dir(&out_dir)?;
    let curves = LearningCurves::read(&run.dir.join("metrics.jsonl"))?;
    let plots = draw_all(&out_dir, &results, &teacher, &students, &curves)?;
    write_report(&out_dir, &results, &plots)?;
    Ok(EvalOutput {
        out_dir,
        results,
        plots,
    })
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

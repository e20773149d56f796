//! One run from the outside: start it in a fresh run folder, or continue it from the
//! checkpoint in its folder. Every check that can fail before training (the run folder, the
//! data, the checkpoint's tensors) runs before the run folder is touched, so a refused run
//! leaves nothing behind. Data files the run reads that are missing are fetched (unless
//! fetching is off) after the run folder is checked and before the data is loaded, and the
//! run records the absolute data folder it read in its config (`data.dir` of `config.toml`
//! and of its checkpoints). `gped run` and `gped sweep` both go through here.

use super::algorithm::run_with;
use super::control::Control;
use super::outputs::RunSummary;
use super::prepare::prepare;
use super::record::Recorder;
use super::state::RunState;
use crate::checkpoint::Checkpoint;
use crate::config::ValidConfig;
use crate::data::{DataAccess, absolute_data_dir, ensure_run_data};
use crate::{Error, Result};
use std::path::Path;

/// Whether a new run may replace what is in its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Only into an absent or empty folder.
    Never,
    /// Also over an earlier run folder (one that holds a `config.toml`), which is deleted.
    RunFolder,
}

/// Runs `cfg` from the start into the run folder `out`, on the datasets in `data.dir`
/// (fetching missing ones as `data` says).
pub fn start(
    cfg: &ValidConfig,
    out: &Path,
    data: &DataAccess,
    replace: Replace,
    control: &Control,
    quiet: bool,
) -> Result<RunSummary> {
    match replace {
        Replace::Never => Recorder::check_fresh(out)?,
        Replace::RunFolder => Recorder::check_replaceable(out)?,
    }
    let cfg = &with_data(cfg, data, control)?;
    let run_data = prepare(cfg, &cfg.data.dir)?;
    if replace == Replace::RunFolder {
        Recorder::remove_old(out)?;
    }
    let state = RunState::new(cfg, &run_data)?;
    let mut recorder = Recorder::create(out, cfg, cfg.schedule.iterations, quiet)?;
    with_checkpoint_note(run_with(cfg, &run_data, state, &mut recorder, control), out)
}

/// Continues the run in `dir` from `checkpoint` (read from that folder) with `cfg`, which the
/// caller has checked against the checkpoint's config, on the datasets in `data.dir`
/// (fetching missing ones as `data` says).
pub fn resume(
    cfg: &ValidConfig,
    dir: &Path,
    checkpoint: &Checkpoint,
    data: &DataAccess,
    control: &Control,
    quiet: bool,
) -> Result<RunSummary> {
    let cfg = &with_data(cfg, data, control)?;
    let run_data = prepare(cfg, &cfg.data.dir)?;
    // The state is loaded (and checked) before the run folder is touched.
    let state = RunState::resume(cfg, &run_data, checkpoint)?;
    let mut recorder = Recorder::resume(
        dir,
        checkpoint.header.metrics_jsonl_bytes,
        checkpoint.header.iteration,
        cfg.schedule.iterations,
        quiet,
    )?;
    record_config(dir, cfg)?;
    with_checkpoint_note(run_with(cfg, &run_data, state, &mut recorder, control), dir)
}

/// Fetches the missing files `cfg` reads as `data` says (a signal stops the download), and
/// returns `cfg` with `data.dir` the absolute data folder, as the run records it.
fn with_data(cfg: &ValidConfig, data: &DataAccess, control: &Control) -> Result<ValidConfig> {
    let mut access = data.clone();
    if let Some(fetch) = access.fetch.as_mut() {
        fetch.stop = Some(control.stop.clone());
    }
    ensure_run_data(cfg, &access)?;
    Ok(cfg.clone().with_data_dir(absolute_data_dir(&data.dir)))
}

/// Writes `cfg` as the run folder's `config.toml` when it says something else (a resumed run
/// records the data folder it reads now, and its other free settings).
fn record_config(dir: &Path, cfg: &ValidConfig) -> Result<()> {
    let path = dir.join("config.toml");
    let text = cfg.to_toml_string()?;
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        cfg.save(&path)?;
    }
    Ok(())
}

/// On a divergence, says which checkpoint is kept (the last good one) before the error.
fn with_checkpoint_note<T>(result: Result<T>, dir: &Path) -> Result<T> {
    if let Err(Error::NonFinite { .. }) = &result
        && let Ok(ck) = Checkpoint::read(&Checkpoint::path_in(dir))
    {
        eprintln!(
            "note: the last good checkpoint (iteration {}) is kept in {}",
            ck.header.iteration,
            ck.path().display()
        );
    }
    result
}

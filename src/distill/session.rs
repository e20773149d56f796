//! One run from the outside: start it in a fresh run folder, or continue it from the
//! checkpoint in its folder. Every check that can fail before training (the run folder, the
//! data, the checkpoint's tensors) runs before the run folder is touched, so a refused run
//! leaves nothing behind. `gped run` and `gped sweep` both go through here.

use super::algorithm::run_with;
use super::control::Control;
use super::outputs::RunSummary;
use super::prepare::prepare;
use super::record::Recorder;
use super::state::RunState;
use crate::checkpoint::Checkpoint;
use crate::config::ValidConfig;
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

/// Runs `cfg` from the start into the run folder `out`, on the datasets in `data_dir`.
pub fn start(
    cfg: &ValidConfig,
    out: &Path,
    data_dir: &Path,
    replace: Replace,
    control: &Control,
    quiet: bool,
) -> Result<RunSummary> {
    match replace {
        Replace::Never => Recorder::check_fresh(out)?,
        Replace::RunFolder => Recorder::check_replaceable(out)?,
    }
    let data = prepare(cfg, data_dir)?;
    if replace == Replace::RunFolder {
        Recorder::remove_old(out)?;
    }
    let state = RunState::new(cfg, &data)?;
    let mut recorder = Recorder::create(out, cfg, cfg.schedule.iterations, quiet)?;
    with_checkpoint_note(run_with(cfg, &data, state, &mut recorder, control), out)
}

/// Continues the run in `dir` from `checkpoint` (read from that folder) with `cfg`, which the
/// caller has checked against the checkpoint's config.
pub fn resume(
    cfg: &ValidConfig,
    dir: &Path,
    checkpoint: &Checkpoint,
    data_dir: &Path,
    control: &Control,
    quiet: bool,
) -> Result<RunSummary> {
    let data = prepare(cfg, data_dir)?;
    // The state is loaded (and checked) before the run folder is touched.
    let state = RunState::resume(cfg, &data, checkpoint)?;
    let mut recorder = Recorder::resume(
        dir,
        checkpoint.header.metrics_jsonl_bytes,
        checkpoint.header.iteration,
        cfg.schedule.iterations,
        quiet,
    )?;
    with_checkpoint_note(run_with(cfg, &data, state, &mut recorder, control), dir)
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

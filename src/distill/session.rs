//! One run from the outside: start it in a fresh run folder, or continue it from the
//! checkpoint in its folder. Every check that can fail before training (the run folder, the
//! data, the checkpoint's tensors) runs before the run folder is touched, so a refused run
//! leaves nothing behind. Data files the run reads that are missing are fetched (unless
//! fetching is off) after the run folder is checked and before the data is loaded, and the
//! run records the absolute data folder it read in its config (`data.dir` of `config.toml`
//! and of its checkpoints). `gped run` and `gped sweep` both go through here, and
//! `gped demo` starts a run on data it makes itself.

use super::algorithm::run_with;
use super::control::Control;
use super::outputs::RunSummary;
use super::prepare::{RunData, prepare};
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
    check_folder(out, replace)?;
    let cfg = &with_data(cfg, data, control)?;
    let run_data = prepare(cfg, &cfg.data.dir)?;
    start_with_data(cfg, out, &run_data, replace, control, quiet)
}

/// Runs `cfg` from the start into the run folder `out` on `data`, made in memory rather than
/// read from a data folder (`gped demo` runs its two moons this way, with a grid over the
/// plane as the OOD split). The loop is the same as [`start`]'s; the teacher's ensemble sums
/// cover `data.test` and `data.ood` (`ensemble_test.safetensors`, `ensemble_ood.safetensors`),
/// whatever the config's `data.ood` says. Each split must have the images and classes of the
/// config's dataset. Such a run cannot be resumed with `gped run --resume`, which reads its
/// data from the config: set `output.checkpoint_every = 0`.
pub fn start_with_data(
    cfg: &ValidConfig,
    out: &Path,
    data: &RunData,
    replace: Replace,
    control: &Control,
    quiet: bool,
) -> Result<RunSummary> {
    check_folder(out, replace)?;
    check_data(cfg, data)?;
    if replace == Replace::RunFolder {
        Recorder::remove_old(out)?;
    }
    let state = RunState::new(cfg, data)?;
    let mut recorder = Recorder::create(out, cfg, cfg.schedule.iterations, quiet)?;
    with_checkpoint_note(run_with(cfg, data, state, &mut recorder, control), out)
}

/// Refuses a run folder that `replace` does not allow to be written.
fn check_folder(out: &Path, replace: Replace) -> Result<()> {
    match replace {
        Replace::Never => Recorder::check_fresh(out),
        Replace::RunFolder => Recorder::check_replaceable(out),
    }
}

/// Checks that every split of `data` has the image shape and classes of the dataset of `cfg`.
fn check_data(cfg: &ValidConfig, data: &RunData) -> Result<()> {
    let info = cfg.dataset_info();
    let shape = [info.shape.channels, info.shape.height, info.shape.width];
    let splits = [
        ("training", Some(&data.train)),
        ("test", Some(&data.test)),
        ("OOD", data.ood.as_ref()),
        ("held-out", data.holdout.as_ref()),
    ];
    for (split, set) in splits {
        let Some(set) = set else { continue };
        if set.image_shape() != shape || set.num_classes() != info.classes {
            return Err(Error::InvalidArgument(format!(
                "{split} split of the run's data: expected images of {shape:?} (channels, \
                 height, width) in {} classes as `{}` has, found {:?} in {}",
                info.classes,
                cfg.data.dataset,
                set.image_shape(),
                set.num_classes()
            )));
        }
    }
    if let Some(&i) = data
        .teacher_indices
        .iter()
        .find(|&&i| i >= data.train.len())
    {
        return Err(Error::InvalidArgument(format!(
            "teacher index {i} out of range for a training split of {} examples",
            data.train.len()
        )));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, DatasetName, RunConfig};
    use crate::data::{Dataset, two_moons};

    /// A 20-iteration two-moons run and its data, made in memory.
    fn moons_run() -> (ValidConfig, RunData) {
        let mut cfg = RunConfig::default();
        cfg.data.dataset = DatasetName::TwoMoons;
        cfg.teacher.arch = Arch::PlaneMlp;
        (cfg.schedule.iterations, cfg.schedule.burn_in) = (20, 5);
        (cfg.eval.every, cfg.eval.log_every, cfg.eval.test_batch) = (5, 10, 100);
        let data = RunData {
            train: two_moons(500, 1).unwrap(),
            teacher_indices: (0..500).collect(),
            test: two_moons(500, 2).unwrap(),
            ood: Some(two_moons(50, 3).unwrap()),
            holdout: None,
        };
        (cfg.validate().unwrap(), data)
    }

    #[test]
    fn a_run_starts_on_data_given_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let (cfg, data) = moons_run();
        let summary =
            start_with_data(&cfg, &out, &data, Replace::Never, &Control::default(), true).unwrap();
        // Samples after burn-in every 5 steps: t = 10 and 15.
        assert_eq!(summary.metrics.ensemble_samples, 2);
        for file in [
            "config.toml",
            "ensemble_test.safetensors",
            "ensemble_ood.safetensors",
        ] {
            assert!(out.join(file).is_file(), "{file}");
        }
    }

    #[test]
    fn data_of_another_shape_is_refused_before_the_folder_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let (cfg, mut data) = moons_run();
        data.ood = Some(Dataset::new(vec![0.5; 2 * 784], vec![0, 0], [1, 28, 28], 10).unwrap());
        let err = start_with_data(&cfg, &out, &data, Replace::Never, &Control::default(), true)
            .unwrap_err()
            .to_string();
        for part in ["OOD split", "[1, 1, 2]", "[1, 28, 28]", "two-moons"] {
            assert!(err.contains(part), "{part}: {err}");
        }
        assert!(!out.exists());
    }
}

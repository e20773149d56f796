//! `gped run CONFIG`: loads and validates the config (with `--set` overrides), finds the data
//! (fetching missing files unless `--offline`), runs the GPED loop and prints where the
//! outputs went. `gped run --resume RUN_DIR` continues a stopped run from its checkpoint, on
//! the data folder the run recorded unless told otherwise. SIGINT and SIGTERM stop a run at the end of
//! the current iteration with a checkpoint (a second signal ends it at once).

use super::data_flags::DataFlags;
use crate::checkpoint::{Checkpoint, differences};
use crate::config::{RunConfig, ValidConfig};
use crate::data::{DataAccess, resolve_data_dir, resolve_run_data_dir};
use crate::distill::session::{self, Replace};
use crate::distill::{Control, RunSummary};
use crate::{Error, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Arguments of `gped run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run's TOML config (see `gped config default`); with --resume, optional: it must
    /// then equal the checkpoint's config.
    #[arg(required_unless_present = "resume")]
    pub config: Option<PathBuf>,
    /// Run folder (default: `<output.dir>/<config name>-<UTC timestamp>`).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// Continue the stopped run in this folder from its checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Replace an existing run folder (only one gped made: it must hold a config.toml).
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Override a config key, e.g. `--set schedule.iterations=1000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Where the datasets are; missing files of the run's dataset and OOD set are fetched
    /// into that folder (verified) unless --offline or data.fetch = false.
    #[command(flatten)]
    pub data: DataFlags,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gped run`.
pub fn run(args: RunArgs) -> Result<()> {
    let control = Control::on_flag(stop_on_signals()?);
    let (summary, out) = match &args.resume {
        Some(dir) => (resume(&args, dir, &control)?, dir.clone()),
        None => start(&args, &control)?,
    };
    print!("{}", super::finished::finished_text(&summary.json, &out));
    Ok(())
}

/// Starts a new run; returns its summary and folder.
fn start(args: &RunArgs, control: &Control) -> Result<(RunSummary, PathBuf)> {
    let Some(config_path) = args.config.as_deref() else {
        return Err(Error::InvalidArgument(
            "gped run needs a CONFIG unless it resumes (--resume RUN_DIR)".into(),
        ));
    };
    let config = RunConfig::load_with_overrides(config_path, &args.overrides)?;
    let valid = config.validate()?;
    crate::nn::gemm::init_threads(valid.threads);
    let parent_existed = valid.output.dir.is_dir();
    let out = match &args.out {
        Some(out) => out.clone(),
        None => reserve_run_dir(&valid.output.dir, config_path)?,
    };
    let data_dir = resolve_data_dir(valid.data.explicit_dir(args.data.data_dir.as_deref()));
    let data = DataAccess {
        dir: data_dir,
        fetch: args.data.fetch_options(args.quiet)?,
    };
    let replace = if args.force {
        Replace::RunFolder
    } else {
        Replace::Never
    };
    let summary = session::start(&valid, &out, &data, replace, control, args.quiet);
    if summary.is_err() && args.out.is_none() {
        // The folder reserved above (and its parent if this run made it), when the run
        // failed before writing into it: remove_dir removes only empty folders.
        let _ = std::fs::remove_dir(&out);
        if !parent_existed {
            let _ = std::fs::remove_dir(&valid.output.dir);
        }
    }
    Ok((summary?, out))
}

/// Continues the run in `dir` from its checkpoint.
fn resume(args: &RunArgs, dir: &Path, control: &Control) -> Result<RunSummary> {
    if dir.join("metrics.json").exists() {
        return Err(Error::InvalidArgument(format!(
            "run folder {} holds a finished run (metrics.json); nothing to resume",
            dir.display()
        )));
    }
    let path = Checkpoint::path_in(dir);
    if !path.exists() {
        return Err(Error::NotFound {
            what: "checkpoint".into(),
            path,
            hint: "the run stopped before its first checkpoint (output.checkpoint_every), or \
                   this is not a gped run folder; start the run again"
                .into(),
        });
    }
    let checkpoint = Checkpoint::read(&path)?;
    let saved = &checkpoint.header.config;
    let given = match &args.config {
        Some(p) => RunConfig::load_with_overrides(p, &args.overrides)?,
        None => saved.clone().with_overrides(&args.overrides)?,
    };
    let diffs = differences(saved, &given)?;
    if !diffs.is_empty() {
        let list: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        return Err(Error::ResumeConfig {
            path: args.config.clone().unwrap_or(path),
            differences: list.join("; "),
        });
    }
    let valid: ValidConfig = given.validate()?;
    crate::nn::gemm::init_threads(valid.threads);
    // The folder the run recorded, unless this command names another.
    let data_dir = resolve_run_data_dir(
        args.data.data_dir.as_deref(),
        Some(&given.data.dir),
        Some(&saved.data.dir),
    );
    let data = DataAccess {
        dir: data_dir,
        fetch: args.data.fetch_options(args.quiet)?,
    };
    session::resume(&valid, dir, &checkpoint, &data, control, args.quiet)
}

/// A flag that SIGINT and SIGTERM set; a second signal while it is set exits at once (130).
pub(super) fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .map_err(|e| Error::InvalidArgument(format!("installing a signal handler: {e}")))?;
    }
    Ok(flag)
}

/// Creates and returns the default run folder `<parent>/<config file stem>-<YYYYmmdd-HHMMSS>`
/// (UTC), or `...-2`, `...-3`, ... when another run took that name in the same second: the
/// folder is made with an exclusive create, so two runs started together never share one.
fn reserve_run_dir(parent: &Path, config: &Path) -> Result<PathBuf> {
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    let base = format!("{stem}-{}", utc_timestamp());
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    for n in 1..=1000 {
        let dir = match n {
            1 => parent.join(&base),
            n => parent.join(format!("{base}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&dir, e)),
        }
    }
    Err(Error::InvalidArgument(format!(
        "{}: 1000 run folders named {base}(-N) exist already; give --out",
        parent.display()
    )))
}

/// The current UTC time as `YYYYmmdd-HHMMSS` (civil-from-days, H. Hinnant's algorithm).
pub(super) fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_started_in_the_same_second_get_their_own_folders() {
        let parent = tempfile::tempdir().unwrap();
        let config = std::path::Path::new("configs/quick.toml");
        let dirs: Vec<_> = (0..3)
            .map(|_| super::reserve_run_dir(parent.path(), config).unwrap())
            .collect();
        let names: Vec<String> = dirs
            .iter()
            .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| n.starts_with("quick-")), "{names:?}");
        assert!(dirs.iter().all(|d| d.is_dir()));
        assert_ne!(names[0], names[1]);
        assert_ne!(names[1], names[2]);
        assert_ne!(names[0], names[2]);
    }

    #[test]
    fn timestamp_has_the_documented_shape() {
        let ts = super::utc_timestamp();
        assert_eq!(ts.len(), 15, "{ts}");
        assert_eq!(&ts[8..9], "-");
        assert!(ts.starts_with("20"), "{ts}");
    }
}

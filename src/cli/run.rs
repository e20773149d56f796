//! `gped run CONFIG`: loads and validates the config (with `--set` overrides), prepares the
//! data, runs the GPED loop and prints where the outputs went. `gped run --resume RUN_DIR`
//! continues a stopped run from its checkpoint. SIGINT and SIGTERM stop a run at the end of
//! the current iteration with a checkpoint (a second signal ends it at once).

use crate::checkpoint::{Checkpoint, differences};
use crate::config::{RunConfig, ValidConfig};
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
    /// Folder holding the datasets (default: data.dir, else $GPED_DATA_DIR, else ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Download the run's datasets (its own and its OOD set) into the data folder first when
    /// they are missing there (from $GPED_MIRROR, else the catalogue's mirror; verified).
    #[arg(long, conflicts_with = "resume")]
    pub fetch: bool,
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
    println!(
        "{}",
        serde_json::to_string_pretty(&summary.json).unwrap_or_default()
    );
    println!("run folder: {}", out.display());
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
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_run_dir(&valid.output.dir, config_path));
    let data_dir = crate::data::resolve_data_dir(valid.data.explicit_dir(args.data_dir.as_deref()));
    if args.fetch {
        fetch_missing(&valid, &data_dir)?;
    }
    let replace = if args.force {
        Replace::RunFolder
    } else {
        Replace::Never
    };
    let summary = session::start(&valid, &out, &data_dir, replace, control, args.quiet)?;
    Ok((summary, out))
}

/// Downloads the datasets of `cfg` that `data_dir` does not hold at all (a partly present
/// dataset is left for the loader to report; a generated one needs nothing).
fn fetch_missing(cfg: &ValidConfig, data_dir: &Path) -> Result<()> {
    let datasets = std::iter::once(cfg.data.dataset).chain(cfg.data.ood);
    for name in datasets.filter(|name| !name.is_generated()) {
        let spec = crate::data::dataset_spec(name.as_str())?;
        if let crate::data::DatasetStatus::Missing { .. } =
            crate::data::check_dataset(data_dir, spec)
        {
            eprintln!("fetching {} into {}", spec.name, data_dir.display());
            let mirror = crate::data::resolve_mirror(None);
            crate::data::fetch(data_dir, spec.name, mirror.as_deref())?;
        }
    }
    Ok(())
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
    let data_dir = crate::data::resolve_data_dir(valid.data.explicit_dir(args.data_dir.as_deref()));
    session::resume(&valid, dir, &checkpoint, &data_dir, control, args.quiet)
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

/// `<parent>/<config file stem>-<YYYYmmdd-HHMMSS>` in UTC.
fn default_run_dir(parent: &Path, config: &Path) -> PathBuf {
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    parent.join(format!("{stem}-{}", utc_timestamp()))
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
    fn timestamp_has_the_documented_shape() {
        let ts = super::utc_timestamp();
        assert_eq!(ts.len(), 15, "{ts}");
        assert_eq!(&ts[8..9], "-");
        assert!(ts.starts_with("20"), "{ts}");
    }
}

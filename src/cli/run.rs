//! `gped run CONFIG`: loads and validates the config (with `--set` overrides), prepares the
//! data, runs the GPED loop and prints where the outputs went.

use crate::Result;
use crate::config::RunConfig;
use crate::distill::{self, Recorder};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `gped run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run's TOML config (see `gped config default`).
    pub config: PathBuf,
    /// Run folder (default: `<output.dir>/<config name>-<UTC timestamp>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a config key, e.g. `--set schedule.iterations=1000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Folder holding the datasets (default: data.dir, else $GPED_DATA_DIR, else ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gped run`.
pub fn run(args: RunArgs) -> Result<()> {
    let config = RunConfig::load_with_overrides(&args.config, &args.overrides)?;
    let valid = config.validate()?;
    crate::nn::gemm::init_threads(valid.threads);
    let out = args
        .out
        .unwrap_or_else(|| default_run_dir(&valid.output.dir, &args.config));
    // Every check that can fail before training (the run folder, then the data) runs before
    // the run folder is made, so a refused run leaves nothing behind.
    Recorder::check_fresh(&out)?;
    let data_dir = valid.data.resolve_dir(args.data_dir.as_deref());
    let data = distill::prepare::prepare(&valid, &data_dir)?;
    let mut recorder = Recorder::create(&out, &valid, valid.schedule.iterations, args.quiet)?;
    let summary = distill::run(&valid, &data, &mut recorder)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&summary.json).unwrap_or_default()
    );
    println!("run folder: {}", out.display());
    Ok(())
}

/// `<parent>/<config file stem>-<YYYYmmdd-HHMMSS>` in UTC.
fn default_run_dir(parent: &Path, config: &Path) -> PathBuf {
    let stem = config.file_stem().and_then(|s| s.to_str()).unwrap_or("run");
    parent.join(format!("{stem}-{}", utc_timestamp()))
}

/// The current UTC time as `YYYYmmdd-HHMMSS` (civil-from-days, H. Hinnant's algorithm).
fn utc_timestamp() -> String {
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

//! `gped data check` and `gped data fetch`: report the state of each catalogued dataset in the
//! data directory, and download one. The work is done by [`crate::data`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::Result;
use crate::data::{self, CATALOGUE, DatasetStatus};

/// Arguments of `gped data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `gped data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List each dataset as present (with sizes and checksum state), missing or invalid.
    /// Exits with an error if any dataset is invalid.
    Check {
        /// Data directory (default: $GPED_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Download a dataset (mnist, fashion-mnist, kmnist, cifar10) and verify it.
    Fetch {
        /// Dataset name.
        name: String,
        /// Data directory (default: $GPED_DATA_DIR, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Base URL replacing the dataset's mirror (default: $GPED_MIRROR, else the catalogue's).
        #[arg(long)]
        base_url: Option<String>,
    },
}

/// Runs a `gped data` subcommand.
pub fn run(args: DataArgs) -> Result<()> {
    match args.command {
        DataCommand::Check { data_dir } => check(data_dir),
        DataCommand::Fetch {
            name,
            data_dir,
            base_url,
        } => fetch(&name, data_dir, base_url),
    }
}

fn check(data_dir: Option<PathBuf>) -> Result<()> {
    let dir = data::resolve_data_dir(data_dir.as_deref());
    println!("data directory: {}", dir.display());
    let mut first_invalid = None;
    for spec in &CATALOGUE {
        let (state, detail) = match data::check_dataset(&dir, spec) {
            DatasetStatus::Missing { dir } => (
                "missing",
                format!(
                    "no files in {}; fetch with `gped data fetch {}`",
                    dir.display(),
                    spec.name
                ),
            ),
            DatasetStatus::Present {
                train_shape,
                test_shape,
                checksums_verified,
            } => (
                "present",
                format!(
                    "train {}, test {}, {}",
                    shape_text(train_shape),
                    shape_text(test_shape),
                    if checksums_verified {
                        "checksums ok"
                    } else {
                        "no published checksums (format checked)"
                    }
                ),
            ),
            DatasetStatus::Invalid(err) => {
                let detail = err.to_string();
                first_invalid.get_or_insert(err);
                ("invalid", detail)
            }
        };
        println!("{:<14} {state:<8} {detail}", spec.name);
    }
    first_invalid.map_or(Ok(()), Err)
}

fn fetch(name: &str, data_dir: Option<PathBuf>, base_url: Option<String>) -> Result<()> {
    let spec = data::dataset_spec(name)?;
    let dir = data::resolve_data_dir(data_dir.as_deref());
    let base_url = data::resolve_mirror(base_url.as_deref());
    println!("fetching {name} into {}", spec.dir(&dir).display());
    let report = data::fetch_spec(&dir, spec, base_url.as_deref())?;
    for url in &report.urls {
        println!("downloaded {url}");
    }
    for file in &report.files {
        println!("wrote {}", file.display());
    }
    println!(
        "{name}: {}",
        if report.checksums_verified {
            "checksums ok"
        } else {
            "no published checksums; format checked"
        }
    );
    Ok(())
}

fn shape_text([n, c, h, w]: [usize; 4]) -> String {
    format!("{n} x {c}x{h}x{w}")
}

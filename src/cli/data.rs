//! `gped data check` and `gped data fetch`: report the state of catalogued datasets in the
//! data directory (failing when one is invalid, when one asked for is missing, or when none is
//! there), and download one. The work is done by [`crate::data`].

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::data::{self, CATALOGUE, DatasetSpec, DatasetStatus, FetchOptions, Progress};
use crate::{Error, Result};

/// Arguments of `gped data`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `gped data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List datasets as present (with sizes and checksum state), missing or invalid. Without
    /// NAMEs: every catalogued dataset; fails if one present is invalid (a partial dataset is
    /// invalid), or if none is present. With NAMEs: those; fails if one is missing or invalid.
    Check {
        /// Datasets to check (mnist, fashion-mnist, kmnist, cifar10); default all.
        names: Vec<String>,
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
        /// Base URL replacing the dataset's mirror (each file from URL<file>.gz; {dataset} in
        /// URL stands for the dataset's name; default: $GPED_MIRROR, else the catalogue's).
        #[arg(long)]
        base_url: Option<String>,
    },
}

/// Runs a `gped data` subcommand.
pub fn run(args: DataArgs) -> Result<()> {
    match args.command {
        DataCommand::Check { names, data_dir } => check(&names, data_dir),
        DataCommand::Fetch {
            name,
            data_dir,
            base_url,
        } => fetch(&name, data_dir, base_url),
    }
}

fn check(names: &[String], data_dir: Option<PathBuf>) -> Result<()> {
    let dir = data::resolve_data_dir(data_dir.as_deref());
    let specs: Vec<&DatasetSpec> = if names.is_empty() {
        CATALOGUE.iter().collect()
    } else {
        names
            .iter()
            .map(|n| data::dataset_spec(n))
            .collect::<Result<_>>()?
    };
    println!("data directory: {}", dir.display());
    let (mut present, mut missing, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    for spec in specs {
        let (state, detail) = match data::check_dataset(&dir, spec) {
            DatasetStatus::Missing { dir } => {
                missing.push(spec.name);
                (
                    "missing",
                    format!(
                        "no files in {}; fetch with `gped data fetch {}`",
                        dir.display(),
                        spec.name
                    ),
                )
            }
            DatasetStatus::Present {
                train_shape,
                test_shape,
                checksums_verified,
            } => {
                present.push(spec.name);
                (
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
                )
            }
            DatasetStatus::Invalid(err) => {
                let detail = err.to_string();
                invalid.push(format!("{} ({detail})", spec.name));
                ("invalid", detail)
            }
        };
        println!("{:<14} {state:<8} {detail}", spec.name);
    }
    verdict(&dir, !names.is_empty(), &present, &missing, &invalid)
}

/// The exit of `gped data check`: an error naming the invalid datasets, the missing ones that
/// were asked for (`named`), or, when none was asked for, the absence of any.
fn verdict(
    dir: &Path,
    named: bool,
    present: &[&str],
    missing: &[&str],
    invalid: &[String],
) -> Result<()> {
    let mut faults = Vec::new();
    if !invalid.is_empty() {
        faults.push(format!("invalid: {}", invalid.join("; ")));
    }
    if named && !missing.is_empty() {
        faults.push(format!(
            "missing: {}; fetch with `gped data fetch NAME`, or point --data-dir or \
             GPED_DATA_DIR at the folder that holds them",
            missing.join(", ")
        ));
    }
    if !named && present.is_empty() && invalid.is_empty() {
        faults.push(format!(
            "no dataset found (looked for {}); fetch one with `gped data fetch NAME` (a run \
             fetches what it needs), or point --data-dir or GPED_DATA_DIR at the folder that \
             holds them",
            CATALOGUE
                .iter()
                .map(|s| format!("{}/", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if faults.is_empty() {
        return Ok(());
    }
    Err(Error::DataCheck {
        dir: dir.to_path_buf(),
        summary: faults.join("; "),
    })
}

fn fetch(name: &str, data_dir: Option<PathBuf>, base_url: Option<String>) -> Result<()> {
    let spec = data::dataset_spec(name)?;
    let dir = data::resolve_data_dir(data_dir.as_deref());
    let opts = FetchOptions {
        base_url: data::resolve_mirror(base_url.as_deref()),
        timeout: data::fetch_timeout()?,
        progress: Progress::Bar,
        ..FetchOptions::default()
    };
    println!("fetching {name} into {}", spec.fetch_dir(&dir).display());
    let report = data::fetch_files(&dir, spec, spec.files, &opts)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_on_invalid_on_named_missing_and_on_nothing() {
        let dir = Path::new("/d");
        assert!(verdict(dir, false, &["mnist"], &["kmnist"], &[]).is_ok());
        assert!(verdict(dir, true, &["mnist"], &[], &[]).is_ok());
        let msg = |r: Result<()>| r.unwrap_err().to_string();
        let m = msg(verdict(dir, false, &[], &["mnist"], &[]));
        assert!(
            m.starts_with("/d: no dataset found (looked for mnist/,"),
            "{m}"
        );
        let m = msg(verdict(dir, true, &["mnist"], &["kmnist"], &[]));
        assert!(m.contains("missing: kmnist;"), "{m}");
        let m = msg(verdict(
            dir,
            false,
            &["mnist"],
            &[],
            &["kmnist (bad)".into()],
        ));
        assert!(m.contains("invalid: kmnist (bad)"), "{m}");
        // Only an invalid dataset: that is the fault, not "no dataset found".
        let m = msg(verdict(dir, false, &[], &[], &["kmnist (bad)".into()]));
        assert!(!m.contains("no dataset found"), "{m}");
    }
}

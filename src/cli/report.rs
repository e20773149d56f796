//! `gped report DIR [--out OUT]`: the tables and figures of a sweep folder (made by
//! `gped sweep`), from its files only: `results.csv`, `report.md` and the heatmaps. Prints
//! what it wrote and the cells not finished. The work is done by [`crate::report`].

use crate::Result;
use crate::report::report_sweep;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `gped report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The sweep folder (holding sweep.json).
    pub dir: PathBuf,
    /// Output folder (default: DIR).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `gped report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let done = report_sweep(&args.dir, args.out.as_deref())?;
    println!(
        "results: {} ({} rows)",
        done.out.join("results.csv").display(),
        done.rows
    );
    println!(
        "paper tables: {}, figures: {}",
        done.tables,
        done.figures.len()
    );
    for cell in &done.missing {
        println!("not finished: {cell}");
    }
    println!("report: {}", done.out.join("report.md").display());
    Ok(())
}

//! `gped eval RUN_DIR`: evaluates a finished run (uncertainty decomposition, OOD detection,
//! ranking, calibration, figures) on the data folder the run recorded unless told otherwise,
//! and prints where the report went. The work is done by
//! [`crate::eval`].

use super::data_flags::DataFlags;
use crate::Result;
use crate::eval::{EvalOptions, evaluate_run};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `gped eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The run folder written by `gped run`.
    pub run_dir: PathBuf,
    /// OOD set: a dataset name (e.g. fashion-mnist) or a folder holding
    /// t10k-images-idx3-ubyte[.gz] of the run's image size (default: the run's data.ood). The
    /// teacher is scored only on the run's own OOD set.
    #[arg(long, value_name = "NAME|PATH")]
    pub ood: Option<String>,
    /// Where the datasets are (default: the folder the run recorded, if it still exists);
    /// missing test files are fetched into that folder unless --offline.
    #[command(flatten)]
    pub data: DataFlags,
    /// Output folder (default: RUN_DIR/eval).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `gped eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let output = evaluate_run(&EvalOptions {
        run_dir: args.run_dir,
        ood: args.ood,
        fetch: args.data.fetch_options(false)?,
        data_dir: args.data.data_dir,
        out: args.out,
    })?;
    let r = &output.results;
    let t = &r.teacher.calibration;
    println!(
        "teacher: accuracy {:.4} nll {:.4} ece {:.4}",
        t.accuracy, t.nll, t.ece
    );
    if let Some(d) = &r.teacher.ood_detection {
        println!("teacher: OOD AUROC total {:.4}", d.total.auroc);
    }
    for (name, s) in &r.students {
        let c = &s.model.calibration;
        let auroc = s.model.ood_detection.map_or(String::new(), |d| {
            format!(" OOD AUROC total {:.4}", d.total.auroc)
        });
        println!(
            "student {name}: accuracy {:.4} nll {:.4} ece {:.4}{auroc} nDCG@20 total {:.4}",
            c.accuracy, c.nll, c.ece, s.ranking.total.mean
        );
    }
    println!("report: {}", output.out_dir.join("report.md").display());
    Ok(())
}

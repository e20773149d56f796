//! `gped eval RUN_DIR`: evaluates a finished run (uncertainty decomposition, OOD detection,
//! ranking, calibration, figures) and prints where the report went. The work is done by
//! [`crate::eval`].

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
    /// Folder holding the datasets (default: the run's data.dir, else $GPED_DATA_DIR, else ./data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Output folder (default: RUN_DIR/eval).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `gped eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    let output = evaluate_run(&EvalOptions {
        run_dir: args.run_dir,
        ood: args.ood,
        data_dir: args.data_dir,
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

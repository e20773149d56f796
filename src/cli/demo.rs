//! `gped demo`: GPED on two moons generated from the seed, with no data files, into a new
//! folder: the run folder, the teacher's and the students' uncertainty maps over the plane
//! (PNG and SVG), the per-input numbers and a short report.

use super::run::utc_timestamp;
use crate::Result;
use crate::demo::{demo_config, run_demo};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `gped demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder, refused unless absent or empty (default: `demo-<UTC timestamp>` in the
    /// current folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Master seed: the points, the pool and every random stream of the run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override a setting of the demo's config (`configs/demo.toml`), e.g.
    /// `--set schedule.iterations=5000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gped demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let cfg = demo_config(args.seed, &args.overrides)?;
    crate::nn::gemm::init_threads(cfg.threads);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("demo-{}", utc_timestamp())));
    let done = run_demo(&cfg, &out, args.quiet)?;
    let (t, s) = (&done.summary.teacher, &done.summary.student);
    println!(
        "epistemic uncertainty (nats), on the data / far from it: teacher {:.3} / {:.3}, \
         students {:.3} / {:.3}",
        t.on_data.epistemic, t.far.epistemic, s.on_data.epistemic, s.far.epistemic
    );
    println!(
        "students - teacher over the map, mean |difference|: total {:.3}, epistemic {:.3}",
        done.summary.grid_mae.total, done.summary.grid_mae.epistemic
    );
    println!("wall time: {:.1} s", done.wall_s);
    println!("report: {}", done.dir.join("report.md").display());
    println!("demo folder: {}", done.dir.display());
    Ok(())
}

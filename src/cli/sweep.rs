//! `gped sweep SPEC --out DIR`: runs (this worker's shard of) an experiment grid; `gped sweep
//! DIR --status` tells where a sweep folder stands. SIGINT and SIGTERM stop the running chain
//! with a checkpoint; the same command started again continues.

use super::data_flags::DataFlags;
use super::run::stop_on_signals;
use crate::distill::Control;
use crate::sweep::{
    DEFAULT_STALE_AFTER_S, Grid, Shard, SweepSpec, WorkerOptions, run_worker, status_text,
};
use crate::{Error, Result};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `gped sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep spec (TOML: `base`, `[set]`, `[axes]`; see configs/sweeps/); with --status,
    /// the sweep folder.
    pub spec: PathBuf,
    /// The sweep folder (shared by all workers of the sweep).
    #[arg(long, required_unless_present_any = ["status", "dry_run"])]
    pub out: Option<PathBuf>,
    /// Run shard I of N (every N-th chain from I); default: from SLURM_ARRAY_TASK_ID or
    /// JOB_COMPLETION_INDEX, else all chains.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// The number of shards, for a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or to
    /// override SLURM_ARRAY_TASK_COUNT.
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Seconds without a heartbeat after which a claim on a chain is taken over.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STALE_AFTER_S)]
    pub stale_after: u64,
    /// Print the state of the sweep folder SPEC instead of running.
    #[arg(long, conflicts_with_all = ["out", "shard", "shards"])]
    pub status: bool,
    /// Expand and check the spec, print its chains and cells, and run nothing.
    #[arg(long, conflicts_with = "status")]
    pub dry_run: bool,
    /// Where the datasets are; missing files are fetched into that folder (verified) unless
    /// --offline or data.fetch = false.
    #[command(flatten)]
    pub data: DataFlags,
    /// No progress output from the runs (the worker's own lines stay).
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `gped sweep`.
pub fn run(args: SweepArgs) -> Result<()> {
    let stale_after = Duration::from_secs(args.stale_after);
    if args.status {
        print!("{}", status_text(&args.spec, stale_after)?);
        return Ok(());
    }
    if args.dry_run {
        print!("{}", plan_text(&args.spec)?);
        return Ok(());
    }
    let Some(out) = args.out else {
        return Err(Error::InvalidArgument("gped sweep needs --out DIR".into()));
    };
    let explicit = args.shard.as_deref().map(Shard::parse).transpose()?;
    let shard = Shard::resolve(explicit, args.shards, |name| std::env::var(name).ok())?;
    let opts = WorkerOptions {
        out,
        shard,
        fetch: args.data.fetch_options(args.quiet)?,
        data_dir: args.data.data_dir,
        stale_after,
        quiet: args.quiet,
    };
    let control = Control::on_flag(stop_on_signals()?);
    if let Err(e) = run_worker(&args.spec, &opts, &control) {
        if let Error::Interrupted { .. } = e {
            eprintln!(
                "note: the sweep stopped with its running chain checkpointed; run the same \
                 `gped sweep` command to continue the sweep"
            );
        }
        return Err(e);
    }
    print!("{}", status_text(&opts.out, stale_after)?);
    Ok(())
}

/// The chains and cells of the spec at `path`, one chain per paragraph.
fn plan_text(path: &std::path::Path) -> Result<String> {
    let spec = SweepSpec::load(path)?;
    let grid = Grid::expand(&spec, path.parent().unwrap_or(std::path::Path::new(".")))?;
    let mut text = String::new();
    for chain in &grid.chains {
        let students: Vec<&str> = chain
            .config
            .students
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        text += &format!(
            "chain {} ({} iterations; students {})\n",
            chain.name,
            chain.config.schedule.iterations,
            students.join(", ")
        );
        for cell in grid.cells_of(chain) {
            text += &format!("  cell {}\n", cell.name);
        }
    }
    text += &format!(
        "{} cells in {} chains; varied: {}\n",
        grid.cells.len(),
        grid.chains.len(),
        grid.varied.join(", ")
    );
    Ok(text)
}

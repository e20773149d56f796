//! One worker of a sweep (`gped sweep SPEC --out DIR`): expands the spec, records the sweep in
//! `DIR/sweep.json`, and runs the chains of its shard one after the other. A finished chain
//! (its `metrics.json` exists) is skipped, a chain with a checkpoint continues from it, and a
//! chain a live worker holds is left to it: the worker waits until that chain is finished, or
//! its claim goes stale and it takes the chain over, so a worker ends only when its whole
//! shard is finished. A killed sweep started again ends exactly as an uninterrupted one
//! (resume is bit for bit). Each chain is an ordinary run folder `DIR/chains/NAME`, run
//! through `distill::session`.

use super::claim::Claim;
use super::grid::{Chain, Grid};
use super::record::{chain_dir, to_json, write_or_check};
use super::shard::Shard;
use super::spec::SweepSpec;
use crate::checkpoint::{Checkpoint, differences};
use crate::data::{DataAccess, FetchOptions, resolve_data_dir, resolve_run_data_dir};
use crate::distill::Control;
use crate::distill::session::{self, Replace};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The sweep folder.
    pub out: PathBuf,
    pub shard: Shard,
    /// `--data-dir` (else each chain's `data.dir`, else, for a chain resumed, the folder it
    /// recorded if it is still a folder, else `$GPED_DATA_DIR`, else `./data`).
    pub data_dir: Option<PathBuf>,
    /// How the chains fetch missing data files (`None`: never, `--offline`).
    pub fetch: Option<FetchOptions>,
    /// How long a claim may go without a heartbeat before another worker takes it over.
    pub stale_after: Duration,
    /// No progress output from the chains' runs (the worker's own lines stay).
    pub quiet: bool,
}

/// What a worker found and did, in cells (the grid's points) of its shard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerSummary {
    /// Cells of chains this worker ran to the end.
    pub ran: usize,
    /// Cells of chains that were already finished.
    pub found_done: usize,
    /// Cells of chains that live workers held at the last look (0 once the worker ends: it
    /// waits for them).
    pub held_elsewhere: usize,
    /// Cells in the shard.
    pub total: usize,
}

impl WorkerSummary {
    /// The progress line, with `held` cells held by other workers.
    fn line(&self, shard: Shard, held: usize) -> String {
        let done = self.ran + self.found_done;
        format!(
            "sweep shard {}/{}: cells done {done}, held by other workers {held}, left {}",
            shard.index,
            shard.count,
            self.total - done - held
        )
    }
}

/// Runs the worker of `opts` on the spec at `spec_path`.
pub fn run_worker(
    spec_path: &Path,
    opts: &WorkerOptions,
    control: &Control,
) -> Result<WorkerSummary> {
    let spec = SweepSpec::load(spec_path)?;
    let grid = Grid::expand(&spec, spec_path.parent().unwrap_or(Path::new(".")))?;
    write_or_check(&opts.out, &to_json(&spec, &grid)?)?;
    let mine: Vec<&Chain> = (grid.chains.iter().enumerate())
        .filter(|(i, _)| opts.shard.takes(*i))
        .map(|(_, c)| c)
        .collect();
    if let Some(first) = mine.first() {
        crate::nn::gemm::init_threads(first.config.threads);
    }
    let mut summary = WorkerSummary {
        total: mine.iter().map(|c| c.cells.len()).sum(),
        ..WorkerSummary::default()
    };
    let mut left = mine;
    loop {
        let mut held = Vec::new();
        for chain in left {
            let dir = chain_dir(&opts.out, &chain.name);
            if is_finished(&dir) {
                summary.found_done += chain.cells.len();
                continue;
            }
            let Some(claim) = Claim::take(&opts.out, &chain.name, opts.stale_after)? else {
                held.push(chain);
                continue;
            };
            // The previous holder may have finished it between the two looks.
            if is_finished(&dir) {
                summary.found_done += chain.cells.len();
                continue;
            }
            eprintln!(
                "sweep: running chain {} ({} cells)",
                chain.name,
                chain.cells.len()
            );
            run_chain(chain, &dir, opts, control)?;
            drop(claim);
            summary.ran += chain.cells.len();
            eprintln!("{}", summary.line(opts.shard, 0));
        }
        if held.is_empty() {
            break;
        }
        // Chains of this shard that other workers hold: wait until they finish, or until a
        // dead worker's claim goes stale and this one takes the chain over.
        summary.held_elsewhere = held.iter().map(|c| c.cells.len()).sum();
        eprintln!(
            "{} (waiting for them)",
            summary.line(opts.shard, summary.held_elsewhere)
        );
        wait(opts.stale_after / 4, control)?;
        left = held;
    }
    summary.held_elsewhere = 0;
    eprintln!("{}", summary.line(opts.shard, 0));
    Ok(summary)
}

/// Sleeps `pause` (at most 30 s), or fails at once when the worker is asked to stop.
fn wait(pause: Duration, control: &Control) -> Result<()> {
    let until = std::time::Instant::now() + pause.min(Duration::from_secs(30));
    while std::time::Instant::now() < until {
        if control.stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::InvalidArgument(
                "stopped while waiting for chains that other workers hold; run the same \
                 gped sweep command to continue"
                    .into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Whether the chain folder `dir` holds a finished run.
pub fn is_finished(dir: &Path) -> bool {
    dir.join("metrics.json").is_file()
}

/// Runs `chain` into `dir`: from its checkpoint if there is one, else from the start
/// (replacing what a worker killed before the first checkpoint left there).
fn run_chain(chain: &Chain, dir: &Path, opts: &WorkerOptions, control: &Control) -> Result<()> {
    let cfg = &chain.config;
    let flag = opts.data_dir.as_deref();
    let path = Checkpoint::path_in(dir);
    if !path.exists() {
        let data = access(resolve_data_dir(cfg.data.explicit_dir(flag)), opts);
        session::start(cfg, dir, &data, Replace::RunFolder, control, opts.quiet)?;
        return Ok(());
    }
    let checkpoint = Checkpoint::read(&path)?;
    let diffs = differences(&checkpoint.header.config, cfg)?;
    if !diffs.is_empty() {
        let list: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        return Err(Error::ResumeConfig {
            path,
            differences: list.join("; "),
        });
    }
    let recorded = &checkpoint.header.config.data.dir;
    let data_dir = resolve_run_data_dir(flag, Some(&cfg.data.dir), Some(recorded));
    let data = access(data_dir, opts);
    session::resume(cfg, dir, &checkpoint, &data, control, opts.quiet)?;
    Ok(())
}

/// The data folder `dir`, fetched into as `opts` says.
fn access(dir: PathBuf, opts: &WorkerOptions) -> DataAccess {
    DataAccess {
        dir,
        fetch: opts.fetch.clone(),
    }
}

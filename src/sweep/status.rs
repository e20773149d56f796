//! `gped sweep DIR --status`: the state of every chain of a sweep folder, from its
//! `sweep.json`, the chain folders and the claims: finished, running (a live claim), stale (a
//! claim whose worker stopped renewing it), stopped at a checkpoint, or not started.

use super::claim::{Claim, Holder};
use super::record::{FILE_NAME, chain_dir, read};
use super::worker::is_finished;
use crate::checkpoint::Checkpoint;
use crate::{Error, Result};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The state of one chain.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainState {
    Finished,
    /// Held by a live worker (its owner line), at its last checkpoint's iteration if any.
    Running(String, Option<u64>),
    /// Held by a worker that stopped renewing its claim this many seconds ago.
    Stale(u64, Option<u64>),
    /// Not held, with a checkpoint at this iteration.
    Stopped(u64),
    NotStarted,
}

/// Every chain of the sweep in `dir` with its number of cells and its state.
pub fn chain_states(dir: &Path, stale_after: Duration) -> Result<Vec<(String, usize, ChainState)>> {
    let path = dir.join(FILE_NAME);
    let record = read(&path)?;
    let chains = record
        .get("chains")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::format(&path, "sweep.json", "expected a `chains` array"))?;
    let mut states = Vec::new();
    for chain in chains {
        let name = chain.get("name").and_then(Value::as_str).ok_or_else(|| {
            Error::format(&path, "sweep.json", "expected each chain to have a `name`")
        })?;
        let cells = chain
            .get("cells")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let folder = chain_dir(dir, name);
        let checkpoint = Checkpoint::iteration_in(&Checkpoint::path_in(&folder)).ok();
        let state = if is_finished(&folder) {
            ChainState::Finished
        } else {
            match Claim::holder(dir, name, stale_after)? {
                Holder::Live(owner) => ChainState::Running(owner, checkpoint),
                Holder::Stale(_, age) => ChainState::Stale(age, checkpoint),
                Holder::Nobody => checkpoint.map_or(ChainState::NotStarted, ChainState::Stopped),
            }
        };
        states.push((name.to_string(), cells, state));
    }
    Ok(states)
}

/// The `--status` text: one line per chain, then the totals in cells.
pub fn status_text(dir: &Path, stale_after: Duration) -> Result<String> {
    let states = chain_states(dir, stale_after)?;
    let at = |it: &Option<u64>| it.map_or(String::new(), |i| format!(", checkpoint at {i}"));
    let mut text = String::new();
    let (mut done, mut running, mut total) = (0, 0, 0);
    for (name, cells, state) in &states {
        total += cells;
        let what = match state {
            ChainState::Finished => {
                done += cells;
                "finished".to_string()
            }
            ChainState::Running(owner, it) => {
                running += cells;
                format!("running ({owner}{})", at(it))
            }
            ChainState::Stale(age, it) => {
                format!("stale claim, no heartbeat for {age} s{}", at(it))
            }
            ChainState::Stopped(it) => format!("stopped, checkpoint at {it}"),
            ChainState::NotStarted => "not started".to_string(),
        };
        text += &format!("{name}: {what} ({cells} cells)\n");
    }
    text += &format!(
        "{} chains; cells: {done} done, {running} running, {} left, {total} in all\n",
        states.len(),
        total - done - running
    );
    Ok(text)
}

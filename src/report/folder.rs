//! A sweep folder as `gped sweep` leaves it: `sweep.json` (format `gped-sweep-1`: the spec,
//! the axes, the varied keys, the cells and the teacher chains they share) and, for each
//! chain, its run folder in whatever state it is (see `chain`). Only reads files.

use super::chain::ChainState;
use crate::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file that makes a folder a sweep folder.
pub const SWEEP_FILE: &str = "sweep.json";
/// The one format of `sweep.json` this version reads.
pub const SWEEP_FORMAT: &str = "gped-sweep-1";

/// `sweep.json` as written by `gped sweep`.
#[derive(Debug, Clone, Deserialize)]
pub struct SweepFile {
    pub format: String,
    /// The spec file as a JSON table.
    pub spec: Value,
    /// Every axis: key -> the values it takes.
    pub axes: Map<String, Value>,
    /// The axes with more than one value, in the spec's order.
    pub varied: Vec<String>,
    pub cells: Vec<CellEntry>,
    pub chains: Vec<ChainEntry>,
}

/// One cell of the grid.
#[derive(Debug, Clone, Deserialize)]
pub struct CellEntry {
    pub name: String,
    /// The axes' values at this cell.
    pub settings: Map<String, Value>,
    /// The name of its chain.
    pub chain: String,
    /// Each student of the cell -> its name in the chain.
    pub students: BTreeMap<String, String>,
}

/// One teacher chain: a run folder holding the students of its cells.
#[derive(Debug, Clone, Deserialize)]
pub struct ChainEntry {
    pub name: String,
    /// The run folder, relative to the sweep folder.
    pub dir: PathBuf,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub cells: Vec<String>,
    #[serde(default)]
    pub students: Vec<String>,
}

/// A sweep folder read back: its description and the state of every chain.
#[derive(Debug)]
pub struct SweepFolder {
    pub dir: PathBuf,
    pub sweep: SweepFile,
    /// The state of `sweep.chains[i]`'s run folder.
    pub states: Vec<ChainState>,
}

impl SweepFolder {
    /// Reads `dir/sweep.json` and every chain's run folder. A missing or malformed
    /// `sweep.json`, and a finished chain with a malformed `metrics.json`, `config.toml` or
    /// `eval/eval.json`, are errors naming the file; a chain not finished is a state.
    pub fn read(dir: &Path) -> Result<SweepFolder> {
        let path = dir.join(SWEEP_FILE);
        if !path.is_file() {
            return Err(Error::NotFound {
                what: format!("{SWEEP_FILE} (the description of a sweep)"),
                path,
                hint: "`gped report` reads a sweep folder made by `gped sweep`".into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let sweep = parse_sweep(&text, &path)?;
        let states = sweep
            .chains
            .iter()
            .map(|c| ChainState::read(dir, c))
            .collect::<Result<_>>()?;
        Ok(SweepFolder {
            dir: dir.to_path_buf(),
            sweep,
            states,
        })
    }

    /// The chain of `cell` and its state.
    pub fn chain_of(&self, cell: &CellEntry) -> (&ChainEntry, &ChainState) {
        let i = self
            .sweep
            .chains
            .iter()
            .position(|c| c.name == cell.chain)
            .expect("parse_sweep checks that every cell's chain is listed");
        (&self.sweep.chains[i], &self.states[i])
    }
}

/// Parses and checks the text of `sweep.json` read from `path`: its format, and that every
/// cell names a listed chain, with a unique name.
pub fn parse_sweep(text: &str, path: &Path) -> Result<SweepFile> {
    let bad = |detail: String| Error::format(path, "gped sweep.json", detail);
    let sweep: SweepFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    if sweep.format != SWEEP_FORMAT {
        return Err(bad(format!(
            "`format`: expected `{SWEEP_FORMAT}`, found `{}`",
            sweep.format
        )));
    }
    let mut names = std::collections::BTreeSet::new();
    for cell in &sweep.cells {
        if !names.insert(&cell.name) {
            return Err(bad(format!("cell `{}` is listed twice", cell.name)));
        }
        if !sweep.chains.iter().any(|c| c.name == cell.chain) {
            return Err(bad(format!(
                "cell `{}`: its chain `{}` is not in `chains`",
                cell.name, cell.chain
            )));
        }
    }
    Ok(sweep)
}

/// A setting's value as it reads in TOML: numbers as written (`1.0` stays a float), strings
/// bare, arrays with their items joined by `;` (`[0.5, 0.5]` -> `0.5;0.5`).
pub fn setting_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(setting_text).collect::<Vec<_>>().join(";"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn setting_text_reads_as_toml() {
        assert_eq!(setting_text(&json!(10)), "10");
        assert_eq!(setting_text(&json!(1.0)), "1.0");
        assert_eq!(setting_text(&json!(1e-4)), "0.0001");
        assert_eq!(setting_text(&json!([0.5, 0.5])), "0.5;0.5");
        assert_eq!(setting_text(&json!("running-mean")), "running-mean");
        assert_eq!(setting_text(&json!(true)), "true");
    }

    #[test]
    fn a_folder_without_sweep_json_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = SweepFolder::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("sweep.json"), "{e}");
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        assert!(e.contains("gped sweep"), "{e}");
    }

    #[test]
    fn another_format_or_an_unknown_chain_is_refused() {
        let path = Path::new("s/sweep.json");
        let doc = |format: &str, chain: &str| {
            json!({"format": format, "spec": {}, "axes": {}, "varied": [],
                   "cells": [{"name": "all", "settings": {}, "chain": chain, "students": {}}],
                   "chains": [{"name": "all", "dir": "chains/all"}]})
            .to_string()
        };
        assert!(parse_sweep(&doc(SWEEP_FORMAT, "all"), path).is_ok());
        let e = parse_sweep(&doc("gped-sweep-2", "all"), path)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("s/sweep.json")
                && e.contains("expected `gped-sweep-1`, found `gped-sweep-2`"),
            "{e}"
        );
        let e = parse_sweep(&doc(SWEEP_FORMAT, "other"), path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cell `all`: its chain `other`"), "{e}");
        let e = parse_sweep("{\"format\": 1", path).unwrap_err().to_string();
        assert!(
            e.contains("s/sweep.json: not a valid gped sweep.json file"),
            "{e}"
        );
    }
}

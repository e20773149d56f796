//! `sweep.json`: what a sweep folder holds, for the workers that share it, `--status` and
//! `gped report`: the spec, the axes and which of them vary, every cell (its settings, its
//! chain, its students' names in the chain) and every chain (its folder, settings, cells and
//! students). Written atomically by each worker that starts on the folder; a worker whose spec
//! expands to another grid is refused, so one folder never mixes two sweeps.

use super::grid::Grid;
use super::spec::{Setting, SweepSpec};
use crate::base::write_atomic;
use crate::{Error, Result};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

/// The file name of the sweep record.
pub const FILE_NAME: &str = "sweep.json";
/// The format tag of `sweep.json`.
pub const FORMAT: &str = "gped-sweep-1";

/// The run folder of chain `name` in the sweep folder `dir`.
pub fn chain_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("chains").join(name)
}

/// The content of `sweep.json` for `spec` expanded to `grid`.
pub fn to_json(spec: &SweepSpec, grid: &Grid) -> Result<Value> {
    let settings = |s: &[Setting]| -> Result<Value> {
        let mut map = Map::new();
        for (k, v) in s {
            map.insert(k.clone(), to_value(v)?);
        }
        Ok(Value::Object(map))
    };
    let cells = grid
        .cells
        .iter()
        .map(|c| {
            Ok(json!({
                "name": c.name,
                "settings": settings(&c.settings)?,
                "chain": grid.chains[c.chain].name,
                "students": c.students,
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    let chains = grid
        .chains
        .iter()
        .map(|ch| {
            Ok(json!({
                "name": ch.name,
                "dir": format!("chains/{}", ch.name),
                "settings": settings(&ch.settings)?,
                "cells": grid.cells_of(ch).map(|c| c.name.clone()).collect::<Vec<_>>(),
                "students": ch.config.students.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "format": FORMAT,
        "spec": to_value(spec)?,
        "axes": to_value(&spec.axes)?,
        "varied": grid.varied,
        "cells": cells,
        "chains": chains,
    }))
}

/// Writes `record` as `dir/sweep.json`, or checks that the one there is the same sweep.
pub fn write_or_check(dir: &Path, record: &Value) -> Result<()> {
    let path = dir.join(FILE_NAME);
    if path.exists() {
        let found = read(&path)?;
        if found != *record {
            return Err(Error::InvalidArgument(format!(
                "{} records another sweep (its spec, cells or chains differ from this spec's); \
                 use another --out, or the spec that made it",
                path.display()
            )));
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let text = serde_json::to_string_pretty(record)
        .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
    write_atomic(&path, text.as_bytes())
}

/// Reads the `sweep.json` at `path`.
pub fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Error::format(path, "sweep.json", e.to_string()))?;
    if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Error::format(
            path,
            "sweep.json",
            format!("expected \"format\": \"{FORMAT}\""),
        ));
    }
    Ok(value)
}

/// `v` as JSON (the spec's TOML values and tables).
fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::InvalidArgument(format!("sweep spec value: {e}")))
}

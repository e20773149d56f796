//! `gped demo` from start to end: the run (`train`), the teacher's and the students' maps
//! (`maps`), the per-input tables (`tables`), the figure (`figure`) and the report (`report`),
//! all into one new folder, which is also the run folder.

use super::figure::{MAPS_STEM, UncertaintyMaps};
use super::maps::{Maps, Summary};
use super::report::DemoReport;
use super::tables::write_csv;
use super::train::train;
use crate::Result;
use crate::config::ValidConfig;
use crate::eval::render;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the demo wrote and found.
#[derive(Debug, Clone)]
pub struct DemoOutput {
    /// The demo's folder (a run folder, plus the demo's files).
    pub dir: PathBuf,
    pub summary: Summary,
    /// Seconds for the whole demo.
    pub wall_s: f64,
}

/// Runs the demo of `cfg` (see `preset::demo_config`) into the new folder `out` (absent or
/// empty, else refused before anything is written): the GPED run, then `grid.csv`,
/// `points.csv`, the figure as PNG and SVG, `report.md` and `demo.json`.
pub fn run_demo(cfg: &ValidConfig, out: &Path, quiet: bool) -> Result<DemoOutput> {
    let clock = Instant::now();
    let trained = train(cfg, out, quiet)?;
    let maps = Maps::compute(out, &trained)?;
    write_csv(&out.join("grid.csv"), &maps.grid, false)?;
    write_csv(&out.join("points.csv"), &maps.points, true)?;
    let side = trained.grid.side();
    let figure = UncertaintyMaps::of(&maps, side, &trained.training_points()?);
    render(&figure, out, MAPS_STEM)?;
    let summary = maps.summary();
    let wall_s = clock.elapsed().as_secs_f64();
    DemoReport {
        cfg,
        run: &trained.summary,
        maps: &summary,
        grid_side: side,
        wall_s,
    }
    .write(out)?;
    Ok(DemoOutput {
        dir: out.to_path_buf(),
        summary,
        wall_s,
    })
}

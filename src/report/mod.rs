//! `gped report`: a sweep's results across its runs, read from its folder only (it never
//! trains nor evaluates). `folder` reads `sweep.json` and `chain` each chain's run folder
//! (finished or how far it got); `rows` turns them into one row per (cell, student);
//! `results_csv` writes `results.csv`; `summary` gives mean ± std over seeds; `paper` lays
//! out the paper's Tables 5/6/7 with the published numbers beside ours; `heatmaps` picks the
//! Figure-1 style heatmaps the grid supports and `heatmap_figure` draws them; `markdown`
//! writes `report.md`; `pipeline` ties the steps together.

pub mod chain;
#[cfg(test)]
mod fixture;
pub mod folder;
pub mod heatmap_figure;
pub mod heatmaps;
pub mod markdown;
pub mod paper;
pub mod pareto;
pub mod pipeline;
pub mod results_csv;
pub mod rows;
pub mod summary;

pub use chain::{Aurocs, ChainState, EvalAurocs, FinishedChain, Progress};
pub use folder::{SWEEP_FILE, SweepFile, SweepFolder};
pub use heatmap_figure::{Heatmap, Panel};
pub use paper::{LaidTable, PAPER_TABLES, PaperTable};
pub use pipeline::{ReportOutput, report_sweep};
pub use rows::{MissingCell, Row, SweepRows};
pub use summary::{MeanStd, SeedGroup};

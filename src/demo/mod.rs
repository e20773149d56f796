//! `gped demo`: what GPED is for, in under a minute and with no data files. The two-moons
//! problem in the plane is generated from a seed; the real Algorithm 1 (`distill`, as in
//! `gped run`) samples a small teacher's posterior with SGLD and distils a predictive and an
//! expected-entropy student from it; the demo then maps the teacher's (posterior ensemble) and
//! the students' total, aleatoric and epistemic uncertainty over the plane, where the
//! epistemic part is high away from the data in both. `preset` holds the settings
//! (`configs/demo.toml`), `train` the data and the run, `grid` the map's cells, `maps` the
//! uncertainties and their summary, `tables` the CSV files, `figure` the maps' drawing,
//! `report` `report.md` and `demo.json`, and `pipeline` ties them together.

pub mod figure;
pub mod grid;
pub mod maps;
pub mod pipeline;
pub mod preset;
pub mod report;
pub mod tables;
pub mod train;

pub use grid::{GRID_SIDE, Grid};
pub use maps::{FAR_DISTANCE, Maps, Means, Regions, Summary};
pub use pipeline::{DemoOutput, run_demo};
pub use preset::{DEMO_CONFIG_TOML, demo_config};
pub use train::{POOL_POINTS, Trained, demo_data, train};

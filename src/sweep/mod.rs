//! Sweeps: the paper's experiment grids (mask x training subset x student size, seeds, ...) as
//! one object that runs on one machine or on an existing cluster scheduler over a shared
//! folder. A spec (`spec`) expands to cells and the teacher chains they share (`grid`),
//! recorded in `sweep.json` (`record`); workers take chains by shard (`shard`) and claim
//! (`claim`) and run them (`worker`); `status` tells where a sweep folder stands.

pub mod claim;
pub mod grid;
pub mod record;
pub mod shard;
pub mod spec;
pub mod status;
pub mod worker;

pub use claim::DEFAULT_STALE_AFTER_S;
pub use grid::{Cell, Chain, Grid};
pub use shard::Shard;
pub use spec::SweepSpec;
pub use status::status_text;
pub use worker::{WorkerOptions, WorkerSummary, run_worker};

//! Distillation: the GPED loop of Algorithm 1 (`algorithm`), the teacher it samples with SGLD
//! (`teacher`), the students it trains (`student`), the test-set passes (`evaluate`), the data
//! a run is made of (`prepare`) and the run folder it writes (`record`).

pub mod algorithm;
pub mod distiller;
pub mod evaluate;
pub mod prepare;
pub mod record;
pub mod state;
pub mod student;
pub mod teacher;

pub use algorithm::{Control, RunSummary, run, run_with};
pub use prepare::RunData;
pub use record::Recorder;
pub use state::{RunState, Timings};

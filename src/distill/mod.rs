//! Distillation: the GPED loop of Algorithm 1 (`algorithm`), the teacher it samples with SGLD
//! (`teacher`), in one chain or several (`chains`), the students it trains (`student`, their
//! heads `head`, `distiller`), how the loop's steps share the cores (`pipeline`), what it
//! writes between and after iterations (`outputs`), the state it carries (`state`), how it is
//! stopped (`control`), the test-set passes (`evaluate`), what a run folder records of a
//! student's heads (`head_record`), the data a run is made of (`prepare`), pruning and
//! fine-tuning inside a run (`prune`), the run folder (`record`) and starting or resuming a
//! run in its folder (`session`).

pub mod algorithm;
pub mod chains;
pub mod control;
pub mod distiller;
pub mod evaluate;
pub mod head;
pub mod head_record;
pub mod outputs;
pub mod pipeline;
pub mod prepare;
pub mod prune;
pub mod record;
pub mod session;
pub mod state;
pub mod student;
pub mod teacher;

pub use algorithm::{run, run_with};
pub use control::Control;
pub use outputs::RunSummary;
pub use prepare::RunData;
pub use record::Recorder;
pub use state::{RunState, Timings};

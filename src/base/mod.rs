//! The base layer, under every other module and importing none of them: the library's error
//! type, atomic file output, the state (de)serialisation a checkpoint is made of, the seeded
//! random streams, the run-time SIMD dispatch of the element-wise kernels, the description
//! of the machine that speed figures carry, and the special functions ln Gamma and digamma.

pub mod atomic;
pub mod error;
pub mod gaussian;
pub mod machine;
pub mod seeds;
pub mod simd;
pub mod special;
pub mod state;

pub use atomic::{write_atomic, write_atomic_with};
pub use error::{Error, Result};
pub use gaussian::GaussianStream;
pub use state::{StateReader, StateWriter, Stateful};

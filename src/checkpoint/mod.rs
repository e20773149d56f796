//! Checkpoints: everything a run needs to continue exactly where it stopped, in one
//! safetensors file in the run folder, written atomically (temporary file, fsync, rename), so
//! the previous checkpoint stays valid until the new one is complete. The state is named
//! tensors and scalars (`base::state`); each part of a run saves and restores its own through
//! `Stateful`;
//! `diff` names the settings in which a resumed run's config differs from its checkpoint's.

mod diff;
mod file;

pub use diff::{Difference, differences};
pub use file::{Checkpoint, FILE_NAME, Header, write};

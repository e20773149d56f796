//! Teacher and student architectures of the paper (appendix A.2), built from a small spec:
//! the FCNN 784-400-400-10, the MNIST CNN and the CIFAR-10 CNN (and the demo's 2-100-100-2
//! plane MLP), with width multipliers K1, K2 for students or explicit hidden widths (pruned
//! students) and any number of outputs; and the pruning of Experiment 3.

pub mod arch;
pub mod prune;
pub mod widths;

#[cfg(test)]
mod lasso_tests;

pub use arch::{ModelSpec, build, build_sized};
pub use prune::{PruneReport, prune};
pub use widths::{HiddenWidths, load_network};

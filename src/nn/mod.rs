//! gped's small neural-network engine: parameters, layers with explicit backward passes,
//! losses on network outputs, and the GEMM and random-number kernels they stand on.

pub mod layer;
pub mod params;

pub use layer::{Layer, Shape};
pub use params::{ParamSet, ParamSpec};

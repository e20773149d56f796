//! gped's small neural-network engine: parameters, layers with explicit backward passes,
//! losses on network outputs, and the GEMM and random-number kernels they stand on.

pub mod gaussian;
pub mod layer;
pub mod loss;
pub mod params;
pub(crate) mod simd;

pub use gaussian::GaussianStream;
pub use layer::{Layer, Shape};
pub use params::{ParamSet, ParamSpec};

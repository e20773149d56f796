//! gped's small neural-network engine: parameters, layers with explicit backward passes,
//! losses on network outputs, and the GEMM and random-number kernels they stand on.

pub mod layer;
pub mod network;
pub mod params;
pub mod weights;

pub use layer::{Layer, Shape};
pub use network::Network;
pub use params::{ParamSet, ParamSpec};

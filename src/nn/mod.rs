//! gped's small neural-network engine: parameters, layers with explicit backward passes,
//! losses on network outputs, and the GEMM and random-number kernels they stand on.

pub mod conv2d;
pub mod gemm;
pub mod init;
pub mod layer;
pub mod linear;
pub mod params;
mod scratch;

#[cfg(test)]
mod gradcheck;

pub use conv2d::Conv2d;
pub use gemm::{matmul, set_threads};
pub use layer::{Layer, Shape};
pub use linear::Linear;
pub use params::{ParamSet, ParamSpec};

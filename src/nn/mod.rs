//! gped's small neural-network engine: parameters, layers with explicit backward passes,
//! losses on network outputs, the GEMM kernels they stand on, and the timing of a forward
//! pass (`speed`).

pub mod conv2d;
pub mod dropout;
pub mod flatten;
pub mod gemm;
pub mod group_lasso;
mod im2col;
pub mod init;
pub mod layer;
pub mod linear;
pub mod loss;
pub mod network;
pub mod params;
pub mod pool;
mod pool2x2;
pub mod prune;
pub mod relu;
mod scratch;
mod sparse;
mod sparse_grad;
#[cfg(test)]
mod sparse_test_support;
pub mod speed;
pub mod weights;

#[cfg(test)]
mod gradcheck;

pub use conv2d::Conv2d;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use gemm::{matmul, set_threads};
pub use layer::{Layer, Shape, UnitGroups};
pub use linear::Linear;
pub use network::Network;
pub use params::{ParamSet, ParamSpec};
pub use pool::MaxPool2d;
pub use relu::Relu;
pub use speed::{InferenceTime, LARGE_BATCH, time_inference};

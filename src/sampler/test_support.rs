//! What the samplers' kernel tests share: a one-tensor parameter set, the FCNN teacher's
//! 478,410 weights and gradients drawn from fixed streams, and the check that a sampler's
//! steps give the same bits on pools of 1, 2 and 3 threads as one serial pass.

use super::Sampler;
use crate::base::GaussianStream;
use crate::nn::ParamSet;

/// A parameter set of one tensor `w` holding `values`, with `grads`.
pub(super) fn param_set(values: Vec<f32>, grads: Vec<f32>) -> ParamSet {
    let mut p = ParamSet::new();
    p.add("w", &[values.len()]);
    p.values = values;
    p.grads = grads;
    p
}

/// The FCNN teacher's size: 478,410 values (stream 1) and gradients (stream 2).
pub(super) fn fcnn_buffers() -> (Vec<f32>, Vec<f32>) {
    let n = 478_410;
    let (mut values, mut grads) = (vec![0.0f32; n], vec![0.0f32; n]);
    GaussianStream::new(1).fill(&mut values);
    GaussianStream::new(2).fill(&mut grads);
    (values, grads)
}

/// Asserts that `steps` steps (t = 0, 1, ...) of the samplers `make` builds, on `values` and
/// `grads` in pools of 1, 2 and 3 threads, give the bits of `serial`.
pub(super) fn assert_thread_invariant<S: Sampler>(
    values: &[f32],
    grads: &[f32],
    serial: &[f32],
    steps: u64,
    make: impl Fn() -> S,
) {
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut p = param_set(values.to_vec(), grads.to_vec());
        let mut sampler = make();
        pool.install(|| (0..steps).for_each(|t| sampler.step(&mut p, t)));
        assert!(
            p.values
                .iter()
                .zip(serial)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{threads} threads differ from the serial pass"
        );
    }
}

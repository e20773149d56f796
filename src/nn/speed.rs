//! How fast a network predicts, measured in the process that uses it: the wall time of its
//! forward pass in evaluation mode per example, at batch 1 (one input at a time, as a service
//! answering single requests) and at a large batch (as `gped predict` over a file). Each
//! figure is the median of five timed rounds after a warm-up pass, each round repeating the
//! pass until it has run at least 20 ms, so that a student's FLOPs saving from pruning shows as
//! a time saving or not, on the same machine, beside the other students of the same run.

use super::Network;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Timed rounds per figure (the median is reported).
const ROUNDS: usize = 5;
/// Least wall time of one round.
const ROUND_TIME: Duration = Duration::from_millis(20);

/// Forward-pass wall time per example, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InferenceTime {
    /// One input per pass.
    pub batch_1_us: f64,
    /// `batch` inputs per pass.
    pub batch_n_us: f64,
    /// The large batch (1000, or every input given when fewer).
    pub batch: usize,
}

/// The large batch of [`time_inference`].
pub const LARGE_BATCH: usize = 1000;

/// Times `net`'s forward pass (in evaluation mode; its mode is restored) on `inputs` (`n`
/// examples of `input_len` values, n >= 1): per example at batch 1 (cycling through the
/// inputs) and at batch min(n, 1000).
pub fn time_inference(net: &mut Network, inputs: &[f32], input_len: usize) -> InferenceTime {
    let n = inputs.len() / input_len;
    assert!(n >= 1, "time_inference needs at least one input");
    let training = net.training;
    net.training = false;
    let mut next = 0;
    let batch_1_us = per_example_us(1, || {
        let x = &inputs[next * input_len..(next + 1) * input_len];
        std::hint::black_box(net.forward(x, 1));
        next = (next + 1) % n;
    });
    let batch = n.min(LARGE_BATCH);
    let large = &inputs[..batch * input_len];
    let batch_n_us = per_example_us(batch, || {
        std::hint::black_box(net.forward(large, batch));
    });
    net.training = training;
    InferenceTime {
        batch_1_us,
        batch_n_us,
        batch,
    }
}

/// The median over [`ROUNDS`] rounds of the wall time per example of `pass` (one pass over
/// `batch` examples), after one warm-up pass.
fn per_example_us(batch: usize, mut pass: impl FnMut()) -> f64 {
    pass();
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let (clock, mut passes) = (Instant::now(), 0u32);
            while passes == 0 || clock.elapsed() < ROUND_TIME {
                pass();
                passes += 1;
            }
            clock.elapsed().as_secs_f64() * 1e6 / (passes as f64 * batch as f64)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Layer, Linear, ParamSet, Relu, Shape};

    /// A 784-w-w-10 ReLU MLP (the FCNN's layout) with every weight 0.01.
    fn fcnn(width: usize) -> Network {
        let mut params = ParamSet::new();
        let layers = [
            Linear::new(&mut params, "fc1", 784, width),
            Linear::new(&mut params, "fc2", width, width),
            Linear::new(&mut params, "fc3", width, 10),
        ];
        params.values.iter_mut().for_each(|v| *v = 0.01);
        let mut net = Network::new(Shape::flat(784), params);
        for (i, layer) in layers.into_iter().enumerate() {
            let out = layer.output_shape();
            net.push(layer);
            if i < 2 {
                net.push(Relu::new(out));
            }
        }
        net
    }

    /// A network with about 25 times the FLOPs of another (784-400-400-10 against
    /// 784-16-16-10: 478k against 13k multiply-adds) takes longer per example at the large
    /// batch, and the mode is restored. (A ratio, not absolute times: those depend on the
    /// machine.)
    #[test]
    fn a_larger_network_takes_longer() {
        let inputs = vec![0.5f32; 200 * 784];
        let (mut big, mut small) = (fcnn(400), fcnn(16));
        big.training = true;
        let (t_big, t_small) = (
            time_inference(&mut big, &inputs, 784),
            time_inference(&mut small, &inputs, 784),
        );
        assert!(big.training);
        assert_eq!(t_big.batch, 200);
        assert!(
            t_big.batch_n_us > 2.0 * t_small.batch_n_us,
            "{t_big:?} {t_small:?}"
        );
        assert!(t_big.batch_1_us > 0.0 && t_small.batch_1_us > 0.0);
    }
}

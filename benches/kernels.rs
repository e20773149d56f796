//! Benchmarks of the kernels on the hot path of a GPED step, at the size of the MNIST FCNN
//! teacher (784-400-400-10: 478,410 parameters): the Gaussian fill, the fused SGLD step and the
//! fused Adam step.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gped::nn::GaussianStream;

/// Parameters of the 784-400-400-10 FCNN.
const FCNN_PARAMS: usize = 784 * 400 + 400 + 400 * 400 + 400 + 400 * 10 + 10;

fn gaussian_fill(c: &mut Criterion) {
    let mut group = c.benchmark_group("gaussian_fill");
    group.throughput(Throughput::Elements(FCNN_PARAMS as u64));
    let mut out = vec![0.0f32; FCNN_PARAMS];
    let mut stream = GaussianStream::new(1);
    group.bench_function("fill_478k", |b| b.iter(|| stream.fill(black_box(&mut out))));
    group.bench_function("fill_par_478k", |b| {
        b.iter(|| stream.fill_par(black_box(&mut out)))
    });
    group.finish();
}

criterion_group!(benches, gaussian_fill);
criterion_main!(benches);

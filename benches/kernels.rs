//! Benchmarks of the kernels on the hot path of a GPED step, at the size of the MNIST FCNN
//! teacher (784-400-400-10: 478,410 parameters): the Gaussian fill, the fused SGLD step and the
//! fused Adam step. Each has a serial variant (a one-thread rayon pool) and the default pool.

#[path = "common/machine.rs"]
mod machine;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gped::base::GaussianStream;
use gped::nn::ParamSet;
use gped::optim::{Adam, AdamConfig, Optimizer};
use gped::sampler::{Sgld, SgldConfig};

/// Parameters of the 784-400-400-10 FCNN.
const FCNN_PARAMS: usize = 784 * 400 + 400 + 400 * 400 + 400 + 400 * 10 + 10;

fn fcnn_params() -> ParamSet {
    let mut p = ParamSet::new();
    p.add("params", &[FCNN_PARAMS]);
    GaussianStream::new(1).fill(&mut p.values);
    GaussianStream::new(2).fill(&mut p.grads);
    for g in &mut p.grads {
        *g *= 1e-3;
    }
    p
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread rayon pool")
}

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

fn sgld_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("sgld_step");
    group.throughput(Throughput::Elements(FCNN_PARAMS as u64));
    let config = SgldConfig {
        step_size: 4e-6,
        prior_precision: 10.0,
        data_size: 60_000,
    };
    let mut params = fcnn_params();
    let mut sgld = Sgld::new(config, 3).expect("valid SGLD config");
    let pool = one_thread();
    group.bench_function("serial_478k", |b| {
        b.iter(|| pool.install(|| sgld.step(black_box(&mut params))))
    });
    group.bench_function("parallel_478k", |b| {
        b.iter(|| sgld.step(black_box(&mut params)))
    });
    group.finish();
}

fn adam_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("adam_step");
    group.throughput(Throughput::Elements(FCNN_PARAMS as u64));
    let mut params = fcnn_params();
    let mut adam = Adam::new(AdamConfig::default()).expect("valid Adam config");
    let pool = one_thread();
    group.bench_function("serial_478k", |b| {
        b.iter(|| pool.install(|| adam.step(black_box(&mut params))))
    });
    group.bench_function("parallel_478k", |b| {
        b.iter(|| adam.step(black_box(&mut params)))
    });
    group.finish();
}

// Criterion's own plots are off: plotters is built with gped's embedded-font text path, which
// has no font registered inside criterion (and the numbers are what the notes report).
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = machine::print_machine, gaussian_fill, sgld_step, adam_step
}
criterion_main!(benches);

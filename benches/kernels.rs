//! Benchmarks of the kernels on the hot path of a GPED step, at the size of the MNIST FCNN
//! teacher (784-400-400-10: 478,410 parameters): the Gaussian fill, the fused SGLD step, the
//! step of every sampler (`sampler.kind`, built as a run builds it) and the fused Adam step.
//! Each has a serial variant (a one-thread rayon pool) and the default pool.

#[path = "common/machine.rs"]
mod machine;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gped::base::GaussianStream;
use gped::config::{SamplerConfig, SamplerKind};
use gped::nn::ParamSet;
use gped::optim::{Adam, AdamConfig, Optimizer};
use gped::sampler::{Sampler, Sgld, SgldConfig};

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
        b.iter(|| pool.install(|| sgld.step(black_box(&mut params), 0)))
    });
    group.bench_function("parallel_478k", |b| {
        b.iter(|| sgld.step(black_box(&mut params), 0))
    });
    group.finish();
}

/// Every sampler as a run builds it (`sampler::from_config`, N = 60,000, T = 10^6), at a
/// step that samples; cSGLD also at a step of its exploration phase (no noise drawn).
fn sampler_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("sampler_step");
    group.throughput(Throughput::Elements(FCNN_PARAMS as u64));
    let pool = one_thread();
    // The cyclical schedule's 4 cycles of 250,000 steps explore for their first 200,000.
    let cases = [
        ("sgld", SamplerKind::Sgld, 0),
        ("sghmc", SamplerKind::Sghmc, 0),
        ("psgld", SamplerKind::Psgld, 0),
        ("csgld_sampling", SamplerKind::Cyclical, 240_000),
        ("csgld_exploring", SamplerKind::Cyclical, 0),
    ];
    for (name, kind, t) in cases {
        let config = SamplerConfig {
            kind,
            ..SamplerConfig::default()
        };
        let mut params = fcnn_params();
        let mut sampler = gped::sampler::from_config(&config, 1_000_000, 60_000, FCNN_PARAMS, 3)
            .expect("valid sampler config");
        assert_eq!(sampler.collecting(t), !name.ends_with("exploring"));
        group.bench_function(format!("{name}_serial_478k"), |b| {
            b.iter(|| pool.install(|| sampler.step(black_box(&mut params), t)))
        });
        group.bench_function(format!("{name}_parallel_478k"), |b| {
            b.iter(|| sampler.step(black_box(&mut params), t))
        });
    }
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
    targets = machine::print_machine, gaussian_fill, sgld_step, sampler_step, adam_step
}
criterion_main!(benches);

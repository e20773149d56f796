//! The GEMM at the shapes gped's networks use, on one thread and on the whole rayon pool (the
//! measurements behind `nn::gemm`'s `PARALLEL_MIN_MACS`, which keeps products below it on the
//! calling thread), and the FCNN's first layer, Linear 784 -> 400 at batch 100, forward plus
//! backward with and without dL/dx (its GEMMs and the layer's own overhead), and its forward
//! pass on real MNIST test images (`$GPED_DATA_DIR`; skipped without it), where the layer
//! skips the pixels' zeros (`nn::sparse`), against the dense GEMM on the same images (a
//! default build on an AVX-512 CPU declines that path: measure it with --no-default-features).

#[path = "common/machine.rs"]
mod machine;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gemm::Parallelism;
use gped::nn::gemm::matmul_with;
use gped::nn::{Layer, Linear, ParamSet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random::<f32>() - 0.5).collect()
}

fn gemm_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm_threads");
    let threads = rayon::current_num_threads();
    let mut rng = StdRng::seed_from_u64(1);
    for shape @ (m, n, k) in [
        (100, 10, 400),
        (100, 50, 200),
        (100, 80, 320),
        (64, 64, 512),
        (100, 200, 800),
        (100, 400, 784),
        (20, 8100, 160),
    ] {
        let (a, b) = (random(&mut rng, m * k), random(&mut rng, k * n));
        let mut out = vec![0f32; m * n];
        for (name, par) in [
            ("1_thread", Parallelism::None),
            ("all_threads", Parallelism::Rayon(threads)),
        ] {
            group.bench_function(format!("{m}x{n}x{k}_{name}"), |bench| {
                bench.iter(|| {
                    matmul_with(black_box(&mut out), &a, &b, shape, false, false, false, par)
                })
            });
        }
    }
    group.finish();
}

fn linear_784_400(c: &mut Criterion) {
    let mut group = c.benchmark_group("linear_784_400_batch_100");
    let mut rng = StdRng::seed_from_u64(2);
    let mut ps = ParamSet::new();
    let mut fc = Linear::new(&mut ps, "fc1", 784, 400);
    fc.init(&mut ps.values, &mut rng);
    let (x, dy) = (random(&mut rng, 100 * 784), random(&mut rng, 100 * 400));
    let (mut y, mut dx) = (vec![0f32; 100 * 400], vec![0f32; 100 * 784]);
    let mut grads = vec![0f32; ps.len()];
    for with_dx in [false, true] {
        let name = if with_dx {
            "fwd_bwd_with_dx"
        } else {
            "fwd_bwd"
        };
        group.bench_function(name, |bench| {
            bench.iter(|| {
                fc.forward(&ps.values, &x, &mut y, 100, true);
                let dx = with_dx.then_some(&mut dx[..]);
                fc.backward(&ps.values, &mut grads, &x, &y, &dy, dx, 100);
            })
        });
    }
    group.finish();
}

/// Linear 784 -> 400 on the first MNIST test images: the layer's forward pass (sparse path)
/// and the dense GEMM it replaces, one thread and all threads; its weight gradient likewise.
fn linear_784_400_mnist(c: &mut Criterion) {
    let Some(dir) = std::env::var_os(gped::data::DATA_DIR_ENV) else {
        eprintln!(
            "linear_784_400_mnist: skipped, {} is not set",
            gped::data::DATA_DIR_ENV
        );
        return;
    };
    let test = gped::data::load(
        std::path::Path::new(&dir),
        "mnist",
        gped::data::Split::Test,
        gped::data::ChecksumPolicy::Skip,
    )
    .expect("MNIST test images in $GPED_DATA_DIR");
    let mut group = c.benchmark_group("linear_784_400_mnist");
    let mut rng = StdRng::seed_from_u64(3);
    let mut ps = ParamSet::new();
    let mut fc = Linear::new(&mut ps, "fc1", 784, 400);
    fc.init(&mut ps.values, &mut rng);
    let w = ps.values[fc.weight_range()].to_vec();
    let threads = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    // The weight gradient of an SGLD half minibatch (the teacher's gradient runs in halves).
    let x = &test.images()[..50 * 784];
    let dy = random(&mut rng, 50 * 400);
    let mut grads = vec![0f32; ps.len()];
    let mut dw = vec![0f32; 400 * 784];
    group.bench_function("batch_50_weight_gradient_sparse_1_thread", |bench| {
        one.install(|| {
            bench.iter(|| fc.backward(&ps.values, black_box(&mut grads), x, &[], &dy, None, 50))
        })
    });
    group.bench_function("batch_50_weight_gradient_dense_1_thread", |bench| {
        bench.iter(|| {
            matmul_with(
                black_box(&mut dw),
                &dy,
                x,
                (400, 784, 50),
                true,
                false,
                true,
                Parallelism::None,
            )
        })
    });
    for batch in [100, 500] {
        let x = &test.images()[..batch * 784];
        let mut y = vec![0f32; batch * 400];
        let shape = (batch, 400, 784);
        group.bench_function(format!("batch_{batch}_sparse_1_thread"), |bench| {
            one.install(|| {
                bench.iter(|| fc.forward(&ps.values, x, black_box(&mut y), batch, false))
            })
        });
        group.bench_function(format!("batch_{batch}_sparse_all_threads"), |bench| {
            bench.iter(|| fc.forward(&ps.values, x, black_box(&mut y), batch, false))
        });
        for (name, par) in [
            ("1_thread", Parallelism::None),
            ("all_threads", Parallelism::Rayon(threads)),
        ] {
            group.bench_function(format!("batch_{batch}_dense_{name}"), |bench| {
                bench.iter(|| matmul_with(black_box(&mut y), x, &w, shape, false, true, false, par))
            });
        }
    }
    group.finish();
}

// Criterion's own plots are off, as in the other benches.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = machine::print_machine, gemm_threads, linear_784_400, linear_784_400_mnist
}
criterion_main!(benches);

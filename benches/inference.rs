//! The speed of what users deploy: `infer::Distilled::predict` (the predictive and the entropy
//! student, one forward pass each, with the total / aleatoric / epistemic split) against the
//! teacher ensemble it replaces, 100 posterior samples (100 distinct FCNN teachers, each a
//! forward pass and a softmax added to the streamed ensemble sums, then the same split from
//! `Uncertainty::from_ensemble`), at batch 1 and batch 1000, in inputs per second, in one
//! process. Students: equal size to the teacher (FCNN 784-400-400, width 1) and half width
//! (784-200-200). Prints the CPU and SIMD level first; results are in the README's
//! "Inference speed" table.

#[path = "common/machine.rs"]
mod machine;

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gped::config::{Arch, Loss, RunConfig, StudentConfig, Target};
use gped::ensemble::Ensemble;
use gped::expectation::{PosteriorExpectation, PosteriorPredictive};
use gped::infer::Distilled;
use gped::model::{ModelSpec, build};
use gped::nn::{Network, weights};
use gped::uncertainty::Uncertainty;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Posterior samples in the ensemble the students replace (the paper's test-time ensembles).
const SAMPLES: usize = 100;

/// A run folder with an FCNN predictive and entropy student of width `width` (random
/// weights: the speed does not depend on their values).
fn run_folder(dir: &Path, width: f64) -> Distilled {
    let mut cfg = RunConfig::default();
    cfg.teacher.arch = Arch::Fcnn;
    cfg.students = vec![
        StudentConfig {
            width: [width, width],
            ..StudentConfig::default()
        },
        StudentConfig {
            width: [width, width],
            ..StudentConfig::default_entropy()
        },
    ];
    std::fs::create_dir_all(dir.join("students")).unwrap();
    cfg.save(dir.join("config.toml")).unwrap();
    for (i, s) in cfg.students.iter().enumerate() {
        let spec = ModelSpec {
            arch: Arch::Fcnn,
            width: s.width,
            outputs: if s.target == Target::Entropy { 1 } else { 10 },
            dropout: s.dropout as f32,
        };
        let path = dir.join("students").join(format!("{}.safetensors", s.name));
        weights::save(&build(&spec, i as u64).params, &path, None).unwrap();
    }
    Distilled::open(dir).unwrap()
}

/// The teacher ensemble's answer for `x` (`n` inputs): every sample's softmax added to the
/// sums, then the decomposition.
fn ensemble_predict(teachers: &mut [Network], x: &[f32], n: usize) -> Uncertainty {
    let head = PosteriorPredictive {
        classes: 10,
        loss: Loss::CrossEntropy,
    };
    let mut ensemble = Ensemble::new(n, 10);
    let mut probs = vec![0f32; n * 10];
    for teacher in teachers.iter_mut() {
        head.predict(teacher.forward(x, n), &mut probs);
        ensemble.add_rows(0, &probs);
        ensemble.finish_sample();
    }
    Uncertainty::from_ensemble(&ensemble)
}

fn inference(c: &mut Criterion) {
    let threads = rayon::current_num_threads();
    eprintln!("machine: {}", gped::base::machine::machine_summary(threads));
    let tmp = tempfile::tempdir().unwrap();
    let mut students: Vec<(String, Distilled)> = [1.0, 0.5]
        .iter()
        .map(|&w| {
            let dir = tmp.path().join(format!("w{w}"));
            (format!("students_width_{w}"), run_folder(&dir, w))
        })
        .collect();
    let mut teachers: Vec<Network> = (0..SAMPLES)
        .map(|i| {
            let mut net = build(&ModelSpec::teacher(Arch::Fcnn, 10), 100 + i as u64);
            net.training = false;
            net
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(4);
    for batch in [1usize, 1000] {
        let x: Vec<f32> = (0..batch * 784).map(|_| rng.random::<f32>()).collect();
        let mut group = c.benchmark_group(format!("inference_batch_{batch}"));
        group.throughput(Throughput::Elements(batch as u64));
        if batch == 1000 {
            group.sample_size(10);
        }
        for (name, distilled) in students.iter_mut() {
            group.bench_function(name.as_str(), |b| {
                b.iter(|| distilled.predict(black_box(&x)).unwrap())
            });
        }
        group.bench_function(format!("teacher_ensemble_{SAMPLES}"), |b| {
            b.iter(|| ensemble_predict(&mut teachers, black_box(&x), batch))
        });
        group.finish();
    }
}

// Criterion's own plots are off, as in the other benches.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = machine::print_machine, inference
}
criterion_main!(benches);

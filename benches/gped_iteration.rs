//! One GPED iteration as the loop runs it: the teacher's SGLD step on a minibatch of 100, the
//! teacher's forward pass on a distillation batch of 100, and one Adam step of a same-size
//! student on that batch (the student's step runs beside the next SGLD step, as in
//! `distill::algorithm`). For the FCNN and the MNIST and CIFAR-10 CNNs, on 2 threads (the
//! default pool) and on 1; for the FCNN also the same GEMMs alone, the floor the iteration is
//! measured against. The teacher's SGLD step alone, whole and in halves. Also the teacher's
//! forward pass over 10,000 test images. The process's peak resident memory is printed at the
//! end.

#[path = "common/machine.rs"]
mod machine;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gped::config::{RunConfig, ValidConfig};
use gped::data::{Dataset, DistillPool, InputNoise};
use gped::distill::Timings;
use gped::distill::distiller::Distiller;
use gped::distill::pipeline;
use gped::distill::student::Student;
use gped::distill::teacher::Teacher;
use gped::nn::matmul;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn random_dataset(n: usize, shape: [usize; 3]) -> Dataset {
    let mut rng = StdRng::seed_from_u64(1);
    let len: usize = shape.iter().product();
    let images = (0..n * len).map(|_| rng.random::<f32>()).collect();
    let labels = (0..n).map(|_| rng.random_range(0..10u8)).collect();
    Dataset::new(images, labels, shape, 10).expect("consistent dataset")
}

fn config(arch: &str) -> ValidConfig {
    let dataset = if arch == "cifar-cnn" {
        "cifar10"
    } else {
        "mnist"
    };
    let overrides = [
        format!("teacher.arch={arch}"),
        format!("data.dataset={dataset}"),
        "schedule.burn_in=0".into(),
        "students=[{name=\"predictive\", thinning=1}]".into(),
    ];
    RunConfig::default()
        .with_overrides(&overrides)
        .and_then(|c| c.validate())
        .expect("valid bench config")
}

/// The teacher, one student and their data, stepping as the GPED loop does.
struct Iteration {
    teacher: Teacher,
    distiller: Distiller,
    data: Dataset,
    batch: Vec<usize>,
    t: u64,
}

impl Iteration {
    fn new(arch: &str) -> Self {
        let cfg = config(arch);
        let shape = if arch == "cifar-cnn" {
            [3, 32, 32]
        } else {
            [1, 28, 28]
        };
        let data = random_dataset(1000, shape);
        let teacher = Teacher::new(&cfg, 60_000, 1, 2).expect("teacher");
        let student =
            Student::new(&cfg.students[0], cfg.teacher.arch, 10, data.len(), 3).expect("student");
        let distiller = Distiller::new(vec![student], 0, 10, 100, data.image_len());
        Iteration {
            teacher,
            distiller,
            data,
            batch: (0..100).collect(),
            t: 1,
        }
    }

    fn step(&mut self) {
        let (teacher, distiller, data, batch, t) = (
            &mut self.teacher,
            &mut self.distiller,
            &self.data,
            &self.batch,
            self.t,
        );
        let nll = pipeline::sampler_step(
            teacher,
            &mut [],
            distiller,
            data,
            batch,
            t,
            &mut Timings::default(),
        );
        black_box(nll.expect("finite"));
        let mut pool = DistillPool::new(data, InputNoise::default()).expect("pool");
        distiller
            .stage(t, &mut pool, 4, &mut [teacher])
            .expect("stage");
        self.t += 1;
    }
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
}

fn iteration(c: &mut Criterion) {
    let mut group = c.benchmark_group("gped_iteration");
    for arch in ["fcnn", "mnist-cnn", "cifar-cnn"] {
        let mut it = Iteration::new(arch);
        group.bench_function(format!("{arch}_2_threads"), |b| b.iter(|| it.step()));
        let pool = one_thread();
        let mut it = Iteration::new(arch);
        group.bench_function(format!("{arch}_1_thread"), |b| {
            b.iter(|| pool.install(|| it.step()))
        });
    }
    group.finish();
}

/// The teacher's SGLD step alone, through the loop's pipelining with nothing staged: beside one
/// due student the gradient runs whole (that student's step would take the other core), with
/// none due (burn-in, and all but every H-th step) in two halves on the teacher's twin.
fn teacher_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("teacher_sgld_step");
    for arch in ["fcnn", "mnist-cnn"] {
        for (name, burn_in) in [("whole", 0), ("halves", u64::MAX)] {
            let mut it = Iteration::new(arch);
            let students = std::mem::take(&mut it.distiller.students);
            let width = it.data.image_len();
            let mut idle = Distiller::new(students, burn_in, 10, 100, width);
            group.bench_function(format!("{arch}_{name}"), |b| {
                b.iter(|| {
                    it.t += 1;
                    let (teacher, data, batch, t) = (&mut it.teacher, &it.data, &it.batch, it.t);
                    let mut time = Timings::default();
                    // Inside the thread pool, as in the loop (a rayon loop entered from
                    // outside the pool pays a cold hand-over).
                    let (nll, ()) = rayon::join(
                        || {
                            pipeline::sampler_step(
                                teacher,
                                &mut [],
                                &mut idle,
                                data,
                                batch,
                                t,
                                &mut time,
                            )
                        },
                        || (),
                    );
                    black_box(nll.expect("finite"))
                })
            });
        }
    }
    group.finish();
}

/// The GEMMs of one FCNN iteration, in order: per Linear layer (in -> out) at batch 100,
/// forward y = x W^T, backward dW = dy^T x and dx = dy W (no dx for the first layer); for the
/// teacher's step, the teacher's forward on S' and the student's step.
fn fcnn_gemms_alone(c: &mut Criterion) {
    let layers = [(784, 400), (400, 400), (400, 10)];
    let b = 100;
    let mut rng = StdRng::seed_from_u64(5);
    let mut buf = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random::<f32>()).collect() };
    let (x, w, dy) = (buf(b * 784), buf(784 * 400), buf(b * 400));
    let mut out = vec![0.0f32; 784 * 400];
    let forward = |out: &mut [f32]| {
        for &(i, o) in &layers {
            matmul(
                &mut out[..b * o],
                &x[..b * i],
                &w[..o * i],
                b,
                o,
                i,
                false,
                true,
                false,
            );
        }
    };
    let backward = |out: &mut [f32]| {
        for (l, &(i, o)) in layers.iter().enumerate() {
            matmul(
                &mut out[..o * i],
                &dy[..b * o],
                &x[..b * i],
                o,
                i,
                b,
                true,
                false,
                true,
            );
            if l > 0 {
                matmul(
                    &mut out[..b * i],
                    &dy[..b * o],
                    &w[..o * i],
                    b,
                    i,
                    o,
                    false,
                    false,
                    false,
                );
            }
        }
    };
    let pool = one_thread();
    c.bench_function("fcnn_gemms_alone_1_thread", |bench| {
        bench.iter(|| {
            pool.install(|| {
                forward(&mut out); // teacher step
                backward(&mut out);
                forward(&mut out); // teacher on S'
                forward(&mut out); // student step
                backward(&mut out);
            })
        })
    });
}

fn test_pass(c: &mut Criterion) {
    let cfg = config("fcnn");
    let mut teacher = Teacher::new(&cfg, 60_000, 1, 2).expect("teacher");
    let test = random_dataset(10_000, [1, 28, 28]);
    let mut ensemble = gped::ensemble::Ensemble::new(test.len(), 10);
    c.bench_function("fcnn_teacher_10k_test_pass", |b| {
        b.iter(|| {
            gped::distill::evaluate::add_teacher_sample(&mut teacher, &test, &mut ensemble, 1000)
        })
    });
    print_peak_memory();
}

/// Peak resident memory of this process (VmHWM), from /proc on Linux.
fn print_peak_memory() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
        eprintln!(
            "peak memory of the benchmark process: {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
}

// Criterion's own plots are off: plotters is built with gped's embedded-font text path, which
// has no font registered inside criterion (and the numbers are what the notes report).
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = machine::print_machine, iteration, teacher_step, fcnn_gemms_alone, test_pass
}
criterion_main!(benches);

//! The presets in `configs/` load, validate, and carry the paper's settings (appendix A.1-A.2
//! as summarised in PAPER.md: eta, tau, M, B, H, Adam's rate, dropout, input noise).

use gped::config::{Arch, Estimator, RunConfig, SamplerKind, StepSchedule, Target};
use std::path::Path;

fn load(name: &str) -> RunConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name);
    let cfg = RunConfig::load(&path).unwrap();
    cfg.validate().unwrap();
    cfg
}

#[test]
fn every_preset_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".toml") {
            load(&name);
            n += 1;
        }
    }
    assert!(n >= 5, "{n} presets");
}

#[test]
fn paper_presets_carry_the_papers_settings() {
    for (file, arch, eta, burn_in, dropout, clamp) in [
        ("paper-fcnn-mnist.toml", Arch::Fcnn, 4e-6, 1000, 0.5, false),
        (
            "paper-cnn-mnist.toml",
            Arch::MnistCnn,
            4e-6,
            1000,
            0.0,
            true,
        ),
        (
            "paper-cnn-cifar10.toml",
            Arch::CifarCnn,
            2e-6,
            10000,
            0.0,
            true,
        ),
    ] {
        let c = load(file);
        assert_eq!(c.teacher.arch, arch, "{file}");
        assert_eq!(
            (c.sampler.kind, c.sampler.step_schedule()),
            (SamplerKind::Sgld, StepSchedule::Constant),
            "{file}: the paper samples with SGLD at a constant step size"
        );
        assert_eq!(
            (
                c.sampler.step_size,
                c.sampler.prior_precision,
                c.sampler.batch_size
            ),
            (eta, 10.0, 100)
        );
        assert_eq!(
            (c.schedule.iterations, c.schedule.burn_in),
            (1_000_000, burn_in),
            "{file}"
        );
        assert_eq!(
            (c.pool.batch_size, c.pool.input_noise_std, c.pool.clamp),
            (100, 0.001, clamp),
            "{file}"
        );
        let [p, e] = [&c.students[0], &c.students[1]];
        assert_eq!(
            (p.target, p.thinning, e.target, e.thinning),
            (Target::Predictive, 100, Target::Entropy, 10)
        );
        assert_eq!(
            (p.estimator, e.estimator),
            (Estimator::Sample, Estimator::RunningMean)
        );
        for s in [p, e] {
            assert_eq!(
                (s.learning_rate, s.dropout, s.lr_decay_factor, s.width),
                (1e-3, dropout, 0.5, [1.0, 1.0])
            );
        }
        // Halved every 200 (MNIST) / 400 (CIFAR-10) teacher epochs of N / M iterations,
        // counted in student steps (one per H iterations).
        let epoch = if arch == Arch::CifarCnn { 500 } else { 600 };
        let epochs = if arch == Arch::CifarCnn { 400 } else { 200 };
        assert_eq!(p.lr_decay_every, epochs * epoch / 100, "{file}");
        assert_eq!(e.lr_decay_every, epochs * epoch / 10, "{file}");
    }
}

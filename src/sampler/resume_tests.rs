//! Every sampler on every schedule resumes bit for bit: k steps, its state saved to checkpoint
//! bytes and loaded into a fresh sampler built from the same config, then the rest of the
//! steps, give the parameters of the uninterrupted chain, bit for bit.

use super::*;
use crate::base::{StateReader, StateWriter};
use crate::config::{SamplerConfig, SamplerKind, StepSchedule};
use std::path::Path;

/// 40,000 parameters: more than one parallel chunk, and a tail of a noise block.
const LEN: usize = 40_003;
const ITERATIONS: u64 = 40;

fn params() -> ParamSet {
    let mut p = ParamSet::new();
    p.add("w", &[LEN]);
    crate::base::GaussianStream::new(5).fill(&mut p.values);
    p
}

/// A gradient that depends on the current parameters, so that the trajectory matters.
fn gradient(p: &mut ParamSet, t: u64) {
    for (i, (g, &v)) in p.grads.iter_mut().zip(&p.values).enumerate() {
        *g = 0.3 * v + 0.01 * ((i as u64 + t) % 7) as f32;
    }
}

fn configs() -> Vec<SamplerConfig> {
    let mut out = Vec::new();
    for kind in [SamplerKind::Sgld, SamplerKind::Sghmc, SamplerKind::Psgld] {
        for schedule in [
            StepSchedule::Constant,
            StepSchedule::Polynomial,
            StepSchedule::Cyclical,
        ] {
            out.push(SamplerConfig {
                kind,
                schedule: Some(schedule),
                step_size: 1e-3,
                decay_b: 10.0,
                cycles: 4,
                exploration: 0.5,
                ..SamplerConfig::default()
            });
        }
    }
    out.push(SamplerConfig {
        kind: SamplerKind::Cyclical,
        step_size: 1e-3,
        cycles: 4,
        exploration: 0.5,
        ..SamplerConfig::default()
    });
    out
}

fn build(cfg: &SamplerConfig) -> Box<dyn Sampler> {
    from_config(cfg, ITERATIONS, 1000, LEN, 11).unwrap()
}

#[test]
fn every_sampler_and_schedule_resumes_bit_for_bit() {
    for cfg in configs() {
        let what = format!("{} on {}", cfg.kind, cfg.step_schedule());
        let mut whole = build(&cfg);
        let mut p = params();
        for t in 0..ITERATIONS {
            gradient(&mut p, t);
            whole.step(&mut p, t);
        }
        // Stopped after k = 17 steps: inside the second cycle's sampling phase (cycles of 10
        // steps, 5 exploring) on the cyclical schedule.
        let k = 17;
        let mut first = build(&cfg);
        let mut q = params();
        for t in 0..k {
            gradient(&mut q, t);
            first.step(&mut q, t);
        }
        let mut out = StateWriter::new();
        first.save_state("teacher/sampler/", &mut out);
        let bytes = out.to_bytes().unwrap();
        drop(first);
        let state = StateReader::parse(&bytes, Path::new("ck")).unwrap();
        let mut resumed = build(&cfg);
        resumed.load_state("teacher/sampler/", &state).unwrap();
        assert_eq!(resumed.steps(), k, "{what}");
        for t in k..ITERATIONS {
            gradient(&mut q, t);
            resumed.step(&mut q, t);
        }
        assert!(
            p.values
                .iter()
                .zip(&q.values)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{what}: the resumed chain differs"
        );
        // The chain moved.
        assert!(p.values.iter().zip(params().values).any(|(a, b)| *a != b));
    }
}

#[test]
fn a_state_of_another_size_is_refused_naming_the_tensor() {
    let cfg = SamplerConfig {
        kind: SamplerKind::Sghmc,
        ..SamplerConfig::default()
    };
    let mut out = StateWriter::new();
    from_config(&cfg, 10, 10, 5, 1)
        .unwrap()
        .save_state("s/", &mut out);
    let bytes = out.to_bytes().unwrap();
    let state = StateReader::parse(&bytes, Path::new("ck")).unwrap();
    let e = from_config(&cfg, 10, 10, 6, 1)
        .unwrap()
        .load_state("s/", &state)
        .unwrap_err()
        .to_string();
    assert!(e.contains("s/momentum") && e.contains("[6]"), "{e}");
}

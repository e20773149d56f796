//! The GPED loop: Algorithm 1 of the paper, top to bottom.
//!
//! ```text
//! for t = 0..T:
//!     sample minibatch S from D, |S| = M
//!     theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi          # SGLD, Eq. 7
//!     for each student with t > B and t mod H = 0:
//!         sample S' from D', |S'| = M' (+ input noise)
//!         g_hat_i <- U(g_hat_i, theta, m_i) for i in S'                   # U_s or U_o
//!         phi <- Adam step on sum_i l(g_hat_i, f(x_i|phi))                 # Eq. 8
//!     after burn-in, every `eval.every` steps: add p(y|x,theta_t) on the test set to the ensemble
//! ```
//! Students due at the same step share one distillation batch S' and one teacher pass on it.
//! Their step runs concurrently with the teacher's next SGLD step (see `distiller`); the
//! result is the same as running them one after the other. Phase times are measured on the
//! thread that runs each phase, so with several threads they add up to more than the wall time.

use super::distiller::Distiller;
use super::evaluate::{TestMetrics, add_teacher_sample, test_metrics};
use super::prepare::RunData;
use super::record::Recorder;
use super::seeds;
use super::student::Student;
use super::teacher::Teacher;
use crate::config::ValidConfig;
use crate::data::{DistillPool, EpochSampler, InputNoise};
use crate::ensemble::Ensemble;
use crate::nn::weights;
use crate::{Error, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;
use std::time::{Duration, Instant};

/// Seconds spent in each phase of a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Timings {
    pub teacher_step_s: f64,
    pub student_step_s: f64,
    pub eval_s: f64,
    pub wall_s: f64,
    /// Wall time per iteration, in milliseconds.
    pub ms_per_iteration: f64,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub metrics: TestMetrics,
    pub timings: Timings,
    /// The full content of `metrics.json`.
    pub json: serde_json::Value,
}

/// Runs GPED as configured by `cfg` on `data`, writing outputs through `recorder`.
pub fn run(cfg: &ValidConfig, data: &RunData, recorder: &mut Recorder) -> Result<RunSummary> {
    let wall = Instant::now();
    let (t_max, burn_in) = (cfg.schedule.iterations, cfg.schedule.burn_in);
    let seed = |label: &str| seeds::derive(cfg.seed, label);

    // The teacher p(y|x,theta), its SGLD sampler and its minibatches S from D.
    let mut teacher = Teacher::new(
        cfg,
        data.teacher_indices.len(),
        seed("teacher-init"),
        seed("sgld-noise"),
    )?;
    let classes = teacher.classes();
    let mut minibatches = EpochSampler::new(data.teacher_indices.clone(), seed("minibatches"))?;
    let mut s_indices = vec![0usize; cfg.sampler.batch_size];

    // The distillation pool D' and the students f(y,x|phi).
    let noise = InputNoise {
        std: cfg.pool.input_noise_std as f32,
        clamp: cfg.pool.clamp,
    };
    let mut pool = DistillPool::new(&data.train, noise)?;
    let mut pool_rng = StdRng::seed_from_u64(seed("pool"));
    let students = cfg
        .students
        .iter()
        .map(|s| {
            Student::new(
                s,
                cfg.teacher.arch,
                classes,
                pool.len(),
                seed(&format!("student-{}", s.name)),
            )
        })
        .collect::<Result<_>>()?;
    let mut distiller = Distiller::new(
        students,
        burn_in,
        classes,
        cfg.pool.batch_size,
        data.train.image_len(),
    );

    // The teacher's streamed test-set (and OOD) ensembles.
    let mut ensemble = Ensemble::new(data.test.len(), classes);
    let mut ood_ensemble = data.ood.as_ref().map(|d| Ensemble::new(d.len(), classes));

    let mut time = Timings::default();
    let mut nll_window = (0.0f64, 0u64);
    for t in 0..t_max {
        // Sample minibatch S from D, |S| = M; one SGLD step (Eq. 7). Concurrently, the
        // students take the step staged at t - 1 (it reads only theta_{t-1}'s recorded values).
        let (nll, distilled) = rayon::join(
            || {
                let clock = Instant::now();
                minibatches.next_batch(&mut s_indices);
                let nll = teacher.sgld_step(&data.train, &s_indices, t);
                (nll, clock.elapsed())
            },
            || {
                let clock = Instant::now();
                (distiller.step_staged(), clock.elapsed())
            },
        );
        time.teacher_step_s += secs(nll.1);
        time.student_step_s += secs(distilled.1);
        distilled.0?;
        let nll = nll.0?;
        nll_window = (nll_window.0 + nll as f64, nll_window.1 + 1);

        // If t mod H == 0 and t > B: sample S' from D' and record g(x_i, theta_t) for the
        // due students (Eq. 8's targets; U_s or U_o is applied in their step).
        if distiller.any_due(t) {
            let clock = Instant::now();
            distiller.stage(t, &mut pool, &mut pool_rng, &mut teacher)?;
            time.student_step_s += secs(clock.elapsed());
        }

        // After burn-in, every `eval.every` steps (and at the end if no sample was taken):
        // add the current sample's predictions to the test-set ensembles.
        let last = t + 1 == t_max;
        if (t > burn_in && t.is_multiple_of(cfg.eval.every)) || (last && ensemble.samples() == 0) {
            let clock = Instant::now();
            add_teacher_sample(&mut teacher, &data.test, &mut ensemble, cfg.eval.test_batch);
            if let (Some(ood), Some(ens)) = (&data.ood, ood_ensemble.as_mut()) {
                add_teacher_sample(&mut teacher, ood, ens, cfg.eval.test_batch);
            }
            time.eval_s += secs(clock.elapsed());
        }

        recorder.tick(t + 1);
        if (t + 1).is_multiple_of(cfg.eval.log_every) || last {
            distiller.step_staged()?;
            let clock = Instant::now();
            let metrics = test_metrics(
                &mut distiller.students,
                &data.test,
                &ensemble,
                cfg.eval.test_batch,
            );
            time.eval_s += secs(clock.elapsed());
            let minibatch_nll = nll_window.0 / nll_window.1.max(1) as f64;
            nll_window = (0.0, 0);
            let losses: serde_json::Map<_, _> = distiller
                .students
                .iter_mut()
                .filter_map(|s| s.take_mean_loss().map(|l| (s.name.clone(), json!(l))))
                .collect();
            let record = json!({
                "iteration": t + 1,
                "teacher_minibatch_nll": minibatch_nll,
                "student_loss": losses,
                "test": metrics,
                "elapsed_s": secs(wall.elapsed()),
            });
            recorder.log(
                &record,
                &summary_line(t + 1, t_max, minibatch_nll, &metrics),
            )?;
        }
    }

    // Final metrics, weights and ensemble sums.
    let clock = Instant::now();
    let students = &mut distiller.students;
    let metrics = test_metrics(students, &data.test, &ensemble, cfg.eval.test_batch);
    time.eval_s += secs(clock.elapsed());
    for s in students.iter() {
        weights::save(&s.net.params, &recorder.student_path(&s.name), None)?;
    }
    ensemble.save(&recorder.dir().join("ensemble_test.safetensors"))?;
    if let Some(ens) = &ood_ensemble {
        ens.save(&recorder.dir().join("ensemble_ood.safetensors"))?;
    }
    time.wall_s = secs(wall.elapsed());
    time.ms_per_iteration = 1e3 * time.wall_s / t_max as f64;
    let student_info: serde_json::Map<_, _> = students
        .iter()
        .map(|s| {
            let info = json!({
                "target": s.target_kind,
                "params": s.net.params.len(),
                "flops": s.net.flops_per_example(),
                "steps": s.steps,
            });
            (s.name.clone(), info)
        })
        .collect();
    let mut json =
        serde_json::to_value(&metrics).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("iterations".into(), json!(t_max));
        obj.insert("teacher_params".into(), json!(teacher.net.params.len()));
        obj.insert("students".into(), json!(student_info));
        obj.insert("time".into(), json!(time));
    }
    recorder.write_json("metrics.json", &json)?;
    recorder.finish();
    Ok(RunSummary {
        metrics,
        timings: time,
        json,
    })
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// One line of progress: iteration, minibatch NLL and the headline test metrics.
fn summary_line(t: u64, total: u64, minibatch_nll: f64, m: &TestMetrics) -> String {
    let mut line = format!("iter {t}/{total} minibatch_nll {minibatch_nll:.4}");
    if let Some(p) = &m.predictive {
        line += &format!(
            " teacher_nll {:.4} student_nll {:.4} student_acc {:.4}",
            p.teacher_nll, p.student_nll, p.student_acc
        );
    }
    if let Some(mae) = m.entropy_mae {
        line += &format!(" entropy_mae {mae:.4}");
    }
    line
}

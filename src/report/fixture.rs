//! Hand-made sweep folders for the report's tests: `sweep.json` and chain run folders holding
//! a `config.toml` and a `metrics.json` written from numbers the test chooses (no training).

use serde_json::{Value, json};
use std::path::Path;

/// A student of a chain: name, target, estimator, widths, parameter count, `test` metrics.
pub struct Student {
    pub name: &'static str,
    pub target: &'static str,
    pub estimator: &'static str,
    pub width: [f64; 2],
    pub params: u64,
    pub test: Value,
    /// lambda of its group lasso.
    pub group_lasso: f64,
    /// Its parameters before pruning, when pruned.
    pub pruned_from: Option<u64>,
}

/// A predictive student (U_s unless `estimator` says otherwise) with its test NLL and
/// accuracy next to the teacher's.
pub fn predictive(
    name: &'static str,
    estimator: &'static str,
    width: [f64; 2],
    params: u64,
    (teacher_nll, student_nll): (f64, f64),
) -> Student {
    Student {
        name,
        target: "predictive",
        estimator,
        width,
        params,
        test: json!({"teacher_nll": teacher_nll, "teacher_acc": 0.98, "student_nll": student_nll,
                     "student_acc": 0.97, "ce_teacher_student": 0.1, "kl_teacher_student": 0.01,
                     "inverse_kl_teacher_student": 0.01, "prob_mae": 0.001}),
        group_lasso: 0.0,
        pruned_from: None,
    }
}

/// A predictive student of an architecture search: lambda `group_lasso`, pruned from
/// `pruned_from` parameters when given, with its test NLL.
pub fn searched(
    name: &'static str,
    params: u64,
    group_lasso: f64,
    pruned_from: Option<u64>,
    nll: f64,
) -> Student {
    Student {
        group_lasso,
        pruned_from,
        ..predictive(name, "sample", [1.0, 1.0], params, (0.36, nll))
    }
}

/// An entropy student (U_o) with its test MAE.
pub fn entropy(name: &'static str, params: u64, mae: f64) -> Student {
    Student {
        name,
        target: "entropy",
        estimator: "running-mean",
        width: [1.0, 1.0],
        params,
        test: json!({ "entropy_mae": mae }),
        group_lasso: 0.0,
        pruned_from: None,
    }
}

/// A chain's settings: dataset, teacher architecture, mask side, training subset, seed.
pub struct Run {
    pub dataset: &'static str,
    pub arch: &'static str,
    pub mask: usize,
    pub subset: usize,
    pub seed: u64,
}

impl Run {
    /// FCNN on MNIST with mask side `mask`, all the training set, seed `seed`.
    pub fn fcnn(mask: usize, seed: u64) -> Run {
        Run {
            dataset: "mnist",
            arch: "fcnn",
            mask,
            subset: 0,
            seed,
        }
    }
}

/// The resolved `config.toml` of a chain (the keys the report reads; the rest defaults).
pub fn config_toml(run: &Run, students: &[Student]) -> String {
    let mut toml = format!(
        "seed = {}\n[data]\ndataset = \"{}\"\nmask_size = {}\ntrain_subset = {}\n\
         [teacher]\narch = \"{}\"\n[schedule]\niterations = 30000\n",
        run.seed, run.dataset, run.mask, run.subset, run.arch
    );
    for s in students {
        let loss = if s.target == "predictive" {
            "cross-entropy"
        } else {
            "l1"
        };
        toml += &format!(
            "[[students]]\nname = \"{}\"\ntarget = \"{}\"\nestimator = \"{}\"\nloss = \"{loss}\"\n\
             width = [{:?}, {:?}]\ndropout = 0.0\ngroup_lasso = {:?}\n",
            s.name, s.target, s.estimator, s.width[0], s.width[1], s.group_lasso
        );
    }
    toml
}

/// `metrics.json` of a finished chain: the teacher's top-level numbers, each student's own.
pub fn metrics_json(teacher_nll: f64, students: &[Student]) -> Value {
    let each: serde_json::Map<String, Value> = students
        .iter()
        .map(|s| {
            let mut info = json!({"target": s.target, "params": s.params, "flops": 2 * s.params,
                              "hidden_widths": [s.params / 1000, 10], "steps": 100,
                              "test": s.test});
            if let Some(before) = s.pruned_from {
                info["pruned"] = json!({"params_before": before, "flops_before": 2 * before});
            }
            (s.name.to_string(), info)
        })
        .collect();
    // Inference times proportional to the size: 1 us per 1,000 parameters at batch 1.
    let inference: serde_json::Map<String, Value> = students
        .iter()
        .map(|s| {
            let us = s.params as f64 / 1000.0;
            let t = json!({"batch_1_us": us, "batch_n_us": us / 4.0, "batch": 1000});
            (s.name.to_string(), t)
        })
        .collect();
    json!({
        "teacher_nll": teacher_nll, "teacher_acc": 0.98, "student_nll": 0.1, "student_acc": 0.97,
        "entropy_mae": 0.02, "ensemble_samples": 289, "iterations": 30000,
        "teacher_params": 478410, "students": each,
        "time": {"teacher_step_s": 1.0, "student_step_s": 1.0, "eval_s": 0.5,
                 "checkpoint_s": 0.1, "wall_s": 120.5, "ms_per_iteration": 4.0,
                 "inference": inference}
    })
}

/// Writes a finished chain into `sweep/dir`.
pub fn finished_chain(sweep: &Path, dir: &str, run: &Run, teacher_nll: f64, students: &[Student]) {
    let path = sweep.join(dir);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("config.toml"), config_toml(run, students)).unwrap();
    let metrics = metrics_json(teacher_nll, students).to_string();
    std::fs::write(path.join("metrics.json"), metrics).unwrap();
}

/// Writes a chain stopped with a checkpoint at `iteration` into `sweep/dir` (a safetensors
/// file with no tensors: the 8-byte header length, then the header).
pub fn stopped_chain(sweep: &Path, dir: &str, run: &Run, students: &[Student], iteration: u64) {
    let path = sweep.join(dir);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("config.toml"), config_toml(run, students)).unwrap();
    let header = format!(r#"{{"__metadata__":{{"iteration":"{iteration}"}}}}"#);
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    std::fs::write(path.join("checkpoint.safetensors"), bytes).unwrap();
}

/// Writes `sweep.json`: `cells` as (name, settings, chain, {student: chain student}); each
/// chain's folder is `chains/NAME`.
pub fn sweep_json(dir: &Path, axes: Value, varied: &[&str], cells: &[(&str, Value, &str, Value)]) {
    let mut chains: Vec<&str> = cells.iter().map(|c| c.2).collect();
    chains.dedup();
    let doc = json!({
        "format": "gped-sweep-1",
        "spec": {"base": "../paper-fcnn-mnist.toml", "axes": axes},
        "axes": axes,
        "varied": varied,
        "cells": cells.iter().map(|(name, settings, chain, students)| json!({
            "name": name, "settings": settings, "chain": chain, "students": students
        })).collect::<Vec<_>>(),
        "chains": chains.iter().map(|c| json!({
            "name": c, "dir": format!("chains/{c}"), "settings": {}, "cells": [], "students": []
        })).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join("sweep.json"), doc.to_string()).unwrap();
}

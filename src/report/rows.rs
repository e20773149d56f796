//! The rows of a sweep's results: one per (cell, student of the cell) of every finished cell,
//! in the order of `sweep.json`'s cells and then the cell's students by name, with the
//! resolved settings of its chain's `config.toml` (mask size and rate, training subset n,
//! seed, the student's target, estimator U and widths) and the numbers of `metrics.json` and
//! `eval/eval.json`, and whether the student is on its chain's size-NLL Pareto fronts. The
//! cells whose chain is not finished are listed apart, with its state.

use super::chain::{Aurocs, ChainState, FinishedChain, InferenceTimes, PrunedFrom};
use super::folder::{SweepFolder, setting_text};
use super::pareto::{Front, mark_fronts};
use crate::config::{Arch, DatasetName, Estimator, LassoGroups, Target};
use crate::{Error, Result};

/// (key, value as it reads in TOML) of varied axes.
pub type Settings = Vec<(String, String)>;

/// One student of one finished cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cell: String,
    /// (key, value as it reads in TOML) of each varied axis, in `varied` order.
    pub settings: Settings,
    pub dataset: DatasetName,
    pub arch: Arch,
    /// m: side of the occluded square.
    pub mask_size: usize,
    /// m^2 / (image height x width).
    pub mask_rate: f64,
    /// n: the teacher's training examples (the whole training set when the config says 0).
    pub train_subset: usize,
    pub seed: u64,
    /// The student's name in the cell, and in its chain.
    pub student: String,
    pub chain_student: String,
    pub target: Target,
    pub estimator: Estimator,
    /// K1, K2.
    pub width: [f64; 2],
    /// lambda of the student's group lasso (0 = none).
    pub group_lasso: f64,
    /// Its per-hidden-layer multipliers (`group_lasso_layers`; empty = 1 for every layer).
    pub group_lasso_layers: Vec<f64>,
    /// What its groups are (`incoming`, the paper's, or `incoming-outgoing`).
    pub group_lasso_groups: LassoGroups,
    /// Units of each hidden layer at the end (after pruning, if pruned); empty when the run
    /// did not record them.
    pub hidden_widths: Vec<u64>,
    /// The size before pruning, when the run pruned the student.
    pub pruned_from: Option<PrunedFrom>,
    /// The measured forward-pass time per example (machine-dependent).
    pub inference: Option<InferenceTimes>,
    /// Whether the student is on its chain's NLL-FLOPs and NLL-parameters Pareto fronts.
    pub front: Front,
    pub teacher_nll: Option<f64>,
    pub teacher_acc: Option<f64>,
    pub student_nll: Option<f64>,
    pub student_acc: Option<f64>,
    pub entropy_mae: Option<f64>,
    /// OOD AUROC of the (predictive) student and of the teacher, when `gped eval` ran.
    pub ood_student: Aurocs,
    pub ood_teacher: Aurocs,
    pub params: u64,
    pub flops: u64,
    pub iterations: u64,
    pub ensemble_samples: u64,
    pub chain_wall_s: f64,
    pub chain_ms_per_iteration: f64,
    pub chain: String,
}

/// A cell whose chain has not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct MissingCell {
    pub cell: String,
    pub chain: String,
    /// The chain's run folder, relative to the sweep folder.
    pub chain_dir: String,
    /// Its state in words (`chain::Progress::describe`).
    pub state: String,
}

/// The rows of the finished cells and the cells not finished.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRows {
    pub varied: Vec<String>,
    pub rows: Vec<Row>,
    pub missing: Vec<MissingCell>,
}

impl SweepRows {
    /// The rows of `folder`. A finished chain that lacks a student its cells name (in
    /// `metrics.json` or `config.toml`) is an error naming the file.
    pub fn of(folder: &SweepFolder) -> Result<SweepRows> {
        let mut rows = Vec::new();
        let mut missing = Vec::new();
        for cell in &folder.sweep.cells {
            let (chain, state) = folder.chain_of(cell);
            let run = match state {
                ChainState::Finished(run) => run,
                ChainState::NotFinished(progress) => {
                    missing.push(MissingCell {
                        cell: cell.name.clone(),
                        chain: chain.name.clone(),
                        chain_dir: chain.dir.display().to_string(),
                        state: progress.describe(),
                    });
                    continue;
                }
            };
            let settings: Settings = folder
                .sweep
                .varied
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        cell.settings.get(k).map_or(String::new(), setting_text),
                    )
                })
                .collect();
            let chain_dir = folder.dir.join(&chain.dir);
            for (student, chain_student) in &cell.students {
                let base = RowBase {
                    cell: &cell.name,
                    chain: &chain.name,
                    settings: &settings,
                    chain_dir: &chain_dir,
                };
                rows.push(row(&base, run, student, chain_student)?);
            }
        }
        mark_fronts(&mut rows);
        Ok(SweepRows {
            varied: folder.sweep.varied.clone(),
            rows,
            missing,
        })
    }
}

impl SweepRows {
    /// The rows without the students of an architecture search (those under a group lasso
    /// or pruned), for the paper's tables and heatmaps of Experiment 2.
    pub fn without_searched(&self) -> SweepRows {
        SweepRows {
            rows: self
                .rows
                .iter()
                .filter(|r| r.group_lasso == 0.0 && r.pruned_from.is_none())
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// What the rows of one cell share.
struct RowBase<'a> {
    cell: &'a str,
    chain: &'a str,
    settings: &'a [(String, String)],
    chain_dir: &'a std::path::Path,
}

fn row(base: &RowBase, run: &FinishedChain, student: &str, chain_student: &str) -> Result<Row> {
    let (cfg, m) = (&run.config, &run.metrics);
    let absent = |file: &str, format: &'static str, found: Vec<&str>| {
        let found: Vec<String> = found.iter().map(|s| format!("`{s}`")).collect();
        Error::format(
            base.chain_dir.join(file),
            format,
            format!(
                "cell `{}`: expected its student `{chain_student}`, found students {}",
                base.cell,
                found.join(", ")
            ),
        )
    };
    let sc = cfg
        .students
        .iter()
        .find(|s| s.name == chain_student)
        .ok_or_else(|| {
            let names = cfg.students.iter().map(|s| s.name.as_str()).collect();
            absent("config.toml", "gped run config", names)
        })?;
    let sm = m.students.get(chain_student).ok_or_else(|| {
        let names = m.students.keys().map(String::as_str).collect();
        absent("metrics.json", "gped metrics.json", names)
    })?;
    let test = sm.test.clone().unwrap_or_default();
    let info = cfg.data.dataset.info();
    let pixels = info.shape.height * info.shape.width;
    let m_size = cfg.data.mask_size;
    let ood_student = run
        .eval
        .as_ref()
        .and_then(|e| e.students.get(chain_student).copied())
        .unwrap_or_default();
    Ok(Row {
        cell: base.cell.to_string(),
        settings: base.settings.to_vec(),
        dataset: cfg.data.dataset,
        arch: cfg.teacher.arch,
        mask_size: m_size,
        mask_rate: (m_size * m_size) as f64 / pixels as f64,
        train_subset: match cfg.data.train_subset {
            0 => info.train_size,
            n => n,
        },
        seed: cfg.seed,
        student: student.to_string(),
        chain_student: chain_student.to_string(),
        target: sc.target,
        estimator: sc.estimator,
        width: sc.width,
        group_lasso: sc.group_lasso,
        group_lasso_layers: sc.group_lasso_layers.clone(),
        group_lasso_groups: sc.group_lasso_groups,
        hidden_widths: sm.hidden_widths.clone(),
        pruned_from: sm.pruned,
        inference: m.time.inference.get(chain_student).copied(),
        front: Front::default(),
        teacher_nll: test.teacher_nll.or(m.teacher_nll),
        teacher_acc: test.teacher_acc.or(m.teacher_acc),
        student_nll: test.student_nll,
        student_acc: test.student_acc,
        entropy_mae: test.entropy_mae,
        ood_student,
        ood_teacher: run.eval.as_ref().map(|e| e.teacher).unwrap_or_default(),
        params: sm.params,
        flops: sm.flops,
        iterations: m.iterations,
        ensemble_samples: m.ensemble_samples,
        chain_wall_s: m.time.wall_s,
        chain_ms_per_iteration: m.time.ms_per_iteration,
        chain: base.chain.to_string(),
    })
}

/// The estimator as written in a config (`sample`, `running-mean`).
pub fn estimator_name(e: Estimator) -> &'static str {
    match e {
        Estimator::Sample => "sample",
        Estimator::RunningMean => "running-mean",
    }
}

/// The estimator in the paper's notation: U_s (Eq. 9) or U_o (Eq. 10).
pub fn estimator_symbol(e: Estimator) -> &'static str {
    match e {
        Estimator::Sample => "U_s",
        Estimator::RunningMean => "U_o",
    }
}

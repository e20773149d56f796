//! One teacher chain of a sweep as its run folder shows it. Finished: `metrics.json` (the
//! final test metrics, each student's own under `students.NAME.test`, and the time spent),
//! `config.toml` (the resolved config) and, when `gped eval` was run on it, `eval/eval.json`
//! (OOD AUROC by total and knowledge uncertainty). Not finished: no folder yet, a folder
//! without a checkpoint, or a checkpoint at some iteration; and running when a live claim of
//! `gped sweep` (`claims/CHAIN.GEN`, its heartbeat renewing the file's modification time) is
//! on it. Only reads files.

use super::folder::ChainEntry;
use crate::checkpoint::Checkpoint;
use crate::config::RunConfig;
use crate::sweep::DEFAULT_STALE_AFTER_S;
use crate::sweep::claim::{Claim, Holder};
use crate::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// `metrics.json` of a finished run (keys gped does not need here are ignored; a metric that
/// was not finite is written `null` and reads as absent).
#[derive(Debug, Clone, Deserialize)]
pub struct RunMetrics {
    pub teacher_nll: Option<f64>,
    pub teacher_acc: Option<f64>,
    pub ensemble_samples: u64,
    pub iterations: u64,
    pub students: BTreeMap<String, StudentMetrics>,
    pub time: RunTime,
}

/// `metrics.json`'s `students.NAME`.
#[derive(Debug, Clone, Deserialize)]
pub struct StudentMetrics {
    pub params: u64,
    pub flops: u64,
    /// Units of each hidden layer (absent in runs made before it was recorded).
    #[serde(default)]
    pub hidden_widths: Vec<u64>,
    /// Parameters and FLOPs before pruning, when the run pruned the student.
    #[serde(default)]
    pub pruned: Option<PrunedFrom>,
    /// The student's own test metrics (`null` before the ensemble has a sample).
    pub test: Option<StudentTest>,
}

/// `students.NAME.test`: a predictive student's NLL and accuracy against the labels (with
/// the teacher's), or an entropy student's MAE to the teacher's expected entropy.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StudentTest {
    pub teacher_nll: Option<f64>,
    pub teacher_acc: Option<f64>,
    pub student_nll: Option<f64>,
    pub student_acc: Option<f64>,
    pub entropy_mae: Option<f64>,
}

/// `students.NAME.pruned`: the student's size before pruning.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct PrunedFrom {
    pub params_before: u64,
    pub flops_before: u64,
}

/// `metrics.json`'s `time`, in seconds (and milliseconds per iteration).
#[derive(Debug, Clone, Deserialize)]
pub struct RunTime {
    pub wall_s: f64,
    pub ms_per_iteration: f64,
    /// Each student's measured inference time (absent in runs made before it was recorded).
    #[serde(default)]
    pub inference: BTreeMap<String, InferenceTimes>,
}

/// `time.inference.NAME`: forward-pass wall time per example, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct InferenceTimes {
    pub batch_1_us: f64,
    pub batch_n_us: f64,
}

/// OOD AUROC by total and knowledge uncertainty (knowledge needs an entropy student).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Aurocs {
    pub total: Option<f64>,
    pub knowledge: Option<f64>,
}

/// What `eval/eval.json` says about OOD detection (all absent without an OOD set).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalAurocs {
    pub teacher: Aurocs,
    /// Per predictive student.
    pub students: BTreeMap<String, Aurocs>,
}

/// A finished chain's outputs.
#[derive(Debug, Clone)]
pub struct FinishedChain {
    pub config: RunConfig,
    pub metrics: RunMetrics,
    pub eval: Option<EvalAurocs>,
}

/// A chain not finished: how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Whether its run folder exists.
    pub folder: bool,
    /// The iteration its checkpoint resumes at (`Err`: why it could not be read).
    pub checkpoint: Option<std::result::Result<u64, String>>,
    /// `schedule.iterations` of its `config.toml`, when readable.
    pub iterations: Option<u64>,
    /// Who holds it (`gped sweep`'s claims, judged with the default stale timeout).
    pub holder: Holder,
}

/// A chain's run folder as found.
#[derive(Debug, Clone)]
pub enum ChainState {
    Finished(Box<FinishedChain>),
    NotFinished(Progress),
}

impl ChainState {
    /// Reads chain `chain` of the sweep folder `sweep_dir`.
    pub fn read(sweep_dir: &Path, chain: &ChainEntry) -> Result<ChainState> {
        let dir = sweep_dir.join(&chain.dir);
        let metrics_path = dir.join("metrics.json");
        if metrics_path.is_file() {
            let metrics = read_metrics(&metrics_path)?;
            let config = RunConfig::load(dir.join("config.toml"))?;
            let eval_path = dir.join("eval").join("eval.json");
            let eval = eval_path
                .is_file()
                .then(|| read_eval(&eval_path))
                .transpose()?;
            return Ok(ChainState::Finished(Box::new(FinishedChain {
                config,
                metrics,
                eval,
            })));
        }
        let checkpoint = dir.join("checkpoint.safetensors");
        Ok(ChainState::NotFinished(Progress {
            folder: dir.is_dir(),
            checkpoint: checkpoint
                .is_file()
                .then(|| Checkpoint::iteration_in(&checkpoint).map_err(|e| e.to_string())),
            iterations: RunConfig::load(dir.join("config.toml"))
                .ok()
                .map(|c| c.schedule.iterations),
            holder: Claim::holder(sweep_dir, &chain.name, stale_after())?,
        }))
    }
}

impl Progress {
    /// Whether a live claim is on the chain.
    pub fn running(&self) -> bool {
        matches!(self.holder, Holder::Live(_))
    }

    /// The state in words: `no folder`, `started, no checkpoint yet` or `checkpoint at
    /// iteration k of T`, preceded by `running: ` under a live claim and followed by a note
    /// on a stale one.
    pub fn describe(&self) -> String {
        let of = self
            .iterations
            .map_or(String::new(), |t| format!(" of {t}"));
        let text = match (&self.checkpoint, self.folder) {
            (_, false) => "no folder".to_string(),
            (None, true) => "started, no checkpoint yet".to_string(),
            (Some(Ok(k)), true) => format!("checkpoint at iteration {k}{of}"),
            (Some(Err(e)), true) => format!("checkpoint not readable ({e})"),
        };
        match &self.holder {
            Holder::Live(_) => format!("running: {text}"),
            Holder::Stale(owner, age) => format!(
                "{text}; stale claim ({owner}; heartbeat {age} s ago, more than {} s)",
                stale_after().as_secs()
            ),
            Holder::Nobody => text,
        }
    }
}

/// The stale timeout a report judges claims by: `gped sweep`'s default.
fn stale_after() -> Duration {
    Duration::from_secs(DEFAULT_STALE_AFTER_S)
}

fn read_metrics(path: &Path) -> Result<RunMetrics> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::format(path, "gped metrics.json", e.to_string()))
}

/// The OOD AUROCs of `eval.json` (keys listed in `eval::report`).
fn read_eval(path: &Path) -> Result<EvalAurocs> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| Error::format(path, "gped eval.json", e.to_string()))?;
    let aurocs = |model: &Value| Aurocs {
        total: model
            .pointer("/ood_detection/total/auroc")
            .and_then(Value::as_f64),
        knowledge: model
            .pointer("/ood_detection/knowledge/auroc")
            .and_then(Value::as_f64),
    };
    let students = match json.get("students") {
        Some(Value::Object(s)) => s.iter().map(|(n, m)| (n.clone(), aurocs(m))).collect(),
        Some(Value::Null) | None => BTreeMap::new(),
        Some(other) => {
            return Err(Error::format(
                path,
                "gped eval.json",
                format!("`students`: expected an object, found {other}"),
            ));
        }
    };
    Ok(EvalAurocs {
        teacher: json.get("teacher").map(aurocs).unwrap_or_default(),
        students,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ChainEntry {
        ChainEntry {
            name: "data.mask_size-0".into(),
            dir: "chains/data.mask_size-0".into(),
            settings: Default::default(),
            cells: vec![],
            students: vec![],
        }
    }

    fn progress(state: ChainState) -> Progress {
        match state {
            ChainState::NotFinished(p) => p,
            ChainState::Finished(_) => panic!("expected a chain not finished"),
        }
    }

    #[test]
    fn states_of_unfinished_chains_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let p = progress(ChainState::read(dir.path(), &entry()).unwrap());
        assert_eq!(p.describe(), "no folder");

        let run = dir.path().join("chains/data.mask_size-0");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("config.toml"), "[schedule]\niterations = 5000\n").unwrap();
        let p = progress(ChainState::read(dir.path(), &entry()).unwrap());
        assert_eq!(p.describe(), "started, no checkpoint yet");

        // A safetensors file with no tensors: an 8-byte header length, then the header.
        let header = br#"{"__metadata__":{"iteration":"2000","format":"gped-checkpoint/1"}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        std::fs::write(run.join("checkpoint.safetensors"), &bytes).unwrap();
        let p = progress(ChainState::read(dir.path(), &entry()).unwrap());
        assert_eq!(p.describe(), "checkpoint at iteration 2000 of 5000");

        // A fresh claim by a live worker on another host (generation 1 is newer than 0).
        let claims = dir.path().join("claims");
        std::fs::create_dir_all(&claims).unwrap();
        let owner = "owner elsewhere pid 1 at unix time 0";
        std::fs::write(claims.join("data.mask_size-0.1"), format!("{owner}\n")).unwrap();
        std::fs::write(claims.join("data.mask_size-10.0"), "another chain\n").unwrap();
        let p = progress(ChainState::read(dir.path(), &entry()).unwrap());
        assert_eq!(p.holder, Holder::Live(owner.into()));
        assert_eq!(
            p.describe(),
            "running: checkpoint at iteration 2000 of 5000"
        );

        let stale = Progress {
            holder: Holder::Stale(owner.into(), 601),
            ..p
        };
        assert!(!stale.running());
        assert!(stale.describe().ends_with(
            "stale claim (owner elsewhere pid 1 at unix time 0; heartbeat 601 s ago, more than 600 s)"
        ));
    }

    #[test]
    fn a_truncated_checkpoint_is_a_state_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("chains/data.mask_size-0");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("checkpoint.safetensors"), [1u8, 2, 3]).unwrap();
        let p = progress(ChainState::read(dir.path(), &entry()).unwrap());
        assert!(
            p.describe().starts_with("checkpoint not readable ("),
            "{}",
            p.describe()
        );
    }

    #[test]
    fn a_malformed_metrics_json_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("chains/data.mask_size-0");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("metrics.json"), r#"{"teacher_nll": 0.1}"#).unwrap();
        let e = ChainState::read(dir.path(), &entry())
            .unwrap_err()
            .to_string();
        let file = run.join("metrics.json").display().to_string();
        assert!(e.starts_with(&file), "{e}");
        assert!(
            e.contains("not a valid gped metrics.json file: missing field"),
            "{e}"
        );
        std::fs::write(run.join("metrics.json"), "{ not json").unwrap();
        let e = ChainState::read(dir.path(), &entry())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&file) && e.contains("gped metrics.json"),
            "{e}"
        );
    }
}

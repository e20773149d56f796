//! A run whose only student has two heads (predictive and entropy on one trunk), made through
//! the binary (a few seconds, on the real files of `GPED_DATA_DIR`, else the synthetic folder
//! of `tests/common/synthetic.rs`): `metrics.json` records the heads' output columns and
//! scores, the weights file their layout; `infer::Distilled` answers with the heads as a
//! predictive and an entropy student (`NAME/predictive`, `NAME/entropy`), whose outputs are
//! the network's columns computed here; `gped predict` gives the whole decomposition; and
//! `gped eval` scores the predictive head paired with its own entropy head, its NLL the
//! run's own.

mod common;

use common::cli::{eval_json, gped, read_json, s, text};
use gped::config::{Arch, Target};
use gped::infer::Distilled;
use gped::model::{ModelSpec, build};
use gped::nn::weights;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A short run: one two-headed student (U_s predictive head, U_o entropy head) at every step,
/// Fashion-MNIST as OOD set and a holdout for the OOD flag.
const CONFIG: &str = r#"
seed = 5
[data]
dataset = "mnist"
ood = "fashion-mnist"
holdout = 500
[schedule]
iterations = 300
burn_in = 100
[[students]]
name = "two-headed"
thinning = 1
dropout = 0.0
width = [0.1, 0.1]
heads = [
  { target = "predictive" },
  { target = "entropy", estimator = "running-mean", loss = "l1" },
]
[eval]
every = 50
log_every = 100
"#;

/// The run folder shared by the tests (made once).
fn short_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    common::cli::shared_run(&RUN, CONFIG)
}

/// `n` 28x28 images as pixels in [0, 1] (pixel k is (k + 7 i) mod 256 in image i).
fn pixels(n: usize) -> Vec<f32> {
    (0..n * 784)
        .map(|k| ((k % 784 + 7 * (k / 784)) % 256) as f32 / 255.0)
        .collect()
}

#[test]
fn metrics_and_weights_record_the_heads() {
    let run = short_run();
    let metrics = read_json(&run.join("metrics.json"));
    let student = &metrics["students"]["two-headed"];
    assert_eq!(student["target"], "predictive+entropy");
    // Predictive: the 10 classes' logits in columns 0..10; entropy: column 10.
    assert_eq!(
        student["heads"]["predictive"]["columns"],
        serde_json::json!([0, 10])
    );
    assert_eq!(
        student["heads"]["entropy"]["columns"],
        serde_json::json!([10, 11])
    );
    let nll = &student["heads"]["predictive"]["test"]["student_nll"];
    let mae = &student["heads"]["entropy"]["test"]["entropy_mae"];
    assert!(
        nll.as_f64().is_some() && mae.as_f64().is_some(),
        "{student}"
    );
    // The merged scores, and the run's headline metrics taken from the heads.
    assert_eq!(&student["test"]["student_nll"], nll);
    assert_eq!(&student["test"]["entropy_mae"], mae);
    assert_eq!(&metrics["student_nll"], nll);
    assert_eq!(&metrics["entropy_mae"], mae);
    let bytes = std::fs::read(run.join("students/two-headed.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let heads = meta.metadata().as_ref().unwrap()["heads"].clone();
    let heads: Value = serde_json::from_str(&heads).unwrap();
    assert_eq!(
        heads[1],
        serde_json::json!({"target": "entropy", "columns": [10, 11]})
    );
}

/// The heads answer as two students, each from its columns of the one network, computed here
/// from the weights file: softmax of columns 0..10, exp of column 10.
#[test]
fn distilled_answers_with_the_heads() {
    let run = short_run();
    let mut distilled = Distilled::open(run).unwrap();
    let names: Vec<&str> = distilled.students.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["two-headed/predictive", "two-headed/entropy"]);
    assert_eq!(distilled.students_of(Target::Entropy), [1]);
    let n = 3;
    let x = pixels(n);
    let got = distilled.predict(&x).unwrap();
    let mut net = build(
        &ModelSpec {
            arch: Arch::Fcnn,
            width: [0.1, 0.1],
            outputs: 11,
            dropout: 0.0,
        },
        0,
    );
    weights::load(
        &mut net.params,
        &run.join("students/two-headed.safetensors"),
    )
    .unwrap();
    net.training = false;
    let raw = net.forward(&x, n).to_vec();
    let aleatoric = got.uncertainty.aleatoric.as_ref().expect("an entropy head");
    for (i, row) in raw.chunks(11).enumerate() {
        let max = row[..10].iter().cloned().fold(f32::MIN, f32::max);
        let z: f64 = row[..10].iter().map(|&l| ((l - max) as f64).exp()).sum();
        for (c, &logit) in row[..10].iter().enumerate() {
            let p = ((logit - max) as f64).exp() / z;
            assert!(
                (got.probs[i * 10 + c] as f64 - p).abs() < 1e-6,
                "p[{i},{c}]"
            );
        }
        assert!((aleatoric[i] as f64 - (row[10] as f64).exp()).abs() < 1e-5);
        let knowledge = got.uncertainty.knowledge.as_ref().unwrap()[i];
        assert_eq!(knowledge, got.uncertainty.total[i] - aleatoric[i]);
    }
}

#[test]
fn predict_gives_the_whole_decomposition() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("images.idx");
    std::fs::write(&input, common::idx_images(2, 28, 28)).unwrap();
    let out = gped(&["predict", s(run), s(&input)]);
    assert!(out.status.success(), "gped predict failed\n{}", text(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        for key in ["aleatoric", "epistemic"] {
            assert!(line[key].is_number(), "{key}: {line}");
        }
    }
}

#[test]
fn eval_pairs_the_predictive_head_with_its_entropy_head() {
    let run = short_run();
    let (out_dir, eval) = eval_json(run);
    let head = &eval["students"]["two-headed/predictive"];
    assert_eq!(head["entropy_student"], "two-headed/entropy");
    for score in ["total", "knowledge"] {
        let auroc = head["ood_detection"][score]["auroc"].as_f64();
        assert!(
            auroc.is_some_and(|a| (0.0..=1.0).contains(&a)),
            "{score}: {head}"
        );
    }
    // The eval rebuilt the test set as the run did: the head's NLL is the run's own.
    let metrics = read_json(&run.join("metrics.json"));
    let (a, b) = (
        head["calibration"]["nll"].as_f64().unwrap(),
        metrics["student_nll"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-9, "eval {a} vs run {b}");
    let report = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(report.contains("two-headed/predictive"), "{report}");
}

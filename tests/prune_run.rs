//! Pruning inside a run (Experiment 3), end to end through the binary on MNIST-format data
//! (the real files of `GPED_DATA_DIR`, else the synthetic folder of
//! `tests/common/synthetic.rs`): a short run distils a base student and a group-lasso student
//! of the same widths on one teacher chain, prunes the lasso student halfway and fine-tunes it
//! for the rest. The pruned student's weights file, `prune.json` and `metrics.json` agree on
//! its smaller widths, parameters and FLOPs; the base student is untouched; `gped eval` and
//! `gped predict` take the pruned run as it is, and the eval's student NLL equals the run's.
//! A two-headed student (predictive and entropy heads on one trunk) under the same lasso is
//! pruned the same way, its heads kept. (Exact resume across the pruning point is in
//! `tests/resume.rs`.)

mod common;

use common::cli::{eval_json, gped, read_json, s, shared_run, text};
use gped::config::Arch;
use gped::model::HiddenWidths;
use gped::nn::Network;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Two FCNN students of widths 0.25 (100 units per hidden layer), H = 1, no dropout; `lasso`
/// under a strong group lasso, pruned at epsilon 0.01 after 200 of the 400 iterations; and a
/// two-headed student of the same widths under the same lasso, pruned with it.
const CONFIG: &str = r#"
seed = 5
[data]
dataset = "mnist"
[schedule]
iterations = 400
burn_in = 20
[eval]
every = 50
log_every = 100
[prune]
at = 200
epsilon = 0.01
learning_rate = 5e-4
[[students]]
name = "base"
thinning = 1
dropout = 0.0
width = [0.25, 0.25]
[[students]]
name = "lasso"
thinning = 1
dropout = 0.0
width = [0.25, 0.25]
group_lasso = 0.05
[[students]]
name = "two-headed"
group_lasso = 0.05
width = [0.25, 0.25]
thinning = 1
dropout = 0.0
heads = [
  { target = "predictive", estimator = "sample", loss = "cross-entropy" },
  { target = "entropy", estimator = "running-mean", loss = "l1" },
]
"#;

fn pruned_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    shared_run(&RUN, CONFIG)
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn the_lasso_student_is_pruned_and_the_base_student_is_not() {
    let run = pruned_run();
    let metrics = read_json(&run.join("metrics.json"));
    let record = read_json(&run.join("prune.json"));
    assert_eq!(record["at"], 200);
    assert_eq!(record["fine_tune_iterations"], 200);
    assert!(record["students"].get("base").is_none());
    let (base, lasso) = (&metrics["students"]["base"], &metrics["students"]["lasso"]);
    assert!(base.get("pruned").is_none());
    assert_eq!(usizes(&base["hidden_widths"]), [100, 100]);

    // What pruning recorded is what the run ends with and what the weights file holds.
    let pruned = &lasso["pruned"];
    assert_eq!(pruned, &record["students"]["lasso"]);
    let widths = usizes(&lasso["hidden_widths"]);
    assert_eq!(usizes(&pruned["widths"]), widths);
    let path = run.join("students/lasso.safetensors");
    let file_widths = HiddenWidths::from_file(Arch::Fcnn, &path).unwrap();
    assert_eq!(file_widths.all().copied().collect::<Vec<_>>(), widths);
    assert!(widths.iter().all(|&w| (1..=100).contains(&w)), "{widths:?}");
    // FCNN 784-w1-w2-10: parameters (784+1) w1 + (w1+1) w2 + (w2+1) 10, multiply-adds
    // 784 w1 + w1 w2 + 10 w2 (as `Network::flops_per_example` counts, 2 per multiply-add).
    let (w1, w2) = (widths[0], widths[1]);
    let params = 785 * w1 + (w1 + 1) * w2 + (w2 + 1) * 10;
    assert_eq!(lasso["params"], params);
    assert_eq!(lasso["flops"], 2 * (784 * w1 + w1 * w2 + w2 * 10));
    assert_eq!(pruned["params_after"], params);
    assert_eq!(pruned["params_before"], base["params"]);
    assert_eq!(pruned["flops_before"], base["flops"]);
    assert_eq!(pruned["flops_after"], lasso["flops"]);
    // A lasso of 0.05 at every step for 180 steps kills units: the test needs some pruned.
    assert!(
        params < base["params"].as_u64().unwrap() as usize,
        "{pruned}"
    );
    // Both students took a step at every iteration after burn-in.
    assert_eq!(lasso["steps"], 379);
    assert_eq!(base["steps"], 379);
    // Their inference times were measured, with the other times.
    for name in ["base", "lasso"] {
        let t = &metrics["time"]["inference"][name];
        assert!(t["batch_1_us"].as_f64().unwrap() > 0.0, "{t}");
        assert!(t["batch_n_us"].as_f64().unwrap() > 0.0, "{t}");
    }
}

#[test]
fn eval_and_predict_take_the_pruned_run_as_it_is() {
    let run = pruned_run();
    let (out_dir, eval) = eval_json(run);
    let metrics = read_json(&run.join("metrics.json"));
    // Each predictive student is scored; the pruned one's NLL is the one the run measured.
    for name in ["base", "lasso"] {
        let run_nll = metrics["students"][name]["test"]["student_nll"]
            .as_f64()
            .unwrap();
        let eval_nll = eval["students"][name]["calibration"]["nll"]
            .as_f64()
            .unwrap();
        assert!(
            (run_nll - eval_nll).abs() < 1e-9,
            "{name}: run {run_nll}, eval {eval_nll}"
        );
    }
    let images = common::test_data()
        .dir()
        .join("mnist/t10k-images-idx3-ubyte.gz");
    let predictions = out_dir.path().join("p.jsonl");
    let out = gped(&["predict", s(run), s(&images), "--out", s(&predictions)]);
    assert!(out.status.success(), "{}", text(&out));
    let first = std::fs::read_to_string(&predictions).unwrap();
    assert!(first.lines().count() > 0);
}

/// The two-headed student loses hidden units as a single-head one does and keeps its output
/// layer whole (10 predictive + 1 entropy column); `gped eval` scores its predictive head at
/// the NLL the run measured.
#[test]
fn a_two_headed_student_is_pruned_with_its_heads() {
    let run = pruned_run();
    let metrics = read_json(&run.join("metrics.json"));
    let student = &metrics["students"]["two-headed"];
    let widths = usizes(&student["hidden_widths"]);
    assert_eq!(usizes(&student["pruned"]["widths"]), widths);
    assert!(widths.iter().all(|&w| (1..=100).contains(&w)), "{widths:?}");
    assert!(
        widths.iter().sum::<usize>() < 200,
        "nothing pruned: {widths:?}"
    );
    // FCNN 784-w1-w2-11: the output layer keeps both heads' columns.
    let (w1, w2) = (widths[0], widths[1]);
    assert_eq!(student["params"], 785 * w1 + (w1 + 1) * w2 + (w2 + 1) * 11);
    assert_eq!(usizes(&student["heads"]["predictive"]["columns"]), [0, 10]);
    assert_eq!(usizes(&student["heads"]["entropy"]["columns"]), [10, 11]);
    let net: Network =
        gped::model::load_network(Arch::Fcnn, 11, &run.join("students/two-headed.safetensors"))
            .unwrap();
    assert_eq!(net.params.len() as u64, student["params"].as_u64().unwrap());

    let (_out_dir, eval) = eval_json(run);
    let run_nll = student["heads"]["predictive"]["test"]["student_nll"]
        .as_f64()
        .unwrap();
    let eval_nll = eval["students"]["two-headed/predictive"]["calibration"]["nll"]
        .as_f64()
        .unwrap();
    assert!(
        (run_nll - eval_nll).abs() < 1e-9,
        "run {run_nll}, eval {eval_nll}"
    );
}

/// A pruned network loaded through the library computes what the run's student computed:
/// the library's `load_network` reads its widths from the tensors.
#[test]
fn the_pruned_weights_load_at_their_own_widths() {
    let run = pruned_run();
    let net: Network =
        gped::model::load_network(Arch::Fcnn, 10, &run.join("students/lasso.safetensors")).unwrap();
    let metrics = read_json(&run.join("metrics.json"));
    assert_eq!(
        net.params.len() as u64,
        metrics["students"]["lasso"]["params"].as_u64().unwrap()
    );
}

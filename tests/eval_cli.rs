//! End-to-end `gped eval`: a short GPED run (made here through the binary, a few seconds,
//! with occlusion and Fashion-MNIST as OOD set, on the real files of `GPED_DATA_DIR`, else on
//! the synthetic folder of `tests/common/synthetic.rs`) is evaluated; the report, `eval.json`
//! and every figure (valid PNG and SVG files of non-trivial size) are written; the numbers of
//! `eval.json` (teacher and predictive student: NLL, accuracy, Brier score, mean total,
//! aleatoric and knowledge uncertainty on test and OOD set, AUROC by total and knowledge
//! uncertainty, agreement MAEs) equal those computed here independently from the run's
//! ensemble sums and student weights (`tests/common/reference.rs`); and the test set is
//! rebuilt exactly as the run built it (the eval's teacher and student NLL equal those the run
//! logged); the OOD flag's shares of test and OOD inputs agree with the run's threshold
//! applied here to the student outputs. Also: an OOD folder of IDX images scores only the students, and a bad RUN_DIR
//! fails with a clear message.

mod common;

use common::cli::{gped, number, read_json, text};
use common::reference::{self, EnsembleMeans, Mlp};
use gped::config::RunConfig;
use gped::data::occluded_test_set;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FIGURES: [&str; 5] = [
    "reliability",
    "roc",
    "uncertainty_histograms",
    "learning_curves",
    "entropy_scatter",
];

/// A short run: the whole training set, 10x10 occlusion, 600 iterations with 200 of burn-in, a teacher
/// sample every 50 steps, both students at every step.
const CONFIG: &str = r#"
seed = 3
[data]
dataset = "mnist"
mask_size = 10
ood = "fashion-mnist"
holdout = 500
[schedule]
iterations = 600
burn_in = 200
[[students]]
name = "predictive"
target = "predictive"
thinning = 1
[[students]]
name = "entropy"
target = "entropy"
estimator = "running-mean"
loss = "l1"
thinning = 1
[eval]
every = 50
log_every = 100
"#;

/// The folder of the test data, as an argument.
fn data_dir() -> &'static str {
    common::test_data().dir().to_str().unwrap()
}

/// The run folder shared by the tests (made once).
fn short_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    common::cli::shared_run(&RUN, CONFIG)
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 10_000,
        "{}: only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{}: not a PNG",
        path.display()
    );
    let reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let info = reader.info();
    assert!(
        info.width >= 600 && info.height >= 300,
        "{}: {}x{}",
        path.display(),
        info.width,
        info.height
    );
}

fn assert_svg(path: &Path) {
    let svg = std::fs::read_to_string(path).unwrap();
    assert!(
        svg.len() > 5_000,
        "{}: only {} bytes",
        path.display(),
        svg.len()
    );
    let start = svg.trim_start();
    assert!(
        start.starts_with("<svg") || start.starts_with("<?xml"),
        "{}",
        path.display()
    );
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{}: truncated",
        path.display()
    );
    for element in ["<text", "<polyline", "<rect"] {
        assert!(svg.contains(element), "{}: no {element}", path.display());
    }
}

/// `gped eval` of the short run into a temporary folder (made once): `(run folder, eval
/// folder)`.
fn short_eval() -> (&'static Path, &'static Path) {
    let run = short_run();
    static EVAL: OnceLock<tempfile::TempDir> = OnceLock::new();
    let out_dir = EVAL.get_or_init(|| {
        let out_dir = tempfile::tempdir().unwrap();
        let out = gped(&[
            "eval",
            run.to_str().unwrap(),
            "--data-dir",
            data_dir(),
            "--out",
            out_dir.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "gped eval failed\n{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("report.md"), "{stdout}");
        out_dir
    });
    (run, out_dir.path())
}

#[test]
fn eval_writes_report_json_and_every_figure() {
    let (run, out_dir) = short_eval();
    for stem in FIGURES {
        assert_png(&out_dir.join(format!("{stem}.png")));
        assert_svg(&out_dir.join(format!("{stem}.svg")));
    }
    let report = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    for needle in [
        "## OOD detection",
        "## OOD flag (`gped predict`)",
        "| fashion-mnist (OOD) |",
        "AUROC",
        "nDCG@20",
        "ECE",
        "## Definitions",
    ] {
        assert!(report.contains(needle), "report.md lacks {needle}");
    }
    for stem in FIGURES {
        assert!(
            report.contains(&format!("]({stem}.png)")),
            "report.md does not link {stem}.png"
        );
    }

    let eval = read_json(&out_dir.join("eval.json"));
    // The documented keys are there (`number` fails on a missing one); their values are
    // checked against an independent computation in `eval_json_agrees_with_...` below.
    for model in ["/teacher", "/students/predictive"] {
        for key in ["accuracy", "nll", "brier", "ece", "rejection_auc"] {
            number(&eval, &format!("{model}/calibration/{key}"));
        }
        for score in ["total", "knowledge"] {
            for key in ["auroc", "aupr", "fpr_at_95_tpr"] {
                number(&eval, &format!("{model}/ood_detection/{score}/{key}"));
            }
        }
        let bins = eval
            .pointer(&format!("{model}/calibration/reliability"))
            .unwrap();
        assert_eq!(bins.as_array().unwrap().len(), 15);
        number(&eval, &format!("{model}/uncertainty_test/total"));
        number(&eval, &format!("{model}/uncertainty_ood/knowledge"));
    }
    for score in ["total", "knowledge"] {
        number(&eval, &format!("/students/predictive/ranking/{score}/mean"));
        number(&eval, &format!("/students/predictive/ranking/{score}/std"));
    }
    assert_eq!(eval["students"]["predictive"]["entropy_student"], "entropy");
    assert_eq!(eval["ood"]["name"], "fashion-mnist");
    assert_eq!(eval["ood"]["teacher_scored"], true);
    assert_eq!(number(&eval, "/settings/ranking_trials"), 500.0);
    // The teacher is a working classifier after 600 steps, and OOD by total uncertainty is
    // better than chance for it.
    assert!(number(&eval, "/teacher/calibration/accuracy") > 0.8);
    assert!(number(&eval, "/teacher/ood_detection/total/auroc") > 0.6);

    // The eval rebuilt the occluded test set exactly: its NLLs are the run's own.
    let metrics = read_json(&run.join("metrics.json"));
    for (eval_key, run_key) in [
        ("/teacher/calibration/nll", "/teacher_nll"),
        ("/students/predictive/calibration/nll", "/student_nll"),
        ("/teacher/calibration/accuracy", "/teacher_acc"),
    ] {
        let (a, b) = (number(&eval, eval_key), number(&metrics, run_key));
        assert!((a - b).abs() < 1e-9, "{eval_key} {a} vs run {run_key} {b}");
    }
    assert_eq!(eval["ensemble_samples"], metrics["ensemble_samples"]);
}

/// One model's outputs as computed here: predictive distributions on the test set, and total
/// and aleatoric uncertainty per input on the test and OOD sets.
struct Outputs {
    probs: Vec<Vec<f64>>,
    test: [Vec<f64>; 2],
    ood: [Vec<f64>; 2],
}

/// How far gped's numbers may lie from those computed here, and why (see the callers).
struct Tolerance {
    /// On a mean over inputs (NLL, Brier score, mean uncertainties, MAEs).
    mean: f64,
    /// Two largest probabilities closer than this (relative) may swap in gped's argmax.
    tie: f64,
    /// How far gped's uncertainty score of an input may lie from the one computed here.
    score: fn(f64) -> f64,
}

/// Asserts that the numbers of `model` in `eval` are those of `outputs` on `labels`.
fn assert_model(eval: &Value, model: &str, outputs: &Outputs, labels: &[u8], tol: &Tolerance) {
    let close = |key: &str, expected: f64, within: f64| {
        let found = number(eval, &format!("{model}/{key}"));
        assert!(
            (found - expected).abs() <= within,
            "{model}/{key}: eval.json {found}, computed here {expected} (tolerance {within:e})"
        );
    };
    let c = reference::classification(&outputs.probs, labels, tol.tie);
    close("calibration/nll", c.nll, tol.mean);
    close("calibration/brier", c.brier, tol.mean);
    // An input's argmax can differ only where its two largest probabilities nearly tie.
    let n = labels.len() as f64;
    close(
        "calibration/accuracy",
        c.accuracy,
        c.near_ties as f64 / n + 1e-12,
    );
    let knowledge = |[total, aleatoric]: &[Vec<f64>; 2]| -> Vec<f64> {
        total.iter().zip(aleatoric).map(|(t, a)| t - a).collect()
    };
    for (set, u) in [("test", &outputs.test), ("ood", &outputs.ood)] {
        close(
            &format!("uncertainty_{set}/total"),
            reference::mean(&u[0]),
            tol.mean,
        );
        close(
            &format!("uncertainty_{set}/aleatoric"),
            reference::mean(&u[1]),
            tol.mean,
        );
        close(
            &format!("uncertainty_{set}/knowledge"),
            reference::mean(&knowledge(u)),
            tol.mean,
        );
    }
    for (score, ood, test) in [
        ("total", outputs.ood[0].clone(), outputs.test[0].clone()),
        (
            "knowledge",
            knowledge(&outputs.ood),
            knowledge(&outputs.test),
        ),
    ] {
        // Only pairs whose scores lie within the scores' tolerance can be ordered otherwise by
        // gped; each moves the AUROC by 1 / pairs at most.
        let near = reference::near_pairs(&ood, &test, tol.score);
        let pairs = (ood.len() * test.len()) as f64;
        close(
            &format!("ood_detection/{score}/auroc"),
            reference::auroc(&ood, &test),
            near as f64 / pairs + 1e-12,
        );
    }
}

/// The teacher's outputs from the run's ensemble sums: p = mean p(y|x,theta), total =
/// H[p], aleatoric = mean H[p(y|x,theta)].
fn teacher_outputs(run: &Path) -> (u64, Outputs) {
    let test = EnsembleMeans::read(&run.join("ensemble_test.safetensors"));
    let ood = EnsembleMeans::read(&run.join("ensemble_ood.safetensors"));
    assert_eq!(test.samples, ood.samples);
    let totals = |e: &EnsembleMeans| e.probs.iter().map(|p| reference::entropy(p)).collect();
    let outputs = Outputs {
        test: [totals(&test), test.expected_entropy.clone()],
        ood: [totals(&ood), ood.expected_entropy],
        probs: test.probs,
    };
    (test.samples, outputs)
}

/// The predictive student's outputs, its aleatoric uncertainty from the entropy student
/// (exp of its output), both run here from their weights on `test` and `ood` images.
fn student_outputs(run: &Path, test: &[Vec<f64>], ood: &[Vec<f64>]) -> Outputs {
    let layers = ["fc1", "fc2", "fc3"];
    let predictive = Mlp::read(&run.join("students/predictive.safetensors"), &layers);
    let entropy = Mlp::read(&run.join("students/entropy.safetensors"), &layers);
    // The predictive distributions and [total, aleatoric] uncertainty of images `x`.
    let run_on = |x: &[Vec<f64>]| -> (Vec<Vec<f64>>, [Vec<f64>; 2]) {
        let probs: Vec<Vec<f64>> = x
            .iter()
            .map(|x| reference::softmax(&predictive.forward(x)))
            .collect();
        let total = probs.iter().map(|p| reference::entropy(p)).collect();
        let aleatoric = x.iter().map(|x| entropy.forward(x)[0].exp()).collect();
        (probs, [total, aleatoric])
    };
    let ((probs, test), (_, ood)) = (run_on(test), run_on(ood));
    Outputs { probs, test, ood }
}

#[test]
fn eval_json_agrees_with_an_independent_computation_from_the_run_files() {
    let (run, out_dir) = short_eval();
    let eval = read_json(&out_dir.join("eval.json"));
    let data = Path::new(data_dir());
    let (_, labels) = reference::read_idx(&data.join("mnist/t10k-labels-idx1-ubyte"));
    let ood_images = reference::read_idx_images(&data.join("fashion-mnist/t10k-images-idx3-ubyte"));
    assert_eq!(number(&eval, "/test_size"), labels.len() as f64);
    assert_eq!(number(&eval, "/ood/size"), ood_images.len() as f64);

    // Teacher: gped turns each per-input number (<= ln 10 in size) into an f32, which moves
    // it by at most 2^-24 of itself (6e-8), and rounding is monotone, so it cannot reorder
    // two scores further apart than that. 1e-6 leaves room for f64 sums in another order.
    // (Measured: means within 2e-9.)
    let (samples, teacher) = teacher_outputs(run);
    assert_eq!(number(&eval, "/ensemble_samples"), samples as f64);
    let exact = Tolerance {
        mean: 1e-6,
        tie: 1e-6,
        score: |s| 1e-6 * s.abs() + 1e-15,
    };
    assert_model(&eval, "/teacher", &teacher, &labels, &exact);

    // Students: run here in f64 on the same inputs (the occluded test set as gped builds it,
    // and the OOD images read above). gped runs them in f32: dot products of up to 784 terms,
    // each rounded to 2^-24 of itself, typically off by sqrt(784) 2^-24 = 2e-6 of the sum of
    // the terms' sizes (a few units here), so each logit within about 5e-6 of the exact one,
    // each probability within 1e-5 of itself (relative), each entropy within 1e-5 (H + 1)
    // (dH = -sum (ln p + 1) dp), and the means within 1e-5. (Measured: means within 2e-8.)
    let cfg = RunConfig::load(run.join("config.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let test = occluded_test_set(&cfg, data).unwrap();
    let test_images: Vec<Vec<f64>> = (0..test.len())
        .map(|i| test.image(i).iter().map(|&v| f64::from(v)).collect())
        .collect();
    assert_eq!(test.labels(), &labels[..]);
    let student = student_outputs(run, &test_images, &ood_images);
    let f32_networks = Tolerance {
        mean: 1e-5,
        tie: 1e-5,
        score: |s| 1e-5 * (s.abs() + 1.0),
    };
    assert_model(
        &eval,
        "/students/predictive",
        &student,
        &labels,
        &f32_networks,
    );
    let mae = |a: &[f64], b: &[f64]| {
        reference::mean(
            &a.iter()
                .zip(b)
                .map(|(a, b)| (a - b).abs())
                .collect::<Vec<_>>(),
        )
    };
    for (key, u) in [("total_mae", 0), ("aleatoric_mae", 1)] {
        let expected = mae(&student.test[u], &teacher.test[u]);
        let found = number(&eval, &format!("/students/predictive/agreement/{key}"));
        assert!(
            (found - expected).abs() <= exact.mean + f32_networks.mean,
            "{key}: eval.json {found}, computed here {expected}"
        );
    }

    // The OOD flag: the run's threshold (on total uncertainty, from ood_threshold.json) on
    // the student totals computed here. Only inputs within the f32 score tolerance of the
    // threshold can fall on the other side in gped, each moving a share by 1 / n.
    let rule = read_json(&run.join("ood_threshold.json"));
    assert_eq!(rule["score"], "total");
    assert_eq!(eval["ood_flag"]["threshold"], rule["threshold"]);
    let threshold = number(&rule, "/threshold");
    let share_above = |scores: &[f64]| -> (f64, f64) {
        let n = scores.len() as f64;
        let above = scores.iter().filter(|&&s| s > threshold).count() as f64;
        let near = (scores.iter())
            .filter(|&&s| (s - threshold).abs() <= (f32_networks.score)(s))
            .count() as f64;
        (above / n, near / n + 1e-12)
    };
    let (flagged, slack) = share_above(&student.test[0]);
    let found = number(&eval, "/ood_flag/test_tpr");
    assert!(
        (found - (1.0 - flagged)).abs() <= slack,
        "test_tpr {found} vs {}",
        1.0 - flagged
    );
    let (flagged, slack) = share_above(&student.ood[0]);
    let found = number(&eval, "/ood_flag/ood_flagged");
    assert!(
        (found - flagged).abs() <= slack,
        "ood_flagged {found} vs {flagged}"
    );
}

#[test]
fn ood_folder_scores_only_the_students() {
    let (run, own_dir) = short_eval();
    // A folder holding only Fashion-MNIST's test images (gzipped), no labels.
    let folder = tempfile::tempdir().unwrap();
    let images = folder.path().join("t10k-images-idx3-ubyte.gz");
    std::fs::copy(
        Path::new(data_dir()).join("fashion-mnist/t10k-images-idx3-ubyte.gz"),
        &images,
    )
    .unwrap();
    let (dims, _) = reference::read_idx(&images.with_extension(""));
    let out_dir = tempfile::tempdir().unwrap();
    let out = gped(&[
        "eval",
        run.to_str().unwrap(),
        "--ood",
        folder.path().to_str().unwrap(),
        "--data-dir",
        data_dir(),
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "gped eval --ood FOLDER failed\n{}",
        text(&out)
    );
    let eval = read_json(&out_dir.path().join("eval.json"));
    assert_eq!(eval["ood"]["source"], "folder");
    assert_eq!(eval["ood"]["teacher_scored"], false);
    assert_eq!(number(&eval, "/ood/size"), dims[0] as f64);
    assert!(eval["teacher"]["ood_detection"].is_null());
    let auroc = number(&eval, "/students/predictive/ood_detection/total/auroc");
    let report = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(report.contains("only the students are scored"), "{report}");
    // The same images as the catalogue set: the students' AUROC is the same as on the run's
    // own OOD set, `fashion-mnist`.
    let own_eval = read_json(&own_dir.join("eval.json"));
    assert_eq!(own_eval["ood"]["teacher_scored"], true);
    let own_auroc = number(&own_eval, "/students/predictive/ood_detection/total/auroc");
    assert!((auroc - own_auroc).abs() < 1e-12, "{auroc} vs {own_auroc}");
}

#[test]
fn bad_run_dir_fails_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-run");
    let out = gped(&["eval", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run folder") && err.contains("no-such-run"),
        "{err}"
    );

    // A folder that exists but was not written by `gped run`.
    let out = gped(&["eval", tmp.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("config.toml") && err.contains("gped run"),
        "{err}"
    );
}

//! End-to-end `gped eval`: a short GPED run (made here through the binary, a few seconds,
//! with occlusion and Fashion-MNIST as OOD set) is evaluated; the report, `eval.json` and every
//! figure (valid PNG and SVG files of non-trivial size) are written, the numbers are in range,
//! and the test set is rebuilt exactly as the run built it (the eval's teacher and student NLL
//! equal those the run logged). Also: an OOD folder of IDX images scores only the students,
//! and a bad RUN_DIR fails with a clear message. The runs use the real files of
//! `GPED_DATA_DIR`, else the synthetic folder of `tests/common/synthetic.rs`.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
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

fn gped(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gped"))
        .args(args)
        .output()
        .expect("gped binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The folder of the test data, as an argument.
fn data_dir() -> &'static str {
    common::test_data().dir().to_str().unwrap()
}

/// The run folder shared by the tests (made once).
fn short_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, dir) = RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("short.toml");
        std::fs::write(&config, CONFIG).unwrap();
        let run = tmp.path().join("run");
        let mut args = vec![
            "run",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--data-dir",
            data_dir(),
            "--quiet",
        ];
        args.extend(common::test_data().set_args());
        let out = gped(&args);
        assert!(out.status.success(), "gped run failed\n{}", text(&out));
        (tmp, run)
    });
    dir.as_path()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A number at a JSON pointer, failing with the pointer when absent.
fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("eval.json has no number at {pointer}"))
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

#[test]
fn eval_writes_report_json_and_every_figure() {
    let run = short_run();
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

    for stem in FIGURES {
        assert_png(&out_dir.path().join(format!("{stem}.png")));
        assert_svg(&out_dir.path().join(format!("{stem}.svg")));
    }
    let report = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    for needle in [
        "## OOD detection",
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

    let eval = read_json(&out_dir.path().join("eval.json"));
    // The documented keys, each a number in its range.
    for model in ["/teacher", "/students/predictive"] {
        for key in ["accuracy", "nll", "brier", "ece", "rejection_auc"] {
            let v = number(&eval, &format!("{model}/calibration/{key}"));
            assert!(v.is_finite() && v >= 0.0, "{model} {key} = {v}");
        }
        for score in ["total", "knowledge"] {
            for key in ["auroc", "aupr", "fpr_at_95_tpr"] {
                let v = number(&eval, &format!("{model}/ood_detection/{score}/{key}"));
                assert!((0.0..=1.0).contains(&v), "{model} {score} {key} = {v}");
            }
        }
        assert!(number(&eval, &format!("{model}/calibration/ece")) <= 1.0);
        let bins = eval
            .pointer(&format!("{model}/calibration/reliability"))
            .unwrap();
        assert_eq!(bins.as_array().unwrap().len(), 15);
        number(&eval, &format!("{model}/uncertainty_test/total"));
        number(&eval, &format!("{model}/uncertainty_ood/knowledge"));
    }
    for score in ["total", "knowledge"] {
        let mean = number(&eval, &format!("/students/predictive/ranking/{score}/mean"));
        let std = number(&eval, &format!("/students/predictive/ranking/{score}/std"));
        assert!(
            mean > 0.0 && mean <= 1.0 + 1e-12 && std >= 0.0,
            "{score}: {mean} ± {std}"
        );
    }
    number(&eval, "/students/predictive/agreement/aleatoric_mae");
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

#[test]
fn ood_folder_scores_only_the_students() {
    let run = short_run();
    // A folder holding only Fashion-MNIST's test images (gzipped), no labels.
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(data_dir()).join("fashion-mnist/t10k-images-idx3-ubyte.gz"),
        folder.path().join("t10k-images-idx3-ubyte.gz"),
    )
    .unwrap();
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
    let size = match common::test_data().is_real() {
        true => 10_000,
        false => common::synthetic::TEST_IMAGES,
    };
    assert_eq!(number(&eval, "/ood/size"), size as f64);
    assert!(eval["teacher"]["ood_detection"].is_null());
    let auroc = number(&eval, "/students/predictive/ood_detection/total/auroc");
    assert!((0.0..=1.0).contains(&auroc));
    let report = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(report.contains("only the students are scored"), "{report}");
    // The same images as the catalogue set: the students' AUROC is the same as with
    // `--ood fashion-mnist` (the run's own set).
    let own_dir = tempfile::tempdir().unwrap();
    let own = gped(&[
        "eval",
        run.to_str().unwrap(),
        "--ood",
        "fashion-mnist",
        "--data-dir",
        data_dir(),
        "--out",
        own_dir.path().to_str().unwrap(),
    ]);
    assert!(own.status.success(), "{}", text(&own));
    let own_eval = read_json(&own_dir.path().join("eval.json"));
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

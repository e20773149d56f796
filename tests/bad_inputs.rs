//! The catalogue of bad inputs: each test runs the real `gped` binary on one bad input made in
//! a temporary folder and checks that it fails cleanly: a non-zero exit code, a message on
//! stderr naming the file or key (and what was expected and found, where that applies), no
//! panic, and no file damaged (every file that existed before is byte-identical after, and no
//! new file or folder, partial or temporary, is left behind).
//!
//! This file holds the config, output-folder and run-folder cases; bad data files are in
//! `tests/bad_data_files.rs`. Cases on a finished run (`gped eval`, an existing run folder) use
//! a tiny run on MNIST-format data: the real files of `GPED_DATA_DIR`, else the synthetic folder
//! of `tests/common/synthetic.rs`.

mod common;

use common::cli::{assert_fails_with, gped, run_untouched, s};
use common::fixture::{CONFIG, Fixture};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use gped::config::{Arch, RunConfig, StudentConfig};
use gped::distill::student::Student;
use gped::nn::{ParamSet, weights};

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn config_file_that_does_not_exist() {
    let f = Fixture::new();
    let missing = f.root().join("no-such.toml");
    let out = run_untouched(f.root(), &["run", s(&missing), "--quiet"]);
    assert_fails_with(&out, &[s(&missing), "cannot read the run config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("os error 2").count(),
        1,
        "the cause is told once: {stderr}"
    );
}

#[test]
fn unknown_config_key() {
    let f = Fixture::new();
    std::fs::write(f.config(), "[sampler]\nstepsize = 1e-6\n").unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&f.config()),
            "line 2",
            "unknown field `stepsize`",
            "expected one of `step_size`",
        ],
    );
}

#[test]
fn config_value_of_the_wrong_type() {
    let f = Fixture::new();
    std::fs::write(f.config(), "[schedule]\niterations = \"many\"\n").unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&f.config()),
            "line 2",
            "iterations = \"many\"",
            "invalid type: string \"many\", expected u64",
        ],
    );
}

#[test]
fn negative_step_size() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "sampler.step_size=-1e-6"]),
        &[
            "config key `sampler.step_size`",
            "must be finite and > 0, found -1e-6",
        ],
    );
}

#[test]
fn mask_larger_than_the_image() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "data.mask_size=40"]),
        &[
            "config key `data.mask_size`",
            "must be < the image side of mnist (28), found 40",
        ],
    );
}

#[test]
fn subset_larger_than_the_dataset() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "data.train_subset=70000"]),
        &[
            "config key `data.train_subset`",
            "must be <= the mnist training set size (60000), found 70000",
        ],
    );
}

#[test]
fn thinning_of_zero() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "students.0.thinning=0"]),
        &["config key `students[0].thinning`", "must be > 0, found 0"],
    );
}

#[test]
fn burn_in_not_below_the_iterations() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "schedule.burn_in=2"]),
        &[
            "config key `schedule.burn_in`",
            "must be < schedule.iterations (2), found 2",
        ],
    );
}

#[test]
fn unknown_dataset_name() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "data.dataset=svhn"]),
        &[
            "config key `data.dataset`",
            "unknown variant `svhn`",
            "expected one of `mnist`",
        ],
    );
}

#[test]
fn set_without_equals_sign() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "schedule.iterations"]),
        &["--set schedule.iterations: expected KEY=VALUE"],
    );
}

#[test]
fn set_of_an_unknown_key() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "sampler.stepsize=1e-6"]),
        &[
            "config key `sampler.stepsize`",
            "unknown field `stepsize`",
            "expected one of `step_size`",
        ],
    );
}

#[test]
fn set_of_a_value_of_the_wrong_type() {
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "schedule.iterations=abc"]),
        &[
            "config key `schedule.iterations`",
            "invalid type: string \"abc\", expected u64",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Output folder

#[test]
fn output_folder_under_a_regular_file() {
    let f = Fixture::new();
    let file = f.root().join("not-a-folder");
    std::fs::write(&file, b"keep me").unwrap();
    let out = file.join("run");
    assert_fails_with(&f.run_into(&out, &[]), &[s(&out), "Not a directory"]);
}

#[test]
fn output_folder_that_is_a_regular_file() {
    let f = Fixture::new();
    let file = f.root().join("run");
    std::fs::write(&file, b"keep me").unwrap();
    assert_fails_with(&f.run_into(&file, &[]), &[s(&file), "Not a directory"]);
}

#[test]
fn existing_output_folder_is_refused_and_left_intact() {
    let f = Fixture::new();
    let out = f.root().join("previous-run");
    std::fs::create_dir_all(out.join("students")).unwrap();
    std::fs::write(out.join("metrics.json"), b"{\"precious\": true}").unwrap();
    std::fs::write(out.join("students/predictive.safetensors"), b"weights").unwrap();
    let needles = [
        "run folder",
        s(&out),
        "already exists and is not empty",
        "choose another --out",
        "--force to replace it",
        &format!("gped run --resume {}", s(&out)),
    ];
    assert_fails_with(&f.run_into(&out, &[]), &needles);
    // Refused before the data is read: a missing data folder is not what is reported.
    let missing = f.root().join("no-such-data");
    assert_fails_with(&f.run_with_data(&out, &missing, &[]), &needles);
}

// ---------------------------------------------------------------------------------------------
// Run folders and weights (`gped eval`)

#[test]
fn eval_of_a_folder_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"not a run").unwrap();
    let out = run_untouched(tmp.path(), &["eval", s(tmp.path())]);
    assert_fails_with(
        &out,
        &[
            "run config `config.toml` not found at",
            s(&tmp.path().join("config.toml")),
            "written by `gped run`",
        ],
    );
}

#[test]
fn eval_of_a_folder_that_does_not_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-run");
    let out = run_untouched(tmp.path(), &["eval", s(&missing)]);
    assert_fails_with(&out, &["run folder not found at", s(&missing)]);
}

/// A tiny run on the test data (20 iterations, students of width 0.1), made once. Tests copy
/// it before damaging it.
fn tiny_run() -> &'static Path {
    let data = common::test_data();
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, dir) = RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("tiny.toml");
        std::fs::write(&config, CONFIG).unwrap();
        let run = tmp.path().join("run");
        let mut args = vec![
            "run",
            s(&config),
            "--out",
            s(&run),
            "--data-dir",
            s(data.dir()),
            "--quiet",
            "--set",
            "schedule.iterations=20",
            "--set",
            "schedule.burn_in=5",
            "--set",
            "eval.every=5",
            "--set",
            "eval.log_every=10",
            "--set",
            "students.0.width=[0.1,0.1]",
            "--set",
            "students.1.width=[0.1,0.1]",
        ];
        args.extend(data.set_args());
        let out = gped(&args);
        assert!(
            out.status.success(),
            "tiny run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (tmp, run)
    });
    dir.as_path()
}

/// A copy of the tiny run in a fresh temporary folder, as `(folder, run folder)`.
fn copy_of_tiny_run() -> (tempfile::TempDir, PathBuf) {
    let src = tiny_run();
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("run");
    for rel in common::tree(src) {
        let (from, to) = (src.join(&rel), dst.join(&rel));
        if from.is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    (tmp, dst)
}

/// `gped eval RUN --data-dir DATA`, checked to leave every file under `root` as it was.
fn eval_untouched(root: &Path, run: &Path) -> Output {
    let data = common::test_data().dir();
    run_untouched(root, &["eval", s(run), "--data-dir", s(data)])
}

/// The parameters of student `index` of the run in `run`, at width `width`.
fn student_params(run: &Path, index: usize, width: [f64; 2]) -> ParamSet {
    let config = RunConfig::load(run.join("config.toml")).unwrap();
    let cfg = StudentConfig {
        width,
        ..config.students[index].clone()
    };
    Student::new(&cfg, Arch::Fcnn, 10, 60_000, 0)
        .unwrap()
        .net
        .params
}

#[test]
fn student_weights_of_another_architecture() {
    let (tmp, run) = copy_of_tiny_run();
    // The run's students have hidden layers of floor(0.1 x 400) = 40 units; these weights are
    // of a student with floor(0.2 x 400) = 80.
    let wide = student_params(&run, 0, [0.2, 0.2]);
    let path = run.join("students/predictive.safetensors");
    weights::save(&wide, &path, None).unwrap();
    let first = &wide.specs[0];
    assert_eq!(first.shape, [80, 784], "{}", first.name);
    let out = eval_untouched(tmp.path(), &run);
    assert_fails_with(
        &out,
        &[
            s(&path),
            &format!("tensor `{}`", first.name),
            "expected shape [40, 784], found [80, 784]",
        ],
    );
    assert!(!run.join("eval").exists(), "eval folder left behind");
}

#[test]
fn truncated_student_weights() {
    let (tmp, run) = copy_of_tiny_run();
    let path = run.join("students/entropy.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = eval_untouched(tmp.path(), &run);
    assert_fails_with(&out, &[s(&path), "not a valid safetensors file"]);
}

#[test]
fn student_weights_with_a_transposed_tensor() {
    let (tmp, run) = copy_of_tiny_run();
    let good = student_params(&run, 0, [0.1, 0.1]);
    let mut bad = ParamSet::new();
    for spec in &good.specs {
        let shape: Vec<usize> = match spec.name.as_str() {
            name if name == good.specs[0].name => spec.shape.iter().rev().copied().collect(),
            _ => spec.shape.clone(),
        };
        bad.add(&spec.name, &shape);
    }
    let path = run.join("students/predictive.safetensors");
    weights::save(&bad, &path, None).unwrap();
    let out = eval_untouched(tmp.path(), &run);
    assert_fails_with(
        &out,
        &[
            s(&path),
            &format!("tensor `{}`", good.specs[0].name),
            "expected shape [40, 784], found [784, 40]",
        ],
    );
}

#[test]
fn truncated_teacher_ensemble() {
    let (tmp, run) = copy_of_tiny_run();
    let path = run.join("ensemble_test.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 8]).unwrap();
    let out = eval_untouched(tmp.path(), &run);
    assert_fails_with(&out, &[s(&path), "not a valid ensemble safetensors file"]);
}

#[test]
fn run_config_edited_into_an_invalid_one() {
    let (tmp, run) = copy_of_tiny_run();
    let path = run.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("burn_in = 5"), "{text}");
    std::fs::write(&path, text.replace("burn_in = 5", "burn_in = 50")).unwrap();
    let out = eval_untouched(tmp.path(), &run);
    assert_fails_with(
        &out,
        &[
            "config key `schedule.burn_in`",
            "must be < schedule.iterations (20), found 50",
        ],
    );
}

#[test]
fn rerun_into_a_finished_run_folder_is_refused() {
    let (tmp, run) = copy_of_tiny_run();
    let data = common::test_data().dir();
    let config = run.join("config.toml");
    let out = run_untouched(
        tmp.path(),
        &[
            "run",
            s(&config),
            "--out",
            s(&run),
            "--data-dir",
            s(data),
            "--quiet",
        ],
    );
    assert_fails_with(&out, &[s(&run), "already exists and is not empty"]);
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    // A missing argument, an unknown command and an unknown flag: clap's message, exit 1
    // (as every other error, not clap's 2).
    for (args, needle) in [
        (&["run"][..], "<CONFIG>"),
        (&["frobnicate"][..], "unrecognized subcommand"),
        (&["run", "x.toml", "--no-such-flag"][..], "--no-such-flag"),
    ] {
        let out = gped(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    for args in [&["--help"][..], &["run", "--help"], &["--version"]] {
        let out = gped(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_failed_run_without_out_leaves_no_folder() {
    // Without --out the run reserves `output.dir/NAME-TIMESTAMP` first (so that two runs
    // started in the same second get two folders); a run that then fails on its data
    // removes it again, and `output.dir` too when the run made it.
    let f = Fixture::new();
    let runs = f.root().join("runs");
    let set = format!("output.dir={}", s(&runs));
    let missing = f.root().join("no-such-data");
    let config = f.config();
    let args = ["run", s(&config), "--data-dir", s(&missing), "--set", &set];
    assert_eq!(gped(&args).status.code(), Some(1));
    assert!(!runs.exists(), "{} was left behind", runs.display());
    std::fs::create_dir(&runs).unwrap();
    assert_eq!(gped(&args).status.code(), Some(1));
    assert_eq!(
        std::fs::read_dir(&runs).unwrap().count(),
        0,
        "runs/ must stay empty"
    );
}

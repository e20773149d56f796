//! Bad inputs to `gped run --resume` and `--force`, in the manner of `bad_inputs.rs`: each case
//! runs the real binary and checks a non-zero exit, a message naming the file or key with
//! what was expected and found, no panic, and every file left as it was. Run folders are made
//! by hand (a config, a log, a checkpoint with its header and an empty state): every refusal
//! here happens before the data is read or the state is loaded. The one case that needs the
//! state (a tensor of the wrong shape) loads MNIST-format data: the real files of `GPED_DATA_DIR`,
//! else the synthetic folder of `tests/common/synthetic.rs`.

mod common;

use common::cli::{assert_fails_with, run_untouched, s};
use gped::base::{StateWriter, Stateful};
use gped::checkpoint::{self, Checkpoint, Header};
use gped::config::RunConfig;
use gped::distill::{self, RunState};
use std::path::{Path, PathBuf};

/// A run folder of a stopped run of `config` at iteration 10, with an empty state.
fn stopped_run(root: &Path, config: &RunConfig) -> PathBuf {
    let dir = root.join("run");
    std::fs::create_dir_all(dir.join("students")).unwrap();
    config.save(dir.join("config.toml")).unwrap();
    std::fs::write(dir.join("metrics.jsonl"), b"{\"iteration\":10}\n").unwrap();
    let header = Header {
        iteration: 10,
        config: config.clone(),
        metrics_jsonl_bytes: 17,
    };
    checkpoint::write(&Checkpoint::path_in(&dir), &header, StateWriter::new()).unwrap();
    dir
}

fn resume_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--resume",
        s(dir),
        "--quiet",
        "--data-dir",
        "no-such-data",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn truncated_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = stopped_run(tmp.path(), &RunConfig::default());
    let path = Checkpoint::path_in(&dir);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 40]).unwrap();
    let out = run_untouched(tmp.path(), &resume_args(&dir, &[]));
    assert_fails_with(&out, &[s(&path), "not a valid gped checkpoint"]);
}

#[test]
fn checkpoint_of_another_architecture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = stopped_run(tmp.path(), &RunConfig::default());
    let mut cnn = RunConfig::default();
    cnn.teacher.arch = gped::config::Arch::MnistCnn;
    let config = tmp.path().join("cnn.toml");
    cnn.save(&config).unwrap();
    let mut args = resume_args(&dir, &[]);
    args.insert(1, s(&config));
    let out = run_untouched(tmp.path(), &args);
    assert_fails_with(
        &out,
        &[
            s(&config),
            "differs from the checkpoint's",
            "`teacher.arch` (checkpoint: \"fcnn\", given: \"mnist-cnn\")",
        ],
    );
}

#[test]
fn resume_with_a_changed_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = stopped_run(tmp.path(), &RunConfig::default());
    let args = resume_args(&dir, &["--set", "students.1.thinning=3"]);
    let out = run_untouched(tmp.path(), &args);
    assert_fails_with(
        &out,
        &[
            "`students.1.thinning` (checkpoint: 10, given: 3)",
            "checkpoint.safetensors",
        ],
    );
}

#[test]
fn resume_of_a_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = stopped_run(tmp.path(), &RunConfig::default());
    std::fs::write(dir.join("metrics.json"), b"{}").unwrap();
    let out = run_untouched(tmp.path(), &resume_args(&dir, &[]));
    assert_fails_with(&out, &[s(&dir), "finished run", "nothing to resume"]);
}

#[test]
fn resume_of_a_folder_without_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = stopped_run(tmp.path(), &RunConfig::default());
    std::fs::remove_file(Checkpoint::path_in(&dir)).unwrap();
    let out = run_untouched(tmp.path(), &resume_args(&dir, &[]));
    let path = Checkpoint::path_in(&dir);
    assert_fails_with(
        &out,
        &[
            "checkpoint not found at",
            s(&path),
            "output.checkpoint_every",
        ],
    );
}

#[test]
fn force_on_a_folder_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let precious = tmp.path().join("home");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("thesis.tex"), b"years of work").unwrap();
    let config = tmp.path().join("run.toml");
    RunConfig::default().save(&config).unwrap();
    let args = [
        "run",
        s(&config),
        "--out",
        s(&precious),
        "--force",
        "--quiet",
    ];
    let out = run_untouched(tmp.path(), &args);
    assert_fails_with(&out, &[s(&precious), "not a gped run folder"]);
}

#[test]
fn checkpoint_with_a_tensor_of_the_wrong_shape() {
    let test_data = common::test_data();
    let data_dir = test_data.dir();
    // The header says width 0.1; the state was saved by a student of width 0.2.
    let mut config = RunConfig::default();
    // The synthetic files are not MNIST's: their checksums are not checked.
    config.data.verify_checksums = test_data.is_real();
    config.students[0].width = [0.1, 0.1];
    let mut wider = config.clone();
    wider.students[0].width = [0.2, 0.2];
    let tmp = tempfile::tempdir().unwrap();
    let dir = stopped_run(tmp.path(), &config);
    let valid = wider.validate().unwrap();
    let data = distill::prepare::prepare(&valid, data_dir).unwrap();
    let mut state = StateWriter::new();
    RunState::new(&valid, &data)
        .unwrap()
        .save_state("", &mut state);
    let header = Header {
        iteration: 10,
        config,
        metrics_jsonl_bytes: 17,
    };
    let path = Checkpoint::path_in(&dir);
    checkpoint::write(&path, &header, state).unwrap();
    // A log line past the checkpoint: resume would drop it, but not before the state loads.
    std::fs::write(
        dir.join("metrics.jsonl"),
        b"{\"iteration\":10}\n{\"iteration\":20}\n",
    )
    .unwrap();
    let mut args = resume_args(&dir, &[]);
    args[5] = s(data_dir);
    let out = run_untouched(tmp.path(), &args);
    assert_fails_with(
        &out,
        &[
            s(&path),
            "tensor `students/predictive/params/fc1.weight`",
            "expected shape [40, 784], found [80, 784]",
        ],
    );
}

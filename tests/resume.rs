//! Checkpoints and resume on MNIST-format data (the real files of `GPED_DATA_DIR`, else the
//! synthetic folder of `tests/common/synthetic.rs`): a run stopped at a random iteration (by
//! the library's stop hook, or by a real SIGTERM to the binary) or crashed after a periodic
//! checkpoint, then resumed, ends with the same metrics, log lines and weights, bit for bit,
//! as the same run uninterrupted. Timings (`time`, `elapsed_s`) are the only fields allowed to
//! differ. The random iteration is printed by every assertion and can be fixed with
//! `GPED_RESUME_AT`.

mod common;

use common::cli::{gped, s};
use gped::Error;
use gped::checkpoint::Checkpoint;
use gped::config::{RunConfig, ValidConfig};
use gped::distill::{self, Control, Recorder, RunData, RunState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A short run that uses every part of the state: dropout in a student (its masks), U_s and
/// U_o (the running means), thinning, the test and OOD ensembles, log windows.
const CONFIG: &str = r#"
seed = 3
threads = 2
[data]
dataset = "mnist"
ood = "fashion-mnist"
[schedule]
iterations = 300
burn_in = 40
[eval]
every = 20
log_every = 50
[[students]]
name = "predictive"
thinning = 1
dropout = 0.5
width = [0.25, 0.25]
[[students]]
name = "entropy"
target = "entropy"
estimator = "running-mean"
loss = "l1"
thinning = 3
dropout = 0.0
width = [0.25, 0.25]
"#;

/// `CONFIG` with `overrides` and those the test data needs.
fn config(overrides: &[&str]) -> ValidConfig {
    let overrides: Vec<String> = common::test_data()
        .overrides()
        .iter()
        .chain(overrides)
        .map(|s| s.to_string())
        .collect();
    RunConfig::from_toml_str(CONFIG, "resume test")
        .and_then(|c| c.with_overrides(&overrides))
        .and_then(|c| c.validate())
        .unwrap()
}

/// The prepared data of `CONFIG`, loaded once.
fn data() -> &'static RunData {
    static DATA: OnceLock<RunData> = OnceLock::new();
    DATA.get_or_init(|| distill::prepare::prepare(&config(&[]), common::test_data().dir()).unwrap())
}

/// An iteration in `lo..hi`: `GPED_RESUME_AT` if set, else drawn from the clock.
fn random_iteration(lo: u64, hi: u64) -> u64 {
    if let Some(k) = std::env::var("GPED_RESUME_AT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return k;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    lo + nanos % (hi - lo)
}

/// What must be equal between two runs: `metrics.json` without `time`, each `metrics.jsonl`
/// line without `elapsed_s`, and the bytes of every student and ensemble file. Also checks
/// that a finished run leaves no checkpoint behind.
fn outputs(run: &Path) -> BTreeMap<String, String> {
    assert!(
        !Checkpoint::path_in(run).exists(),
        "a finished run keeps its checkpoint"
    );
    let mut out = BTreeMap::new();
    let mut metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    metrics.as_object_mut().unwrap().remove("time");
    out.insert("metrics.json".into(), metrics.to_string());
    let log = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    for (i, line) in log.lines().enumerate() {
        let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
        record.as_object_mut().unwrap().remove("elapsed_s");
        out.insert(format!("metrics.jsonl line {i}"), record.to_string());
    }
    for rel in common::tree(run) {
        if rel.ends_with(".safetensors") {
            let bytes = std::fs::read(run.join(&rel)).unwrap();
            out.insert(rel, format!("{bytes:?}"));
        }
    }
    out
}

/// Asserts that two runs' outputs are identical, naming the first difference.
fn assert_same_outputs(expected: &Path, found: &Path, context: &str) {
    let (a, b) = (outputs(expected), outputs(found));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{context}: different files or log lines"
    );
    for (key, value) in &a {
        assert!(b[key] == *value, "{context}: `{key}` differs");
    }
}

/// Runs `cfg` into `dir` through the library under `control` (from `resume` if given).
fn run_lib(
    cfg: &ValidConfig,
    data: &RunData,
    dir: &Path,
    control: &Control,
    resume: Option<&Checkpoint>,
) -> gped::Result<distill::RunSummary> {
    let total = cfg.schedule.iterations;
    let (state, mut recorder) = match resume {
        None => (
            RunState::new(cfg, data)?,
            Recorder::create(dir, cfg, total, true)?,
        ),
        Some(ck) => (
            RunState::resume(cfg, data, ck)?,
            Recorder::resume(
                dir,
                ck.header.metrics_jsonl_bytes,
                ck.header.iteration,
                total,
                true,
            )?,
        ),
    };
    distill::run_with(cfg, data, state, &mut recorder, control)
}

/// A finished run folder kept for the whole test binary.
type KeptRun = OnceLock<(tempfile::TempDir, PathBuf)>;

/// The uninterrupted library run of `CONFIG` with `overrides`, made once into `cell`.
fn baseline_of(cell: &'static KeptRun, data: &RunData, overrides: &[&str]) -> &'static Path {
    let (_, dir) = cell.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        run_lib(&config(overrides), data, &dir, &Control::default(), None).unwrap();
        (tmp, dir)
    });
    dir
}

/// The uninterrupted library run of `CONFIG`, made once.
fn baseline(data: &RunData) -> &'static Path {
    static RUN: KeptRun = OnceLock::new();
    baseline_of(&RUN, data, &[])
}

/// `CONFIG` with pruning: the entropy student (no dropout) under a strong group lasso, at
/// every step, pruned at a large epsilon once 150 iterations are done, then fine-tuned at
/// another learning rate for the last 150.
const PRUNED: &[&str] = &[
    "students[1].group_lasso=0.05",
    "students[1].thinning=1",
    "prune.at=150",
    "prune.epsilon=0.01",
    "prune.learning_rate=5e-4",
];

/// The uninterrupted library run of `CONFIG` with `PRUNED`, made once.
fn pruned_baseline(data: &RunData) -> &'static Path {
    static RUN: KeptRun = OnceLock::new();
    baseline_of(&RUN, data, PRUNED)
}

/// Stops the run of `CONFIG` after `k` iterations (as SIGINT would), resumes it, and compares
/// it with the uninterrupted run.
fn stop_and_resume(data: &RunData, k: u64) {
    stop_and_resume_with(data, &[], baseline(data), k)
}

/// Stops the run of `CONFIG` with `overrides` after `k` iterations, resumes it, and compares
/// it with the uninterrupted run `whole`.
fn stop_and_resume_with(data: &RunData, overrides: &[&str], whole: &Path, k: u64) {
    let context = format!("stopped after iteration {k} (GPED_RESUME_AT={k} repeats this)");
    let cfg = config(overrides);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let control = Control::stop_after(k);
    match run_lib(&cfg, data, &dir, &control, None) {
        Err(Error::Interrupted {
            iteration, total, ..
        }) => assert_eq!((iteration, total), (k, 300), "{context}"),
        other => panic!("{context}: expected an interruption, got {other:?}"),
    }
    assert!(!dir.join("metrics.json").exists(), "{context}");
    let ck = Checkpoint::read(&Checkpoint::path_in(&dir)).unwrap();
    assert_eq!(ck.header.iteration, k, "{context}");
    run_lib(&cfg, data, &dir, &Control::default(), Some(&ck)).unwrap();
    assert_same_outputs(whole, &dir, &context);
}

#[test]
fn run_stopped_at_a_random_iteration_and_resumed_equals_the_uninterrupted_run() {
    let data = data();
    stop_and_resume(data, random_iteration(1, 300));
}

#[test]
fn run_stopped_right_after_a_log_line_and_in_burn_in_resumes_exactly() {
    let data = data();
    // 50: the step that wrote a metrics.jsonl line (its window sums restart at zero);
    // 7: inside burn-in, before any student step or ensemble sample.
    for k in [50, 7] {
        stop_and_resume(data, k);
    }
}

/// A run that prunes a student: stopped before pruning, at the pruning iteration (whose
/// checkpoint holds the smaller network) and after it, each resumed run ends as the
/// uninterrupted one, bit for bit.
#[test]
fn a_pruned_run_stopped_before_at_and_after_pruning_resumes_exactly() {
    let data = data();
    let whole = pruned_baseline(data);
    for k in [100, 150, random_iteration(151, 300)] {
        stop_and_resume_with(data, PRUNED, whole, k);
    }
}

/// `CONFIG` with the entropy student made two-headed: a predictive head (U_s) and an entropy
/// head (U_o, whose running means go through the checkpoint under the head's own prefix)
/// sharing one trunk.
const TWO_HEADED: &[&str] = &[
    "students[1].target=predictive",
    "students[1].estimator=sample",
    "students[1].loss=cross-entropy",
    r#"students[1].heads=[{target="predictive"},{target="entropy",estimator="running-mean",loss="l1"}]"#,
];

#[test]
fn a_run_with_a_two_headed_student_stopped_and_resumed_equals_the_uninterrupted_run() {
    let data = data();
    static RUN: KeptRun = OnceLock::new();
    let whole = baseline_of(&RUN, data, TWO_HEADED);
    for k in [random_iteration(41, 300), 50] {
        stop_and_resume_with(data, TWO_HEADED, whole, k);
    }
}

#[test]
fn other_samplers_stopped_and_resumed_equal_their_uninterrupted_runs() {
    // The samplers' own state (SGHMC's momentum, pSGLD's average) goes through the checkpoint,
    // and the cyclical schedule's phases (4 cycles of 75 steps, the last 15 of each
    // collected) decide the same after a resume.
    let data = data();
    for overrides in [
        &[
            "sampler.kind=sghmc",
            "sampler.step_size=2e-7",
            "sampler.schedule=cyclical",
        ][..],
        &["sampler.kind=psgld", "sampler.step_size=1e-9"][..],
    ] {
        stop_and_resume_against_a_fresh_whole_run(data, overrides, random_iteration(1, 300));
    }
}

/// `CONFIG` with an EnD^2 Dirichlet student in place of the entropy student, its temperature
/// annealed over its first 100 steps (iterations 41-140): stopped inside and after the
/// annealing, the resumed run ends as the uninterrupted one, bit for bit.
#[test]
fn a_run_with_a_dirichlet_student_resumes_exactly() {
    const DIRICHLET: &[&str] = &[
        "students[1]={name = \"end2\", target = \"dirichlet\", thinning = 1, dropout = 0.0, \
         width = [0.25, 0.25], dirichlet_anneal_steps = 100}",
    ];
    static RUN: KeptRun = OnceLock::new();
    let data = data();
    let whole = baseline_of(&RUN, data, DIRICHLET);
    for k in [90, random_iteration(141, 300)] {
        stop_and_resume_with(data, DIRICHLET, whole, k);
    }
}

#[test]
fn several_chains_stopped_and_resumed_equal_their_uninterrupted_run() {
    // Three chains: chains 1 and 2's teachers, noise streams and minibatch orders go through
    // the checkpoint (`chain-1/`, `chain-2/`) beside chain 0's, with the diagnostics' draws;
    // S' is split 33 / 33 / 34 rows among them.
    let data = data();
    let overrides = ["sampler.chains=3", "eval.diagnostic_inputs=20"];
    stop_and_resume_against_a_fresh_whole_run(data, &overrides, random_iteration(1, 300));
}

/// Runs `CONFIG` with `overrides` whole, and again stopped after `k` iterations and resumed:
/// the outputs are the same.
fn stop_and_resume_against_a_fresh_whole_run(data: &RunData, overrides: &[&str], k: u64) {
    let context = format!("{overrides:?} stopped after iteration {k} (GPED_RESUME_AT={k})");
    let cfg = config(overrides);
    let tmp = tempfile::tempdir().unwrap();
    let (whole, dir) = (tmp.path().join("whole"), tmp.path().join("run"));
    run_lib(&cfg, data, &whole, &Control::default(), None).unwrap();
    match run_lib(&cfg, data, &dir, &Control::stop_after(k), None) {
        Err(Error::Interrupted { iteration, .. }) => assert_eq!(iteration, k, "{context}"),
        other => panic!("{context}: expected an interruption, got {other:?}"),
    }
    let ck = Checkpoint::read(&Checkpoint::path_in(&dir)).unwrap();
    run_lib(&cfg, data, &dir, &Control::default(), Some(&ck)).unwrap();
    assert_same_outputs(&whole, &dir, &context);
}

#[test]
fn crash_after_a_periodic_checkpoint_resumes_from_it_exactly() {
    let data = data();
    // Checkpoints every 70 iterations; the "crash" writes nothing more. How often checkpoints
    // are written is free to change and must not change any result.
    let k = random_iteration(71, 300);
    let context = format!("crashed after iteration {k} (GPED_RESUME_AT={k} repeats this)");
    let cfg = config(&["output.checkpoint_every=70"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let err = run_lib(&cfg, data, &dir, &Control::crash_after(k), None).unwrap_err();
    assert!(
        matches!(err, Error::SimulatedCrash { iteration } if iteration == k),
        "{context}: {err}"
    );
    let ck = Checkpoint::read(&Checkpoint::path_in(&dir)).unwrap();
    assert_eq!(ck.header.iteration, k / 70 * 70, "{context}");
    // The log ran past the checkpoint when a log line came after it; resume drops those lines.
    let log_len = std::fs::metadata(dir.join("metrics.jsonl")).unwrap().len();
    assert!(log_len >= ck.header.metrics_jsonl_bytes, "{context}");
    run_lib(&cfg, data, &dir, &Control::default(), Some(&ck)).unwrap();
    assert_same_outputs(baseline(data), &dir, &context);
}

/// Waits until `path` holds at least one line, or `limit` passes.
fn wait_for_a_line(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::fs::read_to_string(path).is_ok_and(|t| t.contains('\n')) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn sigterm_to_the_binary_checkpoints_and_resume_finishes_the_same_run() {
    let test_data = common::test_data();
    let data_dir = test_data.dir();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("run.toml");
    // Long enough that the signal, sent at the first log line (iteration 50), arrives
    // mid-run.
    std::fs::write(
        &config,
        CONFIG.replace("iterations = 300", "iterations = 1000"),
    )
    .unwrap();
    let run = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_gped"))
            .args(["run", s(&config), "--quiet", "--out", s(out)])
            .args(["--data-dir", s(data_dir)])
            .args(test_data.set_args())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (whole, stopped) = (tmp.path().join("whole"), tmp.path().join("stopped"));
    let child = run(&stopped);
    assert!(
        wait_for_a_line(&stopped.join("metrics.jsonl"), Duration::from_secs(120)),
        "no log line within 2 minutes"
    );
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    assert!(
        stderr.contains("stopped after iteration")
            && stderr.contains(&format!("gped run --resume {}", stopped.display())),
        "{stderr}"
    );
    let ck = Checkpoint::read(&Checkpoint::path_in(&stopped)).unwrap();
    let context = format!("SIGTERM after iteration {}", ck.header.iteration);
    assert!((50..1000).contains(&ck.header.iteration), "{context}");

    let resumed = gped(&[
        "run",
        "--resume",
        s(&stopped),
        "--data-dir",
        s(data_dir),
        "--quiet",
    ]);
    assert!(
        resumed.status.success(),
        "{context}: resume failed:\n{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let whole_run = run(&whole).wait_with_output().unwrap();
    assert!(whole_run.status.success(), "{context}");
    assert_same_outputs(&whole, &stopped, &context);
}

#[test]
fn force_replaces_an_earlier_run_folder() {
    let test_data = common::test_data();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("run.toml");
    let short = CONFIG
        .replace("iterations = 300", "iterations = 30")
        .replace("burn_in = 40", "burn_in = 5");
    std::fs::write(&config, short).unwrap();
    let out = tmp.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("config.toml"), b"# an earlier run\n").unwrap();
    std::fs::write(out.join("old-output.txt"), b"stale").unwrap();
    let args = ["run", s(&config), "--out", s(&out), "--quiet"];
    let mut data = vec!["--data-dir", s(test_data.dir())];
    data.extend(test_data.set_args());
    let refused = gped(&[&args[..], &data[..]].concat());
    assert_eq!(
        refused.status.code(),
        Some(1),
        "an existing run needs --force"
    );
    let replaced = gped(&[&args[..], &data[..], &["--force"]].concat());
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    assert!(!out.join("old-output.txt").exists());
    assert!(out.join("metrics.json").is_file());
}

//! Running the real `gped` binary in tests and checking how it fails: exit code, message, no
//! panic, and no file changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn gped(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gped"))
        .args(args)
        .output()
        .expect("gped binary runs")
}

/// A run's stdout and stderr, for an assertion's message.
pub fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// A short run of `config` (TOML text) made through the binary on the tests' data folder
/// (`super::test_data`), into `run` of a new temporary folder: the fixture that the
/// `gped eval` and `gped predict` tests share, each keeping its run in a `OnceLock`.
pub fn short_run(config: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("short.toml");
    std::fs::write(&path, config).unwrap();
    let run = tmp.path().join("run");
    let data = super::test_data().dir();
    let mut args = vec!["run", s(&path), "--out", s(&run), "--data-dir", s(data)];
    args.push("--quiet");
    args.extend(super::test_data().set_args());
    let out = gped(&args);
    assert!(out.status.success(), "gped run failed\n{}", text(&out));
    (tmp, run)
}

/// The run folder of `config` ([`short_run`]) made once per test binary and kept in `cell`
/// (a `static` of the calling test file), so that the tests of a file share one run.
pub fn shared_run(
    cell: &'static OnceLock<(tempfile::TempDir, PathBuf)>,
    config: &str,
) -> &'static Path {
    let (_, dir) = cell.get_or_init(|| short_run(config));
    dir.as_path()
}

/// The JSON file at `path` (a run's `metrics.json`, `gped eval`'s `eval.json`, ...).
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The number at the JSON pointer `pointer` of `v`, failing with the pointer when absent.
pub fn number(v: &serde_json::Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v}"))
}

/// `gped eval RUN` on the tests' data folder into a new temporary folder (asserting success):
/// the folder and its `eval.json`.
pub fn eval_json(run: &Path) -> (tempfile::TempDir, serde_json::Value) {
    let out_dir = tempfile::tempdir().unwrap();
    let data = super::test_data().dir();
    let args = [
        "eval",
        s(run),
        "--data-dir",
        s(data),
        "--out",
        s(out_dir.path()),
    ];
    let out = gped(&args);
    assert!(out.status.success(), "gped eval failed\n{}", text(&out));
    let eval = read_json(&out_dir.path().join("eval.json"));
    (out_dir, eval)
}

/// Every file (with its bytes) and folder (`None`) under `dir`, by relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    super::tree(dir)
        .into_iter()
        .map(|rel| {
            let path = dir.join(&rel);
            let bytes = path.is_file().then(|| std::fs::read(&path).unwrap());
            (rel, bytes)
        })
        .collect()
}

/// Asserts the clean failure of `out`: non-zero exit, no panic, and `needles` in stderr.
pub fn assert_fails_with(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.status.success(), "expected a failure\n{report}");
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "panic\n{report}"
    );
    assert!(stderr.starts_with("error: "), "{report}");
    for needle in needles {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}\n{report}");
    }
}

/// Runs `gped args` with everything under `root` snapshotted before and compared after.
pub fn run_untouched(root: &Path, args: &[&str]) -> Output {
    let before = snapshot(root);
    let out = gped(args);
    let after = snapshot(root);
    if before != after {
        let keys = |m: &BTreeMap<String, Option<Vec<u8>>>| m.keys().cloned().collect::<Vec<_>>();
        let changed: Vec<_> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect();
        panic!(
            "files changed by the failed command: before {:?}, after {:?}, changed {changed:?}\nstderr:\n{}",
            keys(&before),
            keys(&after),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

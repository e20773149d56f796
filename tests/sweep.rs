//! `gped sweep` end to end on MNIST-format data (the real files of `GPED_DATA_DIR`, else the
//! synthetic folder): the tiny grid of `configs/sweeps/tiny.toml` run by one process, and by
//! two concurrent shard processes on one folder, one of them killed with SIGKILL in the middle
//! of a chain and started again, end with the same outputs (every metric, log line and weight;
//! times aside) and the same `gped report` results.csv (but its time columns). Also `--status`, and the errors of a bad spec or a folder of another sweep.

mod common;

use common::cli::{gped, s};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `configs/sweeps/tiny.toml` written into `dir` with its base config's absolute path and the
/// overrides the test data needs; returns the spec's path.
fn tiny_spec(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("configs/sweeps/tiny.toml")).unwrap();
    let base = root.join("configs/quickstart.toml");
    let mut set = String::from("[set]\n");
    for o in common::test_data().overrides() {
        let (k, v) = o.split_once('=').unwrap();
        set += &format!("\"{k}\" = {v}\n");
    }
    let text = text
        .replace(
            "base = \"../quickstart.toml\"",
            &format!("base = {:?}", base),
        )
        .replace("[set]\n", &set);
    let path = dir.join("tiny.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn sweep_args<'a>(spec: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let data = common::test_data().dir();
    let mut args = vec![
        "sweep",
        s(spec),
        "--out",
        s(out),
        "--quiet",
        "--data-dir",
        s(data),
    ];
    args.extend(extra);
    args
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gped"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The one-process sweep of the tiny grid, made once.
fn one_process_sweep() -> &'static Path {
    static SWEEP: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, out) = SWEEP.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let spec = tiny_spec(tmp.path());
        let out = tmp.path().join("sweep");
        let done = gped(&sweep_args(&spec, &out, &[]));
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
        (tmp, out)
    });
    out
}

/// Every output of a sweep folder that must not depend on how it was run: `sweep.json`, each
/// chain's `metrics.json` without `time`, its log lines without `elapsed_s`, and the bytes of
/// every weights and ensemble file. Claims must all be released.
fn outputs(sweep: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(
        "sweep.json".into(),
        std::fs::read_to_string(sweep.join("sweep.json")).unwrap(),
    );
    let claims: Vec<_> = std::fs::read_dir(sweep.join("claims")).unwrap().collect();
    assert!(claims.is_empty(), "claims left: {claims:?}");
    for rel in common::tree(&sweep.join("chains")) {
        let path = sweep.join("chains").join(&rel);
        if rel.ends_with("metrics.json") {
            let mut m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            m.as_object_mut().unwrap().remove("time");
            out.insert(rel, m.to_string());
        } else if rel.ends_with("metrics.jsonl") {
            for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                let mut r: serde_json::Value = serde_json::from_str(line).unwrap();
                r.as_object_mut().unwrap().remove("elapsed_s");
                out.insert(format!("{rel} line {i}"), r.to_string());
            }
        } else if rel.ends_with(".safetensors") {
            out.insert(rel, format!("{:?}", std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// `gped report DIR` into a temporary folder: `results.csv`'s rows, the time columns blanked.
fn results_csv(sweep: &Path) -> Vec<Vec<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let done = gped(&["report", s(sweep), "--out", s(tmp.path())]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let text = std::fs::read_to_string(tmp.path().join("results.csv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let time: Vec<bool> = rows[0]
        .iter()
        .map(|c| gped::report::results_csv::is_time_column(c))
        .collect();
    // chain_wall_s, chain_ms_per_iteration and the two measured inference times.
    assert_eq!(time.iter().filter(|t| **t).count(), 4, "{:?}", rows[0]);
    rows.into_iter()
        .map(|r| {
            r.into_iter()
                .zip(&time)
                .map(|(v, t)| if *t { String::new() } else { v })
                .collect()
        })
        .collect()
}

#[test]
fn two_shards_with_one_killed_and_restarted_equal_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tiny_spec(tmp.path());
    let out = tmp.path().join("sweep");
    // The default stale timeout (10 minutes): the restarted worker takes the killed one's
    // chain over at once, since its claim names a process of this host that is gone.
    let shard = |i: &'static str| sweep_args(&spec, &out, &["--shard", i]);
    let (first, second) = (shard("0/2"), shard("1/2"));
    let worker0 = spawn(&first);
    let mut worker1 = spawn(&second);
    // Shard 1 runs chains 1 and 3; kill it once chain 1 has a checkpoint, mid-chain.
    let chain1 = {
        let start = Instant::now();
        loop {
            let record = out.join("sweep.json");
            if let Ok(text) = std::fs::read_to_string(&record) {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                break out.join(v["chains"][1]["dir"].as_str().unwrap());
            }
            assert!(start.elapsed() < Duration::from_secs(60), "no sweep.json");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let start = Instant::now();
    while !chain1.join("checkpoint.safetensors").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "chain 1 made no checkpoint within 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    worker1.kill().unwrap(); // SIGKILL
    worker1.wait().unwrap();
    assert!(
        !chain1.join("metrics.json").exists(),
        "chain 1 finished before the kill"
    );
    let restarted = gped(&second);
    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    let first_out = worker0.wait_with_output().unwrap();
    assert!(
        first_out.status.success(),
        "{}",
        String::from_utf8_lossy(&first_out.stderr)
    );

    // The reports agree in every column but the times (report's own rule for which those are).
    let (csv_alone, csv_sharded) = (results_csv(one_process_sweep()), results_csv(&out));
    assert_eq!(csv_alone.len(), 17, "a header and 8 cells x 2 students");
    assert_eq!(csv_alone, csv_sharded);

    let (alone, sharded) = (outputs(one_process_sweep()), outputs(&out));
    assert_eq!(
        alone.keys().collect::<Vec<_>>(),
        sharded.keys().collect::<Vec<_>>()
    );
    assert!(alone.len() > 20, "{:?}", alone.keys());
    for (key, value) in &alone {
        assert!(sharded[key] == *value, "`{key}` differs");
    }
}

#[test]
fn the_tiny_grid_has_eight_cells_in_four_chains_and_status_says_all_done() {
    let out = one_process_sweep();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    // 2 masks x 2 subsets x 2 widths; the widths (a student setting) share a chain.
    assert_eq!(record["cells"].as_array().unwrap().len(), 8);
    let chains = record["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 4);
    for chain in chains {
        assert_eq!(chain["cells"].as_array().unwrap().len(), 2);
        // Two predictive students of different widths and one entropy student.
        let students = chain["students"].as_array().unwrap();
        assert_eq!(students, &["predictive", "entropy", "predictive-1"]);
        let metrics: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                out.join(chain["dir"].as_str().unwrap())
                    .join("metrics.json"),
            )
            .unwrap(),
        )
        .unwrap();
        // FCNN students at K = 0.25 and 0.5 of 784-400-400-10 (appendix A.2 widths):
        // 784*100 + 100 + 100*100 + 100 + 100*10 + 10 and 784*200 + 200 + 200*200 + 200 + 200*10 + 10.
        assert_eq!(metrics["students"]["predictive"]["params"], 89_610);
        assert_eq!(metrics["students"]["predictive-1"]["params"], 199_210);
        let nll = metrics["students"]["predictive-1"]["test"]["student_nll"]
            .as_f64()
            .unwrap();
        assert!(nll.is_finite() && nll > 0.0);
    }
    let status = gped(&["sweep", s(out), "--status"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("4 chains; cells: 8 done, 0 running, 0 left, 8 in all"),
        "{text}"
    );
}

#[test]
fn a_spec_with_a_bad_key_or_another_sweeps_folder_is_refused_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = tiny_spec(tmp.path());
    let out = tmp.path().join("sweep");
    // An axis over a key the config does not have: the error names the cell and the key.
    let bad = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(
        &bad,
        text.replace("\"data.mask_size\"", "\"data.mask_sise\""),
    )
    .unwrap();
    let refused = gped(&sweep_args(&bad, &out, &[]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("data.mask_sise-0") && stderr.contains("mask_sise"),
        "{stderr}"
    );
    assert!(!out.exists(), "a refused sweep made its folder");
    // An axis that is not an array.
    std::fs::write(&bad, text.replace("[0, 10]", "10")).unwrap();
    let refused = gped(&sweep_args(&bad, &out, &[]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("axis `data.mask_size`"),
        "{stderr}"
    );
    // A shard that does not exist: exit code 1 and the form expected, before any run.
    let refused = gped(&sweep_args(&spec, &out, &["--shard", "2/2"]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--shard 2/2: expected I/N"), "{stderr}");
    assert!(!out.exists());
    // Another spec into a folder that records a sweep.
    std::fs::create_dir_all(&out).unwrap();
    std::fs::copy(
        one_process_sweep().join("sweep.json"),
        out.join("sweep.json"),
    )
    .unwrap();
    std::fs::write(&bad, text.replace("[0, 10]", "[0, 5]")).unwrap();
    let refused = gped(&sweep_args(&bad, &out, &[]));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("records another sweep"), "{stderr}");
    assert!(!out.join("chains").exists());
}

#[test]
fn every_shipped_sweep_spec_expands_to_valid_cells() {
    // The paper's grids: (spec, cells, chains, students per chain). The architecture
    // searches: 2 widths x 5 lambdas, all students on one chain; the per-layer one: 4
    // multiplier sets beside one base student (deduplicated: 5 students); the in-out one: 5
    // lambdas beside one base student (6).
    let expected = [
        ("arch-search-cnn-mnist-inout.toml", 5, 1, 6),
        ("arch-search-cnn-mnist-layers.toml", 4, 1, 5),
        ("arch-search-cnn-mnist.toml", 10, 1, 10),
        ("arch-search-fcnn-mnist.toml", 10, 1, 10),
        ("table5-cnn-mnist.toml", 4, 4, 4),
        ("table6-fcnn-mnist-full.toml", 1, 1, 4),
        ("table6-fcnn-mnist.toml", 6, 6, 4),
        ("table7-cnn-cifar10.toml", 2, 2, 4),
        ("tiny.toml", 8, 4, 3),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/sweeps");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    found.sort();
    let names: Vec<&str> = expected.iter().map(|e| e.0).collect();
    assert_eq!(found, names, "a spec without an expectation here");
    for (name, cells, chains, students) in expected {
        let path = dir.join(name);
        let spec = gped::sweep::SweepSpec::load(&path).unwrap();
        let grid = gped::sweep::Grid::expand(&spec, &dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            (grid.cells.len(), grid.chains.len()),
            (cells, chains),
            "{name}"
        );
        for chain in &grid.chains {
            assert_eq!(chain.config.students.len(), students, "{name}");
        }
    }
}

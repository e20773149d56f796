//! The first hour of a new user: `gped run CONFIG` in a fresh folder with no data fetches
//! what the config reads (MNIST and the Fashion-MNIST OOD set) into `./data`, from a mirror
//! on 127.0.0.1 served by the test, and records that folder in the run; `gped eval RUN` and
//! `gped run --resume RUN` (and `gped sweep` for a chain it resumes) then find the data
//! through it with no flag. And the ways it fails,
//! each fast, with a non-zero exit, every missing file with its MD5 and where it goes, the
//! options to get them, and nothing partial left: a mirror that stalls, one that serves
//! other files (MD5 mismatch), `--offline`, and a mirror where nothing listens.
//!
//! The mirror serves the tests' data folder: the synthetic files (runs then set
//! `data.verify_checksums = false`, which the fetch obeys) or, with `GPED_DATA_DIR`, the real
//! ones, verified against their published MD5s. The checksum check itself is tested with
//! files that are not MNIST's, their MD5 computed here with the `md-5` crate.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::cli::{assert_fails_with, s, text};
use common::mirror::{StalledServer, dataset_routes, dead_base_url, folder_routes};
use common::{LoopbackServer, tiny_idx_files, tree};
use gped::config::RunConfig;
use gped::data::DataAccess;
use gped::distill::Control;
use gped::distill::session::{self, Replace};
use gped::sweep::{Shard, WorkerOptions, run_worker};
use md5::{Digest, Md5};

/// A tiny run reading MNIST and, as its OOD set, Fashion-MNIST.
const CONFIG: &str = "seed = 1
[data]
dataset = \"mnist\"
ood = \"fashion-mnist\"
[schedule]
iterations = 20
burn_in = 5
[eval]
every = 5
log_every = 10
[[students]]
name = \"predictive\"
thinning = 1
width = [0.1, 0.1]
[[students]]
name = \"entropy\"
target = \"entropy\"
estimator = \"running-mean\"
loss = \"l1\"
width = [0.1, 0.1]
";

/// Every file the run reads, as the error lists it: path under `data`, with its MD5.
const PUBLISHED: [(&str, &str); 8] = [
    (
        "mnist/train-images-idx3-ubyte",
        "6bbc9ace898e44ae57da46a324031adb",
    ),
    (
        "mnist/train-labels-idx1-ubyte",
        "a25bea736e30d166cdddb491f175f624",
    ),
    (
        "mnist/t10k-images-idx3-ubyte",
        "2646ac647ad5339dbf082846283269ea",
    ),
    (
        "mnist/t10k-labels-idx1-ubyte",
        "27ae3e4e09519cfbb04c329615203637",
    ),
    (
        "fashion-mnist/train-images-idx3-ubyte",
        "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    ),
    (
        "fashion-mnist/train-labels-idx1-ubyte",
        "9018921c3c673c538a1fc5bad174d6f9",
    ),
    (
        "fashion-mnist/t10k-images-idx3-ubyte",
        "8181f5470baa50b63fa0f6fddb340f0a",
    ),
    (
        "fashion-mnist/t10k-labels-idx1-ubyte",
        "15d484375f8d13e6eb1aabb0c3f46965",
    ),
];

/// A fresh user's folder: `run.toml` and an empty working folder `work/`.
struct Fresh {
    tmp: tempfile::TempDir,
}

impl Fresh {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("run.toml"), CONFIG).unwrap();
        std::fs::create_dir(tmp.path().join("work")).unwrap();
        Fresh { tmp }
    }

    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }

    /// `./data` of the working folder, absolute as the run records it.
    fn data(&self) -> PathBuf {
        std::fs::canonicalize(self.tmp.path())
            .unwrap()
            .join("work/data")
    }

    fn config(&self) -> PathBuf {
        self.tmp.path().join("run.toml")
    }
}

/// `gped args` in `cwd`, with neither `GPED_DATA_DIR` nor `GPED_MIRROR` from the test's
/// environment, plus `env`; returns the output and how long it took.
fn gped_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gped"));
    cmd.current_dir(cwd)
        .args(args)
        .env_remove("GPED_DATA_DIR")
        .env_remove("GPED_MIRROR")
        .env_remove("GPED_FETCH_TIMEOUT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().expect("gped runs");
    (out, start.elapsed())
}

/// `gped run ../run.toml --out run --quiet` (plus the test data's overrides and `extra`) in
/// the working folder of `fresh`.
fn run_fresh(fresh: &Fresh, extra: &[&str], env: &[(&str, &str)]) -> (Output, Duration) {
    let config = fresh.config();
    let mut args = vec!["run", s(&config), "--out", "run", "--quiet"];
    args.extend(common::test_data().set_args());
    args.extend(extra);
    gped_in(&fresh.work(), &args, env)
}

/// A mirror with one folder per dataset, serving the test data's MNIST and Fashion-MNIST.
fn good_mirror() -> LoopbackServer {
    LoopbackServer::start(folder_routes(
        common::test_data().dir(),
        &["mnist", "fashion-mnist"],
    ))
}

/// Asserts that the failure lists every file the run reads, where it goes, with its MD5,
/// and the ways to get them.
fn assert_lists_every_file_and_the_options(out: &Output, data: &Path) {
    let mut needles: Vec<String> = PUBLISHED
        .iter()
        .map(|(rel, md5)| format!("{}[.gz]  MD5 {md5}", data.join(rel).display()))
        .collect();
    needles.extend(
        [
            "--base-url URL",
            "GPED_MIRROR=URL",
            "{dataset}",
            "--data-dir",
            "GPED_DATA_DIR",
        ]
        .map(String::from),
    );
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    assert_fails_with(out, &needles);
}

fn assert_nothing_written(fresh: &Fresh) {
    assert_eq!(
        tree(&fresh.work()),
        Vec::<String>::new(),
        "the failed fetch left files behind"
    );
}

#[test]
fn a_fresh_folder_fetches_the_data_into_dot_data_records_it_and_eval_finds_it() {
    let fresh = Fresh::new();
    let mirror = good_mirror();
    let base_url = format!("{}{{dataset}}/", mirror.base_url);
    let (out, _) = run_fresh(&fresh, &["--base-url", &base_url], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let mut requested = mirror.requests();
    requested.sort();
    assert_eq!(requested.len(), 8, "{requested:?}");
    assert_eq!(requested[0], "/fashion-mnist/t10k-images-idx3-ubyte.gz");
    let data = fresh.data();
    for (rel, _) in PUBLISHED {
        let gz = data.join(format!("{rel}.gz"));
        assert!(gz.is_file(), "{} missing", gz.display());
    }
    assert!(
        tree(&data).iter().all(|p| !p.contains(".part")),
        "{:?}",
        tree(&data)
    );
    // The run folder records the absolute data folder.
    let run = fresh.work().join("run");
    let recorded = RunConfig::load(run.join("config.toml")).unwrap().data.dir;
    assert_eq!(recorded, data);

    // eval from another folder, with no flag and no GPED_DATA_DIR, offline: the recorded one.
    let elsewhere = fresh.tmp.path();
    let (out, _) = gped_in(elsewhere, &["eval", s(&run), "--offline"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("teacher: OOD AUROC total"), "{stdout}");

    // The recorded folder moved away: GPED_DATA_DIR, then ./data, take its place.
    let moved = fresh.tmp.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();
    let env = [("GPED_DATA_DIR", s(&moved))];
    let (out, _) = gped_in(elsewhere, &["eval", s(&run), "--offline"], &env);
    assert!(out.status.success(), "{}", text(&out));
    let (out, _) = gped_in(elsewhere, &["eval", s(&run), "--offline"], &[]);
    let cwd_data = std::fs::canonicalize(elsewhere).unwrap().join("data");
    assert_fails_with(
        &out,
        &[
            &format!("{}: files of mnist and fashion-mnist", cwd_data.display()),
            "--offline forbids",
        ],
    );
}

#[test]
fn resume_finds_the_data_through_the_folder_the_run_recorded() {
    let test_data = common::test_data();
    let tmp = tempfile::tempdir().unwrap();
    let overrides: Vec<String> = test_data
        .overrides()
        .iter()
        .map(|o| o.to_string())
        .collect();
    let cfg = RunConfig::from_toml_str(CONFIG, "run.toml")
        .unwrap()
        .with_overrides(&overrides)
        .unwrap()
        .validate()
        .unwrap();
    let run = tmp.path().join("run");
    // Stopped with a checkpoint after 10 of 20 iterations, through the library, on the
    // test data folder (so nothing is fetched).
    let stopped = session::start(
        &cfg,
        &run,
        &DataAccess::offline(test_data.dir()),
        Replace::Never,
        &Control::stop_after(10),
        true,
    );
    assert!(
        matches!(stopped, Err(gped::Error::Interrupted { iteration: 10, .. })),
        "{stopped:?}"
    );
    let recorded = RunConfig::load(run.join("config.toml")).unwrap().data.dir;
    assert_eq!(recorded, std::fs::canonicalize(test_data.dir()).unwrap());
    // From an empty folder, with no flag, no GPED_DATA_DIR, and offline: ./data would fail.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (out, _) = gped_in(
        &empty,
        &["run", "--resume", s(&run), "--quiet", "--offline"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(run.join("metrics.json").is_file());
    assert_eq!(tree(&empty), Vec::<String>::new());
}

#[test]
fn a_sweep_resumes_a_chain_on_the_folder_the_chain_recorded() {
    let test_data = common::test_data();
    let tmp = tempfile::tempdir().unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quickstart.toml");
    let mut spec = format!(
        "base = {base:?}\n[set]\n\"schedule.iterations\" = 40\n\"schedule.burn_in\" = 10\n\
         \"eval.every\" = 10\n\"eval.log_every\" = 20\n\"data.train_subset\" = 1000\n\
         \"students.0.lr_decay_every\" = 0\n\"students.1.width\" = [0.1, 0.1]\n"
    );
    for o in test_data.overrides() {
        let (k, v) = o.split_once('=').unwrap();
        spec += &format!("\"{k}\" = {v}\n");
    }
    spec += "[axes]\n\"students.0.width\" = [[0.1, 0.1]]\n";
    let spec_path = tmp.path().join("spec.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let out = tmp.path().join("sweep");
    // The one chain stopped with a checkpoint after 20 iterations, through the library.
    let opts = WorkerOptions {
        out: out.clone(),
        shard: Shard::ALL,
        data_dir: Some(test_data.dir().to_path_buf()),
        fetch: None,
        stale_after: Duration::from_secs(600),
        quiet: true,
    };
    let stopped = run_worker(&spec_path, &opts, &Control::stop_after(20));
    assert!(
        matches!(stopped, Err(gped::Error::Interrupted { iteration: 20, .. })),
        "{stopped:?}"
    );
    // The worker again, from an empty folder, with no flag, no GPED_DATA_DIR, and offline.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let args = [
        "sweep",
        s(&spec_path),
        "--out",
        s(&out),
        "--quiet",
        "--offline",
    ];
    let (done, _) = gped_in(&empty, &args, &[]);
    assert!(done.status.success(), "{}", text(&done));
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(stdout.contains("1 done"), "{stdout}");
    assert_eq!(tree(&empty), Vec::<String>::new());
}

#[test]
fn a_stalled_mirror_fails_within_the_bound_naming_every_file_and_leaves_nothing() {
    let fresh = Fresh::new();
    let stalled = StalledServer::start();
    let mirror = format!("{}{{dataset}}/", stalled.base_url);
    let env = [
        ("GPED_MIRROR", mirror.as_str()),
        ("GPED_FETCH_TIMEOUT", "1.5"),
    ];
    let (out, took) = run_fresh(&fresh, &[], &env);
    assert_lists_every_file_and_the_options(&out, &fresh.data());
    assert_fails_with(
        &out,
        &[
            "fetching them failed: download of",
            "/mnist/train-images-idx3-ubyte.gz failed: no progress for 1.5 s (waiting for the answer); GPED_FETCH_TIMEOUT sets this bound",
        ],
    );
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(10),
        "took {took:?} with a bound of 1.5 s"
    );
    assert_nothing_written(&fresh);
}

#[test]
fn a_stalled_mirror_fails_within_the_documented_default_bound() {
    let fresh = Fresh::new();
    let stalled = StalledServer::start();
    let mirror = format!("{}{{dataset}}/", stalled.base_url);
    let (out, took) = run_fresh(&fresh, &[], &[("GPED_MIRROR", mirror.as_str())]);
    assert_fails_with(&out, &["no progress for 10 s (waiting for the answer)"]);
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(20),
        "took {took:?} with the default bound of 10 s"
    );
    assert_nothing_written(&fresh);
}

#[test]
fn a_mirror_serving_other_files_fails_on_the_md5_and_leaves_nothing() {
    // Well-formed IDX files, but not MNIST's: checksums are verified (the config does not
    // turn them off), so the first file fails and nothing is written.
    let fresh = Fresh::new();
    let files = tiny_idx_files();
    let mirror = LoopbackServer::start(dataset_routes("mnist", &files));
    let url = format!("{}{{dataset}}/", mirror.base_url);
    let config = fresh.config();
    let (out, _) = gped_in(
        &fresh.work(),
        &["run", s(&config), "--quiet", "--base-url", &url],
        &[],
    );
    let found: String = Md5::digest(&files[0].1)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = fresh.data().join("mnist/train-images-idx3-ubyte.gz");
    assert_lists_every_file_and_the_options(&out, &fresh.data());
    assert_fails_with(
        &out,
        &[&format!(
            "{}: checksum mismatch: expected MD5 6bbc9ace898e44ae57da46a324031adb, found {found}",
            path.display()
        )],
    );
    assert_fails_with(&out, &["served other content than the published file"]);
    assert_nothing_written(&fresh);
}

#[test]
fn offline_with_data_missing_fails_at_once_and_asks_nothing_of_the_mirror() {
    let fresh = Fresh::new();
    let mirror = good_mirror();
    let url = format!("{}{{dataset}}/", mirror.base_url);
    let (out, took) = run_fresh(&fresh, &["--offline"], &[("GPED_MIRROR", url.as_str())]);
    assert_lists_every_file_and_the_options(&out, &fresh.data());
    assert_fails_with(
        &out,
        &["--offline forbids fetching them", "run without --offline"],
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(mirror.requests().is_empty(), "{:?}", mirror.requests());
    assert_nothing_written(&fresh);
    // data.fetch = false in the config does the same.
    let (out, _) = run_fresh(
        &fresh,
        &["--set", "data.fetch=false"],
        &[("GPED_MIRROR", url.as_str())],
    );
    assert_fails_with(&out, &["data.fetch = false forbids fetching them"]);
    assert!(mirror.requests().is_empty(), "{:?}", mirror.requests());
    assert_nothing_written(&fresh);
}

#[test]
fn a_mirror_where_nothing_listens_fails_in_seconds() {
    let fresh = Fresh::new();
    let url = format!("{}{{dataset}}/", dead_base_url());
    let (out, took) = run_fresh(&fresh, &[], &[("GPED_MIRROR", url.as_str())]);
    assert_lists_every_file_and_the_options(&out, &fresh.data());
    assert_fails_with(&out, &["fetching them failed: download of"]);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_nothing_written(&fresh);
}

#[test]
fn one_mirror_for_two_datasets_must_say_where_each_goes() {
    let fresh = Fresh::new();
    let mirror = good_mirror();
    let (out, _) = run_fresh(&fresh, &["--base-url", &mirror.base_url], &[]);
    assert_fails_with(
        &out,
        &[
            "would serve mnist and fashion-mnist from the same URLs",
            "{dataset}",
        ],
    );
    assert!(mirror.requests().is_empty(), "{:?}", mirror.requests());
    assert_nothing_written(&fresh);
}

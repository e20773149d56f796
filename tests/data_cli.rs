//! End-to-end tests of `gped data check`, `gped data fetch` and a run's fetch of a missing
//! dataset, running the built binary (the first hour of a new user, with its failures, is in
//! `tests/fetch_cli.rs`).
//! Downloads go to a loopback HTTP server started by the test. The check of the real files
//! (present, published sizes, checksums ok) is ignored unless asked for (`--include-ignored`),
//! and then fails without `GPED_DATA_DIR`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::fixture::TINY;
use common::{LoopbackServer, gz_routes, tiny_idx_files, tree};

fn gped(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gped"));
    cmd.args(args)
        .env_remove("GPED_DATA_DIR")
        .env_remove("GPED_MIRROR");
    cmd
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run gped");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The line of `gped data check` output about `name`.
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{stdout}"))
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
#[ignore = "needs the real MNIST files: GPED_DATA_DIR=../shared/data cargo test --release -- --include-ignored"]
fn check_lists_real_datasets_as_present_and_verified() {
    let dir = common::real_data_dir();
    let (out, stdout, stderr) = run(&mut gped(&["data", "check", "--data-dir", path_arg(&dir)]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for name in ["mnist", "fashion-mnist"] {
        let l = line(&stdout, name);
        assert!(l.contains("present"), "{l}");
        assert!(
            l.contains("train 60000 x 1x28x28, test 10000 x 1x28x28"),
            "{l}"
        );
        assert!(l.contains("checksums ok"), "{l}");
    }
    assert!(line(&stdout, "cifar10").contains("missing"), "{stdout}");
}

#[test]
fn check_reports_missing_and_invalid_datasets_and_fails() {
    let data = tempfile::tempdir().unwrap();
    // An MNIST folder of well-formed files that are not the published ones.
    let mnist = data.path().join("mnist");
    std::fs::create_dir(&mnist).unwrap();
    for (name, content) in tiny_idx_files() {
        std::fs::write(mnist.join(name), content).unwrap();
    }
    // The data directory comes from the environment when no flag is given.
    let (out, stdout, stderr) = run(gped(&["data", "check"]).env("GPED_DATA_DIR", data.path()));
    assert!(
        !out.status.success(),
        "an invalid dataset must fail the check:\n{stdout}"
    );
    assert!(
        stdout.contains(&format!("data directory: {}", data.path().display())),
        "{stdout}"
    );
    let l = line(&stdout, "mnist");
    assert!(l.contains("invalid"), "{l}");
    assert!(
        l.contains("train-images-idx3-ubyte: checksum mismatch"),
        "{l}"
    );
    assert!(l.contains("gped data fetch mnist"), "{l}");
    let l = line(&stdout, "kmnist");
    assert!(
        l.contains("missing") && l.contains("gped data fetch kmnist"),
        "{l}"
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
}

#[test]
fn fetch_then_check_a_dataset_without_published_checksums() {
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let data = tempfile::tempdir().unwrap();
    let dir = path_arg(data.path());
    let (out, stdout, stderr) = run(&mut gped(&[
        "data",
        "fetch",
        "kmnist",
        "--data-dir",
        dir,
        "--base-url",
        &server.base_url,
    ]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("wrote "), "{stdout}");
    assert!(
        stdout.contains("no published checksums; format checked"),
        "{stdout}"
    );
    assert_eq!(tree(data.path()).len(), 5, "{:?}", tree(data.path()));

    let (out, stdout, stderr) = run(&mut gped(&["data", "check", "--data-dir", dir]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let l = line(&stdout, "kmnist");
    assert!(
        l.contains("present") && l.contains("train 3 x 1x28x28, test 2 x 1x28x28"),
        "{l}"
    );
}

#[test]
fn fetch_with_wrong_content_fails_on_the_real_checksum_and_writes_nothing() {
    // The served files are valid IDX but not MNIST: the real MNIST checksums reject them.
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let data = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(&mut gped(&[
        "data",
        "fetch",
        "mnist",
        "--data-dir",
        path_arg(data.path()),
        "--base-url",
        &server.base_url,
    ]));
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("checksum mismatch: expected MD5 6bbc9ace898e44ae57da46a324031adb"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

#[test]
fn fetch_from_a_mirror_in_the_environment_reports_http_errors() {
    let server = LoopbackServer::start(Default::default());
    let data = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(gped(&[
        "data",
        "fetch",
        "fashion-mnist",
        "--data-dir",
        path_arg(data.path()),
    ])
    .env("GPED_MIRROR", &server.base_url));
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "download of {}train-images-idx3-ubyte.gz failed",
            server.base_url
        )),
        "{stderr}"
    );
    assert!(stderr.contains("HTTP 404"), "{stderr}");
    assert_eq!(tree(data.path()), Vec::<String>::new());
}

#[test]
fn fetch_of_an_unknown_dataset_lists_the_known_ones() {
    let (out, _, stderr) = run(&mut gped(&[
        "data",
        "fetch",
        "svhn",
        "--data-dir",
        "/nonexistent",
    ]));
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "unknown dataset `svhn`; known datasets: mnist, fashion-mnist, kmnist, cifar10"
        ),
        "{stderr}"
    );
}

#[test]
fn check_of_a_folder_without_datasets_fails_saying_so() {
    let data = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(&mut gped(&[
        "data",
        "check",
        "--data-dir",
        path_arg(data.path()),
    ]));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(line(&stdout, "mnist").contains("missing"), "{stdout}");
    assert!(
        stderr.starts_with(&format!(
            "error: {}: no dataset found (looked for mnist/, fashion-mnist/, kmnist/, cifar10/)",
            data.path().display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("gped data fetch NAME"), "{stderr}");
}

#[test]
fn check_of_named_datasets_fails_on_a_missing_one_and_passes_on_present_ones() {
    let data = tempfile::tempdir().unwrap();
    let kmnist = data.path().join("kmnist");
    std::fs::create_dir(&kmnist).unwrap();
    for (name, content) in tiny_idx_files() {
        std::fs::write(kmnist.join(name), content).unwrap();
    }
    let dir = path_arg(data.path());
    // Everything there is valid (KMNIST has no published checksums): the check passes.
    let (out, stdout, stderr) = run(&mut gped(&["data", "check", "--data-dir", dir]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let (out, stdout, stderr) = run(&mut gped(&["data", "check", "kmnist", "--data-dir", dir]));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().count(),
        2,
        "only the named dataset: {stdout}"
    );
    let (out, stdout, stderr) = run(&mut gped(&[
        "data",
        "check",
        "kmnist",
        "fashion-mnist",
        "--data-dir",
        dir,
    ]));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(line(&stdout, "kmnist").contains("present"), "{stdout}");
    assert!(
        line(&stdout, "fashion-mnist").contains("missing"),
        "{stdout}"
    );
    assert!(stderr.contains("missing: fashion-mnist;"), "{stderr}");
    let (out, _, stderr) = run(&mut gped(&["data", "check", "svhn", "--data-dir", dir]));
    assert!(!out.status.success());
    assert!(stderr.contains("unknown dataset `svhn`"), "{stderr}");
}

#[test]
fn run_downloads_a_missing_dataset_once_then_runs_on_it() {
    // KMNIST has no published checksums, so the tiny served files pass the fetch's checks.
    let server = LoopbackServer::start(gz_routes(&tiny_idx_files()));
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("run.toml");
    std::fs::write(&config, "seed = 1\n[data]\ndataset = \"kmnist\"\n").unwrap();
    let data = tmp.path().join("data"); // absent: the fetch makes it
    let run_into = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut cmd = gped(&[
            "run",
            path_arg(&config),
            "--data-dir",
            path_arg(&data),
            "--out",
            path_arg(&out),
        ]);
        cmd.args(TINY).args(extra);
        cmd.env("GPED_MIRROR", &server.base_url);
        let (o, stdout, stderr) = run(&mut cmd);
        assert!(o.status.success(), "{stdout}\n{stderr}");
        assert!(out.join("metrics.json").is_file());
        stderr
    };
    let first = run_into("run1", &[]);
    assert!(
        first.contains(&format!(
            "fetching kmnist (4 files) into {}",
            data.join("kmnist").display()
        )),
        "{first}"
    );
    assert_eq!(server.requests().len(), 4, "{:?}", server.requests());
    assert_eq!(tree(&data.join("kmnist")).len(), 4);
    // `--fetch`, the switch of when fetching was opt-in, is still accepted.
    let second = run_into("run2", &["--fetch", "--quiet"]);
    assert!(!second.contains("fetching"), "{second}");
    assert_eq!(
        server.requests().len(),
        4,
        "the second run downloaded again"
    );
}

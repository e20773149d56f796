//! `gped config show` and `gped config default` run as a user would: exit codes, stdout and
//! the error message on stderr.

use std::path::Path;
use std::process::{Command, Output};

use gped::config::RunConfig;

fn gped(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gped"))
        .args(args)
        .output()
        .expect("gped runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn show_prints_the_resolved_config_with_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "run.toml",
        "seed = 3\n[sampler]\nstep_size = 2e-6\n",
    );
    let out = gped(&[
        "config",
        "show",
        &path,
        "--set",
        "students.1.thinning=20",
        "--set",
        "data.ood=fashion-mnist",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let shown =
        RunConfig::from_toml_str(&String::from_utf8(out.stdout).unwrap(), "stdout").unwrap();
    let mut expected = RunConfig {
        seed: 3,
        ..RunConfig::default()
    };
    expected.sampler.step_size = 2e-6;
    expected.students[1].thinning = 20;
    expected.data.ood = Some(gped::config::DatasetName::FashionMnist);
    assert_eq!(shown, expected);
}

#[test]
fn show_rejects_an_unknown_key_naming_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.toml",
        "seed = 1\n[sampler]\nstepsize = 1e-6\n",
    );
    let out = gped(&["config", "show", &path]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("unknown field `stepsize`"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn show_rejects_an_out_of_range_value_and_a_bad_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "run.toml",
        "[schedule]\niterations = 10\nburn_in = 10\n",
    );
    let out = gped(&["config", "show", &path]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schedule.burn_in"), "{stderr}");

    let ok = write(dir.path(), "ok.toml", "");
    let out = gped(&["config", "show", &ok, "--set", "students.5.thinning=1"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("students.5.thinning") && stderr.contains("2 entries"),
        "{stderr}"
    );
}

#[test]
fn show_of_a_missing_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let out = gped(&["config", "show", path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));
}

#[test]
fn default_prints_a_config_equal_to_the_default() {
    let out = gped(&["config", "default"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# "),
        "the default is printed with its comments"
    );
    assert_eq!(
        RunConfig::from_toml_str(&text, "stdout").unwrap(),
        RunConfig::default()
    );
}

//! The two deployment templates of `gped sweep` cannot drift apart: the Slurm job array
//! (`deploy/slurm/sweep.sbatch`) and the Kubernetes Indexed Job
//! (`deploy/kubernetes/sweep-job.yaml`) run the same `gped sweep` command line, the Job's
//! `--shards` equals its completions and parallelism and the array's default size, and the spec,
//! the datasets and the sweep folder lie on the Job's shared ReadWriteMany volume. Needs neither
//! Slurm nor Kubernetes: the sbatch script runs under plain bash with `echo` standing in for gped,
//! and both shell scripts pass `bash -n`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_norway::Value;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

const SBATCH: &str = "slurm/sweep.sbatch";
const LOCAL_SLURM: &str = "slurm/local-slurm.sh";
const K8S_JOB: &str = "kubernetes/sweep-job.yaml";

/// The manifest's documents: (the PersistentVolumeClaim, the Job).
fn k8s_documents() -> (Value, Value) {
    let text = std::fs::read_to_string(deploy(K8S_JOB)).unwrap();
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(&text)
        .map(|doc| serde::Deserialize::deserialize(doc).unwrap())
        .collect();
    let of_kind = |kind: &str| {
        let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
        assert_eq!(
            found.len(),
            1,
            "one {kind} in {K8S_JOB}, found {}",
            found.len()
        );
        found[0].clone()
    };
    (of_kind("PersistentVolumeClaim"), of_kind("Job"))
}

/// The Job's only container.
fn container(job: &Value) -> &Value {
    let containers = job["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .unwrap();
    assert_eq!(containers.len(), 1, "one container in the Job");
    &containers[0]
}

/// The container's command line (`command` then `args`), as strings.
fn k8s_command(job: &Value) -> Vec<String> {
    let c = container(job);
    [&c["command"], &c["args"]]
        .into_iter()
        .filter_map(Value::as_sequence)
        .flatten()
        .map(|v| v.as_str().expect("command words are strings").to_string())
        .collect()
}

/// The value following `flag` in `argv`, if the flag is there.
fn flag_value<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    let at = argv.iter().position(|a| a == flag)?;
    Some(argv.get(at + 1).expect("a flag without its value"))
}

/// `argv` without `flag` and its value.
fn without_flag(argv: &[String], flag: &str) -> Vec<String> {
    let mut out = argv.to_vec();
    if let Some(at) = out.iter().position(|a| a == flag) {
        out.drain(at..at + 2);
    }
    out
}

/// Runs the sbatch script under bash (no Slurm) with `envs` set and `unset` removed, and a PATH
/// that starts with `path_first`.
fn run_sbatch(envs: &[(&str, &str)], unset: &[&str], path_first: Option<&Path>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(deploy(SBATCH));
    for var in unset {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    if let Some(dir) = path_first {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", dir.display()));
    }
    cmd.output().unwrap()
}

/// The words of the last line the script printed: what `echo`, standing in for gped, received.
fn echoed_argv(output: &Output) -> Vec<String> {
    assert!(output.status.success(), "sbatch script failed: {output:?}");
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let last = stdout.lines().last().expect("the script printed nothing");
    last.split_whitespace().map(str::to_string).collect()
}

const SWEEP_VARS: [&str; 4] = [
    "GPED_BIN",
    "GPED_SWEEP_SPEC",
    "GPED_SWEEP_OUT",
    "GPED_SWEEP_ARGS",
];

#[test]
fn shell_scripts_pass_bash_syntax_check() {
    for script in [SBATCH, LOCAL_SLURM] {
        let out = Command::new("bash")
            .arg("-n")
            .arg(deploy(script))
            .output()
            .unwrap();
        assert!(out.status.success(), "bash -n {script}: {out:?}");
    }
}

#[test]
fn kubernetes_job_is_indexed_with_as_many_pods_as_shards() {
    let (_, job) = k8s_documents();
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let shards: u64 = flag_value(&k8s_command(&job), "--shards")
        .expect("the Job passes --shards")
        .parse()
        .unwrap();
    assert!(shards >= 2, "a sweep of {shards} shard is no example");
    assert_eq!(spec["completions"].as_u64(), Some(shards));
    assert_eq!(spec["parallelism"].as_u64(), Some(shards));
}

#[test]
fn kubernetes_spec_data_and_out_lie_on_a_shared_claim() {
    let (claim, job) = k8s_documents();
    let modes = claim["spec"]["accessModes"].as_sequence().unwrap();
    assert!(modes.iter().any(|m| m == "ReadWriteMany"), "{modes:?}");

    let mounts = container(&job)["volumeMounts"].as_sequence().unwrap();
    assert_eq!(mounts.len(), 1, "one volume mount");
    let mount = mounts[0]["mountPath"].as_str().unwrap();
    let volume_name = &mounts[0]["name"];
    let volumes = job["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .unwrap();
    let volume = volumes
        .iter()
        .find(|v| &v["name"] == volume_name)
        .expect("the mounted volume is declared");
    assert_eq!(
        volume["persistentVolumeClaim"]["claimName"],
        claim["metadata"]["name"]
    );

    let argv = k8s_command(&job);
    let under_mount = |path: &str| path.starts_with(&format!("{mount}/"));
    assert_eq!(argv[1], "sweep");
    assert!(under_mount(&argv[2]), "spec {} not under {mount}", argv[2]);
    let out = flag_value(&argv, "--out").expect("the Job passes --out");
    assert!(under_mount(out), "--out {out} not under {mount}");
    let env = container(&job)["env"].as_sequence().unwrap();
    let data = env
        .iter()
        .find(|e| e["name"] == "GPED_DATA_DIR")
        .expect("the Job sets GPED_DATA_DIR");
    assert!(under_mount(data["value"].as_str().unwrap()), "{data:?}");
}

#[test]
fn sbatch_runs_the_kubernetes_command_but_for_the_shard_count() {
    let (_, job) = k8s_documents();
    let k8s = k8s_command(&job);
    let spec = k8s[2].as_str();
    let out = flag_value(&k8s, "--out").unwrap();

    // GPED_BIN unset: the script runs `gped` from PATH, here a link to echo.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which("echo"), bin.path().join(k8s[0].as_str())).unwrap();
    let output = run_sbatch(
        &[("GPED_SWEEP_SPEC", spec), ("GPED_SWEEP_OUT", out)],
        &SWEEP_VARS,
        Some(bin.path()),
    );
    // Slurm gives the shard and the count through SLURM_ARRAY_TASK_*; Kubernetes gives only
    // the index, so the Job alone passes --shards.
    assert_eq!(echoed_argv(&output), without_flag(&k8s[1..], "--shards"));
    assert!(flag_value(&echoed_argv(&output), "--shard").is_none());
}

#[test]
fn sbatch_takes_the_binary_and_extra_flags_from_the_environment() {
    let echo = which("echo");
    let output = run_sbatch(
        &[
            ("GPED_BIN", echo.to_str().unwrap()),
            ("GPED_SWEEP_SPEC", "/shared/spec.toml"),
            ("GPED_SWEEP_OUT", "/shared/out"),
            (
                "GPED_SWEEP_ARGS",
                "--stale-after 900  --data-dir /shared/data",
            ),
        ],
        &[],
        None,
    );
    let expected = concat!(
        "sweep /shared/spec.toml --out /shared/out --quiet",
        " --stale-after 900 --data-dir /shared/data"
    );
    assert_eq!(echoed_argv(&output).join(" "), expected);
}

#[test]
fn sbatch_refuses_to_run_without_spec_or_out() {
    for missing in ["GPED_SWEEP_SPEC", "GPED_SWEEP_OUT"] {
        let mut envs = vec![
            ("GPED_BIN", "/bin/false"),
            ("GPED_SWEEP_SPEC", "/shared/spec.toml"),
            ("GPED_SWEEP_OUT", "/shared/out"),
        ];
        envs.retain(|(k, _)| *k != missing);
        let output = run_sbatch(&envs, &SWEEP_VARS, None);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(missing), "{missing}: {stderr}");
    }
}

/// The `#SBATCH --NAME=VALUE` directives of the script.
fn sbatch_directive(text: &str, name: &str) -> String {
    let prefix = format!("#SBATCH --{name}=");
    let values: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect();
    assert_eq!(values.len(), 1, "one {prefix} line");
    values[0].trim().to_string()
}

#[test]
fn sbatch_array_defaults_to_the_kubernetes_shard_count() {
    let text = std::fs::read_to_string(deploy(SBATCH)).unwrap();
    let array = sbatch_directive(&text, "array");
    let (first, last) = array.split_once('-').expect("a range 0-N");
    assert_eq!(first, "0");
    let tasks = last.parse::<u64>().unwrap() + 1;
    let (_, job) = k8s_documents();
    assert_eq!(Some(tasks), job["spec"]["completions"].as_u64());

    let output = sbatch_directive(&text, "output");
    assert!(output.contains("%A") && output.contains("%a"), "{output}");
    sbatch_directive(&text, "cpus-per-task")
        .parse::<u32>()
        .unwrap();
}

#[test]
fn sbatch_documents_every_variable_it_reads() {
    let text = std::fs::read_to_string(deploy(SBATCH)).unwrap();
    let header: Vec<&str> = text.lines().take_while(|l| l.starts_with('#')).collect();
    for var in SWEEP_VARS.iter().chain(&["GPED_DATA_DIR"]) {
        assert!(
            header
                .iter()
                .any(|l| l.trim_start_matches(['#', ' ']).starts_with(var)
                    && (l.contains("required") || l.contains("optional"))),
            "{var} is not documented in the header of {SBATCH}"
        );
    }
    // And no other GPED_ variable is read (GPED_DATA_DIR is gped's own, passed through).
    let read: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.match_indices("GPED_").map(move |(i, _)| &l[i..]))
        .map(|s| {
            s.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .next()
                .unwrap()
        })
        .collect();
    for var in read {
        assert!(
            SWEEP_VARS.contains(&var) || var == "GPED_DATA_DIR",
            "{var} is read but not known here"
        );
    }
}

/// The absolute path of a program on PATH.
fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

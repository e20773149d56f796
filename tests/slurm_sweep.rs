//! `deploy/slurm/sweep.sbatch` on a real (single-node) Slurm: a 2 x 2 grid run as a job array of
//! two tasks gives the same `results.csv` as the same grid run by one `gped sweep` process, in
//! every column but the time columns. Ignored: it needs a running Slurm
//! (`deploy/slurm/local-slurm.sh start`, as root); 5 to 20 s on 2 cores, most of it
//! `sbatch --wait` polling the job.
//!
//! What it assumes of `gped sweep` and `gped report` (write them to match, or change this file):
//! - `gped sweep SPEC --out DIR --quiet` runs the whole grid when no shard is given and no
//!   `SLURM_ARRAY_*` or `JOB_COMPLETION_INDEX` variable is set; in a job array it runs its
//!   task's shard; it reads the datasets from `--data-dir`, else `$GPED_DATA_DIR`.
//! - `gped sweep DIR --status` exits 0 on a finished sweep folder.
//! - `gped report DIR` writes `DIR/results.csv`: a header line, then one row per cell and
//!   student (here 4 cells x 2 students = 8 rows), in the grid's order (not the order the chains
//!   finished in), comma-separated, fields quoted with `"` only when they hold a comma or a quote.
//! - Time columns, the only ones allowed to differ between the two runs, are those of
//!   `gped::report::results_csv::is_time_column` (`chain_wall_s`, `chain_ms_per_iteration`).
//!   Fields may name the sweep folder: its path is replaced by `DIR` before comparing.
//! - The two runs are bit-identical because a run is reproducible from its config alone and the
//!   spec fixes `threads = 1` (the thread count could change float summation order).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const GPED: &str = env!("CARGO_BIN_EXE_gped");

/// 4 cells (2 masks x 2 predictive-student widths) in 2 teacher chains (the widths share one),
/// so each of the two array tasks runs one chain. Inline config: MNIST format, no OOD set,
/// 200 iterations, small batches to fit the synthetic data below.
const SPEC: &str = r#"
[config]
seed = 3
threads = 1

[config.data]
dataset = "mnist"
verify_checksums = false

[config.teacher]
arch = "fcnn"

[config.sampler]
batch_size = 20

[config.schedule]
iterations = 200
burn_in = 50

[config.pool]
batch_size = 20

[[config.students]]
name = "predictive"
thinning = 5

[[config.students]]
name = "entropy"
target = "entropy"
estimator = "running-mean"
loss = "l1"
thinning = 5
dropout = 0.0

[config.eval]
every = 25
log_every = 50
test_batch = 100

[config.output]
checkpoint_every = 100

[axes]
"data.mask_size" = [0, 10]
"students.0.width" = [[0.25, 0.25], [0.5, 0.5]]
"#;

const CELLS: usize = 4;
const STUDENTS: usize = 2;

/// A time column (`gped report`'s own rule): its values depend on how fast the machine was,
/// not on the run.
fn is_time_column(name: &str) -> bool {
    gped::report::results_csv::is_time_column(name)
}

#[test]
#[ignore = "needs a running single-node Slurm: deploy/slurm/local-slurm.sh start"]
fn job_array_sweep_matches_one_process_sweep() {
    let sinfo = Command::new("sinfo").args(["-h", "-o", "%t"]).output();
    assert!(
        matches!(&sinfo, Ok(o) if o.status.success()),
        "no Slurm here (sinfo: {sinfo:?}): deploy/slurm/local-slurm.sh start"
    );

    // Under /tmp: the job's processes, started by slurmd, must see the same folder.
    let tmp = tempfile::Builder::new()
        .prefix("gped-slurm-sweep-")
        .tempdir_in("/tmp")
        .unwrap();
    let root = tmp.path();
    let spec = root.join("spec.toml");
    std::fs::write(&spec, SPEC).unwrap();
    let data = root.join("data");
    write_synthetic_mnist(&data.join("mnist"));

    // (b) The job array, two tasks, waited for (sbatch --wait exits with the job's status).
    let array_out = root.join("array");
    let submitted = Command::new("sbatch")
        .args([
            "--wait",
            "--array=0-1",
            "--cpus-per-task=1",
            "--time=15",
            "--output",
        ])
        .arg(root.join("slurm_%A_%a.out"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/sweep.sbatch"))
        .current_dir(root)
        .env("GPED_BIN", GPED)
        .env("GPED_SWEEP_SPEC", &spec)
        .env("GPED_SWEEP_OUT", &array_out)
        .env("GPED_DATA_DIR", &data)
        .env_remove("GPED_SWEEP_ARGS")
        .output()
        .unwrap();
    let logs = slurm_logs(root);
    assert!(
        submitted.status.success(),
        "sbatch: {submitted:?}\njob output:\n{logs}"
    );
    // Both tasks ran, each knowing it is one of two (the script's first line).
    for task in 0..2 {
        let line = format!("array task {task} of 2");
        assert!(
            logs.contains(&line),
            "no '{line}' in the job output:\n{logs}"
        );
    }
    gped(&["sweep", s(&array_out), "--status"]);
    gped(&["report", s(&array_out)]);

    // (c) The same grid in one process, then its report.
    let single_out = root.join("single");
    let single = Command::new(GPED)
        .args(["sweep", s(&spec), "--out", s(&single_out), "--quiet"])
        .arg("--data-dir")
        .arg(&data)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_MIN")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert!(single.status.success(), "one-process sweep: {single:?}");
    gped(&["report", s(&single_out)]);

    // (d) The same table but for the time columns.
    let array = results(&array_out);
    let single = results(&single_out);
    assert_eq!(array.header, single.header, "results.csv headers");
    assert_eq!(array.rows.len(), CELLS * STUDENTS, "{:?}", array.rows);
    let kept: Vec<usize> = (0..array.header.len())
        .filter(|&c| !is_time_column(&array.header[c]))
        .collect();
    assert!(!kept.is_empty(), "only time columns: {:?}", array.header);
    let project = |t: &Table| -> Vec<Vec<String>> {
        t.rows
            .iter()
            .map(|r| kept.iter().map(|&c| r[c].clone()).collect())
            .collect()
    };
    let (a, b) = (project(&array), project(&single));
    for (i, (ra, rb)) in a.iter().zip(&b).enumerate() {
        assert_eq!(ra, rb, "row {i} differs (columns {:?})", array.header);
    }
    assert_eq!(a.len(), b.len());
    // The rows are the grid's cells and students, not one row repeated.
    let mut distinct = a.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), a.len(), "repeated rows: {a:?}");
}

/// Runs gped with `args` and asserts that it succeeded.
fn gped(args: &[&str]) -> Output {
    let output = Command::new(GPED).args(args).output().unwrap();
    assert!(output.status.success(), "gped {args:?}: {output:?}");
    output
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The job output files (`slurm_*.out`) of `root`, concatenated.
fn slurm_logs(root: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "out"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            format!("== {}\n{text}", p.display())
        })
        .collect()
}

/// A CSV file: header and rows, with the sweep folder's path replaced by `DIR`.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn results(sweep: &Path) -> Table {
    let path = sweep.join("results.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace(s(sweep), "DIR");
    let mut lines = text.lines().filter(|l| !l.is_empty()).map(csv_fields);
    let header = lines.next().expect("results.csv is empty");
    let rows: Vec<Vec<String>> = lines.collect();
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?} under {header:?}");
    }
    Table { header, rows }
}

/// The fields of one CSV line (RFC 4180 quoting; no line breaks inside fields).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// A tiny MNIST-format folder (uncompressed IDX files; checksums are off in the spec): 200
/// training and 100 test 28x28 images, label i mod 10, each a bright band at rows 2l..2l+4
/// over a deterministic speckle, so that the classes differ.
fn write_synthetic_mnist(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, n, salt) in [("train", 200u32, 0u32), ("t10k", 100, 7)] {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let mut images = idx_header(0x0803, &[n, 28, 28]);
        for (i, &label) in labels.iter().enumerate() {
            for row in 0..28u32 {
                for col in 0..28u32 {
                    let band = (2 * u32::from(label)..2 * u32::from(label) + 4).contains(&row);
                    let speckle = (i as u32 * 31 + row * 17 + col * 13 + salt) % 64;
                    images.push(if band {
                        200 + (speckle % 56) as u8
                    } else {
                        speckle as u8
                    });
                }
            }
        }
        let mut label_file = idx_header(0x0801, &[n]);
        label_file.extend(&labels);
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), label_file).unwrap();
    }
}

/// An IDX header: the magic number (type and rank) and the dimensions, big-endian.
fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes
}

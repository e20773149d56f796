//! The fake-data fixture of the bad-input catalogue (`tests/bad_inputs.rs`,
//! `tests/bad_data_files.rs`): a temporary folder with a run config and a tiny valid MNIST, and
//! `gped run` on it checked to change no file.

use std::path::{Path, PathBuf};
use std::process::Output;

use super::cli::{run_untouched, s};

/// A minimal run config: MNIST, no OOD set, defaults elsewhere.
pub const CONFIG: &str = "seed = 1\n[data]\ndataset = \"mnist\"\n";

/// Settings that make a run on the fake data folder tiny (it fails at load anyway).
pub const TINY: [&str; 10] = [
    "--set",
    "data.verify_checksums=false",
    "--set",
    "schedule.iterations=2",
    "--set",
    "schedule.burn_in=0",
    "--set",
    "sampler.batch_size=2",
    "--set",
    "pool.batch_size=2",
];

/// A temporary folder holding `run.toml` (`CONFIG`) and a fake data folder `data/` with a tiny
/// valid MNIST (3 train and 2 test 28x28 images).
pub struct Fixture {
    pub tmp: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("run.toml"), CONFIG).unwrap();
        let mnist = tmp.path().join("data/mnist");
        std::fs::create_dir_all(&mnist).unwrap();
        for (name, bytes) in super::tiny_idx_files() {
            std::fs::write(mnist.join(name), bytes).unwrap();
        }
        Fixture { tmp }
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    pub fn config(&self) -> PathBuf {
        self.root().join("run.toml")
    }

    pub fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    /// Path of a fake MNIST file.
    pub fn mnist(&self, name: &str) -> PathBuf {
        self.data().join("mnist").join(name)
    }

    /// `gped run run.toml --data-dir data --out run TINY extra`, checked to leave every file
    /// as it was (so no run folder is made).
    pub fn run(&self, extra: &[&str]) -> Output {
        let out = self.root().join("run");
        let output = self.run_into(&out, extra);
        assert!(!out.exists(), "a run folder was left at {}", out.display());
        output
    }

    /// `gped run run.toml --data-dir data --out OUT TINY extra`, checked to leave every file
    /// that existed as it was.
    pub fn run_into(&self, out: &Path, extra: &[&str]) -> Output {
        self.run_with_data(out, &self.data(), extra)
    }

    /// `gped run run.toml --data-dir DATA --out OUT TINY extra`, checked to leave every file
    /// that existed as it was.
    pub fn run_with_data(&self, out: &Path, data: &Path, extra: &[&str]) -> Output {
        let config = self.config();
        let mut args = vec![
            "run",
            s(&config),
            "--data-dir",
            s(data),
            "--out",
            s(out),
            "--quiet",
        ];
        args.extend(TINY);
        args.extend(extra);
        run_untouched(self.root(), &args)
    }
}

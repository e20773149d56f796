//! The run folder: the resolved config (`config.toml`), periodic records (`metrics.jsonl`,
//! one JSON object per line), the final metrics and timings (`metrics.json`), the students
//! (`students/NAME.safetensors`) and the teacher's ensemble sums
//! (`ensemble_test.safetensors`, `ensemble_ood.safetensors`), and while the run is unfinished
//! its last checkpoint (`checkpoint.safetensors`). Progress goes to the terminal as a bar with
//! ETA, or as plain lines when stderr is not a terminal.

use crate::base::write_atomic;
use crate::config::RunConfig;
use crate::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Writes a run's outputs and reports its progress.
pub struct Recorder {
    dir: PathBuf,
    jsonl: BufWriter<File>,
    /// Bytes of `metrics.jsonl` written so far.
    jsonl_bytes: u64,
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Recorder {
    /// Creates the run folder `dir` (refusing an existing non-empty one) and writes the
    /// resolved `config` into it. `total` is the number of iterations, for the progress bar.
    pub fn create(dir: &Path, config: &RunConfig, total: u64, quiet: bool) -> Result<Self> {
        Self::check_fresh(dir)?;
        std::fs::create_dir_all(dir.join("students")).map_err(|e| Error::io(dir, e))?;
        config.save(dir.join("config.toml"))?;
        let path = dir.join("metrics.jsonl");
        let jsonl = File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Self::with_jsonl(dir, jsonl, 0, total, 0, quiet))
    }

    /// Reopens the run folder `dir` of a run resumed at iteration `done` of `total`, keeping
    /// the first `jsonl_bytes` bytes of `metrics.jsonl` (the lines up to its checkpoint).
    pub fn resume(
        dir: &Path,
        jsonl_bytes: u64,
        done: u64,
        total: u64,
        quiet: bool,
    ) -> Result<Self> {
        let path = dir.join("metrics.jsonl");
        let mut jsonl = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let len = jsonl.metadata().map_err(|e| Error::io(&path, e))?.len();
        if len < jsonl_bytes {
            return Err(Error::format(
                &path,
                "metrics log",
                format!(
                    "expected at least the {jsonl_bytes} bytes the checkpoint covers, found {len}"
                ),
            ));
        }
        jsonl
            .set_len(jsonl_bytes)
            .map_err(|e| Error::io(&path, e))?;
        std::io::Seek::seek(&mut jsonl, std::io::SeekFrom::End(0))
            .map_err(|e| Error::io(&path, e))?;
        Ok(Self::with_jsonl(
            dir,
            jsonl,
            jsonl_bytes,
            total,
            done,
            quiet,
        ))
    }

    fn with_jsonl(
        dir: &Path,
        jsonl: File,
        jsonl_bytes: u64,
        total: u64,
        done: u64,
        quiet: bool,
    ) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_position(done);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Recorder {
            dir: dir.to_path_buf(),
            jsonl: BufWriter::new(jsonl),
            jsonl_bytes,
            bar,
            quiet,
        }
    }

    /// Checks that `dir` can become a new run folder: absent, or an empty folder. An existing
    /// run is never overwritten. Cheap, so a run checks it before loading its data.
    pub fn check_fresh(dir: &Path) -> Result<()> {
        if dir.exists()
            && std::fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .next()
                .is_some()
        {
            return Err(Error::InvalidArgument(format!(
                "run folder {0} already exists and is not empty; choose another --out, add \
                 --force to replace it, or continue it with `gped run --resume {0}` if it \
                 stopped with a checkpoint",
                dir.display()
            )));
        }
        Ok(())
    }

    /// Bytes of `metrics.jsonl` written (and flushed) so far.
    pub fn jsonl_bytes(&self) -> u64 {
        self.jsonl_bytes
    }

    /// Checks that `dir` may be replaced by a new run (`--force`): absent, empty, or a run
    /// folder gped made (it holds `config.toml`). Any other folder is refused, so a mistyped
    /// `--out` never deletes unrelated files.
    pub fn check_replaceable(dir: &Path) -> Result<()> {
        if Self::check_fresh(dir).is_ok() || dir.join("config.toml").is_file() {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "{} is not empty and holds no config.toml, so it is not a gped run folder; \
             --force replaces only run folders",
            dir.display()
        )))
    }

    /// Deletes the run folder `dir` checked by [`Recorder::check_replaceable`], if present.
    pub fn remove_old(dir: &Path) -> Result<()> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Advances the progress bar to `iteration` (cheap; call every step).
    pub fn tick(&self, iteration: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(iteration);
        }
    }

    /// Appends one record to `metrics.jsonl` and shows `summary` as progress.
    pub fn log(&mut self, record: &serde_json::Value, summary: &str) -> Result<()> {
        let path = self.dir.join("metrics.jsonl");
        let line = format!("{record}\n");
        self.jsonl
            .write_all(line.as_bytes())
            .and_then(|_| self.jsonl.flush())
            .map_err(|e| Error::io(&path, e))?;
        self.jsonl_bytes += line.len() as u64;
        match &self.bar {
            Some(bar) => bar.set_message(summary.to_string()),
            None if !self.quiet => eprintln!("{summary}"),
            None => {}
        }
        Ok(())
    }

    /// Writes `value` as pretty JSON to `name` in the run folder, atomically.
    pub fn write_json(&self, name: &str, value: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::InvalidArgument(format!("{name}: {e}")))?;
        write_atomic(&self.dir.join(name), text.as_bytes())
    }

    /// Path of a student's weights file.
    pub fn student_path(&self, name: &str) -> PathBuf {
        self.dir
            .join("students")
            .join(format!("{name}.safetensors"))
    }

    /// Closes the progress bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

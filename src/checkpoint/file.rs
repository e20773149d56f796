//! The checkpoint file of a run folder, `checkpoint.safetensors`: the run's state (see
//! `distill::state`) plus a header of scalars: the format version, the iteration it resumes
//! at, the run's config as TOML, and how many bytes of `metrics.jsonl` it covers. Written
//! atomically: a crash while writing leaves the previous checkpoint in place.

use crate::base::write_atomic;
use crate::base::{StateReader, StateWriter};
use crate::config::RunConfig;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Name of the checkpoint file in a run folder.
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// The format this version writes and reads.
const VERSION: &str = "gped-checkpoint/1";

/// The header of a checkpoint: what a resumed run needs before it loads the state.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The iteration the run continues at (the number of iterations done).
    pub iteration: u64,
    /// The run's config.
    pub config: RunConfig,
    /// Bytes of `metrics.jsonl` written up to this iteration (later lines are dropped on
    /// resume: the resumed run writes them again).
    pub metrics_jsonl_bytes: u64,
}

/// A checkpoint read from disk: its header, and its bytes for the state.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    bytes: Vec<u8>,
    pub header: Header,
}

impl Checkpoint {
    /// The checkpoint path of run folder `run_dir`.
    pub fn path_in(run_dir: &Path) -> PathBuf {
        run_dir.join(FILE_NAME)
    }

    /// The iteration the checkpoint at `path` resumes at, from its safetensors header alone (an
    /// 8-byte little-endian length, then a JSON header whose `__metadata__.iteration` the
    /// writer sets), so that a large checkpoint is not read whole; for progress reports.
    pub fn iteration_in(path: &Path) -> Result<u64> {
        use std::io::Read;
        let bad = |detail: String| Error::format(path, "gped checkpoint", detail);
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut len = [0u8; 8];
        file.read_exact(&mut len)
            .map_err(|e| bad(format!("no header length: {e}")))?;
        let len = u64::from_le_bytes(len);
        if len > 100_000_000 {
            return Err(bad(format!("header length {len} bytes")));
        }
        let mut header = Vec::with_capacity(len as usize);
        file.take(len)
            .read_to_end(&mut header)
            .map_err(|e| Error::io(path, e))?;
        let json: serde_json::Value =
            serde_json::from_slice(&header).map_err(|e| bad(e.to_string()))?;
        json.pointer("/__metadata__/iteration")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no `iteration` in its header".into()))
    }

    /// Reads and checks the checkpoint at `path`.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Checkpoint::from_bytes(bytes, path)
    }

    /// Parses checkpoint `bytes` read from `path` and checks its header.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Checkpoint> {
        let header = {
            let state = StateReader::parse(&bytes, path)?;
            let version = state.text("format")?;
            if version != VERSION {
                return Err(Error::format(
                    path,
                    "gped checkpoint",
                    format!("expected format `{VERSION}`, found `{version}`"),
                ));
            }
            let config = RunConfig::from_toml_str(state.text("config")?, path)?;
            Header {
                iteration: state.scalar("iteration")?,
                config,
                metrics_jsonl_bytes: state.scalar("metrics_jsonl_bytes")?,
            }
        };
        Ok(Checkpoint {
            path: path.to_path_buf(),
            bytes,
            header,
        })
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, to load into a fresh run state.
    pub fn state(&self) -> Result<StateReader<'_>> {
        StateReader::parse(&self.bytes, &self.path)
    }
}

/// Writes `state` with `header` to `path` atomically.
pub fn write(path: &Path, header: &Header, mut state: StateWriter) -> Result<()> {
    state.scalar("format", VERSION);
    state.scalar("config", header.config.to_toml_string()?);
    state.scalar("metrics_jsonl_bytes", header.metrics_jsonl_bytes);
    state.scalar("iteration", header.iteration);
    write_atomic(path, &state.to_bytes()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            iteration: 1234,
            config: RunConfig::default(),
            metrics_jsonl_bytes: 99,
        }
    }

    fn written(dir: &Path) -> PathBuf {
        let path = Checkpoint::path_in(dir);
        let mut state = StateWriter::new();
        state.f32s("w", &[1.0, 2.0]);
        write(&path, &header(), state).unwrap();
        path
    }

    #[test]
    fn header_and_state_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let ck = Checkpoint::read(&written(dir.path())).unwrap();
        assert_eq!(ck.header, header());
        let mut w = [0.0; 2];
        ck.state().unwrap().f32s_into("w", &mut w).unwrap();
        assert_eq!(w, [1.0, 2.0]);
    }

    #[test]
    fn crash_during_a_write_keeps_the_previous_checkpoint_loadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let good = std::fs::read(&path).unwrap();
        // The process dies halfway through the next write: the temporary file holds half of
        // the new checkpoint and the rename never happens.
        let mut next = StateWriter::new();
        next.f32s("w", &[3.0, 4.0]);
        let bytes = next.to_bytes().unwrap();
        let err = crate::base::write_atomic_with(&path, |f| {
            std::io::Write::write_all(f, &bytes[..bytes.len() / 2])?;
            Err(std::io::Error::other("killed"))
        })
        .unwrap_err();
        assert!(err.to_string().contains(FILE_NAME), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), good);
        // A leftover temporary file of a killed writer does not disturb reading either.
        std::fs::write(
            dir.path().join(format!("{FILE_NAME}.999.tmp")),
            &bytes[..10],
        )
        .unwrap();
        let ck = Checkpoint::read(&path).unwrap();
        assert_eq!(ck.header.iteration, 1234);
        assert_eq!(Checkpoint::iteration_in(&path).unwrap(), 1234);
    }

    #[test]
    fn truncated_or_foreign_files_are_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let bytes = std::fs::read(&path).unwrap();
        let e = Checkpoint::from_bytes(bytes[..bytes.len() - 3].to_vec(), &path).unwrap_err();
        assert!(e.to_string().contains(FILE_NAME), "{e}");
        // A weights file (safetensors without the header) is not a checkpoint.
        let mut other = StateWriter::new();
        other.f32s("fc1.weight", &[0.0]);
        let e = Checkpoint::from_bytes(other.to_bytes().unwrap(), &path).unwrap_err();
        assert!(e.to_string().contains("scalar `format` is missing"), "{e}");
    }
}

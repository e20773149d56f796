//! The library's one error type. Every variant says what went wrong and where
//! (file, key, tensor), and where it applies what was expected and what was found.

use std::path::PathBuf;

/// Errors raised by the gped library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O failure on a named file or folder.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file whose content does not follow its format (IDX, CIFAR-10 binary, safetensors, ...).
    #[error("{path}: not a valid {format} file: {detail}")]
    Format {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },

    /// A dataset file whose MD5 (of the decompressed content) is not the published one.
    #[error("{path}: checksum mismatch: expected MD5 {expected}, found {found}; {hint}")]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
        hint: String,
    },

    /// A missing dataset or data folder.
    #[error("{what} not found at {path}; {hint}")]
    NotFound {
        what: String,
        path: PathBuf,
        hint: String,
    },

    /// Dataset files a command reads that are not in the data folder `dir` and were not
    /// fetched: `why` (fetching is off, or failed and how), `files` (each missing file where
    /// it belongs, with the MD5 of its decompressed content) and `remedy` (the ways to get
    /// them).
    #[error("{}: {why}\n{files}\n{remedy}", dir.display())]
    MissingData {
        dir: PathBuf,
        why: String,
        files: String,
        remedy: String,
    },

    /// `gped data check` found a dataset invalid, a dataset it was asked for missing, or no
    /// dataset at all in the data folder `dir`; `summary` says which and why.
    #[error("{}: {summary}", dir.display())]
    DataCheck { dir: PathBuf, summary: String },

    /// A configuration value that is missing, of the wrong type or out of range.
    /// `key` is the dotted path of the field (e.g. `sampler.step_size`).
    #[error("config key `{key}`: {message}")]
    Config { key: String, message: String },

    /// A configuration file that does not parse.
    #[error("{path}: {message}")]
    ConfigFile { path: PathBuf, message: String },

    /// A tensor whose shape is not the one expected (e.g. loading weights into a model);
    /// `path` is the file it was read from.
    #[error("{path}: tensor `{name}`: expected shape {expected:?}, found {found:?}")]
    Shape {
        path: PathBuf,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    /// A tensor the model needs that a weights file does not have.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor { path: PathBuf, name: String },

    /// A failed download.
    #[error("download of {url} failed: {detail}")]
    Download { url: String, detail: String },

    /// A non-finite value during training (divergence).
    #[error("iteration {iteration}: {quantity} is not finite; {hint}")]
    NonFinite {
        iteration: u64,
        quantity: String,
        hint: String,
    },

    /// A run stopped on request (SIGINT, SIGTERM) after saving a checkpoint.
    #[error(
        "stopped after iteration {iteration} of {total}; checkpoint saved in {}; continue \
         with `gped run --resume {}`",
        dir.display(),
        dir.display()
    )]
    Interrupted {
        iteration: u64,
        total: u64,
        dir: PathBuf,
    },

    /// A crash simulated by a test hook after `iteration` iterations (nothing more saved).
    #[cfg(feature = "test-hooks")]
    #[error("simulated crash after iteration {iteration}")]
    SimulatedCrash { iteration: u64 },

    /// A resumed run whose config differs from its checkpoint's; `differences` lists each
    /// differing key with both values.
    #[error("{path}: the config differs from the checkpoint's in {differences}")]
    ResumeConfig { path: PathBuf, differences: String },

    /// A plot that could not be drawn or encoded.
    #[error("{path}: could not draw the plot: {detail}")]
    Plot { path: PathBuf, detail: String },

    /// An argument of a library call outside its valid range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error on `path`.
    pub fn format(
        path: impl Into<PathBuf>,
        format: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Error::Format {
            path: path.into(),
            format,
            detail: detail.into(),
        }
    }

    /// A config error on the dotted key `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}

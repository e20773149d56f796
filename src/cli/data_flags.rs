//! The flags that `gped run`, `eval` and `sweep` share about their datasets: where they are
//! (`--data-dir`), and whether (`--offline`) and from where (`--base-url`) missing files are
//! fetched. Fetching is the default; `--fetch`, its switch before it was, is still accepted
//! and changes nothing.

use std::path::PathBuf;

use clap::Args;

use crate::Result;
use crate::data::{FetchOptions, Progress, fetch_timeout, resolve_mirror};

/// Where the datasets are and how missing files are fetched.
#[derive(Debug, Clone, Args)]
pub struct DataFlags {
    /// Folder holding the datasets (default: the config's data.dir, or for a run folder the
    /// folder it recorded if it still exists; else $GPED_DATA_DIR; else ./data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Never download: when files the command reads are missing, fail at once and list them.
    #[arg(long)]
    pub offline: bool,
    /// Mirror to fetch missing files from instead of the catalogue's (each file from
    /// URL<file>.gz; {dataset} in URL stands for the dataset's name); default $GPED_MIRROR.
    #[arg(long, value_name = "URL", conflicts_with = "offline")]
    pub base_url: Option<String>,
    /// Accepted for scripts written when fetching was opt-in; fetching is the default now.
    #[arg(long, hide = true, conflicts_with = "offline")]
    pub fetch: bool,
}

impl DataFlags {
    /// How missing files are fetched: `None` with `--offline`, else from `--base-url`, else
    /// `$GPED_MIRROR`, else the catalogue's mirrors, within `$GPED_FETCH_TIMEOUT`, with
    /// progress on stderr unless `quiet`.
    pub fn fetch_options(&self, quiet: bool) -> Result<Option<FetchOptions>> {
        if self.offline {
            return Ok(None);
        }
        Ok(Some(FetchOptions {
            base_url: resolve_mirror(self.base_url.as_deref()),
            timeout: fetch_timeout()?,
            progress: Progress::unless_quiet(quiet),
            ..FetchOptions::default()
        }))
    }
}

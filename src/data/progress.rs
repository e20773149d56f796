//! What a download shows while it runs: a progress bar per file (bytes, rate, time left) on
//! stderr when stderr is a terminal and the command is not quiet, else nothing; the lines
//! around it ("fetching mnist into ...") are the caller's.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether downloads draw progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A bar per file on stderr, if stderr is a terminal.
    #[default]
    Bar,
    /// Nothing.
    Hidden,
}

impl Progress {
    /// [`Progress::Hidden`] when `quiet`, else [`Progress::Bar`].
    pub fn unless_quiet(quiet: bool) -> Self {
        if quiet {
            Progress::Hidden
        } else {
            Progress::Bar
        }
    }

    /// A bar for the download of `name` of `len` bytes (when known); hidden unless this is
    /// [`Progress::Bar`] and stderr is a terminal.
    pub fn bar(self, name: &str, len: Option<u64>) -> ProgressBar {
        if self == Progress::Hidden || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
        let template = if len.is_some() {
            "{msg:28} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}"
        } else {
            "{msg:28} {spinner} {bytes} {bytes_per_sec}"
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(name.to_string());
        bar
    }
}

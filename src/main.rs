//! The `gped` binary: parses the command line and hands it to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = match gped::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print and succeed; a usage error (a missing or unknown
            // argument) prints clap's message and exits 1 like every other error (clap's own
            // exit code would be 2).
            let _ = err.print();
            return match err.use_stderr() {
                true => std::process::ExitCode::FAILURE,
                false => std::process::ExitCode::SUCCESS,
            };
        }
    };
    match gped::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // Every variant's message already includes its cause (an I/O error's text, say), so
            // the message alone is printed: walking the source chain would repeat the cause.
            match err {
                // A run stopped by SIGINT/SIGTERM (with its checkpoint saved): 128 + SIGINT.
                gped::Error::Interrupted { .. } => {
                    eprintln!("gped: {err}");
                    std::process::ExitCode::from(130)
                }
                _ => {
                    eprintln!("error: {err}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}

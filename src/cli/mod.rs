//! The command line: clap definitions of gped's subcommands and the code that runs each one
//! by calling the library. `main.rs` only parses and maps errors to exit codes.

pub mod data;

use clap::{Parser, Subcommand};

/// gped: distil a Bayesian neural network's posterior expectations into small students.
#[derive(Debug, Parser)]
#[command(name = "gped", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check or download datasets.
    Data(data::DataArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> crate::Result<()> {
    match cli.command {
        Command::Data(args) => data::run(args),
    }
}

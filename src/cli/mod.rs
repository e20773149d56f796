//! The command line: clap definitions of gped's subcommands and the code that runs each one
//! by calling the library. `main.rs` only parses and maps errors to exit codes.

mod config;
pub mod data;
mod data_flags;
mod demo;
mod eval;
mod finished;
mod predict;
mod report;
mod run;
mod sweep;

use clap::{Parser, Subcommand};

pub use config::{ConfigArgs, ConfigCommand};
pub use data_flags::DataFlags;
pub use demo::DemoArgs;
pub use eval::EvalArgs;
pub use predict::{PredictArgs, PredictFormat};
pub use report::ReportArgs;
pub use run::RunArgs;
pub use sweep::SweepArgs;

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
    /// Run GPED (Algorithm 1): sample the teacher with SGLD and distil into the students.
    Run(RunArgs),
    /// Evaluate a finished run: uncertainty, OOD detection, ranking, calibration, plots, report.
    Eval(EvalArgs),
    /// The distilled students' answers for IDX images: class probabilities, class, total,
    /// aleatoric and epistemic uncertainty, one line per image (JSON lines or CSV).
    Predict(PredictArgs),
    /// Run an experiment grid (or this worker's shard of it); --status tells where it stands.
    Sweep(SweepArgs),
    /// Tables and figures of a sweep folder: results.csv, report.md (the paper's Tables 5-7
    /// beside ours), heatmaps.
    Report(ReportArgs),
    /// A no-data demo: GPED on two moons in the plane, with maps of the teacher's and the
    /// students' total, aleatoric and epistemic uncertainty, and a report.
    Demo(DemoArgs),
    /// Check or download datasets.
    Data(data::DataArgs),
    /// Show a run configuration or the default one.
    Config(ConfigArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> crate::Result<()> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Report(args) => report::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Data(args) => data::run(args),
        Command::Config(args) => config::run(args),
    }
}

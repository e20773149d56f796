//! `gped config`: print a run configuration as gped will use it (`show`: the file with its
//! `--set` overrides applied, defaults filled in, validated) or the documented default
//! configuration (`default`).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::{DEFAULT_CONFIG_TOML, RunConfig};

/// Arguments of `gped config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// The `gped config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved, validated configuration as TOML.
    Show {
        /// The run configuration file (TOML).
        config: PathBuf,
        /// Override a key, e.g. `--set sampler.step_size=2e-6` or `--set students.0.thinning=10`;
        /// repeatable, applied in order.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Print the default configuration, every key with its meaning.
    Default,
}

/// Runs `gped config`.
pub fn run(args: ConfigArgs) -> crate::Result<()> {
    match args.command {
        ConfigCommand::Show { config, set } => {
            let config = RunConfig::load_with_overrides(&config, &set)?.validate()?;
            print!("{}", config.to_toml_string()?);
        }
        ConfigCommand::Default => print!("{DEFAULT_CONFIG_TOML}"),
    }
    Ok(())
}

//! A sweep spec (`configs/sweeps/*.toml`): a base run config, overrides fixed for every cell,
//! and axes over any config key. Keys are the dotted paths of `--set` (quoted in TOML, since
//! they hold dots); values are TOML values of the key's type:
//!
//! ```toml
//! base = "../paper-fcnn-mnist.toml"      # relative to this file; or an inline [config] table
//! share_chains = true                    # cells differing only in students share a chain
//! [set]                                  # every cell
//! "schedule.iterations" = 100000
//! [axes]                                 # the grid: every combination is a cell
//! "data.mask_size" = [0, 5, 10]
//! "students.0.width" = [[0.5, 0.5], [1.0, 1.0]]
//! ```

use crate::config::RunConfig;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A sweep spec as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The base config file, relative to the spec's folder (exclusive with `config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<PathBuf>,
    /// An inline base config (exclusive with `base`); neither means the default config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<toml::Table>,
    /// Overrides applied to every cell, before the axes.
    #[serde(default)]
    pub set: toml::Table,
    /// The axes: key -> the values it takes (a non-empty array).
    pub axes: toml::Table,
    /// Whether cells that differ only in student settings share one teacher chain (default);
    /// `false` gives every cell its own chain, as the paper ran them.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub share_chains: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(v: &bool) -> bool {
    *v
}

/// One setting of a cell: a config key and its value.
pub type Setting = (String, toml::Value);

impl SweepSpec {
    /// Reads and checks the spec at `path` (errors name the file and the key).
    pub fn load(path: &Path) -> Result<SweepSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigFile {
            path: path.to_path_buf(),
            message: format!("cannot read the sweep spec: {e}"),
        })?;
        let spec: SweepSpec = toml::from_str(&text).map_err(|e| Error::ConfigFile {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        spec.check(path)?;
        Ok(spec)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let fail = |message: String| {
            Err(Error::ConfigFile {
                path: path.to_path_buf(),
                message,
            })
        };
        if self.base.is_some() && self.config.is_some() {
            return fail("give either `base` (a config file) or `[config]`, not both".into());
        }
        if self.axes.is_empty() {
            return fail("`[axes]` must name at least one config key".into());
        }
        for (key, values) in &self.axes {
            match values.as_array() {
                Some(a) if !a.is_empty() => {}
                _ => {
                    return fail(format!(
                        "axis `{key}` must be a non-empty array of values, found {values}"
                    ));
                }
            }
            if self.set.contains_key(key) {
                return fail(format!("`{key}` is both in `[set]` and in `[axes]`"));
            }
        }
        Ok(())
    }

    /// The base config: the `base` file (relative to `spec_dir`), the inline `[config]`, or
    /// the default.
    pub fn base_config(&self, spec_dir: &Path) -> Result<RunConfig> {
        match (&self.base, &self.config) {
            (Some(base), _) => RunConfig::load(spec_dir.join(base)),
            (None, Some(table)) => {
                let text = toml::to_string(table).map_err(|e| {
                    Error::InvalidArgument(format!("sweep `[config]` cannot be written: {e}"))
                })?;
                RunConfig::from_toml_str(&text, "sweep spec [config]")
            }
            (None, None) => Ok(RunConfig::default()),
        }
    }

    /// The fixed settings, in key order.
    pub fn fixed(&self) -> Vec<Setting> {
        self.set
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The axes in key order, each with its values.
    pub fn axes(&self) -> Vec<(String, Vec<toml::Value>)> {
        self.axes
            .iter()
            .map(|(k, v)| (k.clone(), v.as_array().cloned().unwrap_or_default()))
            .collect()
    }
}

/// `key=value` as `--set` takes it (the value as TOML).
pub fn override_text((key, value): &Setting) -> String {
    format!("{key}={value}")
}
